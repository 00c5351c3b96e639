#include "wheel.h"

#include <archive.h>
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
#include "util.h"

#define RECORD_MAX (8 * 1024 * 1024)

int python_target_init(struct python_target *t, const char *interpreter, const char *platform, struct error *err)
{
	const char *name = fs_basename(interpreter);
	bool local = strncmp(interpreter, "usr/local/", 10) == 0;

	memset(t, 0, sizeof(*t));
	if (sscanf(name, "python%d.%d", &t->major, &t->minor) != 2 || t->major != 3)
		return error_set(err, ERROR_INVALID, "'%s' is not a Python 3 interpreter", interpreter);
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
	snprintf(w->python_tags, sizeof(w->python_tags), "%s", parts[n - 3]);
	snprintf(w->abi_tags, sizeof(w->abi_tags), "%s", parts[n - 2]);
	snprintf(w->platform_tags, sizeof(w->platform_tags), "%s", parts[n - 1]);
	return 0;
}

/* True when one of the dot-separated tags satisfies `accept`. */
static bool any_tag(const char *tags, bool (*accept)(const char *tag, const struct python_target *t),
		    const struct python_target *t)
{
	char copy[160];

	snprintf(copy, sizeof(copy), "%s", tags);
	for (char *save = NULL, *tag = strtok_r(copy, ".", &save); tag; tag = strtok_r(NULL, ".", &save))
		if (accept(tag, t))
			return true;
	return false;
}

static bool python_ok(const char *tag, const struct python_target *t)
{
	int minor;

	if (strcmp(tag, "py3") == 0)
		return true;
	if (sscanf(tag, "py3%d", &minor) == 1 || sscanf(tag, "cp3%d", &minor) == 1)
		return tag[0] == 'p' ? minor <= t->minor : minor == t->minor;
	return false;
}

static bool abi_ok(const char *tag, const struct python_target *t)
{
	char cp[16];

	snprintf(cp, sizeof(cp), "cp%d%d", t->major, t->minor);
	return strcmp(tag, "none") == 0 || strcmp(tag, "abi3") == 0 || strcmp(tag, cp) == 0;
}

static bool platform_ok(const char *tag, const struct python_target *t)
{
	size_t tl = strlen(tag), al = strlen(t->arch);

	if (strcmp(tag, "any") == 0)
		return true;
	/* manylinux1/2010/2014/_2_N and linux builds for the image's architecture (glibc images). */
	return (strncmp(tag, "manylinux", 9) == 0 || strncmp(tag, "linux_", 6) == 0) && tl > al &&
	       strcmp(tag + tl - al, t->arch) == 0 && tag[tl - al - 1] == '_';
}

int wheel_check_compatible(const struct wheel_name *w, const struct python_target *t, struct error *err)
{
	if (!any_tag(w->python_tags, python_ok, t))
		return error_set(err, ERROR_INVALID, "%s-%s is built for Python '%s', the base image has Python %d.%d",
				 w->distribution, w->version, w->python_tags, t->major, t->minor);
	if (!any_tag(w->abi_tags, abi_ok, t))
		return error_set(err, ERROR_INVALID, "%s-%s needs the ABI '%s', not Python %d.%d's", w->distribution,
				 w->version, w->abi_tags, t->major, t->minor);
	if (!any_tag(w->platform_tags, platform_ok, t))
		return error_set(err, ERROR_INVALID, "%s-%s is built for '%s', not linux %s", w->distribution, w->version,
				 w->platform_tags, t->arch);
	return 0;
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
static int stage_entry(struct archive *a, struct wheel_install *in, const char *staging, const char *path, unsigned mode,
		       const char *interpreter, struct error *err)
{
	char *full = fs_path_join(staging, path), *dir = fs_dirname(full);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const void *buf;
	size_t len;
	la_int64_t offset;
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
	while ((r = archive_read_data_block(a, &buf, &len, &offset)) == ARCHIVE_OK) {
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
	if (r != ARCHIVE_EOF) {
		error_set(err, ERROR_INVALID, "cannot read %s from the wheel: %s", path, archive_error_string(a));
		goto out;
	}
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

/* Checks the files against the wheel's own RECORD, as installers do. */
static int verify_record(const char *record, size_t size, const struct wheel_install *in, const char *site,
			 const char *dist_info, struct error *err)
{
	char *copy = malloc(size + 1), *save = NULL;
	int rc = 0;

	if (!copy)
		abort();
	memcpy(copy, record, size);
	copy[size] = '\0';
	for (char *line = strtok_r(copy, "\r\n", &save); line && rc == 0; line = strtok_r(NULL, "\r\n", &save)) {
		char *c2 = strrchr(line, ','), *c1;
		if (!c2)
			continue;
		*c2 = '\0';
		c1 = strrchr(line, ',');
		if (!c1 || strncmp(c1 + 1, "sha256=", 7) != 0)
			continue; /* RECORD itself, or an entry without a hash */
		*c1 = '\0';
		/* Entries under .data/ were moved (and scripts rewritten): only the others can be
		 * compared byte for byte. */
		char *path = fs_path_join(site, line), *b64 = c1 + 8;
		for (size_t i = 0; i < in->count; i++) {
			char want[64];
			if (strcmp(in->files[i].path, path) != 0)
				continue;
			urlsafe_b64(in->files[i].sha256, want);
			if (strcmp(want, b64) != 0)
				rc = error_set(err, ERROR_INVALID, "%s does not match the hash in %s/RECORD: damaged wheel", line,
					       dist_info);
		}
		free(path);
	}
	free(copy);
	return rc;
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
	struct archive *a = NULL;
	struct archive_entry *e;
	char data_dir[256], dist_info[256], *record = NULL, *entry_points = NULL;
	size_t record_size = 0;
	int rc = -1, r;

	memset(out, 0, sizeof(*out));
	if (wheel_parse_filename(filename, &w, err) || wheel_check_compatible(&w, t, err))
		return -1;
	snprintf(data_dir, sizeof(data_dir), "%s-%s.data", w.distribution, w.version);
	snprintf(dist_info, sizeof(dist_info), "%s-%s.dist-info", w.distribution, w.version);
	a = archive_read_new();
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, wheel, 1 << 16) != ARCHIVE_OK) {
		error_set(err, ERROR_INVALID, "%s is not a zip archive: %s", filename, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *entry = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);
		bool script;
		char *path;

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
			la_int64_t offset;
			while (archive_read_data_block(a, &buf, &len, &offset) == ARCHIVE_OK) {
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
		path = map_entry(entry, data_dir, t, w.distribution, &script, err);
		if (!path)
			goto out;
		if (stage_entry(a, out, staging, path, script || (archive_entry_perm(e) & 0111) ? 0755 : 0644,
				script ? t->interpreter : NULL, err)) {
			free(path);
			goto out;
		}
		free(path);
	}
	if (r != ARCHIVE_EOF) {
		error_set(err, ERROR_INVALID, "%s: cannot read the archive: %s", filename, archive_error_string(a));
		goto out;
	}
	if (!record) {
		error_set(err, ERROR_INVALID, "%s has no %s/RECORD: not a wheel", filename, dist_info);
		goto out;
	}
	if (verify_record(record, record_size, out, t->site_packages, dist_info, err))
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
			char b64[64], *rel = record_path(out->files[i].path, t->site_packages);
			struct stat st;
			stat(out->files[i].source, &st);
			urlsafe_b64(out->files[i].sha256, b64);
			lines[i] = xasprintf("%s,sha256=%s,%lld\n", rel, b64, (long long)st.st_size);
			total += strlen(lines[i]);
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
	if (a)
		archive_read_free(a);
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
