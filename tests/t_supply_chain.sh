#!/usr/bin/env bash
# The bundle as one verifiable unit: bundle.json, SBOMs (SPDX 2.3, CycloneDX 1.6), SLSA
# provenance and their DSSE signatures, checked with tools nobody here wrote.
#   - both SBOMs validate against the published JSON schemas (tests/schemas/sbom) and list
#     exactly the recipe's inputs: each JAR, wheel, file and the base, with the sha256 of the
#     file in the cache and purls as the purl spec writes them
#   - two builds in different directories, as different users, with other umasks, time
#     zones, locales and times (SOURCE_DATE_EPOCH fixed) give byte-identical bundle.json,
#     SBOMs and provenance
#   - the signatures verify with openssl alone (tests/tools/dsse_verify.sh), and fail once
#     one byte of the payload changes
#   - factory verify passes on an untouched bundle and names each of six tamperings;
#     factory verify RECIPE rebuilds and names the layer a changed input changes
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/wheels.sh"
t_need_factory
PYTHON=${PYTHON:-/usr/bin/python3}

tmp=$(t_tmpdir)
chmod 755 "$T_TMP" "$tmp" # the second build runs as another user
image_build_base "$tmp/base" python
maven_build_repo "$tmp/maven" 2 > /dev/null
maven_serve "$tmp/maven" > /dev/null
wheels_index "$tmp/index"
HELLO=hello_flink-1.0.0-py3-none-any.whl
HELLO_SHA=$(awk -F'\t' -v f="files/$HELLO" '$1 == f {print $4}' "$WHEELS_INDEX_LIST")
FIXTURE=$(grep -m1 '^org.example.fixture:' "$MAVEN_FIXTURE_COORDS")
export SOURCE_DATE_EPOCH=1700000000

# The signing key (ECDSA P-256, its passphrase from the environment) and its public half.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass pass:Sign-Secret-9 \
    -out "$tmp/signing.pem" 2> /dev/null
openssl pkey -in "$tmp/signing.pem" -passin pass:Sign-Secret-9 -pubout -out "$tmp/signing.pub" 2> /dev/null
chmod 644 "$tmp/signing.pem"
export FACTORY_TEST_SIGNING_PASSPHRASE=Sign-Secret-9

# app DIR: the recipe and everything it names, with the base beside it (relative paths only,
# so that two copies in different directories are the same inputs)
app() {
    mkdir -p "$1/jobs" "$1/conf"
    cp -a "$tmp/base" "$1/base"
    cp "$tmp/index/files/$HELLO" "$1/"
    printf 'print("job")\n' > "$1/jobs/main.py"
    printf 'app.mode: production\n' > "$1/conf/app.conf"
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: chain}
flink: {version: 1.19.2, image: "oci:base:1.19.2"}
image:
  registry: registry.example.com
  repository: team/chain
  tags: ["1.0"]
  files: [{source: conf/app.conf, destination: /opt/flink/conf/app.conf}]
connectors:
  - maven: org.apache.flink:flink-connector-jdbc:3.3.0-1.19
  - maven: $FIXTURE
python:
  scripts: [jobs/main.py]
  requirements:
    - {name: hello-flink, version: 1.0.0, sha256: [$HELLO_SHA], file: $HELLO}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
    cat > "$1/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
cache: {dir: $1/cache}
maven: {repositories: [{name: fixture, url: "$MAVEN_URL_OPEN/"}]}
signing: {key: $tmp/signing.pem, passphrase: "\${FACTORY_TEST_SIGNING_PASSPHRASE}"}
YAML
}

app "$tmp/a"
mkdir -p "$tmp/elsewhere/deeper"
app "$tmp/elsewhere/deeper/b"
chown -R nobody:nogroup "$tmp/elsewhere"
rc=0
(cd "$tmp/a" && umask 022 && TZ=UTC LC_ALL=C "$FACTORY" build -q -o out recipe.yaml) > "$tmp/a.log" 2>&1 || rc=$?
t_check "build A (root, umask 022, UTC, C locale)" sh -c '[ "$1" -eq 0 ] || { cat "$2"; exit 1; }' _ "$rc" "$tmp/a.log"
sleep 1
rc=0
(cd "$tmp/elsewhere/deeper/b" && umask 077 &&
    setpriv --reuid nobody --regid nogroup --clear-groups env HOME="$tmp/elsewhere" TZ=Asia/Tokyo LC_ALL=C.UTF-8 \
        FACTORY_TEST_SIGNING_PASSPHRASE=Sign-Secret-9 SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH \
        "$FACTORY" build -q -o out recipe.yaml) > "$tmp/b.log" 2>&1 || rc=$?
