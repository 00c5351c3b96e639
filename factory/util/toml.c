/* toml.c - a TOML 1.0 parser (see toml.h for why factory has its own).
 *
 * A recursive-descent reader over the whole buffer. Values nest at most TOML_MAX_DEPTH
 * deep, so recursion is bounded; duplicate keys are found through one hash index over all
 * tables, so a hostile document with many keys costs linear time, not quadratic.
 */
#include "toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* How a table or array came to be decides what may still be added to it (TOML 1.0,
 * "Table" and "Array of Tables"). */
enum {
	TF_IMPLICIT = 1u << 0, /* parent of a [header] only: may still be defined by its own [header] */
	TF_HEADER = 1u << 1,   /* defined by [header], or an element of [[header]] */
	TF_DOTTED = 1u << 2,   /* created by a dotted key: only dotted keys of the same section extend it */
	TF_INLINE = 1u << 3,   /* inline table or array value: complete once written */
	TF_TABLES = 1u << 4,   /* array of tables made by [[header]]: more [[header]]s append to it */
};

/* Longest number token accepted; the longest valid int64 or a float with 17 significant
 * digits are far shorter, underscores included. */
#define NUMBER_MAX 128

struct index_slot {
	const struct toml_node *table; /* NULL: free */
	size_t entry;
};

struct parser {
	const char *file;
	const char *s;
	size_t n;
	size_t i;
	struct toml_node *root;
	struct toml_node *cur; /* where key/value lines go: the last [header]'s table */
	struct index_slot *slots;
	size_t slot_count; /* a power of two */
	size_t slot_used;
	struct diag_list *diags;
	struct error *err;
	/* Position of pos_off, so that positions asked for in document order cost nothing. */
	size_t base; /* where line 1 column 1 is: after a byte order mark */
	size_t pos_off;
	int pos_line, pos_col;
};

struct key_part {
	char *s;
	size_t len;
	size_t off;
	int line, col; /* of off, taken while reading so positions are asked for in order */
};

struct key_path {
	struct key_part *parts;
	size_t count, capacity;
};

struct buf {
	char *data;
	size_t len, capacity;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->capacity) {
		size_t cap = b->capacity ? b->capacity : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			abort();
		b->capacity = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* Finishes a buffer as a NUL-terminated string, also when nothing was added. */
static char *buf_take(struct buf *b, size_t *len)
{
	if (!b->data)
		buf_add(b, "", 0);
	*len = b->len;
	return b->data;
}

/* Columns count characters, not bytes, as editors do. */
static void position(struct parser *p, size_t off, int *line, int *col)
{
	if (off < p->pos_off || p->pos_off < p->base) {
		p->pos_off = p->base;
		p->pos_line = 1;
		p->pos_col = 1;
	}
	for (size_t i = p->pos_off; i < off && i < p->n; i++) {
		if (p->s[i] == '\n') {
			p->pos_line++;
			p->pos_col = 1;
		} else if (((unsigned char)p->s[i] & 0xC0) != 0x80) {
			p->pos_col++;
		}
	}
	p->pos_off = off;
	*line = p->pos_line;
	*col = p->pos_col;
}

static int fail_at(struct parser *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t off, const char *fmt, ...)
{
	char msg[512];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	position(p, off, &line, &col);
	diag_add(p->diags, DIAG_ERROR, p->file, line, col, "%s", msg);
	return error_set(p->err, ERROR_INVALID, "%s:%d:%d: %s", p->file, line, col, msg);
}

/* What was found instead, for messages. */
static const char *describe(const struct parser *p, size_t off, char *tmp, size_t size)
{
	unsigned char c;

	if (off >= p->n)
		return "end of file";
	c = (unsigned char)p->s[off];
	if (c == '\n' || c == '\r')
		return "end of line";
	if (c >= 0x20 && c < 0x7f)
		snprintf(tmp, size, "'%c'", c);
	else
		snprintf(tmp, size, "byte 0x%02X", c);
	return tmp;
}

static struct toml_node *node_new(enum toml_type type, int line, int col, int depth)
{
	struct toml_node *n = calloc(1, sizeof(*n));

	if (!n)
		abort();
	n->type = type;
	n->line = line;
	n->col = col;
	n->depth = depth;
	return n;
}

static void node_free(struct toml_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->count; i++) {
		if (n->type == TOML_TABLE) {
			free(n->entries[i].key);
			node_free(n->entries[i].value);
		} else if (n->type == TOML_ARRAY) {
			node_free(n->items[i]);
		}
	}
	free(n->entries);
	free(n->items);
	free(n->text);
	free(n);
}

