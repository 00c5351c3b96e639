#include <string.h>

#include "unit.h"

int main(int argc, char **argv)
{
	const struct unit_test *suites[] = {
		kustomize_tests, yaml_tests, recipe_tests, layer_tests, cache_tests, pypi_tests,
		pyversion_tests, toml_tests, pyreq_tests, http_tests, render_tests, unarchive_tests,
		wwwauth_tests,
		dsse_tests,
		sbom_tests,
		NULL,
	};
	int failed = 0;

	for (const struct unit_test **suite = suites; *suite; suite++) {
		for (const struct unit_test *t = *suite; t->name; t++) {
			struct unit_state state = {0};
			if (argc > 1 && !strstr(t->name, argv[1]))
				continue;
			t->run(&state);
			printf("%s unit/%s\n", state.failures ? "not ok" : "ok", t->name);
			failed += state.failures > 0;
		}
	}
	return failed ? 1 : 0;
}
