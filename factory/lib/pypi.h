/* pypi.h - the wheels of a recipe's Python requirements: a file beside the recipe, a URL,
 * or a "simple" package index (PEP 503 HTML or PEP 691 JSON); always pinned by sha256,
 * always verified. */
#ifndef FACTORY_PYPI_H
#define FACTORY_PYPI_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "config.h"
#include "error.h"
#include "recipe.h"
#include "wheel.h"

struct python_wheel {
	char filename[256];
	char sha256[65];
	bool yanked;             /* taken from an index although yanked: the pin names exactly it */
	char yanked_reason[256]; /* "" when the index gave none */
	/* Where a dependency file declares it ("requirements.txt", line, column); "" for a
	 * requirement of the recipe's own list. */
	char origin_file[256];
	int origin_line, origin_col;
};

/* Puts the requirement's wheel in the cache. A wheel fetched before (same pin) is taken from
 * the cache without any request. From an index, the wheel is the one pypi_resolve chooses. */
int pypi_fetch(const struct recipe_requirement *req, const char *recipe_dir, const struct config *config,
	       const struct python_target *target, struct cache *cache, struct python_wheel *out, struct error *err);

/* One file of a project as a simple index lists it. */
struct pypi_file {
	char *filename;        /* JSON's, else the URL's last path segment percent-decoded, or the link
				* text when that segment is no distribution file name */
	char *url;             /* absolute, without the fragment */
	char sha256[65];       /* lowercase hex; "" when the index gives none */
	char *requires_python; /* NULL when absent */
	bool yanked;
	char *yanked_reason;   /* NULL when none was given */
};

struct pypi_file_list {
	struct pypi_file *items;
	size_t count;
};

/* A project page of a simple repository, PEP 503 HTML (with the data-requires-python of
 * PEP 345/503 and data-yanked of PEP 592, a <base href> honoured) or PEP 691 JSON. Links
 * resolve against page_url as RFC 3986 says; links that are not http(s) are left out. */
int pypi_parse_simple_html(const char *page, size_t size, const char *page_url, struct pypi_file_list *out,
			   struct error *err);
int pypi_parse_simple_json(const char *page, size_t size, const char *page_url, struct pypi_file_list *out,
			   struct error *err);

/* GETs <index_url>/<normalized project>/, preferring PEP 691 JSON, and parses it by its
 * Content-Type. A project the index does not have (404, 410) is an empty list. */
int pypi_list_files(const struct download_options *options, const char *index_url, const char *project,
		    struct pypi_file_list *out, struct error *err);
void pypi_file_list_clear(struct pypi_file_list *list);

/* Where a requirement's wheel is, without downloading it: what a lock records. */
struct pypi_resolved {
	char *index;         /* the index that listed it */
	char *filename;
	char *url;
	char sha256[65];     /* as the index gives it; "" when it gives none (the download decides) */
	bool yanked;         /* chosen although yanked (PEP 592: the pin names exactly this release) */
	char *yanked_reason; /* NULL when none was given */
};

/* Chooses the requirement's wheel (wheel_select) from the configured indexes, tried in order:
 * the first index with a wheel that fits wins. Without sha256 pins, any file fits. */
int pypi_resolve(const struct recipe_requirement *req, const struct config *config, const struct python_target *target,
		 struct pypi_resolved *out, struct error *err);
void pypi_resolved_clear(struct pypi_resolved *resolved);

#endif
