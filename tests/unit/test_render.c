#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "diag.h"
#include "k8s.h"
#include "recipe.h"
#include "render.h"
#include "target.h"
#include "unit.h"

#define RECIPE_HEAD                                                                                      \
	"apiVersion: factory.dev/v1alpha1\nkind: Recipe\n"                                               \
	"metadata: {name: app, namespace: flink, labels: {team: data, app.kubernetes.io/name: web}}\n" \
	"flink: {version: '1.19.2'}\njobManager: {memory: 1g}\ntaskManager: {memory: 1g}\n"

static struct recipe *load(struct unit_state *s, const char *text)
{
	struct recipe *r = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	CHECK(s, recipe_load_buffer(&r, "r.yaml", text, strlen(text), NULL, &render_rules, &diags, &err) == 0);
	for (size_t i = 0; i < diags.count; i++)
		fprintf(stderr, "  r.yaml:%d:%d: %s\n", diags.items[i].line, diags.items[i].col, diags.items[i].message);
	diag_list_free(&diags);
	return r;
}

/* The value at a path of object keys and array indexes ("spec/rules/0/host"). */
static const json_t *at(const json_t *v, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *part = strtok_r(buf, "/", &save); part && v; part = strtok_r(NULL, "/", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(part, NULL, 10)) : json_object_get(v, part);
	return v;
}

static const char *str_at(const json_t *v, const char *path)
{
	return json_string_value(at(v, path));
}

static void test_labels(struct unit_state *s)
{
	struct recipe *r = load(s, RECIPE_HEAD "java: {jarURI: 'local:///opt/flink/usrlib/app.jar'}\n");
	json_t *labels, *meta;
	const char *key;
	json_t *value;
	size_t i = 0;

	if (!r)
		return;
	labels = k8s_labels(r, K8S_COMPONENT_FLINK);
	/* The recommended labels first, then the recipe's, which may override them. */
	CHECK(s, json_object_size(labels) == 7);
	CHECK_STR(s, json_string_value(json_object_get(labels, "app.kubernetes.io/name")), "web");
	CHECK_STR(s, json_string_value(json_object_get(labels, "app.kubernetes.io/instance")), "app");
	CHECK_STR(s, json_string_value(json_object_get(labels, "app.kubernetes.io/version")), "1.19.2"); /* flink:1.19.2 */
	CHECK_STR(s, json_string_value(json_object_get(labels, "app.kubernetes.io/component")), "flink");
	CHECK_STR(s, json_string_value(json_object_get(labels, "app.kubernetes.io/part-of")), "app");
	CHECK_STR(s, json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")), "factory");
	CHECK_STR(s, str_at(labels, "team"), "data");
	json_object_foreach(labels, key, value) {
		const char *want[] = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
				      "app.kubernetes.io/component", "app.kubernetes.io/part-of",
				      "app.kubernetes.io/managed-by", "team"};
		CHECK_STR(s, key, want[i++]);
	}
	meta = k8s_metadata(r, "app-extra", K8S_COMPONENT_FLINK);
	CHECK_STR(s, str_at(meta, "name"), "app-extra");
	CHECK_STR(s, str_at(meta, "namespace"), "flink");
	CHECK(s, json_equal(json_object_get(meta, "labels"), labels));
	json_decref(meta);
	json_decref(labels);
	recipe_free(r);
}

static void test_app_version(struct unit_state *s)
{
	static const struct {
		const char *recipe, *want;
	} cases[] = {
		{"image: {repository: team/app, tags: ['2.1', latest]}\n", "2.1"},
		{"image: {repository: team/app}\n", "latest"},
		{"flink: {version: '1.19.2', image: 'reg.example.com:5000/flink:1.19.2-java17'}\n", "1.19.2-java17"},
		{"flink: {version: '1.19.2', image: 'reg.example.com:5000/flink@sha256:"
		 "0000000000000000000000000000000000000000000000000000000000000000'}\n", "1.19.2"},
		{"image: {repository: team/app, tags: [_private]}\n", "1.19.2"}, /* no valid label value */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024], buf[K8S_LABEL_VALUE_SIZE];
		struct recipe *r;
		/* a later flink: replaces the head's in the mapping */
		snprintf(text, sizeof(text),
			 "apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: app}\n"
			 "jobManager: {memory: 1g}\ntaskManager: {memory: 1g}\n"
			 "java: {jarURI: 'local:///opt/flink/usrlib/app.jar'}\n%s%s",
			 strstr(cases[i].recipe, "flink:") ? "" : "flink: {version: '1.19.2'}\n", cases[i].recipe);
		r = load(s, text);
		if (!r)
			continue;
		CHECK(s, k8s_app_version(r, buf));
		CHECK_STR(s, buf, cases[i].want);
		recipe_free(r);
	}
}

