/* pyreq.h - a Python dependency set the way Python users lock it, as input for installing
 * wheels into an image.
 *
 * Two formats are read:
 *   - a requirements file in pip's hash-checking form, as `pip-compile --generate-hashes` and
 *     `uv pip compile --generate-hashes` write it: every requirement pinned with `==` (or
 *     `name @ URL` of a wheel) and carrying at least one `--hash=sha256:...`;
 *   - a PEP 751 lock file (`pylock.toml` or `pylock.<name>.toml`), whose packages list their
 *     wheels with URLs and hashes.
 * Environment markers are evaluated for the image's interpreter and platform, so a lock that
 * covers several platforms yields the set for the one being built. factory installs wheels
 * only: editables, local directories, VCS checkouts and sdist-only packages are errors.
 */
#ifndef FACTORY_PYREQ_H
#define FACTORY_PYREQ_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"

/* A wheel a lock file lists. */
struct pyreq_wheel {
	char *filename;  /* the wheel's file name: the lock's `name`, else the last segment of url/path */
	char *url;       /* NULL when the lock gives only a path */
	char *path;      /* resolved against the lock file's directory; NULL when the lock gives only a URL */
	char sha256[65]; /* lower-case hex */
	long long size;  /* bytes; -1 when the lock does not say */
};

struct pyreq {
	char *name;    /* as written */
	char *version; /* the exact pin (for `name @ URL`, the version in the wheel's file name) */
	char **sha256; /* accepted sha256 values (lower-case hex); for pylock.toml, those of its wheels */
	size_t sha256_count;
	char *url; /* a `name @ URL` requirement, else NULL */
	struct pyreq_wheel *wheels; /* pylock.toml: the wheels listed for the package */
	size_t wheel_count;
	char *index; /* pylock.toml packages.index, else NULL */
	char *file;  /* where it was declared: an included file's own path */
	int line, col;
};

struct pyreq_set {
	struct pyreq *items;
	size_t count;
};

/* The target's environment for PEP 508 markers. A NULL field makes a marker that reads it an
 * error, except python_version (derived from python_full_version) and implementation_version
 * (taken to be python_full_version, as it is for CPython). */
struct pyreq_env {
	const char *python_version;                 /* "3.11" */
	const char *python_full_version;            /* "3.11.9" */
	const char *platform_machine;               /* "x86_64" or "aarch64" */
	const char *sys_platform;                   /* "linux" */
	const char *platform_system;                /* "Linux" */
	const char *os_name;                        /* "posix" */
	const char *implementation_name;            /* "cpython" */
	const char *platform_python_implementation; /* "CPython" */
	const char *implementation_version;         /* "3.11.9" */
};

/* Bounds that keep hostile input small. */
#define PYREQ_MAX_FILE (16u * 1024 * 1024)
#define PYREQ_MAX_INCLUDE_DEPTH 16
#define PYREQ_MAX_PACKAGES 10000

/* Reads a requirements file (pip's hash-checking format) or a PEP 751 lock (file name
 * pylock.toml or pylock.<name>.toml). Every problem goes to diags with file:line:col, all in
 * one pass; returns -1 when there were errors (ERROR_INVALID), or with err for I/O on `path`
 * itself. Requirements whose marker is false for env are left out. On success `out` owns the
 * set (pyreq_set_clear); on failure it is left empty. */
int pyreq_load(const char *path, const struct pyreq_env *env, struct pyreq_set *out, struct diag_list *diags,
	       struct error *err);
void pyreq_set_clear(struct pyreq_set *set);

/* Evaluates a PEP 508 environment marker ("python_version >= '3.9' and platform_machine ==
 * 'x86_64'") for env. Returns -1 with err when the marker cannot be parsed or evaluated. */
int pyreq_marker_eval(const char *marker, const struct pyreq_env *env, bool *result, struct error *err);

#endif
