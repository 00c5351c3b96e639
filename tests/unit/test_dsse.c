/* DSSE envelopes: the PAE and the specification's test vector, signing and verifying with
 * ECDSA P-256 and Ed25519 keys written by OpenSSL in every PEM form, and the refusals: a
 * changed byte, another key, another type, a key of another kind, a wrong passphrase, a FIFO. */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsse.h"
#include "fsutil.h"
#include "unit.h"
#include "util.h"

#define PASSPHRASE "Tr0ub4dor-and-3"

struct keys {
	char *dir;
	char *ec, *ec_traditional, *ec_encrypted, *ec_traditional_encrypted, *ec_public, *ec_other;
	char *ed, *ed_encrypted, *ed_public;
	char *rsa, *p384, *fifo;
};

/* Writes one PEM file: the private key (PKCS#8, or the traditional form), encrypted with
 * PASSPHRASE or not, or the public key. */
enum pem_form { PEM_PKCS8, PEM_PKCS8_ENCRYPTED, PEM_TRADITIONAL, PEM_TRADITIONAL_ENCRYPTED, PEM_PUBLIC };

static char *write_pem(const char *dir, const char *name, EVP_PKEY *pkey, enum pem_form form)
{
	char *path = fs_path_join(dir, name);
	BIO *bio = BIO_new_file(path, "w");
	unsigned char pass[] = PASSPHRASE;
	int ok = 0;

	if (!bio)
		abort();
	switch (form) {
	case PEM_PKCS8:
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_PKCS8_ENCRYPTED:
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), (char *)pass, (int)strlen(PASSPHRASE),
						   NULL, NULL);
		break;
	case PEM_TRADITIONAL:
		ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_TRADITIONAL_ENCRYPTED:
		ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, EVP_aes_256_cbc(), pass, (int)strlen(PASSPHRASE),
							  NULL, NULL);
		break;
	case PEM_PUBLIC:
		ok = PEM_write_bio_PUBKEY(bio, pkey);
		break;
	}
	if (!ok)
		abort();
	BIO_free(bio);
	return path;
}

static struct keys keys_make(void)
{
	struct keys k = {0};
	struct error err = {0};
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *all[] = {ec, other, ed, rsa, p384};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!all[i])
			abort();
	if (fs_make_temp_dir("/tmp/factory-unit-dsse-", &k.dir, &err))
		abort();
	k.ec = write_pem(k.dir, "ec.pem", ec, PEM_PKCS8);
	k.ec_traditional = write_pem(k.dir, "ec-traditional.pem", ec, PEM_TRADITIONAL);
	k.ec_encrypted = write_pem(k.dir, "ec-encrypted.pem", ec, PEM_PKCS8_ENCRYPTED);
	k.ec_traditional_encrypted = write_pem(k.dir, "ec-traditional-encrypted.pem", ec, PEM_TRADITIONAL_ENCRYPTED);
	k.ec_public = write_pem(k.dir, "ec.pub", ec, PEM_PUBLIC);
	k.ec_other = write_pem(k.dir, "ec-other.pem", other, PEM_PKCS8);
	k.ed = write_pem(k.dir, "ed.pem", ed, PEM_PKCS8);
	k.ed_encrypted = write_pem(k.dir, "ed-encrypted.pem", ed, PEM_PKCS8_ENCRYPTED);
	k.ed_public = write_pem(k.dir, "ed.pub", ed, PEM_PUBLIC);
	k.rsa = write_pem(k.dir, "rsa.pem", rsa, PEM_PKCS8);
	k.p384 = write_pem(k.dir, "p384.pem", p384, PEM_PKCS8);
	k.fifo = fs_path_join(k.dir, "fifo.pem");
	if (mkfifo(k.fifo, 0600))
		abort();
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		EVP_PKEY_free(all[i]);
	return k;
}

static void keys_free(struct keys *k)
{
	struct error err = {0};
	char *paths[] = {k->ec, k->ec_traditional, k->ec_encrypted, k->ec_traditional_encrypted, k->ec_public,
			 k->ec_other, k->ed, k->ed_encrypted, k->ed_public, k->rsa, k->p384, k->fifo};

	fs_remove_tree(k->dir, &err);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		free(paths[i]);
	free(k->dir);
}

