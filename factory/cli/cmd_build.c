/* factory build RECIPE: fetch, assemble the image, render the manifests. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "bundle.h"
#include "cache.h"
#include "commands.h"
#include "fsutil.h"
#include "image.h"
#include "plan.h"
#include "push.h"
#include "util.h"
#include "recipe.h"
#include "render.h"
#include "workspace.h"

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
	struct workspace_options ws_options = {0};
	struct fetch_options fetch = {0};
	struct image_options image_options = {.level = 6};
	struct render_options render_options = {0};
	const char *output_dir = "out";
	struct workspace ws = {0};
	struct recipe *recipe = NULL;
	struct cache *cache = NULL;
	struct plan *plan = NULL;
	struct base_image base = {0};
	struct image_build build = {0};
	struct render_output *rendered = NULL;
	struct diag_list diags;
	struct error err = {0};
	char *app_dir = NULL, *image_dir = NULL, *reference = NULL;
	json_t *inputs = NULL;
	bool frozen = false, quiet = false, push = false, lazy = false;
	size_t left_out = 0;
	struct push_result pushed = {0};
	int opt, status = EXIT_FAILED;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
		switch (opt) {
		case 'o': output_dir = optarg; break;
		case 'F': frozen = true; break;
		case 'P': push = true; break;
		case 'q': quiet = true; break;
		case 'c': ws_options.config_path = optarg; break;
		case 'C': ws_options.catalog_dir = optarg; break;
		case 'h': build_usage(stdout); return EXIT_OK;
		default: build_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		build_usage(stderr);
		return EXIT_USAGE;
	}
	if (source_date_epoch(&image_options.epoch))
		return EXIT_USAGE;
	diag_list_init(&diags);
	if (workspace_load_recipe(&ws, argv[optind], &ws_options, &recipe, &cache, &diags, &err))
		goto out;
	fetch.config = ws.config;
	fetch.cache = cache;
	fetch.interrupted = cmd_interrupted();
	fetch.parallel = (int)ws.config->parallel_downloads;
	if (plan_fetch(&plan, recipe, frozen ? PLAN_FROZEN : PLAN_FETCH, &fetch, &diags, &err)) {
		for (size_t i = 0; plan && i < plan->count; i++)
			if (plan->items[i].state == FETCH_FAILED)
				fprintf(stderr, "factory: error: %s\n", plan->items[i].error);
		goto out;
	}
	/* Pushing to a registry: base layers may stay where they are and be mounted or sent on. */
	lazy = push && !base_reference_is_local(recipe->base_image);
	if (base_resolve(&base, recipe->base_image, recipe->platform, recipe->dir, ws.config, cache, lazy, &err) ||
	    image_assemble(&build, recipe, ws.config, plan, &base, cache, &image_options, &diags, &err))
		goto out;
	app_dir = fs_path_join(output_dir, recipe->name);
	image_dir = fs_path_join(app_dir, "image");
	if (oci_layout_write_partial(image_dir, cache, &build.manifest, &build.image, build.tag, lazy ? &left_out : NULL,
				     &err))
		goto out;
	/* The manifest digest is final before any push: deploy by digest, never by a movable tag. */
	if (recipe->image_repository) {
		inputs = image_build_inputs(&build);
		struct bundle_target target = {
			.registry = (char *)recipe->image_registry,
			.repository = (char *)recipe->image_repository,
			.tags = (char **)recipe->image_tags.items,
			.tag_count = recipe->image_tags.count,
			.base = (char *)recipe->base_image,
			.inputs = inputs,
		};
		const char *latest[] = {"latest"};
		if (!target.tag_count) {
			target.tags = (char **)latest;
			target.tag_count = 1;
		}
		snprintf(target.manifest_digest, sizeof(target.manifest_digest), "%s", build.manifest.digest);
		if (bundle_write_target(app_dir, &target, &err))
			goto out;
		reference = recipe->image_registry
				    ? xasprintf("%s/%s@%s", recipe->image_registry, recipe->image_repository, build.manifest.digest)
				    : xasprintf("%s@%s", recipe->image_repository, build.manifest.digest);
		render_options.image = reference;
	}
	if (render_recipe(&rendered, recipe, &render_options, &diags, &err) ||
	    bundle_write_manifests(rendered, app_dir, &err))
		goto out;
	if (push && push_bundle(app_dir, ws.config, &pushed, &err))
		goto out;
	status = EXIT_OK;
	if (!quiet)
		printf("built %s: %s (%zu base layers, %zu built, %zu reused)\nrendered %s/manifests (image %s)\n",
		       image_dir, build.manifest.digest, build.base_layers, build.built, build.reused, app_dir,
		       rendered->image);
	if (!quiet && push) {
		printf("pushed %s (%zu blobs uploaded, %zu mounted, %zu already there", pushed.references[0],
		       pushed.stats.uploaded, pushed.stats.mounted, pushed.stats.existing);
		if (left_out)
			printf("; %zu base layers never downloaded", left_out);
		printf(")\n");
	}
out:
	cmd_report(&diags, status == EXIT_OK ? NULL : &err);
	free(reference);
	json_decref(inputs);
	push_result_clear(&pushed);
	free(image_dir);
	free(app_dir);
	render_output_free(rendered);
	image_build_clear(&build);
	base_image_clear(&base);
	plan_free(plan);
	cache_close(cache);
	recipe_free(recipe);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}
