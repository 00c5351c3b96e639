/* libFuzzer entry point for Maven checksum sidecars (digest_parse_sidecar, for every
 * algorithm) and, on the same bytes up to a NUL, Maven coordinates (maven_coord_parse). A
 * sidecar read gives exactly the algorithm's length in lowercase hex; a coordinate that
 * parses gives a repository path that cannot climb out of the repository. Nothing may
 * crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "error.h"
#include "maven.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *path)
{
	if (!path || path[0] == '/')
		__builtin_trap();
	for (const char *seg = path; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
		if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0'))
			__builtin_trap();
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '?' || *p == '#' || *p == '%')
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The sidecar parser takes a length, not a C string: give it an exact-size copy so reading
	 * one byte past the end is caught. */
	char *text = malloc(size ? size : 1), *coord_text;
	struct maven_coord coord;
	struct error err = {0};

	if (!text)
		abort();
	memcpy(text, data, size);
	for (int a = 0; a < DIGEST_COUNT; a++) {
		char out[DIGEST_HEX_MAX];
		size_t want = digest_hex_length((enum digest_algorithm)a);
		memset(out, 'Z', sizeof(out));
		if (digest_parse_sidecar(text, size, (enum digest_algorithm)a, out)) {
			if (strlen(out) != want)
				__builtin_trap();
			for (size_t i = 0; i < want; i++)
				if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f')))
					__builtin_trap();
		}
	}
	free(text);

	coord_text = strndup((const char *)data, size);
	if (!coord_text)
		abort();
	if (maven_coord_parse(coord_text, &coord, &err) == 0) {
		char *path = maven_coord_path(&coord);
		check_path(path);
		free(path);
		maven_coord_free(&coord);
	} else if (err.code != ERROR_INVALID) {
		__builtin_trap();
	}
	free(coord_text);
	return 0;
}
