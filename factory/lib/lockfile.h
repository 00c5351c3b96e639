/* lockfile.h - factory.lock: the exact artifacts a recipe was built from.
 *
 * One file beside the recipes, shared by the recipes of a directory; entries are keyed and
 * kept sorted, so a change reads as a small diff in review. Keys: a Maven coordinate
 * ("group:artifact:version"), "pypi:<name>==<version>;<target>" for the wheel chosen for a
 * Python requirement on one target (see pyset.h), "python-runtime:<sha256>" for a Python
 * runtime.
 */
#ifndef FACTORY_LOCKFILE_H
#define FACTORY_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"

#define LOCKFILE_NAME "factory.lock"

struct lock_entry {
	char *coordinate;
	char *repository; /* URL of the repository that served it */
	long long size;
	char sha256[65];
	char sha1[41]; /* empty when unknown */
	char *url;      /* the exact file (wheels, runtimes); NULL for Maven artifacts */
	char *filename; /* the file's name (a wheel's carries its tags); may be NULL */
	char *version;  /* a runtime's Python version; may be NULL */
};

struct lockfile {
	struct lock_entry *entries;
	size_t count;
};

/* Reads `path`; a missing file is an empty lock. */
int lockfile_read(struct lockfile **out, const char *path, struct diag_list *diags, struct error *err);
void lockfile_free(struct lockfile *lock);

const struct lock_entry *lockfile_find(const struct lockfile *lock, const char *coordinate);
/* Adds or replaces the entry for entry->coordinate (copied); returns true when it changed. */
bool lockfile_put(struct lockfile *lock, const struct lock_entry *entry);

/* Serialises in sorted order. */
int lockfile_format(const struct lockfile *lock, char **text, size_t *size, struct error *err);
/* Writes atomically, and only when the bytes differ from what is on disk. */
int lockfile_write(const struct lockfile *lock, const char *path, bool *changed, struct error *err);

#endif
