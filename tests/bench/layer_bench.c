/* layer_bench DIR CACHE_DIR [THREADS]: writes one reproducible layer holding every regular
 * file under DIR (as opt/flink/lib/<relative path>) and prints the seconds it took. Used by
 * tests/bench/image_vs_tools.sh. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "layer.h"
#include "util.h"

static struct layer_entry *entries;
static size_t count;
static size_t root_len;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	entries = realloc(entries, (count + 1) * sizeof(*entries));
	if (!entries)
		abort();
	entries[count++] = (struct layer_entry){xasprintf("opt/flink/lib/%s", path + root_len + 1), LAYER_FILE, 0644,
						xstrdup(path), false};
	return 0;
}

int main(int argc, char **argv)
{
	struct cache *cache = NULL;
	struct error err = {0};
	struct layer_result res;
	struct timespec a, b;
	struct layer_options o = {.uid = 9999, .gid = 9999, .mtime = 0, .level = 6, .threads = 0};

	if (argc < 3) {
		fprintf(stderr, "usage: layer_bench DIR CACHE_DIR [THREADS]\n");
		return 2;
	}
	if (argc > 3)
		o.threads = atoi(argv[3]);
	root_len = strlen(argv[1]);
	if (nftw(argv[1], collect, 32, FTW_PHYS) < 0 || cache_open(&cache, argv[2], &err) < 0) {
		fprintf(stderr, "layer_bench: %s\n", err.message[0] ? err.message : "cannot walk the directory");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (layer_write(entries, count, &o, cache, &res, &err) < 0) {
		fprintf(stderr, "layer_bench: %s\n", err.message);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f %s %lld\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, res.digest,
	       res.size);
	cache_close(cache);
	return 0;
}
