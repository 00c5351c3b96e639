#include "pyset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download.h"
#include "fsutil.h"
#include "pyreq.h"
#include "util.h"

void pyset_target_key(const struct python_target *t, char *out, size_t size)
{
	char libc[32];

	if (t->musl)
		snprintf(libc, sizeof(libc), "musl%d.%d", t->musl_major, t->musl_minor);
	else if (t->glibc_major)
		snprintf(libc, sizeof(libc), "glibc%d.%d", t->glibc_major, t->glibc_minor);
	else
		snprintf(libc, sizeof(libc), "glibc");
	snprintf(out, size, "cp%d%d-%s-%s", t->major, t->minor, t->arch, libc);
}

static char *lock_key(const struct pyreq *req, const char *target_key)
{
	char normalized[128];

	python_normalize_name(req->name, normalized, sizeof(normalized));
	return xasprintf("pypi:%s==%s;%s", normalized, req->version, target_key);
}

static bool accepted(const struct pyreq *req, const char *sha256)
{
	for (size_t i = 0; i < req->sha256_count; i++)
		if (strcmp(req->sha256[i], sha256) == 0)
			return true;
	return false;
}

/* One requirement's wheel: where to get it and what it is. */
struct choice {
	char *url;        /* or */
	char *path;       /* a file the lock names */
	char *filename;
	char *repository; /* for the lock: the index, the lock file, or the URL */
	char sha256[65];  /* "" until known */
	bool yanked;
};

static void choice_clear(struct choice *c)
{
	free(c->url);
	free(c->path);
	free(c->filename);
	free(c->repository);
	memset(c, 0, sizeof(*c));
}

/* pylock.toml: the lock lists the wheels; choose the one for the target as an installer would. */
static int choose_listed(const struct pyreq *req, const char *lock_file, const struct python_target *t,
			 struct choice *c, struct error *err)
{
	struct wheel_candidate *cands = calloc(req->wheel_count + 1, sizeof(*cands));
	const char **hashes = calloc(req->sha256_count + 1, sizeof(*hashes));
	struct wheel_request want = {req->name, req->version, hashes, req->sha256_count, true};
	int chosen;

	if (!cands || !hashes)
		abort();
	for (size_t i = 0; i < req->sha256_count; i++)
		hashes[i] = req->sha256[i];
	for (size_t i = 0; i < req->wheel_count; i++) {
		cands[i].filename = req->wheels[i].filename;
		cands[i].sha256 = req->wheels[i].sha256;
	}
	chosen = wheel_select(cands, req->wheel_count, &want, t, &c->yanked, err);
	if (chosen >= 0) {
		const struct pyreq_wheel *w = &req->wheels[chosen];
		c->url = w->url ? xstrdup(w->url) : NULL;
		c->path = !w->url && w->path ? xstrdup(w->path) : NULL;
		c->filename = xstrdup(w->filename);
		c->repository = xstrdup(lock_file);
		snprintf(c->sha256, sizeof(c->sha256), "%s", w->sha256);
	}
	free(cands);
	free(hashes);
	return chosen >= 0 ? 0 : -1;
}

/* requirements.txt: `name @ URL`, else the configured indexes. */
static int choose_from_index(const struct pyreq *req, const struct config *config, const struct python_target *t,
			     struct choice *c, struct error *err)
{
	struct recipe_requirement rr = {.name = req->name, .version = req->version};
	struct pypi_resolved resolved = {0};
	int rc;

	if (req->url) {
		const char *name = fs_basename(req->url);
		struct wheel_name w;
		char *plain = xasprintf("%.*s", (int)strcspn(name, "?#"), name);
		rc = wheel_parse_filename(plain, &w, err) || wheel_check_compatible(&w, t, err) ? -1 : 0;
		if (rc == 0) {
			c->url = xstrdup(req->url);
			c->filename = plain;
			c->repository = xstrdup(req->url);
		} else {
			free(plain);
		}
		return rc;
	}
	rr.sha256.items = (const char **)req->sha256;
	rr.sha256.count = req->sha256_count;
	rc = pypi_resolve(&rr, config, t, &resolved, err);
	if (rc == 0) {
		c->url = xstrdup(resolved.url);
		c->filename = xstrdup(resolved.filename);
		c->repository = xstrdup(resolved.index);
		snprintf(c->sha256, sizeof(c->sha256), "%s", resolved.sha256);
		c->yanked = resolved.yanked;
	}
	pypi_resolved_clear(&resolved);
	return rc;
}

