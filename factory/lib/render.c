#include "render.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "jsonb.h"
#include "k8s.h"
#include "oci.h"
#include "target.h"
#include "util.h"
#include "ydoc.h"

/* The objects themselves are built by the recipe's render target (render/target.h) from the
 * shared builders (render/k8s.h); this file does what every target shares: the image, the
 * scripts' ConfigMap, the templates and the kustomization. */

#define TEMPLATE_MAX_SIZE (1024 * 1024)

static char *image_reference(const struct recipe *r, const struct render_options *options)
{
	if (options && options->image)
		return xasprintf("%s", options->image);
	if (r->image_repository)
		return oci_reference(r->image_registry, r->image_repository, recipe_image_tag(r));
	return xasprintf("%s", r->base_image);
}

/* ---- templates ---------------------------------------------------------------------------- */

json_t *render_yaml_json(const struct ynode *n)
{
	long long iv;
	double dv;
	bool bv;

	if (!n || yscalar_is_null(n))
		return json_null();
	switch (n->kind) {
	case YNODE_MAPPING: {
		json_t *o = jsonb_object();
		for (size_t i = 0; i < n->count; i++)
			jsonb_set(o, n->keys[i]->value, render_yaml_json(n->values[i]));
		return o;
	}
	case YNODE_SEQUENCE: {
		json_t *a = jsonb_array();
		for (size_t i = 0; i < n->count; i++)
			jsonb_push(a, render_yaml_json(n->values[i]));
		return a;
	}
	default:
		if (yscalar_bool(n, &bv))
			return json_boolean(bv);
		if (yscalar_int(n, &iv))
			return jsonb_must(json_integer(iv));
		if (yscalar_number(n, &dv))
			return jsonb_must(json_real(dv));
		return jsonb_must(json_stringn(n->value, n->length));
	}
}

static bool named_list(const json_t *a)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0)
		return false;
	json_array_foreach(a, i, v) {
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
			return false;
	}
	return true;
}

void render_merge(json_t *base, const json_t *overlay)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)overlay, key, value) {
		json_t *current = json_object_get(base, key);
		if (json_is_null(value)) {
			json_object_del(base, key);
		} else if (json_is_object(current) && json_is_object(value)) {
			render_merge(current, value);
		} else if (json_is_array(current) && named_list(current) && named_list(value)) {
			size_t i, j;
			json_t *item, *existing;
			json_array_foreach(value, i, item) {
				const char *name = json_string_value(json_object_get(item, "name"));
				bool merged = false;
				json_array_foreach(current, j, existing) {
					if (strcmp(json_string_value(json_object_get(existing, "name")), name) == 0) {
						render_merge(existing, item);
						merged = true;
						break;
					}
				}
				if (!merged)
					jsonb_push(current, json_deep_copy(item));
			}
		} else {
			jsonb_set(base, key, json_deep_copy(value));
		}
	}
}

static int load_template(const char *path, json_t **out, struct diag_list *diags, struct error *err)
{
	struct ydoc *doc = NULL;

	*out = NULL;
	if (ydoc_load_file(&doc, path, TEMPLATE_MAX_SIZE, diags, err))
		return -1;
	if (!doc->root || doc->root->kind != YNODE_MAPPING) {
		diag_add(diags, DIAG_ERROR, path, doc->root ? doc->root->line : 1, doc->root ? doc->root->col : 1,
			 "a template must be a mapping");
		ydoc_free(doc);
		return error_set(err, ERROR_INVALID, "%s: invalid template", path);
	}
	*out = render_yaml_json(doc->root);
	ydoc_free(doc);
	return 0;
}

static int compare_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether `key` appears anywhere in j (with `must_be_true`: with the value true). */
static bool contains_key(const json_t *j, const char *key, bool must_be_true)
{
	const json_t *here = json_object_get(j, key);
	const char *k;
	json_t *v;
	size_t i;

	if (here && (!must_be_true || json_is_true(here)))
		return true;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (contains_key(v, key, must_be_true))
				return true;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (contains_key(v, key, must_be_true))
				return true;
	}
	return false;
}

