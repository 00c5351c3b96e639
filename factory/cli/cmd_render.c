/* factory render RECIPE [-o DIR] [--image REF] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bundle.h"
#include "commands.h"
#include "fsutil.h"
#include "recipe.h"
#include "render.h"
#include "workspace.h"

static void render_usage(FILE *out)
{
	fprintf(out, "usage: factory render [-o DIR] [--image REF] [--config FILE] [--catalog DIR] [-q] RECIPE\n"
		     "\n"
		     "Writes DIR/<app>/manifests/ (DIR defaults to ./out): the ConfigMap with the PyFlink\n"
		     "scripts, the FlinkDeployment, session jobs, Ingress, RBAC, PVC, monitors, the operator's\n"
		     "Helm values and a kustomization. The previous bundle stays intact if anything fails.\n"
		     "\n"
		     "  -o, --output DIR   where bundles go (default: out)\n"
		     "      --image REF    deploy this image reference instead of the recipe's\n"
		     "      --config FILE  factory.yaml to use (default: $FACTORY_CONFIG or the nearest one)\n"
		     "      --catalog DIR  connector catalog directory\n"
		     "  -q, --quiet        print nothing on success\n");
}

int cmd_render(int argc, char **argv)
{
	static const struct option options[] = {
		{"output", required_argument, NULL, 'o'}, {"image", required_argument, NULL, 'i'},
		{"config", required_argument, NULL, 'c'}, {"catalog", required_argument, NULL, 'C'},
		{"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct workspace_options ws_options = {0};
	struct render_options render_options = {0};
	const char *output_dir = "out";
	struct workspace ws = {0};
	struct recipe *recipe = NULL;
	struct render_output *rendered = NULL;
	struct diag_list diags;
	struct error err = {0};
	char *app_dir = NULL;
	int quiet = 0, opt, status = EXIT_FAILED;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
		switch (opt) {
		case 'o': output_dir = optarg; break;
		case 'i': render_options.image = optarg; break;
		case 'c': ws_options.config_path = optarg; break;
		case 'C': ws_options.catalog_dir = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': render_usage(stdout); return EXIT_OK;
		default: render_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		render_usage(stderr);
		return EXIT_USAGE;
	}
	diag_list_init(&diags);
	if (workspace_open(&ws, argv[optind], &ws_options, &diags, &err) ||
	    recipe_load(&recipe, argv[optind], ws.catalog, &diags, &err) ||
	    render_recipe(&rendered, recipe, &render_options, &diags, &err))
		goto out;
	app_dir = fs_path_join(output_dir, recipe->name);
	if (bundle_write_manifests(rendered, app_dir, &err))
		goto out;
	status = EXIT_OK;
	if (!quiet) {
		printf("rendered %s/manifests (%zu files", app_dir, rendered->count);
		if (rendered->scripts_hash[0])
			printf(", scripts %s", rendered->scripts_hash);
		printf(", image %s)\n", rendered->image);
	}
out:
	cmd_report(&diags, status == EXIT_OK ? NULL : &err);
	free(app_dir);
	render_output_free(rendered);
	recipe_free(recipe);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}
