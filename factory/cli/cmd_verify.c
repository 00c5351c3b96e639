/* factory verify [out/<app> | RECIPE ...] */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "build.h"
#include "bundle.h"
#include "cache.h"
#include "commands.h"
#include "dsse.h"
#include "fsutil.h"
#include "output.h"
#include "util.h"
#include "verify.h"
#include "workspace.h"

struct verify_args {
	bool cache;
	const char *output;
};

static const struct opt_entry verify_options[] = {
	{OPT_FLAG, "cache", 0, NULL, "with bundles: check the whole cache too", offsetof(struct verify_args, cache), 0, 0},
	{OPT_STRING, "output", 'o', "DIR", "with a recipe: where its bundle is (default: out)",
	 offsetof(struct verify_args, output), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_verify_spec = {
	.name = "verify",
	.args = "[out/<app>... | RECIPE...]",
	.summary = "read back and hash the cache or bundles, trusting nothing",
	.description = "Builds trust a cached blob while its stat data (device, inode, size, mtime, ctime)\n"
		       "is what it was when it was last hashed, so that a build with nothing to do reads\n"
		       "nothing. verify reads every byte instead: without arguments every blob of the cache\n"
		       "(a damaged one is removed, to be fetched or built again); with bundles, each image\n"
		       "layout (index.json, manifest, config, layers, every blob against its digest) and\n"
		       "bundle.json against the bundle (the image, each manifest file and document by\n"
		       "sha256, no unlisted file in manifests/, the provenance's subjects). With a recipe,\n"
		       "its bundle (out/<app>, or under -o DIR) is checked so and then rebuilt from\n"
		       "factory.lock in a scratch directory beside the cache, every cached input hashed\n"
		       "again, with the bundle's SOURCE_DATE_EPOCH: each digest that differs is named. Exit 1\n"
		       "when anything is wrong. The configuration is --config, else $FACTORY_CONFIG, else\n"
		       "the nearest factory.yaml above the first bundle or the current directory.",
	.options = verify_options,
	.shared = OPT_CONFIG | OPT_CATALOG | OPT_QUIET | OPT_JSON,
	.min_args = 0,
	.max_args = 64,
};

/* RECIPE: its bundle against itself, then against a rebuild from the lock. */
static int verify_recipe(const char *recipe, const struct verify_args *args, const struct opt_common *common,
			 struct cache *cache, const struct dsse_key *key, struct verify_report *report,
			 struct diag_list *diags, struct error *err)
{
	struct build_options o = {.recipe_path = recipe, .interrupted = cmd_interrupted(), .version = cmd_version()};
	struct build_result first = {0}, rebuilt = {0};
	char *bundle = NULL, *path = NULL;
	json_t *doc = NULL;
	int rc;

	o.workspace.config_path = common->config;
	o.workspace.catalog_dir = common->catalog;
	/* Nothing but the recipe, for its name. */
	rc = build_run(&first, &o, diags, err);
	if (rc == 0) {
		bundle = fs_path_join(args->output ? args->output : "out", first.recipe->name);
		rc = verify_bundle(bundle, cache, key, report, cmd_interrupted(), err);
	}
	if (rc == 0) {
		path = fs_path_join(bundle, BUNDLE_FILE);
		doc = json_load_file(path, 0, NULL);
		o.epoch = json_integer_value(json_object_get(doc, "sourceDateEpoch"));
		o.stages = BUILD_FETCH | BUILD_ASSEMBLE | BUILD_RENDER;
		o.plan_mode = PLAN_FROZEN;
		o.scratch = true;
		o.recheck = true;
		rc = build_run(&rebuilt, &o, diags, err) || verify_compare(bundle, rebuilt.app_dir, report, err) ? -1 : 0;
	}
	json_decref(doc);
	build_result_clear(&rebuilt);
	build_result_clear(&first);
	free(path);
	free(bundle);
	return rc;
}

static bool is_recipe(const char *arg)
{
	struct stat st;
	return stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

int cmd_verify(int argc, char **argv)
{
	struct verify_args args = {0};
	struct opt_common common;
	struct output out;
	struct workspace_options ws_options = {0};
	struct workspace ws = {0};
	struct verify_report report = {0};
	struct cache *cache = NULL;
	struct dsse_key *key = NULL;
	struct diag_list diags;
	struct error err = {0};
	json_t *problems = json_array(), *notes = json_array();
	int status, rc;

	if ((status = opt_parse(&cmd_verify_spec, argc, argv, &args, &common)) >= 0) {
		json_decref(problems);
		json_decref(notes);
		return status;
	}
	output_init(&out, cmd_verify_spec.name, &common);
	ws_options.config_path = common.config;
	diag_list_init(&diags);
	rc = workspace_open(&ws, common.nargs ? common.args[0] : NULL, &ws_options, &diags, &err) ||
		     cache_open(&cache, ws.config->cache_dir, &err) || config_signing_key(ws.config, true, &key, &err)
		     ? -1
		     : 0;
	if (rc == 0 && (common.nargs == 0 || args.cache)) {
		output_activity(&out, "verifying the cache");
		rc = verify_cache(cache, &report, cmd_interrupted(), &err);
	}
	for (int i = 0; rc == 0 && i < common.nargs; i++)
		rc = is_recipe(common.args[i])
			     ? verify_recipe(common.args[i], &args, &common, cache, key, &report, &diags, &err)
			     : verify_bundle(common.args[i], cache, key, &report, cmd_interrupted(), &err);
	output_end_progress(&out);
	for (size_t i = 0; i < report.problem_count; i++)
		json_array_append_new(problems, output_json_text(report.problems[i]));
	for (size_t i = 0; i < report.note_count; i++)
		json_array_append_new(notes, output_json_text(report.notes[i]));
	output_set(&out, "checked", json_integer((json_int_t)report.checked));
	output_set(&out, "bytes", json_integer((json_int_t)report.bytes));
	output_set(&out, "absentLayers", json_integer((json_int_t)report.absent));
	output_set(&out, "problems", problems);
	output_set(&out, "notes", notes);
	if (rc == 0 && !out.json) {
		for (size_t i = 0; i < report.problem_count; i++)
			fprintf(stderr, "factory: %s\n", report.problems[i]);
		for (size_t i = 0; i < report.note_count; i++)
			fprintf(stderr, "factory: note: %s\n", report.notes[i]);
		if (!out.quiet) {
			printf("verified %zu files (%lld bytes): %zu problem%s", report.checked, report.bytes,
			       report.problem_count, report.problem_count == 1 ? "" : "s");
			if (report.absent)
				printf("; %zu layers left in the base's registry", report.absent);
			printf("\n");
		}
	}
	if (rc == 0 && report.problem_count)
		error_set(&err, ERROR_INVALID, "%zu problem%s found", report.problem_count,
			  report.problem_count == 1 ? "" : "s");
	status = output_finish(&out, rc == 0 && report.problem_count == 0 ? EXIT_OK : EXIT_FAILED, &diags, &err);
	verify_report_clear(&report);
	dsse_key_free(key);
	cache_close(cache);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}
