#!/usr/bin/env bash
# factory build --push through a fault-injecting proxy (tests/tools/faultproxy.py) in front of
# a plain docker-registry. Each case gets a fresh registry (the base pushed to it directly by
# skopeo) and a fresh proxy; factory talks only to the proxy (insecure: true):
#   a) manifest PUT answers 500 once          -> push succeeds, every tag has the digest
#   b) blob upload PUT answers 429 once, with Retry-After: 1 -> succeeds, retry waited ~1 s
#   c) the connection of an upload POST drops once, and that of a mount POST -> succeeds
#   d) manifest PUT by digest always 500      -> exit 1, message names registry, repository,
#                                                operation and HTTP 500; no tag exists
#   e) registry down (proxy stopped)          -> exit 1, a clear connection error
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory

tmp=$(t_tmpdir)
image_build_base "$tmp/base" python

# proxy_start NAME UPSTREAM_HOST [RULE...]: sets PROXY_HOST and PROXY_LOG
proxy_start() {
    local name=$1 upstream=$2 port
    shift 2
    local args=()
    for r in "$@"; do args+=(--fail "$r"); done
    port=$(harness_free_port)
    PROXY_HOST=127.0.0.1:$port
    PROXY_LOG=$(harness_dir "$name")/requests.jsonl
    : > "$PROXY_LOG"
    # shellcheck disable=SC2016  # evaluated by harness_start
    harness_start "$name" 'curl -sf -o /dev/null --max-time 2 "http://$PROXY_HOST/_proxy_ready"' -- \
        "$PYTHON" "$TESTS_DIR/tools/faultproxy.py" --port "$port" --upstream "http://$upstream" \
        --log "$PROXY_LOG" "${args[@]+"${args[@]}"}"
}

# setup CASE [RULE...]: registry reg_CASE with the base as flink/base:1.19.2, proxy px_CASE in
# front of it, factory config $tmp/CASE.yaml and recipe $tmp/CASE/recipe.yaml (app app-CASE,
# base and target through the proxy). Sets REG_HOST, REG_URL, PROXY_HOST, PROXY_LOG.
setup() {
    local c=$1
    shift
    registry_start "reg_$c"
    local h=REG_${c^^}_HOST u=REG_${c^^}_URL
    REG_HOST=${!h}
    REG_URL=${!u}
    registry_push_base "reg_$c" "$tmp/base" 1.19.2 flink/base
    proxy_start "px_$c" "$REG_HOST" "$@"
    cat > "$tmp/$c.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
cache: {dir: $tmp/cache-$c}
registries:
  - {host: "$PROXY_HOST", insecure: true, credentials: none}
YAML
    mkdir -p "$tmp/$c/jobs"
    printf 'print("job")\n' > "$tmp/$c/jobs/main.py"
    printf 'case %s\n' "$c" > "$tmp/$c/app.conf"
    cat > "$tmp/$c/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: app-$c}
flink: {version: 1.19.2, image: "$PROXY_HOST/flink/base:1.19.2"}
image:
  registry: "$PROXY_HOST"
  repository: team/app-$c
  tags: ["1.0", "stable"]
  files:
    - {source: app.conf, destination: /opt/flink/conf-extra/app.conf}
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}

# build_push CASE: factory build --push; sets RC, OUT (combined output) and DIGEST
build_push() {
    local c=$1
    RC=0
    "$FACTORY" build --push --config "$tmp/$c.yaml" -o "$tmp/out-$c" "$tmp/$c/recipe.yaml" \
        > "$tmp/$c.out" 2>&1 || RC=$?
    OUT=$(cat "$tmp/$c.out")
    DIGEST=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["manifest"])' \
        "$tmp/out-$c/app-$c/bundle.json" 2>/dev/null || true)
    printf '%s: exit %d\n%s\n' "$c" "$RC" "$OUT" >&2
}

# tags_ok CASE: every tag, read from the registry directly, has $DIGEST
tags_ok() {
    local c=$1 tag got
    [[ $DIGEST == sha256:* ]] || { echo "no digest in bundle.json" >&2; return 1; }
    for tag in 1.0 stable; do
        got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' \
            "docker://$REG_HOST/team/app-$c:$tag" 2>&1) || { echo "$tag: $got" >&2; return 1; }
        [[ $got == "$DIGEST" ]] || { echo "$tag: $got, want $DIGEST" >&2; return 1; }
    done
}

# plog EXPR: evaluates the python expression EXPR with L = the proxy log's records
plog() {
    "$PYTHON" -c 'import json,sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = eval(sys.argv[2])
print(r if not isinstance(r, (list, dict)) else json.dumps(r))' "$PROXY_LOG" "$1"
}

# retried_ok FAULT METHOD PATH_RE: the injected request (first with that fault) was followed by
# the same request, forwarded, answered 2xx. Prints the seconds between the injected answer
# and the retry.
retried_ok() {
    "$PYTHON" - "$PROXY_LOG" "$@" <<'PY'
import json, re, sys
log, fault, method, path_re = sys.argv[1:]
L = [json.loads(l) for l in open(log) if l.strip()]
inj = [i for i, r in enumerate(L) if r["injected"] and r["fault"] == fault and r["method"] == method
       and re.fullmatch(path_re, r["path"])]
if not inj:
    sys.exit("no injected %s on %s %s" % (fault, method, path_re))
i = inj[0]
later = [r for r in L[i + 1:] if r["method"] == method and r["path"] == L[i]["path"] and not r["injected"]]
if not later or not 200 <= (later[0]["status"] or 0) < 300:
    sys.exit("no successful retry of %s %s: %s" % (method, L[i]["path"], later[:1]))
print("%.3f" % (later[0]["t"] - L[i]["t_end"]))
PY
}

