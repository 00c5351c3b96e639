#include "gitops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "digest.h"
#include "fsutil.h"
#include "util.h"

/* The commit is pushed from this ref: libgit2 pushes refs, not bare commit ids, and a ref
 * outside refs/heads never looks like a local branch that a later run could push. */
#define PUBLISH_REF "refs/factory/publish"

/* What the transport callbacks learn, so that a failure can say why in our words. */
struct session {
	const char *url;
	const struct config_git_remote *remote; /* NULL: no gitops.remotes entry matches */
	int key_attempts;      /* credentials handed out (the callback is asked again until one works) */
	int username_attempts;
	bool no_credentials;   /* the server asked and we had nothing to give */
	bool refused;          /* the server refused what we gave */
	char cert_problem[512];
	char rejected[512];    /* the server's status for our ref (push_update_reference) */
	char remote_text[512]; /* what the server printed (hooks' output), for the error */
	size_t remote_len;
};

void gitops_result_clear(struct gitops_result *r)
{
	for (size_t i = 0; i < r->change_count; i++)
		free(r->changes[i].path);
	free(r->changes);
	free(r->remote);
	free(r->branch);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

const struct config_git_remote *gitops_find_remote(const struct config *c, const char *url)
{
	const struct config_git_remote *best = NULL;

	for (size_t i = 0; c && i < c->git_remote_count; i++) {
		size_t n = strlen(c->git_remotes[i].url);
		if (n && strncmp(url, c->git_remotes[i].url, n) == 0 && (!best || n > strlen(best->url)))
			best = &c->git_remotes[i];
	}
	return best;
}

/* ------------------------------------------------------------------ URLs and host keys */

/* A password in the URL would reach logs, messages and the cached clone's files. */
static bool url_has_password(const char *url)
{
	const char *rest = strstr(url, "://");
	size_t auth;

	if (!rest)
		return false;
	rest += 3;
	auth = strcspn(rest, "/");
	for (size_t i = 0; i < auth; i++)
		if (rest[i] == '@')
			return memchr(rest, ':', i) != NULL;
	return false;
}

/* The SSH port of ssh://[user@]host[:port]/path (22 otherwise, also for user@host:path). */
static int ssh_port(const char *url)
{
	const char *p = strstr(url, "://"), *at, *end;

	if (!p || strncmp(url, "ssh", 3) != 0)
		return 22;
	p += 3;
	end = p + strcspn(p, "/");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		p = memchr(p, ']', (size_t)(end - p));
		if (!p)
			return 22;
	}
	p = memchr(p, ':', (size_t)(end - p));
	return p ? atoi(p + 1) : 22;
}

static size_t base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	int n;
	size_t pad = 0;

	if (len == 0 || len % 4 || len / 4 * 3 > cap)
		return 0;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return 0;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	return (size_t)n - pad;
}

/* known_hosts' host field: plain patterns (comma separated, wildcards, [host]:port) or a
 * hashed entry |1|salt|hmac-sha1(salt, name). */
static bool host_matches(const char *field, const char *name)
{
	if (strncmp(field, "|1|", 3) == 0) {
		const char *salt = field + 3, *bar = strchr(salt, '|');
		unsigned char salt_raw[64], hash_raw[64], mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		size_t salt_len, hash_len;

		if (!bar)
			return false;
		salt_len = base64_decode(salt, (size_t)(bar - salt), salt_raw, sizeof(salt_raw));
		hash_len = base64_decode(bar + 1, strlen(bar + 1), hash_raw, sizeof(hash_raw));
		if (!salt_len || !hash_len ||
		    !HMAC(EVP_sha1(), salt_raw, (int)salt_len, (const unsigned char *)name, strlen(name), mac, &mac_len))
			return false;
		return mac_len == hash_len && memcmp(mac, hash_raw, mac_len) == 0;
	}
	bool matched = false;
	char *copy = xstrdup(field), *save = NULL;
	for (char *pat = strtok_r(copy, ",", &save); pat; pat = strtok_r(NULL, ",", &save)) {
		bool negated = pat[0] == '!';
		if (negated)
			pat++;
		/* Only * and ? are wildcards: "[host]:port" is literal, not a bracket expression. */
		bool hit = strpbrk(pat, "*?") && !strchr(pat, '[') ? fnmatch(pat, name, 0) == 0 : strcmp(pat, name) == 0;
		if (hit && negated) {
			matched = false;
			break;
		}
		matched = matched || hit;
	}
	free(copy);
	return matched;
}

