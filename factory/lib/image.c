#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "flink.h"
#include "fsutil.h"
#include "layer.h"
#include "maven.h"
#include "pypi.h"
#include "pyruntime.h"
#include "pyset.h"
#include "unarchive.h"
#include "util.h"
#include "wheel.h"

#define LAYER_KEY_VERSION "factory-layer-1"
#define INDEX_VERSION "factory-index-2"
#define WHEEL_LAYOUT_VERSION "factory-wheels-1" /* bump when wheel installation changes */
#define RUNTIME_LAYOUT_VERSION "factory-runtime-1" /* bump when runtime unpacking changes */

void image_build_clear(struct image_build *b)
{
	free(b->wheels);
	oci_image_clear(&b->image);
	free(b->manifest.media_type);
	free(b->tag);
	memset(b, 0, sizeof(*b));
}

/* ---- what the base contains ------------------------------------------------------------- */

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
static int scan_layer(struct cache *cache, const char *digest, char **listing, struct error *err)
{
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
	if (unarchive_open(&u, blob, UNARCHIVE_TAR, what, err))
		goto done;
	out = xstrdup("");
	while ((r = unarchive_next(&u, &e, err)) == 1) {
		const char *p = unarchive_path(&u, e), *name;
		size_t n;
		while (strncmp(p, "./", 2) == 0)
			p += 2;
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

struct base_facts {
	size_t unread;   /* layers left in the registry, not looked at */
	char python[64]; /* e.g. "usr/bin/python3.11", empty when none */
	bool flink_python_jar;
	char glibc[32];  /* "2.36"; empty when unknown */
	bool musl;
	char **jars; /* "lib/x.jar", "usrlib/y.jar", "plugins/p/z.jar" */
	size_t jar_count;
};

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

static int read_base_facts(const struct base_image *base, const struct recipe *r, struct cache *cache,
			   struct base_facts *f, struct error *err)
{
	char jar[128];
	struct path_set image = {0};

	snprintf(jar, sizeof(jar), "opt/flink/opt/flink-python-%d.%d.%d.jar", r->flink_major, r->flink_minor,
		 r->flink_patch);
	for (size_t i = 0; i < base->image.layer_count; i++) {
		const char *digest = base->image.layers[i].digest;
		char *listing = NULL, *index = layer_index_path(cache, digest);
		char *blob = cache_blob_path(cache, digest + 7);
		/* Existence is enough here: scan_layer reads (and base_fetch_layer verifies) it. */
		bool known = access(index, F_OK) == 0 || access(blob, F_OK) == 0;
		free(blob);
		free(index);
		if (!known) {
			/* A lazy base's layer: a PyFlink job must know the base's Python, a Java job
			 * can go without the duplicate-JAR check rather than download the base. */
			if (base->lazy && !r->has_python) {
				f->unread++;
				continue;
			}
			if (base_fetch_layer(base, digest, cache, err)) {
				path_set_free(&image);
				return -1;
			}
		}
		if (scan_layer(cache, digest, &listing, err)) {
			path_set_free(&image);
			return -1;
		}
		apply_listing(&image, listing, f);
		free(listing);
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

static void free_base_facts(struct base_facts *f)
{
	for (size_t i = 0; i < f->jar_count; i++)
		free(f->jars[i]);
	free(f->jars);
}

/* ---- factory's layers ------------------------------------------------------------------- */

struct layer_plan {
	const char *name; /* for history: "connectors", "jars", "files" */
	struct layer_entry *entries;
	const char **digests; /* content digest of each entry's source, for the layer key */
	char **owned;         /* strings to free */
	size_t count, owned_count;
};

static void plan_add(struct layer_plan *lp, const char *path, enum layer_entry_type type, unsigned mode,
		     const char *source, const char *content_digest, bool root_owned)
{
	lp->entries = realloc(lp->entries, (lp->count + 1) * sizeof(*lp->entries));
	lp->digests = realloc(lp->digests, (lp->count + 1) * sizeof(*lp->digests));
	if (!lp->entries || !lp->digests)
		abort();
	lp->entries[lp->count] = (struct layer_entry){path, type, mode, source, root_owned};
	lp->digests[lp->count] = content_digest ? content_digest : "";
	lp->count++;
}

static const char *plan_own(struct layer_plan *lp, char *s)
{
	lp->owned = realloc(lp->owned, (lp->owned_count + 1) * sizeof(*lp->owned));
	if (!lp->owned)
		abort();
	lp->owned[lp->owned_count++] = s;
	return s;
}

static void layer_plan_free(struct layer_plan *lp)
{
	for (size_t i = 0; i < lp->owned_count; i++)
		free(lp->owned[i]);
	free(lp->owned);
	free(lp->entries);
	free(lp->digests);
}

/* The directories above the files: /opt stays root's, FLINK_HOME and below belong to flink. */
static void plan_parents(struct layer_plan *lp, const char *path)
{
	char *copy = xstrdup(path);

	for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
		bool seen = false;
		const char *dir = plan_own(lp, xasprintf("%.*s", (int)(slash - copy), copy));
		for (size_t i = 0; i < lp->count && !seen; i++)
			seen = strcmp(lp->entries[i].path, dir) == 0;
		if (!seen)
			plan_add(lp, dir, LAYER_DIRECTORY, 0755, NULL, NULL,
				 strncmp(dir, "opt/flink", 9) != 0 || (dir[9] != '\0' && dir[9] != '/'));
	}
	free(copy);
}

static const char *find_item_sha(const struct plan *plan, const char *coordinate)
{
	for (size_t i = 0; i < plan->count; i++)
		if (strcmp(plan->items[i].coordinate, coordinate) == 0)
			return plan->items[i].sha256;
	return NULL;
}

static int plan_artifacts(struct layer_plan *catalog, struct layer_plan *raw, const struct recipe *r,
			  const struct plan *plan, struct cache *cache, struct error *err)
{
	for (size_t i = 0; i < r->artifact_count; i++) {
		const struct recipe_artifact *a = &r->artifacts[i];
		struct layer_plan *lp = a->catalog_name ? catalog : raw;
		const char *sha = find_item_sha(plan, a->coordinate);
		struct maven_coord c;
		char *file, *path;

		if (!sha || !*sha)
			return error_set(err, ERROR_INTERNAL, "%s was not fetched", a->coordinate);
		if (maven_coord_parse(a->coordinate, &c, err) < 0)
			return -1;
		path = maven_coord_path(&c);
		file = xstrdup(fs_basename(path));
		free(path);
		maven_coord_free(&c);
		path = xasprintf("opt/flink/%s/%s", a->destination, file);
		free(file);
		plan_parents(lp, path);
		for (size_t k = 0; k < lp->count; k++)
			if (strcmp(lp->entries[k].path, path) == 0) { /* listed twice: keep one */
				free(path);
				path = NULL;
				break;
			}
		if (!path)
			continue;
		plan_add(lp, plan_own(lp, path), LAYER_FILE, 0644, plan_own(lp, cache_blob_path(cache, sha)), sha, false);
	}
	return 0;
}

static int plan_files(struct layer_plan *lp, const struct recipe *r, struct error *err)
{
	for (size_t i = 0; i < r->file_count; i++) {
		const struct recipe_file *f = &r->files[i];
		char *source = fs_path_join(r->dir, f->source);
		char hex[65];
		if (digest_file_sha256(source, hex, err) < 0) {
			free(source);
			return -1;
		}
		plan_parents(lp, f->destination + 1);
		plan_add(lp, f->destination + 1, LAYER_FILE, f->mode, plan_own(lp, source),
			 plan_own(lp, xstrdup(hex)), false);
	}
	return 0;
}

/* The key of a layer: everything its bytes depend on, and nothing else. */
static void layer_key(const struct layer_plan *lp, const struct layer_options *o, char key[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int len;
	char head[128];

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	snprintf(head, sizeof(head), "%s uid=%u gid=%u mtime=%lld level=%d zstd=%d\n", LAYER_KEY_VERSION, o->uid,
		 o->gid, o->mtime, o->level, (int)o->zstd);
	EVP_DigestUpdate(ctx, head, strlen(head));
	for (size_t i = 0; i < lp->count; i++) {
		const struct layer_entry *e = &lp->entries[i];
		char line[64];
		snprintf(line, sizeof(line), " %d %o %d ", (int)e->type, e->mode, (int)e->root_owned);
		EVP_DigestUpdate(ctx, e->path, strlen(e->path) + 1);
		EVP_DigestUpdate(ctx, line, strlen(line));
		EVP_DigestUpdate(ctx, lp->digests[i], strlen(lp->digests[i]) + 1);
		if (e->type == LAYER_SYMLINK)
			EVP_DigestUpdate(ctx, e->source, strlen(e->source) + 1);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	digest_hex(md, len, key);
}

/* `fill` (may be NULL) produces the entries only when the layer is not cached under `key`;
 * without a precomputed key the key is derived from the entries. */
static int build_layer(struct image_build *b, struct layer_plan *lp, const struct layer_options *o, struct cache *cache,
		       const char *precomputed_key, int (*fill)(struct layer_plan *lp, void *ctx, struct error *err),
		       void *ctx, struct error *err)
{
	char key[65], *key_path, *text = NULL, *dir;
	struct layer_result res = {0};
	struct oci_descriptor *d;
	size_t size;
	struct error ignored = {0};

	if (!precomputed_key && lp->count == 0)
		return 0;
	if (precomputed_key)
		snprintf(key, sizeof(key), "%s", precomputed_key);
	else
		layer_key(lp, o, key);
	key_path = xasprintf("%s/layers/%s", cache->dir, key);
	if (fs_read_file(key_path, 4096, &text, &size, &ignored) == 0 &&
	    sscanf(text, "%71s %71s %lld", res.digest, res.diff_id, &res.size) == 3 && oci_digest_valid(res.digest) &&
	    cache_verify(cache, res.digest + 7, NULL)) {
		b->reused++;
	} else {
		free(text);
		text = NULL;
		if ((fill && fill(lp, ctx, err) < 0) || layer_write(lp->entries, lp->count, o, cache, &res, err) < 0) {
			free(key_path);
			return -1;
		}
		text = xasprintf("%s %s %lld\n", res.digest, res.diff_id, res.size);
		dir = fs_dirname(key_path);
		if (fs_mkdir_p(dir, err) || fs_write_file_atomic(key_path, text, strlen(text), 0644, err)) {
			free(dir);
			free(text);
			free(key_path);
			return -1;
		}
		free(dir);
		b->built++;
	}
	free(text);
	free(key_path);
	b->image.layers = realloc(b->image.layers, (b->image.layer_count + 1) * sizeof(*b->image.layers));
	if (!b->image.layers)
		abort();
	d = &b->image.layers[b->image.layer_count++];
	memset(d, 0, sizeof(*d));
	d->media_type = xstrdup(o->zstd ? OCI_MEDIA_LAYER_ZSTD : OCI_MEDIA_LAYER_GZIP);
	snprintf(d->digest, sizeof(d->digest), "%s", res.digest);
	d->size = res.size;
	d->created_by = xasprintf("factory: %s layer", lp->name);
	/* remember the diffID for the config */
	json_array_append_new(json_object_get(json_object_get(b->image.config_json, "rootfs"), "diff_ids"),
			      json_string(res.diff_id));
	return 0;
}

/* ---- the Python layer ------------------------------------------------------------------- */

struct python_layer {
	struct diag_list *diags;
	const struct recipe *recipe;
	const struct python_target *target;
	struct python_wheel *wheels;
	size_t count;
	struct cache *cache;
	char *staging;
	struct wheel_install *installs;
};

/* Wheels are unpacked only when the layer is not cached: its key is known from the wheels'
 * digests and the target alone. */
static int python_fill(struct layer_plan *lp, void *ctx, struct error *err)
{
	struct python_layer *pl = ctx;
	char *prefix = xasprintf("%s/tmp/wheels.", pl->cache->dir);
	int rc = fs_make_temp_dir(prefix, &pl->staging, err);

	free(prefix);
	if (rc)
		return -1;
	pl->installs = calloc(pl->count + 1, sizeof(*pl->installs));
	if (!pl->installs)
		abort();
	for (size_t i = 0; i < pl->count; i++) {
		char *blob = cache_blob_path(pl->cache, pl->wheels[i].sha256);
		rc = wheel_install(blob, pl->wheels[i].filename, pl->target, pl->staging, &pl->installs[i], err);
		free(blob);
		if (rc && pl->wheels[i].origin_file[0]) {
			/* The refusal belongs to the line that asked for the wheel. */
			diag_add(pl->diags, DIAG_ERROR, pl->wheels[i].origin_file, pl->wheels[i].origin_line,
				 pl->wheels[i].origin_col, "%s", err->message);
			error_set(err, ERROR_INVALID, "%s cannot be installed", pl->wheels[i].filename);
		}
		if (rc)
			return -1;
		for (size_t k = 0; k < pl->installs[i].count; k++) {
			const struct wheel_file *f = &pl->installs[i].files[k];
			plan_parents(lp, f->path);
			/* Installed like a system package: root's, not writable by the flink user. */
			plan_add(lp, f->path, LAYER_FILE, f->mode, f->source, f->sha256, true);
		}
	}
	return 0;
}

static void python_key(const struct python_layer *pl, const struct layer_options *o, char key[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int len;
	char *head = xasprintf("%s uid=%u gid=%u mtime=%lld level=%d zstd=%d python=%s site=%s bin=%s arch=%s\n",
			       WHEEL_LAYOUT_VERSION, o->uid, o->gid, o->mtime, o->level, (int)o->zstd, pl->target->interpreter,
			       pl->target->site_packages, pl->target->bin_dir, pl->target->arch);

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, head, strlen(head));
	for (size_t i = 0; i < pl->count; i++) {
		EVP_DigestUpdate(ctx, pl->wheels[i].filename, strlen(pl->wheels[i].filename) + 1);
		EVP_DigestUpdate(ctx, pl->wheels[i].sha256, 65);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	free(head);
	digest_hex(md, len, key);
}

/* What the base's C library allows (manylinux_2_N needs glibc 2.N). */
static void target_set_libc(struct python_target *t, const struct base_facts *f)
{
	if (f->glibc[0] && sscanf(f->glibc, "%d.%d", &t->glibc_major, &t->glibc_minor) != 2)
		t->glibc_major = t->glibc_minor = 0;
	t->musl = f->musl;
}

static int compare_wheels(const void *a, const void *b)
{
	return strcmp(((const struct python_wheel *)a)->filename, ((const struct python_wheel *)b)->filename);
}

static int build_python_layer(struct image_build *b, const struct recipe *r, const struct config *config,
			      struct plan *plan, const struct base_facts *facts, const struct pyruntime *runtime,
			      struct cache *cache, const struct layer_options *o, struct diag_list *diags,
			      struct error *err)
{
	struct python_target target;
	struct python_layer pl = {.recipe = r, .target = &target, .cache = cache};
	struct pyset set = {0};
	struct layer_plan lp = {.name = "python"};
	char key[65];
	int rc = -1;

	if (!r->requirement_count && !r->requirements_file)
		return 0;
	if (runtime)
		pyruntime_target(runtime, r->platform, &target);
	else if (python_target_init(&target, facts->python, r->platform, err))
		return -1;
	target_set_libc(&target, facts);
	if (pyset_resolve(r, config, &target, plan, cache, &set, diags, err))
		goto out;
	pl.wheels = set.wheels;
	pl.count = set.count;
	pl.diags = diags;
	qsort(pl.wheels, pl.count, sizeof(*pl.wheels), compare_wheels);
	python_key(&pl, o, key);
	rc = build_layer(b, &lp, o, cache, key, python_fill, &pl, err);
	if (rc == 0)
		rc = pyset_record(&set, plan, r->dir, diags, err);
	if (rc == 0) {
		b->wheels = set.wheels;
		b->wheel_count = set.count;
		set.wheels = NULL;
	}
out:
	if (pl.staging) {
		struct error ignored = {0};
		fs_remove_tree(pl.staging, &ignored);
		free(pl.staging);
	}
	for (size_t i = 0; pl.installs && i < pl.count; i++)
		wheel_install_clear(&pl.installs[i]);
	free(pl.installs);
	pyset_clear(&set);
	layer_plan_free(&lp);
	return rc;
}

/* ---- the Python runtime layer ----------------------------------------------------------- */

struct runtime_layer {
	const struct pyruntime *runtime;
	struct cache *cache;
	char *staging;
	struct pyruntime_files files;
};

/* The tarball is unpacked only when the layer is not cached: its key is the tarball's digest. */
static int runtime_fill(struct layer_plan *lp, void *ctx, struct error *err)
{
	struct runtime_layer *rl = ctx;
	char *prefix = xasprintf("%s/tmp/runtime.", rl->cache->dir);
	int rc = fs_make_temp_dir(prefix, &rl->staging, err);

	free(prefix);
	if (rc || pyruntime_unpack(rl->runtime, rl->cache, rl->staging, &rl->files, err))
		return -1;
	for (size_t i = 0; i < rl->files.count; i++) {
		const struct pyruntime_entry *f = &rl->files.entries[i];
		enum layer_entry_type type = f->type == 'd' ? LAYER_DIRECTORY : f->type == 'l' ? LAYER_SYMLINK : LAYER_FILE;
		plan_parents(lp, f->path);
		plan_add(lp, f->path, type, f->mode, f->source, NULL, true);
	}
	return 0;
}

static int build_runtime_layer(struct image_build *b, const struct pyruntime *rt, struct cache *cache,
			       const struct layer_options *o, struct error *err)
{
	struct runtime_layer rl = {.runtime = rt, .cache = cache};
	struct layer_plan lp = {.name = "python runtime"};
	char key[65], *head = xasprintf("%s mtime=%lld level=%d zstd=%d path=%s sha256=%s", RUNTIME_LAYOUT_VERSION,
					o->mtime, o->level, (int)o->zstd, rt->path, rt->sha256);
	int rc;

	digest_sha256_hex(head, strlen(head), key);
	free(head);
	rc = build_layer(b, &lp, o, cache, key, runtime_fill, &rl, err);
	if (rl.staging) {
		struct error ignored = {0};
		fs_remove_tree(rl.staging, &ignored);
		free(rl.staging);
	}
	pyruntime_files_clear(&rl.files);
	layer_plan_free(&lp);
	return rc;
}

/* factory.lock records the runtime with the Python version read from it. */
static int record_runtime(const struct recipe *r, const struct pyruntime *rt, struct plan *plan,
			  struct diag_list *diags, struct error *err)
{
	struct lock_entry e = {0};
	char version[32];
	int rc;

	e.coordinate = xasprintf("python-runtime:%s", rt->sha256);
	e.repository = (char *)(r->python_runtime.url ? r->python_runtime.url : r->python_runtime.file);
	e.url = (char *)r->python_runtime.url;
	e.filename = (char *)fs_basename(r->python_runtime.url ? r->python_runtime.url : r->python_runtime.file);
	snprintf(version, sizeof(version), "%s", rt->version);
	e.version = version;
	memcpy(e.sha256, rt->sha256, sizeof(e.sha256));
	rc = plan_lock_record(plan, r->dir, &e, 1, diags, err);
	free(e.coordinate);
	return rc;
}

json_t *image_build_inputs(const struct image_build *b)
{
	json_t *python, *wheels;

	if (!b->has_runtime && !b->wheel_count)
		return NULL;
	python = json_object();
	if (b->has_runtime)
		json_object_set_new(python, "runtime",
				    json_pack("{s:s, s:s}", "sha256", b->runtime_sha256, "version", b->runtime_version));
	wheels = json_array();
	for (size_t i = 0; i < b->wheel_count; i++)
		json_array_append_new(wheels, json_pack("{s:s, s:s}", "filename", b->wheels[i].filename, "sha256",
							b->wheels[i].sha256));
	json_object_set_new(python, "wheels", wheels);
	return json_pack("{s:o}", "python", python);
}

/* ---- config and manifest ---------------------------------------------------------------- */

static void iso8601(long long epoch, char *buf, size_t size)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_env(json_t *config, const char *key, const char *value)
{
	json_t *env = json_object_get(config, "Env");
	size_t i, len = strlen(key);
	json_t *e;

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, key, len) == 0 && s[len] == '=')
			break;
	}
	char *entry = xasprintf("%s=%s", key, value);
	if (i < json_array_size(env))
		json_array_set_new(env, i, json_string(entry)); /* the recipe's value wins over the base's */
	else
		json_array_append_new(env, json_string(entry));
	free(entry);
}

/* <runtime>/bin first on PATH, so that python3 and python are the runtime's for every
 * process of the image (the JobManager's client and the TaskManagers alike). */
static void prepend_path(json_t *config, const char *runtime_path)
{
	json_t *env = json_object_get(config, "Env"), *e;
	const char *current = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *value;
	size_t i;

	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, "PATH=", 5) == 0)
			current = s + 5;
	}
	value = xasprintf("%s/bin%s%s", runtime_path, *current ? ":" : "", current);
	set_env(config, "PATH", value);
	free(value);
}

