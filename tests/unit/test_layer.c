#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cache.h"
#include "fsutil.h"
#include "layer.h"
#include "unit.h"

static char *make_fixture(void)
{
	char *dir = strdup("/tmp/factory-unit-layer.XXXXXX");
	char path[256];
	FILE *f;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/a.jar", dir);
	f = fopen(path, "w");
	for (int i = 0; i < 100000; i++)
		fprintf(f, "line %d\n", i);
	fclose(f);
	snprintf(path, sizeof(path), "%s/b.jar", dir);
	f = fopen(path, "w");
	fputs("small", f);
	fclose(f);
	return dir;
}

static int build_threads(const char *dir, struct cache *cache, long long mtime, int threads, struct layer_result *r);

static int build(const char *dir, struct cache *cache, long long mtime, struct layer_result *r)
{
	return build_threads(dir, cache, mtime, 0, r);
}

static int build_threads(const char *dir, struct cache *cache, long long mtime, int threads, struct layer_result *r)
{
	char a[256], b[256];
	struct error err = {0};

	snprintf(a, sizeof(a), "%s/a.jar", dir);
	snprintf(b, sizeof(b), "%s/b.jar", dir);
	/* Deliberately unsorted, with a shared parent, to exercise ordering. */
	struct layer_entry entries[] = {
		{"opt/flink/usrlib/b.jar", LAYER_FILE, 0, b, false, NULL},
		{"opt/flink/lib/a.jar", LAYER_FILE, 0600, a, false, NULL},
		{"opt/flink/usrlib/link.jar", LAYER_SYMLINK, 0, "b.jar", false, NULL},
	};
	struct layer_options o = {.uid = 9999, .gid = 9999, .mtime = mtime, .level = 6, .threads = threads};
	return layer_write(entries, 3, &o, cache, r, &err);
}

static void test_reproducible(struct unit_state *s)
{
	char *dir = make_fixture(), *cache_dir = fs_path_join(dir, "cache");
	struct cache *cache = NULL;
	struct error err = {0};
	struct layer_result r1, r2, r3;

	CHECK(s, cache_open(&cache, cache_dir, &err) == 0);
	CHECK(s, build(dir, cache, 0, &r1) == 0);
	CHECK(s, build(dir, cache, 0, &r2) == 0);
	CHECK(s, build(dir, cache, 1700000000, &r3) == 0);
	CHECK_STR(s, r1.digest, r2.digest);
	CHECK_STR(s, r1.diff_id, r2.diff_id);
	/* The fixture spans several compression blocks: the bytes must not depend on how many
	 * threads compressed them. */
	struct layer_result one, many;
	CHECK(s, build_threads(dir, cache, 0, 1, &one) == 0);
	CHECK(s, build_threads(dir, cache, 0, 5, &many) == 0);
	CHECK_STR(s, one.digest, r1.digest);
	CHECK_STR(s, many.digest, r1.digest);
	CHECK(s, strcmp(r1.digest, r3.digest) != 0);
	CHECK(s, r1.entries == 7); /* opt, opt/flink, lib, usrlib, three files */

	/* The blob is in the cache under its digest, its gzip header fixed, and it unpacks to
	 * the tar whose sha256 is the diffID. */
	char *blob = cache_blob_path(cache, r1.digest + 7);
	FILE *f = fopen(blob, "rb");
	unsigned char head[10] = {0};
	CHECK(s, f && fread(head, 1, 10, f) == 10);
	if (f)
		fclose(f);
	CHECK(s, head[0] == 0x1f && head[1] == 0x8b && head[3] == 0);                    /* no name */
	CHECK(s, head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] == 0 && head[9] == 255); /* mtime 0, OS */
	gzFile gz = gzopen(blob, "rb");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[32];
	unsigned int md_len;
	char hex[72] = "sha256:";
	int n;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	gzclose(gz);
	EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < md_len; i++)
		snprintf(hex + 7 + 2 * i, 3, "%02x", md[i]);
	CHECK_STR(s, hex, r1.diff_id);
	free(blob);

	cache_close(cache);
	struct error ignored = {0};
	fs_remove_tree(dir, &ignored);
	free(cache_dir);
	free(dir);
}

static void test_refuses_escapes(struct unit_state *s)
{
	char *dir = make_fixture(), *cache_dir = fs_path_join(dir, "cache");
	struct cache *cache = NULL;
	struct error err = {0};
	struct layer_result r;
	struct layer_options o = {.uid = 0, .gid = 0};
	const struct layer_entry bad[][1] = {
		{{"/etc/passwd", LAYER_FILE, 0, "/etc/passwd", false, NULL}},
		{{"opt/../../etc/x", LAYER_FILE, 0, "/etc/passwd", false, NULL}},
		{{"opt/flink/lib/evil", LAYER_SYMLINK, 0, "../../../../etc/shadow", false, NULL}},
	};

	CHECK(s, cache_open(&cache, cache_dir, &err) == 0);
	for (size_t i = 0; i < 3; i++)
		CHECK(s, layer_write(bad[i], 1, &o, cache, &r, &err) < 0);
	/* Nothing half-written was left behind. */
	char *tmp = fs_path_join(cache_dir, "tmp");
	CHECK(s, rmdir(tmp) == 0);
	free(tmp);
	cache_close(cache);
	struct error ignored = {0};
	fs_remove_tree(dir, &ignored);
	free(cache_dir);
	free(dir);
}

const struct unit_test layer_tests[] = {
	{"layer_reproducible_digests", test_reproducible},
	{"layer_refuses_escapes", test_refuses_escapes},
	{NULL, NULL},
};
