/* scaffold_import.c - a recipe from a hand-written FlinkDeployment (flink.apache.org/v1beta1).
 *
 * Each field of the deployment becomes the recipe key that renders it back, where the recipe
 * has one; flinkConfiguration entries the recipe has no key for go to its free-form
 * flinkConfiguration; anything else (a sidecar, tolerations, a hostPath volume, the trigger
 * nonces) is recorded in s->dropped with its line so the user can decide what to do with it.
 */
#include "scaffold.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flink.h"
#include "fsutil.h"
#include "recipe.h"
#include "render/jsonb.h"
#include "util.h"
#include "yamlout.h"
#include "ydoc.h"

#define IMPORT_MAX_SIZE (4 * 1024 * 1024)

void scaffold_add_file(struct scaffold *s, const char *path, char *content, bool optional);

struct import {
	struct scaffold *s;
	const struct ynode *spec;
	const struct ydoc *scripts_doc;
	const char *scripts_name; /* the ConfigMap's metadata.name */
	const char *volume_mount; /* where the main container mounts a volume of that ConfigMap */
	const char *pvc_claim;    /* the one PersistentVolumeClaim volume the recipe can carry */
	const char *pvc_mount;
	int major, minor;
	json_t *recipe, *conf, *state, *job;
};

static void drop(struct import *im, const struct ynode *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void drop(struct import *im, const struct ynode *node, const char *fmt, ...)
{
	struct scaffold *s = im->s;
	va_list ap;
	char *path;

	va_start(ap, fmt);
	path = xvasprintf(fmt, ap);
	va_end(ap);
	s->dropped = realloc(s->dropped, (s->dropped_count + 1) * sizeof(*s->dropped));
	if (!s->dropped)
		abort();
	s->dropped[s->dropped_count].path = path;
	s->dropped[s->dropped_count].line = node ? node->line : 0;
	s->dropped_count++;
}

static void note(struct scaffold *s, char *text)
{
	s->notes = realloc(s->notes, (s->note_count + 1) * sizeof(*s->notes));
	if (!s->notes)
		abort();
	s->notes[s->note_count++] = text;
}

static const char *scalar(const struct ynode *n)
{
	return n && n->kind == YNODE_SCALAR && !yscalar_is_null(n) ? n->value : NULL;
}

static json_t *object_at(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);

	if (!o) {
		o = jsonb_object();
		jsonb_set(parent, key, o);
	}
	return o;
}

/* A number as the deployment wrote it: 1 stays an integer, 0.5 a real. */
static json_t *number(const struct ynode *n)
{
	long long i;
	double d;

	if (yscalar_int(n, &i))
		return jsonb_must(json_integer(i));
	if (yscalar_number(n, &d))
		return jsonb_must(json_real(d));
	return NULL;
}

/* A count, also when quoted ("4"): flinkConfiguration values often are. */
static bool set_int(json_t *o, const char *key, const struct ynode *n)
{
	long long i;
	char *end;

	if (!n || n->kind != YNODE_SCALAR || !isdigit((unsigned char)n->value[0]))
		return false;
	i = strtoll(n->value, &end, 10);
	if (*end || i < 1 || i > 1000000)
		return false;
	jsonb_set(o, key, jsonb_must(json_integer(i)));
	return true;
}

/* Every key the walk below does not name is dropped, so nothing vanishes silently. */
static void drop_others(struct import *im, const struct ynode *map, const char *prefix, const char *const *known)
{
	if (!map || map->kind != YNODE_MAPPING)
		return;
	for (size_t i = 0; i < map->count; i++) {
		const char *key = map->keys[i]->value;
		bool k = false;
		for (const char *const *p = known; *p && !k; p++)
			k = strcmp(*p, key) == 0;
		if (!k)
			drop(im, map->keys[i], "%s%s%s", prefix, *prefix ? "." : "", key);
	}
}

/* ---- flinkConfiguration ---------------------------------------------------------------- */

struct flat {
	char *key;
	const struct ynode *value; /* a scalar */
	const struct ynode *key_node;
	bool used;
};

struct flat_list {
	struct flat *items;
	size_t count;
};

/* Flink reads nested YAML maps as dotted keys (state: {checkpoints.dir: x}); the recipe's
 * flinkConfiguration is flat, as the operator's own output is. */