/* 0: listed; else why not, in `why`. A host listed with other keys of the same type has a
 * changed key: that is never accepted either. */
static int known_hosts_check(const char *file, const char *host, int port, const unsigned char *key, size_t key_len,
			     char *why, size_t why_size)
{
	FILE *f = fopen(file, "r");
	char name[300], line[16384];
	bool other_key = false;
	int rc = -1;

	if (!f) {
		snprintf(why, why_size, "cannot read known_hosts %s: %s", file, strerror(errno));
		return -1;
	}
	if (port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	while (rc && fgets(line, sizeof(line), f)) {
		char *save = NULL, *hosts = strtok_r(line, " \t\r\n", &save), *type, *blob;
		unsigned char raw[8192];
		size_t raw_len;
		bool revoked = false;

		if (!hosts || hosts[0] == '#')
			continue;
		if (hosts[0] == '@') {
			/* @cert-authority lines sign keys, they are not keys of a host. */
			if (strcmp(hosts, "@revoked") != 0)
				continue;
			revoked = true;
			hosts = strtok_r(NULL, " \t\r\n", &save);
		}
		type = strtok_r(NULL, " \t\r\n", &save);
		blob = strtok_r(NULL, " \t\r\n", &save);
		if (!hosts || !type || !blob)
			continue;
		raw_len = base64_decode(blob, strlen(blob), raw, sizeof(raw));
		bool same = raw_len == key_len && memcmp(raw, key, key_len) == 0;
		if (revoked && same) {
			snprintf(why, why_size, "the host key of %s is marked @revoked in %s", name, file);
			fclose(f);
			return -1;
		}
		if (revoked || !host_matches(hosts, name))
			continue;
		if (same)
			rc = 0;
		else if (key_len > 4 && raw_len > 4 && memcmp(raw, key, 4) == 0 &&
			 memcmp(raw + 4, key + 4, raw[3] < raw_len - 4 ? raw[3] : 0) == 0)
			other_key = true; /* same key type (the blob starts with its name) */
	}
	fclose(f);
	if (rc && other_key)
		snprintf(why, why_size, "the host key of %s has CHANGED: it does not match %s", name, file);
	else if (rc)
		snprintf(why, why_size, "the host key of %s is unknown: it is not in %s", name, file);
	return rc;
}

static void sha256_fingerprint(const unsigned char *key, size_t len, char out[64])
{
	unsigned char md[32], b64[64];
	unsigned int md_len = 0;
	int n;

	EVP_Digest(key, len, md, &md_len, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)md_len);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, 64, "SHA256:%.*s", n, (const char *)b64);
}

/* An HTTPS certificate libgit2 did not trust: trusted when the remote's `ca` signed it. */
static bool x509_trusted_by(const git_cert_x509 *cert, const char *ca_file, const char *host)
{
	const unsigned char *p = cert->data;
	X509 *x = d2i_X509(NULL, &p, (long)cert->len);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	if (x && store && ctx && X509_STORE_load_locations(store, ca_file, NULL) == 1 &&
	    X509_STORE_CTX_init(ctx, store, x, NULL) == 1)
		ok = X509_verify_cert(ctx) == 1 && X509_check_host(x, host, 0, 0, NULL) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	return ok;
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct session *s = payload;
	const struct config_git_remote *rc = s->remote;

	if (cert->cert_type == GIT_CERT_X509) {
		if (valid)
			return 0;
		if (rc && rc->ca_file && x509_trusted_by((const git_cert_x509 *)cert, rc->ca_file, host))
			return 0;
		snprintf(s->cert_problem, sizeof(s->cert_problem), "the TLS certificate of %s is not trusted%s", host,
			 rc && rc->ca_file ? " by gitops.remotes[].ca" : " (set gitops.remotes[].ca)");
		return GIT_ECERTIFICATE;
	}
	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
		char fingerprint[64];

		/* libgit2 1.5 checks no host key of its own: without the raw key we cannot either. */
		if (!(hk->type & GIT_CERT_SSH_RAW)) {
			snprintf(s->cert_problem, sizeof(s->cert_problem), "the SSH host key of %s cannot be checked", host);
			return GIT_ECERTIFICATE;
		}
		sha256_fingerprint((const unsigned char *)hk->hostkey, hk->hostkey_len, fingerprint);
		if (rc && rc->host_key_fingerprint) {
			if (strcmp(rc->host_key_fingerprint, fingerprint) == 0)
				return 0;
			snprintf(s->cert_problem, sizeof(s->cert_problem),
				 "the host key of %s (%s) does not match gitops.remotes[].hostKeyFingerprint", host, fingerprint);
			return GIT_ECERTIFICATE;
		}
		if (rc && rc->known_hosts)
			return known_hosts_check(rc->known_hosts, host, ssh_port(s->url), (const unsigned char *)hk->hostkey,
						 hk->hostkey_len, s->cert_problem, sizeof(s->cert_problem))
				       ? GIT_ECERTIFICATE
				       : 0;
		snprintf(s->cert_problem, sizeof(s->cert_problem),
			 "the host key of %s (%s) cannot be verified: set knownHosts or hostKeyFingerprint in gitops.remotes",
			 host, fingerprint);
		return GIT_ECERTIFICATE;
	}
	return valid ? 0 : GIT_ECERTIFICATE;
}

