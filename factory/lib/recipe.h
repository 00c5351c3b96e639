/* recipe.h - the recipe (recipe.yaml): what one Flink application is made of.
 *
 * recipe_load parses, checks the document against the recipe schema and then against the
 * rules of its render target (for the Apache operator, what its admission webhook enforces;
 * see render/target.h), reporting every problem in one pass. A recipe that loads without
 * errors renders.
 *
 * Strings point into the parsed document or into the recipe's own pool and live as long as
 * the recipe.
 */
#ifndef FACTORY_RECIPE_H
#define FACTORY_RECIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "diag.h"
#include "error.h"
#include "ydoc.h"

#define RECIPE_API_VERSION "factory.dev/v1alpha1"
#define RECIPE_KIND "Recipe"
#define RECIPE_MAX_SIZE (1024 * 1024)
/* Kubernetes refuses objects over 1 MiB; the ConfigMap also carries its metadata. */
#define RECIPE_MAX_SCRIPTS_SIZE (1024 * 1024 - 4096)

struct kv {
	const char *key;
	const char *value;
};

struct kv_list {
	struct kv *items;
	size_t count;
};

struct str_list {
	const char **items;
	size_t count;
};

enum recipe_mode { RECIPE_APPLICATION, RECIPE_SESSION };

struct recipe_artifact {
	const char *catalog_name; /* NULL for a raw Maven coordinate */
	const char *coordinate;
	const char *destination; /* lib, usrlib or plugins/<name> */
	const char *sha256;      /* NULL when not pinned */
};

struct recipe_script {
	const char *path;     /* as written in the recipe, relative to it */
	const char *key;      /* ConfigMap key: the file name */
	char *content;
	size_t size;
};

struct recipe_file {
	const char *source;      /* relative to the recipe */
	const char *destination; /* absolute path in the image */
	unsigned mode;
};

struct recipe_requirement {
	const char *name;
	const char *version;
	struct str_list sha256;
	const char *file; /* a wheel beside the recipe, or */
	const char *url;  /* a wheel to download; else the configured package index */
};

/* A relocatable CPython ("install_only" layout: python/bin/python3, python/lib/python3.X/)
 * unpacked into its own layer, for bases without Python such as the official flink images. */
#define RECIPE_MEMORY_MIN (128LL << 20) /* jobManager/taskManager.memory bounds */
#define RECIPE_MEMORY_MAX (1LL << 40)
#define RECIPE_RUNTIME_PATH_MAX 32 /* keeps <path>/bin/python3.NN within an interpreter path */

struct recipe_python_runtime {
	const char *url;    /* a tarball to download, or */
	const char *file;   /* one beside the recipe */
	const char *sha256; /* required */
	const char *path;   /* where it lands in the image; default /opt/python */
};

#define RECIPE_DEFAULT_TAG "latest" /* image.tags when the recipe gives none */

struct recipe_job_spec {
	const char *jar_uri;
	const char *entry_class;
	struct str_list args;
	long long parallelism; /* 0: not set */
	const char *upgrade_mode;
	const char *state;
	bool allow_non_restored_state;
	bool allow_non_restored_state_set;
	const char *initial_savepoint_path;
};

struct recipe_session_job {
	const char *name;
	struct recipe_job_spec job;
	const struct ynode *node; /* for positions in messages */
	size_t index;             /* in the recipe's sessionJobs list */
};

struct recipe_resources {
	const char *memory;
	double cpu;
	bool cpu_set;
	long long replicas; /* 0: not set */
	const char *ephemeral_storage;
};

struct recipe_volume {
	const char *claim_name;
	bool create;
	const char *size;
	const char *storage_class;
	struct str_list access_modes;
	const char *mount_path;
};

struct recipe_s3 {
	const char *endpoint;
	bool path_style_access;
	const char *credentials_secret;
	const char *access_key_field;
	const char *secret_key_field;
};

struct recipe {
	struct ydoc *doc;
	char *dir; /* directory of the recipe file: relative paths start here */
	const char *file;

	const char *name;
	const char *namespace;
	struct kv_list labels;

	const char *flink_version;  /* as written: "1.19" or "1.19.2" */
	int flink_major, flink_minor, flink_patch; /* patch -1 when not given */
	const char *base_image;
	const char *platform;

	const char *image_registry;
	const char *image_repository;
	struct str_list image_tags;
	const char *image_pull_policy;
	struct str_list image_pull_secrets;
	struct kv_list image_env;
	struct kv_list image_labels;
	bool image_zstd;     /* compress factory's layers with zstd instead of gzip */
	long long image_uid; /* owner of the files factory adds; 9999 (flink) unless set */
	long long image_gid;
	const char *image_source;   /* org.opencontainers.image.source */
	const char *image_revision; /* org.opencontainers.image.revision */
	/* image.fluxPolicy: "<namespace>:<name>" of the Flux ImagePolicy whose setter marker goes
	 * on the FlinkDeployment's image line; NULL: none */
	const char *image_flux_policy;
	struct recipe_file *files;
	size_t file_count;

	struct recipe_artifact *artifacts;
	size_t artifact_count;