static void flatten(struct import *im, const struct ynode *map, const char *prefix, struct flat_list *out)
{
	for (size_t i = 0; i < map->count; i++) {
		char *key = prefix ? xasprintf("%s.%s", prefix, map->keys[i]->value) : xstrdup(map->keys[i]->value);
		const struct ynode *v = map->values[i];
		if (v->kind == YNODE_MAPPING) {
			flatten(im, v, key, out);
			free(key);
			continue;
		}
		if (v->kind == YNODE_SEQUENCE || yscalar_is_null(v)) {
			drop(im, map->keys[i], "spec.flinkConfiguration.%s", key);
			free(key);
			continue;
		}
		out->items = realloc(out->items, (out->count + 1) * sizeof(*out->items));
		if (!out->items)
			abort();
		out->items[out->count++] = (struct flat){key, v, map->keys[i], false};
	}
}

static struct flat *conf_find(struct flat_list *list, const char *key)
{
	for (size_t i = 0; i < list->count; i++)
		if (!list->items[i].used && strcmp(list->items[i].key, key) == 0)
			return &list->items[i];
	return NULL;
}

/* Moves `key` to a recipe string key when its value is one the recipe accepts. */
static const char *take(struct flat_list *list, const char *key, json_t *o, const char *recipe_key,
			const char *const *choices)
{
	struct flat *f = conf_find(list, key);
	bool ok;

	if (!f)
		return NULL;
	ok = !choices;
	for (const char *const *c = choices; c && *c && !ok; c++)
		ok = strcmp(*c, f->value->value) == 0;
	if (!ok)
		return NULL;
	f->used = true;
	if (o)
		jsonb_set_str(o, recipe_key, f->value->value);
	return f->value->value;
}

static void import_configuration(struct import *im, const char *python_executable)
{
	static const char *const backends[] = {"rocksdb", "hashmap", NULL};
	static const char *const booleans[] = {"true", "false", NULL};
	static const char *const operator_keys[] = {"kubernetes.namespace", "kubernetes.cluster-id",
						    "high-availability.cluster-id", NULL};
	const struct ynode *conf = ynode_get(im->spec, "flinkConfiguration");
	struct flat_list list = {0};
	struct flat *f;
	const char *v;

	if (conf && conf->kind == YNODE_MAPPING)
		flatten(im, conf, NULL, &list);
	if ((f = conf_find(&list, "taskmanager.numberOfTaskSlots")) &&
	    set_int(object_at(im->recipe, "taskManager"), "slots", f->value))
		f->used = true;
	take(&list, "state.backend.type", im->state, "backend", backends);
	if ((v = take(&list, "state.backend.incremental", NULL, NULL, booleans)))
		jsonb_set(im->state, "incremental", jsonb_must(json_boolean(strcmp(v, "true") == 0)));
	if ((f = conf_find(&list, "state.checkpoints.dir")) && recipe_uri_has_scheme(f->value->value))
		take(&list, "state.checkpoints.dir", im->state, "checkpoints", NULL);
	if ((f = conf_find(&list, "state.savepoints.dir")) && recipe_uri_has_scheme(f->value->value))
		take(&list, "state.savepoints.dir", im->state, "savepoints", NULL);
	if ((f = conf_find(&list, "execution.checkpointing.interval")) && recipe_duration_valid(f->value->value))
		take(&list, "execution.checkpointing.interval", im->state, "checkpointInterval", NULL);
	/* The recipe's HA renders both keys, so it takes them only together. */
	if ((f = conf_find(&list, "high-availability.type")) && strcmp(f->value->value, "kubernetes") == 0 &&
	    (f = conf_find(&list, "high-availability.storageDir")) && recipe_uri_has_scheme(f->value->value)) {
		take(&list, "high-availability.type", im->state, "ha", NULL);
		take(&list, "high-availability.storageDir", im->state, "haStorageDir", NULL);
	}
	if ((f = conf_find(&list, "kubernetes.operator.periodic.savepoint.interval")) && recipe_duration_valid(f->value->value))
		take(&list, "kubernetes.operator.periodic.savepoint.interval", object_at(im->job, "savepoint"),
		     "interval", NULL);
	if ((f = conf_find(&list, "kubernetes.operator.savepoint.history.max.count")) &&
	    set_int(object_at(im->job, "savepoint"), "historyMaxCount", f->value))
		f->used = true;
	/* The recipe sets python.executable from python.executable; a different one stays. */
	if (python_executable && (f = conf_find(&list, "python.executable")) &&
	    strcmp(f->value->value, python_executable) == 0)
		f->used = true;
	for (const char *const *k = operator_keys; *k; k++)
		if ((f = conf_find(&list, *k))) {
			drop(im, f->key_node, "spec.flinkConfiguration.%s", f->key);
			f->used = true;
		}
	for (size_t i = 0; i < list.count; i++) {
		if (!list.items[i].used)
			jsonb_set_str(im->conf, list.items[i].key, list.items[i].value->value);
		free(list.items[i].key);
	}
	free(list.items);
}

