/* scaffold_import.c - a recipe from a hand-written FlinkDeployment. */
#include "scaffold.h"

#include <stdlib.h>

#include "util.h"

int scaffold_import(struct scaffold *s, const char *deployment, const char *scripts, struct diag_list *diags,
		    struct error *err)
{
	(void)s;
	(void)scripts;
	(void)diags;
	return error_set(err, ERROR_INVALID, "%s: not implemented", deployment);
}
