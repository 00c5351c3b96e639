/* pypi.h - the wheels of a recipe's Python requirements: a file beside the recipe, a URL,
 * or a PEP 503 "simple" package index; always pinned by sha256, always verified. */
#ifndef FACTORY_PYPI_H
#define FACTORY_PYPI_H

#include "cache.h"
#include "config.h"
#include "error.h"
#include "recipe.h"
#include "wheel.h"

struct python_wheel {
	char filename[256];
	char sha256[65];
};

/* Puts the requirement's wheel in the cache. A wheel fetched before (same pin) is taken from
 * the cache without any request. */
int pypi_fetch(const struct recipe_requirement *req, const char *recipe_dir, const struct config *config,
	       const struct python_target *target, struct cache *cache, struct python_wheel *out, struct error *err);

#endif
