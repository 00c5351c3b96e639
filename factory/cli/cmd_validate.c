/* factory validate RECIPE... */
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "recipe.h"
#include "workspace.h"

static void validate_usage(FILE *out)
{
	fprintf(out, "usage: factory validate [--config FILE] [--catalog DIR] RECIPE...\n"
		     "\n"
		     "Checks each recipe against the recipe schema and the Flink operator's rules and\n"
		     "prints every problem as file:line:col: error: message. Writes nothing.\n");
}

int cmd_validate(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'}, {"catalog", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct workspace_options ws_options = {0};
	int opt, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': ws_options.config_path = optarg; break;
		case 'C': ws_options.catalog_dir = optarg; break;
		case 'h': validate_usage(stdout); return EXIT_OK;
		default: validate_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		validate_usage(stderr);
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		struct workspace ws = {0};
		struct recipe *recipe = NULL;
		struct diag_list diags;
		struct error err = {0};
		int failed;

		diag_list_init(&diags);
		failed = workspace_open(&ws, argv[i], &ws_options, &diags, &err) ||
			 recipe_load(&recipe, argv[i], ws.catalog, &diags, &err);
		cmd_report(&diags, failed ? &err : NULL);
		if (failed)
			status = EXIT_FAILED;
		recipe_free(recipe);
		workspace_close(&ws);
		diag_list_free(&diags);
	}
	return status;
}
