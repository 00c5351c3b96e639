#include "basefacts.h"

#include <archive_entry.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "unarchive.h"
#include "util.h"

#define INDEX_VERSION "factory-index-2" /* bump when what a layer's listing records changes */

/* The paths of a base layer that matter to the lint (Python interpreters, Flink jars, the C
 * library), remembered per layer digest: a base is scanned once, not at every build. */
static bool interesting(const char *path)
{
	const char *name = fs_basename(path);

	if (strncmp(path, "usr/bin/python3", 15) == 0 || strncmp(path, "usr/local/bin/python3", 21) == 0)
		return true;
	if (strcmp(name, "libc.so.6") == 0 || (strncmp(name, "libc-", 5) == 0 && strstr(name, ".so")) ||
	    strncmp(name, "ld-musl-", 8) == 0)
		return true;
	return strncmp(path, "opt/flink/", 10) == 0 && strlen(path) > 4 && strcmp(path + strlen(path) - 4, ".jar") == 0;
}

static char *layer_index_path(struct cache *cache, const char *digest)
{
	return xasprintf("%s/index/%s-%s", cache->dir, INDEX_VERSION, digest + 7);
}

static void listing_add(char **out, size_t *size, size_t *cap, char kind, const char *path, size_t n)
{
	if (*size + n + 3 > *cap) {
		*cap = (*size + n + 3) * 2;
		*out = realloc(*out, *cap);
		if (!*out)
			abort();
	}
	(*out)[(*size)++] = kind;
	memcpy(*out + *size, path, n);
	(*out)[*size + n] = '\n';
	*size += n + 1;
	(*out)[*size] = '\0';
}

/* "GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36." is in every glibc. */
static bool glibc_version_in(const char *data, size_t len, char *out, size_t size)
{
	static const char marker[] = "release version ";
	const char *p = memmem(data, len, marker, sizeof(marker) - 1);
	size_t n;

	if (!p)
		return false;
	p += sizeof(marker) - 1;
	for (n = 0; p + n < data + len && ((p[n] >= '0' && p[n] <= '9') || p[n] == '.'); n++)
		;
	if (n == 0 || n >= size)
		return false;
	while (n > 0 && p[n - 1] == '.')
		n--;
	snprintf(out, size, "%.*s", (int)n, p);
	return true;
}

static int read_glibc_version(struct unarchive *u, char *out, size_t size, struct error *err)
{
	const void *buf;
	size_t len;
	long long offset;
	char *tail = NULL;
	size_t tail_len = 0;
	int r;

	/* The marker may straddle two blocks: search each block with the previous one's end. */
	while ((r = unarchive_data(u, &buf, &len, &offset, err)) == 1) {
		char *joined = malloc(tail_len + len + 1);
		if (!joined)
			abort();
		if (tail_len)
			memcpy(joined, tail, tail_len);
		if (len)
			memcpy(joined + tail_len, buf, len);
		if (glibc_version_in(joined, tail_len + len, out, size)) {
			free(joined);
			free(tail);
			return 0;
		}
		{
			size_t total = tail_len + len;
			tail_len = total < 64 ? total : 64;
			free(tail);
			tail = malloc(tail_len ? tail_len : 1);
			if (!tail)
				abort();
			memcpy(tail, joined + total - tail_len, tail_len);
		}
		free(joined);
	}
	free(tail);
	return r < 0 ? -1 : 0;
}

/* A layer's listing, one line per fact, in layer order:
 *   +path   an interesting file (or link) the layer adds
 *   -path   a whiteout: path (and all below it) is deleted from the layers beneath
 *   =dir    an opaque directory: everything beneath it in lower layers is hidden
 *   !glibc X.Y  the C library's version */
/* The one compression a layer's media type declares: a layer that claims gzip and holds a
 * gzip inside is not unwrapped twice (each level multiplies a bomb). */
static enum unarchive_filter layer_filter(const char *media_type)
{
	const char *oci = media_type ? oci_layer_media_type(media_type) : NULL;

