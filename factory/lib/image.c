#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basefacts.h"
#include "digest.h"
#include "flink.h"
#include "fsutil.h"
#include "layer.h"
#include "maven.h"
#include "pypi.h"
#include "util.h"
#include "wheel.h"

#define LAYER_KEY_VERSION "factory-layer-1"
#define WHEEL_LAYOUT_VERSION "factory-wheels-1" /* bump when wheel installation changes */
#define RUNTIME_LAYOUT_VERSION "factory-runtime-1" /* bump when runtime unpacking changes */

void image_build_clear(struct image_build *b)
{
	free(b->wheels);
	oci_image_clear(&b->image);
	free(b->manifest.media_type);
	free(b->tag);
	memset(b, 0, sizeof(*b));
}

/* ---- factory's layers ------------------------------------------------------------------- */

struct layer_plan {
	const char *name; /* for history: "connectors", "jars", "files" */
	struct layer_entry *entries;
	const char **digests; /* content digest of each entry's source, for the layer key */
	char **owned;         /* strings to free */
	size_t count, owned_count;
};

static void plan_add(struct layer_plan *lp, const char *path, enum layer_entry_type type, unsigned mode,
		     const char *source, const char *content_digest, bool root_owned)
{
	lp->entries = realloc(lp->entries, (lp->count + 1) * sizeof(*lp->entries));
	lp->digests = realloc(lp->digests, (lp->count + 1) * sizeof(*lp->digests));
	if (!lp->entries || !lp->digests)
		abort();
	lp->entries[lp->count] = (struct layer_entry){path, type, mode, source, root_owned, NULL};
	lp->digests[lp->count] = content_digest ? content_digest : "";
	lp->count++;
}

static const char *plan_own(struct layer_plan *lp, char *s)
{
	lp->owned = realloc(lp->owned, (lp->owned_count + 1) * sizeof(*lp->owned));
	if (!lp->owned)
		abort();
	lp->owned[lp->owned_count++] = s;
	return s;
}

static void layer_plan_free(struct layer_plan *lp)
{
	for (size_t i = 0; i < lp->owned_count; i++)
		free(lp->owned[i]);
	free(lp->owned);
	free(lp->entries);
	free(lp->digests);
}

/* The directories above the files: /opt stays root's, FLINK_HOME and below belong to flink. */
static void plan_parents(struct layer_plan *lp, const char *path)
{
	char *copy = xstrdup(path);

	for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
		bool seen = false;
		const char *dir = plan_own(lp, xasprintf("%.*s", (int)(slash - copy), copy));
		for (size_t i = 0; i < lp->count && !seen; i++)
			seen = strcmp(lp->entries[i].path, dir) == 0;
		if (!seen)
			plan_add(lp, dir, LAYER_DIRECTORY, 0755, NULL, NULL,
				 strncmp(dir, "opt/flink", 9) != 0 || (dir[9] != '\0' && dir[9] != '/'));
	}
	free(copy);
}

static const struct fetch_item *find_item(const struct plan *plan, const char *coordinate)
{
	for (size_t i = 0; i < plan->count; i++)
		if (strcmp(plan->items[i].coordinate, coordinate) == 0)
			return &plan->items[i];
	return NULL;
}

static const char *find_item_sha(const struct plan *plan, const char *coordinate)
{
	const struct fetch_item *item = find_item(plan, coordinate);
	return item ? item->sha256 : NULL;
}

static int plan_artifacts(struct layer_plan *catalog, struct layer_plan *raw, const struct recipe *r,
			  const struct plan *plan, struct cache *cache, struct error *err)
{
	for (size_t i = 0; i < r->artifact_count; i++) {
		const struct recipe_artifact *a = &r->artifacts[i];
		struct layer_plan *lp = a->catalog_name ? catalog : raw;
		const char *sha = find_item_sha(plan, a->coordinate);
		struct maven_coord c;
		char *file, *path;

		if (!sha || !*sha)
			return error_set(err, ERROR_INTERNAL, "%s was not fetched", a->coordinate);
		if (maven_coord_parse(a->coordinate, &c, err) < 0)
			return -1;
		path = maven_coord_path(&c);
		file = xstrdup(fs_basename(path));
		free(path);
		maven_coord_free(&c);
		path = xasprintf("opt/flink/%s/%s", a->destination, file);
		free(file);
		plan_parents(lp, path);
		for (size_t k = 0; k < lp->count; k++)
			if (strcmp(lp->entries[k].path, path) == 0) { /* listed twice: keep one */
				free(path);
				path = NULL;
				break;
			}
		if (!path)
			continue;
		plan_add(lp, plan_own(lp, path), LAYER_FILE, 0644, plan_own(lp, cache_blob_path(cache, sha)), sha, false);
		lp->entries[lp->count - 1].sha256 = sha; /* trusted by its stat record: checked as it is read */
	}
	return 0;
}

