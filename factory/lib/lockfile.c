#include "lockfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "schema.h"
#include "util.h"
#include "yamlout.h"
#include "ydoc.h"

#define LOCK_API_VERSION "factory.dev/v1alpha1"
#define LOCK_MAX_SIZE (4 * 1024 * 1024)

static const struct schema_field entry_fields[] = {
	{"coordinate", &schema_string, SCHEMA_REQUIRED},
	{"repository", &schema_string, SCHEMA_REQUIRED},
	{"size", &(const struct schema){.type = SCHEMA_INT, .min = 0, .max = 9223372036854775807LL}, SCHEMA_REQUIRED},
	{"sha256", &schema_string, SCHEMA_REQUIRED},
	{"sha1", &schema_string, 0},
	{"url", &schema_string, 0},
	{"filename", &schema_string, 0},
	{"version", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field lock_fields[] = {
	{"apiVersion", &(const struct schema){.type = SCHEMA_STRING,
		.choices = (const char *const[]){LOCK_API_VERSION, NULL}}, SCHEMA_REQUIRED},
	{"kind", &(const struct schema){.type = SCHEMA_STRING, .choices = (const char *const[]){"Lock", NULL}},
	 SCHEMA_REQUIRED},
	{"artifacts", &(const struct schema){.type = SCHEMA_LIST,
		.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = entry_fields}}, 0},
	{NULL, NULL, 0},
};
static const struct schema lock_schema = {.type = SCHEMA_OBJECT, .fields = lock_fields};

int lockfile_read(struct lockfile **out, const char *path, struct diag_list *diags, struct error *err)
{
	struct lockfile *lock = calloc(1, sizeof(*lock));
	struct ydoc *doc = NULL;
	const struct ynode *list;
	int rc = -1;

	*out = NULL;
	if (!lock)
		abort();
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*out = lock;
		return 0;
	}
	if (ydoc_load_file(&doc, path, LOCK_MAX_SIZE, diags, err))
		goto out;
	if (schema_check(&lock_schema, doc->root, "", path, diags)) {
		error_set(err, ERROR_INVALID, "%s is damaged; fix it or delete it and run 'factory lock'", path);
		goto out;
	}
	list = ynode_get(doc->root, "artifacts");
	for (size_t i = 0; list && i < list->count; i++) {
		const struct ynode *e = list->values[i], *sha1 = ynode_get(e, "sha1");
		const struct ynode *sha256 = ynode_get(e, "sha256");
		struct lock_entry entry = {0};
		long long size = 0;

		if (sha256->length != 64 || !digest_is_hex(sha256->value, 64) ||
		    (sha1 && (sha1->length != 40 || !digest_is_hex(sha1->value, 40)))) {
			diag_add(diags, DIAG_ERROR, path, e->line, e->col, "artifacts[%zu]: malformed digest", i);
			error_set(err, ERROR_INVALID, "%s is damaged", path);
			goto out;
		}
		yscalar_int(ynode_get(e, "size"), &size);
		entry.coordinate = ynode_get(e, "coordinate")->value;
		entry.repository = ynode_get(e, "repository")->value;
		entry.size = size;
		entry.url = ynode_get(e, "url") ? ynode_get(e, "url")->value : NULL;
		entry.filename = ynode_get(e, "filename") ? ynode_get(e, "filename")->value : NULL;
		entry.version = ynode_get(e, "version") ? ynode_get(e, "version")->value : NULL;
		memcpy(entry.sha256, sha256->value, 65);
		if (sha1)
			memcpy(entry.sha1, sha1->value, 41);
		lockfile_put(lock, &entry);
	}
	rc = 0;
out:
	ydoc_free(doc);
	if (rc)
		lockfile_free(lock);
	else
		*out = lock;
	return rc;
}

void lockfile_free(struct lockfile *lock)
{
	if (!lock)
		return;
	for (size_t i = 0; i < lock->count; i++) {
		free(lock->entries[i].coordinate);
		free(lock->entries[i].repository);
		free(lock->entries[i].url);
		free(lock->entries[i].filename);
		free(lock->entries[i].version);
	}
	free(lock->entries);
	free(lock);
}

