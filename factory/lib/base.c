#include "base.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "download.h"
#include "fsutil.h"
#include "registry.h"
#include "unarchive.h"
#include "util.h"

#define JSON_MAX (4 * 1024 * 1024)

int base_reference_is_local(const char *reference)
{
	return strncmp(reference, "oci:", 4) == 0 || strncmp(reference, "docker-archive:", 15) == 0;
}

void base_image_clear(struct base_image *base)
{
	oci_image_clear(&base->image);
	free(base->reference);
	free(base->name);
	free(base->registry);
	free(base->repository);
	memset(base, 0, sizeof(*base));
}

int base_fetch_layer(const struct base_image *base, const char *digest, struct cache *cache, struct error *err)
{
	struct registry *reg = NULL;
	int rc;

	if (!oci_digest_valid(digest))
		return error_set(err, ERROR_INVALID, "'%s' is not a sha256 digest", digest);
	if (cache_verify(cache, digest + 7, NULL))
		return 0;
	if (!base->lazy)
		return error_set(err, ERROR_INTERNAL, "base layer %s is missing from the cache", digest);
	rc = registry_open(&reg, base->config, base->registry, err);
	if (rc == 0) {
		long long size = 0;
		/* The descriptor's size bounds the download: a server cannot send more. */
		for (size_t i = 0; i < base->image.layer_count; i++)
			if (strcmp(base->image.layers[i].digest, digest) == 0)
				size = base->image.layers[i].size;
		rc = registry_fetch_blob_sized(reg, base->repository, digest, size, cache, err);
	}
	registry_close(reg);
	return rc;
}

/* Copies a file into the cache, verifying it has the digest its name claims. */
static int import_file(struct cache *cache, const char *path, const char *digest, struct error *err)
{
	const char *pin = digest + 7;
	char stored[65];

	if (!oci_digest_valid(digest))
		return error_set(err, ERROR_INVALID, "'%s' is not a sha256 digest", digest);
	if (cache_verify(cache, pin, NULL))
		return 0;
	/* The cause (a missing blob, a wrong hash, a full disk) stays, behind the context. */
	if (download_import_file(path, cache, &pin, 1, stored, err) < 0)
		return error_wrap(err, "the image layout's blob %s", digest);
	return 0;
}

struct layout_ctx {
	const char *dir;
	struct cache *cache;
};

static int layout_import(void *ctx, const char *digest, struct error *err)
{
	struct layout_ctx *lc = ctx;
	char *path;
	int rc;

	if (!oci_digest_valid(digest))
		return error_set(err, ERROR_INVALID, "'%s' is not a sha256 digest", digest);
	path = xasprintf("%s/blobs/sha256/%s", lc->dir, digest + 7);
	rc = import_file(lc->cache, path, digest, err);
	free(path);
	return rc;
}

static int resolve_layout(struct base_image *base, const char *path, const char *tag, const char *platform,
			  struct cache *cache, struct error *err)
{
	struct layout_ctx ctx = {path, cache};
	char *index_path = fs_path_join(path, "index.json"), *data = NULL;
	const json_t *chosen = NULL;
	json_t *index = NULL, *m, *nested = NULL;
	json_error_t jerr;
	size_t size, i, count = 0;
	char digest[72];
	int rc = -1;

	if (fs_read_file(index_path, JSON_MAX, &data, &size, err))
		goto out;
	index = json_loadb(data, size, 0, &jerr);
	if (!index) {
		error_set(err, ERROR_INVALID, "%s is not JSON: %s", index_path, jerr.text);
		goto out;
	}
	json_array_foreach(json_object_get(index, "manifests"), i, m) {
		const char *name = json_string_value(
			json_object_get(json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));
		count++;
		if (tag ? (name && strcmp(name, tag) == 0) : count == 1)
			chosen = m;
	}
	if (chosen) {
		const char *image_name = json_string_value(
			json_object_get(json_object_get(chosen, "annotations"), "io.containerd.image.name"));
		if (image_name && *image_name)
			base->name = xstrdup(image_name);
	}
	if (!chosen || (!tag && count != 1)) {
		error_set(err, ERROR_INVALID, "%s has no image %s%s", path, tag ? "tagged " : "(give a tag: oci:PATH:TAG)",
			  tag ? tag : "");
		goto out;
	}
	for (int depth = 0;; depth++) {
		const char *media = json_string_value(json_object_get(chosen, "mediaType"));
		const json_t *found = NULL;
		const char *d = json_string_value(json_object_get(chosen, "digest"));
		snprintf(digest, sizeof(digest), "%s", d ? d : "");
		if (layout_import(&ctx, digest, err))
			goto out;
		if (!media || (strcmp(media, OCI_MEDIA_INDEX) != 0 && strcmp(media, DOCKER_MEDIA_LIST) != 0))
			break;
		if (depth > 2) {
			error_set(err, ERROR_INVALID, "%s: image indexes nested too deeply", path);
			goto out;
		}
		json_decref(nested);
		if (oci_parse_json_blob(cache, digest, &nested, err))
			goto out;
		json_array_foreach(json_object_get(nested, "manifests"), i, m)
			if (!found && oci_platform_matches(json_object_get(m, "platform"), platform))
				found = m;
		if (!found) {
			error_set(err, ERROR_INVALID, "%s:%s has no image for platform %s", path, tag ? tag : "", platform);
			goto out;
		}
		chosen = found;
	}
	rc = oci_image_load(&base->image, cache, digest, layout_import, &ctx, err);
out:
	json_decref(nested);
	json_decref(index);
	free(data);
	free(index_path);
	return rc;
}

