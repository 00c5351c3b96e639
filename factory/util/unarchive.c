#include "unarchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

/* glibc 2.35 and later have C.UTF-8 built in; older systems usually have one of the others. */
static const char *const utf8_locales[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8", NULL};

int unarchive_utf8_locale(locale_t *out, struct error *err)
{
	for (const char *const *name = utf8_locales; *name; name++) {
		*out = newlocale(LC_CTYPE_MASK, *name, (locale_t)0);
		if (*out != (locale_t)0)
			return 0;
	}
	return error_set(err, ERROR_INTERNAL, "no UTF-8 locale (C.UTF-8) is available to read archive entry names");
}

/* Each read callback's checks: stop at an interrupt, or once the output passed its bound. */
static bool may_read(struct archive *a, struct unarchive *u)
{
	if (u->interrupted && *u->interrupted) {
		u->stop = ERROR_INTERRUPTED;
		archive_set_error(a, EINTR, "interrupted");
		return false;
	}
	if (archive_filter_bytes(a, 0) > u->max_out) {
		u->stop = ERROR_LIMIT;
		archive_set_error(a, EFBIG, "it expands past %lld bytes", u->max_out);
		return false;
	}
	return true;
}

/* Called by libarchive for more compressed bytes, also while it skips an entry's data inside
 * one archive_read_next_header: the only place a bomb of one huge entry can be stopped. */
static la_ssize_t read_raw(struct archive *a, void *ctx, const void **buf)
{
	struct unarchive *u = ctx;
	ssize_t n;

	if (!may_read(a, u))
		return -1;
	do
		n = read(u->fd, u->buffer, sizeof(u->buffer));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	*buf = u->buffer;
	return n;
}

/* A gzip stream inflated by ISA-L, handed to libarchive as the plain tar it holds. */
struct unarchive_gunzip {
	struct inflate_state state; /* next_in/avail_in point into in[] between calls */
	unsigned char in[1 << 17];
	unsigned char out[1 << 18];
	bool eof;                   /* the file has no more bytes */
	bool in_member;             /* between a member's header and the end of its trailer */
	bool done;                  /* the last member has ended: nothing more comes out */
	long long members;          /* members started */
	long long out_total;        /* decompressed bytes produced */
	char error[160];            /* why inflating failed ("" while it has not) */
};

static void gunzip_failed(struct unarchive_gunzip *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gunzip_failed(struct unarchive_gunzip *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->error, sizeof(g->error), fmt, ap);
	va_end(ap);
}

/* What libarchive's gzip reader takes for a member: deflate, no reserved flag. Anything else
 * after a member is ignored as trailing data, and at the start it is not gzip at all (the
 * tar reader then sees no bytes and says the format is unrecognized, as it did). */
static bool gzip_member_starts(const unsigned char *p, size_t len)
{
	return len >= 4 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 0xe0) == 0;
}

/* Makes at least `want` unread bytes available, or all the file has left. */
static int gunzip_more(struct unarchive_gunzip *g, int fd, size_t want)
{
	struct inflate_state *s = &g->state;
	ssize_t n;

	if (s->avail_in >= want || g->eof)
		return 0;
	/* ISA-L keeps what it needs of consumed input itself: the unread rest can move. */
	if (s->avail_in > 0)
		memmove(g->in, s->next_in, s->avail_in);
	s->next_in = g->in;
	while (s->avail_in < want && !g->eof) {
		do
			n = read(fd, g->in + s->avail_in, sizeof(g->in) - s->avail_in);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			gunzip_failed(g, "%s", strerror(errno));
			return -1;
		}
		if (n == 0)
			g->eof = true;
		s->avail_in += (uint32_t)n;
	}
	return 0;
}

static const char *isal_reason(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "an invalid deflate block";
	case ISAL_INVALID_SYMBOL:
		return "an invalid deflate code";
	case ISAL_INVALID_LOOKBACK:
		return "a back-reference before the start of the data";
	case ISAL_INVALID_WRAPPER:
		return "an invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "a compression method other than deflate";
	default:
		return "an error of the decompressor";
	}
}

