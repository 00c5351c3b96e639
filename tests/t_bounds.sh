#!/usr/bin/env bash
# Bounded resources: nothing read from outside may take unbounded bytes or time.
#   a) a Maven jar the lock records at N bytes, served as Content-Length 2 GiB of zeros
#   b) an unpinned jar without Content-Length, followed by endless zeros (limits.download)
#   c) a jar body trickled at 4 bytes/s, d) headers at one byte per 0.5 s, e) a trickling
#      .sha512 sidecar (limits.transferTimeout / minRate / minRateTime); e2) the same limits
#      for a Python runtime's download, whose request -v shows
#   f) a registry config blob whose descriptor gives its size, sent with endless zeros after it
#   g) a base layer that is a gzip bomb (8 GB of zeros in 8 MB), g2) its scan under loose
#      limits ends at a SIGINT, h) a gzip inside the gzip
#   i) a layout blob that is a FIFO or a symbolic link to /dev/zero
#   j) temporary files and staging directories of a killed run are swept, a live one's kept
# Every failing case must fail fast, say what to check, and leave nothing in the cache.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
t_need_factory
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }

tmp=$(t_tmpdir)
repo=$tmp/repo
image_build_base "$tmp/base" nopython
G=org.example.bounds
SAN_RE='runtime error:|AddressSanitizer|LeakSanitizer'

