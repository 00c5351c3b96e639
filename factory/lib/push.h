/* push.h - sending a built bundle's image to its registry. */
#ifndef FACTORY_PUSH_H
#define FACTORY_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "registry.h"

/* A document of the bundle attached to the pushed image: an artifact whose subject it is. */
struct push_attached {
	char *document;            /* its file name in the bundle */
	const char *artifact_type; /* static */
	char digest[72];           /* of the artifact manifest */
	bool sent;                 /* this push sent it (otherwise the registry had it) */
};

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
	/* The documents bundle.json lists, each attached (referrers.h); where the registry lists
	 * them: its referrers API, or the index under referrers_tag ("" for the API) */
	struct push_attached *attached;
	size_t attached_count;
	char referrers_tag[72];
	/* What went wrong after the image was pushed (a document the registry refused): the
	 * push stands, these say what is missing */
	char **warnings;
	size_t warning_count;
};

/* Pushes <app_dir>/image as described by <app_dir>/bundle.json and records where in it
 * (unless it already says so), then attaches each document bundle.json lists and records
 * that ("attached"). A document that does not match its sha256 fails the push before
 * anything is sent; one the registry refuses is a warning, and the image push stands.
 * `hooks` (may be NULL) sees each blob and can stop the push between blobs. */
int push_bundle(const char *app_dir, const struct config *config, const struct registry_push_hooks *hooks,
		struct push_result *result, struct error *err);
void push_result_clear(struct push_result *result);

#endif
