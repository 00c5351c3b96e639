#include "bundle.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

		char *header;

		if (yamlout_emit(output->files[i].object, &text, &size, err))
			return -1;
		if (output->files[i].image_comment &&
		    yamlout_comment_line(&text, &size, "spec", "image", output->files[i].image_comment, err)) {
			free(text);
			return error_wrap(err, "%s", output->files[i].name);
		}
		header = xasprintf(RENDER_HEADER_FORMAT, output->source ? output->source : "a recipe");
		yamlout_prepend_comment(&text, &size, header);
		free(header);
		path = *dir ? xasprintf("%s/%s", dir, output->files[i].name) : xstrdup(output->files[i].name);
		tree_add_owned(t, path, text, size);
		free(path);
	}
	return 0;
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

const struct bundle_document_kind bundle_document_kinds[BUNDLE_DOCUMENT_KINDS] = {
	{"sbom.spdx.json", "sbom.spdx.dsse.json", "application/spdx+json"},
	{"sbom.cdx.json", "sbom.cdx.dsse.json", "application/vnd.cyclonedx+json"},
	{"provenance.json", "provenance.dsse.json", "application/vnd.in-toto+json"},
};

static json_t *layer_json(const struct bom *bom, size_t index)
{
	const struct bom_layer *l = &bom->layers[index];
	json_t *o = json_pack("{s:s, s:I, s:s}", "digest", l->digest, "size", (json_int_t)l->size, "mediaType",
			      l->media_type ? l->media_type : "");
	json_t *inputs;

	if (l->base) {
		json_object_set_new(o, "base", json_true());
		return o;
	}
	if (l->content)
		json_object_set_new(o, "content", json_string(l->content));
	inputs = json_array();
	for (size_t i = 0; i < bom->component_count; i++) {
		const struct bom_component *c = &bom->components[i];
		static const char *const kinds[] = {"maven", "wheel", "python-runtime", "file"};
		json_t *in;
		if (c->layer != index)
			continue;
		in = json_pack("{s:s, s:s, s:s}", "kind", kinds[c->kind], "path", c->path ? c->path : "", "sha256",
			       c->sha256);
		if (c->kind == BOM_MAVEN)
			json_object_set_new(in, "name", json_sprintf("%s:%s", c->group, c->name));
		else if (c->kind != BOM_FILE)
			json_object_set_new(in, "name", json_string(c->name));
		if (c->version)
			json_object_set_new(in, "version", json_string(c->version));
		if (c->purl)
			json_object_set_new(in, "purl", json_string(c->purl));
		if (c->file_name && c->kind != BOM_FILE)
			json_object_set_new(in, "file", json_string(c->file_name));
		if (c->sha1[0])
			json_object_set_new(in, "sha1", json_string(c->sha1));
		if (c->download_url)
			json_object_set_new(in, "url", json_string(c->download_url));
		json_array_append_new(inputs, in);
	}
	json_object_set_new(o, "inputs", inputs);
	return o;
}

static json_t *image_json(const struct bom *bom, const struct bundle_target *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "layout", "image", "manifest", bom->image_manifest, "config",
			      bom->image_config);
	json_t *layers = json_array();

	if (t) {
		json_t *tags = json_array();
		for (size_t i = 0; i < t->tag_count; i++)
			json_array_append_new(tags, json_string(t->tags[i]));
		if (t->registry)
			json_object_set_new(o, "registry", json_string(t->registry));
		json_object_set_new(o, "repository", json_string(t->repository));
		json_object_set_new(o, "tags", tags);
	}
	for (size_t i = 0; i < bom->layer_count; i++)
		json_array_append_new(layers, layer_json(bom, i));
	json_object_set_new(o, "layers", layers);
	return o;
}

static json_t *named_file(const char *path, const char *sha256)
{
	return json_pack("{s:s, s:s}", "file", fs_basename(path), "sha256", sha256);
}

/* An attachment names the document by its sha256: a changed document is not attached until
 * the next push. */