static int plan_files(struct layer_plan *lp, const struct recipe *r, struct cache *cache, struct error *err)
{
	for (size_t i = 0; i < r->file_count; i++) {
		const struct recipe_file *f = &r->files[i];
		char *source = fs_path_join(r->dir, f->source);
		char hex[65];
		if (cache_file_sha256(cache, source, hex, err) < 0) {
			free(source);
			return -1;
		}
		plan_parents(lp, f->destination + 1);
		plan_add(lp, f->destination + 1, LAYER_FILE, f->mode, plan_own(lp, source),
			 plan_own(lp, xstrdup(hex)), false);
		lp->entries[lp->count - 1].sha256 = lp->digests[lp->count - 1];
	}
	return 0;
}

/* The key of a layer: everything its bytes depend on, and nothing else. */
static void layer_key(const struct layer_plan *lp, const struct layer_options *o, char key[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int len;
	char head[128];

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	snprintf(head, sizeof(head), "%s uid=%u gid=%u mtime=%lld level=%d zstd=%d\n", LAYER_KEY_VERSION, o->uid,
		 o->gid, o->mtime, o->level, (int)o->zstd);
	EVP_DigestUpdate(ctx, head, strlen(head));
	for (size_t i = 0; i < lp->count; i++) {
		const struct layer_entry *e = &lp->entries[i];
		char line[64];
		snprintf(line, sizeof(line), " %d %o %d ", (int)e->type, e->mode, (int)e->root_owned);
		EVP_DigestUpdate(ctx, e->path, strlen(e->path) + 1);
		EVP_DigestUpdate(ctx, line, strlen(line));
		EVP_DigestUpdate(ctx, lp->digests[i], strlen(lp->digests[i]) + 1);
		if (e->type == LAYER_SYMLINK)
			EVP_DigestUpdate(ctx, e->source, strlen(e->source) + 1);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	digest_hex(md, len, key);
}

/* A cached file trusted by its stat record turned out damaged while the layer read it: it
 * is evicted, so that the next run fetches it again. */
static void evict_damaged(const struct layer_plan *lp, struct cache *cache, struct error *err)
{
	size_t dir_len = strlen(cache->dir);

	for (size_t i = 0; i < lp->count; i++) {
		const struct layer_entry *e = &lp->entries[i];
		if (e->type == LAYER_FILE && e->sha256 && strncmp(e->source, cache->dir, dir_len) == 0 &&
		    !cache_recheck(cache, e->sha256, NULL))
			error_set(err, ERROR_CONFLICT, "the cached /%s (sha256:%s) is damaged: it has been removed from the "
				  "cache; run the build again to fetch it", e->path, e->sha256);
	}
}

/* `fill` (may be NULL) produces the entries only when the layer is not cached under `key`;
 * without a precomputed key the key is derived from the entries. */
static int build_layer(struct image_build *b, struct layer_plan *lp, const struct layer_options *o, struct cache *cache,
		       const char *precomputed_key, int (*fill)(struct layer_plan *lp, void *ctx, struct error *err),
		       void *ctx, struct error *err)
{
	char key[65], *key_path, *text = NULL, *dir;
	struct layer_result res = {0};
	struct oci_descriptor *d;
	size_t size;
	struct error ignored = {0};

	if (!precomputed_key && lp->count == 0)
		return 0;
	if (precomputed_key)
		snprintf(key, sizeof(key), "%s", precomputed_key);
	else
		layer_key(lp, o, key);
	key_path = xasprintf("%s/layers/%s", cache->dir, key);
	if (fs_read_file(key_path, 4096, &text, &size, &ignored) == 0 &&
	    sscanf(text, "%71s %71s %lld", res.digest, res.diff_id, &res.size) == 3 && oci_digest_valid(res.digest) &&
	    cache_verify(cache, res.digest + 7, NULL)) {
		b->reused++;
	} else {
		free(text);
		text = NULL;
		if ((fill && fill(lp, ctx, err) < 0) || layer_write(lp->entries, lp->count, o, cache, &res, err) < 0) {
			if (err->code == ERROR_CONFLICT)
				evict_damaged(lp, cache, err);
			free(key_path);
			return -1;
		}
		text = xasprintf("%s %s %lld\n", res.digest, res.diff_id, res.size);
		dir = fs_dirname(key_path);
		if (fs_mkdir_p(dir, err) || fs_write_file_atomic(key_path, text, strlen(text), 0644, err)) {
			free(dir);
			free(text);
			free(key_path);
			return -1;
		}
		free(dir);
		b->built++;
	}
	free(text);
	free(key_path);
	b->image.layers = realloc(b->image.layers, (b->image.layer_count + 1) * sizeof(*b->image.layers));
	if (!b->image.layers)
		abort();
	d = &b->image.layers[b->image.layer_count++];
	memset(d, 0, sizeof(*d));
	d->media_type = xstrdup(o->zstd ? OCI_MEDIA_LAYER_ZSTD : OCI_MEDIA_LAYER_GZIP);
	snprintf(d->digest, sizeof(d->digest), "%s", res.digest);
	d->size = res.size;
	d->created_by = xasprintf("factory: %s layer", lp->name);
	if (b->own_count < sizeof(b->own) / sizeof(b->own[0]))
		b->own[b->own_count++] = (struct image_own_layer){lp->name, b->image.layer_count - 1};
	/* remember the diffID for the config */
	json_array_append_new(json_object_get(json_object_get(b->image.config_json, "rootfs"), "diff_ids"),
			      json_string(res.diff_id));
	return 0;
}

/* ---- the Python layer ------------------------------------------------------------------- */

struct python_layer {
	struct diag_list *diags;
	const struct python_target *target;
	struct python_wheel *wheels;
	size_t count;
	struct cache *cache;
	char *staging;
	struct wheel_install *installs;
};

/* Wheels are unpacked only when the layer is not cached: its key is known from the wheels'
 * digests and the target alone. */
static int python_fill(struct layer_plan *lp, void *ctx, struct error *err)
{
	struct python_layer *pl = ctx;
	char *prefix = xasprintf("%s/tmp/wheels.", pl->cache->dir);
	int rc = fs_make_temp_dir(prefix, &pl->staging, err);

	free(prefix);
	if (rc)
		return -1;
	pl->installs = calloc(pl->count + 1, sizeof(*pl->installs));
	if (!pl->installs)
		abort();
	for (size_t i = 0; i < pl->count; i++) {
		char *blob = cache_blob_path(pl->cache, pl->wheels[i].sha256);
		rc = wheel_install(blob, pl->wheels[i].filename, pl->target, pl->staging, &pl->installs[i], err);
		free(blob);
		if (rc && pl->wheels[i].origin_file[0]) {
			/* The refusal belongs to the line that asked for the wheel. */
			diag_add(pl->diags, DIAG_ERROR, pl->wheels[i].origin_file, pl->wheels[i].origin_line,
				 pl->wheels[i].origin_col, "%s", err->message);
			error_set(err, ERROR_INVALID, "%s cannot be installed", pl->wheels[i].filename);
		}
		if (rc)
			return -1;
		for (size_t k = 0; k < pl->installs[i].count; k++) {
			const struct wheel_file *f = &pl->installs[i].files[k];
			plan_parents(lp, f->path);
			/* Installed like a system package: root's, not writable by the flink user. */
			plan_add(lp, f->path, LAYER_FILE, f->mode, f->source, f->sha256, true);
		}
	}
	return 0;
}

static void python_key(const struct python_layer *pl, const struct layer_options *o, char key[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int len;
	char *head = xasprintf("%s uid=%u gid=%u mtime=%lld level=%d zstd=%d python=%s site=%s bin=%s arch=%s\n",
			       WHEEL_LAYOUT_VERSION, o->uid, o->gid, o->mtime, o->level, (int)o->zstd, pl->target->interpreter,
			       pl->target->site_packages, pl->target->bin_dir, pl->target->arch);

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, head, strlen(head));
	for (size_t i = 0; i < pl->count; i++) {
		EVP_DigestUpdate(ctx, pl->wheels[i].filename, strlen(pl->wheels[i].filename) + 1);
		EVP_DigestUpdate(ctx, pl->wheels[i].sha256, 65);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	free(head);
	digest_hex(md, len, key);
}

static int compare_wheels(const void *a, const void *b)
{
	return strcmp(((const struct python_wheel *)a)->filename, ((const struct python_wheel *)b)->filename);
}

static int build_python_layer(struct image_build *b, const struct image_inputs *in, struct cache *cache,
			      const struct layer_options *o, struct diag_list *diags, struct error *err)
{
	struct python_layer pl = {.target = &in->target, .cache = cache, .diags = diags};
	struct layer_plan lp = {.name = "python"};
	char key[65];
	int rc = -1;

	if (!in->python.count)
		return 0;
	/* Sorted for the key and the layer; the set keeps its own order. */
	pl.wheels = calloc(in->python.count, sizeof(*pl.wheels));
	if (!pl.wheels)
		abort();
	memcpy(pl.wheels, in->python.wheels, in->python.count * sizeof(*pl.wheels));
	pl.count = in->python.count;
	qsort(pl.wheels, pl.count, sizeof(*pl.wheels), compare_wheels);
	python_key(&pl, o, key);
	rc = build_layer(b, &lp, o, cache, key, python_fill, &pl, err);
	if (rc == 0) {
		b->wheels = pl.wheels;
		b->wheel_count = pl.count;
		pl.wheels = NULL;
	}
	if (pl.staging) {
		struct error ignored = {0};
		fs_remove_tree(pl.staging, &ignored);
		free(pl.staging);
	}
	for (size_t i = 0; pl.installs && i < pl.count; i++)
		wheel_install_clear(&pl.installs[i]);
	free(pl.installs);
	free(pl.wheels);
	layer_plan_free(&lp);
	return rc;
}

/* ---- the Python runtime layer ----------------------------------------------------------- */

struct runtime_layer {
	const struct pyruntime *runtime;
	struct cache *cache;
	char *staging;
	struct pyruntime_files files;
};

/* The tarball is unpacked only when the layer is not cached: its key is the tarball's digest. */
static int runtime_fill(struct layer_plan *lp, void *ctx, struct error *err)
{
	struct runtime_layer *rl = ctx;
	char *prefix = xasprintf("%s/tmp/runtime.", rl->cache->dir);
	int rc = fs_make_temp_dir(prefix, &rl->staging, err);

	free(prefix);
	if (rc || pyruntime_unpack(rl->runtime, rl->cache, rl->staging, &rl->files, err))
		return -1;
	for (size_t i = 0; i < rl->files.count; i++) {
		const struct pyruntime_entry *f = &rl->files.entries[i];
		enum layer_entry_type type = f->type == 'd' ? LAYER_DIRECTORY : f->type == 'l' ? LAYER_SYMLINK : LAYER_FILE;
		plan_parents(lp, f->path);
		plan_add(lp, f->path, type, f->mode, f->source, NULL, true);
	}
	return 0;
}

static int build_runtime_layer(struct image_build *b, const struct pyruntime *rt, struct cache *cache,
			       const struct layer_options *o, struct error *err)
{
	struct runtime_layer rl = {.runtime = rt, .cache = cache};
	struct layer_plan lp = {.name = "python runtime"};
	char key[65], *head = xasprintf("%s mtime=%lld level=%d zstd=%d path=%s sha256=%s", RUNTIME_LAYOUT_VERSION,
					o->mtime, o->level, (int)o->zstd, rt->path, rt->sha256);
	int rc;

	digest_sha256_hex(head, strlen(head), key);
	free(head);
	rc = build_layer(b, &lp, o, cache, key, runtime_fill, &rl, err);
	if (rl.staging) {
		struct error ignored = {0};
		fs_remove_tree(rl.staging, &ignored);
		free(rl.staging);
	}
	pyruntime_files_clear(&rl.files);
	layer_plan_free(&lp);
	return rc;
}

/* ---- the bill of materials --------------------------------------------------------------- */

static size_t own_layer(const struct image_build *b, const char *content)
{
	for (size_t i = 0; i < b->own_count; i++)
		if (strcmp(b->own[i].content, content) == 0)
			return b->own[i].index;
	return 0;
}

static struct bom_component *bom_add(struct bom *bom, enum bom_kind kind, size_t layer)
{
	struct bom_component *c;

	bom->components = realloc(bom->components, (bom->component_count + 1) * sizeof(*bom->components));
	if (!bom->components)
		abort();
	c = &bom->components[bom->component_count++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->layer = layer;
	return c;
}

/* By layer, then by path and file: the same inputs list the same way. */
static int compare_components(const void *a, const void *b)
{
	const struct bom_component *x = a, *y = b;
	int c;

	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	if ((c = strcmp(x->path ? x->path : "", y->path ? y->path : "")) != 0)
		return c;
	return strcmp(x->file_name ? x->file_name : "", y->file_name ? y->file_name : "");
}

static int bom_artifacts(struct bom *bom, const struct image_build *b, const struct recipe *r, const struct plan *plan,
			 struct error *err)
{
	for (size_t i = 0; i < r->artifact_count; i++) {
		const struct recipe_artifact *a = &r->artifacts[i];
		const struct fetch_item *item = find_item(plan, a->coordinate);
		const struct lock_entry *locked;
		const char *repository;
		struct bom_component *c;
		struct maven_coord mc;
		char *repo_path, *path;
		bool seen = false;

		if (!item)
			return error_set(err, ERROR_INTERNAL, "%s was not fetched", a->coordinate);
		if (maven_coord_parse(a->coordinate, &mc, err) < 0)
			return -1;
		repo_path = maven_coord_path(&mc);
		path = xasprintf("/opt/flink/%s/%s", a->destination, fs_basename(repo_path));
		for (size_t k = 0; k < bom->component_count && !seen; k++)
			seen = bom->components[k].path && strcmp(bom->components[k].path, path) == 0;
		if (seen) { /* listed twice, installed once */
			free(path);
			free(repo_path);
			maven_coord_free(&mc);
			continue;
		}
		c = bom_add(bom, BOM_MAVEN, own_layer(b, a->catalog_name ? "connectors" : "jars"));
		c->name = xstrdup(mc.artifact);
		c->group = xstrdup(mc.group);
		c->version = xstrdup(mc.version);
		c->classifier = mc.classifier ? xstrdup(mc.classifier) : NULL;
		c->extension = xstrdup(mc.extension);
		c->file_name = xstrdup(fs_basename(repo_path));
		c->path = path;
		/* A JAR taken from the cache was not downloaded in this run: the lock says where it
		 * came from, so a warm build lists what a cold one does. */
		locked = plan->lock ? lockfile_find(plan->lock, a->coordinate) : NULL;
		repository = item->repository_url ? item->repository_url : locked ? locked->repository : NULL;
		if (repository) {
			size_t n = strlen(repository);
			c->repository_url = xstrdup(repository);
			c->download_url = xasprintf("%s%s%s", repository, n && repository[n - 1] == '/' ? "" : "/", repo_path);
		}
		snprintf(c->sha256, sizeof(c->sha256), "%s", item->sha256);
		snprintf(c->sha1, sizeof(c->sha1), "%s", item->sha1[0] || !locked ? item->sha1 : locked->sha1);
		free(repo_path);
		maven_coord_free(&mc);
	}
	return 0;
}

static int bom_python(struct bom *bom, const struct image_build *b, const struct recipe *r,
		      const struct image_inputs *in, struct error *err)
{
	if (b->has_runtime) {
		const struct recipe_python_runtime *spec = &r->python_runtime;
		struct bom_component *c = bom_add(bom, BOM_RUNTIME, own_layer(b, "python runtime"));
		c->name = xstrdup("python");
		c->version = xstrdup(b->runtime_version);
		c->file_name = xstrdup(fs_basename(spec->url ? spec->url : spec->file));
		c->path = xstrdup(in->runtime.path);
		c->download_url = spec->url ? xstrdup(spec->url) : NULL;
		snprintf(c->sha256, sizeof(c->sha256), "%s", b->runtime_sha256);
	}
	for (size_t i = 0; i < b->wheel_count; i++) {
		const struct python_wheel *w = &b->wheels[i];
		struct wheel_name name;
		char normalized[128];
		struct bom_component *c;
		if (wheel_parse_filename(w->filename, &name, err) < 0)
			return -1;
		python_normalize_name(name.distribution, normalized, sizeof(normalized));
		c = bom_add(bom, BOM_WHEEL, own_layer(b, "python"));
		c->name = xstrdup(normalized);
		c->version = xstrdup(name.version);
		c->file_name = xstrdup(w->filename);
		c->path = xasprintf("/%s", in->target.site_packages);
		snprintf(c->sha256, sizeof(c->sha256), "%s", w->sha256);
	}
	return 0;
}

int image_bom(const struct image_build *b, const struct recipe *r, const struct plan *plan,
	      const struct image_inputs *in, struct cache *cache, struct bom *bom, struct error *err)
{
	static const struct {
		const char *layer, *content;
	} names[] = {{"python runtime", "python-runtime"}, {"connectors", "connectors"}, {"jars", "jars"},
		     {"python", "wheels"}, {"files", "files"}};

	snprintf(bom->image_manifest, sizeof(bom->image_manifest), "%s", b->manifest.digest);
	snprintf(bom->image_config, sizeof(bom->image_config), "%s", b->image.config.digest);
	bom->layers = calloc(b->image.layer_count + 1, sizeof(*bom->layers));
	if (!bom->layers)
		abort();
	for (size_t i = 0; i < b->image.layer_count; i++) {
		struct bom_layer *l = &bom->layers[bom->layer_count++];
		snprintf(l->digest, sizeof(l->digest), "%s", b->image.layers[i].digest);
		l->size = b->image.layers[i].size;
		l->media_type = xstrdup(b->image.layers[i].media_type);
		l->base = i < b->base_layers;
	}
	for (size_t i = 0; i < b->own_count; i++)
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(b->own[i].content, names[k].layer) == 0)
				bom->layers[b->own[i].index].content = xstrdup(names[k].content);
	if (bom_python(bom, b, r, in, err) < 0 || bom_artifacts(bom, b, r, plan, err) < 0)
		return -1;
	for (size_t i = 0; i < r->file_count; i++) {
		const struct recipe_file *f = &r->files[i];
		char *source = fs_path_join(r->dir, f->source);
		struct bom_component *c = bom_add(bom, BOM_FILE, own_layer(b, "files"));
		int rc = cache_file_sha256(cache, source, c->sha256, err);
		free(source);
		c->name = xstrdup(f->destination);
		c->file_name = xstrdup(fs_basename(f->source));
		c->path = xstrdup(f->destination);
		if (rc < 0)
			return -1;
	}
	if (bom->component_count > 1)
		qsort(bom->components, bom->component_count, sizeof(*bom->components), compare_components);
	return 0;
}

/* ---- config and manifest ---------------------------------------------------------------- */

static void set_env(json_t *config, const char *key, const char *value)
{
	json_t *env = json_object_get(config, "Env");
	size_t i, len = strlen(key);
	json_t *e;

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, key, len) == 0 && s[len] == '=')
			break;
	}
	char *entry = xasprintf("%s=%s", key, value);
	if (i < json_array_size(env))
		json_array_set_new(env, i, json_string(entry)); /* the recipe's value wins over the base's */
	else
		json_array_append_new(env, json_string(entry));
	free(entry);
}

