#!/usr/bin/env bash
# factory fetch against a misbehaving Maven repository (tests/tools/faultserver.py): dropped
# connections (resumed with Range, or restarted), 500 and 429 + Retry-After retries, wrong
# published checksums, 401/403, 404 falling through to the next repository, a redirect to
# another host (credentials must not follow), ${ENV} credentials, a wrong pin, --frozen
# without a lock entry, and two concurrent fetches sharing a cache. Every case checks the
# exit status, the message, the cache (nothing in tmp/, every blob hashes to its name, no new
# blob after a failure) and the server's request log; at the end no credential may appear
# in any output or file.

set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
t_need_factory
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }

started=$(date +%s.%N)
tmp=$(t_tmpdir)
repo=$tmp/repo
SLOG=$tmp/requests.jsonl
# fetch resolves every input, the base too: a local one, so that no case needs a registry.
image_build_base "$tmp/base" nopython
BASE_BLOBS=" $(ls "$tmp/base/blobs/sha256" | tr '\n' ' ')"
PASS=s3cret-p4ss                 # what faultserver.py's /auth/ expects (user fetcher)
B64=$(printf 'fetcher:%s' "$PASS" | base64)
TOKEN=tok-$RANDOM$RANDOM-bearer  # sent to /redirect/ only; must not follow the redirect
G=org.example.faults

# ---------------------------------------------------------------- the repository

# big (>= 1 MB, so that a mid-body drop is meaningful), small and tiny: real jars.
big_src=/usr/share/java/guava.jar
if [[ ! -f $big_src ]]; then
    big_src=$(find /usr/share/java -maxdepth 1 -type f -name '*.jar' -size +1024k | LC_ALL=C sort | head -n 1)
fi
mapfile -t small_srcs < <(find /usr/share/java -maxdepth 1 -type f -name '*.jar' -size +20k -size -200k |
    LC_ALL=C sort | head -n 2)
