/* unit.h - a minimal test harness: each test is a function; checks record failures and the
 * runner prints `ok NAME` / `not ok NAME # where` lines that tests/run.sh counts. */
#ifndef FACTORY_UNIT_H
#define FACTORY_UNIT_H

#include <stdio.h>

struct unit_state {
	int failures;
};

#define CHECK(state, cond)                                                                    \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			(state)->failures++;                                                  \
		}                                                                             \
	} while (0)

#define CHECK_STR(state, got, want)                                                                  \
	do {                                                                                         \
		const char *got_ = (got), *want_ = (want);                                           \
		if (!got_ || strcmp(got_, want_) != 0) {                                             \
			fprintf(stderr, "  %s:%d: got '%s', want '%s'\n", __FILE__, __LINE__,         \
				got_ ? got_ : "(null)", want_);                                      \
			(state)->failures++;                                                         \
		}                                                                                    \
	} while (0)

typedef void (*unit_test_fn)(struct unit_state *state);

struct unit_test {
	const char *name;
	unit_test_fn run;
};

/* Each test file exports a NULL-terminated table. */
extern const struct unit_test kustomize_tests[];
extern const struct unit_test yaml_tests[];
extern const struct unit_test recipe_tests[];
extern const struct unit_test layer_tests[];
extern const struct unit_test cache_tests[];
extern const struct unit_test pypi_tests[];
extern const struct unit_test pyversion_tests[], toml_tests[], pyreq_tests[];
extern const struct unit_test http_tests[];
extern const struct unit_test render_tests[];
extern const struct unit_test unarchive_tests[];
extern const struct unit_test wwwauth_tests[];
extern const struct unit_test dsse_tests[];
extern const struct unit_test sbom_tests[];

#endif
