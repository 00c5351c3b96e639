#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "util.h"

static const char *kind_of(mode_t mode)
{
	return S_ISFIFO(mode) ? "a FIFO" : S_ISDIR(mode) ? "a directory" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
		: S_ISLNK(mode) ? "a symbolic link" : S_ISSOCK(mode) ? "a socket" : "a special file";
}

int fs_open_regular(const char *path, struct error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags;

	if (fd < 0)
		return error_set_errno(err, "cannot open %s", path);
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "cannot stat %s", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, ERROR_INVALID, "%s is not a regular file (%s)", path, kind_of(st.st_mode));
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

/* Without openat2: one component at a time, never through a symbolic link. */
static int walk_no_links(int dirfd, const char *rel, struct error *err)
{
	char *copy = xstrdup(rel), *save = NULL;
	int fd = dup(dirfd);

	for (char *part = strtok_r(copy, "/", &save); part && fd >= 0; part = strtok_r(NULL, "/", &save)) {
		int next;
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			close(fd);
			fd = -1;
			errno = EXDEV;
			break;
		}
		next = openat(fd, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
				close(fd);
				fd = -1;
				errno = ELOOP;
			}
		}
	}
	free(copy);
	if (fd < 0)
		error_set_errno(err, "cannot resolve %s", rel);
	return fd;
}

int fs_check_beneath(const char *dir, const char *rel, bool want_dir, struct error *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;
	struct stat st;
	int rc = -1;

	if (dirfd < 0)
		return error_set_errno(err, "cannot open %s", dir);
	fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == EXDEV) {
		error_set(err, ERROR_INVALID, "'%s' leads outside %s (through a symbolic link or '..')", rel, dir);
		goto out;
	}
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = walk_no_links(dirfd, rel, err);
	else if (fd < 0)
		error_set_errno(err, "cannot open '%s'", rel);
	if (fd < 0) {
		if (errno == ELOOP || errno == EXDEV)
			error_set(err, ERROR_INVALID, "'%s' leads outside %s or through a symbolic link", rel, dir);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "cannot stat '%s'", rel);
	} else if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		error_set(err, ERROR_INVALID, "'%s' is %s, not %s", rel, kind_of(st.st_mode),
			  want_dir ? "a directory" : "a regular file");
	} else {
		rc = 0;
	}
	close(fd);
out:
	close(dirfd);
	return rc;
}

int fs_read_file(const char *path, size_t max_size, char **data, size_t *size, struct error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	*data = NULL;
	*size = 0;
	fd = fs_open_regular(path, err);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "cannot stat %s", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > max_size) {
		error_set(err, ERROR_LIMIT, "%s is larger than %zu bytes", path, max_size);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		abort();
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "cannot read %s", path);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*data = buf;
	*size = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static int write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int fs_fsync_dir(const char *dir, struct error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error_set_errno(err, "cannot open directory %s", dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		close(fd);
		return error_set_errno(err, "cannot sync directory %s", dir);
	}
	close(fd);
	return 0;
}

bool fs_file_holds(const char *path, const void *data, size_t size)
{
	struct error ignored = {0};
	struct stat st;
	char *old = NULL;
	size_t old_size = 0;
	bool same = lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == size &&
		    fs_read_file(path, size + 1, &old, &old_size, &ignored) == 0 && old_size == size &&
		    memcmp(old, data, size) == 0;

	free(old);
	return same;
}

int fs_update_file(const char *path, const void *data, size_t size, unsigned mode, struct error *err)
{
	struct stat st;

	if (lstat(path, &st) == 0 && (st.st_mode & 07777) == mode && fs_file_holds(path, data, size))
		return 0;
	return fs_write_file_atomic(path, data, size, mode, err);
}

/* The mode is set explicitly: output never depends on the caller's umask (and mkostemp
 * creates 0600 whatever it is). */
static int fill_fd(int fd, const void *data, size_t size, unsigned mode)
{
	return fchmod(fd, mode) < 0 || write_all(fd, data, size) < 0 || fsync(fd) < 0 ? -1 : 0;
}

int fs_write_new_file(const char *path, const void *data, size_t size, unsigned mode, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc;

	if (fd < 0)
		return error_set_errno(err, "cannot create %s", path);
	rc = fill_fd(fd, data, size, mode);
	if (rc < 0)
		error_set_errno(err, "cannot write %s", path);
	if (close(fd) < 0 && rc == 0)
		rc = error_set_errno(err, "cannot write %s", path);
	if (rc < 0)
		unlink(path);
	return rc;
}

int fs_copy_file(const char *from, const char *to, struct error *err)
{
	char buf[1 << 16];
	int in = fs_open_regular(from, err), out, rc = 0;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return error_set_errno(err, "cannot create %s", to);
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = error_set_errno(err, "cannot read %s", from);
			break;
		}
		if (write_all(out, buf, (size_t)n) < 0) {
			rc = error_set_errno(err, "cannot write %s", to);
			break;
		}
	}
	if (rc == 0 && (fchmod(out, 0644) < 0 || fsync(out) < 0))
		rc = error_set_errno(err, "cannot write %s", to);
	close(in);
	close(out);
	if (rc)
		unlink(to);
	return rc;
}

