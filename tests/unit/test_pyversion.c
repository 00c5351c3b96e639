#include <stdbool.h>
#include <string.h>

#include "pyversion.h"
#include "unit.h"

/* The ordering examples of PEP 440 and the `packaging` test suite, each strictly less than
 * the next. */
static void test_order(struct unit_state *s)
{
	static const char *const order[] = {
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456",
		"1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346", "1.0c1.dev456", "1.0c1", "1.0rc2",
		"1.0c3", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15",
		"1.1.dev1", "1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def", "1.2+1234.abc",
		"1.2+123456", "1.2.r32+123456", "1.2.rev33+123456", "1!1.0b2.post345.dev456", "1!1.0", NULL};

	for (size_t i = 0; order[i]; i++) {
		CHECK(s, pyversion_compare(order[i], order[i]) == 0);
		for (size_t j = i + 1; order[j]; j++) {
			if (pyversion_compare(order[i], order[j]) != -1 || pyversion_compare(order[j], order[i]) != 1) {
				fprintf(stderr, "  expected %s < %s\n", order[i], order[j]);
				s->failures++;
			}
		}
	}
	CHECK(s, pyversion_compare("1.0.post1", "1.1a1") < 0);
	CHECK(s, pyversion_compare("1.1a1", "1.1") < 0);
	CHECK(s, pyversion_compare("3.9", "3.10") < 0);
	CHECK(s, pyversion_compare("20240101", "3.0") > 0);
}

/* Spellings PEP 440 normalises to the same version. */
static void test_normalisation(struct unit_state *s)
{
	static const char *const same[][2] = {
		{"1.0", "1.0.0"},         {"1.0a", "1.0a0"},          {"1.0alpha1", "1.0a1"},  {"1.0-1", "1.0.post1"},
		{"v1.0", "1.0"},          {"1.0.RC1", "1.0rc1"},      {"1.0c1", "1.0rc1"},     {"1.0-dev", "1.0.dev0"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"}, {"1.0.post", "1.0.post0"}, {"1.0rev1", "1.0.post1"},
		{" 1.0 ", "1.0"},         {"1.0_beta_2", "1.0b2"},    {"1.0pre3", "1.0rc3"},   {"1.0preview3", "1.0rc3"},
		{"1.0+01", "1.0+1"},      {"0!1.0", "1.0"},
	};

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (pyversion_compare(same[i][0], same[i][1]) != 0) {
			fprintf(stderr, "  expected %s == %s\n", same[i][0], same[i][1]);
			s->failures++;
		}
	}
	/* Unparsable versions sort after every version, among themselves as strings. */
	CHECK(s, pyversion_compare("foo", "99") == 1);
	CHECK(s, pyversion_compare("99", "foo") == -1);
	CHECK(s, pyversion_compare("abc", "abd") == -1);
	CHECK(s, pyversion_compare("1.0a.", "1.0") == 1);
	CHECK(s, pyversion_compare("1.0+", "1.0") == 1);
	CHECK(s, pyversion_compare("1..0", "1.0") == 1);
}

struct sat_case {
	const char *spec, *version;
	bool want;
};

static void test_satisfies(struct unit_state *s)
{
	static const struct sat_case cases[] = {
		{">=3.8, <4", "3.11.9", true},  {">=3.8, <4", "3.7", false},    {">=3.8, <4", "4.0", false},
		{"==3.11.*", "3.11.9", true},   {"==3.11.*", "3.11", true},      {"==3.11.*", "3.12.0", false},
		{"==3.11.*", "3.11.0rc1", true}, {"==2.0.*", "2", true},          {"~=3.9", "3.9", true},
		{"~=3.9", "3.12", true},        {"~=3.9", "4.0", false},         {"~=3.9", "3.8", false},
		{"~=2.2.post3", "2.2.post3", true}, {"~=2.2.post3", "2.3", true}, {"~=2.2.post3", "3.0", false},
		{"~=2.2.post3", "2.2", false},  {"~=1.4.5", "1.4.9", true},       {"~=1.4.5", "1.5.0", false},
		{"!=3.10.*", "3.10.2", false},  {"!=3.10.*", "3.11", true},       {"===x", "x", true},
		{"===x", "X", true},            {"===x", "y", false},             {"===1.0", "1.0.0", false},
		{"<3.1", "3.1.0a1", false},     {"<3.1a2", "3.1a1", true},        {"<3.1", "3.0", true},
		{"<3.1", "3.1.dev0", false},    {">3.1", "3.1.post1", false},     {">3.1.post1", "3.1.post2", true},
		{">3.1", "3.1+local", false},   {">3.1", "3.2", true},            {"==1.0", "1.0+local", true},
		{"==1.0+local", "1.0", false},  {"==1.0+local", "1.0+local", true}, {"<=2.0", "2.0+local", true},
		{"", "1.0", true},              {"  ", "1.0", true},              {"==1.0.0", "1.0", true},
		{">=1!1.0", "2.0", false},      {">=3.8,", "3.9", true},          {"== 3.11.9", "3.11.9", true},
		{">=1", "foo", false},          {"!=1.0", "foo", false},          {"===foo", "foo", true},
		{"> 3.6 , != 3.7.*", "3.7.1", false}, {"> 3.6 , != 3.7.*", "3.8", true},
	};
	struct error err = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = !cases[i].want;
		if (pyversion_satisfies(cases[i].version, cases[i].spec, &got, &err) != 0 || got != cases[i].want) {
			fprintf(stderr, "  %s in '%s': got %d, want %d (%s)\n", cases[i].version, cases[i].spec, got,
				cases[i].want, err.message);
			s->failures++;
		}
	}
}

static void test_bad_specifiers(struct unit_state *s)
{
	static const char *const bad[][2] = {
		{">=3.8, <", "'<'"},        {"~=3", "'~=3'"},         {"==3.*.1", "'==3.*.1'"},
		{">=1.0.*", "'>=1.0.*'"},   {"3.8", "'3.8'"},         {">=1.0+local", "'>=1.0+local'"},
		{"==1.0a1.*", "'==1.0a1.*'"}, {"=>3.8", "'=>3.8'"},   {"==", "'=='"},
		{"===a b", "'===a b'"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct error err = {0};
		bool got = true;
		int rc = pyversion_satisfies("3.8", bad[i][0], &got, &err);
		CHECK(s, rc == -1);
		CHECK(s, err.code == ERROR_INVALID);
		if (!strstr(err.message, bad[i][1])) {
			fprintf(stderr, "  '%s': message '%s' does not name %s\n", bad[i][0], err.message, bad[i][1]);
			s->failures++;
		}
	}
}

const struct unit_test pyversion_tests[] = {
	{"pyversion_order", test_order},
	{"pyversion_normalisation", test_normalisation},
	{"pyversion_satisfies", test_satisfies},
	{"pyversion_bad_specifiers", test_bad_specifiers},
	{NULL, NULL},
};
