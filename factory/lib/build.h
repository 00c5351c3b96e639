/* build.h - the one pipeline: plan -> fetch -> assemble -> render -> bundle -> push.
 *
 * Every command that builds is one call to build_run with the stages it wants; the command
 * only parses its options and prints the result. Stages run in order and never reach back:
 * fetch fills the cache from the plan, assembly reads only the cache, render reads the recipe
 * and the image digest, push reads the bundle.
 */
#ifndef FACTORY_BUILD_H
#define FACTORY_BUILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "bom.h"
#include "diag.h"
#include "error.h"
#include "fetch.h"
#include "gitops.h"
#include "image.h"
#include "inputs.h"
#include "plan.h"
#include "push.h"
#include "recipe.h"
#include "render.h"
#include "workspace.h"

enum build_stage {
	BUILD_FETCH = 1u << 0,    /* resolve and download every input: JARs, base, Python (factory.lock) */
	BUILD_ASSEMBLE = 1u << 1, /* the image on its base, into out/<app>/image */
	BUILD_RENDER = 1u << 2,   /* the manifests, into out/<app>/manifests */
	BUILD_PUSH = 1u << 3,     /* the image to its registry */
	BUILD_PUBLISH = 1u << 4,  /* the bundle's manifests to the recipe's gitops repository */
};

struct build_options {
	const char *recipe_path;
	struct workspace_options workspace;
	const char *output_dir; /* default "out" */
	unsigned stages;        /* enum build_stage bits */
	enum plan_mode plan_mode;
	long long epoch;        /* SOURCE_DATE_EPOCH */
	const char *version;    /* factory's release, for the provenance's builder; NULL: "unknown" */
	bool recheck;           /* hash every cached input it uses, trusting no stat record */
	/* Build into a directory of its own under <cache>/tmp (output_dir is ignored), removed with
	 * the result: a bundle to compare, not to keep. Beside the cache its layout is hard links,
	 * not a copy of every layer into $TMPDIR. */
	bool scratch;
	bool strict;            /* a warning about the recipe is an error, before anything is written */
	struct recipe_image_override image_override; /* --registry, --repository, --tag */
	bool lock_read_only;    /* leave factory.lock as it is (struct plan) */
	int level;              /* gzip level; 0: 6 */
	const char *image;      /* render only: deploy this reference instead of the recipe's */
	const volatile sig_atomic_t *interrupted;
	int parallel;           /* transfers at once; 0: factory.yaml's */
	/* BUILD_PUBLISH: dry run, branch per change, commit dates (config is set by build_run). */
	struct gitops_options publish;
	/* Progress of downloads (may be NULL), as struct fetch_options has them. */
	void (*on_progress)(void *ctx, const struct fetch_progress *progress);
	void (*on_item)(void *ctx, const struct fetch_item *item);
	/* A stage begins (may be NULL): one enum build_stage bit. */
	void (*on_stage)(void *ctx, unsigned stage);
	/* BUILD_PUSH: a blob is in the registry (may be NULL), as registry_push_hooks has it. */
	void (*on_blob)(void *ctx, const struct registry_push_progress *progress);
	void *ctx;
};

struct build_result {
	struct workspace workspace;
	struct recipe *recipe;
	struct cache *cache;
	struct plan *plan;           /* BUILD_FETCH: what was fetched, also on failure */
	struct image_inputs inputs;  /* BUILD_FETCH: the base, Python runtime and wheels */
	struct image_build image;    /* BUILD_ASSEMBLE */
	struct render_output *rendered;
	struct bom bom;              /* BUILD_ASSEMBLE: what the bundle is made of */
	struct push_result pushed;   /* BUILD_PUSH */
	struct gitops_result published; /* BUILD_PUBLISH */
	char *app_dir;               /* <output>/<app> */
	char *scratch_dir;           /* with options.scratch: removed by build_result_clear */
	int scratch_lock;            /* an flock on it, so that another run's sweep leaves it */
	char *image_dir;             /* <app_dir>/image */
	char *reference;             /* what the manifests deploy: registry/repository@digest */
	size_t base_layers_left;     /* base layers never downloaded (pushing a registry base) */
	bool stopped_at_fetch;       /* the failure was in the fetch stage */
};

int build_run(struct build_result *result, const struct build_options *options, struct diag_list *diags,
	      struct error *err);
void build_result_clear(struct build_result *result);

/* sha256 over everything of the recipe an image digest depends on (base, platform, JARs,
 * files' contents, Python set and runtime, image settings, SOURCE_DATE_EPOCH): recorded in
 * bundle.json, so that a render alone knows whether the last build's digest still applies. */
void build_inputs_key(const struct recipe *recipe, long long epoch, struct cache *cache, char key[65]);

#endif
