#include "download.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

struct memory_sink {
	char *data;
	size_t size, max;
};

static int memory_start(struct http_transfer *t, bool resumed)
{
	struct memory_sink *m = t->user;
	(void)resumed;
	m->size = 0;
	return 0;
}

static int memory_data(struct http_transfer *t, const void *data, size_t size)
{
	struct memory_sink *m = t->user;

	if (m->size + size > m->max)
		return -1;
	m->data = realloc(m->data, m->size + size + 1);
	if (!m->data)
		abort();
	memcpy(m->data + m->size, data, size);
	m->size += size;
	m->data[m->size] = '\0';
	return 0;
}

static void done(struct http_transfer *t)
{
	(void)t;
}

static int run_one(struct http_transfer *t, struct error *err)
{
	struct http_engine *engine = NULL;
	int rc;

	if (http_engine_new(&engine, 1, 5, err))
		return -1;
	http_engine_add(engine, t);
	rc = http_engine_run(engine, NULL, NULL, err);
	http_transfer_cleanup(t);
	http_engine_free(engine);
	if (rc)
		return -1;
	if (t->outcome != HTTP_OK)
		return error_set(err, ERROR_IO, "%s: %s", t->url,
				 t->outcome == HTTP_ABORTED ? "too large or not storable" : t->error);
	return 0;
}

int download_to_memory(const char *url, size_t max, char **data, size_t *size, struct error *err)
{
	static const struct http_callbacks callbacks = {memory_start, memory_data, done};
	struct memory_sink m = {.max = max};
	struct http_transfer t = {.url = (char *)url, .callbacks = &callbacks, .user = &m};

	*data = NULL;
	*size = 0;
	if (run_one(&t, err)) {
		free(m.data);
		return -1;
	}
	*data = m.data ? m.data : xstrdup("");
	*size = m.size;
	return 0;
}

struct cache_sink {
	struct cache_writer *writer;
	struct error *err;
};

static int cache_start(struct http_transfer *t, bool resumed)
{
	struct cache_sink *s = t->user;
	return !resumed && s->writer->size > 0 ? cache_writer_reset(s->writer, s->err) : 0;
}

static int cache_data(struct http_transfer *t, const void *data, size_t size)
{
	struct cache_sink *s = t->user;
	return cache_writer_write(s->writer, data, size, s->err);
}

static int commit_pinned(struct cache_writer *w, const char *what, const char *const *pins, size_t count,
			 char sha256_out[65], struct error *err)
{
	const char *actual = digest_set_hex(w->digests, DIGEST_SHA256);

	for (size_t i = 0; i < count; i++)
		if (strcmp(pins[i], actual) == 0) {
			snprintf(sha256_out, 65, "%s", actual);
			return cache_writer_commit(w, actual, err);
		}
	return error_set(err, ERROR_INVALID, "%s has sha256 %s, which is not one of the %zu pinned; nothing was stored",
			 what, actual, count);
}

int download_to_cache(const char *url, struct cache *cache, const char *const *pins, size_t count,
		      char sha256_out[65], struct error *err)
{
	static const struct http_callbacks callbacks = {cache_start, cache_data, done};
	struct cache_writer w;
	struct cache_sink sink = {&w, err};
	struct http_transfer t = {.url = (char *)url, .callbacks = &callbacks, .user = &sink, .resumable = true};
	int rc;

	if (cache_writer_begin(&w, cache, err) < 0)
		return -1;
	rc = run_one(&t, err);
	if (rc == 0)
		rc = commit_pinned(&w, url, pins, count, sha256_out, err);
	cache_writer_abort(&w);
	return rc;
}

int download_import_file(const char *path, struct cache *cache, const char *const *pins, size_t count,
			 char sha256_out[65], struct error *err)
{
	struct cache_writer w;
	char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return error_set_errno(err, "cannot open %s", path);
	if (cache_writer_begin(&w, cache, err) < 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set_errno(err, "cannot read %s", path);
			break;
		}
		if (n == 0 || (rc = cache_writer_write(&w, buf, (size_t)n, err)) < 0)
			break;
	}
	close(fd);
	if (rc == 0)
		rc = commit_pinned(&w, path, pins, count, sha256_out, err);
	cache_writer_abort(&w);
	return rc;
}