static void prepare_config(struct image_build *b, const struct base_image *base, const struct recipe *r,
			   const char *created)
{
	json_t *cfg = json_deep_copy(base->image.config_json), *inner, *labels, *rootfs;

	if (!json_is_object(cfg)) {
		json_decref(cfg);
		cfg = json_object();
	}
	json_object_set_new(cfg, "created", json_string(created));
	inner = json_object_get(cfg, "config");
	if (!json_is_object(inner)) {
		inner = json_object();
		json_object_set_new(cfg, "config", inner);
	}
	for (size_t i = 0; i < r->image_env.count; i++)
		set_env(inner, r->image_env.items[i].key, r->image_env.items[i].value);
	labels = json_object_get(inner, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(inner, "Labels", labels);
	}
	for (size_t i = 0; i < r->image_labels.count; i++)
		json_object_set_new(labels, r->image_labels.items[i].key, json_string(r->image_labels.items[i].value));
	rootfs = json_object_get(cfg, "rootfs");
	if (!json_is_object(rootfs) || !json_is_array(json_object_get(rootfs, "diff_ids"))) {
		rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
		json_object_set_new(cfg, "rootfs", rootfs);
	}
	if (!json_is_array(json_object_get(cfg, "history")))
		json_object_set_new(cfg, "history", json_array());
	b->image.config_json = cfg;
}

