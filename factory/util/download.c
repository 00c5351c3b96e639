#include "download.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "http.h"
#include "util.h"

static int body_start(struct http_transfer *t, bool resumed)
{
	struct download_body *b = t->user;

	if (b->writer)
		return !resumed && b->writer->size > 0 ? cache_writer_reset(b->writer, b->err) : 0;
	b->size = 0;
	return 0;
}

static int body_data(struct http_transfer *t, const void *data, size_t size)
{
	struct download_body *b = t->user;

	if (b->writer)
		return cache_writer_write(b->writer, data, size, b->err);
	if (b->size + size > b->max) {
		error_set(b->err, ERROR_LIMIT, "the response is larger than %zu bytes", b->max);
		return -1;
	}
	b->data = realloc(b->data, b->size + size + 1);
	if (!b->data)
		abort();
	memcpy(b->data + b->size, data, size);
	b->size += size;
	b->data[b->size] = '\0';
	return 0;
}

static void body_done(struct http_transfer *t)
{
	(void)t;
}

const struct http_callbacks download_body_callbacks = {body_start, body_data, body_done};

static void apply_options(struct http_transfer *t, const struct download_options *options)
{
	if (!options)
		return;
	t->limits = options->limits;
	t->observer = options->observer;
	t->interrupted = options->interrupted;
}

static int run_one(struct http_transfer *t, struct error *err)
{
	int rc = http_run_one(t, 5, err);
	bool too_large = t->too_large;

	http_transfer_cleanup(t);
	if (rc)
		return -1;
	if (t->outcome == HTTP_ABORTED && too_large)
		return error_set(err, ERROR_LIMIT, "%s: the body is larger than %lld bytes (limits.download)", t->url,
				 (long long)t->max_bytes);
	/* The sink refused the body (a full disk, a page over its bound) and said why. */
	if (t->outcome == HTTP_ABORTED && err && err->code != ERROR_NONE)
		return error_wrap(err, "%s", t->url);
	if (t->outcome != HTTP_OK)
		return error_set(err, ERROR_IO, "%s: %s", t->url, t->error[0] ? t->error : "the download was stopped");
	return 0;
}

int download_to_memory(const struct download_options *options, const char *url, size_t max, char **data,
		       size_t *size, struct error *err)
{
	struct download_body m = {.max = max, .err = err};
	struct http_transfer t = {.url = (char *)url, .callbacks = &download_body_callbacks, .user = &m};

	apply_options(&t, options);
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

int download_page(const struct download_options *options, const char *url, const char *accept, size_t max,
		  struct download_page *out, struct error *err)
{
	struct download_body m = {.max = max, .err = err};
	struct http_transfer t = {.url = (char *)url, .callbacks = &download_body_callbacks, .user = &m};
	char *header = accept ? xasprintf("Accept: %s", accept) : NULL;
	const char *effective = NULL;
	int rc;

	apply_options(&t, options);
	memset(out, 0, sizeof(*out));
	if (header)
		t.request_headers = curl_slist_append(NULL, header);
	rc = http_run_one(&t, 5, err);
	if (rc == 0 && t.outcome != HTTP_OK)
		rc = error_set(err, t.outcome == HTTP_ABORTED ? ERROR_LIMIT : ERROR_IO, "%s: %s", url,
			       t.outcome == HTTP_ABORTED && strcmp(t.error, "interrupted") != 0 ? "the page is too large"
											   : t.error);
	out->status = t.status;
	if (rc == 0) {
		/* The engine keeps the easy handle until cleanup: ask it where the redirects led. */
		if (t.easy && curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &effective) != CURLE_OK)
			effective = NULL;
		out->data = m.data ? m.data : xstrdup("");
		out->size = m.size;
		out->content_type = http_transfer_header(&t, "Content-Type");
		out->url = xstrdup(effective ? effective : url);
		m.data = NULL;
	}
	http_transfer_cleanup(&t);
	curl_slist_free_all(t.request_headers);
	free(header);
	free(m.data);
	return rc;
}

void download_page_clear(struct download_page *page)
{
	free(page->data);
	free(page->content_type);
	free(page->url);
	memset(page, 0, sizeof(*page));
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

int download_to_cache(const struct download_options *options, const char *url, struct cache *cache,
		      const char *const *pins, size_t count, char sha256_out[65], struct error *err)
{
	struct cache_writer w;
	struct download_body sink = {.writer = &w, .err = err};
	/* No caller knows a wheel's or runtime's size before it arrives: limits.download bounds
	 * it (the sha256 pin then decides). */
	struct http_transfer t = {.url = (char *)url, .callbacks = &download_body_callbacks, .user = &sink,
				  .resumable = true,
				  .max_bytes = options && options->max_bytes > 0 ? (off_t)options->max_bytes : (off_t)4 << 30};
	int rc;

	apply_options(&t, options);
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
	int fd = fs_open_regular(path, err), rc = 0;

	if (fd < 0)
		return -1;
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
