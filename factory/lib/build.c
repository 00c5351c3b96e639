#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "bundle.h"
#include "cache.h"
#include "fsutil.h"
#include "util.h"

#define DEFAULT_TAG "latest"

char *build_image_reference(const char *registry, const char *repository, const char *digest_or_tag)
{
	const char *sep = strncmp(digest_or_tag, "sha256:", 7) == 0 ? "@" : ":";

	return registry ? xasprintf("%s/%s%s%s", registry, repository, sep, digest_or_tag)
			: xasprintf("%s%s%s", repository, sep, digest_or_tag);
}

void build_result_clear(struct build_result *r)
{
	free(r->reference);
	push_result_clear(&r->pushed);
	free(r->image_dir);
	free(r->app_dir);
	render_output_free(r->rendered);
	image_build_clear(&r->image);
	inputs_clear(&r->inputs);
	plan_free(r->plan);
	cache_close(r->cache);
	recipe_free(r->recipe);
	workspace_close(&r->workspace);
	memset(r, 0, sizeof(*r));
}

static bool stopped(const struct build_options *o, struct error *err)
{
	if (o->interrupted && *o->interrupted) {
		error_set(err, ERROR_INTERRUPTED, "interrupted; the previous bundle and the cache are intact");
		return true;
	}
	return false;
}

/* Between stages: stop if asked to, else tell the caller what comes next. */
static int begin(const struct build_options *o, unsigned stage, struct error *err)
{
	if (stopped(o, err))
		return -1;
	if (o->on_stage)
		o->on_stage(o->ctx, stage);
	return 0;
}

static int fetch_stage(struct build_result *r, const struct build_options *o, struct diag_list *diags,
		       struct error *err)
{
	struct fetch_options fetch = {
		.config = r->workspace.config,
		.cache = r->cache,
		.interrupted = o->interrupted,
		.parallel = o->parallel ? o->parallel : (int)r->workspace.config->parallel_downloads,
		.on_progress = o->on_progress,
		.on_item = o->on_item,
		.ctx = o->ctx,
	};

	/* Pushing to a registry: base layers may stay where they are and be mounted or sent on. */
	bool lazy = (o->stages & BUILD_PUSH) && !base_reference_is_local(r->recipe->base_image);

	if (plan_fetch(&r->plan, r->recipe, o->plan_mode, &fetch, diags, err)) {
		r->stopped_at_fetch = true;
		return -1;
	}
	if (stopped(o, err))
		return -1;
	if (inputs_resolve(&r->inputs, r->recipe, r->workspace.config, r->plan, r->cache, lazy, diags, err))
		return -1;
	/* A fetch that installs nothing records now; a build once the image is assembled. */
	return o->stages & BUILD_ASSEMBLE ? 0 : inputs_record(&r->inputs, r->plan, r->recipe->dir, diags, err);
}

/* build.json: where the image goes, so that `factory push out/<app>` needs no recipe. */
static int write_target(struct build_result *r, struct error *err)
{
	const struct recipe *recipe = r->recipe;
	const char *latest[] = {DEFAULT_TAG};
	json_t *inputs = image_build_inputs(&r->image);
	struct bundle_target target = {
		.registry = (char *)recipe->image_registry,
		.repository = (char *)recipe->image_repository,
		.tags = recipe->image_tags.count ? (char **)recipe->image_tags.items : (char **)latest,
		.tag_count = recipe->image_tags.count ? recipe->image_tags.count : 1,
		.base = (char *)recipe->base_image,
		.inputs = inputs,
	};
	int rc;

	snprintf(target.manifest_digest, sizeof(target.manifest_digest), "%s", r->image.manifest.digest);
	rc = bundle_write_target(r->app_dir, &target, err);
	json_decref(inputs);
	return rc;
}

static int assemble_stage(struct build_result *r, const struct build_options *o, struct diag_list *diags,
			  struct error *err)
{
	const struct recipe *recipe = r->recipe;
	struct image_options image_options = {.epoch = o->epoch, .level = o->level ? o->level : 6};
	bool lazy = r->inputs.base.lazy;
	int rc = -1;

	if (image_assemble(&r->image, recipe, r->plan, &r->inputs, r->cache, &image_options, diags, err) ||
	    inputs_record(&r->inputs, r->plan, recipe->dir, diags, err) || stopped(o, err) ||
	    oci_layout_write_partial(r->image_dir, r->cache, &r->image.manifest, &r->image.image, r->image.tag,
				     lazy ? &r->base_layers_left : NULL, err))
		goto out;
	/* The manifest digest is final before any push: deploy by digest, never by a movable tag. */
	if (recipe->image_repository) {
		if (write_target(r, err))
			goto out;
		r->reference = build_image_reference(recipe->image_registry, recipe->image_repository,
						     r->image.manifest.digest);
	}
	rc = 0;
out:
	return rc;
}

int build_run(struct build_result *r, const struct build_options *o, struct diag_list *diags, struct error *err)
{
	struct render_options render_options = {.image = o->image};
	struct registry_push_hooks push_hooks = {.on_blob = o->on_blob, .ctx = o->ctx, .interrupted = o->interrupted};

	memset(r, 0, sizeof(*r));
	if (o->stages & (BUILD_FETCH | BUILD_ASSEMBLE | BUILD_PUSH)) {
		if (workspace_load_recipe(&r->workspace, o->recipe_path, &o->workspace, &r->recipe, &r->cache, diags, err))
			return -1;
	} else if (workspace_open(&r->workspace, o->recipe_path, &o->workspace, diags, err) ||
		   recipe_load(&r->recipe, o->recipe_path, r->workspace.catalog, diags, err)) {
		return -1;
	}
	r->app_dir = fs_path_join(o->output_dir ? o->output_dir : "out", r->recipe->name);
	r->image_dir = fs_path_join(r->app_dir, "image");
	if ((o->stages & BUILD_FETCH) && (begin(o, BUILD_FETCH, err) || fetch_stage(r, o, diags, err) || stopped(o, err)))
		return -1;
	if ((o->stages & BUILD_ASSEMBLE) && (begin(o, BUILD_ASSEMBLE, err) || assemble_stage(r, o, diags, err)))
		return -1;
	if (o->stages & BUILD_RENDER) {
		if (r->reference && !render_options.image)
			render_options.image = r->reference;
		if (begin(o, BUILD_RENDER, err) || render_recipe(&r->rendered, r->recipe, &render_options, diags, err) ||
		    bundle_write_manifests(r->rendered, r->app_dir, err))
			return -1;
	}
	if ((o->stages & BUILD_PUSH) &&
	    (begin(o, BUILD_PUSH, err) || push_bundle(r->app_dir, r->workspace.config, &push_hooks, &r->pushed, err)))
		return -1;
	return 0;
}
