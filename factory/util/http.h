/* http.h - many HTTP transfers at once over libcurl's multi interface.
 *
 * Transfers stream their bodies to callbacks (nothing is buffered whole), share connections
 * (HTTP/2 multiplexing when the server offers it), and are retried with exponential backoff
 * on connection errors and on 408/429/5xx, honouring Retry-After. A transfer marked
 * resumable continues an interrupted body with a Range request when the server supports it.
 * Credentials are given to libcurl, which sends them only to the original host: never
 * forwarded on a redirect to another host or port.
 */
#ifndef FACTORY_HTTP_H
#define FACTORY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

struct http_transfer;

/* Whoever wants to see each HTTP exchange (factory -v). Called once per attempt, retries
 * included, when the response is complete or the attempt failed, from the thread that ran
 * it (several at once when requests run in parallel threads). `url` is redacted with
 * http_url_redact; no header, credential or token is ever passed. `status` is 0 when no
 * response came, and then `failure` says why (NULL otherwise). `sent` and `received` count
 * body bytes. */
struct http_observer {
	void (*on_exchange)(void *ctx, const char *method, const char *url, long status, long long sent,
			    long long received, const char *failure);
	void *ctx;
};

struct http_callbacks {
	/* The response to this attempt is a success (2xx) and its body follows. `resumed` is
	 * true when the server honoured a Range request: the body continues the bytes already
	 * delivered; otherwise it starts from byte 0. Return -1 to abort the transfer. */
	int (*on_body_start)(struct http_transfer *t, bool resumed);
	int (*on_data)(struct http_transfer *t, const void *data, size_t size);
	/* The transfer is finished for good: see outcome. */
	void (*on_done)(struct http_transfer *t);
};

enum http_outcome {
	HTTP_OK,      /* 2xx, body delivered */
	HTTP_STATUS,  /* final non-2xx status, in `status` */
	HTTP_FAILED,  /* network or TLS failure after all retries, in `error` */
	HTTP_ABORTED, /* a callback returned -1 */
};

/* How long and how slowly a transfer may run. A server that trickles a body (or headers)
 * would otherwise hold a run for ever: below `min_rate` bytes/s for `min_rate_seconds` an
 * attempt fails (and is retried like a dropped connection), and past `timeout_seconds` from
 * the first attempt the transfer fails for good. 0 disables a rule. */
struct http_limits {
	long long timeout_seconds;
	long long min_rate;
	long long min_rate_seconds;
};

/* One hour per transfer (a 1 GB layer at 300 kB/s), under 1 KiB/s for 60 s is a stall. */
extern const struct http_limits http_limits_default;

struct http_transfer {
	/* set by the caller */
	char *url;
	const char *username; /* basic auth, with password */
	const char *password;
	const char *token; /* bearer auth */
	const char *ca_file;
	const char *method;                  /* NULL: GET */
	struct curl_slist *request_headers;  /* "Name: value" lines, owned by the caller */
	const char *upload_path;             /* request body streamed from a file, or */
	const void *upload_data;             /* from memory */
	size_t upload_size;
	bool head;                           /* no response body (HEAD) */
	bool allow_file;                     /* file:// URLs (local Maven repositories) */
	bool resumable;
	const struct http_callbacks *callbacks;
	void *user;
	const struct http_observer *observer; /* may be NULL: the engine's, if any */
	const struct http_limits *limits;     /* NULL: the engine's (http_limits_default) */
	const volatile sig_atomic_t *interrupted; /* http_run_one: stops the transfer once set */
	/* The body may not be longer (0: no bound): a Content-Length above it ends the transfer
	 * before any byte is delivered, a body that grows past it ends it at that byte; either
	 * way as HTTP_ABORTED with `too_large` set and nothing retried. */
	off_t max_bytes;

	/* results */
	enum http_outcome outcome;
	long status;
	char error[256];
	int curl_code; /* the libcurl result of the last attempt */
	int attempts;
	off_t received;       /* body bytes delivered so far */
	off_t content_length; /* of the whole body when known, else -1 */
	char *response_headers; /* of the final response, "Name: value\r\n" lines; freed by cleanup */
	size_t response_headers_length;

	/* engine state */
	FILE *upload_file;
	void *easy;
	struct curl_slist *headers;
	struct http_engine *engine;
	bool body_started;
	bool accept_ranges;
	long retry_after; /* seconds, -1 when absent */
	long long range_start; /* from Content-Range, -1 when absent */
	bool range_sent;       /* this attempt asked for a Range */
	double not_before; /* monotonic seconds */
	bool in_flight;
	int aborted_by_callback;
	bool too_large;
	double deadline; /* monotonic seconds; 0: none */
};

struct http_stats {
	size_t requests;
	size_t retries;
	off_t bytes;
};

struct http_engine;

/* libcurl's process-wide setup: once, from main, before any thread starts. */
int http_global_init(void);
void http_global_cleanup(void);

/* `parallel`: transfers running at once. `max_attempts`: per transfer, including the first. */
int http_engine_new(struct http_engine **out, int parallel, int max_attempts, struct error *err);
void http_engine_free(struct http_engine *engine);

/* Queues a transfer; the engine does not own it. May be called from callbacks. */
void http_engine_add(struct http_engine *engine, struct http_transfer *t);

/* When *flag becomes non-zero (set by a signal handler), the run stops: every transfer ends
 * as HTTP_ABORTED ("interrupted") and http_engine_run returns -1. */
void http_engine_set_interrupt(struct http_engine *engine, const volatile sig_atomic_t *flag);

/* The limits of the transfers that have none of their own (NULL: http_limits_default). */
void http_engine_set_limits(struct http_engine *engine, const struct http_limits *limits);

/* The observer of the transfers that have none of their own (may be NULL). */
void http_engine_set_observer(struct http_engine *engine, const struct http_observer *observer);

/* Runs until every queued transfer is done. `tick` (may be NULL) is called about every
 * 100 ms, for progress output. */
int http_engine_run(struct http_engine *engine, void (*tick)(void *ctx), void *ctx, struct error *err);

/* Runs one transfer on its own engine (up to `attempts` tries). The transfer keeps its
 * response headers until http_transfer_cleanup. */
int http_run_one(struct http_transfer *t, int attempts, struct error *err);

const struct http_stats *http_engine_stats(const struct http_engine *engine);

/* The value of a header of the final response (case-insensitive name), malloc'd, or NULL. */
char *http_transfer_header(const struct http_transfer *t, const char *name);

/* The URL without what may be a secret, for showing it: no userinfo, no fragment, and each
 * query parameter's value replaced by "***" ("https://h/p?digest=***&_state=***"). malloc'd. */
char *http_url_redact(const char *url);

/* Whether an http(s) URL carries credentials (user[:password]@host): such a URL would end up
 * in messages, locks and logs, so callers refuse it. */
bool http_url_has_userinfo(const char *url);

/* Frees what the engine attached to a finished transfer (not the transfer itself). */
void http_transfer_cleanup(struct http_transfer *t);

#endif
