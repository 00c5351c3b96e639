/* oci.h - OCI image manifests, configs, indexes and image layouts.
 *
 * JSON is produced with sorted keys and no insignificant whitespace, so a manifest's digest
 * depends only on its content. Docker schema2 media types are read and mapped to their OCI
 * equivalents; the blobs themselves are never rewritten.
 */
#ifndef FACTORY_OCI_H
#define FACTORY_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "error.h"

struct tree;

#define OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MEDIA_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define OCI_MEDIA_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define DOCKER_MEDIA_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct oci_descriptor {
	char *media_type;
	char digest[72]; /* "sha256:<hex>" */
	long long size;
	char *created_by; /* history of the layer, for inspect; may be NULL */
};

/* One platform's image, its blobs in the cache. */
struct oci_image {
	char manifest_digest[72];
	struct oci_descriptor config;
	json_t *config_json;
	struct oci_descriptor *layers;
	size_t layer_count;
};

void oci_image_clear(struct oci_image *image);

/* The OCI media type for a layer media type (Docker schema2 types mapped); NULL if not a layer
 * type factory understands. */
const char *oci_layer_media_type(const char *media_type);

/* Serialises with sorted keys, compactly: the canonical bytes whose digest names the blob. */
char *oci_json_canonical(const json_t *value, size_t *size);

/* Stores bytes in the cache and fills a descriptor for them. */
int oci_put_blob(struct cache *cache, const char *media_type, const void *data, size_t size,
		 struct oci_descriptor *desc, struct error *err);

/* Reads a cached blob fully (for manifests and configs; refuses more than max bytes). */
int oci_read_blob(struct cache *cache, const char *digest, size_t max, char **data, size_t *size,
		  struct error *err);

/* "sha256:<64 hex>" and nothing else: digests are used as file names. */
bool oci_digest_valid(const char *digest);

/* The one image-reference formatter: "registry/repository@sha256:..." for a digest,
 * "registry/repository:tag" for a tag; registry may be NULL (the default registry). */
char *oci_reference(const char *registry, const char *repository, const char *digest_or_tag);

/* Parses a cached JSON blob. */
int oci_parse_json_blob(struct cache *cache, const char *digest, json_t **out, struct error *err);

/* Fills `image` from a manifest already in the cache; `import` is asked to put each config
 * and layer blob in the cache (a no-op when the source already did). */
int oci_image_load(struct oci_image *image, struct cache *cache, const char *manifest_digest,
		   int (*import)(void *ctx, const char *digest, struct error *err), void *ctx, struct error *err);

/* True when a descriptor's platform object matches "os/arch[/variant]". */
int oci_platform_matches(const json_t *platform, const char *wanted);

/* Adds an image layout (oci-layout, index.json naming `tag`, blobs hard-linked from the
 * cache) under `dir` of a tree that is then written as a whole. With `left_out`, layers the
 * cache does not have (a lazily resolved base) are named by the manifest but not held, and
 * `factory push` sends them on from their registry; *left_out counts them. */
void oci_layout_tree(struct tree *tree, const char *dir, struct cache *cache, const struct oci_descriptor *manifest,
		     const struct oci_image *image, const char *tag, size_t *left_out);

#endif
