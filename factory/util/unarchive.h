/* unarchive.h - reading tar and zip archives (image layers, docker save files, wheels) with
 * their names exactly as stored, whatever the user's locale.
 *
 * libarchive converts entry names between the archive's charset and the current locale's.
 * Under LC_ALL=C (or a locale that is not installed) a UTF-8 name such as the ones
 * ca-certificates ships cannot be converted: libarchive returns ARCHIVE_WARN and no name.
 * Every libarchive call made through this module therefore runs with a UTF-8 LC_CTYPE for
 * the calling thread only (uselocale), so names come out as their UTF-8 bytes, and names
 * stored as raw bytes (old ustar archives in a legacy charset) come out as those bytes. The
 * process locale is never changed. ARCHIVE_WARN is a warning: the entry is kept and the
 * first warning is remembered; only ARCHIVE_FATAL/ARCHIVE_FAILED end the stream.
 *
 * A gzip tar is inflated here with ISA-L (about twice as fast as the zlib libarchive uses)
 * and libarchive reads the tar inside. Every member of a multi-member stream is read and each
 * member's CRC-32 and length are checked against its trailer (libarchive checks neither), as
 * is a header CRC where one is present; the tar's end does not end the check: the rest of the
 * stream is inflated and checked when unarchive_next reaches the end. What follows the last
 * member and is not a whole gzip header is ignored, as libarchive does.
 */
#ifndef FACTORY_UNARCHIVE_H
#define FACTORY_UNARCHIVE_H

#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct archive;
struct archive_entry;
struct unarchive_gunzip;

enum unarchive_format { UNARCHIVE_TAR, UNARCHIVE_ZIP };

/* The one compression a tar is read through. Anything but _ANY is exactly that filter and no
 * other: a gzip inside the gzip stays a gzip (an unknown format), never unwrapped again. */
enum unarchive_filter { UNARCHIVE_FILTER_ANY, UNARCHIVE_FILTER_NONE, UNARCHIVE_FILTER_GZIP, UNARCHIVE_FILTER_ZSTD };

/* How far an archive may expand: a small compressed file can decompress to terabytes (a
 * "bomb") and a scan of it would never end. Past min(max_bytes, max(ratio * compressed size,
 * UNARCHIVE_EXPANSION_FLOOR)) decompressed bytes reading fails with ERROR_LIMIT. The floor
 * lets small archives of highly compressible content through. 0: the default. */
struct unarchive_limits {
	long long max_bytes;
	long long ratio;
	const volatile sig_atomic_t *interrupted; /* may be NULL: reading ends with ERROR_INTERRUPTED */
};

#define UNARCHIVE_DEFAULT_MAX_BYTES (64LL << 30)
#define UNARCHIVE_DEFAULT_RATIO 200
#define UNARCHIVE_EXPANSION_FLOOR (64LL << 20)

struct unarchive {
	struct archive *archive;
	int fd;                  /* tar: read through our callback, which enforces the limits */
	long long compressed;    /* the file's size */
	long long max_out;       /* decompressed bytes allowed */
	long long data_out;      /* entry data bytes delivered */
	const volatile sig_atomic_t *interrupted;
	int stop;                /* why our callback refused: 0, ERROR_LIMIT or ERROR_INTERRUPTED */
	char buffer[1 << 16];
	struct unarchive_gunzip *gunzip; /* a gzip tar: the inflate state (NULL otherwise) */
	locale_t utf8;
	const char *what;      /* the archive's name in messages */
	size_t warnings;       /* ARCHIVE_WARN results seen */
	char first_warning[256];
};

/* A UTF-8 LC_CTYPE locale object ("C.UTF-8", else another UTF-8 locale); the caller frees it. */
int unarchive_utf8_locale(locale_t *out, struct error *err);

/* Opens `path` (any compression libarchive reads: gzip, zstd, none...). `what` names the
 * archive in error messages and must outlive the reader. */
int unarchive_open(struct unarchive *u, const char *path, enum unarchive_format format, const char *what,
		   struct error *err);

/* Like unarchive_open, through exactly `filter` (tar only; zip ignores it) and within `limits`
 * (NULL: the defaults, which unarchive_open applies too). The file must be a regular file. */
int unarchive_open_with(struct unarchive *u, const char *path, enum unarchive_format format,
			enum unarchive_filter filter, const struct unarchive_limits *limits, const char *what,
			struct error *err);

/* 1 and *entry set: the next entry; 0: the end; -1: the archive is damaged (err says how). An
 * entry that came with a warning is returned like any other. */
int unarchive_next(struct unarchive *u, struct archive_entry **entry, struct error *err);

/* The entry's path and link targets as stored (UTF-8 or raw bytes); never NULL for a path. */
const char *unarchive_path(struct unarchive *u, struct archive_entry *entry);
const char *unarchive_symlink(struct unarchive *u, struct archive_entry *entry);  /* NULL: not a symlink */
const char *unarchive_hardlink(struct unarchive *u, struct archive_entry *entry); /* NULL: not a hardlink */

/* Reads the current entry's data (like archive_read_data_block): 1 a block, 0 the end, -1 error. */
int unarchive_data(struct unarchive *u, const void **buf, size_t *len, long long *offset, struct error *err);

void unarchive_close(struct unarchive *u);

#endif
