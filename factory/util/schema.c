#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct schema schema_string = {.type = SCHEMA_STRING};
const struct schema schema_int = {.type = SCHEMA_INT};
/* Bounded by Java's int: the operator reads these into Integer fields. */
const struct schema schema_nonnegative_int = {.type = SCHEMA_INT, .min = 0, .max = 2147483647};
const struct schema schema_positive_int = {.type = SCHEMA_INT, .min = 1, .max = 2147483647};
const struct schema schema_number = {.type = SCHEMA_NUMBER};
const struct schema schema_bool = {.type = SCHEMA_BOOL};
const struct schema schema_any = {.type = SCHEMA_ANY};
const struct schema schema_string_list = {.type = SCHEMA_LIST, .element = &schema_string};
const struct schema schema_string_map = {.type = SCHEMA_MAP, .element = &schema_string};

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), result;
	size_t *row;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	row = malloc((lb + 1) * sizeof(*row));
	if (!row)
		abort();
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	result = row[lb];
	free(row);
	return result;
}

const char *schema_suggest(const char *word, const char *const *candidates)
{
	size_t best = (size_t)-1, limit = strlen(word) / 3 + 1;
	const char *choice = NULL;

	if (limit < 2)
		limit = 2;
	for (; *candidates; candidates++) {
		size_t d = edit_distance(word, *candidates);
		if (d < best) {
			best = d;
			choice = *candidates;
		}
	}
	return best <= limit ? choice : NULL;
}

static void report(struct diag_list *diags, const char *file, const struct ynode *node,
		   const char *path, const char *message)
{
	diag_add(diags, DIAG_ERROR, file, node ? node->line : 0, node ? node->col : 0, "%s: %s",
		 *path ? path : "recipe", message);
}

static char *child_path(const char *path, const char *key)
{
	size_t len = strlen(path) + strlen(key) + 2;
	char *out = malloc(len);

	if (!out)
		abort();
	snprintf(out, len, "%s%s%s", path, *path ? "." : "", key);
	return out;
}

static char *index_path(const char *path, size_t index)
{
	size_t len = strlen(path) + 24;
	char *out = malloc(len);

	if (!out)
		abort();
	snprintf(out, len, "%s[%zu]", path, index);
	return out;
}

static const char *type_words(enum schema_type type)
{
	switch (type) {
	case SCHEMA_STRING:
		return "a string";
	case SCHEMA_INT:
		return "an integer";
	case SCHEMA_NUMBER:
		return "a number";
	case SCHEMA_BOOL:
		return "true or false";
	case SCHEMA_OBJECT:
	case SCHEMA_MAP:
		return "a mapping";
	case SCHEMA_LIST:
		return "a list";
	default:
		return "a value";
	}
}

