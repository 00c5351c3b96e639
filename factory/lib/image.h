/* image.h - the application image: the base's layers as they are, then factory's own.
 *
 * Layers are ordered by how often they change, so the stable ones are shared between apps
 * and builds: the Python runtime, catalog connectors, then other JARs, then Python wheels, then extra files. Each layer is a pure
 * function of its inputs; its digests are remembered under a key derived from them, and a
 * layer whose inputs did not change is reused without being written again.
 */
#ifndef FACTORY_IMAGE_H
#define FACTORY_IMAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "base.h"
#include "bom.h"
#include "config.h"
#include "cache.h"
#include "diag.h"
#include "oci.h"
#include "inputs.h"
#include "plan.h"
#include "pypi.h"
#include "recipe.h"

#define IMAGE_DEFAULT_EPOCH 0 /* 1970-01-01T00:00:00Z when SOURCE_DATE_EPOCH is not set */

struct image_options {
	long long epoch; /* mtimes and `created` */
	int level;       /* gzip level */
};

struct image_build {
	struct oci_image image;          /* config + all layers */
	struct oci_descriptor manifest;
	size_t base_layers;
	size_t built;  /* layers written in this run */
	size_t reused; /* layers whose inputs were unchanged */
	char *tag;
	/* What went into the Python layers, for the bill of materials. */
	bool has_runtime;
	char runtime_sha256[65];
	char runtime_version[24];
	struct python_wheel *wheels;
	size_t wheel_count;
	/* factory's own layers: what each holds and where it is in image.layers */
	struct image_own_layer {
		const char *content; /* "python runtime", "connectors", "jars", "python", "files" */
		size_t index;
	} own[8];
	size_t own_count;
};

/* Checks the base against the recipe (Flink-aware lint) and assembles the image into the
 * cache from what is there already: `plan` holds the fetched JARs, `inputs` the base, the
 * Python runtime and wheels (inputs_resolve). Makes no network request. Problems go to
 * `diags`. */
int image_assemble(struct image_build *out, const struct recipe *recipe, const struct plan *plan,
		   const struct image_inputs *inputs, struct cache *cache, const struct image_options *options,
		   struct diag_list *diags, struct error *err);
void image_build_clear(struct image_build *build);

/* The image's part of the bill of materials: its digests, every layer, and each input (JAR,
 * wheel, runtime, file) with the layer that holds it. Reads nothing but stat records. */
int image_bom(const struct image_build *build, const struct recipe *recipe, const struct plan *plan,
	      const struct image_inputs *inputs, struct cache *cache, struct bom *bom, struct error *err);

#endif
