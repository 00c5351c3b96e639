/* apache.c - the Apache Flink Kubernetes Operator (flink.apache.org/v1beta1).
 *
 * A recipe becomes one FlinkDeployment (an application cluster running the recipe's job, or
 * a session cluster), a FlinkSessionJob per session job, the operator's Helm values, and the
 * kustomize configuration that teaches kustomize where FlinkDeployments refer to other
 * objects. The rules are the operator's webhook's (operator 1.15; see schemas/README.md).
 */
#include "target.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flink.h"
#include "fsutil.h"
#include "jsonb.h"
#include "k8s.h"
#include "util.h"

/* ---- what the operator refuses ----------------------------------------------------------- */

static bool is_stateful(const char *upgrade_mode)
{
	return strcmp(upgrade_mode, "savepoint") == 0 || strcmp(upgrade_mode, "last-state") == 0;
}

static bool uri_scheme_is(const char *uri, const char *scheme)
{
	size_t len = strlen(scheme);
	return strncmp(uri, scheme, len) == 0 && strncmp(uri + len, "://", 3) == 0;
}

/* The operator fetches a session job's jar itself: over http(s), or through a Flink file
 * system for which a filesystem plugin is installed in the operator's own image. */
static void check_session_jar(const struct recipe *r, const struct recipe_session_job *sj, struct diag_list *diags)
{
	static const char *const filesystems[] = {"s3", "s3a", "s3p", "gs", "hdfs", "abfs", "abfss", "wasb", "wasbs",
						  "oss", NULL};
	const struct ynode *at = ynode_get(sj->node, "jarURI");
	const char *uri = sj->job.jar_uri;

	if (uri_scheme_is(uri, "https"))
		return;
	if (uri_scheme_is(uri, "http")) {
		render_target_warning(diags, r, at,
				      "sessionJobs[%zu].jarURI: '%s' is fetched over plain http: anyone on the way can "
				      "change the jar; use https", sj->index, uri);
		return;
	}
	for (const char *const *fs = filesystems; *fs; fs++)
		if (uri_scheme_is(uri, *fs)) {
			render_target_warning(diags, r, at,
					      "sessionJobs[%zu].jarURI: the operator reads %s:// through a Flink filesystem "
					      "plugin: its own image needs the matching one (flink-s3-fs-hadoop for s3://, "
					      "flink-gs-fs-hadoop for gs://, ...), configured like state.s3 (endpoint, path "
					      "style, credentials) for MinIO",
					      sj->index, *fs);
			return;
		}
	render_target_error(diags, r, at,
			    "sessionJobs[%zu].jarURI: '%s': the operator fetches session job jars over https:// (or "
			    "http://) or from a Flink file system (s3://, gs://, hdfs://, abfs://) whose plugin is in its "
			    "image", sj->index, uri);
}

/* The webhook rejects a FlinkDeployment without JobManager or TaskManager memory. Worded and
 * placed as the schema words a missing key, which is what it is to this operator. */
static void check_memory(const struct recipe *r, const struct ynode *root, const char *section,
			 struct diag_list *diags)
{
	const struct ynode *node = ynode_get(root, section);

	if (node && node->kind == YNODE_MAPPING && !ynode_get(node, "memory"))
		render_target_error(diags, r, node, "%s.memory: missing required key", section);
}

