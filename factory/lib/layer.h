/* layer.h - reproducible image layers: a tar stream compressed with gzip, written into the
 * cache while both digests are computed in the same pass.
 *
 * The bytes depend only on the entries: paths are sorted, parent directories added, owners
 * numeric and fixed, modes normalised, every mtime set to one value, no atime/ctime or user
 * names, and the gzip header carries no name, no timestamp and a fixed OS byte. Compression
 * runs on every core (pgzip) with output independent of the number of threads. The diffID
 * (sha256 of the tar) and the blob digest (sha256 of the gzip stream) come out of the one
 * pass that writes the blob.
 */
#ifndef FACTORY_LAYER_H
#define FACTORY_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cache.h"
#include "error.h"

enum layer_entry_type { LAYER_FILE, LAYER_DIRECTORY, LAYER_SYMLINK };

struct layer_entry {
	const char *path;   /* inside the image, without a leading '/', e.g. "opt/flink/lib/x.jar" */
	enum layer_entry_type type;
	unsigned mode;      /* permission bits; 0 picks 0644 for files, 0755 for directories */
	const char *source; /* LAYER_FILE: file to copy; LAYER_SYMLINK: link target */
	bool root_owned;    /* 0:0 instead of the layer's owner (e.g. /opt above FLINK_HOME) */
	/* LAYER_FILE: the hex sha256 the source must hash to, checked as it is copied (the layer's
	 * key was computed from it); NULL: not checked. A mismatch is ERROR_CONFLICT. */
	const char *sha256;
};

struct layer_options {
	unsigned uid;
	unsigned gid;
	long long mtime; /* seconds since the epoch, for every entry */
	int level;       /* gzip level 1..9 */
	int threads;     /* compression threads; 0: one per core (the output does not depend on it) */
	bool zstd;       /* zstd (level 3, one thread, no checksum) instead of gzip */
};

struct layer_result {
	char digest[72];  /* "sha256:<hex>" of the compressed blob */
	const char *media_type;
	char diff_id[72]; /* "sha256:<hex>" of the uncompressed tar */
	long long size;   /* compressed size */
	size_t entries;   /* tar entries, parents included */
};

/* Refuses absolute paths, "." and ".." components and symlinks that leave the root. */
int layer_check_path(const char *path, struct error *err);

int layer_write(const struct layer_entry *entries, size_t count, const struct layer_options *options,
		struct cache *cache, struct layer_result *result, struct error *err);

#endif
