/* ydoc.h - a YAML document as a tree of positioned nodes.
 *
 * Every node remembers where it starts in the source so validation can say
 * `file:line:col`. Scalars keep their source text; whether a plain scalar is a number, a
 * boolean or null is decided by whoever reads it (see yscalar_*), because a recipe's
 * `version: 1.20` must stay "1.20" and never become 1.2.
 *
 * Aliases share the anchored node instead of copying it; the loader bounds how large the
 * document becomes when aliases are expanded, refusing "billion laughs" inputs.
 */
#ifndef FACTORY_YDOC_H
#define FACTORY_YDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"

enum ynode_kind { YNODE_SCALAR, YNODE_MAPPING, YNODE_SEQUENCE };

enum yscalar_style { YSCALAR_PLAIN, YSCALAR_QUOTED, YSCALAR_BLOCK };

struct ynode {
	enum ynode_kind kind;
	int line; /* 1-based */
	int col;  /* 1-based */

	/* YNODE_SCALAR */
	char *value; /* NUL-terminated; may also contain NULs, see length */
	size_t length;
	enum yscalar_style style;

	/* YNODE_MAPPING: keys[i] (always scalars) maps to values[i]; YNODE_SEQUENCE: values[i] */
	struct ynode **keys;
	struct ynode **values;
	size_t count;

	size_t expanded_size; /* nodes in this subtree with aliases expanded */
	bool complete;
};

struct ydoc {
	char *file;
	struct ynode *root; /* NULL for an empty document */
	struct ynode **nodes; /* every node, for freeing */
	size_t node_count;
	size_t node_capacity;
};

/* Limits that keep hostile input from exhausting memory or the stack. */
#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_EXPANDED_NODES 100000

/* Parses one YAML document. Syntax problems go to `diags` (positioned) and make the call
 * return -1 with ERROR_INVALID; `file` is the name used in diagnostics. */
int ydoc_load_buffer(struct ydoc **out, const char *file, const char *data, size_t size,
		     struct diag_list *diags, struct error *err);
int ydoc_load_file(struct ydoc **out, const char *path, size_t max_size, struct diag_list *diags,
		   struct error *err);
void ydoc_free(struct ydoc *doc);

/* The value of `key` in a mapping, or NULL (also when `map` is NULL or not a mapping). */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
/* The key node of `key`, for positions. */
const struct ynode *ynode_get_key(const struct ynode *map, const char *key);
/* The node at a dotted path of mapping keys ("job.savepoint.interval"), or NULL. */
const struct ynode *ynode_at_path(const struct ynode *node, const char *path);
/* The node a message about `path` points at: the value if present, else the mapping that
 * should hold it, else `node` itself, so a missing key is reported where it belongs. */
const struct ynode *ynode_where(const struct ynode *node, const char *path);

bool yscalar_is_null(const struct ynode *node);
/* Each returns false when the node is not a scalar of that type. */
bool yscalar_bool(const struct ynode *node, bool *value);
bool yscalar_int(const struct ynode *node, long long *value);
bool yscalar_number(const struct ynode *node, double *value);

const char *ynode_kind_name(const struct ynode *node);

#endif
