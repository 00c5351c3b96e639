#include "wheel.h"

#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "pyversion.h"
#include "unarchive.h"
#include "util.h"

#define RECORD_MAX (8 * 1024 * 1024)

int python_target_init(struct python_target *t, const char *interpreter, const char *platform, struct error *err)
{
	const char *name = fs_basename(interpreter);
	bool local = strncmp(interpreter, "usr/local/", 10) == 0;

	memset(t, 0, sizeof(*t));
	if (sscanf(name, "python%d.%d", &t->major, &t->minor) != 2 || t->major != 3 || t->minor < 0 || t->minor > 99)
		return error_set(err, ERROR_INVALID, "'%s' is not a Python 3 interpreter", interpreter);
	snprintf(t->version, sizeof(t->version), "%d.%d", t->major, t->minor);
	snprintf(t->implementation, sizeof(t->implementation), "cp");
	snprintf(t->abi, sizeof(t->abi), "cp%d%d", t->major, t->minor);
	snprintf(t->platform, sizeof(t->platform), "%s", platform);
	snprintf(t->interpreter, sizeof(t->interpreter), "/%s", interpreter);
	snprintf(t->site_packages, sizeof(t->site_packages), "usr/local/lib/python%d.%d/%s", t->major, t->minor,
		 local ? "site-packages" : "dist-packages");
	snprintf(t->bin_dir, sizeof(t->bin_dir), "usr/local/bin");
	if (strstr(platform, "/amd64"))
		snprintf(t->arch, sizeof(t->arch), "x86_64");
	else if (strstr(platform, "/arm64"))
		snprintf(t->arch, sizeof(t->arch), "aarch64");
	else
		snprintf(t->arch, sizeof(t->arch), "%s", strchr(platform, '/') ? strchr(platform, '/') + 1 : platform);
	return 0;
}

void python_normalize_name(const char *name, char *out, size_t size)
{
	size_t n = 0;
	bool dash = false;

	for (const char *p = name; *p && n + 1 < size; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			dash = true;
			continue;
		}
		if (dash && n > 0 && n + 2 < size)
			out[n++] = '-';
		dash = false;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
}

int wheel_parse_filename(const char *filename, struct wheel_name *w, struct error *err)
{
	char copy[512], *parts[6];
	size_t n = 0, len = strlen(filename);

	memset(w, 0, sizeof(*w));
	if (len < 5 || len >= sizeof(copy) || strcmp(filename + len - 4, ".whl") != 0 || strchr(filename, '/'))
		return error_set(err, ERROR_INVALID, "'%s' is not a wheel file name", filename);
	memcpy(copy, filename, len - 4);
	copy[len - 4] = '\0';
	for (char *p = copy; p && n < 6; n++) {
		parts[n] = p;
		p = strchr(p, '-');
		if (p)
			*p++ = '\0';
	}
	if (n != 5 && n != 6)
		return error_set(err, ERROR_INVALID, "'%s' is not a wheel file name (name-version[-build]-python-abi-platform.whl)",
				 filename);
	snprintf(w->distribution, sizeof(w->distribution), "%s", parts[0]);
	snprintf(w->version, sizeof(w->version), "%s", parts[1]);
	if (n == 6) {
		/* PEP 427: the build tag starts with a digit; it orders otherwise equal wheels. */
		if (!isdigit((unsigned char)parts[2][0]))
			return error_set(err, ERROR_INVALID, "'%s' is not a wheel file name (build tag '%s')", filename,
					 parts[2]);
		snprintf(w->build, sizeof(w->build), "%s", parts[2]);
	}
	snprintf(w->python_tags, sizeof(w->python_tags), "%s", parts[n - 3]);
	snprintf(w->abi_tags, sizeof(w->abi_tags), "%s", parts[n - 2]);
	snprintf(w->platform_tags, sizeof(w->platform_tags), "%s", parts[n - 1]);
	return 0;
}

/* ---- tags and selection ----------------------------------------------------------------- */

/* The platform ranks of one interpreter/ABI group stay below this: a target's list of platform
 * tags (manylinux_2_N down to 2_5 with their aliases, or musllinux_1_N) is much shorter. */
#define PLATFORM_SLOTS 512
#define LINUX_RANK (PLATFORM_SLOTS - 1)

enum tag_miss { MISS_NONE, MISS_PYTHON, MISS_PLATFORM, MISS_LIBC }; /* ordered: a later one came closer */

struct tag_fit {
	int rank;            /* >= 0 when the wheel fits; lower is better */
	enum tag_miss miss;  /* otherwise how close it came */
	bool this_python;    /* an interpreter tag is for the target's Python (then the ABI is wrong) */
	bool musl;           /* MISS_LIBC: the tags below are musllinux ones */
	int need_major, need_minor; /* MISS_LIBC: the oldest C library one of the tags needs */
};

/* Copies the next dot-separated tag of a compressed tag set ("py2.py3") into tag. */
static bool next_tag(const char **cursor, char *tag, size_t size)
{
	size_t n;

	if (!**cursor)
		return false;
	n = strcspn(*cursor, ".");
	snprintf(tag, size, "%.*s", (int)n, *cursor);
	*cursor += n + ((*cursor)[n] == '.');
	return true;
}

