#include "verify.h"

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "digest.h"
#include "fsutil.h"
#include "oci.h"
#include "util.h"

void verify_report_clear(struct verify_report *r)
{
	for (size_t i = 0; i < r->problem_count; i++)
		free(r->problems[i]);
	free(r->problems);
	for (size_t i = 0; i < r->note_count; i++)
		free(r->notes[i]);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

static void problem(struct verify_report *r, char *line)
{
	r->problems = realloc(r->problems, (r->problem_count + 1) * sizeof(*r->problems));
	if (!r->problems)
		abort();
	r->problems[r->problem_count++] = line;
}

static void note(struct verify_report *r, char *line)
{
	r->notes = realloc(r->notes, (r->note_count + 1) * sizeof(*r->notes));
	if (!r->notes)
		abort();
	r->notes[r->note_count++] = line;
}

static bool is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The 64-hex names in `dir`, sorted (reports list problems in a stable order). */
static char **blob_names(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	*count = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (!is_hex64(e->d_name))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names)
			abort();
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), compare_names);
	*count = n;
	return names;
}

static void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

static int stop(const volatile sig_atomic_t *interrupted, struct error *err)
{
	if (interrupted && *interrupted)
		return error_set(err, ERROR_INTERRUPTED, "interrupted; nothing was left half-checked");
	return 0;
}

int verify_cache(struct cache *cache, struct verify_report *r, const volatile sig_atomic_t *interrupted,
		 struct error *err)
{
	char *dir = fs_path_join(cache->dir, "blobs/sha256");
	size_t count;
	char **names = blob_names(dir, &count);
	int rc = 0;

	for (size_t i = 0; i < count && rc == 0; i++) {
		off_t size = 0;
		if ((rc = stop(interrupted, err)) != 0)
			break;
		r->checked++;
		if (cache_recheck(cache, names[i], &size))
			r->bytes += (long long)size;
		else
			problem(r, xasprintf("cache blob sha256:%s was damaged: removed (the next build fetches or builds it "
					     "again)", names[i]));
	}
	free_names(names, count);
	free(dir);
	return rc;
}

/* One blob of the layout, read in full. Returns false when it is missing. */
static bool check_layout_blob(const char *blobs, const char *digest, struct cache *cache, struct verify_report *r)
{
	char *path = fs_path_join(blobs, digest + 7), hex[65];
	struct error read_err = {0};
	struct stat st;
	bool present = lstat(path, &st) == 0;

	if (present) {
		r->checked++;
		if (digest_file_sha256(path, hex, &read_err) < 0) {
			problem(r, xasprintf("%s: %s", path, read_err.message));
		} else if (strcmp(hex, digest + 7) != 0) {
			problem(r, xasprintf("%s is damaged: it hashes to sha256:%s; run 'factory build' again", path, hex));
			if (cache)
				cache_recheck(cache, digest + 7, NULL);
		} else {
			r->bytes += (long long)st.st_size;
		}
	}
	free(path);
	return present;
}

static json_t *load_json(const char *path, struct verify_report *r)
{
	struct error read_err = {0};
	char *data = NULL;
	size_t size = 0;
	json_t *doc = NULL;

	if (fs_read_file(path, 4u << 20, &data, &size, &read_err) < 0)
		problem(r, xasprintf("%s", read_err.message));
	else if (!(doc = json_loadb(data, size, 0, NULL)))
		problem(r, xasprintf("%s is not JSON", path));
	free(data);
	return doc;
}

