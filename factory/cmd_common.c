#include <stdio.h>

#include "commands.h"

void cmd_report(struct diag_list *diags, const struct error *err)
{
	diag_list_sort(diags);
	diag_list_print(diags, stderr);
	if (err && err->code != ERROR_NONE && !(err->code == ERROR_INVALID && diags->errors))
		fprintf(stderr, "factory: error: %s\n", err->message);
	else if (diags->errors)
		fprintf(stderr, "factory: %zu error%s, nothing written\n", diags->errors,
			diags->errors == 1 ? "" : "s");
}
