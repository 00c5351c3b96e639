/* k8s.h - the Kubernetes objects every render target shares.
 *
 * Whichever operator runs the Flink cluster, the pods need the same things around them: the
 * recipe's labels on every object, one container with its ports, environment and mounts, the
 * ConfigMap of scripts named by its content hash, an Ingress to the REST service, the Role a
 * JobManager needs in native Kubernetes mode, a PVC, Prometheus monitors and the
 * kustomization that lists it all. These builders make them from a validated recipe; the
 * target (target.h) decides which of them it uses and where they go in its own resources.
 *
 * Builders return a new reference (json_t) or add files to a render_output; they never fail
 * but on memory exhaustion, which aborts, except the ConfigMap whose hash can.
 */
#ifndef FACTORY_RENDER_K8S_H
#define FACTORY_RENDER_K8S_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "kustomize.h"
#include "recipe.h"
#include "render.h"

/* Volume names inside the pod: the scripts' ConfigMap and the recipe's state volume. */
#define K8S_SCRIPTS_VOLUME "pyflink-scripts"
#define K8S_STATE_VOLUME "flink-data"

/* Appends a file to the bundle, taking the reference to `object`; `resource` lists it in
 * kustomization.yaml. */
void k8s_add_file(struct render_output *out, const char *name, json_t *object, bool resource);

/* {"key": "value", ...} in the list's order. */
json_t *k8s_string_map(const struct kv_list *list);

/* Values of app.kubernetes.io/component, one per part of the application. */
#define K8S_COMPONENT_FLINK "flink"             /* the Flink cluster and its pods */
#define K8S_COMPONENT_SCRIPTS "scripts"         /* the scripts' ConfigMap */
#define K8S_COMPONENT_SESSION_JOB "session-job" /* a job submitted to a session cluster */
#define K8S_COMPONENT_INGRESS "ingress"
#define K8S_COMPONENT_METRICS "metrics" /* the metrics Service and the Prometheus monitors */
#define K8S_COMPONENT_RBAC "rbac"       /* the ServiceAccount, Role and RoleBinding */
#define K8S_COMPONENT_STATE "state"     /* the state volume's claim */

#define K8S_LABEL_VALUE_SIZE 64 /* 63 characters and the NUL */

/* What app.kubernetes.io/version says, into `buf`: the tag the recipe builds its image as
 * (image.tags, with image.repository), else the tag of flink.image, else flink.version, the
 * first that is a valid label value. The tag, not the digest, so that a render and a build
 * that deploys the pushed digest label the same. False when none is. */
bool k8s_app_version(const struct recipe *recipe, char buf[K8S_LABEL_VALUE_SIZE]);
/* The recommended labels, app.kubernetes.io/ name, instance, version, component, part-of
 * and managed-by (name, instance and part-of are the app's name), then metadata.labels,
 * which win over them. */
json_t *k8s_labels(const struct recipe *recipe, const char *component);
/* name, namespace and k8s_labels. */
json_t *k8s_metadata(const struct recipe *recipe, const char *name, const char *component);
/* apiVersion, kind and metadata (taking the reference to `metadata`), for the caller to add
 * the rest. */
json_t *k8s_object(const char *api_version, const char *kind, json_t *metadata);

/* The ConfigMap of the recipe's scripts, named `<name>-scripts-<hash>` as kustomize's
 * configMapGenerator would name it; `hash` receives the hash and *name the name (free it).
 * NULL when the hash cannot be computed (err says why). */
json_t *k8s_scripts_configmap(const struct recipe *recipe, char hash[KUSTOMIZE_HASH_LENGTH + 1], char **name,
			      struct error *err);

/* The Flink container (FLINK_MAIN_CONTAINER): the metrics port, S3 credentials from their
 * Secret and env, the scripts mount when `scripts` and the state volume's mount. Empty lists
 * are left out. */
json_t *k8s_main_container(const struct recipe *recipe, bool scripts);
/* The pod's volumes matching k8s_main_container's mounts: the ConfigMap `configmap_name`
 * (NULL: none) and the state PVC. May be empty. */
json_t *k8s_volumes(const struct recipe *recipe, const char *configmap_name);
/* A Pod template with the main container, pull secrets and volumes. With scripts
 * (`configmap_name` set) it carries RENDER_SCRIPTS_HASH_ANNOTATION = `hash`: operators roll a
 * deployment out when its pod template changes and ignore ConfigMap edits, so the annotation
 * is what turns a script edit into an upgrade. */
json_t *k8s_pod_template(const struct recipe *recipe, const char *configmap_name, const char *hash);

/* An Ingress (networking.k8s.io/v1) routing ingress.host and ingress.path to the REST
 * service Flink creates, `<name>-rest` on FLINK_REST_PORT. */
json_t *k8s_ingress(const struct recipe *recipe);
/* The `tls` list for ingress.host with ingress.tlsSecret. */
json_t *k8s_ingress_tls(const struct recipe *recipe);

/* serviceaccount.yaml, role.yaml and rolebinding.yaml: what a JobManager needs to manage its
 * TaskManager pods in native Kubernetes mode. */
void k8s_add_rbac(struct render_output *out, const struct recipe *recipe);
/* The PersistentVolumeClaim of state.volume. */
json_t *k8s_pvc(const struct recipe *recipe);
/* podmonitor.yaml, or service-metrics.yaml and servicemonitor.yaml, per monitoring.monitor. */
void k8s_add_monitoring(struct render_output *out, const struct recipe *recipe);

/* kustomization.yaml: the namespace and every resource file of `out` in order, and
 * `configuration` (a file name; NULL: none) under `configurations`. */
json_t *k8s_kustomization(const struct recipe *recipe, const struct render_output *out,
			  const char *configuration);

#endif
