#include "unarchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

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

int unarchive_open(struct unarchive *u, const char *path, enum unarchive_format format, const char *what,
		   struct error *err)
{
	locale_t saved;
	int r;

	memset(u, 0, sizeof(*u));
	u->what = what;
	if (unarchive_utf8_locale(&u->utf8, err))
		return -1;
	u->archive = archive_read_new();
	if (!u->archive) {
		unarchive_close(u);
		return error_set(err, ERROR_INTERNAL, "cannot start reading %s", what);
	}
	if (format == UNARCHIVE_ZIP) {
		archive_read_support_format_zip(u->archive);
	} else {
		archive_read_support_format_tar(u->archive);
		archive_read_support_filter_all(u->archive);
	}
	saved = uselocale(u->utf8);
	r = archive_read_open_filename(u->archive, path, 1 << 16);
	uselocale(saved);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		error_set(err, ERROR_IO, "cannot read %s: %s", what, archive_error_string(u->archive));
		unarchive_close(u);
		return -1;
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
		return 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return error_set(err, ERROR_IO, "cannot read %s: %s", u->what, archive_error_string(u->archive));
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
	if (r == ARCHIVE_WARN) {
		note_warning(u);
		return 1;
	}
	if (r != ARCHIVE_OK)
		return error_set(err, ERROR_IO, "cannot read %s: %s", u->what, archive_error_string(u->archive));
	return 1;
}

void unarchive_close(struct unarchive *u)
{
	if (u->archive)
		archive_read_free(u->archive);
	if (u->utf8 != (locale_t)0)
		freelocale(u->utf8);
	u->archive = NULL;
	u->utf8 = (locale_t)0;
}
