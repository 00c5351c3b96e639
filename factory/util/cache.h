/* cache.h - the content-addressed download cache shared by every factory process.
 *
 * Blobs live at <dir>/blobs/sha256/<hex>. A blob is written to <dir>/tmp/, hashed while it
 * is written, fsynced and renamed into place only once it is verified, so the cache never
 * holds a partial or wrong entry, whatever fails or whoever else writes at the same time:
 * two writers of the same content rename identical files onto the same name. A blob is
 * trusted without reading it while its stat data is what it was when it was last hashed
 * (statrec); otherwise it is hashed again and evicted when it does not match.
 */
#ifndef FACTORY_CACHE_H
#define FACTORY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "digest.h"
#include <stdbool.h>

#include "error.h"

struct statrec;

/* Names under <cache>/tmp/ that cache_open sweeps when their writer is gone. */
#define CACHE_SCRATCH_PREFIX "scratch."

struct cache {
	char *dir;
	int lock_fd; /* shared flock held while the cache is open */
	struct statrec *verified; /* <dir>/verified: stat records of hashed blobs and files */
	char *cwd;                /* for the records of relative paths; NULL until needed */
	bool distrust;            /* records are ignored: every blob and file read is hashed */
};

struct cache_writer {
	struct cache *cache;
	char *tmp_path;
	int fd;
	off_t size;
	struct digest_set *digests;
};

int cache_open(struct cache **out, const char *dir, struct error *err);
void cache_close(struct cache *cache);

/* The path of a blob (which may not exist); malloc'd. */
char *cache_blob_path(const struct cache *cache, const char *sha256);

/* True when a blob with this digest is present and its content still hashes to it (taken
 * from its stat record while that holds); a corrupt blob is removed. `size` (may be NULL)
 * receives its size. */
bool cache_verify(struct cache *cache, const char *sha256, off_t *size);
/* The same, always reading the blob (factory verify; a blob a reader found damaged). */
bool cache_recheck(struct cache *cache, const char *sha256, off_t *size);

/* `path` (a blob's path) was hard-linked or unlinked elsewhere by this process, which moved
 * its ctime but not its bytes: its stat record follows. */
void cache_note_relinked(struct cache *cache, const char *path);

/* SHA-256 of a file outside the cache (a recipe's file), read only when its stat record does
 * not vouch for it. */
int cache_file_sha256(struct cache *cache, const char *path, char hex[65], struct error *err);

/* Starts a blob; its sha256 is computed while it is written (and, with _digests, the other
 * algorithms in the DIGEST_BIT mask too, e.g. to check a repository's .sha1). */
int cache_writer_begin(struct cache_writer *w, struct cache *cache, struct error *err);
int cache_writer_begin_digests(struct cache_writer *w, struct cache *cache, unsigned algorithms, struct error *err);
int cache_writer_write(struct cache_writer *w, const void *data, size_t size, struct error *err);
/* Discards what was written so far (a download restarting from byte 0). */
int cache_writer_reset(struct cache_writer *w, struct error *err);
/* Verifies the content against `expected_sha256` (NULL: accept) and moves it into place. On
 * mismatch nothing is stored and the error names both digests. */
int cache_writer_commit(struct cache_writer *w, const char *expected_sha256, struct error *err);
/* Removes the temporary file; safe after commit and on a never-begun writer. */
void cache_writer_abort(struct cache_writer *w);

#endif
