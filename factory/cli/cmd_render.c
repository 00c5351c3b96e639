/* factory render RECIPE: the render stage of the build pipeline alone. */
#include <stddef.h>
#include <stdio.h>

#include "build.h"
#include "commands.h"
#include "output.h"

struct render_args {
	const char *output;
	const char *image;
	struct cmd_target_args target;
};

static const struct opt_entry render_options_table[] = {
	{OPT_STRING, "output", 'o', "DIR", "where bundles go (default: out)", offsetof(struct render_args, output), 0, 0},
	{OPT_STRING, "image", 0, "REF", "deploy this image reference instead of the recipe's",
	 offsetof(struct render_args, image), 0, 0},
	CMD_TARGET_OPTIONS(struct render_args),
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_render_spec = {
	.name = "render",
	.args = "RECIPE",
	.summary = "write the Kubernetes manifests of a recipe to out/<app>/manifests",
	.description = "Writes DIR/<app>/manifests/: the ConfigMap with the PyFlink scripts, the\n"
		       "FlinkDeployment, session jobs, Ingress, RBAC, PVC, monitors, the operator's Helm\n"
		       "values and a kustomization. The previous bundle stays intact if anything fails.",
	.options = render_options_table,
	.shared = OPT_CONFIG | OPT_CATALOG | OPT_QUIET | OPT_JSON,
	.min_args = 1,
	.max_args = 1,
};

int cmd_render(int argc, char **argv)
{
	struct render_args args = {.output = "out"};
	struct opt_common common;
	struct output out;
	struct build_options build = {.stages = BUILD_RENDER, .interrupted = cmd_interrupted(), .version = cmd_version()};
	struct build_result result = {0};
	struct diag_list diags;
	struct error err = {0};
	int status;

	if ((status = opt_parse(&cmd_render_spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, cmd_render_spec.name, &common);
	build.recipe_path = common.args[0];
	build.output_dir = args.output;
	build.image = args.image;
	build.workspace.config_path = common.config;
	build.workspace.catalog_dir = common.catalog;
	diag_list_init(&diags);
	if (cmd_source_date_epoch(&build.epoch, &err)) {
		status = output_finish(&out, EXIT_USAGE, &diags, &err);
		diag_list_free(&diags);
		return status;
	}
	build.strict = args.target.strict;
	if (cmd_image_override(&args.target, &build.image_override, &err))
		status = EXIT_USAGE;
	else
		status = build_run(&result, &build, &diags, &err) ? EXIT_FAILED : EXIT_OK;
	output_set(&out, "recipe", output_json_text(build.recipe_path));
	output_set(&out, "app", result.recipe ? output_json_text(result.recipe->name) : NULL);
	output_set(&out, "appDir", output_json_text(result.app_dir));
	output_set(&out, "manifests", status == EXIT_OK ? output_json_manifests(result.rendered, result.app_dir) : NULL);
	if (status == EXIT_OK && !out.json && !out.quiet) {
		printf("rendered %s/manifests (%zu files", result.app_dir, result.rendered->count);
		if (result.rendered->scripts_hash[0])
			printf(", scripts %s", result.rendered->scripts_hash);
		printf(", image %s)\n", result.rendered->image);
	}
	status = output_finish(&out, cmd_strict(&args.target, &diags, status, &err), &diags, &err);
	cmd_target_args_clear(&args.target);
	build_result_clear(&result);
	diag_list_free(&diags);
	return status;
}