/* Fills g->out: the number of bytes, 0 at the end of the stream, -1 with g->error set. */
static ssize_t gunzip_fill(struct unarchive_gunzip *g, int fd)
{
	struct inflate_state *s = &g->state;

	s->next_out = g->out;
	s->avail_out = sizeof(g->out);
	while (s->avail_out > 0 && !g->done) {
		uint32_t avail_out, avail_in;
		enum isal_block_state block;
		int32_t bits;
		int r;

		if (!g->in_member) {
			uint8_t *next_in, *next_out = s->next_out;

			if (gunzip_more(g, fd, 4))
				return -1;
			if (!gzip_member_starts(s->next_in, s->avail_in)) {
				g->done = true;
				break;
			}
			next_in = s->next_in;
			avail_in = s->avail_in;
			avail_out = s->avail_out;
			/* init, not reset: 2.30's reset leaves tmp_out_valid of the last member. */
			isal_inflate_init(s);
			s->next_in = next_in;
			s->avail_in = avail_in;
			s->next_out = next_out;
			s->avail_out = avail_out;
			s->crc_flag = ISAL_GZIP; /* parses the header, checks CRC-32 and ISIZE */
			g->in_member = true;
			g->members++;
		}
		if (s->avail_in == 0 && gunzip_more(g, fd, 1))
			return -1;
		avail_out = s->avail_out;
		avail_in = s->avail_in;
		block = s->block_state;
		bits = s->read_in_length;
		r = isal_inflate(s);
		g->out_total += (long long)(avail_out - s->avail_out);
		if (r == ISAL_INCORRECT_CHECKSUM) {
			if (s->wrapper_flag)
				gunzip_failed(g, "the CRC-32 or length of gzip member %lld does not match its data",
					      g->members);
			else
				gunzip_failed(g, "the header checksum of gzip member %lld is wrong", g->members);
			return -1;
		}
		if (r < 0) {
			gunzip_failed(g, "gzip member %lld holds %s (at decompressed byte %lld)", g->members,
				      isal_reason(r), g->out_total);
			return -1;
		}
		if (s->block_state == ISAL_BLOCK_FINISH) {
			g->in_member = false;
			continue;
		}
		/* A call that changed nothing is never repeated: with no input left and none to come
		 * the member is cut short, and with input left the decoder is stuck (no hang). */
		if (s->avail_out == avail_out && s->avail_in == avail_in && s->block_state == block &&
		    s->read_in_length == bits) {
			/* A header cut short after a whole member is trailing data to libarchive too. */
			if (s->avail_in == 0 && g->members > 1 && !s->wrapper_flag) {
				g->done = true;
				break;
			}
			if (s->avail_in == 0)
				gunzip_failed(g, "the gzip stream is truncated (gzip member %lld ends early)", g->members);
			else
				gunzip_failed(g, "gzip member %lld cannot be decoded past decompressed byte %lld",
					      g->members, g->out_total);
			return -1;
		}
	}
	return (ssize_t)(sizeof(g->out) - s->avail_out);
}

/* The read callback of a gzip tar: the decompressed stream, with read_raw's checks. */
static la_ssize_t read_gunzip(struct archive *a, void *ctx, const void **buf)
{
	struct unarchive *u = ctx;
	ssize_t n;

	if (!may_read(a, u))
		return -1;
	n = gunzip_fill(u->gunzip, u->fd);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", u->gunzip->error);
		return -1;
	}
	*buf = u->gunzip->out;
	return n;
}

static long long expansion_bound(const struct unarchive_limits *limits, long long compressed)
{
	long long max = limits && limits->max_bytes > 0 ? limits->max_bytes : UNARCHIVE_DEFAULT_MAX_BYTES;
	long long ratio = limits && limits->ratio > 0 ? limits->ratio : UNARCHIVE_DEFAULT_RATIO;
	long long by_ratio = compressed > LLONG_MAX / ratio ? LLONG_MAX : compressed * ratio;

	if (by_ratio < UNARCHIVE_EXPANSION_FLOOR)
		by_ratio = UNARCHIVE_EXPANSION_FLOOR;
	return by_ratio < max ? by_ratio : max;
}

/* Whether the file opens with what libarchive's gzip reader would take for a gzip header. */
static bool starts_as_gzip(int fd)
{
	unsigned char head[4];

	return pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) && gzip_member_starts(head, sizeof(head));
}

