#!/usr/bin/env bash
# DSSE envelopes against openssl, both ways, with keys made by `openssl genpkey`:
#   - envelopes factory signs (ECDSA P-256 in every PEM form, Ed25519) verify with openssl
#     alone (tests/tools/dsse_verify.sh), and no longer do once one payload or signature byte
#     changes; their keyid is the SHA-256 of the DER public key as openssl writes it;
#   - a PAE signed by openssl, in an envelope without keyid, verifies with factory's code;
#   - Ed25519: factory's signature is openssl's to the byte.
# The payload holds a NUL, a newline and bytes past ASCII, and one is empty: the PAE must be
# rebuilt byte for byte on both sides.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"

DSSE_TOOL=${DSSE_TOOL:-$REPO/build/dsse-tool-san}
if [[ ! -x $DSSE_TOOL ]]; then
    echo "DSSE_TOOL is not an executable (DSSE_TOOL='$DSSE_TOOL'); make test builds it" >&2
    exit 1
fi
VERIFY=$TESTS_DIR/tools/dsse_verify.sh
TYPE=application/vnd.factory.test+json
tmp=$(t_tmpdir)
cd "$tmp"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.pem 2>/dev/null
openssl ec -in ec.pem -out ec-traditional.pem 2>/dev/null
openssl pkcs8 -topk8 -in ec.pem -passout pass:Lemon-Tree-42 -out ec-encrypted.pem
openssl ec -in ec.pem -aes256 -passout pass:Lemon-Tree-42 -out ec-traditional-encrypted.pem 2>/dev/null
for k in ec ed; do openssl pkey -in $k.pem -pubout -out $k.pub; done
printf 'kind: FlinkDeployment\n\0\xff\xfe caf\xc3\xa9\n' > payload
: > empty

# envelope_with_changed_byte IN OUT FIELD: one bit of byte 10 of the payload or the signature
# flipped, the field encoded again.
envelope_with_changed_byte() {
    "$PYTHON" - "$@" <<'EOF'
import base64, json, sys
src, dst, field = sys.argv[1:4]
env = json.load(open(src))
holder = env if field == "payload" else env["signatures"][0]
raw = bytearray(base64.b64decode(holder[field]))
raw[10] ^= 1
holder[field] = base64.b64encode(bytes(raw)).decode()
json.dump(env, open(dst, "w"), indent=2, sort_keys=True)
EOF
}

# refused NAME WANT CMD [ARG...]: CMD fails, saying WANT on stderr.
refused() {
    local name=$1 want=$2 rc=0
    shift 2
    "$@" > /dev/null 2> "$tmp/refused.err" || rc=$?
    if [[ $rc -ne 0 ]] && grep -qF -- "$want" "$tmp/refused.err"; then
        t_ok "$name"
    else
        t_fail "$name" "exit $rc: $(cat "$tmp/refused.err")"
    fi
}

# checks NAME KEY PUB PAYLOAD: factory signs, openssl verifies, a changed byte is refused.
checks() {
    local name=$1 key=$2 pub=$3 payload=$4 keyid want
    if ! "$DSSE_TOOL" sign "$key" "$TYPE" "$payload" > "$name.json" 2> "$name.err"; then
        t_fail "$name: factory signs" "$(cat "$name.err")"
        return
    fi
    t_check "$name: openssl verifies factory's envelope" "$VERIFY" "$name.json" "$pub" "$TYPE"
    keyid=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["signatures"][0]["keyid"])' "$name.json")
    want=$(openssl pkey -pubin -in "$pub" -outform DER | sha256sum | cut -d' ' -f1)
    [[ $keyid == "$want" ]] && t_ok "$name: keyid is the sha256 of the DER public key" ||
        t_fail "$name: keyid is the sha256 of the DER public key" "$keyid, openssl: $want"
    "$DSSE_TOOL" verify "$pub" "$TYPE" "$name.json" > "$name.out"
    t_check "$name: factory verifies its envelope and returns the payload" cmp "$name.out" "$payload"
    if [[ -s $payload ]]; then
        envelope_with_changed_byte "$name.json" "$name-payload.json" payload
        refused "$name: openssl refuses a changed payload byte" "did not verify" "$VERIFY" "$name-payload.json" "$pub"
        refused "$name: factory refuses a changed payload byte" "bad signature" \
            "$DSSE_TOOL" verify "$pub" "$TYPE" "$name-payload.json"
    fi
    envelope_with_changed_byte "$name.json" "$name-sig.json" sig
    refused "$name: openssl refuses a changed signature byte" "did not verify" "$VERIFY" "$name-sig.json" "$pub"
    refused "$name: factory refuses a changed signature byte" "bad signature" "$DSSE_TOOL" verify "$pub" "$TYPE" "$name-sig.json"
    refused "$name: openssl refuses another payload type" "not 'other/type'" "$VERIFY" "$name.json" "$pub" other/type
}

checks ec ec.pem ec.pub payload
checks ec-empty ec.pem ec.pub empty
checks ec-traditional ec-traditional.pem ec.pub payload
DSSE_PASSPHRASE=Lemon-Tree-42 checks ec-encrypted ec-encrypted.pem ec.pub payload
DSSE_PASSPHRASE=Lemon-Tree-42 checks ec-traditional-encrypted ec-traditional-encrypted.pem ec.pub payload
checks ed ed.pem ed.pub payload
checks ed-empty ed.pem ed.pub empty
refused "the Ed25519 key does not verify the ECDSA envelope" "no signature" "$VERIFY" ec.json ed.pub

# The other way: openssl signs the PAE, the envelope has no keyid, factory verifies.
"$PYTHON" - "$TYPE" payload pae <<'EOF'
import sys
t, body = sys.argv[1].encode(), open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body))
EOF
openssl dgst -sha256 -sign ec.pem -out ec.sig pae
openssl pkeyutl -sign -inkey ed.pem -rawin -in pae -out ed.sig
for k in ec ed; do
    "$PYTHON" - "$TYPE" payload $k.sig > $k-openssl.json <<'EOF'
import base64, json, sys
b64 = lambda path: base64.b64encode(open(path, "rb").read()).decode()
print(json.dumps({"payload": b64(sys.argv[2]), "payloadType": sys.argv[1], "signatures": [{"sig": b64(sys.argv[3])}]}))
EOF
    if "$DSSE_TOOL" verify $k.pub "$TYPE" $k-openssl.json > $k-openssl.out 2> $k-openssl.err; then
        t_check "$k: factory verifies openssl's signature of the PAE" cmp $k-openssl.out payload
    else
        t_fail "$k: factory verifies openssl's signature of the PAE" "$(cat $k-openssl.err)"
    fi
    t_check "$k: dsse_verify.sh verifies an envelope without keyid" "$VERIFY" $k-openssl.json $k.pub "$TYPE"
done

# Ed25519 is deterministic: factory's signature is openssl's, and signing again changes nothing.
"$PYTHON" -c 'import base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["signatures"][0]["sig"]))' \
    ed.json > ed-factory.sig
t_check "Ed25519: factory's signature equals openssl's" cmp ed-factory.sig ed.sig
"$DSSE_TOOL" sign ed.pem "$TYPE" payload > ed-again.json
t_check "Ed25519: the same key and payload give the same envelope" cmp ed.json ed-again.json
