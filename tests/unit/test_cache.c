/* The cache trusts a blob by its stat record, re-hashes when the record no longer matches,
 * and readers that find a trusted blob damaged still catch it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "digest.h"
#include "fsutil.h"
#include "layer.h"
#include "tree.h"
#include "unit.h"
#include "util.h"

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/factory-unit-cache.XXXXXX");

	if (!dir || !mkdtemp(dir))
		abort();
	return dir;
}

static void put_blob(struct cache *c, const char *text, char hex[65])
{
	struct cache_writer w;
	struct error err = {0};

	if (cache_writer_begin(&w, c, &err) || cache_writer_write(&w, text, strlen(text), &err))
		abort();
	snprintf(hex, 65, "%s", digest_set_hex(w.digests, DIGEST_SHA256));
	if (cache_writer_commit(&w, NULL, &err))
		abort();
	cache_writer_abort(&w);
}

/* Same size, other bytes, mtime put back: only the ctime tells. */
static void damage_keeping_mtime(const char *path)
{
	struct stat st;
	struct timespec times[2];
	int fd;

	if (stat(path, &st) < 0 || (fd = open(path, O_WRONLY)) < 0)
		abort();
	if (pwrite(fd, "X", 1, 0) != 1)
		abort();
	close(fd);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	utimensat(AT_FDCWD, path, times, 0);
}

static void test_damage_is_seen(struct unit_state *s)
{
	char *dir = temp_dir(), hex[65], *path;
	struct cache *c = NULL;
	struct error err = {0};

	CHECK(s, cache_open(&c, dir, &err) == 0);
	put_blob(c, "some connector bytes", hex);
	CHECK(s, cache_verify(c, hex, NULL));
	path = cache_blob_path(c, hex);
	damage_keeping_mtime(path);
	CHECK(s, !cache_verify(c, hex, NULL)); /* ctime moved: hashed again, evicted */
	CHECK(s, access(path, F_OK) != 0);
	cache_close(c);
	free(path);
	fs_remove_tree(dir, &err);
	free(dir);
}

/* A record that vouches for damaged bytes (what bit rot under an unchanged inode looks like)
 * fools cache_verify, but not cache_recheck nor a layer that reads the blob. */
static void test_trusted_damage_caught_by_readers(struct unit_state *s)
{
	char *dir = temp_dir(), hex[65], *path, *records, *text = NULL, *line;
	struct cache *c = NULL;
	struct error err = {0};
	struct stat st;
	size_t size;
	struct layer_result r;
	struct layer_options o = {.uid = 0, .gid = 0, .level = 1};

	CHECK(s, cache_open(&c, dir, &err) == 0);
	put_blob(c, "some connector bytes", hex);
	cache_close(c);
	c = NULL;
	path = xasprintf("%s/blobs/sha256/%s", dir, hex);
	damage_keeping_mtime(path);
	CHECK(s, stat(path, &st) == 0);
	records = fs_path_join(dir, "verified");
	line = xasprintf("factory-statrec 1\n%s %llu %llu %lld %lld %lld blobs/sha256/%s\n", hex,
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
			 (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec, hex);
	CHECK(s, fs_write_file_atomic(records, line, strlen(line), 0644, &err) == 0);
	CHECK(s, cache_open(&c, dir, &err) == 0);
	CHECK(s, cache_verify(c, hex, NULL)); /* trusted without reading */
	{
		struct layer_entry e = {"opt/flink/lib/x.jar", LAYER_FILE, 0644, path, false, hex};
		CHECK(s, layer_write(&e, 1, &o, c, &r, &err) < 0);
		CHECK(s, err.code == ERROR_CONFLICT);
		CHECK(s, strstr(err.message, "no longer hashes") != NULL);
	}
	CHECK(s, !cache_recheck(c, hex, NULL));
	CHECK(s, access(path, F_OK) != 0);
	cache_close(c);
	/* the eviction reached the records too */
	CHECK(s, fs_read_file(records, 1 << 20, &text, &size, &err) == 0);
	CHECK(s, text && strstr(text, hex) == NULL);
	free(text);
	free(line);
	free(records);
	free(path);
	fs_remove_tree(dir, &err);
	free(dir);
}

/* A file changed less than a second ago may change again without its timestamps moving:
 * it is hashed every time until it has been still for a while. */
static void test_racy_files_are_not_recorded(struct unit_state *s)
{
	char *dir = temp_dir(), *cache_dir = fs_path_join(dir, "cache"), *file = fs_path_join(dir, "app.jar");
	char *records = fs_path_join(cache_dir, "verified"), *text = NULL, hex1[65], hex2[65];
	struct cache *c = NULL;
	struct error err = {0};
	size_t size = 0;

	CHECK(s, fs_write_file_atomic(file, "one", 3, 0644, &err) == 0);
	CHECK(s, cache_open(&c, cache_dir, &err) == 0);
	CHECK(s, cache_file_sha256(c, file, hex1, &err) == 0);
	cache_close(c);
	CHECK(s, fs_read_file(records, 1 << 20, &text, &size, &err) != 0 || strstr(text, file) == NULL);
	free(text);
	text = NULL;
	usleep(1100 * 1000);
	CHECK(s, cache_open(&c, cache_dir, &err) == 0);
	CHECK(s, cache_file_sha256(c, file, hex2, &err) == 0);
	CHECK_STR(s, hex2, hex1);
	cache_close(c);
	CHECK(s, fs_read_file(records, 1 << 20, &text, &size, &err) == 0 && strstr(text, file) != NULL);
	free(text);
	/* an edit moves the stat: the new content is read */
	CHECK(s, fs_write_file_atomic(file, "two", 3, 0644, &err) == 0);
	CHECK(s, cache_open(&c, cache_dir, &err) == 0);
	CHECK(s, cache_file_sha256(c, file, hex2, &err) == 0);
	CHECK(s, strcmp(hex1, hex2) != 0);
	cache_close(c);
	free(records);
	free(file);
	free(cache_dir);
	fs_remove_tree(dir, &err);
	free(dir);
}

/* Records of files that are gone are dropped when the records are next saved. */
static void test_records_of_gone_files_pruned(struct unit_state *s)
{
	char *dir = temp_dir(), *records = fs_path_join(dir, "verified"), *text = NULL, *path, hex1[65], hex2[65];
	struct cache *c = NULL;
	struct error err = {0};
	size_t size = 0;

	CHECK(s, cache_open(&c, dir, &err) == 0);
	put_blob(c, "first", hex1);
	cache_close(c);
	path = xasprintf("%s/blobs/sha256/%s", dir, hex1);
	CHECK(s, unlink(path) == 0);
	CHECK(s, cache_open(&c, dir, &err) == 0);
	put_blob(c, "second", hex2);
	cache_close(c);
	CHECK(s, fs_read_file(records, 1 << 20, &text, &size, &err) == 0);
	CHECK(s, text && strstr(text, hex2) != NULL && strstr(text, hex1) == NULL);
	free(text);
	free(path);
	free(records);
	fs_remove_tree(dir, &err);
	free(dir);
}

static long long inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_ino : -1;
}

