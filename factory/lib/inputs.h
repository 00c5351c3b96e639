/* inputs.h - everything an image is built from besides the JARs of the plan, resolved to
 * exact digests and put in the cache before assembly starts: the base (its tag pinned in
 * factory.lock per platform), what the base contains (basefacts.h), the Python runtime and
 * the wheels of the Python dependency set for the image's interpreter.
 *
 * After this step assembly reads only the cache: a build after `factory fetch` makes no
 * request unless it pushes, and --frozen resolves nothing the lock does not name.
 *
 * The base's lock entry is keyed "base:<reference>;<platform>" and holds the platform's
 * manifest digest. A registry base is then that manifest, whatever its tag says now, until
 * `factory lock` asks again; a base read from disk (oci:, docker-archive:) is read as it is,
 * and with --frozen a digest other than the locked one is an error naming both.
 */
#ifndef FACTORY_INPUTS_H
#define FACTORY_INPUTS_H

#include <stdbool.h>

#include "base.h"
#include "basefacts.h"
#include "config.h"
#include "diag.h"
#include "error.h"
#include "plan.h"
#include "pyruntime.h"
#include "pyset.h"
#include "recipe.h"
#include "wheel.h"

struct image_inputs {
	struct base_image base;
	struct base_facts facts;
	bool has_runtime;
	struct pyruntime runtime;
	bool has_target;              /* a Python to install wheels for was found */
	struct python_target target;
	struct pyset python;          /* the wheels, in the cache */
	struct lock_entry pending[2]; /* the base's and the runtime's lock entries, not yet written */
	size_t pending_count;
};

/* Resolves and fetches. With `lazy`, a registry base's layers stay in the registry unless the
 * checks need them. Nothing is written to factory.lock: see inputs_record. */
int inputs_resolve(struct image_inputs *in, const struct recipe *recipe, const struct config *config,
		   struct plan *plan, struct cache *cache, bool lazy, struct diag_list *diags, struct error *err);
/* Records the base, the runtime and the wheels in factory.lock: after a fetch, or after a build
 * installed them, so that a failed build leaves the lock as it was and a wheel refused at
 * installation is never pinned. */
int inputs_record(const struct image_inputs *in, struct plan *plan, const char *recipe_dir, struct diag_list *diags,
		  struct error *err);
void inputs_clear(struct image_inputs *in);

#endif
