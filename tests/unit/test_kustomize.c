#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "kustomize.h"
#include "unit.h"
#include "ydoc.h"

#define VECTORS "tests/fixtures/kustomize-hash"

/* Every vector: the hash of expected.yaml's data must equal the suffix kustomize gave it. */
static void test_vectors(struct unit_state *s)
{
	const char *dirs[] = {"c1", "c2", "c3", NULL};

	for (const char **d = dirs; *d; d++) {
		char path[256];
		struct ydoc *doc = NULL;
		struct diag_list diags;
		struct error err = {0};
		char hash[KUSTOMIZE_HASH_LENGTH + 1];
		const struct ynode *data, *name;
		json_t *obj;

		snprintf(path, sizeof(path), VECTORS "/%s/expected.yaml", *d);
		diag_list_init(&diags);
		CHECK(s, ydoc_load_file(&doc, path, 1 << 20, &diags, &err) == 0);
		if (!doc) {
			diag_list_free(&diags);
			continue;
		}
		data = ynode_get(doc->root, "data");
		name = ynode_get(ynode_get(doc->root, "metadata"), "name");
		obj = json_object();
		for (size_t i = 0; data && i < data->count; i++)
			json_object_set_new(obj, data->keys[i]->value,
					    json_stringn(data->values[i]->value, data->values[i]->length));
		CHECK(s, kustomize_configmap_hash(obj, hash, &err) == 0);
		CHECK_STR(s, hash, strrchr(name->value, '-') + 1);
		json_decref(obj);
		ydoc_free(doc);
		diag_list_free(&diags);
	}
}

static void test_key_order_does_not_matter(struct unit_state *s)
{
	json_t *a = json_pack("{s:s, s:s}", "b.py", "x", "a.py", "y");
	json_t *b = json_pack("{s:s, s:s}", "a.py", "y", "b.py", "x");
	char ha[11], hb[11];
	struct error err = {0};

	CHECK(s, kustomize_configmap_hash(a, ha, &err) == 0);
	CHECK(s, kustomize_configmap_hash(b, hb, &err) == 0);
	CHECK_STR(s, ha, hb);
	json_decref(a);
	json_decref(b);
}

const struct unit_test kustomize_tests[] = {
	{"kustomize_vectors", test_vectors},
	{"kustomize_key_order", test_key_order_does_not_matter},
	{NULL, NULL},
};
