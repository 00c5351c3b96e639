/* libFuzzer entry point for reading a base image from an OCI image layout (base_resolve on
 * "oci:DIR[:TAG]": index.json, nested indexes and the platform match, the manifest, the
 * config, the layer descriptors, every blob verified into the cache).
 *
 * The input is a first line "TAG PLATFORM" (TAG "-" for none), then chunks separated by a
 * line "--": chunk 0 is index.json, every later chunk a blob stored under
 * blobs/sha256/<its sha256>. So that mutations keep layouts consistent, "@@N" in a chunk
 * becomes "sha256:<hex>" of chunk N and "##N" its size in bytes; chunks are filled in from
 * the last to the first, so a reference to a later chunk names its final bytes. Reading must
 * end in an image or an error, never in a crash, a leak, undefined behaviour or a hang. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "cache.h"
#include "config.h"
#include "digest.h"
#include "error.h"
#include "oci.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CHUNKS 10 /* "@@0" to "@@9" */
#define SEPARATOR "\n--\n"

struct chunk {
	const uint8_t *raw;
	size_t raw_size;
	struct strbuf bytes; /* after substitution */
	bool done;
	char hex[65];
};

static struct config *config;
static char top[PATH_MAX];
static bool verbose; /* FUZZ_VERBOSE=1: say what each input resolved to, to write seeds */

static void top_remove(void)
{
	if (top[0])
		rmdir(top);
}

/* Every blob is fsynced into the cache: a tmpfs keeps that from costing milliseconds per
 * input when TMPDIR does not say where to work. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct error err = {0};
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	(void)argc;
	(void)argv;
	if (!tmp || !*tmp)
		tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm"
													       : "/tmp";
	snprintf(top, sizeof(top), "%s/factory-fuzz-oci-XXXXXX", tmp);
	if (!mkdtemp(top) || config_load(&config, NULL, NULL, &err))
		abort();
	atexit(top_remove);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	return 0;
}

static void write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const uint8_t *p = data;

	if (fd < 0)
		abort();
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n <= 0)
			abort();
		p += n;
		size -= (size_t)n;
	}
	if (close(fd) < 0)
		abort();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; (size_t)(end - p) >= n; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

/* Chunk k's bytes with its placeholders replaced, then its digest. */
static void fill_in(struct chunk *chunks, size_t count, size_t k)
{
	struct chunk *c = &chunks[k];
	const uint8_t *p = c->raw, *end = c->raw + c->raw_size;

	while (p < end) {
		if (end - p >= 3 && (p[0] == '@' || p[0] == '#') && p[1] == p[0] && p[2] >= '0' && p[2] <= '9' &&
		    (size_t)(p[2] - '0') < count) {
			const struct chunk *to = &chunks[p[2] - '0'];
			char text[80];
			int n = p[0] == '@' ? snprintf(text, sizeof(text), "sha256:%s", to->hex)
					    : snprintf(text, sizeof(text), "%zu", to->done ? to->bytes.len : to->raw_size);
			strbuf_add(&c->bytes, text, (size_t)n);
			p += 3;
		} else {
			strbuf_add(&c->bytes, p, 1);
			p++;
		}
	}
	if (!c->bytes.data)
		strbuf_add(&c->bytes, "", 0);
	digest_sha256_hex(c->bytes.data, c->bytes.len, c->hex);
	c->done = true;
}

static void check_image(const struct base_image *base)
{
	const struct oci_image *img = &base->image;

	if (!oci_digest_valid(img->manifest_digest) || !oci_digest_valid(img->config.digest) || !img->config_json ||
	    !img->config.media_type || (img->layer_count && !img->layers))
		__builtin_trap();
	for (size_t i = 0; i < img->layer_count; i++)
		if (!oci_digest_valid(img->layers[i].digest) || !img->layers[i].media_type ||
		    !oci_layer_media_type(img->layers[i].media_type) || img->layers[i].size < 0)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size, *nl = memchr(data, '\n', size), *p;
	struct chunk chunks[MAX_CHUNKS];
	char header[256], *space, *tag, *platform, *ref, *root, *layout, *blobs, *cache_dir;
	struct cache *cache = NULL;
	struct base_image base;
	struct error err = {0};
	size_t count = 0;

	if (!nl || (size_t)(nl - data) >= sizeof(header))
		return 0;
	memcpy(header, data, (size_t)(nl - data));
	header[nl - data] = '\0';
	space = strchr(header, ' ');
	if (!space)
		return 0;
	*space = '\0';
	tag = strcmp(header, "-") == 0 ? NULL : header;
	platform = space + 1;

	memset(chunks, 0, sizeof(chunks));
	for (p = nl + 1; count < MAX_CHUNKS; count++) {
		const uint8_t *sep = count + 1 < MAX_CHUNKS ? find(p, end, SEPARATOR) : NULL;
		chunks[count].raw = p;
		chunks[count].raw_size = (size_t)((sep ? sep : end) - p);
		digest_sha256_hex(p, chunks[count].raw_size, chunks[count].hex);
		if (!sep) {
			count++;
			break;
		}
		p = sep + strlen(SEPARATOR);
	}
	for (size_t k = count; k-- > 0;)
		fill_in(chunks, count, k);

	root = xasprintf("%s/in", top);
	layout = xasprintf("%s/layout", root);
	blobs = xasprintf("%s/blobs", layout);
	cache_dir = xasprintf("%s/cache", root);
	if (mkdir(root, 0700) < 0 || mkdir(layout, 0700) < 0 || mkdir(blobs, 0700) < 0)
		abort();
	{
		char *sha = xasprintf("%s/sha256", blobs), *index = xasprintf("%s/index.json", layout);
		if (mkdir(sha, 0700) < 0)
			abort();
		write_file(index, chunks[0].bytes.data, chunks[0].bytes.len);
		for (size_t k = 1; k < count; k++) {
			char *blob = xasprintf("%s/%s", sha, chunks[k].hex);
			write_file(blob, chunks[k].bytes.data, chunks[k].bytes.len);
			free(blob);
		}
		free(index);
		free(sha);
	}
	if (cache_open(&cache, cache_dir, &err))
		abort();

	ref = tag ? xasprintf("oci:%s:%s", layout, tag) : xasprintf("oci:%s", layout);
	if (base_resolve(&base, ref, platform, root, config, cache, false, NULL, &err) == 0) {
		check_image(&base);
		if (verbose)
			fprintf(stderr, "fuzz-oci: %s: manifest %s, %zu layers\n", tag ? tag : "-",
				base.image.manifest_digest, base.image.layer_count);
		base_image_clear(&base);
	} else if (!err.message[0]) {
		__builtin_trap(); /* a failure must say why */
	} else if (verbose) {
		fprintf(stderr, "fuzz-oci: %s\n", err.message);
	}

	cache_close(cache);
	if (nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		abort();
	for (size_t k = 0; k < count; k++)
		free(chunks[k].bytes.data);
	free(ref);
	free(cache_dir);
	free(blobs);
	free(layout);
	free(root);
	return 0;
}
