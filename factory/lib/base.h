/* base.h - the base image an application image is built on.
 *
 * A base reference is `oci:PATH[:TAG]` (an OCI image layout), `docker-archive:PATH` (a
 * `docker save` tar) or, once registry support lands, a registry reference. Whatever the
 * source, the result is the same: the platform's manifest, config and layers verified into
 * the cache, so later steps never read the source again.
 */
#ifndef FACTORY_BASE_H
#define FACTORY_BASE_H

#include <stdbool.h>

#include "cache.h"
#include "config.h"
#include "error.h"
#include "oci.h"

struct base_image {
	struct oci_image image;
	char *reference; /* as written in the recipe */
	/* The name the base is known by wherever a copy of it lies: the registry reference, the
	 * image name a layout or docker save archive records (io.containerd.image.name,
	 * RepoTags), else NULL. Never a local path, so the image digest does not depend on
	 * where the base's files are. */
	char *name;
	/* A registry base resolved lazily: its layers are fetched only when needed. */
	bool lazy;
	char *registry;
	char *repository;
	const struct config *config;
};

/* `platform` is "os/arch[/variant]"; relative paths start at `dir`. With `lazy`, a registry
 * base's layers are not downloaded (see base_fetch_layer); other sources ignore it. With
 * `pinned` ("sha256:..." of the platform's manifest, from factory.lock), a registry base is
 * that manifest whatever its tag points at now, taken from the cache without any request
 * when the cache has it; local sources ignore it (the caller compares their digest). */
int base_resolve(struct base_image *out, const char *reference, const char *platform, const char *dir,
		 const struct config *config, struct cache *cache, bool lazy, const char *pinned, struct error *err);

/* Makes sure a layer of the base is in the cache. */
int base_fetch_layer(const struct base_image *base, const char *digest, struct cache *cache, struct error *err);
void base_image_clear(struct base_image *base);

/* True for references base_resolve reads from disk (oci:, docker-archive:). */
int base_reference_is_local(const char *reference);

#endif
