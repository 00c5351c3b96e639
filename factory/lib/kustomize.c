#include "kustomize.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A JSON string the way Go's encoding/json writes it: besides the usual escapes it escapes
 * <, > and & and the line separators U+2028/U+2029, and keeps other UTF-8 as is. */
static void put_go_json_string(struct strbuf *t, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	strbuf_add(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			strbuf_add(t, esc, 2);
		} else if (c == '\n') {
			strbuf_add(t, "\\n", 2);
		} else if (c == '\r') {
			strbuf_add(t, "\\r", 2);
		} else if (c == '\t') {
			strbuf_add(t, "\\t", 2);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			strbuf_add(t, esc, 6);
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			strbuf_add(t, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 2;
		} else {
			strbuf_add(t, (const char *)&s[i], 1);
		}
	}
	strbuf_add(t, "\"", 1);
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int kustomize_configmap_hash(const json_t *data, char hash[KUSTOMIZE_HASH_LENGTH + 1],
			     struct error *err)
{
	/* kustomize hashes {"data":...,"kind":"ConfigMap","name":""} with sorted keys, takes the
	 * first 10 hex digits of the SHA-256 and swaps characters that could spell words. */
	struct strbuf t = {0};
	size_t n = json_object_size(data), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	const char *key;
	json_t *value;

	if (!keys)
		abort();
	json_object_foreach((json_t *)data, key, value) {
		if (!json_is_string(value)) {
			free(keys);
			return error_set(err, ERROR_INTERNAL, "ConfigMap value for '%s' is not a string", key);
		}
		keys[i++] = key;
	}
	qsort(keys, n, sizeof(*keys), compare_keys);
	strbuf_add(&t, "{\"data\":{", 9);
	for (i = 0; i < n; i++) {
		const json_t *v = json_object_get(data, keys[i]);
		if (i)
			strbuf_add(&t, ",", 1);
		put_go_json_string(&t, keys[i], strlen(keys[i]));
		strbuf_add(&t, ":", 1);
		put_go_json_string(&t, json_string_value(v), json_string_length(v));
	}
	strbuf_add(&t, "},\"kind\":\"ConfigMap\",\"name\":\"\"}", 31);
	free(keys);

	if (!EVP_Digest(t.data, t.len, digest, &digest_len, EVP_sha256(), NULL)) {
		free(t.data);
		return error_set(err, ERROR_INTERNAL, "SHA-256 failed");
	}
	free(t.data);
	for (i = 0; i < KUSTOMIZE_HASH_LENGTH; i++) {
		static const char hex[] = "0123456789abcdef";
		unsigned char nibble = (unsigned char)((i % 2 == 0) ? digest[i / 2] >> 4 : digest[i / 2] & 15);
		char c = hex[nibble];
		switch (c) {
		case '0': c = 'g'; break;
		case '1': c = 'h'; break;
		case '3': c = 'k'; break;
		case 'a': c = 'm'; break;
		case 'e': c = 't'; break;
		default: break;
		}
		hash[i] = c;
	}
	hash[KUSTOMIZE_HASH_LENGTH] = '\0';
	return 0;
}