/* "cp311" -> "cp", 3, 11; "py3" -> "py", 3, -1. */
static bool split_interpreter(const char *tag, char impl[3], int *major, int *minor)
{
	if (strlen(tag) < 3 || !isalpha((unsigned char)tag[0]) || !isalpha((unsigned char)tag[1]))
		return false;
	for (const char *p = tag + 2; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	if (strlen(tag + 3) > 3)
		return false; /* no Python 3.1000 */
	impl[0] = tag[0];
	impl[1] = tag[1];
	impl[2] = '\0';
	*major = tag[2] - '0';
	*minor = tag[3] ? atoi(tag + 3) : -1;
	return true;
}

/* Where pyXY, py3, py3(Y-1) ... py30 come in packaging's _py_interpreter_range, or -1. */
static int py_position(int minor, int target_minor)
{
	if (minor == target_minor)
		return 0;
	if (minor < 0)
		return 1;
	return minor < target_minor ? 2 + (target_minor - 1 - minor) : -1;
}

/* The group of an interpreter/ABI pair in the target's tag list, for a platform tag or for
 * "any"; -1 when the target has no such tag. The order is packaging.tags.sys_tags' for
 * CPython 3.Y: cp3Y-cp3Y, cp3Y-abi3, cp3Y-none, cp3(Y-1)-abi3 ... cp32-abi3, then py3Y-none,
 * py3-none, py3(Y-1)-none ... py30-none, each with every platform; then cp3Y-none-any and the
 * py* range again with -none-any. */
static int tag_group(const char *interpreter, const char *abi, bool any, const struct python_target *t)
{
	int y = t->minor, cp_groups = 3 + (y > 2 ? y - 2 : 0), py_groups = y + 2, major, minor;
	char impl[3];
	bool native, py;

	if (!split_interpreter(interpreter, impl, &major, &minor) || major != t->major)
		return -1;
	native = strcmp(impl, t->implementation) == 0;
	py = strcmp(impl, "py") == 0;
	if (any) {
		if (strcmp(abi, "none") != 0)
			return -1;
		if (native && minor == y)
			return cp_groups + py_groups;
		return py && py_position(minor, y) >= 0 ? cp_groups + py_groups + 1 + py_position(minor, y) : -1;
	}
	if (native && minor == y) {
		if (strcmp(abi, t->abi) == 0)
			return 0;
		if (strcmp(abi, "abi3") == 0)
			return 1;
		return strcmp(abi, "none") == 0 ? 2 : -1;
	}
	if (native && minor >= 2 && minor < y && strcmp(abi, "abi3") == 0)
		return 3 + (y - 1 - minor);
	if (py && strcmp(abi, "none") == 0 && py_position(minor, y) >= 0)
		return cp_groups + py_position(minor, y);
	return -1;
}

enum libc_kind { LIBC_OTHER, LIBC_GLIBC, LIBC_MUSL, LIBC_LINUX };

/* "2_17_x86_64" -> 2, 17; returns the length of "2_17_", 0 when it is not that. Digits only
 * and few of them: a tag is untrusted input and ranks are computed from these numbers. */
static int libc_version(const char *s, int *major, int *minor)
{
	size_t a = strspn(s, "0123456789"), b;

	if (a == 0 || a > 3 || s[a] != '_')
		return 0;
	b = strspn(s + a + 1, "0123456789");
	if (b == 0 || b > 3 || s[a + 1 + b] != '_')
		return 0;
	*major = atoi(s);
	*minor = atoi(s + a + 1);
	return (int)(a + 1 + b + 1);
}

/* "manylinux2014_x86_64" -> glibc 2.17 (a legacy alias), arch "x86_64". */
static enum libc_kind split_platform(const char *tag, int *major, int *minor, bool *legacy, const char **arch)
{
	static const struct {
		const char *prefix;
		int minor;
	} aliases[] = {{"manylinux1_", 5}, {"manylinux2010_", 12}, {"manylinux2014_", 17}};
	int n = 0;

	*legacy = false;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		size_t len = strlen(aliases[i].prefix);
		if (strncmp(tag, aliases[i].prefix, len) == 0) {
			*major = 2;
			*minor = aliases[i].minor;
			*legacy = true;
			*arch = tag + len;
			return LIBC_GLIBC;
		}
	}
	if (strncmp(tag, "manylinux_", 10) == 0 && (n = libc_version(tag + 10, major, minor)) > 0) {
		*arch = tag + 10 + n;
		return LIBC_GLIBC;
	}
	if (strncmp(tag, "musllinux_", 10) == 0 && (n = libc_version(tag + 10, major, minor)) > 0) {
		*arch = tag + 10 + n;
		return LIBC_MUSL;
	}
	if (strncmp(tag, "linux_", 6) == 0) {
		*arch = tag + 6;
		return LIBC_LINUX;
	}
	return LIBC_OTHER;
}

/* The newest C library the target's wheels may need: what the base has or, unknown, the
 * oldest baseline that is safe (manylinux2014, musllinux_1_1). */
static void libc_limit(const struct python_target *t, int *major, int *minor)
{
	if (t->musl) {
		*major = t->musl_major ? t->musl_major : 1;
		*minor = t->musl_major ? t->musl_minor : 1;
	} else {
		*major = t->glibc_major ? t->glibc_major : 2;
		*minor = t->glibc_major ? t->glibc_minor : 17;
	}
}

static void note_miss(struct tag_fit *fit, enum tag_miss miss, bool musl, int major, int minor)
{
	if (miss < fit->miss)
		return;
	if (miss == MISS_LIBC && fit->miss == MISS_LIBC &&
	    (major > fit->need_major || (major == fit->need_major && minor >= fit->need_minor)))
		return;
	fit->miss = miss;
	fit->musl = musl;
	fit->need_major = major;
	fit->need_minor = minor;
}

