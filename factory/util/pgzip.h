/* pgzip.h - gzip on every core, byte-for-byte the same whatever the number of cores.
 *
 * The stream is cut into fixed-size blocks; each block is deflated on its own (primed with
 * the previous 32 KiB so the ratio stays that of one stream) and ended on a byte boundary,
 * and the pieces are written in order behind one gzip header, with the CRCs combined. The
 * output depends only on the bytes, the level and the block size, never on timing. A block
 * whose start does not compress (JARs and wheels are zip archives) is stored rather than
 * deflated again, and one that barely does is deflated at level 1. The header has no name, no timestamp and OS byte 255.
 */
#ifndef FACTORY_PGZIP_H
#define FACTORY_PGZIP_H

#include <stddef.h>

#include "error.h"

#define PGZIP_BLOCK (256 * 1024)
#define PGZIP_PROBE (16 * 1024)  /* bytes of each block tried at level 1 first */
#define PGZIP_STORE_PERCENT 95   /* stored when the probe saves less than 5% */
#define PGZIP_FAST_PERCENT 75    /* level 1 when it saves less than 25% */

/* Receives compressed bytes in stream order. */
typedef int (*pgzip_sink)(void *ctx, const void *data, size_t size, struct error *err);

struct pgzip;

/* threads <= 0: one per online CPU (at most 8). */
int pgzip_new(struct pgzip **out, int level, int threads, pgzip_sink sink, void *ctx, struct error *err);
int pgzip_write(struct pgzip *z, const void *data, size_t size, struct error *err);
/* Flushes the last block and the trailer. */
int pgzip_finish(struct pgzip *z, struct error *err);
void pgzip_free(struct pgzip *z);

#endif
