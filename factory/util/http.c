#include "http.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRY_BASE_SECONDS 0.25
#define RETRY_MAX_SECONDS 8.0
#define RETRY_AFTER_CAP_SECONDS 60

struct http_engine {
	CURLM *multi;
	CURLSH *share;
	int parallel;
	int max_attempts;
	struct http_transfer **queue; /* waiting to start (or to retry) */
	size_t queued;
	size_t queue_capacity;
	size_t running;
	struct http_stats stats;
	const volatile sig_atomic_t *interrupted;
	const struct http_observer *observer;
	const struct http_limits *limits;
	struct http_transfer **active; /* in flight, to abort them on an interrupt */
	size_t active_capacity;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

int http_engine_new(struct http_engine **out, int parallel, int max_attempts, struct error *err)
{
	struct http_engine *e = calloc(1, sizeof(*e));

	*out = NULL;
	(void)err;
	if (!e)
		abort();
	e->multi = curl_multi_init();
	e->share = curl_share_init();
	if (!e->multi || !e->share)
		abort();
	/* DNS and TLS sessions are shared across transfers, connections are pooled by multi. */
	curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)parallel);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
	curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	e->parallel = parallel;
	e->max_attempts = max_attempts;
	*out = e;
	return 0;
}

void http_engine_free(struct http_engine *e)
{
	if (!e)
		return;
	curl_multi_cleanup(e->multi);
	curl_share_cleanup(e->share);
	free(e->queue);
	free(e->active);
	free(e);
}

void http_engine_set_interrupt(struct http_engine *e, const volatile sig_atomic_t *flag)
{
	e->interrupted = flag;
}

const struct http_limits http_limits_default = {.timeout_seconds = 3600, .min_rate = 1024, .min_rate_seconds = 60};

void http_engine_set_limits(struct http_engine *e, const struct http_limits *limits)
{
	e->limits = limits;
}

static const struct http_limits *limits_of(const struct http_transfer *t)
{
	if (t->limits)
		return t->limits;
	return t->engine && t->engine->limits ? t->engine->limits : &http_limits_default;
}

void http_engine_set_observer(struct http_engine *e, const struct http_observer *observer)
{
	e->observer = observer;
}