/* The rank of a platform tag among the target's (newest C library first, an alias right after
 * its manylinux_2_N), or -1 with the miss noted. */
static int platform_rank(const char *tag, const struct python_target *t, bool allow_linux, struct tag_fit *fit)
{
	int major = 0, minor = 0, max_major, max_minor, rank;
	bool legacy;
	const char *arch = NULL;
	enum libc_kind kind = split_platform(tag, &major, &minor, &legacy, &arch);

	if (kind == LIBC_OTHER || strcmp(arch, t->arch) != 0 || (kind == LIBC_GLIBC && t->musl) ||
	    (kind == LIBC_MUSL && !t->musl) || (kind == LIBC_LINUX && !allow_linux)) {
		note_miss(fit, MISS_PLATFORM, false, 0, 0);
		return -1;
	}
	if (kind == LIBC_LINUX)
		return LINUX_RANK;
	libc_limit(t, &max_major, &max_minor);
	if (major > max_major || (major == max_major && minor > max_minor)) {
		note_miss(fit, MISS_LIBC, kind == LIBC_MUSL, major, minor);
		return -1;
	}
	if (major < max_major) {
		note_miss(fit, MISS_PLATFORM, false, 0, 0);
		return -1;
	}
	rank = 2 * (max_minor - minor) + legacy;
	return rank < LINUX_RANK ? rank : LINUX_RANK - 1;
}

/* Ranks a wheel's tags (the best of every interpreter x ABI x platform combination). */
static void fit_tags(const struct wheel_name *w, const struct python_target *t, bool allow_linux, struct tag_fit *fit)
{
	char py[64], abi[64], plat[160], impl[3];
	const char *pc = w->python_tags;

	memset(fit, 0, sizeof(*fit));
	fit->rank = -1;
	while (next_tag(&pc, py, sizeof(py))) {
		int major, minor;
		if (split_interpreter(py, impl, &major, &minor) && major == t->major &&
		    ((strcmp(impl, t->implementation) == 0 && minor == t->minor) ||
		     (strcmp(impl, "py") == 0 && minor <= t->minor)))
			fit->this_python = true;
		for (const char *ac = w->abi_tags; next_tag(&ac, abi, sizeof(abi));) {
			for (const char *lc = w->platform_tags; next_tag(&lc, plat, sizeof(plat));) {
				bool any = strcmp(plat, "any") == 0;
				int group = tag_group(py, abi, any, t), rank;
				if (group < 0) {
					note_miss(fit, MISS_PYTHON, false, 0, 0);
					continue;
				}
				rank = any ? 0 : platform_rank(plat, t, allow_linux, fit);
				if (rank >= 0 && (fit->rank < 0 || group * PLATFORM_SLOTS + rank < fit->rank))
					fit->rank = group * PLATFORM_SLOTS + rank;
			}
		}
	}
	if (fit->rank >= 0)
		fit->miss = MISS_NONE;
}

/* "manylinux_2_28 wheels need glibc 2.28; the base has 2.24" */
static void libc_reason(const struct tag_fit *fit, const struct python_target *t, char *buf, size_t size)
{
	const char *family = fit->musl ? "musllinux" : "manylinux", *lib = fit->musl ? "musl" : "glibc";
	int major = fit->musl ? t->musl_major : t->glibc_major, minor = fit->musl ? t->musl_minor : t->glibc_minor;

	if (major)
		snprintf(buf, size, "%s_%d_%d wheels need %s %d.%d; the base has %d.%d", family, fit->need_major,
			 fit->need_minor, lib, fit->need_major, fit->need_minor, major, minor);
	else
		snprintf(buf, size, "%s_%d_%d wheels need %s %d.%d; the base's %s version is unknown, so only %s "
				    "and older are taken", family, fit->need_major, fit->need_minor, lib, fit->need_major,
			 fit->need_minor, lib, fit->musl ? "musllinux_1_1" : "manylinux2014 (glibc 2.17)");
}

int wheel_check_compatible(const struct wheel_name *w, const struct python_target *t, struct error *err)
{
	struct tag_fit fit;
	char why[512];

	fit_tags(w, t, true, &fit);
	switch (fit.miss) {
	case MISS_NONE:
		return 0;
	case MISS_PYTHON:
		if (fit.this_python)
			return error_set(err, ERROR_INVALID, "%s-%s needs the ABI '%s', not Python %d.%d's", w->distribution,
					 w->version, w->abi_tags, t->major, t->minor);
		return error_set(err, ERROR_INVALID, "%s-%s is built for Python '%s', the base image has Python %d.%d",
				 w->distribution, w->version, w->python_tags, t->major, t->minor);
	case MISS_PLATFORM:
		return error_set(err, ERROR_INVALID, "%s-%s is built for '%s', not linux %s%s", w->distribution, w->version,
				 w->platform_tags, t->arch, t->musl ? " (musl)" : "");
	case MISS_LIBC:
		libc_reason(&fit, t, why, sizeof(why));
		return error_set(err, ERROR_INVALID, "%s-%s is built for '%s': %s", w->distribution, w->version,
				 w->platform_tags, why);
	}
	return error_set(err, ERROR_INTERNAL, "unreachable");
}

/* Appends item to a ", "-separated list unless it is there already; "..." once full. */
static void list_add(char *list, size_t size, const char *item)
{
	size_t len = strlen(list), n = strlen(item);

	if (n == 0)
		return;
	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return;
	if (len >= 3 && strcmp(list + len - 3, "...") == 0)
		return;
	if (len + n + 2 + 5 >= size) {
		snprintf(list + len, size - len, "%s...", len ? ", " : "");
		return;
	}
	snprintf(list + len, size - len, "%s%s", len ? ", " : "", item);
}

