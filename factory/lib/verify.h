/* verify.h - reading everything back: the cache and a bundle's image layout, every blob
 * hashed in full whatever its stat record says (a build trusts those records; this is the
 * check that does not). */
#ifndef FACTORY_VERIFY_H
#define FACTORY_VERIFY_H

#include <signal.h>
#include <stddef.h>

#include "cache.h"
#include "dsse.h"
#include "error.h"

struct verify_report {
	size_t checked;     /* blobs read and hashed */
	long long bytes;    /* their bytes */
	size_t absent;      /* layers a bundle names but leaves in the base's registry */
	char **problems;    /* one line each: what is wrong and what was done */
	size_t problem_count;
	char **notes;       /* what could not be checked, and why (not a failure) */
	size_t note_count;
};

void verify_report_clear(struct verify_report *report);

/* Every blob of the cache; a damaged one is removed (the next build fetches or builds it
 * again). Stops with ERROR_INTERRUPTED when *interrupted is set. */
int verify_cache(struct cache *cache, struct verify_report *report, const volatile sig_atomic_t *interrupted,
		 struct error *err);

/* <app_dir>/image: index.json, the manifest it names, its config and layers, every blob
 * against its name. A damaged blob is also rechecked in `cache` (may be NULL), which it is
 * usually a hard link of, so that the next build does not trust it. Then bundle.json
 * against the bundle: the image it records is the layout's, every manifest file and
 * document it lists hashes to its digest, no file is in manifests/ that it does not list,
 * and the provenance's subjects are this image and these files. Each DSSE envelope is
 * checked with `key` (may be NULL: then only noted) and must sign exactly the document
 * beside it. */
int verify_bundle(const char *app_dir, struct cache *cache, const struct dsse_key *key, struct verify_report *report,
		  const volatile sig_atomic_t *interrupted, struct error *err);

/* A rebuild (`rebuilt`, an app directory) against the bundle: every digest bundle.json
 * records (the recipe, the lock, the image manifest and config, each layer, each manifest file,
 * each document except signature envelopes, whose ECDSA signatures differ between runs), each
 * difference a problem naming what differs. */
int verify_compare(const char *bundle_dir, const char *rebuilt, struct verify_report *report, struct error *err);

#endif