jar_src=$(find /usr/share/java -maxdepth 1 -type f -name '*.jar' -size +20k -size -200k | LC_ALL=C sort | head -n 1)
[[ -n $jar_src ]] || { echo "need a small jar in /usr/share/java" >&2; exit 1; }
d=$repo/${G//.//}/small/1.0
mkdir -p "$d"
cp "$jar_src" "$d/small-1.0.jar"
JAR_SHA=$(sha256sum < "$d/small-1.0.jar" | cut -d' ' -f1)
JAR_SIZE=$(stat -c %s "$d/small-1.0.jar")
echo "$JAR_SHA" > "$d/small-1.0.jar.sha256"
sha512sum < "$d/small-1.0.jar" | cut -d' ' -f1 > "$d/small-1.0.jar.sha512"

# The registry side: the base layout, its config blob sent with endless zeros after it.
mkdir -p "$repo/oci"
cp -a "$tmp/base/." "$repo/oci/"
echo "$IMAGE_CONFIG_DIGEST" > "$repo/endless-blobs"

port=$(harness_free_port)
URL=http://127.0.0.1:$port
harness_start faults "curl -fsS -o /dev/null --max-time 2 $URL/healthz" -- \
    "$PYTHON" "$TESTS_DIR/tools/faultserver.py" --port "$port" --root "$repo" --log "$tmp/requests.jsonl"

# new_case NAME MODE: $C with factory.yaml (repository $URL/MODE/, small limits so that every
# case is cut within seconds; LIMITS= drops them, to see a factory without limits hang) and
# a recipe using the jar (CONNECTOR=no: none) on base BASE (default: the local layout)
new_case() {
    CASE=$1
    C=$tmp/cases/$1
    mkdir -p "$C/app" "$C/cache"
    cat > "$C/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
cache: {dir: $C/cache}
registries:
  - {host: "127.0.0.1:$port", insecure: true, credentials: none}
${LIMITS-limits: {download: 1MiB, transferTimeout: 4s, minRate: 1KiB, minRateTime: 2s, expansion: 32MiB\}}
maven:
  repositories:
    - {name: faults, url: "$URL/$2/"}
YAML
    recipe "${BASE:-oci:$tmp/base:1.19.2}" "${CONNECTOR:-yes}"
}

recipe() {
    {
        cat <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: bounds}
flink: {version: "1.19", image: "$1"}
image: {repository: team/bounds}
java: {jarURI: "local:///opt/flink/usrlib/app.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
        if [[ $2 == yes ]]; then
            printf 'connectors:\n  - maven: %s:small:1.0\n' "$G"
        fi
    } > "$C/app/recipe.yaml"
}

fetch() {
    local t0 t1
    RC=0
    t0=$(date +%s.%N)
    timeout -k 5 "${TIMEOUT:-30}" "$FACTORY" fetch --config "$C/factory.yaml" "$@" "$C/app/recipe.yaml" \
        > "$C/out" 2> "$C/err" || RC=$?
    t1=$(date +%s.%N)
    ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    { echo "[$CASE] factory fetch: exit $RC in ${ELAPSED}s"; sed 's/^/  | /' "$C/err"; } >&2
}

# expect_fail NAME MAX_SECONDS STRING...: failed (not by timeout), within MAX_SECONDS, every
# STRING in stderr, no sanitizer report, and the cache holds no jar and nothing in tmp/
expect_fail() {
    local name=$1 max=$2 s missing= left
    shift 2
    for s in "$@"; do grep -qF -- "$s" "$C/err" || missing+=" [$s]"; done
    left=$(ls -A "$C/cache/tmp" 2>/dev/null || true)
    if [[ $RC -ne 0 && $RC -ne 124 && $RC -ne 137 && -z $missing && -z $left ]] &&
        awk -v e="$ELAPSED" -v m="$max" 'BEGIN { exit !(e <= m) }' &&
        ! grep -qE "$SAN_RE" "$C/err" && [[ ! -e $C/cache/blobs/sha256/$JAR_SHA ]]; then
        t_ok "$name"
    else
        t_fail "$name" "exit $RC in ${ELAPSED}s (max $max); missing:$missing; tmp: $left; $(tail -n 3 "$C/err")"
    fi
}

# ---------------------------------------------------------------- a) the lock's size
new_case lock ok
fetch
[[ $RC -eq 0 ]] && t_ok "a) setup: fetch from a good repository writes the lock" ||
    t_fail "a) setup: fetch from a good repository writes the lock" "exit $RC"
grep -q "size: $JAR_SIZE" "$C/app/factory.lock" || grep -q "\"size\": $JAR_SIZE" "$C/app/factory.lock" ||
    echo "note: the lock does not show size $JAR_SIZE literally" >&2
lock=$C/app/factory.lock
new_case huge huge
cp "$lock" "$C/app/factory.lock"
sed -i "s|$URL/ok|$URL/huge|g" "$C/app/factory.lock"
fetch
expect_fail "a) Content-Length 2 GiB for a jar locked at $JAR_SIZE bytes: refused at once" 15 \
    "more than the $JAR_SIZE expected" "nothing was stored" "the size factory.lock records"

# ---------------------------------------------------------------- b) no size but the ceiling
new_case endless endless
fetch
expect_fail "b) endless body without Content-Length: cut at limits.download" 15 \
    "past the 1048576 bytes" "limits.download"

# ---------------------------------------------------------------- c-e) slow-loris
new_case trickle trickle
fetch
expect_fail "c) body trickled at 4 B/s: cut by the rate rule/deadline" 12 "127.0.0.1:$port" "small-1.0.jar" \
    "factory.yaml" "check the server and the network"
new_case slowheaders slowheaders
fetch
expect_fail "d) headers at 1 byte per 0.5 s: cut" 12 "small-1.0.jar" "check the server and the network"
new_case tricklesum tricklesum
fetch
expect_fail "e) trickling .sha512 sidecar: cut, named" 12 "small-1.0.jar.sha512" "check the server and the network"

# ---------------------------------------------------------------- f) registry descriptor size
CONNECTOR=no BASE="127.0.0.1:$port/flink/base:1.19.2" new_case regblob ok
fetch
cfg_size=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["config"]["size"])' \
    "$tmp/base/blobs/sha256/${IMAGE_MANIFEST_DIGEST#sha256:}")
expect_fail "f) registry blob of $cfg_size bytes followed by endless zeros: stopped at the descriptor's size" 15 \
    "registry 127.0.0.1:$port" "expected" "nothing was stored"
