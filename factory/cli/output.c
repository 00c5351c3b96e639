#include "output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "commands.h"
#include "fsutil.h"
#include "jsontext.h"

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double output_seconds(const struct output *out)
{
	return now_seconds() - out->started;
}

void output_human_size(double bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

/* ---- the progress line (callers hold out->lock) ---------------------------------------- */

static bool shows_progress(const struct output *out)
{
	return out->tty && !out->quiet && !out->json;
}

static void clear_line(struct output *out)
{
	if (out->line_open) {
		fputs("\r\033[K", stderr);
		out->line_open = false;
	}
}

static void vprogress(struct output *out, const char *fmt, va_list ap)
{
	if (!shows_progress(out))
		return;
	fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	fflush(stderr);
	out->line_open = true;
}

static void progress(struct output *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(struct output *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprogress(out, fmt, ap);
	va_end(ap);
}

/* What the observer counted, for work without a progress report of its own. */
static void activity_line(struct output *out)
{
	char bytes[32];

	if (!out->activity)
		return;
	output_human_size((double)out->bytes, bytes, sizeof(bytes));
	progress(out, "%s: %zu request%s, %s", out->activity, out->requests, out->requests == 1 ? "" : "s", bytes);
}

void output_end_progress(struct output *out)
{
	pthread_mutex_lock(&out->lock);
	clear_line(out);
	out->activity = out->stage_activity = NULL;
	pthread_mutex_unlock(&out->lock);
}

/* ---- -v: each HTTP exchange ------------------------------------------------------------- */

/* The URL comes redacted (http_url_redact) and no header ever reaches this point, so nothing
 * here can show a credential or a token. */
static void on_exchange(void *ctx, const char *method, const char *url, long status, long long sent,
			long long received, const char *failure)
{
	struct output *out = ctx;

	pthread_mutex_lock(&out->lock);
	out->requests++;
	out->bytes += sent + received;
	if (out->verbose) {
		clear_line(out);
		if (failure && status)
			fprintf(stderr, "http: %s %s -> %ld, then %s\n", method, url, status, failure);
		else if (failure)
			fprintf(stderr, "http: %s %s -> %s\n", method, url, failure);
		else if (sent && received)
			fprintf(stderr, "http: %s %s -> %ld (sent %lld bytes, received %lld bytes)\n", method, url, status,
				sent, received);
		else if (sent || received)
			fprintf(stderr, "http: %s %s -> %ld (%s %lld bytes)\n", method, url, status,
				sent ? "sent" : "received", sent ? sent : received);
		else
			fprintf(stderr, "http: %s %s -> %ld\n", method, url, status);
	}
	activity_line(out);
	pthread_mutex_unlock(&out->lock);
}

/* ---- the life of an output -------------------------------------------------------------- */

void output_init(struct output *out, const char *command, const struct opt_common *common)
{
	memset(out, 0, sizeof(*out));
	out->command = command;
	out->json = common->json;
	out->quiet = common->quiet;
	out->verbose = common->verbose;
	out->tty = isatty(STDERR_FILENO) == 1;
	out->started = now_seconds();
	out->observer.on_exchange = on_exchange;
	out->observer.ctx = out;
	pthread_mutex_init(&out->lock, NULL);
	if (out->json) {
		out->doc = json_object();
		json_object_set_new(out->doc, "command", json_string(command));
		json_object_set_new(out->doc, "ok", json_false()); /* first in the document; set at the end */
	}
}

void output_set(struct output *out, const char *key, json_t *value)
{
	if (out->doc)
		json_object_set_new(out->doc, key, value ? value : json_null());
	else
		json_decref(value);
}

json_t *output_json_text(const char *s)
{
	return jsontext_new(s);
}

static json_t *diagnostics_json(const struct diag_list *diags)
{
	json_t *list = json_array();

	for (size_t i = 0; i < diags->count; i++) {
		const struct diag *d = &diags->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "file", output_json_text(d->file));
		json_object_set_new(o, "line", d->line > 0 ? json_integer(d->line) : json_null());
		json_object_set_new(o, "col", d->line > 0 ? json_integer(d->col) : json_null());
		json_object_set_new(o, "severity", json_string(d->severity == DIAG_ERROR ? "error" : "warning"));
		json_object_set_new(o, "message", output_json_text(d->message));
		json_array_append_new(list, o);
	}
	return list;
}

static json_t *error_json(int status, const struct diag_list *diags, const struct error *err)
{
	json_t *o;
	char message[64];

	if (status == EXIT_OK)
		return json_null();
	o = json_object();
	if (err && err->code != ERROR_NONE) {
		json_object_set_new(o, "code", json_string(error_code_name(err->code)));
		json_object_set_new(o, "message", output_json_text(err->message));
	} else {
		/* Failed through diagnostics alone (validate): say so in the same shape. */
		snprintf(message, sizeof(message), "%zu error%s", diags ? diags->errors : 0,
			 diags && diags->errors == 1 ? "" : "s");
		json_object_set_new(o, "code", json_string(error_code_name(ERROR_INVALID)));
		json_object_set_new(o, "message", json_string(message));
	}
	return o;
}

int output_finish(struct output *out, int status, struct diag_list *diags, const struct error *err)
{
	struct diag_list none;

	diag_list_init(&none);
	if (!diags)
		diags = &none;
	output_end_progress(out);
	diag_list_sort(diags);
	if (out->doc) {
		char *text;
		json_object_set_new(out->doc, "ok", json_boolean(status == EXIT_OK));
		json_object_set_new(out->doc, "diagnostics", diagnostics_json(diags));
		json_object_set_new(out->doc, "error", error_json(status, diags, err));
		text = json_dumps(out->doc, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
		fflush(stdout);
	} else {
		cmd_report(diags, status == EXIT_OK ? NULL : err);
	}
	diag_list_free(&none);
	output_close(out);
	return status;
}

void output_close(struct output *out)
{
	output_end_progress(out);
	json_decref(out->doc);
	out->doc = NULL;
	pthread_mutex_destroy(&out->lock);
}

/* ---- progress of the library's long operations ------------------------------------------ */

void output_on_fetch_progress(void *ctx, const struct fetch_progress *p)
{
	struct output *out = ctx;
	double elapsed = output_seconds(out), rate;
	char done[32], speed[32], eta[32] = "";

	pthread_mutex_lock(&out->lock);
	/* The downloads have a line of their own; the exchanges' count takes over after them. */
	out->activity = p->finished < p->total ? NULL : out->stage_activity;
	rate = elapsed > 0 ? (double)p->bytes / elapsed : 0;
	output_human_size((double)p->bytes, done, sizeof(done));
	output_human_size(rate, speed, sizeof(speed));
	if (rate > 0 && p->expected_bytes > p->bytes)
		snprintf(eta, sizeof(eta), ", ETA %.0fs", (double)(p->expected_bytes - p->bytes) / rate);
	progress(out, "fetching %zu/%zu artifacts, %s at %s/s%s", p->finished, p->total, done, speed, eta);
	pthread_mutex_unlock(&out->lock);
}

void output_on_fetch_item(void *ctx, const struct fetch_item *item)
{
	struct output *out = ctx;
	char size[32];

	if (out->json)
		return;
	pthread_mutex_lock(&out->lock);
	output_human_size((double)item->size, size, sizeof(size));
	switch (item->state) {
	case FETCH_CACHED:
		if (!out->tty && out->show_cached && !out->quiet) {
			clear_line(out);
			fprintf(stderr, "cached     %s (%s)\n", item->coordinate, size);
		}
		break;
	case FETCH_DOWNLOADED:
		if (!out->quiet) {
			char *url = http_url_redact(item->repository_url ? item->repository_url : "");
			clear_line(out);
			fprintf(stderr, "downloaded %s (%s) from %s\n", item->coordinate, size, url);
			free(url);
		}
		break;
	case FETCH_FAILED:
		/* Errors show even with -q: they are why the command fails. */
		clear_line(out);
		fprintf(stderr, "factory: error: %s\n", item->error);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&out->lock);
}

void output_on_stage(void *ctx, unsigned stage)
{
	struct output *out = ctx;
	const char *what = stage == BUILD_FETCH	   ? "fetching the inputs"
			   : stage == BUILD_ASSEMBLE ? "assembling the image"
			   : stage == BUILD_RENDER   ? "rendering the manifests"
			   : stage == BUILD_PUBLISH  ? "publishing the manifests"
						     : "pushing the image";

	output_activity(out, what);
}

void output_activity(struct output *out, const char *what)
{
	pthread_mutex_lock(&out->lock);
	out->activity = out->stage_activity = what;
	out->requests = 0;
	out->bytes = 0;
	if (what)
		progress(out, "%s", what);
	pthread_mutex_unlock(&out->lock);
}

void output_on_blob(void *ctx, const struct registry_push_progress *p)
{
	struct output *out = ctx;
	static const char *const fates[] = {
		[REGISTRY_BLOB_UPLOADED] = "uploaded", [REGISTRY_BLOB_MOUNTED] = "mounted", [REGISTRY_BLOB_EXISTING] = "exists"};
	char size[32], bytes[32];

	if (out->json)
		return;
	pthread_mutex_lock(&out->lock);
	output_human_size((double)p->size, size, sizeof(size));
	if (!out->tty) {
		if (!out->quiet)
			fprintf(stderr, "%-10s %s (%s)\n", fates[p->fate], p->digest, size);
	} else {
		output_human_size((double)out->bytes, bytes, sizeof(bytes));
		progress(out, "pushing %zu/%zu blobs (%zu uploaded, %zu mounted, %zu already there), %s sent", p->done,
			 p->total, p->stats->uploaded, p->stats->mounted, p->stats->existing, bytes);
	}
	pthread_mutex_unlock(&out->lock);
}

/* ---- JSON shared by fetch, lock and build ------------------------------------------------ */

static const char *state_name(enum fetch_state state)
{
	switch (state) {
	case FETCH_CACHED:
		return "cached";
	case FETCH_DOWNLOADED:
		return "downloaded";
	case FETCH_FAILED:
		return "failed";
	default:
		return "pending";
	}
}

json_t *output_json_plan(const struct plan *plan, const struct cache *cache)
{
	json_t *list = json_array();

	for (size_t i = 0; plan && i < plan->count; i++) {
		const struct fetch_item *item = &plan->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "coordinate", output_json_text(item->coordinate));
		json_object_set_new(o, "state", json_string(state_name(item->state)));
		if (item->state == FETCH_FAILED) {
			json_object_set_new(o, "error", output_json_text(item->error));
		} else if (item->state == FETCH_CACHED || item->state == FETCH_DOWNLOADED) {
			json_object_set_new(o, "sha256", json_string(item->sha256));
			json_object_set_new(o, "size", json_integer(item->size));
			if (cache) {
				char *path = cache_blob_path(cache, item->sha256);
				json_object_set_new(o, "path", output_json_text(path));
				free(path);
			}
		}
		if (item->repository_url) {
			char *url = http_url_redact(item->repository_url);
			json_object_set_new(o, "repository", output_json_text(url));
			free(url);
		}
		json_array_append_new(list, o);
	}
	return list;
}

json_t *output_json_manifests(const struct render_output *rendered, const char *app_dir)
{
	json_t *o, *files;
	char *dir;

	if (!rendered)
		return json_null();
	o = json_object();
	files = json_array();
	dir = fs_path_join(app_dir, "manifests");
	for (size_t i = 0; i < rendered->count; i++)
		json_array_append_new(files, output_json_text(rendered->files[i].name));
	json_object_set_new(o, "dir", output_json_text(dir));
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "scriptsHash", rendered->scripts_hash[0] ? json_string(rendered->scripts_hash) : json_null());
	json_object_set_new(o, "image", output_json_text(rendered->image));
	free(dir);
	return o;
}

