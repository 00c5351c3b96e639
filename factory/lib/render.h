/* render.h - the Kubernetes objects of a recipe.
 *
 * Rendering is a pure function of the recipe, its scripts, its templates and the image
 * reference: no clock, no environment, no host name. Each object becomes one file of the
 * bundle; kustomization.yaml lists them. Which objects a recipe becomes is up to its render
 * target, the operator that runs it (render/target.h); render/k8s.h builds the ones every
 * target shares.
 */
#ifndef FACTORY_RENDER_H
#define FACTORY_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "diag.h"
#include "error.h"
#include "kustomize.h"
#include "recipe.h"

#define RENDER_SCRIPTS_HASH_ANNOTATION "factory.dev/scripts-hash"

struct render_file {
	char *name;     /* path inside manifests/, e.g. "flinkdeployment.yaml" */
	json_t *object; /* owned */
	bool resource;  /* listed in kustomization.yaml */
};

struct render_output {
	struct render_file *files;
	size_t count;
	char scripts_hash[KUSTOMIZE_HASH_LENGTH + 1]; /* empty without scripts */
	char *image;                                  /* the image the deployment runs */
};

struct render_options {
	/* The image reference to deploy (e.g. pinned by digest after a push); NULL renders the
	 * recipe's target image or, without one, its base image. */
	const char *image;
};

/* Builds every object with the recipe's render target. Problems in templates are reported
 * to `diags`. */
int render_recipe(struct render_output **out, const struct recipe *recipe,
		  const struct render_options *options, struct diag_list *diags, struct error *err);
void render_output_free(struct render_output *output);

/* The rules of the recipe's render target (the operator's webhook rules), for recipe_load:
 * reported in the same pass as the recipe's own problems. */
extern const struct recipe_rules render_rules;

/* Deep-merges `overlay` into `base`: mappings merge key by key, null deletes a key, lists of
 * named mappings (containers, volumes, env) merge by name, other lists and scalars replace. */
void render_merge(json_t *base, const json_t *overlay);

#endif
