#include "catalog.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "flink.h"
#include "fsutil.h"
#include "maven.h"
#include "schema.h"
#include "util.h"

#define CATALOG_FILE_MAX (256 * 1024)

static const struct schema coordinate_list = {.type = SCHEMA_LIST, .element = &schema_string};
static const struct schema versions_schema = {.type = SCHEMA_MAP, .element = &coordinate_list};
static const struct schema_field entry_fields[] = {
	{"name", &schema_string, SCHEMA_REQUIRED},
	{"description", &schema_string, 0},
	{"destination", &schema_string, SCHEMA_REQUIRED},
	{"versions", &versions_schema, SCHEMA_REQUIRED},
	{"notes", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema entry_schema = {.type = SCHEMA_OBJECT, .fields = entry_fields};

static void entry_free(struct catalog_entry *entry)
{
	for (size_t i = 0; i < entry->release_count; i++) {
		for (size_t j = 0; j < entry->releases[i].count; j++)
			free(entry->releases[i].coordinates[j]);
		free(entry->releases[i].coordinates);
		free(entry->releases[i].flink);
	}
	free(entry->releases);
	free(entry->name);
	free(entry->description);
	free(entry->destination);
}

static void at(struct diag_list *diags, const char *file, const struct ynode *node, const char *fmt,
	       const char *arg)
{
	diag_add(diags, DIAG_ERROR, file, node->line, node->col, fmt, arg);
}

/* Checks what the schema cannot: names, destinations, version keys and coordinates. */
static size_t check_entry(const struct ynode *root, const char *file, const char *expected_name,
			  struct diag_list *diags)
{
	const struct ynode *name = ynode_get(root, "name");
	const struct ynode *dest = ynode_get(root, "destination");
	const struct ynode *versions = ynode_get(root, "versions");
	size_t errors = 0;

	if (strcmp(name->value, expected_name) != 0) {
		at(diags, file, name, "name: must equal the file name '%s'", expected_name);
		errors++;
	}
	if (!flink_destination_valid(dest->value)) {
		at(diags, file, dest, "destination: '%s' is not lib, usrlib or plugins/<name>", dest->value);
		errors++;
	}
	for (size_t i = 0; i < versions->count; i++) {
		const struct ynode *key = versions->keys[i];
		int major, minor, patch;

		if (strcmp(key->value, "*") != 0 &&
		    (!flink_version_parse(key->value, &major, &minor, &patch) || patch >= 0)) {
			at(diags, file, key, "versions: '%s' is not a Flink minor version like \"1.19\" or \"*\"",
			   key->value);
			errors++;
		}
		for (size_t j = 0; j < versions->values[i]->count; j++) {
			const struct ynode *coord = versions->values[i]->values[j];
			struct maven_coord parsed;
			struct error err = {0};

			if (maven_coord_parse(coord->value, &parsed, &err) < 0) {
				at(diags, file, coord, "versions: %s", err.message);
				errors++;
				continue;
			}
			maven_coord_free(&parsed);
		}
	}
	return errors;
}

static int load_entry(struct catalog_entry *entry, const char *path, const char *stem,
		      struct diag_list *diags, struct error *err)
{
	struct ydoc *doc = NULL;
	const struct ynode *root, *versions, *description;
	int rc = -1;

	memset(entry, 0, sizeof(*entry));
	if (ydoc_load_file(&doc, path, CATALOG_FILE_MAX, diags, err))
		return -1;
	root = doc->root;
	if (schema_check(&entry_schema, root, "", path, diags) ||
	    check_entry(root, path, stem, diags)) {
		error_set(err, ERROR_INVALID, "connector catalog file %s is invalid", path);
		goto out;
	}
	entry->name = xstrdup(ynode_get(root, "name")->value);
	entry->destination = xstrdup(ynode_get(root, "destination")->value);
	description = ynode_get(root, "description");
	entry->description = xstrdup(description ? description->value : "");
	versions = ynode_get(root, "versions");
	entry->releases = calloc(versions->count ? versions->count : 1, sizeof(*entry->releases));
	if (!entry->releases)
		abort();
	entry->release_count = versions->count;
	for (size_t i = 0; i < versions->count; i++) {
		struct catalog_release *rel = &entry->releases[i];
		const struct ynode *list = versions->values[i];

		rel->flink = xstrdup(versions->keys[i]->value);
		rel->count = list->count;
		rel->coordinates = calloc(list->count ? list->count : 1, sizeof(char *));
		if (!rel->coordinates)
			abort();
		for (size_t j = 0; j < list->count; j++)
			rel->coordinates[j] = xstrdup(list->values[j]->value);
	}
	rc = 0;
out:
	ydoc_free(doc);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int catalog_load(struct catalog **out, const char *dir, struct diag_list *diags, struct error *err)
{
	struct catalog *catalog;
	DIR *d;
	struct dirent *de;
	char **files = NULL;
	size_t nfiles = 0;
	int rc = 0;

	*out = NULL;
	d = opendir(dir);
	if (!d)
		return error_set_errno(err, "cannot read the connector catalog %s", dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		files = realloc(files, (nfiles + 1) * sizeof(*files));
		if (!files)
			abort();
		files[nfiles++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* readdir order depends on the filesystem; sort so the catalog is the same everywhere. */
	if (nfiles)
		qsort(files, nfiles, sizeof(*files), compare_names);

	catalog = calloc(1, sizeof(*catalog));
	if (!catalog)
		abort();
	catalog->dir = xstrdup(dir);
	catalog->entries = calloc(nfiles ? nfiles : 1, sizeof(*catalog->entries));
	if (!catalog->entries)
		abort();
	for (size_t i = 0; i < nfiles; i++) {
		char *path = fs_path_join(dir, files[i]);
		files[i][strlen(files[i]) - 5] = '\0';
		if (load_entry(&catalog->entries[catalog->count], path, files[i], diags, err) == 0)
			catalog->count++;
		else
			rc = -1; /* keep going: report every broken file at once */
		free(path);
		free(files[i]);
	}
	free(files);
	if (rc) {
		catalog_free(catalog);
		return error_set(err, ERROR_INVALID, "the connector catalog %s has errors", dir);
	}
	*out = catalog;
	return 0;
}

void catalog_free(struct catalog *catalog)
{
	if (!catalog)
		return;
	for (size_t i = 0; i < catalog->count; i++)
		entry_free(&catalog->entries[i]);
	free(catalog->entries);
	free(catalog->dir);
	free(catalog);
}

const struct catalog_entry *catalog_find(const struct catalog *catalog, const char *name)
{
	if (!catalog)
		return NULL;
	for (size_t i = 0; i < catalog->count; i++)
		if (strcmp(catalog->entries[i].name, name) == 0)
			return &catalog->entries[i];
	return NULL;
}

const struct catalog_release *catalog_release_for(const struct catalog_entry *entry,
						  const char *minor)
{
	const struct catalog_release *any = NULL;

	for (size_t i = 0; i < entry->release_count; i++) {
		if (strcmp(entry->releases[i].flink, minor) == 0)
			return &entry->releases[i];
		if (strcmp(entry->releases[i].flink, "*") == 0)
			any = &entry->releases[i];
	}
	return any;
}

const char **catalog_names(const struct catalog *catalog)
{
	size_t n = catalog ? catalog->count : 0;
	const char **names = calloc(n + 1, sizeof(*names));

	if (!names)
		abort();
	for (size_t i = 0; i < n; i++)
		names[i] = catalog->entries[i].name;
	return names;
}