static uint64_t key_hash(const struct toml_node *table, const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	uintptr_t t = (uintptr_t)table;

	for (size_t i = 0; i < sizeof(t); i++) {
		h ^= (unsigned char)(t >> (i * 8));
		h *= 1099511628211ULL;
	}
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void index_put(struct parser *p, const struct toml_node *table, size_t entry)
{
	const struct toml_entry *e = &table->entries[entry];
	size_t mask, i;

	if ((p->slot_used + 1) * 2 > p->slot_count) {
		struct index_slot *old = p->slots;
		size_t old_count = p->slot_count;

		p->slot_count = old_count ? old_count * 2 : 64;
		p->slots = calloc(p->slot_count, sizeof(*p->slots));
		if (!p->slots)
			abort();
		p->slot_used = 0;
		for (size_t j = 0; j < old_count; j++)
			if (old[j].table)
				index_put(p, old[j].table, old[j].entry);
		free(old);
	}
	mask = p->slot_count - 1;
	for (i = key_hash(table, e->key, e->key_length) & mask; p->slots[i].table; i = (i + 1) & mask)
		;
	p->slots[i].table = table;
	p->slots[i].entry = entry;
	p->slot_used++;
}

static struct toml_entry *index_find(struct parser *p, struct toml_node *table, const char *key, size_t len)
{
	size_t mask, i;

	if (!p->slot_count)
		return NULL;
	mask = p->slot_count - 1;
	for (i = key_hash(table, key, len) & mask; p->slots[i].table; i = (i + 1) & mask) {
		struct toml_entry *e;
		if (p->slots[i].table != table)
			continue;
		e = &table->entries[p->slots[i].entry];
		if (e->key_length == len && memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

/* Takes ownership of `key` and `value`. */
static void table_add(struct parser *p, struct toml_node *table, struct key_part *key, struct toml_node *value)
{
	struct toml_entry *e;

	if (table->count == table->capacity) {
		size_t cap = table->capacity ? table->capacity * 2 : 8;
		table->entries = realloc(table->entries, cap * sizeof(*table->entries));
		if (!table->entries)
			abort();
		table->capacity = cap;
	}
	e = &table->entries[table->count];
	e->key = key->s;
	e->key_length = key->len;
	e->line = key->line;
	e->col = key->col;
	e->value = value;
	key->s = NULL;
	index_put(p, table, table->count);
	table->count++;
}

static void array_add(struct toml_node *array, struct toml_node *item)
{
	if (array->count == array->capacity) {
		size_t cap = array->capacity ? array->capacity * 2 : 8;
		array->items = realloc(array->items, cap * sizeof(*array->items));
		if (!array->items)
			abort();
		array->capacity = cap;
	}
	array->items[array->count++] = item;
}

static void key_path_clear(struct key_path *k)
{
	for (size_t i = 0; i < k->count; i++)
		free(k->parts[i].s);
	free(k->parts);
	memset(k, 0, sizeof(*k));
}

/* Checks the whole document once, so that strings can be copied byte for byte later. */
static int check_utf8(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	size_t i = 0;

	while (i < p->n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			len = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return fail_at(p, i, "not valid UTF-8 text (byte 0x%02X)", c);
		}
		if (i + len > p->n)
			return fail_at(p, i, "not valid UTF-8 text (truncated sequence)");
		for (size_t j = 1; j < len; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return fail_at(p, i, "not valid UTF-8 text (byte 0x%02X)", c);
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail_at(p, i, "not valid UTF-8 text (U+%04X encoded as %zu bytes)", (unsigned)cp, len);
		i += len;
	}
	return 0;
}

static bool is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

/* At '#': to the end of the line, which is left for the caller. */
static int skip_comment(struct parser *p)
{
	for (p->i++; p->i < p->n && p->s[p->i] != '\n'; p->i++) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '\r' && p->i + 1 < p->n && p->s[p->i + 1] == '\n')
			continue;
		if (is_control(c))
			return fail_at(p, p->i, "control character U+%04X in a comment", c);
	}
	return 0;
}

/* At a newline: steps over it. False when there is none (a bare carriage return). */
static bool skip_newline(struct parser *p)
{
	if (p->i < p->n && p->s[p->i] == '\n') {
		p->i++;
		return true;
	}
	if (p->i + 1 < p->n && p->s[p->i] == '\r' && p->s[p->i + 1] == '\n') {
		p->i += 2;
		return true;
	}
	return false;
}

static bool at_newline(const struct parser *p)
{
	return p->i < p->n &&
	       (p->s[p->i] == '\n' || (p->s[p->i] == '\r' && p->i + 1 < p->n && p->s[p->i + 1] == '\n'));
}

/* Whitespace, comments and newlines, as allowed between array items. */
static int skip_blank(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == '#') {
			if (skip_comment(p))
				return -1;
		} else if (!skip_newline(p)) {
			return 0;
		}
	}
}

