/* factory build RECIPE: fetch, assemble the image, render the manifests (and push). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "commands.h"
#include "fsutil.h"
#include "oci.h"
#include "output.h"
#include "util.h"

struct build_args {
	const char *output;
	bool frozen;
	bool push;
	bool publish;
	bool dry_run;
	int parallel;
	const char *digest_file;
	const char *image_refs;
	struct cmd_target_args target;
};

static const struct opt_entry build_options_table[] = {
	{OPT_STRING, "output", 'o', "DIR", "where bundles go (default: out)", offsetof(struct build_args, output), 0, 0},
	{OPT_FLAG, "frozen", 0, NULL, "use only factory.lock; fail if anything is missing or would change",
	 offsetof(struct build_args, frozen), 0, 0},
	{OPT_FLAG, "push", 0, NULL, "push the image to its registry, then deploy it by digest",
	 offsetof(struct build_args, push), 0, 0},
	{OPT_FLAG, "publish", 0, NULL, "then commit and push the manifests to the recipe's gitops repository",
	 offsetof(struct build_args, publish), 0, 0},
	{OPT_FLAG, "dry-run", 0, NULL, "with --publish: show what would change in the repository, push nothing",
	 offsetof(struct build_args, dry_run), 0, 0},
	{OPT_INT, "parallel", 'j', "N", "transfers at once, 1 to 64 (default: factory.yaml maven.parallel, 8)",
	 offsetof(struct build_args, parallel), 1, 64},
	CMD_TARGET_OPTIONS(struct build_args),
	{OPT_STRING, "digest-file", 0, "FILE", "write the image's manifest digest (sha256:...) to FILE",
	 offsetof(struct build_args, digest_file), 0, 0},
	{OPT_STRING, "image-refs", 0, "FILE", "write the image's references (by digest, then each tag) to FILE",
	 offsetof(struct build_args, image_refs), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_build_spec = {
	.name = "build",
	.args = "RECIPE",
	.summary = "fetch, assemble the OCI image (no container engine) and render the manifests",
	.description = "Fetches the recipe's inputs, assembles the image on its base (no container engine)\n"
		       "into DIR/<app>/image/ (an OCI image layout) and renders DIR/<app>/manifests/.\n"
		       "Timestamps come from SOURCE_DATE_EPOCH (default 0), so equal inputs give equal digests.",
	.options = build_options_table,
	.shared = OPT_CONFIG | OPT_CATALOG | OPT_QUIET | OPT_VERBOSE | OPT_JSON,
	.min_args = 1,
	.max_args = 1,
};

/* --digest-file and --image-refs: one line each, where CI tools look (as ko and buildah write
 * them); the references are the pushed ones, else those a push would make. */
static int write_results(const struct build_args *a, const struct build_result *r, struct error *err)
{
	const struct recipe *recipe = r->recipe;
	char *text = NULL;
	size_t size = 0;
	int rc = 0;

	if (a->digest_file) {
		text = xasprintf("%s\n", r->image.manifest.digest);
		rc = fs_write_file_atomic(a->digest_file, text, strlen(text), 0644, err);
		free(text);
	}
	if (rc == 0 && a->image_refs) {
		struct strbuf b = {0};
		if (r->pushed.count) {
			for (size_t i = 0; i < r->pushed.count; i++) {
				strbuf_add(&b, r->pushed.references[i], strlen(r->pushed.references[i]));
				strbuf_add(&b, "\n", 1);
			}
		} else if (recipe->image_repository) {
			size_t tags = recipe->image_tags.count ? recipe->image_tags.count : 1;
			for (size_t i = 0; i <= tags; i++) {
				const char *what = i == 0 ? r->image.manifest.digest
						  : recipe->image_tags.count ? recipe->image_tags.items[i - 1]
									      : RECIPE_DEFAULT_TAG;
				char *ref = oci_reference(recipe->image_registry, recipe->image_repository, what);
				strbuf_add(&b, ref, strlen(ref));
				strbuf_add(&b, "\n", 1);
				free(ref);
			}
		}
		text = b.data;
		size = b.len;
		rc = fs_write_file_atomic(a->image_refs, text ? text : "", size, 0644, err);
		free(text);
	}
	return rc;
}

