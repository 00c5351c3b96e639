#include "push.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cache.h"
#include "digest.h"
#include "fsutil.h"
#include "oci.h"
#include "referrers.h"
#include "util.h"

#define MANIFEST_MAX (4 * 1024 * 1024)

void push_result_clear(struct push_result *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->references[i]);
	free(r->references);
	for (size_t i = 0; i < r->attached_count; i++)
		free(r->attached[i].document);
	free(r->attached);
	for (size_t i = 0; i < r->warning_count; i++)
		free(r->warnings[i]);
	free(r->warnings);
	memset(r, 0, sizeof(*r));
}

static void add_warning(struct push_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(struct push_result *r, const char *fmt, ...)
{
	va_list ap;

	r->warnings = realloc(r->warnings, (r->warning_count + 1) * sizeof(*r->warnings));
	if (!r->warnings)
		abort();
	va_start(ap, fmt);
	r->warnings[r->warning_count++] = xvasprintf(fmt, ap);
	va_end(ap);
}

static void add_reference(struct push_result *r, char *reference)
{
	r->references = realloc(r->references, (r->count + 1) * sizeof(*r->references));
	if (!r->references)
		abort();
	r->references[r->count++] = reference;
}

struct base_source {
	const struct config *config;
	struct cache *cache;
	const struct registry_ref *base;
	pthread_mutex_t lock; /* the pushing threads share the lazily opened cache */
	size_t relayed;       /* base layers downloaded to be sent on */
	long long relayed_bytes;
};

/* A base layer a lazy build left in the base's registry: fetched into the cache to be sent
 * on (only when the target registry neither has it nor can mount it). */
static int fetch_from_base(void *ctx, const char *digest, char **path, struct error *err)
{
	struct base_source *src = ctx;
	struct registry *reg = NULL;
	int rc;

	if (!src->base->registry)
		return error_set(err, ERROR_INVALID, "blob %s is missing from the image layout", digest);
	/* Opened only now: a push of a complete layout never touches the cache. */
	pthread_mutex_lock(&src->lock);
	rc = src->cache ? 0 : cache_open(&src->cache, src->config->cache_dir, err);
	pthread_mutex_unlock(&src->lock);
	if (rc)
		return -1;
	rc = registry_open(&reg, src->config, src->base->registry, err);
	if (rc == 0)
		rc = registry_fetch_blob(reg, src->base->repository, digest, src->cache, err);
	registry_close(reg);
	if (rc == 0) {
		*path = cache_blob_path(src->cache, digest + 7);
		struct stat st;
		pthread_mutex_lock(&src->lock);
		src->relayed++;
		src->relayed_bytes += stat(*path, &st) == 0 ? (long long)st.st_size : 0;
		pthread_mutex_unlock(&src->lock);
	}
	return rc;
}

/* The bundle records exactly these references as pushed: this image went there before. */
static bool pushed_before(const char *app_dir, char *const *references, size_t count)
{
	json_t *list = bundle_read_pushed(app_dir);
	bool same = json_array_size(list) == count;

	for (size_t i = 0; same && i < count; i++)
		same = json_string_value(json_array_get(list, i)) &&
		       strcmp(json_string_value(json_array_get(list, i)), references[i]) == 0;
	json_decref(list);
	return same;
}

/* A registry keeps no manifest whose blobs it lacks: when every tag already names this
 * manifest, the image is there and not one blob needs asking about. */
static bool already_there(struct registry *reg, const struct bundle_target *t)
{
	for (size_t i = 0; i < t->tag_count; i++)
		if (!registry_has_manifest(reg, t->repository, t->tags[i], t->manifest_digest))
			return false;
	return true;
}

/* The documents to attach and their artifacts. */
struct attachments {
	struct oci_descriptor subject; /* the image manifest */
	struct referrers_document *docs;
	struct referrers_artifact *artifacts;
	size_t count;
};

static void attachments_clear(struct attachments *a)
{
	for (size_t i = 0; i < a->count; i++) {
		free((char *)a->docs[i].path);
		referrers_artifact_clear(&a->artifacts[i]);
	}
	free(a->docs);
	free(a->artifacts);
	free(a->subject.media_type);
	memset(a, 0, sizeof(*a));
}

/* One listed document, read to check it is what bundle.json says. */
static int load_document(const char *app_dir, const char *name, const char *sha256, struct referrers_document *doc,
			 struct error *err)
{
	char hex[65];
	struct stat st;
	int fd;

	/* A name from bundle.json is a file beside it, nothing a path could reach elsewhere. */
	if (!*name || strchr(name, '/') || name[0] == '.' || str_has_control(name))
		return error_set(err, ERROR_INVALID, "%s/%s lists the document '%s', which is no file name of the bundle",
				 app_dir, BUNDLE_FILE, name);
	doc->name = name;
	doc->path = fs_path_join(app_dir, name);
	if (fs_check_beneath(app_dir, name, false, err) || (fd = fs_open_regular(doc->path, err)) < 0)
		return error_wrap(err, "the document %s of %s/%s", name, app_dir, BUNDLE_FILE);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return error_set_errno(err, "cannot stat %s", doc->path);
	}
	doc->size = (long long)st.st_size;
	if (digest_fd_sha256(fd, doc->path, hex, err)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (sha256 && strcmp(hex, sha256) != 0)
		return error_set(err, ERROR_INVALID, "%s has the sha256 %s, %s/%s lists %s: the bundle is not what it "
				 "says; run 'factory build' again (nothing was pushed)", doc->path, hex, app_dir, BUNDLE_FILE,
				 sha256 ? sha256 : "none");
	snprintf(doc->digest, sizeof(doc->digest), "sha256:%s", hex);
	return 0;
}

/* Every document the bundle lists, checked before anything is sent, and its artifact
 * referring to the image manifest in `blobs`. */
static int load_attachments(const char *app_dir, const struct bundle_target *t, const char *blobs,
			    struct attachments *a, struct error *err)
{
	size_t n = json_object_size(t->documents);
	char *path, *data = NULL;
	size_t size = 0;
	const char *name, *media;
	json_t *value, *manifest;

	memset(a, 0, sizeof(*a));
	if (n == 0)
		return 0;
	path = fs_path_join(blobs, t->manifest_digest + 7);
	if (fs_read_file(path, MANIFEST_MAX, &data, &size, err)) {
		free(path);
		return -1;
	}
	manifest = json_loadb(data, size, 0, NULL);
	media = json_string_value(json_object_get(manifest, "mediaType"));
	a->subject.media_type = xstrdup(media ? media : OCI_MEDIA_MANIFEST);
	snprintf(a->subject.digest, sizeof(a->subject.digest), "%s", t->manifest_digest);
	a->subject.size = (long long)size;
	json_decref(manifest);
	free(data);
	free(path);
	a->docs = calloc(n, sizeof(*a->docs));
	a->artifacts = calloc(n, sizeof(*a->artifacts));
	if (!a->docs || !a->artifacts)
		abort();
	json_object_foreach(t->documents, name, value) {
		struct referrers_document *doc = &a->docs[a->count++];
		if (load_document(app_dir, name, json_string_value(value), doc, err))
			return -1;
		referrers_artifact_init(&a->artifacts[a->count - 1], &a->subject, doc, t->epoch);
	}
	return 0;
}

static bool interrupted(const struct registry_push_hooks *hooks)
{
	return hooks && hooks->interrupted && *hooks->interrupted;
}

/* Every artifact is recorded as attached with this digest, and where it was listed: a registry
 * keeps no index of referrers whose manifests it lacks, so the listing alone tells whether
 * they are all still there. */
static enum referrers_listing recorded(const char *app_dir, const struct attachments *a)
{
	json_t *record = bundle_read_attached(app_dir);
	enum referrers_listing listing = REFERRERS_UNKNOWN;
	bool all = a->count > 0;

	for (size_t i = 0; all && i < a->count; i++) {
		const json_t *e = json_object_get(record, a->docs[i].name);
		const char *digest = json_string_value(json_object_get(e, "digest"));
		const char *by = json_string_value(json_object_get(e, "listedBy"));
		enum referrers_listing this = by && strcmp(by, "tag") == 0 ? REFERRERS_BY_TAG : REFERRERS_BY_API;
		all = digest && strcmp(digest, a->artifacts[i].digest) == 0 && (i == 0 || this == listing);
		listing = this;
	}
	json_decref(record);
	return all ? listing : REFERRERS_UNKNOWN;
}

/* Attaches the documents once the image is in the registry: what the registry refuses is a
 * warning (the image push stands), an interrupt an error. With `check_first` (the image was
 * there already) only the artifacts the registry lacks are sent, and those the bundle records
 * as attached are looked for where they were listed, with one request. */
static int attach(struct registry *reg, const char *app_dir, const char *repository, struct attachments *a,
		  bool check_first, const struct registry_push_hooks *hooks, struct push_result *r, struct error *err)
{
	struct referrers_artifact *good = calloc(a->count + 1, sizeof(*good));
	struct registry_push_stats stats = {0};
	enum referrers_listing listing = check_first ? recorded(app_dir, a) : REFERRERS_UNKNOWN;
	size_t n = 0;
	bool updated;
	struct error e = {0};

	if (!good)
		abort();
	if (listing != REFERRERS_UNKNOWN) {
		for (size_t i = 0; i < a->count; i++)
			good[n++] = a->artifacts[i]; /* not sent: referrers_list finds them listed */
		goto list;
	}
	for (size_t i = 0; i < a->count; i++) {
		if (interrupted(hooks)) {
			free(good);
			return error_set(err, ERROR_INTERRUPTED, "interrupted before every document was attached; the image "
				         "is pushed");
		}
		error_clear(&e);
		if (referrers_push(reg, repository, &a->docs[i], &a->artifacts[i], check_first, &stats, &e) == 0)
			good[n++] = a->artifacts[i]; /* a shallow copy: a->artifacts owns it */
		else
			add_warning(r, "%s (the image is pushed; this document is not attached)", e.message);
	}
list:
	error_clear(&e);
	if (n && referrers_list(reg, repository, a->subject.digest, good, n, &listing, &updated, &e)) {
		add_warning(r, "%s (the image is pushed; its documents are not attached)", e.message);
		n = 0;
	} else if (n && listing == REFERRERS_BY_TAG) {
		referrers_tag(a->subject.digest, r->referrers_tag);
	}
	r->attached = calloc(n + 1, sizeof(*r->attached));
	if (!r->attached)
		abort();
	for (size_t i = 0; i < n; i++) {
		r->attached[i].document = xstrdup(good[i].document);
		r->attached[i].artifact_type = good[i].artifact_type;
		snprintf(r->attached[i].digest, sizeof(r->attached[i].digest), "%s", good[i].digest);
		r->attached[i].sent = good[i].sent;
	}
	r->attached_count = n;
	free(good);
	return 0;
}

static int record_attached(const char *app_dir, const struct attachments *a, const struct push_result *r,
			   struct error *err)
{
	struct bundle_attachment *list = calloc(r->attached_count + 1, sizeof(*list));
	int rc;

	if (!list)
		abort();
	for (size_t i = 0; i < r->attached_count; i++) {
		list[i].document = r->attached[i].document;
		list[i].digest = r->attached[i].digest;
		list[i].artifact_type = r->attached[i].artifact_type;
		list[i].listed_by = r->referrers_tag[0] ? "tag" : "api";
		for (size_t k = 0; k < a->count; k++)
			if (strcmp(a->docs[k].name, r->attached[i].document) == 0)
				list[i].sha256 = a->docs[k].digest + 7;
	}
	rc = bundle_write_attached(app_dir, list, r->attached_count, err);
	free(list);
	return rc;
}

int push_bundle(const char *app_dir, const struct config *config, const struct registry_push_hooks *hooks,
		struct push_result *result, struct error *err)
{
	struct bundle_target target;
	struct registry *reg = NULL;
	struct registry_ref base = {0};
	const char *registry, *mount_from = NULL;
	char *blobs = NULL;
	struct base_source source = {config, NULL, &base, PTHREAD_MUTEX_INITIALIZER, 0, 0};
	struct attachments docs = {0};
	int rc = -1;

	memset(result, 0, sizeof(*result));
	if (bundle_read_target(app_dir, &target, err))
		return -1;
	registry = target.registry ? target.registry : config->base_registry;
	/* A base on the same registry can lend its layers: mount instead of upload. */
	if (target.base && strncmp(target.base, "oci:", 4) != 0 && strncmp(target.base, "docker-archive:", 15) != 0) {
		struct error ignored = {0};
		if (registry_ref_parse(strncmp(target.base, "docker://", 9) == 0 ? target.base + 9 : target.base,
				       config->base_registry, &base, &ignored) == 0 &&
		    strcmp(base.registry, registry) == 0)
			mount_from = base.repository;
	}
	blobs = fs_path_join(app_dir, "image/blobs/sha256");
	if (load_attachments(app_dir, &target, blobs, &docs, err))
		goto out;
	add_reference(result, oci_reference(registry, target.repository, target.manifest_digest));
	for (size_t i = 0; i < target.tag_count; i++)
		add_reference(result, oci_reference(registry, target.repository, target.tags[i]));
	if (registry_open(&reg, config, registry, err))
		goto out;
	if (pushed_before(app_dir, result->references, result->count) && already_there(reg, &target))
		result->unchanged = true;
	else if (registry_push(reg, target.repository, blobs, target.manifest_digest, (const char *const *)target.tags,
			       target.tag_count, mount_from, fetch_from_base, &source, hooks, &result->stats, err))
		goto out;
	result->base_layers_relayed = source.relayed;
	result->base_relayed_bytes = source.relayed_bytes;
	rc = bundle_write_pushed(app_dir, (const char *const *)result->references, result->count, err);
	if (rc == 0 && docs.count)
		rc = attach(reg, app_dir, target.repository, &docs, result->unchanged, hooks, result, err) ||
			     record_attached(app_dir, &docs, result, err) ? -1 : 0;
out:
	if (rc)
		push_result_clear(result);
	registry_close(reg);
	cache_close(source.cache);
	registry_ref_clear(&base);
	attachments_clear(&docs);
	free(blobs);
	bundle_target_clear(&target);
	return rc;
}