/* After a key/value pair or a header only a comment may follow on the line. */
static int expect_line_end(struct parser *p, const char *after)
{
	char tmp[16];

	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '#' && skip_comment(p))
		return -1;
	if (p->i >= p->n || skip_newline(p))
		return 0;
	return fail_at(p, p->i, "expected the end of the line after %s, found %s", after,
		       describe(p, p->i, tmp, sizeof(tmp)));
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void add_utf8(struct buf *b, uint32_t cp)
{
	char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12)), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		out[0] = (char)(0xF0 | (cp >> 18)), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	buf_add(b, out, n);
}

/* At a backslash in a basic string. */
static int parse_escape(struct parser *p, bool multiline, struct buf *b)
{
	size_t at = p->i, digits = 0;
	char e = p->i + 1 < p->n ? p->s[p->i + 1] : '\0';
	uint32_t cp = 0;

	switch (e) {
	case 'b': buf_addc(b, '\b'); break;
	case 't': buf_addc(b, '\t'); break;
	case 'n': buf_addc(b, '\n'); break;
	case 'f': buf_addc(b, '\f'); break;
	case 'r': buf_addc(b, '\r'); break;
	case '"': buf_addc(b, '"'); break;
	case '\\': buf_addc(b, '\\'); break;
	case 'u': digits = 4; break;
	case 'U': digits = 8; break;
	default:
		if (multiline && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
			/* A line-ending backslash drops the newline and the whitespace after it; only
			 * blanks may stand between it and the newline. */
			p->i++;
			skip_ws(p);
			if (!skip_newline(p))
				return fail_at(p, at, "a backslash followed by blanks must end the line");
			for (;;) {
				skip_ws(p);
				if (!skip_newline(p))
					return 0;
			}
		}
		if (e == '\0' && p->i + 1 >= p->n)
			return fail_at(p, at, "unterminated string");
		return fail_at(p, at, "invalid escape sequence '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
	}
	p->i += 2;
	if (!digits)
		return 0;
	for (size_t k = 0; k < digits; k++) {
		int v = p->i < p->n ? hex_value(p->s[p->i]) : -1;
		if (v < 0)
			return fail_at(p, at, "\\%c needs %zu hex digits", e, digits);
		cp = cp * 16 + (uint32_t)v;
		p->i++;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return fail_at(p, at, "\\%c%0*X is not a Unicode scalar value", e, (int)digits, (unsigned)cp);
	add_utf8(b, cp);
	return 0;
}

/* At the opening quote of any of the four string kinds. */
static int parse_string(struct parser *p, char **out, size_t *len)
{
	size_t start = p->i;
	char q = p->s[p->i];
	bool literal = q == '\'';
	bool multiline = p->i + 2 < p->n && p->s[p->i + 1] == q && p->s[p->i + 2] == q;
	struct buf b = {0};
	int rc = -1;

	p->i += multiline ? 3 : 1;
	if (multiline)
		skip_newline(p); /* a newline right after the opening quotes is not part of the string */
	for (;;) {
		unsigned char c;

		if (p->i >= p->n) {
			fail_at(p, start, "unterminated string");
			goto out;
		}
		c = (unsigned char)p->s[p->i];
		if (c == (unsigned char)q) {
			size_t run = 1;
			if (!multiline) {
				p->i++;
				break;
			}
			while (run < 5 && p->i + run < p->n && p->s[p->i + run] == q)
				run++;
			if (run >= 3) {
				/* Up to two quotes may stand right before the closing three. */
				buf_add(&b, p->s + p->i, run - 3);
				p->i += run;
				break;
			}
			buf_add(&b, p->s + p->i, run);
			p->i += run;
		} else if (c == '\\' && !literal) {
			if (parse_escape(p, multiline, &b))
				goto out;
		} else if (c == '\n' || c == '\r') {
			if (!multiline) {
				fail_at(p, start, "unterminated string (a newline is not allowed in a one-line string)");
				goto out;
			}
			if (!skip_newline(p)) {
				fail_at(p, p->i, "carriage return without a line feed in a string");
				goto out;
			}
			buf_addc(&b, '\n');
		} else if (is_control(c)) {
			fail_at(p, p->i, "control character U+%04X in a string (write it as an escape)", c);
			goto out;
		} else {
			buf_addc(&b, (char)c);
			p->i++;
		}
	}
	*out = buf_take(&b, len);
	b.data = NULL;
	rc = 0;
out:
	free(b.data);
	return rc;
}

static bool is_bare_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A key: bare or quoted parts joined by dots, blanks allowed around the dots. */
static int parse_key(struct parser *p, struct key_path *k)
{
	char tmp[16];

	for (;;) {
		struct key_part part = {NULL, 0, 0, 0, 0};

		skip_ws(p);
		part.off = p->i;
		position(p, p->i, &part.line, &part.col);
		if (k->count >= TOML_MAX_DEPTH)
			return fail_at(p, p->i, "key has more than %d dotted parts", TOML_MAX_DEPTH);
		if (p->i < p->n && (p->s[p->i] == '"' || p->s[p->i] == '\'')) {
			if (p->i + 2 < p->n && p->s[p->i + 1] == p->s[p->i] && p->s[p->i + 2] == p->s[p->i])
				return fail_at(p, p->i, "a multi-line string cannot be a key");
			if (parse_string(p, &part.s, &part.len))
				return -1;
		} else if (p->i < p->n && is_bare_key_char(p->s[p->i])) {
			size_t start = p->i;
			while (p->i < p->n && is_bare_key_char(p->s[p->i]))
				p->i++;
			part.len = p->i - start;
			part.s = malloc(part.len + 1);
			if (!part.s)
				abort();
			memcpy(part.s, p->s + start, part.len);
			part.s[part.len] = '\0';
		} else {
			return fail_at(p, p->i, "expected a key, found %s", describe(p, p->i, tmp, sizeof(tmp)));
		}
		if (k->count == k->capacity) {
			k->capacity = k->capacity ? k->capacity * 2 : 4;
			k->parts = realloc(k->parts, k->capacity * sizeof(*k->parts));
			if (!k->parts)
				abort();
		}
		k->parts[k->count++] = part;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == '.') {
			p->i++;
			continue;
		}
		return 0;
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits of a base with single underscores between them; false when there are none or an
 * underscore is misplaced. */
static bool scan_digits(const char *s, size_t len, size_t *i, int base)
{
	size_t j = *i, count = 0;

	while (j < len) {
		int v = hex_value(s[j]);
		if (v >= 0 && v < base) {
			count++;
			j++;
		} else if (s[j] == '_') {
			int next = j + 1 < len ? hex_value(s[j + 1]) : -1;
			if (count == 0 || next < 0 || next >= base)
				return false;
			j++;
		} else {
			break;
		}
	}
	*i = j;
	return count > 0;
}

static bool two_digits(const char *s, int *v)
{
	if (!is_digit(s[0]) || !is_digit(s[1]))
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

static bool valid_date(const char *s, size_t len)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int hi, lo, m, d, y, max;

	if (len < 10 || !two_digits(s, &hi) || !two_digits(s + 2, &lo) || s[4] != '-' || !two_digits(s + 5, &m) ||
	    s[7] != '-' || !two_digits(s + 8, &d))
		return false;
	y = hi * 100 + lo;
	if (m < 1 || m > 12)
		return false;
	max = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	return d >= 1 && d <= max;
}

/* HH:MM:SS with optional fraction; *used is how much of s it covers. */
static bool valid_time(const char *s, size_t len, size_t *used)
{
	int h, m, sec;
	size_t i = 8;

	if (len < 8 || !two_digits(s, &h) || s[2] != ':' || !two_digits(s + 3, &m) || s[5] != ':' ||
	    !two_digits(s + 6, &sec) || h > 23 || m > 59 || sec > 60)
		return false;
	if (i < len && s[i] == '.') {
		size_t start = ++i;
		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return false;
	}
	*used = i;
	return true;
}

static bool valid_offset(const char *s, size_t len)
{
	int h, m;

	if (len == 1)
		return s[0] == 'Z' || s[0] == 'z';
	return len == 6 && (s[0] == '+' || s[0] == '-') && two_digits(s + 1, &h) && s[3] == ':' &&
	       two_digits(s + 4, &m) && h <= 23 && m <= 59;
}

static bool parse_datetime(const char *s, size_t len, enum toml_type *type)
{
	size_t used;

	if (len >= 5 && s[4] == '-') {
		if (!valid_date(s, len))
			return false;
		if (len == 10) {
			*type = TOML_LOCAL_DATE;
			return true;
		}
		if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
			return false;
		if (!valid_time(s + 11, len - 11, &used))
			return false;
		if (11 + used == len) {
			*type = TOML_LOCAL_DATETIME;
			return true;
		}
		*type = TOML_OFFSET_DATETIME;
		return valid_offset(s + 11 + used, len - 11 - used);
	}
	*type = TOML_LOCAL_TIME;
	return valid_time(s, len, &used) && used == len;
}

/* Fills n with an integer or float; false when the text is neither. */
static bool parse_number(const char *s, size_t len, struct toml_node *n)
{
	char clean[NUMBER_MAX + 1];
	size_t i = 0, c = 0;
	bool fraction = false, exponent = false;

	if (len > NUMBER_MAX)
		return false;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		unsigned long long v = 0;
		i = 2;
		if (!scan_digits(s, len, &i, base) || i != len)
			return false;
		for (size_t j = 2; j < len; j++) {
			if (s[j] == '_')
				continue;
			if (v > (unsigned long long)(INT64_MAX - hex_value(s[j])) / (unsigned)base)
				return false;
			v = v * (unsigned)base + (unsigned)hex_value(s[j]);
		}
		n->type = TOML_INTEGER;
		n->integer = (long long)v;
		return true;
	}
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (len - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
		n->type = TOML_FLOAT;
		n->number = s[i] == 'i' ? (s[0] == '-' ? -HUGE_VAL : HUGE_VAL) : (s[0] == '-' ? -NAN : NAN);
		return true;
	}
	if (i < len && s[i] == '0' && i + 1 < len && (is_digit(s[i + 1]) || s[i + 1] == '_'))
		return false; /* leading zeros */
	if (!scan_digits(s, len, &i, 10))
		return false;
	if (i < len && s[i] == '.') {
		i++;
		if (!scan_digits(s, len, &i, 10))
			return false;
		fraction = true;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!scan_digits(s, len, &i, 10))
			return false;
		exponent = true;
	}
	if (i != len)
		return false;
	for (size_t j = 0; j < len; j++)
		if (s[j] != '_')
			clean[c++] = s[j];
	clean[c] = '\0';
	errno = 0;
	if (fraction || exponent) {
		n->type = TOML_FLOAT;
		n->number = strtod(clean, NULL);
		return true;
	}
	n->type = TOML_INTEGER;
	n->integer = strtoll(clean, NULL, 10);
	return errno != ERANGE;
}

static bool is_token_char(char c)
{
	return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

static int parse_value(struct parser *p, int depth, struct toml_node **out);

static int parse_keyval(struct parser *p, struct toml_node *table);

/* At '['. Items may be of mixed types; blanks, comments and a trailing comma are allowed. */
static int parse_array(struct parser *p, int line, int col, int depth, struct toml_node **out)
{
	size_t start = p->i;
	struct toml_node *a = node_new(TOML_ARRAY, line, col, depth);
	char tmp[16];

	a->flags = TF_INLINE;
	p->i++;
	for (;;) {
		struct toml_node *item = NULL;

		if (skip_blank(p))
			goto fail;
		if (p->i < p->n && p->s[p->i] == ']')
			break;
		if (p->i >= p->n) {
			fail_at(p, start, "unterminated array");
			goto fail;
		}
		if (parse_value(p, depth + 1, &item))
			goto fail;
		array_add(a, item);
		if (skip_blank(p))
			goto fail;
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']')
			break;
		if (p->i >= p->n)
			fail_at(p, start, "unterminated array");
		else
			fail_at(p, p->i, "expected ',' or ']' in the array, found %s", describe(p, p->i, tmp, sizeof(tmp)));
		goto fail;
	}
	p->i++;
	*out = a;
	return 0;
fail:
	node_free(a);
	return -1;
}

/* At '{'. One line, no trailing comma (TOML 1.0); closed to additions once written. */
static int parse_inline_table(struct parser *p, int line, int col, int depth, struct toml_node **out)
{
	struct toml_node *t = node_new(TOML_TABLE, line, col, depth);
	char tmp[16];

	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		goto done;
	}
	for (;;) {
		if (parse_keyval(p, t))
			goto fail;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			skip_ws(p);
			if (p->i < p->n && p->s[p->i] == '}') {
				fail_at(p, p->i - 1, "trailing comma in an inline table");
				goto fail;
			}
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			break;
		}
		if (p->i >= p->n || at_newline(p))
			fail_at(p, p->i, "inline table not closed on its line (newlines are not allowed in it)");
		else
			fail_at(p, p->i, "expected ',' or '}' in the inline table, found %s",
				describe(p, p->i, tmp, sizeof(tmp)));
		goto fail;
	}