static int fetch_choice(struct choice *c, const struct pyreq *req, const struct config *config, struct cache *cache,
			long long *size, struct error *err)
{
	struct download_options download = config_download_options(config);
	const char **pins = calloc(req->sha256_count + 1, sizeof(*pins));
	size_t npins = 0;
	char stored[65];
	off_t have = 0;
	int rc;

	if (!pins)
		abort();
	if (c->sha256[0] && cache_verify(cache, c->sha256, &have)) {
		*size = (long long)have;
		free(pins);
		return 0;
	}
	/* The file must have one of the hashes the set pins; the one chosen, when known. */
	if (c->sha256[0])
		pins[npins++] = c->sha256;
	else
		for (size_t i = 0; i < req->sha256_count; i++)
			pins[npins++] = req->sha256[i];
	rc = c->url ? download_to_cache(&download, c->url, cache, pins, npins, stored, err)
		    : download_import_file(c->path, cache, pins, npins, stored, err);
	free(pins);
	if (rc)
		return -1;
	snprintf(c->sha256, sizeof(c->sha256), "%s", stored);
	if (cache_verify(cache, c->sha256, &have))
		*size = (long long)have;
	return 0;
}

static void env_for(const struct python_target *t, char python_version[16], struct pyreq_env *env)
{
	snprintf(python_version, 16, "%d.%d", t->major, t->minor);
	memset(env, 0, sizeof(*env));
	env->python_version = python_version;
	env->python_full_version = t->version[0] ? t->version : python_version;
	env->implementation_version = env->python_full_version;
	env->platform_machine = t->arch;
	env->sys_platform = "linux";
	env->platform_system = "Linux";
	env->os_name = "posix";
	env->implementation_name = "cpython";
	env->platform_python_implementation = "CPython";
}

static int resolve_file(const struct recipe *r, const struct config *config, const struct python_target *t,
			const struct plan *plan, struct cache *cache, struct pyset *out, struct diag_list *diags,
			struct error *err)
{
	char *path = fs_path_join(r->dir, r->requirements_file), target_key[64], python_version[16];
	struct pyreq_env env;
	struct pyreq_set set = {0};
	size_t errors_before = diags->errors;
	bool frozen_missing = false;
	int rc = -1;

