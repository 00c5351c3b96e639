#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pypi.h"
#include "unit.h"
#include "wheel.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define PAGE "https://pypi.example/simple/x/"

static const struct pypi_file *find(const struct pypi_file_list *list, const char *filename)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i].filename, filename) == 0)
			return &list->items[i];
	return NULL;
}

static void test_html(struct unit_state *s)
{
	static const char page[] =
		"<!DOCTYPE html>\n<html><head><title>Links for x</title></head><body>\n<h1>Links for x</h1>\n"
		"<a href=\"../../packages/x-1.0-py3-none-any.whl#sha256="
		"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
		"\">x-1.0-py3-none-any.whl</a><br/>\n"
		"<a href='//files.example/p/x-1.0.tar.gz'>x-1.0.tar.gz</a><br>\n"
		"<a href=https://cdn.example/x-1.1-py3-none-any.whl#sha256=" SHA_B " data-requires-python=\"&gt;=3.8, &lt;4\">"
		"x-1.1-py3-none-any.whl</a>\n"
		"<A HREF=\"x%2B1-2.0-py3-none-any.whl?a=1&amp;b=2\" data-yanked=\"\">x+1-2.0-py3-none-any.whl</A>\n"
		"<a data-yanked=\"broken &amp; bad\" href=\"x-3.0-py3-none-any.whl#md5=0123\">x-3.0-py3-none-any.whl</a>\n"
		"<p><a href=\"mailto:me@example.org\">mail</a></p>\n"
		"<div><table><tr><td><a href=\"/abs/x-4.0-py3-none-any.whl\">x-4.0</a></td></tr></table></div>\n"
		"<a href=\"?download=1\">\n  x-5.0-py3-none-any.whl  </a>\n"
		"<a name=\"no-href\">x-6.0-py3-none-any.whl</a>\n"
		"<a href=\"x-7.0-py3-none-any.whl\" data-yanked>x-7.0-py3-none-any.whl</a>\n"
		"</body></html>\n";
	struct pypi_file_list list;
	struct error err = {0};
	const struct pypi_file *f;

	CHECK(s, pypi_parse_simple_html(page, strlen(page), PAGE, &list, &err) == 0);
	CHECK(s, list.count == 8);
	f = find(&list, "x-1.0-py3-none-any.whl");
	CHECK(s, f != NULL);
	if (f) {
		CHECK_STR(s, f->url, "https://pypi.example/packages/x-1.0-py3-none-any.whl");
		CHECK_STR(s, f->sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
		CHECK(s, !f->yanked && !f->requires_python);
	}
	f = find(&list, "x-1.0.tar.gz");
	CHECK(s, f != NULL);
	if (f) {
		CHECK_STR(s, f->url, "https://files.example/p/x-1.0.tar.gz");
		CHECK_STR(s, f->sha256, "");
	}
	f = find(&list, "x-1.1-py3-none-any.whl");
	CHECK(s, f != NULL);
	if (f) {
		CHECK_STR(s, f->url, "https://cdn.example/x-1.1-py3-none-any.whl");
		CHECK_STR(s, f->sha256, SHA_B);
		CHECK_STR(s, f->requires_python, ">=3.8, <4");
	}
	f = find(&list, "x+1-2.0-py3-none-any.whl");
	CHECK(s, f != NULL);
	if (f) {
		CHECK_STR(s, f->url, "https://pypi.example/simple/x/x%2B1-2.0-py3-none-any.whl?a=1&b=2");
		CHECK(s, f->yanked && !f->yanked_reason);
	}
	f = find(&list, "x-3.0-py3-none-any.whl");
	CHECK(s, f != NULL);
	if (f) {
		CHECK(s, f->yanked);
		CHECK_STR(s, f->yanked_reason, "broken & bad");
		CHECK_STR(s, f->sha256, ""); /* only sha256 fragments count */
		CHECK_STR(s, f->url, "https://pypi.example/simple/x/x-3.0-py3-none-any.whl");
	}
	f = find(&list, "x-4.0-py3-none-any.whl");
	CHECK(s, f != NULL);
	if (f)
		CHECK_STR(s, f->url, "https://pypi.example/abs/x-4.0-py3-none-any.whl");
	/* The URL's last segment is no file name: the link text is. */
	f = find(&list, "x-5.0-py3-none-any.whl");
	CHECK(s, f != NULL);
	if (f)
		CHECK_STR(s, f->url, "https://pypi.example/simple/x/?download=1");
	f = find(&list, "x-7.0-py3-none-any.whl");
	CHECK(s, f != NULL && f->yanked && !f->yanked_reason);
	CHECK(s, find(&list, "mail") == NULL && find(&list, "x-6.0-py3-none-any.whl") == NULL);
	pypi_file_list_clear(&list);
	CHECK(s, list.count == 0 && list.items == NULL);
}

static void test_html_base(struct unit_state *s)
{
	static const char absolute[] = "<html><head><base href=\"https://mirror.example/files/\"></head><body>"
				       "<a href=\"x-1.0-py3-none-any.whl\">x-1.0-py3-none-any.whl</a>"
				       "<a href=\"../y/x-1.1-py3-none-any.whl\">x-1.1-py3-none-any.whl</a></body></html>";
	static const char relative[] = "<base href='../../pkgs/'><a href=x-1.0-py3-none-any.whl>x</a>";
	static const char empty[] = "<html><body><p>nothing here</p></body></html>";
	struct pypi_file_list list;
	struct error err = {0};

	CHECK(s, pypi_parse_simple_html(absolute, strlen(absolute), PAGE, &list, &err) == 0);
	CHECK(s, list.count == 2);
	if (list.count == 2) {
		CHECK_STR(s, list.items[0].url, "https://mirror.example/files/x-1.0-py3-none-any.whl");
		CHECK_STR(s, list.items[1].url, "https://mirror.example/y/x-1.1-py3-none-any.whl");
	}
	pypi_file_list_clear(&list);
	CHECK(s, pypi_parse_simple_html(relative, strlen(relative), PAGE, &list, &err) == 0);
	CHECK(s, list.count == 1);
	if (list.count == 1) {
		CHECK_STR(s, list.items[0].url, "https://pypi.example/pkgs/x-1.0-py3-none-any.whl");
		CHECK_STR(s, list.items[0].filename, "x-1.0-py3-none-any.whl");
	}
	pypi_file_list_clear(&list);
	CHECK(s, pypi_parse_simple_html(empty, strlen(empty), PAGE, &list, &err) == 0);
	CHECK(s, list.count == 0);
	pypi_file_list_clear(&list);
	CHECK(s, pypi_parse_simple_html("", 0, PAGE, &list, &err) == 0);
	CHECK(s, list.count == 0);
	/* Broken pages are read as browsers would, never past their end. */
	static const char *const broken[] = {"<a href=", "<a href='x-1.0-py3-none-any.whl", "<<<>>><a", "</a></a><a href",
					     "<a href=\"a-1.0.tar.gz\"><a href=\"b-1.0.tar.gz\">b</a></html><a href=c-1.0.tar.gz>",
					     "\xff\xfe<a href=\"\xc3\"></a>"};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		CHECK(s, pypi_parse_simple_html(broken[i], strlen(broken[i]), PAGE, &list, &err) == 0 ||
			 err.message[0]);
		if (i == 4)
			CHECK(s, list.count == 3);
		pypi_file_list_clear(&list);
	}
}

