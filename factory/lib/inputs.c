#include "inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "util.h"

static int resolve_base(struct image_inputs *in, const struct recipe *r, const struct config *config,
			struct plan *plan, struct cache *cache, bool lazy, struct diag_list *diags, struct error *err)
{
	char *key = xasprintf("base:%s;%s", r->base_image, r->platform);
	const struct lock_entry *locked = plan->lock ? lockfile_find(plan->lock, key) : NULL;
	bool local = base_reference_is_local(r->base_image);
	char pinned[72] = "";
	const char *got;
	struct lock_entry *entry;
	int rc = -1;

	(void)diags;

	if (!local && locked && plan->mode != PLAN_REFRESH)
		snprintf(pinned, sizeof(pinned), "sha256:%s", locked->sha256);
	if (!local && !locked && plan->mode == PLAN_FROZEN) {
		diag_add(diags, DIAG_ERROR, plan->lock_path, 0, 0, "no entry %s; run 'factory lock %s' and commit the result",
			 key, r->file);
		error_set(err, ERROR_INVALID, "%s does not match the recipe", plan->lock_path);
		goto out;
	}
	if (base_resolve(&in->base, r->base_image, r->platform, r->dir, config, cache, lazy, pinned[0] ? pinned : NULL,
			 err)) {
		/* Where the base is named, so a missing tag or repository is fixed at that line. */
		const struct ynode *at = ynode_where(r->doc->root, "flink.image");
		error_wrap(err, "%s:%d:%d: flink.image %s", r->file, at ? at->line : 0, at ? at->col : 0,
			   r->base_image);
		goto out;
	}
	got = in->base.image.manifest_digest;
	if (locked && plan->mode == PLAN_FROZEN && strcmp(locked->sha256, got + 7) != 0) {
		error_set(err, ERROR_CONFLICT, "the base %s (%s) is now sha256:%s but %s pins sha256:%s; run 'factory lock %s' "
					       "to accept the new base", r->base_image, r->platform, got + 7, plan->lock_path,
			  locked->sha256, r->file);
		goto out;
	}
	entry = &in->pending[in->pending_count++];
	entry->coordinate = key;
	key = NULL;
	entry->repository = xstrdup(r->base_image);
	memcpy(entry->sha256, got + 7, sizeof(entry->sha256));
	rc = 0;
out:
	free(key);
	return rc;
}

/* factory.lock records the runtime with the Python version read from it. */
static int fetch_runtime(struct image_inputs *in, const struct recipe *r, const struct config *config,
			 struct cache *cache, struct error *err)
{
	const struct recipe_python_runtime *spec = &r->python_runtime;
	struct download_options download = config_download_options(config);
	struct lock_entry *e;

	if (pyruntime_fetch(spec, r->dir, &download, cache, &in->runtime, err))
		return -1;
	in->has_runtime = true;
	e = &in->pending[in->pending_count++];
	e->coordinate = xasprintf("python-runtime:%s", in->runtime.sha256);
	e->repository = xstrdup(spec->url ? spec->url : spec->file);
	e->url = spec->url ? xstrdup(spec->url) : NULL;
	e->filename = xstrdup(fs_basename(spec->url ? spec->url : spec->file));
	e->version = xstrdup(in->runtime.version);
	memcpy(e->sha256, in->runtime.sha256, sizeof(e->sha256));
	return 0;
}

/* What the base's C library allows (manylinux_2_N needs glibc 2.N). */
static void target_set_libc(struct python_target *t, const struct base_facts *f)
{
	if (f->glibc[0] && sscanf(f->glibc, "%d.%d", &t->glibc_major, &t->glibc_minor) != 2)
		t->glibc_major = t->glibc_minor = 0;
	t->musl = f->musl;
}

int inputs_resolve(struct image_inputs *in, const struct recipe *r, const struct config *config, struct plan *plan,
		   struct cache *cache, bool lazy, struct diag_list *diags, struct error *err)
{
	memset(in, 0, sizeof(*in));
	if (resolve_base(in, r, config, plan, cache, lazy, diags, err) ||
	    base_facts_read(&in->facts, &in->base, r, cache, err))
		return -1;
	if (r->python_runtime.sha256 && fetch_runtime(in, r, config, cache, err))
		return -1;
	if (in->has_runtime) {
		pyruntime_target(&in->runtime, r->platform, &in->target);
		in->has_target = true;
	} else if (in->facts.python[0]) {
		/* No Python at all is the lint's to report, with the fix. */
		if (python_target_init(&in->target, in->facts.python, r->platform, err))
			return -1;
		in->has_target = true;
	}
	if (!in->has_target || (!r->requirement_count && !r->requirements_file))
		return 0;
	target_set_libc(&in->target, &in->facts);
	return pyset_resolve(r, config, &in->target, plan, cache, &in->python, diags, err);
}

int inputs_record(const struct image_inputs *in, struct plan *plan, const char *recipe_dir, struct diag_list *diags,
		  struct error *err)
{
	if (plan_lock_record(plan, recipe_dir, in->pending, in->pending_count, diags, err))
		return -1;
	return pyset_record(&in->python, plan, recipe_dir, diags, err);
}

void inputs_clear(struct image_inputs *in)
{
	for (size_t i = 0; i < in->pending_count; i++) {
		free(in->pending[i].coordinate);
		free(in->pending[i].repository);
		free(in->pending[i].url);
		free(in->pending[i].filename);
		free(in->pending[i].version);
	}
	pyset_clear(&in->python);
	base_facts_clear(&in->facts);
	base_image_clear(&in->base);
	memset(in, 0, sizeof(*in));
}
