/* target.h - render targets: the operator whose custom resources a recipe becomes.
 *
 * A target knows one Kubernetes operator: which objects run a Flink cluster under it (for the
 * Apache Flink Kubernetes Operator, a FlinkDeployment and FlinkSessionJobs) and what its
 * admission webhook refuses, so that such a recipe fails in `factory validate` with a
 * position instead of at `kubectl apply`. What does not depend on the operator is built by
 * the shared builders of k8s.h, and render_target_run does the steps every target shares.
 *
 * render_target_run, for every target, in this order:
 *   1. resolves the image the pods run (render_options.image, else the recipe's target
 *      image, else its base) into output->image;
 *   2. with Python scripts, adds configmap-scripts.yaml: the scripts' ConfigMap named by its
 *      content hash (output->scripts_hash);
 *   3. calls target->render, which appends the target's files;
 *   4. overlays templates/<file name> on each file so far and appends templates/extra/;
 *   5. appends kustomizeconfig.yaml (target->kustomize_config, when set) and
 *      kustomization.yaml, which lists every file whose `resource` is true, in order.
 *
 * Adding a target is one new file, render/<name>.c, that defines
 *
 *     const struct render_target render_target_<name> = {
 *             .name = "<name>",
 *             .validate = <name>_validate,
 *             .render = <name>_render,
 *             .kustomize_config = NULL, // or <name>_kustomize_config
 *     };
 *
 * plus its declaration below and its entry in the table in target.c (the Makefile builds
 * every file in this directory). A recipe key that chooses it is then read in recipe.c into
 * recipe->render_target and documented in README.md; RENDER_TARGET_DEFAULT stays "apache".
 * What each function must do is said at its member.
 */
#ifndef FACTORY_RENDER_TARGET_H
#define FACTORY_RENDER_TARGET_H

#include <jansson.h>

#include "diag.h"
#include "error.h"
#include "recipe.h"
#include "render.h"
#include "ydoc.h"

#define RENDER_TARGET_DEFAULT "apache"

/* What render_target_run has made before it calls target->render (steps 1 and 2). */
struct render_context {
	const char *image;             /* the image reference every Flink container runs */
	const char *scripts_configmap; /* name of the scripts' ConfigMap; NULL without Python */
	const char *scripts_hash;      /* its content hash for k8s_pod_template; "" without */
};

struct render_target {
	const char *name; /* what recipe->render_target holds, e.g. "apache" */

	/* The operator's own rules: adds an error to `diags` for each thing the operator (or its
	 * webhook) would refuse that the recipe schema allows, with the position of the YAML node
	 * at fault (recipe->doc->root, recipe_session_job.node; render_target_error formats it
	 * like every other recipe message). Called by recipe_load after all its own checks, also
	 * when they failed, so a field may hold its fallback value: rely on the recipe's fields
	 * only as far as recipe.h promises. Reports nothing for a recipe the operator accepts. */
	void (*validate)(const struct recipe *recipe, struct diag_list *diags);

	/* Appends the target's objects to `out` with k8s_add_file, in the order kustomization.yaml
	 * should list them, each with `resource` true unless it is no Kubernetes object (such as
	 * operator/values.yaml, the operator's Helm values). The recipe passed validate: a
	 * failure here is an internal error (err, -1); what the target appended is freed with
	 * `out`. */
	int (*render)(struct render_output *out, const struct recipe *recipe, const struct render_context *ctx,
		      struct error *err);

	/* The kustomize configuration (nameReference and images field specs) that lets overlays
	 * rename what the target's custom resources refer to; written as kustomizeconfig.yaml
	 * after the templates, so they cannot change it. NULL: the target has none. */
	json_t *(*kustomize_config)(const struct recipe *recipe);
};

extern const struct render_target render_target_apache; /* apache.c */

/* The target called `name`, or NULL. */
const struct render_target *render_target_find(const char *name); /* NULL: the default */

/* Renders `recipe` with `target` (steps 1 to 5 above). render_recipe calls it with the
 * recipe's own target; tests may pass a target of their own. */
int render_target_run(struct render_output **out, const struct render_target *target, const struct recipe *recipe,
		      const struct render_options *options, struct diag_list *diags, struct error *err);

/* Adds an error at `node` (NULL: no position) of the recipe's file, formatted as recipe_load
 * formats its own messages. */
void render_target_error(struct diag_list *diags, const struct recipe *recipe, const struct ynode *node,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same, as a warning. */
void render_target_warning(struct diag_list *diags, const struct recipe *recipe, const struct ynode *node,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
