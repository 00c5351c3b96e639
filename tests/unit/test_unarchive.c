/* The gzip tar reader: members, trailers, truncation and the one-level rule, on tars written
 * here with libarchive and gzip members written with zlib (not by the reader under test). */
#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fsutil.h"
#include "unarchive.h"
#include "unit.h"

struct bytes {
	unsigned char *data;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* Two files, the second larger than any buffer the reader uses, so that a member boundary
 * can fall inside an entry's data. */
#define BIG_SIZE (700 * 1024)

static unsigned char big_byte(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static void make_tar(struct bytes *out)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	unsigned char *big = malloc(BIG_SIZE);
	size_t used = 0;

	out->cap = 2 * BIG_SIZE;
	out->data = malloc(out->cap);
	if (!a || !e || !big || !out->data)
		abort();
	for (size_t i = 0; i < BIG_SIZE; i++)
		big[i] = big_byte(i);
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, out->data, out->cap, &used) != ARCHIVE_OK)
		abort();
	archive_entry_set_pathname(e, "etc/hello");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 6);
	archive_write_header(a, e);
	archive_write_data(a, "hello\n", 6);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "opt/big");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, BIG_SIZE);
	archive_write_header(a, e);
	archive_write_data(a, big, BIG_SIZE);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	free(big);
	out->len = used;
}

/* One gzip member (header, deflate, CRC-32 and ISIZE trailer) appended to `out`. */
static void add_member(struct bytes *out, const void *data, size_t len)
{
	z_stream z = {0};
	unsigned char buf[1 << 15];
	int r;

	if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		r = deflate(&z, Z_FINISH);
		bytes_add(out, buf, sizeof(buf) - z.avail_out);
	} while (r == Z_OK);
	if (r != Z_STREAM_END)
		abort();
	deflateEnd(&z);
}

static char *write_temp(const struct bytes *b, const char *name)
{
	char *dir = NULL, *path;
	struct error err = {0};

	if (fs_make_temp_dir("/tmp/factory-unit-unarchive.", &dir, &err))
		abort();
	path = fs_path_join(dir, name);
	if (fs_write_file_atomic(path, b->data, b->len, 0644, &err))
		abort();
	free(dir);
	return path;
}

static void remove_temp(char *path)
{
	char *dir = fs_dirname(path);
	struct error ignored = {0};

	fs_remove_tree(dir, &ignored);
	free(dir);
	free(path);
}

struct outcome {
	int rc;             /* 0: read to the end; -1: failed (err) */
	int entries;
	long long big_bytes;
	bool big_intact;    /* opt/big came out byte for byte */
	struct error err;
	bool opened;
};

/* Reads every entry and its data, as the layer scans do. */
static struct outcome read_all(const struct bytes *b, enum unarchive_filter filter,
			       const volatile sig_atomic_t *interrupted)
{
	struct outcome o = {.big_intact = true};
	char *path = write_temp(b, "layer.tar.gz");
	struct unarchive_limits limits = {.interrupted = interrupted};
	struct unarchive u = {0};
	struct archive_entry *e;
	int r;

	o.rc = -1;
	if (unarchive_open_with(&u, path, UNARCHIVE_TAR, filter, &limits, "layer sha256:test", &o.err))
		goto out;
	o.opened = true;
	while ((r = unarchive_next(&u, &e, &o.err)) == 1) {
		bool big = strcmp(unarchive_path(&u, e), "opt/big") == 0;
		const void *buf;
		size_t len;
		long long offset;

		o.entries++;
		while ((r = unarchive_data(&u, &buf, &len, &offset, &o.err)) == 1) {
			if (!big)
				continue;
			for (size_t i = 0; i < len; i++)
				if (((const unsigned char *)buf)[i] != big_byte((size_t)offset + i))
					o.big_intact = false;
			o.big_bytes += (long long)len;
		}
		if (r < 0)
			break;
	}
	if (r == 0)
		o.rc = 0;
	unarchive_close(&u);
out:
	remove_temp(path);
	return o;
}

