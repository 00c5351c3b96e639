#include "dsse.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "digest.h"
#include "fsutil.h"
#include "util.h"

/* A PEM key is a few hundred bytes; an RSA key with a certificate chain pasted after it is
 * still far below this. */
#define KEY_FILE_MAX (64 * 1024)
/* More signatures than any threshold policy asks for: bounds the verifications one hostile
 * envelope can make us run. */
#define MAX_SIGNATURES 64
/* An ECDSA P-256 signature as the raw concatenation r || s (IEEE P1363), the form the DSSE
 * specification's own test vector uses, instead of DER. */
#define P256_RAW_SIG 64

struct dsse_key {
	EVP_PKEY *pkey;
	bool is_private;
	bool ed25519; /* else ECDSA P-256 */
	char keyid[65];
};

/* What OpenSSL said last, for an operation that should not fail; the queue is emptied so a
 * stale entry never shows up in an unrelated TLS error later. */
static const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown error";
}

static void base64_encode(const void *data, size_t size, char **out)
{
	/* EVP_EncodeBlock takes an int: the callers bound size by DSSE_PAYLOAD_MAX. */
	*out = malloc((size + 2) / 3 * 4 + 1);
	if (!*out)
		abort();
	EVP_EncodeBlock((unsigned char *)*out, data, (int)size);
}

static int base64_value(char c, char *alphabet)
{
	char which;
	int v;

	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '/')
		which = 's', v = c == '+' ? 62 : 63;
	else if (c == '-' || c == '_')
		which = 'u', v = c == '-' ? 62 : 63;
	else
		return -1;
	/* Standard or URL-safe: DSSE lets a signer use either, but no encoder mixes both in one
	 * string. */
	if (*alphabet && *alphabet != which)
		return -1;
	*alphabet = which;
	return v;
}

/* Strict RFC 4648 decoding, standard or URL-safe, padded or not: no whitespace, no stray
 * '=', and the unused low bits of the last character must be zero, so exactly one string
 * decodes to given bytes (EVP_DecodeBlock skips whitespace and counts padding as data). */
static bool base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	size_t pad = 0, n, bits_len = 0, o = 0;
	unsigned long bits = 0;
	char alphabet = 0;
	unsigned char *buf;

	while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
		pad++;
	n = len - pad;
	if (n % 4 == 1 || (pad && (len % 4 || pad != 4 - n % 4)))
		return false;
	buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		abort();
	for (size_t i = 0; i < n; i++) {
		int v = base64_value(in[i], &alphabet);
		if (v < 0) {
			free(buf);
			return false;
		}
		bits = bits << 6 | (unsigned long)v;
		bits_len += 6;
		if (bits_len >= 8) {
			bits_len -= 8;
			buf[o++] = (unsigned char)(bits >> bits_len);
			bits &= (1ul << bits_len) - 1;
		}
	}
	if (bits) {
		free(buf);
		return false;
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return true;
}

char *dsse_pae(const char *type, const void *payload, size_t size, size_t *out_size)
{
	size_t type_len = strlen(type);
	char *head = xasprintf("DSSEv1 %zu %s %zu ", type_len, type, size);
	size_t head_len = strlen(head);
	char *pae = realloc(head, head_len + size + 1);

	if (!pae)
		abort();
	if (size)
		memcpy(pae + head_len, payload, size);
	pae[head_len + size] = '\0';
	*out_size = head_len + size;
	return pae;
}

/* The type of a key we refuse, in words: "a key of type RSA (2048 bits)", "an EC key on curve
 * secp384r1". */
static char *key_description(EVP_PKEY *pkey)
{
	const char *type = EVP_PKEY_get0_type_name(pkey);
	char group[80] = "";

	if (!type)
		type = OBJ_nid2sn(EVP_PKEY_get_base_id(pkey));
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
		snprintf(group, sizeof(group), "explicit parameters");
	ERR_clear_error();
	if (group[0])
		return xasprintf("an EC key on curve %s", group);
	return xasprintf("a key of type %s (%d bits)", type ? type : "unknown", EVP_PKEY_get_bits(pkey));
}

