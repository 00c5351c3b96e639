#include "referrers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "util.h"

#define ANNOTATION_CREATED "org.opencontainers.image.created"
#define ANNOTATION_TITLE "org.opencontainers.image.title"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *referrers_artifact_type(const char *name)
{
	/* Envelopes first: sbom.spdx.dsse.json is a signature, not an SPDX document. */
	if (ends_with(name, ".dsse.json"))
		return "application/vnd.dsse.envelope.v1+json";
	if (ends_with(name, ".spdx.json"))
		return "application/spdx+json";
	if (ends_with(name, ".cdx.json"))
		return "application/vnd.cyclonedx+json";
	if (strcmp(name, "provenance.json") == 0 || ends_with(name, ".intoto.json"))
		return "application/vnd.in-toto+json";
	return "application/octet-stream";
}

void referrers_tag(const char *digest, char tag[72])
{
	snprintf(tag, 72, "sha256-%s", strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest);
}

void referrers_artifact_init(struct referrers_artifact *a, const struct oci_descriptor *subject,
			     const struct referrers_document *doc, long long epoch)
{
	const char *type = referrers_artifact_type(doc->name);
	json_t *annotations = json_pack("{s:s}", ANNOTATION_TITLE, doc->name);
	json_t *layer = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", type, "digest", doc->digest, "size",
				  (json_int_t)doc->size, "annotations", ANNOTATION_TITLE, doc->name);
	json_t *m;
	char hex[65];

	memset(a, 0, sizeof(*a));
	snprintf(a->subject, sizeof(a->subject), "%s", subject->digest);
	if (epoch >= 0) {
		/* From the bundle, never the clock: the same bundle, the same digest. */
		char created[32];
		time_rfc3339(epoch, created, sizeof(created));
		json_object_set_new(annotations, ANNOTATION_CREATED, json_string(created));
	}
	m = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:[o], s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2,
		      "mediaType", OCI_MEDIA_MANIFEST, "artifactType", type, "config", "mediaType", OCI_MEDIA_EMPTY,
		      "digest", OCI_EMPTY_DIGEST, "size", 2, "layers", layer, "subject", "mediaType",
		      subject->media_type, "digest", subject->digest, "size", (json_int_t)subject->size,
		      "annotations", annotations);
	if (!m)
		abort();
	a->document = xstrdup(doc->name);
	a->artifact_type = type;
	a->manifest = oci_json_canonical(m, &a->size);
	digest_sha256_hex(a->manifest, a->size, hex);
	snprintf(a->digest, sizeof(a->digest), "sha256:%s", hex);
	a->descriptor = json_pack("{s:s, s:s, s:I, s:s, s:O}", "mediaType", OCI_MEDIA_MANIFEST, "digest", a->digest,
				  "size", (json_int_t)a->size, "artifactType", type, "annotations", annotations);
	json_decref(annotations);
	json_decref(m);
}

void referrers_artifact_clear(struct referrers_artifact *a)
{
	free(a->document);
	free(a->manifest);
	json_decref(a->descriptor);
	memset(a, 0, sizeof(*a));
}

int referrers_push(struct registry *reg, const char *repository, const struct referrers_document *doc,
		   struct referrers_artifact *a, bool check_first, struct registry_push_stats *stats,
		   struct error *err)
{
	char *subject = NULL;

	a->sent = a->indexed = false;
	if (check_first && registry_has_manifest(reg, repository, a->digest, a->digest))
		return 0;
	/* The manifest last: a registry keeps none whose blobs it lacks. */
	if (registry_push_blob(reg, repository, NULL, "{}", OCI_EMPTY_DIGEST, 2, stats, err) ||
	    registry_push_blob(reg, repository, doc->path, NULL, doc->digest, doc->size, stats, err) ||
	    registry_put_manifest(reg, repository, a->digest, OCI_MEDIA_MANIFEST, a->manifest, a->size, &subject, err))
		return error_wrap(err, "attaching %s", doc->name);
	a->sent = true;
	a->indexed = subject && strcmp(subject, a->subject) == 0;
	free(subject);
	return 0;
}

/* Whether the referrers API's index lists every artifact. */
static bool lists_all(const json_t *index, const struct referrers_artifact *artifacts, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const json_t *m;
		size_t j;
		bool found = false;
		json_array_foreach(json_object_get(index, "manifests"), j, m)
			found = found || (json_string_value(json_object_get(m, "digest")) &&
					  strcmp(json_string_value(json_object_get(m, "digest")), artifacts[i].digest) == 0);
		if (!found)
			return false;
	}
	return true;
}

static const char *digest_of(const json_t *descriptor)
{
	const char *d = json_string_value(json_object_get(descriptor, "digest"));
	return d ? d : "";
}

