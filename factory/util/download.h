/* download.h - single HTTP downloads on the shared transfer engine: a small page into
 * memory, or a file into the cache verified against the sha256 values it may have. */
#ifndef FACTORY_DOWNLOAD_H
#define FACTORY_DOWNLOAD_H

#include <signal.h>
#include <stddef.h>

#include "cache.h"
#include "error.h"
#include "http.h"

/* A response body kept in memory (up to `max` bytes) or, with `writer`, streamed into the
 * cache; restarts from zero when a retry is not a resumption. For http transfers' `user`. */
struct download_body {
	char *data;
	size_t size, max;
	struct cache_writer *writer;
	struct error *err;
};

extern const struct http_callbacks download_body_callbacks;

/* How a run's single downloads go; NULL (or a NULL member) takes the default. */
struct download_options {
	const struct http_limits *limits;         /* deadline and minimum rate (http_limits_default) */
	const struct http_observer *observer;     /* sees each request and answer (-v) */
	const volatile sig_atomic_t *interrupted; /* once set, the download stops: ERROR_INTERRUPTED */
	long long max_bytes;                      /* a body whose size nothing gives (4 GiB) */
};

int download_to_memory(const struct download_options *options, const char *url, size_t max, char **data,
		       size_t *size, struct error *err);

/* A page fetched with content negotiation: what the server chose and where the body came from
 * (after redirects), which relative links on it resolve against. */
struct download_page {
	char *data;         /* NUL-terminated */
	size_t size;
	char *content_type; /* NULL when the server sent none */
	char *url;          /* the final URL */
	long status;        /* also when the request failed with an HTTP status (404: not there) */
};

/* Like download_to_memory, sending `accept` (an Accept header value, NULL for none). */
int download_page(const struct download_options *options, const char *url, const char *accept, size_t max,
		  struct download_page *out, struct error *err);
void download_page_clear(struct download_page *page);

/* Stores the body in the cache only if its sha256 is one of `pins` (count > 0); the digest
 * goes to sha256_out. */
int download_to_cache(const struct download_options *options, const char *url, struct cache *cache,
		      const char *const *pins, size_t count, char sha256_out[65], struct error *err);

/* Copies a local file into the cache under the same rule. */
int download_import_file(const char *path, struct cache *cache, const char *const *pins, size_t count,
			 char sha256_out[65], struct error *err);

#endif