done:
	t->flags = TF_INLINE;
	*out = t;
	return 0;
fail:
	node_free(t);
	return -1;
}

static int parse_value(struct parser *p, int depth, struct toml_node **out)
{
	size_t start = p->i, len;
	struct toml_node *n;
	char tmp[16];
	const char *tok;
	int line, col;

	*out = NULL;
	position(p, start, &line, &col);
	if (depth > TOML_MAX_DEPTH)
		return fail_at(p, start, "values nested more than %d deep", TOML_MAX_DEPTH);
	if (p->i >= p->n)
		return fail_at(p, start, "expected a value, found end of file");
	switch (p->s[p->i]) {
	case '"':
	case '\'':
		n = node_new(TOML_STRING, line, col, depth);
		if (parse_string(p, &n->text, &n->length)) {
			node_free(n);
			return -1;
		}
		*out = n;
		return 0;
	case '[':
		return parse_array(p, line, col, depth, out);
	case '{':
		return parse_inline_table(p, line, col, depth, out);
	default:
		break;
	}
	while (p->i < p->n && is_token_char(p->s[p->i]))
		p->i++;
	/* "1979-05-27 07:32:00": a date, a space and a time are one value. */
	if (p->i - start == 10 && valid_date(p->s + start, 10) && p->i + 3 < p->n && p->s[p->i] == ' ' &&
	    is_digit(p->s[p->i + 1]) && is_digit(p->s[p->i + 2]) && p->s[p->i + 3] == ':') {
		p->i++;
		while (p->i < p->n && is_token_char(p->s[p->i]))
			p->i++;
	}
	tok = p->s + start;
	len = p->i - start;
	if (len == 0)
		return fail_at(p, start, "expected a value, found %s", describe(p, start, tmp, sizeof(tmp)));
	n = node_new(TOML_BOOLEAN, line, col, depth);
	n->text = malloc(len + 1);
	if (!n->text)
		abort();
	memcpy(n->text, tok, len);
	n->text[len] = '\0';
	n->length = len;
	if ((len == 4 && memcmp(tok, "true", 4) == 0) || (len == 5 && memcmp(tok, "false", 5) == 0)) {
		n->boolean = tok[0] == 't';
	} else if (len >= 5 && ((is_digit(tok[0]) && tok[4] == '-') || (is_digit(tok[0]) && tok[2] == ':'))) {
		if (!parse_datetime(tok, len, &n->type)) {
			node_free(n);
			return fail_at(p, start, "'%.*s' is not a valid date or time", (int)len, tok);
		}
	} else if (!parse_number(tok, len, n)) {
		node_free(n);
		if (len > 0 && (is_digit(tok[0]) || tok[0] == '+' || tok[0] == '-'))
			return fail_at(p, start, "'%.*s' is not a valid number (or out of range)", (int)len, tok);
		return fail_at(p, start, "'%.*s' is not a valid value (strings need quotes)", (int)len, tok);
	}
	*out = n;
	return 0;
}

