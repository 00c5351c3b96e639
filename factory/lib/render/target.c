#include "target.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every target factory can render; see target.h for adding one. */
static const struct render_target *const targets[] = {
	&render_target_apache,
	NULL,
};

const struct render_target *render_target_find(const char *name)
{
	if (!name)
		name = RENDER_TARGET_DEFAULT;
	for (const struct render_target *const *t = targets; *t; t++)
		if (strcmp((*t)->name, name) == 0)
			return *t;
	return NULL;
}

static void report(struct diag_list *diags, enum diag_severity severity, const struct recipe *recipe,
		   const struct ynode *node, const char *fmt, va_list ap)
{
	/* The same bound as recipe_load's own messages, so a huge value is cut the same way
	 * whichever module reports it. */
	char msg[8192];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	diag_add(diags, severity, recipe->file, node ? node->line : 0, node ? node->col : 0, "%s", msg);
}

void render_target_error(struct diag_list *diags, const struct recipe *recipe, const struct ynode *node,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(diags, DIAG_ERROR, recipe, node, fmt, ap);
	va_end(ap);
}

void render_target_warning(struct diag_list *diags, const struct recipe *recipe, const struct ynode *node,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(diags, DIAG_WARNING, recipe, node, fmt, ap);
	va_end(ap);
}
