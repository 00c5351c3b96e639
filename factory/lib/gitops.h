/* gitops.h - publishing a bundle's manifests to a Git repository (libgit2).
 *
 * One commit per change: the target path of the branch is made to hold exactly the bundle's
 * manifests (files the bundle no longer has are removed, every other path of the repository
 * is left as it was). When the result equals the branch's tree nothing is committed. The
 * commit is pushed without force; when someone else moved the branch first it is re-applied
 * on the new tip and pushed again, a bounded number of times.
 *
 * Each repository has one cached bare clone under <cache>/git/<sha256 of the URL>, used
 * under an exclusive lock. It never records the URL nor credentials in its configuration,
 * and it never keeps a commit the remote did not accept.
 */
#ifndef FACTORY_GITOPS_H
#define FACTORY_GITOPS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

#define GITOPS_DEFAULT_MESSAGE "{app}: deploy {image}\n\nscripts: {scriptsHash}\n\n{files}"
#define GITOPS_MAX_ATTEMPTS 8

struct gitops_target {
	const char *url;    /* a path, file://, git://, ssh://, user@host:path, http(s):// */
	const char *branch; /* default "main" */
	const char *path;   /* inside the repository; default the app's name */
	const char *app;
	const char *author_name; /* also the committer */
	const char *author_email;
	/* The commit message; {app}, {image}, {scriptsHash} and {files} (one "A|M|D path" per
	 * line) are replaced. NULL: GITOPS_DEFAULT_MESSAGE. */
	const char *message;
	const char *image;        /* the image the manifests deploy */
	const char *scripts_hash; /* may be "" */
};

struct gitops_options {
	const struct config *config; /* the cache directory and gitops.remotes (credentials) */
	bool epoch_set;              /* SOURCE_DATE_EPOCH given: commit dates are `epoch` */
	long long epoch;
	bool dry_run;           /* compute the change, commit and push nothing */
	bool branch_per_change; /* push to factory/<app>-<short hash> started from the branch */
	int max_attempts;       /* pushes tried when the branch moves meanwhile; 0: GITOPS_MAX_ATTEMPTS */
	const volatile sig_atomic_t *interrupted;
};

enum gitops_change_kind { GITOPS_ADDED = 'A', GITOPS_MODIFIED = 'M', GITOPS_DELETED = 'D' };

struct gitops_change {
	char kind; /* enum gitops_change_kind */
	char *path; /* inside the repository */
};

struct gitops_result {
	bool changed;   /* false: the branch already holds these manifests */
	bool pushed;
	char commit[41]; /* the new commit, or the tip that already held them; "" for an empty dry run */
	char parent[41]; /* the tip it was made on; "" for the first commit of a branch */
	char *remote;    /* the URL, as safe to show as the configuration's */
	char *branch;    /* the branch pushed to */
	char *path;
	int attempts;    /* pushes tried */
	struct gitops_change *changes;
	size_t change_count;
};

/* Publishes the files under `manifests_dir` to `target`. On failure the error names the remote
 * and the branch: ERROR_AUTH (credentials refused, unknown or changed host key),
 * ERROR_NETWORK (unreachable), ERROR_CONFLICT (the push was rejected, or the branch kept
 * moving), ERROR_INVALID (a bad target or configuration). */
int gitops_publish(const struct gitops_target *target, const char *manifests_dir, const struct gitops_options *opts,
		   struct gitops_result *result, struct error *err);
void gitops_result_clear(struct gitops_result *result);

/* gitops_publish for a bundle: the target recorded in <app_dir>/build.json, the author, the
 * branch (unless the recipe names one) and the message template from opts->config. */
int gitops_publish_bundle(const char *app_dir, const struct gitops_options *opts, struct gitops_result *result,
			  struct error *err);

/* Calls `fn` with each file directly under the target's path at the tip of its branch, as
 * the remote has it now (fetched into the cached clone; nothing is committed). None when the
 * branch or the path does not exist yet. Errors as gitops_publish's. */
int gitops_read_files(const struct gitops_target *target, const struct gitops_options *opts,
		      int (*fn)(void *ctx, const char *name, const void *data, size_t size, struct error *err), void *ctx,
		      struct error *err);

/* The gitops.remotes entry whose url is the longest prefix of `url`, or NULL. */
const struct config_git_remote *gitops_find_remote(const struct config *config, const char *url);

#endif