t_check "build B (nobody, umask 077, Asia/Tokyo, C.UTF-8, another directory, a second later)" \
    sh -c '[ "$1" -eq 0 ] || { cat "$2"; exit 1; }' _ "$rc" "$tmp/b.log"
A=$tmp/a/out/chain
B=$tmp/elsewhere/deeper/b/out/chain
for f in bundle.json sbom.spdx.json sbom.cdx.json provenance.json; do
    t_check "reproducible: $f is byte-identical in both builds" cmp "$A/$f" "$B/$f"
done
t_check "no secret and no machine path in any document" sh -c \
    '! grep -l -e Sign-Secret-9 -e "$2" -e /elsewhere "$1"/bundle.json "$1"/sbom.*.json "$1"/provenance*.json' _ "$A" "$tmp"

# A rebuild with nothing to do keeps the signed bundle as it is: an ECDSA signature differs
# each time, so a valid envelope for the same payload is kept rather than signed again.
before=$(stat -c %i:%Y "$A" "$A/provenance.dsse.json" "$A/bundle.json")
(cd "$tmp/a" && "$FACTORY" build -q -o out recipe.yaml) > /dev/null 2>&1
t_check "a signed bundle rebuilt with nothing to do is not written again" \
    test "$before" = "$(stat -c %i:%Y "$A" "$A/provenance.dsse.json" "$A/bundle.json")"

# ---- the SBOMs: schemas, and exactly the recipe's inputs ----------------------------------
t_check "sbom.spdx.json validates against the SPDX 2.3 schema" "$PYTHON" "$TESTS_DIR/tools/validate_sbom.py" spdx "$A/sbom.spdx.json"
t_check "sbom.cdx.json validates against the CycloneDX 1.6 schema" "$PYTHON" "$TESTS_DIR/tools/validate_sbom.py" cyclonedx "$A/sbom.cdx.json"
t_check "the SBOMs list exactly the recipe's inputs, with the cache's sha256 and spec purls" "$PYTHON" - \
    "$A" "$tmp/a/cache" "$FIXTURE" "$HELLO_SHA" <<'PY'
import hashlib, json, os, sys
app, cache, fixture, hello_sha = sys.argv[1:]
g, a, v = fixture.split(":")
want_purls = {
    "pkg:maven/org.apache.flink/flink-connector-jdbc@3.3.0-1.19",
    "pkg:maven/%s/%s@%s" % (g, a, v),
    "pkg:pypi/hello-flink@1.0.0",
}
def cached(sha):
    p = os.path.join(cache, "blobs", "sha256", sha)
    assert os.path.exists(p), sha
    assert hashlib.sha256(open(p, "rb").read()).hexdigest() == sha, p
spdx = json.load(open(os.path.join(app, "sbom.spdx.json")))
cdx = json.load(open(os.path.join(app, "sbom.cdx.json")))
# CycloneDX: every library component, by purl, with its sha256
libs = {c.get("purl"): c for c in cdx["components"] if c.get("purl", "").startswith(("pkg:maven/", "pkg:pypi/"))}
assert set(libs) == want_purls, sorted(libs)
for purl, c in libs.items():
    sha = [h["content"] for h in c["hashes"] if h["alg"] == "SHA-256"][0]
    cached(sha)
    if purl.startswith("pkg:pypi/"):
        assert sha == hello_sha, (sha, hello_sha)
# SPDX: the same purls, the same digests
purls = {}
for p in spdx["packages"]:
    for r in p.get("externalRefs", []):
        if r["referenceType"] == "purl":
            purls[r["referenceLocator"]] = p
assert want_purls <= set(purls), sorted(purls)
for purl in want_purls:
    sha = [c["checksumValue"] for c in purls[purl]["checksums"] if c["algorithm"] == "SHA256"][0]
    assert sha == [h["content"] for h in libs[purl]["hashes"] if h["alg"] == "SHA-256"][0], purl
assert any(k.startswith("pkg:oci/") and "sha256%3A" in k for k in purls), sorted(purls)
# the file of image.files, with the sha256 of the recipe's file
conf = hashlib.sha256(open(os.path.join(app, "..", "..", "conf", "app.conf"), "rb").read()).hexdigest()
assert conf in json.dumps(cdx) and conf in json.dumps(spdx), conf
PY

# ---- signatures: openssl alone -------------------------------------------------------------
for f in provenance sbom.spdx sbom.cdx; do
    t_check "$f.dsse.json verifies with openssl alone" "$TESTS_DIR/tools/dsse_verify.sh" "$A/$f.dsse.json" "$tmp/signing.pub"