	if (!oci)
		return UNARCHIVE_FILTER_ANY; /* an older listing's layer: whatever it is */
	if (strcmp(oci, OCI_MEDIA_LAYER_GZIP) == 0)
		return UNARCHIVE_FILTER_GZIP;
	if (strcmp(oci, OCI_MEDIA_LAYER_ZSTD) == 0)
		return UNARCHIVE_FILTER_ZSTD;
	return UNARCHIVE_FILTER_NONE;
}

/* The config's stop flag ends a scan between two reads (a large layer takes seconds). */
static int scan_layer(struct cache *cache, const struct oci_descriptor *layer, const struct config *config,
		      char **listing, struct error *err)
{
	const char *digest = layer->digest;
	struct unarchive_limits limits = {
		.max_bytes = config ? config->limits.expansion : 0,
		.ratio = config ? config->limits.expansion_ratio : 0,
		.interrupted = config ? config->interrupted : NULL,
	};
	char *index_path = layer_index_path(cache, digest);
	char *blob = cache_blob_path(cache, digest + 7), *dir = NULL, *what = xasprintf("base layer %s", digest);
	struct unarchive u = {0};
	struct archive_entry *e;
	size_t size = 0, cap = 0;
	char *out = NULL;
	struct error ignored = {0};
	int rc = -1, r;

	if (fs_read_file(index_path, 64 << 20, listing, &size, &ignored) == 0) {
		rc = 0;
		goto done;
	}
	if (unarchive_open_with(&u, blob, UNARCHIVE_TAR, layer_filter(layer->media_type), &limits, what, err))
		goto done;
	out = xstrdup("");
	while ((r = unarchive_next(&u, &e, err)) == 1) {
		const char *p = unarchive_path(&u, e), *name;
		size_t n;
		while (strncmp(p, "./", 2) == 0)
			p += 2;
		/* A listing is one path per line: a name with a newline (or any control character)
		 * could forge a line such as usr/bin/python3.11, and no name the checks look for
		 * has one. */
		if (str_has_control(p))
			continue;
		n = strlen(p);
		while (n > 0 && p[n - 1] == '/')
			n--;
		name = memrchr(p, '/', n) ? (const char *)memrchr(p, '/', n) + 1 : p;
		if (strncmp(name, ".wh.", 4) == 0) {
			size_t dir_len = (size_t)(name - p);
			if (strcmp(name, ".wh..wh..opq") == 0) {
				listing_add(&out, &size, &cap, '=', p, dir_len ? dir_len - 1 : 0);
			} else {
				char *target = xasprintf("%.*s%.*s", (int)dir_len, p, (int)(n - dir_len - 4), name + 4);
				listing_add(&out, &size, &cap, '-', target, strlen(target));
				free(target);
			}
			continue;
		}
		if (!interesting(p))
			continue;
		listing_add(&out, &size, &cap, '+', p, n);
		if (archive_entry_filetype(e) == AE_IFREG && strcmp(fs_basename(p), "libc.so.6") == 0) {
			char version[32] = "", *fact;
			if (read_glibc_version(&u, version, sizeof(version), err))
				goto done;
			if (*version) {
				fact = xasprintf("glibc %s", version);
				listing_add(&out, &size, &cap, '!', fact, strlen(fact));
				free(fact);
			}
		} else if (strncmp(fs_basename(p), "libc-", 5) == 0) {
			char version[32] = "", *fact; /* libc-2.31.so: glibc before 2.34 */
			const char *v = fs_basename(p) + 5;
			size_t vn = strspn(v, "0123456789.");
			if (vn > 0 && vn < sizeof(version) && strncmp(v + vn - 1, ".so", 3) == 0) {
				snprintf(version, sizeof(version), "%.*s", (int)vn - 1, v);
				fact = xasprintf("glibc %s", version);
				listing_add(&out, &size, &cap, '!', fact, strlen(fact));
				free(fact);
			}
		}
	}
	if (r < 0)
		goto done;
	dir = fs_dirname(index_path);
	if (fs_mkdir_p(dir, err) || fs_write_file_atomic(index_path, out, size, 0644, err))
		goto done;
	*listing = out;
	out = NULL;
	rc = 0;
done:
	unarchive_close(&u);
	free(out);
	free(dir);
	free(what);
	free(blob);
	free(index_path);
	return rc;
}