/* A string member, "" when absent. */
static const char *text_of(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* A file bundle.json lists, against the sha256 it records. */
static void check_listed(const char *app_dir, const char *name, const char *want, struct verify_report *r)
{
	char *path = fs_path_join(app_dir, name), hex[65];
	struct error read_err = {0};

	r->checked++;
	if (!want || !is_hex64(want))
		problem(r, xasprintf("%s/%s: bundle.json records no valid sha256 for %s", app_dir, BUNDLE_FILE, name));
	else if (digest_file_sha256(path, hex, &read_err) < 0)
		problem(r, xasprintf("%s is missing or unreadable: %s", path, read_err.message));
	else if (strcmp(hex, want) != 0)
		problem(r, xasprintf("%s was changed after the build: it hashes to %s, %s records %s", path, hex,
				     BUNDLE_FILE, want));
	free(path);
}

/* Files under manifests/ that bundle.json does not list: added after the build. */
static void check_unlisted(const char *app_dir, const char *rel, const json_t *listed, struct verify_report *r)
{
	char *dir = fs_path_join(app_dir, rel);
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char *child;
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = xasprintf("%s/%s", rel, e->d_name);
		char *path = fs_path_join(app_dir, child);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			check_unlisted(app_dir, child, listed, r);
		else if (!json_object_get(listed, child))
			problem(r, xasprintf("%s is not part of the bundle (%s does not list it)", path, BUNDLE_FILE));
		free(path);
		free(child);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* The provenance names this image and these manifest files as its subjects. */
static void check_provenance(const char *app_dir, const json_t *bundle, struct verify_report *r)
{
	char *path = fs_path_join(app_dir, "provenance.json");
	json_t *doc = load_json(path, r), *subject, *files = json_object_get(bundle, "manifests");
	const char *image = json_string_value(json_object_get(json_object_get(bundle, "image"), "manifest"));
	size_t i, matched = 0;

	json_array_foreach(json_object_get(doc, "subject"), i, subject) {
		const char *name = json_string_value(json_object_get(subject, "name"));
		const char *sha = json_string_value(json_object_get(json_object_get(subject, "digest"), "sha256"));
		const char *want = name ? json_string_value(json_object_get(files, name)) : NULL;
		if (!name || !sha)
			continue;
		if (want) {
			matched++;
			if (strcmp(want, sha) != 0)
				problem(r, xasprintf("%s: its subject %s has sha256 %s, the bundle's file %s", path, name, sha,
						     want));
		} else if (image && strcmp(image + 7, sha) == 0) {
			matched++;
		} else {
			problem(r, xasprintf("%s: its subject %s (sha256 %s) is not part of this bundle", path, name, sha));
		}
	}
	if (doc && matched < json_object_size(files) + (image ? 1 : 0))
		problem(r, xasprintf("%s does not cover the whole bundle (a render after the build?): run 'factory build'",
				     path));
	json_decref(doc);
	free(path);
}

static bool listed(const json_t *names, const char *name)
{
	size_t i;
	json_t *n;

	json_array_foreach(names, i, n)
		if (json_string_value(n) && strcmp(json_string_value(n), name) == 0)
			return true;
	return false;
}

/* Each envelope bundle.json names signs exactly the document beside it, with the configured
 * key. */
static void check_signatures(const char *app_dir, const json_t *signatures, const struct dsse_key *key,
			     struct verify_report *r)
{
	const json_t *names = json_object_get(signatures, "envelopes");
	const char *key_id = json_string_value(json_object_get(signatures, "keyid"));
	size_t signed_count = 0;

	if (key && key_id && strcmp(key_id, dsse_key_id(key)) != 0)
		problem(r, xasprintf("%s/%s: the bundle was signed by key %s, the configured key is %s", app_dir,
				     BUNDLE_FILE, key_id, dsse_key_id(key)));
	for (size_t i = 0; i < BUNDLE_DOCUMENT_KINDS; i++) {
		const struct bundle_document_kind *kind = &bundle_document_kinds[i];
		char *path, *plain, *envelope = NULL, *payload = NULL, *text = NULL;
		size_t size = 0, payload_size = 0, text_size = 0;
		struct error why = {0};

		if (!listed(names, kind->envelope))
			continue;
		signed_count++;
		if (!key)
			continue;
		path = fs_path_join(app_dir, kind->envelope);
		plain = fs_path_join(app_dir, kind->name);
		if (fs_read_file(path, DSSE_ENVELOPE_MAX, &envelope, &size, &why) < 0 ||
		    dsse_verify(key, envelope, size, kind->payload_type, &payload, &payload_size, &why) < 0)
			problem(r, xasprintf("%s: %s", path, why.message));
		else if (fs_read_file(plain, DSSE_PAYLOAD_MAX, &text, &text_size, &why) < 0 || text_size != payload_size ||
			 memcmp(text, payload, text_size) != 0)
			problem(r, xasprintf("%s signs another %s than the one in the bundle", path, kind->name));
		free(text);
		free(payload);
		free(envelope);
		free(plain);
		free(path);
	}
	if (!signed_count)
		note(r, xasprintf("%s is not signed (set signing.key in factory.yaml to sign bundles)", app_dir));
	else if (!key)
		note(r, xasprintf("%s is signed, but no signing.key or signing.publicKey is configured to check it",
				  app_dir));
}

static void check_record(const char *app_dir, const char *manifest_digest, const json_t *manifest,
			 const struct dsse_key *key, struct verify_report *r)
{
	char *path = fs_path_join(app_dir, BUNDLE_FILE);
	json_t *bundle, *image, *layers, *files, *docs, *value;
	const char *name;
	size_t i;

	if (access(path, F_OK) != 0) {
		note(r, xasprintf("%s has no %s (a bundle of an older factory): only its image layout was checked",
				  app_dir, BUNDLE_FILE));
		free(path);
		return;
	}
	bundle = load_json(path, r);
	image = json_object_get(bundle, "image");
	layers = json_object_get(image, "layers");
	if (image && manifest_digest && strcmp(text_of(image, "manifest"), manifest_digest) != 0)
		problem(r, xasprintf("%s records the image '%s' but the layout holds %s", path, text_of(image, "manifest"),
				     manifest_digest));
	if (image && manifest) {
		const char *config = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
		json_t *mlayers = json_object_get(manifest, "layers");
		if (!config || strcmp(text_of(image, "config"), config) != 0)
			problem(r, xasprintf("%s records another image config than the layout's manifest", path));
		if (json_array_size(layers) != json_array_size(mlayers))
			problem(r, xasprintf("%s records %zu layers, the layout's manifest has %zu", path,
					     json_array_size(layers), json_array_size(mlayers)));
		for (i = 0; i < json_array_size(layers) && i < json_array_size(mlayers); i++) {
			const char *want = json_string_value(json_object_get(json_array_get(layers, i), "digest"));
			const char *got = json_string_value(json_object_get(json_array_get(mlayers, i), "digest"));
			if (!want || !got || strcmp(want, got) != 0)
				problem(r, xasprintf("%s: layer %zu is %s, the layout's manifest has %s", path, i + 1,
						     want ? want : "(none)", got ? got : "(none)"));
		}
	}
	files = json_object_get(bundle, "manifests");
	json_object_foreach(files, name, value)
		check_listed(app_dir, name, json_string_value(value), r);
	if (json_is_object(files))
		check_unlisted(app_dir, "manifests", files, r);
	docs = json_object_get(bundle, "documents");
	json_object_foreach(docs, name, value)
		check_listed(app_dir, name, json_string_value(value), r);
	if (json_object_get(docs, "provenance.json"))
		check_provenance(app_dir, bundle, r);
	if (json_is_object(docs))
		check_signatures(app_dir, json_object_get(bundle, "signatures"), key, r);
	json_decref(bundle);
	free(path);
}

int verify_bundle(const char *app_dir, struct cache *cache, const struct dsse_key *key, struct verify_report *r,
		  const volatile sig_atomic_t *interrupted, struct error *err)
{
	char *layout = fs_path_join(app_dir, "image"), *blobs = fs_path_join(layout, "blobs/sha256");
	char *index_path = fs_path_join(layout, "index.json"), *manifest_path = NULL;
	json_t *index = NULL, *manifest = NULL, *layer;
	const char *digest;
	char *manifest_digest = NULL;
	size_t i;
	int rc = 0;

	if (access(index_path, F_OK) < 0) {
		rc = error_set(err, ERROR_NOT_FOUND, "%s has no image layout (%s): run 'factory build' first", app_dir,
			       index_path);
		goto out;
	}
	index = load_json(index_path, r);
	digest = json_string_value(json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "digest"));
	if (index && (!digest || !oci_digest_valid(digest))) {
		problem(r, xasprintf("%s names no manifest", index_path));
		goto out;
	}
	if (!index)
		goto out;
	if (!check_layout_blob(blobs, digest, cache, r)) {
		problem(r, xasprintf("%s: the manifest %s is missing", layout, digest));
		goto out;
	}
	manifest_path = fs_path_join(blobs, digest + 7);
	manifest_digest = xstrdup(digest);
	manifest = load_json(manifest_path, r);
	digest = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
	if (manifest && (!digest || !oci_digest_valid(digest) || !check_layout_blob(blobs, digest, cache, r)))
		problem(r, xasprintf("%s: the image config %s is missing", layout, digest ? digest : "(none)"));
	json_array_foreach(json_object_get(manifest, "layers"), i, layer) {
		if ((rc = stop(interrupted, err)) != 0)
			break;
		digest = json_string_value(json_object_get(layer, "digest"));
		if (!digest || !oci_digest_valid(digest))
			problem(r, xasprintf("%s: layer %zu has no valid digest", manifest_path, i));
		else if (!check_layout_blob(blobs, digest, cache, r))
			r->absent++;
	}
	if (rc == 0)
		check_record(app_dir, manifest_digest, manifest, key, r);
out:
	free(manifest_digest);
	json_decref(manifest);
	json_decref(index);
	free(manifest_path);
	free(index_path);
	free(blobs);
	free(layout);
	return rc;
}

/* One recorded digest of both bundles. */
static void compare_one(const char *what, const char *want, const char *got, struct verify_report *r)
{
	r->checked++;
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0)
		problem(r, xasprintf("%s differs: the bundle has %s, a rebuild gives %s", what, want ? want : "none",
				     got ? got : "none"));
}