static void test_json(struct unit_state *s)
{
	static const char page[] =
		"{\"meta\": {\"api-version\": \"1.1\"}, \"name\": \"x\", \"files\": ["
		"{\"filename\": \"x-1.0-py3-none-any.whl\", \"url\": \"../../packages/x-1.0-py3-none-any.whl\","
		" \"hashes\": {\"sha256\": \"" SHA_A "\"}, \"requires-python\": \">=3.8\", \"yanked\": false},"
		"{\"filename\": \"x-1.1-py3-none-any.whl\", \"url\": \"https://cdn.example/a/b?c=d\", \"hashes\": {},"
		" \"yanked\": true},"
		"{\"filename\": \"x-1.2-py3-none-any.whl\", \"url\": \"//h.example/x-1.2-py3-none-any.whl\","
		" \"hashes\": {\"md5\": \"0123\"}, \"requires-python\": null, \"yanked\": \"security issue\"},"
		"{\"filename\": \"x-1.3.tar.gz\", \"url\": \"ftp://nope.example/x-1.3.tar.gz\", \"hashes\": {}},"
		"{\"url\": \"x-1.4-py3-none-any.whl\"}"
		"]}";
	static const char v2[] = "{\"meta\": {\"api-version\": \"2.0\"}, \"files\": []}";
	struct pypi_file_list list;
	struct error err = {0};

	CHECK(s, pypi_parse_simple_json(page, strlen(page), PAGE, &list, &err) == 0);
	CHECK(s, list.count == 3);
	if (list.count == 3) {
		CHECK_STR(s, list.items[0].filename, "x-1.0-py3-none-any.whl");
		CHECK_STR(s, list.items[0].url, "https://pypi.example/packages/x-1.0-py3-none-any.whl");
		CHECK_STR(s, list.items[0].sha256, SHA_A);
		CHECK_STR(s, list.items[0].requires_python, ">=3.8");
		CHECK(s, !list.items[0].yanked);
		CHECK_STR(s, list.items[1].filename, "x-1.1-py3-none-any.whl");
		CHECK_STR(s, list.items[1].url, "https://cdn.example/a/b?c=d");
		CHECK(s, list.items[1].yanked && !list.items[1].yanked_reason);
		CHECK_STR(s, list.items[1].sha256, "");
		CHECK_STR(s, list.items[2].url, "https://h.example/x-1.2-py3-none-any.whl");
		CHECK(s, list.items[2].yanked && list.items[2].requires_python == NULL);
		CHECK_STR(s, list.items[2].yanked_reason, "security issue");
	}
	pypi_file_list_clear(&list);
	CHECK(s, pypi_parse_simple_json(v2, strlen(v2), PAGE, &list, &err) < 0);
	CHECK(s, strstr(err.message, "2.0") != NULL);
	CHECK(s, pypi_parse_simple_json("{\"files\": ", 10, PAGE, &list, &err) < 0);
	CHECK(s, pypi_parse_simple_json("{}", 2, PAGE, &list, &err) < 0);
	CHECK(s, list.count == 0);
}