static int by_digest(const void *a, const void *b)
{
	return strcmp(digest_of(*(json_t *const *)a), digest_of(*(json_t *const *)b));
}

/* The index's referrers with the artifacts in: an entry of the same digest replaced, every
 * other one kept (other tools' referrers, earlier documents), sorted by digest so that the
 * same referrers always make the same index. */
static json_t *merged_referrers(const json_t *existing, const struct referrers_artifact *artifacts, size_t count)
{
	size_t n = json_array_size(existing), used = 0, i;
	json_t **all = calloc(n + count + 1, sizeof(*all)), *list = json_array(), *m;

	if (!all)
		abort();
	json_array_foreach(existing, i, m) {
		bool ours = false;
		for (size_t k = 0; k < count && !ours; k++)
			ours = strcmp(digest_of(m), artifacts[k].digest) == 0;
		if (!ours)
			all[used++] = m;
	}
	for (i = 0; i < count; i++) {
		bool twice = false;
		for (size_t k = 0; k < i && !twice; k++)
			twice = strcmp(artifacts[k].digest, artifacts[i].digest) == 0;
		if (!twice)
			all[used++] = artifacts[i].descriptor;
	}
	qsort(all, used, sizeof(*all), by_digest);
	for (i = 0; i < used; i++)
		json_array_append(list, all[i]);
	free(all);
	return list;
}

/* The referrers tag schema: the index under sha256-<hex>, read, merged and put back. */
static int update_tag(struct registry *reg, const char *repository, const char *subject,
		      const struct referrers_artifact *artifacts, size_t count, bool *updated, struct error *err)
{
	char tag[72], *data = NULL, *text;
	size_t size = 0;
	json_t *index = NULL, *merged;
	struct error missing = {0};
	int rc = -1;

	referrers_tag(subject, tag);
	if (registry_read_manifest(reg, repository, tag, OCI_MEDIA_INDEX, &data, &size, &missing) == 0) {
		const char *media;
		index = json_loadb(data, size, 0, NULL);
		media = json_string_value(json_object_get(index, "mediaType"));
		/* Someone else's image under this tag is not ours to replace. */
		if (!json_is_object(index) || !media || strcmp(media, OCI_MEDIA_INDEX) != 0 ||
		    (json_object_get(index, "manifests") && !json_is_array(json_object_get(index, "manifests")))) {
			error_set(err, ERROR_CONFLICT, "registry %s, repository %s: the tag %s holds something other than "
				  "an image index of referrers; it was left as it is", registry_host(reg), repository, tag);
			goto out;
		}
	} else if (missing.code == ERROR_NOT_FOUND) {
		index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", OCI_MEDIA_INDEX, "manifests");
	} else {
		*err = missing;
		goto out;
	}
	merged = merged_referrers(json_object_get(index, "manifests"), artifacts, count);
	if (json_equal(merged, json_object_get(index, "manifests"))) {
		json_decref(merged);
		rc = 0;
		goto out;
	}
	json_object_set_new(index, "manifests", merged);
	text = oci_json_canonical(index, &size);
	rc = registry_put_manifest(reg, repository, tag, OCI_MEDIA_INDEX, text, size, NULL, err);
	free(text);
	*updated = rc == 0;
out:
	if (rc)
		error_wrap(err, "listing the documents under the referrers tag %s", tag);
	json_decref(index);
	free(data);
	return rc;
}

int referrers_list(struct registry *reg, const char *repository, const char *subject,
		   const struct referrers_artifact *artifacts, size_t count, enum referrers_listing *listing,
		   bool *tag_updated, struct error *err)
{
	json_t *index = NULL;
	struct error api = {0};
	bool indexed = true;

	enum referrers_listing known = *listing;

	*tag_updated = false;
	*listing = REFERRERS_BY_API;
	for (size_t i = 0; i < count; i++)
		indexed = indexed && artifacts[i].sent && artifacts[i].indexed;
	if (count == 0 || indexed)
		return 0;
	if (known == REFERRERS_BY_TAG) {
		*listing = REFERRERS_BY_TAG;
		return update_tag(reg, repository, subject, artifacts, count, tag_updated, err);
	}
	/* Some were there already, or the PUT said nothing: ask the API; a registry without
	 * one (404) gets the tag. */
	if (registry_referrers(reg, repository, subject, &index, &api) == 0) {
		bool all = lists_all(index, artifacts, count);
		json_decref(index);
		if (all)
			return 0;
	} else if (api.code != ERROR_NOT_FOUND) {
		*err = api;
		return error_wrap(err, "listing the attached documents");
	}
	*listing = REFERRERS_BY_TAG;
	return update_tag(reg, repository, subject, artifacts, count, tag_updated, err);
}