/* Every key of either map, compared. */
static void compare_maps(const char *kind, const json_t *want, const json_t *got, bool skip_envelopes,
			 struct verify_report *r)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)want, key, value) {
		char *what;
		if (skip_envelopes && strstr(key, ".dsse.json"))
			continue;
		what = xasprintf("%s %s", kind, key);
		compare_one(what, json_string_value(value), json_string_value(json_object_get(got, key)), r);
		free(what);
	}
	json_object_foreach((json_t *)got, key, value)
		if (!json_object_get(want, key) && !(skip_envelopes && strstr(key, ".dsse.json"))) {
			char *what = xasprintf("%s %s", kind, key);
			compare_one(what, NULL, json_string_value(value), r);
			free(what);
		}
}

int verify_compare(const char *bundle_dir, const char *rebuilt, struct verify_report *r, struct error *err)
{
	char *want_path = fs_path_join(bundle_dir, BUNDLE_FILE), *got_path = fs_path_join(rebuilt, BUNDLE_FILE);
	json_t *want = json_load_file(want_path, 0, NULL), *got = json_load_file(got_path, 0, NULL);
	json_t *wi, *gi, *wl, *gl;
	int rc = 0;

	if (!json_is_object(want)) {
		rc = error_set(err, ERROR_NOT_FOUND, "%s is missing or damaged: nothing to compare the rebuild with",
			       want_path);
		goto out;
	}
	if (!json_is_object(got)) {
		rc = error_set(err, ERROR_INTERNAL, "the rebuild wrote no %s", got_path);
		goto out;
	}
	compare_one("the recipe", text_of(json_object_get(want, "recipe"), "sha256"),
		    text_of(json_object_get(got, "recipe"), "sha256"), r);
	compare_one("factory.lock", json_string_value(json_object_get(json_object_get(want, "lock"), "sha256")),
		    json_string_value(json_object_get(json_object_get(got, "lock"), "sha256")), r);
	wi = json_object_get(want, "image");
	gi = json_object_get(got, "image");
	compare_one("the image manifest", json_string_value(json_object_get(wi, "manifest")),
		    json_string_value(json_object_get(gi, "manifest")), r);
	compare_one("the image config", json_string_value(json_object_get(wi, "config")),
		    json_string_value(json_object_get(gi, "config")), r);
	wl = json_object_get(wi, "layers");
	gl = json_object_get(gi, "layers");
	for (size_t i = 0; i < json_array_size(wl) || i < json_array_size(gl); i++) {
		json_t *a = json_array_get(wl, i), *b = json_array_get(gl, i);
		const char *content = json_string_value(json_object_get(a ? a : b, "content"));
		char *what = content ? xasprintf("layer %zu (%s)", i + 1, content) : xasprintf("layer %zu (base)", i + 1);
		compare_one(what, json_string_value(json_object_get(a, "digest")),
			    json_string_value(json_object_get(b, "digest")), r);
		free(what);
	}
	compare_maps("manifest file", json_object_get(want, "manifests"), json_object_get(got, "manifests"), false, r);
	compare_maps("document", json_object_get(want, "documents"), json_object_get(got, "documents"), true, r);
out:
	json_decref(want);
	json_decref(got);
	free(want_path);
	free(got_path);
	return rc;
}
