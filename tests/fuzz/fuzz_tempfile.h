/* fuzz_tempfile.h - for harnesses whose code under test reads a file by path: the input is
 * written to a file of a chosen name in a directory made once per fuzzing process and
 * removed at exit. Included by the fuzz_*.c files that need it; not a library header. */
#ifndef FACTORY_FUZZ_TEMPFILE_H
#define FACTORY_FUZZ_TEMPFILE_H

#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[PATH_MAX];
static char fuzz_last[PATH_MAX];

static void fuzz_dir_remove(void)
{
	if (fuzz_last[0])
		unlink(fuzz_last);
	if (fuzz_dir[0])
		rmdir(fuzz_dir);
}

/* Writes data to <dir>/<name> (replacing the previous input) and returns its path, which
 * stays valid until the next call; aborts on any I/O failure, which is no finding. */
static const char *fuzz_write_input(const char *name, const uint8_t *data, size_t size)
{
	static char path[PATH_MAX];
	int fd;

	if (!fuzz_dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/factory-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(fuzz_dir))
			abort();
		atexit(fuzz_dir_remove);
	}
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	if (fuzz_last[0] && strcmp(fuzz_last, path) != 0)
		unlink(fuzz_last);
	snprintf(fuzz_last, sizeof(fuzz_last), "%s", path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n <= 0)
			abort();
		data += n;
		size -= (size_t)n;
	}
	if (close(fd) < 0)
		abort();
	return path;
}

#endif