static void apache_validate(const struct recipe *r, struct diag_list *diags)
{
	static const char *const operator_keys[] = {"kubernetes.namespace", "kubernetes.cluster-id",
						    "high-availability.cluster-id", NULL};
	const struct ynode *root = r->doc->root;
	const struct ynode *conf = ynode_at_path(root, "flinkConfiguration");

	check_memory(r, root, "jobManager", diags);
	check_memory(r, root, "taskManager", diags);
	if (ynode_at_path(root, "metadata.name") && !flink_deployment_name_valid(r->name))
		render_target_error(diags, r, ynode_where(root, "metadata.name"),
				    "metadata.name: '%s' is not a valid FlinkDeployment name: lowercase letters, digits "
				    "and '-', starting with a letter, at most 45 characters", r->name);
	for (size_t i = 0; i < r->session_job_count; i++)
		check_session_jar(r, &r->session_jobs[i], diags);
	if (!k8s_dns_subdomain(r->service_account))
		render_target_error(diags, r, ynode_where(root, "serviceAccount"),
				    "serviceAccount: '%s' is not a valid ServiceAccount name; the operator requires one",
				    r->service_account);
	for (size_t i = 0; conf && conf->kind == YNODE_MAPPING && i < conf->count; i++)
		for (const char *const *k = operator_keys; *k; k++)
			if (strcmp(conf->keys[i]->value, *k) == 0)
				render_target_error(diags, r, conf->keys[i],
						    "flinkConfiguration.%s: the operator sets this key itself and rejects "
						    "deployments that set it", *k);

	/* Stateful upgrades. An upgradeMode outside the known values was already reported and is
	 * not second-guessed here. */
	if (r->mode == RECIPE_APPLICATION && is_stateful(r->job.upgrade_mode) && !r->checkpoints_dir)
		render_target_error(diags, r, ynode_where(root, "job.upgradeMode"),
				    "job.upgradeMode: %s needs a checkpoint directory: set state.checkpoints",
				    r->job.upgrade_mode);
	if (r->mode == RECIPE_APPLICATION && strcmp(r->job.upgrade_mode, "savepoint") == 0 && !r->savepoints_dir)
		render_target_error(diags, r, ynode_where(root, "job.upgradeMode"),
				    "job.upgradeMode: savepoint needs a savepoint directory: set state.savepoints");
	for (size_t i = 0; i < r->session_job_count; i++) {
		const struct recipe_session_job *sj = &r->session_jobs[i];
		const char *mode = sj->job.upgrade_mode;
		if (is_stateful(mode) && !r->checkpoints_dir)
			render_target_error(diags, r, ynode_where(sj->node, "upgradeMode"),
					    "sessionJobs[%zu].upgradeMode: %s needs a checkpoint directory: set "
					    "state.checkpoints", sj->index, mode);
		if (strcmp(mode, "savepoint") == 0 && !r->savepoints_dir)
			render_target_error(diags, r, ynode_where(sj->node, "upgradeMode"),
					    "sessionJobs[%zu].upgradeMode: savepoint needs a savepoint directory: set "
					    "state.savepoints", sj->index);
	}
	if (r->savepoint_interval && !r->savepoints_dir)
		render_target_error(diags, r, ynode_where(root, "job.savepoint.interval"),
				    "job.savepoint.interval: periodic savepoints need a savepoint directory: set "
				    "state.savepoints");
	if (r->job_manager.replicas > 1 && !r->ha)
		render_target_error(diags, r, ynode_where(root, "jobManager.replicas"),
				    "jobManager.replicas: more than one JobManager needs high availability: set state.ha: "
				    "kubernetes");
}

/* ---- FlinkDeployment --------------------------------------------------------------------- */

static void put_conf(json_t *conf, const char *key, const char *value)
{
	if (value)
		jsonb_set_str(conf, key, value);
}

static void put_conf_int(json_t *conf, const char *key, long long value)
{
	char buf[32];

	if (!value)
		return;
	snprintf(buf, sizeof(buf), "%lld", value);
	jsonb_set_str(conf, key, buf);
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
	json_t *out = jsonb_object(), *value;
	const char *key;

	if (!keys)
		abort();
	json_object_foreach((json_t *)o, key, value) keys[i++] = key;
	qsort(keys, n, sizeof(*keys), compare_strings);
	for (i = 0; i < n; i++)
		jsonb_set(out, keys[i], json_incref(json_object_get(o, keys[i])));
	free(keys);
	return out;
}

static json_t *flink_configuration(const struct recipe *r)
{
	json_t *conf = jsonb_object(), *sorted;

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
		jsonb_set_str(conf, r->flink_configuration.items[i].key, r->flink_configuration.items[i].value);
	sorted = sorted_object(conf);
	json_decref(conf);
	return sorted;
}

static json_t *resources(const struct recipe_resources *res, bool with_replicas)
{
	json_t *o = jsonb_object(), *resource = jsonb_object();

	if (res->cpu_set) {
		double whole;
		if (modf(res->cpu, &whole) == 0.0 && whole < 1e15)
			jsonb_set(resource, "cpu", jsonb_must(json_integer((json_int_t)whole)));
		else
			jsonb_set(resource, "cpu", jsonb_must(json_real(res->cpu)));
	}
	jsonb_set_str(resource, "memory", res->memory);
	if (res->ephemeral_storage)
		jsonb_set_str(resource, "ephemeralStorage", res->ephemeral_storage);
	jsonb_set(o, "resource", resource);
	if (with_replicas && res->replicas)
		jsonb_set(o, "replicas", jsonb_must(json_integer(res->replicas)));
	return o;
}