static void test_pod_template_merge(struct unit_state *s)
{
	struct recipe *r = load(s, RECIPE_HEAD "python: {scripts: [job.py]}\nenv: {MODE: prod, LEVEL: info}\n"
					"state: {volume: {claimName: data, mountPath: /data}}\n");
	json_t *pod, *overlay, *containers, *main, *env, *volumes;
	json_error_t jerr;

	if (!r)
		return;
	pod = k8s_pod_template(r, "app-scripts-abc", "abc");
	CHECK_STR(s, json_string_value(json_object_get(at(pod, "metadata/annotations"), RENDER_SCRIPTS_HASH_ANNOTATION)),
		  "abc");
	CHECK_STR(s, json_string_value(json_object_get(at(pod, "metadata/labels"), "app.kubernetes.io/component")), K8S_COMPONENT_FLINK);
	CHECK_STR(s, str_at(pod, "metadata/labels/team"), "data");
	CHECK_STR(s, str_at(pod, "spec/containers/0/name"), "flink-main-container");
	CHECK_STR(s, str_at(pod, "spec/containers/0/volumeMounts/0/name"), K8S_SCRIPTS_VOLUME);
	CHECK_STR(s, str_at(pod, "spec/containers/0/volumeMounts/1/mountPath"), "/data");
	CHECK_STR(s, str_at(pod, "spec/volumes/0/configMap/name"), "app-scripts-abc");
	CHECK_STR(s, str_at(pod, "spec/volumes/1/persistentVolumeClaim/claimName"), "data");

	/* A hardening template: named lists merge by name, null deletes, new names are added. */
	overlay = json_loads("{\"metadata\": {\"annotations\": {\"extra\": \"1\"}},"
			     " \"spec\": {\"containers\": ["
			     "   {\"name\": \"flink-main-container\", \"env\": [{\"name\": \"LEVEL\", \"value\": \"debug\"}],"
			     "    \"securityContext\": {\"runAsNonRoot\": true}},"
			     "   {\"name\": \"sidecar\", \"image\": \"busybox\"}],"
			     "  \"volumes\": [{\"name\": \"" K8S_STATE_VOLUME "\", \"persistentVolumeClaim\": null,"
			     "                 \"emptyDir\": {}}]}}",
			     0, &jerr);
	CHECK(s, overlay != NULL);
	render_merge(pod, overlay);
	containers = json_object_get(json_object_get(pod, "spec"), "containers");
	CHECK(s, json_array_size(containers) == 2);
	main = json_array_get(containers, 0);
	env = json_object_get(main, "env");
	CHECK(s, json_array_size(env) == 2);
	CHECK_STR(s, str_at(env, "0/value"), "prod");
	CHECK_STR(s, str_at(env, "1/value"), "debug");
	CHECK(s, json_is_true(json_object_get(json_object_get(main, "securityContext"), "runAsNonRoot")));
	CHECK(s, json_array_size(json_object_get(main, "volumeMounts")) == 2);
	CHECK_STR(s, str_at(containers, "1/image"), "busybox");
	CHECK_STR(s, json_string_value(json_object_get(at(pod, "metadata/annotations"), RENDER_SCRIPTS_HASH_ANNOTATION)),
		  "abc");
	CHECK_STR(s, str_at(pod, "metadata/annotations/extra"), "1");
	volumes = json_object_get(json_object_get(pod, "spec"), "volumes");
	CHECK(s, json_array_size(volumes) == 2);
	CHECK(s, json_object_get(json_array_get(volumes, 1), "persistentVolumeClaim") == NULL);
	CHECK(s, json_is_object(json_object_get(json_array_get(volumes, 1), "emptyDir")));
	json_decref(overlay);
	json_decref(pod);

	/* Without scripts: no annotation, no scripts mount or volume. */
	pod = k8s_pod_template(r, NULL, "");
	CHECK(s, json_object_get(at(pod, "metadata"), "annotations") == NULL);
	CHECK(s, json_is_object(at(pod, "metadata/labels")));
	CHECK(s, json_array_size(json_object_get(json_object_get(pod, "spec"), "volumes")) == 1);
	CHECK_STR(s, str_at(pod, "spec/containers/0/volumeMounts/0/name"), K8S_STATE_VOLUME);
	json_decref(pod);
	recipe_free(r);
}

