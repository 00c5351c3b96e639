#include "k8s.h"

#include <stdlib.h>
#include <string.h>

#include "flink.h"
#include "jsonb.h"
#include "util.h"

void k8s_add_file(struct render_output *out, const char *name, json_t *object, bool resource)
{
	out->files = realloc(out->files, (out->count + 1) * sizeof(*out->files));
	if (!out->files)
		abort();
	out->files[out->count].name = strdup(name);
	if (!out->files[out->count].name)
		abort();
	out->files[out->count].object = object;
	out->files[out->count].resource = resource;
	out->files[out->count].image_comment = NULL;
	out->count++;
}

json_t *k8s_string_map(const struct kv_list *list)
{
	json_t *o = jsonb_object();

	for (size_t i = 0; i < list->count; i++)
		jsonb_set_str(o, list->items[i].key, list->items[i].value);
	return o;
}

/* Copies `text` (`len` bytes) into `buf` if it is a valid label value. */
static bool label_value(char buf[K8S_LABEL_VALUE_SIZE], const char *text, size_t len)
{
	if (len >= K8S_LABEL_VALUE_SIZE)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return k8s_label_value(buf);
}

bool k8s_app_version(const struct recipe *r, char buf[K8S_LABEL_VALUE_SIZE])
{
	if (r->image_repository && label_value(buf, recipe_image_tag(r), strlen(recipe_image_tag(r))))
		return true;
	if (r->base_image) {
		/* name:tag or name:tag@digest; a ':' before the last '/' is a registry's port */
		const char *ref = r->base_image, *end = strchr(ref, '@'), *colon = NULL;
		if (!end)
			end = ref + strlen(ref);
		for (const char *p = ref; p < end; p++)
			if (*p == ':')
				colon = p;
			else if (*p == '/')
				colon = NULL;
		if (colon && label_value(buf, colon + 1, (size_t)(end - colon - 1)))
			return true;
	}
	return r->flink_version && label_value(buf, r->flink_version, strlen(r->flink_version));
}

json_t *k8s_labels(const struct recipe *r, const char *component)
{
	json_t *labels = jsonb_object();
	char version[K8S_LABEL_VALUE_SIZE];

	jsonb_set_str(labels, "app.kubernetes.io/name", r->name);
	jsonb_set_str(labels, "app.kubernetes.io/instance", r->name);
	if (k8s_app_version(r, version))
		jsonb_set_str(labels, "app.kubernetes.io/version", version);
	jsonb_set_str(labels, "app.kubernetes.io/component", component);
	jsonb_set_str(labels, "app.kubernetes.io/part-of", r->name);
	jsonb_set_str(labels, "app.kubernetes.io/managed-by", "factory");
	for (size_t i = 0; i < r->labels.count; i++)
		jsonb_set_str(labels, r->labels.items[i].key, r->labels.items[i].value);
	return labels;
}

json_t *k8s_metadata(const struct recipe *r, const char *name, const char *component)
{
	json_t *m = jsonb_object();

	jsonb_set_str(m, "name", name);
	jsonb_set_str(m, "namespace", r->namespace);
	jsonb_set(m, "labels", k8s_labels(r, component));
	return m;
}

json_t *k8s_object(const char *api_version, const char *kind, json_t *meta)
{
	json_t *o = jsonb_object();

	jsonb_set_str(o, "apiVersion", api_version);
	jsonb_set_str(o, "kind", kind);
	jsonb_set(o, "metadata", meta);
	return o;
}

/* ---- the scripts ------------------------------------------------------------------------- */

json_t *k8s_scripts_configmap(const struct recipe *r, char hash[KUSTOMIZE_HASH_LENGTH + 1], char **name,
			      struct error *err)
{
	json_t *data = jsonb_object(), *cm;
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
				jsonb_set(data, keys[i], jsonb_must(json_stringn(r->scripts[k].content, r->scripts[k].size)));
	free(keys);
	if (kustomize_configmap_hash(data, hash, err)) {
		json_decref(data);
		return NULL;
	}
	*name = xasprintf("%s-scripts-%s", r->name, hash);
	cm = k8s_object("v1", "ConfigMap", k8s_metadata(r, *name, K8S_COMPONENT_SCRIPTS));
	jsonb_set(cm, "data", data);
	return cm;
}

/* ---- the pod ----------------------------------------------------------------------------- */

static json_t *secret_env(const char *name, const char *secret, const char *key)
{
	json_t *e = jsonb_object(), *from = jsonb_object(), *ref = jsonb_object();

	jsonb_set_str(ref, "name", secret);
	jsonb_set_str(ref, "key", key);
	jsonb_set(from, "secretKeyRef", ref);
	jsonb_set_str(e, "name", name);
	jsonb_set(e, "valueFrom", from);
	return e;
}