/* PEP 427 build tags order as (number, rest); a wheel without one comes first. */
static int compare_build(const char *a, const char *b)
{
	char *ra, *rb;
	long na, nb;

	if (!*a || !*b)
		return (*a != '\0') - (*b != '\0');
	na = strtol(a, &ra, 10);
	nb = strtol(b, &rb, 10);
	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp(ra, rb);
}

/* "hello-flink-1.0.0.tar.gz" is an sdist of hello-flink 1.0.0: the version is after the last
 * '-' of the name without its archive extension. */
static bool split_sdist(const char *filename, char *name, size_t name_size, char *version, size_t version_size)
{
	static const char *const exts[] = {".tar.gz", ".zip", ".tar.bz2", ".tgz"};
	size_t len = strlen(filename);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t el = strlen(exts[i]);
		const char *dash;
		if (len <= el || strcmp(filename + len - el, exts[i]) != 0)
			continue;
		dash = memrchr(filename, '-', len - el);
		if (!dash || dash == filename)
			return false;
		snprintf(name, name_size, "%.*s", (int)(dash - filename), filename);
		snprintf(version, version_size, "%.*s", (int)(filename + len - el - dash - 1), dash + 1);
		return true;
	}
	return false;
}

/* pip's order: the newest version (when the request names none), then the tags, then the build
 * tag; the first listed wins a tie. */
static bool better(const struct wheel_name *a, int a_rank, const struct wheel_name *b, int b_rank)
{
	int order = pyversion_compare(a->version, b->version);

	if (order != 0)
		return order > 0;
	if (a_rank != b_rank)
		return a_rank < b_rank;
	return compare_build(a->build, b->build) > 0;
}

/* How far a candidate got through the filters, in the order they apply. */
enum stage { STAGE_OTHER, STAGE_RELEASE, STAGE_PYTHON_OK, STAGE_TAGS_OK, STAGE_HASH_OK };