static void keep_attached(json_t *doc, const struct bundle_info *info)
{
	json_t *kept = json_object(), *value;
	const char *name;

	json_object_foreach((json_t *)info->attached, name, value)
		for (size_t i = 0; i < info->document_count; i++)
			if (strcmp(info->documents[i].name, name) == 0 &&
			    json_string_value(json_object_get(value, "sha256")) &&
			    strcmp(json_string_value(json_object_get(value, "sha256")), info->documents[i].sha256) == 0)
				json_object_set(kept, name, value);
	if (json_object_size(kept))
		json_object_set_new(doc, "attached", kept);
	else
		json_decref(kept);
}

char *bundle_json(const struct bundle_info *info, size_t *size)
{
	const struct bom *bom = info->bom;
	json_t *doc = json_pack("{s:s, s:s, s:s}", "apiVersion", BUNDLE_API_VERSION, "kind", BUNDLE_KIND, "app", bom->app);
	json_t *files = json_object();
	char *text;

	if (bom->namespace)
		json_object_set_new(doc, "namespace", json_string(bom->namespace));
	if (bom->recipe_path)
		json_object_set_new(doc, "recipe", named_file(bom->recipe_path, bom->recipe_sha256));
	if (bom->lock_path)
		json_object_set_new(doc, "lock", named_file(bom->lock_path, bom->lock_sha256));
	if (info->inputs_key && *info->inputs_key)
		json_object_set_new(doc, "inputsKey", json_string(info->inputs_key));
	if (bom->base_manifest[0]) {
		json_t *base = json_pack("{s:s, s:s, s:s}", "reference", bom->base_reference, "manifest",
					 bom->base_manifest, "platform", bom->platform ? bom->platform : "");
		if (bom->base_name)
			json_object_set_new(base, "name", json_string(bom->base_name));
		json_object_set_new(doc, "base", base);
	}
	if (bom->image_manifest[0]) {
		json_object_set_new(doc, "image", image_json(bom, info->target));
		/* what a rebuild needs to give the same digests (factory verify RECIPE) */
		json_object_set_new(doc, "sourceDateEpoch", json_integer((json_int_t)bom->epoch));
	}
	for (size_t i = 0; i < bom->file_count; i++)
		json_object_set_new(files, bom->files[i].path, json_string(bom->files[i].sha256));
	json_object_set_new(doc, "manifests", files);
	if (info->document_count) {
		json_t *docs = json_object();
		for (size_t i = 0; i < info->document_count; i++)
			json_object_set_new(docs, info->documents[i].name, json_string(info->documents[i].sha256));
		json_object_set_new(doc, "documents", docs);
	}
	if (info->envelope_count) {
		json_t *names = json_array();
		for (size_t i = 0; i < info->envelope_count; i++)
			json_array_append_new(names, json_string(info->envelopes[i]));
		json_object_set_new(doc, "signatures", json_pack("{s:s, s:o}", "keyid", info->key_id, "envelopes", names));
	}
	if (info->gitops)
		set_gitops(doc, info->gitops);
	if (json_is_array(info->pushed))
		json_object_set(doc, "pushed", (json_t *)info->pushed);
	if (json_is_object(info->attached))
		keep_attached(doc, info);
	text = json_text(doc, size);
	json_decref(doc);
	return text;
}

/* bundle.json, else (a bundle written before it) build.json; NULL when neither is there. */
static json_t *load_bundle(const char *app_dir, bool *legacy)
{
	char *path = fs_path_join(app_dir, BUNDLE_FILE);
	json_t *doc = json_load_file(path, 0, NULL);

	free(path);
	*legacy = false;
	if (json_is_object(doc))
		return doc;
	json_decref(doc);
	path = fs_path_join(app_dir, "build.json");
	doc = json_load_file(path, 0, NULL);
	free(path);
	*legacy = true;
	if (json_is_object(doc))
		return doc;
	json_decref(doc);
	return NULL;
}

