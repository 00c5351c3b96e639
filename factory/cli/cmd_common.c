#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "image.h"

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