static struct dsse_key *load(struct unit_state *s, const char *path, const char *passphrase)
{
	struct dsse_key *key = NULL;
	struct error err = {0};

	if (dsse_key_load(&key, path, passphrase, &err)) {
		fprintf(stderr, "  %s\n", err.message);
		s->failures++;
	}
	return key;
}

static struct dsse_key *load_public(struct unit_state *s, const char *path)
{
	struct dsse_key *key = NULL;
	struct error err = {0};

	if (dsse_public_key_load(&key, path, &err)) {
		fprintf(stderr, "  %s\n", err.message);
		s->failures++;
	}
	return key;
}

/* The verification's outcome: 0 with the payload checked, or the error's message. */
static int verify(const struct dsse_key *key, const char *envelope, const char *type, const char *want_payload,
		  struct error *err)
{
	char *payload = NULL;
	size_t size = 0;
	int rc;

	error_clear(err);
	rc = dsse_verify(key, envelope, strlen(envelope), type, &payload, &size, err);
	if (rc == 0 && (size != strlen(want_payload) || memcmp(payload, want_payload, size) != 0))
		rc = error_set(err, ERROR_INTERNAL, "verified, but the payload differs");
	if (rc && payload)
		rc = error_set(err, ERROR_INTERNAL, "failed, yet returned a payload");
	free(payload);
	return rc;
}

static char *sign(struct unit_state *s, const struct dsse_key *key, const char *type, const char *payload)
{
	char *envelope = NULL;
	size_t size = 0;
	struct error err = {0};

	if (dsse_sign(key, type, payload, strlen(payload), &envelope, &size, &err)) {
		fprintf(stderr, "  %s\n", err.message);
		s->failures++;
		return xstrdup("");
	}
	CHECK(s, size == strlen(envelope));
	return envelope;
}

/* The envelope with one of its fields replaced (field "sig" is the first signature's). */
static char *envelope_with(const char *envelope, const char *field, const char *value)
{
	json_t *doc = json_loads(envelope, 0, NULL);
	json_t *where = doc;
	char *text, *out;

	if (!doc)
		abort();
	if (strcmp(field, "sig") == 0 || strcmp(field, "keyid") == 0)
		where = json_array_get(json_object_get(doc, "signatures"), 0);
	json_object_set_new(where, field, json_string(value));
	text = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));
	out = xasprintf("%s\n", text);
	free(text);
	json_decref(doc);
	return out;
}

static char *field_of(const char *envelope, const char *field)
{
	json_t *doc = json_loads(envelope, 0, NULL), *where = doc;
	char *out;

	if (strcmp(field, "sig") == 0 || strcmp(field, "keyid") == 0)
		where = json_array_get(json_object_get(doc, "signatures"), 0);
	out = xstrdup(json_string_value(json_object_get(where, field)) ? json_string_value(json_object_get(where, field))
								      : "");
	json_decref(doc);
	return out;
}

/* base64 `b64` with one bit of byte `at` flipped. */
static char *base64_flipped(const char *b64, size_t at)
{
	unsigned char raw[4096], enc[6000];
	size_t len = strlen(b64), pad = 0;
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);

	/* EVP_DecodeBlock counts the padding as bytes */
	while (pad < 2 && len > pad && b64[len - 1 - pad] == '=')
		pad++;
	if (n < 0 || at >= (size_t)n - pad)
		abort();
	raw[at] ^= 0x01;
	EVP_EncodeBlock(enc, raw, n - (int)pad);
	return xstrdup((const char *)enc);
}

