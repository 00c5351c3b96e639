/* factory fetch RECIPE / factory lock RECIPE */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "commands.h"
#include "plan.h"
#include "recipe.h"
#include "workspace.h"

struct reporter {
	bool tty;
	bool quiet;
	bool json;
	bool line_open; /* a progress line is on the terminal */
	double started;
};

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human_size(double bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void clear_line(struct reporter *rep)
{
	if (rep->line_open) {
		fputs("\r\033[K", stderr);
		rep->line_open = false;
	}
}

static void on_progress(void *ctx, const struct fetch_progress *p)
{
	struct reporter *rep = ctx;
	double elapsed = seconds_now() - rep->started, rate;
	char done[32], speed[32], eta[32] = "";

	if (!rep->tty || rep->quiet || rep->json)
		return;
	rate = elapsed > 0 ? (double)p->bytes / elapsed : 0;
	human_size((double)p->bytes, done, sizeof(done));
	human_size(rate, speed, sizeof(speed));
	if (rate > 0 && p->expected_bytes > p->bytes)
		snprintf(eta, sizeof(eta), ", ETA %.0fs", (double)(p->expected_bytes - p->bytes) / rate);
	fprintf(stderr, "\r\033[Kfetching %zu/%zu artifacts, %s at %s/s%s", p->finished, p->total, done, speed, eta);
	rep->line_open = true;
}

static void on_item(void *ctx, const struct fetch_item *item)
{
	struct reporter *rep = ctx;
	char size[32];

	if (rep->json || (rep->quiet && item->state != FETCH_FAILED))
		return;
	clear_line(rep);
	human_size((double)item->size, size, sizeof(size));
	switch (item->state) {
	case FETCH_CACHED:
		if (!rep->tty)
			fprintf(stderr, "cached     %s (%s)\n", item->coordinate, size);
		break;
	case FETCH_DOWNLOADED:
		fprintf(stderr, "downloaded %s (%s) from %s\n", item->coordinate, size, item->repository_url);
		break;
	case FETCH_FAILED:
		fprintf(stderr, "factory: error: %s\n", item->error);
		break;
	default:
		break;
	}
}

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

static void print_json(const struct plan *plan, const struct cache *cache)
{
	json_t *doc = json_object(), *list = json_array();
	char *text;

	for (size_t i = 0; i < plan->count; i++) {
		const struct fetch_item *item = &plan->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "coordinate", json_string(item->coordinate));
		json_object_set_new(o, "state", json_string(state_name(item->state)));
		if (item->state == FETCH_FAILED) {
			json_object_set_new(o, "error", json_string(item->error));
		} else if (item->state == FETCH_CACHED || item->state == FETCH_DOWNLOADED) {
			char *path = cache_blob_path(cache, item->sha256);
			json_object_set_new(o, "sha256", json_string(item->sha256));
			json_object_set_new(o, "size", json_integer(item->size));
			json_object_set_new(o, "path", json_string(path));
			free(path);
		}
		if (item->repository_url)
			json_object_set_new(o, "repository", json_string(item->repository_url));
		json_array_append_new(list, o);
	}
	json_object_set_new(doc, "artifacts", list);
	json_object_set_new(doc, "downloaded",
			    json_integer((json_int_t)(plan->progress.finished - plan->progress.cached - plan->progress.failed)));
	json_object_set_new(doc, "cached", json_integer((json_int_t)plan->progress.cached));
	json_object_set_new(doc, "failed", json_integer((json_int_t)plan->progress.failed));
	json_object_set_new(doc, "bytes", json_integer((json_int_t)plan->progress.bytes));
	json_object_set_new(doc, "requests", json_integer((json_int_t)plan->progress.requests));
	json_object_set_new(doc, "retries", json_integer((json_int_t)plan->progress.retries));
	json_object_set_new(doc, "lockChanged", json_boolean(plan->lock_changed));
	text = json_dumps(doc, JSON_INDENT(2));
	if (text)
		puts(text);
	free(text);
	json_decref(doc);
}