static int on_credentials(git_credential **out, const char *url, const char *username_from_url, unsigned int allowed,
			  void *payload)
{
	struct session *s = payload;
	const struct config_git_remote *rc = s->remote;
	char *user = NULL, *secret = NULL;
	struct error ignored = {0};
	int rc_git = -1;

	(void)url;
	if (!rc) {
		s->no_credentials = true;
		git_error_set_str(GIT_ERROR_NET, "the server asks for credentials");
		return -1;
	}
	/* SSH first asks for a user name when the URL has none: that is no attempt yet. */
	if (allowed == GIT_CREDENTIAL_USERNAME && s->username_attempts++ < 2)
		return git_credential_username_new(out, rc->username ? rc->username : "git");
	/* libgit2 asks again for as long as the server refuses: one try per run. */
	if (s->key_attempts++ >= 1) {
		s->refused = true;
		git_error_set_str(GIT_ERROR_NET, "the credentials were refused");
		return -1;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && rc->ssh_key) {
		char *pub = xasprintf("%s.pub", rc->ssh_key);
		const char *name = username_from_url ? username_from_url : rc->username ? rc->username : "git";
		if (!rc->ssh_key_passphrase || config_expand(rc->ssh_key_passphrase, &secret, &ignored) == 0)
			rc_git = git_credential_ssh_key_new(out, name, access(pub, R_OK) == 0 ? pub : NULL, rc->ssh_key,
							    secret);
		free(pub);
	} else if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && rc->username && rc->password) {
		if (config_expand(rc->username, &user, &ignored) == 0 && config_expand(rc->password, &secret, &ignored) == 0)
			rc_git = git_credential_userpass_plaintext_new(out, user, secret);
		else
			snprintf(s->cert_problem, sizeof(s->cert_problem), "gitops.remotes credentials for %.200s: %.250s", s->url,
				 ignored.message);
	} else {
		s->no_credentials = true;
	}
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	free(user);
	if (rc_git < 0)
		git_error_set_str(GIT_ERROR_NET, "no usable credentials");
	return rc_git;
}

static int on_push_update(const char *refname, const char *status, void *payload)
{
	struct session *s = payload;

	/* libgit2 1.5 reports a ref the server refused only here; the push itself returns 0. */
	if (status)
		snprintf(s->rejected, sizeof(s->rejected), "%s: %s", refname, status);
	return 0;
}

static int on_sideband(const char *text, int len, void *payload)
{
	struct session *s = payload;
	size_t n = (size_t)len;

	if (n > sizeof(s->remote_text) - 1 - s->remote_len)
		n = sizeof(s->remote_text) - 1 - s->remote_len;
	memcpy(s->remote_text + s->remote_len, text, n);
	s->remote_len += n;
	s->remote_text[s->remote_len] = '\0';
	return 0;
}

/* Each fetch and each push asks for credentials afresh: the cap is per operation. */
static void set_callbacks(git_remote_callbacks *cb, struct session *s)
{
	s->key_attempts = 0;
	s->username_attempts = 0;
	cb->credentials = on_credentials;
	cb->certificate_check = on_certificate;
	cb->push_update_reference = on_push_update;
	cb->sideband_progress = on_sideband;
	cb->payload = s;
}

