#!/usr/bin/env bash
# The documents of a bundle (SBOMs, provenance, their DSSE envelopes: whatever bundle.json
# lists under "documents") attached to the pushed image as OCI artifacts that refer to it,
# against Debian's docker-registry (distribution 2.8: no referrers API, so the referrers tag
# schema), read back with curl and skopeo:
#   - the index under the tag sha256-<hex> lists one descriptor per document with its
#     artifactType, and keeps a referrer someone else listed there before the push;
#   - each artifact manifest has the image as its subject, the empty config, the document as
#     its one layer (byte for byte) and the bundle's SOURCE_DATE_EPOCH as its date;
#   - a second push sends no manifest and leaves the index as it was; a push of the same
#     bundle elsewhere makes the same artifact digests;
#   - a registry that refuses the artifact manifests (a proxy answering 400) leaves the image
#     pushed, exit 0, with a warning that names the registry, repository, document and
#     operation;
#   - a registry with the referrers API (the proxy adds it: faultproxy.py --referrers) is
#     trusted with the listing: no referrers tag is read or written;
#   - a document that does not match its sha256 fails the push before any request.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory

tmp=$(t_tmpdir)
image_build_base "$tmp/base" python
registry_start plain
registry_push_base plain "$tmp/base" 1.19.2 flink/base
mapfile -t PLAIN_FLAGS < <(registry_skopeo_flags plain)
REPO=team/app-docs

config() { # FILE HOST...
    local f=$1 h
    shift
    {
        printf 'apiVersion: factory.dev/v1alpha1\nkind: Config\ncache: {dir: %s}\nregistries:\n' "$tmp/cache"
        for h in "$@"; do printf '  - {host: "%s", insecure: true, credentials: none}\n' "$h"; done
    } > "$f"
}
config "$tmp/plain.yaml" "$PLAIN_HOST"

mkdir -p "$tmp/app"
printf 'conf\n' > "$tmp/app/app.conf"
cat > "$tmp/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: app-docs}
flink: {version: "1.19", image: "$PLAIN_HOST/flink/base:1.19.2"}
image:
  registry: "$PLAIN_HOST"
  repository: $REPO
  tags: ["1.0"]
  files: [{source: app.conf, destination: /opt/flink/conf-extra/app.conf}]
java: {jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML

# py EXPR [ARG...]: prints the python expression EXPR (json, sys, hashlib, time imported;
# A = the remaining arguments); lists and dicts as JSON.
py() {
    "$PYTHON" -c 'import json, sys, hashlib, time
A = sys.argv[2:]
r = eval(sys.argv[1])
print(json.dumps(r, sort_keys=True) if isinstance(r, (list, dict)) else r)' "$@"
}
# the artifactType a document's file name calls for (written out here, not asked of factory)
artifact_type() {
    case $1 in
        *.dsse.json) echo application/vnd.dsse.envelope.v1+json ;;
        *.spdx.json) echo application/spdx+json ;;
        *.cdx.json) echo application/vnd.cyclonedx+json ;;
        provenance.json) echo application/vnd.in-toto+json ;;
        *) echo application/octet-stream ;;
    esac
}
get() { # PATH [ACCEPT]: GET from the registry, the body on stdout
    curl -sf ${2:+-H "Accept: $2"} "$PLAIN_URL/v2/$1"
}

