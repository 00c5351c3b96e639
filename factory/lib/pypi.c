#include "pypi.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download.h"
#include "fsutil.h"
#include "pyversion.h"
#include "util.h"

#define INDEX_PAGE_MAX (16 * 1024 * 1024)

/* PEP 691 content negotiation: JSON when the index speaks it, else the HTML of PEP 503 (which
 * older servers send as plain text/html). */
#define SIMPLE_ACCEPT \
	"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

/* ---- cache ------------------------------------------------------------------------------ */

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
	if (strcmp(want, got) != 0 || pyversion_compare(w.version, req->version) != 0)
		return error_set(err, ERROR_INVALID, "%s is not %s %s", filename, req->name, req->version);
	return wheel_check_compatible(&w, t, err);
}

/* ---- simple repository pages ------------------------------------------------------------ */

void pypi_file_list_clear(struct pypi_file_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].filename);
		free(list->items[i].url);
		free(list->items[i].requires_python);
		free(list->items[i].yanked_reason);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static struct pypi_file *add_file(struct pypi_file_list *list)
{
	struct pypi_file *f;

	list->items = realloc(list->items, (list->count + 1) * sizeof(*list->items));
	if (!list->items)
		abort();
	f = &list->items[list->count++];
	memset(f, 0, sizeof(*f));
	return f;
}

static void drop_last(struct pypi_file_list *list)
{
	struct pypi_file *f = &list->items[--list->count];

	free(f->filename);
	free(f->url);
	free(f->requires_python);
	free(f->yanked_reason);
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes a path segment; NULL when the result could not be a file name. */
static char *percent_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		abort();
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[n++] = s[i];
		}
	}
	out[n] = '\0';
	if (n == 0 || strlen(out) != n || strchr(out, '/')) {
		free(out);
		return NULL;
	}
	return out;
}

