/* fsutil.h - file helpers that never leave a half-written file behind. */
#ifndef FACTORY_FSUTIL_H
#define FACTORY_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Reads a whole regular file; refuses files larger than max_size (ERROR_LIMIT). The buffer
 * is NUL-terminated (not counted in *size); free() it. */
/* Opens a file for reading only if it is a regular file: opened without blocking (a FIFO
 * would wait for a writer for ever) and checked with fstat before anything is read, so a
 * FIFO, a device (/dev/zero) or a directory is an error, never a hang. Returns the fd. */
int fs_open_regular(const char *path, struct error *err);

/* Whether `rel` names, inside directory `dir`, a regular file (or, with want_dir, a
 * directory) when every component is resolved without leaving `dir`: symbolic links are
 * followed only while they stay beneath it (openat2 RESOLVE_BENEATH; kernels without
 * openat2 refuse symbolic links altogether). A FIFO or a device is refused. */
int fs_check_beneath(const char *dir, const char *rel, bool want_dir, struct error *err);

int fs_read_file(const char *path, size_t max_size, char **data, size_t *size, struct error *err);

/* Writes data to a temporary file beside `path`, fsyncs it and renames it into place. On any
 * failure the temporary file is removed and `path` is untouched. */
int fs_write_file_atomic(const char *path, const void *data, size_t size, unsigned mode,
			 struct error *err);

/* Whether `path` is a regular file holding exactly these bytes. */
bool fs_file_holds(const char *path, const void *data, size_t size);

/* Creates `path`, which must not exist, with these bytes and mode, fsynced; on failure it is
 * removed (for a directory that is swapped in as a whole afterwards). */
int fs_write_new_file(const char *path, const void *data, size_t size, unsigned mode, struct error *err);

/* fs_write_file_atomic unless `path` already holds exactly these bytes with this mode. */
int fs_update_file(const char *path, const void *data, size_t size, unsigned mode, struct error *err);

/* Copies a regular file to a new file `to` (0644, fsynced); on failure `to` is removed. */
int fs_copy_file(const char *from, const char *to, struct error *err);

/* mkdir -p with mode 0755 for missing components. */
int fs_mkdir_p(const char *path, struct error *err);

/* rm -rf; a missing path is not an error. Does not follow symlinks. */
int fs_remove_tree(const char *path, struct error *err);

/* Makes a fresh directory named `<prefix>XXXXXX`; returns a malloc'd path. */
int fs_make_temp_dir(const char *prefix, char **path, struct error *err);

/* Atomically puts directory `staged` at `target`: the old `target` (if any) stays complete
 * until the swap and is removed afterwards. */
int fs_replace_dir(const char *staged, const char *target, struct error *err);

/* Writes directory `target` as a whole: `fill` populates a staging directory beside it, which
 * is then swapped in (fs_replace_dir). SIGINT/SIGTERM/SIGHUP are held while the staging
 * directory exists, so an interrupt never leaves a half-written one; on failure it is removed
 * and `target` stays as it was. */
int fs_write_dir_atomic(const char *target, int (*fill)(const char *staged, void *ctx, struct error *err), void *ctx,
			struct error *err);

/* Removes what killed runs left in `dir`: entries whose name starts with `prefix`, older than
 * a minute, that no live process holds an flock on (writers lock their temporary file or
 * staging directory while they fill it: the kernel drops the lock when the writer dies, so a
 * dead owner is told from a slow one without trusting pids). Best effort, never an error. */
void fs_sweep_stale(const char *dir, const char *prefix);

/* Joins two path components with exactly one '/'; returns a malloc'd string. */
char *fs_path_join(const char *a, const char *b);

/* The directory part of a path ("." when there is none); malloc'd. */
char *fs_dirname(const char *path);

/* The last component of a path, pointing into `path`. */
const char *fs_basename(const char *path);

int fs_fsync_dir(const char *dir, struct error *err);

#endif