int fs_write_file_atomic(const char *path, const void *data, size_t size, unsigned mode,
			 struct error *err)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + sizeof(".tmp.XXXXXX"));
	char *dir = NULL;
	int fd, rc = -1;

	if (!tmp)
		abort();
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error_set_errno(err, "cannot create a temporary file beside %s", path);
		free(tmp);
		return -1;
	}
	if (fill_fd(fd, data, size, mode) < 0) {
		error_set_errno(err, "cannot write %s", tmp);
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		error_set_errno(err, "cannot write %s", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		error_set_errno(err, "cannot rename %s to %s", tmp, path);
		goto out;
	}
	dir = fs_dirname(path);
	rc = fs_fsync_dir(dir, err);
out:
	if (rc)
		unlink(tmp);
	free(dir);
	free(tmp);
	return rc;
}

int fs_mkdir_p(const char *path, struct error *err)
{
	char *copy = strdup(path);
	int rc = 0;

	if (!copy)
		abort();
	for (char *p = copy + 1; ; p++) {
		char saved = *p;
		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) == 0) {
			/* Directories we create get 0755 whatever the umask: output must not vary. */
			if (chmod(copy, 0755) < 0) {
				rc = error_set_errno(err, "cannot chmod %s", copy);
				break;
			}
		} else if (errno != EEXIST) {
			rc = error_set_errno(err, "cannot create directory %s", copy);
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int fs_remove_tree(const char *path, struct error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : error_set_errno(err, "cannot stat %s", path);
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return error_set_errno(err, "cannot remove %s", path);
	return 0;
}

int fs_make_temp_dir(const char *prefix, char **path, struct error *err)
{
	size_t len = strlen(prefix);
	char *tmpl = malloc(len + 7);

	if (!tmpl)
		abort();
	memcpy(tmpl, prefix, len);
	memcpy(tmpl + len, "XXXXXX", 7);
	if (!mkdtemp(tmpl)) {
		error_set_errno(err, "cannot create a temporary directory %s", tmpl);
		free(tmpl);
		return -1;
	}
	/* mkdtemp makes 0700; bundles are meant to be read by others (CI, git). */
	if (chmod(tmpl, 0755) < 0) {
		error_set_errno(err, "cannot chmod %s", tmpl);
		rmdir(tmpl);
		free(tmpl);
		return -1;
	}
	*path = tmpl;
	return 0;
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int fs_replace_dir(const char *staged, const char *target, struct error *err)
{
	struct stat st;
	char *parent;
	int rc;

	if (lstat(target, &st) < 0) {
		if (errno != ENOENT)
			return error_set_errno(err, "cannot stat %s", target);
		if (rename(staged, target) < 0)
			return error_set_errno(err, "cannot rename %s to %s", staged, target);
	} else {
		/* Swap in one step so readers see either the old or the new directory, never a mix
		 * and never none; `staged` then holds the old content, which we delete. */
		if (syscall(SYS_renameat2, AT_FDCWD, staged, AT_FDCWD, target, RENAME_EXCHANGE) < 0)
			return error_set_errno(err, "cannot replace %s", target);
		if (fs_remove_tree(staged, err))
			return -1;
	}
	parent = fs_dirname(target);
	rc = fs_fsync_dir(parent, err);
	free(parent);
	return rc;
}

char *fs_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb;
	char *out;

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	lb = strlen(b);
	out = malloc(la + lb + 2);
	if (!out)
		abort();
	memcpy(out, a, la);
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
	return out;
}

char *fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *out;

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	out = strndup(path, (size_t)(slash - path));
	if (!out)
		abort();
	return out;
}

const char *fs_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

void fs_sweep_stale(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	size_t n = strlen(prefix);
	struct dirent *de;
	time_t now = time(NULL);

	while (d && (de = readdir(d))) {
		struct stat st;
		char *path;
		int fd;
		if (strncmp(de->d_name, prefix, n) != 0 || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = fs_path_join(dir, de->d_name);
		/* O_NOFOLLOW: a symbolic link is never a writer's, and never followed out of dir. */
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
		    now - st.st_mtime > 60 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			struct error ignored = {0};
			fs_remove_tree(path, &ignored);
		}
		if (fd >= 0)
			close(fd);
		free(path);
	}
	if (d)
		closedir(d);
}

int fs_write_dir_atomic(const char *target, int (*fill)(const char *staged, void *ctx, struct error *err), void *ctx,
			struct error *err)
{
	char *parent = fs_dirname(target), *prefix, *staged = NULL;
	sigset_t block, saved;
	size_t len;
	int rc = -1;

	if (fs_mkdir_p(parent, err)) {
		free(parent);
		return -1;
	}
	len = strlen(parent) + strlen(fs_basename(target)) + 4;
	prefix = malloc(len);
	if (!prefix)
		abort();
	snprintf(prefix, len, "%s/.%s.", parent, fs_basename(target));
	fs_sweep_stale(parent, prefix + strlen(parent) + 1);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if (fs_make_temp_dir(prefix, &staged, err) == 0) {
		/* Held while filling: the sweep of a later run leaves a live writer's directory. */
		int lock_fd = open(staged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock_fd >= 0)
			flock(lock_fd, LOCK_EX);
		rc = fill(staged, ctx, err);
		if (rc == 0)
			rc = fs_replace_dir(staged, target, err);
		if (rc) {
			struct error ignored = {0};
			fs_remove_tree(staged, &ignored);
		}
		if (lock_fd >= 0)
			close(lock_fd);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	free(staged);
	free(prefix);
	free(parent);
	return rc;
}
