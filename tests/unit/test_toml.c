#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "toml.h"
#include "unit.h"

static struct toml_doc *parse_ok(struct unit_state *s, const char *text)
{
	struct toml_doc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	if (toml_parse(&doc, "t.toml", text, strlen(text), &diags, &err) != 0) {
		fprintf(stderr, "  unexpected error: %s\n", err.message);
		s->failures++;
	}
	CHECK(s, diags.count == 0);
	diag_list_free(&diags);
	return doc;
}

/* The document must be refused with one diagnostic at line:col whose message contains `want`. */
static void parse_bad(struct unit_state *s, const char *text, size_t len, int line, int col, const char *want)
{
	struct toml_doc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};
	int rc;

	diag_list_init(&diags);
	rc = toml_parse(&doc, "t.toml", text, len, &diags, &err);
	if (rc != -1 || doc || err.code != ERROR_INVALID || diags.count != 1 || diags.items[0].line != line ||
	    diags.items[0].col != col || !strstr(diags.items[0].message, want) ||
	    strncmp(err.message, "t.toml:", 7) != 0) {
		fprintf(stderr, "  [%s]: want %d:%d '%s', got rc %d, %zu diags, %d:%d '%s'\n", text, line, col, want, rc,
			diags.count, diags.count ? diags.items[0].line : 0, diags.count ? diags.items[0].col : 0,
			diags.count ? diags.items[0].message : err.message);
		s->failures++;
	}
	toml_free(doc);
	diag_list_free(&diags);
}

#define BAD(s, text, line, col, want) parse_bad(s, text, sizeof(text) - 1, line, col, want)