/* "an integer", "an inline table", ... for messages. */
static const char *kind_of(const struct toml_node *n)
{
	switch (n->type) {
	case TOML_TABLE: return n->flags & TF_INLINE ? "an inline table" : "a table";
	case TOML_ARRAY: return n->flags & TF_TABLES ? "an array of tables" : "an array";
	case TOML_STRING: return "a string";
	case TOML_INTEGER: return "an integer";
	case TOML_FLOAT: return "a float";
	case TOML_BOOLEAN: return "a boolean";
	default: return "a date-time";
	}
}

/* key = value into `table` (the current section, or an inline table being read). */
static int parse_keyval(struct parser *p, struct toml_node *table)
{
	struct key_path k = {0};
	struct toml_node *t = table, *value = NULL;
	struct toml_entry *e;
	struct key_part *last;
	char tmp[16];
	int rc = -1;

	if (parse_key(p, &k))
		goto out;
	skip_ws(p);
	if (p->i >= p->n || p->s[p->i] != '=') {
		fail_at(p, p->i, "expected '=' after the key, found %s", describe(p, p->i, tmp, sizeof(tmp)));
		goto out;
	}
	p->i++;
	skip_ws(p);
	for (size_t i = 0; i + 1 < k.count; i++) {
		struct key_part *part = &k.parts[i];
		e = index_find(p, t, part->s, part->len);
		if (!e) {
			struct toml_node *sub;
			if (t->depth + 1 > TOML_MAX_DEPTH) {
				fail_at(p, part->off, "tables nested more than %d deep", TOML_MAX_DEPTH);
				goto out;
			}
			sub = node_new(TOML_TABLE, part->line, part->col, t->depth + 1);
			sub->flags = TF_DOTTED;
			table_add(p, t, part, sub);
			t = sub;
		} else if (e->value->type == TOML_TABLE && (e->value->flags & TF_DOTTED) && !(e->value->flags & TF_INLINE)) {
			t = e->value;
		} else if (e->value->type == TOML_TABLE) {
			fail_at(p, part->off, "'%s' is %s defined at line %d; dotted keys cannot add to it", part->s,
				kind_of(e->value), e->value->line);
			goto out;
		} else {
			fail_at(p, part->off, "'%s' is already %s (line %d), not a table", part->s, kind_of(e->value),
				e->line);
			goto out;
		}
	}
	last = &k.parts[k.count - 1];
	if ((e = index_find(p, t, last->s, last->len))) {
		fail_at(p, last->off, "duplicate key '%s' (first defined at line %d, column %d)", last->s, e->line,
			e->col);
		goto out;
	}
	if (parse_value(p, t->depth + 1, &value))
		goto out;
	table_add(p, t, last, value);
	rc = 0;
out:
	key_path_clear(&k);
	return rc;
}