static void usage(FILE *out, const char *name)
{
	fprintf(out, "usage: factory %s [--frozen] [-j N] [-q] [--json] [--config FILE] [--catalog DIR] RECIPE\n\n", name);
	if (strcmp(name, "lock") == 0)
		fprintf(out, "Resolves every artifact of the recipe again from the repositories, ignoring the pins\n"
			     "in factory.lock, and rewrites factory.lock.\n\n");
	else
		fprintf(out, "Downloads and verifies every connector and JAR of the recipe into the cache and\n"
			     "records them in factory.lock beside the recipe. With a warm cache and a lock, it\n"
			     "makes no network request.\n\n");
	fprintf(out, "      --frozen       use only factory.lock; fail if anything is missing or would change\n"
		     "  -j, --parallel N   transfers at once (default: factory.yaml maven.parallel, 8)\n"
		     "  -q, --quiet        print only errors\n"
		     "      --json         print the result as JSON on stdout\n");
}

static int run(int argc, char **argv, bool refresh)
{
	static const struct option options[] = {
		{"frozen", no_argument, NULL, 'F'},       {"parallel", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},        {"json", no_argument, NULL, 'J'},
		{"config", required_argument, NULL, 'c'}, {"catalog", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct workspace_options ws_options = {0};
	struct reporter rep = {.tty = isatty(STDERR_FILENO) == 1, .started = seconds_now()};
	struct fetch_options fetch = {.on_progress = on_progress, .on_item = on_item, .ctx = &rep};
	struct workspace ws = {0};
	struct recipe *recipe = NULL;
	struct cache *cache = NULL;
	struct plan *plan = NULL;
	struct diag_list diags;
	struct error err = {0};
	bool frozen = false;
	int opt, parallel = 0, status = EXIT_FAILED;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		switch (opt) {
		case 'F': frozen = true; break;
		case 'j': parallel = atoi(optarg); break;
		case 'q': rep.quiet = true; break;
		case 'J': rep.json = true; break;
		case 'c': ws_options.config_path = optarg; break;
		case 'C': ws_options.catalog_dir = optarg; break;
		case 'h': usage(stdout, argv[0]); return EXIT_OK;
		default: usage(stderr, argv[0]); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (frozen && refresh) || parallel < 0 || parallel > 64) {
		usage(stderr, argv[0]);
		return EXIT_USAGE;
	}
	diag_list_init(&diags);
	if (workspace_load_recipe(&ws, argv[optind], &ws_options, &recipe, &cache, &diags, &err))
		goto out;
	fetch.config = ws.config;
	fetch.cache = cache;
	fetch.interrupted = cmd_interrupted();
	fetch.parallel = parallel ? parallel : (int)ws.config->parallel_downloads;
	if (plan_fetch(&plan, recipe, refresh ? PLAN_REFRESH : frozen ? PLAN_FROZEN : PLAN_FETCH, &fetch, &diags,
		       &err) == 0)
		status = EXIT_OK;
	clear_line(&rep);
	if (rep.json && plan && plan->items)
		print_json(plan, cache);
	if (!rep.json && !rep.quiet && plan && status == EXIT_OK) {
		char bytes[32];
		human_size((double)plan->progress.bytes, bytes, sizeof(bytes));
		fprintf(stderr, "%zu artifact%s: %zu downloaded (%s), %zu cached in %.2fs; %s %s\n", plan->count,
			plan->count == 1 ? "" : "s",
			plan->progress.finished - plan->progress.cached - plan->progress.failed, bytes,
			plan->progress.cached, seconds_now() - rep.started, plan->lock_path,
			plan->lock_changed ? "updated" : "unchanged");
	}
out:
	cmd_report(&diags, status == EXIT_OK ? NULL : &err);
	plan_free(plan);
	cache_close(cache);
	recipe_free(recipe);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}

int cmd_fetch(int argc, char **argv)
{
	return run(argc, argv, false);
}

int cmd_lock(int argc, char **argv)
{
	return run(argc, argv, true);
}