/* Keeps the key when it is one we sign with, naming the file and the type found otherwise. */
static int key_accept(EVP_PKEY *pkey, bool is_private, const char *path, struct dsse_key **out, struct error *err)
{
	struct dsse_key *key;
	unsigned char *der = NULL;
	char group[80] = "";
	bool ed25519 = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519;
	int der_len;

	if (!ed25519 && !(EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
			  EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) &&
			  OBJ_sn2nid(group) == NID_X9_62_prime256v1)) {
		char *what = key_description(pkey);
		error_set(err, ERROR_INVALID, "%s holds %s: only ECDSA P-256 (prime256v1) and Ed25519 keys sign envelopes",
			  path, what);
		free(what);
		EVP_PKEY_free(pkey);
		return -1;
	}
	der_len = i2d_PUBKEY(pkey, &der);
	if (der_len <= 0) {
		EVP_PKEY_free(pkey);
		return error_set(err, ERROR_INTERNAL, "%s: cannot encode the public key: %s", path, openssl_reason());
	}
	key = calloc(1, sizeof(*key));
	if (!key)
		abort();
	key->pkey = pkey;
	key->is_private = is_private;
	key->ed25519 = ed25519;
	digest_sha256_hex(der, (size_t)der_len, key->keyid);
	OPENSSL_free(der);
	*out = key;
	return 0;
}

struct passphrase_source {
	const char *passphrase;
	bool asked; /* the PEM is encrypted */
};

/* OpenSSL's callback for an encrypted PEM; without a passphrase it refuses rather than let
 * OpenSSL prompt on the terminal. */
static int give_passphrase(char *buf, int size, int rwflag, void *ctx)
{
	struct passphrase_source *src = ctx;
	size_t len;

	(void)rwflag;
	src->asked = true;
	if (!src->passphrase)
		return -1;
	len = strlen(src->passphrase);
	if (size < 0 || len > (size_t)size)
		return -1;
	memcpy(buf, src->passphrase, len);
	return (int)len;
}

/* Reads the PEM file whole (a regular file, bounded) and decodes the private key or, without
 * want_private, the public key in it. */
static int key_load(struct dsse_key **out, const char *pem_path, const char *passphrase, bool want_private,
		    struct error *err)
{
	struct passphrase_source src = {.passphrase = passphrase};
	EVP_PKEY *pkey;
	char *data;
	size_t size;
	BIO *bio;
	int rc;

	*out = NULL;
	if (fs_read_file(pem_path, KEY_FILE_MAX, &data, &size, err))
		return -1;
	bio = BIO_new_mem_buf(data, (int)size);
	if (!bio)
		abort();
	/* Our callback for a public key too: OpenSSL would prompt on the terminal for an
	 * encrypted private key given there by mistake. */
	pkey = want_private ? PEM_read_bio_PrivateKey(bio, NULL, give_passphrase, &src)
			    : PEM_read_bio_PUBKEY(bio, NULL, give_passphrase, &src);
	ERR_clear_error();
	if (pkey)
		rc = key_accept(pkey, want_private, pem_path, out, err);
	else if (!want_private && strstr(data, "PRIVATE KEY-----"))
		rc = error_set(err, ERROR_INVALID, "%s holds a private key; give its public key "
			       "(openssl pkey -pubout) to verify", pem_path);
	else if (!want_private)
		rc = error_set(err, ERROR_INVALID, "%s holds no readable PEM public key (\"BEGIN PUBLIC KEY\")", pem_path);
	else if (src.asked && !passphrase)
		rc = error_set(err, ERROR_AUTH, "%s is an encrypted private key and no passphrase was given", pem_path);
	else if (src.asked)
		rc = error_set(err, ERROR_AUTH, "cannot decrypt the private key %s: the passphrase is wrong or the key "
			       "is damaged", pem_path);
	else if (strstr(data, "-----BEGIN PUBLIC KEY-----"))
		rc = error_set(err, ERROR_INVALID, "%s holds a public key, not the private key that signs", pem_path);
	else
		rc = error_set(err, ERROR_INVALID, "%s holds no readable PEM private key (\"BEGIN PRIVATE KEY\", "
			       "\"BEGIN ENCRYPTED PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")", pem_path);
	BIO_free(bio);
	/* The file may hold an unencrypted private key. */
	explicit_bzero(data, size);
	free(data);
	return rc;
}

