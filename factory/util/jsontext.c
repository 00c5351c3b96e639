#include "jsontext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the UTF-8 sequence at p, 0 when it is not one. */
static size_t utf8_length(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 : (*p & 0xf0) == 0xe0 ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;

	for (size_t k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && p[0] == 0xed && p[1] >= 0xa0)
		return 0; /* a UTF-16 surrogate */
	return n;
}

json_t *jsontext_new(const char *s)
{
	json_t *j;
	char *escaped, *o;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	escaped = malloc(strlen(s) * 4 + 1);
	if (!escaped)
		abort();
	o = escaped;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_length(p);
		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			o += sprintf(o, "\\%03o", *p);
			p++;
		}
	}
	*o = '\0';
	j = json_string(escaped);
	free(escaped);
	return j ? j : json_string("?");
}
