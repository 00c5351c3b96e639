#include "layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "digest.h"
#include "fsutil.h"
#include "oci.h"
#include "pgzip.h"
#include "unarchive.h"

#include "util.h"

#define CHUNK (256 * 1024)

#define ZSTD_LEVEL 3

struct sink {
	EVP_MD_CTX *tar_digest;
	struct pgzip *gzip;
	ZSTD_CCtx *zstd;
	struct cache_writer writer;
	struct error *err;
	int failed;
};

int layer_check_path(const char *path, struct error *err)
{
	const char *p = path;

	if (!*path || *path == '/')
		return error_set(err, ERROR_INVALID, "'%s': layer paths are relative to the image root", path);
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return error_set(err, ERROR_INVALID, "'%s': empty, '.' or '..' component", path);
		p += n + (p[n] == '/');
	}
	return 0;
}

/* A symlink target must resolve inside the root when followed from the link's directory. */
static int check_link(const char *path, const char *target, struct error *err)
{
	int depth = 0;
	const char *p;

	if (*target == '/')
		return 0; /* absolute targets resolve inside the container's own root */
	for (p = path; *p; p++)
		depth += *p == '/';
	for (p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (n > 0 && !(n == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			return error_set(err, ERROR_INVALID, "symlink '%s' -> '%s' leaves the image root", path, target);
		p += n + (p[n] == '/');
	}
	return 0;
}

static int to_cache(void *ctx, const void *data, size_t size, struct error *err)
{
	struct sink *s = ctx;
	return cache_writer_write(&s->writer, data, size, err);
}

/* One fixed zstd setup (level, single thread, no checksum or size in the frame header) so
 * the bytes depend on the input alone. */
static int zstd_push(struct sink *s, const void *buf, size_t len, ZSTD_EndDirective mode)
{
	unsigned char out[1 << 16];
	ZSTD_inBuffer in = {buf, len, 0};
	size_t left;

	do {
		ZSTD_outBuffer ob = {out, sizeof(out), 0};
		left = ZSTD_compressStream2(s->zstd, &ob, &in, mode);
		if (ZSTD_isError(left))
			return error_set(s->err, ERROR_INTERNAL, "zstd: %s", ZSTD_getErrorName(left));
		if (cache_writer_write(&s->writer, out, ob.pos, s->err) < 0)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;

	(void)a;
	EVP_DigestUpdate(s->tar_digest, buf, len);
	if (s->zstd ? zstd_push(s, buf, len, ZSTD_e_continue) < 0 : pgzip_write(s->gzip, buf, len, s->err) < 0) {
		s->failed = 1;
		return -1;
	}
	return (la_ssize_t)len;
}

struct item {
	char *path;
	enum layer_entry_type type;
	unsigned mode;
	const char *source;
	const char *sha256;
	bool root_owned;
	bool implied; /* a parent directory nobody listed */
};

static int compare_items(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->path, ((const struct item *)b)->path);
}

/* Entries plus every missing parent directory, sorted and without duplicates. */
static int collect(const struct layer_entry *entries, size_t count, struct item **out, size_t *n,
		   struct error *err)
{
	struct item *items = NULL;
	size_t len = 0, cap = 0;

	for (size_t i = 0; i < count; i++) {
		char *path;
		if (layer_check_path(entries[i].path, err) < 0)
			goto fail;
		if (entries[i].type == LAYER_SYMLINK && check_link(entries[i].path, entries[i].source, err) < 0)
			goto fail;
		path = xstrdup(entries[i].path);
		for (char *slash = strchr(path, '/');; slash = strchr(slash + 1, '/')) {
			if (len + 1 >= cap) {
				cap = cap ? cap * 2 : 64;
				items = realloc(items, cap * sizeof(*items));
				if (!items)
					abort();
			}
			if (!slash) {
				items[len++] = (struct item){path, entries[i].type, entries[i].mode, entries[i].source,
							     entries[i].sha256, entries[i].root_owned, false};
				break;
			}
			items[len++] = (struct item){xasprintf("%.*s", (int)(slash - path), path), LAYER_DIRECTORY, 0, NULL,
						     NULL, false, true};
		}
	}
	if (len)
		qsort(items, len, sizeof(*items), compare_items);
	/* Keep one of each path; an explicit entry wins over an implied parent directory. */
	size_t kept = 0;
	for (size_t i = 0; i < len; i++) {
		struct item *prev = kept ? &items[kept - 1] : NULL;
		if (!prev || strcmp(prev->path, items[i].path) != 0) {
			items[kept++] = items[i];
			continue;
		}
		if (!prev->implied && !items[i].implied) {
			error_set(err, ERROR_INVALID, "'%s' appears twice in the layer", items[i].path);
			for (size_t k = i; k < len; k++)
				free(items[k].path);
			len = kept;
			goto fail;
		}
		if (prev->implied) {
			free(prev->path);
			*prev = items[i];
		} else {
			free(items[i].path);
		}
	}
	*out = items;
	*n = kept;
	return 0;
fail:
	for (size_t i = 0; i < len; i++)
		free(items[i].path);
	free(items);
	return -1;
}

static int copy_file(struct archive *a, const char *source, const char *sha256, struct error *err)
{
	char *buf = malloc(CHUNK), hex[65];
	int fd = fs_open_regular(source, err), rc = 0;
	EVP_MD_CTX *check = sha256 ? EVP_MD_CTX_new() : NULL;

	if (!buf || (sha256 && (!check || !EVP_DigestInit_ex(check, EVP_sha256(), NULL))))
		abort();
	if (fd < 0) {
		free(buf);
		EVP_MD_CTX_free(check);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set_errno(err, "cannot read %s", source);
			break;
		}
		if (n == 0)
			break;
		if (check)
			EVP_DigestUpdate(check, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n) {
			rc = error_set(err, ERROR_IO, "cannot write %s into the layer: %s", source, archive_error_string(a));
			break;
		}
	}
	if (rc == 0 && check) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int len = 0;
		EVP_DigestFinal_ex(check, md, &len);
		digest_hex(md, len, hex);
		if (strcmp(hex, sha256) != 0)
			rc = error_set(err, ERROR_CONFLICT, "%s no longer hashes to sha256:%s (now %s)", source, sha256, hex);
	}
	EVP_MD_CTX_free(check);
	close(fd);
	free(buf);
	return rc;
}

