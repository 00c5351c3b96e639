/* bom.h - the bill of materials of one build: every input of the application image by digest
 * and the layer that holds it, with the recipe, the lock, the base and the rendered
 * manifests. The build fills it from what it assembled (nothing is read again); sbom.h turns
 * it into SPDX, CycloneDX and SLSA provenance, bundle.json records it.
 *
 * Strings are owned by the bom (bom_clear frees them). Lists are in the order the image
 * holds them (layers bottom to top; components by layer, then by path), which is stable for
 * the same inputs.
 */
#ifndef FACTORY_BOM_H
#define FACTORY_BOM_H

#include <stdbool.h>
#include <stddef.h>

enum bom_kind {
	BOM_MAVEN,   /* a JAR from a Maven repository (catalog connector or raw coordinate) */
	BOM_WHEEL,   /* a Python wheel installed into the image */
	BOM_RUNTIME, /* a relocatable CPython unpacked into its own layer */
	BOM_FILE,    /* a file of the recipe's image.files */
};

struct bom_component {
	enum bom_kind kind;
	char *name;       /* maven: artifactId; wheel: normalized project name; runtime: "python";
			   * file: its path in the image */
	char *group;      /* maven: groupId; NULL otherwise */
	char *version;    /* NULL for files */
	char *classifier; /* maven: NULL when none */
	char *extension;  /* maven: "jar" unless the coordinate says otherwise */
	char *purl;       /* pkg:maven/..., pkg:pypi/... (sbom_component_purl, set by the bundle
			   * stage); NULL for files and the runtime */
	char *file_name;  /* the file as stored: x-1.0.jar, name-1.0-py3-none-any.whl, the runtime tarball */
	char *path;       /* where it is in the image, absolute ("/opt/flink/lib/x-1.0.jar"); for a
			   * wheel or the runtime the directory it was installed into */
	char *download_url; /* where it was fetched from; NULL for files beside the recipe */
	char *repository_url; /* maven: the repository that served it; wheel: the index; else NULL */
	char sha256[65];
	char sha1[41];    /* "" when unknown */
	size_t layer;     /* index into bom.layers */
};

struct bom_layer {
	char digest[72]; /* sha256:<hex> of the compressed blob */
	long long size;
	char *media_type;
	bool base;     /* one of the base image's layers, as they are */
	char *content; /* factory's own layers: "python-runtime", "connectors", "jars", "wheels",
			* "files"; NULL for base layers */
};

struct bom_file {
	char *path; /* relative to out/<app>/: "manifests/flinkdeployment.yaml" */
	char sha256[65];
};

struct bom {
	char *app;       /* metadata.name of the recipe */
	char *namespace; /* NULL when the recipe sets none */

	char *recipe_path; /* as given on the command line */
	char recipe_sha256[65];
	char *lock_path;   /* NULL when the recipe has no factory.lock */
	char lock_sha256[65];

	char *base_reference; /* flink.image as resolved: "flink:1.19.2", "oci:DIR:TAG" */
	char *base_name;      /* registry/repository of the base, NULL for a local layout */
	char base_manifest[72];
	char *platform;       /* "linux/amd64" */

	char *image_name; /* registry/repository the image is pushed as; NULL when it is not */
	char image_manifest[72];
	char image_config[72];
	char **tags;
	size_t tag_count;

	struct bom_layer *layers;
	size_t layer_count;
	struct bom_component *components;
	size_t component_count;
	struct bom_file *files; /* the rendered manifests */
	size_t file_count;

	long long epoch;         /* SOURCE_DATE_EPOCH: every timestamp of the documents */
	char *factory_version;   /* "0.9.0": the builder, in provenance runDetails */
};

void bom_clear(struct bom *bom);

#endif
