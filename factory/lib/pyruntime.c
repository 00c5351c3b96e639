#include "pyruntime.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download.h"
#include "fsutil.h"
#include "unarchive.h"
#include "util.h"

#define INFO_VERSION "factory-pyruntime-1" /* bump when what is read from the tarball changes */
#define PATCHLEVEL_MAX (256 * 1024)

/* "python/lib/python3.11/x" -> the part after "python/", or NULL when outside the runtime. */
static const char *inside(const char *entry)
{
	while (strncmp(entry, "./", 2) == 0)
		entry += 2;
	if (strncmp(entry, "python/", 7) == 0)
		return entry + 7;
	return strcmp(entry, "python") == 0 ? "" : NULL;
}

static bool safe_relative(const char *rel)
{
	if (rel[0] == '/')
		return false;
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if ((n == 2 && strncmp(p, "..", 2) == 0))
			return false;
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

/* Where a symlink at `rel` pointing at `target` lands, lexically; false when it leaves the
 * runtime's directory (absolute targets included). */
static bool link_stays_inside(const char *rel, const char *target)
{
	int depth = 0;

	if (target[0] == '/')
		return false;
	for (const char *p = rel; (p = strchr(p, '/')); p++)
		depth++; /* directories above the link */
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && strncmp(p, "..", 2) == 0)
			depth--;
		else if (n > 0 && !(n == 1 && *p == '.'))
			depth++;
		if (depth < 0)
			return false;
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

static void parse_patchlevel(const char *text, char *version, size_t size)
{
	const char *p = strstr(text, "#define PY_VERSION");
	const char *q;

	if (!p || !(p = strchr(p, '"')) || !(q = strchr(p + 1, '"')) || q - p - 1 <= 0 || (size_t)(q - p) >= size)
		return;
	snprintf(version, size, "%.*s", (int)(q - p - 1), p + 1);
}

static char *info_path(struct cache *cache, const char *sha256)
{
	return xasprintf("%s/index/%s-%s", cache->dir, INFO_VERSION, sha256);
}

/* Reads the Python version from the tarball: lib/python3.X/ names it, patchlevel.h (when the
 * runtime ships its headers) gives the full release. */
static int read_info(struct pyruntime *rt, struct cache *cache, const char *what, struct error *err)
{
	char *blob = cache_blob_path(cache, rt->sha256);
	struct unarchive u = {0};
	struct archive_entry *e;
	int r, rc = -1;

	if (unarchive_open(&u, blob, UNARCHIVE_TAR, what, err))
		goto out;
	while ((r = unarchive_next(&u, &e, err)) == 1) {
		const char *rel = inside(unarchive_path(&u, e));
		int major, minor, used = 0;
		if (!rel)
			continue;
		if (sscanf(rel, "lib/python%d.%d%n", &major, &minor, &used) == 2 && (rel[used] == '/' || !rel[used]) &&
		    major == 3) {
			rt->major = major;
			rt->minor = minor;
		}
		if (strncmp(rel, "include/python", 14) == 0 && strcmp(fs_basename(rel), "patchlevel.h") == 0 &&
		    archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) < PATCHLEVEL_MAX) {
			char *text = calloc(1, PATCHLEVEL_MAX + 1);
			size_t used_bytes = 0, len;
			const void *buf;
			long long offset;
			if (!text)
				abort();
			while ((r = unarchive_data(&u, &buf, &len, &offset, err)) == 1 && used_bytes + len <= PATCHLEVEL_MAX) {
				memcpy(text + used_bytes, buf, len);
				used_bytes += len;
			}
			parse_patchlevel(text, rt->version, sizeof(rt->version));
			free(text);
			if (r < 0)
				goto out;
		}
	}
	if (r < 0)
		goto out;
	if (rt->major != 3) {
		error_set(err, ERROR_INVALID, "%s is not a CPython \"install_only\" tarball: it has no python/lib/python3.X/",
			  what);
		goto out;
	}
	rc = 0;
out:
	unarchive_close(&u);
	free(blob);
	return rc;
}

