/* registry.h - the OCI distribution protocol: pull images into the cache, push them out.
 *
 * Authentication follows the registry's challenge: anonymous first, then Basic or the
 * Bearer token flow (realm/service/scope, one token per scope), with credentials from
 * factory.yaml (${ENV}), docker's config.json (auths, credHelpers, credsStore) or podman's
 * auth.json. TLS is verified (a per-registry CA from factory.yaml or certs.d/<host>/ca.crt);
 * plain HTTP only for registries configured `insecure` and for localhost. Messages name the
 * registry, repository, operation and status; no credential or token is ever printed.
 */
#ifndef FACTORY_REGISTRY_H
#define FACTORY_REGISTRY_H

#include <signal.h>
#include <stdbool.h>

#include "cache.h"
#include "config.h"
#include "error.h"
#include "oci.h"

struct registry_ref {
	char *registry;   /* "127.0.0.1:5000", "registry-1.docker.io" */
	char *repository; /* "library/flink" */
	char *tag;        /* NULL when pinned by digest only */
	char *digest;     /* NULL unless "@sha256:..." */
};

/* Parses [registry/]repository[:tag][@digest]; a bare name uses `default_registry`
 * (docker.io means registry-1.docker.io and adds library/). */
int registry_ref_parse(const char *text, const char *default_registry, struct registry_ref *ref, struct error *err);
void registry_ref_clear(struct registry_ref *ref);

struct registry;

/* localhost, 127.0.0.0/8 or [::1] (with or without a port), and nothing that merely starts
 * like them. */
bool registry_host_is_local(const char *host);

/* A Location header resolved against the request it answered; NULL (err set) for anything
 * but http(s), so a registry cannot point an upload at a local file. */
char *registry_resolve_location(const char *host, const char *request_url, const char *location, struct error *err);

int registry_open(struct registry **out, const struct config *config, const char *host, struct error *err);
void registry_close(struct registry *reg);
/* The host it was opened for, as messages name it. */
const char *registry_host(const struct registry *reg);

/* Resolves the reference to the platform's image and verifies its manifest, config and
 * layers into the cache. */
int registry_pull(struct registry *reg, const struct registry_ref *ref, const char *platform, struct cache *cache,
		  bool lazy_layers, struct oci_image *image, struct error *err);

/* Puts one blob of `repository` in the cache (nothing to do when it is there already). */
int registry_fetch_blob(struct registry *reg, const char *repository, const char *digest, struct cache *cache,
			struct error *err);

/* Like registry_fetch_blob, stopping at `size` bytes (the descriptor's; 0: unknown, then
 * limits.download bounds it): a longer or shorter body is an error and nothing is stored. */
int registry_fetch_blob_sized(struct registry *reg, const char *repository, const char *digest, long long size,
			      struct cache *cache, struct error *err);

/* Where push finds a blob the layout does not hold (a base layer left in its registry):
 * fills *path with a file to upload (malloc'd). */
typedef int (*registry_blob_source)(void *ctx, const char *digest, char **path, struct error *err);

struct registry_push_stats {
	size_t uploaded;  /* blobs sent */
	size_t mounted;   /* blobs mounted from another repository */
	size_t existing;  /* blobs the registry had */
	long long uploaded_bytes;
};

enum registry_blob_fate { REGISTRY_BLOB_UPLOADED, REGISTRY_BLOB_MOUNTED, REGISTRY_BLOB_EXISTING };

/* One blob of a push is in the registry. */
struct registry_push_progress {
	size_t done, total; /* blobs: the config and every layer */
	const char *digest;
	long long size;
	enum registry_blob_fate fate;
	const struct registry_push_stats *stats; /* so far */
};

/* What a push reports as it goes and when it stops; every member may be NULL. */
struct registry_push_hooks {
	/* Called from the pushing threads, one call at a time. */
	void (*on_blob)(void *ctx, const struct registry_push_progress *progress);
	void *ctx;
	/* Checked before each blob and each manifest: once set, no new request is started and
	 * the push fails with ERROR_INTERRUPTED (tags are never moved to a partial image). */
	const volatile sig_atomic_t *interrupted;
};

/* Whether the registry holds `digest` as `reference` (a tag or the digest itself), from one
 * HEAD request; any failure is a no, never an error (the push that follows will tell). */
bool registry_has_manifest(struct registry *reg, const char *repository, const char *reference, const char *digest);

/* Sends one blob unless the registry has it (HEAD first): the file at `path`, or `data` when
 * not NULL (a small blob made in memory); `stats` counts it. */
int registry_push_blob(struct registry *reg, const char *repository, const char *path, const void *data,
		       const char *digest, long long size, struct registry_push_stats *stats, struct error *err);

/* PUT of a manifest (or index) under `reference`, a digest or a tag. *subject (may be NULL)
 * is the answer's OCI-Subject header (malloc'd; NULL without one): a registry that processed
 * the manifest's "subject" names it there (distribution-spec 1.1). */
int registry_put_manifest(struct registry *reg, const char *repository, const char *reference, const char *media_type,
			  const char *data, size_t size, char **subject, struct error *err);

/* The bytes of the manifest `reference` names, as the registry holds them (not cached);
 * `accept` is the media type asked for. A missing one is ERROR_NOT_FOUND. */
int registry_read_manifest(struct registry *reg, const char *repository, const char *reference, const char *accept,
			   char **data, size_t *size, struct error *err);

/* The referrers API: the image index of the manifests whose subject is `digest` (its first
 * page). ERROR_NOT_FOUND when the registry has no such API. */
int registry_referrers(struct registry *reg, const char *repository, const char *digest, json_t **index,
		       struct error *err);

/* Pushes the image (blobs from `blob_dir`, an image layout's blobs/sha256) to `repository`,
 * the manifest by digest, then every tag. `mount_from` (may be NULL) names a repository on
 * the same registry that may already hold the base layers. `hooks` may be NULL. */
int registry_push(struct registry *reg, const char *repository, const char *blob_dir, const char *manifest_digest,
		  const char *const *tags, size_t tag_count, const char *mount_from, registry_blob_source source,
		  void *source_ctx, const struct registry_push_hooks *hooks, struct registry_push_stats *stats,
		  struct error *err);

#endif
