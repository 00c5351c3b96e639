#!/usr/bin/env bash
# Self-test of tests/registry.sh: real registries (Debian's docker-registry 2.8) on
# 127.0.0.1 over plain HTTP, HTTPS + htpasswd basic auth and HTTPS + token auth, pushed to
# and read back with skopeo and curl; the access-log counting patterns.
# shellcheck disable=SC2016  # bash -c '...' scripts get their values as "$1"...
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
# shellcheck source=tests/image.sh
. "$TESTS_DIR/image.sh"
# shellcheck source=tests/registry.sh
. "$TESTS_DIR/registry.sh"

if [[ $(id -u) -ne 0 ]]; then
    t_skip "registry fixture" "tests/image.sh builds the pushed image with umoci as root (running as $(id -un))"
    exit 0
fi

tmp=$(t_tmpdir)
tag=$IMAGE_FIXTURE_TAG
repo=flink/base

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# expect NAME ACTUAL EXPECTED
expect() {
    if [[ $2 == "$3" ]]; then
        t_ok "$1"
    else
        t_fail "$1" "got '$2', want '$3'"
    fi
}

# expect_gt0 NAME ACTUAL
expect_gt0() {
    if [[ $2 =~ ^[0-9]+$ && $2 -gt 0 ]]; then
        t_ok "$1"
    else
        t_fail "$1" "got '$2', want > 0"
    fi
}

# inspect_digest OUT_FILE SKOPEO_INSPECT_ARGS...: the manifest digest skopeo reports
# (skopeo's stderr is appended to OUT_FILE.err)
inspect_digest() {
    local out=$1
    shift
    skopeo --insecure-policy inspect --retry-times 0 --format '{{.Digest}}' "$@" 2>"$out.err" >"$out" ||
        { cat "$out.err" >&2; return 1; }
    cat "$out"
}

if ! image_build_base "$tmp/base" python; then
    t_fail "fixture: image_build_base" "see the log"
    exit 1
fi
base=$IMAGE_DIR
nblobs=$(( $(wc -w <<<"$IMAGE_LAYER_DIGESTS") + 1 )) # layers + config

# ---------------------------------------------------------------- plain HTTP

t0=$(now_ms)
if ! registry_start plain; then
    t_fail "plain: registry_start" "see the log"
    exit 1
fi
echo "registry_start plain took $(( $(now_ms) - t0 )) ms" >&2
t_ok "plain: registry_start"
expect "plain: PLAIN_HOST" "$PLAIN_HOST" "127.0.0.1:$PLAIN_PORT"
expect "plain: PLAIN_URL" "$PLAIN_URL" "http://$PLAIN_HOST"
t_check "plain: PLAIN_LOG exists" test -f "$PLAIN_LOG"
t_check "plain: GET /v2/ is 200" curl -fsS -o /dev/null "$PLAIN_URL/v2/"
t_check "plain: config has delete enabled and info logging" \
    grep -qE '^  level: info$' "$PLAIN_DIR/config.yml"

m0=$(registry_log_mark plain)
t1=$(now_ms)
if registry_push_base plain "$base" "$tag" "$repo"; then
    t_ok "plain: registry_push_base"
    echo "first push took $(( $(now_ms) - t1 )) ms" >&2
else
    t_fail "plain: registry_push_base" "see the log"
fi
expect "plain: pushed digest is the layout's manifest digest" \
    "${REGISTRY_PUSHED_DIGEST:-}" "$IMAGE_MANIFEST_DIGEST"
expect "plain: REGISTRY_PUSHED_REF" "${REGISTRY_PUSHED_REF:-}" "$PLAIN_HOST/$repo:$tag"
up1=$(registry_count plain uploads "$repo" "$m0")
expect_gt0 "plain: first push: uploads counted > 0" "$up1"
expect "plain: first push: one upload per blob" "$up1" "$nblobs"
expect "plain: first push: as many upload sessions as uploads" \
    "$(registry_count plain upload-starts "$repo" "$m0")" "$up1"