int dsse_key_load(struct dsse_key **out, const char *pem_path, const char *passphrase, struct error *err)
{
	return key_load(out, pem_path, passphrase, true, err);
}

int dsse_public_key_load(struct dsse_key **out, const char *pem_path, struct error *err)
{
	return key_load(out, pem_path, NULL, false, err);
}

void dsse_key_free(struct dsse_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

const char *dsse_key_id(const struct dsse_key *key)
{
	return key->keyid;
}

/* Asks for RFC 6979 nonces where OpenSSL has them (3.2 and later), so ECDSA envelopes are
 * reproducible there too; 3.0 does not know the parameter and keeps its random nonce. */
static void ask_deterministic_nonce(EVP_PKEY_CTX *pctx)
{
	const OSSL_PARAM *settable = EVP_PKEY_CTX_settable_params(pctx);
	unsigned int deterministic = 1;
	OSSL_PARAM params[] = {OSSL_PARAM_uint("nonce-type", &deterministic), OSSL_PARAM_END};

	if (settable && OSSL_PARAM_locate_const(settable, "nonce-type"))
		EVP_PKEY_CTX_set_params(pctx, params);
	ERR_clear_error();
}

static int sign_pae(const struct dsse_key *key, const char *pae, size_t pae_size, unsigned char **sig,
		    size_t *sig_size, struct error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	*sig = NULL;
	if (!ctx)
		abort();
	if (EVP_DigestSignInit(ctx, &pctx, key->ed25519 ? NULL : EVP_sha256(), NULL, key->pkey) != 1) {
		error_set(err, ERROR_INTERNAL, "cannot start signing: %s", openssl_reason());
		goto out;
	}
	if (!key->ed25519)
		ask_deterministic_nonce(pctx);
	if (EVP_DigestSign(ctx, NULL, sig_size, (const unsigned char *)pae, pae_size) != 1) {
		error_set(err, ERROR_INTERNAL, "cannot sign: %s", openssl_reason());
		goto out;
	}
	*sig = malloc(*sig_size);
	if (!*sig)
		abort();
	if (EVP_DigestSign(ctx, *sig, sig_size, (const unsigned char *)pae, pae_size) != 1) {
		error_set(err, ERROR_INTERNAL, "cannot sign: %s", openssl_reason());
		free(*sig);
		*sig = NULL;
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int dsse_sign(const struct dsse_key *key, const char *payload_type, const void *payload, size_t size,
	      char **envelope, size_t *envelope_size, struct error *err)
{
	char *pae = NULL, *payload_b64 = NULL, *sig_b64 = NULL, *text = NULL;
	unsigned char *sig = NULL;
	size_t pae_size, sig_size;
	json_t *doc = NULL;
	int rc = -1;

	*envelope = NULL;
	*envelope_size = 0;
	if (!key->is_private)
		return error_set(err, ERROR_INVALID, "key %s is a public key: signing needs the private key", key->keyid);
	if (!payload_type || !payload_type[0])
		return error_set(err, ERROR_INVALID, "an envelope needs a payload type");
	if (size > DSSE_PAYLOAD_MAX)
		return error_set(err, ERROR_LIMIT, "a payload of %zu bytes is larger than the %u bytes an envelope holds",
				 size, DSSE_PAYLOAD_MAX);
	pae = dsse_pae(payload_type, payload, size, &pae_size);
	if (sign_pae(key, pae, pae_size, &sig, &sig_size, err))
		goto out;
	base64_encode(payload, size, &payload_b64);
	base64_encode(sig, sig_size, &sig_b64);
	doc = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payload", payload_b64, "payloadType", payload_type, "signatures",
			"keyid", key->keyid, "sig", sig_b64);
	if (!doc) {
		error_set(err, ERROR_INVALID, "the payload type is not valid UTF-8");
		goto out;
	}
	text = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));
	if (!text)
		abort();
	*envelope = xasprintf("%s\n", text);
	*envelope_size = strlen(*envelope);
	rc = 0;
out:
	free(text);
	json_decref(doc);
	free(sig_b64);
	free(payload_b64);
	free(sig);
	free(pae);
	return rc;
}

