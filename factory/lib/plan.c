#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

char *plan_lock_path(const struct recipe *recipe)
{
	return fs_path_join(recipe->dir, LOCKFILE_NAME);
}

void plan_free(struct plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->count; i++)
		fetch_item_clear(&plan->items[i]);
	free(plan->items);
	free(plan->lock_path);
	lockfile_free(plan->lock);
	free(plan);
}

/* Fills items from the recipe, one per distinct coordinate, with their pins. */
static int prepare(struct plan *plan, const struct recipe *r, const struct lockfile *lock, enum plan_mode mode,
		   struct diag_list *diags)
{
	size_t problems = 0;

	plan->items = calloc(r->artifact_count + 1, sizeof(*plan->items));
	if (!plan->items)
		abort();
	for (size_t i = 0; i < r->artifact_count; i++) {
		const struct recipe_artifact *a = &r->artifacts[i];
		const struct lock_entry *locked = lockfile_find(lock, a->coordinate);
		struct fetch_item *item = NULL;

		for (size_t k = 0; k < plan->count; k++)
			if (strcmp(plan->items[k].coordinate, a->coordinate) == 0)
				item = &plan->items[k];
		if (item) {
			if (a->sha256 && item->pin_sha256 && strcmp(a->sha256, item->pin_sha256) != 0) {
				diag_add(diags, DIAG_ERROR, r->file, 0, 0, "%s is pinned to two different sha256 values",
					 a->coordinate);
				problems++;
			}
			continue;
		}
		item = &plan->items[plan->count++];
		item->coordinate = a->coordinate;
		item->pin_sha256 = a->sha256;
		if (mode == PLAN_REFRESH)
			continue;
		if (!locked) {
			if (mode == PLAN_FROZEN) {
				diag_add(diags, DIAG_ERROR, plan->lock_path, 0, 0,
					 "no entry for %s; run 'factory lock %s' and commit the result", a->coordinate,
					 r->file);
				problems++;
			}
			continue;
		}
		if (a->sha256 && strcmp(a->sha256, locked->sha256) != 0) {
			diag_add(diags, DIAG_ERROR, plan->lock_path, 0, 0,
				 "%s: the recipe pins sha256 %s but the lock has %s; run 'factory lock %s' to accept the "
				 "recipe's pin", a->coordinate, a->sha256, locked->sha256, r->file);
			problems++;
			continue;
		}
		snprintf(item->pin_storage, sizeof(item->pin_storage), "%s", locked->sha256);
		item->pin_sha256 = item->pin_storage;
		item->expected_size = locked->size;
		item->use_cache = true;
	}
	return problems ? -1 : 0;
}

/* Merges entries into the lock on disk. Recipes of one directory share the lock, so the
 * read-merge-write holds an exclusive flock on the directory: a concurrent run for another
 * recipe cannot drop our entries, nor we theirs. */
static int merge_into_lock(struct plan *plan, const char *dir, const struct lock_entry *entries, size_t count,
			   struct diag_list *diags, struct error *err)
{
	struct lockfile *lock = NULL;
	bool changed = false;
	int fd, rc = -1;

	if (plan->lock_read_only) {
		for (size_t i = 0; plan->lock && i < count; i++)
			lockfile_put(plan->lock, &entries[i]);
		return 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_set_errno(err, "cannot open %s", dir);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			error_set_errno(err, "cannot lock %s", dir);
			goto out;
		}
	if (lockfile_read(&lock, plan->lock_path, diags, err))
		goto out;
	for (size_t i = 0; i < count; i++) {
		lockfile_put(lock, &entries[i]);
		if (plan->lock)
			lockfile_put(plan->lock, &entries[i]);
	}
	/* Nothing verified and no lock yet: do not create an empty one. */
	rc = count || lock->count ? lockfile_write(lock, plan->lock_path, &changed, err) : 0;
	plan->lock_changed |= changed;
out:
	lockfile_free(lock);
	close(fd); /* releases the flock */
	return rc;
}

int plan_lock_record(struct plan *plan, const char *recipe_dir, const struct lock_entry *entries, size_t count,
		     struct diag_list *diags, struct error *err)
{
	if (plan->mode == PLAN_FROZEN || count == 0)
		return 0;
	return merge_into_lock(plan, recipe_dir, entries, count, diags, err);
}

/* Records what this run verified. */
static int record(struct plan *plan, const char *dir, struct diag_list *diags, struct error *err)
{
	struct lock_entry *entries = calloc(plan->count + 1, sizeof(*entries));
	size_t n = 0;
	int rc;

	if (!entries)
		abort();
	for (size_t i = 0; i < plan->count; i++) {
		const struct fetch_item *item = &plan->items[i];
		struct lock_entry *entry = &entries[n];
		if (item->state != FETCH_DOWNLOADED)
			continue;
		entry->coordinate = (char *)item->coordinate;
		entry->repository = item->repository_url;
		entry->size = item->size;
		memcpy(entry->sha256, item->sha256, sizeof(entry->sha256));
		memcpy(entry->sha1, item->sha1, sizeof(entry->sha1));
		n++;
	}
	rc = merge_into_lock(plan, dir, entries, n, diags, err);
	free(entries);
	return rc;
}

int plan_fetch(struct plan **out, const struct recipe *r, enum plan_mode mode, bool lock_read_only,
	       const struct fetch_options *options, struct diag_list *diags, struct error *err)
{
	struct plan *plan = calloc(1, sizeof(*plan));
	struct lockfile *lock = NULL;
	int rc = -1, fetched;

	*out = NULL;
	if (!plan)
		abort();
	plan->lock_path = plan_lock_path(r);
	plan->mode = mode;
	plan->lock_read_only = lock_read_only;
	if (lockfile_read(&lock, plan->lock_path, diags, err))
		goto out;
	if (prepare(plan, r, lock, mode, diags)) {
		error_set(err, ERROR_INVALID, "%s does not match the recipe", plan->lock_path);
		goto out;
	}
	fetched = fetch_run(plan->items, plan->count, options, &plan->progress, err);
	/* The lock changes only when the whole plan resolved: a half-resolved set of pins would
	 * read as a consistent one. What was verified stays in the cache for the next run. */
	if (fetched)
		goto out;
	if (lock_read_only)
		plan->lock = lock; /* record() puts what it verified there */
	if (mode != PLAN_FROZEN && record(plan, r->dir, diags, err))
		goto out;
	rc = 0;
out:
	plan->lock = lock;
	*out = plan; /* the items say what happened, also on failure */
	return rc;
}
