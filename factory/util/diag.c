#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_list_init(struct diag_list *list)
{
	memset(list, 0, sizeof(*list));
}

void diag_list_free(struct diag_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].file);
		free(list->items[i].message);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void diag_add(struct diag_list *list, enum diag_severity severity, const char *file, int line,
	      int col, const char *fmt, ...)
{
	struct diag *d;
	va_list ap;
	int len;

	if (list->count == list->capacity) {
		size_t cap = list->capacity ? list->capacity * 2 : 16;
		struct diag *items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			abort();
		list->items = items;
		list->capacity = cap;
	}
	d = &list->items[list->count];
	d->severity = severity;
	d->file = strdup(file ? file : "");
	d->seq = list->count;
	d->line = line;
	d->col = col;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	d->message = malloc((size_t)len + 1);
	if (!d->file || !d->message)
		abort();
	va_start(ap, fmt);
	vsnprintf(d->message, (size_t)len + 1, fmt, ap);
	va_end(ap);
	list->count++;
	if (severity == DIAG_ERROR)
		list->errors++;
}

static int diag_compare(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void diag_list_sort(struct diag_list *list)
{
	if (list->count > 1)
		qsort(list->items, list->count, sizeof(*list->items), diag_compare);
}