expect "plain: first push: one manifest" "$(registry_count plain manifests "$repo" "$m0")" 1
expect "plain: first push: no mounts" "$(registry_count plain mounts '' "$m0")" 0

m1=$(registry_log_mark plain)
t_check "plain: second identical push" registry_push_base plain "$base" "$tag" "$repo"
expect "plain: second push: 0 uploads (skopeo skips existing blobs)" \
    "$(registry_count plain uploads '' "$m1")" 0
expect "plain: second push: 0 upload sessions" "$(registry_count plain upload-starts '' "$m1")" 0
expect_gt0 "plain: second push: blobs were checked with HEAD" \
    "$(registry_count plain blob-heads "$repo" "$m1")"
expect "plain: second push: manifest put again" "$(registry_count plain manifests '' "$m1")" 1

m2=$(registry_log_mark plain)
t_check "plain: push to a second repository" registry_push_base plain "$base" "$tag" other/img
mounts=$(registry_count plain mounts other/img "$m2")
ups=$(registry_count plain uploads other/img "$m2")
expect_gt0 "plain: second repository: blobs mounted from $repo" "$mounts"
expect "plain: second repository: every blob mounted or uploaded" "$((mounts + ups))" "$nblobs"
expect "plain: mount pattern does not count as upload" "$(registry_count plain uploads "$repo" "$m2")" 0

expect "plain: skopeo inspect --tls-verify=false" \
    "$(inspect_digest "$tmp/i1" --tls-verify=false "docker://$PLAIN_HOST/$repo:$tag" || true)" \
    "$IMAGE_MANIFEST_DIGEST"
mapfile -t pflags < <(registry_skopeo_flags plain)
expect "plain: registry_skopeo_flags" "${pflags[*]}" "--tls-verify=false"
t_check "plain: skopeo inspect without --tls-verify=false fails (HTTPS expected)" \
    bash -c '! skopeo --insecure-policy inspect --retry-times 0 "docker://$1"' _ "$PLAIN_HOST/$repo:$tag"
t_check "plain: manifest by digest via curl" bash -c \
    'curl -fsS -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" "$1/v2/$2/manifests/$3"' \
    _ "$PLAIN_URL" "$repo" "$IMAGE_MANIFEST_DIGEST"
t_check "plain: storage is under PLAIN_STORAGE" test -d "$PLAIN_STORAGE/docker/registry/v2/repositories/$repo"

# ---------------------------------------------------------------- TLS + htpasswd

t0=$(now_ms)
if ! registry_start sec --tls --auth; then
    t_fail "tls+auth: registry_start" "see the log"
    exit 1
fi
echo "registry_start sec --tls --auth took $(( $(now_ms) - t0 )) ms" >&2
t_ok "tls+auth: registry_start"
expect "tls+auth: SEC_URL" "$SEC_URL" "https://$SEC_HOST"
expect "tls+auth: SEC_USER" "$SEC_USER" pusher
expect "tls+auth: SEC_PASSWORD" "$SEC_PASSWORD" pushpass-123
t_check "tls+auth: SEC_CA is a CA certificate" \
    bash -c 'openssl x509 -in "$1" -noout -text | grep -q "CA:TRUE"' _ "$SEC_CA"
t_check "tls+auth: server cert has IP:127.0.0.1 and DNS:localhost" bash -c \
    'openssl x509 -in "$1/tls/server.crt" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1, DNS:localhost"' \
    _ "$SEC_DIR"
t_check "tls+auth: server cert verifies against SEC_CA" \
    openssl verify -CAfile "$SEC_CA" "$SEC_DIR/tls/server.crt"
t_check "tls+auth: SEC_CERT_DIR holds only ca.crt" \
    bash -c '[[ $(ls "$1") == ca.crt ]]' _ "$SEC_CERT_DIR"