/* At '[': a [table] or [[array of tables]] header; sets the section key/values go to. */
static int parse_header(struct parser *p)
{
	size_t start = p->i;
	bool array = p->i + 1 < p->n && p->s[p->i + 1] == '[';
	struct key_path k = {0};
	struct toml_node *t = p->root, *node;
	struct toml_entry *e;
	struct key_part *last;
	char tmp[16];
	int rc = -1, line, col;

	position(p, start, &line, &col);
	p->i += array ? 2 : 1;
	if (parse_key(p, &k))
		goto out;
	if (p->i >= p->n || p->s[p->i] != ']' || (array && (p->i + 1 >= p->n || p->s[p->i + 1] != ']'))) {
		fail_at(p, p->i, "expected '%s' to close the header, found %s", array ? "]]" : "]",
			describe(p, p->i, tmp, sizeof(tmp)));
		goto out;
	}
	p->i += array ? 2 : 1;
	for (size_t i = 0; i + 1 < k.count; i++) {
		struct key_part *part = &k.parts[i];
		e = index_find(p, t, part->s, part->len);
		if (!e) {
			struct toml_node *sub;
			if (t->depth + 1 > TOML_MAX_DEPTH) {
				fail_at(p, part->off, "tables nested more than %d deep", TOML_MAX_DEPTH);
				goto out;
			}
			sub = node_new(TOML_TABLE, part->line, part->col, t->depth + 1);
			sub->flags = TF_IMPLICIT;
			table_add(p, t, part, sub);
			t = sub;
		} else if (e->value->type == TOML_TABLE && !(e->value->flags & TF_INLINE)) {
			t = e->value;
		} else if (e->value->type == TOML_ARRAY && (e->value->flags & TF_TABLES)) {
			/* A sub-table belongs to the most recent element of the array. */
			t = e->value->items[e->value->count - 1];
		} else {
			fail_at(p, part->off, "'%s' is %s (line %d); a header cannot add to it", part->s,
				kind_of(e->value), e->line);
			goto out;
		}
	}
	last = &k.parts[k.count - 1];
	e = index_find(p, t, last->s, last->len);
	if (t->depth + 1 > TOML_MAX_DEPTH || (array && t->depth + 2 > TOML_MAX_DEPTH)) {
		fail_at(p, last->off, "tables nested more than %d deep", TOML_MAX_DEPTH);
		goto out;
	}
	if (!array) {
		if (!e) {
			node = node_new(TOML_TABLE, line, col, t->depth + 1);
			node->flags = TF_HEADER;
			table_add(p, t, last, node);
		} else if (e->value->type == TOML_TABLE && e->value->flags == TF_IMPLICIT) {
			node = e->value;
			node->flags = TF_HEADER;
			node->line = line;
			node->col = col;
		} else if (e->value->type == TOML_TABLE) {
			fail_at(p, start, "table '%s' is already defined (line %d)", last->s, e->value->line);
			goto out;
		} else {
			fail_at(p, start, "'%s' is already %s (line %d), not a table", last->s, kind_of(e->value),
				e->line);
			goto out;
		}
	} else {
		struct toml_node *arr;
		if (!e) {
			arr = node_new(TOML_ARRAY, line, col, t->depth + 1);
			arr->flags = TF_TABLES;
			table_add(p, t, last, arr);
		} else if (e->value->type == TOML_ARRAY && (e->value->flags & TF_TABLES)) {
			arr = e->value;
		} else {
			fail_at(p, start, "'%s' is already %s (line %d), not an array of tables", last->s,
				kind_of(e->value), e->line);
			goto out;
		}
		node = node_new(TOML_TABLE, line, col, arr->depth + 1);
		node->flags = TF_HEADER;
		array_add(arr, node);
	}
	p->cur = node;
	rc = 0;
out:
	key_path_clear(&k);
	return rc;
}

