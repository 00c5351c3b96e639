/* toml.h - a TOML 1.0 document as a tree of positioned nodes.
 *
 * Debian ships no C library that parses TOML, and PEP 751 lock files (pylock.toml) are TOML,
 * so factory carries this small parser. It implements the whole of TOML 1.0 syntax and its
 * table rules (no duplicate keys, no table defined twice, inline tables closed for good),
 * and like ydoc it keeps the line and column where every key and value starts, so callers
 * can report `file:line:col`.
 *
 * Date-times are kept as their source text (tagged with their kind): factory only compares
 * or copies them. A document is rejected at its first error, with its position.
 */
#ifndef FACTORY_TOML_H
#define FACTORY_TOML_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOLEAN,
	TOML_OFFSET_DATETIME, /* 1979-05-27T07:32:00Z */
	TOML_LOCAL_DATETIME,  /* 1979-05-27T07:32:00 */
	TOML_LOCAL_DATE,      /* 1979-05-27 */
	TOML_LOCAL_TIME,      /* 07:32:00 */
};

struct toml_node;

struct toml_entry {
	char *key; /* decoded; NUL-terminated, may also contain NULs (see key_length) */
	size_t key_length;
	int line, col; /* where the key (its last dotted part) is written */
	struct toml_node *value;
};

struct toml_node {
	enum toml_type type;
	int line; /* 1-based; for a table, where it is first named */
	int col;

	/* Scalars: for TOML_STRING the decoded value (NUL-terminated; may contain NULs, see
	 * length); for the other scalars their source text. */
	char *text;
	size_t length;
	long long integer; /* TOML_INTEGER */
	double number;     /* TOML_FLOAT */
	bool boolean;      /* TOML_BOOLEAN */

	struct toml_entry *entries; /* TOML_TABLE, in document order */
	struct toml_node **items;   /* TOML_ARRAY */
	size_t count;
	size_t capacity;

	unsigned flags; /* how the table or array was defined; private to the parser */
	int depth;
};

struct toml_doc {
	char *file;
	struct toml_node *root; /* a table, possibly empty */
};

/* Limits that keep hostile input from exhausting memory or the stack. */
#define TOML_MAX_SIZE (64u * 1024 * 1024)
#define TOML_MAX_DEPTH 64

/* Parses a document. A syntax or table error goes to `diags` (positioned) and makes the call
 * return -1 with ERROR_INVALID; a document over TOML_MAX_SIZE is ERROR_LIMIT. `file` is the
 * name used in diagnostics. */
int toml_parse(struct toml_doc **out, const char *file, const char *data, size_t size, struct diag_list *diags,
	       struct error *err);
void toml_free(struct toml_doc *doc);

/* The value of `key` in a table, or NULL (also when `table` is NULL or not a table). */
const struct toml_node *toml_get(const struct toml_node *table, const char *key);
/* The entry of `key`, for the key's position. */
const struct toml_entry *toml_get_entry(const struct toml_node *table, const char *key);

/* Array items: the count (0 when `array` is NULL or not an array) and the i-th item. */
size_t toml_array_count(const struct toml_node *array);
const struct toml_node *toml_array_at(const struct toml_node *array, size_t i);

/* The string, or NULL when the node is not a string. */
const char *toml_string(const struct toml_node *node);
/* Each returns false when the node is not of that type. */
bool toml_int(const struct toml_node *node, long long *value);
bool toml_bool(const struct toml_node *node, bool *value);
bool toml_float(const struct toml_node *node, double *value);
bool toml_is_datetime(const struct toml_node *node);

/* "table", "array", "string", "integer", "float", "boolean", "offset date-time", ... */
const char *toml_type_name(const struct toml_node *node);

#endif