int bundle_read_target(const char *app_dir, struct bundle_target *t, struct error *err)
{
	bool legacy;
	json_t *doc = load_bundle(app_dir, &legacy), *tags;
	/* build.json kept the target at its top level, bundle.json keeps it under "image" */
	json_t *image = legacy ? doc : json_object_get(doc, "image");
	const char *repo = json_string_value(json_object_get(image, "repository"));
	const char *digest = json_string_value(json_object_get(image, "manifest"));
	const char *base = legacy ? json_string_value(json_object_get(doc, "base"))
				  : json_string_value(json_object_get(json_object_get(doc, "base"), "reference"));
	size_t i;
	json_t *tag;

	memset(t, 0, sizeof(*t));
	if (!doc || !repo || !digest || !oci_digest_valid(digest)) {
		json_decref(doc);
		return error_set(err, ERROR_INVALID,
				 "%s/%s records no image to push: run 'factory build' for this app first (with "
				 "image.repository set)", app_dir, BUNDLE_FILE);
	}
	if (json_string_value(json_object_get(image, "registry")))
		t->registry = xstrdup(json_string_value(json_object_get(image, "registry")));
	t->repository = xstrdup(repo);
	if (base)
		t->base = xstrdup(base);
	snprintf(t->manifest_digest, sizeof(t->manifest_digest), "%s", digest);
	if (json_string_value(json_object_get(doc, "inputsKey")))
		snprintf(t->inputs_key, sizeof(t->inputs_key), "%s", json_string_value(json_object_get(doc, "inputsKey")));
	if (json_object_size(json_object_get(doc, "documents"))) {
		json_t *envelopes = json_object_get(json_object_get(doc, "signatures"), "envelopes"), *e;
		size_t k;
		t->documents = json_deep_copy(json_object_get(doc, "documents"));
		/* an envelope is listed without a digest: its signature is what vouches for it */
		json_array_foreach(envelopes, k, e)
			if (json_is_string(e))
				json_object_set_new(t->documents, json_string_value(e), json_null());
	}
	t->epoch = json_is_integer(json_object_get(doc, "sourceDateEpoch"))
			   ? (long long)json_integer_value(json_object_get(doc, "sourceDateEpoch"))
			   : -1;
	tags = json_object_get(image, "tags");
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
	json_decref(t->documents);
	memset(t, 0, sizeof(*t));
}

json_t *bundle_read_pushed(const char *app_dir)
{
	bool legacy;
	json_t *doc = load_bundle(app_dir, &legacy), *list;

	if (legacy) {
		char *path = fs_path_join(app_dir, "pushed.json");
		json_decref(doc);
		doc = json_load_file(path, 0, NULL);
		free(path);
	}
	list = json_incref(json_object_get(doc, "pushed"));
	json_decref(doc);
	if (json_is_array(list))
		return list;
	json_decref(list);
	return NULL;
}

/* Changes one key of bundle.json and keeps the rest; a bundle of an older factory keeps its
 * own files (build.json, pushed.json), so that it stays readable as it was. */
static int update_bundle(const char *app_dir, const char *key, json_t *value, struct error *err)
{
	bool legacy;
	json_t *doc = load_bundle(app_dir, &legacy);
	const char *file = BUNDLE_FILE;
	int rc;

	if (!doc) {
		doc = json_pack("{s:s, s:s}", "apiVersion", BUNDLE_API_VERSION, "kind", BUNDLE_KIND);
	} else if (legacy && strcmp(key, "pushed") == 0) {
		json_decref(doc);
		doc = json_object();
		file = "pushed.json";
	} else if (legacy) {
		file = "build.json";
	}
	if (value)
		json_object_set_new(doc, key, value);
	else
		json_object_del(doc, key);
	rc = write_json(app_dir, file, doc, err);
	json_decref(doc);
	return rc;
}

