#include "render.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flink.h"
#include "fsutil.h"
#include "util.h"
#include "ydoc.h"

#define SCRIPTS_VOLUME "pyflink-scripts"
#define STATE_VOLUME "flink-data"
#define TEMPLATE_MAX_SIZE (1024 * 1024)

/* ---- small JSON builders ----------------------------------------------------------------- */

static json_t *must(json_t *v)
{
	if (!v)
		abort();
	return v;
}

static json_t *obj(void)
{
	return must(json_object());
}

static json_t *arr(void)
{
	return must(json_array());
}

static void set(json_t *o, const char *key, json_t *value)
{
	if (json_object_set_new(o, key, value))
		abort();
}

static void set_str(json_t *o, const char *key, const char *value)
{
	set(o, key, must(json_string(value)));
}

static void push(json_t *a, json_t *value)
{
	if (json_array_append_new(a, value))
		abort();
}

static json_t *str_array(const struct str_list *list)
{
	json_t *a = arr();

	for (size_t i = 0; i < list->count; i++)
		push(a, must(json_string(list->items[i])));
	return a;
}

/* ---- shared pieces ------------------------------------------------------------------------ */

static json_t *string_map(const struct kv_list *list)
{
	json_t *o = obj();

	for (size_t i = 0; i < list->count; i++)
		set_str(o, list->items[i].key, list->items[i].value);
	return o;
}

static json_t *labels_of(const struct recipe *r)
{
	json_t *labels = obj();

	set_str(labels, "app.kubernetes.io/name", r->name);
	set_str(labels, "app.kubernetes.io/managed-by", "factory");
	for (size_t i = 0; i < r->labels.count; i++)
		set_str(labels, r->labels.items[i].key, r->labels.items[i].value);
	return labels;
}

static json_t *metadata(const struct recipe *r, const char *name)
{
	json_t *m = obj();

	set_str(m, "name", name);
	set_str(m, "namespace", r->namespace);
	set(m, "labels", labels_of(r));
	return m;
}

static json_t *object_head(const char *api_version, const char *kind, json_t *meta)
{
	json_t *o = obj();

	set_str(o, "apiVersion", api_version);
	set_str(o, "kind", kind);
	set(o, "metadata", meta);
	return o;
}

static void add_file(struct render_output *out, const char *name, json_t *object, bool resource)
{
	out->files = realloc(out->files, (out->count + 1) * sizeof(*out->files));
	if (!out->files)
		abort();
	out->files[out->count].name = strdup(name);
	if (!out->files[out->count].name)
		abort();
	out->files[out->count].object = object;
	out->files[out->count].resource = resource;
	out->count++;
}

/* ---- objects ------------------------------------------------------------------------------ */

static char *image_reference(const struct recipe *r, const struct render_options *options)
{
	if (options && options->image)
		return xasprintf("%s", options->image);
	if (r->image_repository)
		return xasprintf("%s%s%s:%s", r->image_registry ? r->image_registry : "",
			       r->image_registry ? "/" : "", r->image_repository,
			       r->image_tags.count ? r->image_tags.items[0] : "latest");
	return xasprintf("%s", r->base_image);
}

static json_t *scripts_configmap(const struct recipe *r, char *hash, char **name, struct error *err)
{
	json_t *data = obj(), *cm;
	const char **keys = calloc(r->script_count + 1, sizeof(*keys));

	if (!keys)
		abort();
	/* Sorted like kustomize sorts ConfigMap data, whatever order the recipe lists them in. */
	for (size_t i = 0; i < r->script_count; i++)
		keys[i] = r->scripts[i].key;
	for (size_t i = 1; i < r->script_count; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < r->script_count; i++)
		for (size_t k = 0; k < r->script_count; k++)
			if (strcmp(r->scripts[k].key, keys[i]) == 0)
				set(data, keys[i], must(json_stringn(r->scripts[k].content, r->scripts[k].size)));
	free(keys);
	if (kustomize_configmap_hash(data, hash, err)) {
		json_decref(data);
		return NULL;
	}
	*name = xasprintf("%s-scripts-%s", r->name, hash);
	cm = object_head("v1", "ConfigMap", metadata(r, *name));
	set(cm, "data", data);
	return cm;
}

static void put_conf(json_t *conf, const char *key, const char *value)
{
	if (value)
		set_str(conf, key, value);
}