	bool has_python;
	struct recipe_script *scripts;
	size_t script_count;
	const char *python_entry;       /* ConfigMap key of the entry script */
	struct str_list python_args;
	const char *python_executable;
	const char *python_mount_path;
	struct recipe_requirement *requirements;
	size_t requirement_count;
	/* python.requirements given as a path: a requirements.txt in pip's hash-checking format
	 * or a PEP 751 pylock.toml, relative to the recipe. */
	const char *requirements_file;
	struct recipe_python_runtime python_runtime; /* python.runtime; sha256 NULL when absent */
	char *python_runtime_executable;             /* owned: <runtime path>/bin/python3 */

	bool has_java;
	enum recipe_mode mode;
	struct recipe_job_spec job; /* application mode; jar/entry/args from java: */
	struct recipe_session_job *session_jobs;
	size_t session_job_count;
	const char *savepoint_interval;
	long long savepoint_history; /* 0: not set */

	struct recipe_resources job_manager;
	struct recipe_resources task_manager;
	long long task_slots; /* 0: not set */
	const char *service_account;
	bool create_rbac;
	struct kv_list flink_configuration;
	struct kv_list env;

	const char *state_backend;
	bool incremental_checkpoints;
	bool incremental_set;
	const char *checkpoints_dir;
	const char *savepoints_dir;
	const char *checkpoint_interval;
	const char *ha;     /* "kubernetes" or NULL */
	const char *ha_dir;
	bool has_volume;
	struct recipe_volume volume;
	bool has_s3;
	struct recipe_s3 s3;

	bool metrics;
	long long metrics_port;
	const char *monitor_kind; /* "PodMonitor", "ServiceMonitor" or NULL */
	struct kv_list monitor_labels;
	const char *monitor_interval;

	bool has_ingress;
	const char *ingress_style; /* "ingress" or "operator" */
	const char *ingress_host;
	const char *ingress_class;
	const char *ingress_path;
	const char *ingress_tls_secret;
	struct kv_list ingress_annotations;

	struct str_list operator_watch_namespaces;
	struct str_list operator_pull_secrets;
	bool operator_webhook;

	const char *gitops_url;
	const char *gitops_branch;
	const char *gitops_path;

	const char *templates_dir; /* absolute or relative to the recipe; NULL when none */

	/* The render target (render/target.h) whose objects the recipe becomes and whose rules
	 * it was checked against; RENDER_TARGET_DEFAULT while no recipe key chooses another. */
	const char *render_target; /* NULL: the default target */

	/* strings the recipe computed itself */
	char **pool;
	size_t pool_count;
};

/* Rules beyond the recipe's own, checked in the same pass: those of what the recipe will be
 * rendered for (render.h's render_rules: the operator's webhook rules). The caller supplies
 * them, so the recipe knows nothing of renderers; NULL checks the recipe alone. */
struct recipe_rules {
	void (*check)(const struct recipe *recipe, struct diag_list *diags);
};

/* Loads and validates `path`. Returns 0 with *out set, or -1: then `diags` holds every
 * problem found (err says "N errors") or err holds an I/O error. Warnings may be added to
 * `diags` even on success. The catalog resolves connector names; it may be NULL, in which
 * case catalog names are errors. */
int recipe_load(struct recipe **out, const char *path, const struct catalog *catalog,
		const struct recipe_rules *rules, struct diag_list *diags, struct error *err);

/* Parses and validates a recipe held in memory; scripts are not read (their paths are only
 * checked for shape). For the fuzzer and unit tests. */
int recipe_load_buffer(struct recipe **out, const char *file, const char *data, size_t size,
		       const struct catalog *catalog, const struct recipe_rules *rules, struct diag_list *diags,
		       struct error *err);

void recipe_free(struct recipe *recipe);

/* "v1_19": the operator's spelling of the recipe's Flink version. */
void recipe_flink_version_enum(const struct recipe *recipe, char *buf, size_t size);

/* The supported Flink minors, e.g. "1.17, 1.18, ...", for messages. */
const char *recipe_supported_flink_versions(void);

/* The tag the image is built and first pushed as: image.tags[0], else RECIPE_DEFAULT_TAG. */
const char *recipe_image_tag(const struct recipe *recipe);

/* Where the image goes when the command line or the environment says so (--registry,
 * --repository, --tag; FACTORY_REGISTRY, FACTORY_REPOSITORY, FACTORY_TAGS): each set member
 * replaces the recipe's image.registry, image.repository or image.tags. The strings must live
 * as long as the recipe. */
struct recipe_image_override {
	const char *registry;
	const char *repository;
	const char *const *tags;
	size_t tag_count;
};

/* Applies `o` after checking each value by the recipe's own rules (ERROR_INVALID names the
 * value and where it came from: `source`, e.g. "--tag"). */
int recipe_override_image(struct recipe *recipe, const struct recipe_image_override *o, struct error *err);

/* What the recipe accepts: a Flink duration ("60s", "5 min"), a URI with a scheme, and a
 * mount path that would hide part of the image (/opt/flink, its conf, lib, usrlib, ...). */
bool recipe_duration_valid(const char *s);
bool recipe_uri_has_scheme(const char *uri);
bool recipe_mount_hides_image(const char *path);

#endif