/* ---- pods -------------------------------------------------------------------------------- */

static const struct ynode *main_container(const struct ynode *pod_spec, size_t *index)
{
	const struct ynode *containers = ynode_get(pod_spec, "containers");

	for (size_t i = 0; containers && containers->kind == YNODE_SEQUENCE && i < containers->count; i++) {
		const char *name = scalar(ynode_get(containers->values[i], "name"));
		if (name && strcmp(name, FLINK_MAIN_CONTAINER) == 0) {
			*index = i;
			return containers->values[i];
		}
	}
	return NULL;
}

static const struct ynode *mount_of(const struct ynode *container, const char *volume)
{
	const struct ynode *mounts = ynode_get(container, "volumeMounts");

	for (size_t i = 0; mounts && mounts->kind == YNODE_SEQUENCE && i < mounts->count; i++) {
		const char *name = scalar(ynode_get(mounts->values[i], "name"));
		if (name && strcmp(name, volume) == 0)
			return mounts->values[i];
	}
	return NULL;
}

/* A mount the recipe can say: only `name` and `mountPath`. */
static const char *plain_mount_path(const struct ynode *mount)
{
	static const char *const keys[] = {"name", "mountPath", "readOnly", NULL};

	for (size_t i = 0; mount && i < mount->count; i++) {
		bool k = false;
		for (const char *const *p = keys; *p && !k; p++)
			k = strcmp(*p, mount->keys[i]->value) == 0;
		if (!k)
			return NULL;
	}
	return scalar(ynode_get(mount, "mountPath"));
}

static void import_pod_template(struct import *im)
{
	static const char *const pod_keys[] = {"apiVersion", "kind", "spec", NULL};
	static const char *const spec_keys[] = {"containers", "volumes", "imagePullSecrets", NULL};
	static const char *const main_keys[] = {"name", "env", "volumeMounts", NULL};
	const struct ynode *pod = ynode_get(im->spec, "podTemplate"), *spec, *main, *volumes, *secrets;
	const struct ynode *containers, *env;
	bool *mount_used = NULL;
	size_t main_index = 0;

	if (!pod)
		return;
	drop_others(im, pod, "spec.podTemplate", pod_keys);
	spec = ynode_get(pod, "spec");
	drop_others(im, spec, "spec.podTemplate.spec", spec_keys);
	main = main_container(spec, &main_index);
	containers = ynode_get(spec, "containers");
	for (size_t i = 0; containers && containers->kind == YNODE_SEQUENCE && i < containers->count; i++)
		if (containers->values[i] != main) {
			const char *name = scalar(ynode_get(containers->values[i], "name"));
			drop(im, containers->values[i], "spec.podTemplate.spec.containers[%zu] (%s)", i, name ? name : "?");
		}
	if (main) {
		const struct ynode *mounts = ynode_get(main, "volumeMounts");
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "spec.podTemplate.spec.containers[%zu]", main_index);
		drop_others(im, main, prefix, main_keys);
		if (mounts && mounts->kind == YNODE_SEQUENCE && mounts->count)
			mount_used = calloc(mounts->count, sizeof(*mount_used));
		env = ynode_get(main, "env");
		for (size_t i = 0; env && env->kind == YNODE_SEQUENCE && i < env->count; i++) {
			const struct ynode *e = env->values[i];
			const char *name = scalar(ynode_get(e, "name")), *value = scalar(ynode_get(e, "value"));
			if (name && value && e->count == 2)
				jsonb_set_str(object_at(im->recipe, "env"), name, value);
			else
				drop(im, e, "%s.env[%zu] (%s)", prefix, i, name ? name : "?");
		}
	}
	volumes = ynode_get(spec, "volumes");
	for (size_t i = 0; volumes && volumes->kind == YNODE_SEQUENCE && i < volumes->count; i++) {
		const struct ynode *v = volumes->values[i];
		const char *name = scalar(ynode_get(v, "name"));
		const char *cm = scalar(ynode_at_path(v, "configMap.name"));
		const char *claim = scalar(ynode_at_path(v, "persistentVolumeClaim.claimName"));
		const struct ynode *mount = name && main ? mount_of(main, name) : NULL;
		const char *mount_path = plain_mount_path(mount);
		bool carried = false;

		if (v->count == 2 && cm && im->scripts_name && strcmp(cm, im->scripts_name) == 0 && mount_path) {
			im->volume_mount = mount_path; /* factory mounts its own scripts ConfigMap there */
			carried = true;
		} else if (v->count == 2 && claim && ynode_at_path(v, "persistentVolumeClaim")->count == 1 &&
			   mount_path && !im->pvc_claim) {
			im->pvc_claim = claim;
			im->pvc_mount = mount_path;
			carried = true;
		}
		if (carried) {
			const struct ynode *mounts = ynode_get(main, "volumeMounts");
			for (size_t m = 0; m < mounts->count; m++)
				if (mounts->values[m] == mount)
					mount_used[m] = true;
		} else {
			drop(im, v, "spec.podTemplate.spec.volumes[%zu] (%s)", i, name ? name : "?");
		}
	}
	if (main) {
		const struct ynode *mounts = ynode_get(main, "volumeMounts");
		for (size_t m = 0; mounts && mounts->kind == YNODE_SEQUENCE && m < mounts->count; m++)
			if (!mount_used[m]) {
				const char *name = scalar(ynode_get(mounts->values[m], "name"));
				drop(im, mounts->values[m], "spec.podTemplate.spec.containers[%zu].volumeMounts[%zu] (%s)",
				     main_index, m, name ? name : "?");
			}
	}
	if ((secrets = ynode_get(spec, "imagePullSecrets")))
		drop(im, secrets, "spec.podTemplate.spec.imagePullSecrets");
	free(mount_used);
}

