#!/usr/bin/env bash
# factory fetch against a real Maven repository (built by Maven, served by nginx): every
# artifact verified into the cache, factory.lock written, a warm second run makes no
# request, --frozen and factory lock behave, credentials never leak.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
t_need_factory

tmp=$(t_tmpdir)
maven_build_repo "$tmp/repo" 20
maven_serve "$tmp/repo"
# fetch resolves every input, the base too: a local one, so that no registry is needed.
image_build_base "$tmp/base" nopython

mkdir -p "$tmp/app"
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories:
    - name: private
      url: $MAVEN_URL_PRIVATE
      username: \${TEST_MAVEN_USER}
      password: \${TEST_MAVEN_PASSWORD}
  parallel: 8
cache: {dir: $tmp/cache}
YAML
{
    cat <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: fetch-all}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {repository: team/fetch-all}
java: {jarURI: "local:///opt/flink/usrlib/app.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
connectors:
  - name: kafka
YAML
    grep -v flink-sql-connector-kafka "$MAVEN_FIXTURE_COORDS" | sed 's/^/  - maven: /'
} > "$tmp/app/recipe.yaml"
export TEST_MAVEN_USER=$MAVEN_FIXTURE_USER TEST_MAVEN_PASSWORD=$MAVEN_FIXTURE_PASSWORD
F=("$FACTORY" fetch --config "$tmp/factory.yaml")
total=$(wc -l < "$MAVEN_FIXTURE_COORDS")

rc=0
"${F[@]}" "$tmp/app/recipe.yaml" > "$tmp/out1" 2> "$tmp/err1" || rc=$?
if [[ $rc -eq 0 ]] && grep -q "^$total artifacts: $total downloaded" "$tmp/err1"; then
    t_ok "fetch: $total artifacts downloaded over basic auth"
else
    t_fail "fetch: $total artifacts downloaded over basic auth" "exit $rc: $(tail -n 3 "$tmp/err1")"
fi

# Every artifact in the cache is byte-identical to what Maven deployed.
bad=0
while IFS=$'\t' read -r g a v path src sha1 sha256 sidecars; do
    [[ $g == groupId ]] && continue
    blob=$tmp/cache/blobs/sha256/$sha256
    cmp -s "$blob" "$MAVEN_REPO_DIR/$path" || { echo "mismatch: $g:$a:$v" >&2; bad=$((bad + 1)); }
done < "$MAVEN_FIXTURE_LIST"
[[ $bad -eq 0 ]] && t_ok "fetch: cache holds every artifact byte for byte" || t_fail "fetch: cache holds every artifact byte for byte" "$bad differ"
t_check "fetch: no temporary file left in the cache" test -z "$(ls -A "$tmp/cache/tmp")"

t_check "lock: one sorted entry per artifact with sha256 and sha1" "$PYTHON" - "$tmp/app/factory.lock" "$MAVEN_FIXTURE_LIST" "$total" <<'PY'
import sys, yaml, csv
lock = yaml.safe_load(open(sys.argv[1]))
assert lock["apiVersion"] == "factory.dev/v1alpha1" and lock["kind"] == "Lock"
arts = lock["artifacts"]
assert len(arts) == int(sys.argv[3]), len(arts)
coords = [a["coordinate"] for a in arts]
assert coords == sorted(coords), coords
fixture = {f"{r['groupId']}:{r['artifactId']}:{r['version']}": r for r in csv.DictReader(open(sys.argv[2]), delimiter="\t")}
for a in arts:
    f = fixture[a["coordinate"]]
    assert a["sha256"] == f["sha256"] and a["sha1"] == f["sha1"], a
    assert a["repository"].endswith("/private"), a
PY

# Warm: no request at all.
before=$(wc -l < "$MAVEN_ACCESS_LOG")
start=$(date +%s%N)
"${F[@]}" "$tmp/app/recipe.yaml" 2> "$tmp/err2"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(wc -l < "$MAVEN_ACCESS_LOG")
if [[ $before -eq $after ]] && grep -q "0 downloaded (0 B), $total cached" "$tmp/err2"; then
    t_ok "warm fetch: no network request ($ms ms under sanitizers)"
else
    t_fail "warm fetch: no network request" "$((after - before)) requests: $(tail -n 2 "$tmp/err2")"
fi
cp "$tmp/app/factory.lock" "$tmp/lock.saved"
t_check "warm fetch: factory.lock unchanged" cmp "$tmp/app/factory.lock" "$tmp/lock.saved"

# A corrupted cache entry is detected on read, evicted and fetched again.
victim=$(awk -F'\t' 'NR==2 {print $7}' "$MAVEN_FIXTURE_LIST")
printf 'garbage' >> "$tmp/cache/blobs/sha256/$victim"
"${F[@]}" -q "$tmp/app/recipe.yaml"
actual=$(sha256sum "$tmp/cache/blobs/sha256/$victim" | cut -d' ' -f1)
[[ $actual == "$victim" ]] && t_ok "cache: corrupt entry evicted and fetched again" || t_fail "cache: corrupt entry evicted and fetched again"

# --frozen: fine with the lock; refuses an artifact the lock does not have.
t_check "frozen: succeeds from the lock" "${F[@]}" --frozen -q "$tmp/app/recipe.yaml"
cp "$tmp/app/recipe.yaml" "$tmp/app/recipe2.yaml"
echo "  - maven: org.apache.flink:flink-connector-jdbc:3.3.0-1.19@pom" >> "$tmp/app/recipe2.yaml"
rc=0
"${F[@]}" --frozen "$tmp/app/recipe2.yaml" 2> "$tmp/err3" || rc=$?
if [[ $rc -eq 1 ]] && grep -q "no entry for org.apache.flink:flink-connector-jdbc:3.3.0-1.19@pom; run 'factory lock" "$tmp/err3" &&
   cmp -s "$tmp/app/factory.lock" "$tmp/lock.saved"; then
    t_ok "frozen: missing lock entry fails, lock untouched"
else
    t_fail "frozen: missing lock entry fails, lock untouched" "exit $rc: $(cat "$tmp/err3")"
fi

# factory lock re-resolves (downloads again) and writes the same lock.
before=$(wc -l < "$MAVEN_ACCESS_LOG")
"$FACTORY" lock --config "$tmp/factory.yaml" -q "$tmp/app/recipe.yaml"
after=$(wc -l < "$MAVEN_ACCESS_LOG")
if [[ $after -gt $before ]] && cmp -s "$tmp/app/factory.lock" "$tmp/lock.saved"; then
    t_ok "lock: re-resolves from the repository, same result"
else
    t_fail "lock: re-resolves from the repository, same result" "$((after - before)) requests"
fi

# --json describes every artifact.
"${F[@]}" --json "$tmp/app/recipe.yaml" > "$tmp/json"
t_check "json: every artifact cached with its path" "$PYTHON" -c '
import json, sys, os
d = json.load(open(sys.argv[1]))
assert d["cached"] == int(sys.argv[2]) and d["failed"] == 0, d
for a in d["artifacts"]:
    assert a["state"] == "cached" and os.path.exists(a["path"]), a
' "$tmp/json" "$total"

# The password appears nowhere but in the environment.
leaks=$(grep -rl -- "$MAVEN_FIXTURE_PASSWORD" "$tmp/app" "$tmp/cache" "$tmp"/out1 "$tmp"/err* "$tmp/json" 2>/dev/null || true)
[[ -z $leaks ]] && t_ok "secrets: password in no output, lock or cache file" || t_fail "secrets: password in no output, lock or cache file" "$leaks"
exit 0