static int finish(struct image_build *b, const struct base_image *base, const struct recipe *r, const char *created,
		  struct cache *cache, struct error *err)
{
	json_t *history = json_object_get(b->image.config_json, "history"), *m, *layers, *annotations;
	char *text;
	size_t size;
	int rc;

	for (size_t i = b->base_layers; i < b->image.layer_count; i++)
		json_array_append_new(history, json_pack("{s:s, s:s}", "created", created, "created_by",
							 b->image.layers[i].created_by));
	text = oci_json_canonical(b->image.config_json, &size);
	rc = oci_put_blob(cache, OCI_MEDIA_CONFIG, text, size, &b->image.config, err);
	free(text);
	if (rc)
		return -1;

	m = json_object();
	layers = json_array();
	for (size_t i = 0; i < b->image.layer_count; i++)
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", b->image.layers[i].media_type,
							"digest", b->image.layers[i].digest, "size",
							(json_int_t)b->image.layers[i].size));
	annotations = json_object();
	json_object_set_new(annotations, "org.opencontainers.image.title", json_string(r->name));
	json_object_set_new(annotations, "org.opencontainers.image.version", json_string(b->tag));
	json_object_set_new(annotations, "org.opencontainers.image.created", json_string(created));
	if (base->name)
		json_object_set_new(annotations, "org.opencontainers.image.base.name", json_string(base->name));
	json_object_set_new(annotations, "org.opencontainers.image.base.digest", json_string(base->image.manifest_digest));
	if (r->image_source)
		json_object_set_new(annotations, "org.opencontainers.image.source", json_string(r->image_source));
	if (r->image_revision)
		json_object_set_new(annotations, "org.opencontainers.image.revision", json_string(r->image_revision));
	json_object_set_new(m, "schemaVersion", json_integer(2));
	json_object_set_new(m, "mediaType", json_string(OCI_MEDIA_MANIFEST));
	json_object_set_new(m, "config", json_pack("{s:s, s:s, s:I}", "mediaType", OCI_MEDIA_CONFIG, "digest",
						   b->image.config.digest, "size", (json_int_t)b->image.config.size));
	json_object_set_new(m, "layers", layers);
	json_object_set_new(m, "annotations", annotations);
	text = oci_json_canonical(m, &size);
	json_decref(m);
	rc = oci_put_blob(cache, OCI_MEDIA_MANIFEST, text, size, &b->manifest, err);
	free(text);
	return rc;
}

