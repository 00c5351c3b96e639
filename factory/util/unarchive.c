#include "unarchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
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

/* Called by libarchive for more compressed bytes, also while it skips an entry's data inside
 * one archive_read_next_header: the only place a bomb of one huge entry can be stopped. */
static la_ssize_t read_raw(struct archive *a, void *ctx, const void **buf)
{
	struct unarchive *u = ctx;
	ssize_t n;

	if (u->interrupted && *u->interrupted) {
		u->stop = ERROR_INTERRUPTED;
		archive_set_error(a, EINTR, "interrupted");
		return -1;
	}
	if (archive_filter_bytes(a, 0) > u->max_out) {
		u->stop = ERROR_LIMIT;
		archive_set_error(a, EFBIG, "it expands past %lld bytes", u->max_out);
		return -1;
	}
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

static long long expansion_bound(const struct unarchive_limits *limits, long long compressed)
{
	long long max = limits && limits->max_bytes > 0 ? limits->max_bytes : UNARCHIVE_DEFAULT_MAX_BYTES;
	long long ratio = limits && limits->ratio > 0 ? limits->ratio : UNARCHIVE_DEFAULT_RATIO;
	long long by_ratio = compressed > LLONG_MAX / ratio ? LLONG_MAX : compressed * ratio;

	if (by_ratio < UNARCHIVE_EXPANSION_FLOOR)
		by_ratio = UNARCHIVE_EXPANSION_FLOOR;
	return by_ratio < max ? by_ratio : max;
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
	if (format == UNARCHIVE_ZIP) {
		archive_read_support_format_zip(u->archive);
	} else {
		archive_read_support_format_tar(u->archive);
		if (filter == UNARCHIVE_FILTER_ANY)
			archive_read_support_filter_all(u->archive);
		else if (filter == UNARCHIVE_FILTER_GZIP)
			archive_read_append_filter(u->archive, ARCHIVE_FILTER_GZIP);
		else if (filter == UNARCHIVE_FILTER_ZSTD)
			archive_read_append_filter(u->archive, ARCHIVE_FILTER_ZSTD);
	}
	saved = uselocale(u->utf8);
	/* A zip is read with seeks (its central directory): libarchive opens it itself, and its
	 * expansion is bounded in unarchive_data, where every decompressed byte passes. */
	if (format == UNARCHIVE_ZIP)
		r = archive_read_open_filename(u->archive, path, 1 << 16);
	else
		r = archive_read_open(u->archive, u, NULL, read_raw, NULL);
	uselocale(saved);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		error_set(err, u->stop ? (enum error_code)u->stop : ERROR_IO, "cannot read %s: %s", what,
			  archive_error_string(u->archive));
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
	return error_set(err, ERROR_IO, "cannot read %s: %s", u->what, archive_error_string(u->archive));
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
		return 0;
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
	if (u->fd > 0)
		close(u->fd);
	u->fd = -1;
	u->archive = NULL;
	u->utf8 = (locale_t)0;
}