static void test_scalars(struct unit_state *s)
{
	static const char text[] =
		"# a comment\n"
		"title = \"TOML \\\"Example\\\"\" # trailing comment\n"
		"bare_key-1 = 'C:\\Users\\x'\n"
		"\"quoted key\" = \"tab\\there \\u00e9 \\U0001F600\"\n"
		"'literal key' = 1_000\n"
		"hex = 0xDEAD_beef\n"
		"oct = 0o755\n"
		"bin = 0b1101\n"
		"neg = -17\n"
		"pos = +42\n"
		"zero = 0\n"
		"max = 9223372036854775807\n"
		"min = -9223372036854775808\n"
		"f1 = 3.1415\n"
		"f2 = -0.01\n"
		"f3 = 5e+22\n"
		"f4 = 6.626e-34\n"
		"f5 = 224_617.445_991\n"
		"f6 = inf\n"
		"f7 = -nan\n"
		"f8 = 1e06\n"
		"t = true\n"
		"f = false\n"
		"odt1 = 1979-05-27T07:32:00Z\n"
		"odt2 = 1979-05-27T00:32:00.999999-07:00\n"
		"odt3 = 1979-05-27 07:32:00+01:30\n"
		"ldt = 1979-05-27T07:32:00\n"
		"ld = 2024-02-29\n"
		"lt = 00:32:00.5\n"
		"empty = \"\"\n"
		"\"\" = 'empty key'\n"
		"nul = \"a\\u0000b\"\n";
	struct toml_doc *doc = parse_ok(s, text);
	const struct toml_node *r = doc ? doc->root : NULL;
	const struct toml_entry *e;
	long long i;
	double d;
	bool b;

	CHECK_STR(s, toml_string(toml_get(r, "title")), "TOML \"Example\"");
	CHECK_STR(s, toml_string(toml_get(r, "bare_key-1")), "C:\\Users\\x");
	CHECK_STR(s, toml_string(toml_get(r, "quoted key")), "tab\there \xc3\xa9 \xf0\x9f\x98\x80");
	CHECK(s, toml_int(toml_get(r, "literal key"), &i) && i == 1000);
	CHECK(s, toml_int(toml_get(r, "hex"), &i) && i == 0xDEADBEEF);
	CHECK(s, toml_int(toml_get(r, "oct"), &i) && i == 0755);
	CHECK(s, toml_int(toml_get(r, "bin"), &i) && i == 13);
	CHECK(s, toml_int(toml_get(r, "neg"), &i) && i == -17);
	CHECK(s, toml_int(toml_get(r, "pos"), &i) && i == 42);
	CHECK(s, toml_int(toml_get(r, "zero"), &i) && i == 0);
	CHECK(s, toml_int(toml_get(r, "max"), &i) && i == 9223372036854775807LL);
	CHECK(s, toml_int(toml_get(r, "min"), &i) && i == -9223372036854775807LL - 1);
	CHECK(s, toml_float(toml_get(r, "f1"), &d) && d == 3.1415);
	CHECK(s, toml_float(toml_get(r, "f2"), &d) && d == -0.01);
	CHECK(s, toml_float(toml_get(r, "f3"), &d) && d == 5e22);
	CHECK(s, toml_float(toml_get(r, "f4"), &d) && d == 6.626e-34);
	CHECK(s, toml_float(toml_get(r, "f5"), &d) && d == 224617.445991);
	CHECK(s, toml_float(toml_get(r, "f6"), &d) && isinf(d) && d > 0);
	CHECK(s, toml_float(toml_get(r, "f7"), &d) && isnan(d));
	CHECK(s, toml_float(toml_get(r, "f8"), &d) && d == 1e6);
	CHECK(s, !toml_int(toml_get(r, "f1"), &i));
	CHECK(s, toml_bool(toml_get(r, "t"), &b) && b);
	CHECK(s, toml_bool(toml_get(r, "f"), &b) && !b);
	CHECK(s, toml_get(r, "odt1") && toml_get(r, "odt1")->type == TOML_OFFSET_DATETIME);
	CHECK_STR(s, toml_get(r, "odt2") ? toml_get(r, "odt2")->text : NULL, "1979-05-27T00:32:00.999999-07:00");
	CHECK(s, toml_get(r, "odt3") && toml_get(r, "odt3")->type == TOML_OFFSET_DATETIME);
	CHECK_STR(s, toml_get(r, "odt3") ? toml_get(r, "odt3")->text : NULL, "1979-05-27 07:32:00+01:30");
	CHECK(s, toml_get(r, "ldt") && toml_get(r, "ldt")->type == TOML_LOCAL_DATETIME);
	CHECK(s, toml_get(r, "ld") && toml_get(r, "ld")->type == TOML_LOCAL_DATE);
	CHECK(s, toml_get(r, "lt") && toml_get(r, "lt")->type == TOML_LOCAL_TIME);
	CHECK(s, toml_is_datetime(toml_get(r, "lt")) && !toml_is_datetime(toml_get(r, "t")));
	CHECK_STR(s, toml_string(toml_get(r, "empty")), "");
	CHECK_STR(s, toml_string(toml_get(r, "")), "empty key");
	CHECK(s, toml_get(r, "nul") && toml_get(r, "nul")->length == 3 && memcmp(toml_get(r, "nul")->text, "a\0b", 3) == 0);
	/* Positions: keys and values. */
	e = toml_get_entry(r, "title");
	CHECK(s, e && e->line == 2 && e->col == 1 && e->value->line == 2 && e->value->col == 9);
	e = toml_get_entry(r, "quoted key");
	CHECK(s, e && e->line == 4 && e->col == 1 && e->value->col == 16);
	CHECK(s, toml_get(r, "missing") == NULL && toml_get(NULL, "x") == NULL);
	CHECK_STR(s, toml_type_name(toml_get(r, "odt1")), "offset date-time");
	toml_free(doc);
}