static void test_ingress(struct unit_state *s)
{
	struct recipe *r = load(s, RECIPE_HEAD "java: {jarURI: 'local:///opt/flink/usrlib/app.jar'}\n"
					"ingress: {host: flink.example.com, path: /app, className: nginx, tlsSecret: web-tls,"
					" annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}}\n");
	json_t *ingress, *bare;

	if (!r)
		return;
	ingress = k8s_ingress(r);
	CHECK_STR(s, str_at(ingress, "apiVersion"), "networking.k8s.io/v1");
	CHECK_STR(s, str_at(ingress, "kind"), "Ingress");
	CHECK_STR(s, str_at(ingress, "metadata/name"), "app");
	CHECK_STR(s, json_string_value(json_object_get(at(ingress, "metadata/annotations"),
						       "nginx.ingress.kubernetes.io/rewrite-target")), "/");
	CHECK_STR(s, str_at(ingress, "spec/ingressClassName"), "nginx");
	CHECK_STR(s, str_at(ingress, "spec/tls/0/hosts/0"), "flink.example.com");
	CHECK_STR(s, str_at(ingress, "spec/tls/0/secretName"), "web-tls");
	CHECK_STR(s, str_at(ingress, "spec/rules/0/host"), "flink.example.com");
	CHECK_STR(s, str_at(ingress, "spec/rules/0/http/paths/0/path"), "/app");
	CHECK_STR(s, str_at(ingress, "spec/rules/0/http/paths/0/pathType"), "Prefix");
	/* Flink's native Kubernetes mode names the REST service <cluster>-rest, port 8081. */
	CHECK_STR(s, str_at(ingress, "spec/rules/0/http/paths/0/backend/service/name"), "app-rest");
	CHECK(s, json_integer_value(at(ingress, "spec/rules/0/http/paths/0/backend/service/port/number")) == 8081);
	json_decref(ingress);
	recipe_free(r);

	r = load(s, RECIPE_HEAD "java: {jarURI: 'local:///opt/flink/usrlib/app.jar'}\ningress: {host: flink.example.com}\n");
	if (!r)
		return;
	bare = k8s_ingress(r);
	CHECK(s, json_object_get(json_object_get(bare, "metadata"), "annotations") == NULL);
	CHECK(s, json_object_get(json_object_get(bare, "spec"), "tls") == NULL);
	CHECK(s, json_object_get(json_object_get(bare, "spec"), "ingressClassName") == NULL);
	CHECK_STR(s, str_at(bare, "spec/rules/0/http/paths/0/path"), "/");
	json_decref(bare);
	recipe_free(r);
}

/* ---- a second target, as target.h describes it ------------------------------------------- */

static void fake_validate(const struct recipe *r, struct diag_list *diags)
{
	if (strcmp(r->name, "app") != 0)
		render_target_error(diags, r, ynode_where(r->doc->root, "metadata.name"), "metadata.name: only 'app'");
}

static int fake_render(struct render_output *out, const struct recipe *r, const struct render_context *ctx,
		       struct error *err)
{
	json_t *cluster = k8s_object("example.com/v1", "FakeCluster", k8s_metadata(r, r->name, K8S_COMPONENT_FLINK));
	json_t *spec = json_object();