/* ---- selection -------------------------------------------------------------------------- */

static struct python_target target(const char *platform, int glibc_minor)
{
	struct python_target t;
	struct error err = {0};

	if (python_target_init(&t, "usr/bin/python3.11", platform, &err))
		abort();
	snprintf(t.version, sizeof(t.version), "3.11.2");
	t.glibc_major = glibc_minor ? 2 : 0;
	t.glibc_minor = glibc_minor;
	return t;
}

/* Selects among file names (all without hashes, none yanked); returns the chosen name. */
static const char *pick(const char *const *files, size_t n, const struct python_target *t, struct error *err)
{
	struct wheel_candidate c[16] = {{0}};
	struct wheel_request req = {.name = "X", .version = "1.0", .pinned = true};
	int i;

	for (size_t k = 0; k < n; k++)
		c[k].filename = files[k];
	i = wheel_select(c, n, &req, t, NULL, err);
	return i < 0 ? NULL : files[i];
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_manylinux_ranking(struct unit_state *s)
{
	static const char *const files[] = {
		"x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux_2_34_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux1_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
	};
	static const char *const only_new[] = {"x-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
					       "x-1.0-cp311-cp311-manylinux_2_34_x86_64.whl"};
	struct python_target t = target("linux/amd64", 36);
	struct error err = {0};

	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-manylinux_2_34_x86_64.whl");
	t = target("linux/amd64", 31);
	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-manylinux_2_28_x86_64.whl");
	t = target("linux/amd64", 0); /* unknown: manylinux2014 at most */
	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
	t = target("linux/amd64", 12);
	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-manylinux1_x86_64.whl");
	t = target("linux/arm64", 36);
	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl");

	t = target("linux/amd64", 24);
	CHECK(s, pick(only_new, N(only_new), &t, &err) == NULL);
	CHECK_STR(s, err.message, "X 1.0: manylinux_2_28 wheels need glibc 2.28; the base has 2.24");
	t = target("linux/amd64", 0);
	CHECK(s, pick(only_new, N(only_new), &t, &err) == NULL);
	CHECK(s, strstr(err.message, "manylinux_2_28 wheels need glibc 2.28; the base's glibc version is unknown") != NULL);
}

static void test_abi3_and_fallbacks(struct unit_state *s)
{
	static const char *const all[] = {
		"x-1.0-py3-none-any.whl",
		"x-1.0-cp38-abi3-manylinux2014_x86_64.whl",
		"x-1.0-cp311-none-manylinux2014_x86_64.whl",
		"x-1.0-cp311-cp311-manylinux1_x86_64.whl",
		"x-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
	};
	static const char *const newer_abi3[] = {"x-1.0-cp312-abi3-manylinux2014_x86_64.whl", "x-1.0-py2.py3-none-any.whl",
						 "x-1.0-cp310-cp310-manylinux2014_x86_64.whl"};
	static const char *const py_plat[] = {"x-1.0-py3-none-any.whl", "x-1.0-py3-none-manylinux2014_x86_64.whl",
					      "x-1.0-cp311-none-any.whl"};
	static const char *const linux_only[] = {"x-1.0-cp311-cp311-linux_x86_64.whl"};
	static const char *const wrong_python[] = {"x-1.0-cp39-cp39-manylinux2014_x86_64.whl",
						   "x-1.0-cp312-cp312-manylinux2014_x86_64.whl"};
	struct python_target t = target("linux/amd64", 36);
	struct error err = {0};

	/* cp311-cp311 on the oldest platform beats abi3 on a newer one: the ABI comes first. */
	CHECK_STR(s, pick(all, N(all), &t, &err), "x-1.0-cp311-cp311-manylinux1_x86_64.whl");
	{
		const char *const without_cp311[] = {all[0], all[1], all[2], all[4]};
		CHECK_STR(s, pick(without_cp311, 4, &t, &err), "x-1.0-cp311-abi3-manylinux_2_28_x86_64.whl");
	}
	/* cp311-none comes before the abi3 wheels of older Pythons. */
	CHECK_STR(s, pick(all, 3, &t, &err), "x-1.0-cp311-none-manylinux2014_x86_64.whl");
	CHECK_STR(s, pick(all, 2, &t, &err), "x-1.0-cp38-abi3-manylinux2014_x86_64.whl");
	{
		const char *const abi3_pair[] = {all[1], all[4]};
		CHECK_STR(s, pick(abi3_pair, 2, &t, &err), "x-1.0-cp311-abi3-manylinux_2_28_x86_64.whl");
	}
	/* cp312-abi3 needs 3.12; cp310-cp310 is another ABI: py2.py3-none-any it is. */
	CHECK_STR(s, pick(newer_abi3, N(newer_abi3), &t, &err), "x-1.0-py2.py3-none-any.whl");
	CHECK_STR(s, pick(py_plat, N(py_plat), &t, &err), "x-1.0-py3-none-manylinux2014_x86_64.whl");
	{
		const char *const any_pair[] = {py_plat[0], py_plat[2]};
		CHECK_STR(s, pick(any_pair, 2, &t, &err), "x-1.0-cp311-none-any.whl");
	}
	CHECK(s, pick(linux_only, 1, &t, &err) == NULL);
	CHECK(s, strstr(err.message, "no wheel for linux/amd64 (files for: linux_x86_64)") != NULL);
	CHECK(s, pick(wrong_python, N(wrong_python), &t, &err) == NULL);
	CHECK_STR(s, err.message, "X 1.0: no wheel for Python 3.11 (files for: cp39-cp39, cp312-cp312)");
}

static void test_arm64_without_wheel(struct unit_state *s)
{
	static const char *const files[] = {"x-1.0-cp311-cp311-manylinux2014_x86_64.whl",
					    "x-1.0-cp311-cp311-macosx_11_0_arm64.whl",
					    "x-1.0-cp310-cp310-manylinux2014_aarch64.whl", "x-1.0.tar.gz"};
	struct python_target t = target("linux/arm64", 36);
	struct error err = {0};

	CHECK(s, pick(files, N(files), &t, &err) == NULL);
	CHECK_STR(s, err.message, "X 1.0: no wheel for linux/arm64 (files for: manylinux2014_x86_64, macosx_11_0_arm64)");
}

static void test_versions_and_sdists(struct unit_state *s)
{
	static const char *const others[] = {"x-0.9-py3-none-any.whl", "x-1.1.tar.gz", "y-1.0-py3-none-any.whl"};
	static const char *const sdist[] = {"x-1.0.tar.gz", "x-0.9-py3-none-any.whl"};
	static const char *const spelled[] = {"X_thing-1.0.0-py3-none-any.whl"};
	struct python_target t = target("linux/amd64", 36);
	struct wheel_request req = {.name = "x.thing", .version = "1.0", .pinned = true};
	struct wheel_candidate c = {.filename = spelled[0]};
	struct error err = {0};

	CHECK(s, pick(others, N(others), &t, &err) == NULL);
	CHECK_STR(s, err.message, "there is no file of X 1.0 (versions listed: 0.9, 1.1)");
	CHECK(s, pick(sdist, N(sdist), &t, &err) == NULL);
	CHECK_STR(s, err.message, "X 1.0 has no wheel, only x-1.0.tar.gz (an sdist: only wheels are installed)");
	/* Names compare normalized, versions as PEP 440 versions. */
	CHECK(s, wheel_select(&c, 1, &req, &t, NULL, &err) == 0);
	{
		/* No version asked: the newest that fits, whatever its tags. */
		struct wheel_candidate any[] = {{.filename = "x-1.10-py3-none-any.whl"},
						{.filename = "x-1.9-cp311-cp311-manylinux2014_x86_64.whl"},
						{.filename = "x-2.0-cp312-cp312-manylinux2014_x86_64.whl"},
						{.filename = "x-1.10-cp311-cp311-manylinux2014_x86_64.whl"}};
		struct wheel_request newest = {.name = "x"};
		CHECK(s, wheel_select(any, 4, &newest, &t, NULL, &err) == 3);
		CHECK(s, wheel_select(any + 2, 1, &newest, &t, NULL, &err) < 0);
		CHECK_STR(s, err.message, "x (any version): no wheel for Python 3.11 (files for: cp312-cp312)");
	}
}

static void test_yanked(struct unit_state *s)
{
	struct wheel_candidate c[] = {
		{.filename = "x-1.0-cp311-cp311-manylinux2014_x86_64.whl", .yanked = true, .yanked_reason = "bad build"},
		{.filename = "x-1.0-py3-none-any.whl", .yanked = true},
	};
	struct wheel_request req = {.name = "x", .version = "1.0", .pinned = true};
	struct python_target t = target("linux/amd64", 36);
	struct error err = {0};
	bool yanked = false;

	/* Only yanked files: an exact pin still gets the best one, and is told so. */
	CHECK(s, wheel_select(c, 2, &req, &t, &yanked, &err) == 0);
	CHECK(s, yanked);
	req.pinned = false;
	CHECK(s, wheel_select(c, 2, &req, &t, &yanked, &err) < 0);
	CHECK_STR(s, err.message, "the only files of x 1.0 are yanked (\"bad build\")");
	/* A file that is not yanked wins over a better one that is. */
	c[1].yanked = false;
	req.pinned = true;
	CHECK(s, wheel_select(c, 2, &req, &t, &yanked, &err) == 1);
	CHECK(s, !yanked);
}

static void test_requires_python(struct unit_state *s)
{
	struct wheel_candidate c[] = {
		{.filename = "x-1.0-cp311-cp311-manylinux2014_x86_64.whl", .requires_python = ">=3.12"},
		{.filename = "x-1.0-py3-none-any.whl", .requires_python = ">=3.12"},
	};
	struct wheel_request req = {.name = "x", .version = "1.0", .pinned = true};
	struct python_target t = target("linux/amd64", 36);
	struct error err = {0};

	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) < 0);
	CHECK_STR(s, err.message, "x 1.0 requires Python >=3.12, the image has 3.11.2");
	c[1].requires_python = ">=3.8, !=3.11.1";
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) == 1);
	c[0].requires_python = "==3.11.*";
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) == 0);
	/* One that cannot be parsed is ignored, as pip does. */
	c[0].requires_python = ">=three";
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) == 0);
}