rc=0; SOURCE_DATE_EPOCH=1700000000 "$FACTORY" build --config "$tmp/plain.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/build.out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || { t_fail "build the app" "$(cat "$tmp/build.out")"; exit 0; }
APP=$tmp/out/app-docs
# A bundle whose build wrote no documents gets some here, listed in bundle.json as a build
# lists them (file name -> sha256): what is tested is the push of whatever bundle.json lists.
"$PYTHON" - "$APP" <<'PY'
import hashlib, json, os, sys
app = sys.argv[1]
path = os.path.join(app, "bundle.json")
b = json.load(open(path))
if not b.get("documents"):
    image = b["image"]["manifest"]
    texts = {
        "sbom.spdx.json": {"spdxVersion": "SPDX-2.3", "name": "app-docs", "packages": []},
        "sbom.cdx.json": {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []},
        "provenance.json": {"_type": "https://in-toto.io/Statement/v1",
                            "subject": [{"name": "app-docs", "digest": {"sha256": image[7:]}}]},
        "provenance.dsse.json": {"payloadType": "application/vnd.in-toto+json", "payload": "e30=",
                                 "signatures": [{"keyid": "test", "sig": "AAAA"}]},
    }
    docs = {}
    for name, doc in texts.items():
        data = (json.dumps(doc, indent=2) + "\n").encode()
        open(os.path.join(app, name), "wb").write(data)
        docs[name] = hashlib.sha256(data).hexdigest()
    b["documents"] = docs
    open(path, "w").write(json.dumps(b, sort_keys=True, separators=(",", ":")) + "\n")
PY
mapfile -t DOCS < <(py '"\n".join(sorted(json.load(open(A[0]))["documents"]))' "$APP/bundle.json")
N=${#DOCS[@]}
DIGEST=$(py 'json.load(open(A[0]))["image"]["manifest"]' "$APP/bundle.json")
TAG=sha256-${DIGEST#sha256:}
EPOCH=$(py 'json.load(open(A[0]))["sourceDateEpoch"]' "$APP/bundle.json")

# Someone else's referrer of the same image, listed under the tag before factory pushes:
# an artifact manifest (its blobs first) and the index naming it.
put_blob() { # DATA: POST then PUT (distribution 2.8 has no single-request upload); sets BLOB
    local loc
    BLOB=sha256:$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)
    loc=$(curl -sf -o /dev/null -w '%header{location}' -X POST "$PLAIN_URL/v2/$REPO/blobs/uploads/")
    [[ $loc == http* ]] || loc=$PLAIN_URL$loc
    printf '%s' "$1" | curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary @- "$loc&digest=$BLOB"
}
put_blob 'a signature from another tool'
sig=$BLOB
put_blob '{}'
foreign=$(py 'json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "artifactType": "application/vnd.example.signature", "config": {"mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
    "layers": [{"mediaType": "application/vnd.example.signature", "digest": A[0], "size": 29}],
    "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": A[1], "size": 1}},
    separators=(",", ":"))' "$sig" "$DIGEST")
FOREIGN=sha256:$(printf '%s' "$foreign" | sha256sum | cut -d' ' -f1)
printf '%s' "$foreign" | curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @- "$PLAIN_URL/v2/$REPO/manifests/$FOREIGN"
py 'json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": A[0], "size": int(A[1]),
     "artifactType": "application/vnd.example.signature"}]})' "$FOREIGN" "${#foreign}" |
    curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @- \
        "$PLAIN_URL/v2/$REPO/manifests/$TAG"
t_check "a foreign referrer is listed under $TAG before the push" sh -c \
    'curl -sf -H "Accept: application/vnd.oci.image.index.v1+json" "$1/v2/$2/manifests/$3" | grep -q "$4"' \
    _ "$PLAIN_URL" "$REPO" "$TAG" "$FOREIGN"

rc=0; "$FACTORY" push --json --config "$tmp/plain.yaml" "$APP" > "$tmp/push1.json" 2> "$tmp/push1.err" || rc=$?
attached() { py '"\n".join("%s %s %s" % (a["document"], a["digest"], a["artifactType"]) for a in json.load(open(A[0]))["pushed"]["attached"])' "$1"; }
if [[ $rc -eq 0 && $N -gt 0 ]] && [[ $(py 'len(json.load(open(A[0]))["pushed"]["attached"])' "$tmp/push1.json") -eq $N ]]; then
    t_ok "push: $N documents attached (--json lists them)"
else
    t_fail "push: $N documents attached (--json lists them)" "exit $rc: $(cat "$tmp/push1.json" "$tmp/push1.err")"