static void test_pae(struct unit_state *s)
{
	size_t size;
	char *pae;

	/* protocol.md's test vector */
	pae = dsse_pae("http://example.com/HelloWorld", "hello world", 11, &size);
	CHECK_STR(s, pae, "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	CHECK(s, size == strlen("DSSEv1 29 http://example.com/HelloWorld 11 hello world"));
	free(pae);
	pae = dsse_pae("", "", 0, &size);
	CHECK(s, size == 12 && memcmp(pae, "DSSEv1 0  0 ", 12) == 0);
	free(pae);
	/* The body is bytes: a NUL inside counts and is kept. */
	pae = dsse_pae("application/x", "a\0b", 3, &size);
	CHECK(s, size == 29 && memcmp(pae, "DSSEv1 13 application/x 3 a\0b", 29) == 0);
	free(pae);
	/* LEN is bytes, not characters: "é" is two. */
	pae = dsse_pae("t\xc3\xa9", "x", 1, &size);
	CHECK_STR(s, pae, "DSSEv1 3 t\xc3\xa9 1 x");
	free(pae);
}

/* The public key of protocol.md's test vector, from its X and Y. */
static EVP_PKEY *spec_public_key(void)
{
	const char *x = "46950820868899156662930047687818585632848591499744589407958293238635476079160";
	const char *y = "5640078356564379163099075877009565129882514886557779369047442380624545832820";
	unsigned char point[65] = {0x04};
	BIGNUM *bx = NULL, *by = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	if (!BN_dec2bn(&bx, x) || !BN_dec2bn(&by, y) || BN_bn2binpad(bx, point + 1, 32) != 32 ||
	    BN_bn2binpad(by, point + 33, 32) != 32 || !bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		abort();
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bx);
	BN_free(by);
	return pkey;
}

/* protocol.md's envelope (no keyid, the signature as raw r || s) verifies with its key. */
static void test_spec_vector(struct unit_state *s)
{
	const char *envelope = "{\"payload\": \"aGVsbG8gd29ybGQ=\",\n"
			       " \"payloadType\": \"http://example.com/HelloWorld\",\n"
			       " \"signatures\": [{\"sig\": \"A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==\"}]}";
	struct error err = {0};
	struct keys k = keys_make();
	EVP_PKEY *pkey = spec_public_key();
	char *path = write_pem(k.dir, "spec.pub", pkey, PEM_PUBLIC), *bad;
	struct dsse_key *key = load_public(s, path);

	if (!key)
		goto out;
	CHECK(s, verify(key, envelope, "http://example.com/HelloWorld", "hello world", &err) == 0);
	CHECK_STR(s, err.message, "");
	bad = envelope_with(envelope, "payload", "aGVsbG8gd29ybGQh"); /* "hello world!" */
	CHECK(s, verify(key, bad, "http://example.com/HelloWorld", "hello world!", &err) < 0);
	CHECK(s, strstr(err.message, "bad signature") != NULL);
	free(bad);
out:
	dsse_key_free(key);
	free(path);
	EVP_PKEY_free(pkey);
	keys_free(&k);
}

static void roundtrip(struct unit_state *s, const char *private_path, const char *public_path, bool deterministic)
{
	const char *type = "application/vnd.factory.bundle+json";
	const char *payload = "{\"app\": \"word-count\"}\n";
	struct dsse_key *key = load(s, private_path, NULL), *pub = load_public(s, public_path);
	struct error err = {0};
	const char *head = "{\n  \"payload\": \"eyJhcHAiOiAid29yZC1jb3VudCJ9Cg==\",\n"
			   "  \"payloadType\": \"application/vnd.factory.bundle+json\",\n"
			   "  \"signatures\": [\n    {\n      \"keyid\": \"";
	char *envelope, *again, *keyid_field;

	if (!key || !pub)
		goto out;
	CHECK_STR(s, dsse_key_id(key), dsse_key_id(pub));
	CHECK(s, strlen(dsse_key_id(key)) == 64 && strspn(dsse_key_id(key), "0123456789abcdef") == 64);
	envelope = sign(s, key, type, payload);
	CHECK(s, strncmp(envelope, head, strlen(head)) == 0);
	keyid_field = field_of(envelope, "keyid");
	CHECK_STR(s, keyid_field, dsse_key_id(key));
	CHECK(s, strlen(envelope) > 2 && strcmp(envelope + strlen(envelope) - 2, "}\n") == 0);
	CHECK(s, verify(pub, envelope, type, payload, &err) == 0);
	CHECK_STR(s, err.message, "");
	/* The private key verifies with its public part. */
	CHECK(s, verify(key, envelope, type, payload, &err) == 0);
	/* A public key does not sign. */
	{
		char *none = NULL;
		size_t size;
		CHECK(s, dsse_sign(pub, type, "x", 1, &none, &size, &err) < 0 && none == NULL);
		CHECK(s, strstr(err.message, "signing needs the private key") != NULL);
	}
	again = sign(s, key, type, payload);
	if (deterministic) {
		CHECK_STR(s, again, envelope);
	} else {
		/* OpenSSL 3.0 draws a random nonce: only the signature may differ between runs,
		 * and both verify. */
		char *a_blank = envelope_with(envelope, "sig", ""), *b_blank = envelope_with(again, "sig", "");
		CHECK_STR(s, a_blank, b_blank);
		CHECK(s, verify(pub, again, type, payload, &err) == 0);
		free(a_blank);
		free(b_blank);
	}
	free(again);
	free(keyid_field);
	free(envelope);
out:
	dsse_key_free(key);
	dsse_key_free(pub);
}

static void test_roundtrip(struct unit_state *s)
{
	struct keys k = keys_make();

	roundtrip(s, k.ec, k.ec_public, false);
	roundtrip(s, k.ed, k.ed_public, true);
	keys_free(&k);
}

/* Every PEM form of one key loads to the same key. */
static void test_pem_forms(struct unit_state *s)
{
	struct keys k = keys_make();
	struct dsse_key *plain = load(s, k.ec, NULL), *trad = load(s, k.ec_traditional, NULL);
	struct dsse_key *enc = load(s, k.ec_encrypted, PASSPHRASE), *trad_enc = load(s, k.ec_traditional_encrypted, PASSPHRASE);
	struct dsse_key *ed_enc = load(s, k.ed_encrypted, PASSPHRASE), *ed_pub = load_public(s, k.ed_public);
	struct dsse_key *ed = load(s, k.ed, PASSPHRASE); /* a passphrase for an unencrypted key is unused */

	if (plain && trad && enc && trad_enc && ed_enc && ed_pub && ed) {
		CHECK_STR(s, dsse_key_id(trad), dsse_key_id(plain));
		CHECK_STR(s, dsse_key_id(enc), dsse_key_id(plain));
		CHECK_STR(s, dsse_key_id(trad_enc), dsse_key_id(plain));
		CHECK_STR(s, dsse_key_id(ed_enc), dsse_key_id(ed_pub));
		CHECK_STR(s, dsse_key_id(ed), dsse_key_id(ed_pub));
		CHECK(s, strcmp(dsse_key_id(ed), dsse_key_id(plain)) != 0);
	}
	dsse_key_free(plain);
	dsse_key_free(trad);
	dsse_key_free(enc);
	dsse_key_free(trad_enc);
	dsse_key_free(ed_enc);
	dsse_key_free(ed_pub);
	dsse_key_free(ed);
	keys_free(&k);
}

/* The key files and three keys loaded from them: ECDSA, Ed25519 and another ECDSA key. */
struct fixture {
	struct keys k;
	struct dsse_key *ec, *ed, *other;
};

static bool fixture_make(struct unit_state *s, struct fixture *f)
{
	f->k = keys_make();
	f->ec = load(s, f->k.ec, NULL);
	f->ed = load(s, f->k.ed, NULL);
	f->other = load(s, f->k.ec_other, NULL);
	return f->ec && f->ed && f->other;
}

static void fixture_free(struct fixture *f)
{
	dsse_key_free(f->ec);
	dsse_key_free(f->ed);
	dsse_key_free(f->other);
	keys_free(&f->k);
}

static void test_tampering(struct unit_state *s)
{
	const char *type = "application/vnd.factory.bundle+json";
	const char *payload = "kind: FlinkDeployment\nmetadata: {name: word-count}\n";
	struct fixture f;
	struct error err = {0};
	bool ready = fixture_make(s, &f);

	for (int i = 0; ready && i < 2; i++) {
		struct dsse_key *key = i ? f.ed : f.ec, *other = f.other;
		char *envelope = sign(s, key, type, payload);
		char *b64 = field_of(envelope, "payload"), *sig = field_of(envelope, "sig");
		char *flipped_payload = base64_flipped(b64, 10), *flipped_sig = base64_flipped(sig, 20);
		char *bad_payload = envelope_with(envelope, "payload", flipped_payload);
		char *bad_sig = envelope_with(envelope, "sig", flipped_sig);
		char *bad_type = envelope_with(envelope, "payloadType", "application/vnd.other+json");
		char *no_keyid = envelope_with(envelope, "keyid", "");

		CHECK(s, verify(key, envelope, type, payload, &err) == 0);
		CHECK(s, verify(key, bad_payload, type, payload, &err) < 0 && err.code == ERROR_INVALID);
		CHECK(s, strstr(err.message, "bad signature") != NULL);
		CHECK(s, verify(key, bad_sig, type, payload, &err) < 0 && strstr(err.message, "bad signature"));
		/* The type is signed too: changing it breaks the signature. */
		CHECK(s, verify(key, bad_type, "application/vnd.other+json", payload, &err) < 0);
		CHECK(s, strstr(err.message, "bad signature") != NULL);
		/* A good envelope of another type. */
		CHECK(s, verify(key, envelope, "application/vnd.other+json", payload, &err) < 0);
		CHECK(s, strstr(err.message, "wrong payload type") && strstr(err.message, type));
		/* Another key: the keyid says it is not ours ... */
		CHECK(s, verify(other, envelope, type, payload, &err) < 0 && err.code == ERROR_INVALID);
		CHECK(s, strstr(err.message, "no signature for this key") && strstr(err.message, dsse_key_id(key)));
		CHECK(s, verify(i ? f.ec : f.ed, envelope, type, payload, &err) < 0);
		CHECK(s, strstr(err.message, "no signature for this key") != NULL);
		/* ... and without a keyid it is tried and fails. */
		CHECK(s, verify(key, no_keyid, type, payload, &err) == 0);
		CHECK(s, verify(other, no_keyid, type, payload, &err) < 0 && strstr(err.message, "bad signature"));
		free(envelope);
		free(b64);
		free(sig);
		free(flipped_payload);
		free(flipped_sig);
		free(bad_payload);
		free(bad_sig);
		free(bad_type);
		free(no_keyid);
	}
	fixture_free(&f);
}

/* base64 standard or URL-safe, padded or not, is accepted; anything else is refused before
 * any signature is looked at. */
static void test_envelope_decoding(struct unit_state *s)
{
	const char *type = "application/vnd.factory.test";
	const char *payload = "\xfb\xff\xfe payload with bytes that differ in the two alphabets";
	struct fixture f;
	struct error err = {0};
	bool ready = fixture_make(s, &f);
	struct dsse_key *ed = f.ed;
	char *envelope, *b64, *url, *e;
	static const char *const refused[][2] = {
		{"not json", "is not JSON"},
		{"[]", "lacks a string"},
		{"{\"payload\": \"aGk=\", \"payloadType\": \"t\"}", "lacks a string"},
		{"{\"payload\": 1, \"payloadType\": \"t\", \"signatures\": []}", "lacks a string"},
		{"{\"payload\": \"aGk=\", \"payloadType\": \"t\", \"signatures\": []}", "has no signature"},
		{"{\"payload\": \"aGk=\", \"payloadType\": \"t\", \"signatures\": [{\"keyid\": \"x\"}]}", "needs a string \"sig\""},
		{"{\"payload\": \"aGk=\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\", \"keyid\": 3}]}",
		 "needs a string \"sig\""},
		{"{\"payload\": \"aGk=\", \"payload\": \"aGk=\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}",
		 "duplicate"},
		{"{\"payload\": \"aG k=\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		{"{\"payload\": \"aGk*\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		{"{\"payload\": \"a\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		{"{\"payload\": \"aGk==\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		{"{\"payload\": \"aG=k\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		/* "aGl=" has bits set past the last byte: a second spelling of "hi" */
		{"{\"payload\": \"aGl=\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		{"{\"payload\": \"+-8=\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"aGk=\"}]}", "payload is not base64"},
		{"{\"payload\": \"aGk=\", \"payloadType\": \"t\", \"signatures\": [{\"sig\": \"a\\nGk=\"}]}",
		 "signatures[0].sig is not base64"},
	};

	if (!ready)
		goto out;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK(s, verify(ed, refused[i][0], type, "", &err) < 0);
		if (!strstr(err.message, refused[i][1])) {
			fprintf(stderr, "  case %zu: got '%s', want '%s'\n", i, err.message, refused[i][1]);
			s->failures++;
		}
	}
	{
		char *none = NULL;
		size_t size = 0;
		/* The bound is checked before a byte is read. */
		CHECK(s, dsse_verify(ed, "{}", (size_t)DSSE_ENVELOPE_MAX + 1, type, &none, &size, &err) < 0);
		CHECK(s, err.code == ERROR_LIMIT && none == NULL);
	}
	envelope = sign(s, ed, type, payload);
	b64 = field_of(envelope, "payload");
	CHECK(s, strchr(b64, '+') || strchr(b64, '/'));
	url = xstrdup(b64);
	for (char *p = url; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	/* URL-safe, then URL-safe without padding */
	e = envelope_with(envelope, "payload", url);
	CHECK(s, verify(ed, e, type, payload, &err) == 0);
	free(e);
	*strchrnul(url, '=') = '\0';
	e = envelope_with(envelope, "payload", url);
	CHECK(s, verify(ed, e, type, payload, &err) == 0);
	free(e);
	free(url);
	free(b64);
	free(envelope);
out:
	fixture_free(&f);
}

static void test_key_refusals(struct unit_state *s)
{
	struct keys k = keys_make();
	struct dsse_key *key = NULL;
	struct error err = {0};

	CHECK(s, dsse_key_load(&key, k.rsa, NULL, &err) < 0 && key == NULL && err.code == ERROR_INVALID);
	CHECK(s, strstr(err.message, k.rsa) && strstr(err.message, "type RSA (2048 bits)") &&
		     strstr(err.message, "ECDSA P-256"));
	CHECK(s, dsse_key_load(&key, k.p384, NULL, &err) < 0 && strstr(err.message, "EC key on curve secp384r1"));
	CHECK(s, strstr(err.message, k.p384) != NULL);
	/* wrong passphrase, no passphrase */
	CHECK(s, dsse_key_load(&key, k.ec_encrypted, "not-" PASSPHRASE, &err) < 0 && err.code == ERROR_AUTH);
	CHECK(s, strstr(err.message, "passphrase is wrong or the key is damaged") && !strstr(err.message, PASSPHRASE));
	CHECK(s, strstr(err.message, k.ec_encrypted) != NULL);
	CHECK(s, dsse_key_load(&key, k.ec_traditional_encrypted, "Zebra-Quartz-91", &err) < 0 && err.code == ERROR_AUTH);
	CHECK(s, strstr(err.message, "passphrase is wrong") && !strstr(err.message, "Zebra-Quartz-91"));
	CHECK(s, dsse_key_load(&key, k.ed_encrypted, NULL, &err) < 0 && err.code == ERROR_AUTH);
	CHECK(s, strstr(err.message, "no passphrase was given") != NULL);
	/* A FIFO fails at once instead of waiting for a writer. */
	CHECK(s, dsse_key_load(&key, k.fifo, NULL, &err) < 0 && strstr(err.message, "not a regular file"));
	CHECK(s, dsse_public_key_load(&key, k.fifo, &err) < 0 && strstr(err.message, "not a regular file"));
	CHECK(s, dsse_key_load(&key, "/dev/null", NULL, &err) < 0 && strstr(err.message, "not a regular file"));
	/* one for the other */
	CHECK(s, dsse_key_load(&key, k.ec_public, NULL, &err) < 0 && strstr(err.message, "holds a public key"));
	CHECK(s, dsse_public_key_load(&key, k.ec, &err) < 0 && strstr(err.message, "holds a private key"));
	CHECK(s, dsse_public_key_load(&key, k.ec_encrypted, &err) < 0 && strstr(err.message, "holds a private key"));
	CHECK(s, dsse_key_load(&key, k.dir, NULL, &err) < 0 && strstr(err.message, "not a regular file"));
	{
		char *junk = fs_path_join(k.dir, "junk.pem");
		CHECK(s, fs_write_file_atomic(junk, "hello\n", 6, 0600, &err) == 0);
		CHECK(s, dsse_key_load(&key, junk, NULL, &err) < 0 && strstr(err.message, "no readable PEM private key"));
		CHECK(s, dsse_public_key_load(&key, junk, &err) < 0 && strstr(err.message, "no readable PEM public key"));
		free(junk);
	}
	CHECK(s, key == NULL);
	keys_free(&k);
}

const struct unit_test dsse_tests[] = {
	{"dsse_pae", test_pae},
	{"dsse_spec_vector", test_spec_vector},
	{"dsse_roundtrip", test_roundtrip},
	{"dsse_pem_forms", test_pem_forms},
	{"dsse_tampering", test_tampering},
	{"dsse_envelope_decoding", test_envelope_decoding},
	{"dsse_key_refusals", test_key_refusals},
	{NULL, NULL},
};
