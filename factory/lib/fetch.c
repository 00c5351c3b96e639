#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "maven.h"
#include "util.h"

#define SIDECAR_MAX 1024

/* A repository with its credentials expanded from the environment. */
struct repository {
	const char *name;
	char *url; /* without trailing slash */
	char *username;
	char *password;
	char *token;
};

struct sidecar {
	struct http_transfer transfer;
	enum digest_algorithm algorithm;
	char text[SIDECAR_MAX];
	size_t length;
};

struct fetch_run;

struct job {
	struct fetch_item *item;
	struct fetch_run *run;
	struct maven_coord coord;
	char *path;
	size_t repository;
	struct http_transfer jar;
	struct cache_writer writer;
	bool writer_open;
	char write_error[1024];
	struct sidecar sidecars[DIGEST_COUNT];
	int pending;
	char tried[512];
};

struct fetch_run {
	const struct fetch_options *options;
	struct repository *repositories;
	size_t repository_count;
	struct http_engine *engine;
	struct fetch_progress progress;
};

static const struct http_callbacks jar_callbacks;
static const struct http_callbacks sidecar_callbacks;

static void set_error(struct fetch_item *item, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct fetch_item *item, const char *fmt, ...)
{
	va_list ap;

	free(item->error);
	va_start(ap, fmt);
	item->error = xvasprintf(fmt, ap);
	va_end(ap);
	item->state = FETCH_FAILED;
	item->error_code = ERROR_NETWORK; /* the callers below say when it is something else */
}