fi
declare -A ART
while read -r name digest type; do
    ART[$name]=$digest
    [[ $type == "$(artifact_type "$name")" ]] || t_fail "push --json: artifactType of $name" "$type"
done < <(attached "$tmp/push1.json")
t_check "push --json: the referrers tag is $TAG" sh -c '[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"pushed\"][\"referrersTag\"])" "$1")" = "$2" ]' _ "$tmp/push1.json" "$TAG"

# The fallback index, read with curl.
get "$REPO/manifests/$TAG" application/vnd.oci.image.index.v1+json > "$tmp/index1.json" || true
check_index() { # INDEX [DIGEST NAME TYPE]...: one descriptor per document with its artifactType,
                # the foreign one kept, sorted by digest
    "$PYTHON" - "$FOREIGN" "$@" <<'PY'
import json, sys
foreign, path, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
index = json.load(open(path))
want = dict(zip(rest[0::3], zip(rest[1::3], rest[2::3])))  # digest -> (name, type)
assert index.get("mediaType") == "application/vnd.oci.image.index.v1+json", index.get("mediaType")
m = index["manifests"]
digests = [d["digest"] for d in m]
assert digests == sorted(digests), "not sorted by digest"
assert len(set(digests)) == len(digests), "a digest listed twice"
assert foreign in digests, "the foreign referrer is gone"
for digest, (name, type_) in want.items():
    d = [x for x in m if x["digest"] == digest]
    assert len(d) == 1, "%s (%s) listed %d times" % (name, digest, len(d))
    assert d[0]["artifactType"] == type_, (name, d[0]["artifactType"])
    assert d[0]["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert d[0]["annotations"]["org.opencontainers.image.title"] == name
assert len(m) == len(want) + 1, "%d entries for %d documents and one foreign" % (len(m), len(want))
PY
}
want=()
for name in "${DOCS[@]}"; do want+=("${ART[$name]:-none}" "$name" "$(artifact_type "$name")"); done
t_check "curl: the index under $TAG lists each document once with its artifactType, sorted, the foreign referrer kept" \
    check_index "$tmp/index1.json" "${want[@]}"

# Each artifact, read with skopeo; its layer, fetched with curl, is the document.
manifest_size=$(stat -c %s "$APP/image/blobs/sha256/${DIGEST#sha256:}")
created=$(py 'time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(A[0])))' "$EPOCH")
for name in "${DOCS[@]}"; do
    a=${ART[$name]:-}
    if [[ -z $a ]]; then t_fail "artifact of $name" "not in the push's --json"; continue; fi
    skopeo inspect --raw "${PLAIN_FLAGS[@]}" "docker://$PLAIN_HOST/$REPO@$a" > "$tmp/art.json" 2>&1 || true
    t_check "skopeo: the artifact of $name refers to the image (subject $DIGEST, $manifest_size bytes)" "$PYTHON" -c '
import json, sys
m = json.load(open(sys.argv[1]))
s = m["subject"]
assert s["digest"] == sys.argv[2] and s["size"] == int(sys.argv[3]), s
assert s["mediaType"] == "application/vnd.oci.image.manifest.v1+json", s
assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
assert m["artifactType"] == sys.argv[4], m["artifactType"]
c = m["config"]
assert (c["mediaType"], c["digest"], c["size"]) == ("application/vnd.oci.empty.v1+json",
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2), c
assert len(m["layers"]) == 1 and m["layers"][0]["mediaType"] == sys.argv[4], m["layers"]
assert m["layers"][0]["annotations"]["org.opencontainers.image.title"] == sys.argv[5]
assert m["annotations"]["org.opencontainers.image.created"] == sys.argv[6], m["annotations"]
' "$tmp/art.json" "$DIGEST" "$manifest_size" "$(artifact_type "$name")" "$name" "$created"
    layer=$(py 'json.load(open(A[0]))["layers"][0]["digest"]' "$tmp/art.json" 2>/dev/null || echo none)
    get "$REPO/blobs/$layer" > "$tmp/layer.bin" || true
    t_check "curl: the layer of $name is the document byte for byte" cmp "$tmp/layer.bin" "$APP/$name"
done
t_check "curl: the empty config blob is the two bytes {}" sh -c '[ "$(curl -sf "$1/v2/$2/blobs/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")" = "{}" ]' _ "$PLAIN_URL" "$REPO"
got=$(skopeo inspect "${PLAIN_FLAGS[@]}" --format '{{.Digest}}' "docker://$PLAIN_HOST/$REPO:1.0" 2>&1 || true)
[[ $got == "$DIGEST" ]] && t_ok "skopeo: the image is there under its tag" || t_fail "skopeo: the image is there under its tag" "$got vs $DIGEST"
t_check "bundle.json records what is attached" "$PYTHON" -c '
import json, sys
b = json.load(open(sys.argv[1]))
want = dict(zip(sys.argv[2::2], sys.argv[3::2]))
got = {k: v["digest"] for k, v in b.get("attached", {}).items()}
assert got == want, (got, want)
for k, v in b["attached"].items():
    assert v["sha256"] == b["documents"][k], k
' "$APP/bundle.json" $(for n in "${DOCS[@]}"; do printf '%s %s ' "$n" "${ART[$n]:-none}"; done)

# A second push of the same bundle: no manifest PUT, no blob upload, the index unchanged.
cp "$APP/bundle.json" "$tmp/bundle.before"
mark=$(registry_log_mark plain)
rc=0; "$FACTORY" push --config "$tmp/plain.yaml" "$APP" > "$tmp/push2.out" 2>&1 || rc=$?
puts=$(registry_count plain manifests "" "$mark")
uploads=$(registry_count plain uploads "" "$mark")
if [[ $rc -eq 0 && $puts -eq 0 && $uploads -eq 0 ]] && grep -q "attached $N documents (already there: nothing sent" "$tmp/push2.out"; then
    t_ok "second push: no manifest put, no blob uploaded, 'attached $N documents'"
else
    t_fail "second push: no manifest put, no blob uploaded" "exit $rc, $puts manifest PUTs, $uploads uploads: $(cat "$tmp/push2.out")"
fi
get "$REPO/manifests/$TAG" application/vnd.oci.image.index.v1+json > "$tmp/index2.json" || true
t_check "second push: the index is byte for byte the same" cmp "$tmp/index1.json" "$tmp/index2.json"
t_check "second push: bundle.json unchanged" cmp "$tmp/bundle.before" "$APP/bundle.json"

# The same bundle to another repository: the same artifact digests (canonical, dated from
# SOURCE_DATE_EPOCH, never the clock).
cp -r "$APP" "$tmp/copy"
sed -i "s#\"repository\":\"$REPO\"#\"repository\":\"team/app-docs-copy\"#" "$tmp/copy/bundle.json"
sleep 1
rc=0; "$FACTORY" push --json --config "$tmp/plain.yaml" "$tmp/copy" > "$tmp/push3.json" 2> "$tmp/push3.err" || rc=$?
t_check "the same bundle pushed elsewhere: the same artifact digests" sh -c '[ "$0" -eq 0 ] && [ "$(cut -d" " -f1,2 "$1")" = "$(cut -d" " -f1,2 "$2")" ]' \
    "$rc" <(attached "$tmp/push1.json") <(attached "$tmp/push3.json")

# proxy NAME ARG...: faultproxy.py in front of the registry; sets PROXY_HOST and PROXY_LOG
proxy() {
    local name=$1 port
    shift
    port=$(harness_free_port)
    PROXY_HOST=127.0.0.1:$port
    PROXY_LOG=$(harness_dir "$name")/requests.jsonl
    # shellcheck disable=SC2016  # evaluated by harness_start
    harness_start "$name" 'curl -sf -o /dev/null --max-time 2 "http://$PROXY_HOST/_proxy_ready"' -- \
        "$PYTHON" "$TESTS_DIR/tools/faultproxy.py" --port "$port" --upstream "$PLAIN_URL" --log "$PROXY_LOG" "$@"
    config "$tmp/$name.yaml" "$PROXY_HOST"
}
# bundle_to DIR REPOSITORY: a copy of the bundle that goes to the proxy, into REPOSITORY
bundle_to() {
    cp -r "$APP" "$1"
    sed -i -e "s#\"registry\":\"$PLAIN_HOST\"#\"registry\":\"$PROXY_HOST\"#" \
        -e "s#\"repository\":\"$REPO\"#\"repository\":\"$2\"#" "$1/bundle.json"
}

# A registry that refuses the artifact manifests (an old one that rejects their media type or
# subject): the image push stands, exit 0, a warning per document.
proxy px --fail "PUT /v2/.*/manifests/sha256:(?!${DIGEST#sha256:}).*=400"
bundle_to "$tmp/refused" team/refused
rc=0; "$FACTORY" push --config "$tmp/px.yaml" "$tmp/refused" > "$tmp/push4.out" 2> "$tmp/push4.err" || rc=$?
got=$(skopeo inspect "${PLAIN_FLAGS[@]}" --format '{{.Digest}}' "docker://$PLAIN_HOST/team/refused:1.0" 2>&1 || true)
warned=$(grep -c "^factory: warning: attaching .*: registry $PROXY_HOST, repository team/refused: putting the manifest failed with HTTP 400" "$tmp/push4.err" || true)
if [[ $rc -eq 0 && $got == "$DIGEST" && $warned -eq $N ]] && grep -q "pushed $PROXY_HOST/team/refused@$DIGEST" "$tmp/push4.out" &&
    ! grep -q "^attached" "$tmp/push4.out"; then
    t_ok "refused artifacts: the image is pushed, exit 0, one warning per document naming registry, repository, document, operation"
else
    t_fail "refused artifacts: the image is pushed, exit 0, a warning per document" "exit $rc, $got, $warned warnings: $(cat "$tmp/push4.out" "$tmp/push4.err")"
fi
for name in "${DOCS[@]}"; do
    grep -q "attaching $name: " "$tmp/push4.err" || t_fail "refused artifacts: the warning names $name" "$(cat "$tmp/push4.err")"
done
t_check "refused artifacts: bundle.json records nothing attached" sh -c '! grep -q "\"attached\"" "$1"' _ "$tmp/refused/bundle.json"
rc=0; "$FACTORY" push --json --config "$tmp/px.yaml" "$tmp/refused" > "$tmp/push5.json" 2>&1 || rc=$?
t_check "refused artifacts: --json says ok, with the warnings and nothing attached" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = d["pushed"]
assert d["ok"] and p["attached"] == [] and len(p["warnings"]) == int(sys.argv[2]), p
' "$tmp/push5.json" "$N"
harness_stop px

# One that refuses the referrers index under the tag: the artifacts are in, but nothing lists
# them, so none counts as attached; one warning says why.
proxy px2 --fail "PUT /v2/.*/manifests/sha256-.*=400"
bundle_to "$tmp/refused-index" team/refused-index
rc=0; "$FACTORY" push --config "$tmp/px2.yaml" "$tmp/refused-index" > "$tmp/push7.out" 2> "$tmp/push7.err" || rc=$?
if [[ $rc -eq 0 && $(grep -c '^factory: warning:' "$tmp/push7.err") -eq 1 ]] &&
    grep -q "^factory: warning: listing the documents under the referrers tag $TAG: registry $PROXY_HOST, repository team/refused-index: putting the manifest failed with HTTP 400" "$tmp/push7.err" &&
    grep -q "pushed $PROXY_HOST/team/refused-index@$DIGEST" "$tmp/push7.out" && ! grep -q "^attached" "$tmp/push7.out"; then
    t_ok "refused referrers index: the image is pushed, exit 0, one warning naming the tag and the operation"
else
    t_fail "refused referrers index: the image is pushed, exit 0, one warning" "exit $rc: $(cat "$tmp/push7.out" "$tmp/push7.err")"
fi
harness_stop px2

# A registry with the referrers API: each PUT answered with OCI-Subject, so nothing more is
# done; a second push asks the API once and finds every artifact listed.
proxy api --referrers
bundle_to "$tmp/api" team/api
rc=0; "$FACTORY" push --json --config "$tmp/api.yaml" "$tmp/api" > "$tmp/api1.json" 2>&1 || rc=$?
tag_requests() { "$PYTHON" -c 'import json, sys; print(sum(1 for l in open(sys.argv[1]) if "/manifests/" + sys.argv[2] in json.loads(l)["path"]))' "$PROXY_LOG" "$TAG"; }
t_check "referrers API: $N documents attached, no referrers tag read or written" "$PYTHON" -c '
import json, sys
p = json.load(open(sys.argv[1]))["pushed"]
assert sys.argv[2] == "0" and len(p["attached"]) == int(sys.argv[3]) and p["referrersTag"] is None, p
assert all(a["sent"] for a in p["attached"]) and sys.argv[4] == "0", sys.argv[4]
' "$tmp/api1.json" "$rc" "$N" "$(tag_requests)"
rc=0; "$FACTORY" push --config "$tmp/api.yaml" "$tmp/api" > "$tmp/api2.out" 2>&1 || rc=$?
api_gets=$("$PYTHON" -c 'import json, sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["method"] == "GET" and "/referrers/" in json.loads(l)["path"]))' "$PROXY_LOG")
# the image's manifest, its tag and one artifact per document, all by the first push
puts=$("$PYTHON" -c 'import json, sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["method"] == "PUT" and "/manifests/" in json.loads(l)["path"]))' "$PROXY_LOG")
if [[ $rc -eq 0 && $api_gets -eq 1 && $(tag_requests) -eq 0 && $puts -eq $((N + 2)) ]] &&
    grep -q "attached $N documents (already there: nothing sent; listed by the registry's referrers API)" "$tmp/api2.out"; then
    t_ok "referrers API, second push: one GET of the referrers, no manifest put, no referrers tag"
else
    t_fail "referrers API, second push" "exit $rc, $api_gets referrers GETs, $(tag_requests) tag requests, $puts PUTs: $(cat "$tmp/api2.out")"
fi
harness_stop api

# A document that is not what bundle.json says fails the push before anything is sent.
cp -r "$APP" "$tmp/changed"
sed -i "s#\"repository\":\"$REPO\"#\"repository\":\"team/changed\"#" "$tmp/changed/bundle.json"
printf 'edited\n' >> "$tmp/changed/${DOCS[0]}"
mark=$(registry_log_mark plain)
rc=0; "$FACTORY" push --config "$tmp/plain.yaml" "$tmp/changed" > "$tmp/push8.out" 2>&1 || rc=$?
if [[ $rc -eq 1 && $(registry_count plain requests team/changed "$mark") -eq 0 ]] &&
    grep -q "factory: error: .*${DOCS[0]} has the sha256 [0-9a-f]*, .*bundle.json lists [0-9a-f]*: .*nothing was pushed" "$tmp/push8.out"; then
    t_ok "a changed document: the push fails before any request, naming the document"
else
    t_fail "a changed document: the push fails before any request" "exit $rc: $(cat "$tmp/push8.out")"
fi

# build --push attaches whatever the bundle it writes lists.
rc=0; SOURCE_DATE_EPOCH=1700000000 "$FACTORY" build --push --json --config "$tmp/plain.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/push6.json" 2> "$tmp/push6.err" || rc=$?
t_check "build --push: attaches each document its bundle lists" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
docs = json.load(open(sys.argv[2])).get("documents", {})
got = sorted(a["document"] for a in d["pushed"]["attached"])
assert sys.argv[3] == "0" and d["ok"] and got == sorted(docs) and d["pushed"]["warnings"] == [], (got, sorted(docs))
' "$tmp/push6.json" "$APP/bundle.json" "$rc"
exit 0