json_t *output_json_pushed(const struct push_result *pushed)
{
	json_t *o, *refs, *attached, *warnings;

	if (!pushed || pushed->count == 0)
		return json_null();
	o = json_object();
	refs = json_array();
	for (size_t i = 0; i < pushed->count; i++)
		json_array_append_new(refs, output_json_text(pushed->references[i]));
	json_object_set_new(o, "reference", output_json_text(pushed->references[0]));
	json_object_set_new(o, "references", refs);
	json_object_set_new(o, "uploaded", json_integer((json_int_t)pushed->stats.uploaded));
	json_object_set_new(o, "mounted", json_integer((json_int_t)pushed->stats.mounted));
	json_object_set_new(o, "existing", json_integer((json_int_t)pushed->stats.existing));
	json_object_set_new(o, "uploadedBytes", json_integer((json_int_t)pushed->stats.uploaded_bytes));
	json_object_set_new(o, "unchanged", json_boolean(pushed->unchanged));
	json_object_set_new(o, "baseLayersRelayed", json_integer((json_int_t)pushed->base_layers_relayed));
	json_object_set_new(o, "baseRelayedBytes", json_integer((json_int_t)pushed->base_relayed_bytes));
	attached = json_array();
	for (size_t i = 0; i < pushed->attached_count; i++)
		json_array_append_new(attached, json_pack("{s:o, s:s, s:s, s:b}", "document",
							  output_json_text(pushed->attached[i].document), "digest",
							  pushed->attached[i].digest, "artifactType",
							  pushed->attached[i].artifact_type, "sent", pushed->attached[i].sent));
	json_object_set_new(o, "attached", attached);
	json_object_set_new(o, "referrersTag", pushed->referrers_tag[0] ? json_string(pushed->referrers_tag) : json_null());
	warnings = json_array();
	for (size_t i = 0; i < pushed->warning_count; i++)
		json_array_append_new(warnings, output_json_text(pushed->warnings[i]));
	json_object_set_new(o, "warnings", warnings);
	return o;
}