int toml_parse(struct toml_doc **out, const char *file, const char *data, size_t size, struct diag_list *diags,
	       struct error *err)
{
	struct parser p;
	struct toml_doc *doc = NULL;
	int rc = -1;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.file = file;
	p.s = data;
	p.n = size;
	p.diags = diags;
	p.err = err;
	p.pos_line = 1;
	p.pos_col = 1;
	if (size > TOML_MAX_SIZE)
		return error_set(err, ERROR_LIMIT, "%s: larger than %u bytes", file, TOML_MAX_SIZE);
	p.root = node_new(TOML_TABLE, 1, 1, 0);
	p.root->flags = TF_HEADER;
	p.cur = p.root;
	if (check_utf8(&p))
		goto out;
	if (p.n >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
		p.i = p.base = 3; /* a byte order mark says nothing, and is no column */
	while (p.i < p.n) {
		skip_ws(&p);
		if (p.i >= p.n)
			break;
		if (p.s[p.i] == '#') {
			if (skip_comment(&p))
				goto out;
			continue;
		}
		if (at_newline(&p)) {
			skip_newline(&p);
			continue;
		}
		if (p.s[p.i] == '\r') {
			fail_at(&p, p.i, "carriage return without a line feed");
			goto out;
		}
		if (p.s[p.i] == '[') {
			if (parse_header(&p) || expect_line_end(&p, "the header"))
				goto out;
		} else if (parse_keyval(&p, p.cur) || expect_line_end(&p, "the value")) {
			goto out;
		}
	}
	doc = calloc(1, sizeof(*doc));
	if (!doc)
		abort();
	doc->file = xstrdup(file);
	doc->root = p.root;
	p.root = NULL;
	*out = doc;
	rc = 0;
out:
	node_free(p.root);
	free(p.slots);
	return rc;
}

void toml_free(struct toml_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->file);
	free(doc);
}

