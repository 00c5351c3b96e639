/* digest.h - hashing while bytes stream past, so nothing is read twice. */
#ifndef FACTORY_DIGEST_H
#define FACTORY_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum digest_algorithm { DIGEST_SHA1, DIGEST_SHA256, DIGEST_SHA512, DIGEST_COUNT };

#define DIGEST_HEX_MAX 129 /* sha512 hex + NUL */

/* Computes several digests of one stream at once: those in `algorithms`, a mask of
 * DIGEST_BIT(...). Asking for one not computed aborts. */
struct digest_set;

#define DIGEST_BIT(algorithm) (1u << (algorithm))
#define DIGEST_ALL (DIGEST_BIT(DIGEST_SHA1) | DIGEST_BIT(DIGEST_SHA256) | DIGEST_BIT(DIGEST_SHA512))

struct digest_set *digest_set_new(unsigned algorithms);
void digest_set_free(struct digest_set *set);
void digest_set_reset(struct digest_set *set);
void digest_set_update(struct digest_set *set, const void *data, size_t size);
/* Finishes (once) and returns the lowercase hex digest of `algorithm`. */
const char *digest_set_hex(struct digest_set *set, enum digest_algorithm algorithm);

const char *digest_name(enum digest_algorithm algorithm); /* "sha256" */
size_t digest_hex_length(enum digest_algorithm algorithm);

/* SHA-256 of a buffer in hex. */
void digest_sha256_hex(const void *data, size_t size, char hex[65]);

/* SHA-256 of a whole file in hex; hex must hold 65 bytes. */
int digest_file_sha256(const char *path, char hex[65], struct error *err);
/* The same for what is left to read of an open file; `name` is for the error. */
int digest_fd_sha256(int fd, const char *name, char hex[65], struct error *err);

/* Extracts the hex digest from a checksum sidecar file (`.sha1`, `.sha256`, ...): the first
 * token, which may be followed by a file name ("<hex>  name.jar") or be preceded by nothing
 * else. Returns false unless it is exactly digest_hex_length(algorithm) hex digits. */
bool digest_parse_sidecar(const char *text, size_t size, enum digest_algorithm algorithm,
			  char out[DIGEST_HEX_MAX]);

bool digest_is_hex(const char *s, size_t length);

/* Lowercase hex of `n` bytes into out (2n + 1 bytes). */
void digest_hex(const unsigned char *bytes, size_t n, char *out);

#endif
