/* config.h - factory.yaml: what is shared by every recipe of a team.
 *
 * Maven repositories and mirrors, container registries, the cache directory, the connector
 * catalog and GitOps defaults. Secrets are never written here in clear: a value may be a
 * `${NAME}` reference resolved from the environment when it is used (config_expand).
 */
#ifndef FACTORY_CONFIG_H
#define FACTORY_CONFIG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "download.h"
#include "error.h"
#include "http.h"
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

/* gitops.remotes[]: how to reach a Git remote, chosen by the longest URL prefix. */
struct config_git_remote {
	const char *url;
	const char *username; /* may hold ${ENV} references */
	const char *password;
	const char *ca_file;  /* absolute: HTTPS certificates are checked against it too */
	const char *ssh_key;  /* absolute: the private key file */
	const char *ssh_key_passphrase;
	const char *known_hosts; /* absolute: the host key must be listed here ... */
	const char *host_key_fingerprint; /* ... or match this "SHA256:<base64>" */
};

/* limits: how much and how long anything read from outside may take (see README). */
struct config_limits {
	long long download; /* bytes of a download whose size neither a descriptor nor a lock gives */
	long long expansion;       /* bytes an archive may expand to ... */
	long long expansion_ratio; /* ... and times its compressed size (above a small floor) */
	struct http_limits http;   /* transferTimeout, minRate, minRateTime */
};

/* signing: the key that signs envelopes and the one that verifies them. */
struct config_signing {
	char *key_path;        /* absolute: the PEM private key; NULL for none */
	char *passphrase;      /* its "${NAME}" reference, not the secret: config_expand it when the key
				* is loaded, so a run that never signs needs no such variable */
	char *public_key_path; /* absolute: the PEM public key; NULL: the public part of key_path */
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
	const char *git_message; /* commit message template; NULL for the default */
	struct config_git_remote *git_remotes;
	size_t git_remote_count;
	char **git_paths; /* owned: the remotes' absolute file paths */
	size_t git_path_count;

	struct config_limits limits;
	struct config_signing signing;

	/* Not from the file: who watches this run's HTTP exchanges (factory -v), set by the
	 * caller through workspace_options; NULL for nobody. Every module that talks HTTP gets
	 * the config already, so the observer needs no parameter of its own. */
	const struct http_observer *http_observer;
	/* Likewise the command's stop flag (SIGINT, SIGTERM) for downloads; NULL for none. */
	const volatile sig_atomic_t *interrupted;
};

struct dsse_key;
/* The key that signs bundles (signing.key, with its passphrase expanded), or with
 * `for_verifying` the one that checks them (signing.publicKey, else signing.key); *key is
 * NULL when none is configured. */
int config_signing_key(const struct config *config, bool for_verifying, struct dsse_key **key, struct error *err);

/* The options of this run's single downloads (wheels, runtimes, index pages): the limits,
 * the observer and the stop flag above. */
struct download_options config_download_options(const struct config *config);

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
