/* util.h - allocation helpers. factory treats out-of-memory as fatal: the process aborts
 * rather than threading an error through every string operation. */
#ifndef FACTORY_UTIL_H
#define FACTORY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

char *xstrdup(const char *s);

/* Whether a name holds a control character (a newline, an escape): such names are refused or
 * skipped wherever a line-based format or a terminal would misread them. */
bool str_has_control(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growing NUL-terminated byte buffer; start from {0}, free(data) when done. */
struct strbuf {
	char *data;
	size_t len, cap;
};

void strbuf_add(struct strbuf *buf, const void *bytes, size_t n);

/* Seconds since the epoch as RFC 3339 UTC, "1970-01-01T00:00:00Z" (what OCI "created" fields
 * hold); `size` of 21 is enough. */
void time_rfc3339(long long epoch, char *buf, size_t size);

#endif
