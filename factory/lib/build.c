#include "build.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base.h"
#include "bundle.h"
#include "cache.h"
#include "digest.h"
#include "dsse.h"
#include "fsutil.h"
#include "sbom.h"
#include "tree.h"
#include "util.h"

#define INPUTS_KEY_VERSION "factory-inputs-1" /* bump when what the key covers changes */

void build_result_clear(struct build_result *r)
{
	free(r->reference);
	gitops_result_clear(&r->published);
	push_result_clear(&r->pushed);
	free(r->image_dir);
	free(r->app_dir);
	if (r->scratch_dir) {
		struct error ignored = {0};
		fs_remove_tree(r->scratch_dir, &ignored);
		free(r->scratch_dir);
		if (r->scratch_lock >= 0)
			close(r->scratch_lock);
	}
	render_output_free(r->rendered);
	image_build_clear(&r->image);
	inputs_clear(&r->inputs);
	plan_free(r->plan);
	bom_clear(&r->bom);
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

	if (plan_fetch(&r->plan, r->recipe, o->plan_mode, o->lock_read_only, &fetch, diags, err)) {
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

static void key_text(EVP_MD_CTX *ctx, const char *label, const char *value)
{
	EVP_DigestUpdate(ctx, label, strlen(label) + 1);
	EVP_DigestUpdate(ctx, value ? value : "", value ? strlen(value) + 1 : 1);
}

static void key_file(EVP_MD_CTX *ctx, struct cache *cache, const char *label, const char *dir, const char *path)
{
	char *full = fs_path_join(dir, path), hex[65] = "";
	struct error ignored = {0};

	if (cache ? cache_file_sha256(cache, full, hex, &ignored) : digest_file_sha256(full, hex, &ignored))
		snprintf(hex, sizeof(hex), "unreadable");
	key_text(ctx, label, hex);
	free(full);
}

void build_inputs_key(const struct recipe *r, long long epoch, struct cache *cache, char key[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int len = 0;
	char number[64];

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	key_text(ctx, "version", INPUTS_KEY_VERSION);
	snprintf(number, sizeof(number), "%lld %lld %lld %d", epoch, r->image_uid, r->image_gid, (int)r->image_zstd);
	key_text(ctx, "numbers", number);
	key_text(ctx, "base", r->base_image);
	key_text(ctx, "platform", r->platform);
	key_text(ctx, "name", r->name);
	key_text(ctx, "registry", r->image_registry);
	key_text(ctx, "repository", r->image_repository);
	key_text(ctx, "tag", recipe_image_tag(r));
	key_text(ctx, "source", r->image_source);
	key_text(ctx, "revision", r->image_revision);
	for (size_t i = 0; i < r->image_env.count; i++) {
		key_text(ctx, "env", r->image_env.items[i].key);
		key_text(ctx, "=", r->image_env.items[i].value);
	}
	for (size_t i = 0; i < r->image_labels.count; i++) {
		key_text(ctx, "label", r->image_labels.items[i].key);
		key_text(ctx, "=", r->image_labels.items[i].value);
	}
	for (size_t i = 0; i < r->artifact_count; i++) {
		key_text(ctx, "artifact", r->artifacts[i].coordinate);
		key_text(ctx, "destination", r->artifacts[i].destination);
		key_text(ctx, "sha256", r->artifacts[i].sha256);
	}
	for (size_t i = 0; i < r->file_count; i++) {
		snprintf(number, sizeof(number), "%o", r->files[i].mode);
		key_text(ctx, "file", r->files[i].destination);
		key_text(ctx, "mode", number);
		key_file(ctx, cache, "content", r->dir, r->files[i].source);
	}
	for (size_t i = 0; i < r->requirement_count; i++) {
		key_text(ctx, "requirement", r->requirements[i].name);
		key_text(ctx, "==", r->requirements[i].version);
		for (size_t k = 0; k < r->requirements[i].sha256.count; k++)
			key_text(ctx, "sha256", r->requirements[i].sha256.items[k]);
		key_text(ctx, "file", r->requirements[i].file);
		key_text(ctx, "url", r->requirements[i].url);
	}
	if (r->requirements_file)
		key_file(ctx, cache, "requirements", r->dir, r->requirements_file);
	key_text(ctx, "runtime", r->python_runtime.sha256);
	key_text(ctx, "runtime path", r->python_runtime.sha256 ? r->python_runtime.path : NULL);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	digest_hex(md, len, key);
}

/* A render alone deploys what the last build of the same inputs pinned (bundle.json), so that
 * `factory render` after `factory build` keeps spec.image at the digest. */
static void pinned_reference(struct build_result *r, const struct build_options *o, struct diag_list *diags)
{
	struct bundle_target last = {0};
	struct error missing = {0};
	char key[65];

	if (!r->recipe->image_repository || bundle_read_target(r->app_dir, &last, &missing))
		return;
	build_inputs_key(r->recipe, o->epoch, r->cache, key);
	if (strcmp(last.inputs_key, key) == 0)
		r->reference = oci_reference(last.registry, last.repository, last.manifest_digest);
	else
		diag_add(diags, DIAG_WARNING, r->recipe->file, 0, 0,
			 "the image inputs changed since the last build (%s/bundle.json): deploying the tag; run 'factory "
			 "build' to pin the image by digest", r->app_dir);
	bundle_target_clear(&last);
}

static int assemble_stage(struct build_result *r, const struct build_options *o, struct diag_list *diags,
			  struct error *err)
{
	const struct recipe *recipe = r->recipe;
	struct image_options image_options = {.epoch = o->epoch, .level = o->level ? o->level : 6};

	if (image_assemble(&r->image, recipe, r->plan, &r->inputs, r->cache, &image_options, diags, err) ||
	    inputs_record(&r->inputs, r->plan, recipe->dir, diags, err))
		return -1;
	/* The manifest digest is final before any push: deploy by digest, never by a movable tag. */
	if (recipe->image_repository)
		r->reference = oci_reference(recipe->image_registry, recipe->image_repository,
						     r->image.manifest.digest);
	return 0;
}

/* build.json's "gitops": where `factory publish out/<app>` sends the manifests. */
static void gitops_of(const struct build_result *r, struct bundle_gitops *g)
{
	const struct recipe *recipe = r->recipe;

	*g = (struct bundle_gitops){
		.url = (char *)recipe->gitops_url,
		.branch = (char *)recipe->gitops_branch,
		.path = (char *)recipe->gitops_path,
		.app = (char *)recipe->name,
		.image = r->rendered ? r->rendered->image : NULL,
		.scripts_hash = r->rendered ? r->rendered->scripts_hash : NULL,
	};
}

struct hash_ctx {
	struct bom *bom;
	const char *prefix;
};

static void hash_manifest(void *ctx, const char *path, const void *data, size_t size)
{
	struct hash_ctx *h = ctx;
	struct bom_file *f;

	if (strncmp(path, h->prefix, strlen(h->prefix)) != 0)
		return;
	h->bom->files = realloc(h->bom->files, (h->bom->file_count + 1) * sizeof(*h->bom->files));
	if (!h->bom->files)
		abort();
	f = &h->bom->files[h->bom->file_count++];
	f->path = xasprintf("manifests/%s", path + strlen(h->prefix));
	digest_sha256_hex(data, size, f->sha256);
}

static int compare_files(const void *a, const void *b)
{
	return strcmp(((const struct bom_file *)a)->path, ((const struct bom_file *)b)->path);
}

/* The bom's rendered manifests: those of `tree` under `prefix` ("manifests/" or ""). */
static void bom_manifests(struct bom *bom, const struct tree *t, const char *prefix)
{
	struct hash_ctx h = {bom, prefix};

	tree_each_bytes(t, hash_manifest, &h);
	if (bom->file_count > 1)
		qsort(bom->files, bom->file_count, sizeof(*bom->files), compare_files);
}

/* Everything the bom knows beyond the image: the recipe and its lock by digest, the base. */
static int bom_recipe(struct bom *bom, const struct build_result *r, const struct build_options *o, struct error *err)
{
	const struct recipe *recipe = r->recipe;

	bom->app = xstrdup(recipe->name);
	bom->namespace = recipe->namespace ? xstrdup(recipe->namespace) : NULL;
	bom->recipe_path = xstrdup(recipe->file);
	bom->epoch = o->epoch;
	bom->factory_version = xstrdup(o->version ? o->version : "unknown");
	if (cache_file_sha256(r->cache, recipe->file, bom->recipe_sha256, err) < 0)
		return -1;
	if (r->plan && r->plan->lock_path && access(r->plan->lock_path, F_OK) == 0) {
		bom->lock_path = xstrdup(r->plan->lock_path);
		if (cache_file_sha256(r->cache, r->plan->lock_path, bom->lock_sha256, err) < 0)
			return -1;
	}
	if (r->inputs.base.image.manifest_digest[0]) {
		bom->base_reference = xstrdup(recipe->base_image);
		bom->base_name = r->inputs.base.name ? xstrdup(r->inputs.base.name) : NULL;
		snprintf(bom->base_manifest, sizeof(bom->base_manifest), "%s", r->inputs.base.image.manifest_digest);
		bom->platform = xstrdup(recipe->platform);
	}
	if (recipe->image_repository) {
		const struct str_list *tags = &recipe->image_tags;
		bom->image_name = recipe->image_registry
					  ? xasprintf("%s/%s", recipe->image_registry, recipe->image_repository)
					  : xstrdup(recipe->image_repository);
		bom->tag_count = tags->count ? tags->count : 1;
		bom->tags = calloc(bom->tag_count, sizeof(*bom->tags));
		if (!bom->tags)
			abort();
		for (size_t i = 0; i < bom->tag_count; i++)
			bom->tags[i] = xstrdup(tags->count ? tags->items[i] : RECIPE_DEFAULT_TAG);
	}
	return 0;
}

/* A render alone: the manifests and where they are published; bundle.json keeps the rest. */
static int write_rendered(struct build_result *r, struct error *err)
{
	struct tree *t = tree_new();
	char *dir = fs_path_join(r->app_dir, "manifests");
	struct bundle_gitops g;
	struct bom bom = {0};
	int rc;

	gitops_of(r, &g);
	rc = bundle_manifests_tree(t, "", r->rendered, err) || tree_write(t, dir, NULL, err) ? -1 : 0;
	if (rc == 0) {
		bom_manifests(&bom, t, "");
		rc = bundle_update_rendered(r->app_dir, &bom, r->recipe->gitops_url ? &g : NULL, err);
	}
	bom_clear(&bom);
	tree_free(t);
	free(dir);
	return rc;
}

/* bundle.json: what the bundle is made of by digest, where the image goes (so that `factory
 * push out/<app>` needs no recipe) and where the manifests are published. */
static void add_bundle_json(struct tree *t, struct build_result *r, const struct build_options *o,
			    struct bundle_info *info)
{
	const struct recipe *recipe = r->recipe;
	const char *latest[] = {RECIPE_DEFAULT_TAG};
	struct bundle_target target = {
		.registry = (char *)recipe->image_registry,
		.repository = (char *)recipe->image_repository,
		.tags = recipe->image_tags.count ? (char **)recipe->image_tags.items : (char **)latest,
		.tag_count = recipe->image_tags.count ? recipe->image_tags.count : 1,
		.base = (char *)recipe->base_image,
	};
	struct bundle_gitops g;
	char key[65];
	char *text;
	size_t size;

	gitops_of(r, &g);
	build_inputs_key(recipe, o->epoch, r->cache, key);
	info->bom = &r->bom;
	info->inputs_key = key;
	info->target = recipe->image_repository ? &target : NULL;
	info->gitops = recipe->gitops_url ? &g : NULL;
	text = bundle_json(info, &size);
	tree_add_owned(t, BUNDLE_FILE, text, size);
}

static int publish_stage(struct build_result *r, const struct build_options *o, struct error *err)
{
	struct gitops_options publish = o->publish;

	if (!r->recipe->gitops_url)
		return error_set(err, ERROR_INVALID, "%s has no gitops.url: nowhere to publish the manifests",
				 r->recipe->file);
	publish.config = r->workspace.config;
	if (!publish.interrupted)
		publish.interrupted = o->interrupted;
	return gitops_publish_bundle(r->app_dir, &publish, &r->published, err);
}

/* The previous bundle's envelope, when it still verifies with `key` for exactly `payload`:
 * kept, because an ECDSA signature differs each time and signing again would rewrite a
 * bundle that did not change. */
static char *kept_envelope(const char *app_dir, const struct bundle_document_kind *kind, const struct dsse_key *key,
			   const char *payload, size_t size, size_t *envelope_size)
{
	char *path = fs_path_join(app_dir, kind->envelope), *old = NULL, *signed_payload = NULL;
	size_t old_size = 0, signed_size = 0;
	struct error ignored = {0};

	if (fs_read_file(path, DSSE_ENVELOPE_MAX, &old, &old_size, &ignored) == 0 &&
	    dsse_verify(key, old, old_size, kind->payload_type, &signed_payload, &signed_size, &ignored) == 0 &&
	    signed_size == size && memcmp(signed_payload, payload, size) == 0) {
		*envelope_size = old_size;
	} else {
		free(old);
		old = NULL;
	}
	free(signed_payload);
	free(path);
	return old;
}

/* The SBOMs and the provenance of the bom, each signed in a DSSE envelope when factory.yaml
 * names a key; `info` gets the documents with their sha256 and the envelopes, for bundle.json. */
static int add_documents(struct tree *t, const struct build_result *r, struct bundle_info *info,
			 struct bundle_document *docs, const char **envelopes, char key_id[65], struct error *err)
{
	char *(*const render[BUNDLE_DOCUMENT_KINDS])(const struct bom *, size_t *) = {sbom_spdx, sbom_cyclonedx,
										      sbom_provenance};
	struct dsse_key *key = NULL;
	int rc = 0;

	info->documents = docs;
	info->envelopes = envelopes;
	if (config_signing_key(r->workspace.config, false, &key, err) < 0)
		return -1;
	if (key) {
		snprintf(key_id, 65, "%s", dsse_key_id(key));
		info->key_id = key_id;
	}
	for (size_t i = 0; i < BUNDLE_DOCUMENT_KINDS && rc == 0; i++) {
		const struct bundle_document_kind *kind = &bundle_document_kinds[i];
		size_t size, envelope_size = 0;
		char *text = render[i](&r->bom, &size), *envelope = NULL;

		docs[info->document_count].name = kind->name;
		digest_sha256_hex(text, size, docs[info->document_count++].sha256);
		if (key && !(envelope = kept_envelope(r->app_dir, kind, key, text, size, &envelope_size)))
			rc = dsse_sign(key, kind->payload_type, text, size, &envelope, &envelope_size, err);
		if (envelope) {
			envelopes[info->envelope_count++] = kind->envelope;
			tree_add_owned(t, kind->envelope, envelope, envelope_size);
		}
		tree_add_owned(t, kind->name, text, size);
	}
	dsse_key_free(key);
	return rc;
}

/* What the previous bundle was pushed as still holds when its image is this one. */
static json_t *kept_pushed(const struct build_result *r)
{
	struct bundle_target last = {0};
	struct error missing = {0};
	json_t *pushed = NULL;

	if (bundle_read_target(r->app_dir, &last, &missing) == 0 &&
	    strcmp(last.manifest_digest, r->image.manifest.digest) == 0)
		pushed = bundle_read_pushed(r->app_dir);
	bundle_target_clear(&last);
	return pushed;
}

/* tree_write linked the layout's blobs anew: their ctime moved, their bytes did not. */
static void relinked(void *ctx, const char *path, const char *source)
{
	(void)path;
	cache_note_relinked(ctx, source);
}

/* out/<app> as one unit: the image layout, build.json and the manifests are described in
 * memory and written together, only when they differ from what is there (tree.h), so an
 * interrupt or a failure leaves the previous bundle or the new one, never a mix, and a build
 * that changes nothing writes nothing. */
static int write_bundle(struct build_result *r, const struct build_options *o, const struct render_options *render,
			struct diag_list *diags, struct error *err)
{
	struct tree *t = tree_new();
	struct bundle_document docs[BUNDLE_DOCUMENT_KINDS];
	const char *envelopes[BUNDLE_DOCUMENT_KINDS];
	struct bundle_info info = {0};
	char key_id[65] = "";
	json_t *pushed = NULL, *attached = NULL;
	bool changed = false;
	int rc = 0;

	oci_layout_tree(t, "image", r->cache, &r->image.manifest, &r->image.image, r->image.tag,
			r->inputs.base.lazy ? &r->base_layers_left : NULL);
	if ((o->stages & BUILD_RENDER) && (render_recipe(&r->rendered, r->recipe, render, diags, err) ||
					   bundle_manifests_tree(t, "manifests", r->rendered, err)))
		rc = -1;
	if (rc == 0)
		rc = bom_recipe(&r->bom, r, o, err) ||
				     image_bom(&r->image, r->recipe, r->plan, &r->inputs, r->cache, &r->bom, err)
			     ? -1
			     : 0;
	if (rc == 0) {
		for (size_t i = 0; i < r->bom.component_count; i++)
			r->bom.components[i].purl = sbom_component_purl(&r->bom.components[i]);
		bom_manifests(&r->bom, t, "manifests/");
		rc = add_documents(t, r, &info, docs, envelopes, key_id, err);
	}
	if (rc == 0) {
		info.pushed = pushed = kept_pushed(r);
		/* what the pushed image has attached stays recorded as long as the documents do */
		info.attached = attached = pushed ? bundle_read_attached(r->app_dir) : NULL;
		add_bundle_json(t, r, o, &info);
		rc = tree_write(t, r->app_dir, &changed, err);
	}
	if (rc == 0 && changed)
		tree_each_link(t, relinked, r->cache);
	json_decref(pushed);
	json_decref(attached);
	tree_free(t);
	return rc;
}

/* <cache>/tmp/scratch.XXXXXX, held by an flock while it lives (cache_open sweeps the ones of
 * dead runs). */
static int make_scratch(struct build_result *r, struct error *err)
{
	char *prefix;
	int rc;

	if (!r->cache)
		return error_set(err, ERROR_INTERNAL, "a scratch build needs the cache");
	prefix = fs_path_join(r->cache->dir, "tmp/" CACHE_SCRATCH_PREFIX);
	rc = fs_make_temp_dir(prefix, &r->scratch_dir, err);
	free(prefix);
	if (rc)
		return -1;
	r->scratch_lock = open(r->scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->scratch_lock < 0 || flock(r->scratch_lock, LOCK_EX) < 0)
		return error_set_errno(err, "cannot lock %s", r->scratch_dir);
	return 0;
}

int build_run(struct build_result *r, const struct build_options *o, struct diag_list *diags, struct error *err)
{
	struct render_options render_options = {.image = o->image};
	struct registry_push_hooks push_hooks = {.on_blob = o->on_blob, .ctx = o->ctx, .interrupted = o->interrupted};
	/* The stop flag reaches every download through the config (workspace.h). */
	struct workspace_options workspace = o->workspace;

	memset(r, 0, sizeof(*r));
	if (!workspace.interrupted)
		workspace.interrupted = o->interrupted;
	if (o->stages & (BUILD_FETCH | BUILD_ASSEMBLE | BUILD_PUSH)) {
		if (workspace_load_recipe(&r->workspace, o->recipe_path, &workspace, &r->recipe, &r->cache, diags, err))
			return -1;
	} else if (workspace_open(&r->workspace, o->recipe_path, &workspace, diags, err) ||
		   recipe_load(&r->recipe, o->recipe_path, r->workspace.catalog, &render_rules, diags, err)) {
		return -1;
	}
	if (o->recheck && r->cache)
		r->cache->distrust = true;
	if (recipe_override_image(r->recipe, &o->image_override, err))
		return -1;
	if (o->strict && diags->count > diags->errors)
		return error_set(err, ERROR_INVALID, "%s: %zu warning%s, which --strict makes errors; nothing written",
				 r->recipe->file, diags->count - diags->errors, diags->count - diags->errors == 1 ? "" : "s");
	if (o->scratch && make_scratch(r, err))
		return -1;
	r->app_dir = fs_path_join(r->scratch_dir ? r->scratch_dir : o->output_dir ? o->output_dir : "out",
				  r->recipe->name);
	r->image_dir = fs_path_join(r->app_dir, "image");
	if ((o->stages & BUILD_FETCH) && (begin(o, BUILD_FETCH, err) || fetch_stage(r, o, diags, err) || stopped(o, err)))
		return -1;
	if ((o->stages & BUILD_ASSEMBLE) && (begin(o, BUILD_ASSEMBLE, err) || assemble_stage(r, o, diags, err)))
		return -1;
	if (o->stages & BUILD_RENDER) {
		if (!(o->stages & BUILD_ASSEMBLE) && !render_options.image)
			pinned_reference(r, o, diags);
		if (r->reference && !render_options.image)
			render_options.image = r->reference;
		if (begin(o, BUILD_RENDER, err))
			return -1;
	}
	if (o->stages & BUILD_ASSEMBLE) {
		if (write_bundle(r, o, &render_options, diags, err))
			return -1;
	} else if ((o->stages & BUILD_RENDER) && (render_recipe(&r->rendered, r->recipe, &render_options, diags, err) ||
						  write_rendered(r, err))) {
		return -1;
	}
	if ((o->stages & BUILD_PUSH) &&
	    (begin(o, BUILD_PUSH, err) || push_bundle(r->app_dir, r->workspace.config, &push_hooks, &r->pushed, err)))
		return -1;
	if ((o->stages & BUILD_PUBLISH) && (begin(o, BUILD_PUBLISH, err) || publish_stage(r, o, err)))
		return -1;
	return 0;
}
