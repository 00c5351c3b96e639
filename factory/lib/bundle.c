#include "bundle.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "oci.h"
#include "tree.h"
#include "util.h"
#include "yamlout.h"

int bundle_manifests_tree(struct tree *t, const char *dir, const struct render_output *output, struct error *err)
{
	for (size_t i = 0; i < output->count; i++) {
		char *text = NULL, *path;
		size_t size = 0;

		if (yamlout_emit(output->files[i].object, &text, &size, err))
			return -1;
		path = *dir ? xasprintf("%s/%s", dir, output->files[i].name) : xstrdup(output->files[i].name);
		tree_add_owned(t, path, text, size);
		free(path);
	}
	return 0;
}

int bundle_write_manifests(const struct render_output *output, const char *app_dir, struct error *err)
{
	struct tree *t = tree_new();
	char *target = fs_path_join(app_dir, "manifests");
	int rc = bundle_manifests_tree(t, "", output, err) || tree_write(t, target, NULL, err) ? -1 : 0;

	tree_free(t);
	free(target);
	return rc;
}

static char *json_text(json_t *doc, size_t *size)
{
	char *text = oci_json_canonical(doc, size);

	text = realloc(text, *size + 2);
	if (!text)
		abort();
	text[(*size)++] = '\n';
	text[*size] = '\0';
	return text;
}

/* Unchanged bytes are not written again: a build that changes nothing writes nothing. */
static int write_json(const char *app_dir, const char *name, json_t *doc, struct error *err)
{
	size_t size;
	char *text = json_text(doc, &size), *path = fs_path_join(app_dir, name);
	int rc = fs_mkdir_p(app_dir, err) || fs_update_file(path, text, size, 0644, err) ? -1 : 0;

	free(path);
	free(text);
	return rc;
}

static void set_gitops(json_t *doc, const struct bundle_gitops *g)
{
	json_t *o = json_object();

	json_object_set_new(o, "url", json_string(g->url));
	if (g->branch)
		json_object_set_new(o, "branch", json_string(g->branch));
	if (g->path)
		json_object_set_new(o, "path", json_string(g->path));
	json_object_set_new(o, "app", json_string(g->app));
	if (g->image)
		json_object_set_new(o, "image", json_string(g->image));
	if (g->scripts_hash && *g->scripts_hash)
		json_object_set_new(o, "scriptsHash", json_string(g->scripts_hash));
	json_object_set_new(doc, "gitops", o);
}

char *bundle_build_json(const struct bundle_target *t, const struct bundle_gitops *g, size_t *size)
{
	json_t *doc = json_object(), *tags = json_array();
	char *text;

	if (!t) {
		json_decref(tags);
		tags = NULL;
		goto gitops;
	}
	for (size_t i = 0; i < t->tag_count; i++)
		json_array_append_new(tags, json_string(t->tags[i]));
	if (t->registry)
		json_object_set_new(doc, "registry", json_string(t->registry));
	json_object_set_new(doc, "repository", json_string(t->repository));
	json_object_set_new(doc, "tags", tags);
	json_object_set_new(doc, "manifest", json_string(t->manifest_digest));
	json_object_set_new(doc, "layout", json_string("image"));
	if (t->base)
		json_object_set_new(doc, "base", json_string(t->base));
	if (t->inputs)
		json_object_set(doc, "inputs", t->inputs);
	if (t->inputs_key[0])
		json_object_set_new(doc, "inputsKey", json_string(t->inputs_key));
gitops:
	if (g)
		set_gitops(doc, g);
	text = json_text(doc, size);
	json_decref(doc);
	return text;
}

