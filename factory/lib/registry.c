#include "registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "download.h"
#include "fsutil.h"
#include "http.h"
#include "util.h"
#include "wwwauth.h"

#define MANIFEST_MAX (4 * 1024 * 1024)
#define ACCEPT_MANIFESTS OCI_MEDIA_MANIFEST ", " OCI_MEDIA_INDEX ", " DOCKER_MEDIA_MANIFEST ", " DOCKER_MEDIA_LIST

extern char **environ;

struct token {
	char *scope;
	char *value;
};

struct registry {
	char *host;      /* as configured/written: "docker.io", "127.0.0.1:5000" */
	char *api_host;  /* where the API lives: "registry-1.docker.io" */
	char *base_url;  /* "https://host" */
	char *ca_file;
	const struct config_registry *settings; /* may be NULL */
	bool credentials_loaded;
	char *username;
	char *password;
	struct token *tokens;
	size_t token_count;
	char **retired; /* replaced token values, freed at close */
	size_t retired_count;
	/* Set by the first request whose credentials were refused: every later request stops at
	 * once with it, instead of trying (and naming) step after step. */
	char auth_refused[sizeof(((struct error *)0)->message)];
	char credentials_problem[sizeof(((struct error *)0)->message)]; /* why configured credentials could not be used ("" if none) */
	bool use_basic; /* the registry asked for Basic */
	bool may_downgrade; /* local registry: HTTPS first, plain HTTP if it does not speak TLS */
	const struct http_observer *observer; /* the config's, for every request */
	const struct config_limits *limits;   /* the config's; NULL: the built-in defaults */
	const volatile sig_atomic_t *interrupted; /* the config's: stops a transfer in flight */
	pthread_mutex_t lock; /* blobs are pushed from several threads: guards tokens and credentials */
};

/* ---- references --------------------------------------------------------------------------- */

