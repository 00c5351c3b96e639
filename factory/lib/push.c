#include "push.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "cache.h"
#include "fsutil.h"
#include "oci.h"
#include "util.h"

void push_result_clear(struct push_result *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->references[i]);
	free(r->references);
	memset(r, 0, sizeof(*r));
}

static void add_reference(struct push_result *r, char *reference)
{
	r->references = realloc(r->references, (r->count + 1) * sizeof(*r->references));
	if (!r->references)
		abort();
	r->references[r->count++] = reference;
}

struct base_source {
	const struct config *config;
	struct cache *cache;
	const struct registry_ref *base;
	pthread_mutex_t lock; /* the pushing threads share the lazily opened cache */
	size_t relayed;       /* base layers downloaded to be sent on */
	long long relayed_bytes;
};

/* A base layer a lazy build left in the base's registry: fetched into the cache to be sent
 * on (only when the target registry neither has it nor can mount it). */
static int fetch_from_base(void *ctx, const char *digest, char **path, struct error *err)
{
	struct base_source *src = ctx;
	struct registry *reg = NULL;
	int rc;

	if (!src->base->registry)
		return error_set(err, ERROR_INVALID, "blob %s is missing from the image layout", digest);
	/* Opened only now: a push of a complete layout never touches the cache. */
	pthread_mutex_lock(&src->lock);
	rc = src->cache ? 0 : cache_open(&src->cache, src->config->cache_dir, err);
	pthread_mutex_unlock(&src->lock);
	if (rc)
		return -1;
	rc = registry_open(&reg, src->config, src->base->registry, err);
	if (rc == 0)
		rc = registry_fetch_blob(reg, src->base->repository, digest, src->cache, err);
	registry_close(reg);
	if (rc == 0) {
		*path = cache_blob_path(src->cache, digest + 7);
		struct stat st;
		pthread_mutex_lock(&src->lock);
		src->relayed++;
		src->relayed_bytes += stat(*path, &st) == 0 ? (long long)st.st_size : 0;
		pthread_mutex_unlock(&src->lock);
	}
	return rc;
}

/* The bundle records exactly these references as pushed: this image went there before. */
static bool pushed_before(const char *app_dir, char *const *references, size_t count)
{
	json_t *list = bundle_read_pushed(app_dir);
	bool same = json_array_size(list) == count;

	for (size_t i = 0; same && i < count; i++)
		same = json_string_value(json_array_get(list, i)) &&
		       strcmp(json_string_value(json_array_get(list, i)), references[i]) == 0;
	json_decref(list);
	return same;
}

/* A registry keeps no manifest whose blobs it lacks: when every tag already names this
 * manifest, the image is there and not one blob needs asking about. */
static bool already_there(struct registry *reg, const struct bundle_target *t)
{
	for (size_t i = 0; i < t->tag_count; i++)
		if (!registry_has_manifest(reg, t->repository, t->tags[i], t->manifest_digest))
			return false;
	return true;
}

int push_bundle(const char *app_dir, const struct config *config, const struct registry_push_hooks *hooks,
		struct push_result *result, struct error *err)
{
	struct bundle_target target;
	struct registry *reg = NULL;
	struct registry_ref base = {0};
	const char *registry, *mount_from = NULL;
	char *blobs = NULL;
	struct base_source source = {config, NULL, &base, PTHREAD_MUTEX_INITIALIZER, 0, 0};
	int rc = -1;

	memset(result, 0, sizeof(*result));
	if (bundle_read_target(app_dir, &target, err))
		return -1;
	registry = target.registry ? target.registry : config->base_registry;
	/* A base on the same registry can lend its layers: mount instead of upload. */
	if (target.base && strncmp(target.base, "oci:", 4) != 0 && strncmp(target.base, "docker-archive:", 15) != 0) {
		struct error ignored = {0};
		if (registry_ref_parse(strncmp(target.base, "docker://", 9) == 0 ? target.base + 9 : target.base,
				       config->base_registry, &base, &ignored) == 0 &&
		    strcmp(base.registry, registry) == 0)
			mount_from = base.repository;
	}
	blobs = fs_path_join(app_dir, "image/blobs/sha256");
	add_reference(result, oci_reference(registry, target.repository, target.manifest_digest));
	for (size_t i = 0; i < target.tag_count; i++)
		add_reference(result, oci_reference(registry, target.repository, target.tags[i]));
	if (registry_open(&reg, config, registry, err))
		goto out;
	if (pushed_before(app_dir, result->references, result->count) && already_there(reg, &target))
		result->unchanged = true;
	else if (registry_push(reg, target.repository, blobs, target.manifest_digest, (const char *const *)target.tags,
			       target.tag_count, mount_from, fetch_from_base, &source, hooks, &result->stats, err))
		goto out;
	result->base_layers_relayed = source.relayed;
	result->base_relayed_bytes = source.relayed_bytes;
	rc = bundle_write_pushed(app_dir, (const char *const *)result->references, result->count, err);
out:
	if (rc)
		push_result_clear(result);
	registry_close(reg);
	cache_close(source.cache);
	registry_ref_clear(&base);
	free(blobs);
	bundle_target_clear(&target);
	return rc;
}