static json_t *job_spec(const struct recipe_job_spec *job, const char *jar_uri, const char *entry_class,
			json_t *args)
{
	json_t *o = jsonb_object();

	jsonb_set_str(o, "jarURI", jar_uri);
	if (entry_class)
		jsonb_set_str(o, "entryClass", entry_class);
	jsonb_set_nonempty(o, "args", args);
	if (job->parallelism)
		jsonb_set(o, "parallelism", jsonb_must(json_integer(job->parallelism)));
	jsonb_set_str(o, "upgradeMode", job->upgrade_mode);
	jsonb_set_str(o, "state", job->state);
	if (job->allow_non_restored_state_set)
		jsonb_set(o, "allowNonRestoredState", jsonb_must(json_boolean(job->allow_non_restored_state)));
	if (job->initial_savepoint_path)
		jsonb_set_str(o, "initialSavepointPath", job->initial_savepoint_path);
	return o;
}

static json_t *python_job(const struct recipe *r)
{
	json_t *args = jsonb_array();
	char jar[256];
	char *script = fs_path_join(r->python_mount_path, r->python_entry);

	flink_python_jar_uri(r->flink_major, r->flink_minor, r->flink_patch, jar, sizeof(jar));
	jsonb_push_str(args, "-pyclientexec");
	jsonb_push_str(args, r->python_executable);
	jsonb_push_str(args, "-py");
	jsonb_push_str(args, script);
	if (r->script_count > 1) {
		/* Modules beside the entry script: ship them to the TaskManagers' path too. */
		jsonb_push_str(args, "-pyfs");
		jsonb_push_str(args, r->python_mount_path);
	}
	for (size_t i = 0; i < r->python_args.count; i++)
		jsonb_push_str(args, r->python_args.items[i]);
	free(script);
	return job_spec(&r->job, jar, FLINK_PYTHON_DRIVER, args);
}

/* spec.ingress: the operator creates the Ingress itself from this template. */
static json_t *ingress_template(const struct recipe *r)
{
	json_t *o = jsonb_object();
	char *tmpl = xasprintf("%s%s", r->ingress_host, strcmp(r->ingress_path, "/") ? r->ingress_path : "");

	jsonb_set_str(o, "template", tmpl);
	free(tmpl);
	if (r->ingress_class)
		jsonb_set_str(o, "className", r->ingress_class);
	if (r->ingress_annotations.count)
		jsonb_set(o, "annotations", k8s_string_map(&r->ingress_annotations));
	if (r->ingress_tls_secret)
		jsonb_set(o, "tls", k8s_ingress_tls(r));
	return o;
}

static json_t *flink_deployment(const struct recipe *r, const struct render_context *ctx)
{
	json_t *fd = k8s_object("flink.apache.org/v1beta1", "FlinkDeployment", k8s_metadata(r, r->name, K8S_COMPONENT_FLINK));
	json_t *spec = jsonb_object();
	char version[16];

	recipe_flink_version_enum(r, version, sizeof(version));
	jsonb_set_str(spec, "image", ctx->image);
	if (r->image_pull_policy)
		jsonb_set_str(spec, "imagePullPolicy", r->image_pull_policy);
	jsonb_set_str(spec, "flinkVersion", version);
	jsonb_set(spec, "flinkConfiguration", flink_configuration(r));
	jsonb_set_str(spec, "serviceAccount", r->service_account);
	jsonb_set(spec, "podTemplate", k8s_pod_template(r, ctx->scripts_configmap, ctx->scripts_hash));
	jsonb_set(spec, "jobManager", resources(&r->job_manager, true));
	jsonb_set(spec, "taskManager", resources(&r->task_manager, true));
	if (r->has_ingress && strcmp(r->ingress_style, "operator") == 0)
		jsonb_set(spec, "ingress", ingress_template(r));
	if (r->mode == RECIPE_APPLICATION) {
		if (r->has_python)
			jsonb_set(spec, "job", python_job(r));
		else
			jsonb_set(spec, "job",
				  job_spec(&r->job, r->job.jar_uri, r->job.entry_class, jsonb_strings(&r->job.args)));
	}
	jsonb_set(fd, "spec", spec);
	return fd;
}

static json_t *session_job(const struct recipe *r, const struct recipe_session_job *sj)
{
	json_t *o = k8s_object("flink.apache.org/v1beta1", "FlinkSessionJob", k8s_metadata(r, sj->name, K8S_COMPONENT_SESSION_JOB));
	json_t *spec = jsonb_object();

	jsonb_set_str(spec, "deploymentName", r->name);
	jsonb_set(spec, "job", job_spec(&sj->job, sj->job.jar_uri, sj->job.entry_class, jsonb_strings(&sj->job.args)));
	jsonb_set(o, "spec", spec);
	return o;
}

