#include "pypi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download.h"
#include "fsutil.h"
#include "util.h"

#define INDEX_PAGE_MAX (16 * 1024 * 1024)

/* cache/wheels/<sha256> holds the wheel's file name: its tags are in the name. */
static char *name_path(struct cache *cache, const char *sha256)
{
	return xasprintf("%s/wheels/%s", cache->dir, sha256);
}

static int remember(struct cache *cache, const struct python_wheel *w, struct error *err)
{
	char *path = name_path(cache, w->sha256), *dir = fs_dirname(path);
	int rc = fs_mkdir_p(dir, err) || fs_write_file_atomic(path, w->filename, strlen(w->filename), 0644, err) ? -1 : 0;

	free(dir);
	free(path);
	return rc;
}

static bool cached(struct cache *cache, const struct recipe_requirement *req, struct python_wheel *out)
{
	for (size_t i = 0; i < req->sha256.count; i++) {
		char *path = name_path(cache, req->sha256.items[i]), *name = NULL;
		size_t size;
		struct error ignored = {0};
		bool ok = fs_read_file(path, 255, &name, &size, &ignored) == 0 &&
			  cache_verify(cache, req->sha256.items[i], NULL);
		if (ok) {
			snprintf(out->filename, sizeof(out->filename), "%s", name);
			snprintf(out->sha256, sizeof(out->sha256), "%s", req->sha256.items[i]);
		}
		free(name);
		free(path);
		if (ok)
			return true;
	}
	return false;
}

static int check_name(const struct recipe_requirement *req, const char *filename, const struct python_target *t,
		      struct error *err)
{
	struct wheel_name w;
	char want[128], got[128];

	if (wheel_parse_filename(filename, &w, err))
		return -1;
	python_normalize_name(req->name, want, sizeof(want));
	python_normalize_name(w.distribution, got, sizeof(got));
	if (strcmp(want, got) != 0 || strcmp(w.version, req->version) != 0)
		return error_set(err, ERROR_INVALID, "%s is not %s %s", filename, req->name, req->version);
	return wheel_check_compatible(&w, t, err);
}

/* Resolves href against the page it was found on. */
static char *resolve_url(const char *page, const char *href)
{
	char *joined, *p;

	if (strncmp(href, "http://", 7) == 0 || strncmp(href, "https://", 8) == 0)
		return xstrdup(href);
	if (href[0] == '/') {
		const char *host_end = strchr(strstr(page, "://") + 3, '/');
		return xasprintf("%.*s%s", host_end ? (int)(host_end - page) : (int)strlen(page), page, href);
	}
	joined = xasprintf("%.*s%s", (int)(strrchr(page, '/') - page + 1), page, href);
	/* Collapse "dir/../" so relative links like ../../files/x.whl resolve. */
	for (;;) {
		char *dots = strstr(strstr(joined, "://") + 3, "/../");
		if (!dots)
			break;
		p = dots;
		while (p > joined && *(p - 1) != '/')
			p--;
		memmove(p, dots + 4, strlen(dots + 4) + 1);
	}
	return joined;
}

static int from_index(const struct recipe_requirement *req, const char *index, const struct python_target *t,
		      struct cache *cache, struct python_wheel *out, struct error *err)
{
	char normalized[128], *page_url, *page = NULL;
	size_t size;
	int rc = -1;

	python_normalize_name(req->name, normalized, sizeof(normalized));
	page_url = xasprintf("%s%s%s/", index, index[strlen(index) - 1] == '/' ? "" : "/", normalized);
	if (download_to_memory(page_url, INDEX_PAGE_MAX, &page, &size, err))
		goto out;
	for (const char *p = page; (p = strstr(p, "href=\"")); ) {
		const char *start = p + 6, *end = strchr(start, '"');
		char *href, *hash, *filename, *url;
		struct error why = {0};
		if (!end)
			break;
		p = end;
		href = xasprintf("%.*s", (int)(end - start), start);
		hash = strstr(href, "#sha256=");
		if (hash)
			*hash = '\0';
		filename = xstrdup(fs_basename(href));
		if (strchr(filename, '?'))
			*strchr(filename, '?') = '\0';
		bool pinned = !hash;
		for (size_t i = 0; hash && i < req->sha256.count; i++)
			pinned |= strcmp(hash + 8, req->sha256.items[i]) == 0;
		if (!pinned || check_name(req, filename, t, &why)) {
			free(filename);
			free(href);
			continue;
		}
		url = resolve_url(page_url, href);
		rc = download_to_cache(url, cache, req->sha256.items, req->sha256.count, out->sha256, err);
		if (rc == 0)
			snprintf(out->filename, sizeof(out->filename), "%s", filename);
		free(url);
		free(filename);
		free(href);
		if (rc == 0)
			goto out;
	}
	if (rc)
		error_set(err, ERROR_INVALID, "%s lists no wheel of %s %s that runs on Python %d.%d/%s with one of the pinned "
					      "sha256 values", page_url, req->name, req->version, t->major, t->minor, t->arch);
out:
	free(page);
	free(page_url);
	return rc;
}

int pypi_fetch(const struct recipe_requirement *req, const char *recipe_dir, const struct config *config,
	       const struct python_target *t, struct cache *cache, struct python_wheel *out, struct error *err)
{
	memset(out, 0, sizeof(*out));
	if (cached(cache, req, out))
		return check_name(req, out->filename, t, err);
	if (req->file || req->url) {
		const char *name = fs_basename(req->file ? req->file : req->url);
		char *path;
		int rc;
		snprintf(out->filename, sizeof(out->filename), "%s", name);
		if (check_name(req, out->filename, t, err))
			return -1;
		path = req->file ? fs_path_join(recipe_dir, req->file) : NULL;
		rc = req->file ? download_import_file(path, cache, req->sha256.items, req->sha256.count, out->sha256, err)
			       : download_to_cache(req->url, cache, req->sha256.items, req->sha256.count, out->sha256, err);
		free(path);
		return rc ? rc : remember(cache, out, err);
	}
	for (size_t i = 0; i < config->python_index_count; i++) {
		struct error attempt = {0};
		if (from_index(req, config->python_indexes[i], t, cache, out, &attempt) == 0)
			return remember(cache, out, err);
		*err = attempt;
	}
	return -1;
}
