#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "statrec.h"
#include "util.h"

int cache_open(struct cache **out, const char *dir, struct error *err)
{
	struct cache *c;
	char *blobs = fs_path_join(dir, "blobs/sha256"), *tmp = fs_path_join(dir, "tmp");
	char *lock = fs_path_join(dir, "lock");
	int rc = -1;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->dir = xstrdup(dir);
	c->lock_fd = -1;
	{
		char *records = fs_path_join(dir, "verified");
		c->verified = statrec_open(records);
		free(records);
	}
	if (fs_mkdir_p(blobs, err) || fs_mkdir_p(tmp, err))
		goto out;
	c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (c->lock_fd < 0) {
		error_set_errno(err, "cannot open the cache lock %s", lock);
		goto out;
	}
	/* Shared: any number of factory processes fill the cache together; only maintenance
	 * that deletes blobs would need the exclusive lock. */
	while (flock(c->lock_fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			error_set_errno(err, "cannot lock %s", lock);
			goto out;
		}
	}
	/* Temporary files of killed runs (SIGKILL, power loss) are never read as blobs; each
	 * writer holds an flock on its own, so only those of dead writers go. */
	fs_sweep_stale(tmp, "download.");
	fs_sweep_stale(tmp, CACHE_SCRATCH_PREFIX);
	rc = 0;
out:
	free(blobs);
	free(tmp);
	free(lock);
	if (rc)
		cache_close(c);
	else
		*out = c;
	return rc;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	statrec_save(c->verified);
	statrec_free(c->verified);
	free(c->cwd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->dir);
	free(c);
}

char *cache_blob_path(const struct cache *c, const char *sha256)
{
	return xasprintf("%s/blobs/sha256/%s", c->dir, sha256);
}

static char *blob_key(const char *sha256)
{
	return xasprintf("blobs/sha256/%s", sha256);
}

/* Hashes an open file; `*stable` tells whether it stayed the same while it was read, so the
 * stat taken before may be recorded with the digest. */
static int hash_open_file(int fd, const char *name, char hex[65], struct stat *st, bool *stable, struct error *err)
{
	struct stat after;

	if (fstat(fd, st) < 0)
		return error_set_errno(err, "cannot stat %s", name);
	if (digest_fd_sha256(fd, name, hex, err))
		return -1;
	*stable = fstat(fd, &after) == 0 && after.st_size == st->st_size && after.st_mtim.tv_sec == st->st_mtim.tv_sec &&
		  after.st_mtim.tv_nsec == st->st_mtim.tv_nsec && after.st_ctim.tv_sec == st->st_ctim.tv_sec &&
		  after.st_ctim.tv_nsec == st->st_ctim.tv_nsec;
	return 0;
}

static bool check_blob(struct cache *c, const char *sha256, off_t *size, bool trust_record)
{
	char *path = cache_blob_path(c, sha256), *key = blob_key(sha256);
	char actual[65];
	struct error ignored = {0};
	struct stat st;
	bool ok = false, stable = false;
	int fd;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		char known[65];
		if (trust_record && !c->distrust && statrec_lookup(c->verified, key, &st, known) &&
		    strcmp(known, sha256) == 0) {
			ok = true;
		} else if ((fd = fs_open_regular(path, &ignored)) >= 0) {
			ok = hash_open_file(fd, path, actual, &st, &stable, &ignored) == 0 && strcmp(actual, sha256) == 0;
			close(fd);
		}
		if (ok && size)
			*size = st.st_size;
		if (ok && stable)
			statrec_put(c->verified, key, &st, sha256, false);
		if (!ok) {
			unlink(path); /* corrupt: evict, it will be fetched again */
			statrec_forget(c->verified, key);
		}
	}
	free(key);
	free(path);
	return ok;
}

bool cache_verify(struct cache *c, const char *sha256, off_t *size)
{
	return check_blob(c, sha256, size, true);
}

bool cache_recheck(struct cache *c, const char *sha256, off_t *size)
{
	return check_blob(c, sha256, size, false);
}