int pyruntime_fetch(const struct recipe_python_runtime *spec, const char *recipe_dir,
		    const struct download_options *download, struct cache *cache, struct pyruntime *out,
		    struct error *err)
{
	const char *pin = spec->sha256;
	const char *what = spec->url ? spec->url : spec->file;
	char *path = info_path(cache, spec->sha256), *text = NULL, *dir;
	size_t size;
	struct error ignored = {0};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->path = spec->path;
	snprintf(out->sha256, sizeof(out->sha256), "%s", spec->sha256);
	if (fs_read_file(path, 4096, &text, &size, &ignored) == 0 &&
	    sscanf(text, "%d %d %23s", &out->major, &out->minor, out->version) == 3 && cache_verify(cache, pin, NULL)) {
		rc = 0;
		goto done;
	}
	if (!cache_verify(cache, pin, NULL)) {
		char stored[65];
		char *file = spec->file ? fs_path_join(recipe_dir, spec->file) : NULL;
		rc = file ? download_import_file(file, cache, &pin, 1, stored, err)
			  : download_to_cache(download, spec->url, cache, &pin, 1, stored, err);
		free(file);
		if (rc)
			goto out;
	}
	if (read_info(out, cache, what, err))
		goto out;
	if (!out->version[0])
		snprintf(out->version, sizeof(out->version), "%d.%d", out->major, out->minor);
	free(text);
	text = xasprintf("%d %d %s\n", out->major, out->minor, out->version);
	dir = fs_dirname(path);
	rc = fs_mkdir_p(dir, err) || fs_write_file_atomic(path, text, strlen(text), 0644, err) ? -1 : 0;
	free(dir);
done:
	if (rc == 0)
		snprintf(out->interpreter, sizeof(out->interpreter), "%s/bin/python%d.%d", out->path + 1, out->major,
			 out->minor);
out:
	free(text);
	free(path);
	return rc;
}

void pyruntime_target(const struct pyruntime *rt, const char *platform, struct python_target *t)
{
	const char *arch = strchr(platform ? platform : "", '/');

	memset(t, 0, sizeof(*t));
	t->major = rt->major;
	t->minor = rt->minor;
	snprintf(t->version, sizeof(t->version), "%s", rt->version);
	snprintf(t->implementation, sizeof(t->implementation), "cp");
	snprintf(t->abi, sizeof(t->abi), "cp%d%d", rt->major, rt->minor);
	snprintf(t->platform, sizeof(t->platform), "%s", platform ? platform : "linux/amd64");
	snprintf(t->interpreter, sizeof(t->interpreter), "/%.*s", (int)sizeof(t->interpreter) - 2, rt->interpreter);
	snprintf(t->site_packages, sizeof(t->site_packages), "%s/lib/python%d.%d/site-packages", rt->path + 1, rt->major,
		 rt->minor);
	snprintf(t->bin_dir, sizeof(t->bin_dir), "%s/bin", rt->path + 1);
	arch = arch ? arch + 1 : "amd64";
	snprintf(t->arch, sizeof(t->arch), "%s",
		 strncmp(arch, "arm64", 5) == 0 ? "aarch64" : strncmp(arch, "amd64", 5) == 0 ? "x86_64" : arch);
}

static void add_entry(struct pyruntime_files *f, char *path, char *source, unsigned mode, char type)
{
	f->entries = realloc(f->entries, (f->count + 1) * sizeof(*f->entries));
	if (!f->entries)
		abort();
	f->entries[f->count++] = (struct pyruntime_entry){path, source, mode, type};
}

static const struct pyruntime_entry *find_entry(const struct pyruntime_files *f, const char *path)
{
	for (size_t i = f->count; i-- > 0;)
		if (strcmp(f->entries[i].path, path) == 0)
			return &f->entries[i];
	return NULL;
}

