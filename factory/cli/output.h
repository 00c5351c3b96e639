/* output.h - what a command shows the user, in one place: human lines or exactly one JSON
 * document (--json), a progress line on a terminal (plain lines elsewhere, nothing with -q
 * or --json), and each HTTP exchange with -v.
 *
 * A command fills `doc` (NULL unless --json) with its own fields as it goes; output_finish
 * adds "ok", "diagnostics" and "error" and prints it, or prints the diagnostics and the
 * error for a human.
 */
#ifndef FACTORY_OUTPUT_H
#define FACTORY_OUTPUT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "cache.h"
#include "diag.h"
#include "error.h"
#include "fetch.h"
#include "gitops.h"
#include "http.h"
#include "options.h"
#include "plan.h"
#include "push.h"
#include "registry.h"
#include "render.h"

struct output {
	const char *command;
	bool json, quiet, verbose;
	bool tty;         /* stderr is a terminal: progress redraws one line there */
	bool line_open;   /* a progress line is on the terminal */
	bool show_cached; /* a line per cached artifact when not on a terminal (fetch, lock) */
	double started;   /* monotonic seconds */
	json_t *doc;
	/* Set as the workspace's observer: prints exchanges with -v and, while `activity` is
	 * set, counts them for a progress line of work that has none of its own (a pull). */
	struct http_observer observer;
	const char *activity;
	const char *stage_activity; /* what activity returns to after the downloads' own line */
	size_t requests;
	long long bytes;
	pthread_mutex_t lock; /* pushes and the observer report from worker threads */
};

void output_init(struct output *out, const char *command, const struct opt_common *common);

/* Ends the progress line, prints the JSON document or the human report, frees what out
 * holds and returns `status`. `err` is ignored when status is 0. */
int output_finish(struct output *out, int status, struct diag_list *diags, const struct error *err);
/* Frees what out holds without printing anything (the command reported as it went). */
void output_close(struct output *out);

/* Sets a field of the JSON document (takes the reference; drops it without --json). */
void output_set(struct output *out, const char *key, json_t *value);

/* Clears the progress line and ends the activity. */
void output_end_progress(struct output *out);
/* Names the work under way ("pulling"): on a terminal, a line that counts its requests and
 * bytes as the observer sees them; NULL to stop. */
void output_activity(struct output *out, const char *what);

double output_seconds(const struct output *out);
void output_human_size(double bytes, char *buf, size_t size);

/* Callbacks for fetch_options, build_options and registry_push_hooks; ctx is the output. */
void output_on_fetch_progress(void *ctx, const struct fetch_progress *progress);
void output_on_fetch_item(void *ctx, const struct fetch_item *item);
void output_on_stage(void *ctx, unsigned stage);
void output_on_blob(void *ctx, const struct registry_push_progress *progress);

/* JSON pieces shared by several commands. */
json_t *output_json_plan(const struct plan *plan, const struct cache *cache);
json_t *output_json_text(const char *s); /* jsontext_new: bytes that are not UTF-8 as \ooo; null for NULL */
/* {dir, files, scriptsHash, image}; null for NULL. */
json_t *output_json_manifests(const struct render_output *rendered, const char *app_dir);
/* {reference, references, uploaded, mounted, existing, ..., attached: [{document, digest,
 * artifactType, sent}], referrersTag, warnings}; null when nothing was pushed. */
json_t *output_json_pushed(const struct push_result *pushed);
/* A publish: the remote, branch, commit and the changed files; null when none was tried. */
json_t *output_json_published(const struct gitops_result *published);
/* One line per changed file and the outcome (nothing with --json or -q). */
/* "pushed REF (what was sent ...)": `never_downloaded` counts base layers left in the base's
 * registry that the target registry already had or mounted. */
void output_print_pushed(const struct push_result *pushed, size_t never_downloaded);
/* "factory: warning: ..." on stderr for what the push could not do after the image was in
 * (a document the registry refused). */
void output_print_push_warnings(const struct push_result *pushed);
void output_print_published(const struct output *out, const struct gitops_result *published, bool dry_run);

#endif