static const char *git_message(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

/* Our reason when the callbacks know one, else libgit2's; always naming the remote. */
static int transport_error(struct error *err, const struct session *s, const char *doing)
{
	if (s->cert_problem[0])
		return error_set(err, ERROR_AUTH, "%s %s: %s", doing, s->url, s->cert_problem);
	if (s->refused)
		return error_set(err, ERROR_AUTH, "%s %s: the server refused the credentials of gitops.remotes[%s]", doing,
				 s->url, s->remote->url);
	if (s->no_credentials)
		return error_set(err, ERROR_AUTH,
				 "%s %s: the server asks for credentials and gitops.remotes has none for this URL", doing,
				 s->url);
	return error_set(err, ERROR_NETWORK, "%s %s: %s", doing, s->url, git_message());
}

/* ------------------------------------------------------------------ the cached clone */

static int lock_clone(const char *dir, int *fd_out, struct error *err)
{
	char *path = xasprintf("%s.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		error_set_errno(err, "opening %s", path);
		free(path);
		return -1;
	}
	free(path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return error_set_errno(err, "locking the cached clone %s", dir);
		}
	}
	*fd_out = fd;
	return 0;
}

static int open_clone(git_repository **repo, const char *dir, struct error *err)
{
	if (git_repository_open_bare(repo, dir) == 0)
		return 0;
	/* Bare and without remotes in its config: the URL is given on each run. */
	if (git_repository_init(repo, dir, 1) == 0)
		return 0;
	return error_set(err, ERROR_IO, "creating the cached clone %s: %s", dir, git_message());
}

/* Fetches only the branch into refs/remotes/origin/<branch>; `tip` is zero when the remote
 * has no such branch (yet). */