static void test_multiline_strings(struct unit_state *s)
{
	static const char text[] =
		"a = \"\"\"\nRoses are red\r\nViolets are blue\"\"\"\n"
		"b = \"\"\"\\\n    The quick brown \\\n\n    fox.\\\n    \"\"\"\n"
		"c = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''\n"
		"d = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n"
		"e = \"\"\"Here are three quotation marks: \"\"\\\".\"\"\"\n"
		"f = '''I [dw]on't need \\d{2} apples'''\n"
		"g = ''''That,' she said, 'is still pointless.''''\n"
		"h = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n"
		"i = \"\"\"a\"\"\"\"\"\n";
	struct toml_doc *doc = parse_ok(s, text);
	const struct toml_node *r = doc ? doc->root : NULL;

	CHECK_STR(s, toml_string(toml_get(r, "a")), "Roses are red\nViolets are blue");
	CHECK_STR(s, toml_string(toml_get(r, "b")), "The quick brown fox.");
	CHECK_STR(s, toml_string(toml_get(r, "c")),
		  "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n");
	CHECK_STR(s, toml_string(toml_get(r, "d")), "Here are two quotation marks: \"\". Simple enough.");
	CHECK_STR(s, toml_string(toml_get(r, "e")), "Here are three quotation marks: \"\"\".");
	CHECK_STR(s, toml_string(toml_get(r, "f")), "I [dw]on't need \\d{2} apples");
	CHECK_STR(s, toml_string(toml_get(r, "g")), "'That,' she said, 'is still pointless.'");
	CHECK_STR(s, toml_string(toml_get(r, "h")), "\"This,\" she said, \"is just a pointless statement.\"");
	CHECK_STR(s, toml_string(toml_get(r, "i")), "a\"\"");
	CHECK(s, toml_get_entry(r, "b") && toml_get_entry(r, "b")->line == 4);
	toml_free(doc);
}

