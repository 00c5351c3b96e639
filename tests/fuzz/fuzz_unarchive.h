/* fuzz_unarchive.h - the body of the tar and zip harnesses: the input is written to a file,
 * opened with unarchive_open, and every entry's names and data are read to the end. */
#ifndef FACTORY_FUZZ_UNARCHIVE_H
#define FACTORY_FUZZ_UNARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <archive_entry.h>

#include "error.h"
#include "unarchive.h"

#include "fuzz_tempfile.h"

static int fuzz_unarchive(const uint8_t *data, size_t size, const char *name, enum unarchive_format format)
{
	/* struct unarchive carries a 64 KiB buffer: keep it off the stack. */
	static struct unarchive u;
	struct archive_entry *entry;
	struct error err = {0};
	const char *path = fuzz_write_input(name, data, size);
	int r;

	if (unarchive_open(&u, path, format, name, &err))
		return 0;
	while ((r = unarchive_next(&u, &entry, &err)) == 1) {
		const void *buf;
		size_t len;
		long long offset;
		const char *p = unarchive_path(&u, entry);

		if (!p)
			__builtin_trap();
		(void)unarchive_symlink(&u, entry);
		(void)unarchive_hardlink(&u, entry);
		(void)archive_entry_size(entry);
		(void)archive_entry_mode(entry);
		while ((r = unarchive_data(&u, &buf, &len, &offset, &err)) == 1)
			if (len && !buf)
				__builtin_trap();
		if (r < 0)
			break;
	}
	unarchive_close(&u);
	return 0;
}

#endif
