/* config.h - factory.yaml: what is shared by every recipe of a team.
 *
 * Maven repositories and mirrors, container registries, the cache directory, the connector
 * catalog and GitOps defaults. Secrets are never written here in clear: a value may be a
 * `${NAME}` reference resolved from the environment when it is used (config_expand).
 */
#ifndef FACTORY_CONFIG_H
#define FACTORY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"
#include "ydoc.h"

struct http_observer;

#define CONFIG_API_VERSION "factory.dev/v1alpha1"
#define CONFIG_KIND "Config"

struct config_repository {
	const char *name;
	const char *url;
	const char *username; /* may hold ${ENV} references */
	const char *password;
	const char *token;
	const char *mirror_of; /* mirrors only: repository name or "*" */
};

struct config_registry {
	const char *host; /* host[:port] */
	bool insecure;    /* plain HTTP */
	const char *ca_file;
	const char *credentials; /* "docker", "env" or "none" */
	const char *username;
	const char *password;
	long long chunk_size; /* upload blobs in PATCH chunks of this many bytes; 0: in one PUT */
};

struct config {
	struct ydoc *doc; /* NULL for the built-in defaults */
	char *path;       /* file it came from, NULL for defaults */
	char *dir;

	struct config_repository *repositories;
	size_t repository_count;
	struct config_repository *mirrors;
	size_t mirror_count;
	long long parallel_downloads;

	struct config_registry *registries;
	size_t registry_count;
	const char *base_registry; /* where bare image names like flink:1.19 are pulled from */

	const char **python_indexes; /* PEP 503 "simple" indexes, tried in order */
	size_t python_index_count;

	char *cache_dir;   /* absolute */
	char *catalog_dir; /* absolute, or NULL to use the installed catalog */

	const char *git_author_name;
	const char *git_author_email;
	const char *git_branch;

	/* Not from the file: who watches this run's HTTP exchanges (factory -v), set by the
	 * caller through workspace_options; NULL for nobody. Every module that talks HTTP gets
	 * the config already, so the observer needs no parameter of its own. */
	const struct http_observer *http_observer;
};

/* Loads `path`, or the built-in defaults when path is NULL. */
int config_load(struct config **out, const char *path, struct diag_list *diags, struct error *err);
void config_free(struct config *config);

/* Where factory looks for its configuration: $FACTORY_CONFIG, then factory.yaml in the
 * recipe's directory and its parents. Returns a malloc'd path or NULL for the defaults. */
char *config_find(const char *recipe_path);

/* Expands ${NAME} references from the environment into a malloc'd string; a missing variable
 * is an error naming the variable (never its value). */
int config_expand(const char *value, char **out, struct error *err);

#endif
