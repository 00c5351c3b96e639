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

/* Where wheels go in the image, derived from the base's interpreter. */
struct python_target {
	int major, minor;
	char interpreter[64];    /* "/usr/bin/python3.11" */
	char site_packages[96];  /* "usr/local/lib/python3.11/dist-packages" (no leading '/') */
	char bin_dir[32];        /* "usr/local/bin" */
	char arch[16];           /* "x86_64", "aarch64" */
};

/* Fills a target from the interpreter's path in the image ("usr/bin/python3.11") and the
 * image platform ("linux/amd64"). Python in /usr/local (python:3.x images) installs into
 * site-packages, a distribution's Python into /usr/local/.../dist-packages, where its pip
 * would. */
int python_target_init(struct python_target *t, const char *interpreter, const char *platform, struct error *err);

struct wheel_name {
	char distribution[128];
	char version[64];
	char python_tags[64];
	char abi_tags[64];
	char platform_tags[160];
};

int wheel_parse_filename(const char *filename, struct wheel_name *name, struct error *err);

/* Why the wheel cannot run on the target (message in err), or 0 when it can. */
int wheel_check_compatible(const struct wheel_name *name, const struct python_target *t, struct error *err);

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
