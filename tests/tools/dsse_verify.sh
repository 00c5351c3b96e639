#!/usr/bin/env bash
# Verifies a DSSE envelope with openssl alone, independently of factory's own code.
#
# usage: dsse_verify.sh ENVELOPE PUBLIC_KEY_PEM [PAYLOAD_TYPE]
#
# python3 (json, base64) reads the envelope: payload, payloadType and each signature, base64
# standard or URL-safe, padded or not; the PAE
#     "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
# is rebuilt byte for byte. The key decides how it is checked (from `openssl pkey -text`):
#     ECDSA P-256: openssl dgst -sha256 -verify PUB -signature SIG PAE   (DER signature)
#     Ed25519:     openssl pkeyutl -verify -pubin -inkey PUB -rawin -in PAE -sigfile SIG
# Signatures whose keyid names another key (keyid: hex SHA-256 of the key's DER
# SubjectPublicKeyInfo) are passed over; those without one are tried. With PAYLOAD_TYPE the
# envelope's payloadType must equal it too.
#
# Exit status: 0 only when openssl says "Verified OK" / "Signature Verified Successfully" for
# one signature; 1 when no signature verifies (or the type differs); 2 for a usage error, an
# unreadable envelope or an unsupported key.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: dsse_verify.sh ENVELOPE PUBLIC_KEY_PEM [PAYLOAD_TYPE]" >&2
    exit 2
fi
envelope=$1
pub=$2
want_type=${3-}
PYTHON=${PYTHON:-python3}

work=$(mktemp -d "${TMPDIR:-/tmp}/dsse-verify.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

text=$(openssl pkey -pubin -in "$pub" -text -noout 2>"$work/pkey.err") || {
    echo "dsse_verify.sh: $pub is not a PEM public key: $(head -n 1 "$work/pkey.err")" >&2
    exit 2
}
if grep -q '^ED25519 Public-Key' <<<"$text"; then
    kind=ed25519
elif grep -Eq 'ASN1 OID: prime256v1|NIST CURVE: P-256' <<<"$text"; then
    kind=p256
else
    echo "dsse_verify.sh: $pub is neither an ECDSA P-256 nor an Ed25519 key" >&2
    exit 2
fi
keyid=$(openssl pkey -pubin -in "$pub" -outform DER | sha256sum | cut -d' ' -f1)

# Writes $work/pae, $work/type (the payloadType) and $work/sig.N for each signature to try;
# prints how many there are.
set +e
"$PYTHON" - "$envelope" "$work" "$keyid" >"$work/out" 2>"$work/py.err" <<'EOF'
import base64, binascii, json, sys

path, work, keyid = sys.argv[1:4]

def b64(s):
    if not isinstance(s, str):
        raise ValueError("not a string")
    alt = b"-_" if ("-" in s or "_" in s) else None
    raw = base64.b64decode(s + "=" * (-len(s) % 4), altchars=alt, validate=True)
    # One spelling per byte string, as factory reads it: no stray bits after the last byte.
    if base64.b64encode(raw, altchars=alt).rstrip(b"=") != s.rstrip("=").encode():
        raise ValueError("not canonical base64")
    return raw

with open(path, "rb") as f:
    env = json.load(f)
body = b64(env["payload"])
ptype = env["payloadType"]
if not isinstance(ptype, str):
    raise ValueError("payloadType is not a string")
t = ptype.encode("utf-8")
with open(work + "/pae", "wb") as f:
    f.write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body))
n = 0
for s in env["signatures"]:
    if (s.get("keyid") or "") not in ("", keyid):
        continue
    with open("%s/sig.%d" % (work, n), "wb") as f:
        f.write(b64(s["sig"]))
    n += 1
with open(work + "/type", "wb") as f:
    f.write(t)
print(n)
EOF
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "dsse_verify.sh: cannot read the envelope $envelope: $(tail -n 1 "$work/py.err")" >&2
    exit 2
fi
type=$(<"$work/type")
count=$(<"$work/out")

if [[ -n $want_type && $type != "$want_type" ]]; then
    echo "dsse_verify.sh: the payload type is '$type', not '$want_type'" >&2
    exit 1
fi
if [[ $count -eq 0 ]]; then
    echo "dsse_verify.sh: no signature in $envelope for key $keyid" >&2
    exit 1
fi
for ((i = 0; i < count; i++)); do
    if [[ $kind == p256 ]]; then
        out=$(openssl dgst -sha256 -verify "$pub" -signature "$work/sig.$i" "$work/pae" 2>&1) || true
        ok="Verified OK"
    else
        out=$(openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/pae" -sigfile "$work/sig.$i" 2>&1) || true
        ok="Signature Verified Successfully"
    fi
    if [[ $out == "$ok" ]]; then
        echo "$ok"
        exit 0
    fi
done
echo "dsse_verify.sh: openssl did not verify $envelope with $pub: $out" >&2
exit 1
