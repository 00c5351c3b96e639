/* libFuzzer entry point for the TOML parser: any input must end in a document or in one
 * positioned error, never in a crash, a leak, undefined behaviour or a hang. */
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "error.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Visits every node through the public accessors, as callers do. */
static void walk(const struct toml_node *node, int depth)
{
	long long i;
	double f;
	bool b;

	if (depth > TOML_MAX_DEPTH + 2)
		__builtin_trap();
	(void)toml_type_name(node);
	(void)toml_string(node);
	(void)toml_int(node, &i);
	(void)toml_float(node, &f);
	(void)toml_bool(node, &b);
	(void)toml_is_datetime(node);
	if (node->type == TOML_TABLE) {
		for (size_t k = 0; k < node->count; k++) {
			const struct toml_entry *e = &node->entries[k];
			if (!e->key || !e->value)
				__builtin_trap();
			/* A key without NULs must be found again by name. */
			if (e->key_length == __builtin_strlen(e->key) && !toml_get_entry(node, e->key))
				__builtin_trap();
			walk(e->value, depth + 1);
		}
	} else if (node->type == TOML_ARRAY) {
		for (size_t k = 0; k < toml_array_count(node); k++)
			walk(toml_array_at(node, k), depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list diags;
	struct error err = {0};
	struct toml_doc *doc = NULL;

	diag_list_init(&diags);
	if (toml_parse(&doc, "fuzz.toml", (const char *)data, size, &diags, &err) == 0) {
		if (!doc || !doc->root || doc->root->type != TOML_TABLE)
			__builtin_trap();
		walk(doc->root, 0);
	}
	toml_free(doc);
	diag_list_free(&diags);
	return 0;
}