int wheel_select(const struct wheel_candidate *c, size_t count, const struct wheel_request *req,
		 const struct python_target *t, bool *yanked, struct error *err)
{
	char want[128], got[128], versions[256] = "", sdists[256] = "", pairs[256] = "", platforms[320] = "";
	char needs_python[128] = "", unpinned[256] = "", yank_reason[256] = "", why[512];
	const struct wheel_name *best_name = NULL, *best_yanked_name = NULL;
	struct wheel_name *names = calloc(count + 1, sizeof(*names));
	struct tag_fit closest = {.rank = -1};
	int best = -1, best_rank = -1, best_yanked = -1, best_yanked_rank = -1, rc = -1;
	enum stage furthest = STAGE_OTHER;
	const char *version = req->version; /* for messages */
	bool linux_only = false;

	if (!names)
		abort();
	if (yanked)
		*yanked = false;
	python_normalize_name(req->name, want, sizeof(want));
	if (!version)
		version = "(any version)";
	for (size_t i = 0; i < count; i++) {
		struct wheel_name *w = &names[i];
		struct error ignored = {0};
		struct tag_fit fit;
		bool ok = true, hash_ok = req->hash_count == 0 || !c[i].sha256 || !c[i].sha256[0];
		char sname[128], sversion[64];

		if (!c[i].filename)
			continue;
		if (wheel_parse_filename(c[i].filename, w, &ignored)) {
			/* Not a wheel: only worth mentioning when it is an sdist of the release. */
			if (split_sdist(c[i].filename, sname, sizeof(sname), sversion, sizeof(sversion))) {
				python_normalize_name(sname, got, sizeof(got));
				if (strcmp(want, got) == 0 &&
				    (!req->version || pyversion_compare(sversion, req->version) == 0))
					list_add(sdists, sizeof(sdists), c[i].filename);
				else if (strcmp(want, got) == 0)
					list_add(versions, sizeof(versions), sversion);
			}
			continue;
		}
		python_normalize_name(w->distribution, got, sizeof(got));
		if (strcmp(want, got) != 0)
			continue;
		if (req->version && pyversion_compare(w->version, req->version) != 0) {
			list_add(versions, sizeof(versions), w->version);
			continue;
		}
		if (furthest < STAGE_RELEASE)
			furthest = STAGE_RELEASE;
		if (c[i].requires_python && *c[i].requires_python) {
			/* pip ignores a requires-python it cannot parse; so does this. */
			struct error bad = {0};
			if (pyversion_satisfies(t->version, c[i].requires_python, &ok, &bad))
				ok = true;
			if (!ok) {
				if (!needs_python[0])
					snprintf(needs_python, sizeof(needs_python), "%s", c[i].requires_python);
				continue;
			}
		}
		if (furthest < STAGE_PYTHON_OK)
			furthest = STAGE_PYTHON_OK;
		fit_tags(w, t, false, &fit);
		if (fit.rank < 0) {
			char pair[130];
			if (fit.miss == MISS_PLATFORM && strstr(w->platform_tags, "linux_") &&
			    strstr(w->platform_tags, t->arch))
				linux_only = true;
			snprintf(pair, sizeof(pair), "%s-%s", w->python_tags, w->abi_tags);
			list_add(pairs, sizeof(pairs), pair);
			if (fit.miss == MISS_PLATFORM)
				list_add(platforms, sizeof(platforms), w->platform_tags);
			if (fit.miss > closest.miss)
				closest = fit;
			else if (fit.miss == MISS_LIBC && closest.miss == MISS_LIBC)
				note_miss(&closest, MISS_LIBC, fit.musl, fit.need_major, fit.need_minor);
			continue;
		}
		if (furthest < STAGE_TAGS_OK)
			furthest = STAGE_TAGS_OK;
		for (size_t k = 0; !hash_ok && k < req->hash_count; k++)
			hash_ok = strcmp(req->hashes[k], c[i].sha256) == 0;
		if (!hash_ok) {
			char item[400];
			snprintf(item, sizeof(item), "%s has %s", c[i].filename, c[i].sha256);
			list_add(unpinned, sizeof(unpinned), item);
			continue;
		}
		furthest = STAGE_HASH_OK;
		if (!c[i].yanked && (best < 0 || better(w, fit.rank, best_name, best_rank))) {
			best = (int)i;
			best_rank = fit.rank;
			best_name = w;
		} else if (c[i].yanked && (best_yanked < 0 || better(w, fit.rank, best_yanked_name, best_yanked_rank))) {
			best_yanked = (int)i;
			best_yanked_rank = fit.rank;
			best_yanked_name = w;
		}
	}
	if (best >= 0) {
		rc = best;
		goto out;
	}
	if (best_yanked >= 0 && req->pinned) {
		/* PEP 592: a yanked file is still right for an exact pin when nothing else fits. */
		if (yanked)
			*yanked = true;
		rc = best_yanked;
		goto out;
	}
	switch (furthest) {
	case STAGE_OTHER:
		if (sdists[0])
			error_set(err, ERROR_INVALID, "%s %s has no wheel, only %s (an sdist: only wheels are installed)",
				  req->name, version, sdists);
		else if (versions[0])
			error_set(err, ERROR_INVALID, "there is no file of %s %s (versions listed: %s)", req->name,
				  version, versions);
		else
			error_set(err, ERROR_INVALID, "there is no file of %s", req->name);
		break;
	case STAGE_RELEASE:
		error_set(err, ERROR_INVALID, "%s %s requires Python %s, the image has %s", req->name, version,
			  needs_python, t->version);
		break;
	case STAGE_PYTHON_OK:
		if (closest.miss == MISS_LIBC) {
			libc_reason(&closest, t, why, sizeof(why));
			error_set(err, ERROR_INVALID, "%s %s: %s", req->name, version, why);
		} else if (closest.miss == MISS_PLATFORM) {
			error_set(err, ERROR_INVALID, "%s %s: no wheel for %s%s (files for: %s)%s", req->name, version,
				  t->platform[0] ? t->platform : t->arch, t->musl ? " (musl)" : "", platforms,
				  linux_only ? "; linux_* wheels are built for one machine and are never taken from an index"
					     : "");
		} else {
			error_set(err, ERROR_INVALID, "%s %s: no wheel for Python %d.%d (files for: %s)", req->name,
				  version, t->major, t->minor, pairs);
		}
		break;
	case STAGE_TAGS_OK:
		error_set(err, ERROR_INVALID, "%s %s: no wheel matches the pinned sha256 values (%s)", req->name,
			  version, unpinned);
		break;
	case STAGE_HASH_OK:
		if (best_yanked >= 0)
			snprintf(yank_reason, sizeof(yank_reason), "%s", c[best_yanked].yanked_reason ?
					 c[best_yanked].yanked_reason : "");
		error_set(err, ERROR_INVALID, "the only files of %s %s are yanked%s%s%s", req->name, version,
			  yank_reason[0] ? " (\"" : "", yank_reason, yank_reason[0] ? "\")" : "");
		break;
	}
out:
	free(names);
	return rc;
}

/* ---- extraction ------------------------------------------------------------------------- */

static bool safe_relative(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/' || strchr(path, '\\'))
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n + (p[n] == '/');
	}
	return true;
}

static void add_file(struct wheel_install *in, const char *path, const char *source, unsigned mode, const char *sha)
{
	in->files = realloc(in->files, (in->count + 1) * sizeof(*in->files));
	if (!in->files)
		abort();
	in->files[in->count].path = xstrdup(path);
	in->files[in->count].source = xstrdup(source);
	in->files[in->count].mode = mode;
	snprintf(in->files[in->count].sha256, sizeof(in->files[in->count].sha256), "%s", sha);
	in->count++;
}

static void hex_of(EVP_MD_CTX *ctx, char out[65])
{
	unsigned char md[32];
	unsigned int len;

	EVP_DigestFinal_ex(ctx, md, &len);
	digest_hex(md, len, out);
}

/* Writes data to staging/path (creating parents) and records it. */
static int stage_bytes(struct wheel_install *in, const char *staging, const char *path, const void *data, size_t size,
		       unsigned mode, struct error *err)
{
	char *full = fs_path_join(staging, path), *dir = fs_dirname(full);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char sha[65];
	int rc;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, data, size);
	hex_of(ctx, sha);
	EVP_MD_CTX_free(ctx);
	rc = fs_mkdir_p(dir, err);
	if (rc == 0)
		rc = fs_write_file_atomic(full, data, size, 0644, err);
	if (rc == 0)
		add_file(in, path, full, mode, sha);
	free(dir);
	free(full);
	return rc;
}

