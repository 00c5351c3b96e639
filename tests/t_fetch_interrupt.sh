#!/usr/bin/env bash
# Ctrl-C during a fetch: factory stops promptly with status 130 and leaves nothing behind,
# neither a partial download in the cache nor a factory.lock.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
repo=$tmp/repo
mkdir -p "$repo/org/example/slow/1.0" "$tmp/app"
jar=$(find -L /usr/share/java -maxdepth 1 -name '*.jar' -type f -print -quit)
cp -L "$jar" "$repo/org/example/slow/1.0/slow-1.0.jar"
sha1sum "$repo/org/example/slow/1.0/slow-1.0.jar" | cut -d' ' -f1 > "$repo/org/example/slow/1.0/slow-1.0.jar.sha1"
port=$(harness_free_port)
harness_start faults "curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:$port/healthz" -- \
    "$PYTHON" "$TESTS_DIR/tools/faultserver.py" --port "$port" --root "$repo" --log "$tmp/requests.jsonl"
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
maven:
  repositories: [{name: slow, url: "http://127.0.0.1:$port/ratelimit"}]
cache: {dir: $tmp/cache}
YAML
cat > "$tmp/app/recipe.yaml" <<'YAML'
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: slow}
flink: {version: "1.19"}
java: {jarURI: "local:///opt/flink/usrlib/slow.jar"}
connectors: [{maven: "org.example:slow:1.0"}]
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
# The repository answers 429 with Retry-After: 2 first: the fetch is waiting when the
# interrupt arrives.
start=$(date +%s.%N)
"$FACTORY" fetch --config "$tmp/factory.yaml" "$tmp/app/recipe.yaml" > "$tmp/out" 2>&1 &
pid=$!
sleep 0.7
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
if [[ $rc -eq 130 ]] && awk -v t="$took" 'BEGIN {exit !(t < 1.9)}'; then
    t_ok "interrupt: stops promptly with status 130 (${took}s)"
else
    t_fail "interrupt: stops promptly with status 130" "exit $rc after ${took}s: $(cat "$tmp/out")"
fi
t_check "interrupt: no partial download left in the cache" test -z "$(ls -A "$tmp/cache/tmp")"
t_check "interrupt: no blob stored" test -z "$(ls -A "$tmp/cache/blobs/sha256")"
t_check "interrupt: no factory.lock written" test ! -e "$tmp/app/factory.lock"
exit 0