/* docker save: every regular file of the tar goes into the cache (hashed while copied);
 * manifest.json then says which of them are the config and the layers. */
struct archive_file {
	char *name;
	char digest[72];
};

struct archive_ctx {
	struct archive_file *files;
	size_t count;
};

static int archive_import(void *ctx, const char *digest, struct error *err)
{
	(void)ctx;
	(void)digest;
	(void)err;
	return 0; /* already imported while reading the tar */
}

static const char *archive_digest(const struct archive_ctx *ac, const char *name)
{
	for (size_t i = 0; i < ac->count; i++)
		if (strcmp(ac->files[i].name, name) == 0)
			return ac->files[i].digest;
	return NULL;
}

static int resolve_archive(struct base_image *base, const char *path, struct cache *cache, struct error *err)
{
	struct unarchive u = {0};
	struct archive_entry *e;
	struct archive_ctx ac = {0};
	json_t *manifest = NULL, *layers = NULL, *m = NULL, *l;
	char *text = NULL;
	size_t size, i;
	struct oci_descriptor desc = {0};
	int rc = -1, r;

	if (unarchive_open(&u, path, UNARCHIVE_TAR, path, err))
		goto out;
	while ((r = unarchive_next(&u, &e, err)) == 1) {
		struct cache_writer w;
		const void *buf;
		size_t len;
		long long offset;
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (cache_writer_begin(&w, cache, err) < 0)
			goto out;
		while ((r = unarchive_data(&u, &buf, &len, &offset, err)) == 1)
			if (cache_writer_write(&w, buf, len, err) < 0)
				break;
		if (r != 0 || err->code) {
			cache_writer_abort(&w);
			goto out;
		}
		ac.files = realloc(ac.files, (ac.count + 1) * sizeof(*ac.files));
		if (!ac.files)
			abort();
		ac.files[ac.count].name = xstrdup(unarchive_path(&u, e));
		snprintf(ac.files[ac.count].digest, sizeof(ac.files[ac.count].digest), "sha256:%s",
			 digest_set_hex(w.digests, DIGEST_SHA256));
		r = cache_writer_commit(&w, NULL, err);
		cache_writer_abort(&w);
		if (r < 0)
			goto out;
		ac.count++;
	}
	if (r < 0)
		goto out;
	{
		const char *md = archive_digest(&ac, "manifest.json");
		char *data = NULL;
		json_error_t jerr;
		if (!md || oci_read_blob(cache, md, JSON_MAX, &data, &size, err)) {
			if (!md)
				error_set(err, ERROR_INVALID, "%s has no manifest.json: not a docker save archive", path);
			goto out;
		}
		manifest = json_loadb(data, size, 0, &jerr);
		free(data);
	}
	if (!json_is_array(manifest) || json_array_size(manifest) != 1) {
		error_set(err, ERROR_INVALID, "%s: manifest.json must describe exactly one image", path);
		goto out;
	}
	{
		const char *repo_tag = json_string_value(json_array_get(json_object_get(json_array_get(manifest, 0), "RepoTags"), 0));
		if (repo_tag && *repo_tag)
			base->name = xstrdup(repo_tag);
	}
	/* Synthesise the OCI manifest the archive implies: same config, same (uncompressed) layers. */
	m = json_object();
	layers = json_array();
	{
		const char *cfg = json_string_value(json_object_get(json_array_get(manifest, 0), "Config"));
		const char *cd = cfg ? archive_digest(&ac, cfg) : NULL;
		char *cpath;
		long long csize;
		if (!cd) {
			error_set(err, ERROR_INVALID, "%s: the config named in manifest.json is missing", path);
			goto out;
		}
		cpath = cache_blob_path(cache, cd + 7);
		{
			char *tmp = NULL;
			if (fs_read_file(cpath, JSON_MAX, &tmp, &size, err)) {
				free(cpath);
				goto out;
			}
			free(tmp);
		}
		free(cpath);
		csize = (long long)size;
		json_object_set_new(m, "config", json_pack("{s:s, s:s, s:I}", "mediaType", OCI_MEDIA_CONFIG, "digest", cd,
							  "size", (json_int_t)csize));
	}
	json_array_foreach(json_object_get(json_array_get(manifest, 0), "Layers"), i, l) {
		const char *ld = json_is_string(l) ? archive_digest(&ac, json_string_value(l)) : NULL;
		char *lpath;
		off_t lsize = 0;
		if (!ld) {
			error_set(err, ERROR_INVALID, "%s: a layer named in manifest.json is missing", path);
			goto out;
		}
		lpath = cache_blob_path(cache, ld + 7);
		{
			struct stat st;
			if (stat(lpath, &st) == 0)
				lsize = st.st_size;
		}
		free(lpath);
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", OCI_MEDIA_LAYER_TAR, "digest", ld,
							"size", (json_int_t)lsize));
	}
	json_object_set_new(m, "schemaVersion", json_integer(2));
	json_object_set_new(m, "mediaType", json_string(OCI_MEDIA_MANIFEST));
	json_object_set_new(m, "layers", layers);
	layers = NULL;
	text = oci_json_canonical(m, &size);
	if (oci_put_blob(cache, OCI_MEDIA_MANIFEST, text, size, &desc, err))
		goto out;
	rc = oci_image_load(&base->image, cache, desc.digest, archive_import, &ac, err);