/* Streams the current archive entry to staging/path, hashing it on the way. */
static int stage_entry(struct unarchive *a, struct wheel_install *in, const char *staging, const char *path, unsigned mode,
		       const char *interpreter, struct error *err)
{
	char *full = fs_path_join(staging, path), *dir = fs_dirname(full);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const void *buf;
	size_t len;
	long long offset;
	bool first = true;
	char sha[65];
	int fd = -1, rc = -1, r;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	if (fs_mkdir_p(dir, err))
		goto out;
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		error_set_errno(err, "cannot create %s (listed twice in the wheel?)", full);
		goto out;
	}
	while ((r = unarchive_data(a, &buf, &len, &offset, err)) == 1) {
		if (len == 0)
			continue;
		if (first && interpreter && len >= 8 && memcmp(buf, "#!python", 8) == 0) {
			/* Installers point `#!python` scripts at the target interpreter. */
			char *shebang = xasprintf("#!%s", interpreter);
			if (write(fd, shebang, strlen(shebang)) < 0) {
				free(shebang);
				error_set_errno(err, "cannot write %s", full);
				goto out;
			}
			EVP_DigestUpdate(ctx, shebang, strlen(shebang));
			free(shebang);
			buf = (const char *)buf + 8;
			len -= 8;
		}
		first = false;
		for (size_t done = 0; done < len;) {
			ssize_t w = write(fd, (const char *)buf + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				error_set_errno(err, "cannot write %s", full);
				goto out;
			}
			done += (size_t)w;
		}
		EVP_DigestUpdate(ctx, buf, len);
	}
	if (r < 0)
		goto out;
	hex_of(ctx, sha);
	add_file(in, path, full, mode, sha);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(dir);
	free(full);
	return rc;
}

/* Where a wheel entry goes in the image. */
static char *map_entry(const char *entry, const char *data_dir, const struct python_target *t, const char *dist,
		       bool *script, struct error *err)
{
	size_t dl = strlen(data_dir);
	const char *rest, *slash;

	*script = false;
	if (strncmp(entry, data_dir, dl) != 0 || entry[dl] != '/')
		return fs_path_join(t->site_packages, entry);
	rest = entry + dl + 1;
	slash = strchr(rest, '/');
	if (!slash || !slash[1]) {
		error_set(err, ERROR_INVALID, "'%s': a .data entry needs a scheme directory", entry);
		return NULL;
	}
	if (strncmp(rest, "purelib/", 8) == 0 || strncmp(rest, "platlib/", 8) == 0)
		return fs_path_join(t->site_packages, slash + 1);
	if (strncmp(rest, "scripts/", 8) == 0) {
		*script = true;
		return fs_path_join(t->bin_dir, slash + 1);
	}
	if (strncmp(rest, "headers/", 8) == 0)
		return xasprintf("usr/local/include/python%d.%d/%s/%s", t->major, t->minor, dist, slash + 1);
	if (strncmp(rest, "data/", 5) == 0)
		return fs_path_join("usr/local", slash + 1);
	error_set(err, ERROR_INVALID, "'%s': unknown .data scheme", entry);
	return NULL;
}

static void urlsafe_b64(const char hex[65], char out[64])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char bytes[33] = {0};
	size_t o = 0;

	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
	for (int i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)bytes[i] << 16 | (unsigned)bytes[i + 1] << 8 | bytes[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < 32)
			out[o++] = alphabet[(v >> 6) & 63];
		if (i + 2 < 32)
			out[o++] = alphabet[v & 63];
	}
	out[o] = '\0';
}

/* The path of an installed file as RECORD writes it: relative to site-packages. */
static char *record_path(const char *path, const char *site)
{
	size_t sl = strlen(site), depth = 1;
	char *out, *p;

	if (strncmp(path, site, sl) == 0 && path[sl] == '/')
		return xstrdup(path + sl + 1);
	for (const char *s = site; *s; s++)
		depth += *s == '/';
	out = calloc(depth * 3 + strlen(path) + 1, 1);
	if (!out)
		abort();
	p = out;
	for (size_t i = 0; i < depth; i++, p += 3)
		memcpy(p, "../", 3);
	strcpy(p, path);
	return out;
}

