#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image.h"
#include "recipe.h"

static void print_diags(const struct diag_list *list, FILE *out)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct diag *d = &list->items[i];
		const char *what = d->severity == DIAG_ERROR ? "error" : "warning";

		if (d->line > 0)
			fprintf(out, "%s:%d:%d: %s: %s\n", d->file, d->line, d->col, what, d->message);
		else
			fprintf(out, "%s: %s: %s\n", d->file, what, d->message);
	}
}

void cmd_report(struct diag_list *diags, const struct error *err)
{
	diag_list_sort(diags);
	print_diags(diags, stderr);
	if (err && err->code != ERROR_NONE && !(err->code == ERROR_INVALID && diags->errors))
		fprintf(stderr, "factory: error: %s\n", err->message);
	else if (diags->errors)
		fprintf(stderr, "factory: %zu error%s, nothing written\n", diags->errors,
			diags->errors == 1 ? "" : "s");
}

int cmd_image_override(struct cmd_target_args *a, struct recipe_image_override *o, struct error *err)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	o->registry = a->registry ? a->registry : getenv("FACTORY_REGISTRY");
	o->repository = a->repository ? a->repository : getenv("FACTORY_REPOSITORY");
	if (o->registry && !*o->registry)
		o->registry = NULL;
	if (o->repository && !*o->repository)
		o->repository = NULL;
	if (a->tags.count) {
		o->tags = a->tags.items;
		o->tag_count = a->tags.count;
		return 0;
	}
	env = getenv("FACTORY_TAGS");
	if (!env || !*env)
		return 0;
	free(a->env_tags);
	a->env_tags = strdup(env);
	if (!a->env_tags)
		abort();
	for (char *save = NULL, *t = strtok_r(a->env_tags, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		if (o->tag_count == OPT_LIST_MAX)
			return error_set(err, ERROR_INVALID, "FACTORY_TAGS holds more than %d tags", OPT_LIST_MAX);
		a->env_tag_items[o->tag_count++] = t;
	}
	o->tags = a->env_tag_items;
	return 0;
}

int cmd_strict(const struct cmd_target_args *a, const struct diag_list *diags, int status, struct error *err)
{
	size_t warnings = diags->count - diags->errors;

	if (status != EXIT_OK || !a->strict || warnings == 0)
		return status;
	error_set(err, ERROR_INVALID, "%zu warning%s, which --strict makes errors", warnings, warnings == 1 ? "" : "s");
	return EXIT_FAILED;
}

void cmd_target_args_clear(struct cmd_target_args *a)
{
	free(a->env_tags);
	a->env_tags = NULL;
}

int cmd_source_date_epoch(long long *epoch, struct error *err)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	*epoch = IMAGE_DEFAULT_EPOCH;
	if (!s || !*s)
		return 0;
	errno = 0;
	*epoch = strtoll(s, &end, 10);
	if (errno || *end || *epoch < 0 || *epoch > 253402300799LL)
		return error_set(err, ERROR_INVALID, "SOURCE_DATE_EPOCH must be seconds since 1970, not '%s'", s);
	return 0;
}
