#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "unit.h"
#include "yamlout.h"
#include "ydoc.h"

/* Emits {key: value} and reads it back: the value must come back as the same string, never
 * as another type or another document shape. */
static int round_trips(const char *key, const char *value, size_t len)
{
	json_t *o = json_object();
	char *text = NULL;
	size_t size = 0;
	struct ydoc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};
	const struct ynode *node;
	int ok = 0;
	bool b;
	long long i;
	double d;

	diag_list_init(&diags);
	json_object_set_new(o, key, json_stringn(value, len));
	if (yamlout_emit(o, &text, &size, &err) == 0 &&
	    ydoc_load_buffer(&doc, "t", text, size, &diags, &err) == 0 && doc->root &&
	    doc->root->kind == YNODE_MAPPING && doc->root->count == 1 &&
	    strcmp(doc->root->keys[0]->value, key) == 0) {
		node = doc->root->values[0];
		ok = node->kind == YNODE_SCALAR && node->length == len && memcmp(node->value, value, len) == 0 &&
		     !yscalar_is_null(node) && !yscalar_bool(node, &b) && !yscalar_int(node, &i) &&
		     !yscalar_number(node, &d);
	}
	if (!ok)
		fprintf(stderr, "  round trip failed for %s=[%.*s]:\n%s\n", key, (int)len, value, text ? text : "");
	free(text);
	ydoc_free(doc);
	diag_list_free(&diags);
	json_decref(o);
	return ok;
}

static void test_hostile_strings(struct unit_state *s)
{
	static const char *const values[] = {
		"true", "False", "yes", "NO", "on", "~", "null", "", "1.20", "0x1F", "0o17", "1_000",
		"1:20", "1e3", "-.inf", ".NaN", "2024-01-01", "+1", "<<", "=", "---", "...",
		"--- \nkind: Secret\n", "{{ .Values.x }}", "[a, b]", "{a: b}", "a: b", "key: value\nother: x",
		"# comment", "x # not a comment", "'quoted'", "\"dq\"", "|", ">", "&anchor", "*alias",
		"!tag", "%directive", "@at", "`tick", "tab\there", "\ttab first", "trailing space ",
		" leading space", "line\n", "two\nlines\n", "no final newline\nx", "cr\r\nlf",
		"caf\xc3\xa9 \xe2\x80\xa8 sep", "emoji \xf0\x9f\x98\x80", "- item", "? key", "a,b", NULL};

	for (const char *const *v = values; *v; v++)
		CHECK(s, round_trips("k", *v, strlen(*v)));
	CHECK(s, round_trips("a: b", "x", 1));
	CHECK(s, round_trips("true", "x", 1));
	CHECK(s, round_trips("multi\nline key", "x", 1));
}

static void test_random_strings(struct unit_state *s)
{
	/* Deterministic pseudo-random strings over the characters that matter to YAML. */
	static const char alphabet[] = "ab01.:-#&*!|>'\"%@`{}[],? \t\n~=<";
	unsigned long state = 12345;
	char buf[24];

	for (int n = 0; n < 3000; n++) {
		size_t len = 1 + n % 20;
		for (size_t i = 0; i < len; i++) {
			state = state * 6364136223846793005UL + 1442695040888963407UL;
			buf[i] = alphabet[(state >> 33) % (sizeof(alphabet) - 1)];
		}
		if (!round_trips("k", buf, len)) {
			s->failures++;
			break;
		}
	}
}

static void test_alias_bomb_refused(struct unit_state *s)
{
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	struct ydoc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	CHECK(s, ydoc_load_buffer(&doc, "bomb.yaml", bomb, strlen(bomb), &diags, &err) < 0);
	CHECK(s, diags.count == 1 && strstr(diags.items[0].message, "aliases expand"));
	diag_list_free(&diags);
	ydoc_free(doc);
}