/* ---- lint and assembly ------------------------------------------------------------------ */

static void lint(const struct recipe *r, const struct base_facts *f, const struct layer_plan *plans, size_t nplans,
		 struct diag_list *diags)
{
	if (r->has_python && !f->python[0] && !r->python_runtime.sha256)
		diag_add(diags, DIAG_ERROR, r->file, 0, 0,
			 "the base image %s has no Python (looked for usr/bin/python3.N and usr/local/bin/python3.N): "
			 "a PyFlink job needs one; add python.runtime (a relocatable CPython such as "
			 "python-build-standalone's install_only tarball) or build on an image with Python",
			 r->base_image);
	if (r->has_python && !f->flink_python_jar)
		diag_add(diags, DIAG_ERROR, r->file, 0, 0,
			 "the base image %s has no /opt/flink/opt/flink-python-%d.%d.%d.jar: is it Flink %d.%d.%d?",
			 r->base_image, r->flink_major, r->flink_minor, r->flink_patch, r->flink_major, r->flink_minor,
			 r->flink_patch);
	if (f->unread)
		diag_add(diags, DIAG_WARNING, r->file, 0, 0,
			 "%zu layer%s of %s stayed in the registry (not downloaded): its JARs were not checked against "
			 "the ones added", f->unread, f->unread == 1 ? "" : "s", r->base_image);
	/* The same jar in two of lib/, usrlib/ and a plugin directory is loaded twice, by two class
	 * loaders. */
	for (size_t p = 0; p < nplans; p++)
		for (size_t i = 0; i < plans[p].count; i++) {
			const char *path = plans[p].entries[i].path, *name = fs_basename(path);
			if (plans[p].entries[i].type != LAYER_FILE || strncmp(path, "opt/flink/", 10) != 0)
				continue;
			for (size_t k = 0; k < f->jar_count; k++)
				if (strcmp(fs_basename(f->jars[k]), name) == 0 && strcmp(f->jars[k], path + 10) != 0)
					diag_add(diags, DIAG_WARNING, r->file, 0, 0,
						 "%s is added as %s but the base already has %s: the classes would be "
						 "loaded twice; keep one (destination)", name, path + 10, f->jars[k]);
			for (size_t q = 0; q < p; q++)
				for (size_t k = 0; k < plans[q].count; k++) {
					const char *other = plans[q].entries[k].path;
					if (plans[q].entries[k].type == LAYER_FILE && strcmp(fs_basename(other), name) == 0 &&
					    strcmp(other, path) != 0 && strncmp(other, "opt/flink/", 10) == 0)
						diag_add(diags, DIAG_WARNING, r->file, 0, 0,
							 "%s is added as %s and as %s: the classes would be loaded twice; "
							 "keep one (destination)", name, path + 10, other + 10);
				}
		}
}