static json_t *image_json(const struct build_result *r)
{
	const struct image_build *b = &r->image;
	json_t *o = json_object(), *layers = json_array();

	for (size_t i = 0; i < b->image.layer_count; i++) {
		const struct oci_descriptor *d = &b->image.layers[i];
		json_t *l = json_object();
		json_object_set_new(l, "digest", json_string(d->digest));
		json_object_set_new(l, "size", json_integer(d->size));
		json_object_set_new(l, "mediaType", output_json_text(d->media_type));
		json_object_set_new(l, "base", json_boolean(i < b->base_layers));
		json_array_append_new(layers, l);
	}
	json_object_set_new(o, "dir", output_json_text(r->image_dir));
	json_object_set_new(o, "digest", json_string(b->manifest.digest));
	json_object_set_new(o, "config", json_string(b->image.config.digest));
	json_object_set_new(o, "tag", output_json_text(b->tag));
	json_object_set_new(o, "reference", output_json_text(r->reference));
	json_object_set_new(o, "baseLayers", json_integer((json_int_t)b->base_layers));
	json_object_set_new(o, "built", json_integer((json_int_t)b->built));
	json_object_set_new(o, "reused", json_integer((json_int_t)b->reused));
	json_object_set_new(o, "layers", layers);
	return o;
}

int cmd_build(int argc, char **argv)
{
	struct build_args args = {.output = "out"};
	struct opt_common common;
	struct output out;
	struct build_options build = {
		.stages = BUILD_FETCH | BUILD_ASSEMBLE | BUILD_RENDER,
		.plan_mode = PLAN_FETCH,
		.interrupted = cmd_interrupted(),
		.version = cmd_version(),
	};
	struct build_result result = {0};
	struct diag_list diags;
	struct error err = {0};
	size_t never_downloaded;
	int status;

	if ((status = opt_parse(&cmd_build_spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, cmd_build_spec.name, &common);
	build.recipe_path = common.args[0];
	build.output_dir = args.output;
	if (args.frozen)
		build.plan_mode = PLAN_FROZEN;
	if (args.push)
		build.stages |= BUILD_PUSH;
	if (args.publish)
		build.stages |= BUILD_PUBLISH;
	build.publish.dry_run = args.dry_run;
	build.publish.epoch_set = getenv("SOURCE_DATE_EPOCH") && *getenv("SOURCE_DATE_EPOCH");
	build.parallel = args.parallel;
	build.workspace.config_path = common.config;
	build.workspace.catalog_dir = common.catalog;
	build.workspace.http_observer = &out.observer;
	build.on_progress = output_on_fetch_progress;
	build.on_item = output_on_fetch_item;
	build.on_stage = output_on_stage;
	build.on_blob = output_on_blob;
	build.ctx = &out;
	diag_list_init(&diags);
	if (cmd_source_date_epoch(&build.epoch, &err)) {
		status = output_finish(&out, EXIT_USAGE, &diags, &err);
		diag_list_free(&diags);
		return status;
	}
	build.publish.epoch = build.epoch;
	build.strict = args.target.strict;
	if (cmd_image_override(&args.target, &build.image_override, &err))
		status = EXIT_USAGE;
	else
		status = build_run(&result, &build, &diags, &err) || write_results(&args, &result, &err) ? EXIT_FAILED
													: EXIT_OK;
	output_end_progress(&out);
	output_set(&out, "recipe", output_json_text(build.recipe_path));
	output_set(&out, "app", result.recipe ? output_json_text(result.recipe->name) : NULL);
	output_set(&out, "appDir", output_json_text(result.app_dir));
	output_set(&out, "lockChanged", json_boolean(result.plan && result.plan->lock_changed));
	output_set(&out, "artifacts", output_json_plan(result.plan, result.cache));
	output_set(&out, "image", result.image.manifest.digest[0] ? image_json(&result) : NULL);
	output_set(&out, "manifests", output_json_manifests(result.rendered, result.app_dir));
	/* Left in the base's registry and never fetched: the push may have relayed some. */
	never_downloaded = result.base_layers_left > result.pushed.base_layers_relayed
				   ? result.base_layers_left - result.pushed.base_layers_relayed
				   : 0;
	if (out.json) {
		json_t *pushed = output_json_pushed(&result.pushed);
		if (json_is_object(pushed))
			json_object_set_new(pushed, "baseLayersLeft", json_integer((json_int_t)never_downloaded));
		output_set(&out, "pushed", pushed);
		output_set(&out, "published", output_json_published(&result.published));
	}
	if (status == EXIT_OK && !out.json && !out.quiet) {
		printf("built %s: %s (%zu base layers, %zu built, %zu reused)\nrendered %s/manifests (image %s)\n",
		       result.image_dir, result.image.manifest.digest, result.image.base_layers, result.image.built,
		       result.image.reused, result.app_dir, result.rendered->image);
		if (build.stages & BUILD_PUSH)
			output_print_pushed(&result.pushed, never_downloaded);
		output_print_published(&out, &result.published, args.dry_run);
	}
	if (!out.json)
		output_print_push_warnings(&result.pushed);
	status = output_finish(&out, cmd_strict(&args.target, &diags, status, &err), &diags, &err);
	cmd_target_args_clear(&args.target);
	build_result_clear(&result);
	diag_list_free(&diags);
	return status;
}