int cache_file_sha256(struct cache *c, const char *path, char hex[65], struct error *err)
{
	char *key = path[0] == '/' ? xstrdup(path) : NULL;
	struct stat st;
	bool stable = false;
	int fd, rc;

	if (!key && !c->cwd)
		c->cwd = getcwd(NULL, 0);
	if (!key && c->cwd)
		key = fs_path_join(c->cwd, path);
	if (key && !c->distrust && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (statrec_lookup(c->verified, key, &st, hex)) {
			free(key);
			return 0;
		}
	}
	fd = fs_open_regular(path, err);
	rc = fd < 0 ? -1 : hash_open_file(fd, path, hex, &st, &stable, err);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && stable && key)
		statrec_put(c->verified, key, &st, hex, false);
	free(key);
	return rc;
}

void cache_note_relinked(struct cache *c, const char *path)
{
	size_t len = strlen(c->dir);
	struct stat st;
	char *key;

	if (strncmp(path, c->dir, len) != 0 || path[len] != '/' || stat(path, &st) < 0)
		return;
	key = xstrdup(path + len + 1);
	statrec_relinked(c->verified, key, &st);
	free(key);
}

int cache_writer_begin(struct cache_writer *w, struct cache *c, struct error *err)
{
	return cache_writer_begin_digests(w, c, DIGEST_BIT(DIGEST_SHA256), err);
}

int cache_writer_begin_digests(struct cache_writer *w, struct cache *c, unsigned algorithms, struct error *err)
{
	memset(w, 0, sizeof(*w));
	w->cache = c;
	w->fd = -1;
	w->tmp_path = xasprintf("%s/tmp/download.XXXXXX", c->dir);
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0) {
		error_set_errno(err, "cannot create a file in %s/tmp", c->dir);
		free(w->tmp_path);
		w->tmp_path = NULL;
		return -1;
	}
	/* Held until the file is renamed or removed: see fs_sweep_stale. */
	flock(w->fd, LOCK_EX);
	w->digests = digest_set_new(algorithms);
	return 0;
}

int cache_writer_write(struct cache_writer *w, const void *data, size_t size, struct error *err)
{
	const char *p = data;
	size_t left = size;

	while (left > 0) {
		ssize_t n = write(w->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set_errno(err, "cannot write to the cache in %s", w->cache->dir);
		p += n;
		left -= (size_t)n;
	}
	digest_set_update(w->digests, data, size);
	w->size += (off_t)size;
	return 0;
}

int cache_writer_reset(struct cache_writer *w, struct error *err)
{
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return error_set_errno(err, "cannot truncate %s", w->tmp_path);
	digest_set_reset(w->digests);
	w->size = 0;
	return 0;
}

int cache_writer_commit(struct cache_writer *w, const char *expected_sha256, struct error *err)
{
	const char *actual = digest_set_hex(w->digests, DIGEST_SHA256);
	char *target;
	int rc;

	if (expected_sha256 && strcmp(expected_sha256, actual) != 0) {
		error_set(err, ERROR_INVALID, "sha256 mismatch: expected %s, got %s", expected_sha256, actual);
		cache_writer_abort(w);
		return -1;
	}
	if (fsync(w->fd) < 0 || fchmod(w->fd, 0644) < 0) {
		error_set_errno(err, "cannot write %s", w->tmp_path);
		cache_writer_abort(w);
		return -1;
	}
	target = cache_blob_path(w->cache, actual);
	/* Renamed before the fd (and its flock) goes: a sweep never sees it unlocked in tmp/. */
	if (rename(w->tmp_path, target) < 0) {
		error_set_errno(err, "cannot move %s into the cache", w->tmp_path);
		free(target);
		cache_writer_abort(w);
		return -1;
	}
	{
		/* Hashed as it was written: its stat from now on vouches for the content. */
		struct stat st;
		char *key = blob_key(actual);
		if (fstat(w->fd, &st) == 0)
			statrec_put(w->cache->verified, key, &st, actual, true);
		free(key);
	}
	close(w->fd);
	w->fd = -1;
	free(target);
	free(w->tmp_path);
	w->tmp_path = NULL;
	{
		char *blobs = xasprintf("%s/blobs/sha256", w->cache->dir);
		rc = fs_fsync_dir(blobs, err);
		free(blobs);
	}
	return rc;
}

void cache_writer_abort(struct cache_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	w->tmp_path = NULL;
	digest_set_free(w->digests);
	w->digests = NULL;
}