char *http_url_redact(const char *url)
{
	const char *scheme = strstr(url, "://"), *host = scheme ? scheme + 3 : url, *p;
	size_t authority = strcspn(host, "/?#"), len = strlen(url);
	const char *at = memchr(host, '@', authority);
	char *out = malloc(4 * len + 1), *o = out; /* each "=" may grow by "***" */

	if (!out)
		abort();
	/* scheme://[userinfo@]host: the userinfo is the one part of an authority that is secret */
	memcpy(o, url, (size_t)(host - url));
	o += host - url;
	p = at ? at + 1 : host;
	memcpy(o, p, (size_t)(host + authority - p));
	o += host + authority - p;
	p = host + authority;
	while (*p && *p != '?' && *p != '#')
		*o++ = *p++;
	if (*p == '?') {
		/* Query values carry upload state, signatures and sometimes tokens: keep only the
		 * names, which say what the request was. */
		*o++ = *p++;
		while (*p && *p != '#') {
			while (*p && *p != '=' && *p != '&' && *p != '#')
				*o++ = *p++;
			if (*p == '=') {
				memcpy(o, "=***", 4);
				o += 4;
				while (*p && *p != '&' && *p != '#')
					p++;
			}
			if (*p == '&')
				*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static const char *method_of(const struct http_transfer *t)
{
	if (t->method)
		return t->method;
	if (t->head)
		return "HEAD";
	return t->upload_path || t->upload_data ? "PUT" : "GET";
}

/* Tells the observer about one attempt; `failure` is NULL when a response came. */
static void observe(const struct http_engine *e, const struct http_transfer *t, long status, const char *failure)
{
	const struct http_observer *o = t->observer ? t->observer : e->observer;
	curl_off_t sent = 0, received = 0;
	char *url;

	if (!o || !o->on_exchange)
		return;
	if (t->easy) {
		curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
		curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
	}
	url = http_url_redact(t->url);
	o->on_exchange(o->ctx, method_of(t), url, status, (long long)sent, (long long)received, failure);
	free(url);
}

/* Ends every transfer as aborted: what they wrote is discarded by their owners. */
static void abort_all(struct http_engine *e)
{
	for (size_t i = 0; i < e->active_capacity; i++) {
		struct http_transfer *t = e->active[i];
		if (!t)
			continue;
		curl_multi_remove_handle(e->multi, t->easy);
		curl_easy_setopt(t->easy, CURLOPT_SHARE, NULL);
		e->active[i] = NULL;
		t->in_flight = false;
		t->outcome = HTTP_ABORTED;
		snprintf(t->error, sizeof(t->error), "interrupted");
		observe(e, t, 0, t->error);
		t->callbacks->on_done(t);
	}
	e->running = 0;
	for (size_t i = 0; i < e->queued; i++) {
		struct http_transfer *t = e->queue[i];
		t->outcome = HTTP_ABORTED;
		snprintf(t->error, sizeof(t->error), "interrupted");
		t->callbacks->on_done(t);
	}
	e->queued = 0;
}

static void track(struct http_engine *e, struct http_transfer *t, bool add)
{
	for (size_t i = 0; i < e->active_capacity; i++)
		if (add ? e->active[i] == NULL : e->active[i] == t) {
			e->active[i] = add ? t : NULL;
			return;
		}
	if (!add)
		return;
	e->active = realloc(e->active, (e->active_capacity + 16) * sizeof(*e->active));
	if (!e->active)
		abort();
	memset(e->active + e->active_capacity, 0, 16 * sizeof(*e->active));
	e->active[e->active_capacity] = t;
	e->active_capacity += 16;
}

const struct http_stats *http_engine_stats(const struct http_engine *e)
{
	return &e->stats;
}

void http_engine_add(struct http_engine *e, struct http_transfer *t)
{
	if (e->queued == e->queue_capacity) {
		e->queue_capacity = e->queue_capacity ? e->queue_capacity * 2 : 32;
		e->queue = realloc(e->queue, e->queue_capacity * sizeof(*e->queue));
		if (!e->queue)
			abort();
	}
	t->engine = e;
	if (t->attempts == 0) {
		t->received = 0;
		t->content_length = -1;
		t->not_before = 0;
		t->too_large = false;
		t->deadline = 0;
	}
	e->queue[e->queued++] = t;
}

int http_run_one(struct http_transfer *t, int attempts, struct error *err)
{
	struct http_engine *engine = NULL;
	int rc;

	if (http_engine_new(&engine, 1, attempts, err))
		return -1;
	http_engine_set_interrupt(engine, t->interrupted);
	http_engine_add(engine, t);
	rc = http_engine_run(engine, NULL, NULL, err);
	http_engine_free(engine);
	return rc;
}

void http_transfer_cleanup(struct http_transfer *t)
{
	if (t->easy)
		curl_easy_cleanup(t->easy);
	t->easy = NULL;
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	free(t->response_headers);
	t->response_headers = NULL;
	t->response_headers_length = 0;
	if (t->upload_file)
		fclose(t->upload_file);
	t->upload_file = NULL;
}

/* A timeout says which limit it was and where it is set, so the user knows what to check. */
static void explain_timeout(struct http_transfer *t)
{
	const struct http_limits *lim = limits_of(t);

	if (t->deadline > 0 && now_seconds() >= t->deadline - 0.05)
		snprintf(t->error, sizeof(t->error), "not finished within %lld s (limits.transferTimeout in "
			 "factory.yaml); check the server and the network, or raise the limit", lim->timeout_seconds);
	else
		snprintf(t->error, sizeof(t->error), "slower than %lld bytes/s for %lld s (limits.minRate and "
			 "limits.minRateTime in factory.yaml); check the server and the network",
			 lim->min_rate, lim->min_rate_seconds);
}

char *http_transfer_header(const struct http_transfer *t, const char *name)
{
	size_t len = strlen(name);
	char *found = NULL;

	for (const char *line = t->response_headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n > len && strncasecmp(line, name, len) == 0 && line[len] == ':') {
			const char *v = line + len + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			free(found);
			found = strndup(v, n - (size_t)(v - line));
		}
		line += n + (end ? 2 : 0);
	}
	return found;
}

static size_t header_cb(char *raw, size_t size, size_t n, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t len = size * n;
	char line[1024];

	/* Header data is not NUL-terminated: parse a bounded copy. */
	snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), raw);

	if (len > 14 && strncasecmp(line, "Accept-Ranges:", 14) == 0) {
		t->accept_ranges = strstr(line + 14, "bytes") != NULL;
	} else if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
		const char *p = line + 12;
		while (*p == ' ')
			p++;
		/* Only the delta-seconds form; an HTTP date falls back to our own backoff. */
		if (isdigit((unsigned char)*p))
			t->retry_after = strtol(p, NULL, 10);
	} else if (len > 20 && strncasecmp(line, "Content-Range: bytes ", 21) == 0) {
		t->range_start = isdigit((unsigned char)line[21]) ? strtoll(line + 21, NULL, 10) : -1;
	} else if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or 100-continue): forget the previous one's. */
		t->accept_ranges = false;
		t->retry_after = -1;
		t->range_start = -1;
		t->response_headers_length = 0;
	}
	if (t->response_headers_length + len < 65536) {
		char *grown = realloc(t->response_headers, t->response_headers_length + len + 1);
		if (!grown)
			abort();
		t->response_headers = grown;
		memcpy(t->response_headers + t->response_headers_length, raw, len);
		t->response_headers_length += len;
		t->response_headers[t->response_headers_length] = '\0';
	}
	return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300)
		return len; /* an error page: not part of any artifact */
	if (!t->body_started) {
		curl_off_t cl = -1;
		bool resumed = status == 206;
		t->body_started = true;
		if (resumed && (!t->range_sent || t->range_start != (long long)t->received)) {
			/* Resuming anywhere but where we stopped would splice the wrong bytes. */
			snprintf(t->error, sizeof(t->error), "the server resumed at byte %lld, not %lld", t->range_start,
				 (long long)t->received);
			t->aborted_by_callback = 1;
			return 0;
		}
		if (!resumed)
			t->received = 0;
		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl >= 0)
			t->content_length = (off_t)cl + (resumed ? t->received : 0);
		if (t->max_bytes > 0 && t->content_length > t->max_bytes) {
			/* Refused before the first byte: nothing of it reaches the callbacks. */
			t->too_large = true;
			snprintf(t->error, sizeof(t->error), "the server announces %lld bytes, more than the %lld expected",
				 (long long)t->content_length, (long long)t->max_bytes);
			t->aborted_by_callback = 1;
			return 0;
		}
		if (t->callbacks->on_body_start && t->callbacks->on_body_start(t, resumed) < 0) {
			t->aborted_by_callback = 1;
			return 0;
		}
	}
	if (t->max_bytes > 0 && t->received + (off_t)len > t->max_bytes) {
		t->too_large = true;
		snprintf(t->error, sizeof(t->error), "the body goes on past the %lld bytes expected",
			 (long long)t->max_bytes);
		t->aborted_by_callback = 1;
		return 0;
	}
	if (t->callbacks->on_data && t->callbacks->on_data(t, data, len) < 0) {
		t->aborted_by_callback = 1;
		return 0;
	}
	t->received += (off_t)len;
	t->engine->stats.bytes += (off_t)len;
	return len;
}