/* Nothing is written when nothing differs; an edit replaces the directory, keeping the
 * unchanged files as links to the old ones. */
static void test_tree_writes_only_changes(struct unit_state *s)
{
	char *dir = temp_dir(), *target = fs_path_join(dir, "out"), *source = fs_path_join(dir, "blob");
	char *a = fs_path_join(target, "a.yaml"), *b = fs_path_join(target, "sub/b.yaml");
	struct error err = {0};
	bool changed = false;
	long long ino_a = -1, ino_b = -1;

	CHECK(s, fs_write_file_atomic(source, "blob", 4, 0644, &err) == 0);
	for (int round = 0; round < 3; round++) {
		struct tree *t = tree_new();
		tree_add_bytes(t, "sub/b.yaml", "b: 1\n", 5);
		tree_add_bytes(t, "a.yaml", round < 2 ? "a: 1\n" : "a: 2\n", 5);
		tree_add_link(t, "blobs/x", source);
		CHECK(s, tree_write(t, target, &changed, &err) == 0);
		CHECK(s, changed == (round != 1));
		if (round == 1) {
			ino_a = inode_of(a);
			ino_b = inode_of(b);
		}
		tree_free(t);
	}
	CHECK(s, inode_of(b) == ino_b);  /* unchanged: linked from the old directory */
	CHECK(s, inode_of(a) != ino_a);  /* changed: written anew */
	/* a file nobody listed is a difference */
	{
		char *extra = fs_path_join(target, "stray");
		struct tree *t = tree_new();
		CHECK(s, fs_write_file_atomic(extra, "x", 1, 0644, &err) == 0);
		tree_add_bytes(t, "sub/b.yaml", "b: 1\n", 5);
		tree_add_bytes(t, "a.yaml", "a: 2\n", 5);
		tree_add_link(t, "blobs/x", source);
		CHECK(s, tree_write(t, target, &changed, &err) == 0 && changed);
		CHECK(s, access(extra, F_OK) != 0);
		tree_free(t);
		free(extra);
	}
	free(a);
	free(b);
	free(source);
	free(target);
	fs_remove_tree(dir, &err);
	free(dir);
}

const struct unit_test cache_tests[] = {
	{"cache_damage_is_seen", test_damage_is_seen},
	{"cache_trusted_damage_caught_by_readers", test_trusted_damage_caught_by_readers},
	{"cache_racy_files_are_not_recorded", test_racy_files_are_not_recorded},
	{"cache_records_of_gone_files_pruned", test_records_of_gone_files_pruned},
	{"tree_writes_only_changes", test_tree_writes_only_changes},
	{NULL, NULL},
};