const struct toml_entry *toml_get_entry(const struct toml_node *table, const char *key)
{
	size_t len;

	if (!table || table->type != TOML_TABLE || !key)
		return NULL;
	len = strlen(key);
	for (size_t i = 0; i < table->count; i++)
		if (table->entries[i].key_length == len && memcmp(table->entries[i].key, key, len) == 0)
			return &table->entries[i];
	return NULL;
}

const struct toml_node *toml_get(const struct toml_node *table, const char *key)
{
	const struct toml_entry *e = toml_get_entry(table, key);

	return e ? e->value : NULL;
}

size_t toml_array_count(const struct toml_node *array)
{
	return array && array->type == TOML_ARRAY ? array->count : 0;
}

const struct toml_node *toml_array_at(const struct toml_node *array, size_t i)
{
	return i < toml_array_count(array) ? array->items[i] : NULL;
}

const char *toml_string(const struct toml_node *node)
{
	return node && node->type == TOML_STRING ? node->text : NULL;
}

bool toml_int(const struct toml_node *node, long long *value)
{
	if (!node || node->type != TOML_INTEGER)
		return false;
	*value = node->integer;
	return true;
}

bool toml_bool(const struct toml_node *node, bool *value)
{
	if (!node || node->type != TOML_BOOLEAN)
		return false;
	*value = node->boolean;
	return true;
}

bool toml_float(const struct toml_node *node, double *value)
{
	if (!node || node->type != TOML_FLOAT)
		return false;
	*value = node->number;
	return true;
}

bool toml_is_datetime(const struct toml_node *node)
{
	return node && (node->type == TOML_OFFSET_DATETIME || node->type == TOML_LOCAL_DATETIME ||
			node->type == TOML_LOCAL_DATE || node->type == TOML_LOCAL_TIME);
}

const char *toml_type_name(const struct toml_node *node)
{
	if (!node)
		return "nothing";
	switch (node->type) {
	case TOML_TABLE: return "table";
	case TOML_ARRAY: return "array";
	case TOML_STRING: return "string";
	case TOML_INTEGER: return "integer";
	case TOML_FLOAT: return "float";
	case TOML_BOOLEAN: return "boolean";
	case TOML_OFFSET_DATETIME: return "offset date-time";
	case TOML_LOCAL_DATETIME: return "local date-time";
	case TOML_LOCAL_DATE: return "local date";
	case TOML_LOCAL_TIME: return "local time";
	}
	return "value";
}