const struct lock_entry *lockfile_find(const struct lockfile *lock, const char *coordinate)
{
	for (size_t i = 0; i < lock->count; i++)
		if (strcmp(lock->entries[i].coordinate, coordinate) == 0)
			return &lock->entries[i];
	return NULL;
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool lockfile_put(struct lockfile *lock, const struct lock_entry *entry)
{
	struct lock_entry *slot = (struct lock_entry *)lockfile_find(lock, entry->coordinate);

	if (slot) {
		if (strcmp(slot->repository, entry->repository) == 0 && slot->size == entry->size &&
		    strcmp(slot->sha256, entry->sha256) == 0 && strcmp(slot->sha1, entry->sha1) == 0 &&
		    same_text(slot->url, entry->url) && same_text(slot->filename, entry->filename) &&
		    same_text(slot->version, entry->version))
			return false;
		free(slot->repository);
		free(slot->url);
		free(slot->filename);
		free(slot->version);
	} else {
		lock->entries = realloc(lock->entries, (lock->count + 1) * sizeof(*lock->entries));
		if (!lock->entries)
			abort();
		slot = &lock->entries[lock->count++];
		slot->coordinate = xstrdup(entry->coordinate);
	}
	slot->repository = xstrdup(entry->repository);
	slot->url = entry->url ? xstrdup(entry->url) : NULL;
	slot->filename = entry->filename ? xstrdup(entry->filename) : NULL;
	slot->version = entry->version ? xstrdup(entry->version) : NULL;
	slot->size = entry->size;
	memcpy(slot->sha256, entry->sha256, sizeof(slot->sha256));
	memcpy(slot->sha1, entry->sha1, sizeof(slot->sha1));
	return true;
}

static int compare_entries(const void *a, const void *b)
{
	return strcmp(((const struct lock_entry *)a)->coordinate, ((const struct lock_entry *)b)->coordinate);
}

int lockfile_format(const struct lockfile *lock, char **text, size_t *size, struct error *err)
{
	static const char header[] = "# factory.lock: written by 'factory fetch' and 'factory lock'; commit it.\n";
	struct lock_entry *sorted = calloc(lock->count + 1, sizeof(*sorted));
	json_t *doc = json_object(), *list = json_array();
	char *body = NULL;
	size_t body_size = 0;
	int rc;

	if (!sorted || !doc || !list)
		abort();
	if (lock->count)
		memcpy(sorted, lock->entries, lock->count * sizeof(*sorted));
	qsort(sorted, lock->count, sizeof(*sorted), compare_entries);
	json_object_set_new(doc, "apiVersion", json_string(LOCK_API_VERSION));
	json_object_set_new(doc, "kind", json_string("Lock"));
	for (size_t i = 0; i < lock->count; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "coordinate", json_string(sorted[i].coordinate));
		json_object_set_new(e, "repository", json_string(sorted[i].repository));
		json_object_set_new(e, "size", json_integer(sorted[i].size));
		json_object_set_new(e, "sha256", json_string(sorted[i].sha256));
		if (sorted[i].sha1[0])
			json_object_set_new(e, "sha1", json_string(sorted[i].sha1));
		if (sorted[i].url)
			json_object_set_new(e, "url", json_string(sorted[i].url));
		if (sorted[i].filename)
			json_object_set_new(e, "filename", json_string(sorted[i].filename));
		if (sorted[i].version)
			json_object_set_new(e, "version", json_string(sorted[i].version));
		json_array_append_new(list, e);
	}
	json_object_set_new(doc, "artifacts", list);
	free(sorted);
	rc = yamlout_emit(doc, &body, &body_size, err);
	json_decref(doc);
	if (rc)
		return -1;
	*size = sizeof(header) - 1 + body_size;
	*text = malloc(*size + 1);
	if (!*text)
		abort();
	memcpy(*text, header, sizeof(header) - 1);
	memcpy(*text + sizeof(header) - 1, body, body_size + 1);
	free(body);
	return 0;
}

int lockfile_write(const struct lockfile *lock, const char *path, bool *changed, struct error *err)
{
	char *text = NULL, *old = NULL;
	size_t size = 0, old_size = 0;
	struct error ignored = {0};
	int rc = -1;

	*changed = false;
	if (lockfile_format(lock, &text, &size, err))
		return -1;
	if (fs_read_file(path, LOCK_MAX_SIZE, &old, &old_size, &ignored) == 0 && old_size == size &&
	    memcmp(old, text, size) == 0) {
		rc = 0;
		goto out;
	}
	rc = fs_write_file_atomic(path, text, size, 0644, err);
	*changed = rc == 0;
out:
	free(old);
	free(text);
	return rc;
}
