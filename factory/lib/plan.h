/* plan.h - from a recipe to exact, verified artifacts: factory.lock and the cache.
 *
 * Every artifact of the recipe is pinned by the recipe's sha256, else by factory.lock, else
 * by the repository's checksums on first fetch; what was fetched is recorded in the lock.
 */
#ifndef FACTORY_PLAN_H
#define FACTORY_PLAN_H

#include <stdbool.h>

#include "diag.h"
#include "fetch.h"
#include "lockfile.h"
#include "recipe.h"

enum plan_mode {
	PLAN_FETCH,   /* use the lock, add what is missing */
	PLAN_FROZEN,  /* use only the lock; fail if anything would change */
	PLAN_REFRESH, /* ignore the lock's pins and resolve everything again */
};

struct plan {
	struct fetch_item *items;
	size_t count;
	enum plan_mode mode;
	char *lock_path;
	struct lockfile *lock; /* the lock as it was read; later stages look their pins up in it */
	bool lock_changed;
	/* What was verified goes into `lock` only, never to the file: a dry run (factory diff)
	 * sees the pins a build would record without recording them. */
	bool lock_read_only;
	struct fetch_progress progress;
};

/* The lock file that belongs to a recipe: factory.lock in the recipe's directory. */
char *plan_lock_path(const struct recipe *recipe);

/* `lock_read_only`: see struct plan. */
int plan_fetch(struct plan **out, const struct recipe *recipe, enum plan_mode mode, bool lock_read_only,
	       const struct fetch_options *options, struct diag_list *diags, struct error *err);
void plan_free(struct plan *plan);

/* Merges entries into the lock on disk (under the directory's flock, as plan_fetch does) and
 * into plan->lock. Does nothing in PLAN_FROZEN mode; only the latter with lock_read_only. */
int plan_lock_record(struct plan *plan, const char *recipe_dir, const struct lock_entry *entries, size_t count,
		     struct diag_list *diags, struct error *err);

#endif