/* <runtime>/bin first on PATH, so that python3 and python are the runtime's for every
 * process of the image (the JobManager's client and the TaskManagers alike). */
static void prepend_path(json_t *config, const char *runtime_path)
{
	json_t *env = json_object_get(config, "Env"), *e;
	const char *current = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *value;
	size_t i;

	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, "PATH=", 5) == 0)
			current = s + 5;
	}
	value = xasprintf("%s/bin%s%s", runtime_path, *current ? ":" : "", current);
	set_env(config, "PATH", value);
	free(value);
}

static void prepare_config(struct image_build *b, const struct base_image *base, const struct recipe *r,
			   const char *created)
{
	json_t *cfg = json_deep_copy(base->image.config_json), *inner, *labels, *rootfs;

	if (!json_is_object(cfg)) {
		json_decref(cfg);
		cfg = json_object();
	}
	json_object_set_new(cfg, "created", json_string(created));
	inner = json_object_get(cfg, "config");
	if (!json_is_object(inner)) {
		inner = json_object();
		json_object_set_new(cfg, "config", inner);
	}
	for (size_t i = 0; i < r->image_env.count; i++)
		set_env(inner, r->image_env.items[i].key, r->image_env.items[i].value);
	labels = json_object_get(inner, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(inner, "Labels", labels);
	}
	for (size_t i = 0; i < r->image_labels.count; i++)
		json_object_set_new(labels, r->image_labels.items[i].key, json_string(r->image_labels.items[i].value));
	rootfs = json_object_get(cfg, "rootfs");
	if (!json_is_object(rootfs) || !json_is_array(json_object_get(rootfs, "diff_ids"))) {
		rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
		json_object_set_new(cfg, "rootfs", rootfs);
	}
	if (!json_is_array(json_object_get(cfg, "history")))
		json_object_set_new(cfg, "history", json_array());
	b->image.config_json = cfg;
}

