/* factory fetch RECIPE / factory lock RECIPE: the fetch stage of the build pipeline alone. */
#include <stddef.h>
#include <stdio.h>

#include "build.h"
#include "commands.h"
#include "output.h"

struct fetch_args {
	bool frozen;
	int parallel;
};

#define PARALLEL_OPTION                                                                                        \
	{OPT_INT, "parallel", 'j', "N", "transfers at once, 1 to 64 (default: factory.yaml maven.parallel, 8)",   \
	 offsetof(struct fetch_args, parallel), 1, 64}

static const struct opt_entry fetch_options[] = {
	{OPT_FLAG, "frozen", 0, NULL, "use only factory.lock; fail if anything is missing or would change",
	 offsetof(struct fetch_args, frozen), 0, 0},
	PARALLEL_OPTION,
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

/* lock re-resolves everything: --frozen would contradict it, so it does not offer it. */
static const struct opt_entry lock_options[] = {
	PARALLEL_OPTION,
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

#define SHARED (OPT_CONFIG | OPT_CATALOG | OPT_QUIET | OPT_VERBOSE | OPT_JSON)

const struct opt_command cmd_fetch_spec = {
	.name = "fetch",
	.args = "RECIPE",
	.summary = "download and verify the recipe's connectors, JARs, base and wheels into the cache",
	.description = "Downloads and verifies every input of the recipe (connectors and JARs, the base image,\n"
		       "the Python runtime and wheels) into the cache and records them in factory.lock beside\n"
		       "the recipe. With a warm cache and a lock, it makes no network request.",
	.options = fetch_options,
	.shared = SHARED,
	.min_args = 1,
	.max_args = 1,
};

const struct opt_command cmd_lock_spec = {
	.name = "lock",
	.args = "RECIPE",
	.summary = "resolve every artifact again and rewrite factory.lock",
	.description = "Resolves every artifact of the recipe again from the repositories, ignoring the pins\n"
		       "in factory.lock, and rewrites factory.lock.",
	.options = lock_options,
	.shared = SHARED,
	.min_args = 1,
	.max_args = 1,
};

static int run(const struct opt_command *spec, int argc, char **argv, bool refresh)
{
	struct fetch_args args = {0};
	struct opt_common common;
	struct output out;
	struct build_options build = {.stages = BUILD_FETCH, .interrupted = cmd_interrupted(), .version = cmd_version()};
	struct build_result result = {0};
	struct diag_list diags;
	struct error err = {0};
	const struct plan *plan;
	int status;

	if ((status = opt_parse(spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, spec->name, &common);
	out.show_cached = true;
	build.recipe_path = common.args[0];
	build.workspace.config_path = common.config;
	build.workspace.catalog_dir = common.catalog;
	build.workspace.http_observer = &out.observer;
	build.plan_mode = refresh ? PLAN_REFRESH : args.frozen ? PLAN_FROZEN : PLAN_FETCH;
	build.parallel = args.parallel;
	build.on_progress = output_on_fetch_progress;
	build.on_item = output_on_fetch_item;
	build.on_stage = output_on_stage;
	build.ctx = &out;
	diag_list_init(&diags);
	status = build_run(&result, &build, &diags, &err) ? EXIT_FAILED : EXIT_OK;
	output_end_progress(&out);
	plan = result.plan;
	output_set(&out, "recipe", output_json_text(build.recipe_path));
	output_set(&out, "lock", plan ? output_json_text(plan->lock_path) : NULL);
	output_set(&out, "lockChanged", json_boolean(plan && plan->lock_changed));
	output_set(&out, "artifacts", output_json_plan(plan, result.cache));
	if (plan) {
		const struct fetch_progress *p = &plan->progress;
		output_set(&out, "downloaded", json_integer((json_int_t)(p->finished - p->cached - p->failed)));
		output_set(&out, "cached", json_integer((json_int_t)p->cached));
		output_set(&out, "failed", json_integer((json_int_t)p->failed));
		output_set(&out, "bytes", json_integer((json_int_t)p->bytes));
		output_set(&out, "requests", json_integer((json_int_t)p->requests));
		output_set(&out, "retries", json_integer((json_int_t)p->retries));
	}
	if (result.inputs.base.reference) {
		json_t *base = json_object();
		json_object_set_new(base, "reference", output_json_text(result.inputs.base.reference));
		json_object_set_new(base, "digest", json_string(result.inputs.base.image.manifest_digest));
		output_set(&out, "base", base);
	} else {
		output_set(&out, "base", NULL);
	}
	if (status == EXIT_OK && plan && !out.json && !out.quiet) {
		char bytes[32];
		output_human_size((double)plan->progress.bytes, bytes, sizeof(bytes));
		fprintf(stderr, "%zu artifact%s: %zu downloaded (%s), %zu cached in %.2fs; %s %s\n", plan->count,
			plan->count == 1 ? "" : "s",
			plan->progress.finished - plan->progress.cached - plan->progress.failed, bytes,
			plan->progress.cached, output_seconds(&out), plan->lock_path,
			plan->lock_changed ? "updated" : "unchanged");
	}
	status = output_finish(&out, status, &diags, &err);
	build_result_clear(&result);
	diag_list_free(&diags);
	return status;
}

int cmd_fetch(int argc, char **argv)
{
	return run(&cmd_fetch_spec, argc, argv, false);
}

int cmd_lock(int argc, char **argv)
{
	return run(&cmd_lock_spec, argc, argv, true);
}
