#include "ydoc.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fsutil.h"

struct loader {
	struct ydoc *doc;
	struct diag_list *diags;
	struct ynode *stack[YDOC_MAX_DEPTH];
	size_t depth;
	struct ynode *pending_key[YDOC_MAX_DEPTH];
	struct anchor {
		char *name;
		struct ynode *node;
	} *anchors;
	size_t anchor_count;
	size_t expanded; /* running total, aliases counted at their full size */
	bool aliased;    /* an alias was seen: the bound is then the expansion's */
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

static void loader_error(struct loader *ld, const yaml_mark_t *mark, const char *fmt, const char *arg)
{
	diag_add(ld->diags, DIAG_ERROR, ld->doc->file, (int)mark->line + 1, (int)mark->column + 1, fmt,
		 arg);
}

static struct ynode *node_new(struct loader *ld, enum ynode_kind kind, const yaml_mark_t *mark)
{
	struct ydoc *doc = ld->doc;
	struct ynode *node = xcalloc(1, sizeof(*node));

	if (doc->node_count == doc->node_capacity) {
		doc->node_capacity = doc->node_capacity ? doc->node_capacity * 2 : 64;
		doc->nodes = realloc(doc->nodes, doc->node_capacity * sizeof(*doc->nodes));
		if (!doc->nodes)
			abort();
	}
	doc->nodes[doc->node_count++] = node;
	node->kind = kind;
	node->line = (int)mark->line + 1;
	node->col = (int)mark->column + 1;
	node->expanded_size = 1;
	return node;
}

static void append_child(struct ynode *parent, struct ynode *key, struct ynode *value)
{
	if ((parent->count & (parent->count - 1)) == 0) {
		size_t cap = parent->count ? parent->count * 2 : 1;
		parent->values = realloc(parent->values, cap * sizeof(*parent->values));
		if (!parent->values)
			abort();
		if (parent->kind == YNODE_MAPPING) {
			parent->keys = realloc(parent->keys, cap * sizeof(*parent->keys));
			if (!parent->keys)
				abort();
		}
	}
	if (parent->kind == YNODE_MAPPING)
		parent->keys[parent->count] = key;
	parent->values[parent->count++] = value;
}

static void remember_anchor(struct loader *ld, const unsigned char *name, struct ynode *node)
{
	if (!name)
		return;
	/* A redefined anchor takes effect for the aliases that follow it, as YAML specifies. */
	ld->anchors = realloc(ld->anchors, (ld->anchor_count + 1) * sizeof(*ld->anchors));
	if (!ld->anchors)
		abort();
	ld->anchors[ld->anchor_count].name = strdup((const char *)name);
	if (!ld->anchors[ld->anchor_count].name)
		abort();
	ld->anchors[ld->anchor_count++].node = node;
}

static struct ynode *find_anchor(struct loader *ld, const unsigned char *name)
{
	for (size_t i = ld->anchor_count; i-- > 0;)
		if (strcmp(ld->anchors[i].name, (const char *)name) == 0)
			return ld->anchors[i].node;
	return NULL;
}

/* Attaches `node` under the innermost open container, or makes it the root. */
static int attach(struct loader *ld, struct ynode *node, const yaml_mark_t *mark)
{
	struct ynode *parent;

	if (ld->depth == 0) {
		ld->doc->root = node;
		return 0;
	}
	parent = ld->stack[ld->depth - 1];
	if (parent->kind == YNODE_SEQUENCE) {
		append_child(parent, NULL, node);
		return 0;
	}
	if (!ld->pending_key[ld->depth - 1]) {
		if (node->kind != YNODE_SCALAR) {
			loader_error(ld, mark, "mapping keys must be plain strings%s", "");
			return -1;
		}
		for (size_t i = 0; i < parent->count; i++) {
			const struct ynode *k = parent->keys[i];
			if (k->length == node->length && memcmp(k->value, node->value, k->length) == 0) {
				loader_error(ld, mark, "duplicate key '%s'", node->value);
				return -1;
			}
		}
		ld->pending_key[ld->depth - 1] = node;
		return 0;
	}
	append_child(parent, ld->pending_key[ld->depth - 1], node);
	ld->pending_key[ld->depth - 1] = NULL;
	return 0;
}

static int count_expansion(struct loader *ld, size_t nodes, const yaml_mark_t *mark)
{
	ld->expanded += nodes;
	if (ld->expanded > YDOC_MAX_EXPANDED_NODES) {
		diag_add(ld->diags, DIAG_ERROR, ld->doc->file, (int)mark->line + 1, (int)mark->column + 1,
			 ld->aliased ? "YAML aliases expand to more than %d nodes; refusing the document"
				     : "the document has more than %d nodes; refusing it",
			 YDOC_MAX_EXPANDED_NODES);
		return -1;
	}
	return 0;
}

static int handle_event(struct loader *ld, const yaml_event_t *ev, int *documents)
{
	const yaml_mark_t *mark = &ev->start_mark;
	struct ynode *node;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*documents > 1) {
			loader_error(ld, mark, "a recipe holds exactly one YAML document; found another%s", "");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		node = node_new(ld, YNODE_SCALAR, mark);
		node->length = ev->data.scalar.length;
		node->value = xcalloc(node->length + 1, 1);
		memcpy(node->value, ev->data.scalar.value, node->length);
		switch (ev->data.scalar.style) {
		case YAML_PLAIN_SCALAR_STYLE:
			/* An explicit tag (`!!str 1`) makes the scalar text, like quoting. */
			node->style = ev->data.scalar.plain_implicit ? YSCALAR_PLAIN : YSCALAR_QUOTED;
			break;
		case YAML_LITERAL_SCALAR_STYLE:
		case YAML_FOLDED_SCALAR_STYLE:
			node->style = YSCALAR_BLOCK;
			break;
		default:
			node->style = YSCALAR_QUOTED;
		}
		node->complete = true;
		remember_anchor(ld, ev->data.scalar.anchor, node);
		if (count_expansion(ld, 1, mark))
			return -1;
		return attach(ld, node, mark);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ld->depth == YDOC_MAX_DEPTH) {
			diag_add(ld->diags, DIAG_ERROR, ld->doc->file, (int)mark->line + 1,
				 (int)mark->column + 1, "YAML nesting deeper than %d levels", YDOC_MAX_DEPTH);
			return -1;
		}
		node = node_new(ld, ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQUENCE : YNODE_MAPPING,
				mark);
		remember_anchor(ld,
				ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
								      : ev->data.mapping_start.anchor,
				node);
		if (count_expansion(ld, 1, mark) || attach(ld, node, mark))
			return -1;
		ld->pending_key[ld->depth] = NULL;
		ld->stack[ld->depth++] = node;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		node = ld->stack[--ld->depth];
		for (size_t i = 0; i < node->count; i++)
			node->expanded_size += node->values[i]->expanded_size +
					       (node->keys ? node->keys[i]->expanded_size : 0);
		node->complete = true;
		return 0;
	case YAML_ALIAS_EVENT:
		node = find_anchor(ld, ev->data.alias.anchor);
		if (!node) {
			loader_error(ld, mark, "alias '*%s' refers to no anchor", (const char *)ev->data.alias.anchor);
			return -1;
		}
		if (!node->complete) {
			loader_error(ld, mark, "alias '*%s' refers to a node that contains it",
				     (const char *)ev->data.alias.anchor);
			return -1;
		}
		ld->aliased = true;
		if (count_expansion(ld, node->expanded_size, mark))
			return -1;
		return attach(ld, node, mark);
	default:
		return 0;
	}
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset instead of a mark. */
static void offset_to_position(const char *data, size_t size, size_t offset, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < size; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void report_syntax_error(const yaml_parser_t *parser, const char *file, const char *data, size_t size,
				struct diag_list *diags)
{
	const char *problem = parser->problem ? parser->problem : "unknown problem";
	int line = (int)parser->problem_mark.line + 1, col = (int)parser->problem_mark.column + 1;

	if (parser->error == YAML_READER_ERROR) {
		offset_to_position(data, size, parser->problem_offset, &line, &col);
		diag_add(diags, DIAG_ERROR, file, line, col, "not valid UTF-8 text: %s", problem);
	} else if (parser->context) {
		/* Where the unclosed quote or bracket started is what the user needs to find. */
		diag_add(diags, DIAG_ERROR, file, line, col, "YAML syntax error: %s %s that starts at %d:%d", problem,
			 parser->context, (int)parser->context_mark.line + 1, (int)parser->context_mark.column + 1);
	} else {
		diag_add(diags, DIAG_ERROR, file, line, col, "YAML syntax error: %s", problem);
	}
}

int ydoc_load_buffer(struct ydoc **out, const char *file, const char *data, size_t size,
		     struct diag_list *diags, struct error *err)
{
	struct loader ld = {.diags = diags};
	yaml_parser_t parser;
	yaml_event_t event;
	int documents = 0, rc = 0;
	bool done = false;

	*out = NULL;
	ld.doc = xcalloc(1, sizeof(*ld.doc));
	ld.doc->file = strdup(file);
	if (!ld.doc->file || !yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
	while (!done) {
		if (!yaml_parser_parse(&parser, &event)) {
			report_syntax_error(&parser, file, data, size, diags);
			rc = -1;
			break;
		}
		done = event.type == YAML_STREAM_END_EVENT;
		rc = handle_event(&ld, &event, &documents);
		yaml_event_delete(&event);
		if (rc)
			break;
	}
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < ld.anchor_count; i++)
		free(ld.anchors[i].name);
	free(ld.anchors);
	if (rc) {
		ydoc_free(ld.doc);
		return error_set(err, ERROR_INVALID, "%s: not a valid YAML document", file);
	}
	*out = ld.doc;
	return 0;
}

int ydoc_load_file(struct ydoc **out, const char *path, size_t max_size, struct diag_list *diags,
		   struct error *err)
{
	char *data = NULL;
	size_t size = 0;
	int rc;

	*out = NULL;
	if (fs_read_file(path, max_size, &data, &size, err))
		return -1;
	rc = ydoc_load_buffer(out, path, data, size, diags, err);
	free(data);
	return rc;
}

void ydoc_free(struct ydoc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->node_count; i++) {
		free(doc->nodes[i]->value);
		free(doc->nodes[i]->keys);
		free(doc->nodes[i]->values);
		free(doc->nodes[i]);
	}
	free(doc->nodes);
	free(doc->file);
	free(doc);
}