/* Quotes a scalar for a message, shortened so one bad value cannot flood the output. */
static void describe_value(const struct ynode *node, char *buf, size_t size)
{
	if (node->kind != YNODE_SCALAR) {
		snprintf(buf, size, "%s", ynode_kind_name(node));
		return;
	}
	if (yscalar_is_null(node)) {
		snprintf(buf, size, "no value");
		return;
	}
	snprintf(buf, size, "'%.40s%s'", node->value, node->length > 40 ? "..." : "");
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

static size_t type_error(const struct schema *schema, const struct ynode *node, const char *path,
			 const char *file, struct diag_list *diags)
{
	char got[64], msg[192];
	const char *want = schema->or_string ? "a list or a string" : type_words(schema->type);

	describe_value(node, got, sizeof(got));
	if (node->kind == YNODE_SCALAR && node->style == YSCALAR_QUOTED &&
	    (schema->type == SCHEMA_INT || schema->type == SCHEMA_NUMBER || schema->type == SCHEMA_BOOL))
		snprintf(msg, sizeof(msg), "expected %s, got the quoted string %s (remove the quotes)", want, got);
	else
		snprintf(msg, sizeof(msg), "expected %s, got %s", want, got);
	report(diags, file, node, path, msg);
	return 1;
}

static size_t check_choices(const struct schema *schema, const struct ynode *node, const char *path,
			    const char *file, struct diag_list *diags)
{
	char msg[512];
	size_t used;
	const char *hint;

	for (const char *const *c = schema->choices; *c; c++)
		if (strcmp(*c, node->value) == 0)
			return 0;
	if (!schema->choices[1]) {
		snprintf(msg, sizeof(msg), "must be %s, not '%.60s'", schema->choices[0], node->value);
		report(diags, file, node, path, msg);
		return 1;
	}
	used = (size_t)snprintf(msg, sizeof(msg), "'%.60s' is not one of ", node->value);
	for (const char *const *c = schema->choices; *c && used < sizeof(msg); c++)
		used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s", c == schema->choices ? "" : ", ", *c);
	hint = schema_suggest(node->value, schema->choices);
	if (hint && used < sizeof(msg))
		snprintf(msg + used, sizeof(msg) - used, " (did you mean '%s'?)", hint);
	report(diags, file, node, path, msg);
	return 1;
}

static size_t check_object(const struct schema *schema, const struct ynode *node, const char *path,
			   const char *file, struct diag_list *diags)
{
	const char *names[128];
	size_t errors = 0, n = 0;

	for (const struct schema_field *f = schema->fields; f->key && n < 127; f++)
		names[n++] = f->key;
	names[n] = NULL;

	for (size_t i = 0; i < node->count; i++) {
		const struct ynode *key = node->keys[i];
		const struct schema_field *field = NULL;
		char *sub = child_path(path, key->value);

		for (const struct schema_field *f = schema->fields; f->key; f++)
			if (strcmp(f->key, key->value) == 0)
				field = f;
		if (field) {
			errors += schema_check(field->schema, node->values[i], sub, file, diags);
		} else {
			const char *hint = schema_suggest(key->value, names);
			char msg[160];
			if (strcmp(key->value, "<<") == 0)
				snprintf(msg, sizeof(msg), "YAML merge keys (<<) are not supported; write the keys out");
			else if (hint)
				snprintf(msg, sizeof(msg), "unknown key (did you mean '%s'?)", hint);
			else
				snprintf(msg, sizeof(msg), "unknown key");
			report(diags, file, key, sub, msg);
			errors++;
		}
		free(sub);
	}
	for (const struct schema_field *f = schema->fields; f->key; f++) {
		if (!(f->flags & SCHEMA_REQUIRED) || ynode_get(node, f->key))
			continue;
		char *sub = child_path(path, f->key);
		report(diags, file, node, sub, "missing required key");
		free(sub);
		errors++;
	}
	return errors;
}

size_t schema_check(const struct schema *schema, const struct ynode *node, const char *path,
		    const char *file, struct diag_list *diags)
{
	size_t errors = 0;
	long long iv;
	double dv;
	bool bv;

	if (!node) {
		if (schema->type == SCHEMA_OBJECT) {
			/* An empty document: every required key is missing. */
			for (const struct schema_field *f = schema->fields; f->key; f++) {
				if (!(f->flags & SCHEMA_REQUIRED))
					continue;
				char *sub = child_path(path, f->key);
				diag_add(diags, DIAG_ERROR, file, 1, 1, "%s: missing required key", sub);
				free(sub);
				errors++;
			}
		}
		return errors;
	}
	switch (schema->type) {
	case SCHEMA_ANY:
		return 0;
	case SCHEMA_STRING:
		if (node->kind != YNODE_SCALAR || yscalar_is_null(node))
			return type_error(schema, node, path, file, diags);
		if (schema->choices)
			return check_choices(schema, node, path, file, diags);
		return 0;
	case SCHEMA_INT:
		if (!yscalar_int(node, &iv))
			return type_error(schema, node, path, file, diags);
		if (schema->min < schema->max && (iv < schema->min || iv > schema->max)) {
			char msg[128];
			snprintf(msg, sizeof(msg), "%lld is out of range (%lld to %lld)", iv, schema->min,
				 schema->max);
			report(diags, file, node, path, msg);
			return 1;
		}
		return 0;
	case SCHEMA_NUMBER:
		if (!yscalar_number(node, &dv))
			return type_error(schema, node, path, file, diags);
		return 0;
	case SCHEMA_BOOL:
		if (!yscalar_bool(node, &bv))
			return type_error(schema, node, path, file, diags);
		return 0;
	case SCHEMA_OBJECT:
		if (node->kind != YNODE_MAPPING)
			return type_error(schema, node, path, file, diags);
		return check_object(schema, node, path, file, diags);
	case SCHEMA_MAP:
		if (node->kind != YNODE_MAPPING)
			return type_error(schema, node, path, file, diags);
		for (size_t i = 0; i < node->count; i++) {
			char *sub = child_path(path, node->keys[i]->value);
			errors += schema_check(schema->element, node->values[i], sub, file, diags);
			free(sub);
		}
		return errors;
	case SCHEMA_LIST:
		if (schema->or_string && node->kind == YNODE_SCALAR && !yscalar_is_null(node))
			return 0;
		if (node->kind != YNODE_SEQUENCE)
			return type_error(schema, node, path, file, diags);
		for (size_t i = 0; i < node->count; i++) {
			char *sub = index_path(path, i);
			errors += schema_check(schema->element, node->values[i], sub, file, diags);
			free(sub);
		}
		return errors;
	}
	return 0;
}
