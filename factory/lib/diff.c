#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "fsutil.h"
#include "jsonb.h"
#include "render.h"
#include "util.h"
#include "ydoc.h"

#define MANIFEST_MAX_SIZE (16 * 1024 * 1024)

static bool yaml_name(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

static int compare_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int diff_add_file(void *ctx, const char *name, const void *data, size_t size, struct error *err)
{
	struct diff_files *f = ctx;
	struct ydoc *doc = NULL;

	if (name[0] == '.' || !yaml_name(name))
		return 0;
	if (size > MANIFEST_MAX_SIZE)
		return error_set(err, ERROR_LIMIT, "%s: larger than %d bytes", name, MANIFEST_MAX_SIZE);
	if (ydoc_load_buffer(&doc, name, data, size, f->diags, err))
		return error_wrap(err, "cannot read %s", name);
	jsonb_set(f->files, name, render_yaml_json(doc->root));
	ydoc_free(doc);
	return 0;
}

int diff_load_manifests(const char *dir, json_t **files, struct diag_list *diags, struct error *err)
{
	struct diff_files f = {jsonb_object(), diags};
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	*files = f.files;
	if (!d)
		return errno == ENOENT ? 0 : error_set_errno(err, "cannot open %s", dir);
	while (rc == 0 && (e = readdir(d))) {
		char *path, *data = NULL;
		size_t size = 0;
		if (e->d_name[0] == '.' || !yaml_name(e->d_name))
			continue;
		path = fs_path_join(dir, e->d_name);
		rc = fs_read_file(path, MANIFEST_MAX_SIZE, &data, &size, err) ||
				     diff_add_file(&f, e->d_name, data, size, err)
			     ? error_wrap(err, "in %s", dir)
			     : 0;
		free(data);
		free(path);
	}
	closedir(d);
	if (rc) {
		json_decref(*files);
		*files = NULL;
	}
	return rc;
}

/* ---- fields ------------------------------------------------------------------------------- */

/* `key` after `path`: ".key" when it is a plain identifier, else ["key"] (annotations, data
 * keys with dots). */
static char *path_key(const char *path, const char *key)
{
	bool plain = *key && !(*key >= '0' && *key <= '9');
	struct strbuf b = {0};

	for (const char *p = key; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
			*p == '-';
	strbuf_add(&b, path, strlen(path));
	if (plain) {
		if (*path)
			strbuf_add(&b, ".", 1);
		strbuf_add(&b, key, strlen(key));
	} else {
		strbuf_add(&b, "[\"", 2);
		for (const char *p = key; *p; p++) {
			if (*p == '"' || *p == '\\')
				strbuf_add(&b, "\\", 1);
			strbuf_add(&b, p, 1);
		}
		strbuf_add(&b, "\"]", 2);
	}
	if (!b.data)
		return xstrdup("");
	return b.data;
}

static void add_field(json_t *fields, const char *path, const json_t *from, const json_t *to)
{
	json_t *f = jsonb_object();

	jsonb_set_str(f, "path", path);
	if (from)
		jsonb_set(f, "from", json_deep_copy(from));
	if (to)
		jsonb_set(f, "to", json_deep_copy(to));
	jsonb_push(fields, f);
}

/* Every leaf where `a` and `b` differ; a mapping or a list on one side only is one field. */
static void diff_values(json_t *fields, const char *path, const json_t *a, const json_t *b)
{
	if (a && b && json_equal(a, b))
		return;
	if (json_is_object(a) && json_is_object(b)) {
		const char *key;
		json_t *value;
		json_object_foreach((json_t *)a, key, value) {
			char *sub = path_key(path, key);
			diff_values(fields, sub, value, json_object_get(b, key));
			free(sub);
		}
		json_object_foreach((json_t *)b, key, value) {
			char *sub;
			if (json_object_get(a, key))
				continue;
			sub = path_key(path, key);
			diff_values(fields, sub, NULL, value);
			free(sub);
		}
		return;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t n = json_array_size(a) > json_array_size(b) ? json_array_size(a) : json_array_size(b);
		for (size_t i = 0; i < n; i++) {
			char *sub = xasprintf("%s[%zu]", path, i);
			diff_values(fields, sub, json_array_get(a, i), json_array_get(b, i));
			free(sub);
		}
		return;
	}
	add_field(fields, path, a, b);
}

static const char *text_at(const json_t *object, const char *a, const char *b)
{
	const json_t *v = json_object_get(object, a);
	return json_string_value(b ? json_object_get(v, b) : v);
}

static json_t *object_entry(const char *file, const json_t *object, const char *change)
{
	json_t *o = jsonb_object();
	const char *kind = text_at(object, "kind", NULL), *name = text_at(object, "metadata", "name");

	jsonb_set(o, "file", jsonb_must(json_sprintf("manifests/%s", file)));
	jsonb_set(o, "kind", kind ? jsonb_must(json_string(kind)) : json_null());
	jsonb_set(o, "name", name ? jsonb_must(json_string(name)) : json_null());
	jsonb_set_str(o, "change", change);
	jsonb_set(o, "fields", jsonb_array());
	return o;
}

static json_t *diff_objects(const json_t *from, const json_t *to)
{
	json_t *objects = jsonb_array();
	const char **names = calloc(json_object_size(from) + json_object_size(to) + 1, sizeof(*names));
	size_t count = 0;
	const char *key;
	json_t *value;

	if (!names)
		abort();
	json_object_foreach((json_t *)from, key, value)
		names[count++] = key;
	json_object_foreach((json_t *)to, key, value)
		if (!json_object_get(from, key))
			names[count++] = key;
	if (count > 1)
		qsort(names, count, sizeof(*names), compare_cstr);
	for (size_t i = 0; i < count; i++) {
		const json_t *a = json_object_get(from, names[i]), *b = json_object_get(to, names[i]);
		json_t *fields;
		if (!a) {
			jsonb_push(objects, object_entry(names[i], b, "added"));
			continue;
		}
		if (!b) {
			jsonb_push(objects, object_entry(names[i], a, "removed"));
			continue;
		}
		fields = jsonb_array();
		diff_values(fields, "", a, b);
		if (json_array_size(fields)) {
			json_t *o = object_entry(names[i], b, "changed");
			jsonb_set(o, "fields", fields);
			jsonb_push(objects, o);
		} else {
			json_decref(fields);
		}
	}
	free(names);
	return objects;
}

/* ---- the image ---------------------------------------------------------------------------- */

static json_t *layer_side(const json_t *layer)
{
	if (!layer)
		return json_null();
	return json_pack("{s:O?, s:O?}", "digest", json_object_get(layer, "digest"), "size",
			 json_object_get(layer, "size"));
}

/* The inputs of a layer (bundle.json's layers[].inputs) by path: what was added, removed, or
 * is there with other bytes. */
static json_t *layer_inputs(const json_t *a, const json_t *b)
{
	json_t *added = jsonb_array(), *removed = jsonb_array(), *changed = jsonb_array();
	size_t i, k;
	json_t *x, *y;

	json_array_foreach(json_object_get(a, "inputs"), i, x) {
		const char *path = text_at(x, "path", NULL);
		json_t *match = NULL;
		json_array_foreach(json_object_get(b, "inputs"), k, y)
			if (path && text_at(y, "path", NULL) && strcmp(path, text_at(y, "path", NULL)) == 0)
				match = y;
		if (!match)
			jsonb_push(removed, jsonb_must(json_string(path ? path : "")));
		else if (!json_equal(json_object_get(x, "sha256"), json_object_get(match, "sha256")))
			jsonb_push(changed, jsonb_must(json_string(path)));
	}
	json_array_foreach(json_object_get(b, "inputs"), k, y) {
		const char *path = text_at(y, "path", NULL);
		bool found = false;
		json_array_foreach(json_object_get(a, "inputs"), i, x)
			found |= path && text_at(x, "path", NULL) && strcmp(path, text_at(x, "path", NULL)) == 0;
		if (!found)
			jsonb_push(added, jsonb_must(json_string(path ? path : "")));
	}
	return json_pack("{s:o, s:o, s:o}", "added", added, "removed", removed, "changed", changed);
}

/* The layer of `layers` that plays the part of `layer`: a base layer by its position among the
 * base layers, factory's own by its content. */
static const json_t *counterpart(const json_t *layers, const json_t *layer, size_t base_index)
{
	const char *content = text_at(layer, "content", NULL);
	size_t i, seen = 0;
	json_t *l;

	json_array_foreach(layers, i, l) {
		const char *c = text_at(l, "content", NULL);
		if (json_is_true(json_object_get(l, "base")) != json_is_true(json_object_get(layer, "base")))
			continue;
		if (json_is_true(json_object_get(layer, "base")) ? seen++ == base_index
								  : c && content && strcmp(c, content) == 0)
			return l;
	}
	return NULL;
}

static void add_layer(json_t *out, size_t index, const json_t *a, const json_t *b)
{
	const json_t *some = b ? b : a;
	const char *content = text_at(some, "content", NULL);
	json_t *o;

	if (a && b && json_equal(json_object_get(a, "digest"), json_object_get(b, "digest")))
		return;
	o = jsonb_object();
	jsonb_set(o, "index", jsonb_must(json_integer((json_int_t)index)));
	jsonb_set(o, "content", jsonb_must(json_string(content ? content : "base")));
	jsonb_set_str(o, "change", !a ? "added" : !b ? "removed" : "changed");
	jsonb_set(o, "from", layer_side(a));
	jsonb_set(o, "to", layer_side(b));
	if (!json_is_true(json_object_get(some, "base")))
		jsonb_set(o, "inputs", layer_inputs(a, b));
	jsonb_push(out, o);
}

static json_t *diff_layers(const json_t *from, const json_t *to)
{
	json_t *out = jsonb_array();
	size_t i, base = 0;
	json_t *l;

	json_array_foreach(to, i, l) {
		bool is_base = json_is_true(json_object_get(l, "base"));
		add_layer(out, i + 1, counterpart(from, l, base), l);
		base += is_base;
	}
	base = 0;
	json_array_foreach(from, i, l) {
		bool is_base = json_is_true(json_object_get(l, "base"));
		if (!counterpart(to, l, base))
			add_layer(out, i + 1, l, NULL);
		base += is_base;
	}
	return out;
}

static bool has_blob(const json_t *image, const char *digest)
{
	size_t i;
	json_t *l;

	if (!digest)
		return true;
	if ((text_at(image, "manifest", NULL) && strcmp(text_at(image, "manifest", NULL), digest) == 0) ||
	    (text_at(image, "config", NULL) && strcmp(text_at(image, "config", NULL), digest) == 0))
		return true;
	json_array_foreach(json_object_get(image, "layers"), i, l)
		if (text_at(l, "digest", NULL) && strcmp(text_at(l, "digest", NULL), digest) == 0)
			return true;
	return false;
}

/* The size of a blob of the layout at `dir`, 0 when it is not there. */
static long long blob_size(const char *dir, const char *digest)
{
	char *path;
	struct stat st;
	long long size = 0;

	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return 0;
	path = xasprintf("%s/image/blobs/sha256/%s", dir, digest + 7);
	if (stat(path, &st) == 0)
		size = (long long)st.st_size;
	free(path);
	return size;
}

static bool has_tag(const json_t *tags, const char *tag)
{
	size_t i;
	json_t *t;

	json_array_foreach(tags, i, t)
		if (tag && json_string_value(t) && strcmp(json_string_value(t), tag) == 0)
			return true;
	return false;
}

/* What a push of `to` sends that the registry has when `from` was pushed: its blobs that
 * `from` does not have, and the tags that would point somewhere new. */
static json_t *push_of(const json_t *from, const json_t *to, const char *to_dir)
{
	const char *names[] = {"config", "manifest"};
	long long bytes = 0;
	size_t blobs = 0, i;
	json_t *l, *tags = jsonb_array();

	json_array_foreach(json_object_get(to, "layers"), i, l) {
		const char *digest = text_at(l, "digest", NULL);
		if (has_blob(from, digest))
			continue;
		blobs++;
		bytes += json_integer_value(json_object_get(l, "size"));
	}
	for (size_t k = 0; k < 2; k++) {
		const char *digest = text_at(to, names[k], NULL);
		if (has_blob(from, digest))
			continue;
		blobs++;
		bytes += blob_size(to_dir, digest);
	}
	json_array_foreach(json_object_get(to, "tags"), i, l)
		if (!has_tag(json_object_get(from, "tags"), json_string_value(l)) ||
		    !json_equal(json_object_get(from, "manifest"), json_object_get(to, "manifest")))
			jsonb_push(tags, json_deep_copy(l));
	return json_pack("{s:I, s:I, s:o}", "blobs", (json_int_t)blobs, "bytes", (json_int_t)bytes, "tags", tags);
}

static json_t *copy_or_null(const json_t *value)
{
	return value ? jsonb_must(json_deep_copy(value)) : json_null();
}

static json_t *diff_image(const json_t *from_bundle, const json_t *to_bundle, const char *to_dir)
{
	const json_t *a = json_object_get(from_bundle, "image"), *b = json_object_get(to_bundle, "image");
	const json_t *ta = json_object_get(a, "tags"), *tb = json_object_get(b, "tags");
	json_t *o;

	if (!from_bundle || (!a && !b))
		return json_null();
	o = jsonb_object();
	jsonb_set(o, "from", copy_or_null(json_object_get(a, "manifest")));
	jsonb_set(o, "to", copy_or_null(json_object_get(b, "manifest")));
	if ((ta || tb) && !(ta && tb && json_equal(ta, tb)))
		jsonb_set(o, "tags", json_pack("{s:O?, s:O?}", "from", ta, "to", tb));
	else
		jsonb_set(o, "tags", json_null());
	jsonb_set(o, "layers", diff_layers(json_object_get(a, "layers"), json_object_get(b, "layers")));
	jsonb_set(o, "push", push_of(a, b, to_dir));
	return o;
}

/* ---- the report --------------------------------------------------------------------------- */

int diff_report(const json_t *from_files, const json_t *from_bundle, const char *to_dir, json_t **report,
		struct diag_list *diags, struct error *err)
{
	char *manifests = fs_path_join(to_dir, "manifests"), *path = fs_path_join(to_dir, BUNDLE_FILE);
	json_t *to_files = NULL, *to_bundle = NULL, *objects, *image;
	json_error_t jerr;
	bool changed;
	int rc;

	*report = NULL;
	rc = diff_load_manifests(manifests, &to_files, diags, err);
	if (rc == 0 && !(to_bundle = json_load_file(path, 0, &jerr)))
		rc = error_set(err, ERROR_INTERNAL, "%s: %s", path, jerr.text);
	if (rc == 0) {
		objects = diff_objects(from_files, to_files);
		image = diff_image(from_bundle, to_bundle, to_dir);
		changed = json_array_size(objects) ||
			  (json_is_object(image) &&
			   (!json_equal(json_object_get(image, "from"), json_object_get(image, "to")) ||
			    !json_is_null(json_object_get(image, "tags"))));
		*report = json_pack("{s:b, s:o, s:o}", "changed", changed, "objects", objects, "image", image);
		if (!*report)
			abort();
	}
	json_decref(to_files);
	json_decref(to_bundle);
	free(manifests);
	free(path);
	return rc;
}

int diff_bundles(const char *from_dir, const char *to_dir, json_t **report, struct diag_list *diags,
		 struct error *err)
{
	char *manifests = fs_path_join(from_dir, "manifests"), *path = fs_path_join(from_dir, BUNDLE_FILE);
	json_t *files = NULL, *bundle = NULL;
	json_error_t jerr;
	int rc;

	*report = NULL;
	rc = diff_load_manifests(manifests, &files, diags, err);
	if (rc == 0 && access(path, F_OK) != 0)
		bundle = jsonb_object(); /* nothing built yet: the whole image is new */
	else if (rc == 0 && !(bundle = json_load_file(path, 0, &jerr)))
		rc = error_set(err, ERROR_INVALID, "%s: %s", path, jerr.text);
	if (rc == 0)
		rc = diff_report(files, bundle, to_dir, report, diags, err);
	json_decref(files);
	json_decref(bundle);
	free(manifests);
	free(path);
	return rc;
}
