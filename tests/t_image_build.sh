#!/usr/bin/env bash
# factory build: an OCI image on a base made by umoci, checked with skopeo and umoci;
# layers reused, digests reproducible, script edits never touch the image, lint errors.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
t_need_factory

tmp=$(t_tmpdir)
maven_build_repo "$tmp/repo" 4
maven_serve "$tmp/repo"
image_build_base "$tmp/bases/python" python
PY_MANIFEST=$IMAGE_MANIFEST_DIGEST
PY_LAYERS=$IMAGE_LAYER_DIGESTS
image_build_base "$tmp/bases/nopython" nopython
image_build_base "$tmp/bases/noflinkpython" noflinkpython
image_build_docker_archive "$tmp/bases/python" "$tmp/bases/flink.tar"
image_build_multiarch "$tmp/bases/multi"

cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: fixture, url: "$MAVEN_URL_OPEN"}]
cache: {dir: $tmp/cache}
YAML
dep=$(grep -m 1 '^org.example.fixture:' "$MAVEN_FIXTURE_COORDS")
write_recipe() { # DIR BASE_REF [extra yaml]
    mkdir -p "$1/jobs"
    printf 'print("hello")\n' > "$1/jobs/main.py"
    printf 'rootLogger.level = INFO\n' > "$1/log4j-console.properties"
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: img}
flink: {version: 1.19.2, image: "$2"}
image:
  registry: registry.example.com
  repository: team/img
  tags: ["1.0"]
  env: {APP_MODE: batch}
  labels: {team: data}
  files:
    - {source: log4j-console.properties, destination: /opt/flink/conf-extra/log4j-console.properties, mode: "0640"}
connectors:
  - name: kafka
  - maven: $dep
    destination: usrlib
python:
  scripts: [jobs/main.py]
jobManager: {memory: 1g}
taskManager: {memory: 1g}
${3:-}
YAML
}
build() { # RECIPE OUT [env...]
    "$FACTORY" build --config "$tmp/factory.yaml" -o "$2" "$1"
}
digest_of() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$1"; }