static int compare_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One RECORD row (CSV, RFC 4180 quoting as Python's csv module writes it): the first field
 * into path, the second into hash. Returns the position after the row, or NULL at the end. */
static const char *record_row(const char *p, const char *end, char **path, char **hash)
{
	char *fields[2] = {NULL, NULL};
	size_t field = 0;

	if (p >= end)
		return NULL;
	while (p < end && *p != '\n' && *p != '\r') {
		/* A field is as long as the row at most: size the buffer by it, not by the rest of
		 * the file, which may be megabytes. */
		const char *row_end = memchr(p, '\n', (size_t)(end - p));
		size_t cap = (size_t)((row_end ? row_end : end) - p) + 1, n = 0;
		char *buf = malloc(cap + 1);
		if (!buf)
			abort();
		if (*p == '"') {
			for (p++; p < end; p++) {
				if (n + 1 >= cap) { /* a quoted field may run across lines */
					cap *= 2;
					buf = realloc(buf, cap + 1);
					if (!buf)
						abort();
				}
				if (*p == '"' && p + 1 < end && p[1] == '"')
					buf[n++] = *p++;
				else if (*p == '"')
					break;
				else
					buf[n++] = *p;
			}
			if (p < end)
				p++;
		}
		while (p < end && *p != ',' && *p != '\n' && *p != '\r' && n < cap)
			buf[n++] = *p++;
		buf[n] = '\0';
		if (field < 2)
			fields[field] = buf;
		else
			free(buf);
		field++;
		if (p < end && *p == ',')
			p++;
		else
			break;
	}
	while (p < end && (*p == '\n' || *p == '\r'))
		p++;
	*path = fields[0] ? fields[0] : xstrdup("");
	*hash = fields[1] ? fields[1] : xstrdup("");
	return p;
}

/* Checks the files against the wheel's own RECORD, as installers do. */
static int verify_record(const char *record, size_t size, const struct wheel_install *in, const char *site,
			 const char *dist_info, struct error *err)
{
	const char *p = record, *end = record + size;
	char *line, *hash;
	int rc = 0;

	while (rc == 0 && (p = record_row(p, end, &line, &hash))) {
		if (strncmp(hash, "sha256=", 7) == 0) {
			/* Entries under .data/ were moved (and scripts rewritten): only the others can be
			 * compared byte for byte. */
			char *path = fs_path_join(site, line), *b64 = hash + 7;
			for (size_t i = 0; i < in->count; i++) {
				char want[64];
				if (strcmp(in->files[i].path, path) != 0)
					continue;
				urlsafe_b64(in->files[i].sha256, want);
				if (strcmp(want, b64) != 0)
					rc = error_set(err, ERROR_INVALID, "%s does not match the hash in %s/RECORD: damaged "
									   "wheel", line, dist_info);
			}
			free(path);
		}
		free(line);
		free(hash);
	}
	return rc;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file the wheel holds must be one its RECORD lists (PEP 376/427): an unlisted file
 * would be installed without anything vouching for it. Signatures of RECORD are exempt. The
 * listed paths are parsed once and searched (real wheels hold thousands of files). */
static int check_listed(const char *record, size_t size, const char *const *entries, size_t count,
			const char *filename, const char *dist_info, struct error *err)
{
	const char *p = record, *end = record + size;
	char **listed = NULL, *line, *hash;
	size_t n = 0, dl = strlen(dist_info);
	int rc = 0;

	while ((p = record_row(p, end, &line, &hash))) {
		listed = realloc(listed, (n + 1) * sizeof(*listed));
		if (!listed)
			abort();
		listed[n++] = line;
		free(hash);
	}
	if (n)
		qsort(listed, n, sizeof(*listed), compare_paths);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (strncmp(entries[i], dist_info, dl) == 0 &&
		    (strcmp(entries[i] + dl, "/RECORD.jws") == 0 || strcmp(entries[i] + dl, "/RECORD.p7s") == 0))
			continue;
		if (!n || !bsearch(&entries[i], listed, n, sizeof(*listed), compare_paths))
			rc = error_set(err, ERROR_INVALID, "%s: '%s' is not listed in %s/RECORD: refusing to install it",
				       filename, entries[i], dist_info);
	}
	for (size_t i = 0; i < n; i++)
		free(listed[i]);
	free(listed);
	return rc;
}

/* A RECORD field, quoted when it holds a comma or a quote (as Python's csv module does). */
static char *csv_field(const char *s)
{
	size_t n = 0;
	char *out;

	if (!strpbrk(s, ",\"\r\n"))
		return xstrdup(s);
	out = malloc(strlen(s) * 2 + 3);
	if (!out)
		abort();
	out[n++] = '"';
	for (; *s; s++) {
		if (*s == '"')
			out[n++] = '"';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

static int write_console_scripts(struct wheel_install *in, const char *staging, const struct python_target *t,
				 const char *entry_points, struct error *err)
{
	char *copy = xstrdup(entry_points), *save = NULL;
	bool in_section = false;
	int rc = 0;

	for (char *line = strtok_r(copy, "\r\n", &save); line && rc == 0; line = strtok_r(NULL, "\r\n", &save)) {
		char name[128], module[256], attr[256], *eq, *colon;
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '[') {
			in_section = strncmp(line, "[console_scripts]", 17) == 0 || strncmp(line, "[gui_scripts]", 13) == 0;
			continue;
		}
		if (!in_section || !*line || *line == '#' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		if (sscanf(line, "%127s", name) != 1 || sscanf(eq + 1, " %255[^: ]", module) != 1 ||
		    !(colon = strchr(eq + 1, ':')) || sscanf(colon + 1, " %255[A-Za-z0-9_.]", attr) != 1)
			continue;
		if (!safe_relative(name) || strchr(name, '/')) {
			rc = error_set(err, ERROR_INVALID, "console script name '%s' is not a file name", name);
			break;
		}
		char *first = xstrdup(attr), *dot = strchr(first, '.');
		if (dot)
			*dot = '\0';
		char *text = xasprintf("#!%s\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom %s import %s\n"
				       "if __name__ == \"__main__\":\n"
				       "    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n"
				       "    sys.exit(%s())\n", t->interpreter, module, first, attr);
		char *path = fs_path_join(t->bin_dir, name);
		rc = stage_bytes(in, staging, path, text, strlen(text), 0755, err);
		free(path);
		free(text);
		free(first);
	}
	free(copy);
	return rc;
}

int wheel_install(const char *wheel, const char *filename, const struct python_target *t, const char *staging,
		  struct wheel_install *out, struct error *err)
{
	struct wheel_name w;
	struct unarchive a = {0};
	struct archive_entry *e;
	char data_dir[256], dist_info[256], *record = NULL, *entry_points = NULL, **entries = NULL;
	size_t entry_count = 0;
	size_t record_size = 0;
	int rc = -1, r;

	memset(out, 0, sizeof(*out));
	if (wheel_parse_filename(filename, &w, err) || wheel_check_compatible(&w, t, err))
		return -1;
	snprintf(data_dir, sizeof(data_dir), "%s-%s.data", w.distribution, w.version);
	snprintf(dist_info, sizeof(dist_info), "%s-%s.dist-info", w.distribution, w.version);
	if (unarchive_open(&a, wheel, UNARCHIVE_ZIP, filename, err)) {
		error_set(err, ERROR_INVALID, "%s is not a zip archive", filename);
		goto out;
	}
	while ((r = unarchive_next(&a, &e, err)) == 1) {
		const char *entry = unarchive_path(&a, e);
		mode_t type = archive_entry_filetype(e);
		bool script;
		char *path;

		if (entry && str_has_control(entry)) {
			/* A newline in a name would forge a RECORD row (a row pip uninstall acts on). */
			error_set(err, ERROR_INVALID, "%s: refusing an entry whose name holds a control character", filename);
			goto out;
		}
		if (!entry || !safe_relative(entry)) {
			error_set(err, ERROR_INVALID, "%s: refusing entry '%s': it would land outside its directory", filename,
				  entry ? entry : "(none)");
			goto out;
		}
		if (type == AE_IFDIR)
			continue;
		if (type != AE_IFREG) {
			error_set(err, ERROR_INVALID, "%s: refusing '%s': only regular files may be installed (no links or "
						      "devices)", filename, entry);
			goto out;
		}
		if (strcmp(entry, "RECORD") == 0 || (strncmp(entry, dist_info, strlen(dist_info)) == 0 &&
						     strcmp(entry + strlen(dist_info), "/RECORD") == 0)) {
			/* Keep the original to verify against, write our own. */
			const void *buf;
			size_t len;
			long long offset;
			while (unarchive_data(&a, &buf, &len, &offset, err) == 1) {
				if (len == 0)
					continue;
				if (record_size + len > RECORD_MAX) {
					error_set(err, ERROR_LIMIT, "%s: RECORD is too large", filename);
					goto out;
				}
				record = realloc(record, record_size + len + 1);
				if (!record)
					abort();
				memcpy(record + record_size, buf, len);
				record_size += len;
			}
			continue;
		}
		entries = realloc(entries, (entry_count + 1) * sizeof(*entries));
		if (!entries)
			abort();
		entries[entry_count++] = xstrdup(entry);
		path = map_entry(entry, data_dir, t, w.distribution, &script, err);
		if (!path)
			goto out;
		if (stage_entry(&a, out, staging, path, script || (archive_entry_perm(e) & 0111) ? 0755 : 0644,
				script ? t->interpreter : NULL, err)) {
			free(path);
			goto out;
		}
		free(path);
	}
	if (r < 0) {
		err->code = ERROR_INVALID;
		goto out;
	}
	if (!record) {
		error_set(err, ERROR_INVALID, "%s has no %s/RECORD: not a wheel", filename, dist_info);
		goto out;
	}
	if (verify_record(record, record_size, out, t->site_packages, dist_info, err) ||
	    check_listed(record, record_size, (const char *const *)entries, entry_count, filename, dist_info, err))
		goto out;
	{
		char *ep_path = xasprintf("%s/%s/%s/entry_points.txt", staging, t->site_packages, dist_info);
		size_t ep_size;
		struct error ignored = {0};
		if (fs_read_file(ep_path, 1 << 20, &entry_points, &ep_size, &ignored) == 0 &&
		    write_console_scripts(out, staging, t, entry_points, err)) {
			free(ep_path);
			goto out;
		}
		free(ep_path);
	}
	{
		/* INSTALLER, then a RECORD of what is really on disk, sorted. */
		char *installer = xasprintf("%s/%s/INSTALLER", t->site_packages, dist_info);
		char *record_file = xasprintf("%s/%s/RECORD", t->site_packages, dist_info);
		char **lines;
		size_t total = 0;
		char *text;
		if (stage_bytes(out, staging, installer, "factory\n", 8, 0644, err)) {
			free(installer);
			free(record_file);
			goto out;
		}
		lines = calloc(out->count + 2, sizeof(*lines));
		if (!lines)
			abort();
		for (size_t i = 0; i < out->count; i++) {
			char b64[64], *rel = record_path(out->files[i].path, t->site_packages), *field = csv_field(rel);
			struct stat st;
			stat(out->files[i].source, &st);
			urlsafe_b64(out->files[i].sha256, b64);
			lines[i] = xasprintf("%s,sha256=%s,%lld\n", field, b64, (long long)st.st_size);
			total += strlen(lines[i]);
			free(field);
			free(rel);
		}
		lines[out->count] = xasprintf("%s/RECORD,,\n", dist_info);
		total += strlen(lines[out->count]);
		qsort(lines, out->count + 1, sizeof(*lines), compare_lines);
		text = calloc(total + 1, 1);
		if (!text)
			abort();
		for (size_t i = 0; i <= out->count; i++) {
			strcat(text, lines[i]);
			free(lines[i]);
		}
		free(lines);
		rc = stage_bytes(out, staging, record_file, text, strlen(text), 0644, err);
		free(text);
		free(installer);
		free(record_file);
	}
out:
	unarchive_close(&a);
	for (size_t i = 0; i < entry_count; i++)
		free(entries[i]);
	free(entries);
	free(record);
	free(entry_points);
	if (rc)
		wheel_install_clear(out);
	return rc;
}

void wheel_install_clear(struct wheel_install *in)
{
	for (size_t i = 0; i < in->count; i++) {
		free(in->files[i].path);
		free(in->files[i].source);
	}
	free(in->files);
	memset(in, 0, sizeof(*in));
}
