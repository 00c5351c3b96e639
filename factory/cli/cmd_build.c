/* factory build RECIPE: fetch, assemble the image, render the manifests. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "commands.h"

static void build_usage(FILE *out)
{
	fprintf(out, "usage: factory build [-o DIR] [--frozen] [--push] [-q] [--config FILE] [--catalog DIR] RECIPE\n"
		     "\n"
		     "Fetches the recipe's artifacts, assembles the image on its base (no container engine)\n"
		     "into DIR/<app>/image/ (an OCI image layout) and renders DIR/<app>/manifests/.\n"
		     "Timestamps come from SOURCE_DATE_EPOCH (default 0), so equal inputs give equal digests.\n");
}

static int source_date_epoch(long long *epoch)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	*epoch = IMAGE_DEFAULT_EPOCH;
	if (!s || !*s)
		return 0;
	errno = 0;
	*epoch = strtoll(s, &end, 10);
	if (errno || *end || *epoch < 0 || *epoch > 253402300799LL) {
		fprintf(stderr, "factory: error: SOURCE_DATE_EPOCH must be seconds since 1970, not '%s'\n", s);
		return -1;
	}
	return 0;
}

int cmd_build(int argc, char **argv)
{
	static const struct option options[] = {
		{"output", required_argument, NULL, 'o'}, {"frozen", no_argument, NULL, 'F'},
		{"quiet", no_argument, NULL, 'q'},        {"config", required_argument, NULL, 'c'},
		{"catalog", required_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
		{"push", no_argument, NULL, 'P'},          {NULL, 0, NULL, 0},
	};
	struct build_options build = {
		.stages = BUILD_FETCH | BUILD_ASSEMBLE | BUILD_RENDER,
		.plan_mode = PLAN_FETCH,
		.output_dir = "out",
		.interrupted = cmd_interrupted(),
	};
	struct build_result result = {0};
	struct diag_list diags;
	struct error err = {0};
	bool quiet = false;
	int opt, status = EXIT_FAILED;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
		switch (opt) {
		case 'o': build.output_dir = optarg; break;
		case 'F': build.plan_mode = PLAN_FROZEN; break;
		case 'P': build.stages |= BUILD_PUSH; break;
		case 'q': quiet = true; break;
		case 'c': build.workspace.config_path = optarg; break;
		case 'C': build.workspace.catalog_dir = optarg; break;
		case 'h': build_usage(stdout); return EXIT_OK;
		default: build_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		build_usage(stderr);
		return EXIT_USAGE;
	}
	if (source_date_epoch(&build.epoch))
		return EXIT_USAGE;
	build.recipe_path = argv[optind];
	diag_list_init(&diags);
	if (build_run(&result, &build, &diags, &err)) {
		for (size_t i = 0; result.stopped_at_fetch && result.plan && i < result.plan->count; i++)
			if (result.plan->items[i].state == FETCH_FAILED)
				fprintf(stderr, "factory: error: %s\n", result.plan->items[i].error);
		goto out;
	}
	status = EXIT_OK;
	if (!quiet)
		printf("built %s: %s (%zu base layers, %zu built, %zu reused)\nrendered %s/manifests (image %s)\n",
		       result.image_dir, result.image.manifest.digest, result.image.base_layers, result.image.built,
		       result.image.reused, result.app_dir, result.rendered->image);
	if (!quiet && (build.stages & BUILD_PUSH)) {
		printf("pushed %s (%zu blobs uploaded, %zu mounted, %zu already there", result.pushed.references[0],
		       result.pushed.stats.uploaded, result.pushed.stats.mounted, result.pushed.stats.existing);
		if (result.base_layers_left)
			printf("; %zu base layers never downloaded", result.base_layers_left);
		printf(")\n");
	}
out:
	cmd_report(&diags, status == EXIT_OK ? NULL : &err);
	build_result_clear(&result);
	diag_list_free(&diags);
	return status;
}