	env_for(t, python_version, &env);
	pyset_target_key(t, target_key, sizeof(target_key));
	if (pyreq_load(path, &env, &set, diags, err)) {
		if (err->code == ERROR_NONE)
			error_set(err, ERROR_INVALID, "%s cannot be installed", r->requirements_file);
		goto out;
	}
	out->wheels = calloc(set.count + 1, sizeof(*out->wheels));
	out->entries = calloc(set.count + 1, sizeof(*out->entries));
	if (!out->wheels || !out->entries)
		abort();
	for (size_t i = 0; i < set.count; i++) {
		const struct pyreq *req = &set.items[i];
		char *key = lock_key(req, target_key);
		const struct lock_entry *locked = plan->lock ? lockfile_find(plan->lock, key) : NULL;
		struct choice c = {0};
		struct error why = {0};
		long long size = 0;
		int ok;

		if (locked && locked->filename && (locked->url || req->wheel_count) && accepted(req, locked->sha256)) {
			c.url = locked->url ? xstrdup(locked->url) : NULL;
			for (size_t k = 0; !c.url && k < req->wheel_count; k++)
				if (strcmp(req->wheels[k].sha256, locked->sha256) == 0 && req->wheels[k].path)
					c.path = xstrdup(req->wheels[k].path);
			c.filename = xstrdup(locked->filename);
			c.repository = xstrdup(locked->repository);
			snprintf(c.sha256, sizeof(c.sha256), "%s", locked->sha256);
			ok = c.url || c.path ? 0 : error_set(&why, ERROR_INVALID, "the lock names no file");
		} else if (plan->mode == PLAN_FROZEN) {
			/* Python sets are resolved by a build (they depend on the base's Python). */
			if (locked)
				diag_add(diags, DIAG_ERROR, req->file, req->line, req->col,
					 "%s==%s: %s pins %s for %s, which this file no longer accepts; run 'factory "
					 "build %s' without --frozen and commit factory.lock", req->name, req->version,
					 plan->lock_path, locked->filename ? locked->filename : locked->sha256, key, r->file);
			else
				diag_add(diags, DIAG_ERROR, req->file, req->line, req->col,
					 "%s==%s: %s has no entry %s; run 'factory build %s' without --frozen and commit "
					 "factory.lock", req->name, req->version, plan->lock_path, key, r->file);
			frozen_missing = true;
			free(key);
			continue;
		} else {
			ok = req->wheel_count ? choose_listed(req, r->requirements_file, t, &c, &why)
					      : choose_from_index(req, config, t, &c, &why);
		}
		if (ok == 0)
			ok = fetch_choice(&c, req, config, cache, &size, &why);
		if (ok != 0) {
			diag_add(diags, DIAG_ERROR, req->file, req->line, req->col, "%s==%s: %s", req->name, req->version,
				 why.message);
		} else {
			struct python_wheel *w = &out->wheels[out->count++];
			struct lock_entry *e = &out->entries[out->entry_count++];
			if (c.yanked)
				diag_add(diags, DIAG_WARNING, req->file, req->line, req->col,
					 "%s==%s: %s is yanked; installed because the set pins exactly it", req->name,
					 req->version, c.filename);
			snprintf(w->filename, sizeof(w->filename), "%s", c.filename);
			snprintf(w->sha256, sizeof(w->sha256), "%s", c.sha256);
			w->yanked = c.yanked;
			snprintf(w->origin_file, sizeof(w->origin_file), "%s", req->file);
			w->origin_line = req->line;
			w->origin_col = req->col;
			e->coordinate = key;
			key = NULL;
			e->repository = xstrdup(c.repository ? c.repository : "");
			e->url = c.url ? xstrdup(c.url) : NULL;
			e->filename = xstrdup(c.filename);
			e->size = size;
			memcpy(e->sha256, c.sha256, sizeof(e->sha256));
		}
		choice_clear(&c);
		free(key);
	}
	if (diags->errors > errors_before) {
		error_set(err, ERROR_INVALID, "%s: %s", r->requirements_file,
			  frozen_missing ? "the lock does not cover the dependency set" : "the dependency set cannot be installed");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		pyset_clear(out);
	pyreq_set_clear(&set);
	free(path);
	return rc;
}

int pyset_resolve(const struct recipe *r, const struct config *config, const struct python_target *t,
		  const struct plan *plan, struct cache *cache, struct pyset *out, struct diag_list *diags,
		  struct error *err)
{
	memset(out, 0, sizeof(*out));
	if (r->requirements_file)
		return resolve_file(r, config, t, plan, cache, out, diags, err);
	out->wheels = calloc(r->requirement_count + 1, sizeof(*out->wheels));
	if (!out->wheels)
		abort();
	for (size_t i = 0; i < r->requirement_count; i++, out->count++)
		if (pypi_fetch(&r->requirements[i], r->dir, config, t, cache, &out->wheels[i], err)) {
			pyset_clear(out);
			return -1;
		}
	return 0;
}

int pyset_record(const struct pyset *set, struct plan *plan, const char *recipe_dir, struct diag_list *diags,
		 struct error *err)
{
	return plan_lock_record(plan, recipe_dir, set->entries, set->entry_count, diags, err);
}

void pyset_clear(struct pyset *set)
{
	for (size_t i = 0; i < set->entry_count; i++) {
		free(set->entries[i].coordinate);
		free(set->entries[i].repository);
		free(set->entries[i].url);
		free(set->entries[i].filename);
	}
	free(set->entries);
	free(set->wheels);
	memset(set, 0, sizeof(*set));
}
