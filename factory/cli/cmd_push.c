/* factory push APP_DIR / factory pull REF */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cache.h"
#include "commands.h"
#include "push.h"
#include "registry.h"
#include "workspace.h"

int cmd_push(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct workspace_options ws_options = {0};
	struct workspace ws = {0};
	struct push_result result = {0};
	struct diag_list diags;
	struct error err = {0};
	int opt, quiet = 0, status = EXIT_FAILED;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': ws_options.config_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': printf("usage: factory push [--config FILE] [-q] out/<app>\n"); return EXIT_OK;
		default: fprintf(stderr, "usage: factory push [--config FILE] [-q] out/<app>\n"); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: factory push [--config FILE] [-q] out/<app>\n");
		return EXIT_USAGE;
	}
	diag_list_init(&diags);
	if (workspace_open(&ws, NULL, &ws_options, &diags, &err) || push_bundle(argv[optind], ws.config, &result, &err))
		goto out;
	status = EXIT_OK;
	if (!quiet) {
		printf("pushed %s (%zu blobs uploaded, %zu mounted, %zu already there)\n", result.references[0],
		       result.stats.uploaded, result.stats.mounted, result.stats.existing);
		for (size_t i = 1; i < result.count; i++)
			printf("tagged %s\n", result.references[i]);
	}
out:
	cmd_report(&diags, status == EXIT_OK ? NULL : &err);
	push_result_clear(&result);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}

int cmd_pull(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'}, {"platform", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct workspace_options ws_options = {0};
	struct workspace ws = {0};
	struct cache *cache = NULL;
	struct base_image base = {0};
	struct diag_list diags;
	struct error err = {0};
	const char *platform = "linux/amd64";
	int opt, status = EXIT_FAILED;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': ws_options.config_path = optarg; break;
		case 'p': platform = optarg; break;
		case 'h': printf("usage: factory pull [--config FILE] [--platform OS/ARCH] REF\n"); return EXIT_OK;
		default: fprintf(stderr, "usage: factory pull [--config FILE] [--platform OS/ARCH] REF\n"); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: factory pull [--config FILE] [--platform OS/ARCH] REF\n");
		return EXIT_USAGE;
	}
	diag_list_init(&diags);
	if (workspace_open(&ws, NULL, &ws_options, &diags, &err) || cache_open(&cache, ws.config->cache_dir, &err) ||
	    base_resolve(&base, argv[optind], platform, ".", ws.config, cache, false, NULL, &err))
		goto out;
	status = EXIT_OK;
	printf("pulled %s: %s (%zu layers) into %s\n", argv[optind], base.image.manifest_digest, base.image.layer_count,
	       ws.config->cache_dir);
out:
	cmd_report(&diags, status == EXIT_OK ? NULL : &err);
	base_image_clear(&base);
	cache_close(cache);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}