int bundle_write_pushed(const char *app_dir, const char *const *references, size_t count, struct error *err)
{
	json_t *list = json_array();

	for (size_t i = 0; i < count; i++)
		json_array_append_new(list, json_string(references[i]));
	return update_bundle(app_dir, "pushed", list, err);
}

int bundle_write_attached(const char *app_dir, const struct bundle_attachment *list, size_t count, struct error *err)
{
	json_t *o = count ? json_object() : NULL;

	for (size_t i = 0; i < count; i++)
		json_object_set_new(o, list[i].document,
				    json_pack("{s:s, s:s, s:s, s:s}", "digest", list[i].digest, "artifactType",
					      list[i].artifact_type, "sha256", list[i].sha256, "listedBy",
					      list[i].listed_by ? list[i].listed_by : "api"));
	return update_bundle(app_dir, "attached", o, err);
}

json_t *bundle_read_attached(const char *app_dir)
{
	bool legacy;
	json_t *doc = load_bundle(app_dir, &legacy), *o = json_incref(json_object_get(doc, "attached"));

	json_decref(doc);
	if (json_is_object(o))
		return o;
	json_decref(o);
	return NULL;
}

/* The provenance names the manifest files it was made with: after a render alone it would
 * vouch for files it never saw, so it goes until the next build. */
static bool drop_provenance(json_t *doc)
{
	json_t *docs = json_object_get(doc, "documents"), *envelopes;

	if (!json_object_get(docs, "provenance.json"))
		return false;
	json_object_del(docs, "provenance.json");
	envelopes = json_object_get(json_object_get(doc, "signatures"), "envelopes");
	for (size_t i = json_array_size(envelopes); i-- > 0;)
		if (strcmp(json_string_value(json_array_get(envelopes, i)), "provenance.dsse.json") == 0)
			json_array_remove(envelopes, i);
	return true;
}

int bundle_update_rendered(const char *app_dir, const struct bom *bom, const struct bundle_gitops *g,
			   struct error *err)
{
	bool legacy, dropped = false;
	json_t *doc = load_bundle(app_dir, &legacy), *files = json_object();
	int rc;

	if (!doc) {
		legacy = false;
		doc = json_pack("{s:s, s:s}", "apiVersion", BUNDLE_API_VERSION, "kind", BUNDLE_KIND);
	}
	for (size_t i = 0; i < bom->file_count; i++)
		json_object_set_new(files, bom->files[i].path, json_string(bom->files[i].sha256));
	json_object_set_new(doc, "manifests", files);
	if (g)
		set_gitops(doc, g);
	else
		json_object_del(doc, "gitops");
	if (!legacy)
		dropped = drop_provenance(doc);
	rc = write_json(app_dir, legacy ? "build.json" : BUNDLE_FILE, doc, err);
	json_decref(doc);
	if (rc == 0 && dropped) {
		char *plain = fs_path_join(app_dir, "provenance.json"), *envelope = fs_path_join(app_dir, "provenance.dsse.json");
		unlink(plain);
		unlink(envelope);
		free(plain);
		free(envelope);
	}
	return rc;
}

static char *json_text_dup(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? xstrdup(v) : NULL;
}

int bundle_read_gitops(const char *app_dir, struct bundle_gitops *g, struct error *err)
{
	bool legacy;
	json_t *doc = load_bundle(app_dir, &legacy), *o = json_object_get(doc, "gitops");
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (!json_string_value(json_object_get(o, "url")) || !json_string_value(json_object_get(o, "app"))) {
		rc = error_set(err, ERROR_NOT_FOUND,
			       "%s/%s records no GitOps target: set gitops.url in the recipe and render or build it again",
			       app_dir, BUNDLE_FILE);
	} else {
		g->url = json_text_dup(o, "url");
		g->branch = json_text_dup(o, "branch");
		g->path = json_text_dup(o, "path");
		g->app = json_text_dup(o, "app");
		g->image = json_text_dup(o, "image");
		g->scripts_hash = json_text_dup(o, "scriptsHash");
	}
	json_decref(doc);
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
