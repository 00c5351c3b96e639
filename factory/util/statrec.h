/* statrec.h - what a file's content hashed to, kept with the stat data it had then.
 *
 * A file whose device, inode, size, mtime and ctime are the ones recorded when it was last
 * hashed is trusted to hold the same bytes without reading it: any write, truncation,
 * rename over it or chmod changes its ctime, which no process can set back (git's index
 * trusts the work tree the same way). A record is only as good as the timestamps, so one
 * taken while the file could still change within the same clock tick ("racily clean" in
 * git) is kept out: such a file is hashed again next time.
 *
 * The records of a cache live in one file, read once when first needed and written back
 * (merged with what other processes added meanwhile) by statrec_save. Losing the file costs
 * one re-hash of everything, never a wrong answer, so it is not fsynced.
 */
#ifndef FACTORY_STATREC_H
#define FACTORY_STATREC_H

#include <stdbool.h>
#include <sys/stat.h>

#include "error.h"

struct statrec;

/* `path`: where the records are kept (need not exist yet). */
struct statrec *statrec_open(const char *path);
/* Writes the records back if any changed; best effort (a failure loses speed, not data). */
void statrec_save(struct statrec *records);
void statrec_free(struct statrec *records);

/* Whether `key` has a record made with stat `st`; its sha256 is copied out. Every function
 * here may be called from several threads at once. */
bool statrec_lookup(struct statrec *records, const char *key, const struct stat *st, char sha256[65]);

/* Records that `key`, with stat `st`, hashes to `sha256`. `fresh`: the caller wrote the
 * content itself and took `st` after its last write, so no racy-timestamp margin applies. */
void statrec_put(struct statrec *records, const char *key, const struct stat *st, const char *sha256, bool fresh);

void statrec_forget(struct statrec *records, const char *key);

/* The caller itself only added or removed hard links of `key` (which moves its ctime, never
 * its bytes): a record that still matches in everything else takes the new ctime. */
void statrec_relinked(struct statrec *records, const char *key, const struct stat *st);

#endif