json_t *output_json_published(const struct gitops_result *r)
{
	json_t *o, *changes;

	if (!r->remote)
		return json_null();
	o = json_object();
	changes = json_array();
	for (size_t i = 0; i < r->change_count; i++) {
		json_t *c = json_object();
		char kind[2] = {r->changes[i].kind, '\0'};
		json_object_set_new(c, "change", json_string(kind));
		json_object_set_new(c, "path", output_json_text(r->changes[i].path));
		json_array_append_new(changes, c);
	}
	json_object_set_new(o, "remote", output_json_text(r->remote));
	json_object_set_new(o, "branch", output_json_text(r->branch));
	json_object_set_new(o, "path", output_json_text(r->path));
	json_object_set_new(o, "changed", json_boolean(r->changed));
	json_object_set_new(o, "pushed", json_boolean(r->pushed));
	json_object_set_new(o, "commit", r->commit[0] ? json_string(r->commit) : json_null());
	json_object_set_new(o, "parent", r->parent[0] ? json_string(r->parent) : json_null());
	json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_object_set_new(o, "changes", changes);
	return o;
}

void output_print_pushed(const struct push_result *pushed, size_t never_downloaded)
{
	if (pushed->unchanged)
		printf("pushed %s (already there under every tag: nothing sent", pushed->references[0]);
	else
		printf("pushed %s (%zu blobs uploaded, %zu mounted, %zu already there", pushed->references[0],
		       pushed->stats.uploaded, pushed->stats.mounted, pushed->stats.existing);
	if (pushed->base_layers_relayed)
		printf("; %zu base layers (%.1f MB) fetched from the base's registry to send on",
		       pushed->base_layers_relayed, (double)pushed->base_relayed_bytes / 1e6);
	if (never_downloaded)
		printf("; %zu base layers never downloaded", never_downloaded);
	printf(")\n");
	if (pushed->attached_count) {
		size_t sent = 0;
		for (size_t i = 0; i < pushed->attached_count; i++)
			sent += pushed->attached[i].sent;
		printf("attached %zu document%s (", pushed->attached_count, pushed->attached_count == 1 ? "" : "s");
		if (sent)
			printf("%zu sent", sent);
		else
			printf("already there: nothing sent");
		if (pushed->referrers_tag[0])
			printf("; listed under the referrers tag %s)\n", pushed->referrers_tag);
		else
			printf("; listed by the registry's referrers API)\n");
	}
}

void output_print_push_warnings(const struct push_result *pushed)
{
	for (size_t i = 0; i < pushed->warning_count; i++)
		fprintf(stderr, "factory: warning: %s\n", pushed->warnings[i]);
}

void output_print_published(const struct output *out, const struct gitops_result *r, bool dry_run)
{
	if (out->json || out->quiet || !r->remote)
		return;
	if (!r->changed) {
		printf("%s %s: %s already holds these manifests%s%.12s%s\n", r->remote, r->branch, r->path,
		       r->commit[0] ? " (" : "", r->commit, r->commit[0] ? ")" : "");
		return;
	}
	for (size_t i = 0; i < r->change_count; i++)
		printf("%s%c %s\n", dry_run ? "would " : "", r->changes[i].kind, r->changes[i].path);
	if (dry_run)
		printf("dry run: %zu file%s would change on %s %s; nothing pushed\n", r->change_count,
		       r->change_count == 1 ? "" : "s", r->remote, r->branch);
	else
		printf("published %.12s to %s %s (%zu file%s changed)\n", r->commit, r->remote, r->branch, r->change_count,
		       r->change_count == 1 ? "" : "s");
}