/* Why inflating failed, when it did: said before libarchive's own words for the same stop. */
static const char *gunzip_error(const struct unarchive *u)
{
	return u->gunzip && u->gunzip->error[0] ? u->gunzip->error : NULL;
}

int unarchive_open(struct unarchive *u, const char *path, enum unarchive_format format, const char *what,
		   struct error *err)
{
	return unarchive_open_with(u, path, format, UNARCHIVE_FILTER_ANY, NULL, what, err);
}

int unarchive_open_with(struct unarchive *u, const char *path, enum unarchive_format format,
			enum unarchive_filter filter, const struct unarchive_limits *limits, const char *what,
			struct error *err)
{
	locale_t saved;
	struct stat st;
	int r;

	memset(u, 0, sizeof(*u));
	u->what = what;
	u->fd = fs_open_regular(path, err);
	if (u->fd < 0)
		return -1;
	if (fstat(u->fd, &st) < 0) {
		error_set_errno(err, "cannot stat %s", what);
		unarchive_close(u);
		return -1;
	}
	u->compressed = (long long)st.st_size;
	u->max_out = expansion_bound(limits, u->compressed);
	u->interrupted = limits ? limits->interrupted : NULL;
	if (unarchive_utf8_locale(&u->utf8, err)) {
		unarchive_close(u);
		return -1;
	}
	u->archive = archive_read_new();
	if (!u->archive) {
		unarchive_close(u);
		return error_set(err, ERROR_INTERNAL, "cannot start reading %s", what);
	}
	if (format == UNARCHIVE_TAR && (filter == UNARCHIVE_FILTER_GZIP || (filter == UNARCHIVE_FILTER_ANY &&
									  starts_as_gzip(u->fd)))) {
		u->gunzip = calloc(1, sizeof(*u->gunzip));
		if (!u->gunzip) {
			unarchive_close(u);
			return error_set(err, ERROR_INTERNAL, "out of memory to read %s", what);
		}
	}
	if (format == UNARCHIVE_ZIP) {
		archive_read_support_format_zip(u->archive);
	} else {
		archive_read_support_format_tar(u->archive);
		/* Under _ANY what the gzip holds may be compressed again, and is unwrapped as before;
		 * under _GZIP libarchive gets no filter: the tar comes out of gunzip_fill. */
		if (filter == UNARCHIVE_FILTER_ANY)
			archive_read_support_filter_all(u->archive);
		else if (filter == UNARCHIVE_FILTER_ZSTD)
			archive_read_append_filter(u->archive, ARCHIVE_FILTER_ZSTD);
	}
	saved = uselocale(u->utf8);
	/* A zip is read with seeks (its central directory): libarchive opens it itself, and its
	 * expansion is bounded in unarchive_data, where every decompressed byte passes. */
	if (format == UNARCHIVE_ZIP)
		r = archive_read_open_filename(u->archive, path, 1 << 16);
	else
		r = archive_read_open(u->archive, u, NULL, u->gunzip ? read_gunzip : read_raw, NULL);
	uselocale(saved);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		error_set(err, u->stop ? (enum error_code)u->stop : ERROR_IO, "cannot read %s: %s", what,
			  gunzip_error(u) ? gunzip_error(u) : archive_error_string(u->archive));
		unarchive_close(u);
		return -1;
	}
	return 0;
}

/* The error of a read that failed: a limit or an interrupt is said as such, with its code. */
static int read_failed(struct unarchive *u, struct error *err)
{
	if (u->stop == ERROR_INTERRUPTED)
		return error_set(err, ERROR_INTERRUPTED, "reading %s: interrupted", u->what);
	if (u->stop == ERROR_LIMIT)
		return error_set(err, ERROR_LIMIT, "%s expands past %lld bytes (%lld compressed): refusing it as a "
				 "decompression bomb (limits.expansion, limits.expansionRatio in factory.yaml)",
				 u->what, u->max_out, u->compressed);
	if (gunzip_error(u))
		return error_set(err, ERROR_IO, "cannot read %s: %s", u->what, gunzip_error(u));
	return error_set(err, ERROR_IO, "cannot read %s: %s", u->what, archive_error_string(u->archive));
}