static int import_resources(struct import *im, const char *which, const char *recipe_key, struct error *err)
{
	static const char *const known[] = {"resource", "replicas", NULL};
	static const char *const resource_keys[] = {"memory", "cpu", "ephemeralStorage", NULL};
	const struct ynode *node = ynode_get(im->spec, which), *res;
	json_t *o = object_at(im->recipe, recipe_key), *cpu;
	char prefix[64];
	const char *memory;

	snprintf(prefix, sizeof(prefix), "spec.%s", which);
	drop_others(im, node, prefix, known);
	res = ynode_get(node, "resource");
	snprintf(prefix, sizeof(prefix), "spec.%s.resource", which);
	drop_others(im, res, prefix, resource_keys);
	if (!(memory = scalar(ynode_get(res, "memory"))))
		return error_set(err, ERROR_INVALID, "spec.%s.resource.memory: the operator requires it (line %d)",
				 which, node ? node->line : im->spec->line);
	jsonb_set_str(o, "memory", memory);
	if (ynode_get(res, "cpu") && (cpu = number(ynode_get(res, "cpu"))))
		jsonb_set(o, "cpu", cpu);
	if (scalar(ynode_get(res, "ephemeralStorage")))
		jsonb_set_str(o, "ephemeralStorage", scalar(ynode_get(res, "ephemeralStorage")));
	if (ynode_get(node, "replicas") && !set_int(o, "replicas", ynode_get(node, "replicas")))
		drop(im, ynode_get(node, "replicas"), "spec.%s.replicas", which);
	return 0;
}

static void import_ingress(struct import *im)
{
	static const char *const known[] = {"template", "className", "annotations", "tls", NULL};
	const struct ynode *ing = ynode_get(im->spec, "ingress"), *ann, *tls;
	const char *tmpl, *slash;
	json_t *o;

	if (!ing)
		return;
	if (!(tmpl = scalar(ynode_get(ing, "template")))) {
		drop(im, ing, "spec.ingress");
		return;
	}
	/* The recipe's ingress.host is a DNS name; the operator's {{name}} placeholders are not. */
	for (const char *p = tmpl; *p && *p != '/'; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '.' && *p != '-') {
			drop(im, ing, "spec.ingress");
			return;
		}
	drop_others(im, ing, "spec.ingress", known);
	o = object_at(im->recipe, "ingress");
	jsonb_set_str(o, "style", "operator");
	slash = strchr(tmpl, '/');
	if (slash) {
		char *host = xasprintf("%.*s", (int)(slash - tmpl), tmpl);
		jsonb_set_str(o, "host", host);
		jsonb_set_str(o, "path", slash);
		free(host);
	} else {
		jsonb_set_str(o, "host", tmpl);
	}
	if (scalar(ynode_get(ing, "className")))
		jsonb_set_str(o, "className", scalar(ynode_get(ing, "className")));
	if ((ann = ynode_get(ing, "annotations")) && ann->kind == YNODE_MAPPING)
		for (size_t i = 0; i < ann->count; i++)
			if (scalar(ann->values[i]))
				jsonb_set_str(object_at(o, "annotations"), ann->keys[i]->value, ann->values[i]->value);
	tls = ynode_get(ing, "tls");
	if (tls && tls->kind == YNODE_SEQUENCE && tls->count == 1 && scalar(ynode_get(tls->values[0], "secretName")))
		jsonb_set_str(o, "tlsSecret", scalar(ynode_get(tls->values[0], "secretName")));
	else if (tls)
		drop(im, tls, "spec.ingress.tls");
}