static int finish(struct image_build *b, const struct base_image *base, const struct recipe *r, const char *created,
		  struct cache *cache, struct error *err)
{
	json_t *history = json_object_get(b->image.config_json, "history"), *m, *layers, *annotations;
	char *text;
	size_t size;
	int rc;

	for (size_t i = b->base_layers; i < b->image.layer_count; i++)
		json_array_append_new(history, json_pack("{s:s, s:s}", "created", created, "created_by",
							 b->image.layers[i].created_by));
	text = oci_json_canonical(b->image.config_json, &size);
	rc = oci_put_blob(cache, OCI_MEDIA_CONFIG, text, size, &b->image.config, err);
	free(text);
	if (rc)
		return -1;

	m = json_object();
	layers = json_array();
	for (size_t i = 0; i < b->image.layer_count; i++)
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", b->image.layers[i].media_type,
							"digest", b->image.layers[i].digest, "size",
							(json_int_t)b->image.layers[i].size));
	annotations = json_object();
	json_object_set_new(annotations, "org.opencontainers.image.title", json_string(r->name));
	json_object_set_new(annotations, "org.opencontainers.image.version", json_string(b->tag));
	json_object_set_new(annotations, "org.opencontainers.image.created", json_string(created));
	if (base->name)
		json_object_set_new(annotations, "org.opencontainers.image.base.name", json_string(base->name));
	json_object_set_new(annotations, "org.opencontainers.image.base.digest", json_string(base->image.manifest_digest));
	if (r->image_source)
		json_object_set_new(annotations, "org.opencontainers.image.source", json_string(r->image_source));
	if (r->image_revision)
		json_object_set_new(annotations, "org.opencontainers.image.revision", json_string(r->image_revision));
	json_object_set_new(m, "schemaVersion", json_integer(2));
	json_object_set_new(m, "mediaType", json_string(OCI_MEDIA_MANIFEST));
	json_object_set_new(m, "config", json_pack("{s:s, s:s, s:I}", "mediaType", OCI_MEDIA_CONFIG, "digest",
						   b->image.config.digest, "size", (json_int_t)b->image.config.size));
	json_object_set_new(m, "layers", layers);
	json_object_set_new(m, "annotations", annotations);
	text = oci_json_canonical(m, &size);
	json_decref(m);
	rc = oci_put_blob(cache, OCI_MEDIA_MANIFEST, text, size, &b->manifest, err);
	free(text);
	return rc;
}