/* The tar reader stops at the tar's end mark, often before the last member's trailer: the
 * rest is inflated here so that every member's CRC-32 and length are checked, within the
 * same limits. */
static int gunzip_drain(struct unarchive *u, struct error *err)
{
	struct unarchive_gunzip *g = u->gunzip;

	while (!g->done) {
		if (u->interrupted && *u->interrupted) {
			u->stop = ERROR_INTERRUPTED;
			return read_failed(u, err);
		}
		if (g->out_total > u->max_out) {
			u->stop = ERROR_LIMIT;
			return read_failed(u, err);
		}
		if (gunzip_fill(g, u->fd) < 0)
			return read_failed(u, err);
	}
	return 0;
}

static void note_warning(struct unarchive *u)
{
	const char *why = archive_error_string(u->archive);

	if (u->warnings++ > 0)
		return;
	/* With a UTF-8 locale, libarchive's "can't be converted" means the stored name is not
	 * UTF-8 at all (a legacy charset in a PAX record): it is kept byte for byte. */
	if (why && strstr(why, "can't be converted from UTF-8"))
		why = "a name or link target is not valid UTF-8; kept as stored";
	snprintf(u->first_warning, sizeof(u->first_warning), "%s", why ? why : "warning");
}

int unarchive_next(struct unarchive *u, struct archive_entry **entry, struct error *err)
{
	locale_t saved = uselocale(u->utf8);
	int r = archive_read_next_header(u->archive, entry);
	const char *name = r == ARCHIVE_OK || r == ARCHIVE_WARN ? archive_entry_pathname(*entry) : NULL;

	uselocale(saved);
	if (r == ARCHIVE_EOF)
		return u->gunzip ? gunzip_drain(u, err) : 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return read_failed(u, err);
	if (r == ARCHIVE_WARN)
		note_warning(u);
	/* Only a name that is not even valid bytes of any charset ends here: never skip it. */
	if (!name)
		return error_set(err, ERROR_IO, "cannot read %s: an entry's name cannot be decoded (%s)", u->what,
				 archive_error_string(u->archive) ? archive_error_string(u->archive) : "no name");
	return 1;
}

static const char *in_utf8(struct unarchive *u, struct archive_entry *entry, const char *(*get)(struct archive_entry *))
{
	locale_t saved = uselocale(u->utf8);
	const char *s = get(entry);

	uselocale(saved);
	return s;
}

const char *unarchive_path(struct unarchive *u, struct archive_entry *entry)
{
	const char *s = in_utf8(u, entry, archive_entry_pathname);
	return s ? s : "";
}

const char *unarchive_symlink(struct unarchive *u, struct archive_entry *entry)
{
	return archive_entry_filetype(entry) == AE_IFLNK ? in_utf8(u, entry, archive_entry_symlink) : NULL;
}

const char *unarchive_hardlink(struct unarchive *u, struct archive_entry *entry)
{
	return in_utf8(u, entry, archive_entry_hardlink);
}

int unarchive_data(struct unarchive *u, const void **buf, size_t *len, long long *offset, struct error *err)
{
	la_int64_t at = 0;
	int r = archive_read_data_block(u->archive, buf, len, &at);

	*offset = (long long)at;
	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
		u->data_out += (long long)*len;
		if (u->data_out > u->max_out) {
			u->stop = ERROR_LIMIT;
			return read_failed(u, err);
		}
		if (u->interrupted && *u->interrupted) {
			u->stop = ERROR_INTERRUPTED;
			return read_failed(u, err);
		}
	}
	if (r == ARCHIVE_WARN) {
		note_warning(u);
		return 1;
	}
	if (r != ARCHIVE_OK)
		return read_failed(u, err);
	return 1;
}

void unarchive_close(struct unarchive *u)
{
	if (u->archive)
		archive_read_free(u->archive);
	if (u->utf8 != (locale_t)0)
		freelocale(u->utf8);
	free(u->gunzip);
	if (u->fd > 0)
		close(u->fd);
	u->fd = -1;
	u->archive = NULL;
	u->utf8 = (locale_t)0;
	u->gunzip = NULL;
}
