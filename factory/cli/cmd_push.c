/* factory push APP_DIR / factory pull REF */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "base.h"
#include "cache.h"
#include "commands.h"
#include "output.h"
#include "push.h"
#include "registry.h"
#include "workspace.h"

const struct opt_command cmd_push_spec = {
	.name = "push",
	.args = "out/<app>",
	.summary = "push a built bundle's image to its registry (out/<app>)",
	.description = "Pushes the image of a bundle written by `factory build` to the registry and\n"
		       "repository its bundle.json names: every blob the registry lacks, the manifest by\n"
		       "digest, then each tag; records them in bundle.json. Each document bundle.json lists (SBOMs,\n"
		       "provenance) is attached to the image as an OCI artifact that refers to it. The\n"
		       "configuration is --config, else $FACTORY_CONFIG, else the nearest factory.yaml above the\n"
		       "bundle.",
	.shared = OPT_CONFIG | OPT_QUIET | OPT_VERBOSE | OPT_JSON,
	.min_args = 1,
	.max_args = 1,
};

struct pull_args {
	const char *platform;
};

static const struct opt_entry pull_options[] = {
	{OPT_STRING, "platform", 0, "OS/ARCH", "which image of a multi-platform index (default: linux/amd64)",
	 offsetof(struct pull_args, platform), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_pull_spec = {
	.name = "pull",
	.args = "REF",
	.summary = "pull an image into the cache",
	.description = "Pulls an image (a base, typically) into the cache, verified: the platform's manifest,\n"
		       "its config and every layer. The configuration is --config, else $FACTORY_CONFIG, else\n"
		       "the built-in defaults.",
	.options = pull_options,
	.shared = OPT_CONFIG | OPT_QUIET | OPT_VERBOSE | OPT_JSON,
	.min_args = 1,
	.max_args = 1,
};

int cmd_push(int argc, char **argv)
{
	struct opt_common common;
	struct output out;
	struct workspace_options ws_options = {0};
	struct workspace ws = {0};
	struct push_result result = {0};
	struct registry_push_hooks hooks = {.on_blob = output_on_blob, .interrupted = cmd_interrupted()};
	struct diag_list diags;
	struct error err = {0};
	const char *app_dir;
	int status;

	if ((status = opt_parse(&cmd_push_spec, argc, argv, NULL, &common)) >= 0)
		return status;
	output_init(&out, cmd_push_spec.name, &common);
	app_dir = common.args[0];
	hooks.ctx = &out;
	ws_options.config_path = common.config;
	ws_options.http_observer = &out.observer;
	diag_list_init(&diags);
	status = EXIT_FAILED;
	/* The bundle stands where a recipe would for the search: --config, $FACTORY_CONFIG, then the
	 * nearest factory.yaml above it, as every other command finds its configuration. */
	if (workspace_open(&ws, app_dir, &ws_options, &diags, &err) == 0) {
		output_activity(&out, "pushing");
		if (push_bundle(app_dir, ws.config, &hooks, &result, &err) == 0)
			status = EXIT_OK;
	}
	output_end_progress(&out);
	output_set(&out, "appDir", output_json_text(app_dir));
	output_set(&out, "pushed", output_json_pushed(&result));
	if (status == EXIT_OK && !out.json && !out.quiet) {
		output_print_pushed(&result, 0);
		for (size_t i = 1; i < result.count; i++)
			printf("tagged %s\n", result.references[i]);
	}
	if (!out.json)
		output_print_push_warnings(&result);
	status = output_finish(&out, status, &diags, &err);
	push_result_clear(&result);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}

int cmd_pull(int argc, char **argv)
{
	struct pull_args args = {.platform = "linux/amd64"};
	struct opt_common common;
	struct output out;
	struct workspace_options ws_options = {0};
	struct workspace ws = {0};
	struct cache *cache = NULL;
	struct base_image base = {0};
	struct diag_list diags;
	struct error err = {0};
	const char *ref, *env = getenv("FACTORY_CONFIG");
	int status;

	if ((status = opt_parse(&cmd_pull_spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, cmd_pull_spec.name, &common);
	ref = common.args[0];
	/* A reference is no path to search a factory.yaml from: --config, else $FACTORY_CONFIG. */
	ws_options.config_path = common.config ? common.config : env && *env ? env : NULL;
	ws_options.http_observer = &out.observer;
	diag_list_init(&diags);
	status = EXIT_FAILED;
	output_activity(&out, "pulling");
	if (workspace_open(&ws, NULL, &ws_options, &diags, &err) == 0 && cache_open(&cache, ws.config->cache_dir, &err) == 0 &&
	    base_resolve(&base, ref, args.platform, ".", ws.config, cache, false, NULL, &err) == 0)
		status = EXIT_OK;
	output_end_progress(&out);
	output_set(&out, "reference", output_json_text(ref));
	output_set(&out, "platform", output_json_text(args.platform));
	output_set(&out, "digest", status == EXIT_OK ? json_string(base.image.manifest_digest) : NULL);
	output_set(&out, "config", status == EXIT_OK ? json_string(base.image.config.digest) : NULL);
	output_set(&out, "layers", status == EXIT_OK ? json_integer((json_int_t)base.image.layer_count) : NULL);
	output_set(&out, "cacheDir", ws.config ? output_json_text(ws.config->cache_dir) : NULL);
	if (status == EXIT_OK && !out.json && !out.quiet)
		printf("pulled %s: %s (%zu layers) into %s\n", ref, base.image.manifest_digest, base.image.layer_count,
		       ws.config->cache_dir);
	status = output_finish(&out, status, &diags, &err);
	base_image_clear(&base);
	cache_close(cache);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}