static int start(struct http_engine *e, struct http_transfer *t)
{
	CURL *easy = t->easy ? t->easy : curl_easy_init();

	if (!easy)
		abort();
	curl_easy_reset(easy);
	t->easy = easy;
	t->body_started = false;
	t->retry_after = -1;
	t->range_start = -1;
	t->range_sent = false;
	t->aborted_by_callback = 0;
	t->attempts++;
	e->stats.requests++;
	curl_easy_setopt(easy, CURLOPT_URL, t->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(easy, CURLOPT_SHARE, e->share);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "factory");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
	/* Explicitly off (the default): credentials stay with the host they were given for. */
	curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, t->allow_file ? "http,https,file" : "http,https");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 15L);
	{
		/* A stalled or trickling response (headers included) counts as a dropped connection;
		 * the deadline covers every attempt together, so retries cannot extend it. */
		const struct http_limits *lim = limits_of(t);
		if (lim->min_rate > 0 && lim->min_rate_seconds > 0) {
			curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, (long)lim->min_rate);
			curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)lim->min_rate_seconds);
		}
		if (lim->timeout_seconds > 0) {
			double left;
			if (t->deadline == 0)
				t->deadline = now_seconds() + (double)lim->timeout_seconds;
			left = t->deadline - now_seconds();
			curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, left > 0.001 ? (long)(left * 1000) : 1L);
		}
	}
	/* Waiting to learn whether a connection multiplexes pays off only where HTTP/2 can be
	 * negotiated (TLS ALPN); over plain HTTP it would serialise the first requests. */
	if (strncmp(t->url, "https://", 8) == 0)
		curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (t->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, t->ca_file);
	if (t->token) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(easy, CURLOPT_XOAUTH2_BEARER, t->token);
	} else if (t->username) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, t->username);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, t->password ? t->password : "");
	}
	if (t->method)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, t->method);
	if (t->head)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	if (t->request_headers)
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->request_headers);
	if (t->upload_path || t->upload_data) {
		if (t->upload_file)
			fclose(t->upload_file);
		t->upload_file = t->upload_path ? fopen(t->upload_path, "rb")
						: fmemopen((void *)t->upload_data, t->upload_size ? t->upload_size : 1, "rb");
		if (!t->upload_file)
			return -1;
		curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(easy, CURLOPT_READDATA, t->upload_file);
		curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->upload_size);
	} else if (t->method && (strcmp(t->method, "POST") == 0 || strcmp(t->method, "PUT") == 0)) {
		/* An empty body, sent as such (not as a chunked upload). */
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (t->resumable && t->received > 0 && t->accept_ranges) {
		char range[64];
		snprintf(range, sizeof(range), "%lld-", (long long)t->received);
		curl_easy_setopt(easy, CURLOPT_RANGE, range);
		t->range_sent = true;
	}
	if (curl_multi_add_handle(e->multi, easy) != CURLM_OK)
		return -1;
	track(e, t, true);
	t->in_flight = true;
	e->running++;
	return 0;
}