static long find_key(const struct ynode *map, const char *key)
{
	if (!map || map->kind != YNODE_MAPPING)
		return -1;
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->keys[i]->value, key) == 0)
			return (long)i;
	return -1;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	long i = find_key(map, key);
	return i < 0 ? NULL : map->values[i];
}

const struct ynode *ynode_get_key(const struct ynode *map, const char *key)
{
	long i = find_key(map, key);
	return i < 0 ? NULL : map->keys[i];
}

const struct ynode *ynode_at_path(const struct ynode *node, const char *path)
{
	char key[64];

	while (node && *path) {
		size_t len = strcspn(path, ".");
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		node = ynode_get(node, key);
		path += len + (path[len] == '.');
	}
	return node;
}

const struct ynode *ynode_where(const struct ynode *node, const char *path)
{
	const struct ynode *found = ynode_at_path(node, path);
	const char *dot;
	char parent[128];

	if (found)
		return found;
	dot = strrchr(path, '.');
	if (!dot)
		return node;
	snprintf(parent, sizeof(parent), "%.*s", (int)(dot - path), path);
	found = ynode_at_path(node, parent);
	return found ? found : node;
}

static bool is_plain(const struct ynode *node)
{
	return node && node->kind == YNODE_SCALAR && node->style == YSCALAR_PLAIN;
}

