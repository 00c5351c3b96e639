/* fetch.h - Maven artifacts into the cache: parallel, verified, resumable.
 *
 * Each artifact is looked up in the configured repositories in order (a mirror stands in for
 * the repositories it mirrors). Only 404/410 move on to the next repository; 401/403 and
 * other failures are errors naming the repository. The jar streams into the cache while it
 * is hashed; it is verified against its pin (recipe or lock) or else against the strongest
 * checksum the repository publishes (.sha512, .sha256, .sha1), and only then stored.
 */
#ifndef FACTORY_FETCH_H
#define FACTORY_FETCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cache.h"
#include "config.h"
#include "error.h"

enum fetch_state { FETCH_PENDING, FETCH_CACHED, FETCH_DOWNLOADED, FETCH_FAILED };

struct fetch_item {
	/* input */
	const char *coordinate;
	const char *pin_sha256; /* NULL: trust the repository's checksum files */
	char pin_storage[65];   /* holds the pin when it came from a lock that is freed */
	bool use_cache;         /* a pinned blob already cached is taken without asking anyone */
	long long expected_size; /* from the lock: a longer body is an error (0: unknown, the
				  * configured limits.download bounds it) */

	/* result */
	enum fetch_state state;
	char sha256[65];
	char sha1[41];
	long long size;
	char *repository_url; /* which repository served it (downloads only) */
	char *url;
	char *error; /* FETCH_FAILED: what went wrong, for the user */
	enum error_code error_code; /* FETCH_FAILED: ERROR_NOT_FOUND, ERROR_AUTH, ERROR_NETWORK ... */
};

struct fetch_progress {
	size_t total;
	size_t finished;
	size_t failed;
	size_t cached;
	off_t bytes;          /* downloaded so far */
	off_t expected_bytes; /* sum of the known sizes of running and finished downloads */
	size_t requests;
	size_t retries;
};

struct fetch_options {
	const struct config *config;
	struct cache *cache;
	int parallel;
	int max_attempts;
	void (*on_progress)(void *ctx, const struct fetch_progress *progress);
	void (*on_item)(void *ctx, const struct fetch_item *item);
	void *ctx;
	const volatile sig_atomic_t *interrupted; /* may be NULL */
};

/* Fetches every item; returns 0 when all are in the cache, -1 when any failed (see each
 * item's error) or on a setup error (err). */
int fetch_run(struct fetch_item *items, size_t count, const struct fetch_options *options,
	      struct fetch_progress *summary, struct error *err);

void fetch_item_clear(struct fetch_item *item);

#endif