static int fetch_branch(git_repository *repo, git_remote *remote, struct session *s, const char *branch, git_oid *tip,
			bool *has_tip, struct error *err)
{
	git_fetch_options fo;
	char *spec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", branch, branch);
	char *tracking = xasprintf("refs/remotes/origin/%s", branch);
	git_strarray specs = {&spec, 1};
	git_reference *ref = NULL;
	int rc;

	/* The _init functions, not the macros: those leave fields out and -Wextra says so. */
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	set_callbacks(&fo.callbacks, s);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	/* The tracking ref must follow a branch deleted on the remote too. */
	fo.prune = GIT_FETCH_PRUNE;
	rc = git_remote_fetch(remote, &specs, &fo, NULL);
	if (rc < 0) {
		transport_error(err, s, "fetching from");
	} else {
		*has_tip = git_reference_lookup(&ref, repo, tracking) == 0;
		if (*has_tip)
			git_oid_cpy(tip, git_reference_target(ref));
		git_reference_free(ref);
	}
	free(tracking);
	free(spec);
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ the tree */

static int add_dir(git_repository *repo, git_index *index, const char *disk, const char *repo_path, struct error *err)
{
	DIR *d = opendir(disk);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return error_set_errno(err, "reading %s", disk);
	while (rc == 0 && (e = readdir(d))) {
		char *full, *rel;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		full = fs_path_join(disk, e->d_name);
		rel = xasprintf("%s/%s", repo_path, e->d_name);
		if (lstat(full, &st) < 0) {
			rc = error_set_errno(err, "reading %s", full);
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_dir(repo, index, full, rel, err);
		} else if (S_ISREG(st.st_mode)) {
			git_index_entry entry = {0};
			entry.mode = (st.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
			entry.path = rel;
			if (git_blob_create_from_disk(&entry.id, repo, full) < 0 || git_index_add(index, &entry) < 0)
				rc = error_set(err, ERROR_IO, "adding %s: %s", full, git_message());
		} else {
			rc = error_set(err, ERROR_INVALID, "%s is neither a file nor a directory", full);
		}
		free(rel);
		free(full);
	}
	closedir(d);
	return rc;
}

/* The tip's tree with `path` holding exactly the manifests. */
static int build_tree(git_repository *repo, const git_oid *tip, const char *path, const char *manifests_dir,
		      git_oid *tree_out, struct error *err)
{
	git_index *index = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	int rc = -1;

	if (git_index_new(&index) < 0) {
		error_set(err, ERROR_INTERNAL, "creating an index: %s", git_message());
		goto out;
	}
	if (tip && (git_commit_lookup(&commit, repo, tip) < 0 || git_commit_tree(&tree, commit) < 0 ||
		    git_index_read_tree(index, tree) < 0)) {
		error_set(err, ERROR_IO, "reading the branch's tree: %s", git_message());
		goto out;
	}
	if (git_index_remove_directory(index, path, 0) < 0) {
		error_set(err, ERROR_INTERNAL, "clearing %s: %s", path, git_message());
		goto out;
	}
	if (add_dir(repo, index, manifests_dir, path, err))
		goto out;
	if (git_index_write_tree_to(tree_out, index, repo) < 0) {
		error_set(err, ERROR_IO, "writing the tree: %s", git_message());
		goto out;
	}
	rc = 0;
out:
	git_tree_free(tree);
	git_commit_free(commit);
	git_index_free(index);
	return rc;
}

static int list_changes(git_repository *repo, const git_oid *old_commit, const git_oid *new_tree, const char *path,
			struct gitops_result *r, struct error *err)
{
	git_commit *commit = NULL;
	git_tree *old_tree = NULL, *tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	char *pathspec = (char *)path;
	int rc = -1;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.pathspec.strings = &pathspec;
	opts.pathspec.count = 1;
	for (size_t i = 0; i < r->change_count; i++)
		free(r->changes[i].path);
	free(r->changes);
	r->changes = NULL;
	r->change_count = 0;
	if ((old_commit && (git_commit_lookup(&commit, repo, old_commit) < 0 || git_commit_tree(&old_tree, commit) < 0)) ||
	    git_tree_lookup(&tree, repo, new_tree) < 0 || git_diff_tree_to_tree(&diff, repo, old_tree, tree, &opts) < 0) {
		error_set(err, ERROR_IO, "comparing the trees: %s", git_message());
		goto out;
	}
	r->changes = calloc(git_diff_num_deltas(diff) + 1, sizeof(*r->changes));
	if (!r->changes)
		abort();
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		char kind = d->status == GIT_DELTA_ADDED ? GITOPS_ADDED : d->status == GIT_DELTA_DELETED ? GITOPS_DELETED
												       : GITOPS_MODIFIED;
		r->changes[r->change_count].kind = kind;
		r->changes[r->change_count++].path =
			xstrdup(kind == GITOPS_DELETED ? d->old_file.path : d->new_file.path);
	}
	rc = 0;
out:
	git_diff_free(diff);
	git_tree_free(tree);
	git_tree_free(old_tree);
	git_commit_free(commit);
	return rc;
}

/* ------------------------------------------------------------------ the commit */

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			abort();
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static char *expand_message(const char *tmpl, const struct gitops_target *t, const struct gitops_result *r)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	append(&buf, &len, &cap, "", 0);
	for (const char *p = tmpl; *p;) {
		const char *value = NULL;
		size_t skip = 0;
		if (strncmp(p, "{app}", 5) == 0)
			value = t->app, skip = 5;
		else if (strncmp(p, "{image}", 7) == 0)
			value = t->image ? t->image : "", skip = 7;
		else if (strncmp(p, "{scriptsHash}", 13) == 0)
			value = t->scripts_hash && *t->scripts_hash ? t->scripts_hash : "none", skip = 13;
		if (value) {
			append(&buf, &len, &cap, value, strlen(value));
			p += skip;
		} else if (strncmp(p, "{files}", 7) == 0) {
			for (size_t i = 0; i < r->change_count; i++) {
				char line[8];
				snprintf(line, sizeof(line), "%c ", r->changes[i].kind);
				append(&buf, &len, &cap, line, 2);
				append(&buf, &len, &cap, r->changes[i].path, strlen(r->changes[i].path));
				append(&buf, &len, &cap, "\n", 1);
			}
			p += 7;
		} else {
			append(&buf, &len, &cap, p, 1);
			p++;
		}
	}
	/* git's own convention: one trailing newline, no trailing blank lines. */
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	append(&buf, &len, &cap, "\n", 1);
	return buf;
}

static int make_commit(git_repository *repo, const struct gitops_target *t, const struct gitops_options *o,
		       const git_oid *parent_id, const git_oid *tree_id, const struct gitops_result *r, git_oid *out,
		       struct error *err)
{
	git_signature *sig = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	char *message = expand_message(t->message ? t->message : GITOPS_DEFAULT_MESSAGE, t, r);
	const git_commit *parents[1];
	int rc = -1;

	/* SOURCE_DATE_EPOCH makes the commit a function of the tip and the bundle. */
	if ((o->epoch_set ? git_signature_new(&sig, t->author_name, t->author_email, (git_time_t)o->epoch, 0)
			  : git_signature_now(&sig, t->author_name, t->author_email)) < 0) {
		error_set(err, ERROR_INVALID, "the commit author '%s <%s>': %s", t->author_name, t->author_email,
			  git_message());
		goto out;
	}
	if ((parent_id && git_commit_lookup(&parent, repo, parent_id) < 0) || git_tree_lookup(&tree, repo, tree_id) < 0) {
		error_set(err, ERROR_IO, "reading the cached clone: %s", git_message());
		goto out;
	}
	parents[0] = parent;
	if (git_commit_create(out, repo, NULL, sig, sig, NULL, message, tree, parent ? 1 : 0, parents) < 0) {
		error_set(err, ERROR_IO, "creating the commit: %s", git_message());
		goto out;
	}
	rc = 0;
out:
	git_tree_free(tree);
	git_commit_free(parent);
	git_signature_free(sig);
	free(message);
	return rc;
}