static bool same(const json_t *x, const json_t *y)
{
	return x == y || (x && y && json_equal(x, y));
}

static bool changed(const json_t *before, const json_t *after, const char *a, const char *b)
{
	return !same(json_object_get(json_object_get(before, a), b), json_object_get(json_object_get(after, a), b));
}

/* An overlay must not do what the recipe itself may not: the merged objects are held to
 * the same rules. Changing the scripts' data would keep their hashed name and roll-out
 * annotation (the edit would never reach the cluster); the image, the service account and the
 * keys the operator owns are the recipe's to say; hostPath and privileged are never wanted. */
static void check_overlay(const json_t *before, const json_t *after, const char *file, const char *dir,
			  struct diag_list *diags)
{
	static const char *const operator_keys[] = {"kubernetes.namespace", "kubernetes.cluster-id",
						    "high-availability.cluster-id", NULL};
	char *where = fs_path_join(dir, file);
	const json_t *conf_before = json_object_get(json_object_get(before, "spec"), "flinkConfiguration");
	const json_t *conf_after = json_object_get(json_object_get(after, "spec"), "flinkConfiguration");

	if (strcmp(file, "configmap-scripts.yaml") == 0 &&
	    !json_equal(json_object_get(before, "data"), json_object_get(after, "data")))
		diag_add(diags, DIAG_ERROR, where, 0, 0, "an overlay may not change the scripts' data: the ConfigMap is "
							 "named after their hash, so the change would never roll out; edit "
							 "the scripts instead");
	if (changed(before, after, "spec", "image"))
		diag_add(diags, DIAG_ERROR, where, 0, 0, "an overlay may not replace spec.image: the image is factory's");
	if (changed(before, after, "spec", "serviceAccount"))
		diag_add(diags, DIAG_ERROR, where, 0, 0, "an overlay may not change spec.serviceAccount: set serviceAccount "
							 "in the recipe");
	for (const char *const *k = operator_keys; *k; k++) {
		if (!same(json_object_get(conf_before, *k), json_object_get(conf_after, *k)))
			diag_add(diags, DIAG_ERROR, where, 0, 0, "an overlay may not set flinkConfiguration %s: the operator "
								 "owns it", *k);
	}
	if (!contains_key(before, "hostPath", false) && contains_key(after, "hostPath", false))
		diag_add(diags, DIAG_ERROR, where, 0, 0, "an overlay may not add a hostPath volume");
	if (!contains_key(before, "privileged", true) && contains_key(after, "privileged", true))
		diag_add(diags, DIAG_ERROR, where, 0, 0, "an overlay may not make a container privileged");
	free(where);
}