/* ---- lint and assembly ------------------------------------------------------------------ */

static void lint(const struct recipe *r, const struct base_facts *f, const struct layer_plan *plans, size_t nplans,
		 struct diag_list *diags)
{
	if (r->has_python && !f->python[0] && !r->python_runtime.sha256)
		diag_add(diags, DIAG_ERROR, r->file, 0, 0,
			 "the base image %s has no Python (looked for usr/bin/python3.N and usr/local/bin/python3.N): "
			 "a PyFlink job needs one; add python.runtime (a relocatable CPython such as "
			 "python-build-standalone's install_only tarball) or build on an image with Python",
			 r->base_image);
	if (r->has_python && !f->flink_python_jar)
		diag_add(diags, DIAG_ERROR, r->file, 0, 0,
			 "the base image %s has no /opt/flink/opt/flink-python-%d.%d.%d.jar: is it Flink %d.%d.%d?",
			 r->base_image, r->flink_major, r->flink_minor, r->flink_patch, r->flink_major, r->flink_minor,
			 r->flink_patch);
	if (f->unread)
		diag_add(diags, DIAG_WARNING, r->file, 0, 0,
			 "%zu layer%s of %s stayed in the registry (not downloaded): its JARs were not checked against "
			 "the ones added", f->unread, f->unread == 1 ? "" : "s", r->base_image);
	/* The same jar in two of lib/, usrlib/ and a plugin directory is loaded twice, by two class
	 * loaders. */
	for (size_t p = 0; p < nplans; p++)
		for (size_t i = 0; i < plans[p].count; i++) {
			const char *path = plans[p].entries[i].path, *name = fs_basename(path);
			if (plans[p].entries[i].type != LAYER_FILE || strncmp(path, "opt/flink/", 10) != 0)
				continue;
			for (size_t k = 0; k < f->jar_count; k++)
				if (strcmp(fs_basename(f->jars[k]), name) == 0 && strcmp(f->jars[k], path + 10) != 0)
					diag_add(diags, DIAG_WARNING, r->file, 0, 0,
						 "%s is added as %s but the base already has %s: the classes would be "
						 "loaded twice; keep one (destination)", name, path + 10, f->jars[k]);
			for (size_t q = 0; q < p; q++)
				for (size_t k = 0; k < plans[q].count; k++) {
					const char *other = plans[q].entries[k].path;
					if (plans[q].entries[k].type == LAYER_FILE && strcmp(fs_basename(other), name) == 0 &&
					    strcmp(other, path) != 0 && strncmp(other, "opt/flink/", 10) == 0)
						diag_add(diags, DIAG_WARNING, r->file, 0, 0,
							 "%s is added as %s and as %s: the classes would be loaded twice; "
							 "keep one (destination)", name, path + 10, other + 10);
				}
		}
}

