/* workspace.h - what every command that reads a recipe needs: the configuration that
 * applies to it and the connector catalog. */
#ifndef FACTORY_WORKSPACE_H
#define FACTORY_WORKSPACE_H

#include "catalog.h"
#include "config.h"
#include "diag.h"
#include "error.h"

struct workspace {
	struct config *config;
	struct catalog *catalog;
};

struct workspace_options {
	const char *config_path;  /* --config; NULL to search */
	const char *catalog_dir;  /* --catalog; NULL for the configured or installed one */
	const struct http_observer *http_observer; /* becomes config->http_observer; may be NULL */
	const volatile sig_atomic_t *interrupted;   /* becomes config->interrupted; may be NULL */
};

/* Finds and loads the configuration for `recipe_path` and the connector catalog: --catalog,
 * then factory.yaml's `catalog`, then `connectors/` beside the binary's directory
 * (../connectors from bin/), then the installed prefix's (../share/factory/connectors from
 * bin/), then /usr/share/factory/connectors. */
int workspace_open(struct workspace *ws, const char *recipe_path, const struct workspace_options *options,
		   struct diag_list *diags, struct error *err);
void workspace_close(struct workspace *ws);

struct recipe;
struct cache;

/* What the commands that build start with: the workspace, the validated recipe and the
 * cache (each output set only on success). */
int workspace_load_recipe(struct workspace *ws, const char *recipe_path, const struct workspace_options *options,
			  struct recipe **recipe, struct cache **cache, struct diag_list *diags, struct error *err);

#endif
