/* bundle.h - out/<app>/: what factory produces for one application.
 *
 * A build writes the bundle as one tree (tree.h): only when something differs, into a staging
 * directory swapped in with one rename, so a failed or interrupted run leaves the previous
 * bundle exactly as it was and a build that changes nothing writes nothing.
 */
#ifndef FACTORY_BUNDLE_H
#define FACTORY_BUNDLE_H

#include <jansson.h>

#include "bom.h"
#include "error.h"
#include "render.h"

/* out/<app>/bundle.json: what the bundle is made of, by digest (format in README). Bundles of
 * older versions have build.json and pushed.json instead; they are still read. */
#define BUNDLE_FILE "bundle.json"
#define BUNDLE_API_VERSION "factory.dev/v1alpha1"
#define BUNDLE_KIND "Bundle"

struct tree;

/* Adds the manifests under `dir` ("" for the top) of a tree written as a whole (the bundle). */
int bundle_manifests_tree(struct tree *tree, const char *dir, const struct render_output *output, struct error *err);

/* What `factory push <app_dir>` needs: where the built image goes (bundle.json's "image"). */
struct bundle_target {
	char *registry;   /* may be NULL (the default registry) */
	char *repository;
	char **tags;
	size_t tag_count;
	char manifest_digest[72];
	char *base; /* the base image reference: its repository may lend layers (mount) */
	/* sha256 of the recipe's image inputs (build_inputs_key): a later render of the same inputs
	 * deploys manifest_digest; "" when unknown (bundles written before it existed). */
	char inputs_key[65];
	/* bundle.json's "documents" (file name -> sha256 hex) and its signed envelopes (file name ->
	 * null: a signature vouches for them), NULL when it lists none; freed by
	 * bundle_target_clear */
	json_t *documents;
	long long epoch; /* its SOURCE_DATE_EPOCH; -1 when it does not say */
};

int bundle_read_target(const char *app_dir, struct bundle_target *target, struct error *err);
void bundle_target_clear(struct bundle_target *target);

/* Where the manifests are published (bundle.json's "gitops"), so that `factory publish
 * out/<app>` needs no recipe. */
struct bundle_gitops {
	char *url;
	char *branch; /* may be NULL: "main" */
	char *path;   /* may be NULL: the app's name */
	char *app;
	char *image;  /* what the manifests deploy, for the commit message */
	char *scripts_hash;
};

/* ERROR_NOT_FOUND when the bundle records no GitOps target. */
int bundle_read_gitops(const char *app_dir, struct bundle_gitops *gitops, struct error *err);
void bundle_gitops_clear(struct bundle_gitops *gitops);

/* The documents a build writes beside bundle.json, each with the name of its DSSE envelope
 * (when a signing key is configured) and the payload type the envelope declares. */
struct bundle_document_kind {
	const char *name;
	const char *envelope;
	const char *payload_type;
};
#define BUNDLE_DOCUMENT_KINDS 3 /* sbom.spdx.json, sbom.cdx.json, provenance.json */
extern const struct bundle_document_kind bundle_document_kinds[BUNDLE_DOCUMENT_KINDS];

/* A document beside bundle.json (an SBOM, the provenance) and its digest. */
struct bundle_document {
	const char *name;
	char sha256[65];
};

struct bundle_info {
	const struct bom *bom;               /* the app, recipe, base, image, manifests */
	const struct bundle_target *target;  /* NULL: the image goes to no registry */
	const struct bundle_gitops *gitops;  /* NULL: the manifests are not published */
	const char *inputs_key;              /* build_inputs_key; NULL or "" when unknown */
	const struct bundle_document *documents;
	size_t document_count;
	/* The DSSE envelopes beside their documents and the id of the key that signed them (an
	 * ECDSA signature differs each time: they are checked by signature, not by digest). */
	const char *const *envelopes;
	size_t envelope_count;
	const char *key_id;
	const json_t *pushed; /* the previous bundle's references, when its image is this one */
	/* the previous bundle's "attached", when its image is this one: what still names one of
	 * `documents` with the same sha256 is kept */
	const json_t *attached;
};

/* The text of bundle.json. */
char *bundle_json(const struct bundle_info *info, size_t *size);

/* Records the references an image was pushed as (bundle.json's "pushed"). */
int bundle_write_pushed(const char *app_dir, const char *const *references, size_t count, struct error *err);
/* What the bundle was last pushed as (a JSON array of references), or NULL. */
json_t *bundle_read_pushed(const char *app_dir);

/* A document attached to the pushed image as an artifact that refers to it. */
struct bundle_attachment {
	const char *document;      /* its file name */
	const char *sha256;        /* of the document, as "documents" lists it */
	const char *digest;        /* of the artifact manifest */
	const char *artifact_type;
	const char *listed_by; /* "api" or "tag": where the registry lists it as a referrer */
};

/* Records the attached documents (bundle.json's "attached": file name -> {digest,
 * artifactType, sha256}); none removes the record. */
int bundle_write_attached(const char *app_dir, const struct bundle_attachment *list, size_t count, struct error *err);
/* bundle.json's "attached" object, or NULL. */
json_t *bundle_read_attached(const char *app_dir);
/* After a render alone: bundle.json's "manifests" from bom->files and its "gitops" (`gitops`
 * NULL: none), written once; the rest is kept, except the provenance, which no longer covers
 * the manifests and is removed until the next build. */
int bundle_update_rendered(const char *app_dir, const struct bom *bom, const struct bundle_gitops *gitops,
			   struct error *err);

#endif