static bool mirrors(const char *mirror_of, const char *name)
{
	size_t len = strlen(name);

	if (strcmp(mirror_of, "*") == 0)
		return true;
	for (const char *p = mirror_of; *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static int expand(const char *value, char **out, const char *what, const char *repo, struct error *err)
{
	*out = NULL;
	if (!value)
		return 0;
	if (config_expand(value, out, err) < 0) {
		char cause[sizeof(err->message)];
		snprintf(cause, sizeof(cause), "%s", err->message);
		return error_set(err, ERROR_AUTH, "%s of repository '%s': %s", what, repo, cause);
	}
	return 0;
}

static int add_repository(struct fetch_run *run, const struct config_repository *r, struct error *err)
{
	struct repository *repo;
	size_t len;

	for (size_t i = 0; i < run->repository_count; i++)
		if (strcmp(run->repositories[i].name, r->name) == 0)
			return 0; /* a mirror standing in for several repositories is asked once */
	run->repositories = realloc(run->repositories, (run->repository_count + 1) * sizeof(*run->repositories));
	if (!run->repositories)
		abort();
	repo = &run->repositories[run->repository_count++];
	memset(repo, 0, sizeof(*repo));
	repo->name = r->name;
	repo->url = xstrdup(r->url);
	len = strlen(repo->url);
	while (len > 0 && repo->url[len - 1] == '/')
		repo->url[--len] = '\0';
	if (expand(r->username, &repo->username, "username", r->name, err) ||
	    expand(r->password, &repo->password, "password", r->name, err) ||
	    expand(r->token, &repo->token, "token", r->name, err))
		return -1;
	return 0;
}

static int resolve_repositories(struct fetch_run *run, struct error *err)
{
	const struct config *c = run->options->config;

	for (size_t i = 0; i < c->repository_count; i++) {
		const struct config_repository *use = &c->repositories[i];
		for (size_t m = 0; m < c->mirror_count; m++)
			if (mirrors(c->mirrors[m].mirror_of, c->repositories[i].name)) {
				use = &c->mirrors[m];
				break;
			}
		if (add_repository(run, use, err))
			return -1;
	}
	return 0;
}

static void free_repositories(struct fetch_run *run)
{
	for (size_t i = 0; i < run->repository_count; i++) {
		struct repository *r = &run->repositories[i];
		free(r->url);
		/* Scrub secrets before the memory goes back to the allocator. */
		if (r->password)
			explicit_bzero(r->password, strlen(r->password));
		if (r->token)
			explicit_bzero(r->token, strlen(r->token));
		free(r->username);
		free(r->password);
		free(r->token);
	}
	free(run->repositories);
}

static void prepare_transfer(struct http_transfer *t, const struct repository *repo, char *url,
			     const struct http_callbacks *callbacks, void *user)
{
	memset(t, 0, sizeof(*t));
	t->url = url;
	t->username = repo->username;
	t->password = repo->password;
	t->token = repo->token;
	t->callbacks = callbacks;
	t->user = user;
	t->allow_file = strncmp(repo->url, "file://", 7) == 0; /* a repository on disk */
}

static void start_repository(struct job *job)
{
	const struct repository *repo = &job->run->repositories[job->repository];
	char *url = xasprintf("%s/%s", repo->url, job->path);

	prepare_transfer(&job->jar, repo, url, &jar_callbacks, job);
	job->jar.resumable = true;
	/* The lock knows the jar's size; without a lock only the configured ceiling bounds it. */
	job->jar.max_bytes = job->item->expected_size > 0 ? (off_t)job->item->expected_size
							  : (off_t)job->run->options->config->limits.download;
	job->write_error[0] = '\0';
	job->pending = 1;
	http_engine_add(job->run->engine, &job->jar);
	if (job->item->pin_sha256)
		return; /* the pin decides; the repository's checksums add nothing */
	for (int a = 0; a < DIGEST_COUNT; a++) {
		struct sidecar *s = &job->sidecars[a];
		prepare_transfer(&s->transfer, repo, xasprintf("%s.%s", url, digest_name((enum digest_algorithm)a)),
				 &sidecar_callbacks, s);
		s->algorithm = (enum digest_algorithm)a;
		s->length = 0;
		s->transfer.max_bytes = SIDECAR_MAX - 1; /* a checksum, not a body */
		s->transfer.user = job;
		job->pending++;
		http_engine_add(job->run->engine, &s->transfer);
	}
}

static void release_transfers(struct job *job)
{
	http_transfer_cleanup(&job->jar);
	free(job->jar.url);
	job->jar.url = NULL;
	for (int a = 0; a < DIGEST_COUNT; a++) {
		http_transfer_cleanup(&job->sidecars[a].transfer);
		free(job->sidecars[a].transfer.url);
		job->sidecars[a].transfer.url = NULL;
	}
}

static void report(struct job *job)
{
	struct fetch_run *run = job->run;

	run->progress.finished++;
	if (job->item->state == FETCH_FAILED)
		run->progress.failed++;
	if (run->options->on_item)
		run->options->on_item(run->options->ctx, job->item);
}

/* The strongest checksum the repository published for the jar, if any. */
static const struct sidecar *best_sidecar(struct job *job, char hex[DIGEST_HEX_MAX])
{
	static const enum digest_algorithm order[] = {DIGEST_SHA512, DIGEST_SHA256, DIGEST_SHA1};

	for (size_t i = 0; i < 3; i++) {
		struct sidecar *s = &job->sidecars[order[i]];
		if (s->transfer.outcome == HTTP_OK && digest_parse_sidecar(s->text, s->length, s->algorithm, hex))
			return s;
	}
	return NULL;
}

static void complete_download(struct job *job)
{
	struct fetch_item *item = job->item;
	const struct repository *repo = &job->run->repositories[job->repository];
	char expected[DIGEST_HEX_MAX];
	const struct sidecar *sidecar = NULL;
	enum digest_algorithm algorithm = DIGEST_SHA256;
	struct error err = {0};
	const char *actual;

	if (item->pin_sha256) {
		snprintf(expected, sizeof(expected), "%s", item->pin_sha256);
	} else {
		/* A checksum file that could not be read (too slow, dropped) is not "not published":
		 * falling back to a weaker one would let a server choose the algorithm. */
		for (int a = 0; a < DIGEST_COUNT; a++) {
			const struct http_transfer *s = &job->sidecars[a].transfer;
			if (s->outcome == HTTP_FAILED || (s->outcome == HTTP_ABORTED && s->error[0])) {
				set_error(item, "%s: repository '%s': %s failed: %s", item->coordinate, repo->name, s->url,
					  s->error);
				return;
			}
		}
		sidecar = best_sidecar(job, expected);
		if (!sidecar) {
			set_error(item, "%s: %s publishes no .sha512, .sha256 or .sha1 checksum; pin its sha256 "
					"in the recipe to accept it", item->coordinate, job->jar.url);
			return;
		}
		algorithm = sidecar->algorithm;
	}
	actual = digest_set_hex(job->writer.digests, algorithm);
	if (strcmp(actual, expected) != 0) {
		set_error(item, "%s: checksum mismatch for %s: expected %s %s (%s), got %s; nothing was stored",
			  item->coordinate, job->jar.url, digest_name(algorithm), expected,
			  item->pin_sha256 ? "pinned" : "published by the repository", actual);
		return;
	}
	snprintf(item->sha256, sizeof(item->sha256), "%s", digest_set_hex(job->writer.digests, DIGEST_SHA256));
	snprintf(item->sha1, sizeof(item->sha1), "%s", digest_set_hex(job->writer.digests, DIGEST_SHA1));
	item->size = (long long)job->writer.size;
	if (cache_writer_commit(&job->writer, item->sha256, &err) < 0) {
		set_error(item, "%s: %s", item->coordinate, err.message);
		return;
	}
	item->state = FETCH_DOWNLOADED;
	item->repository_url = xstrdup(repo->url);
	item->url = xstrdup(job->jar.url);
}

static void evaluate(struct job *job)
{
	struct fetch_item *item = job->item;
	const struct repository *repo = &job->run->repositories[job->repository];
	const struct http_transfer *jar = &job->jar;
	size_t used = strlen(job->tried);

	if (jar->outcome == HTTP_OK && !job->write_error[0]) {
		complete_download(job);
	} else if (jar->outcome == HTTP_STATUS && (jar->status == 404 || jar->status == 410)) {
		snprintf(job->tried + used, sizeof(job->tried) - used, "%s%s", used ? ", " : "", repo->name);
		if (job->repository + 1 < job->run->repository_count) {
			struct error err = {0};
			release_transfers(job);
			job->repository++;
			if (cache_writer_reset(&job->writer, &err) < 0) {
				set_error(item, "%s: %s", item->coordinate, err.message);
			} else {
				start_repository(job);
				return;
			}
		} else {
			set_error(item, "%s: not found in any repository (tried %s)", item->coordinate, job->tried);
			item->error_code = ERROR_NOT_FOUND;
		}
	} else if (jar->outcome == HTTP_STATUS && (jar->status == 401 || jar->status == 403)) {
		set_error(item, "%s: repository '%s' (%s) answered HTTP %ld for %s: check the credentials for '%s' "
				"in factory.yaml", item->coordinate, repo->name, repo->url, jar->status, job->path, repo->name);
		item->error_code = ERROR_AUTH;
	} else if (jar->outcome == HTTP_ABORTED && jar->too_large) {
		set_error(item, "%s: repository '%s': %s: %s (%s); nothing was stored", item->coordinate, repo->name,
			  jar->url, jar->error,
			  item->expected_size > 0 ? "the size factory.lock records" : "limits.download in factory.yaml");
		item->error_code = ERROR_LIMIT;
	} else if (jar->outcome == HTTP_ABORTED) {
		set_error(item, "%s: %s: %s", item->coordinate, jar->url,
			  job->write_error[0] ? job->write_error : jar->error[0] ? jar->error : "aborted");
	} else {
		set_error(item, "%s: %s failed after %d attempt%s: %s", item->coordinate, jar->url, jar->attempts,
			  jar->attempts == 1 ? "" : "s", jar->error);
	}
	cache_writer_abort(&job->writer);
	job->writer_open = false;
	release_transfers(job);
	report(job);
}

static int jar_body_start(struct http_transfer *t, bool resumed)
{
	struct job *job = t->user;
	struct error err = {0};

	if (t->content_length >= 0)
		job->run->progress.expected_bytes += t->content_length - (resumed ? t->received : 0);
	if (!resumed && job->writer.size > 0 && cache_writer_reset(&job->writer, &err) < 0) {
		snprintf(job->write_error, sizeof(job->write_error), "%s", err.message);
		return -1;
	}
	return 0;
}

static int jar_data(struct http_transfer *t, const void *data, size_t size)
{
	struct job *job = t->user;
	struct error err = {0};

	if (cache_writer_write(&job->writer, data, size, &err) < 0) {
		snprintf(job->write_error, sizeof(job->write_error), "%s", err.message);
		return -1;
	}
	return 0;
}

static void transfer_done(struct http_transfer *t)
{
	struct job *job = t->user;

	if (--job->pending == 0)
		evaluate(job);
}

static int sidecar_body_start(struct http_transfer *t, bool resumed)
{
	struct job *job = t->user;
	(void)resumed;
	for (int a = 0; a < DIGEST_COUNT; a++)
		if (&job->sidecars[a].transfer == t)
			job->sidecars[a].length = 0;
	return 0;
}

static int sidecar_data(struct http_transfer *t, const void *data, size_t size)
{
	struct job *job = t->user;

	for (int a = 0; a < DIGEST_COUNT; a++) {
		struct sidecar *s = &job->sidecars[a];
		if (&s->transfer != t)
			continue;
		if (s->length + size >= SIDECAR_MAX)
			return -1; /* not a checksum file */
		memcpy(s->text + s->length, data, size);
		s->length += size;
	}
	return 0;
}

static const struct http_callbacks jar_callbacks = {jar_body_start, jar_data, transfer_done};
static const struct http_callbacks sidecar_callbacks = {sidecar_body_start, sidecar_data, transfer_done};

static void tick(void *ctx)
{
	struct fetch_run *run = ctx;
	const struct http_stats *stats = http_engine_stats(run->engine);

	run->progress.bytes = stats->bytes;
	run->progress.requests = stats->requests;
	run->progress.retries = stats->retries;
	if (run->options->on_progress)
		run->options->on_progress(run->options->ctx, &run->progress);
}

void fetch_item_clear(struct fetch_item *item)
{
	free(item->repository_url);
	free(item->url);
	free(item->error);
	item->repository_url = item->url = item->error = NULL;
}

int fetch_run(struct fetch_item *items, size_t count, const struct fetch_options *options,
	      struct fetch_progress *summary, struct error *err)
{
	struct fetch_run run = {.options = options};
	struct job *jobs = calloc(count + 1, sizeof(*jobs));
	int rc = -1;

	if (!jobs)
		abort();
	run.progress.total = count;
	if (resolve_repositories(&run, err))
		goto out;
	if (run.repository_count == 0) {
		error_set(err, ERROR_INVALID, "no Maven repository is configured");
		goto out;
	}
	if (http_engine_new(&run.engine, options->parallel > 0 ? options->parallel : 8,
			    options->max_attempts > 0 ? options->max_attempts : 5, err))
		goto out;
	http_engine_set_interrupt(run.engine, options->interrupted);
	http_engine_set_observer(run.engine, options->config->http_observer);
	http_engine_set_limits(run.engine, &options->config->limits.http);
	for (size_t i = 0; i < count; i++) {
		struct job *job = &jobs[i];
		struct fetch_item *item = &items[i];
		off_t size = 0;

		job->item = item;
		job->run = &run;
		item->state = FETCH_PENDING;
		if (maven_coord_parse(item->coordinate, &job->coord, err) < 0) {
			set_error(item, "%s", err->message);
			report(job);
			continue;
		}
		job->path = maven_coord_path(&job->coord);
		/* A pinned artifact already in the cache needs no network at all. */
		if (item->use_cache && item->pin_sha256 && cache_verify(options->cache, item->pin_sha256, &size)) {
			item->state = FETCH_CACHED;
			snprintf(item->sha256, sizeof(item->sha256), "%s", item->pin_sha256);
			item->size = (long long)size;
			run.progress.cached++;
			report(job);
			continue;
		}
		if (cache_writer_begin_digests(&job->writer, options->cache, DIGEST_ALL, err) < 0) {
			set_error(item, "%s: %s", item->coordinate, err->message);
			report(job);
			continue;
		}
		job->writer_open = true;
		start_repository(job);
	}
	if (http_engine_run(run.engine, tick, &run, err))
		goto out;
	rc = run.progress.failed ? -1 : 0;
	if (rc) {
		/* The code of the first failure says what to do about it (credentials, a coordinate). */
		enum error_code code = ERROR_NETWORK;
		for (size_t i = 0; i < count; i++)
			if (items[i].state == FETCH_FAILED) {
				code = items[i].error_code;
				break;
			}
		error_set(err, code, "%zu of %zu artifacts could not be fetched", run.progress.failed, count);
	}
out:
	for (size_t i = 0; i < count; i++) {
		if (jobs[i].writer_open)
			cache_writer_abort(&jobs[i].writer);
		release_transfers(&jobs[i]);
		maven_coord_free(&jobs[i].coord);
		free(jobs[i].path);
	}
	free(jobs);
	if (summary)
		*summary = run.progress;
	http_engine_free(run.engine);
	free_repositories(&run);
	return rc;
}
