#!/usr/bin/env bash
# A build with nothing to do reads no artifact bytes and writes nothing (strace counts);
# a script edit rewrites only what references the scripts and pushes nothing; `--push`
# of an image the registry has costs one manifest HEAD per tag (the registry's access
# log); damage to a cached blob is still found: by the next build that stats it, by a
# build that reads it, and by `factory verify`.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory
command -v strace > /dev/null || { t_skip "no-op: strace is not installed"; exit 0; }

tmp=$(t_tmpdir)
maven_build_repo "$tmp/repo" 3
maven_serve "$tmp/repo"
image_build_base "$tmp/base" python
registry_start plain
mapfile -t coords < <(grep '^org.example.fixture:' "$MAVEN_FIXTURE_COORDS" | head -3)
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: fixture, url: "$MAVEN_URL_OPEN"}]
cache: {dir: $tmp/cache}
registries:
  - {host: "$PLAIN_HOST", insecure: true, credentials: none}
YAML
mkdir -p "$tmp/app/jobs"
printf 'print("hello")\n' > "$tmp/app/jobs/main.py"
head -c 300000 /dev/urandom > "$tmp/app/model.bin"
cat > "$tmp/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: noop}
flink: {version: 1.19.2, image: "oci:$tmp/base:1.19.2"}
image:
  registry: "$PLAIN_HOST"
  repository: team/noop
  tags: ["1.0", "stable"]
  files:
    - {source: model.bin, destination: /opt/flink/usrlib/model.bin}
