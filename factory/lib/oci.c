#include "oci.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "tree.h"
#include "util.h"

void oci_image_clear(struct oci_image *image)
{
	free(image->config.media_type);
	free(image->config.created_by);
	for (size_t i = 0; i < image->layer_count; i++) {
		free(image->layers[i].media_type);
		free(image->layers[i].created_by);
	}
	free(image->layers);
	json_decref(image->config_json);
	memset(image, 0, sizeof(*image));
}

const char *oci_layer_media_type(const char *media_type)
{
	static const struct {
		const char *from, *to;
	} map[] = {
		{OCI_MEDIA_LAYER_GZIP, OCI_MEDIA_LAYER_GZIP},
		{OCI_MEDIA_LAYER_ZSTD, OCI_MEDIA_LAYER_ZSTD},
		{OCI_MEDIA_LAYER_TAR, OCI_MEDIA_LAYER_TAR},
		{"application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_MEDIA_LAYER_GZIP},
		{"application/vnd.docker.image.rootfs.diff.tar.zstd", OCI_MEDIA_LAYER_ZSTD},
		{"application/vnd.docker.image.rootfs.diff.tar", OCI_MEDIA_LAYER_TAR},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (strcmp(map[i].from, media_type) == 0)
			return map[i].to;
	return NULL;
}

char *oci_json_canonical(const json_t *value, size_t *size)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (!text)
		abort();
	*size = strlen(text);
	return text;
}

bool oci_digest_valid(const char *digest)
{
	return strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71 && digest_is_hex(digest + 7, 64);
}

int oci_put_blob(struct cache *cache, const char *media_type, const void *data, size_t size,
		 struct oci_descriptor *desc, struct error *err)
{
	struct cache_writer w;
	int rc;

	memset(desc, 0, sizeof(*desc));
	{
		char hex[65];
		digest_sha256_hex(data, size, hex);
		if (cache_verify(cache, hex, NULL)) { /* built before: nothing to write */
			snprintf(desc->digest, sizeof(desc->digest), "sha256:%s", hex);
			desc->media_type = xstrdup(media_type);
			desc->size = (long long)size;
			return 0;
		}
	}
	if (cache_writer_begin(&w, cache, err) < 0)
		return -1;
	rc = cache_writer_write(&w, data, size, err);
	if (rc == 0) {
		snprintf(desc->digest, sizeof(desc->digest), "sha256:%s", digest_set_hex(w.digests, DIGEST_SHA256));
		rc = cache_writer_commit(&w, NULL, err);
	}
	cache_writer_abort(&w);
	if (rc)
		return -1;
	desc->media_type = xstrdup(media_type);
	desc->size = (long long)size;
	return 0;
}

int oci_read_blob(struct cache *cache, const char *digest, size_t max, char **data, size_t *size,
		  struct error *err)
{
	char *path;
	int rc;

	if (!oci_digest_valid(digest))
		return error_set(err, ERROR_INVALID, "'%s' is not a sha256 digest", digest);
	path = cache_blob_path(cache, digest + 7);
	rc = fs_read_file(path, max, data, size, err);
	free(path);
	return rc;
}

static json_t *descriptor_json(const struct oci_descriptor *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "mediaType", json_string(d->media_type));
	json_object_set_new(o, "digest", json_string(d->digest));
	json_object_set_new(o, "size", json_integer(d->size));
	return o;
}


static void add_blob(struct tree *t, const char *dir, struct cache *cache, const char *digest)
{
	char *path = xasprintf("%s/blobs/sha256/%s", dir, digest + 7), *from = cache_blob_path(cache, digest + 7);

	/* A hard link shares the cache's verified bytes (a copy on another filesystem). */
	tree_add_link(t, path, from);
	free(from);
	free(path);
}

