/* bundle.h - out/<app>/: what factory produces for one application.
 *
 * manifests/ is replaced as a whole: the new files are written into a staging directory
 * beside it and swapped in with one rename, so a failed or interrupted run leaves the
 * previous bundle exactly as it was.
 */
#ifndef FACTORY_BUNDLE_H
#define FACTORY_BUNDLE_H

#include "error.h"
#include "render.h"

/* Writes `output` as `<app_dir>/manifests/`. */
int bundle_write_manifests(const struct render_output *output, const char *app_dir, struct error *err);

#endif
