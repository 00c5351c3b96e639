/* tree.h - a directory described in memory, written only where it differs from what is there.
 *
 * The caller lists every file the directory must hold: bytes, or a file to hard-link whose
 * name fixes its content (a blob named by its digest). tree_write compares the list with
 * the directory (the bytes of the small files, the inode or size of the linked ones, and no
 * file more); when they match, nothing at all is written. Otherwise a staging directory gets
 * the files, unchanged ones hard-linked from the old directory so that only what changed is
 * written and fsynced, and is swapped in with one rename (fs_write_dir_atomic): a reader sees
 * the old directory or the new one, never a mix.
 */
#ifndef FACTORY_TREE_H
#define FACTORY_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct tree;

struct tree *tree_new(void);
void tree_free(struct tree *tree);

/* `path` is relative, '/'-separated; files are 0644, directories 0755. A path added twice
 * keeps its first content. */
void tree_add_bytes(struct tree *tree, const char *path, const void *data, size_t size);
/* The same, taking ownership of malloc'd `data`. */
void tree_add_owned(struct tree *tree, const char *path, char *data, size_t size);
/* A hard link to `source` (a copy across filesystems); its content is final. */
void tree_add_link(struct tree *tree, const char *path, const char *source);

/* Makes `target` hold exactly the listed files; `*changed` (may be NULL) tells whether
 * anything was written. */
int tree_write(struct tree *tree, const char *target, bool *changed, struct error *err);

/* Calls `fn` with the source of every linked file (e.g. to refresh what a cache knows about
 * a blob whose link count tree_write changed). */
void tree_each_link(const struct tree *tree, void (*fn)(void *ctx, const char *path, const char *source), void *ctx);

/* Calls `fn` with every file given as bytes, in the order they were added. */
void tree_each_bytes(const struct tree *tree, void (*fn)(void *ctx, const char *path, const void *data, size_t size),
		     void *ctx);

#endif
