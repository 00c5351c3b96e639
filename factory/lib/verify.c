#include "verify.h"

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "oci.h"
#include "util.h"

void verify_report_clear(struct verify_report *r)
{
	for (size_t i = 0; i < r->problem_count; i++)
		free(r->problems[i]);
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

static void problem(struct verify_report *r, char *line)
{
	r->problems = realloc(r->problems, (r->problem_count + 1) * sizeof(*r->problems));
	if (!r->problems)
		abort();
	r->problems[r->problem_count++] = line;
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

int verify_bundle(const char *app_dir, struct cache *cache, struct verify_report *r,
		  const volatile sig_atomic_t *interrupted, struct error *err)
{
	char *layout = fs_path_join(app_dir, "image"), *blobs = fs_path_join(layout, "blobs/sha256");
	char *index_path = fs_path_join(layout, "index.json"), *manifest_path = NULL;
	json_t *index = NULL, *manifest = NULL, *layer;
	const char *digest;
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
out:
	json_decref(manifest);
	json_decref(index);
	free(manifest_path);
	free(index_path);
	free(blobs);
	free(layout);
	return rc;
}
