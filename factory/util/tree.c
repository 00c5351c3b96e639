#include "tree.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

struct tree_file {
	char *path;
	char *data; /* bytes, or NULL for a link */
	size_t size;
	char *source; /* a link's source */
	bool same;    /* the target already holds it */
};

struct tree {
	struct tree_file *files;
	size_t count, cap;
};

struct tree *tree_new(void)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	return t;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++) {
		free(t->files[i].path);
		free(t->files[i].data);
		free(t->files[i].source);
	}
	free(t->files);
	free(t);
}

static struct tree_file *add(struct tree *t, const char *path)
{
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->files[i].path, path) == 0)
			return NULL;
	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->files = realloc(t->files, t->cap * sizeof(*t->files));
		if (!t->files)
			abort();
	}
	memset(&t->files[t->count], 0, sizeof(t->files[t->count]));
	t->files[t->count].path = xstrdup(path);
	return &t->files[t->count++];
}

void tree_add_owned(struct tree *t, const char *path, char *data, size_t size)
{
	struct tree_file *f = add(t, path);

	if (!f) {
		free(data);
		return;
	}
	/* never NULL, even when empty: NULL marks a link */
	f->data = data ? data : xstrdup("");
	f->size = size;
}

void tree_add_bytes(struct tree *t, const char *path, const void *data, size_t size)
{
	char *copy = malloc(size + 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	tree_add_owned(t, path, copy, size);
}

void tree_add_link(struct tree *t, const char *path, const char *source)
{
	struct tree_file *f = add(t, path);

	if (f)
		f->source = xstrdup(source);
}

void tree_each_link(const struct tree *t, void (*fn)(void *ctx, const char *path, const char *source), void *ctx)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->files[i].source)
			fn(ctx, t->files[i].path, t->files[i].source);
}

void tree_each_bytes(const struct tree *t, void (*fn)(void *ctx, const char *path, const void *data, size_t size),
		     void *ctx)
{
	for (size_t i = 0; i < t->count; i++)
		if (!t->files[i].source)
			fn(ctx, t->files[i].path, t->files[i].data, t->files[i].size);
}

static bool holds(const char *target, struct tree_file *f)
{
	char *path = fs_path_join(target, f->path);
	struct stat st, src;

	/* A linked file is the same when it is the source's inode; a copy on another filesystem
	 * (no link possible) when it has the source's size, its name fixing its content. */
	f->same = lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		  (f->data ? fs_file_holds(path, f->data, f->size)
			   : stat(f->source, &src) == 0 &&
				     (st.st_dev == src.st_dev ? st.st_ino == src.st_ino : st.st_size == src.st_size));
	free(path);
	return f->same;
}

/* Files (anything not a directory) under `dir`, or -1 when it cannot be read. */
static long count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while (n >= 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *sub = fs_path_join(dir, e->d_name);
		struct stat st;
		/* d_type may be DT_UNKNOWN on some filesystems: ask lstat then */
		bool is_dir = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode));
		if (is_dir) {
			long k = count_files(sub);
			n = k < 0 ? -1 : n + k;
		} else {
			n++;
		}
		free(sub);
	}
	closedir(d);
	return n;
}

struct fill {
	struct tree *tree;
	const char *target;
};

/* Every directory of the staging tree, each once: a file is durable once its directory
 * entry is, up to the staging directory itself. */
static int sync_dirs(const char *staged, const struct tree *t, struct error *err)
{
	char **dirs = calloc(t->count + 1, sizeof(*dirs));
	size_t n = 0;
	int rc = 0;

	if (!dirs)
		abort();
	dirs[n++] = xstrdup(staged);
	for (size_t i = 0; i < t->count; i++) {
		char *d = fs_dirname(t->files[i].path);
		while (strcmp(d, ".") != 0) {
			char *up = fs_dirname(d), *full = fs_path_join(staged, d);
			bool seen = false;
			for (size_t k = 0; k < n && !seen; k++)
				seen = strcmp(dirs[k], full) == 0;
			if (!seen) {
				dirs = realloc(dirs, (n + 1) * sizeof(*dirs));
				if (!dirs)
					abort();
				dirs[n++] = full;
			} else {
				free(full);
			}
			free(d);
			d = up;
		}
		free(d);
	}
	for (size_t k = 0; k < n; k++) {
		if (rc == 0)
			rc = fs_fsync_dir(dirs[k], err);
		free(dirs[k]);
	}
	free(dirs);
	return rc;
}

static int fill_staged(const char *staged, void *ctx, struct error *err)
{
	const struct fill *fl = ctx;
	char *made = NULL; /* the last directory created: files come sorted, siblings share it */
	int rc = 0;

	for (size_t i = 0; i < fl->tree->count && rc == 0; i++) {
		struct tree_file *f = &fl->tree->files[i];
		char *path = fs_path_join(staged, f->path), *dir = fs_dirname(path);

		if (!made || strcmp(made, dir) != 0) {
			rc = fs_mkdir_p(dir, err);
			free(made);
			made = xstrdup(dir);
		}
		if (rc == 0) {
			char *old = f->same ? fs_path_join(fl->target, f->path) : NULL;
			const char *from = old ? old : f->source;
			/* A link where one can be made shares bytes already written; else write them. */
			if (!from || link(from, path) < 0)
				rc = f->data ? fs_write_new_file(path, f->data, f->size, 0644, err) : fs_copy_file(f->source, path, err);
			free(old);
		}
		free(dir);
		free(path);
	}
	free(made);
	return rc ? rc : sync_dirs(staged, fl->tree, err);
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(((const struct tree_file *)a)->path, ((const struct tree_file *)b)->path);
}

int tree_write(struct tree *t, const char *target, bool *changed, struct error *err)
{
	struct fill fl = {t, target};
	bool all_same = true;

	if (changed)
		*changed = false;
	qsort(t->files, t->count, sizeof(*t->files), compare_paths);
	for (size_t i = 0; i < t->count; i++)
		all_same = holds(target, &t->files[i]) && all_same;
	if (all_same && count_files(target) == (long)t->count)
		return 0;
	if (changed)
		*changed = true;
	return fs_write_dir_atomic(target, fill_staged, &fl, err);
}