int image_assemble(struct image_build *b, const struct recipe *r, const struct plan *plan,
		   const struct image_inputs *in, struct cache *cache, const struct image_options *options,
		   struct diag_list *diags, struct error *err)
{
	struct layer_plan plans[3] = {{.name = "connectors"}, {.name = "jars"}, {.name = "files"}};
	const struct base_image *base = &in->base;
	struct layer_options lo = {(unsigned)r->image_uid, (unsigned)r->image_gid, options->epoch, options->level, 0,
				   r->image_zstd};
	char created[32];
	int rc = -1;

	memset(b, 0, sizeof(*b));
	b->tag = xstrdup(recipe_image_tag(r));
	time_rfc3339(options->epoch, created, sizeof(created));
	if (plan_artifacts(&plans[0], &plans[1], r, plan, cache, err) || plan_files(&plans[2], r, cache, err))
		goto out;
	lint(r, &in->facts, plans, 3, diags);
	if (diag_list_has_errors(diags)) {
		error_set(err, ERROR_INVALID, "the image cannot be built on %s", r->base_image);
		goto out;
	}
	prepare_config(b, base, r, created);
	if (in->has_runtime)
		prepend_path(json_object_get(b->image.config_json, "config"), in->runtime.path);
	b->image.layers = calloc(base->image.layer_count + 6, sizeof(*b->image.layers));
	if (!b->image.layers)
		abort();
	for (size_t i = 0; i < base->image.layer_count; i++) {
		struct oci_descriptor *d = &b->image.layers[b->image.layer_count++];
		*d = base->image.layers[i];
		d->media_type = xstrdup(d->media_type);
		d->created_by = NULL;
	}
	b->base_layers = b->image.layer_count;
	/* From the most to the least stable, so that apps share their lower layers. */
	if ((in->has_runtime && build_runtime_layer(b, &in->runtime, cache, &lo, err)) ||
	    build_layer(b, &plans[0], &lo, cache, NULL, NULL, NULL, err) ||
	    build_layer(b, &plans[1], &lo, cache, NULL, NULL, NULL, err) ||
	    build_python_layer(b, in, cache, &lo, diags, err) ||
	    build_layer(b, &plans[2], &lo, cache, NULL, NULL, NULL, err))
		goto out;
	if (in->has_runtime) {
		b->has_runtime = true;
		memcpy(b->runtime_sha256, in->runtime.sha256, sizeof(b->runtime_sha256));
		memcpy(b->runtime_version, in->runtime.version, sizeof(b->runtime_version));
	}
	rc = finish(b, base, r, created, cache, err);
out:
	for (size_t i = 0; i < 3; i++)
		layer_plan_free(&plans[i]);
	return rc;
}
