/* referrers.h - documents attached to a pushed image as OCI artifacts that refer to it, the
 * way ORAS and cosign attach SBOMs and attestations.
 *
 * Each document is one image manifest (image-spec 1.1 artifact guidance): an artifactType by
 * the document's kind, the empty config, one layer holding the document's bytes (titled with
 * its file name) and the image's manifest as its "subject". A registry with the referrers API
 * lists it by that subject; for the others the referrers tag schema of distribution-spec 1.1
 * keeps an image index of them under the tag sha256-<hex of the image digest>. The manifests
 * are canonical JSON dated from the bundle's SOURCE_DATE_EPOCH, so every push of the same
 * bundle makes the same digests and a registry that has them is sent nothing.
 */
#ifndef FACTORY_REFERRERS_H
#define FACTORY_REFERRERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "oci.h"
#include "registry.h"

#define OCI_MEDIA_EMPTY "application/vnd.oci.empty.v1+json"
/* sha256 of the two bytes "{}", the empty config of every artifact */
#define OCI_EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* One document to attach. */
struct referrers_document {
	const char *name; /* its file name: the layer's title */
	const char *path; /* where its bytes are */
	char digest[72];  /* "sha256:<hex>" of those bytes */
	long long size;
};

/* The artifact of one document (referrers_artifact_init). */
struct referrers_artifact {
	char *document;
	const char *artifact_type;
	char digest[72];  /* of the artifact manifest */
	char subject[72]; /* the image's manifest digest */
	char *manifest;   /* its canonical bytes */
	size_t size;
	json_t *descriptor; /* how a referrers index lists it */
	bool sent;          /* referrers_push put the manifest */
	bool indexed;       /* and the registry answered with OCI-Subject naming the image */
};

/* The artifactType of a document by its file name: SPDX, CycloneDX, in-toto or a DSSE
 * envelope; application/octet-stream for a kind factory does not know. */
const char *referrers_artifact_type(const char *name);

/* "sha256-<hex>": the referrers tag of the image `digest`. */
void referrers_tag(const char *digest, char tag[72]);

/* Makes the artifact manifest of `doc` referring to `subject` (the image manifest's
 * descriptor); `epoch` < 0 leaves out the creation date. */
void referrers_artifact_init(struct referrers_artifact *artifact, const struct oci_descriptor *subject,
			     const struct referrers_document *doc, long long epoch);
void referrers_artifact_clear(struct referrers_artifact *artifact);

/* Puts the artifact in `repository`: the empty config, the document, then the manifest by
 * digest. With `check_first`, one HEAD of the manifest before, and nothing sent when the
 * registry has it. */
int referrers_push(struct registry *reg, const char *repository, const struct referrers_document *doc,
		   struct referrers_artifact *artifact, bool check_first, struct registry_push_stats *stats,
		   struct error *err);

enum referrers_listing { REFERRERS_BY_API, REFERRERS_BY_TAG, REFERRERS_UNKNOWN };

/* Makes the registry list the artifacts as referrers of the image `subject`: nothing to do
 * when it said so on each PUT (OCI-Subject) or its referrers API lists them all; otherwise
 * the index under the referrers tag gets them (the other referrers it lists kept, one entry
 * per digest, sorted by digest) and is put back only when it changed (*tag_updated).
 * *listing on entry: where a previous push found them listed (REFERRERS_UNKNOWN: nowhere
 * known), so a push that changes nothing asks only there. */
int referrers_list(struct registry *reg, const char *repository, const char *subject,
		   const struct referrers_artifact *artifacts, size_t count, enum referrers_listing *listing,
		   bool *tag_updated, struct error *err);

#endif