done
t_check "the envelope's payload is provenance.json itself" "$PYTHON" - "$A" <<'PY'
import base64, json, sys
d = sys.argv[1]
env = json.load(open(d + "/provenance.dsse.json"))
assert env["payloadType"] == "application/vnd.in-toto+json", env["payloadType"]
assert base64.b64decode(env["payload"]) == open(d + "/provenance.json", "rb").read()
PY
"$PYTHON" - "$A/provenance.dsse.json" "$tmp/forged.dsse.json" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
p = bytearray(base64.b64decode(env["payload"]))
p[10] ^= 1
env["payload"] = base64.b64encode(bytes(p)).decode()
json.dump(env, open(sys.argv[2], "w"))
PY
t_check "one byte of the payload changed: openssl refuses the signature" sh -c \
    '! "$1" "$2" "$3" > /dev/null 2>&1' _ "$TESTS_DIR/tools/dsse_verify.sh" "$tmp/forged.dsse.json" "$tmp/signing.pub"

# ---- factory verify: untouched, then six tamperings ------------------------------------------
verify() { # DIR: factory verify with the public key; sets RC and OUT
    RC=0
    OUT=$(cd "$tmp/a" && "$FACTORY" verify "$1" 2>&1) || RC=$?
}
verify out/chain
t_check "factory verify: an untouched bundle passes, its signatures checked" sh -c \
    '[ "$1" -eq 0 ] && ! printf "%s" "$2" | grep -q "not signed"' _ "$RC" "$OUT"
tamper() { # NAME EXPECTED-REGEX COMMAND...: on a copy of the bundle
    local name=$1 want=$2
    shift 2
    rm -rf "$tmp/a/out/t"
    cp -a "$A" "$tmp/a/out/t"
    (cd "$tmp/a/out/t" && "$@")
    verify out/t
    if [[ $RC -eq 1 ]] && grep -Eq -- "$want" <<< "$OUT"; then
        t_ok "factory verify names the tampering: $name"
    else
        t_fail "factory verify names the tampering: $name" "exit $RC: $OUT"
    fi
}
tamper "a manifest edited" "manifests/flinkdeployment.yaml was changed after the build" \
    sed -i 's/replicas: 1/replicas: 9/; $a # edited' manifests/flinkdeployment.yaml
tamper "a file added to manifests/" "manifests/extra.yaml is not part of the bundle" \
    sh -c 'printf "kind: Secret\n" > manifests/extra.yaml'
tamper "a layer blob changed in the layout" "blobs/sha256/[0-9a-f]{64} is damaged" \
    sh -c 'b=$(ls -S image/blobs/sha256 | head -1); cp image/blobs/sha256/$b x; printf X >> x; mv x image/blobs/sha256/$b'
tamper "the SBOM edited" "sbom.spdx.json was changed after the build" \
    sed -i 's/NOASSERTION/NONE/' sbom.spdx.json
tamper "a wrong signature" "provenance.dsse.json: .*signature" \
    "$PYTHON" -c 'import json; e=json.load(open("provenance.dsse.json")); s=e["signatures"][0]; s["sig"]=s["sig"][:8]+("A" if s["sig"][8]!="A" else "B")+s["sig"][9:]; json.dump(e, open("provenance.dsse.json","w"))'
tamper "bundle.json points at another image" "records the image" \
    "$PYTHON" -c 'import json; b=json.load(open("bundle.json")); b["image"]["manifest"]="sha256:"+"0"*64; json.dump(b, open("bundle.json","w"))'
rm -rf "$tmp/a/out/t"

# ---- factory verify RECIPE: a rebuild from the lock ------------------------------------------
rc=0; out=$(cd "$tmp/a" && "$FACTORY" verify recipe.yaml 2>&1) || rc=$?
t_check "factory verify RECIPE: the rebuild gives every digest of the bundle" sh -c '[ "$1" -eq 0 ] || { echo "$2"; exit 1; }' _ "$rc" "$out"
printf 'app.mode: staging\n' > "$tmp/a/conf/app.conf"
rc=0; out=$(cd "$tmp/a" && "$FACTORY" verify recipe.yaml 2>&1) || rc=$?
t_check "factory verify RECIPE: a changed input is named by the layer it changes" sh -c \
    '[ "$1" -eq 1 ] && printf "%s" "$2" | grep -q "layer [0-9]* (files) differs" && printf "%s" "$2" | grep -q "the image manifest differs"' _ "$rc" "$out"

exit 0