json_t *k8s_main_container(const struct recipe *r, bool scripts)
{
	json_t *main = jsonb_object(), *env = jsonb_array(), *mounts = jsonb_array(), *ports = jsonb_array();

	jsonb_set_str(main, "name", FLINK_MAIN_CONTAINER);
	if (r->metrics) {
		json_t *p = jsonb_object();
		jsonb_set_str(p, "name", "metrics");
		jsonb_set(p, "containerPort", jsonb_must(json_integer(r->metrics_port)));
		jsonb_set_str(p, "protocol", "TCP");
		jsonb_push(ports, p);
	}
	if (r->has_s3 && *r->s3.credentials_secret) {
		/* Flink's S3 filesystems read the AWS default credential chain: the keys never appear in
		 * the deployment, only the Secret's name. */
		jsonb_push(env, secret_env("AWS_ACCESS_KEY_ID", r->s3.credentials_secret, r->s3.access_key_field));
		jsonb_push(env, secret_env("AWS_SECRET_ACCESS_KEY", r->s3.credentials_secret, r->s3.secret_key_field));
	}
	for (size_t i = 0; i < r->env.count; i++) {
		json_t *e = jsonb_object();
		jsonb_set_str(e, "name", r->env.items[i].key);
		jsonb_set_str(e, "value", r->env.items[i].value);
		jsonb_push(env, e);
	}
	if (scripts) {
		json_t *m = jsonb_object();
		jsonb_set_str(m, "name", K8S_SCRIPTS_VOLUME);
		jsonb_set_str(m, "mountPath", r->python_mount_path);
		jsonb_set(m, "readOnly", json_true());
		jsonb_push(mounts, m);
	}
	if (r->has_volume) {
		json_t *m = jsonb_object();
		jsonb_set_str(m, "name", K8S_STATE_VOLUME);
		jsonb_set_str(m, "mountPath", r->volume.mount_path);
		jsonb_push(mounts, m);
	}
	jsonb_set_nonempty(main, "ports", ports);
	jsonb_set_nonempty(main, "env", env);
	jsonb_set_nonempty(main, "volumeMounts", mounts);
	return main;
}

json_t *k8s_volumes(const struct recipe *r, const char *configmap_name)
{
	json_t *volumes = jsonb_array();

	if (configmap_name) {
		json_t *v = jsonb_object(), *cm = jsonb_object();
		jsonb_set_str(cm, "name", configmap_name);
		jsonb_set_str(v, "name", K8S_SCRIPTS_VOLUME);
		jsonb_set(v, "configMap", cm);
		jsonb_push(volumes, v);
	}
	if (r->has_volume) {
		json_t *v = jsonb_object(), *pvc = jsonb_object();
		jsonb_set_str(pvc, "claimName", r->volume.claim_name);
		jsonb_set_str(v, "name", K8S_STATE_VOLUME);
		jsonb_set(v, "persistentVolumeClaim", pvc);
		jsonb_push(volumes, v);
	}
	return volumes;
}

json_t *k8s_pod_template(const struct recipe *r, const char *configmap_name, const char *hash)
{
	json_t *pod = jsonb_object(), *meta = jsonb_object(), *spec = jsonb_object(), *containers = jsonb_array();

	jsonb_set_str(pod, "apiVersion", "v1");
	jsonb_set_str(pod, "kind", "Pod");
	/* The operator gives the pods the template's labels (Flink adds its own component:
	 * jobmanager or taskmanager beside them); the pods would not carry the
	 * FlinkDeployment's. */
	jsonb_set(meta, "labels", k8s_labels(r, K8S_COMPONENT_FLINK));
	if (configmap_name) {
		json_t *annotations = jsonb_object();
		jsonb_set_str(annotations, RENDER_SCRIPTS_HASH_ANNOTATION, hash);
		jsonb_set(meta, "annotations", annotations);
	}
	jsonb_set(pod, "metadata", meta);
	jsonb_push(containers, k8s_main_container(r, configmap_name != NULL));
	if (r->image_pull_secrets.count) {
		json_t *secrets = jsonb_array();
		for (size_t i = 0; i < r->image_pull_secrets.count; i++) {
			json_t *s = jsonb_object();
			jsonb_set_str(s, "name", r->image_pull_secrets.items[i]);
			jsonb_push(secrets, s);
		}
		jsonb_set(spec, "imagePullSecrets", secrets);
	}
	jsonb_set(spec, "containers", containers);
	jsonb_set_nonempty(spec, "volumes", k8s_volumes(r, configmap_name));
	jsonb_set(pod, "spec", spec);
	return pod;
}

/* ---- around the cluster ------------------------------------------------------------------ */