t_check "tls+auth: curl --cacert -u pusher:pushpass-123 /v2/ is 200" \
    curl -fsS -o /dev/null --cacert "$SEC_CA" -u "pusher:pushpass-123" "$SEC_URL/v2/"
t_check "tls+auth: curl via localhost name verifies too" \
    curl -fsS -o /dev/null --cacert "$SEC_CA" -u "pusher:pushpass-123" "https://localhost:$SEC_PORT/v2/"
code=$(curl -sS -o /dev/null -D "$tmp/h401" -w '%{http_code}' --cacert "$SEC_CA" "$SEC_URL/v2/" || true)
expect "tls+auth: /v2/ without credentials is 401" "$code" 401
t_check "tls+auth: 401 has WWW-Authenticate: Basic" \
    grep -qiE '^WWW-Authenticate: Basic realm="factory-test-registry"' "$tmp/h401"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$SEC_CA" -u pusher:wrong "$SEC_URL/v2/" || true)
expect "tls+auth: /v2/ with a wrong password is 401" "$code" 401
t_check "tls+auth: curl without the CA fails (unknown issuer)" \
    bash -c '! curl -fsS -o /dev/null -u pusher:pushpass-123 "$1/v2/"' _ "$SEC_URL"

m0=$(registry_log_mark sec)
t1=$(now_ms)
if registry_push_base sec "$base" "$tag" "$repo"; then
    t_ok "tls+auth: registry_push_base"
    echo "first TLS push took $(( $(now_ms) - t1 )) ms" >&2
else
    t_fail "tls+auth: registry_push_base" "see the log"
fi
expect "tls+auth: pushed digest" "${REGISTRY_PUSHED_DIGEST:-}" "$IMAGE_MANIFEST_DIGEST"
up1=$(registry_count sec uploads "$repo" "$m0")
expect_gt0 "tls+auth: first push: uploads counted > 0" "$up1"
expect "tls+auth: first push: one upload per blob" "$up1" "$nblobs"
m1=$(registry_log_mark sec)
t_check "tls+auth: second identical push" registry_push_base sec "$base" "$tag" "$repo"
expect "tls+auth: second push: 0 uploads" "$(registry_count sec uploads '' "$m1")" 0
expect "tls+auth: second push: 0 upload sessions" "$(registry_count sec upload-starts '' "$m1")" 0

expect "tls+auth: skopeo inspect --cert-dir --creds" \
    "$(inspect_digest "$tmp/i2" --cert-dir "$SEC_CERT_DIR" --creds "pusher:pushpass-123" \
        "docker://$SEC_HOST/$repo:$tag" || true)" "$IMAGE_MANIFEST_DIGEST"
mapfile -t sflags < <(registry_skopeo_flags sec)
expect "tls+auth: skopeo inspect with registry_skopeo_flags" \
    "$(inspect_digest "$tmp/i3" "${sflags[@]}" "docker://$SEC_HOST/$repo:$tag" || true)" \
    "$IMAGE_MANIFEST_DIGEST"
m3=$(registry_log_mark sec)
if skopeo --insecure-policy inspect --retry-times 0 --cert-dir "$SEC_CERT_DIR" \
    --creds "pusher:wrong-password" "docker://$SEC_HOST/$repo:$tag" >/dev/null 2>"$tmp/wrong.err"; then
    t_fail "tls+auth: skopeo inspect with a wrong password fails" "it succeeded"
else
    t_ok "tls+auth: skopeo inspect with a wrong password fails"
fi
cat "$tmp/wrong.err" >&2
t_check "tls+auth: skopeo says unauthorized" grep -qiE 'unauthorized|401' "$tmp/wrong.err"
expect_gt0 "tls+auth: registry logged 401 for the wrong password" \
    "$(registry_count sec unauthorized '' "$m3")"
if skopeo --insecure-policy inspect --retry-times 0 --creds pusher:pushpass-123 \
    "docker://$SEC_HOST/$repo:$tag" >/dev/null 2>"$tmp/noca.err"; then
    t_fail "tls+auth: skopeo inspect without the CA fails" "it succeeded"