static void test_hashes(struct unit_state *s)
{
	const char *const pins[] = {SHA_B, SHA_C};
	struct wheel_candidate c[] = {
		{.filename = "x-1.0-cp311-cp311-manylinux2014_x86_64.whl", .sha256 = SHA_A},
		{.filename = "x-1.0-py3-none-any.whl", .sha256 = SHA_B},
	};
	struct wheel_request req = {.name = "x", .version = "1.0", .hashes = pins, .hash_count = 2, .pinned = true};
	struct python_target t = target("linux/amd64", 36);
	struct error err = {0};

	/* The better wheel is not the pinned one: the pinned one is chosen. */
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) == 1);
	c[1].sha256 = SHA_A;
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) < 0);
	CHECK(s, strncmp(err.message, "x 1.0: no wheel matches the pinned sha256 values", 48) == 0);
	/* An index without hashes: the download is checked instead. */
	c[0].sha256 = "";
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) == 0);
	req.hash_count = 0;
	c[0].sha256 = SHA_A;
	CHECK(s, wheel_select(c, 2, &req, &t, NULL, &err) == 0);
}

static void test_musllinux(struct unit_state *s)
{
	static const char *const files[] = {
		"x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"x-1.0-cp311-cp311-musllinux_1_1_x86_64.whl",
		"x-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
	};
	struct python_target t = target("linux/amd64", 0);
	struct error err = {0};

	t.musl = true;
	t.musl_major = 1;
	t.musl_minor = 2;
	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-musllinux_1_2_x86_64.whl");
	t.musl_minor = 1;
	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-cp311-cp311-musllinux_1_1_x86_64.whl");
	CHECK(s, pick(files + 2, 1, &t, &err) == NULL);
	CHECK_STR(s, err.message, "X 1.0: musllinux_1_2 wheels need musl 1.2; the base has 1.1");
	CHECK(s, pick(files, 1, &t, &err) == NULL);
	CHECK(s, strstr(err.message, "no wheel for linux/amd64 (musl)") != NULL);
	/* musllinux never on glibc. */
	t = target("linux/amd64", 36);
	CHECK(s, pick(files + 1, 2, &t, &err) == NULL);
	CHECK(s, strstr(err.message, "files for: musllinux_1_1_x86_64, musllinux_1_2_x86_64") != NULL);
	CHECK_STR(s, pick(files, N(files), &t, &err), files[0]);
}