	(void)err;
	json_object_set_new(spec, "image", json_string(ctx->image));
	json_object_set_new(spec, "pod", k8s_pod_template(r, ctx->scripts_configmap, ctx->scripts_hash));
	json_object_set_new(cluster, "spec", spec);
	k8s_add_file(out, "fakecluster.yaml", cluster, true);
	k8s_add_file(out, "notes.yaml", json_object(), false);
	return 0;
}

static const struct render_target fake_target = {
	.name = "fake",
	.validate = fake_validate,
	.render = fake_render,
	.kustomize_config = NULL,
};

static void test_second_target(struct unit_state *s)
{
	struct recipe *r = load(s, RECIPE_HEAD "python: {scripts: [job.py]}\n");
	struct render_options options = {.image = "registry.example.com/app@sha256:0000"};
	struct render_output *out = NULL;
	struct diag_list diags;
	struct error err = {0};
	const json_t *kustomization, *fake;
	const char *want[] = {"configmap-scripts.yaml", "fakecluster.yaml", "notes.yaml", "kustomization.yaml"};

	CHECK(s, render_target_find(RENDER_TARGET_DEFAULT) == &render_target_apache);
	CHECK(s, render_target_find("fake") == NULL);
	if (!r)
		return;
	diag_list_init(&diags);
	fake_target.validate(r, &diags);
	CHECK(s, diags.count == 0);
	CHECK(s, render_target_run(&out, &fake_target, r, &options, &diags, &err) == 0);
	CHECK(s, out && out->count == 4);
	for (size_t i = 0; out && i < out->count && i < 4; i++)
		CHECK_STR(s, out->files[i].name, want[i]);
	if (out && out->count == 4) {
		fake = out->files[1].object;
		CHECK_STR(s, str_at(fake, "spec/image"), "registry.example.com/app@sha256:0000");
		CHECK_STR(s, str_at(fake, "spec/pod/spec/volumes/0/configMap/name"),
			  str_at(out->files[0].object, "metadata/name"));
		CHECK_STR(s, json_string_value(json_object_get(at(fake, "spec/pod/metadata/annotations"),
							       RENDER_SCRIPTS_HASH_ANNOTATION)), out->scripts_hash);
		/* No kustomize configuration of its own: none is written or referred to. */
		kustomization = out->files[3].object;
		CHECK(s, json_object_get(kustomization, "configurations") == NULL);
		CHECK(s, json_array_size(json_object_get(kustomization, "resources")) == 2);
		CHECK_STR(s, str_at(kustomization, "resources/1"), "fakecluster.yaml");
	}
	render_output_free(out);
	diag_list_free(&diags);
	recipe_free(r);
}

/* The Apache target's rules run inside recipe_load, positioned like every other message. */
static void test_apache_rules(struct unit_state *s)
{
	const char *text = "apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: App}\n"
			   "flink: {version: '1.19'}\njava: {jarURI: 'local:///opt/flink/usrlib/app.jar'}\n"
			   "jobManager: {cpu: 1}\ntaskManager: {memory: 1g}\n";
	struct recipe *r = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	CHECK(s, recipe_load_buffer(&r, "r.yaml", text, strlen(text), NULL, &render_rules, &diags, &err) == -1);
	CHECK(s, diags.count == 2);
	if (diags.count == 2) {
		diag_list_sort(&diags);
		CHECK(s, diags.items[0].line == 3 && diags.items[0].col == 18);
		CHECK(s, strstr(diags.items[0].message, "not a valid FlinkDeployment name") != NULL);
		CHECK(s, diags.items[1].line == 6 && diags.items[1].col == 13);
		CHECK_STR(s, diags.items[1].message, "jobManager.memory: missing required key");
	}
	recipe_free(r);
	diag_list_free(&diags);
}

const struct unit_test render_tests[] = {
	{"render_labels", test_labels},
	{"render_app_version", test_app_version},
	{"render_pod_template_merge", test_pod_template_merge},
	{"render_ingress", test_ingress},
	{"render_second_target", test_second_target},
	{"render_apache_rules", test_apache_rules},
	{NULL, NULL},
};
