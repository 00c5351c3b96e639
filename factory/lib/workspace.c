#include "workspace.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fsutil.h"
#include "recipe.h"
#include "render.h"

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *installed_catalog(void)
{
	/* Beside bin/ in a checkout, under share/ of the prefix it was installed to, then the
	 * distribution's. */
	static const char *const beside_bin[] = {"connectors", "share/factory/connectors"};
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		char *bin, *root;
		exe[n] = '\0';
		bin = fs_dirname(exe);
		root = fs_dirname(bin);
		free(bin);
		for (size_t i = 0; i < sizeof(beside_bin) / sizeof(beside_bin[0]); i++) {
			char *dir = fs_path_join(root, beside_bin[i]);
			if (is_dir(dir)) {
				free(root);
				return dir;
			}
			free(dir);
		}
		free(root);
	}
	if (is_dir("/usr/share/factory/connectors"))
		return strdup("/usr/share/factory/connectors");
	return NULL;
}

int workspace_open(struct workspace *ws, const char *recipe_path, const struct workspace_options *options,
		   struct diag_list *diags, struct error *err)
{
	char *config_path = NULL, *catalog_dir = NULL;
	int rc;

	memset(ws, 0, sizeof(*ws));
	if (options && options->config_path)
		config_path = strdup(options->config_path);
	else if (recipe_path)
		config_path = config_find(recipe_path);
	rc = config_load(&ws->config, config_path, diags, err);
	free(config_path);
	if (rc)
		return -1;
	if (options) {
		ws->config->http_observer = options->http_observer;
		ws->config->interrupted = options->interrupted;
	}

	if (options && options->catalog_dir)
		catalog_dir = strdup(options->catalog_dir);
	else if (ws->config->catalog_dir)
		catalog_dir = strdup(ws->config->catalog_dir);
	else
		catalog_dir = installed_catalog();
	if (!catalog_dir)
		return 0; /* no catalog: recipes may still use raw Maven coordinates */
	rc = catalog_load(&ws->catalog, catalog_dir, diags, err);
	free(catalog_dir);
	if (rc) {
		workspace_close(ws);
		return -1;
	}
	return 0;
}

void workspace_close(struct workspace *ws)
{
	catalog_free(ws->catalog);
	config_free(ws->config);
	memset(ws, 0, sizeof(*ws));
}

int workspace_load_recipe(struct workspace *ws, const char *recipe_path, const struct workspace_options *options,
			  struct recipe **recipe, struct cache **cache, struct diag_list *diags, struct error *err)
{
	if (workspace_open(ws, recipe_path, options, diags, err) ||
	    recipe_load(recipe, recipe_path, ws->catalog, &render_rules, diags, err) || cache_open(cache, ws->config->cache_dir, err))
		return -1;
	return 0;
}