/* ---- the job ----------------------------------------------------------------------------- */

static bool python_flag(const char *arg)
{
	return strcmp(arg, "-py") == 0 || strcmp(arg, "--python") == 0 || strcmp(arg, "-pyfile") == 0;
}

/* The full release a PyFlink recipe needs: from the flink-python jar's name, else from the
 * image's tag, else the minor's first release. */
static char *full_version(struct import *im, const char *jar, const char *image)
{
	const char *sources[] = {jar, image};

	for (size_t i = 0; i < 2; i++) {
		const char *p = sources[i];
		for (; p && *p; p++) {
			int major, minor, patch, n = 0;
			if (!isdigit((unsigned char)*p) || (p > sources[i] && isdigit((unsigned char)p[-1])))
				continue;
			if (sscanf(p, "%d.%d.%d%n", &major, &minor, &patch, &n) == 3 && major == im->major &&
			    minor == im->minor)
				return xasprintf("%d.%d.%d", major, minor, patch);
		}
	}
	note(im->s, xasprintf("flink.version: PyFlink needs the full release; %d.%d.0 was assumed, "
			      "correct it to the image's release",
			      im->major, im->minor));
	return xasprintf("%d.%d.0", im->major, im->minor);
}

static int import_scripts(struct import *im, const char *entry_key, struct error *err)
{
	const struct ynode *data = ynode_get(im->scripts_doc->root, "data");
	json_t *py = object_at(im->recipe, "python"), *scripts = jsonb_array();
	bool found = false;

	if (!data || data->kind != YNODE_MAPPING || data->count == 0)
		return error_set(err, ERROR_INVALID, "%s: the ConfigMap has no data", im->scripts_doc->file);
	for (size_t i = 0; i < data->count; i++) {
		const char *key = data->keys[i]->value;
		char *path;
		if (data->values[i]->kind != YNODE_SCALAR)
			return error_set(err, ERROR_INVALID, "%s:%d: data.%s is not a string", im->scripts_doc->file,
					 data->keys[i]->line, key);
		if (!*key || strchr(key, '/') || str_has_control(key) || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
			return error_set(err, ERROR_INVALID, "%s:%d: data key '%s' is not a file name",
					 im->scripts_doc->file, data->keys[i]->line, key);
		path = xasprintf("jobs/%s", key);
		scaffold_add_file(im->s, path, xasprintf("%.*s", (int)data->values[i]->length, data->values[i]->value),
				  false);
		jsonb_push_str(scripts, path);
		free(path);
		found = found || strcmp(key, entry_key) == 0;
	}
	jsonb_set(py, "scripts", scripts);
	if (!found)
		return error_set(err, ERROR_INVALID, "%s: the job runs %s, which the ConfigMap's data does not hold",
				 im->scripts_doc->file, entry_key);
	if (data->count > 1)
		jsonb_set_str(py, "entry", entry_key);
	return 0;
}

/* -pyclientexec X -py DIR/FILE [-pyfs DIR] ARGS... with the script from the ConfigMap. */
static int import_python(struct import *im, const struct ynode *jobn, const char *jar, char **executable,
			 struct error *err)
{
	const struct ynode *args = ynode_get(jobn, "args");
	json_t *py, *user = jsonb_array();
	const char *script = NULL, *pyfs = NULL;
	char *dir = NULL, *version;
	int rc;

	for (size_t i = 0; args && args->kind == YNODE_SEQUENCE && i < args->count; i++) {
		const char *a = scalar(args->values[i]), *next = i + 1 < args->count ? scalar(args->values[i + 1]) : NULL;
		if (a && next && !script && python_flag(a)) {
			script = next;
			i++;
		} else if (a && next && strcmp(a, "-pyclientexec") == 0 && !*executable) {
			*executable = xstrdup(next);
			i++;
		} else if (a && next && strcmp(a, "-pyfs") == 0 && !pyfs) {
			pyfs = next;
			i++;
		} else {
			jsonb_push_str(user, a ? a : "");
		}
	}
	if (!script) {
		json_decref(user);
		return error_set(err, ERROR_INVALID, "spec.job.args: a PythonDriver job without -py (line %d)", jobn->line);
	}
	version = full_version(im, jar, scalar(ynode_get(im->spec, "image")));
	jsonb_set_str(object_at(im->recipe, "flink"), "version", version);
	free(version);
	py = object_at(im->recipe, "python");
	rc = import_scripts(im, fs_basename(script), err);
	if (rc == 0) {
		dir = fs_dirname(script);
		if (dir[0] != '/' || recipe_mount_hides_image(dir)) {
			note(im->s, xasprintf("the job runs %s; a ConfigMap mounted at %s would hide the image's files: "
					      "the recipe mounts the scripts at " FLINK_HOME "/pyflink",
					      script, dir));
			free(dir);
			dir = xstrdup(FLINK_HOME "/pyflink");
		}
		if (im->volume_mount && strcmp(im->volume_mount, dir) != 0)
			note(im->s, xasprintf("the job runs %s, outside the ConfigMap's mount %s: the recipe runs it "
					      "from python.mountPath",
					      script, im->volume_mount));
		jsonb_set_str(py, "mountPath", dir);
		if (pyfs && strcmp(pyfs, dir) != 0) {
			jsonb_push_str(user, "-pyfs");
			jsonb_push_str(user, pyfs);
		}
		if (json_array_size(user))
			jsonb_set(py, "args", user);
		else
			json_decref(user);
		jsonb_set_str(py, "executable", *executable ? *executable : "python");
		if (!*executable)
			*executable = xstrdup("python");
	} else {
		json_decref(user);
	}
	free(dir);
	return rc;
}

static void import_job_settings(struct import *im, const struct ynode *jobn)
{
	const char *v;

	if (ynode_get(jobn, "parallelism") && !set_int(im->job, "parallelism", ynode_get(jobn, "parallelism")))
		drop(im, ynode_get(jobn, "parallelism"), "spec.job.parallelism");
	if ((v = scalar(ynode_get(jobn, "upgradeMode"))))
		jsonb_set_str(im->job, "upgradeMode", v);
	if ((v = scalar(ynode_get(jobn, "state"))))
		jsonb_set_str(im->job, "state", v);
	if (ynode_get(jobn, "allowNonRestoredState")) {
		bool b;
		if (yscalar_bool(ynode_get(jobn, "allowNonRestoredState"), &b))
			jsonb_set(im->job, "allowNonRestoredState", jsonb_must(json_boolean(b)));
	}
	if ((v = scalar(ynode_get(jobn, "initialSavepointPath"))))
		jsonb_set_str(im->job, "initialSavepointPath", v);
}

static int import_job(struct import *im, char **executable, struct error *err)
{
	static const char *const known[] = {"jarURI", "entryClass", "args", "parallelism", "upgradeMode", "state",
					    "allowNonRestoredState", "initialSavepointPath", NULL};
	const struct ynode *jobn = ynode_get(im->spec, "job"), *args;
	const char *jar, *entry;
	json_t *java;

	if (!jobn) {
		jsonb_set_str(im->recipe, "mode", "session");
		return 0;
	}
	drop_others(im, jobn, "spec.job", known);
	jar = scalar(ynode_get(jobn, "jarURI"));
	entry = scalar(ynode_get(jobn, "entryClass"));
	import_job_settings(im, jobn);
	if (entry && strcmp(entry, FLINK_PYTHON_DRIVER) == 0 && im->scripts_doc)
		return import_python(im, jobn, jar, executable, err);
	java = object_at(im->recipe, "java");
	if (!jar) {
		char uri[256];
		if (!entry || strcmp(entry, FLINK_PYTHON_DRIVER) != 0)
			return error_set(err, ERROR_INVALID, "spec.job.jarURI: missing (line %d); the recipe needs one",
					 jobn->line);
		flink_python_jar_uri(im->major, im->minor, 0, uri, sizeof(uri));
		note(im->s, xasprintf("spec.job has no jarURI: java.jarURI is %s, the flink-python jar of the "
				      "official image; correct it to the image's release",
				      uri));
		jsonb_set_str(java, "jarURI", uri);
	} else {
		jsonb_set_str(java, "jarURI", jar);
	}
	if (entry)
		jsonb_set_str(java, "entryClass", entry);
	if ((args = ynode_get(jobn, "args")) && args->kind == YNODE_SEQUENCE && args->count) {
		json_t *list = jsonb_array();
		for (size_t i = 0; i < args->count; i++)
			jsonb_push_str(list, scalar(args->values[i]) ? args->values[i]->value : "");
		jsonb_set(java, "args", list);
	}
	if (entry && strcmp(entry, FLINK_PYTHON_DRIVER) == 0)
		note(im->s, xasprintf("a PyFlink job whose script is in the image: it is carried over as a java job "
				      "running the PythonDriver; --scripts CONFIGMAP ships the scripts in a ConfigMap"));
	return 0;
}

/* ---- the document ------------------------------------------------------------------------ */

static int check_kind(const struct ydoc *doc, const char *api_version, const char *kind, struct error *err)
{
	const char *a = scalar(ynode_get(doc->root, "apiVersion")), *k = scalar(ynode_get(doc->root, "kind"));

	if (!doc->root || doc->root->kind != YNODE_MAPPING || !a || !k || strcmp(k, kind) != 0 ||
	    (api_version && strcmp(a, api_version) != 0))
		return error_set(err, ERROR_INVALID, "%s: not a %s%s%s", doc->file, api_version ? api_version : "",
				 api_version ? " " : "", kind);
	return 0;
}

static int import_metadata(struct import *im, const struct ydoc *doc, struct error *err)
{
	static const char *const known[] = {"name", "namespace", "labels", NULL};
	const struct ynode *meta = ynode_get(doc->root, "metadata"), *labels;
	json_t *m = object_at(im->recipe, "metadata");
	const char *name = scalar(ynode_get(meta, "name"));

	if (!name)
		return error_set(err, ERROR_INVALID, "%s: metadata.name is missing", doc->file);
	im->s->name = xstrdup(name);
	jsonb_set_str(m, "name", name);
	if (scalar(ynode_get(meta, "namespace")))
		jsonb_set_str(m, "namespace", scalar(ynode_get(meta, "namespace")));
	drop_others(im, meta, "metadata", known);
	labels = ynode_get(meta, "labels");
	for (size_t i = 0; labels && labels->kind == YNODE_MAPPING && i < labels->count; i++) {
		const char *key = labels->keys[i]->value;
		/* The recipe's name labels the objects with these itself. */
		if (strcmp(key, "app.kubernetes.io/name") == 0 || strcmp(key, "app.kubernetes.io/managed-by") == 0)
			drop(im, labels->keys[i], "metadata.labels.%s", key);
		else if (scalar(labels->values[i]))
			jsonb_set_str(object_at(m, "labels"), key, labels->values[i]->value);
	}
	return 0;
}

static int import_flink(struct import *im, struct error *err)
{
	const struct ynode *v = ynode_get(im->spec, "flinkVersion");
	const char *text = scalar(v), *image = scalar(ynode_get(im->spec, "image"));
	json_t *flink = object_at(im->recipe, "flink");
	char version[16];

	if (!text || sscanf(text, "v%d_%d", &im->major, &im->minor) != 2)
		return error_set(err, ERROR_INVALID, "spec.flinkVersion: expected v<major>_<minor> such as v1_19 (line %d)",
				 v ? v->line : im->spec->line);
	snprintf(version, sizeof(version), "%d.%d", im->major, im->minor);
	jsonb_set_str(flink, "version", version);
	if (!image)
		return error_set(err, ERROR_INVALID, "spec.image: missing (line %d)", im->spec->line);
	jsonb_set_str(flink, "image", image);
	/* image.pullPolicy and pullSecrets go with an image target (image.repository), which
	 * the deployment cannot tell; the user adds them with one. */
	if (ynode_get(im->spec, "imagePullPolicy"))
		drop(im, ynode_get_key(im->spec, "imagePullPolicy"), "spec.imagePullPolicy");
	if (strncmp(image, "flink:", 6) != 0)
		note(im->s, xasprintf("flink.image is %s: the hand-built image is now the base factory adds to. To "
				      "build on the upstream image instead, set flink.image to flink:%s (or remove "
				      "it) and list the JARs your image adds under connectors: (e.g. - name: kafka)",
				      image, version));
	return 0;
}

static int by_line(const void *a, const void *b)
{
	const struct scaffold_dropped *x = a, *y = b;

	return x->line != y->line ? (x->line < y->line ? -1 : 1) : strcmp(x->path, y->path);
}

static char *header(const char *deployment, const char *scripts)
{
	return xasprintf("# recipe.yaml, imported from %s%s%s by factory init --from.\n"
			 "# What the FlinkDeployment said that no recipe key can was listed as \"not carried over\".\n"
			 "# Check it with `factory validate recipe.yaml`; README.md \"Recipe reference\" lists every key.\n",
			 fs_basename(deployment), scripts ? " and " : "", scripts ? fs_basename(scripts) : "");
}

int scaffold_import(struct scaffold *s, const char *deployment, const char *scripts, struct diag_list *diags,
		    struct error *err)
{
	static const char *const spec_keys[] = {"image", "imagePullPolicy", "flinkVersion", "flinkConfiguration",
						"serviceAccount", "podTemplate", "jobManager", "taskManager", "job",
						"ingress", NULL};
	struct ydoc *doc = NULL, *sdoc = NULL;
	struct import im = {.s = s};
	char *executable = NULL, *yaml = NULL, *text = NULL;
	size_t size;
	int rc = -1;

	if (ydoc_load_file(&doc, deployment, IMPORT_MAX_SIZE, diags, err) ||
	    check_kind(doc, "flink.apache.org/v1beta1", "FlinkDeployment", err))
		goto out;
	if (scripts && (ydoc_load_file(&sdoc, scripts, RECIPE_MAX_SIZE, diags, err) ||
			check_kind(sdoc, "v1", "ConfigMap", err)))
		goto out;
	im.spec = ynode_get(doc->root, "spec");
	if (!im.spec || im.spec->kind != YNODE_MAPPING) {
		error_set(err, ERROR_INVALID, "%s: spec is missing", deployment);
		goto out;
	}
	im.scripts_doc = sdoc;
	im.scripts_name = sdoc ? scalar(ynode_at_path(sdoc->root, "metadata.name")) : NULL;
	im.recipe = jsonb_object();
	jsonb_set_str(im.recipe, "apiVersion", RECIPE_API_VERSION);
	jsonb_set_str(im.recipe, "kind", RECIPE_KIND);
	if (import_metadata(&im, doc, err) || import_flink(&im, err))
		goto out;
	drop_others(&im, doc->root, "", (const char *const[]){"apiVersion", "kind", "metadata", "spec", NULL});
	drop_others(&im, im.spec, "spec", spec_keys);
	import_pod_template(&im);
	im.job = jsonb_object();
	im.state = jsonb_object();
	im.conf = jsonb_object();
	if (import_job(&im, &executable, err))
		goto out;
	if (json_object_size(im.job))
		jsonb_set(im.recipe, "job", json_incref(im.job));
	if (import_resources(&im, "jobManager", "jobManager", err) ||
	    import_resources(&im, "taskManager", "taskManager", err))
		goto out;
	import_configuration(&im, executable);
	if (scalar(ynode_get(im.spec, "serviceAccount")))
		jsonb_set_str(im.recipe, "serviceAccount", scalar(ynode_get(im.spec, "serviceAccount")));
	if (im.pvc_claim) {
		json_t *vol = object_at(im.state, "volume");
		jsonb_set_str(vol, "claimName", im.pvc_claim);
		jsonb_set_str(vol, "mountPath", im.pvc_mount);
	}
	if (json_object_size(im.state))
		jsonb_set(im.recipe, "state", json_incref(im.state));
	if (json_object_size(im.conf))
		jsonb_set(im.recipe, "flinkConfiguration", json_incref(im.conf));
	import_ingress(&im);
	if (s->dropped_count > 1)
		qsort(s->dropped, s->dropped_count, sizeof(*s->dropped), by_line);
	if (yamlout_emit(im.recipe, &yaml, &size, err))
		goto out;
	text = header(deployment, scripts);
	/* The recipe first, so it is the file a refusal names. */
	scaffold_add_file(s, "recipe.yaml", xasprintf("%s%.*s", text, (int)size, yaml), false);
	if (s->file_count > 1) {
		struct scaffold_file recipe = s->files[s->file_count - 1];
		memmove(&s->files[1], &s->files[0], (s->file_count - 1) * sizeof(*s->files));
		s->files[0] = recipe;
	}
	rc = 0;
out:
	json_decref(im.recipe);
	json_decref(im.job);
	json_decref(im.state);
	json_decref(im.conf);
	free(executable);
	free(yaml);
	free(text);
	ydoc_free(sdoc);
	ydoc_free(doc);
	return rc;
}