void registry_ref_clear(struct registry_ref *ref)
{
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

int registry_ref_parse(const char *text, const char *default_registry, struct registry_ref *ref, struct error *err)
{
	char *copy = xstrdup(text), *rest = copy, *at, *slash, *colon;

	memset(ref, 0, sizeof(*ref));
	if ((at = strchr(copy, '@'))) {
		*at = '\0';
		if (!oci_digest_valid(at + 1)) {
			free(copy);
			return error_set(err, ERROR_INVALID, "'%s': the digest is not sha256:<64 hex>", text);
		}
		ref->digest = xstrdup(at + 1);
	}
	slash = strchr(rest, '/');
	/* The first component is a registry when it looks like a host (a dot, a port, localhost). */
	if (slash && (memchr(rest, '.', (size_t)(slash - rest)) || memchr(rest, ':', (size_t)(slash - rest)) ||
		      strncmp(rest, "localhost/", 10) == 0)) {
		ref->registry = xasprintf("%.*s", (int)(slash - rest), rest);
		rest = slash + 1;
	} else {
		ref->registry = xstrdup(default_registry);
	}
	colon = strrchr(rest, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		ref->tag = xstrdup(colon + 1);
	}
	if (!*rest || strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(rest)) {
		free(copy);
		registry_ref_clear(ref);
		return error_set(err, ERROR_INVALID, "'%s' is not an image reference", text);
	}
	if ((strcmp(ref->registry, "docker.io") == 0 || strcmp(ref->registry, "index.docker.io") == 0) &&
	    !strchr(rest, '/'))
		ref->repository = xasprintf("library/%s", rest);
	else
		ref->repository = xstrdup(rest);
	if (!ref->tag && !ref->digest)
		ref->tag = xstrdup("latest");
	free(copy);
	return 0;
}

/* ---- credentials -------------------------------------------------------------------------- */

/* localhost, 127.0.0.0/8 or [::1], with or without a port: nothing else ("localhost.example.com"
 * and "127.0.0.1.nip.io" are not local). */
bool registry_host_is_local(const char *host)
{
	char name[256];
	const char *colon = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
	size_t len = host[0] == '[' ? (colon ? (size_t)(colon - host) + 1 : strlen(host))
				    : (colon ? (size_t)(colon - host) : strlen(host));
	int a, b, c, d, n = 0;

	if (len >= sizeof(name))
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (strcmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0)
		return true;
	return sscanf(name, "%d.%d.%d.%d%n", &a, &b, &c, &d, &n) == 4 && (size_t)n == len && a == 127 && b >= 0 &&
	       b < 256 && c >= 0 && c < 256 && d >= 0 && d < 256;
}

/* Runs docker-credential-<helper> get, giving it the host on stdin. */
static int run_helper(const char *helper, const char *host, char **user, char **pass)
{
	int in[2], out[2], status = 0;
	pid_t pid;
	char *prog = xasprintf("docker-credential-%s", helper), buf[8192];
	char *argv[] = {prog, "get", NULL};
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	ssize_t n;
	json_t *j;

	/* Close-on-exec: a helper spawned by another thread must not inherit our pipe ends (it
	 * would keep our stdin open and both would wait for EOF); dup2 clears it for the child. */
	if (pipe2(in, O_CLOEXEC) < 0) {
		free(prog);
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		free(prog);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawnp(&pid, prog, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		free(prog);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (write(in[1], host, strlen(host)) < 0) {
		/* the helper will report nothing; handled below */
	}
	close(in[1]);
	while (len < sizeof(buf) - 1 && (n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(out[0]);
	waitpid(pid, &status, 0);
	free(prog);
	j = json_loads(buf, 0, NULL);
	explicit_bzero(buf, sizeof(buf));
	if (!j || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		json_decref(j);
		return -1;
	}
	if (json_string_value(json_object_get(j, "Username")) && json_string_value(json_object_get(j, "Secret"))) {
		*user = xstrdup(json_string_value(json_object_get(j, "Username")));
		*pass = xstrdup(json_string_value(json_object_get(j, "Secret")));
	}
	json_decref(j);
	return *user ? 0 : -1;
}

static int from_auth_file(const char *path, const char *host, char **user, char **pass)
{
	json_t *j = json_load_file(path, 0, NULL), *auths, *entry = NULL;
	const char *helper, *encoded;
	int rc = -1;

	if (!j)
		return -1;
	auths = json_object_get(j, "auths");
	{
		char *https = xasprintf("https://%s", host);
		entry = json_object_get(auths, host);
		if (!entry)
			entry = json_object_get(auths, https);
		if (!entry && strcmp(host, "docker.io") == 0)
			entry = json_object_get(auths, "https://index.docker.io/v1/");
		free(https);
	}
	helper = json_string_value(json_object_get(json_object_get(j, "credHelpers"), host));
	if (helper) {
		rc = run_helper(helper, host, user, pass);
	} else if (entry && (encoded = json_string_value(json_object_get(entry, "auth")))) {
		/* "auth" is base64("user:password"); EVP_DecodeBlock writes 3 bytes per 4 characters */
		size_t cap = strlen(encoded) / 4 * 3 + 4;
		unsigned char *decoded = calloc(cap, 1);
		int n;
		if (!decoded)
			abort();
		n = strlen(encoded) < (1u << 20) ? EVP_DecodeBlock(decoded, (const unsigned char *)encoded, (int)strlen(encoded))
						 : -1;
		if (n > 0 && (size_t)n < cap) {
			char *colon;
			decoded[n] = '\0';
			colon = strchr((char *)decoded, ':');
			if (colon) {
				*colon = '\0';
				*user = xstrdup((char *)decoded);
				/* EVP_DecodeBlock pads the output with NULs; the copy stops at the first */
				*pass = xstrdup(colon + 1);
				rc = 0;
			}
		}
		explicit_bzero(decoded, cap);
		free(decoded);
	} else if ((helper = json_string_value(json_object_get(j, "credsStore")))) {
		rc = run_helper(helper, host, user, pass);
	}
	json_decref(j);
	return rc;
}

static void load_credentials(struct registry *reg)
{
	const struct config_registry *s = reg->settings;
	const char *home = getenv("HOME"), *xdg = getenv("XDG_RUNTIME_DIR"), *dc = getenv("DOCKER_CONFIG");
	const char *auth_file = getenv("REGISTRY_AUTH_FILE");
	char *paths[5] = {0};
	size_t n = 0;

	reg->credentials_loaded = true;
	if (s && strcmp(s->credentials, "none") == 0)
		return;
	if (s && strcmp(s->credentials, "env") == 0) {
		/* An unset variable is said as such when the registry asks for credentials, not
		 * left to look like a wrong password. */
		struct error why = {0};
		if ((s->username && config_expand(s->username, &reg->username, &why)) ||
		    (s->password && config_expand(s->password, &reg->password, &why))) {
			snprintf(reg->credentials_problem, sizeof(reg->credentials_problem), "%s", why.message);
			free(reg->username);
			free(reg->password);
			reg->username = reg->password = NULL;
		}
		return;
	}
	if (auth_file)
		paths[n++] = xstrdup(auth_file);
	if (xdg)
		paths[n++] = xasprintf("%s/containers/auth.json", xdg);
	if (home)
		paths[n++] = xasprintf("%s/.config/containers/auth.json", home);
	if (dc)
		paths[n++] = xasprintf("%s/config.json", dc);
	else if (home)
		paths[n++] = xasprintf("%s/.docker/config.json", home);
	for (size_t i = 0; i < n; i++) {
		if (!reg->username)
			from_auth_file(paths[i], reg->host, &reg->username, &reg->password);
		free(paths[i]);
	}
}

/* ---- opening ------------------------------------------------------------------------------ */

static char *find_certs_d(const char *host)
{
	const char *home = getenv("HOME");
	char *candidates[3] = {xasprintf("/etc/docker/certs.d/%s/ca.crt", host),
			       xasprintf("/etc/containers/certs.d/%s/ca.crt", host),
			       home ? xasprintf("%s/.config/containers/certs.d/%s/ca.crt", home, host) : NULL};
	char *found = NULL;

	for (int i = 0; i < 3; i++) {
		if (!found && candidates[i] && access(candidates[i], R_OK) == 0)
			found = candidates[i];
		else
			free(candidates[i]);
	}
	return found;
}

int registry_open(struct registry **out, const struct config *config, const char *host, struct error *err)
{
	struct registry *reg = calloc(1, sizeof(*reg));
	bool insecure;

	*out = NULL;
	if (!reg)
		abort();
	reg->host = xstrdup(host);
	reg->limits = config ? &config->limits : NULL;
	reg->api_host = xstrdup(strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0
					? "registry-1.docker.io" : host);
	for (size_t i = 0; config && i < config->registry_count; i++)
		if (strcmp(config->registries[i].host, host) == 0)
			reg->settings = &config->registries[i];
	if (reg->settings && reg->settings->ca_file)
		reg->ca_file = xstrdup(reg->settings->ca_file);
	else
		reg->ca_file = find_certs_d(host);
	/* Plain HTTP only where asked for, and for a local registry that does not speak TLS
	 * (tried first, like docker does for localhost). */
	insecure = reg->settings && reg->settings->insecure;
	reg->may_downgrade = !insecure && registry_host_is_local(host) && !reg->ca_file;
	reg->base_url = xasprintf("%s://%s", insecure ? "http" : "https", reg->api_host);
	reg->observer = config ? config->http_observer : NULL;
	reg->interrupted = config ? config->interrupted : NULL;
	pthread_mutex_init(&reg->lock, NULL);
	(void)err;
	*out = reg;
	return 0;
}

const char *registry_host(const struct registry *reg)
{
	return reg->host;
}

void registry_close(struct registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->token_count; i++) {
		free(reg->tokens[i].scope);
		explicit_bzero(reg->tokens[i].value, strlen(reg->tokens[i].value));
		free(reg->tokens[i].value);
	}
	free(reg->tokens);
	for (size_t i = 0; i < reg->retired_count; i++) {
		explicit_bzero(reg->retired[i], strlen(reg->retired[i]));
		free(reg->retired[i]);
	}
	free(reg->retired);
	if (reg->password)
		explicit_bzero(reg->password, strlen(reg->password));
	free(reg->username);
	free(reg->password);
	free(reg->host);
	free(reg->api_host);
	free(reg->base_url);
	free(reg->ca_file);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* ---- requests ----------------------------------------------------------------------------- */

static int run(struct http_transfer *t, struct error *err)
{
	return http_run_one(t, 5, err);
}

/* A local registry without a configured CA: find out once, before any parallel work,
 * whether it speaks TLS (a handshake that fails outright means plain HTTP). */
static void settle_scheme(struct registry *reg)
{
	struct download_body b = {.max = 1 << 16};
	struct http_transfer t = {0};
	struct error ignored = {0};

	if (!reg->may_downgrade)
		return;
	reg->may_downgrade = false;
	t.url = xasprintf("%s/v2/", reg->base_url);
	t.callbacks = &download_body_callbacks;
	t.user = &b;
	t.observer = reg->observer;
	b.err = &ignored;
	if (http_run_one(&t, 1, &ignored) == 0 && t.outcome == HTTP_FAILED && t.curl_code == CURLE_SSL_CONNECT_ERROR) {
		free(reg->base_url);
		reg->base_url = xasprintf("http://%s", reg->api_host);
	}
	http_transfer_cleanup(&t);
	free(t.url);
	free(b.data);
}

/* True when `url` is on the registry's own scheme, host and port. */
static bool same_origin(const char *url, const char *base_url)
{
	size_t n = strlen(base_url);
	return strncmp(url, base_url, n) == 0 && (url[n] == '/' || url[n] == '?' || url[n] == '\0');
}

static const char *cached_token(struct registry *reg, const char *scope)
{
	for (size_t i = 0; i < reg->token_count; i++)
		if (strcmp(reg->tokens[i].scope, scope) == 0)
			return reg->tokens[i].value;
	return NULL;
}

/* The Bearer flow: ask the realm for a token for this scope, with credentials if we have
 * them. */
static int fetch_token(struct registry *reg, const struct wwwauth_challenge *challenge, const char *scope,
		       struct error *err)
{
	const char *realm = challenge->realm, *service = challenge->service;
	char *url = NULL, *esc_service = NULL, *esc_scope = NULL;
	struct download_body b = {.max = 1 << 20, .err = err};
	struct http_transfer t = {0};
	json_t *j = NULL;
	const char *token;
	int rc = -1;
	CURL *c = curl_easy_init();

	if (!realm || !c) {
		error_set(err, ERROR_INVALID, "registry %s sent a Bearer challenge without a realm", reg->host);
		goto out;
	}
	esc_service = service ? curl_easy_escape(c, service, 0) : NULL;
	url = xasprintf("%s%sservice=%s", realm, strchr(realm, '?') ? "&" : "?", esc_service ? esc_service : "");
	{
		/* Several space-separated scopes (a mount needs pull on the source repository too)
		 * are several scope parameters. */
		char *copy = xstrdup(scope), *save = NULL;
		for (char *one = strtok_r(copy, " ", &save); one; one = strtok_r(NULL, " ", &save)) {
			char *next;
			esc_scope = curl_easy_escape(c, one, 0);
			next = xasprintf("%s&scope=%s", url, esc_scope);
			curl_free(esc_scope);
			esc_scope = NULL;
			free(url);
			url = next;
		}
		free(copy);
	}
	if (!reg->credentials_loaded)
		load_credentials(reg);
	t.url = url;
	t.username = reg->username;
	t.password = reg->password;
	t.ca_file = reg->ca_file;
	t.callbacks = &download_body_callbacks;
	t.user = &b;
	t.observer = reg->observer;
	if (run(&t, err))
		goto out;
	if (t.outcome != HTTP_OK) {
		error_set(err, ERROR_INVALID, "registry %s: the token service refused access to %s (%s): check the credentials "
					      "for %s in factory.yaml or your docker/podman login", reg->host, scope, t.error, reg->host);
		goto out;
	}
	j = json_loadb(b.data ? b.data : "", b.size, 0, NULL);
	token = json_string_value(json_object_get(j, "token"));
	if (!token)
		token = json_string_value(json_object_get(j, "access_token"));
	if (!token) {
		error_set(err, ERROR_INVALID, "registry %s: the token service answered without a token", reg->host);
		goto out;
	}
	for (size_t i = 0; i < reg->token_count; i++)
		if (strcmp(reg->tokens[i].scope, scope) == 0) {
			/* Renewal: the old value may still be in use by another thread; retire it. */
			reg->retired = realloc(reg->retired, (reg->retired_count + 1) * sizeof(*reg->retired));
			if (!reg->retired)
				abort();
			reg->retired[reg->retired_count++] = reg->tokens[i].value;
			reg->tokens[i].value = xstrdup(token);
			rc = 0;
			goto out;
		}
	reg->tokens = realloc(reg->tokens, (reg->token_count + 1) * sizeof(*reg->tokens));
	if (!reg->tokens)
		abort();
	reg->tokens[reg->token_count].scope = xstrdup(scope);
	reg->tokens[reg->token_count++].value = xstrdup(token);
	rc = 0;
out:
	if (b.data)
		explicit_bzero(b.data, b.size);
	free(b.data);
	json_decref(j);
	http_transfer_cleanup(&t);
	curl_free(esc_service);
	curl_free(esc_scope);
	if (c)
		curl_easy_cleanup(c);
	free(url);
	return rc;
}

struct request {
	const char *method;
	char *url;
	const char *scope;
	struct curl_slist *headers;
	const char *upload_path;
	const void *upload_data;
	size_t upload_size;
	bool head;
	struct download_body *body;
	off_t max_bytes; /* the body may not be longer (0: no bound beyond the body's own) */
	/* results */
	long status;
	char *location;
	char *digest_header;
	char *content_type;
	char *chunk_min;
	char *subject; /* OCI-Subject: the registry processed a manifest's subject */
};

static void request_clear(struct request *rq)
{
	free(rq->url);
	free(rq->location);
	free(rq->digest_header);
	free(rq->content_type);
	free(rq->chunk_min);
	free(rq->subject);
	curl_slist_free_all(rq->headers);
	memset(rq, 0, sizeof(*rq));
}

/* Sends a request, answering one authentication challenge (Basic or Bearer). */
/* "https://h/v2/team/app/blobs/sha256:..." -> "team/app", for messages. */
static char *url_repository(const char *url)
{
	static const char *const ends[] = {"/blobs/", "/manifests/", "/tags/", "/referrers/", NULL};
	const char *start = strstr(url, "/v2/"), *end = NULL;

	if (!start)
		return xstrdup("?");
	start += 4;
	for (const char *const *e = ends; *e && !end; e++)
		end = strstr(start, *e);
	return end ? xasprintf("%.*s", (int)(end - start), start) : xstrdup(start);
}

static int send_request(struct registry *reg, struct request *rq, struct error *err)
{
	pthread_mutex_lock(&reg->lock);
	if (reg->auth_refused[0]) {
		error_set(err, ERROR_AUTH, "%s", reg->auth_refused);
		pthread_mutex_unlock(&reg->lock);
		return -1;
	}
	pthread_mutex_unlock(&reg->lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct http_transfer t = {0};
		struct download_body scratch = {.max = 1 << 20, .err = err};
		const char *used_token;
		char *challenge;
		struct wwwauth_challenge parsed;
		int rc;

		t.url = rq->url;
		t.method = rq->method;
		t.request_headers = rq->headers;
		t.upload_path = rq->upload_path;
		t.upload_data = rq->upload_data;
		t.upload_size = rq->upload_size;
		t.head = rq->head;
		t.ca_file = reg->ca_file;
		t.callbacks = &download_body_callbacks;
		t.user = rq->body ? rq->body : &scratch;
		t.observer = reg->observer;
		t.interrupted = reg->interrupted;
		t.max_bytes = rq->max_bytes;
		t.limits = reg->limits ? &reg->limits->http : NULL;
		pthread_mutex_lock(&reg->lock);
		/* Tokens and credentials are never freed while the registry is open: pointers to
		 * them stay valid after unlocking. They go only to the registry itself, never to
		 * another host a Location pointed at. */
		if (same_origin(rq->url, reg->base_url)) {
			t.token = rq->scope ? cached_token(reg, rq->scope) : NULL;
			if (!t.token && reg->use_basic) {
				t.username = reg->username;
				t.password = reg->password;
			}
		}
		used_token = t.token;
		pthread_mutex_unlock(&reg->lock);
		rc = run(&t, err);
		free(scratch.data);
		if (rc) {
			http_transfer_cleanup(&t);
			return -1;
		}
		rq->status = t.status;
		if (t.status == 401 && t.username && t.password) {
			char *shown = http_url_redact(rq->url), *repository = url_repository(rq->url);
			pthread_mutex_lock(&reg->lock);
			snprintf(reg->auth_refused, sizeof(reg->auth_refused),
				 "registry %s, repository %s: %s %s failed with HTTP 401: unauthorized; check the credentials "
				 "for this registry in factory.yaml (registries) or your docker/podman login", reg->host,
				 repository, rq->method ? rq->method : "GET", shown);
			pthread_mutex_unlock(&reg->lock);
			free(repository);
			free(shown);
			error_set(err, ERROR_AUTH, "%s", reg->auth_refused);
			http_transfer_cleanup(&t);
			return -1;
		}
		if (t.outcome == HTTP_ABORTED && t.too_large) {
			error_set(err, ERROR_LIMIT, "registry %s: %s %s: %s (the size its descriptor gives); nothing was "
				  "stored", reg->host, rq->method ? rq->method : "GET", rq->url, t.error);
			http_transfer_cleanup(&t);
			return -1;
		}
		if (t.outcome == HTTP_ABORTED) {
			if (err->code == ERROR_NONE)
				error_set(err, ERROR_INVALID, "registry %s: %s %s: the response is too large", reg->host,
					  rq->method ? rq->method : "GET", rq->url);
			http_transfer_cleanup(&t);
			return -1;
		}
		if (t.outcome == HTTP_FAILED) {
			/* An untrusted certificate is the usual first contact with a private registry. */
			const char *hint = t.curl_code == CURLE_PEER_FAILED_VERIFICATION
						   ? "; the registry's certificate is not trusted: set ca: for it in factory.yaml "
						     "(registries) or put its CA in /etc/docker/certs.d/<host>/ca.crt"
						   : "";
			char *shown = http_url_redact(rq->url);
			error_set(err, t.curl_code == CURLE_OPERATION_TIMEDOUT ? ERROR_NETWORK : ERROR_IO,
				  "registry %s: %s %s: %s%s", reg->host, rq->method ? rq->method : "GET", shown, t.error,
				  hint);
			free(shown);
			http_transfer_cleanup(&t);
			return -1;
		}
		free(rq->location);
		free(rq->digest_header);
		free(rq->content_type);
		free(rq->chunk_min);
		free(rq->subject);
		rq->chunk_min = http_transfer_header(&t, "OCI-Chunk-Min-Length");
		rq->subject = http_transfer_header(&t, "OCI-Subject");
		rq->location = http_transfer_header(&t, "Location");
		rq->digest_header = http_transfer_header(&t, "Docker-Content-Digest");
		rq->content_type = http_transfer_header(&t, "Content-Type");
		challenge = t.status == 401 ? http_transfer_header(&t, "WWW-Authenticate") : NULL;
		http_transfer_cleanup(&t);
		if (!challenge || attempt == 1) {
			free(challenge);
			return 0;
		}
		pthread_mutex_lock(&reg->lock);
		if (!reg->credentials_loaded)
			load_credentials(reg);
		if (wwwauth_parse(challenge, &parsed, err)) {
			free(challenge);
			pthread_mutex_unlock(&reg->lock);
			return error_wrap(err, "registry %s answered 401 with a challenge factory cannot read", reg->host);
		}
		if (parsed.scheme == WWWAUTH_BEARER) {
			const char *wanted = rq->scope ? rq->scope : (parsed.scope ? parsed.scope : "");
			/* Another thread may have fetched a fresh one meanwhile; the one just refused
			 * (expired) is replaced. */
			const char *current = cached_token(reg, wanted);
			rc = current && current != used_token ? 0 : fetch_token(reg, &parsed, wanted, err);
			wwwauth_challenge_clear(&parsed);
			free(challenge);
			pthread_mutex_unlock(&reg->lock);
			if (rc)
				return -1;
		} else {
			wwwauth_challenge_clear(&parsed);
			bool give_up = !reg->username || (reg->use_basic && attempt > 0);
			free(challenge);
			reg->use_basic = true;
			pthread_mutex_unlock(&reg->lock);
			if (give_up)
				return 0; /* nothing more to offer: the caller reports the 401 */
		}
	}
	return 0;
}

static int status_error(struct registry *reg, const char *repository, const char *what, long status, struct error *err)
{
	const char *hint = "";
	enum error_code code = ERROR_NETWORK;

	if ((status == 401 || status == 403) && reg->credentials_problem[0])
		return error_set(err, ERROR_AUTH, "registry %s, repository %s: %s failed with HTTP %ld: the credentials in "
						  "factory.yaml cannot be used: %s", reg->host, repository, what, status,
				 reg->credentials_problem);
	if (status == 401 || status == 403) {
		code = ERROR_AUTH;
		hint = ": unauthorized; check the credentials for this registry in factory.yaml (registries) or your "
		       "docker/podman login";
	} else if (status == 404 || status == 410) {
		code = ERROR_NOT_FOUND;
		hint = ": not found";
	} else if (status >= 400 && status < 500) {
		code = ERROR_INVALID;
	}
	return error_set(err, code, "registry %s, repository %s: %s failed with HTTP %ld%s", reg->host, repository, what,
			 status, hint);
}

/* ---- pull --------------------------------------------------------------------------------- */

struct pull_ctx {
	struct registry *reg;
	const char *repository;
	struct cache *cache;
	bool lazy;        /* layers stay in the registry until someone needs them */
	bool config_done; /* oci_image_load imports the config first, then the layers */
	json_t *manifest; /* the sizes its descriptors give bound each blob's download */
};

static long long descriptor_size(const json_t *manifest, const char *digest)
{
	const json_t *d = json_object_get(manifest, "config"), *l;
	size_t i;

	if (d && json_is_string(json_object_get(d, "digest")) &&
	    strcmp(json_string_value(json_object_get(d, "digest")), digest) == 0)
		return json_integer_value(json_object_get(d, "size"));
	json_array_foreach(json_object_get(manifest, "layers"), i, l)
		if (json_is_string(json_object_get(l, "digest")) &&
		    strcmp(json_string_value(json_object_get(l, "digest")), digest) == 0)
			return json_integer_value(json_object_get(l, "size"));
	return 0;
}

/* `size`: the descriptor's (0: unknown, limits.download bounds the body). */
static int get_blob(struct registry *reg, const char *repository, const char *digest, long long size,
		    struct cache *cache, struct error *err)
{
	struct cache_writer w;
	struct download_body b = {.writer = &w, .err = err};
	struct request rq = {0};
	char *scope = xasprintf("repository:%s:pull", repository);
	int rc = -1;

	if (!oci_digest_valid(digest)) {
		free(scope);
		return error_set(err, ERROR_INVALID, "'%s' is not a sha256 digest", digest);
	}
	if (cache_verify(cache, digest + 7, NULL)) {
		free(scope);
		return 0; /* never download what the cache has */
	}
	if (cache_writer_begin(&w, cache, err) < 0) {
		free(scope);
		return -1;
	}
	rq.url = xasprintf("%s/v2/%s/blobs/%s", reg->base_url, repository, digest);
	rq.scope = scope;
	rq.body = &b;
	rq.max_bytes = size > 0 ? (off_t)size : reg->limits ? (off_t)reg->limits->download : (off_t)4 << 30;
	if (send_request(reg, &rq, err) == 0) {
		if (rq.status != 200)
			status_error(reg, repository, "downloading a blob", rq.status, err);
		else if (size > 0 && w.size != (off_t)size)
			error_set(err, ERROR_INVALID, "registry %s, repository %s: blob %s has %lld bytes, its descriptor "
				  "says %lld; nothing was stored", reg->host, repository, digest, (long long)w.size, size);
		else if (cache_writer_commit(&w, digest + 7, err) == 0)
			rc = 0;
	}
	cache_writer_abort(&w);
	request_clear(&rq);
	free(scope);
	return rc;
}

static int pull_import(void *ctx, const char *digest, struct error *err)
{
	struct pull_ctx *pc = ctx;

	if (pc->lazy && pc->config_done)
		return 0;
	pc->config_done = true;
	return get_blob(pc->reg, pc->repository, digest, descriptor_size(pc->manifest, digest), pc->cache, err);
}

int registry_fetch_blob(struct registry *reg, const char *repository, const char *digest, struct cache *cache,
			struct error *err)
{
	return registry_fetch_blob_sized(reg, repository, digest, 0, cache, err);
}

int registry_fetch_blob_sized(struct registry *reg, const char *repository, const char *digest, long long size,
			      struct cache *cache, struct error *err)
{
	settle_scheme(reg);
	return get_blob(reg, repository, digest, size, cache, err);
}

/* A manifest's bytes as the registry holds them, the answer's Content-Type in *content_type
 * (may be NULL). */
static int read_manifest(struct registry *reg, const char *repository, const char *reference, const char *accept,
			 char **data, size_t *size, char **content_type, struct error *err)
{
	struct download_body b = {.max = MANIFEST_MAX, .err = err};
	struct request rq = {0};
	char *scope = xasprintf("repository:%s:pull", repository), *header = xasprintf("Accept: %s", accept);
	int rc = -1;

	rq.url = xasprintf("%s/v2/%s/manifests/%s", reg->base_url, repository, reference);
	rq.scope = scope;
	rq.headers = curl_slist_append(NULL, header);
	rq.body = &b;
	if (send_request(reg, &rq, err))
		goto out;
	if (rq.status != 200) {
		/* Name what was asked for: a missing tag is the common case. */
		char *what = xasprintf("reading the manifest %s%s", strncmp(reference, "sha256:", 7) == 0 ? "" : "of tag ",
				       reference);
		status_error(reg, repository, what, rq.status, err);
		free(what);
		goto out;
	}
	*data = b.data ? b.data : xstrdup("");
	*size = b.size;
	b.data = NULL;
	if (content_type)
		*content_type = rq.content_type ? xstrdup(rq.content_type) : NULL;
	rc = 0;
out:
	free(b.data);
	request_clear(&rq);
	free(header);
	free(scope);
	return rc;
}

int registry_read_manifest(struct registry *reg, const char *repository, const char *reference, const char *accept,
			   char **data, size_t *size, struct error *err)
{
	settle_scheme(reg);
	return read_manifest(reg, repository, reference, accept, data, size, NULL, err);
}

static int get_manifest(struct registry *reg, const char *repository, const char *reference, struct cache *cache,
			char digest_out[72], char **media_type, struct error *err)
{
	struct oci_descriptor desc = {0};
	char *data = NULL, *content_type = NULL;
	size_t size = 0;
	json_t *j;
	int rc = -1;

	if (read_manifest(reg, repository, reference, ACCEPT_MANIFESTS, &data, &size, &content_type, err))
		goto out;
	j = json_loadb(data, size, 0, NULL);
	*media_type = xstrdup(json_string_value(json_object_get(j, "mediaType"))
				      ? json_string_value(json_object_get(j, "mediaType"))
				      : (content_type ? content_type : OCI_MEDIA_MANIFEST));
	json_decref(j);
	if (oci_put_blob(cache, *media_type, data, size, &desc, err))
		goto out;
	if (strncmp(reference, "sha256:", 7) == 0 && strcmp(reference, desc.digest) != 0) {
		error_set(err, ERROR_INVALID, "registry %s, repository %s: the manifest %s has the digest %s", reg->host,
			  repository, reference, desc.digest);
		goto out;
	}
	snprintf(digest_out, 72, "%s", desc.digest);
	rc = 0;
out:
	free(desc.media_type);
	free(data);
	free(content_type);
	return rc;
}

int registry_pull(struct registry *reg, const struct registry_ref *ref, const char *platform, struct cache *cache,
		  bool lazy_layers, struct oci_image *image, struct error *err)
{
	struct pull_ctx ctx = {reg, ref->repository, cache, lazy_layers, false, NULL};
	char digest[72], *media = NULL;
	int rc = -1;

	memset(image, 0, sizeof(*image));
	settle_scheme(reg);
	if (get_manifest(reg, ref->repository, ref->digest ? ref->digest : ref->tag, cache, digest, &media, err))
		goto out;
	/* An index may name another index for the platform (as layouts can): followed a few
	 * levels down, as resolve_layout does. */
	for (int depth = 0; strcmp(media, OCI_MEDIA_INDEX) == 0 || strcmp(media, DOCKER_MEDIA_LIST) == 0; depth++) {
		json_t *index = NULL, *m;
		const char *chosen = NULL;
		char *pick;
		size_t i;
		if (depth > 2) {
			error_set(err, ERROR_INVALID, "%s/%s: image indexes nested more than 3 deep; give the base by the "
						      "digest of its platform's manifest", reg->host, ref->repository);
			goto out;
		}
		if (oci_parse_json_blob(cache, digest, &index, err))
			goto out;
		json_array_foreach(json_object_get(index, "manifests"), i, m)
			if (!chosen && oci_platform_matches(json_object_get(m, "platform"), platform))
				chosen = json_string_value(json_object_get(m, "digest"));
		if (!chosen || !oci_digest_valid(chosen)) {
			json_decref(index);
			error_set(err, ERROR_INVALID, "%s/%s: the image index %s has no image for %s", reg->host,
				  ref->repository, digest, platform);
			goto out;
		}
		pick = xstrdup(chosen);
		json_decref(index);
		free(media);
		media = NULL;
		rc = get_manifest(reg, ref->repository, pick, cache, digest, &media, err);
		free(pick);
		if (rc)
			goto out;
		rc = -1;
	}
	if (oci_parse_json_blob(cache, digest, &ctx.manifest, err))
		goto out;
	rc = oci_image_load(image, cache, digest, pull_import, &ctx, err);
out:
	json_decref(ctx.manifest);
	free(media);
	return rc;
}

/* ---- push --------------------------------------------------------------------------------- */

/* A Location header resolved against the request it answered (RFC 3986, the forms
 * registries use); only http(s) is accepted, so a hostile registry cannot point an upload
 * at a local file. */
char *registry_resolve_location(const char *host, const char *request_url, const char *location, struct error *err)
{
	const char *scheme_end = strstr(request_url, "://"), *path_start;

	if (strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0)
		return xstrdup(location);
	if (strstr(location, "://") || strncasecmp(location, "file:", 5) == 0 || !scheme_end) {
		error_set(err, ERROR_INVALID, "registry %s sent an upload location factory will not follow", host);
		return NULL;
	}
	if (location[0] == '/' && location[1] == '/')
		return xasprintf("%.*s%s", (int)(scheme_end - request_url + 1), request_url, location);
	path_start = strchr(scheme_end + 3, '/');
	if (location[0] == '/')
		return xasprintf("%.*s%s", path_start ? (int)(path_start - request_url) : (int)strlen(request_url),
				 request_url, location);
	{
		size_t base_len = strcspn(request_url, "?#");
		const char *last = request_url + base_len;
		while (last > request_url && *(last - 1) != '/')
			last--;
		return xasprintf("%.*s%s", (int)(last - request_url), request_url, location);
	}
}

/* Sends the blob in PATCH requests of `chunk` bytes (for registries or proxies that cap
 * request bodies); *location follows the registry from chunk to chunk. */
static int upload_chunks(struct registry *reg, const char *repository, const char *scope, const char *path,
			 long long size, long long chunk, char **location, struct error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc((size_t)chunk);
	int rc = 0;

	if (!buf)
		abort();
	if (!f) {
		free(buf);
		return error_set_errno(err, "cannot open %s", path);
	}
	for (long long offset = 0; offset < size && rc == 0;) {
		struct request rq = {0};
		size_t n = fread(buf, 1, (size_t)chunk, f);
		char range[96];
		if (n == 0) {
			rc = error_set(err, ERROR_IO, "cannot read %s", path);
			break;
		}
		snprintf(range, sizeof(range), "Content-Range: %lld-%lld", offset, offset + (long long)n - 1);
		rq.scope = scope;
		rq.method = "PATCH";
		rq.url = xstrdup(*location);
		rq.headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
		rq.headers = curl_slist_append(rq.headers, range);
		rq.upload_data = buf;
		rq.upload_size = n;
		if (send_request(reg, &rq, err) == 0 && (rq.status != 202 || !rq.location))
			status_error(reg, repository, "uploading a blob chunk", rq.status, err);
		if (err->code) {
			rc = -1;
		} else {
			char *next = registry_resolve_location(reg->host, rq.url, rq.location, err);
			if (!next) {
				rc = -1;
			} else {
				free(*location);
				*location = next;
				offset += (long long)n;
			}
		}
		request_clear(&rq);
	}
	fclose(f);
	free(buf);
	return rc;
}

/* The blob's bytes are `data` when not NULL (made in memory), else the file at `path`, else
 * what `source` finds. */
static int push_blob(struct registry *reg, const char *repository, const char *blob_path, const void *data,
		     const char *digest, long long size, const char *mount_from, registry_blob_source source,
		     void *source_ctx, struct registry_push_stats *stats, struct error *err)
{
	char *scope = xasprintf("repository:%s:pull,push", repository), *path = data ? NULL : xstrdup(blob_path);
	char *mount_scope = NULL;
	struct request rq = {0};
	int rc = -1;

	rq.scope = scope;
	rq.method = "HEAD";
	rq.head = true;
	rq.url = xasprintf("%s/v2/%s/blobs/%s", reg->base_url, repository, digest);
	if (send_request(reg, &rq, err))
		goto out;
	if (rq.status == 200) {
		stats->existing++;
		rc = 0;
		goto out;
	}
	request_clear(&rq);
	rq.method = "POST";
	if (mount_from && strcmp(mount_from, repository) != 0) {
		/* A mount reads the source repository: the token must cover both. */
		mount_scope = xasprintf("%s repository:%s:pull", scope, mount_from);
		rq.scope = mount_scope;
		rq.url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", reg->base_url, repository, digest, mount_from);
	} else {
		rq.scope = scope;
		rq.url = xasprintf("%s/v2/%s/blobs/uploads/", reg->base_url, repository);
	}
	if (send_request(reg, &rq, err))
		goto out;
	if (rq.status == 201) {
		stats->mounted++;
		rc = 0;
		goto out;
	}
	if (rq.status == 401 || rq.status == 403) { /* no right to mount: upload instead */
		request_clear(&rq);
		rq.scope = scope;
		rq.method = "POST";
		rq.url = xasprintf("%s/v2/%s/blobs/uploads/", reg->base_url, repository);
		if (send_request(reg, &rq, err))
			goto out;
	}
	if (rq.status != 202 || !rq.location) {
		status_error(reg, repository, "starting a blob upload", rq.status, err);
		goto out;
	}
	if (!data && access(path, R_OK) < 0) {
		/* Left in the base's registry by a lazy build, and neither here nor mountable. */
		free(path);
		path = NULL;
		if (!source || source(source_ctx, digest, &path, err) < 0) {
			if (!source)
				error_set(err, ERROR_INVALID, "blob %s is not at %s", digest, blob_path);
			goto out;
		}
	}
	{
		char *location = registry_resolve_location(reg->host, rq.url, rq.location, err);
		long long chunk = reg->settings ? reg->settings->chunk_size : 0;
		bool chunked;
		/* A registry that wants chunks says how large (OCI-Chunk-Min-Length). */
		if (rq.chunk_min && atoll(rq.chunk_min) > chunk)
			chunk = atoll(rq.chunk_min);
		chunked = !data && chunk > 0 && size > chunk;
		request_clear(&rq);
		if (!location)
			goto out;
		if (chunked && upload_chunks(reg, repository, scope, path, size, chunk, &location, err)) {
			free(location);
			goto out;
		}
		rq.scope = scope;
		rq.method = "PUT";
		rq.url = xasprintf("%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", digest);
		free(location);
		if (!chunked) { /* otherwise every byte went in PATCH requests: the PUT only closes */
			rq.headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
			rq.upload_path = path;
			rq.upload_data = data;
			rq.upload_size = (size_t)size;
		}
	}
	if (send_request(reg, &rq, err))
		goto out;
	if (rq.status != 201) {
		status_error(reg, repository, "uploading a blob", rq.status, err);
		goto out;
	}
	stats->uploaded++;
	rc = 0;
out:
	request_clear(&rq);
	free(path);
	free(mount_scope);
	free(scope);
	return rc;
}

/* *subject (may be NULL): the answer's OCI-Subject header, NULL when it has none. */
static int put_manifest(struct registry *reg, const char *repository, const char *reference, const char *media_type,
			const char *data, size_t size, char **subject, struct error *err)
{
	char *scope = xasprintf("repository:%s:pull,push", repository), *ct = xasprintf("Content-Type: %s", media_type);
	struct request rq = {0};
	int rc = -1;

	rq.scope = scope;
	rq.method = "PUT";
	rq.url = xasprintf("%s/v2/%s/manifests/%s", reg->base_url, repository, reference);
	rq.headers = curl_slist_append(NULL, ct);
	rq.upload_data = data;
	rq.upload_size = size;
	if (send_request(reg, &rq, err) == 0) {
		if (rq.status == 201 || rq.status == 200)
			rc = 0;
		else
			status_error(reg, repository, "putting the manifest", rq.status, err);
	}
	if (rc == 0 && subject) {
		*subject = rq.subject;
		rq.subject = NULL;
	}
	request_clear(&rq);
	free(ct);
	free(scope);
	return rc;
}

int registry_put_manifest(struct registry *reg, const char *repository, const char *reference, const char *media_type,
			  const char *data, size_t size, char **subject, struct error *err)
{
	if (subject)
		*subject = NULL;
	settle_scheme(reg);
	return put_manifest(reg, repository, reference, media_type, data, size, subject, err);
}

int registry_push_blob(struct registry *reg, const char *repository, const char *path, const void *data,
		       const char *digest, long long size, struct registry_push_stats *stats, struct error *err)
{
	struct registry_push_stats mine = {0};
	int rc;

	settle_scheme(reg);
	rc = push_blob(reg, repository, path, data, digest, size, NULL, NULL, NULL, &mine, err);
	stats->uploaded += mine.uploaded;
	stats->existing += mine.existing;
	stats->uploaded_bytes += mine.uploaded ? size : 0;
	return rc;
}

int registry_referrers(struct registry *reg, const char *repository, const char *digest, json_t **index,
		       struct error *err)
{
	struct download_body b = {.max = MANIFEST_MAX, .err = err};
	struct request rq = {0};
	char *scope = xasprintf("repository:%s:pull", repository);
	const char *media;
	int rc = -1;

	*index = NULL;
	settle_scheme(reg);
	rq.url = xasprintf("%s/v2/%s/referrers/%s", reg->base_url, repository, digest);
	rq.scope = scope;
	rq.headers = curl_slist_append(NULL, "Accept: " OCI_MEDIA_INDEX);
	rq.body = &b;
	if (send_request(reg, &rq, err))
		goto out;
	/* A registry without the API answers 404 (the spec's word) or, behind some proxies,
	 * another client error for a path it does not route; refusals and failures stay errors. */
	if (rq.status >= 400 && rq.status < 500 && rq.status != 401 && rq.status != 403 && rq.status != 429) {
		error_set(err, ERROR_NOT_FOUND, "registry %s, repository %s: no referrers API (HTTP %ld)", reg->host,
			  repository, rq.status);
		goto out;
	}
	if (rq.status != 200) {
		char *what = xasprintf("reading the referrers of %s", digest);
		status_error(reg, repository, what, rq.status, err);
		free(what);
		goto out;
	}
	*index = json_loadb(b.data ? b.data : "", b.size, 0, NULL);
	media = json_string_value(json_object_get(*index, "mediaType"));
	if (!json_is_array(json_object_get(*index, "manifests")) || (media && strcmp(media, OCI_MEDIA_INDEX) != 0)) {
		json_decref(*index);
		*index = NULL;
		error_set(err, ERROR_NOT_FOUND, "registry %s, repository %s: the referrers of %s are not an image index",
			  reg->host, repository, digest);
		goto out;
	}
	rc = 0;
out:
	free(b.data);
	request_clear(&rq);
	free(scope);
	return rc;
}

#define PUSH_THREADS 4

struct push_job {
	struct registry *reg;
	const char *repository;
	const char *blob_dir;
	const char *mount_from;
	registry_blob_source source;
	void *source_ctx;
	const char **digests;
	long long *sizes;
	size_t count;
	size_t next;
	size_t done;
	const struct registry_push_hooks *hooks;
	struct registry_push_stats stats;
	struct error err;
	bool failed;
	pthread_mutex_t lock;
};

static bool interrupted(const struct registry_push_hooks *hooks)
{
	return hooks && hooks->interrupted && *hooks->interrupted;
}

static void *push_worker(void *arg)
{
	struct push_job *job = arg;

	for (;;) {
		struct registry_push_stats mine = {0};
		struct error err = {0};
		char *path;
		size_t i;
		int rc;

		pthread_mutex_lock(&job->lock);
		i = job->next++;
		if (!job->failed && i < job->count && interrupted(job->hooks)) {
			job->failed = true;
			error_set(&job->err, ERROR_INTERRUPTED, "interrupted before every blob was pushed; no tag was moved");
		}
		if (job->failed || i >= job->count) {
			pthread_mutex_unlock(&job->lock);
			return NULL;
		}
		pthread_mutex_unlock(&job->lock);
		/* The config is never in the base's repository: no point asking to mount it. */
		path = fs_path_join(job->blob_dir, job->digests[i] + 7);
		rc = push_blob(job->reg, job->repository, path, NULL, job->digests[i], job->sizes[i],
			       i == 0 ? NULL : job->mount_from, job->source, job->source_ctx, &mine, &err);
		free(path);
		pthread_mutex_lock(&job->lock);
		job->stats.uploaded += mine.uploaded;
		job->stats.mounted += mine.mounted;
		job->stats.existing += mine.existing;
		job->stats.uploaded_bytes += mine.uploaded ? job->sizes[i] : 0;
		if (rc && !job->failed) {
			job->failed = true;
			job->err = err;
		}
		if (rc == 0 && job->hooks && job->hooks->on_blob) {
			struct registry_push_progress p = {
				.done = ++job->done,
				.total = job->count,
				.digest = job->digests[i],
				.size = job->sizes[i],
				.fate = mine.uploaded ? REGISTRY_BLOB_UPLOADED
					: mine.mounted ? REGISTRY_BLOB_MOUNTED : REGISTRY_BLOB_EXISTING,
				.stats = &job->stats,
			};
			job->hooks->on_blob(job->hooks->ctx, &p);
		}
		pthread_mutex_unlock(&job->lock);
	}
}

bool registry_has_manifest(struct registry *reg, const char *repository, const char *reference, const char *digest)
{
	char *scope = xasprintf("repository:%s:pull,push", repository);
	struct request rq = {0};
	struct error ignored = {0};
	bool has;

	settle_scheme(reg);
	rq.scope = scope;
	rq.method = "HEAD";
	rq.head = true;
	rq.url = xasprintf("%s/v2/%s/manifests/%s", reg->base_url, repository, reference);
	rq.headers = curl_slist_append(NULL, "Accept: " ACCEPT_MANIFESTS);
	has = send_request(reg, &rq, &ignored) == 0 && rq.status == 200 && rq.digest_header &&
	      strcmp(rq.digest_header, digest) == 0;
	request_clear(&rq);
	free(scope);
	return has;
}

int registry_push(struct registry *reg, const char *repository, const char *blob_dir, const char *manifest_digest,
		  const char *const *tags, size_t tag_count, const char *mount_from, registry_blob_source source,
		  void *source_ctx, const struct registry_push_hooks *hooks, struct registry_push_stats *stats,
		  struct error *err)
{
	char *path = fs_path_join(blob_dir, manifest_digest + 7), *data = NULL;
	size_t size = 0, i;
	json_t *m = NULL, *l;
	const char *media;
	int rc = -1;

	memset(stats, 0, sizeof(*stats));
	settle_scheme(reg);
	if (fs_read_file(path, MANIFEST_MAX, &data, &size, err))
		goto out;
	m = json_loadb(data, size, 0, NULL);
	media = json_string_value(json_object_get(m, "mediaType"));
	if (!m || !media) {
		error_set(err, ERROR_INVALID, "%s is not an image manifest", path);
		goto out;
	}
	/* Config and layers first, several at once, so the manifest never refers to a missing
	 * blob. */
	{
		json_t *layers = json_object_get(m, "layers"), *cfg = json_object_get(m, "config");
		size_t n = json_array_size(layers) + 1, threads = n < PUSH_THREADS ? n : PUSH_THREADS;
		struct push_job job = {.reg = reg, .repository = repository, .blob_dir = blob_dir, .mount_from = mount_from,
				       .source = source, .source_ctx = source_ctx, .hooks = hooks};
		pthread_t tids[PUSH_THREADS];

		job.digests = calloc(n, sizeof(*job.digests));
		job.sizes = calloc(n, sizeof(*job.sizes));
		if (!job.digests || !job.sizes)
			abort();
		job.digests[0] = json_string_value(json_object_get(cfg, "digest"));
		job.sizes[0] = json_integer_value(json_object_get(cfg, "size"));
		job.count = 1;
		json_array_foreach(layers, i, l) {
			job.digests[job.count] = json_string_value(json_object_get(l, "digest"));
			job.sizes[job.count++] = json_integer_value(json_object_get(l, "size"));
		}
		for (i = 0; i < job.count; i++)
			if (!job.digests[i] || !oci_digest_valid(job.digests[i])) {
				free(job.digests);
				free(job.sizes);
				error_set(err, ERROR_INVALID, "malformed descriptor in %s", path);
				goto out;
			}
		pthread_mutex_init(&job.lock, NULL);
		for (i = 0; i < threads; i++)
			if (pthread_create(&tids[i], NULL, push_worker, &job) != 0)
				break;
		threads = i;
		if (threads == 0)
			push_worker(&job);
		for (i = 0; i < threads; i++)
			pthread_join(tids[i], NULL);
		pthread_mutex_destroy(&job.lock);
		free(job.digests);
		free(job.sizes);
		*stats = job.stats;
		if (job.failed) {
			*err = job.err;
			goto out;
		}
	}
	/* By digest first: a tag then points at a manifest that is already complete. */
	if (interrupted(hooks)) {
		error_set(err, ERROR_INTERRUPTED, "interrupted before the manifest was pushed; no tag was moved");
		goto out;
	}
	if (put_manifest(reg, repository, manifest_digest, media, data, size, NULL, err))
		goto out;
	for (i = 0; i < tag_count; i++)
		if (interrupted(hooks)) {
			error_set(err, ERROR_INTERRUPTED, "interrupted after the manifest, before tag %s", tags[i]);
			goto out;
		} else if (put_manifest(reg, repository, tags[i], media, data, size, NULL, err)) {
			goto out;
		}
	rc = 0;
out:
	json_decref(m);
	free(data);
	free(path);
	return rc;
}
