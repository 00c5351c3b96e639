/* bundle.h - out/<app>/: what factory produces for one application.
 *
 * A build writes the bundle as one tree (tree.h): only when something differs, into a staging
 * directory swapped in with one rename, so a failed or interrupted run leaves the previous
 * bundle exactly as it was and a build that changes nothing writes nothing.
 */
#ifndef FACTORY_BUNDLE_H
#define FACTORY_BUNDLE_H

#include <jansson.h>

#include "error.h"
#include "render.h"

struct tree;

/* Writes `output` as `<app_dir>/manifests/` (nothing when the files there are the same). */
int bundle_write_manifests(const struct render_output *output, const char *app_dir, struct error *err);
/* Adds the manifests under `dir` ("" for the top) of a tree written as a whole (the bundle). */
int bundle_manifests_tree(struct tree *tree, const char *dir, const struct render_output *output, struct error *err);

/* What `factory push <app_dir>` needs: where the built image goes (build.json). */
struct bundle_target {
	char *registry;   /* may be NULL (the default registry) */
	char *repository;
	char **tags;
	size_t tag_count;
	char manifest_digest[72];
	char *base; /* the base image reference: its repository may lend layers (mount) */
	json_t *inputs; /* borrowed; may be NULL: what went into the image beyond the recipe's JARs */
	/* sha256 of the recipe's image inputs (build_inputs_key): a later render of the same inputs
	 * deploys manifest_digest; "" when unknown (bundles written before it existed). */
	char inputs_key[65];
};

int bundle_read_target(const char *app_dir, struct bundle_target *target, struct error *err);
void bundle_target_clear(struct bundle_target *target);

/* Where the manifests are published (build.json's "gitops"), so that `factory publish
 * out/<app>` needs no recipe. */
struct bundle_gitops {
	char *url;
	char *branch; /* may be NULL: "main" */
	char *path;   /* may be NULL: the app's name */
	char *app;
	char *image;  /* what the manifests deploy, for the commit message */
	char *scripts_hash;
};

/* Sets (or, with `gitops` NULL, removes) the "gitops" object of <app_dir>/build.json and
 * keeps the rest of the file; creates the file if needed. */
int bundle_write_gitops(const char *app_dir, const struct bundle_gitops *gitops, struct error *err);
/* ERROR_NOT_FOUND when the bundle records no GitOps target. */
int bundle_read_gitops(const char *app_dir, struct bundle_gitops *gitops, struct error *err);
void bundle_gitops_clear(struct bundle_gitops *gitops);

/* The text of build.json: the target and the GitOps destination (either may be NULL). */
char *bundle_build_json(const struct bundle_target *target, const struct bundle_gitops *gitops, size_t *size);

/* Records the references an image was pushed as (pushed.json). */
int bundle_write_pushed(const char *app_dir, const char *const *references, size_t count, struct error *err);

#endif