out:
	free(desc.media_type);
	free(text);
	json_decref(layers);
	json_decref(m);
	json_decref(manifest);
	for (size_t k = 0; k < ac.count; k++)
		free(ac.files[k].name);
	free(ac.files);
	unarchive_close(&u);
	return rc;
}

struct cached_ctx {
	struct cache *cache;
	bool lazy;
	size_t seen; /* 0: the config, then the layers */
};

/* A pinned image is taken from the cache when the cache has all of it (or, for a lazy base,
 * its manifest and config): no request at all. */
static int cached_only(void *ctx, const char *digest, struct error *err)
{
	struct cached_ctx *cc = ctx;
	bool layer = cc->seen++ > 0;

	if ((layer && cc->lazy) || cache_verify(cc->cache, digest + 7, NULL))
		return 0;
	return error_set(err, ERROR_NOT_FOUND, "%s is not in the cache", digest);
}

static int resolve_registry(struct base_image *base, const char *reference, const char *platform,
			    const struct config *config, struct cache *cache, bool lazy, const char *pinned,
			    struct error *err)
{
	struct registry_ref ref;
	struct registry *reg = NULL;
	int rc = -1;

	if (registry_ref_parse(reference, config ? config->base_registry : "docker.io", &ref, err))
		return -1;
	if (pinned) {
		struct cached_ctx cc = {cache, lazy, 0};
		struct error missing = {0};
		rc = cache_verify(cache, pinned + 7, NULL)
			     ? oci_image_load(&base->image, cache, pinned, cached_only, &cc, &missing)
			     : -1;
		if (rc) {
			oci_image_clear(&base->image);
			memset(&base->image, 0, sizeof(base->image));
			/* Fetch exactly the locked manifest, whatever the tag points at now. */
			free(ref.digest);
			ref.digest = xstrdup(pinned);
		}
	}
	if (rc) {
		rc = registry_open(&reg, config, ref.registry, err);
		if (rc == 0)
			rc = registry_pull(reg, &ref, platform, cache, lazy, &base->image, err);
		registry_close(reg);
	}
	base->lazy = lazy;
	base->config = config;
	base->registry = ref.registry;
	base->repository = ref.repository;
	ref.registry = ref.repository = NULL;
	registry_ref_clear(&ref);
	return rc;
}

int base_resolve(struct base_image *out, const char *reference, const char *platform, const char *dir,
		 const struct config *config, struct cache *cache, bool lazy, const char *pinned, struct error *err)
{
	char *path = NULL, *tag = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->reference = xstrdup(reference);
	out->config = config; /* its limits bound the layer scans of every kind of base */
	if (strncmp(reference, "oci:", 4) == 0) {
		const char *spec = reference + 4, *colon = strrchr(spec, ':');
		char *raw = colon ? xasprintf("%.*s", (int)(colon - spec), spec) : xstrdup(spec);
		tag = colon ? xstrdup(colon + 1) : NULL;
		path = raw[0] == '/' ? xstrdup(raw) : fs_path_join(dir, raw);
		free(raw);
		rc = resolve_layout(out, path, tag, platform, cache, err);
	} else if (strncmp(reference, "docker-archive:", 15) == 0) {
		const char *spec = reference + 15;
		path = spec[0] == '/' ? xstrdup(spec) : fs_path_join(dir, spec);
		rc = resolve_archive(out, path, cache, err);
	} else {
		const char *name = strncmp(reference, "docker://", 9) == 0 ? reference + 9 : reference;
		out->name = xstrdup(name);
		rc = resolve_registry(out, name, platform, config, cache, lazy, pinned, err);
	}
	free(path);
	free(tag);
	if (rc)
		base_image_clear(out);
	return rc;
}