static void test_tables_and_arrays(struct unit_state *s)
{
	static const char text[] =
		"name = \"root\"\n"                          /* 1 */
		"site.\"google.com\" = true\n"               /* 2 */
		"a . b . c = 1\n"                            /* 3 */
		"a.b.d = 2\n"                                /* 4 */
		"[fruit]\n"                                  /* 5 */
		"apple.color = \"red\"\n"                    /* 6 */
		"apple.taste.sweet = true\n"                 /* 7 */
		"[fruit.apple.texture]\n"                    /* 8 */
		"smooth = true\n"                            /* 9 */
		"[x.y.z.w]\n"                                /* 10 */
		"[x]\n"                                      /* 11 */
		"k = 1\n"                                    /* 12 */
		"[ dog . \"tater.man\" ]\n"                  /* 13 */
		"type.name = \"pug\"\n"                      /* 14 */
		"[[products]]\n"                             /* 15 */
		"name = \"Hammer\"\n"                        /* 16 */
		"[[products]]\n"                             /* 17 */
		"[[products]]\n"                             /* 18 */
		"name = \"Nail\"\n"                          /* 19 */
		"[[fruits]]\n"                               /* 20 */
		"name = \"apple\"\n"                         /* 21 */
		"[fruits.physical]\n"                        /* 22 */
		"color = \"red\"\n"                          /* 23 */
		"[[fruits.varieties]]\n"                     /* 24 */
		"name = \"red delicious\"\n"                 /* 25 */
		"[[fruits.varieties]]\n"                     /* 26 */
		"name = \"granny smith\"\n"                  /* 27 */
		"[[fruits]]\n"                               /* 28 */
		"name = \"banana\"\n"                        /* 29 */
		"[[fruits.varieties]]\n"                     /* 30 */
		"name = \"plantain\"\n"                      /* 31 */
		"[arrays]\n"                                 /* 32 */
		"ints = [ 1, 2, 3 ]\n"                       /* 33 */
		"mixed = [ 0.1, \"x\", [1, 2], {a = 1} ]\n"  /* 34 */
		"multi = [\n"                                /* 35 */
		"  1, # one\n"                               /* 36 */
		"  # a comment line\n"                       /* 37 */
		"  2,\n"                                     /* 38 */
		"]\n"                                        /* 39 */
		"empty = [ ]\n"                              /* 40 */
		"inline = { first = \"Tom\", last.name = \"P\", nested = { deep = [] } }\n" /* 41 */
		"points = [ { x = 1, y = 2 },\n"             /* 42 */
		"           { x = 7, y = 8 } ]\n";           /* 43 */
	struct toml_doc *doc = parse_ok(s, text);
	const struct toml_node *r = doc ? doc->root : NULL, *n;
	bool b;
	long long i;

	CHECK(s, toml_bool(toml_get(toml_get(r, "site"), "google.com"), &b) && b);
	CHECK(s, toml_int(toml_get(toml_get(toml_get(r, "a"), "b"), "c"), &i) && i == 1);
	CHECK(s, toml_int(toml_get(toml_get(toml_get(r, "a"), "b"), "d"), &i) && i == 2);
	n = toml_get(toml_get(r, "fruit"), "apple");
	CHECK_STR(s, toml_string(toml_get(n, "color")), "red");
	CHECK(s, toml_bool(toml_get(toml_get(n, "texture"), "smooth"), &b) && b);
	CHECK(s, toml_int(toml_get(toml_get(r, "x"), "k"), &i) && i == 1);
	CHECK(s, toml_get(toml_get(toml_get(toml_get(r, "x"), "y"), "z"), "w") != NULL);
	CHECK_STR(s, toml_string(toml_get(toml_get(toml_get(toml_get(r, "dog"), "tater.man"), "type"), "name")), "pug");
	n = toml_get(r, "products");
	CHECK(s, toml_array_count(n) == 3);
	CHECK_STR(s, toml_string(toml_get(toml_array_at(n, 0), "name")), "Hammer");
	CHECK(s, toml_array_at(n, 1) && toml_array_at(n, 1)->count == 0);
	CHECK_STR(s, toml_string(toml_get(toml_array_at(n, 2), "name")), "Nail");
	CHECK(s, toml_array_at(n, 2) && toml_array_at(n, 2)->line == 18 && toml_array_at(n, 2)->col == 1);
	CHECK(s, toml_array_at(n, 3) == NULL);
	n = toml_get(r, "fruits");
	CHECK(s, toml_array_count(n) == 2);
	CHECK(s, toml_array_count(toml_get(toml_array_at(n, 0), "varieties")) == 2);
	CHECK_STR(s, toml_string(toml_get(toml_array_at(toml_get(toml_array_at(n, 0), "varieties"), 1), "name")),
		  "granny smith");
	CHECK_STR(s, toml_string(toml_get(toml_get(toml_array_at(n, 0), "physical"), "color")), "red");
	CHECK_STR(s, toml_string(toml_get(toml_array_at(toml_get(toml_array_at(n, 1), "varieties"), 0), "name")),
		  "plantain");
	n = toml_get(r, "arrays");
	CHECK(s, toml_array_count(toml_get(n, "ints")) == 3);
	CHECK(s, toml_array_count(toml_get(n, "mixed")) == 4);
	CHECK(s, toml_array_at(toml_get(n, "mixed"), 3) && toml_array_at(toml_get(n, "mixed"), 3)->type == TOML_TABLE);
	CHECK(s, toml_array_count(toml_get(n, "multi")) == 2);
	CHECK(s, toml_array_at(toml_get(n, "multi"), 1) && toml_array_at(toml_get(n, "multi"), 1)->line == 38 &&
		 toml_array_at(toml_get(n, "multi"), 1)->col == 3);
	CHECK(s, toml_get(n, "empty") && toml_get(n, "empty")->type == TOML_ARRAY && toml_array_count(toml_get(n, "empty")) == 0);
	CHECK_STR(s, toml_string(toml_get(toml_get(toml_get(n, "inline"), "last"), "name")), "P");
	CHECK(s, toml_get(toml_get(toml_get(n, "inline"), "nested"), "deep") != NULL);
	CHECK(s, toml_int(toml_get(toml_array_at(toml_get(n, "points"), 1), "x"), &i) && i == 7);
	CHECK(s, toml_array_at(toml_get(n, "points"), 1)->line == 43 && toml_array_at(toml_get(n, "points"), 1)->col == 12);
	toml_free(doc);

	/* [[a.b]] alone makes `a` a table, which a later [a] may still define. */
	doc = parse_ok(s, "[[albums.songs]]\nname = \"Glory Days\"\n[albums]\nyear = 1984\n");
	CHECK(s, doc && toml_array_count(toml_get(toml_get(doc->root, "albums"), "songs")) == 1);
	toml_free(doc);
	/* CRLF, a BOM, and no newline at the end. */
	doc = parse_ok(s, "\xEF\xBB\xBF" "a = 1\r\nb = [\r\n 2,\r\n]\r\n[t]\r\nc = 'x'");
	CHECK(s, doc && toml_array_count(toml_get(doc->root, "b")) == 1);
	CHECK(s, doc && toml_get_entry(doc->root, "a")->col == 1 && toml_get_entry(doc->root, "b")->line == 2);
	CHECK_STR(s, doc ? toml_string(toml_get(toml_get(doc->root, "t"), "c")) : NULL, "x");
	toml_free(doc);
	doc = parse_ok(s, "");
	CHECK(s, doc && doc->root && doc->root->type == TOML_TABLE && doc->root->count == 0);
	toml_free(doc);
}