bool yscalar_is_null(const struct ynode *node)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (!is_plain(node))
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(*nulls); i++)
		if (strcmp(node->value, nulls[i]) == 0)
			return true;
	return false;
}

bool yscalar_bool(const struct ynode *node, bool *value)
{
	static const char *const truths[] = {"true", "True", "TRUE"};
	static const char *const lies[] = {"false", "False", "FALSE"};

	if (!is_plain(node))
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(node->value, truths[i]) == 0) {
			*value = true;
			return true;
		}
		if (strcmp(node->value, lies[i]) == 0) {
			*value = false;
			return true;
		}
	}
	return false;
}

bool yscalar_int(const struct ynode *node, long long *value)
{
	const char *s;
	char *end;
	long long v;

	if (!is_plain(node))
		return false;
	s = node->value;
	if (*s == '+' || *s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	errno = 0;
	v = strtoll(node->value, &end, 10);
	if (errno || *end)
		return false;
	*value = v;
	return true;
}

bool yscalar_number(const struct ynode *node, double *value)
{
	const char *s;
	char *end;
	double v;
	bool digits = false;

	if (!is_plain(node))
		return false;
	/* Decimal notation only: strtod alone would also take "inf", "nan" and hex floats. */
	s = node->value;
	if (*s == '+' || *s == '-')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digits = true;
		else if (!strchr(".eE+-", *s))
			return false;
	}
	if (!digits)
		return false;
	errno = 0;
	v = strtod(node->value, &end);
	if (errno || *end || !isfinite(v))
		return false;
	*value = v;
	return true;
}

const char *ynode_kind_name(const struct ynode *node)
{
	if (!node)
		return "nothing";
	switch (node->kind) {
	case YNODE_MAPPING:
		return "a mapping";
	case YNODE_SEQUENCE:
		return "a list";
	default:
		if (yscalar_is_null(node))
			return "null";
		return "a scalar";
	}
}