static int extract_file(struct unarchive *u, const char *dest, struct error *err)
{
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), r;
	const void *buf;
	size_t len;
	long long offset, written = 0;

	if (fd < 0)
		return error_set_errno(err, "cannot create %s", dest);
	while ((r = unarchive_data(u, &buf, &len, &offset, err)) == 1) {
		/* Sparse entries come as blocks with gaps: write each at its offset. */
		if (offset != written && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
			r = error_set_errno(err, "cannot write %s", dest);
			break;
		}
		for (size_t done = 0; done < len;) {
			ssize_t n = write(fd, (const char *)buf + done, len - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = error_set_errno(err, "cannot write %s", dest);
				goto out;
			}
			done += (size_t)n;
		}
		written = offset + (long long)len;
	}
out:
	if (close(fd) < 0 && r == 0)
		r = error_set_errno(err, "cannot write %s", dest);
	return r < 0 ? -1 : 0;
}

int pyruntime_unpack(const struct pyruntime *rt, struct cache *cache, const char *staging,
		     struct pyruntime_files *out, struct error *err)
{
	char *blob = cache_blob_path(cache, rt->sha256);
	struct unarchive u = {0};
	struct archive_entry *e;
	size_t files = 0;
	int r, rc = -1;

	memset(out, 0, sizeof(*out));
	if (unarchive_open(&u, blob, UNARCHIVE_TAR, "the Python runtime", err))
		goto out;
	while ((r = unarchive_next(&u, &e, err)) == 1) {
		const char *name = unarchive_path(&u, e), *rel = inside(name), *hardlink = unarchive_hardlink(&u, e);
		mode_t type = archive_entry_filetype(e);
		unsigned perm = (unsigned)archive_entry_perm(e) & 0755; /* no setuid, setgid or writable-by-others */
		char *path;
		if (!rel) {
			error_set(err, ERROR_INVALID, "the Python runtime has '%s' outside python/: not an \"install_only\" "
						      "tarball", name);
			goto out;
		}
		if (!safe_relative(rel)) {
			error_set(err, ERROR_INVALID, "the Python runtime's entry '%s' would leave its directory", name);
			goto out;
		}
		path = *rel ? xasprintf("%s/%s", rt->path + 1, rel) : xstrdup(rt->path + 1);
		while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		if (hardlink) {
			const char *target_rel = inside(hardlink);
			char *target = target_rel ? xasprintf("%s/%s", rt->path + 1, target_rel) : NULL;
			const struct pyruntime_entry *t = target ? find_entry(out, target) : NULL;
			free(target);
			if (!t || t->type != 'f') {
				error_set(err, ERROR_INVALID, "the Python runtime's hard link '%s' points outside it", name);
				free(path);
				goto out;
			}
			add_entry(out, path, xstrdup(t->source), perm ? perm : t->mode, 'f');
		} else if (type == AE_IFDIR) {
			add_entry(out, path, NULL, 0755, 'd');
		} else if (type == AE_IFLNK) {
			const char *target = unarchive_symlink(&u, e);
			if (!target || !link_stays_inside(rel, target)) {
				error_set(err, ERROR_INVALID, "the Python runtime's link '%s' -> '%s' leaves the runtime", name,
					  target ? target : "");
				free(path);
				goto out;
			}
			add_entry(out, path, xstrdup(target), 0777, 'l');
		} else if (type == AE_IFREG) {
			char *dest = xasprintf("%s/%zu", staging, files++);
			if (extract_file(&u, dest, err)) {
				free(dest);
				free(path);
				goto out;
			}
			add_entry(out, path, dest, perm & 0111 ? 0755 : 0644, 'f');
		} else {
			error_set(err, ERROR_INVALID, "the Python runtime's entry '%s' is a device or FIFO", name);
			free(path);
			goto out;
		}
	}
	rc = r < 0 ? -1 : 0;
out:
	unarchive_close(&u);
	free(blob);
	if (rc)
		pyruntime_files_clear(out);
	return rc;
}

void pyruntime_files_clear(struct pyruntime_files *files)
{
	for (size_t i = 0; i < files->count; i++) {
		free(files->entries[i].path);
		free(files->entries[i].source);
	}
	free(files->entries);
	memset(files, 0, sizeof(*files));
}