else
    t_ok "tls+auth: skopeo inspect without the CA fails"
fi
cat "$tmp/noca.err" >&2
t_check "tls+auth: ... because of the unknown authority" grep -q 'unknown authority' "$tmp/noca.err"
if skopeo --insecure-policy inspect --retry-times 0 --cert-dir "$SEC_CERT_DIR" --no-creds \
    "docker://$SEC_HOST/$repo:$tag" >/dev/null 2>&1; then
    t_fail "tls+auth: skopeo inspect --no-creds fails" "it succeeded"
else
    t_ok "tls+auth: skopeo inspect --no-creds fails"
fi

# ---------------------------------------------------------------- htpasswd over plain HTTP

# registry 2.8.2 does not insist on TLS for htpasswd auth (documented in registry.sh)
if registry_start basic --auth; then
    t_ok "http+auth: registry_start"
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$BASIC_URL/v2/" || true)
    expect "http+auth: /v2/ without credentials is 401" "$code" 401
    t_check "http+auth: /v2/ with credentials is 200 (no TLS required)" \
        curl -fsS -o /dev/null -u "$BASIC_USER:$BASIC_PASSWORD" "$BASIC_URL/v2/"
    t_check "http+auth: skopeo push over plain HTTP with creds" \
        registry_push_base basic "$base" "$tag" "$repo"
    harness_stop basic
else
    t_fail "http+auth: registry_start" "see the log"
fi

# ---------------------------------------------------------------- TLS + token auth