write_recipe "$tmp/app" "oci:$tmp/bases/python:1.19.2"
build "$tmp/app/recipe.yaml" "$tmp/out" > "$tmp/build1" 2>&1 || true
if grep -q '(3 base layers, 3 built, 0 reused)' "$tmp/build1"; then t_ok "build: 3 layers on a 3-layer base"; else t_fail "build: 3 layers on a 3-layer base" "$(cat "$tmp/build1")"; fi
L=$tmp/out/img/image
t_check "skopeo inspect accepts the layout" skopeo inspect "oci:$L:1.0"
skopeo inspect --raw "oci:$L:1.0" > "$tmp/manifest.json"
skopeo inspect --config "oci:$L:1.0" > "$tmp/config.json"
t_check "manifest: base layers reused as-is, first and in order; annotations" "$PYTHON" - "$tmp/manifest.json" "$PY_LAYERS" "$PY_MANIFEST" "oci:$tmp/bases/python:1.19.2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
base = sys.argv[2].split()
got = [l["digest"] for l in m["layers"]]
assert got[:3] == base and len(got) == 6, got
assert all(l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip" for l in m["layers"])
a = m["annotations"]
# a local layout has no name of its own: its path must not reach the digest
assert a["org.opencontainers.image.base.digest"] == sys.argv[3] and "org.opencontainers.image.base.name" not in a
assert a["org.opencontainers.image.title"] == "img" and a["org.opencontainers.image.version"] == "1.0"
assert a["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z"
PY
t_check "config: inherited, env/labels added, history without versions" "$PYTHON" - "$tmp/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
cfg = c["config"]
assert cfg["Entrypoint"] == ["/docker-entrypoint.sh"] and cfg["Cmd"] == ["help"] and cfg["WorkingDir"] == "/opt/flink"
assert "FLINK_HOME=/opt/flink" in cfg["Env"] and "APP_MODE=batch" in cfg["Env"]
assert cfg["Labels"] == {"org.opencontainers.image.title": "flink-test-base", "team": "data"}
assert "8081/tcp" in cfg["ExposedPorts"]
assert len(c["rootfs"]["diff_ids"]) == 6
mine = [h for h in c["history"] if h.get("created_by", "").startswith("factory:")]
assert [h["created_by"] for h in mine] == ["factory: connectors layer", "factory: jars layer", "factory: files layer"], mine
assert not any(ch.isdigit() for h in mine for ch in h["created_by"])
PY

umoci unpack --image "$L:1.0" "$tmp/bundle" > /dev/null
R=$tmp/bundle/rootfs
kafka=$(awk -F'\t' '$2 == "flink-sql-connector-kafka" {print $4}' "$MAVEN_FIXTURE_LIST")
depjar=$(awk -F'\t' -v c="$dep" '$1":"$2":"$3 == c {print $4}' "$MAVEN_FIXTURE_LIST")
t_check "rootfs: catalog connector in lib/, owner 9999, mode 0644, same bytes" \
    sh -c 'f=$1/opt/flink/lib/flink-sql-connector-kafka-3.3.0-1.19.jar; [ "$(stat -c %u:%g:%a "$f")" = 9999:9999:644 ] && cmp -s "$f" "$2"' _ "$R" "$tmp/repo/$kafka"
t_check "rootfs: raw Maven JAR in usrlib/" sh -c '[ "$(stat -c %u:%g:%a "$1"/opt/flink/usrlib/$(basename "$2"))" = 9999:9999:644 ]' _ "$R" "$depjar"
t_check "rootfs: extra file with its mode" sh -c '[ "$(stat -c %u:%g:%a "$1"/opt/flink/conf-extra/log4j-console.properties)" = 9999:9999:640 ]' _ "$R"
t_check "rootfs: /opt stays root's, base files intact" sh -c '[ "$(stat -c %u "$1"/opt)" = 0 ] && [ -f "$1"/opt/flink/lib/flink-dist-1.19.2.jar ] && [ -x "$1"/usr/bin/python3.11 ]' _ "$R"

"$FACTORY" inspect "$L" > "$tmp/inspect"
t_check "inspect: layers, sizes and files" sh -c 'grep -q "^layer 6 " "$1" && grep -q "factory: files layer" "$1" && grep -q "9999:9999 .*/opt/flink/usrlib/" "$1"' _ "$tmp/inspect"

# Unchanged inputs: nothing rebuilt, same digest. Other directory, umask, locale, TZ and a
# wiped cache: same digest again. Another SOURCE_DATE_EPOCH: another digest.
first=$(digest_of "$L")
build "$tmp/app/recipe.yaml" "$tmp/out" > "$tmp/build2" 2>&1
if grep -q '0 built, 3 reused' "$tmp/build2" && [[ $(digest_of "$L") == "$first" ]]; then t_ok "rebuild: all layers reused, same digest"; else t_fail "rebuild: all layers reused, same digest" "$(cat "$tmp/build2")"; fi
mkdir -p "$tmp/elsewhere"
cp -r "$tmp/app" "$tmp/elsewhere/app"
rm -rf "$tmp/cache"
(cd "$tmp/elsewhere" && umask 077 && LC_ALL=C.UTF-8 TZ=Asia/Kolkata "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/elsewhere/out" app/recipe.yaml)
second=$(digest_of "$tmp/elsewhere/out/img/image")
[[ $first == "$second" ]] && t_ok "reproducible: other dir, umask, locale, TZ, cold cache: same digest" || t_fail "reproducible: other dir, umask, locale, TZ, cold cache: same digest" "$first vs $second"
t_check "reproducible: identical layout files" diff -r "$L" "$tmp/elsewhere/out/img/image"
SOURCE_DATE_EPOCH=1700000000 "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/epoch" "$tmp/app/recipe.yaml"
[[ $(digest_of "$tmp/epoch/img/image") != "$first" ]] && t_ok "SOURCE_DATE_EPOCH changes the digest" || t_fail "SOURCE_DATE_EPOCH changes the digest"
t_check "SOURCE_DATE_EPOCH sets created" sh -c 'skopeo inspect --config "oci:$1:1.0" | grep -q "\"created\": \"2023-11-14T22:13:20Z\""' _ "$tmp/epoch/img/image"

# zstd instead of gzip: the layers decompress (zstd CLI) to the tars the config names.
write_recipe "$tmp/zstd" "oci:$tmp/bases/python:1.19.2"
sed -i 's/^  tags: \["1.0"\]/  tags: ["1.0"]\n  compression: zstd/' "$tmp/zstd/recipe.yaml"
build "$tmp/zstd/recipe.yaml" "$tmp/out-zstd" > /dev/null 2>&1 || true
t_check "zstd layers: media type, content matches the diffIDs" "$PYTHON" - "$tmp/out-zstd/img/image" <<'PY'
import json, sys, subprocess, hashlib, os
d = sys.argv[1]
blob = lambda dg: os.path.join(d, "blobs", "sha256", dg.split(":")[1])
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
c = json.load(open(blob(m["config"]["digest"])))
mine = [(l, c["rootfs"]["diff_ids"][i]) for i, l in enumerate(m["layers"]) if i >= 3]
assert len(mine) == 3 and all(l["mediaType"].endswith("tar+zstd") for l, _ in mine), m["layers"]
for l, diff in mine:
    tar = subprocess.run(["zstd", "-dc", blob(l["digest"])], check=True, capture_output=True).stdout
    assert "sha256:" + hashlib.sha256(tar).hexdigest() == diff
PY

# Editing a PyFlink script changes the manifests, never the image.
cp "$tmp/out/img/manifests/configmap-scripts.yaml" "$tmp/cm.before"
printf 'print("edited")\n' > "$tmp/app/jobs/main.py"
build "$tmp/app/recipe.yaml" "$tmp/out" > "$tmp/build3" 2>&1
if [[ $(digest_of "$L") == "$first" ]] && grep -q '0 built, 3 reused' "$tmp/build3" && ! cmp -s "$tmp/cm.before" "$tmp/out/img/manifests/configmap-scripts.yaml"; then
    t_ok "script edit: image digest unchanged, ConfigMap changed"
else
    t_fail "script edit: image digest unchanged, ConfigMap changed" "$(cat "$tmp/build3")"
fi

# Other base sources: a docker save archive and a multi-platform index.
write_recipe "$tmp/archive" "docker-archive:$IMAGE_ARCHIVE"
build "$tmp/archive/recipe.yaml" "$tmp/out-archive" > "$tmp/build4" 2>&1 || true
t_check "docker-archive base: builds and skopeo accepts it" skopeo inspect "oci:$tmp/out-archive/img/image:1.0"
write_recipe "$tmp/multi" "oci:$tmp/bases/multi:1.19.2"
sed -i 's#^flink: {version: 1.19.2, image: "\(.*\)"}#flink: {version: 1.19.2, image: "\1", platform: linux/arm64/v8}#' "$tmp/multi/recipe.yaml"
build "$tmp/multi/recipe.yaml" "$tmp/out-multi" > "$tmp/build5" 2>&1 || true
t_check "index base: the platform's image is picked" sh -c 'skopeo inspect --config "oci:$1:1.0" | grep -q "\"architecture\": \"arm64\""' _ "$tmp/out-multi/img/image"

# Flink-aware lint.
write_recipe "$tmp/nopy" "oci:$tmp/bases/nopython:1.19.2"
rc=0; build "$tmp/nopy/recipe.yaml" "$tmp/out-nopy" > "$tmp/err6" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q 'has no Python' "$tmp/err6" && [[ ! -e $tmp/out-nopy ]]; then t_ok "lint: PyFlink job on a base without Python fails, nothing written"; else t_fail "lint: PyFlink job on a base without Python fails, nothing written" "$(cat "$tmp/err6")"; fi
write_recipe "$tmp/nofp" "oci:$tmp/bases/noflinkpython:1.19.2"
rc=0; build "$tmp/nofp/recipe.yaml" "$tmp/out-nofp" > "$tmp/err7" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q 'flink-python-1.19.2.jar' "$tmp/err7"; then t_ok "lint: missing flink-python jar fails"; else t_fail "lint: missing flink-python jar fails" "$(cat "$tmp/err7")"; fi
# The same JAR in lib/ and usrlib/ would be loaded twice: a warning, the build goes on.
write_recipe "$tmp/dup" "oci:$tmp/bases/python:1.19.2"
sed -i "s#^  - name: kafka#  - name: kafka\n  - maven: org.apache.flink:flink-sql-connector-kafka:3.3.0-1.19\n    destination: usrlib#" "$tmp/dup/recipe.yaml"
rc=0; build "$tmp/dup/recipe.yaml" "$tmp/out-dup" > "$tmp/err8" 2>&1 || rc=$?
if [[ $rc -eq 0 ]] && grep -q 'warning: flink-sql-connector-kafka-3.3.0-1.19.jar is added as usrlib/flink-sql-connector-kafka-3.3.0-1.19.jar and as lib/' "$tmp/err8"; then
    t_ok "lint: the same JAR in lib/ and usrlib/ warns"
else
    t_fail "lint: the same JAR in lib/ and usrlib/ warns" "$(cat "$tmp/err8")"
fi
exit 0
