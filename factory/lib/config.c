#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsse.h"
#include "fsutil.h"
#include "http.h"
#include "schema.h"
#include "util.h"

#define CONFIG_MAX_SIZE (256 * 1024)

static const char *const credential_sources[] = {"docker", "env", "none", NULL};

static const struct schema_field repository_fields[] = {
	{"name", &schema_string, SCHEMA_REQUIRED},
	{"url", &schema_string, SCHEMA_REQUIRED},
	{"username", &schema_string, 0},
	{"password", &schema_string, 0},
	{"token", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field mirror_fields[] = {
	{"name", &schema_string, SCHEMA_REQUIRED},
	{"url", &schema_string, SCHEMA_REQUIRED},
	{"mirrorOf", &schema_string, SCHEMA_REQUIRED},
	{"username", &schema_string, 0},
	{"password", &schema_string, 0},
	{"token", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field maven_fields[] = {
	{"repositories", &(const struct schema){.type = SCHEMA_LIST,
		.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = repository_fields}}, 0},
	{"mirrors", &(const struct schema){.type = SCHEMA_LIST,
		.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = mirror_fields}}, 0},
	{"parallel", &(const struct schema){.type = SCHEMA_INT, .min = 1, .max = 64}, 0},
	{NULL, NULL, 0},
};
static const struct schema_field registry_fields[] = {
	{"host", &schema_string, SCHEMA_REQUIRED},
	{"insecure", &schema_bool, 0},
	{"ca", &schema_string, 0},
	{"credentials", &(const struct schema){.type = SCHEMA_STRING, .choices = credential_sources}, 0},
	{"username", &schema_string, 0},
	{"password", &schema_string, 0},
	{"chunkSize", &(const struct schema){.type = SCHEMA_INT, .min = 65536, .max = 1LL << 40}, 0},
	{NULL, NULL, 0},
};
static const struct schema_field python_fields[] = {
	{"index", &schema_string_list, 0},
	{NULL, NULL, 0},
};
static const struct schema_field cache_fields[] = {
	{"dir", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field author_fields[] = {
	{"name", &schema_string, 0},
	{"email", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field git_remote_fields[] = {
	{"url", &schema_string, SCHEMA_REQUIRED},
	{"username", &schema_string, 0},
	{"password", &schema_string, 0},
	{"ca", &schema_string, 0},
	{"sshKey", &schema_string, 0},
	{"sshKeyPassphrase", &schema_string, 0},
	{"knownHosts", &schema_string, 0},
	{"hostKeyFingerprint", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field gitops_fields[] = {
	{"branch", &schema_string, 0},
	{"author", &(const struct schema){.type = SCHEMA_OBJECT, .fields = author_fields}, 0},
	{"message", &schema_string, 0},
	{"remotes", &(const struct schema){.type = SCHEMA_LIST,
		.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = git_remote_fields}}, 0},
	{NULL, NULL, 0},
};
/* Sizes ("4GiB", "16MiB", "512k", plain bytes) and durations ("1h", "30s", plain seconds)
 * are strings checked by read_limits, which says what is wrong with one. */
static const struct schema_field limits_fields[] = {
	{"download", &schema_string, 0},
	{"expansion", &schema_string, 0},
	{"expansionRatio", &(const struct schema){.type = SCHEMA_INT, .min = 1, .max = 1000000}, 0},
	{"transferTimeout", &schema_string, 0},
	{"minRate", &schema_string, 0},
	{"minRateTime", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field signing_fields[] = {
	{"key", &schema_string, 0},
	{"passphrase", &schema_string, 0},
	{"publicKey", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field config_fields[] = {
	{"apiVersion", &(const struct schema){.type = SCHEMA_STRING,
		.choices = (const char *const[]){CONFIG_API_VERSION, NULL}}, SCHEMA_REQUIRED},
	{"kind", &(const struct schema){.type = SCHEMA_STRING,
		.choices = (const char *const[]){CONFIG_KIND, NULL}}, SCHEMA_REQUIRED},
	{"maven", &(const struct schema){.type = SCHEMA_OBJECT, .fields = maven_fields}, 0},
	{"registries", &(const struct schema){.type = SCHEMA_LIST,
		.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = registry_fields}}, 0},
	{"baseRegistry", &schema_string, 0},
	{"python", &(const struct schema){.type = SCHEMA_OBJECT, .fields = python_fields}, 0},
	{"cache", &(const struct schema){.type = SCHEMA_OBJECT, .fields = cache_fields}, 0},
	{"catalog", &schema_string, 0},
	{"gitops", &(const struct schema){.type = SCHEMA_OBJECT, .fields = gitops_fields}, 0},
	{"limits", &(const struct schema){.type = SCHEMA_OBJECT, .fields = limits_fields}, 0},
	{"signing", &(const struct schema){.type = SCHEMA_OBJECT, .fields = signing_fields}, 0},
	{NULL, NULL, 0},
};
static const struct schema config_schema = {.type = SCHEMA_OBJECT, .fields = config_fields};

static const char *str_of(const struct ynode *map, const char *key, const char *fallback)
{
	const struct ynode *n = ynode_get(map, key);
	return n && n->kind == YNODE_SCALAR && !yscalar_is_null(n) ? n->value : fallback;
}

static char *absolute_from(const char *base_dir, const char *path)
{
	char *out;

	if (path[0] == '/') {
		out = strdup(path);
	} else if (path[0] == '~' && path[1] == '/' && getenv("HOME")) {
		out = fs_path_join(getenv("HOME"), path + 2);
	} else {
		out = fs_path_join(base_dir, path);
	}
	if (!out)
		abort();
	return out;
}

static char *default_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *base, *out;

	if (xdg && xdg[0] == '/')
		return fs_path_join(xdg, "factory");
	base = fs_path_join(home && *home ? home : "/tmp", ".cache");
	out = fs_path_join(base, "factory");
	free(base);
	return out;
}

static void read_repositories(const struct ynode *list, struct config_repository **out, size_t *count)
{
	*out = calloc(list ? list->count + 1 : 1, sizeof(**out));
	if (!*out)
		abort();
	*count = 0;
	for (size_t i = 0; list && i < list->count; i++) {
		const struct ynode *m = list->values[i];
		(*out)[(*count)++] = (struct config_repository){
			.name = str_of(m, "name", ""),
			.url = str_of(m, "url", ""),
			.username = str_of(m, "username", NULL),
			.password = str_of(m, "password", NULL),
			.token = str_of(m, "token", NULL),
			.mirror_of = str_of(m, "mirrorOf", NULL),
		};
	}
}

/* The defaults fit real Flink images: layers and connector jars of a few hundred MB, an
 * unhurried mirror; an archive's expansion well above any real layer's (3-10 times). */
static void limits_defaults(struct config_limits *l)
{
	if (!l->download)
		l->download = 4LL << 30;
	if (!l->expansion)
		l->expansion = 64LL << 30;
	if (!l->expansion_ratio)
		l->expansion_ratio = 200;
	if (!l->http.timeout_seconds)
		l->http.timeout_seconds = http_limits_default.timeout_seconds;
	if (!l->http.min_rate)
		l->http.min_rate = http_limits_default.min_rate;
	if (!l->http.min_rate_seconds)
		l->http.min_rate_seconds = http_limits_default.min_rate_seconds;
}

/* "4GiB" -> 4294967296; `units` lists suffix/multiplier pairs (the empty suffix first). */
static bool parse_quantity(const char *text, const char *const *suffixes, const long long *multipliers,
			   long long *out)
{
	char *end;
	long long v;

	if (!text || !isdigit((unsigned char)*text))
		return false;
	v = strtoll(text, &end, 10);
	while (*end == ' ')
		end++;
	for (size_t i = 0; suffixes[i]; i++)
		if (strcmp(end, suffixes[i]) == 0) {
			if (v <= 0 || v > LLONG_MAX / multipliers[i])
				return false;
			*out = v * multipliers[i];
			return true;
		}
	return false;
}

static size_t read_limits(struct config *c, const struct ynode *limits, const char *file, struct diag_list *diags)
{
	static const char *const size_units[] = {"", "k", "K", "KiB", "M", "MiB", "G", "GiB", "T", "TiB", NULL};
	static const long long size_mult[] = {1, 1024, 1024, 1024, 1 << 20, 1 << 20, 1LL << 30, 1LL << 30,
					      1LL << 40, 1LL << 40};
	static const char *const time_units[] = {"", "s", "m", "min", "h", NULL};
	static const long long time_mult[] = {1, 1, 60, 60, 3600};
	static const char *const rate_units[] = {"", "k", "K", "KiB", "M", "MiB", "B/s", "KiB/s", "MiB/s", NULL};
	static const long long rate_mult[] = {1, 1024, 1024, 1024, 1 << 20, 1 << 20, 1, 1024, 1 << 20};
	struct {
		const char *key;
		long long *slot;
		const char *const *units;
		const long long *mult;
		const char *example;
	} keys[] = {
		{"download", &c->limits.download, size_units, size_mult, "4GiB"},
		{"expansion", &c->limits.expansion, size_units, size_mult, "64GiB"},
		{"transferTimeout", &c->limits.http.timeout_seconds, time_units, time_mult, "1h"},
		{"minRate", &c->limits.http.min_rate, rate_units, rate_mult, "1KiB"},
		{"minRateTime", &c->limits.http.min_rate_seconds, time_units, time_mult, "60s"},
	};
	size_t errors = 0;
	long long ratio;

	if (!limits)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct ynode *n = ynode_get(limits, keys[i].key);
		if (!n || n->kind != YNODE_SCALAR || yscalar_is_null(n))
			continue;
		if (!parse_quantity(n->value, keys[i].units, keys[i].mult, keys[i].slot)) {
			diag_add(diags, DIAG_ERROR, file, n->line, n->col, "limits.%s: '%s' is not a positive %s like %s",
				 keys[i].key, n->value, keys[i].units == time_units ? "duration" : "size", keys[i].example);
			errors++;
		}
	}
	if (yscalar_int(ynode_get(limits, "expansionRatio"), &ratio))
		c->limits.expansion_ratio = ratio;
	return errors;
}

/* Whether `value` is one whole ${NAME} reference. */
static bool is_env_reference(const char *value)
{
	size_t n = strlen(value);

	if (n < 4 || strncmp(value, "${", 2) != 0 || value[n - 1] != '}' ||
	    !(isalpha((unsigned char)value[2]) || value[2] == '_'))
		return false;
	for (size_t i = 3; i < n - 1; i++)
		if (!isalnum((unsigned char)value[i]) && value[i] != '_')
			return false;
	return true;
}

static size_t read_signing(struct config *c, const struct ynode *signing, const char *file, struct diag_list *diags)
{
	const struct ynode *passphrase = ynode_get(signing, "passphrase");
	const char *key = str_of(signing, "key", NULL), *public_key = str_of(signing, "publicKey", NULL);
	const char *secret = str_of(signing, "passphrase", NULL);
	size_t errors = 0;

	if (key)
		c->signing.key_path = absolute_from(c->dir, key);
	if (public_key)
		c->signing.public_key_path = absolute_from(c->dir, public_key);
	if (!secret)
		return 0;
	/* Never echo the value, nor keep it: it may be the passphrase itself. */
	if (!is_env_reference(secret)) {
		diag_add(diags, DIAG_ERROR, file, passphrase->line, passphrase->col,
			 "signing.passphrase: write a ${NAME} reference to an environment variable, not the passphrase "
			 "itself (it would end up in the repository)");
		errors++;
	} else if (!key) {
		diag_add(diags, DIAG_ERROR, file, passphrase->line, passphrase->col,
			 "signing.passphrase: there is no signing.key to decrypt");
		errors++;
	} else {
		c->signing.passphrase = xstrdup(secret);
	}
	return errors;
}

static void apply_defaults(struct config *c)
{
	static struct config_repository central = {
		.name = "central", .url = "https://repo.maven.apache.org/maven2"};

	if (c->repository_count == 0) {
		free(c->repositories);
		c->repositories = calloc(1, sizeof(*c->repositories));
		if (!c->repositories)
			abort();
		c->repositories[0] = central;
		c->repository_count = 1;
	}
	if (!c->parallel_downloads)
		c->parallel_downloads = 8;
	if (!c->base_registry)
		c->base_registry = "docker.io";
	if (c->python_index_count == 0) {
		static const char *const pypi[] = {"https://pypi.org/simple"};
		free(c->python_indexes);
		c->python_indexes = calloc(1, sizeof(*c->python_indexes));
		if (!c->python_indexes)
			abort();
		c->python_indexes[0] = pypi[0];
		c->python_index_count = 1;
	}
	if (!c->cache_dir)
		c->cache_dir = default_cache_dir();
	if (!c->git_branch)
		c->git_branch = "main";
	if (!c->git_author_name)
		c->git_author_name = "factory";
	if (!c->git_author_email)
		c->git_author_email = "factory@localhost";
	limits_defaults(&c->limits);
}

static size_t check_urls(const struct config_repository *repos, size_t n, const char *what,
			 const struct ynode *list, const char *file, struct diag_list *diags)
{
	size_t errors = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ynode *url = ynode_get(list->values[i], "url");
		const char *rest = strstr(repos[i].url, "://");
		if (strncmp(repos[i].url, "https://", 8) != 0 && strncmp(repos[i].url, "http://", 7) != 0 &&
		    strncmp(repos[i].url, "file://", 7) != 0) {
			diag_add(diags, DIAG_ERROR, file, url->line, url->col,
				 "maven.%s[%zu].url: not an http(s):// or file:// URL", what, i);
			errors++;
		} else if (rest && strcspn(rest + 3, "@/") < strlen(rest + 3) && rest[3 + strcspn(rest + 3, "@/")] == '@') {
			/* Never echo the URL: it holds a secret. */
			diag_add(diags, DIAG_ERROR, file, url->line, url->col,
				 "maven.%s[%zu].url: credentials in the URL would end up in logs and lock files; "
				 "use username/password or token with ${ENV} references", what, i);
			errors++;
		}
	}
	return errors;
}

int config_signing_key(const struct config *config, bool for_verifying, struct dsse_key **key, struct error *err)
{
	char *passphrase = NULL;
	int rc;

	*key = NULL;
	if (for_verifying && config->signing.public_key_path)
		return dsse_public_key_load(key, config->signing.public_key_path, err) < 0
			       ? error_wrap(err, "signing.publicKey")
			       : 0;
	if (!config->signing.key_path)
		return 0;
	if (config->signing.passphrase && config_expand(config->signing.passphrase, &passphrase, err) < 0)
		return error_wrap(err, "signing.passphrase");
	rc = dsse_key_load(key, config->signing.key_path, passphrase, err);
	if (passphrase) {
		OPENSSL_cleanse(passphrase, strlen(passphrase));
		free(passphrase);
	}
	return rc < 0 ? error_wrap(err, "signing.key") : 0;
}

struct download_options config_download_options(const struct config *config)
{
	return (struct download_options){.limits = &config->limits.http,
					 .observer = config->http_observer,
					 .interrupted = config->interrupted,
					 .max_bytes = config->limits.download};
}

int config_load(struct config **out, const char *path, struct diag_list *diags, struct error *err)
{
	struct config *c = calloc(1, sizeof(*c));
	const struct ynode *root, *maven, *list;
	size_t errors = 0;

	*out = NULL;
	if (!c)
		abort();
	if (!path) {
		apply_defaults(c);
		*out = c;
		return 0;
	}
	c->path = strdup(path);
	c->dir = fs_dirname(path);
	if (!c->path)
		abort();
	if (ydoc_load_file(&c->doc, path, CONFIG_MAX_SIZE, diags, err)) {
		config_free(c);
		return -1;
	}
	root = c->doc->root;
	errors += schema_check(&config_schema, root, "", path, diags);
	if (errors || !root) {
		config_free(c);
		return error_set(err, ERROR_INVALID, "%s: invalid configuration", path);
	}
	maven = ynode_get(root, "maven");
	list = ynode_get(maven, "repositories");
	read_repositories(list, &c->repositories, &c->repository_count);
	errors += check_urls(c->repositories, c->repository_count, "repositories", list, path, diags);
	list = ynode_get(maven, "mirrors");
	read_repositories(list, &c->mirrors, &c->mirror_count);
	errors += check_urls(c->mirrors, c->mirror_count, "mirrors", list, path, diags);
	{
		long long v;
		if (yscalar_int(ynode_get(maven, "parallel"), &v))
			c->parallel_downloads = v;
	}

	list = ynode_get(root, "registries");
	c->registries = calloc(list ? list->count + 1 : 1, sizeof(*c->registries));
	if (!c->registries)
		abort();
	for (size_t i = 0; list && i < list->count; i++) {
		const struct ynode *m = list->values[i];
		bool insecure = false;
		long long chunk = 0;
		yscalar_bool(ynode_get(m, "insecure"), &insecure);
		yscalar_int(ynode_get(m, "chunkSize"), &chunk);
		c->registries[c->registry_count++] = (struct config_registry){
			.host = str_of(m, "host", ""),
			.insecure = insecure,
			.ca_file = str_of(m, "ca", NULL),
			.credentials = str_of(m, "credentials", "docker"),
			.username = str_of(m, "username", NULL),
			.password = str_of(m, "password", NULL),
			.chunk_size = chunk,
		};
	}
	c->base_registry = str_of(root, "baseRegistry", NULL);
	list = ynode_get(ynode_get(root, "python"), "index");
	c->python_indexes = calloc(list ? list->count + 1 : 1, sizeof(*c->python_indexes));
	if (!c->python_indexes)
		abort();
	for (size_t i = 0; list && i < list->count; i++) {
		if (http_url_has_userinfo(list->values[i]->value)) {
			/* Never echo the URL: it holds a secret. */
			diag_add(diags, DIAG_ERROR, path, list->values[i]->line, list->values[i]->col,
				 "python.index[%zu]: credentials in the URL would end up in messages and lock files; "
				 "serve the index without them or through a mirror that needs none", i);
			errors++;
			continue;
		}
		c->python_indexes[c->python_index_count++] = list->values[i]->value;
	}
	if (str_of(ynode_get(root, "cache"), "dir", NULL))
		c->cache_dir = absolute_from(c->dir, str_of(ynode_get(root, "cache"), "dir", NULL));
	if (str_of(root, "catalog", NULL))
		c->catalog_dir = absolute_from(c->dir, str_of(root, "catalog", NULL));
	c->git_branch = str_of(ynode_get(root, "gitops"), "branch", NULL);
	c->git_author_name = str_of(ynode_get(ynode_get(root, "gitops"), "author"), "name", NULL);
	c->git_author_email = str_of(ynode_get(ynode_get(root, "gitops"), "author"), "email", NULL);
	errors += read_limits(c, ynode_get(root, "limits"), path, diags);
	errors += read_signing(c, ynode_get(root, "signing"), path, diags);
	c->git_message = str_of(ynode_get(root, "gitops"), "message", NULL);
	list = ynode_get(ynode_get(root, "gitops"), "remotes");
	c->git_remotes = calloc(list ? list->count + 1 : 1, sizeof(*c->git_remotes));
	c->git_paths = calloc(list ? 3 * list->count + 1 : 1, sizeof(*c->git_paths));
	if (!c->git_remotes || !c->git_paths)
		abort();
	for (size_t i = 0; list && i < list->count; i++) {
		const struct ynode *m = list->values[i];
		struct config_git_remote *g = &c->git_remotes[c->git_remote_count++];
		/* Files are relative to factory.yaml, as cache.dir and catalog are. */
		const char *files[] = {str_of(m, "ca", NULL), str_of(m, "sshKey", NULL), str_of(m, "knownHosts", NULL)};
		const char **slots[] = {&g->ca_file, &g->ssh_key, &g->known_hosts};
		g->url = str_of(m, "url", "");
		g->username = str_of(m, "username", NULL);
		g->password = str_of(m, "password", NULL);
		g->ssh_key_passphrase = str_of(m, "sshKeyPassphrase", NULL);
		g->host_key_fingerprint = str_of(m, "hostKeyFingerprint", NULL);
		for (size_t k = 0; k < 3; k++)
			if (files[k])
				*slots[k] = c->git_paths[c->git_path_count++] = absolute_from(c->dir, files[k]);
	}
	if (errors) {
		config_free(c);
		return error_set(err, ERROR_INVALID, "%s: invalid configuration", path);
	}
	apply_defaults(c);
	*out = c;
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->repositories);
	free(c->mirrors);
	free(c->registries);
	free(c->git_remotes);
	for (size_t i = 0; i < c->git_path_count; i++)
		free(c->git_paths[i]);
	free(c->git_paths);
	free(c->python_indexes);
	free(c->cache_dir);
	free(c->catalog_dir);
	free(c->signing.key_path);
	free(c->signing.public_key_path);
	free(c->signing.passphrase);
	free(c->path);
	free(c->dir);
	ydoc_free(c->doc);
	free(c);
}

char *config_find(const char *recipe_path)
{
	const char *env = getenv("FACTORY_CONFIG");
	char resolved[PATH_MAX], *dir;

	if (env && *env)
		return strdup(env);
	if (!realpath(recipe_path, resolved))
		return NULL;
	dir = fs_dirname(resolved);
	for (;;) {
		char *candidate = fs_path_join(dir, "factory.yaml");
		char *parent;
		if (access(candidate, R_OK) == 0) {
			free(dir);
			return candidate;
		}
		free(candidate);
		if (strcmp(dir, "/") == 0)
			break;
		parent = fs_dirname(dir);
		free(dir);
		dir = parent;
	}
	free(dir);
	return NULL;
}

int config_expand(const char *value, char **out, struct error *err)
{
	size_t cap = strlen(value) + 1, len = 0;
	char *buf = malloc(cap);

	*out = NULL;
	if (!buf)
		abort();
	for (const char *p = value; *p;) {
		const char *piece = p;
		size_t piece_len = 1;
		char name[128];

		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			size_t n = end ? (size_t)(end - p - 2) : 0;
			if (!end || n == 0 || n >= sizeof(name)) {
				free(buf);
				return error_set(err, ERROR_INVALID, "unterminated or empty ${...} reference");
			}
			memcpy(name, p + 2, n);
			name[n] = '\0';
			piece = getenv(name);
			if (!piece) {
				free(buf);
				return error_set(err, ERROR_INVALID, "environment variable %s is not set", name);
			}
			piece_len = strlen(piece);
			p = end + 1;
		} else {
			p++;
		}
		if (len + piece_len + 1 > cap) {
			cap = (len + piece_len + 1) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		memcpy(buf + len, piece, piece_len);
		len += piece_len;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}
