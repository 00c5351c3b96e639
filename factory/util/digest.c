#include "digest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

struct digest_set {
	unsigned algorithms;
	EVP_MD_CTX *ctx[DIGEST_COUNT];
	bool finished;
	char hex[DIGEST_COUNT][DIGEST_HEX_MAX];
};

static const EVP_MD *algorithm_md(enum digest_algorithm a)
{
	switch (a) {
	case DIGEST_SHA1:
		return EVP_sha1();
	case DIGEST_SHA512:
		return EVP_sha512();
	default:
		return EVP_sha256();
	}
}

const char *digest_name(enum digest_algorithm a)
{
	static const char *const names[] = {"sha1", "sha256", "sha512"};
	return names[a];
}

size_t digest_hex_length(enum digest_algorithm a)
{
	static const size_t lengths[] = {40, 64, 128};
	return lengths[a];
}

struct digest_set *digest_set_new(unsigned algorithms)
{
	struct digest_set *set = calloc(1, sizeof(*set));

	if (!set)
		abort();
	set->algorithms = algorithms | DIGEST_BIT(DIGEST_SHA256); /* the cache's own name */
	for (int i = 0; i < DIGEST_COUNT; i++) {
		if (!(set->algorithms & DIGEST_BIT(i)))
			continue;
		set->ctx[i] = EVP_MD_CTX_new();
		if (!set->ctx[i])
			abort();
	}
	digest_set_reset(set);
	return set;
}

void digest_set_free(struct digest_set *set)
{
	if (!set)
		return;
	for (int i = 0; i < DIGEST_COUNT; i++)
		EVP_MD_CTX_free(set->ctx[i]);
	free(set);
}

void digest_set_reset(struct digest_set *set)
{
	for (int i = 0; i < DIGEST_COUNT; i++)
		if (set->ctx[i] && !EVP_DigestInit_ex(set->ctx[i], algorithm_md((enum digest_algorithm)i), NULL))
			abort();
	set->finished = false;
}

void digest_set_update(struct digest_set *set, const void *data, size_t size)
{
	for (int i = 0; i < DIGEST_COUNT; i++)
		if (set->ctx[i] && !EVP_DigestUpdate(set->ctx[i], data, size))
			abort();
}

void digest_hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

const char *digest_set_hex(struct digest_set *set, enum digest_algorithm a)
{
	if (!(set->algorithms & DIGEST_BIT(a)))
		abort();
	if (!set->finished) {
		for (int i = 0; i < DIGEST_COUNT; i++) {
			unsigned char md[EVP_MAX_MD_SIZE];
			unsigned int len = 0;
			if (!set->ctx[i])
				continue;
			if (!EVP_DigestFinal_ex(set->ctx[i], md, &len))
				abort();
			digest_hex(md, len, set->hex[i]);
		}
		set->finished = true;
	}
	return set->hex[a];
}

int digest_fd_sha256(int fd, const char *name, char hex[65], struct error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[1 << 18], md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int rc = -1;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		abort();
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "cannot read %s", name);
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	digest_hex(md, len, hex);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int digest_file_sha256(const char *path, char hex[65], struct error *err)
{
	int fd = fs_open_regular(path, err), rc;

	if (fd < 0)
		return -1;
	rc = digest_fd_sha256(fd, path, hex, err);
	close(fd);
	return rc;
}

bool digest_is_hex(const char *s, size_t length)
{
	for (size_t i = 0; i < length; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool digest_parse_sidecar(const char *text, size_t size, enum digest_algorithm a, char out[DIGEST_HEX_MAX])
{
	size_t start = 0, end, want = digest_hex_length(a);

	while (start < size && isspace((unsigned char)text[start]))
		start++;
	end = start;
	while (end < size && !isspace((unsigned char)text[end]))
		end++;
	if (end - start != want || !digest_is_hex(text + start, want))
		return false;
	for (size_t i = 0; i < want; i++)
		out[i] = (char)tolower((unsigned char)text[start + i]);
	out[want] = '\0';
	return true;
}

void digest_sha256_hex(const void *data, size_t size, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(data, size, md, &len, EVP_sha256(), NULL))
		abort();
	digest_hex(md, len, hex);
}
