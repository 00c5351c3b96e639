#!/usr/bin/env bash
# SIGINT, SIGTERM and SIGKILL at random moments of `factory build --push` (30 runs, each with
# a new 4 MB file so that a layer is written and uploaded every time): the status is 0, 130
# (or death by SIGKILL), every cache blob still hashes to its name, out/<app> is always one
# whole bundle (its image layout, bundle.json and manifests name the same image) whose
# recorded push state is true (bundle.json's "pushed" names that image), and what a killed run left
# (staging directories, temporary files) is swept by the next run.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory

tmp=$(t_tmpdir)
PYTHON=${PYTHON:-/usr/bin/python3}
RUNS=${INTERRUPT_RUNS:-30}
registry_start registry > /dev/null
image_build_base "$tmp/base" nopython
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
registries: [{host: "$REGISTRY_HOST", insecure: true, credentials: none}]
cache: {dir: $tmp/cache}
YAML
mkdir -p "$tmp/app"
cat > "$tmp/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: stop}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image:
  registry: "$REGISTRY_HOST"
  repository: team/stop
  tags: ["1.0"]
  files: [{source: job.jar, destination: /opt/flink/usrlib/job.jar}]
java: {jarURI: "local:///opt/flink/usrlib/job.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML

# One bundle, whole: the layout's manifest is bundle.json's and the one the manifests deploy.
bundle_whole() { # APP_DIR
    "$PYTHON" - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
if not os.path.exists(d):
    sys.exit(0)
idx = json.load(open(d + "/image/index.json"))["manifests"][0]["digest"]
bundle = json.load(open(d + "/bundle.json"))
build = bundle["image"]["manifest"]
deploy = open(d + "/manifests/flinkdeployment.yaml").read()
assert idx == build, (idx, build)
assert "@" + idx in deploy, (idx, [l for l in deploy.splitlines() if "image:" in l])
assert os.path.exists(d + "/image/blobs/sha256/" + idx[7:])
if "pushed" in bundle:
    pushed = bundle["pushed"]
    assert pushed and pushed[0].endswith("@" + idx), (pushed, idx)
PY
}
blobs_sound() { # CACHE [killed]: every blob hashes to its name, no temporary file left
    local f                 # (a SIGKILLed run may leave some: the next run sweeps them)
    for f in "$1"/blobs/sha256/*; do
        [[ -e $f ]] || continue
        [[ $(sha256sum "$f" | cut -d' ' -f1) == "$(basename "$f")" ]] || { echo "bad blob $f"; return 1; }
    done
    [[ ${2:-} == killed || -z $(ls -A "$1/tmp" 2>/dev/null) ]] || { echo "left in tmp: $(ls "$1/tmp")"; return 1; }
}

# How long one build takes here: the interrupts land anywhere inside that span.
head -c 4194304 /dev/urandom > "$tmp/app/job.jar"
t0=$(date +%s%N)
"$FACTORY" build --push -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/log.0" 2>&1 ||
    t_fail "a first build succeeds" "$(tail -3 "$tmp/log.0")"
span_ms=$((($(date +%s%N) - t0) / 1000000))
echo "interrupt: one build takes ${span_ms} ms" >&2

bad_status=0 bad_cache=0 bad_bundle=0 left=0 stopped=0 killed=0
signals=(INT TERM KILL)
for run in $(seq 1 "$RUNS"); do
    head -c 4194304 /dev/urandom > "$tmp/app/job.jar"
    "$FACTORY" build --push -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/log.$run" 2>&1 &
    pid=$!
    # anywhere from the start to the end of a typical build
    sleep "$(awk -v r="$RANDOM" -v span="$span_ms" 'BEGIN { printf "%.3f", (r % (span + 1)) / 1000 }')"
    sig=${signals[$((RANDOM % 3))]}
    kill "-$sig" "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
    case $rc in
        0) ;;
        130) stopped=$((stopped + 1)) ;;
        137 | 143) killed=$((killed + 1)) ;; # SIGKILL, or SIGTERM before main set its handlers
        *) bad_status=$((bad_status + 1)); echo "run $run ($sig): exit $rc: $(tail -3 "$tmp/log.$run")" >&2 ;;
    esac
    # A killed run's temporary file stays until a later run sweeps it (after a minute: a
    # younger one may belong to a writer that has not locked it yet; t_bounds shows the sweep).
    blobs_sound "$tmp/cache" "$([[ $killed -gt 0 ]] && echo killed)" >&2 || bad_cache=$((bad_cache + 1))
    bundle_whole "$tmp/out/stop" >&2 || bad_bundle=$((bad_bundle + 1))
    if [[ $killed -eq 0 ]] && { compgen -G "$tmp/out/.stop.*" > /dev/null || compgen -G "$tmp/out/stop/.*.*" > /dev/null; }; then
        left=$((left + 1))
    fi
done
echo "interrupt: $stopped of $RUNS runs stopped by SIGINT/SIGTERM, $killed killed" >&2
t_check "interrupted builds: every exit status is 0, 130 or SIGKILL ($stopped stopped, $killed killed of $RUNS)" test "$bad_status" -eq 0
t_check "interrupted builds: every cache blob hashes to its name, nothing left in tmp but by a kill" test "$bad_cache" -eq 0
t_check "interrupted builds: out/<app> is always one whole bundle" test "$bad_bundle" -eq 0
t_check "interrupted builds: no staging directory left (but by SIGKILL)" test "$left" -eq 0
t_check "interrupted builds: some runs really were interrupted" test "$stopped" -gt 0
# After all that, a build without interruption succeeds and pushes.
if "$FACTORY" build --push -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/log" 2>&1; then
    t_ok "after the interrupts a build succeeds"
else
    t_fail "after the interrupts a build succeeds" "$(tail -3 "$tmp/log")"
fi
t_check "after the interrupts: the bundle is whole" bundle_whole "$tmp/out/stop"