/* The same bound without a single alias: the message must not blame aliases. */
static void test_too_many_nodes_refused(struct unit_state *s)
{
	size_t count = YDOC_MAX_EXPANDED_NODES + 10, size = 0;
	char *text = malloc(2 * count + 8);
	struct ydoc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};

	text[size++] = '[';
	for (size_t i = 0; i < count; i++) {
		text[size++] = '0';
		text[size++] = ',';
	}
	text[size - 1] = ']';
	diag_list_init(&diags);
	CHECK(s, ydoc_load_buffer(&doc, "big.yaml", text, size, &diags, &err) < 0);
	CHECK(s, diags.count == 1 && strstr(diags.items[0].message, "more than 100000 nodes") &&
			 !strstr(diags.items[0].message, "alias"));
	diag_list_free(&diags);
	ydoc_free(doc);
	free(text);
}

static void test_small_aliases_allowed(struct unit_state *s)
{
	const char *text = "base: &base {memory: 2g}\nother: *base\n";
	struct ydoc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	CHECK(s, ydoc_load_buffer(&doc, "ok.yaml", text, strlen(text), &diags, &err) == 0);
	CHECK(s, doc && ynode_get(ynode_get(doc->root, "other"), "memory") != NULL);
	diag_list_free(&diags);
	ydoc_free(doc);
}

static void test_deep_nesting_refused(struct unit_state *s)
{
	char text[512];
	struct ydoc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};

	memset(text, '[', 200);
	text[200] = '\0';
	diag_list_init(&diags);
	CHECK(s, ydoc_load_buffer(&doc, "deep.yaml", text, strlen(text), &diags, &err) < 0);
	CHECK(s, diags.count >= 1);
	diag_list_free(&diags);
	ydoc_free(doc);
}

static void test_positions(struct unit_state *s)
{
	const char *text = "a:\n  b: 1\n  c: [x, y]\n";
	struct ydoc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};
	const struct ynode *c;

	diag_list_init(&diags);
	CHECK(s, ydoc_load_buffer(&doc, "p.yaml", text, strlen(text), &diags, &err) == 0);
	c = ynode_get(ynode_get(doc->root, "a"), "c");
	CHECK(s, c && c->line == 3 && c->col == 6);
	CHECK(s, c && c->count == 2 && c->values[1]->col == 10);
	diag_list_free(&diags);
	ydoc_free(doc);
}

/* The header goes first; the line comment goes on spec's own `image:` line only, not on
 * another mapping's, a deeper one's or one inside a block scalar. */
static void test_comments(struct unit_state *s)
{
	json_error_t jerr;
	json_t *o = json_loads("{\"metadata\": {\"image\": \"none\"}, \"spec\": {\"note\": \"a\\n\\n  image: none\\n\","
			       " \"pod\": {\"image\": \"none\"}, \"image\": \"reg.example.com/app:1.0\", \"x\": 1}}",
			       0, &jerr);
	char *text = NULL;
	size_t size = 0;
	struct error err = {0};
	const char *want = "# header?line\n"
			   "metadata:\n  image: none\n"
			   "spec:\n  note: |\n    a\n\n      image: none\n  pod:\n    image: none\n"
			   "  image: reg.example.com/app:1.0 # {\"$imagepolicy\": \"flux-system:app\"}\n  x: 1\n";

	CHECK(s, o && yamlout_emit(o, &text, &size, &err) == 0);
	if (!text) {
		json_decref(o);
		return;
	}
	CHECK(s, yamlout_comment_line(&text, &size, "spec", "image", "{\"$imagepolicy\": \"flux-system:app\"}", &err) == 0);
	yamlout_prepend_comment(&text, &size, "header\nline");
	if (strcmp(text, want) != 0)
		fprintf(stderr, "  got:\n%s\n  want:\n%s\n", text, want);
	CHECK(s, strcmp(text, want) == 0 && size == strlen(want));
	CHECK(s, yamlout_comment_line(&text, &size, "status", "image", "x", &err) == -1 && err.code == ERROR_INTERNAL);
	free(text);
	json_decref(o);
}

const struct unit_test yaml_tests[] = {
	{"yaml_comments", test_comments},
	{"yaml_hostile_strings_round_trip", test_hostile_strings},
	{"yaml_random_strings_round_trip", test_random_strings},
	{"yaml_alias_bomb_refused", test_alias_bomb_refused},
	{"yaml_small_aliases_allowed", test_small_aliases_allowed},
	{"yaml_too_many_nodes_refused", test_too_many_nodes_refused},
	{"yaml_deep_nesting_refused", test_deep_nesting_refused},
	{"yaml_positions", test_positions},
	{NULL, NULL},
};
