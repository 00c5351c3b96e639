/* schema.h - declarative shape of a YAML document, checked in one pass.
 *
 * Recipes, factory.yaml and connector catalog files are described by static `struct schema`
 * tables. schema_check walks a ydoc against one and reports every unknown key (with a
 * did-you-mean), wrong type, value outside its choices and missing required key, each with
 * its position and its dotted path (`job.upgradeMode`).
 */
#ifndef FACTORY_SCHEMA_H
#define FACTORY_SCHEMA_H

#include <stdbool.h>

#include "diag.h"
#include "ydoc.h"

enum schema_type {
	SCHEMA_STRING,  /* any non-null scalar, read as its text */
	SCHEMA_INT,     /* plain integer */
	SCHEMA_NUMBER,  /* plain integer or decimal */
	SCHEMA_BOOL,    /* true / false */
	SCHEMA_OBJECT,  /* mapping with the keys listed in `fields` */
	SCHEMA_MAP,     /* mapping from free-form keys to `element` */
	SCHEMA_LIST,    /* sequence of `element` */
	SCHEMA_ANY,     /* anything; checked by the caller */
};

#define SCHEMA_REQUIRED 1u

struct schema;

struct schema_field {
	const char *key;
	const struct schema *schema;
	unsigned flags;
};

struct schema {
	enum schema_type type;
	const struct schema_field *fields; /* SCHEMA_OBJECT; ends with a {NULL} entry */
	const struct schema *element;      /* SCHEMA_LIST items, SCHEMA_MAP values */
	const char *const *choices;        /* SCHEMA_STRING: allowed values, NULL-terminated */
	long long min, max;                /* SCHEMA_INT bounds, used when min < max */
	bool or_string;                    /* SCHEMA_LIST: a single string is accepted too */
};

/* Shared leaf schemas. */
extern const struct schema schema_string;
extern const struct schema schema_int;
extern const struct schema schema_nonnegative_int;
extern const struct schema schema_positive_int;
extern const struct schema schema_number;
extern const struct schema schema_bool;
extern const struct schema schema_any;
extern const struct schema schema_string_list;
extern const struct schema schema_string_map;

/* Checks `node` (may be NULL for an empty document) against `schema`. `path` names the node
 * in messages ("" for the root). Returns the number of errors added. */
size_t schema_check(const struct schema *schema, const struct ynode *node, const char *path,
		    const char *file, struct diag_list *diags);

/* The closest of `candidates` (NULL-terminated) to `word`, or NULL when none is close. */
const char *schema_suggest(const char *word, const char *const *candidates);

#endif