[[ ! -e $C/cache/blobs/sha256/${IMAGE_CONFIG_DIGEST#sha256:} ]] && t_ok "f) the config blob is not stored" ||
    t_fail "f) the config blob is not stored"

# ---------------------------------------------------------------- e2) a Python runtime download
# The same limits bound the single downloads (a runtime, a wheel) as the Maven fetch, and -v
# shows their requests.
printf 'not a real runtime\n' > "$repo/python-runtime.tar.gz"
runtime_case() { # NAME MODE
    CONNECTOR=no new_case "$1" ok
    cat >> "$C/app/recipe.yaml" <<YAML
python:
  scripts: [job.py]
  runtime: {url: "$URL/$2/python-runtime.tar.gz", sha256: "$(printf '%064d' 0)"}
YAML
    sed -i -e '/^java:/d' -e 's/version: "1.19"/version: "1.19.2"/' "$C/app/recipe.yaml"
    printf 'print("job")\n' > "$C/app/job.py"
}
runtime_case runtime-trickle trickle
fetch
expect_fail "e2) a trickled Python runtime: cut by limits.transferTimeout" 15 "python-runtime.tar.gz" "limits.transferTimeout"
runtime_case runtime-verbose ok
fetch -v
expect_fail "e2) -v shows the runtime's request; its bytes are refused" 15 \
    "GET $URL/ok/python-runtime.tar.gz -> 200" "not one of the 1 pinned"

# ---------------------------------------------------------------- g-h) decompression bombs
# add_layer DIR FILE: appends FILE as a tar+gzip layer to the layout's manifest
add_layer() {
    "$PYTHON" - "$1" "$2" <<'PY'
import hashlib, json, os, shutil, sys
d, layer = sys.argv[1], sys.argv[2]
blobs = os.path.join(d, "blobs", "sha256")
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, h), "wb").write(data)
    return "sha256:" + h
data = open(layer, "rb").read()
idx = json.load(open(os.path.join(d, "index.json")))
m = idx["manifests"][0]
man = json.load(open(os.path.join(blobs, m["digest"][7:])))
man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": put(data), "size": len(data)})
raw = json.dumps(man).encode()
m["digest"], m["size"] = put(raw), len(raw)
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PY
}
# An 8 GB tar (one file of zeros) as 120 gzip members of 64 MiB each: about 8 MB on disk.
"$PYTHON" - "$tmp/bomb.tar.gz" "$tmp/nested.tar.gz" <<'PY'
import gzip, io, sys, tarfile, zlib
def member(data):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()
zeros = member(b"\0" * (64 << 20))
n = 120
info = tarfile.TarInfo("opt/bomb/zeros")
info.size = n * (64 << 20) - 512
header = info.tobuf(format=tarfile.USTAR_FORMAT)
with open(sys.argv[1], "wb") as f:
    f.write(member(header + b"\0" * ((64 << 20) - 512 - 512)))
    for _ in range(n - 1):
        f.write(zeros)
    f.write(member(b"\0" * 1024))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("opt/nested/hello"); ti.size = 6
    t.addfile(ti, io.BytesIO(b"hello\n"))
open(sys.argv[2], "wb").write(gzip.compress(gzip.compress(buf.getvalue())))
PY
cp -a "$tmp/base" "$tmp/bombbase"
add_layer "$tmp/bombbase" "$tmp/bomb.tar.gz"
CONNECTOR=no BASE="oci:$tmp/bombbase:1.19.2" new_case bomb ok
TIMEOUT=40 fetch
expect_fail "g) gzip bomb layer: the scan stops at limits.expansion" 20 "decompression bomb" "limits.expansion"
# g2) the same layer under limits loose enough to let it run: a SIGINT ends the scan at once
# (exit 130), not when the 8 GB are read.
LIMITS="limits: {expansion: 64GiB, expansionRatio: 1000000}" CONNECTOR=no BASE="oci:$tmp/bombbase:1.19.2" new_case bombint ok
t0=$(date +%s.%N)
"$FACTORY" fetch --config "$C/factory.yaml" "$C/app/recipe.yaml" > "$C/out" 2> "$C/err" &
pid=$!
# interrupted once the scan runs: the layer is in the cache, its listing not yet
for _ in $(seq 100); do
    [[ -n $(find "$C/cache/blobs/sha256" -size +1M 2>/dev/null) ]] && break
    sleep 0.1
done
sleep 0.5
kill -INT "$pid"
RC=0; wait "$pid" || RC=$?
ELAPSED=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
# the scan itself says it was interrupted (without the flag it ran to the end, and the stage
# boundary after it reported the interrupt)
if [[ $RC -eq 130 ]] && awk -v e="$ELAPSED" 'BEGIN { exit !(e <= 8) }' && grep -q "reading base layer sha256:[0-9a-f]*: interrupted" "$C/err" &&
    [[ -z $(ls -A "$C/cache/tmp") && ! -e $C/app/factory.lock ]]; then
    t_ok "g2) SIGINT during a long layer scan: exit 130 at once (${ELAPSED}s), nothing left half-written"
else
    t_fail "g2) SIGINT during a long layer scan: exit 130 at once" "exit $RC in ${ELAPSED}s: $(tail -n 3 "$C/err")"
fi
cp -a "$tmp/base" "$tmp/nestedbase"
add_layer "$tmp/nestedbase" "$tmp/nested.tar.gz"
CONNECTOR=no BASE="oci:$tmp/nestedbase:1.19.2" new_case nested ok
fetch
expect_fail "h) a gzip inside the declared gzip is not unwrapped" 15 "base layer sha256:"

# ---------------------------------------------------------------- i) local non-regular blobs
last_layer() { "$PYTHON" -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open(d+"/blobs/sha256/"+i))["layers"][-1]["digest"][7:])' "$1"; }
for kind in fifo devzero; do
    cp -a "$tmp/base" "$tmp/$kind"
    l=$(last_layer "$tmp/$kind")
    rm -f "$tmp/$kind/blobs/sha256/$l"
    if [[ $kind == fifo ]]; then mkfifo "$tmp/$kind/blobs/sha256/$l"; else ln -s /dev/zero "$tmp/$kind/blobs/sha256/$l"; fi
    CONNECTOR=no BASE="oci:$tmp/$kind:1.19.2" new_case "$kind" ok
    fetch
    expect_fail "i) a layout blob that is a $kind: refused, not read for ever" 10 "not a regular file"