json_t *k8s_ingress_tls(const struct recipe *r)
{
	json_t *tls = jsonb_array(), *t = jsonb_object(), *hosts = jsonb_array();

	jsonb_push_str(hosts, r->ingress_host);
	jsonb_set(t, "hosts", hosts);
	jsonb_set_str(t, "secretName", r->ingress_tls_secret);
	jsonb_push(tls, t);
	return tls;
}

json_t *k8s_ingress(const struct recipe *r)
{
	json_t *meta = k8s_metadata(r, r->name, K8S_COMPONENT_INGRESS), *o, *spec = jsonb_object(), *rules = jsonb_array();
	json_t *rule = jsonb_object(), *http = jsonb_object(), *paths = jsonb_array(), *path = jsonb_object();
	json_t *backend = jsonb_object(), *service = jsonb_object(), *port = jsonb_object();
	char *service_name = xasprintf("%s-rest", r->name);

	if (r->ingress_annotations.count)
		jsonb_set(meta, "annotations", k8s_string_map(&r->ingress_annotations));
	o = k8s_object("networking.k8s.io/v1", "Ingress", meta);
	if (r->ingress_class)
		jsonb_set_str(spec, "ingressClassName", r->ingress_class);
	if (r->ingress_tls_secret)
		jsonb_set(spec, "tls", k8s_ingress_tls(r));
	jsonb_set(port, "number", jsonb_must(json_integer(FLINK_REST_PORT)));
	jsonb_set_str(service, "name", service_name);
	jsonb_set(service, "port", port);
	jsonb_set(backend, "service", service);
	jsonb_set_str(path, "path", r->ingress_path);
	jsonb_set_str(path, "pathType", "Prefix");
	jsonb_set(path, "backend", backend);
	jsonb_push(paths, path);
	jsonb_set(http, "paths", paths);
	jsonb_set_str(rule, "host", r->ingress_host);
	jsonb_set(rule, "http", http);
	jsonb_push(rules, rule);
	jsonb_set(spec, "rules", rules);
	jsonb_set(o, "spec", spec);
	free(service_name);
	return o;
}

static json_t *policy_rule(const char *group, const char *const *resources, const char *const *verbs)
{
	json_t *o = jsonb_object(), *groups = jsonb_array(), *res = jsonb_array(), *v = jsonb_array();

	jsonb_push_str(groups, group);
	for (; *resources; resources++)
		jsonb_push_str(res, *resources);
	for (; *verbs; verbs++)
		jsonb_push_str(v, *verbs);
	jsonb_set(o, "apiGroups", groups);
	jsonb_set(o, "resources", res);
	jsonb_set(o, "verbs", v);
	return o;
}

void k8s_add_rbac(struct render_output *out, const struct recipe *r)
{
	/* What a Flink JobManager needs in native Kubernetes mode, as the operator's chart grants. */
	static const char *const all_verbs[] = {"get", "list", "watch", "create", "update", "patch", "delete", NULL};
	char *role_name = xasprintf("%s-flink", r->name);
	json_t *role = k8s_object("rbac.authorization.k8s.io/v1", "Role", k8s_metadata(r, role_name, K8S_COMPONENT_RBAC));
	json_t *rules = jsonb_array(), *binding, *subjects = jsonb_array(), *subject = jsonb_object();
	json_t *ref = jsonb_object();

	jsonb_push(rules, policy_rule("", (const char *const[]){"pods", "configmaps", NULL}, all_verbs));
	jsonb_push(rules,
		   policy_rule("apps", (const char *const[]){"deployments", "deployments/finalizers", NULL}, all_verbs));
	jsonb_set(role, "rules", rules);

	binding = k8s_object("rbac.authorization.k8s.io/v1", "RoleBinding", k8s_metadata(r, role_name, K8S_COMPONENT_RBAC));
	jsonb_set_str(subject, "kind", "ServiceAccount");
	jsonb_set_str(subject, "name", r->service_account);
	jsonb_set_str(subject, "namespace", r->namespace);
	jsonb_push(subjects, subject);
	jsonb_set(binding, "subjects", subjects);
	jsonb_set_str(ref, "apiGroup", "rbac.authorization.k8s.io");
	jsonb_set_str(ref, "kind", "Role");
	jsonb_set_str(ref, "name", role_name);
	jsonb_set(binding, "roleRef", ref);

	k8s_add_file(out, "serviceaccount.yaml",
		     k8s_object("v1", "ServiceAccount", k8s_metadata(r, r->service_account, K8S_COMPONENT_RBAC)), true);
	k8s_add_file(out, "role.yaml", role, true);
	k8s_add_file(out, "rolebinding.yaml", binding, true);
	free(role_name);
}