static void test_invalid(struct unit_state *s)
{
	BAD(s, "a = 1\na = 2\n", 2, 1, "duplicate key 'a' (first defined at line 1, column 1)");
	BAD(s, "a.b = 1\na.b = 2\n", 2, 3, "duplicate key 'b'");
	BAD(s, "[a]\nx = 1\n[a]\n", 3, 1, "table 'a' is already defined (line 1)");
	BAD(s, "[a.b]\n[a]\n[a]\n", 3, 1, "already defined");
	BAD(s, "a.b = 1\n[a]\n", 2, 1, "already defined");
	BAD(s, "[fruit]\napple.color = 'red'\n[fruit.apple]\n", 3, 1, "already defined");
	BAD(s, "[a.b]\nc = 1\n[a]\nb.d = 2\n", 4, 1, "dotted keys cannot add to it");
	BAD(s, "[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", 4, 1, "dotted keys cannot add to it");
	BAD(s, "a = {x = 1}\n[a.b]\n", 2, 2, "inline table");
	BAD(s, "a = {x = 1}\na.y = 2\n", 2, 1, "inline table");
	BAD(s, "a = {x = {y = 1}, x.z = 2}\n", 1, 19, "inline table");
	BAD(s, "a = [1]\n[[a]]\n", 2, 1, "not an array of tables");
	BAD(s, "a = [{b = 1}]\n[a.c]\n", 2, 2, "'a' is an array");
	BAD(s, "[a]\n[[a]]\n", 2, 1, "not an array of tables");
	BAD(s, "[[a]]\n[a]\n", 2, 1, "array of tables");
	BAD(s, "a = 1\na.b = 2\n", 2, 1, "'a' is already an integer (line 1), not a table");
	BAD(s, "a = \"abc\nb = 1\n", 1, 5, "unterminated string");
	BAD(s, "a = \"\"\"abc", 1, 5, "unterminated string");
	BAD(s, "a = \"\\q\"\n", 1, 6, "invalid escape sequence '\\q'");
	BAD(s, "a = \"\\uD800\"\n", 1, 6, "not a Unicode scalar value");
	BAD(s, "a = \"\\u12\"\n", 1, 6, "needs 4 hex digits");
	BAD(s, "a = \"\"\"x \\  y\"\"\"\n", 1, 10, "must end the line");
	BAD(s, "a = \"tab\x01\"\n", 1, 9, "control character U+0001");
	BAD(s, "a = 01\n", 1, 5, "not a valid number");
	BAD(s, "a = 1__0\n", 1, 5, "not a valid number");
	BAD(s, "a = _1\n", 1, 5, "not a valid");
	BAD(s, "a = 1.\n", 1, 5, "not a valid number");
	BAD(s, "a = .5\n", 1, 5, "not a valid");
	BAD(s, "a = 0X1F\n", 1, 5, "not a valid number");
	BAD(s, "a = +0x1F\n", 1, 5, "not a valid number");
	BAD(s, "a = 9223372036854775808\n", 1, 5, "out of range");
	BAD(s, "a = 0x8000000000000000\n", 1, 5, "out of range");
	BAD(s, "a = 2023-02-29\n", 1, 5, "not a valid date");
	BAD(s, "a = 2023-13-01\n", 1, 5, "not a valid date");
	BAD(s, "a = 1979-05-27T25:00:00\n", 1, 5, "not a valid date");
	BAD(s, "a = 07:32\n", 1, 5, "not a valid date or time");
	BAD(s, "a = 1979-05-27T07:32:00+7:00\n", 1, 5, "not a valid date");
	BAD(s, "a = {x = 1,}\n", 1, 11, "trailing comma");
	BAD(s, "a = {x = 1,\ny = 2}\n", 1, 12, "expected a key");
	BAD(s, "a = {x = 1\n}\n", 1, 11, "newlines are not allowed");
	BAD(s, "a = [1 2]\n", 1, 8, "expected ',' or ']'");
	BAD(s, "a = [1,\n", 1, 5, "unterminated array");
	BAD(s, "a = [,]\n", 1, 6, "expected a value");
	BAD(s, "a = \n", 1, 5, "expected a value");
	BAD(s, "a = hello\n", 1, 5, "strings need quotes");
	BAD(s, "a = truex\n", 1, 5, "strings need quotes");
	BAD(s, "a = 1 2\n", 1, 7, "expected the end of the line after the value, found '2'");
	BAD(s, "a = \"\xc3\xbc\" 2\n", 1, 9, "found '2'");
	BAD(s, "a\n", 1, 2, "expected '=' after the key, found end of line");
	BAD(s, "a b = 1\n", 1, 3, "expected '='");
	BAD(s, "= 1\n", 1, 1, "expected a key");
	BAD(s, "\"\"\"k\"\"\" = 1\n", 1, 1, "multi-line string cannot be a key");
	BAD(s, "[a\n", 1, 3, "expected ']' to close the header");
	BAD(s, "[[a]\n", 1, 4, "expected ']]' to close the header, found ']'");
	BAD(s, "[a] b = 1\n", 1, 5, "after the header");
	BAD(s, "[]\n", 1, 2, "expected a key");
	BAD(s, "a = \"\xff\"\n", 1, 6, "not valid UTF-8");
	BAD(s, "a = \"\xed\xa0\x80\"\n", 1, 6, "not valid UTF-8");
	BAD(s, "# a\x01" "b\n", 1, 4, "control character U+0001 in a comment");
	BAD(s, "a = 1\rb = 2\n", 1, 6, "expected the end of the line");
	BAD(s, "a = 1 # x\ny = \"\x7f\"\n", 2, 6, "control character U+007F");
	BAD(s, "a = 1\nb = 2\n\n  c = [\n 1, 2,\n x]\n", 6, 2, "'x' is not a valid value");
}

