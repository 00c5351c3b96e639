#!/usr/bin/env bash
# The plan resolves every input before assembly: after one build (or `factory fetch`), a
# build with the registry, the Maven repository and the package index all shut down still
# builds, byte for byte; factory.lock (format 2) pins the base per platform and every wheel;
# a registry tag moved to another image does not move a locked build; --frozen refuses a
# local base whose digest moved and names both digests; a format-1 lock is still read.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/registry.sh"
. "$TESTS_DIR/wheels.sh"
t_need_factory

tmp=$(t_tmpdir)
PYTHON=${PYTHON:-/usr/bin/python3}
maven_build_repo "$tmp/maven" 2 > /dev/null
maven_serve "$tmp/maven" > /dev/null
registry_start registry > /dev/null
image_build_base "$tmp/base" python
registry_push_base registry "$tmp/base" 1.19.2 flink/flink > /dev/null
wheels_index "$tmp/index"
wheels_serve "$tmp/index"
HELLO_SHA=$(awk -F'\t' '$1 == "files/hello_flink-1.0.0-py3-none-any.whl" {print $4}' "$WHEELS_INDEX_LIST")

cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: local, url: "$MAVEN_URL_OPEN"}]
registries: [{host: "$REGISTRY_HOST", insecure: true, credentials: none}]
python: {index: ["$WHEELS_URL/simple"]}
cache: {dir: $tmp/cache}
YAML
app=$tmp/app
mkdir -p "$app/jobs"
printf 'print("job")\n' > "$app/jobs/main.py"
printf 'hello-flink==1.0.0 \\\n    --hash=sha256:%s\n' "$HELLO_SHA" > "$app/requirements.txt"
recipe() { # IMAGE
    cat > "$app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: planned}
flink: {version: 1.19.2, image: "$1"}
image: {repository: team/planned, tags: ["1.0"]}
connectors: [{name: kafka}]
python:
  scripts: [jobs/main.py]
  requirements: requirements.txt
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
build() { "$FACTORY" build --config "$tmp/factory.yaml" "$@" "$app/recipe.yaml" > "$tmp/log" 2>&1; }
digest() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$1/planned/image/index.json"; }

recipe "$REGISTRY_HOST/flink/flink:1.19.2"
if build -o "$tmp/out1"; then t_ok "a registry base: the first build"; else t_fail "a registry base: the first build" "$(tail -5 "$tmp/log")"; fi
first=$(digest "$tmp/out1")

t_check "factory.lock (format 2) pins the base per platform and the wheel" "$PYTHON" - "$app/factory.lock" \
    "$REGISTRY_HOST/flink/flink:1.19.2" "$HELLO_SHA" <<'PY'
import sys, yaml
lock, ref, sha = sys.argv[1:]
doc = yaml.safe_load(open(lock))
assert doc["version"] == 2
(b,) = doc["base"]
assert b["reference"] == ref and b["platform"] == "linux/amd64" and b["manifest"].startswith("sha256:"), b
(w,) = doc["python"]["wheels"]
assert w["requirement"] == "hello-flink==1.0.0" and w["sha256"] == sha and w["target"].startswith("cp311-x86_64"), w
assert any(a["coordinate"].startswith("org.apache.flink:flink-sql-connector-kafka") for a in doc["artifacts"])
PY

# The tag moves to another image: a locked build stays on the locked one, asking nothing.
image_build_base "$tmp/other" nopython
locked_base=$("$PYTHON" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["base"][0]["manifest"])' "$app/factory.lock")
registry_push_base registry "$tmp/other" 1.19.2 flink/flink > /dev/null
mark=$(registry_log_mark registry)
if build -o "$tmp/out5"; then t_ok "tag moved: a locked build still builds"; else t_fail "tag moved: a locked build still builds" "$(tail -5 "$tmp/log")"; fi
t_check "tag moved: the locked base is used, not the tag's new image" "$PYTHON" - "$tmp/out5/planned/image" "$locked_base" <<'PY'
import json, sys
d, want = sys.argv[1:]
idx = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
assert want.startswith("sha256:"), want
assert m["annotations"]["org.opencontainers.image.base.digest"] == want, (m["annotations"], want)
PY
t_check "tag moved: no request to the registry at all" test "$(registry_count registry requests flink/flink "$mark")" -eq 0
cp "$app/factory.lock" "$tmp/registry.lock"

# A render alone keeps the digest the last build pinned, as long as the image inputs are the
# same (a script edit is not one); otherwise it deploys the tag and says why.
render() { "$FACTORY" render --config "$tmp/factory.yaml" -o "$tmp/out5" "$app/recipe.yaml" > "$tmp/log" 2>&1; }
image_of() { sed -n 's/^ *image: //p' "$tmp/out5/planned/manifests/flinkdeployment.yaml" | head -1; }
pinned=$(image_of)
printf 'print("edited")\n' > "$app/jobs/main.py"
render || true
t_check "render after build keeps the pinned digest (a script edit changes no image input)" sh -c \
    'case "$1" in *@sha256:*) [ "$1" = "$2" ];; *) false;; esac' _ "$(image_of)" "$pinned"
cp "$app/recipe.yaml" "$tmp/recipe.saved"
sed -i 's|image: {repository: team/planned, tags: \["1.0"\]}|image: {repository: team/planned, tags: ["1.0"], env: {X: "1"}}|' "$app/recipe.yaml"
render || true
t_check "render after an image input changed deploys the tag, with a warning" sh -c \
    '[ "$1" = team/planned:1.0 ] && grep -q "the image inputs changed since the last build" "$2"' _ "$(image_of)" "$tmp/log"
cp "$tmp/recipe.saved" "$app/recipe.yaml"

# A local base whose digest moved: --frozen names both digests; without it the lock follows.
cp -r "$tmp/base" "$tmp/local"
recipe "oci:$tmp/local:1.19.2"
build -o "$tmp/out6" || true
rm -rf "$tmp/local"
cp -r "$tmp/other" "$tmp/local"
rc=0
build -o "$tmp/out7" --frozen || rc=$?
old=$("$PYTHON" -c 'import sys, yaml; print([b["manifest"] for b in yaml.safe_load(open(sys.argv[1]))["base"] if b["reference"] == sys.argv[2]][0])' "$app/factory.lock" "oci:$tmp/local:1.19.2")
t_check "--frozen: a local base whose digest moved fails, naming both digests" sh -c \
    '[ "$1" -eq 1 ] && grep -q "pins $2" "$3" && grep -q "is now sha256:" "$3"' _ "$rc" "$old" "$tmp/log"
t_check "--frozen: nothing written" test ! -e "$tmp/out7/planned/image"

# A format-1 lock (artifacts only, no version) is still read.
cat > "$tmp/v1.lock" <<'YAML'
apiVersion: factory.dev/v1alpha1
kind: Lock
artifacts:
  - coordinate: org.example:x:1.0
    repository: https://repo.example.com/maven2
    size: 3
    sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
YAML
cp "$tmp/v1.lock" "$app/factory.lock"
recipe "oci:$tmp/base:1.19.2"
if build -o "$tmp/out8"; then t_ok "a format-1 lock is read and extended"; else t_fail "a format-1 lock is read and extended" "$(tail -5 "$tmp/log")"; fi
t_check "the format-1 entry is kept, the file is now format 2" "$PYTHON" - "$app/factory.lock" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["version"] == 2
assert any(a["coordinate"] == "org.example:x:1.0" for a in doc["artifacts"]), doc["artifacts"]
assert doc["base"] and doc["python"]["wheels"]
PY

# Every server down: the registry recipe again, with its lock, takes everything from the
# cache and the lock.
recipe "$REGISTRY_HOST/flink/flink:1.19.2"
cp "$tmp/registry.lock" "$app/factory.lock"
harness_stop registry
harness_stop maven
harness_stop wheels
if build -o "$tmp/out2"; then
    t_ok "every server down: the build still succeeds from the cache and the lock"
else
    t_fail "every server down: the build still succeeds from the cache and the lock" "$(tail -5 "$tmp/log")"
fi
t_check "every server down: the same image digest" test "$(digest "$tmp/out2" 2>/dev/null)" = "$first"
if build -o "$tmp/out3" --frozen; then
    t_ok "every server down: --frozen builds from the lock alone"
else
    t_fail "every server down: --frozen builds from the lock alone" "$(tail -5 "$tmp/log")"
fi

