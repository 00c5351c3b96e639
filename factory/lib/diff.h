/* diff.h - what a build would change: two bundles compared object by object, field by field.
 *
 * The "from" side is what is deployed or built now (out/<app>, or the manifests of a GitOps
 * repository), the "to" side a bundle built elsewhere (a scratch directory). Manifests are read
 * back from their YAML, so that the comparison is of Kubernetes objects, not of bytes: each
 * file of manifests/ is one object, matched by file name (a ConfigMap whose name carries the
 * hash of its data is the same object under a new name), and each differing field is named by
 * its path. The image is compared through bundle.json: its manifest digest, its tags, each
 * layer (base layers by position, factory's own by content), and the blobs a push would send.
 *
 * The report is JSON, the shape `factory diff --json` prints:
 *
 *   {changed: bool,
 *    objects: [{file, kind, name, change: "added"|"removed"|"changed",
 *               fields: [{path, from, to}]}],            (absent side: no "from"/"to" key)
 *    image: null | {from, to, tags: {from, to} | null,
 *                   layers: [{index, content, change, from: {digest, size}, to: {digest, size},
 *                             inputs: {added: [path], removed: [path], changed: [path]}}],
 *                   push: {blobs, bytes, tags: [tag]}}}
 *
 * Objects come sorted by file, fields in document order.
 */
#ifndef FACTORY_DIFF_H
#define FACTORY_DIFF_H

#include <jansson.h>

#include "diag.h"
#include "error.h"

/* The objects of a manifests directory: file name -> the object its YAML holds (json). A
 * directory that does not exist holds none. Files are sorted by the report, not here. */
int diff_load_manifests(const char *dir, json_t **files, struct diag_list *diags, struct error *err);

/* Adds one manifest file (name, YAML bytes) to a struct diff_files; names that do not end in
 * .yaml are skipped. The shape of gitops_read_files' callback. */
struct diff_files {
	json_t *files;
	struct diag_list *diags;
};
int diff_add_file(void *ctx, const char *name, const void *data, size_t size, struct error *err);

/* The report for `from_files` (diff_load_manifests' shape) and `from_bundle` (bundle.json's
 * object; {} when nothing was built; NULL when there is none to compare with, as for a GitOps
 * repository, which holds only manifests: the image is then null) against the bundle at
 * `to_dir`. */
int diff_report(const json_t *from_files, const json_t *from_bundle, const char *to_dir, json_t **report,
		struct diag_list *diags, struct error *err);

/* The same with both sides bundles: `from_dir` may not exist yet (nothing built: every object
 * and layer is added). */
int diff_bundles(const char *from_dir, const char *to_dir, json_t **report, struct diag_list *diags,
		 struct error *err);

#endif
