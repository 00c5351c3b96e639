/* factory validate RECIPE... */
#include <stdio.h>

#include "commands.h"
#include "output.h"
#include "recipe.h"
#include "render.h"
#include "workspace.h"

const struct opt_command cmd_validate_spec = {
	.name = "validate",
	.args = "RECIPE...",
	.summary = "check a recipe and report every problem",
	.description = "Checks each recipe against the recipe schema and the Flink operator's rules and\n"
		       "prints every problem as file:line:col: error: message. Writes nothing.",
	.shared = OPT_CONFIG | OPT_CATALOG | OPT_JSON,
	.min_args = 1,
	.max_args = -1,
};

int cmd_validate(int argc, char **argv)
{
	struct opt_common common;
	struct output out;
	struct diag_list all;
	struct error first = {0};
	json_t *recipes = json_array();
	int status = EXIT_OK, rc;

	if ((rc = opt_parse(&cmd_validate_spec, argc, argv, NULL, &common)) >= 0) {
		json_decref(recipes);
		return rc;
	}
	output_init(&out, cmd_validate_spec.name, &common);
	diag_list_init(&all);
	for (int i = 0; i < common.nargs; i++) {
		struct workspace_options ws_options = {.config_path = common.config, .catalog_dir = common.catalog};
		struct workspace ws = {0};
		struct recipe *recipe = NULL;
		struct diag_list diags;
		struct error err = {0};
		json_t *one = json_object();
		int failed;

		if (*cmd_interrupted()) {
			error_set(&err, ERROR_INTERRUPTED, "interrupted before %s", common.args[i]);
			first = err;
			status = EXIT_FAILED;
			json_decref(one);
			break;
		}
		diag_list_init(&diags);
		failed = workspace_open(&ws, common.args[i], &ws_options, &diags, &err) ||
			 recipe_load(&recipe, common.args[i], ws.catalog, &render_rules, &diags, &err);
		if (failed && status == EXIT_OK)
			first = err;
		if (failed)
			status = EXIT_FAILED;
		json_object_set_new(one, "recipe", output_json_text(common.args[i]));
		json_object_set_new(one, "app", recipe ? output_json_text(recipe->name) : json_null());
		json_object_set_new(one, "ok", json_boolean(!failed));
		json_object_set_new(one, "errors", json_integer((json_int_t)diags.errors));
		json_array_append_new(recipes, one);
		if (out.json) {
			/* One document for every recipe: the diagnostics name their file. */
			for (size_t d = 0; d < diags.count; d++)
				diag_add(&all, diags.items[d].severity, diags.items[d].file, diags.items[d].line,
					 diags.items[d].col, "%s", diags.items[d].message);
		} else {
			cmd_report(&diags, failed ? &err : NULL);
		}
		recipe_free(recipe);
		workspace_close(&ws);
		diag_list_free(&diags);
	}
	output_set(&out, "recipes", recipes);
	if (out.json) {
		status = output_finish(&out, status, &all, &first);
	} else {
		/* Each recipe was reported as it was checked. */
		if (first.code == ERROR_INTERRUPTED)
			fprintf(stderr, "factory: error: %s\n", first.message);
		output_close(&out);
	}
	diag_list_free(&all);
	return status;
}