/* The interesting paths of the whole image: each layer's listing applied on top of the
 * layers beneath, honouring whiteouts and opaque directories as a container runtime does. */
struct path_set {
	char **paths;
	size_t count;
};

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void path_set_remove(struct path_set *s, const char *dir, bool keep_dir_itself)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->count; i++) {
		if (path_under(s->paths[i], dir) && !(keep_dir_itself && strcmp(s->paths[i], dir) == 0))
			free(s->paths[i]);
		else
			s->paths[kept++] = s->paths[i];
	}
	s->count = kept;
}

static void path_set_add(struct path_set *s, const char *path)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->paths[i], path) == 0)
			return;
	s->paths = realloc(s->paths, (s->count + 1) * sizeof(*s->paths));
	if (!s->paths)
		abort();
	s->paths[s->count++] = xstrdup(path);
}

static void path_set_free(struct path_set *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->paths[i]);
	free(s->paths);
}

/* Applies one layer's listing: its deletions hide what lies beneath, then its files appear. */
static void apply_listing(struct path_set *s, char *listing, struct base_facts *f)
{
	size_t below = s->count;
	char **added = NULL;
	size_t added_count = 0;

	for (char *line = listing, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == '-' || *line == '=') {
			/* Only lower layers' entries: this layer's own files are added afterwards. */
			struct path_set lower = {s->paths, below};
			path_set_remove(&lower, line + 1, *line == '=');
			s->count = lower.count;
			below = lower.count;
			s->paths = lower.paths;
		} else if (*line == '+') {
			added = realloc(added, (added_count + 1) * sizeof(*added));
			if (!added)
				abort();
			added[added_count++] = line + 1;
		} else if (*line == '!' && strncmp(line + 1, "glibc ", 6) == 0) {
			snprintf(f->glibc, sizeof(f->glibc), "%s", line + 7);
		}
	}
	for (size_t i = 0; i < added_count; i++)
		path_set_add(s, added[i]);
	free(added);
}

static void add_jar(struct base_facts *f, const char *rel)
{
	f->jars = realloc(f->jars, (f->jar_count + 1) * sizeof(*f->jars));
	if (!f->jars)
		abort();
	f->jars[f->jar_count++] = xstrdup(rel);
}

/* The layers are fetched and scanned several at once (the big OS layer's download and
 * inflate then overlap the others'); their listings are applied in order afterwards. */
#define SCAN_THREADS 4

struct scan_job {
	const struct base_image *base;
	const struct recipe *recipe;
	struct cache *cache;
	pthread_mutex_t lock;
	size_t next;
	bool failed;
	char **listings;      /* per layer; NULL when left unread */
	struct error *errors; /* per layer */
	bool *bad;
	size_t unread;
};

static int scan_one(struct scan_job *job, size_t i, struct error *err)
{
	const struct base_image *base = job->base;
	const char *digest = base->image.layers[i].digest;
	char *index = layer_index_path(job->cache, digest), *blob = cache_blob_path(job->cache, digest + 7);
	/* Existence is enough here: scan_layer reads (and base_fetch_layer verifies) it. */
	bool known = access(index, F_OK) == 0 || access(blob, F_OK) == 0;

	free(blob);
	free(index);
	if (!known) {
		/* A lazy base's layer: a PyFlink job must know the base's Python, a Java job can go
		 * without the duplicate-JAR check rather than download the base. */
		if (base->lazy && !job->recipe->has_python) {
			pthread_mutex_lock(&job->lock);
			job->unread++;
			pthread_mutex_unlock(&job->lock);
			return 0;
		}
		if (base_fetch_layer(base, digest, job->cache, err))
			return -1;
	}
	return scan_layer(job->cache, &base->image.layers[i], base->config, &job->listings[i], err);
}

