/* pyruntime.h - a relocatable CPython for bases without Python.
 *
 * The runtime is a tarball in the "install_only" layout python-build-standalone publishes
 * (and uv and rules_python use): python/bin/python3.X, python/lib/python3.X/. factory puts
 * it, pinned by sha256, into the cache, reads its version from the tarball itself, and
 * unpacks it into the image at a fixed path (default /opt/python): root-owned, setuid and
 * setgid bits dropped, links kept only when they stay inside the runtime.
 */
#ifndef FACTORY_PYRUNTIME_H
#define FACTORY_PYRUNTIME_H

#include <stddef.h>

#include "cache.h"
#include "download.h"
#include "error.h"
#include "recipe.h"
#include "wheel.h"

struct pyruntime {
	char sha256[65];
	int major, minor;
	char version[24];     /* "3.11.10" (patchlevel.h), else "3.11" */
	char interpreter[96]; /* in the image, no leading '/': "opt/python/bin/python3.11" */
	const char *path;     /* "/opt/python" */
};

/* Puts the runtime into the cache (a download or a file beside the recipe, verified against
 * its sha256) and reads its Python version. Nothing is downloaded when the cache has it. */
int pyruntime_fetch(const struct recipe_python_runtime *spec, const char *recipe_dir,
		    const struct download_options *download, struct cache *cache, struct pyruntime *out,
		    struct error *err);

/* Where wheels go with this runtime: its own site-packages and bin. */
void pyruntime_target(const struct pyruntime *rt, const char *platform, struct python_target *t);

/* One entry of the unpacked runtime, for a layer. */
struct pyruntime_entry {
	char *path;   /* in the image, no leading '/' */
	char *source; /* regular file: the extracted copy; symlink: its target; directory: NULL */
	unsigned mode;
	char type;    /* 'f', 'd' or 'l' */
};

struct pyruntime_files {
	struct pyruntime_entry *entries;
	size_t count;
};

/* Extracts the runtime under `staging` and lists what goes into the image. */
int pyruntime_unpack(const struct pyruntime *rt, struct cache *cache, const char *staging,
		     struct pyruntime_files *out, struct error *err);
void pyruntime_files_clear(struct pyruntime_files *files);

#endif
