/* diag.h - positioned diagnostics collected during validation.
 *
 * Validation reports every problem it finds in one pass; the command layer prints the list
 * sorted by position as `file:line:col: error: message`, the format editors and CI annotators
 * parse.
 */
#ifndef FACTORY_DIAG_H
#define FACTORY_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum diag_severity { DIAG_ERROR, DIAG_WARNING };

struct diag {
	enum diag_severity severity;
	char *file;
	int line; /* 1-based; 0 when the problem has no position */
	int col;
	char *message;
	size_t seq; /* insertion order, the tie-breaker that keeps sorting stable */
};

struct diag_list {
	struct diag *items;
	size_t count;
	size_t capacity;
	size_t errors;
};

void diag_list_init(struct diag_list *list);
void diag_list_free(struct diag_list *list);

void diag_add(struct diag_list *list, enum diag_severity severity, const char *file, int line,
	      int col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Orders by file, line, column, then insertion, so output is stable whatever the check order. */
void diag_list_sort(struct diag_list *list);


static inline bool diag_list_has_errors(const struct diag_list *list)
{
	return list->errors > 0;
}

#endif