connectors:
$(for c in "${coords[@]}"; do printf '  - {maven: "%s"}\n' "$c"; done)
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
# flips one byte in place (the inode stays; mtime and ctime move)
flip() { "$PYTHON" -c 'import sys; f=open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"; }
build() { "$FACTORY" build --config "$tmp/factory.yaml" -o "$tmp/out" "$@" "$tmp/app/recipe.yaml"; }
digest() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$tmp/out/noop/image/index.json"; }
# counts of one syscall in a strace -c -f summary (0 when absent)
calls() { awk -v s="$2" '$NF == s {print $4; found=1} END {if (!found) print 0}' "$1"; }
snapshot() { find "$tmp/out" -printf '%P %i %s %T@\n' | sort; }
# LeakSanitizer cannot run under ptrace: the strace runs go without it
traced() { ASAN_OPTIONS=${ASAN_OPTIONS:+${ASAN_OPTIONS//detect_leaks=1/detect_leaks=0}} strace "$@"; }

build --push > "$tmp/cold" 2>&1 || t_fail "cold build --push" "$(cat "$tmp/cold")"
d0=$(digest)
# The cache's records of files hashed in the last second are not trusted yet (a file can
# change twice in one timestamp tick): let the fixture files age past that.
sleep 1.2
build > /dev/null 2>&1
snapshot > "$tmp/before"

traced -f -c -o "$tmp/noop.strace" -e trace=read,write,pwrite64,fsync,fdatasync,rename,renameat2,unlink,unlinkat,link,mkdir \
    "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > /dev/null 2>&1
traced -f -o "$tmp/noop.files" -e trace=openat,openat2 \
    "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > /dev/null 2>&1
snapshot > "$tmp/after"
fsyncs=$(calls "$tmp/noop.strace" fsync); writes=$(calls "$tmp/noop.strace" write)
renames=$(( $(calls "$tmp/noop.strace" rename) + $(calls "$tmp/noop.strace" renameat2) ))
if [[ $fsyncs -eq 0 && $writes -eq 0 && $renames -eq 0 ]]; then
    t_ok "no-op build: no write, fsync or rename (strace -c)"
else
    t_fail "no-op build: no write, fsync or rename (strace -c)" "$(cat "$tmp/noop.strace")"
fi
t_check "no-op build: out/ is untouched (same inodes, sizes, mtimes)" cmp -s "$tmp/before" "$tmp/after"
# no artifact is opened: neither a JAR or layer blob of the cache nor the recipe's big file
# (the base's small manifest and config are read; opening with O_PATH reads nothing)
"$PYTHON" - "$tmp/out/noop/image" "$tmp/app/factory.lock" > "$tmp/artifacts" <<'PY'
import json, re, sys
layout = sys.argv[1]
index = json.load(open(layout + "/index.json"))
m = json.load(open(layout + "/blobs/sha256/" + index["manifests"][0]["digest"][7:]))
for layer in m["layers"]:
    print(layer["digest"][7:])
print("\n".join(re.findall(r"sha256: \"?(?:sha256:)?([0-9a-f]{64})", open(sys.argv[2]).read())))
PY
if grep -v O_PATH "$tmp/noop.files" | grep -v ENOENT | grep "blobs/sha256/" | grep -F -f "$tmp/artifacts" > "$tmp/opened"; grep -v O_PATH "$tmp/noop.files" | grep "model\.bin" >> "$tmp/opened"; [[ ! -s $tmp/opened && $(wc -l < "$tmp/artifacts") -ge 5 ]]; then
    t_ok "no-op build: no JAR, layer or image file is opened"
else
    t_fail "no-op build: no JAR, layer or image file is opened" "$(head -5 "$tmp/opened") $(wc -l < "$tmp/artifacts") artifacts"
fi

# --push of what the registry has: one manifest HEAD per tag, not one request per blob, and
# one GET of the referrers tag's index for the attached SBOMs and provenance
mark=$(registry_log_mark plain)
build --push > "$tmp/push2" 2>&1 || true
requests=$(registry_count plain requests "" "$mark")
heads=$(tail -n +"$((mark + 1))" "$PLAIN_LOG" | grep -cE '"HEAD /v2/team/noop/manifests/(1\.0|stable) ' || true)
if grep -q "already there under every tag: nothing sent" "$tmp/push2" && [[ $heads -eq 2 && $requests -le 3 ]]; then
    t_ok "warm --push: one manifest HEAD per tag and one listing of the documents ($requests requests)"
else
    t_fail "warm --push: one manifest HEAD per tag" "requests=$requests heads=$heads; $(cat "$tmp/push2")"
fi
# a tag moved elsewhere by someone else: the push notices and sends it again
skopeo copy -q --dest-tls-verify=false "oci:$tmp/base:1.19.2" "docker://$PLAIN_HOST/team/noop:stable" 2>/dev/null
build --push > "$tmp/push3" 2>&1 || true
got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$PLAIN_HOST/team/noop:stable" 2>&1 || true)
if [[ $got == "$d0" ]] && ! grep -q "nothing sent" "$tmp/push3"; then
    t_ok "warm --push: a tag moved away is put back"
else
    t_fail "warm --push: a tag moved away is put back" "stable=$got want $d0; $(cat "$tmp/push3")"
fi

# script edit: the image stays, only what names the scripts changes, nothing is uploaded
printf 'print("edited")\n' > "$tmp/app/jobs/main.py"
cp -r "$tmp/out/noop/manifests" "$tmp/manifests.before"
build --push --json > "$tmp/edit.json" 2> "$tmp/edit.err" || t_fail "script edit: build --push" "$(cat "$tmp/edit.err")"
t_check "script edit: image digest unchanged, 0 bytes uploaded" "$PYTHON" - "$tmp/edit.json" "$d0" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
p = doc["pushed"]
assert p["reference"].endswith("@" + sys.argv[2]), p
assert p["uploaded"] == 0 and p["uploadedBytes"] == 0, p
PY
changed=$( (diff -rq "$tmp/manifests.before" "$tmp/out/noop/manifests" || true) | sed -E 's|.*/manifests/([^ ]+) differ|\1|' | sort | tr '\n' ' ')
if [[ $changed == "configmap-scripts.yaml flinkdeployment.yaml " ]]; then
    t_ok "script edit: only the ConfigMap and what names it changed ($changed)"
else
    t_fail "script edit: only the ConfigMap and what names it changed" "$changed; $(diff -rq "$tmp/manifests.before" "$tmp/out/noop/manifests" || true)"
fi

# damage to a cached JAR: its stat moved, so the next build hashes it, evicts it and
# fetches it again; the image is the same
repo_jar=$tmp/repo/$(echo "${coords[0]}" | awk -F: '{gsub(/\./, "/", $1); print $1 "/" $2 "/" $3 "/" $2 "-" $3 ".jar"}')
jar=$(sha256sum "$repo_jar" | cut -d' ' -f1)
[[ -f $tmp/cache/blobs/sha256/$jar ]] || jar=
if [[ -n $jar ]]; then
    flip "$tmp/cache/blobs/sha256/$jar" 10
    build > "$tmp/damaged1" 2>&1 || true
    if [[ $(digest) == "$d0" ]] && cmp -s "$tmp/cache/blobs/sha256/$jar" "$repo_jar"; then
        t_ok "damaged cached JAR: found by its stat, fetched again, same image"
    else
        t_fail "damaged cached JAR: found by its stat, fetched again, same image" "$(cat "$tmp/damaged1")"
    fi
else
    t_fail "damaged cached JAR: found by its stat" "the JAR's blob is not in the cache"
fi

# factory verify reads everything: a damaged layer blob (a hard link shared by the
# bundle and the cache) is reported, evicted, and the next build makes it again
t_check "verify: a sound cache passes" "$FACTORY" verify --config "$tmp/factory.yaml"
t_check "verify: a sound bundle passes" "$FACTORY" verify --config "$tmp/factory.yaml" "$tmp/out/noop"
layer=$("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][-1]["digest"][7:])' \
    "$tmp/out/noop/image/blobs/sha256/${d0#sha256:}")
size=$(stat -c %s "$tmp/cache/blobs/sha256/$layer")
flip "$tmp/cache/blobs/sha256/$layer" $((size / 2))
rc=0; "$FACTORY" verify --config "$tmp/factory.yaml" "$tmp/out/noop" > "$tmp/verify" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q "is damaged" "$tmp/verify" && [[ ! -e $tmp/cache/blobs/sha256/$layer ]]; then
    t_ok "verify: a damaged layer is reported (exit 1) and evicted from the cache"
else
    t_fail "verify: a damaged layer is reported (exit 1) and evicted from the cache" "rc=$rc; $(cat "$tmp/verify")"
fi
build > "$tmp/rebuilt" 2>&1 || true
if [[ $(digest) == "$d0" ]] && "$FACTORY" verify --config "$tmp/factory.yaml" "$tmp/out/noop" > /dev/null 2>&1; then
    t_ok "after verify: the next build makes the layer again, same digest"
else
    t_fail "after verify: the next build makes the layer again, same digest" "want $d0; $(cat "$tmp/rebuilt")"
fi
