/* wheel.h - installing Python wheels into an image layer, as an installer would.
 *
 * Files land in the site-packages of the base image's Python; `<dist>.data/` directories
 * are mapped (purelib/platlib to site-packages, scripts to bin with their `#!python`
 * shebang rewritten, headers and data under /usr/local); console scripts from
 * entry_points.txt are generated; the .dist-info gets INSTALLER and a RECORD that lists
 * what was installed. Entries that would leave their directory, links and device files are
 * refused: a wheel is untrusted input.
 */
#ifndef FACTORY_WHEEL_H
#define FACTORY_WHEEL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Where wheels go in the image, derived from the base's interpreter, and what they must be
 * built for. */
struct python_target {
	int major, minor;
	char version[24];        /* "3.11.2", for requires-python; "3.11" when only the path is known */
	char implementation[8];  /* "cp": only CPython is supported */
	char abi[16];            /* "cp311" */
	char interpreter[64];    /* "/usr/bin/python3.11" */
	char site_packages[96];  /* "usr/local/lib/python3.11/dist-packages" (no leading '/') */
	char bin_dir[32];        /* "usr/local/bin" */
	char platform[32];       /* "linux/amd64", for messages */
	char arch[16];           /* "x86_64", "aarch64" */
	/* The base's C library. glibc 0,0 means unknown: manylinux wheels up to manylinux2014
	 * (glibc 2.17) are taken then, the baseline of every glibc distribution still in use.
	 * musl with 0,0 likewise takes musllinux_1_1 and older. */
	int glibc_major, glibc_minor;
	bool musl;
	int musl_major, musl_minor;
};

/* Fills a target from the interpreter's path in the image ("usr/bin/python3.11") and the
 * image platform ("linux/amd64"). Python in /usr/local (python:3.x images) installs into
 * site-packages, a distribution's Python into /usr/local/.../dist-packages, where its pip
 * would. The full version and the C library are unknown (see above) until the caller sets
 * them from what it knows of the base. */
int python_target_init(struct python_target *t, const char *interpreter, const char *platform, struct error *err);

struct wheel_name {
	char distribution[128];
	char version[64];
	char build[32]; /* "" when the name has no build tag */
	char python_tags[64];
	char abi_tags[64];
	char platform_tags[160];
};

int wheel_parse_filename(const char *filename, struct wheel_name *name, struct error *err);

/* Why the wheel cannot run on the target (message in err), or 0 when it can. Uses the tag
 * ranking of wheel_select, except that a linux_<arch> wheel is accepted: given by file or
 * URL, it was built for this machine on purpose. */
int wheel_check_compatible(const struct wheel_name *name, const struct python_target *t, struct error *err);

/* One file of a release, as an index lists it. */
struct wheel_candidate {
	const char *filename;
	const char *sha256;          /* NULL or "": the index gave none (the download is checked) */
	const char *requires_python; /* NULL: no constraint */
	bool yanked;
	const char *yanked_reason;   /* NULL: none given */
};

struct wheel_request {
	const char *name;    /* any spelling: compared normalized */
	const char *version; /* compared as PEP 440 versions ("1.0" is "1.0.0"); NULL: the newest that fits */
	const char *const *hashes; /* sha256 values the file must have; none: any */
	size_t hash_count;
	bool pinned;         /* an `==` pin: a yanked file may still be chosen (PEP 592) */
};

/* Chooses among the candidates the wheel pip would install on the target: files of other
 * projects or versions and sdists are ignored; then requires-python (against the target's
 * full version), the tags ranked like packaging.tags.sys_tags (cpXY-cpXY-<platform>, abi3
 * for cpXY down to cp32, cpXY-none, pyXY/py3-none-<platform>, then -none-any; the newest
 * manylinux_2_N the target's glibc allows first, legacy aliases manylinux1/2010/2014 as
 * 2_5/2_12/2_17, musllinux_1_N only on musl, linux_<arch> never), the pinned hashes, and
 * yanked files last: one is chosen only for a pinned request and only when nothing else
 * fits, with *yanked (may be NULL) set so that the caller can say so. Among equal tags the
 * highest build tag wins, then the first listed. Returns the index of the choice, or -1
 * with a message that says why nothing fits. */
int wheel_select(const struct wheel_candidate *candidates, size_t count, const struct wheel_request *req,
		 const struct python_target *t, bool *yanked, struct error *err);

/* "Foo.Bar_baz" -> "foo-bar-baz" (PEP 503). */
void python_normalize_name(const char *name, char *out, size_t size);

struct wheel_file {
	char *path;   /* in the image, relative to its root */
	char *source; /* the extracted file */
	unsigned mode;
	char sha256[65];
};

struct wheel_install {
	struct wheel_file *files;
	size_t count;
};

/* Extracts `wheel` under `staging` (laid out like the image root) and lists the files. */
int wheel_install(const char *wheel, const char *filename, const struct python_target *t, const char *staging,
		  struct wheel_install *out, struct error *err);
void wheel_install_clear(struct wheel_install *install);

#endif