static void test_build_tag(struct unit_state *s)
{
	static const char *const files[] = {"x-1.0-py3-none-any.whl", "x-1.0-2-py3-none-any.whl",
					    "x-1.0-10b-py3-none-any.whl", "x-1.0-10a-py3-none-any.whl"};
	struct python_target t = target("linux/amd64", 36);
	struct error err = {0};
	struct wheel_name w;

	CHECK_STR(s, pick(files, N(files), &t, &err), "x-1.0-10b-py3-none-any.whl");
	CHECK(s, wheel_parse_filename("x-1.0-b2-py3-none-any.whl", &w, &err) < 0);
}

static void test_check_compatible(struct unit_state *s)
{
	struct python_target t = target("linux/amd64", 0);
	struct error err = {0};
	struct wheel_name w;

	CHECK(s, wheel_parse_filename("wrong_py-1.0-cp39-cp39-manylinux2014_x86_64.whl", &w, &err) == 0);
	CHECK(s, wheel_check_compatible(&w, &t, &err) < 0);
	CHECK_STR(s, err.message, "wrong_py-1.0 is built for Python 'cp39', the base image has Python 3.11");
	CHECK(s, wheel_parse_filename("arm_only-1.0-cp311-cp311-manylinux2014_aarch64.whl", &w, &err) == 0);
	CHECK(s, wheel_check_compatible(&w, &t, &err) < 0);
	CHECK_STR(s, err.message, "arm_only-1.0 is built for 'manylinux2014_aarch64', not linux x86_64");
	CHECK(s, wheel_parse_filename("odd-1.0-cp311-cp310-manylinux2014_x86_64.whl", &w, &err) == 0);
	CHECK(s, wheel_check_compatible(&w, &t, &err) < 0);
	CHECK_STR(s, err.message, "odd-1.0 needs the ABI 'cp310', not Python 3.11's");
	CHECK(s, wheel_parse_filename("new-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", &w, &err) == 0);
	t.glibc_major = 2;
	t.glibc_minor = 24;
	CHECK(s, wheel_check_compatible(&w, &t, &err) < 0);
	CHECK_STR(s, err.message, "new-1.0 is built for 'manylinux_2_28_x86_64': manylinux_2_28 wheels need glibc 2.28; "
				  "the base has 2.24");
	t.glibc_minor = 28;
	CHECK(s, wheel_check_compatible(&w, &t, &err) == 0);
	/* Given by file or URL, a linux_<arch> wheel was built for this machine on purpose. */
	CHECK(s, wheel_parse_filename("local-1.0-cp311-cp311-linux_x86_64.whl", &w, &err) == 0);
	CHECK(s, wheel_check_compatible(&w, &t, &err) == 0);
	CHECK(s, wheel_parse_filename("tiny_native-2.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", &w,
				      &err) == 0);
	t.glibc_major = 0;
	CHECK(s, wheel_check_compatible(&w, &t, &err) == 0);
	CHECK(s, wheel_parse_filename("hello_flink-1.0.0-py3-none-any.whl", &w, &err) == 0);
	CHECK(s, wheel_check_compatible(&w, &t, &err) == 0);
	CHECK(s, wheel_parse_filename("a-1.0-cp38-abi3-win_amd64.whl", &w, &err) == 0);
	CHECK(s, wheel_check_compatible(&w, &t, &err) < 0);
}

const struct unit_test pypi_tests[] = {
	{"pypi_html_links", test_html},
	{"pypi_html_base", test_html_base},
	{"pypi_json_links", test_json},
	{"pypi_select_manylinux_by_glibc", test_manylinux_ranking},
	{"pypi_select_abi3_and_fallbacks", test_abi3_and_fallbacks},
	{"pypi_select_arm64_without_wheel", test_arm64_without_wheel},
	{"pypi_select_versions_and_sdists", test_versions_and_sdists},
	{"pypi_select_yanked", test_yanked},
	{"pypi_select_requires_python", test_requires_python},
	{"pypi_select_hashes", test_hashes},
	{"pypi_select_musllinux", test_musllinux},
	{"pypi_select_build_tag", test_build_tag},
	{"pypi_check_compatible", test_check_compatible},
	{NULL, NULL},
};
