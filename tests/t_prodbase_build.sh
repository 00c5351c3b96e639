#!/usr/bin/env bash
# factory on production-like bases (tests/prodbase.sh: real Debian packages, real layer
# quirks): every example recipe builds on each variant, the result is checked with umoci and
# a chroot, names read the same under any locale, `factory inspect` lists what `tar -t`
# lists, whiteouts and opaque directories hide files from the lint, the base's location does
# not reach the digest, and a PyFlink job runs on a base without Python through
# python.runtime.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/prodbase.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/wheels.sh"
t_need_factory

tmp=$(t_tmpdir)
PYTHON=${PYTHON:-/usr/bin/python3}
maven_build_repo "$tmp/maven" 2 > /dev/null
maven_serve "$tmp/maven" > /dev/null
wheels_pyflink_set "$tmp/set"
wheels_serve "$WHEELS_PYFLINK_DIR" pyflink
wheels_pyflink_locks "$WHEELS_PYFLINK_DIR" "$WHEELS_URL" "$tmp/locks"
REQUIREMENTS=$WHEELS_PYFLINK_LOCKS/requirements.txt

cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: local, url: "$MAVEN_URL_OPEN"}]
python: {index: ["$WHEELS_URL/simple"]}
cache: {dir: $tmp/cache}
YAML

# The bases: each variant the fixture makes, under a name.
prodbase_build "$tmp/b/python" python gzip > /dev/null
declare -A BASES=([python]=$PRODBASE_REF)
prodbase_build "$tmp/b/nopython" nopython gzip > /dev/null
BASES[nopython]=$PRODBASE_REF
prodbase_build "$tmp/b/zstd" python zstd > /dev/null
BASES[zstd]=$PRODBASE_REF
prodbase_build "$tmp/b/uncompressed" python uncompressed > /dev/null
BASES[uncompressed]=$PRODBASE_REF
prodbase_build "$tmp/b/mixed" python mixed > /dev/null
BASES[mixed]=$PRODBASE_REF
prodbase_index "$tmp/b/index" python gzip > /dev/null
BASES[index]=$PRODBASE_INDEX_REF
prodbase_docker_archive "$tmp/b/docker.tar" python > /dev/null
BASES[docker-archive]=$PRODBASE_ARCHIVE_REF
prodbase_docker_layout "$tmp/b/schema2" python > /dev/null
BASES[schema2]=$PRODBASE_DOCKER_LAYOUT_REF
prodbase_python_runtime "$tmp/python-runtime.tar.gz" > /dev/null
RUNTIME_SHA=$PRODBASE_RUNTIME_SHA256

# An example recipe moved onto a base: the base's Flink release, a connector the local
# Maven repository has, no registry, PyFlink jobs with the locked 24-project set of
# apache-flink; on a base without Python, the runtime.
adapt() { # RECIPE BASE_REF OUT_DIR [runtime]
    local src=$1 ref=$2 out=$3 runtime=${4:-}
    mkdir -p "$out"
    cp -r "$(dirname "$src")"/. "$out/" 2>/dev/null || true
    cp "$tmp/python-runtime.tar.gz" "$REQUIREMENTS" "$out/"
    "$PYTHON" - "$src" "$ref" "$out/recipe.yaml" "$runtime" "$RUNTIME_SHA" <<'PY'
import sys, yaml
src, ref, dst, runtime, sha = sys.argv[1:]
r = yaml.safe_load(open(src))
r["flink"] = {"version": "1.19.2", "image": ref}
if "connectors" in r:
    r["connectors"] = [{"name": "kafka"}]
img = r.setdefault("image", {})
img.pop("registry", None)
img.setdefault("repository", "team/" + r["metadata"]["name"])
img["tags"] = ["1.0"]
if "templates" in r:
    del r["templates"]
if "python" in r:
    r["python"]["requirements"] = "requirements.txt"
if runtime and "python" in r:
    r["python"]["runtime"] = {"file": "python-runtime.tar.gz", "sha256": sha}
    r["python"].pop("executable", None)  # the runtime's own is the default
yaml.safe_dump(r, open(dst, "w"), sort_keys=False)
PY
}
build() { # RECIPE_DIR OUT [extra args]
    local dir=$1 out=$2
    shift 2
    "$FACTORY" build --config "$tmp/factory.yaml" -o "$out" "$@" "$dir/recipe.yaml"
}