t0=$(now_ms)
if registry_token_start tok --tls; then
    echo "registry_token_start tok --tls took $(( $(now_ms) - t0 )) ms" >&2
    t_ok "token: registry_token_start"
    expect "token: TOK_TOKEN_URL is https" "${TOK_TOKEN_URL%%://*}" https
    code=$(curl -sS -o /dev/null -D "$tmp/t401" -w '%{http_code}' --cacert "$TOK_CA" "$TOK_URL/v2/" || true)
    expect "token: /v2/ without a token is 401" "$code" 401
    t_check "token: 401 has WWW-Authenticate: Bearer realm, service" grep -qiF \
        "WWW-Authenticate: Bearer realm=\"$TOK_TOKEN_URL\",service=\"$TOK_SERVICE\"" "$tmp/t401"
    code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$TOK_CA" \
        "$TOK_TOKEN_URL?service=$TOK_SERVICE&scope=repository:$repo:pull" || true)
    expect "token: token without credentials is 401" "$code" 401
    code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$TOK_CA" -u pusher:wrong \
        "$TOK_TOKEN_URL?service=$TOK_SERVICE&scope=repository:$repo:pull" || true)
    expect "token: token with a wrong password is 401" "$code" 401

    m0=$(registry_log_mark tok)
    t_check "token: registry_push_base" registry_push_base tok "$base" "$tag" "$repo"
    expect "token: pushed digest" "${REGISTRY_PUSHED_DIGEST:-}" "$IMAGE_MANIFEST_DIGEST"
    expect "token: first push: one upload per blob" "$(registry_count tok uploads "$repo" "$m0")" "$nblobs"
    t_check "token: token server granted pull,push to pusher" \
        grep -qE "status=200 user=pusher granted=\"repository:$repo:(pull,push|push,pull)\"" "$TOK_TOKEN_LOG"
    t_check "token: token server log has no password" bash -c '! grep -q pushpass "$1"' _ "$TOK_TOKEN_LOG"
    m1=$(registry_log_mark tok)
    t_check "token: second identical push" registry_push_base tok "$base" "$tag" "$repo"
    expect "token: second push: 0 uploads" "$(registry_count tok uploads '' "$m1")" 0

    mapfile -t tflags < <(registry_skopeo_flags tok)
    expect "token: skopeo inspect" \
        "$(inspect_digest "$tmp/i4" "${tflags[@]}" "docker://$TOK_HOST/$repo:$tag" || true)" \
        "$IMAGE_MANIFEST_DIGEST"
    expect "token: pull-only user can inspect" \
        "$(inspect_digest "$tmp/i5" --cert-dir "$TOK_CERT_DIR" --creds "$TOK_PULL_USER:$TOK_PULL_PASSWORD" \
            "docker://$TOK_HOST/$repo:$tag" || true)" "$IMAGE_MANIFEST_DIGEST"
    if skopeo --insecure-policy copy -q --retry-times 0 --dest-cert-dir "$TOK_CERT_DIR" \
        --dest-creds "$TOK_PULL_USER:$TOK_PULL_PASSWORD" "oci:$base:$tag" \
        "docker://$TOK_HOST/pulluser/img:$tag" 2>"$tmp/pullpush.err"; then
        t_fail "token: pull-only user cannot push" "it succeeded"
    else
        t_ok "token: pull-only user cannot push"
    fi
    cat "$tmp/pullpush.err" >&2
    if skopeo --insecure-policy inspect --retry-times 0 --cert-dir "$TOK_CERT_DIR" \
        --creds "pusher:wrong-password" "docker://$TOK_HOST/$repo:$tag" >/dev/null 2>"$tmp/twrong.err"; then
        t_fail "token: skopeo inspect with a wrong password fails" "it succeeded"
    else
        t_ok "token: skopeo inspect with a wrong password fails"
    fi
    cat "$tmp/twrong.err" >&2

    # the flow by hand: GET token with basic auth, then the manifest with the bearer token
    tok=$(curl -fsS --cacert "$TOK_CA" -u "$TOK_USER:$TOK_PASSWORD" \
        "$TOK_TOKEN_URL?service=$TOK_SERVICE&scope=repository:$repo:pull" |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])' || true)
    code=$(curl -sS -o /dev/null -D "$tmp/mh" -w '%{http_code}' --cacert "$TOK_CA" \
        -H "Authorization: Bearer $tok" -H "Accept: application/vnd.oci.image.manifest.v1+json" \
        "$TOK_URL/v2/$repo/manifests/$tag" || true)
    expect "token: curl GET token + manifest with Bearer" "$code" 200
    t_check "token: Docker-Content-Digest" \
        grep -qiF "Docker-Content-Digest: $IMAGE_MANIFEST_DIGEST" "$tmp/mh"
    code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$TOK_CA" \
        -d "grant_type=password&username=$TOK_USER&password=$TOK_PASSWORD&service=$TOK_SERVICE&scope=repository:$repo:pull&client_id=test" \
        "$TOK_TOKEN_URL" || true)
    expect "token: OAuth2 POST password grant is 200" "$code" 200
else
    t_fail "token: registry_token_start" "see the log"
fi

# ---------------------------------------------------------------- environment hygiene

# NAME "registry" exports REGISTRY_HOST, ... which the registry would read as config
# overrides; registry.sh strips REGISTRY_* from the server's environment
if registry_start registry; then
    t_ok "name 'registry': starts although REGISTRY_* variables are exported"
    t_check "name 'registry': REGISTRY_URL works" curl -fsS -o /dev/null "$REGISTRY_URL/v2/"
    harness_stop registry
else
    t_fail "name 'registry': starts although REGISTRY_* variables are exported" "see the log"
fi

t_check "access log lines present" grep -qE "$(registry_pattern requests)" "$PLAIN_LOG"
# over TLS the registry also speaks HTTP/2 (curl uses it; skopeo 1.9 stays on HTTP/1.1)
t_check "TLS access log: curl's requests are HTTP/2.0" grep -qE '"GET /v2/ HTTP/2\.0" [0-9]+ [0-9]+ "" "curl/' "$SEC_LOG"
t_check "uploads pattern matches HTTP/1.1 lines over TLS" grep -qE "$(registry_pattern uploads)" "$SEC_LOG"
exit 0
