/* push.h - sending a built bundle's image to its registry. */
#ifndef FACTORY_PUSH_H
#define FACTORY_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "registry.h"

struct push_result {
	struct registry_push_stats stats;
	char **references; /* registry/repository@digest, then :tag for each tag */
	size_t count;
	/* pushed before and every tag still names the manifest (one HEAD per tag): nothing sent */
	bool unchanged;
	/* base layers the target registry lacked and could not mount: downloaded from the base's
	 * registry to be sent on */
	size_t base_layers_relayed;
	long long base_relayed_bytes;
};

/* Pushes <app_dir>/image as described by <app_dir>/bundle.json and records where in it
 * (unless it already says so).
 * `hooks` (may be NULL) sees each blob and can stop the push between blobs. */
int push_bundle(const char *app_dir, const struct config *config, const struct registry_push_hooks *hooks,
		struct push_result *result, struct error *err);
void push_result_clear(struct push_result *result);

#endif