# ---- every example recipe on every variant ---------------------------------------------
for variant in python nopython zstd uncompressed mixed index docker-archive schema2; do
    for recipe in "$REPO"/recipes/*.yaml; do
        name=$(basename "$recipe" .yaml)
        dir=$tmp/r/$variant/$name
        adapt "$recipe" "${BASES[$variant]}" "$dir" "$([[ $variant == nopython ]] && echo runtime)"
        if build "$dir" "$tmp/out/$variant" > "$tmp/log" 2>&1; then
            t_ok "$variant base: $name builds"
        else
            t_fail "$variant base: $name builds" "$(tail -5 "$tmp/log")"
        fi
    done
done

# ---- what the image holds, checked in its rootfs ----------------------------------------
adapt "$REPO/recipes/pyflink-kafka.yaml" "${BASES[python]}" "$tmp/pk"
"$PYTHON" - "$tmp/pk/recipe.yaml" <<'PY'
import sys, yaml
p = sys.argv[1]
r = yaml.safe_load(open(p))
r.setdefault("image", {})["files"] = [{"source": "pyflink-kafka/kafka_length.py",
                                        "destination": "/opt/flink/usrlib/café.py"}]
yaml.safe_dump(r, open(p, "w"), sort_keys=False)
PY
if LC_ALL=C build "$tmp/pk" "$tmp/pk-out" > "$tmp/log" 2>&1; then
    t_ok "LC_ALL=C: a PyFlink job with 24 locked wheels and a UTF-8 file name builds"
else
    t_fail "LC_ALL=C: a PyFlink job with 24 locked wheels and a UTF-8 file name builds" "$(tail -5 "$tmp/log")"
fi
# A rebuild with nothing changed, on the real base with 24 wheels and a UTF-8 file name:
# nothing is written (strace) and out/ keeps every inode and mtime.
if command -v strace > /dev/null; then
    sleep 1.2 # records of files changed in the last second are not trusted yet
    LC_ALL=C build "$tmp/pk" "$tmp/pk-out" > /dev/null 2>&1
    find "$tmp/pk-out" -printf '%P %i %s %T@\n' | sort > "$tmp/pk-before"
    ASAN_OPTIONS=${ASAN_OPTIONS:+${ASAN_OPTIONS//detect_leaks=1/detect_leaks=0}} LC_ALL=C \
        strace -f -c -o "$tmp/pk-noop.strace" -e trace=write,fsync,rename,renameat2,link,unlink \
        "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/pk-out" "$tmp/pk/recipe.yaml" > /dev/null 2>&1 || true
    find "$tmp/pk-out" -printf '%P %i %s %T@\n' | sort > "$tmp/pk-after"
    if ! grep -qE ' (write|fsync|rename|renameat2|link|unlink)$' "$tmp/pk-noop.strace" && cmp -s "$tmp/pk-before" "$tmp/pk-after"; then
        t_ok "production base, nothing changed: no write, fsync, rename or link; out/ untouched"
    else
        t_fail "production base, nothing changed: no write, fsync, rename or link; out/ untouched" "$(cat "$tmp/pk-noop.strace")"
    fi
fi
app=$(ls "$tmp/pk-out")
unpack() { umoci unpack --image "$1:1.0" "$2" > /dev/null; }
if unpack "$tmp/pk-out/$app/image" "$tmp/pk-rootfs"; then
    t_ok "umoci unpacks the image"
else
    t_fail "umoci unpacks the image"
fi
R=$tmp/pk-rootfs/rootfs
t_check "rootfs: the connector jar is 9999:9999 0644 in lib/" sh -c \
    'set -- "$1"/opt/flink/lib/flink-sql-connector-kafka-*.jar; [ "$(stat -c %u:%g:%a "$1")" = 9999:9999:644 ]' _ "$R"
t_check "rootfs: the wheels are root's in the base Python's dist-packages" sh -c \
    '[ "$(stat -c %u:%g:%a "$1"/usr/local/lib/python3.11/dist-packages/pyflink/__init__.py)" = 0:0:644 ] && [ "$(ls -d "$1"/usr/local/lib/python3.11/dist-packages/*.dist-info | wc -l)" -eq 24 ]' _ "$R"
t_check "rootfs: café.py is there under its UTF-8 name" test -f "$R/opt/flink/usrlib/café.py"
t_check "rootfs: the base's UTF-8 names and links survived" sh -c \
    '[ -f "$1/$2" ] && [ "$(readlink "$1/$3")" = "$4" ]' _ "$R" "$PRODBASE_UTF8_FILE" "$PRODBASE_UTF8_LINK" \
    "$PRODBASE_UTF8_LINK_TARGET"
out=$(prodbase_chroot "$R" /usr/bin/python3 -c 'import pyflink.version as v; print(v.__version__)' 2>&1 || true)
t_check "rootfs: pyflink imports with the base's Python (chroot)" test "$out" = 1.19.2

# ---- the same answers under every locale -----------------------------------------------
layout=$tmp/pk-out/$app/image
first=
for loc in C POSIX C.UTF-8 xx_YY.UTF-8; do
    LC_ALL=$loc "$FACTORY" inspect "$layout" > "$tmp/inspect.$loc" 2> "$tmp/inspect-err.$loc" || true
    LC_ALL=$loc build "$tmp/pk" "$tmp/pk-$loc" -q > /dev/null 2>&1 || true
    digest=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
        "$tmp/pk-$loc/$app/image/index.json" 2>/dev/null || echo none)
    if [[ -z $first ]]; then
        first=$loc
        first_digest=$digest
        continue
    fi
    t_check "LC_ALL=$loc: inspect prints what LC_ALL=$first prints" cmp -s "$tmp/inspect.$first" "$tmp/inspect.$loc"
    t_check "LC_ALL=$loc: the same image digest as LC_ALL=$first" test "$digest" = "$first_digest"
done
t_check "inspect under LC_ALL=C lists the base's UTF-8 names" grep -qF "/$PRODBASE_UTF8_LINK -> $PRODBASE_UTF8_LINK_TARGET" "$tmp/inspect.C"

# inspect lists exactly what GNU tar lists, layer by layer.
if "$PYTHON" - "$layout" "$tmp/inspect.C" "$tmp/tarcmp" 2> "$tmp/tarcmp.log" <<'PY'
import json, os, re, subprocess, sys
layout, listing, work = sys.argv[1:]
os.makedirs(work, exist_ok=True)
idx = json.load(open(f"{layout}/index.json"))
man = json.load(open(f"{layout}/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
mine, cur = [], None
for raw in open(listing, "rb").read().split(b"\n"):
    if raw.startswith(b"layer "):
        cur = []
        mine.append(cur)
    elif re.match(rb"      [-dlcbpsh][-rwxsStT]{9} ", raw) and cur is not None:
        name = raw.split(b" /", 1)[1]
        for sep in (b" -> ", b" link to /"):
            name = name.split(sep, 1)[0]
        cur.append(name)
def norm(n):
    n = n.rstrip(b"/")
    while n.startswith(b"./"):
        n = n[2:]
    return n.lstrip(b"/") or b"."
bad = 0
for i, layer in enumerate(man["layers"]):
    blob = f"{layout}/blobs/sha256/" + layer["digest"][7:]
    if not os.path.exists(blob):
        continue
    out = subprocess.run(["tar", "--quoting-style=literal", "-tf", blob], capture_output=True,
                         env={"LC_ALL": "C.UTF-8", "PATH": os.environ["PATH"]}, check=True).stdout
    want = [norm(n) for n in out.split(b"\n") if n]
    got = [norm(n.replace(b"\\134", b"\\")) for n in mine[i]]
    if want != got:
        bad += 1
        print(f"layer {i + 1}: tar lists {len(want)} entries, inspect {len(got)}", file=sys.stderr)
        print(set(want) ^ set(got), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
then
    t_ok "inspect lists exactly the entries tar -t lists, in every layer"
else
    t_fail "inspect lists exactly the entries tar -t lists, in every layer" "$(head -c 600 "$tmp/tarcmp.log")"
fi

# ---- whiteouts and opaque directories in the lint ---------------------------------------
wh=$tmp/wh
mkdir -p "$wh/jobs"
printf 'print(1)\n' > "$wh/jobs/main.py"
for j in dist removed jmx prometheus; do cp "$REPO/recipes/pyflink-kafka/kafka_length.py" "$wh/$j.jar"; done
cat > "$wh/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: wh}
flink: {version: 1.19.2, image: "${BASES[python]}"}
image:
  repository: team/wh
  files:
    - {source: dist.jar, destination: /opt/flink/usrlib/flink-dist-1.19.2.jar}
    - {source: removed.jar, destination: /opt/flink/usrlib/$(basename "$PRODBASE_WHITEOUT_JAR")}
    - {source: jmx.jar, destination: /opt/flink/lib/$(basename "$PRODBASE_OPAQUE_HIDDEN")}
    - {source: prometheus.jar, destination: /opt/flink/lib/$(basename "$PRODBASE_OPAQUE_KEPT")}
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
build "$wh" "$tmp/wh-out" > "$tmp/wh.log" 2>&1 || true
t_check "lint: a jar the base really has is reported twice-loaded" grep -q "flink-dist-1.19.2.jar is added as usrlib" "$tmp/wh.log"
t_check "lint: a jar deleted by a whiteout in a later layer is not" sh -c '! grep -q "$1 is added" "$2"' _ \
    "$(basename "$PRODBASE_WHITEOUT_JAR")" "$tmp/wh.log"
t_check "lint: a jar under an opaque directory of a later layer is not" sh -c '! grep -q "$1 is added" "$2"' _ \
    "$(basename "$PRODBASE_OPAQUE_HIDDEN")" "$tmp/wh.log"
t_check "lint: the jar the opaque layer itself adds is" grep -q "$(basename "$PRODBASE_OPAQUE_KEPT") is added as lib" "$tmp/wh.log"

# ---- the base's location does not reach the digest ---------------------------------------
cp -r "$tmp/b/python" "$tmp/elsewhere-a"
mkdir -p "$tmp/deeper/dir"
cp -r "$tmp/b/python" "$tmp/deeper/dir/elsewhere-b"
digests=()
for where in "$tmp/elsewhere-a" "$tmp/deeper/dir/elsewhere-b"; do
    adapt "$REPO/recipes/word-count.yaml" "oci:$where:$PRODBASE_TAG" "$tmp/loc"
    build "$tmp/loc" "$tmp/loc-out" -q > /dev/null 2>&1 || true
    digests+=("$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
        "$tmp/loc-out/word-count/image/index.json" 2>/dev/null || echo none)")
done
t_check "two oci: paths of one base give one image digest" test "${digests[0]}" = "${digests[1]}" -a "${digests[0]}" != none

# ---- a base without Python -------------------------------------------------------------
adapt "$REPO/recipes/word-count.yaml" "${BASES[nopython]}" "$tmp/np"
if build "$tmp/np" "$tmp/np-out" > "$tmp/np.log" 2>&1; then
    t_fail "no Python in the base: the lint refuses a PyFlink job"
else
    t_check "no Python in the base: the lint refuses it and names python.runtime" grep -q "add python.runtime" "$tmp/np.log"
fi
adapt "$REPO/recipes/word-count.yaml" "${BASES[nopython]}" "$tmp/rt" runtime
if build "$tmp/rt" "$tmp/rt-out" > "$tmp/rt.log" 2>&1; then
    t_ok "python.runtime: a PyFlink job builds on the base without Python"
else
    t_fail "python.runtime: a PyFlink job builds on the base without Python" "$(tail -5 "$tmp/rt.log")"
fi
unpack "$tmp/rt-out/word-count/image" "$tmp/rt-rootfs" || true
RT=$tmp/rt-rootfs/rootfs
t_check "runtime: /opt/python/bin/python3 is root's, the stdlib is there" sh -c \
    '[ "$(stat -c %u:%g "$1"/opt/python/bin/python3.11)" = 0:0 ] && [ -x "$1"/opt/python/bin/python3.11 ] && [ -L "$1"/opt/python/bin/python3 ] && [ -f "$1"/opt/python/lib/python3.11/os.py ]' _ "$RT"
t_check "runtime: the wheels went into the runtime's site-packages" test -f "$RT/opt/python/lib/python3.11/site-packages/pyflink/__init__.py"
out=$(prodbase_chroot "$RT" /opt/python/bin/python3 -c "import pyflink, sys; print(sys.prefix)" 2>&1 || true)
t_check "runtime: runs in the image (chroot), prefix /opt/python, pyflink imports" test "$out" = /opt/python
t_check "runtime: PATH starts with /opt/python/bin" sh -c \
    'python3 - "$1" <<'"'"'PY'"'"'
import json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
c = json.load(open(d + "/blobs/sha256/" + m["config"]["digest"][7:]))
path = [e for e in c["config"]["Env"] if e.startswith("PATH=")][0]
assert path.startswith("PATH=/opt/python/bin:/opt/flink/bin"), path
PY' _ "$tmp/rt-out/word-count/image"
t_check "runtime: the TaskManagers and the client are told to use it" sh -c \
    'grep -q "python.executable: /opt/python/bin/python3" "$1"/flinkdeployment.yaml && grep -q -- "- /opt/python/bin/python3" "$1"/flinkdeployment.yaml' _ \
    "$tmp/rt-out/word-count/manifests"
t_check "runtime and base: recorded in factory.lock (format 2), runtime in bundle.json" "$PYTHON" - \
    "$tmp/rt/factory.lock" "$RUNTIME_SHA" "$tmp/rt-out/word-count/bundle.json" "${BASES[nopython]}" <<'PY'
import json, sys, yaml
lock, sha, build, base = sys.argv[1:]
doc = yaml.safe_load(open(lock))
assert doc["version"] == 2, doc
rt = doc["python"]["runtimes"]
assert [r["sha256"] for r in rt] == [sha] and rt[0]["version"].startswith("3.11"), rt
assert rt[0]["source"] == "python-runtime.tar.gz", rt
b = doc["base"]
assert len(b) == 1 and b[0]["reference"] == base and b[0]["platform"] == "linux/amd64", b
assert b[0]["manifest"].startswith("sha256:") and len(b[0]["manifest"]) == 71, b
inputs = [i for l in json.load(open(build))["image"]["layers"] for i in l.get("inputs", [])]
assert [i["sha256"] for i in inputs if i["kind"] == "python-runtime"] == [sha], inputs
PY