static void put_conf_int(json_t *conf, const char *key, long long value)
{
	char buf[32];

	if (!value)
		return;
	snprintf(buf, sizeof(buf), "%lld", value);
	set_str(conf, key, buf);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of `o` with its keys in sorted order. */
static json_t *sorted_object(const json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	json_t *out = obj(), *value;
	const char *key;

	if (!keys)
		abort();
	json_object_foreach((json_t *)o, key, value) keys[i++] = key;
	qsort(keys, n, sizeof(*keys), compare_strings);
	for (i = 0; i < n; i++)
		set(out, keys[i], json_incref(json_object_get(o, keys[i])));
	free(keys);
	return out;
}

static json_t *flink_configuration(const struct recipe *r)
{
	json_t *conf = obj(), *sorted;

	put_conf_int(conf, "taskmanager.numberOfTaskSlots", r->task_slots);
	put_conf(conf, "state.backend.type", r->state_backend);
	if (r->incremental_set)
		put_conf(conf, "state.backend.incremental", r->incremental_checkpoints ? "true" : "false");
	/* The deprecated 1.x keys are still read by Flink 2.x and are the ones every operator
	 * version's webhook looks for. */
	put_conf(conf, "state.checkpoints.dir", r->checkpoints_dir);
	put_conf(conf, "state.savepoints.dir", r->savepoints_dir);
	put_conf(conf, "execution.checkpointing.interval", r->checkpoint_interval);
	if (r->ha) {
		put_conf(conf, "high-availability.type", "kubernetes");
		put_conf(conf, "high-availability.storageDir", r->ha_dir);
	}
	if (r->metrics) {
		put_conf(conf, "metrics.reporter.prom.factory.class",
			 "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
		put_conf_int(conf, "metrics.reporter.prom.port", r->metrics_port);
	}
	if (r->has_s3) {
		put_conf(conf, "s3.endpoint", r->s3.endpoint);
		if (r->s3.path_style_access)
			put_conf(conf, "s3.path.style.access", "true");
	}
	if (r->has_python)
		/* TaskManagers start `python` unless told otherwise; the official image has none. */
		put_conf(conf, "python.executable", r->python_executable);
	put_conf(conf, "kubernetes.operator.periodic.savepoint.interval", r->savepoint_interval);
	put_conf_int(conf, "kubernetes.operator.savepoint.history.max.count", r->savepoint_history);
	for (size_t i = 0; i < r->flink_configuration.count; i++)
		set_str(conf, r->flink_configuration.items[i].key, r->flink_configuration.items[i].value);
	sorted = sorted_object(conf);
	json_decref(conf);
	return sorted;
}

static json_t *secret_env(const char *name, const char *secret, const char *key)
{
	json_t *e = obj(), *from = obj(), *ref = obj();

	set_str(ref, "name", secret);
	set_str(ref, "key", key);
	set(from, "secretKeyRef", ref);
	set_str(e, "name", name);
	set(e, "valueFrom", from);
	return e;
}

static json_t *pod_template(const struct recipe *r, const char *configmap_name, const char *hash)
{
	json_t *pod = obj(), *spec = obj(), *containers = arr(), *main = obj();
	json_t *env = arr(), *mounts = arr(), *volumes = arr(), *ports = arr();

	if (configmap_name) {
		json_t *meta = obj(), *annotations = obj();
		set_str(annotations, RENDER_SCRIPTS_HASH_ANNOTATION, hash);
		set(meta, "annotations", annotations);
		set_str(pod, "apiVersion", "v1");
		set_str(pod, "kind", "Pod");
		set(pod, "metadata", meta);
	} else {
		set_str(pod, "apiVersion", "v1");
		set_str(pod, "kind", "Pod");
	}

	set_str(main, "name", FLINK_MAIN_CONTAINER);
	if (r->metrics) {
		json_t *p = obj();
		set_str(p, "name", "metrics");
		set(p, "containerPort", must(json_integer(r->metrics_port)));
		set_str(p, "protocol", "TCP");
		push(ports, p);
	}
	if (r->has_s3 && *r->s3.credentials_secret) {
		/* Flink's S3 filesystems read the AWS default credential chain: the keys never appear in
		 * the FlinkDeployment, only the Secret's name. */
		push(env, secret_env("AWS_ACCESS_KEY_ID", r->s3.credentials_secret, r->s3.access_key_field));
		push(env, secret_env("AWS_SECRET_ACCESS_KEY", r->s3.credentials_secret, r->s3.secret_key_field));
	}
	for (size_t i = 0; i < r->env.count; i++) {
		json_t *e = obj();
		set_str(e, "name", r->env.items[i].key);
		set_str(e, "value", r->env.items[i].value);
		push(env, e);
	}
	if (configmap_name) {
		json_t *m = obj(), *v = obj(), *cm = obj();
		set_str(m, "name", SCRIPTS_VOLUME);
		set_str(m, "mountPath", r->python_mount_path);
		set(m, "readOnly", json_true());
		push(mounts, m);
		set_str(cm, "name", configmap_name);
		set_str(v, "name", SCRIPTS_VOLUME);
		set(v, "configMap", cm);
		push(volumes, v);
	}
	if (r->has_volume) {
		json_t *m = obj(), *v = obj(), *pvc = obj();
		set_str(m, "name", STATE_VOLUME);
		set_str(m, "mountPath", r->volume.mount_path);
		push(mounts, m);
		set_str(pvc, "claimName", r->volume.claim_name);
		set_str(v, "name", STATE_VOLUME);
		set(v, "persistentVolumeClaim", pvc);
		push(volumes, v);
	}
	if (json_array_size(ports))
		set(main, "ports", ports);
	else
		json_decref(ports);
	if (json_array_size(env))
		set(main, "env", env);
	else
		json_decref(env);
	if (json_array_size(mounts))
		set(main, "volumeMounts", mounts);
	else
		json_decref(mounts);
	push(containers, main);
	if (r->image_pull_secrets.count) {
		json_t *secrets = arr();
		for (size_t i = 0; i < r->image_pull_secrets.count; i++) {
			json_t *s = obj();
			set_str(s, "name", r->image_pull_secrets.items[i]);
			push(secrets, s);
		}
		set(spec, "imagePullSecrets", secrets);
	}
	set(spec, "containers", containers);
	if (json_array_size(volumes))
		set(spec, "volumes", volumes);
	else
		json_decref(volumes);
	set(pod, "spec", spec);
	return pod;
}

static json_t *resources(const struct recipe_resources *res, bool with_replicas)
{
	json_t *o = obj(), *resource = obj();

	if (res->cpu_set) {
		double whole;
		if (modf(res->cpu, &whole) == 0.0 && whole < 1e15)
			set(resource, "cpu", must(json_integer((json_int_t)whole)));
		else
			set(resource, "cpu", must(json_real(res->cpu)));
	}
	set_str(resource, "memory", res->memory);
	if (res->ephemeral_storage)
		set_str(resource, "ephemeralStorage", res->ephemeral_storage);
	set(o, "resource", resource);
	if (with_replicas && res->replicas)
		set(o, "replicas", must(json_integer(res->replicas)));
	return o;
}

static json_t *job_spec(const struct recipe_job_spec *job, const char *jar_uri, const char *entry_class,
			json_t *args)
{
	json_t *o = obj();

	set_str(o, "jarURI", jar_uri);
	if (entry_class)
		set_str(o, "entryClass", entry_class);
	if (json_array_size(args))
		set(o, "args", args);
	else
		json_decref(args);
	if (job->parallelism)
		set(o, "parallelism", must(json_integer(job->parallelism)));
	set_str(o, "upgradeMode", job->upgrade_mode);
	set_str(o, "state", job->state);
	if (job->allow_non_restored_state_set)
		set(o, "allowNonRestoredState", must(json_boolean(job->allow_non_restored_state)));
	if (job->initial_savepoint_path)
		set_str(o, "initialSavepointPath", job->initial_savepoint_path);
	return o;
}

static json_t *python_job(const struct recipe *r)
{
	json_t *args = arr();
	char jar[256];
	char *script = fs_path_join(r->python_mount_path, r->python_entry);

	flink_python_jar_uri(r->flink_major, r->flink_minor, r->flink_patch, jar, sizeof(jar));
	push(args, must(json_string("-pyclientexec")));
	push(args, must(json_string(r->python_executable)));
	push(args, must(json_string("-py")));
	push(args, must(json_string(script)));
	if (r->script_count > 1) {
		/* Helper modules beside the entry script: ship them to the TaskManagers' path too. */
		push(args, must(json_string("-pyfs")));
		push(args, must(json_string(r->python_mount_path)));
	}
	for (size_t i = 0; i < r->python_args.count; i++)
		push(args, must(json_string(r->python_args.items[i])));
	free(script);
	return job_spec(&r->job, jar, FLINK_PYTHON_DRIVER, args);
}

static json_t *ingress_tls(const struct recipe *r)
{
	json_t *tls = arr(), *t = obj(), *hosts = arr();

	push(hosts, must(json_string(r->ingress_host)));
	set(t, "hosts", hosts);
	set_str(t, "secretName", r->ingress_tls_secret);
	push(tls, t);
	return tls;
}

static json_t *ingress_template(const struct recipe *r)
{
	json_t *o = obj();
	char *tmpl = xasprintf("%s%s", r->ingress_host, strcmp(r->ingress_path, "/") ? r->ingress_path : "");

	set_str(o, "template", tmpl);
	free(tmpl);
	if (r->ingress_class)
		set_str(o, "className", r->ingress_class);
	if (r->ingress_annotations.count)
		set(o, "annotations", string_map(&r->ingress_annotations));
	if (r->ingress_tls_secret)
		set(o, "tls", ingress_tls(r));
	return o;
}

static json_t *flink_deployment(const struct recipe *r, const char *image, const char *configmap_name,
				const char *hash)
{
	json_t *fd = object_head("flink.apache.org/v1beta1", "FlinkDeployment", metadata(r, r->name));
	json_t *spec = obj(), *tm;
	char version[16];

	recipe_flink_version_enum(r, version, sizeof(version));
	set_str(spec, "image", image);
	if (r->image_pull_policy)
		set_str(spec, "imagePullPolicy", r->image_pull_policy);
	set_str(spec, "flinkVersion", version);
	set(spec, "flinkConfiguration", flink_configuration(r));
	set_str(spec, "serviceAccount", r->service_account);
	set(spec, "podTemplate", pod_template(r, configmap_name, hash));
	set(spec, "jobManager", resources(&r->job_manager, true));
	tm = resources(&r->task_manager, true);
	set(spec, "taskManager", tm);
	if (r->has_ingress && strcmp(r->ingress_style, "operator") == 0)
		set(spec, "ingress", ingress_template(r));
	if (r->mode == RECIPE_APPLICATION) {
		if (r->has_python)
			set(spec, "job", python_job(r));
		else
			set(spec, "job", job_spec(&r->job, r->job.jar_uri, r->job.entry_class, str_array(&r->job.args)));
	}
	set(fd, "spec", spec);
	return fd;
}

static json_t *session_job(const struct recipe *r, const struct recipe_session_job *sj)
{
	json_t *o = object_head("flink.apache.org/v1beta1", "FlinkSessionJob", metadata(r, sj->name));
	json_t *spec = obj();

	set_str(spec, "deploymentName", r->name);
	set(spec, "job", job_spec(&sj->job, sj->job.jar_uri, sj->job.entry_class, str_array(&sj->job.args)));
	set(o, "spec", spec);
	return o;
}

static json_t *ingress(const struct recipe *r)
{
	json_t *meta = metadata(r, r->name), *o, *spec = obj(), *rules = arr(), *rule = obj();
	json_t *http = obj(), *paths = arr(), *path = obj(), *backend = obj(), *service = obj(), *port = obj();
	char *service_name = xasprintf("%s-rest", r->name);

	if (r->ingress_annotations.count)
		set(meta, "annotations", string_map(&r->ingress_annotations));
	o = object_head("networking.k8s.io/v1", "Ingress", meta);
	if (r->ingress_class)
		set_str(spec, "ingressClassName", r->ingress_class);
	if (r->ingress_tls_secret)
		set(spec, "tls", ingress_tls(r));
	set(port, "number", must(json_integer(FLINK_REST_PORT)));
	set_str(service, "name", service_name);
	set(service, "port", port);
	set(backend, "service", service);
	set_str(path, "path", r->ingress_path);
	set_str(path, "pathType", "Prefix");
	set(path, "backend", backend);
	push(paths, path);
	set(http, "paths", paths);
	set_str(rule, "host", r->ingress_host);
	set(rule, "http", http);
	push(rules, rule);
	set(spec, "rules", rules);
	set(o, "spec", spec);
	free(service_name);
	return o;
}

static json_t *rule(const char *group, const char *const *resources_, const char *const *verbs)
{
	json_t *o = obj(), *groups = arr(), *res = arr(), *v = arr();

	push(groups, must(json_string(group)));
	for (; *resources_; resources_++)
		push(res, must(json_string(*resources_)));
	for (; *verbs; verbs++)
		push(v, must(json_string(*verbs)));
	set(o, "apiGroups", groups);
	set(o, "resources", res);
	set(o, "verbs", v);
	return o;
}

static void add_rbac(struct render_output *out, const struct recipe *r)
{
	/* What a Flink JobManager needs in native Kubernetes mode, as the operator's chart grants. */
	static const char *const all_verbs[] = {"get", "list", "watch", "create", "update", "patch", "delete", NULL};
	char *role_name = xasprintf("%s-flink", r->name);
	json_t *role = object_head("rbac.authorization.k8s.io/v1", "Role", metadata(r, role_name));
	json_t *rules = arr(), *binding, *subjects = arr(), *subject = obj(), *ref = obj();

	push(rules, rule("", (const char *const[]){"pods", "configmaps", NULL}, all_verbs));
	push(rules, rule("apps", (const char *const[]){"deployments", "deployments/finalizers", NULL}, all_verbs));
	set(role, "rules", rules);

	binding = object_head("rbac.authorization.k8s.io/v1", "RoleBinding", metadata(r, role_name));
	set_str(subject, "kind", "ServiceAccount");
	set_str(subject, "name", r->service_account);
	set_str(subject, "namespace", r->namespace);
	push(subjects, subject);
	set(binding, "subjects", subjects);
	set_str(ref, "apiGroup", "rbac.authorization.k8s.io");
	set_str(ref, "kind", "Role");
	set_str(ref, "name", role_name);
	set(binding, "roleRef", ref);

	add_file(out, "serviceaccount.yaml", object_head("v1", "ServiceAccount", metadata(r, r->service_account)),
		 true);
	add_file(out, "role.yaml", role, true);
	add_file(out, "rolebinding.yaml", binding, true);
	free(role_name);
}

static json_t *pvc(const struct recipe *r)
{
	json_t *o = object_head("v1", "PersistentVolumeClaim", metadata(r, r->volume.claim_name));
	json_t *spec = obj(), *modes = arr(), *res = obj(), *requests = obj();

	if (r->volume.access_modes.count)
		for (size_t i = 0; i < r->volume.access_modes.count; i++)
			push(modes, must(json_string(r->volume.access_modes.items[i])));
	else
		push(modes, must(json_string("ReadWriteOnce")));
	set(spec, "accessModes", modes);
	set_str(requests, "storage", r->volume.size);
	set(res, "requests", requests);
	set(spec, "resources", res);
	if (r->volume.storage_class)
		set_str(spec, "storageClassName", r->volume.storage_class);
	set(o, "spec", spec);
	return o;
}

static void add_monitoring(struct render_output *out, const struct recipe *r)
{
	char *name = xasprintf("%s-metrics", r->name);
	json_t *meta = metadata(r, name), *labels = json_object_get(meta, "labels");
	json_t *monitor, *spec = obj(), *selector = obj(), *match = obj(), *endpoints = arr(), *ep = obj();

	for (size_t i = 0; i < r->monitor_labels.count; i++)
		set_str(labels, r->monitor_labels.items[i].key, r->monitor_labels.items[i].value);
	set_str(ep, "port", "metrics");
	set_str(ep, "interval", r->monitor_interval);
	push(endpoints, ep);

	if (strcmp(r->monitor_kind, "PodMonitor") == 0) {
		/* Flink's native Kubernetes integration labels every JobManager and TaskManager pod
		 * with app=<deployment name>. */
		set_str(match, "app", r->name);
		set(selector, "matchLabels", match);
		set(spec, "selector", selector);
		set(spec, "podMetricsEndpoints", endpoints);
		monitor = object_head("monitoring.coreos.com/v1", "PodMonitor", meta);
		set(monitor, "spec", spec);
		add_file(out, "podmonitor.yaml", monitor, true);
	} else {
		json_t *svc_meta = metadata(r, name), *svc = object_head("v1", "Service", svc_meta);
		json_t *svc_spec = obj(), *svc_selector = obj(), *ports = arr(), *port = obj();
		set_str(json_object_get(svc_meta, "labels"), "app.kubernetes.io/component", "metrics");
		set_str(svc_spec, "clusterIP", "None");
		set_str(svc_selector, "app", r->name);
		set(svc_spec, "selector", svc_selector);
		set_str(port, "name", "metrics");
		set(port, "port", must(json_integer(r->metrics_port)));
		set_str(port, "targetPort", "metrics");
		set_str(port, "protocol", "TCP");
		push(ports, port);
		set(svc_spec, "ports", ports);
		set(svc, "spec", svc_spec);
		add_file(out, "service-metrics.yaml", svc, true);

		set_str(match, "app.kubernetes.io/name", r->name);
		set_str(match, "app.kubernetes.io/component", "metrics");
		set(selector, "matchLabels", match);
		set(spec, "selector", selector);
		set(spec, "endpoints", endpoints);
		monitor = object_head("monitoring.coreos.com/v1", "ServiceMonitor", meta);
		set(monitor, "spec", spec);
		add_file(out, "servicemonitor.yaml", monitor, true);
	}
	free(name);
}

static json_t *operator_values(const struct recipe *r)
{
	json_t *o = obj(), *watch = arr(), *secrets = arr(), *webhook = obj();

	if (r->operator_watch_namespaces.count)
		for (size_t i = 0; i < r->operator_watch_namespaces.count; i++)
			push(watch, must(json_string(r->operator_watch_namespaces.items[i])));
	else
		push(watch, must(json_string(r->namespace)));
	set(o, "watchNamespaces", watch);
	for (size_t i = 0; i < r->operator_pull_secrets.count; i++) {
		json_t *s = obj();
		set_str(s, "name", r->operator_pull_secrets.items[i]);
		push(secrets, s);
	}
	set(o, "imagePullSecrets", secrets);
	set(webhook, "create", must(json_boolean(r->operator_webhook)));
	set(o, "webhook", webhook);
	return o;
}

static json_t *field_spec(const char *kind, const char *group, const char *path)
{
	json_t *o = obj();

	set_str(o, "kind", kind);
	if (group)
		set_str(o, "group", group);
	set_str(o, "path", path);
	return o;
}

static json_t *name_reference(const char *kind, const char *group, const char *version,
			      const char *const *paths)
{
	json_t *o = obj(), *specs = arr();

	set_str(o, "kind", kind);
	if (group)
		set_str(o, "group", group);
	set_str(o, "version", version);
	for (; *paths; paths++) {
		const char *p = *paths;
		const char *k = strncmp(p, "FlinkSessionJob:", 16) == 0 ? "FlinkSessionJob" : "FlinkDeployment";
		if (strchr(p, ':'))
			p = strchr(p, ':') + 1;
		push(specs, field_spec(k, "flink.apache.org", p));
	}
	set(o, "fieldSpecs", specs);
	return o;
}

/* Teaches kustomize where FlinkDeployments refer to other objects, so a namePrefix, a
 * nameSuffix or a configMapGenerator overlay renames the references along with the objects. */
static json_t *kustomize_config(void)
{
	static const char *const configmap_paths[] = {
		"spec/podTemplate/spec/volumes/configMap/name",
		"spec/jobManager/podTemplate/spec/volumes/configMap/name",
		"spec/taskManager/podTemplate/spec/volumes/configMap/name", NULL};
	static const char *const secret_paths[] = {
		"spec/podTemplate/spec/containers/env/valueFrom/secretKeyRef/name",
		"spec/podTemplate/spec/imagePullSecrets/name", NULL};
	static const char *const pvc_paths[] = {
		"spec/podTemplate/spec/volumes/persistentVolumeClaim/claimName", NULL};
	static const char *const sa_paths[] = {"spec/serviceAccount", NULL};
	static const char *const deployment_paths[] = {"FlinkSessionJob:spec/deploymentName", NULL};
	json_t *o = obj(), *refs = arr(), *images = arr();

	push(refs, name_reference("ConfigMap", NULL, "v1", configmap_paths));
	push(refs, name_reference("Secret", NULL, "v1", secret_paths));
	push(refs, name_reference("PersistentVolumeClaim", NULL, "v1", pvc_paths));
	push(refs, name_reference("ServiceAccount", NULL, "v1", sa_paths));
	push(refs, name_reference("FlinkDeployment", "flink.apache.org", "v1beta1", deployment_paths));
	set(o, "nameReference", refs);
	push(images, field_spec("FlinkDeployment", "flink.apache.org", "spec/image"));
	set(o, "images", images);
	return o;
}

static json_t *kustomization(const struct recipe *r, const struct render_output *out)
{
	json_t *o = obj(), *res = arr(), *configs = arr();

	set_str(o, "apiVersion", "kustomize.config.k8s.io/v1beta1");
	set_str(o, "kind", "Kustomization");
	set_str(o, "namespace", r->namespace);
	for (size_t i = 0; i < out->count; i++)
		if (out->files[i].resource)
			push(res, must(json_string(out->files[i].name)));
	set(o, "resources", res);
	push(configs, must(json_string("kustomizeconfig.yaml")));
	set(o, "configurations", configs);
	return o;
}

/* ---- templates ---------------------------------------------------------------------------- */

static json_t *ynode_to_json(const struct ynode *n)
{
	long long iv;
	double dv;
	bool bv;

	if (!n || yscalar_is_null(n))
		return json_null();
	switch (n->kind) {
	case YNODE_MAPPING: {
		json_t *o = obj();
		for (size_t i = 0; i < n->count; i++)
			set(o, n->keys[i]->value, ynode_to_json(n->values[i]));
		return o;
	}
	case YNODE_SEQUENCE: {
		json_t *a = arr();
		for (size_t i = 0; i < n->count; i++)
			push(a, ynode_to_json(n->values[i]));
		return a;
	}
	default:
		if (yscalar_bool(n, &bv))
			return json_boolean(bv);
		if (yscalar_int(n, &iv))
			return must(json_integer(iv));
		if (yscalar_number(n, &dv))
			return must(json_real(dv));
		return must(json_stringn(n->value, n->length));
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
					push(current, json_deep_copy(item));
			}
		} else {
			set(base, key, json_deep_copy(value));
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
	*out = ynode_to_json(doc->root);
	ydoc_free(doc);
	return 0;
}

static int compare_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
		if (stat(path, &st) == 0) {
			rc = load_template(path, &overlay, diags, err);
			if (rc == 0) {
				render_merge(out->files[i].object, overlay);
				json_decref(overlay);
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
		if (rc == 0 && load_template(path, &object, diags, err) == 0) {
			const json_t *meta = json_object_get(object, "metadata");
			if (!json_is_string(json_object_get(object, "apiVersion")) ||
			    !json_is_string(json_object_get(object, "kind")) ||
			    !json_is_string(json_object_get(meta, "name"))) {
				diag_add(diags, DIAG_ERROR, path, 1, 1,
					 "an extra object needs apiVersion, kind and metadata.name");
				rc = error_set(err, ERROR_INVALID, "%s: invalid template", path);
				json_decref(object);
			} else {
				add_file(out, file, object, true);
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

int render_recipe(struct render_output **out, const struct recipe *r, const struct render_options *options,
		  struct diag_list *diags, struct error *err)
{
	struct render_output *o = calloc(1, sizeof(*o));
	char *configmap_name = NULL;

	*out = NULL;
	if (!o)
		abort();
	o->image = image_reference(r, options);
	if (r->has_python) {
		json_t *cm = scripts_configmap(r, o->scripts_hash, &configmap_name, err);
		if (!cm) {
			render_output_free(o);
			return -1;
		}
		add_file(o, "configmap-scripts.yaml", cm, true);
	}
	add_file(o, "flinkdeployment.yaml", flink_deployment(r, o->image, configmap_name, o->scripts_hash), true);
	for (size_t i = 0; i < r->session_job_count; i++) {
		char *name = xasprintf("flinksessionjob-%s.yaml", r->session_jobs[i].name);
		add_file(o, name, session_job(r, &r->session_jobs[i]), true);
		free(name);
	}
	if (r->has_ingress && strcmp(r->ingress_style, "ingress") == 0)
		add_file(o, "ingress.yaml", ingress(r), true);
	if (r->create_rbac)
		add_rbac(o, r);
	if (r->has_volume && r->volume.create)
		add_file(o, "pvc.yaml", pvc(r), true);
	if (r->monitor_kind)
		add_monitoring(o, r);
	add_file(o, "operator/values.yaml", operator_values(r), false);
	free(configmap_name);

	if (apply_templates(o, r, diags, err)) {
		render_output_free(o);
		return -1;
	}
	add_file(o, "kustomizeconfig.yaml", kustomize_config(), false);
	add_file(o, "kustomization.yaml", kustomization(r, o), false);
	*out = o;
	return 0;
}

void render_output_free(struct render_output *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->count; i++) {
		free(o->files[i].name);
		json_decref(o->files[i].object);
	}
	free(o->files);
	free(o->image);
	free(o);
}