/* A raw r || s signature as DER, the only form OpenSSL's ECDSA verifier takes. */
static bool p256_raw_to_der(const unsigned char *raw, unsigned char **der, size_t *der_size)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, P256_RAW_SIG / 2, NULL), *sv = BN_bin2bn(raw + P256_RAW_SIG / 2, P256_RAW_SIG / 2, NULL);
	int n = -1;

	*der = NULL;
	if (s && r && sv && ECDSA_SIG_set0(s, r, sv)) {
		r = sv = NULL; /* owned by s now */
		n = i2d_ECDSA_SIG(s, der);
	}
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	ERR_clear_error();
	*der_size = n > 0 ? (size_t)n : 0;
	return n > 0;
}

static bool verify_once(const struct dsse_key *key, const char *pae, size_t pae_size, const unsigned char *sig,
			size_t sig_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	if (!ctx)
		abort();
	ok = EVP_DigestVerifyInit(ctx, NULL, key->ed25519 ? NULL : EVP_sha256(), NULL, key->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_size, (const unsigned char *)pae, pae_size) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static bool verify_pae(const struct dsse_key *key, const char *pae, size_t pae_size, const unsigned char *sig,
		       size_t sig_size)
{
	unsigned char *der;
	size_t der_size;
	bool ok = verify_once(key, pae, pae_size, sig, sig_size);

	if (!ok && !key->ed25519 && sig_size == P256_RAW_SIG && p256_raw_to_der(sig, &der, &der_size)) {
		ok = verify_once(key, pae, pae_size, der, der_size);
		OPENSSL_free(der);
	}
	return ok;
}

/* A string from the envelope, fit for a message: no terminal control codes. */
static const char *printable(const char *s)
{
	return str_has_control(s) ? "(a string with control characters)" : s;
}

struct envelope {
	json_t *doc;
	const char *type;
	unsigned char *payload;
	size_t payload_size;
	size_t count;
	unsigned char *sigs[MAX_SIGNATURES];
	size_t sig_sizes[MAX_SIGNATURES];
	const char *keyids[MAX_SIGNATURES]; /* "" when unset */
};

static void envelope_free(struct envelope *e)
{
	for (size_t i = 0; i < e->count; i++)
		free(e->sigs[i]);
	free(e->payload);
	json_decref(e->doc);
}

/* Decodes every field before any signature is checked: an envelope that does not decode is
 * refused as a whole (DSSE: "reject if decoding fails"). Unknown fields are ignored. */
static int envelope_parse(struct envelope *e, const char *text, size_t size, struct error *err)
{
	json_t *payload, *type, *sigs, *item;
	json_error_t jerr;
	size_t i;

	if (size > DSSE_ENVELOPE_MAX)
		return error_set(err, ERROR_LIMIT, "envelope of %zu bytes is larger than %u bytes", size, DSSE_ENVELOPE_MAX);
	/* Two "payload" keys would let two readers of one envelope see two payloads. */
	e->doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!e->doc)
		return error_set(err, ERROR_INVALID, "envelope is not JSON: %s at line %d column %d", jerr.text, jerr.line,
				 jerr.column);
	payload = json_object_get(e->doc, "payload");
	type = json_object_get(e->doc, "payloadType");
	sigs = json_object_get(e->doc, "signatures");
	if (!json_is_object(e->doc) || !json_is_string(payload) || !json_is_string(type) || !json_is_array(sigs))
		return error_set(err, ERROR_INVALID, "envelope lacks a string \"payload\", a string \"payloadType\" "
			       "or a \"signatures\" list");
	e->type = json_string_value(type);
	if (!base64_decode(json_string_value(payload), json_string_length(payload), &e->payload, &e->payload_size))
		return error_set(err, ERROR_INVALID, "envelope's payload is not base64");
	if (json_array_size(sigs) == 0)
		return error_set(err, ERROR_INVALID, "envelope has no signature");
	if (json_array_size(sigs) > MAX_SIGNATURES)
		return error_set(err, ERROR_LIMIT, "envelope has %zu signatures, more than %d", json_array_size(sigs),
				 MAX_SIGNATURES);
	json_array_foreach(sigs, i, item) {
		json_t *sig = json_object_get(item, "sig"), *keyid = json_object_get(item, "keyid");
		if (!json_is_string(sig) || (keyid && !json_is_null(keyid) && !json_is_string(keyid)))
			return error_set(err, ERROR_INVALID, "envelope's signatures[%zu] needs a string \"sig\" (and a "
				       "string \"keyid\" if any)", i);
		if (!base64_decode(json_string_value(sig), json_string_length(sig), &e->sigs[i], &e->sig_sizes[i]))
			return error_set(err, ERROR_INVALID, "envelope's signatures[%zu].sig is not base64", i);
		e->keyids[i] = json_is_string(keyid) ? json_string_value(keyid) : "";
		e->count++;
	}
	return 0;
}