static bool retryable_status(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static bool retryable_error(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static double backoff(const struct http_transfer *t)
{
	double delay;

	if (t->retry_after >= 0)
		return (double)(t->retry_after > RETRY_AFTER_CAP_SECONDS ? RETRY_AFTER_CAP_SECONDS : t->retry_after);
	delay = RETRY_BASE_SECONDS;
	for (int i = 1; i < t->attempts && delay < RETRY_MAX_SECONDS; i++)
		delay *= 2;
	return delay > RETRY_MAX_SECONDS ? RETRY_MAX_SECONDS : delay;
}

static void finish(struct http_engine *e, struct http_transfer *t, CURLcode code)
{
	long status = 0;
	bool retry = false;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(e->multi, t->easy);
	track(e, t, false);
	/* Detach the engine's share: the handle may outlive the engine (its headers are read
	 * after the run) and a share still in use cannot be freed. */
	curl_easy_setopt(t->easy, CURLOPT_SHARE, NULL);
	t->in_flight = false;
	e->running--;
	t->status = status;
	t->curl_code = (int)code;
	if (t->aborted_by_callback) {
		t->outcome = HTTP_ABORTED;
	} else if (code == CURLE_OK && status >= 200 && status < 300) {
		t->outcome = HTTP_OK;
	} else if (code == CURLE_OK || code == CURLE_HTTP_RETURNED_ERROR) {
		t->outcome = HTTP_STATUS;
		retry = retryable_status(status);
		snprintf(t->error, sizeof(t->error), "HTTP %ld", status);
	} else {
		t->outcome = HTTP_FAILED;
		retry = retryable_error(code);
		snprintf(t->error, sizeof(t->error), "%s", curl_easy_strerror(code));
		if (code == CURLE_OPERATION_TIMEDOUT) {
			explain_timeout(t);
			/* Past the overall deadline another attempt would only be cut at once. */
			if (t->deadline > 0 && now_seconds() >= t->deadline - 0.05)
				retry = false;
		}
	}
	observe(e, t, t->outcome == HTTP_FAILED ? 0 : status,
		t->outcome == HTTP_FAILED || t->outcome == HTTP_ABORTED ? (t->error[0] ? t->error : "aborted") : NULL);
	if (retry && t->attempts < e->max_attempts) {
		t->not_before = now_seconds() + backoff(t);
		e->stats.retries++;
		http_engine_add(e, t);
		return;
	}
	t->callbacks->on_done(t);
}

static int start_ready(struct http_engine *e, double *next_wake)
{
	double now = now_seconds();
	size_t kept = 0;

	*next_wake = 0;
	for (size_t i = 0; i < e->queued; i++) {
		struct http_transfer *t = e->queue[i];
		/* Handles beyond the connection limit wait inside libcurl; four per connection keep it
		 * fed without holding hundreds of transfers' state at once. */
		if ((int)e->running < e->parallel * 4 && t->not_before <= now) {
			if (start(e, t))
				return -1;
			continue;
		}
		if (t->not_before > now && (*next_wake == 0 || t->not_before < *next_wake))
			*next_wake = t->not_before;
		e->queue[kept++] = t;
	}
	e->queued = kept;
	return 0;
}

int http_engine_run(struct http_engine *e, void (*tick)(void *ctx), void *ctx, struct error *err)
{
	double last_tick = 0;

	for (;;) {
		double next_wake;
		int still_running = 0, msgs = 0, timeout_ms = 100;
		size_t finished = 0;
		CURLMsg *msg;

		if (e->interrupted && *e->interrupted) {
			abort_all(e);
			return error_set(err, ERROR_INTERRUPTED, "interrupted");
		}

		if (start_ready(e, &next_wake))
			return error_set(err, ERROR_INTERNAL, "cannot start a transfer");
		if (e->running == 0 && e->queued == 0)
			break;
		if (curl_multi_perform(e->multi, &still_running) != CURLM_OK)
			return error_set(err, ERROR_INTERNAL, "libcurl multi_perform failed");
		while ((msg = curl_multi_info_read(e->multi, &msgs))) {
			struct http_transfer *t = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			finish(e, t, msg->data.result);
			finished++;
		}
		if (e->running == 0 && e->queued == 0)
			break;
		if (tick && now_seconds() - last_tick >= 0.1) {
			last_tick = now_seconds();
			tick(ctx);
		}
		/* A finished transfer frees a connection that a waiting one can use now: libcurl does
		 * not count that as a timeout, so polling here would idle for the full interval. */
		if (finished)
			continue;
		if (e->running == 0 && next_wake > 0) {
			double wait = next_wake - now_seconds();
			timeout_ms = wait > 0 ? (int)(wait * 1000) + 1 : 0;
			if (timeout_ms > 100)
				timeout_ms = 100;
		}
		if (curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
			return error_set(err, ERROR_INTERNAL, "libcurl multi_poll failed");
	}
	if (tick)
		tick(ctx);
	return 0;
}

bool http_url_has_userinfo(const char *url)
{
	const char *rest = strstr(url, "://");
	size_t authority;

	if (!rest)
		return false;
	rest += 3;
	authority = strcspn(rest, "/?#");
	return memchr(rest, '@', authority) != NULL;
}