if [[ -z $big_src || ${#small_srcs[@]} -lt 2 ]]; then
    echo "need one jar >= 1 MB and two small jars in /usr/share/java" >&2
    exit 1
fi
declare -A SRC=([big]=$big_src [small]=${small_srcs[0]} [tiny]=${small_srcs[1]})
declare -A SHA256 SIZE
for a in big small tiny; do
    d=$repo/${G//.//}/$a/1.0
    mkdir -p "$d"
    cp "${SRC[$a]}" "$d/$a-1.0.jar"
    SHA256[$a]=$(sha256sum < "$d/$a-1.0.jar" | cut -d' ' -f1)
    SIZE[$a]=$(stat -c %s "$d/$a-1.0.jar")
    sha1=$(sha1sum < "$d/$a-1.0.jar" | cut -d' ' -f1)
    if [[ $a == small ]]; then
        # sha256sum's own format ("hex  name") must be accepted too
        (cd "$d" && sha256sum "$a-1.0.jar" > "$a-1.0.jar.sha256")
    else
        echo "${SHA256[$a]}" > "$d/$a-1.0.jar.sha256"
    fi
    printf '%s' "$sha1" > "$d/$a-1.0.jar.sha1"
done
path_of() { echo "${G//.//}/$1/1.0/$1-1.0.jar"; }
echo "jars: big=${SRC[big]} (${SIZE[big]} B) small=${SRC[small]} tiny=${SRC[tiny]}" >&2

# ---------------------------------------------------------------- the server

port=$(harness_free_port)
URL=http://127.0.0.1:$port
harness_start faults "curl -fsS -o /dev/null --max-time 2 $URL/healthz" -- \
    "$PYTHON" "$TESTS_DIR/tools/faultserver.py" --port "$port" --root "$repo" --log "$SLOG"
touch "$SLOG"

# Log query: q.py LOG SKIP EXPR -> exit 0 iff EXPR is true over L, the records after line SKIP.
cat > "$tmp/q.py" <<'PY'
import json, os, sys
log, skip, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(log) as f:
    L = [json.loads(l) for l in f.read().splitlines()[skip:] if l.strip()]
SIZE = {k: int(os.environ["SIZE_" + k]) for k in ("big", "small", "tiny")}
def jar(name, mode=None):
    return [r for r in L if r["path"].endswith("/%s-1.0.jar" % name)
            and (mode is None or r["path"].startswith("/%s/" % mode))]
def side(name, ext):
    return [r for r in L if r["path"].endswith("/%s-1.0.jar.%s" % (name, ext))]
def sr(rs):
    return [(r["status"], r["range"]) for r in rs]
ok = eval(expr)
if not ok:
    print("false: %s\nrequests:" % expr)
    for r in L:
        print("  %s" % json.dumps(r, sort_keys=True))
sys.exit(0 if ok else 1)
PY
export SIZE_big=${SIZE[big]} SIZE_small=${SIZE[small]} SIZE_tiny=${SIZE[tiny]}

# ---------------------------------------------------------------- helpers

# new_case NAME: a fresh directory $C with app/ (recipe, lock) and cache/; resets the
# server's "first request" state and remembers where the request log stands.
new_case() {
    CASE=$1
    C=$tmp/cases/$1
    mkdir -p "$C/app" "$C/cache"
    curl -fsS -o /dev/null -X POST "$URL/_reset"
    LOG0=$(wc -l < "$SLOG")
    echo "==== case $CASE" >&2
}

# config: repository entries (YAML list items, 4 spaces in) on stdin -> $C/factory.yaml
config() {
    {
        cat <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
cache: {dir: $C/cache}
maven:
  parallel: 4
  repositories:
YAML
        cat
    } > "$C/factory.yaml"
}

# recipe ARTIFACT[=SHA256PIN]... -> $C/app/recipe.yaml
recipe() {
    local spec
    {
        cat <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: faults}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {repository: team/faults}
java: {jarURI: "local:///opt/flink/usrlib/app.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
connectors:
YAML
        for spec in "$@"; do
            echo "  - maven: $G:${spec%%=*}:1.0"
            if [[ $spec == *=* ]]; then echo "    sha256: ${spec#*=}"; fi
        done
    } > "$C/app/recipe.yaml"
}

# fetch [ARG...]: runs factory fetch for the case; sets RC and ELAPSED (seconds)
fetch() {
    local t0 t1
    RC=0
    t0=$(date +%s.%N)
    timeout -k 5 60 "$FACTORY" fetch --config "$C/factory.yaml" "$@" "$C/app/recipe.yaml" \
        > "$C/out" 2> "$C/err" || RC=$?
    t1=$(date +%s.%N)
    ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    {
        echo "factory fetch $*: exit $RC in ${ELAPSED}s"
        sed 's/^/  | /' "$C/err"
    } >&2
}

SAN_RE='runtime error:|AddressSanitizer|LeakSanitizer|MemorySanitizer|ThreadSanitizer'

# expect NAME RC STRING...: the exit status is RC, stderr contains every STRING, and (a
# second check) stderr has no sanitizer report: UBSan exits with status 1 too, so a crash
# would otherwise pass for an ordinary failure.
expect() {
    local name=$1 want=$2 s missing=
    shift 2
    for s in "$@"; do
        grep -qF -- "$s" "$C/err" || missing+=" [$s]"
    done
    if [[ $RC -eq $want && -z $missing ]]; then
        t_ok "$name"
    else
        t_fail "$name" "exit $RC (want $want); missing:$missing; stderr: $(tail -n 5 "$C/err")"
    fi
    if ! grep -qE "$SAN_RE" "$C/err"; then
        t_ok "$CASE: no sanitizer report"
    else
        t_fail "$CASE: no sanitizer report" "$(grep -m 3 -E "$SAN_RE" "$C/err")"
    fi
}

# cache_is CACHE SHA256...: tmp/ is empty, every blob hashes to its name, and the blobs
# are exactly the given ones
cache_is() {
    local cache=$1 f name bad=0 left want got
    shift
    left=$(ls -A "$cache/tmp" 2>/dev/null || echo "(no tmp dir)")
    [[ -z $left ]] || { echo "left in $cache/tmp: $left" >&2; bad=1; }
    got=
    for f in "$cache"/blobs/sha256/*; do
        [[ -e $f ]] || continue
        name=${f##*/}
        if [[ $(sha256sum < "$f" | cut -d' ' -f1) != "$name" ]]; then
            echo "blob $name does not hash to its name" >&2
            bad=1
        fi
        [[ $BASE_BLOBS == *" $name "* ]] || got+="$name "
    done
    want=$(printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ')
    got=$(printf '%s' "$got" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')
    [[ ${want# } == "${got# }" ]] || { echo "blobs: want [$want] got [$got]" >&2; bad=1; }
    return $bad
}

# log NAME EXPR: a check over this case's server requests (see q.py)
log() { t_check "$1" "$PYTHON" "$tmp/q.py" "$SLOG" "$LOG0" "$2"; }

# lock_is LOCK COORD=REPOSITORY...: factory.lock is valid and has exactly these entries,
# with the right sha256 and size (COORD is the short name: big, small, tiny)
lock_is() {
    local lock=$1
    shift
    "$PYTHON" - "$lock" "$@" <<'PY'
import os, sys, yaml
lock = yaml.safe_load(open(sys.argv[1]))
assert lock["apiVersion"] == "factory.dev/v1alpha1" and lock["kind"] == "Lock", lock
got = {a["coordinate"]: a for a in lock.get("artifacts") or []}
want = dict(arg.split("=", 1) for arg in sys.argv[2:])
assert sorted(got) == sorted("org.example.faults:%s:1.0" % k for k in want), (sorted(got), want)
for short, repo in want.items():
    a = got["org.example.faults:%s:1.0" % short]
    assert a["repository"] == repo, (a, repo)
    assert a["sha256"] == os.environ["SHA256_" + short], a
    assert a["size"] == int(os.environ["SIZE_" + short]), a
PY
}
export SHA256_big=${SHA256[big]} SHA256_small=${SHA256[small]} SHA256_tiny=${SHA256[tiny]}

# no_lock_entries LOCK: no lock file, or one without artifacts
no_lock_entries() {
    [[ ! -e $1 ]] || "$PYTHON" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert not d.get("artifacts"), d' "$1"
}

# A blob the failing cases start with: a failure must leave it alone and add nothing.
seed_cache() {
    mkdir -p "$C/cache/blobs/sha256" "$C/cache/tmp"
    cp "$repo/$(path_of tiny)" "$C/cache/blobs/sha256/${SHA256[tiny]}"
}

# ---------------------------------------------------------------- 1. drop, resumed with Range

new_case drop
config <<YAML
    - {name: flaky-net, url: "$URL/drop/"}
YAML
recipe big
fetch
expect "drop: connection lost mid-body, fetch succeeds" 0 "downloaded $G:big:1.0"
log "drop: first GET got half the body, the retry asked for the rest (one 206 with Range)" \
    'sr(jar("big")) == [(200, None), (206, "bytes=%d-" % (SIZE["big"] // 2))] and [r["bytes"] for r in jar("big")] == [SIZE["big"] // 2, SIZE["big"] - SIZE["big"] // 2]'
t_check "drop: cache holds the whole jar, nothing in tmp/" cache_is "$C/cache" "${SHA256[big]}"
t_check "drop: lock records the jar" lock_is "$C/app/factory.lock" "big=$URL/drop"

# ---------------------------------------------------------------- 2. drop without range support

new_case drop-norange
config <<YAML
    - {name: flaky-net, url: "$URL/drop-norange"}
YAML
recipe big
fetch
expect "drop-norange: connection lost, no Accept-Ranges: fetch succeeds" 0 "downloaded $G:big:1.0"
log "drop-norange: the retry restarted from byte 0 (no Range, two 200s)" \
    'sr(jar("big")) == [(200, None), (200, None)]'
t_check "drop-norange: restarted download stored once, correctly" cache_is "$C/cache" "${SHA256[big]}"

# ---------------------------------------------------------------- 3. 500, then success

new_case flaky
config <<YAML
    - {name: flaky, url: "$URL/flaky"}
YAML
recipe small
fetch
expect "500: retried, fetch succeeds" 0 "downloaded $G:small:1.0"
log "500: jar and sidecars asked twice (500, then the answer)" \
    'sr(jar("small")) == [(500, None), (200, None)] and [r["status"] for r in side("small", "sha256")] == [500, 200] and [r["status"] for r in side("small", "sha512")] == [500, 404]'
t_check "500: cache ok" cache_is "$C/cache" "${SHA256[small]}"

# ---------------------------------------------------------------- 4. 429 with Retry-After: 2

new_case ratelimit
config <<YAML
    - {name: limited, url: "$URL/ratelimit"}
YAML
recipe small
fetch
expect "429: retried, fetch succeeds" 0 "downloaded $G:small:1.0"
if awk -v e="$ELAPSED" 'BEGIN { exit !(e >= 1.9) }'; then
    t_ok "429: the retry honoured Retry-After: 2 (fetch took ${ELAPSED}s)"
else
    t_fail "429: the retry honoured Retry-After: 2" "fetch took only ${ELAPSED}s"
fi
log "429: 429 then 200 for the jar, at least ~2 s apart on the server" \
    'sr(jar("small")) == [(429, None), (200, None)] and jar("small")[1]["t"] - jar("small")[0]["t"] >= 1.9'
t_check "429: cache ok" cache_is "$C/cache" "${SHA256[small]}"

# ---------------------------------------------------------------- 5. wrong published checksum

bogus=$(curl -fsS "$URL/badsum/$(path_of small).sha512")
real=$(sha512sum < "$repo/$(path_of small)" | cut -d' ' -f1)
new_case badsum
seed_cache
config <<YAML
    - {name: liar, url: "$URL/badsum"}
    - {name: honest, url: "$URL/ok"}
YAML
recipe small
fetch
expect "badsum: fails naming the artifact, URL, expected and actual digest" 1 \
    "$G:small:1.0: checksum mismatch for $URL/badsum/$(path_of small)" \
    "expected sha512 $bogus (published by the repository), got $real" "nothing was stored"
log "badsum: jar asked once, the next repository not asked" \
    'sr(jar("small")) == [(200, None)] and all(r["path"].startswith("/badsum/") for r in L)'
t_check "badsum: nothing stored (only the seeded blob), nothing in tmp/" cache_is "$C/cache" "${SHA256[tiny]}"
t_check "badsum: no lock entry" no_lock_entries "$C/app/factory.lock"

# ---------------------------------------------------------------- 6/7. 401 and 403

for mode in unauthorized forbidden; do
    [[ $mode == unauthorized ]] && code=401 || code=403
    new_case "$mode"
    seed_cache
    config <<YAML
    - name: corp
      url: "$URL/$mode"
      username: fetcher
      password: \${FAULT_PASS}
    - {name: other, url: "$URL/ok"}
YAML
    recipe small
    FAULT_PASS=$PASS fetch
    expect "$code: fails naming the artifact and repository, says to check credentials" 1 \
        "$G:small:1.0: repository 'corp' ($URL/$mode) answered HTTP $code for $(path_of small)" \
        "check the credentials for 'corp'"
    log "$code: not retried, the next repository not asked" \
        'sr(jar("small")) == [('"$code"', None)] and all(r["path"].startswith("/'"$mode"'/") for r in L)'
    t_check "$code: nothing stored, nothing in tmp/" cache_is "$C/cache" "${SHA256[tiny]}"
done

# ---------------------------------------------------------------- 8. 404, then the next repository

new_case fallthrough
config <<YAML
    - {name: first, url: "$URL/missing"}
    - {name: second, url: "$URL/ok"}
YAML
recipe small tiny
fetch
expect "404: next repository used, fetch succeeds" 0 "downloaded $G:small:1.0 (" "from $URL/ok"
log "404: each jar asked from the first, then from the second repository" \
    'sr(jar("small", "missing")) == [(404, None)] and sr(jar("small", "ok")) == [(200, None)] and sr(jar("tiny", "missing")) == [(404, None)] and sr(jar("tiny", "ok")) == [(200, None)]'
t_check "404: lock records the second repository" lock_is "$C/app/factory.lock" "small=$URL/ok" "tiny=$URL/ok"
t_check "404: cache ok" cache_is "$C/cache" "${SHA256[small]}" "${SHA256[tiny]}"

# Nowhere at all: the message lists the repositories tried.
new_case notfound
seed_cache
config <<YAML
    - {name: first, url: "$URL/missing"}
    - {name: second, url: "$URL/missing/"}
YAML
recipe small
fetch
expect "404 everywhere: fails listing the repositories tried" 1 \
    "$G:small:1.0: not found in any repository (tried first, second)"
t_check "404 everywhere: nothing stored" cache_is "$C/cache" "${SHA256[tiny]}"

# ---------------------------------------------------------------- 9. redirect to another host

# 302 from 127.0.0.1 to localhost (/ok/, no authentication needed): the credentials of the
# repository must not be sent to the other host. Basic (literal password in the config)
# and bearer token.
for kind in basic bearer; do
    new_case "redirect-$kind"
    if [[ $kind == basic ]]; then
        creds=$'      username: fetcher\n      password: '"$PASS"
    else
        creds="      token: $TOKEN"
    fi
    config <<YAML
    - name: moved
      url: "$URL/redirect"
$creds
YAML
    recipe small
    fetch
    expect "redirect ($kind): followed to the other host, fetch succeeds" 0 "downloaded $G:small:1.0"
    log "redirect ($kind): sent with credentials to 127.0.0.1, without them to localhost" \
        'sr(jar("small", "redirect")) == [(302, None)] and jar("small", "redirect")[0]["auth"] and jar("small", "redirect")[0]["host"] == "127.0.0.1:'"$port"'" and [(r["status"], r["auth"], r["host"]) for r in jar("small", "ok")] == [(200, False, "localhost:'"$port"'")]'
    t_check "redirect ($kind): cache ok" cache_is "$C/cache" "${SHA256[small]}"
done

# ---------------------------------------------------------------- 10. basic auth from ${ENV}

new_case auth
config <<'YAML'
    - name: private
      url: "URL/auth"
      username: ${FAULT_USER}
      password: ${FAULT_PASS}
YAML
sed -i "s|URL/auth|$URL/auth|" "$C/factory.yaml"
recipe big small
FAULT_USER=fetcher FAULT_PASS=$PASS fetch
expect "auth: \${ENV} basic credentials accepted, fetch succeeds" 0 "downloaded $G:big:1.0" "downloaded $G:small:1.0"
log "auth: every request carried credentials, none was refused" \
    'L and all(r["auth"] and r["status"] in (200, 404) for r in L) and sr(jar("big")) == [(200, None)]'
t_check "auth: cache ok" cache_is "$C/cache" "${SHA256[big]}" "${SHA256[small]}"
t_check "auth: lock ok" lock_is "$C/app/factory.lock" "big=$URL/auth" "small=$URL/auth"

# Wrong password: 401, credentials named but not shown.
new_case auth-wrong
seed_cache
cp "$tmp/cases/auth/factory.yaml" "$C/factory.yaml"
sed -i "s|dir: .*/cases/auth/cache|dir: $C/cache|" "$C/factory.yaml"
recipe small
FAULT_USER=fetcher FAULT_PASS=not-$PASS-either fetch
expect "auth: wrong password fails with 401 naming the repository" 1 \
    "repository 'private' ($URL/auth) answered HTTP 401" "check the credentials for 'private'"
t_check "auth: wrong password stores nothing" cache_is "$C/cache" "${SHA256[tiny]}"

# ---------------------------------------------------------------- 11. unset ${ENV}

new_case env-unset
seed_cache
config <<'YAML'
    - name: private
      url: "URL/auth"
      username: ${FAULT_USER}
      password: ${FAULT_PASS_PREFIX}${FAULT_PASS_MISSING}
YAML
sed -i "s|URL/auth|$URL/auth|" "$C/factory.yaml"
recipe small
unset FAULT_PASS_MISSING
FAULT_USER=fetcher FAULT_PASS_PREFIX=$PASS fetch
expect "env: unset variable named in a clear error" 1 \
    "password of repository 'private': environment variable FAULT_PASS_MISSING is not set"
log "env: no request made" 'L == []'
t_check "env: nothing stored" cache_is "$C/cache" "${SHA256[tiny]}"

# ---------------------------------------------------------------- 12. wrong pin

new_case pin
seed_cache
config <<YAML
    - {name: central, url: "$URL/ok"}
YAML
recipe "small=${SHA256[big]}"
fetch
expect "pin: mismatch fails with expected and actual digests" 1 \
    "$G:small:1.0: checksum mismatch for $URL/ok/$(path_of small)" \
    "expected sha256 ${SHA256[big]} (pinned), got ${SHA256[small]}" "nothing was stored"
log "pin: only the jar was asked for (the pin replaces the sidecars)" \
    'sr(L) == [(200, None)] and jar("small")'
t_check "pin: nothing stored" cache_is "$C/cache" "${SHA256[tiny]}"
t_check "pin: no lock entry" no_lock_entries "$C/app/factory.lock"

# ---------------------------------------------------------------- 13. --frozen without an entry

new_case frozen
seed_cache
config <<YAML
    - {name: central, url: "$URL/ok"}
YAML
recipe small
fetch --frozen
expect "frozen: no lock entry fails and says to run factory lock" 1 \
    "no entry for $G:small:1.0; run 'factory lock $C/app/recipe.yaml'"
log "frozen: no request made" 'L == []'
t_check "frozen: no factory.lock written" \
    sh -c '[ ! -e "$1" ]' _ "$C/app/factory.lock"
t_check "frozen: cache untouched" cache_is "$C/cache" "${SHA256[tiny]}"

# ---------------------------------------------------------------- 14. two fetches at once

# race RECIPE_A RECIPE_B: two factory fetch processes released at the same moment (each
# announces itself, then waits for $C/go); sets RC_A and RC_B; stderr of both in $C/err
race() {
    local pids=() x recipe
    rm -f "$C/go" "$C"/ready-*
    for x in a b; do
        if [[ $x == a ]]; then recipe=$1; else recipe=$2; fi
        (
            touch "$C/ready-$x"
            while [[ ! -e $C/go ]]; do sleep 0.005; done
            exec timeout -k 5 60 "$FACTORY" fetch -q --config "$C/factory.yaml" "$recipe" \
                > "$C/out-$x" 2> "$C/err-$x"
        ) &
        pids+=($!)
    done
    while [[ ! -e $C/ready-a || ! -e $C/ready-b ]]; do sleep 0.005; done
    touch "$C/go"
    RC_A=0 RC_B=0
    wait "${pids[0]}" || RC_A=$?
    wait "${pids[1]}" || RC_B=$?
    cat "$C/err-a" "$C/err-b" > "$C/err"
    sed 's/^/  | /' "$C/err" >&2
}

# both_ok NAME: both raced processes exited 0 without a sanitizer report
both_ok() {
    if [[ $RC_A -eq 0 && $RC_B -eq 0 ]] && ! grep -qE "$SAN_RE" "$C/err"; then
        t_ok "$1"
    else
        t_fail "$1" "exit $RC_A/$RC_B: $(head -c 600 "$C/err")"
    fi
}

# Same recipe, same cache, same lock.
new_case concurrent
config <<YAML
    - {name: central, url: "$URL/ok"}
YAML
recipe big small tiny
race "$C/app/recipe.yaml" "$C/app/recipe.yaml"
both_ok "concurrent: both fetches succeed"
log "concurrent: both processes downloaded (two GETs per jar)" \
    'all(sr(jar(a)) == [(200, None)] * 2 for a in ("big", "small", "tiny"))'
t_check "concurrent: cache consistent (every blob hashes to its name, tmp/ empty)" \
    cache_is "$C/cache" "${SHA256[big]}" "${SHA256[small]}" "${SHA256[tiny]}"
t_check "concurrent: lock valid and complete" lock_is "$C/app/factory.lock" \
    "big=$URL/ok" "small=$URL/ok" "tiny=$URL/ok"
t_check "concurrent: no stray lock temp file" \
    sh -c 'test -z "$(find "$1" -name "*.tmp.*")"' _ "$C/app"
LOG0=$(wc -l < "$SLOG")
fetch --frozen
expect "concurrent: a --frozen fetch afterwards is served from the cache" 0 "3 cached"
log "concurrent: ... without a request" 'L == []'

# Two different recipes in one directory share its factory.lock. Through /ratelimit/ both
# wait 2 s (Retry-After) between reading the lock and writing it back, so they overlap for
# sure; each must add its entry without losing the other's.
new_case concurrent-recipes
config <<YAML
    - {name: limited, url: "$URL/ratelimit"}
YAML
recipe big
mv "$C/app/recipe.yaml" "$C/app/one.yaml"
recipe small
mv "$C/app/recipe.yaml" "$C/app/two.yaml"
race "$C/app/one.yaml" "$C/app/two.yaml"
both_ok "concurrent recipes: both fetches succeed"
t_check "concurrent recipes: cache consistent" cache_is "$C/cache" "${SHA256[big]}" "${SHA256[small]}"
if lock_is "$C/app/factory.lock" "big=$URL/ratelimit" "small=$URL/ratelimit"; then
    t_ok "concurrent recipes: the shared lock has both entries"
else
    t_fail "concurrent recipes: the shared lock has both entries" "$(cat "$C/app/factory.lock")"
fi

# ---------------------------------------------------------------- secrets

# The password (and its base64 form, the Authorization header) and the token appear in no
# output, lock, cache or log file: only in the configs that hold them literally.
leaks=$(grep -rlF -e "$PASS" -e "$B64" -e "$TOKEN" "$T_TMP" --exclude=factory.yaml 2>/dev/null || true)
if [[ -z $leaks ]]; then
    t_ok "secrets: no credential in stdout/stderr, lock, cache or server log"
else
    t_fail "secrets: no credential in stdout/stderr, lock, cache or server log" "$leaks"
fi
literal=$(grep -rlF -e "$PASS" -e "$TOKEN" "$T_TMP" --include=factory.yaml | sed "s|^$tmp/cases/||" | LC_ALL=C sort | tr '\n' ' ')
if [[ $literal == "redirect-basic/factory.yaml redirect-bearer/factory.yaml " ]]; then
    t_ok "secrets: only the redirect configs hold a literal credential"
else
    t_fail "secrets: only the redirect configs hold a literal credential" "$literal"
fi

total=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "t_fetch_faults: ${total}s" >&2
exit 0