int dsse_verify(const struct dsse_key *public_key, const char *envelope, size_t size, const char *expected_type,
		char **payload, size_t *payload_size, struct error *err)
{
	struct envelope e = {0};
	struct strbuf others = {0};
	size_t tried = 0, pae_size;
	bool verified = false;
	char *pae = NULL;
	int rc = -1;

	*payload = NULL;
	*payload_size = 0;
	if (envelope_parse(&e, envelope, size, err))
		goto out;
	pae = dsse_pae(e.type, e.payload, e.payload_size, &pae_size);
	for (size_t i = 0; i < e.count && !verified; i++) {
		/* A keyid is only a hint (DSSE: never a security decision): it spares trying a
		 * signature that says it is some other key's. */
		if (e.keyids[i][0] && strcmp(e.keyids[i], public_key->keyid) != 0) {
			strbuf_add(&others, others.len ? ", " : "", others.len ? 2 : 0);
			strbuf_add(&others, e.keyids[i], strnlen(e.keyids[i], 80));
			continue;
		}
		tried++;
		verified = verify_pae(public_key, pae, pae_size, e.sigs[i], e.sig_sizes[i]);
	}
	/* The signature is checked before the type (the DSSE order): a forged envelope is a bad
	 * signature whatever type it claims. */
	if (!tried)
		error_set(err, ERROR_INVALID, "no signature for this key (keyid %s): the envelope is signed by keyid %s",
			  public_key->keyid, others.data ? printable(others.data) : "");
	else if (!verified)
		error_set(err, ERROR_INVALID, "bad signature: no signature of the envelope verifies with key %s",
			  public_key->keyid);
	else if (!expected_type || strcmp(e.type, expected_type) != 0)
		error_set(err, ERROR_INVALID, "wrong payload type: the envelope holds \"%.200s\", expected \"%s\"",
			  printable(e.type), expected_type ? expected_type : "(none)");
	else {
		*payload = (char *)e.payload;
		*payload_size = e.payload_size;
		e.payload = NULL;
		rc = 0;
	}
out:
	free(others.data);
	free(pae);
	envelope_free(&e);
	return rc;
}