static int write_items(struct archive *a, const struct item *items, size_t n, const struct layer_options *o,
		       struct error *err)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct item *it = &items[i];
		struct stat st;

		archive_entry_clear(e);
		archive_entry_set_pathname(e, it->path);
		archive_entry_set_uid(e, it->root_owned ? 0 : o->uid);
		archive_entry_set_gid(e, it->root_owned ? 0 : o->gid);
		archive_entry_set_mtime(e, (time_t)o->mtime, 0);
		switch (it->type) {
		case LAYER_DIRECTORY:
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, it->mode ? it->mode : 0755);
			break;
		case LAYER_SYMLINK:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, it->source);
			break;
		default:
			if (stat(it->source, &st) < 0 || !S_ISREG(st.st_mode)) {
				rc = error_set(err, ERROR_IO, "%s is not a readable regular file", it->source);
				continue;
			}
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, it->mode ? it->mode : 0644);
			archive_entry_set_size(e, st.st_size);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK) {
			rc = error_set(err, ERROR_IO, "cannot write the header of %s: %s", it->path, archive_error_string(a));
			continue;
		}
		if (it->type == LAYER_FILE)
			rc = copy_file(a, it->source, it->sha256, err);
	}
	archive_entry_free(e);
	return rc;
}

int layer_write(const struct layer_entry *entries, size_t count, const struct layer_options *o,
		struct cache *cache, struct layer_result *result, struct error *err)
{
	struct sink s = {.err = err};
	struct archive *a = NULL;
	struct item *items = NULL;
	size_t n = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	locale_t utf8 = (locale_t)0, saved_locale = (locale_t)0;
	int rc = -1;

	memset(result, 0, sizeof(*result));
	if (collect(entries, count, &items, &n, err) < 0)
		return -1;
	if (cache_writer_begin(&s.writer, cache, err) < 0)
		goto out;
	s.tar_digest = EVP_MD_CTX_new();
	if (!s.tar_digest || !EVP_DigestInit_ex(s.tar_digest, EVP_sha256(), NULL))
		abort();
	if (o->zstd) {
		s.zstd = ZSTD_createCCtx();
		if (!s.zstd)
			abort();
		ZSTD_CCtx_setParameter(s.zstd, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		ZSTD_CCtx_setParameter(s.zstd, ZSTD_c_checksumFlag, 0);
		ZSTD_CCtx_setParameter(s.zstd, ZSTD_c_contentSizeFlag, 0);
	} else if (pgzip_new(&s.gzip, o->level ? o->level : 6, o->threads, to_cache, &s, err) < 0) {
		goto out;
	}

	/* Names are UTF-8 bytes whatever the user's locale: libarchive converts them through
	 * LC_CTYPE, so write them under a UTF-8 one (this thread only). */
	if (unarchive_utf8_locale(&utf8, err))
		goto out;
	saved_locale = uselocale(utf8);
	a = archive_write_new();
	/* pax only where ustar cannot say it (long or non-ASCII names), and never atime/ctime. */
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	if (archive_write_open2(a, &s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
		error_set(err, ERROR_INTERNAL, "cannot start the layer: %s", archive_error_string(a));
		goto out;
	}
	if (write_items(a, items, n, o, err) < 0 || archive_write_close(a) != ARCHIVE_OK || s.failed) {
		if (err->code == ERROR_NONE)
			error_set(err, ERROR_IO, "cannot finish the layer: %s", archive_error_string(a));
		goto out;
	}
	if (s.zstd ? zstd_push(&s, NULL, 0, ZSTD_e_end) < 0 : pgzip_finish(s.gzip, err) < 0)
		goto out;
	result->media_type = o->zstd ? OCI_MEDIA_LAYER_ZSTD : OCI_MEDIA_LAYER_GZIP;
	EVP_DigestFinal_ex(s.tar_digest, md, &md_len);
	memcpy(result->diff_id, "sha256:", 7);
	digest_hex(md, md_len, result->diff_id + 7);
	result->size = (long long)s.writer.size;
	result->entries = n;
	snprintf(result->digest, sizeof(result->digest), "sha256:%s",
		 digest_set_hex(s.writer.digests, DIGEST_SHA256));
	if (cache_writer_commit(&s.writer, NULL, err) < 0)
		goto out;
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	if (utf8 != (locale_t)0) {
		uselocale(saved_locale);
		freelocale(utf8);
	}
	pgzip_free(s.gzip);
	ZSTD_freeCCtx(s.zstd);
	EVP_MD_CTX_free(s.tar_digest);
	cache_writer_abort(&s.writer);
	for (size_t i = 0; i < n; i++)
		free(items[i].path);
	free(items);
	return rc;
}