/* Pushes `commit` to refs/heads/<branch>, never forced. *rejected: the server or libgit2
 * refused it as it stands (the branch moved, or a hook said no). */
static int push_commit(git_repository *repo, git_remote *remote, struct session *s, const git_oid *commit,
		       const char *branch, bool *rejected, struct error *err)
{
	git_push_options po;
	git_reference *ref = NULL;
	char *spec = xasprintf("%s:refs/heads/%s", PUBLISH_REF, branch);
	git_strarray specs = {&spec, 1};
	int rc;

	*rejected = false;
	s->rejected[0] = '\0';
	s->remote_len = 0;
	s->remote_text[0] = '\0';
	if (git_reference_create(&ref, repo, PUBLISH_REF, commit, 1, "factory publish") < 0) {
		free(spec);
		return error_set(err, ERROR_IO, "preparing the push: %s", git_message());
	}
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	set_callbacks(&po.callbacks, s);
	rc = git_remote_push(remote, &specs, &po);
	/* Whatever happened, nothing but the remote's branch keeps the commit alive. */
	git_reference_delete(ref);
	git_reference_free(ref);
	free(spec);
	if (rc == GIT_ENONFASTFORWARD) {
		snprintf(s->rejected, sizeof(s->rejected), "refs/heads/%s: non-fast-forward", branch);
		*rejected = true;
		return 0;
	}
	if (rc < 0)
		return transport_error(err, s, "pushing to");
	*rejected = s->rejected[0] != '\0';
	return 0;
}