static void test_limits(struct unit_state *s)
{
	struct toml_doc *doc = NULL;
	struct diag_list diags;
	struct error err = {0};
	char *deep = malloc(4 + 200 + 1);
	size_t n = 0;

	/* Nesting: arrays, inline tables and dotted keys are all bounded. */
	memcpy(deep, "a = ", 4);
	n = 4;
	for (int i = 0; i < 200; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	parse_bad(s, deep, n, 1, 5 + TOML_MAX_DEPTH, "values nested more than 64 deep");
	free(deep);
	{
		char keys[3 * 100 + 8];
		size_t k = 0;
		for (int i = 0; i < 100; i++) {
			keys[k++] = 'k';
			keys[k++] = '.';
		}
		memcpy(keys + k - 1, " = 1", 5);
		parse_bad(s, keys, strlen(keys), 1, 2 * TOML_MAX_DEPTH + 1, "more than");
	}
	diag_list_init(&diags);
	CHECK(s, toml_parse(&doc, "big.toml", "", (size_t)TOML_MAX_SIZE + 1, &diags, &err) == -1);
	CHECK(s, err.code == ERROR_LIMIT && doc == NULL);
	diag_list_free(&diags);

	/* Many keys in one table stay cheap (the duplicate check is hashed) and are all found. */
	{
		size_t count = 20000, cap = count * 24;
		char *text = malloc(cap);
		size_t len = 0;
		long long v;
		for (size_t i = 0; i < count; i++)
			len += (size_t)snprintf(text + len, cap - len, "key%zu = %zu\n", i, i);
		doc = NULL;
		diag_list_init(&diags);
		CHECK(s, toml_parse(&doc, "many.toml", text, len, &diags, &err) == 0);
		CHECK(s, doc && doc->root->count == count);
		CHECK(s, doc && toml_int(toml_get(doc->root, "key19999"), &v) && v == 19999);
		toml_free(doc);
		memcpy(text + len, "key7 = 1\n", 9);
		doc = NULL;
		parse_bad(s, text, len + 9, (int)count + 1, 1, "duplicate key 'key7' (first defined at line 8");
		diag_list_free(&diags);
		free(text);
	}
}

const struct unit_test toml_tests[] = {
	{"toml_scalars", test_scalars},
	{"toml_multiline_strings", test_multiline_strings},
	{"toml_tables_and_arrays", test_tables_and_arrays},
	{"toml_invalid", test_invalid},
	{"toml_limits", test_limits},
	{NULL, NULL},
};