static int apply_templates(struct render_output *out, const struct recipe *r, struct diag_list *diags,
			   struct error *err)
{
	char *dir, *extra_dir;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!r->templates_dir)
		return 0;
	dir = r->templates_dir[0] == '/' ? strdup(r->templates_dir) : fs_path_join(r->dir, r->templates_dir);
	if (!dir)
		abort();
	for (size_t i = 0; i < out->count && rc == 0; i++) {
		char *path = fs_path_join(dir, out->files[i].name);
		struct stat st;
		json_t *overlay;
		if (lstat(path, &st) == 0) {
			/* An overlay is read only where it really lies inside the templates directory: a
			 * link to a kubeconfig is refused, so is a FIFO. */
			rc = fs_check_beneath(dir, out->files[i].name, false, err) ? error_wrap(err, "templates")
			     : load_template(path, &overlay, diags, err);
			if (rc == 0) {
				json_t *before = json_deep_copy(out->files[i].object);
				size_t errors = diags->errors;
				render_merge(out->files[i].object, overlay);
				json_decref(overlay);
				check_overlay(before, out->files[i].object, out->files[i].name, dir, diags);
				json_decref(before);
				if (diags->errors > errors)
					rc = error_set(err, ERROR_INVALID, "templates: an overlay breaks the recipe's rules");
			}
		}
		free(path);
	}
	/* Extra objects the recipe does not model: added as they are, in name order. */
	extra_dir = fs_path_join(dir, "extra");
	d = rc == 0 ? opendir(extra_dir) : NULL;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names || !(names[n++] = strdup(de->d_name)))
			abort();
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), compare_cstr);
	for (size_t i = 0; i < n; i++) {
		char *path = fs_path_join(extra_dir, names[i]);
		char *file = xasprintf("extra-%s", names[i]);
		json_t *object;
		char *rel = xasprintf("extra/%s", names[i]);
		if (rc == 0 && fs_check_beneath(dir, rel, false, err))
			rc = error_wrap(err, "templates");
		free(rel);
		if (rc == 0 && load_template(path, &object, diags, err) == 0) {
			const json_t *meta = json_object_get(object, "metadata");
			if (!json_is_string(json_object_get(object, "apiVersion")) ||
			    !json_is_string(json_object_get(object, "kind")) ||
			    !json_is_string(json_object_get(meta, "name"))) {
				diag_add(diags, DIAG_ERROR, path, 1, 1,
					 "an extra object needs apiVersion, kind and metadata.name");
				rc = error_set(err, ERROR_INVALID, "%s: invalid template", path);
				json_decref(object);
			} else if (contains_key(object, "hostPath", false) || contains_key(object, "privileged", true)) {
				diag_add(diags, DIAG_ERROR, path, 1, 1, "an extra object may not use hostPath or privileged");
				rc = error_set(err, ERROR_INVALID, "%s: invalid template", path);
				json_decref(object);
			} else {
				k8s_add_file(out, file, object, true);
			}
		} else {
			rc = -1;
		}
		free(file);
		free(path);
		free(names[i]);
	}
	free(names);
	free(extra_dir);
	free(dir);
	return rc;
}

/* ---- entry points ------------------------------------------------------------------------- */

int render_target_run(struct render_output **out, const struct render_target *target, const struct recipe *r,
		      const struct render_options *options, struct diag_list *diags, struct error *err)
{
	struct render_output *o = calloc(1, sizeof(*o));
	char *configmap_name = NULL;
	struct render_context ctx = {0};
	int rc;

	*out = NULL;
	if (!o)
		abort();
	o->image = image_reference(r, options);
	o->source = xstrdup(fs_basename(r->file));
	if (r->has_python) {
		json_t *cm = k8s_scripts_configmap(r, o->scripts_hash, &configmap_name, err);
		if (!cm) {
			render_output_free(o);
			return -1;
		}
		k8s_add_file(o, "configmap-scripts.yaml", cm, true);
	}
	ctx.image = o->image;
	ctx.scripts_configmap = configmap_name;
	ctx.scripts_hash = o->scripts_hash;
	rc = target->render(o, r, &ctx, err);
	free(configmap_name);
	if (rc || apply_templates(o, r, diags, err)) {
		render_output_free(o);
		return -1;
	}
	if (target->kustomize_config)
		k8s_add_file(o, "kustomizeconfig.yaml", target->kustomize_config(r), false);
	k8s_add_file(o, "kustomization.yaml",
		     k8s_kustomization(r, o, target->kustomize_config ? "kustomizeconfig.yaml" : NULL), false);
	*out = o;
	return 0;
}

static void check_target_rules(const struct recipe *r, struct diag_list *diags)
{
	const struct render_target *target = render_target_find(r->render_target);

	if (target)
		target->validate(r, diags);
	else
		diag_add(diags, DIAG_ERROR, r->file, 0, 0, "no render target '%s'", r->render_target);
}

const struct recipe_rules render_rules = {check_target_rules};

int render_recipe(struct render_output **out, const struct recipe *r, const struct render_options *options,
		  struct diag_list *diags, struct error *err)
{
	const struct render_target *target = render_target_find(r->render_target);

	*out = NULL;
	if (!target)
		return error_set(err, ERROR_INTERNAL, "no render target '%s'", r->render_target ? r->render_target : "");
	return render_target_run(out, target, r, options, diags, err);
}

void render_output_free(struct render_output *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->count; i++) {
		free(o->files[i].name);
		free(o->files[i].image_comment);
		json_decref(o->files[i].object);
	}
	free(o->files);
	free(o->image);
	free(o->source);
	free(o);
}