start=$SECONDS

# ---- a) the manifest PUT fails once with 500 ---------------------------------------------
setup a 'PUT /v2/.*/manifests/.*=500x1'
build_push a
[[ $RC -eq 0 ]] && grep -q "pushed $PROXY_HOST/team/app-a@$DIGEST" "$tmp/a.out" &&
    t_ok "a) manifest PUT 500 once: push succeeds" || t_fail "a) manifest PUT 500 once: push succeeds" "exit $RC: $OUT"
t_check "a) the 500 was injected and the same PUT retried with success" \
    retried_ok 500 PUT '/v2/team/app-a/manifests/sha256:[0-9a-f]{64}'
t_check "a) skopeo via the registry: every tag has the digest factory reported" tags_ok a
n=$(plog 'sum(1 for r in L if r["method"] == "PUT" and "/blobs/uploads/" in r["path"] and not r["injected"])')
[[ $n -ge 1 ]] && t_ok "a) blob uploads went through the proxy (Location rewritten)" ||
    t_fail "a) blob uploads went through the proxy (Location rewritten)" "$n upload PUTs seen by the proxy"
harness_stop px_a; harness_stop reg_a

# ---- b) a blob upload answers 429 with Retry-After: 1 once --------------------------------
setup b 'PUT /v2/.*/blobs/uploads/.*=429x1:retry-after=1'
build_push b
[[ $RC -eq 0 ]] && t_ok "b) upload 429 once: push succeeds" || t_fail "b) upload 429 once: push succeeds" "exit $RC: $OUT"
wait_s=$(retried_ok 429 PUT '/v2/team/app-b/blobs/uploads/.*' 2>&1) || true
echo "b) retry after $wait_s s" >&2
if [[ $wait_s =~ ^[0-9.]+$ ]] && awk -v w="$wait_s" 'BEGIN {exit !(w >= 0.9)}'; then
    t_ok "b) the retry honoured Retry-After: 1 (waited $wait_s s)"
else
    t_fail "b) the retry honoured Retry-After: 1" "$wait_s"
fi
t_check "b) every tag has the digest" tags_ok b
harness_stop px_b; harness_stop reg_b

# ---- c) the connection of an upload POST is dropped once (and that of a mount POST) -------
setup c 'POST /v2/[^?]*/blobs/uploads/=drop x1' 'POST /v2/.*/blobs/uploads/\?mount=.*=drop x1'
build_push c
[[ $RC -eq 0 ]] && t_ok "c) dropped upload POST: push succeeds" || t_fail "c) dropped upload POST: push succeeds" "exit $RC: $OUT"
t_check "c) the upload POST was dropped and retried with success" \
    retried_ok drop POST '/v2/team/app-c/blobs/uploads/'
t_check "c) a mount POST was dropped and retried with success" \
    retried_ok drop POST '/v2/team/app-c/blobs/uploads/\?mount=.*'
t_check "c) every tag has the digest" tags_ok c
harness_stop px_c; harness_stop reg_c

# ---- d) the manifest PUT by digest always fails ------------------------------------------
setup d 'PUT /v2/.*/manifests/sha256:.*=500'
build_push d
want="registry $PROXY_HOST, repository team/app-d: putting the manifest failed with HTTP 500"
[[ $RC -eq 1 ]] && grep -qF "$want" "$tmp/d.out" &&
    t_ok "d) manifest PUT always 500: exit 1 naming registry, repository, operation, HTTP 500" ||
    t_fail "d) manifest PUT always 500: exit 1 naming registry, repository, operation, HTTP 500" "exit $RC: $OUT"
tags=$(curl -s -w ' %{http_code}' "$REG_URL/v2/team/app-d/tags/list" 2>&1 || true)
echo "d) tags/list: $tags" >&2
if [[ $tags == *' 404' ]] || "$PYTHON" -c 'import json,sys; s=sys.argv[1]; b, c = s.rsplit(" ", 1)
sys.exit(not (c == "200" and not (json.loads(b).get("tags") or [])))' "$tags" 2>/dev/null; then
    t_ok "d) nothing partial is tagged in the registry"
else
    t_fail "d) nothing partial is tagged in the registry" "$tags"
fi
n=$(plog 'sum(1 for r in L if r["method"] == "PUT" and "/manifests/" in r["path"] and "sha256:" not in r["path"])')
[[ $n -eq 0 ]] && t_ok "d) no tag PUT was even attempted" || t_fail "d) no tag PUT was even attempted" "$n tag PUTs"
echo "d) manifest PUT attempts: $(plog 'sum(1 for r in L if r["method"] == "PUT" and "/manifests/" in r["path"])')" >&2
harness_stop px_d; harness_stop reg_d

# ---- e) the registry is down (the proxy stopped) ------------------------------------------
setup e
build_push e
[[ $RC -eq 0 ]] && t_ok "e) through a fault-free proxy: push succeeds" || t_fail "e) through a fault-free proxy: push succeeds" "exit $RC: $OUT"
harness_stop px_e
rc=0; "$FACTORY" push --config "$tmp/e.yaml" "$tmp/out-e/app-e" > "$tmp/e.err" 2>&1 || rc=$?
cat "$tmp/e.err" >&2
if [[ $rc -eq 1 ]] && grep -q "registry $PROXY_HOST: .*Couldn't connect" "$tmp/e.err"; then
    t_ok "e) registry down: exit 1 with a clear connection error"
else
    t_fail "e) registry down: exit 1 with a clear connection error" "exit $rc: $(cat "$tmp/e.err")"
fi
harness_stop reg_e

echo "t_registry_faults: $((SECONDS - start)) s for the cases" >&2
exit 0