void oci_layout_tree(struct tree *t, const char *dir, struct cache *cache, const struct oci_descriptor *manifest,
		     const struct oci_image *image, const char *tag, size_t *left_out)
{
	json_t *index = json_object(), *manifests = json_array(), *desc;
	char *path = xasprintf("%s/oci-layout", dir), *text;
	size_t size;

	tree_add_bytes(t, path, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	free(path);
	add_blob(t, dir, cache, manifest->digest);
	add_blob(t, dir, cache, image->config.digest);
	for (size_t i = 0; i < image->layer_count; i++) {
		char *cached = cache_blob_path(cache, image->layers[i].digest + 7);
		bool missing = left_out && access(cached, F_OK) < 0;
		free(cached);
		if (missing)
			(*left_out)++;
		else
			add_blob(t, dir, cache, image->layers[i].digest);
	}
	desc = descriptor_json(manifest);
	json_object_set_new(desc, "annotations", json_pack("{s:s}", "org.opencontainers.image.ref.name", tag));
	json_array_append_new(manifests, desc);
	json_object_set_new(index, "schemaVersion", json_integer(2));
	json_object_set_new(index, "mediaType", json_string(OCI_MEDIA_INDEX));
	json_object_set_new(index, "manifests", manifests);
	text = oci_json_canonical(index, &size);
	path = xasprintf("%s/index.json", dir);
	tree_add_owned(t, path, text, size);
	free(path);
	json_decref(index);
}

#define JSON_MAX (4 * 1024 * 1024)

char *oci_reference(const char *registry, const char *repository, const char *digest_or_tag)
{
	const char *sep = strncmp(digest_or_tag, "sha256:", 7) == 0 ? "@" : ":";

	return registry ? xasprintf("%s/%s%s%s", registry, repository, sep, digest_or_tag)
			: xasprintf("%s%s%s", repository, sep, digest_or_tag);
}

int oci_parse_json_blob(struct cache *cache, const char *digest, json_t **out, struct error *err)
{
	char *data = NULL;
	size_t size = 0;
	json_error_t jerr;

	*out = NULL;
	if (oci_read_blob(cache, digest, JSON_MAX, &data, &size, err))
		return -1;
	*out = json_loadb(data, size, 0, &jerr);
	free(data);
	if (!*out)
		return error_set(err, ERROR_INVALID, "blob %s is not JSON: %s", digest, jerr.text);
	return 0;
}

/* `what` names the descriptor in the manifest `manifest` ("config", "layer 3"). */
static int read_descriptor(const json_t *j, const char *manifest, const char *what, struct oci_descriptor *d,
			   struct error *err)
{
	const char *media = json_string_value(json_object_get(j, "mediaType"));
	const char *digest = json_string_value(json_object_get(j, "digest"));
	json_t *size = json_object_get(j, "size");

	if (!json_is_object(j))
		return error_set(err, ERROR_INVALID, "the base manifest %s has no %s descriptor", manifest, what);
	if (!digest || !oci_digest_valid(digest) || !json_is_integer(size) || json_integer_value(size) < 0)
		return error_set(err, ERROR_INVALID, "the base manifest %s: its %s descriptor is malformed (it needs a "
						     "digest sha256:<64 hex digits> and a size of 0 or more)", manifest, what);
	d->media_type = xstrdup(media ? media : "");
	snprintf(d->digest, sizeof(d->digest), "%s", digest);
	d->size = json_integer_value(size);
	return 0;
}

int oci_platform_matches(const json_t *platform, const char *wanted)
{
	char os[32] = "", arch[32] = "", variant[32] = "";
	const char *p_os = json_string_value(json_object_get(platform, "os"));
	const char *p_arch = json_string_value(json_object_get(platform, "architecture"));
	const char *p_variant = json_string_value(json_object_get(platform, "variant"));

	sscanf(wanted, "%31[^/]/%31[^/]/%31s", os, arch, variant);
	return p_os && p_arch && strcmp(p_os, os) == 0 && strcmp(p_arch, arch) == 0 &&
	       (!*variant || (p_variant && strcmp(p_variant, variant) == 0));
}

/* A descriptor's size is copied into the manifest factory writes: it must be the blob's. A
 * layer not in the cache (a lazy base's) is checked when it is fetched, against the same size. */
static int check_size(struct cache *cache, const struct oci_descriptor *d, struct error *err)
{
	char *path = cache_blob_path(cache, d->digest + 7);
	struct stat st;
	int rc = 0;

	if (stat(path, &st) == 0 && (long long)st.st_size != d->size)
		rc = error_set(err, ERROR_INVALID, "base layer %s: its descriptor says %lld bytes but the blob has %lld: the "
						   "image's manifest is wrong", d->digest, d->size, (long long)st.st_size);
	free(path);
	return rc;
}

int oci_image_load(struct oci_image *img, struct cache *cache, const char *digest,
		   int (*import)(void *ctx, const char *digest, struct error *err), void *ctx, struct error *err)
{
	json_t *m = NULL, *layers;
	size_t i;
	json_t *l;
	int rc = -1;

	if (oci_parse_json_blob(cache, digest, &m, err))
		return -1;
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", digest);
	if (json_object_get(m, "manifests") && !json_object_get(m, "config")) {
		error_set(err, ERROR_INVALID, "%s is an image index where an image manifest was expected", digest);
		goto out;
	}
	if (read_descriptor(json_object_get(m, "config"), digest, "config", &img->config, err) || import(ctx, img->config.digest, err) ||
	    oci_parse_json_blob(cache, img->config.digest, &img->config_json, err))
		goto out;
	free(img->config.media_type);
	img->config.media_type = xstrdup(OCI_MEDIA_CONFIG);
	layers = json_object_get(m, "layers");
	img->layers = calloc(json_array_size(layers) + 1, sizeof(*img->layers));
	if (!img->layers)
		abort();
	json_array_foreach(layers, i, l) {
		struct oci_descriptor *d = &img->layers[img->layer_count];
		const char *oci_type;
		char what[32];
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (read_descriptor(l, digest, what, d, err))
			goto out;
		img->layer_count++;
		oci_type = oci_layer_media_type(d->media_type);
		if (!oci_type) {
			error_set(err, ERROR_INVALID, "base layer %s has media type '%s', which factory cannot use", d->digest,
				  d->media_type);
			goto out;
		}
		free(d->media_type);
		d->media_type = xstrdup(oci_type);
		if (import(ctx, d->digest, err) || check_size(cache, d, err))
			goto out;
	}
	rc = 0;
out:
	json_decref(m);
	return rc;
}