/* operator/values.yaml: Helm values for installing the operator where this recipe runs. */
static json_t *operator_values(const struct recipe *r)
{
	json_t *o = jsonb_object(), *watch = jsonb_array(), *secrets = jsonb_array(), *webhook = jsonb_object();

	if (r->operator_watch_namespaces.count)
		for (size_t i = 0; i < r->operator_watch_namespaces.count; i++)
			jsonb_push_str(watch, r->operator_watch_namespaces.items[i]);
	else
		jsonb_push_str(watch, r->namespace);
	jsonb_set(o, "watchNamespaces", watch);
	for (size_t i = 0; i < r->operator_pull_secrets.count; i++) {
		json_t *s = jsonb_object();
		jsonb_set_str(s, "name", r->operator_pull_secrets.items[i]);
		jsonb_push(secrets, s);
	}
	jsonb_set(o, "imagePullSecrets", secrets);
	jsonb_set(webhook, "create", jsonb_must(json_boolean(r->operator_webhook)));
	jsonb_set(o, "webhook", webhook);
	return o;
}

static int apache_render(struct render_output *out, const struct recipe *r, const struct render_context *ctx,
			 struct error *err)
{
	(void)err; /* nothing here can fail but memory, which aborts */
	k8s_add_file(out, "flinkdeployment.yaml", flink_deployment(r, ctx), true);
	/* Flux's image automation rewrites the line that carries its setter marker. */
	if (r->image_flux_policy)
		out->files[out->count - 1].image_comment = xasprintf("{\"$imagepolicy\": \"%s\"}", r->image_flux_policy);
	for (size_t i = 0; i < r->session_job_count; i++) {
		char *name = xasprintf("flinksessionjob-%s.yaml", r->session_jobs[i].name);
		k8s_add_file(out, name, session_job(r, &r->session_jobs[i]), true);
		free(name);
	}
	/* With style "operator" the FlinkDeployment's spec.ingress asks the operator for one. */
	if (r->has_ingress && strcmp(r->ingress_style, "ingress") == 0)
		k8s_add_file(out, "ingress.yaml", k8s_ingress(r), true);
	if (r->create_rbac)
		k8s_add_rbac(out, r);
	if (r->has_volume && r->volume.create)
		k8s_add_file(out, "pvc.yaml", k8s_pvc(r), true);
	if (r->monitor_kind)
		k8s_add_monitoring(out, r);
	k8s_add_file(out, "operator/values.yaml", operator_values(r), false);
	return 0;
}

/* ---- kustomize --------------------------------------------------------------------------- */

static json_t *field_spec(const char *kind, const char *group, const char *path)
{
	json_t *o = jsonb_object();

	jsonb_set_str(o, "kind", kind);
	if (group)
		jsonb_set_str(o, "group", group);
	jsonb_set_str(o, "path", path);
	return o;
}

/* `paths` are FlinkDeployment field paths, or "FlinkSessionJob:<path>". */
static json_t *name_reference(const char *kind, const char *group, const char *version,
			      const char *const *paths)
{
	json_t *o = jsonb_object(), *specs = jsonb_array();

	jsonb_set_str(o, "kind", kind);
	if (group)
		jsonb_set_str(o, "group", group);
	jsonb_set_str(o, "version", version);
	for (; *paths; paths++) {
		const char *p = *paths;
		const char *k = strncmp(p, "FlinkSessionJob:", 16) == 0 ? "FlinkSessionJob" : "FlinkDeployment";
		if (strchr(p, ':'))
			p = strchr(p, ':') + 1;
		jsonb_push(specs, field_spec(k, "flink.apache.org", p));
	}
	jsonb_set(o, "fieldSpecs", specs);
	return o;
}

/* Teaches kustomize where FlinkDeployments refer to other objects, so a namePrefix, a
 * nameSuffix or a configMapGenerator overlay renames the references along with the objects. */
static json_t *apache_kustomize_config(const struct recipe *r)
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
	json_t *o = jsonb_object(), *refs = jsonb_array(), *images = jsonb_array();

	(void)r; /* the same for every recipe */
	jsonb_push(refs, name_reference("ConfigMap", NULL, "v1", configmap_paths));
	jsonb_push(refs, name_reference("Secret", NULL, "v1", secret_paths));
	jsonb_push(refs, name_reference("PersistentVolumeClaim", NULL, "v1", pvc_paths));
	jsonb_push(refs, name_reference("ServiceAccount", NULL, "v1", sa_paths));
	jsonb_push(refs, name_reference("FlinkDeployment", "flink.apache.org", "v1beta1", deployment_paths));
	jsonb_set(o, "nameReference", refs);
	jsonb_push(images, field_spec("FlinkDeployment", "flink.apache.org", "spec/image"));
	jsonb_set(o, "images", images);
	return o;
}

const struct render_target render_target_apache = {
	.name = "apache",
	.validate = apache_validate,
	.render = apache_render,
	.kustomize_config = apache_kustomize_config,
};