/* The remote's lines, on one line, for an error message. */
static void remote_said(const struct session *s, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (const char *p = s->remote_text; *p && n + 2 < size; p++) {
		char c = *p == '\n' || *p == '\r' ? ' ' : *p;
		if ((c == ' ' && (n == 0 || out[n - 1] == ' ')) || (unsigned char)c < 0x20)
			continue;
		out[n++] = c;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void backoff(int attempt)
{
	/* 50 ms doubling up to 1.6 s, spread by the process id so that racing publishers part. */
	long ms = 50L << (attempt < 5 ? attempt : 5);
	struct timespec ts;

	ms += (long)(getpid() % 97) * (attempt + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The cached clone of `url`, locked (`*lock`), and an anonymous remote for it. */
static int open_remote(const char *url, const struct gitops_options *o, struct session *s, git_repository **repo,
		       git_remote **remote, int *lock, struct error *err)
{
	git_remote_create_options create;
	char hex[65], *base, *dir;
	int rc = -1;

	s->remote = gitops_find_remote(o->config, url);
	digest_sha256_hex(url, strlen(url), hex);
	base = fs_path_join(o->config->cache_dir, "git");
	dir = fs_path_join(base, hex);
	if (fs_mkdir_p(base, err) || lock_clone(dir, lock, err) || open_clone(repo, dir, err))
		goto out;
	/* Anonymous: the URL lives in memory only, never in the clone's config. No insteadOf
	 * rewriting: the URL is the one the recipe names (and libgit2 1.5 leaks that lookup's
	 * regex match data). */
	git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	create.repository = *repo;
	create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(remote, url, &create) < 0) {
		error_set(err, ERROR_INVALID, "gitops.url %s: %s", url, git_message());
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(base);
	return rc;
}

static bool valid_path(const char *p)
{
	return *p && p[0] != '/' && !strstr(p, "..") && !strstr(p, "//") && p[strlen(p) - 1] != '/' &&
	       strcmp(p, ".") != 0 && strncmp(p, ".git", 4) != 0;
}

static int publish(const struct gitops_target *t, const char *manifests_dir, const struct gitops_options *o,
		   struct gitops_result *r, struct error *err)
{
	struct session s = {.url = t->url};
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	char *refname = NULL;
	int max = o->max_attempts > 0 ? o->max_attempts : GITOPS_MAX_ATTEMPTS, lock = -1, rc = -1;
	git_oid tip, last_tip, tree, commit;
	bool has_tip = false, had_tip = false;

	memset(r, 0, sizeof(*r));
	if (!t->url || !*t->url)
		return error_set(err, ERROR_INVALID, "no gitops.url: the recipe names no repository to publish to");
	if (url_has_password(t->url))
		return error_set(err, ERROR_INVALID,
				 "gitops.url holds a password: put credentials in factory.yaml gitops.remotes with ${ENV} references");
	r->remote = xstrdup(t->url);
	r->branch = xstrdup(t->branch && *t->branch ? t->branch : "main");
	r->path = xstrdup(t->path && *t->path ? t->path : t->app);
	refname = xasprintf("refs/heads/%s", r->branch);
	{
		int ok = 0;
		if (git_reference_name_is_valid(&ok, refname) < 0 || !ok) {
			error_set(err, ERROR_INVALID, "gitops.branch: '%s' is not a valid branch name", r->branch);
			goto out;
		}
	}
	if (!valid_path(r->path)) {
		error_set(err, ERROR_INVALID, "gitops.path: '%s' must be a relative path inside the repository", r->path);
		goto out;
	}
	if (!t->author_name || !*t->author_name || !t->author_email || !*t->author_email) {
		error_set(err, ERROR_INVALID, "no commit author: set gitops.author in factory.yaml");
		goto out;
	}
	if (open_remote(t->url, o, &s, &repo, &remote, &lock, err))
		goto out;
	for (int attempt = 0;; attempt++) {
		bool rejected = false;
		char said[400], *push_branch;

		if (o->interrupted && *o->interrupted) {
			error_set(err, ERROR_INTERRUPTED, "interrupted before publishing to %s", t->url);
			goto out;
		}
		if (fetch_branch(repo, remote, &s, r->branch, &tip, &has_tip, err))
			goto out;
		if (attempt > 0 && has_tip == had_tip && (!has_tip || git_oid_equal(&tip, &last_tip))) {
			/* The branch did not move: trying again would be refused again. */
			remote_said(&s, said, sizeof(said));
			error_set(err, ERROR_CONFLICT, "%s refused the push to branch %s (%s)%s%s", t->url, r->branch,
				  s.rejected, said[0] ? "; the server said: " : "", said);
			goto out;
		}
		had_tip = has_tip;
		if (has_tip)
			git_oid_cpy(&last_tip, &tip);
		r->parent[0] = '\0';
		if (has_tip)
			git_oid_tostr(r->parent, sizeof(r->parent), &tip);
		if (build_tree(repo, has_tip ? &tip : NULL, r->path, manifests_dir, &tree, err) ||
		    list_changes(repo, has_tip ? &tip : NULL, &tree, r->path, r, err))
			goto out;
		if (r->change_count == 0) {
			r->changed = false;
			if (has_tip)
				git_oid_tostr(r->commit, sizeof(r->commit), &tip);
			rc = 0;
			goto out;
		}
		r->changed = true;
		if (o->dry_run) {
			rc = 0;
			goto out;
		}
		if (make_commit(repo, t, o, has_tip ? &tip : NULL, &tree, r, &commit, err))
			goto out;
		git_oid_tostr(r->commit, sizeof(r->commit), &commit);
		push_branch = o->branch_per_change ? xasprintf("factory/%s-%.12s", t->app, r->commit) : xstrdup(r->branch);
		r->attempts++;
		rc = push_commit(repo, remote, &s, &commit, push_branch, &rejected, err);
		if (rc == 0 && !rejected) {
			git_reference *ref = NULL;
			char *pushed_ref = xasprintf("refs/remotes/origin/%s", push_branch);
			/* What the remote now has; the next run's fetch would say the same. */
			git_reference_create(&ref, repo, pushed_ref, &commit, 1, "factory publish");
			git_reference_free(ref);
			free(pushed_ref);
			free(r->branch);
			r->branch = push_branch;
			r->pushed = true;
			goto out;
		}
		free(push_branch);
		if (rc)
			goto out;
		rc = -1;
		if (attempt + 1 >= max) {
			remote_said(&s, said, sizeof(said));
			error_set(err, ERROR_CONFLICT, "%s: branch %s kept moving; gave up after %d pushes (%s)%s%s", t->url,
				  r->branch, r->attempts, s.rejected, said[0] ? "; the server said: " : "", said);
			goto out;
		}
		backoff(attempt);
	}
out:
	/* A failed attempt leaves the tracking ref at what the remote had: nothing to push later. */
	if (rc && r->commit[0] && !r->pushed)
		r->commit[0] = '\0';
	git_remote_free(remote);
	git_repository_free(repo);
	if (lock >= 0)
		close(lock);
	free(refname);
	return rc;
}

/* libgit2 is set up (its TLS store reads the whole CA bundle) only by a run that publishes;
 * its init and shutdown count, so nested calls are fine. */
int gitops_publish(const struct gitops_target *t, const char *manifests_dir, const struct gitops_options *o,
		   struct gitops_result *r, struct error *err)
{
	int rc;

	if (git_libgit2_init() < 0)
		return error_set(err, ERROR_INTERNAL, "cannot initialise libgit2");
	rc = publish(t, manifests_dir, o, r, err);
	git_libgit2_shutdown();
	return rc;
}

int gitops_publish_bundle(const char *app_dir, const struct gitops_options *o, struct gitops_result *r,
			  struct error *err)
{
	struct bundle_gitops g;
	char *manifests;
	int rc;

	memset(r, 0, sizeof(*r));
	if (bundle_read_gitops(app_dir, &g, err))
		return -1;
	manifests = fs_path_join(app_dir, "manifests");
	struct gitops_target t = {
		.url = g.url,
		.branch = g.branch ? g.branch : o->config->git_branch,
		.path = g.path,
		.app = g.app,
		.author_name = o->config->git_author_name,
		.author_email = o->config->git_author_email,
		.message = o->config->git_message,
		.image = g.image,
		.scripts_hash = g.scripts_hash,
	};
	rc = gitops_publish(&t, manifests, o, r, err);
	free(manifests);
	bundle_gitops_clear(&g);
	return rc;
}

/* The blobs directly under `path` of the tip's tree. */
static int each_file(git_repository *repo, const git_oid *tip, const char *path,
		     int (*fn)(void *ctx, const char *name, const void *data, size_t size, struct error *err), void *ctx,
		     struct error *err)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL, *sub = NULL;
	git_tree_entry *entry = NULL;
	int rc = -1;

	if (git_commit_lookup(&commit, repo, tip) < 0 || git_commit_tree(&tree, commit) < 0) {
		error_set(err, ERROR_IO, "reading the branch's tree: %s", git_message());
		goto out;
	}
	if (git_tree_entry_bypath(&entry, tree, path) < 0 || git_tree_entry_type(entry) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&sub, repo, git_tree_entry_id(entry)) < 0) {
		rc = 0; /* nothing published there yet */
		goto out;
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && i < git_tree_entrycount(sub); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(sub, i);
		git_blob *blob = NULL;
		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
			continue;
		if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
			rc = error_set(err, ERROR_IO, "reading %s/%s: %s", path, git_tree_entry_name(e), git_message());
			break;
		}
		rc = fn(ctx, git_tree_entry_name(e), git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), err);
		git_blob_free(blob);
	}
out:
	git_tree_entry_free(entry);
	git_tree_free(sub);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

static int read_files(const struct gitops_target *t, const struct gitops_options *o,
		      int (*fn)(void *ctx, const char *name, const void *data, size_t size, struct error *err), void *ctx,
		      struct error *err)
{
	struct session s = {.url = t->url};
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	const char *branch = t->branch && *t->branch ? t->branch : "main";
	const char *path = t->path && *t->path ? t->path : t->app;
	git_oid tip;
	bool has_tip = false;
	int lock = -1, rc = -1;

	if (!t->url || !*t->url)
		return error_set(err, ERROR_INVALID, "no gitops.url: the recipe names no repository to compare with");
	if (!path || !valid_path(path))
		return error_set(err, ERROR_INVALID, "gitops.path: '%s' must be a relative path inside the repository",
				 path ? path : "");
	if (open_remote(t->url, o, &s, &repo, &remote, &lock, err) ||
	    fetch_branch(repo, remote, &s, branch, &tip, &has_tip, err))
		goto out;
	rc = has_tip ? each_file(repo, &tip, path, fn, ctx, err) : 0;
out:
	git_remote_free(remote);
	git_repository_free(repo);
	if (lock >= 0)
		close(lock);
	return rc;
}

int gitops_read_files(const struct gitops_target *t, const struct gitops_options *o,
		      int (*fn)(void *ctx, const char *name, const void *data, size_t size, struct error *err), void *ctx,
		      struct error *err)
{
	int rc;

	if (git_libgit2_init() < 0)
		return error_set(err, ERROR_INTERNAL, "cannot initialise libgit2");
	rc = read_files(t, o, fn, ctx, err);
	git_libgit2_shutdown();
	return rc;
}
