/* dsse.h - DSSE envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse): signing and
 * verifying a payload with an ECDSA P-256 or Ed25519 key.
 *
 * The signature covers the PAE ("pre-authentication encoding") of the payload type and the
 * payload, so neither can be swapped without breaking it. ECDSA P-256 signs SHA-256 of the PAE
 * with a DER signature, as cosign and `openssl dgst -sha256 -sign` do; Ed25519 signs the PAE
 * itself (pure Ed25519, as `openssl pkeyutl -sign -rawin`).
 *
 * Ed25519 signatures are deterministic: the same key and payload give the same envelope byte
 * for byte. ECDSA signatures are not with OpenSSL 3.0 (its nonce is random; OpenSSL 3.2 and
 * later are asked for RFC 6979 nonces and then they are): everything in the envelope but the
 * `sig` bytes is the same between runs, and every such envelope verifies. A writer that must
 * not rewrite an unchanged file keeps an envelope that still verifies for the same payload
 * rather than signing again.
 */
#ifndef FACTORY_DSSE_H
#define FACTORY_DSSE_H

#include <stddef.h>

#include "error.h"

/* Bounds on what is signed and read back: a payload (a manifest, a bill of materials) is far
 * smaller; the envelope adds base64 and the signatures. */
#define DSSE_PAYLOAD_MAX (64u << 20)
#define DSSE_ENVELOPE_MAX (DSSE_PAYLOAD_MAX / 3 * 4 + (1u << 20))

struct dsse_key;

/* Loads a PEM private key (PKCS#8 or the traditional "EC PRIVATE KEY" form, encrypted or not)
 * from a regular file. `passphrase` may be NULL for an unencrypted key. Any key but ECDSA
 * P-256 or Ed25519 is refused (ERROR_INVALID, naming the file and the type found); an
 * encrypted key without a passphrase, a wrong passphrase or a damaged encrypted key is
 * ERROR_AUTH. No message holds the passphrase. */
int dsse_key_load(struct dsse_key **out, const char *pem_path, const char *passphrase, struct error *err);

/* Loads a PEM public key ("BEGIN PUBLIC KEY", SubjectPublicKeyInfo), the same algorithms. */
int dsse_public_key_load(struct dsse_key **out, const char *pem_path, struct error *err);

void dsse_key_free(struct dsse_key *key);

/* The key's id, written into every signature it makes: the lowercase hex SHA-256 of the DER
 * SubjectPublicKeyInfo of its public part, so a private key and its public key have the same
 * id and an envelope names the key that verifies it. */
const char *dsse_key_id(const struct dsse_key *key);

/* PAE(type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload, LEN being the
 * byte length in ASCII decimal: the bytes a signature covers. Returns a malloc'd buffer of
 * *out_size bytes (NUL-terminated beyond them). */
char *dsse_pae(const char *type, const void *payload, size_t size, size_t *out_size);

/* Signs `payload` as `payload_type` with a private key and returns the envelope, malloc'd
 * (NUL-terminated, not counted in *envelope_size): JSON with sorted keys, 2-space indentation
 * and a trailing newline, holding base64 `payload`, `payloadType` and one signature with this
 * key's `keyid`. */
int dsse_sign(const struct dsse_key *key, const char *payload_type, const void *payload, size_t size,
	      char **envelope, size_t *envelope_size, struct error *err);

/* Verifies an envelope with `public_key` (a private key verifies with its public part) and
 * returns its payload, malloc'd (NUL-terminated, not counted in *payload_size). Signatures
 * whose keyid names another key are passed over; those without a keyid are tried. The payload
 * type must equal `expected_type`. Malformed JSON or base64 is ERROR_INVALID (ERROR_LIMIT past
 * DSSE_ENVELOPE_MAX), and so is each refusal, whose message says which: no signature for this
 * key, a bad signature, or the wrong payload type. */
int dsse_verify(const struct dsse_key *public_key, const char *envelope, size_t size, const char *expected_type,
		char **payload, size_t *payload_size, struct error *err);

#endif
