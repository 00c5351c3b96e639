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

/* Format 2 (version: 2) adds the base and python sections; a file without `version` is
 * format 1 (artifacts only) and is read as it is. */
#define LOCK_FORMAT 2

static const struct schema size_schema = {.type = SCHEMA_INT, .min = 0, .max = 9223372036854775807LL};
static const struct schema_field entry_fields[] = {
	{"coordinate", &schema_string, SCHEMA_REQUIRED},
	{"repository", &schema_string, SCHEMA_REQUIRED},
	{"size", &size_schema, SCHEMA_REQUIRED},
	{"sha256", &schema_string, SCHEMA_REQUIRED},
	{"sha1", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema_field base_fields[] = {
	{"reference", &schema_string, SCHEMA_REQUIRED},
	{"platform", &schema_string, SCHEMA_REQUIRED},
	{"manifest", &schema_string, SCHEMA_REQUIRED},
	{NULL, NULL, 0},
};
static const struct schema_field runtime_fields[] = {
	{"source", &schema_string, SCHEMA_REQUIRED},
	{"version", &schema_string, SCHEMA_REQUIRED},
	{"sha256", &schema_string, SCHEMA_REQUIRED},
	{NULL, NULL, 0},
};
static const struct schema_field wheel_fields[] = {
	{"requirement", &schema_string, SCHEMA_REQUIRED},
	{"target", &schema_string, SCHEMA_REQUIRED},
	{"filename", &schema_string, SCHEMA_REQUIRED},
	{"url", &schema_string, 0},
	{"repository", &schema_string, SCHEMA_REQUIRED},
	{"size", &size_schema, 0},
	{"sha256", &schema_string, SCHEMA_REQUIRED},
	{NULL, NULL, 0},
};
#define LIST_OF(list) (&(const struct schema){.type = SCHEMA_LIST, \
	.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = (list)}})
static const struct schema_field python_fields[] = {
	{"runtimes", LIST_OF(runtime_fields), 0},
	{"wheels", LIST_OF(wheel_fields), 0},
	{NULL, NULL, 0},
};
static const struct schema_field lock_fields[] = {
	{"apiVersion", &(const struct schema){.type = SCHEMA_STRING,
		.choices = (const char *const[]){LOCK_API_VERSION, NULL}}, SCHEMA_REQUIRED},
	{"kind", &(const struct schema){.type = SCHEMA_STRING, .choices = (const char *const[]){"Lock", NULL}},
	 SCHEMA_REQUIRED},
	{"version", &(const struct schema){.type = SCHEMA_INT, .min = 1, .max = LOCK_FORMAT}, 0},
	{"artifacts", LIST_OF(entry_fields), 0},
	{"base", LIST_OF(base_fields), 0},
	{"python", &(const struct schema){.type = SCHEMA_OBJECT, .fields = python_fields}, 0},
	{NULL, NULL, 0},
};
static const struct schema lock_schema = {.type = SCHEMA_OBJECT, .fields = lock_fields};

static const char *text_of(const struct ynode *map, const char *key)
{
	const struct ynode *n = ynode_get(map, key);
	return n ? n->value : NULL;
}

/* Checks a "sha256:<hex>" or "<hex>" value; fills hex. */
static bool read_sha256(const char *value, char hex[65])
{
	if (value && strncmp(value, "sha256:", 7) == 0)
		value += 7;
	if (!value || strlen(value) != 64 || !digest_is_hex(value, 64))
		return false;
	memcpy(hex, value, 65);
	return true;
}

/* The base and python sections, into entries keyed as lockfile.h says. */
static int read_sections(struct lockfile *lock, const struct ynode *root, const char *path, struct diag_list *diags,
			 struct error *err)
{
	const struct ynode *base = ynode_get(root, "base"), *python = ynode_get(root, "python");
	const struct ynode *runtimes = ynode_get(python, "runtimes"), *wheels = ynode_get(python, "wheels");
	const struct ynode *const lists[] = {base, runtimes, wheels};
	static const char *const names[] = {"base", "python.runtimes", "python.wheels"};

	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; lists[l] && i < lists[l]->count; i++) {
			const struct ynode *e = lists[l]->values[i];
			struct lock_entry entry = {0};
			long long size = 0;
			const char *digest = text_of(e, l == 0 ? "manifest" : "sha256");

			if (!read_sha256(digest, entry.sha256)) {
				diag_add(diags, DIAG_ERROR, path, e->line, e->col, "%s[%zu]: malformed digest", names[l], i);
				return error_set(err, ERROR_INVALID, "%s is damaged", path);
			}
			if (l == 0) {
				entry.coordinate = xasprintf("base:%s;%s", text_of(e, "reference"), text_of(e, "platform"));
				entry.repository = (char *)text_of(e, "reference");
			} else if (l == 1) {
				entry.coordinate = xasprintf("python-runtime:%s", entry.sha256);
				entry.repository = (char *)text_of(e, "source");
				entry.version = (char *)text_of(e, "version");
				entry.filename = (char *)fs_basename(text_of(e, "source"));
				if (strncmp(entry.repository, "http://", 7) == 0 || strncmp(entry.repository, "https://", 8) == 0)
					entry.url = entry.repository;
			} else {
				entry.coordinate = xasprintf("pypi:%s;%s", text_of(e, "requirement"), text_of(e, "target"));
				entry.repository = (char *)text_of(e, "repository");
				entry.filename = (char *)text_of(e, "filename");
				entry.url = (char *)text_of(e, "url");
				if (ynode_get(e, "size"))
					yscalar_int(ynode_get(e, "size"), &size);
				entry.size = size;
			}
			lockfile_put(lock, &entry);
			free(entry.coordinate);
		}
	return 0;
}

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
		memcpy(entry.sha256, sha256->value, 65);
		if (sha1)
			memcpy(entry.sha1, sha1->value, 41);
		lockfile_put(lock, &entry);
	}
	if (read_sections(lock, doc->root, path, diags, err))
		goto out;
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