json_t *k8s_pvc(const struct recipe *r)
{
	json_t *o = k8s_object("v1", "PersistentVolumeClaim", k8s_metadata(r, r->volume.claim_name, K8S_COMPONENT_STATE));
	json_t *spec = jsonb_object(), *modes = jsonb_array(), *res = jsonb_object(), *requests = jsonb_object();

	if (r->volume.access_modes.count)
		for (size_t i = 0; i < r->volume.access_modes.count; i++)
			jsonb_push_str(modes, r->volume.access_modes.items[i]);
	else
		jsonb_push_str(modes, "ReadWriteOnce");
	jsonb_set(spec, "accessModes", modes);
	jsonb_set_str(requests, "storage", r->volume.size);
	jsonb_set(res, "requests", requests);
	jsonb_set(spec, "resources", res);
	if (r->volume.storage_class)
		jsonb_set_str(spec, "storageClassName", r->volume.storage_class);
	jsonb_set(o, "spec", spec);
	return o;
}

void k8s_add_monitoring(struct render_output *out, const struct recipe *r)
{
	char *name = xasprintf("%s-metrics", r->name);
	json_t *meta = k8s_metadata(r, name, K8S_COMPONENT_METRICS), *labels = json_object_get(meta, "labels");
	json_t *monitor, *spec = jsonb_object(), *selector = jsonb_object(), *match = jsonb_object();
	json_t *endpoints = jsonb_array(), *ep = jsonb_object();

	for (size_t i = 0; i < r->monitor_labels.count; i++)
		jsonb_set_str(labels, r->monitor_labels.items[i].key, r->monitor_labels.items[i].value);
	jsonb_set_str(ep, "port", "metrics");
	jsonb_set_str(ep, "interval", r->monitor_interval);
	jsonb_push(endpoints, ep);

	if (strcmp(r->monitor_kind, "PodMonitor") == 0) {
		/* Flink's native Kubernetes integration labels every JobManager and TaskManager pod
		 * with app=<deployment name>. */
		jsonb_set_str(match, "app", r->name);
		jsonb_set(selector, "matchLabels", match);
		jsonb_set(spec, "selector", selector);
		jsonb_set(spec, "podMetricsEndpoints", endpoints);
		monitor = k8s_object("monitoring.coreos.com/v1", "PodMonitor", meta);
		jsonb_set(monitor, "spec", spec);
		k8s_add_file(out, "podmonitor.yaml", monitor, true);
	} else {
		json_t *svc_meta = k8s_metadata(r, name, K8S_COMPONENT_METRICS), *svc = k8s_object("v1", "Service", svc_meta);
		json_t *svc_labels = json_object_get(svc_meta, "labels");
		json_t *svc_spec = jsonb_object(), *svc_selector = jsonb_object(), *ports = jsonb_array();
		json_t *port = jsonb_object();
		jsonb_set_str(svc_spec, "clusterIP", "None");
		jsonb_set_str(svc_selector, "app", r->name);
		jsonb_set(svc_spec, "selector", svc_selector);
		jsonb_set_str(port, "name", "metrics");
		jsonb_set(port, "port", jsonb_must(json_integer(r->metrics_port)));
		jsonb_set_str(port, "targetPort", "metrics");
		jsonb_set_str(port, "protocol", "TCP");
		jsonb_push(ports, port);
		jsonb_set(svc_spec, "ports", ports);
		jsonb_set(svc, "spec", svc_spec);
		k8s_add_file(out, "service-metrics.yaml", svc, true);

		/* The Service's labels as they are, metadata.labels included: the monitor finds it
		 * whatever the recipe set them to. */
		jsonb_set(match, "app.kubernetes.io/name", json_incref(json_object_get(svc_labels, "app.kubernetes.io/name")));
		jsonb_set(match, "app.kubernetes.io/component",
			  json_incref(json_object_get(svc_labels, "app.kubernetes.io/component")));
		jsonb_set(selector, "matchLabels", match);
		jsonb_set(spec, "selector", selector);
		jsonb_set(spec, "endpoints", endpoints);
		monitor = k8s_object("monitoring.coreos.com/v1", "ServiceMonitor", meta);
		jsonb_set(monitor, "spec", spec);
		k8s_add_file(out, "servicemonitor.yaml", monitor, true);
	}
	free(name);
}

json_t *k8s_kustomization(const struct recipe *r, const struct render_output *out, const char *configuration)
{
	json_t *o = jsonb_object(), *res = jsonb_array();

	jsonb_set_str(o, "apiVersion", "kustomize.config.k8s.io/v1beta1");
	jsonb_set_str(o, "kind", "Kustomization");
	jsonb_set_str(o, "namespace", r->namespace);
	for (size_t i = 0; i < out->count; i++)
		if (out->files[i].resource)
			jsonb_push_str(res, out->files[i].name);
	jsonb_set(o, "resources", res);
	if (configuration) {
		json_t *configs = jsonb_array();
		jsonb_push_str(configs, configuration);
		jsonb_set(o, "configurations", configs);
	}
	return o;
}