int bundle_read_target(const char *app_dir, struct bundle_target *t, struct error *err)
{
	char *path = fs_path_join(app_dir, "build.json");
	json_t *doc = json_load_file(path, 0, NULL), *tags;
	const char *repo, *digest;
	size_t i;
	json_t *tag;

	memset(t, 0, sizeof(*t));
	repo = json_string_value(json_object_get(doc, "repository"));
	digest = json_string_value(json_object_get(doc, "manifest"));
	if (!doc || !repo || !digest || !oci_digest_valid(digest)) {
		json_decref(doc);
		error_set(err, ERROR_INVALID, "%s is missing or damaged: run 'factory build' for this app first", path);
		free(path);
		return -1;
	}
	free(path);
	if (json_string_value(json_object_get(doc, "registry")))
		t->registry = xstrdup(json_string_value(json_object_get(doc, "registry")));
	t->repository = xstrdup(repo);
	if (json_string_value(json_object_get(doc, "base")))
		t->base = xstrdup(json_string_value(json_object_get(doc, "base")));
	snprintf(t->manifest_digest, sizeof(t->manifest_digest), "%s", digest);
	if (json_string_value(json_object_get(doc, "inputsKey")))
		snprintf(t->inputs_key, sizeof(t->inputs_key), "%s", json_string_value(json_object_get(doc, "inputsKey")));
	tags = json_object_get(doc, "tags");
	t->tags = calloc(json_array_size(tags) + 1, sizeof(*t->tags));
	if (!t->tags)
		abort();
	json_array_foreach(tags, i, tag)
		if (json_is_string(tag))
			t->tags[t->tag_count++] = xstrdup(json_string_value(tag));
	json_decref(doc);
	return 0;
}

void bundle_target_clear(struct bundle_target *t)
{
	for (size_t i = 0; i < t->tag_count; i++)
		free(t->tags[i]);
	free(t->tags);
	free(t->registry);
	free(t->repository);
	free(t->base);
	memset(t, 0, sizeof(*t));
}

int bundle_write_pushed(const char *app_dir, const char *const *references, size_t count, struct error *err)
{
	json_t *doc = json_object(), *list = json_array();
	int rc;

	for (size_t i = 0; i < count; i++)
		json_array_append_new(list, json_string(references[i]));
	json_object_set_new(doc, "pushed", list);
	rc = write_json(app_dir, "pushed.json", doc, err);
	json_decref(doc);
	return rc;
}

int bundle_write_gitops(const char *app_dir, const struct bundle_gitops *g, struct error *err)
{
	char *path = fs_path_join(app_dir, "build.json");
	json_t *doc = json_load_file(path, 0, NULL);
	int rc = 0;

	free(path);
	if (!g && !json_object_get(doc, "gitops")) {
		json_decref(doc);
		return 0;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	if (g)
		set_gitops(doc, g);
	else
		json_object_del(doc, "gitops");
	rc = write_json(app_dir, "build.json", doc, err);
	json_decref(doc);
	return rc;
}

static char *json_text_dup(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? xstrdup(v) : NULL;
}

int bundle_read_gitops(const char *app_dir, struct bundle_gitops *g, struct error *err)
{
	char *path = fs_path_join(app_dir, "build.json");
	json_t *doc = json_load_file(path, 0, NULL), *o = json_object_get(doc, "gitops");
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (!json_string_value(json_object_get(o, "url")) || !json_string_value(json_object_get(o, "app"))) {
		rc = error_set(err, ERROR_NOT_FOUND,
			       "%s records no GitOps target: set gitops.url in the recipe and render or build it again", path);
	} else {
		g->url = json_text_dup(o, "url");
		g->branch = json_text_dup(o, "branch");
		g->path = json_text_dup(o, "path");
		g->app = json_text_dup(o, "app");
		g->image = json_text_dup(o, "image");
		g->scripts_hash = json_text_dup(o, "scriptsHash");
	}
	json_decref(doc);
	free(path);
	return rc;
}

void bundle_gitops_clear(struct bundle_gitops *g)
{
	free(g->url);
	free(g->branch);
	free(g->path);
	free(g->app);
	free(g->image);
	free(g->scripts_hash);
	memset(g, 0, sizeof(*g));
}