static void *scan_worker(void *arg)
{
	struct scan_job *job = arg;

	for (;;) {
		size_t i;
		pthread_mutex_lock(&job->lock);
		i = job->next++;
		if (job->failed || i >= job->base->image.layer_count) {
			pthread_mutex_unlock(&job->lock);
			return NULL;
		}
		pthread_mutex_unlock(&job->lock);
		if (scan_one(job, i, &job->errors[i])) {
			pthread_mutex_lock(&job->lock);
			job->failed = true;
			job->bad[i] = true;
			pthread_mutex_unlock(&job->lock);
		}
	}
}

int base_facts_read(struct base_facts *f, const struct base_image *base, const struct recipe *r, struct cache *cache,
		    struct error *err)
{
	size_t n = base->image.layer_count, threads = 0, started;
	struct scan_job job = {.base = base, .recipe = r, .cache = cache};
	pthread_t tids[SCAN_THREADS];
	char jar[128];
	struct path_set image = {0};
	int rc = 0;

	snprintf(jar, sizeof(jar), "opt/flink/opt/flink-python-%d.%d.%d.jar", r->flink_major, r->flink_minor,
		 r->flink_patch);
	job.listings = calloc(n + 1, sizeof(*job.listings));
	job.errors = calloc(n + 1, sizeof(*job.errors));
	job.bad = calloc(n + 1, sizeof(*job.bad));
	if (!job.listings || !job.errors || !job.bad)
		abort();
	/* Threads only for layers not scanned before: a rebuild reads small listings inline. */
	for (size_t i = 0; i < n && threads < SCAN_THREADS; i++) {
		char *index = layer_index_path(cache, base->image.layers[i].digest);
		threads += access(index, F_OK) != 0;
		free(index);
	}
	pthread_mutex_init(&job.lock, NULL);
	for (started = 0; started < threads; started++)
		if (pthread_create(&tids[started], NULL, scan_worker, &job) != 0)
			break;
	if (started == 0)
		scan_worker(&job);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&job.lock);
	f->unread = job.unread;
	for (size_t i = 0; i < n; i++) {
		if (job.bad[i] && rc == 0) { /* the lowest layer's error, whatever finished first */
			*err = job.errors[i];
			rc = -1;
		}
		if (rc == 0 && job.listings[i])
			apply_listing(&image, job.listings[i], f);
		free(job.listings[i]);
	}
	free(job.listings);
	free(job.errors);
	free(job.bad);
	if (rc) {
		path_set_free(&image);
		return -1;
	}
	for (size_t i = 0; i < image.count; i++) {
		const char *line = image.paths[i], *name = fs_basename(line);
		if ((strncmp(line, "usr/bin/", 8) == 0 || strncmp(line, "usr/local/bin/", 14) == 0) &&
		    strncmp(name, "python3.", 8) == 0 && name[8] >= '0' && name[8] <= '9' &&
		    strspn(name + 8, "0123456789") == strlen(name + 8))
			snprintf(f->python, sizeof(f->python), "%s", line);
		if (strcmp(line, jar) == 0 || (strncmp(line, "opt/flink/opt/flink-python", 26) == 0 && r->flink_patch < 0))
			f->flink_python_jar = true;
		if (strncmp(line, "opt/flink/lib/", 14) == 0 || strncmp(line, "opt/flink/usrlib/", 17) == 0 ||
		    strncmp(line, "opt/flink/plugins/", 18) == 0)
			add_jar(f, line + 10);
		if (strncmp(name, "ld-musl-", 8) == 0)
			f->musl = true;
	}
	path_set_free(&image);
	return 0;
}

void base_facts_clear(struct base_facts *f)
{
	for (size_t i = 0; i < f->jar_count; i++)
		free(f->jars[i]);
	free(f->jars);
}