/* "base:<reference>;<platform>" -> reference and platform (the platform has no ';'). */
static void split_key(const char *key, size_t prefix, char **first, char **second)
{
	const char *semi = strrchr(key + prefix, ';');

	*first = semi ? xasprintf("%.*s", (int)(semi - key - prefix), key + prefix) : xstrdup(key + prefix);
	*second = xstrdup(semi ? semi + 1 : "");
}

static json_t *format_entry(const struct lock_entry *e)
{
	char *first, *second;
	json_t *o = json_object();

	if (strncmp(e->coordinate, "base:", 5) == 0) {
		split_key(e->coordinate, 5, &first, &second);
		json_object_set_new(o, "reference", json_string(first));
		json_object_set_new(o, "platform", json_string(second));
		json_object_set_new(o, "manifest", json_sprintf("sha256:%s", e->sha256));
	} else if (strncmp(e->coordinate, "python-runtime:", 15) == 0) {
		first = second = NULL;
		json_object_set_new(o, "source", json_string(e->repository));
		json_object_set_new(o, "version", json_string(e->version ? e->version : ""));
		json_object_set_new(o, "sha256", json_string(e->sha256));
	} else if (strncmp(e->coordinate, "pypi:", 5) == 0) {
		split_key(e->coordinate, 5, &first, &second);
		json_object_set_new(o, "requirement", json_string(first));
		json_object_set_new(o, "target", json_string(second));
		json_object_set_new(o, "filename", json_string(e->filename ? e->filename : ""));
		if (e->url)
			json_object_set_new(o, "url", json_string(e->url));
		json_object_set_new(o, "repository", json_string(e->repository));
		json_object_set_new(o, "size", json_integer(e->size));
		json_object_set_new(o, "sha256", json_string(e->sha256));
	} else {
		first = second = NULL;
		json_object_set_new(o, "coordinate", json_string(e->coordinate));
		json_object_set_new(o, "repository", json_string(e->repository));
		json_object_set_new(o, "size", json_integer(e->size));
		json_object_set_new(o, "sha256", json_string(e->sha256));
		if (e->sha1[0])
			json_object_set_new(o, "sha1", json_string(e->sha1));
	}
	free(first);
	free(second);
	return o;
}

int lockfile_format(const struct lockfile *lock, char **text, size_t *size, struct error *err)
{
	static const char header[] = "# factory.lock: written by 'factory fetch', 'factory build' and 'factory lock'; "
				     "commit it.\n";
	struct lock_entry *sorted = calloc(lock->count + 1, sizeof(*sorted));
	json_t *doc = json_object(), *artifacts = json_array(), *base = json_array(), *runtimes = json_array();
	json_t *wheels = json_array();
	char *body = NULL;
	size_t body_size = 0;
	int rc;

	if (!sorted || !doc || !artifacts || !base || !runtimes || !wheels)
		abort();
	if (lock->count)
		memcpy(sorted, lock->entries, lock->count * sizeof(*sorted));
	qsort(sorted, lock->count, sizeof(*sorted), compare_entries);
	json_object_set_new(doc, "apiVersion", json_string(LOCK_API_VERSION));
	json_object_set_new(doc, "kind", json_string("Lock"));
	json_object_set_new(doc, "version", json_integer(LOCK_FORMAT));
	for (size_t i = 0; i < lock->count; i++) {
		const char *c = sorted[i].coordinate;
		json_t *list = strncmp(c, "base:", 5) == 0		 ? base
			       : strncmp(c, "python-runtime:", 15) == 0 ? runtimes
			       : strncmp(c, "pypi:", 5) == 0		 ? wheels
									 : artifacts;
		json_array_append_new(list, format_entry(&sorted[i]));
	}
	json_object_set_new(doc, "artifacts", artifacts);
	if (json_array_size(base))
		json_object_set_new(doc, "base", base);
	else
		json_decref(base);
	if (json_array_size(runtimes) || json_array_size(wheels)) {
		json_t *python = json_object();
		json_object_set_new(python, "runtimes", runtimes);
		json_object_set_new(python, "wheels", wheels);
		json_object_set_new(doc, "python", python);
	} else {
		json_decref(runtimes);
		json_decref(wheels);
	}
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