static void test_members(struct unit_state *s)
{
	struct bytes tar = {0}, gz = {0};
	size_t cut;

	make_tar(&tar);
	/* The boundary inside opt/big's data, at no block boundary. */
	cut = tar.len / 2 + 333;
	add_member(&gz, tar.data, cut);
	add_member(&gz, tar.data + cut, tar.len - cut);
	for (int any = 0; any < 2; any++) {
		struct outcome o = read_all(&gz, any ? UNARCHIVE_FILTER_ANY : UNARCHIVE_FILTER_GZIP, NULL);

		CHECK(s, o.rc == 0);
		CHECK(s, o.entries == 2);
		CHECK(s, o.big_bytes == BIG_SIZE);
		CHECK(s, o.big_intact);
	}
	/* What follows the last member and is not gzip is ignored, as libarchive does. */
	bytes_add(&gz, "not gzip at all", 15);
	{
		struct outcome o = read_all(&gz, UNARCHIVE_FILTER_GZIP, NULL);
		CHECK(s, o.rc == 0 && o.entries == 2 && o.big_intact);
	}
	free(tar.data);
	free(gz.data);
}

static void test_bad_trailer(struct unit_state *s)
{
	struct bytes tar = {0}, gz = {0};
	size_t first;

	make_tar(&tar);
	add_member(&gz, tar.data, tar.len / 3);
	first = gz.len;
	add_member(&gz, tar.data + tar.len / 3, tar.len - tar.len / 3);
	/* The last member's CRC-32 (its trailer lies past the tar's end mark), then its length,
	 * then the first member's CRC-32. */
	size_t where[] = {gz.len - 8, gz.len - 1, first - 6};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		struct outcome o;

		gz.data[where[i]] ^= 0x40;
		o = read_all(&gz, UNARCHIVE_FILTER_GZIP, NULL);
		gz.data[where[i]] ^= 0x40;
		CHECK(s, o.rc == -1);
		CHECK(s, o.err.code == ERROR_IO);
		CHECK(s, strstr(o.err.message, "layer sha256:test") != NULL);
		CHECK(s, strstr(o.err.message, "CRC-32 or length") != NULL);
	}
	free(tar.data);
	free(gz.data);
}

static void test_truncated(struct unit_state *s)
{
	struct bytes tar = {0}, gz = {0};

	make_tar(&tar);
	add_member(&gz, tar.data, tar.len);
	/* Inside the header, inside the deflate data, inside the trailer, no trailer at all. */
	size_t keep[] = {6, gz.len / 2, gz.len - 3, gz.len - 8};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		struct bytes cut = {gz.data, keep[i], keep[i]};
		struct outcome o = read_all(&cut, UNARCHIVE_FILTER_GZIP, NULL);

		CHECK(s, o.rc == -1);
		CHECK(s, o.err.code == ERROR_IO);
		CHECK(s, strstr(o.err.message, "layer sha256:test") != NULL);
		CHECK(s, strstr(o.err.message, "truncated") != NULL);
	}
	free(tar.data);
	free(gz.data);
}

static void test_nested(struct unit_state *s)
{
	struct bytes tar = {0}, inner = {0}, gz = {0};
	struct outcome o;

	make_tar(&tar);
	add_member(&inner, tar.data, tar.len);
	add_member(&gz, inner.data, inner.len);
	/* Declared gzip: one level only, the gzip inside is no tar. */
	o = read_all(&gz, UNARCHIVE_FILTER_GZIP, NULL);
	CHECK(s, o.rc == -1);
	CHECK(s, o.entries == 0);
	CHECK(s, strstr(o.err.message, "layer sha256:test") != NULL);
	/* Whatever it is (an older listing's layer): every level is unwrapped, as before. */
	o = read_all(&gz, UNARCHIVE_FILTER_ANY, NULL);
	CHECK(s, o.rc == 0 && o.entries == 2 && o.big_intact);
	free(tar.data);
	free(inner.data);
	free(gz.data);
}

static void test_interrupted(struct unit_state *s)
{
	static volatile sig_atomic_t stop = 1;
	struct bytes tar = {0}, gz = {0};
	struct outcome o;

	make_tar(&tar);
	add_member(&gz, tar.data, tar.len);
	o = read_all(&gz, UNARCHIVE_FILTER_GZIP, &stop);
	CHECK(s, o.rc == -1);
	CHECK(s, o.err.code == ERROR_INTERRUPTED);
	free(tar.data);
	free(gz.data);
}

const struct unit_test unarchive_tests[] = {
	{"unarchive_gzip_members", test_members},
	{"unarchive_gzip_bad_trailer", test_bad_trailer},
	{"unarchive_gzip_truncated", test_truncated},
	{"unarchive_gzip_not_unwrapped_twice", test_nested},
	{"unarchive_gzip_interrupted", test_interrupted},
	{NULL, NULL},
};
