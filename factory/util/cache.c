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
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->dir);
	free(c);
}

char *cache_blob_path(const struct cache *c, const char *sha256)
{
	return xasprintf("%s/blobs/sha256/%s", c->dir, sha256);
}

bool cache_verify(struct cache *c, const char *sha256, off_t *size)
{
	char *path = cache_blob_path(c, sha256);
	char actual[65];
	struct error err = {0};
	struct stat st;
	bool ok = false;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (digest_file_sha256(path, actual, &err) == 0 && strcmp(actual, sha256) == 0) {
			ok = true;
			if (size)
				*size = st.st_size;
		} else {
			unlink(path); /* corrupt: evict, it will be fetched again */
		}
	}
	free(path);
	return ok;
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
			return error_set_errno(err, "cannot write to the cache (%s)", w->tmp_path);
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
