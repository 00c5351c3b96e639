/* kustomize.h - names compatible with kustomize's configMapGenerator.
 *
 * A generated ConfigMap is named `<name>-<hash>`, the hash being kustomize's content hash,
 * so our bundles mix with kustomize overlays and every script edit yields a new, immutable
 * ConfigMap name.
 */
#ifndef FACTORY_KUSTOMIZE_H
#define FACTORY_KUSTOMIZE_H

#include <jansson.h>

#include "error.h"

#define KUSTOMIZE_HASH_LENGTH 10

/* The 10-character hash kustomize computes for a ConfigMap whose `data` is `data` (an
 * object of strings). `hash` receives KUSTOMIZE_HASH_LENGTH characters and a NUL. */
int kustomize_configmap_hash(const json_t *data, char hash[KUSTOMIZE_HASH_LENGTH + 1],
			     struct error *err);

#endif