/* A distribution file's name, not a page or a download handler's. */
static bool looks_like_file(const char *name)
{
	static const char *const exts[] = {".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".egg"};
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (len > strlen(exts[i]) && strcmp(name + len - strlen(exts[i]), exts[i]) == 0)
			return true;
	return false;
}

/* Resolves href against base (RFC 3986, by libcurl). Fills the file's url (without the
 * fragment), the sha256 of a "#sha256=" fragment and, from the URL's last path segment or
 * else the link text, its file name. -1: not an http(s) link. */
static int resolve_link(const char *base, const char *href, const char *text, struct pypi_file *f)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *fragment = NULL, *path = NULL, *url = NULL;
	int rc = -1;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, href, CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto out;
	if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK && strncmp(fragment, "sha256=", 7) == 0 &&
	    strlen(fragment + 7) == 64 && strspn(fragment + 7, "0123456789abcdefABCDEF") == 64) {
		for (int i = 0; i < 64; i++)
			f->sha256[i] = (char)tolower((unsigned char)fragment[7 + i]);
		f->sha256[64] = '\0';
	}
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	f->url = xstrdup(url);
	{
		const char *slash = strrchr(path, '/'), *segment = slash ? slash + 1 : path;
		char *name = percent_decode(segment, strlen(segment));
		if ((!name || !looks_like_file(name)) && text && *text && !strchr(text, '/')) {
			free(name);
			name = xstrdup(text);
		}
		f->filename = name ? name : xstrdup(segment);
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(fragment);
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

/* The next element of a depth-first walk of the tree under root. */
static xmlNode *next_element(xmlNode *node, xmlNode *root)
{
	do {
		if (node->children) {
			node = node->children;
		} else {
			while (node != root && !node->next)
				node = node->parent;
			if (node == root)
				return NULL;
			node = node->next;
		}
	} while (node->type != XML_ELEMENT_NODE);
	return node;
}

static char *attribute(xmlNode *node, const char *name)
{
	xmlChar *value = xmlGetProp(node, (const xmlChar *)name);
	char *copy;

	if (!value)
		return NULL;
	copy = xstrdup((const char *)value);
	xmlFree(value);
	return copy;
}

/* The link text without surrounding white space. */
static char *link_text(xmlNode *a)
{
	xmlChar *content = xmlNodeGetContent(a);
	const char *s = content ? (const char *)content : "";
	size_t len;
	char *text;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	text = xasprintf("%.*s", (int)len, s);
	xmlFree(content);
	return text;
}

int pypi_parse_simple_html(const char *page, size_t size, const char *page_url, struct pypi_file_list *out,
			   struct error *err)
{
	htmlDocPtr doc;
	xmlNode *top, *node;
	char *base = NULL;

	memset(out, 0, sizeof(*out));
	if (size == 0)
		return 0; /* a project without files; libxml2 would call it no document */
	if (size > INT32_MAX)
		return error_set(err, ERROR_LIMIT, "%s: the page is too large", page_url);
	/* PEP 503 pages are UTF-8; without this libxml2 would assume ISO-8859-1. */
	doc = htmlReadMemory(page, (int)size, page_url, "UTF-8",
			     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_RECOVER);
	if (!doc)
		return error_set(err, ERROR_INVALID, "%s: not an HTML page", page_url);
	/* From the document node: whatever a broken page leaves beside <html> is walked too. */
	top = (xmlNode *)doc;
	/* The first <base href> (HTML), itself relative to the page, is what links resolve to. */
	for (node = next_element(top, top); node && !base; node = next_element(node, top)) {
		if (xmlStrcasecmp(node->name, (const xmlChar *)"base") == 0) {
			char *href = attribute(node, "href");
			struct pypi_file resolved = {0};
			if (href && resolve_link(page_url, href, NULL, &resolved) == 0)
				base = xstrdup(resolved.url);
			free(resolved.url);
			free(resolved.filename);
			free(href);
		}
	}
	for (node = next_element(top, top); node; node = next_element(node, top)) {
		char *href, *text, *yanked;
		struct pypi_file *f;
		if (xmlStrcasecmp(node->name, (const xmlChar *)"a") != 0 || !(href = attribute(node, "href")))
			continue;
		text = link_text(node);
		f = add_file(out);
		if (resolve_link(base ? base : page_url, href, text, f)) {
			drop_last(out);
		} else {
			f->requires_python = attribute(node, "data-requires-python");
			/* data-yanked: present means yanked; a value is the reason. */
			f->yanked = xmlHasProp(node, (const xmlChar *)"data-yanked") != NULL;
			yanked = attribute(node, "data-yanked");
			if (yanked && *yanked)
				f->yanked_reason = yanked;
			else
				free(yanked);
		}
		free(text);
		free(href);
	}
	free(base);
	xmlFreeDoc(doc);
	return 0;
}

int pypi_parse_simple_json(const char *page, size_t size, const char *page_url, struct pypi_file_list *out,
			   struct error *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(page, size, 0, &jerr), *files, *item, *version;
	const char *api;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return error_set(err, ERROR_INVALID, "%s: not JSON: %s (line %d)", page_url, jerr.text, jerr.line);
	version = json_object_get(json_object_get(doc, "meta"), "api-version");
	api = json_string_value(version);
	/* PEP 691: a client must refuse a major version it does not know. */
	if (api && strtol(api, NULL, 10) != 1) {
		error_set(err, ERROR_INVALID, "%s: simple API version %s is not supported (only 1.x)", page_url, api);
		goto out;
	}
	files = json_object_get(doc, "files");
	if (!json_is_array(files)) {
		error_set(err, ERROR_INVALID, "%s: no \"files\" array: not a PEP 691 project page", page_url);
		goto out;
	}
	json_array_foreach(files, i, item) {
		const char *filename = json_string_value(json_object_get(item, "filename"));
		const char *url = json_string_value(json_object_get(item, "url"));
		const char *sha = json_string_value(json_object_get(json_object_get(item, "hashes"), "sha256"));
		const char *rp = json_string_value(json_object_get(item, "requires-python"));
		json_t *yanked = json_object_get(item, "yanked");
		struct pypi_file *f;
		if (!filename || !url || !*filename || strchr(filename, '/'))
			continue;
		f = add_file(out);
		if (resolve_link(page_url, url, NULL, f)) {
			drop_last(out);
			continue;
		}
		/* The JSON names the file; the URL need not end with it. */
		free(f->filename);
		f->filename = xstrdup(filename);
		if (sha && strlen(sha) == 64 && strspn(sha, "0123456789abcdefABCDEF") == 64) {
			for (int k = 0; k < 64; k++)
				f->sha256[k] = (char)tolower((unsigned char)sha[k]);
			f->sha256[64] = '\0';
		}
		f->requires_python = rp ? xstrdup(rp) : NULL;
		f->yanked = json_is_true(yanked) || json_is_string(yanked);
		if (json_is_string(yanked) && *json_string_value(yanked))
			f->yanked_reason = xstrdup(json_string_value(yanked));
	}
	rc = 0;
out:
	if (rc)
		pypi_file_list_clear(out);
	json_decref(doc);
	return rc;
}

/* The media type of a Content-Type value, without parameters, lowercase. */
static void media_type(const char *content_type, char *out, size_t size)
{
	size_t n = 0;

	while (content_type && isspace((unsigned char)*content_type))
		content_type++;
	for (const char *p = content_type; p && *p && *p != ';' && !isspace((unsigned char)*p) && n + 1 < size; p++)
		out[n++] = (char)tolower((unsigned char)*p);
	out[n] = '\0';
}

static char *project_url(const char *index_url, const char *project)
{
	char normalized[128];
	size_t len = strlen(index_url);

	python_normalize_name(project, normalized, sizeof(normalized));
	return xasprintf("%s%s%s/", index_url, len && index_url[len - 1] == '/' ? "" : "/", normalized);
}

int pypi_list_files(const struct download_options *options, const char *index_url, const char *project,
		    struct pypi_file_list *out, struct error *err)
{
	char *url = project_url(index_url, project), type[128];
	struct download_page page;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (download_page(options, url, SIMPLE_ACCEPT, INDEX_PAGE_MAX, &page, err)) {
		if (page.status == 404 || page.status == 410) {
			error_clear(err);
			rc = 0;
		}
		goto out;
	}
	media_type(page.content_type, type, sizeof(type));
	if (strcmp(type, "application/vnd.pypi.simple.v1+json") == 0)
		rc = pypi_parse_simple_json(page.data, page.size, page.url, out, err);
	else if (!type[0] || strcmp(type, "application/vnd.pypi.simple.v1+html") == 0 || strcmp(type, "text/html") == 0)
		rc = pypi_parse_simple_html(page.data, page.size, page.url, out, err);
	else
		error_set(err, ERROR_INVALID, "%s: Content-Type '%s' is not a simple repository page", url, page.content_type);
out:
	download_page_clear(&page);
	free(url);
	return rc;
}

/* ---- resolution ------------------------------------------------------------------------- */

void pypi_resolved_clear(struct pypi_resolved *r)
{
	free(r->index);
	free(r->filename);
	free(r->url);
	free(r->yanked_reason);
	memset(r, 0, sizeof(*r));
}

/* Chooses the requirement's wheel among the files of one index. `listed` tells whether the
 * index had any file of the project, for the caller to pick the error worth showing. */
static int resolve_on(const struct recipe_requirement *req, const struct config *config, const char *index,
		      const struct python_target *t, struct pypi_resolved *out, bool *listed, struct error *err)
{
	struct download_options download = config_download_options(config);
	struct pypi_file_list files;
	struct wheel_candidate *candidates;
	struct wheel_request request = {.name = req->name, .version = req->version, .hashes = req->sha256.items,
					.hash_count = req->sha256.count, .pinned = true};
	char *page = project_url(index, req->name);
	bool yanked = false;
	int chosen;

	memset(out, 0, sizeof(*out));
	*listed = false;
	if (pypi_list_files(&download, index, req->name, &files, err)) {
		free(page);
		return -1;
	}
	if (files.count == 0) {
		error_set(err, ERROR_INVALID, "%s lists no files of %s", page, req->name);
		free(page);
		return -1;
	}
	*listed = true;
	candidates = calloc(files.count, sizeof(*candidates));
	if (!candidates)
		abort();
	for (size_t i = 0; i < files.count; i++)
		candidates[i] = (struct wheel_candidate){.filename = files.items[i].filename,
							 .sha256 = files.items[i].sha256,
							 .requires_python = files.items[i].requires_python,
							 .yanked = files.items[i].yanked,
							 .yanked_reason = files.items[i].yanked_reason};
	chosen = wheel_select(candidates, files.count, &request, t, &yanked, err);
	if (chosen < 0) {
		struct error why = *err;
		error_set(err, why.code, "%s: %s", page, why.message);
	} else {
		struct pypi_file *f = &files.items[chosen];
		out->index = xstrdup(index);
		out->filename = xstrdup(f->filename);
		out->url = xstrdup(f->url);
		snprintf(out->sha256, sizeof(out->sha256), "%s", f->sha256);
		out->yanked = yanked;
		out->yanked_reason = yanked && f->yanked_reason ? xstrdup(f->yanked_reason) : NULL;
	}
	free(candidates);
	pypi_file_list_clear(&files);
	free(page);
	return chosen < 0 ? -1 : 0;
}

/* Keeps the error worth reporting when every index failed: one from an index that has the
 * project beats "not here". */
static void keep_error(struct error *kept, bool *kept_listed, const struct error *attempt, bool listed, bool first)
{
	if (first || (listed && !*kept_listed)) {
		*kept = *attempt;
		*kept_listed = listed;
	}
}

int pypi_resolve(const struct recipe_requirement *req, const struct config *config, const struct python_target *t,
		 struct pypi_resolved *out, struct error *err)
{
	bool kept_listed = false;

	memset(out, 0, sizeof(*out));
	if (config->python_index_count == 0)
		return error_set(err, ERROR_INVALID, "%s %s: no Python package index is configured", req->name, req->version);
	for (size_t i = 0; i < config->python_index_count; i++) {
		struct error attempt = {0};
		bool listed;
		if (resolve_on(req, config, config->python_indexes[i], t, out, &listed, &attempt) == 0)
			return 0;
		keep_error(err, &kept_listed, &attempt, listed, i == 0);
	}
	return -1;
}

static int from_index(const struct recipe_requirement *req, const struct config *config, const char *index,
		      const struct python_target *t, struct cache *cache, struct python_wheel *out, bool *listed,
		      struct error *err)
{
	struct download_options download = config_download_options(config);
	struct pypi_resolved r;
	struct error why = {0};

	if (resolve_on(req, config, index, t, &r, listed, err))
		return -1;
	if (download_to_cache(&download, r.url, cache, req->sha256.items, req->sha256.count, out->sha256, &why)) {
		/* The index vouched for these bytes (or gave no hash) and they are not the pinned ones. */
		error_set(err, why.code, "%s lists no wheel of %s %s with the pinned bytes: %s", index, req->name,
			  req->version, why.message);
		pypi_resolved_clear(&r);
		return -1;
	}
	snprintf(out->filename, sizeof(out->filename), "%s", r.filename);
	out->yanked = r.yanked;
	snprintf(out->yanked_reason, sizeof(out->yanked_reason), "%s", r.yanked_reason ? r.yanked_reason : "");
	pypi_resolved_clear(&r);
	return 0;
}

int pypi_fetch(const struct recipe_requirement *req, const char *recipe_dir, const struct config *config,
	       const struct python_target *t, struct cache *cache, struct python_wheel *out, struct error *err)
{
	struct download_options download = config_download_options(config);
	bool kept_listed = false;

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
			       : download_to_cache(&download, req->url, cache, req->sha256.items, req->sha256.count,
						   out->sha256, err);
		free(path);
		return rc ? rc : remember(cache, out, err);
	}
	if (config->python_index_count == 0)
		return error_set(err, ERROR_INVALID, "%s %s: no Python package index is configured", req->name, req->version);
	for (size_t i = 0; i < config->python_index_count; i++) {
		struct error attempt = {0};
		bool listed = false;
		if (from_index(req, config, config->python_indexes[i], t, cache, out, &listed, &attempt) == 0)
			return remember(cache, out, err);
		keep_error(err, &kept_listed, &attempt, listed, i == 0);
	}
	return -1;
}