done

# ---------------------------------------------------------------- j) leftovers of killed runs
new_case sweep ok
mkdir -p "$C/cache/tmp"
: > "$C/cache/tmp/download.dead"
touch -d '-5 minutes' "$C/cache/tmp/download.dead"
: > "$C/cache/tmp/download.live"
touch -d '-5 minutes' "$C/cache/tmp/download.live"
: > "$C/cache/tmp/download.fresh"
mkdir -p "$C/outdir/bounds" "$C/outdir/.bounds.old1" "$C/outdir/bounds/.image.old2"
touch -d '-5 minutes' "$C/outdir/.bounds.old1" "$C/outdir/bounds/.image.old2"
# a live writer: holds the flock on its file for the whole run
flock "$C/cache/tmp/download.live" sleep 60 &
holder=$!
sleep 0.3
fetch
left=$(ls -A "$C/cache/tmp" | LC_ALL=C sort | tr '\n' ' ')
[[ $left == "download.fresh download.live " ]] && t_ok "j) cache/tmp: a dead writer's old file swept; live and fresh ones kept" ||
    t_fail "j) cache/tmp: a dead writer's old file swept; live and fresh ones kept" "left: $left"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
RC=0
timeout 60 "$FACTORY" build --config "$C/factory.yaml" -o "$C/outdir" "$C/app/recipe.yaml" > "$C/build.out" 2>&1 || RC=$?
sed 's/^/  | /' "$C/build.out" >&2
if [[ ! -e $C/outdir/.bounds.old1 && ! -e $C/outdir/bounds/.image.old2 ]]; then
    t_ok "j) staging directories of a killed build swept (build exit $RC)"
else
    t_fail "j) staging directories of a killed build swept (build exit $RC)" "$(ls -A "$C/outdir" "$C/outdir/bounds" | tr '\n' ' ')"
fi

exit 0
