/* pyset.h - the wheels of a recipe's Python dependency set for one target: each requirement
 * resolved to one wheel, verified into the cache and recorded in factory.lock.
 *
 * The set is python.requirements: a list of pinned wheels in the recipe, or a path to a
 * requirements.txt in pip's hash-checking format or a PEP 751 pylock.toml (see pyreq.h). For
 * a file, the wheel chosen for a requirement depends on the target (Python version and ABI,
 * architecture, C library), so the lock keys it as
 *     pypi:<normalized name>==<version>;<abi>-<arch>-<libc>
 * e.g. "pypi:numpy==1.26.4;cp311-x86_64-glibc2.36". A locked choice is reused without asking
 * any index; with PLAN_FROZEN a requirement missing from the lock is an error.
 */
#ifndef FACTORY_PYSET_H
#define FACTORY_PYSET_H

#include <stddef.h>

#include "cache.h"
#include "config.h"
#include "diag.h"
#include "error.h"
#include "plan.h"
#include "pypi.h"
#include "recipe.h"
#include "wheel.h"

struct pyset {
	struct python_wheel *wheels; /* in the cache */
	size_t count;
	struct lock_entry *entries;  /* what factory.lock should record once the wheels are installed */
	size_t entry_count;
};

/* Every wheel of the set in the cache. Each requirement that cannot be satisfied is a
 * diagnostic at its file:line, all in one pass; then -1 is returned. Nothing is written to
 * factory.lock here: see pyset_record. */
int pyset_resolve(const struct recipe *recipe, const struct config *config, const struct python_target *target,
		  const struct plan *plan, struct cache *cache, struct pyset *out, struct diag_list *diags,
		  struct error *err);

/* Records the set's choices in factory.lock: only after its wheels were installed, so a wheel
 * refused at installation is never pinned. */
int pyset_record(const struct pyset *set, struct plan *plan, const char *recipe_dir, struct diag_list *diags,
		 struct error *err);
void pyset_clear(struct pyset *set);

/* The lock key of a target: "cp311-x86_64-glibc2.36". */
void pyset_target_key(const struct python_target *target, char *out, size_t size);

#endif