int image_assemble(struct image_build *b, const struct recipe *r, const struct config *config, struct plan *plan,
		   const struct base_image *base, struct cache *cache, const struct image_options *options,
		   struct diag_list *diags, struct error *err)
{
	struct layer_plan plans[3] = {{.name = "connectors"}, {.name = "jars"}, {.name = "files"}};
	struct base_facts facts = {0};
	struct pyruntime runtime = {0};
	bool has_runtime = r->python_runtime.sha256 != NULL;
	struct layer_options lo = {(unsigned)r->image_uid, (unsigned)r->image_gid, options->epoch, options->level, 0,
				   r->image_zstd};
	char created[32];
	int rc = -1;

	memset(b, 0, sizeof(*b));
	b->tag = xstrdup(r->image_tags.count ? r->image_tags.items[0] : "latest");
	iso8601(options->epoch, created, sizeof(created));
	if (read_base_facts(base, r, cache, &facts, err) || plan_artifacts(&plans[0], &plans[1], r, plan, cache, err) ||
	    plan_files(&plans[2], r, err) ||
	    (has_runtime && pyruntime_fetch(&r->python_runtime, r->dir, cache, &runtime, err)))
		goto out;
	lint(r, &facts, plans, 3, diags);
	if (diag_list_has_errors(diags)) {
		error_set(err, ERROR_INVALID, "the image cannot be built on %s", r->base_image);
		goto out;
	}
	prepare_config(b, base, r, created);
	if (has_runtime)
		prepend_path(json_object_get(b->image.config_json, "config"), runtime.path);
	b->image.layers = calloc(base->image.layer_count + 6, sizeof(*b->image.layers));
	if (!b->image.layers)
		abort();
	for (size_t i = 0; i < base->image.layer_count; i++) {
		struct oci_descriptor *d = &b->image.layers[b->image.layer_count++];
		*d = base->image.layers[i];
		d->media_type = xstrdup(d->media_type);
		d->created_by = NULL;
	}
	b->base_layers = b->image.layer_count;
	/* From the most to the least stable, so that apps share their lower layers. */
	if ((has_runtime && build_runtime_layer(b, &runtime, cache, &lo, err)) ||
	    build_layer(b, &plans[0], &lo, cache, NULL, NULL, NULL, err) ||
	    build_layer(b, &plans[1], &lo, cache, NULL, NULL, NULL, err) ||
	    build_python_layer(b, r, config, plan, &facts, has_runtime ? &runtime : NULL, cache, &lo, diags, err) ||
	    build_layer(b, &plans[2], &lo, cache, NULL, NULL, NULL, err))
		goto out;
	if (has_runtime) {
		b->has_runtime = true;
		memcpy(b->runtime_sha256, runtime.sha256, sizeof(b->runtime_sha256));
		memcpy(b->runtime_version, runtime.version, sizeof(b->runtime_version));
		if (record_runtime(r, &runtime, plan, diags, err))
			goto out;
	}
	rc = finish(b, base, r, created, cache, err);
out:
	for (size_t i = 0; i < 3; i++)
		layer_plan_free(&plans[i]);
	free_base_facts(&facts);
	return rc;
}
