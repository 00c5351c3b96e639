/* catalog.h - the connector catalog (connectors/<name>.yaml).
 *
 * Maps a connector name to the Maven coordinates built for each Flink minor version, so a
 * recipe says `kafka` and gets the release that matches its Flink.
 */
#ifndef FACTORY_CATALOG_H
#define FACTORY_CATALOG_H

#include <stddef.h>

#include "diag.h"
#include "error.h"

struct catalog_release {
	char *flink; /* "1.19", or "*" for any Flink version */
	char **coordinates;
	size_t count;
};

struct catalog_entry {
	char *name;
	char *description;
	char *destination;
	struct catalog_release *releases;
	size_t release_count;
};

struct catalog {
	char *dir;
	struct catalog_entry *entries; /* sorted by name */
	size_t count;
};

/* Loads every `*.yaml` of `dir`. Problems in catalog files are reported to `diags`. */
int catalog_load(struct catalog **out, const char *dir, struct diag_list *diags, struct error *err);
void catalog_free(struct catalog *catalog);

const struct catalog_entry *catalog_find(const struct catalog *catalog, const char *name);

/* The release for Flink `minor` ("1.19"), falling back to a "*" release; NULL if none. */
const struct catalog_release *catalog_release_for(const struct catalog_entry *entry,
						  const char *minor);

/* A NULL-terminated array of the entry names, for did-you-mean; free() the array only. */
const char **catalog_names(const struct catalog *catalog);

#endif
