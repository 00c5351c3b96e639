#!/usr/bin/env bash
# factory against real registries (Debian's docker-registry): pull a base pushed by skopeo,
# build --push, read back with skopeo; no blob uploaded twice; mounts from the base's
# repository; TLS with a test CA and htpasswd or token auth; clear errors for a wrong
# password, an unknown CA and a registry that is down; no secret in any output.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory

tmp=$(t_tmpdir)
image_build_base "$tmp/base" python
registry_start plain
registry_push_base plain "$tmp/base" 1.19.2 flink/base
BASE_DIGEST=$REGISTRY_PUSHED_DIGEST

config() { # FILE REGISTRY_YAML
    cat > "$1" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
cache: {dir: $tmp/cache}
registries:
$2
YAML
}
recipe() { # DIR NAME BASE REGISTRY [FILE_CONTENT]
    mkdir -p "$1/jobs"
    printf 'print("job")\n' > "$1/jobs/main.py"
    printf '%s\n' "${5:-shared}" > "$1/app.conf"
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: $2}
flink: {version: 1.19.2, image: "$3"}
image:
  registry: "$4"
  repository: team/$2
  tags: ["1.0", "stable"]
  files:
    - {source: app.conf, destination: /opt/flink/conf-extra/app.conf}
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
mapfile -t PLAIN_FLAGS < <(registry_skopeo_flags plain)

config "$tmp/plain.yaml" "  - {host: \"$PLAIN_HOST\", insecure: true, credentials: none}"
t_check "pull: a base from the registry into the cache" "$FACTORY" pull --config "$tmp/plain.yaml" "$PLAIN_HOST/flink/base:1.19.2"
config "$tmp/local.yaml" "  - {host: \"$PLAIN_HOST\", credentials: none}"
t_check "local registry without TLS, not marked insecure: found out and used over HTTP" \
    "$FACTORY" pull --config "$tmp/local.yaml" "$PLAIN_HOST/flink/base:1.19.2"

recipe "$tmp/a" app-a "$PLAIN_HOST/flink/base:1.19.2" "$PLAIN_HOST"
mark=$(registry_log_mark plain)
rc=0; "$FACTORY" build --push --config "$tmp/plain.yaml" -o "$tmp/out" "$tmp/a/recipe.yaml" > "$tmp/push1" 2>&1 || rc=$?
digest=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["manifest"])' "$tmp/out/app-a/bundle.json" 2>/dev/null || true)
if [[ $rc -eq 0 ]] && grep -q "pushed $PLAIN_HOST/team/app-a@$digest" "$tmp/push1"; then t_ok "build --push: pushed by digest"; else t_fail "build --push: pushed by digest" "$(cat "$tmp/push1")"; fi
got=$(skopeo inspect "${PLAIN_FLAGS[@]}" --format '{{.Digest}}' "docker://$PLAIN_HOST/team/app-a:1.0" 2>&1 || true)
[[ $got == "$digest" ]] && t_ok "skopeo inspect reads back the digest factory reported" || t_fail "skopeo inspect reads back the digest factory reported" "$got vs $digest"
got=$(skopeo inspect "${PLAIN_FLAGS[@]}" --format '{{.Digest}}' "docker://$PLAIN_HOST/team/app-a:stable" 2>&1 || true)
[[ $got == "$digest" ]] && t_ok "every tag points at the manifest" || t_fail "every tag points at the manifest" "$got"
t_check "skopeo copy docker:// -> oci: keeps the digests" sh -c '
    skopeo copy --src-tls-verify=false "docker://$1/team/app-a:1.0" "oci:$2/copy:1.0" >/dev/null &&
    [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"manifests\"][0][\"digest\"])" "$2/copy/index.json")" = "$3" ]' _ "$PLAIN_HOST" "$tmp" "$digest"
mounts=$(registry_count plain mounts team/app-a "$mark")
[[ $mounts -ge 3 ]] && t_ok "the base layers were mounted from flink/base, not uploaded" || t_fail "the base layers were mounted from flink/base, not uploaded" "$mounts mounts"
t_check "FlinkDeployment runs the image by digest" grep -qE "image: \"?$PLAIN_HOST/team/app-a@$digest\"?$" "$tmp/out/app-a/manifests/flinkdeployment.yaml"
t_check "bundle.json records the references pushed" grep -q "\"pushed\":\[.*$PLAIN_HOST/team/app-a:stable" "$tmp/out/app-a/bundle.json"

# Pushing the same image again uploads nothing and changes no manifest byte.
cp "$tmp/out/app-a/manifests/flinkdeployment.yaml" "$tmp/fd.before"
mark=$(registry_log_mark plain)
"$FACTORY" push --config "$tmp/local.yaml" "$tmp/out/app-a" > "$tmp/push2" 2>&1
if [[ $(registry_count plain uploads "" "$mark") -eq 0 && $(registry_count plain upload-starts "" "$mark") -eq 0 &&
      $(registry_count plain blob-heads "" "$mark") -eq 0 ]] && grep -q 'already there under every tag: nothing sent' "$tmp/push2"; then
    t_ok "second push: zero blob uploads, not one blob asked about"
else
    t_fail "second push: zero blob uploads" "$(cat "$tmp/push2"); uploads $(registry_count plain uploads "" "$mark")"
fi
t_check "second push: manifests unchanged" cmp "$tmp/fd.before" "$tmp/out/app-a/manifests/flinkdeployment.yaml"

# A second app sharing the base uploads only its own layers.
recipe "$tmp/b" app-b "$PLAIN_HOST/flink/base:1.19.2" "$PLAIN_HOST" "other content"
mark=$(registry_log_mark plain)
"$FACTORY" build --push --config "$tmp/plain.yaml" -o "$tmp/out" "$tmp/b/recipe.yaml" > "$tmp/push3" 2>&1 || true
# (its attached documents are uploaded too: the empty config of their artifacts and each document)
uploads=$(registry_count plain uploads team/app-b "$mark")
docs=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("documents", {})))' "$tmp/out/app-b/bundle.json")
if grep -q "(2 blobs uploaded, 3 mounted, 0 already there" "$tmp/push3" && [[ $uploads -eq $((2 + 1 + docs)) ]]; then
    t_ok "second app: only its own layer and config uploaded (and its $docs documents)"
else
    t_fail "second app: only its own layer and config uploaded" "$uploads uploads: $(cat "$tmp/push3")"
fi

# Lazy base: a Java job pushed to the base's own registry never downloads the base layers
# (they are mounted); the layout names them without holding them.
mkdir -p "$tmp/lazy"
printf 'conf\n' > "$tmp/lazy/app.conf"
cat > "$tmp/lazy/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: app-lazy}
flink: {version: "1.19", image: "$PLAIN_HOST/flink/base:1.19.2"}
image:
  registry: "$PLAIN_HOST"
  repository: team/app-lazy
  tags: ["1.0"]
  files: [{source: app.conf, destination: /opt/flink/conf-extra/app.conf}]
java: {jarURI: "local:///opt/flink/examples/streaming/StateMachineExample.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
sed "s#cache: {dir: $tmp/cache}#cache: {dir: $tmp/cache-lazy}#" "$tmp/plain.yaml" > "$tmp/lazy.yaml"   # a cold cache
mark=$(registry_log_mark plain)
rc=0; "$FACTORY" build --push --config "$tmp/lazy.yaml" -o "$tmp/out-lazy" "$tmp/lazy/recipe.yaml" > "$tmp/push9" 2>&1 || rc=$?
layer_gets=0
for d in $IMAGE_LAYER_DIGESTS; do
    n=$(tail -n +"$((mark + 1))" "$PLAIN_LOG" | grep -c "\"GET /v2/flink/base/blobs/$d " || true)
    layer_gets=$((layer_gets + n))
done
lazy_digest=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["manifest"])' "$tmp/out-lazy/app-lazy/bundle.json" 2>/dev/null || true)
got=$(skopeo inspect "${PLAIN_FLAGS[@]}" --format '{{.Digest}}' "docker://$PLAIN_HOST/team/app-lazy:1.0" 2>&1 || true)
if [[ $rc -eq 0 && $layer_gets -eq 0 && $got == "$lazy_digest" ]] && grep -q '3 base layers never downloaded' "$tmp/push9"; then
    t_ok "lazy base: pushed with no base layer downloaded, digest intact"
else
    t_fail "lazy base: pushed with no base layer downloaded, digest intact" "exit $rc, $layer_gets layer GETs, $got vs $lazy_digest: $(cat "$tmp/push9")"
fi
t_check "lazy base: skopeo copies the pushed image back whole" \
    skopeo copy --src-tls-verify=false "docker://$PLAIN_HOST/team/app-lazy:1.0" "oci:$tmp/lazy-copy:1.0"

# Chunked uploads (for registries or proxies that cap request bodies): PATCH in 64 KiB pieces.
config "$tmp/chunked.yaml" "  - {host: \"$PLAIN_HOST\", insecure: true, credentials: none, chunkSize: 65536}"
head -c 300000 /dev/urandom > "$tmp/big.bin"
recipe "$tmp/e" app-e "$PLAIN_HOST/flink/base:1.19.2" "$PLAIN_HOST" "chunked"
sed -i "s#^  files:#  files:\n    - {source: ../big.bin, destination: /opt/flink/usrlib/big.bin}#" "$tmp/e/recipe.yaml"
cp "$tmp/big.bin" "$tmp/e/big.bin"; sed -i 's#source: ../big.bin#source: big.bin#' "$tmp/e/recipe.yaml"
mark=$(registry_log_mark plain)
rc=0; "$FACTORY" build --push --config "$tmp/chunked.yaml" -o "$tmp/out" "$tmp/e/recipe.yaml" > "$tmp/push8" 2>&1 || rc=$?
patches=$(tail -n +"$((mark + 1))" "$PLAIN_LOG" | grep -c '"PATCH /v2/team/app-e/blobs/uploads/' || true)
got=$(skopeo inspect "${PLAIN_FLAGS[@]}" --format '{{.Digest}}' "docker://$PLAIN_HOST/team/app-e:1.0" 2>&1 || true)
want=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["manifest"])' "$tmp/out/app-e/bundle.json" 2>/dev/null || true)
if [[ $rc -eq 0 && $patches -ge 4 && $got == "$want" ]]; then t_ok "chunked upload: $patches PATCH requests, image intact"; else t_fail "chunked upload" "exit $rc, $patches PATCHes, $got vs $want: $(cat "$tmp/push8")"; fi

# TLS with a test CA and htpasswd auth; credentials from the environment.
registry_start secure --tls --auth
registry_push_base secure "$tmp/base" 1.19.2 flink/base
config "$tmp/secure.yaml" "  - {host: \"$SECURE_HOST\", ca: \"$SECURE_CA\", credentials: env, username: \"\${REG_USER}\", password: \"\${REG_PASS}\"}"
recipe "$tmp/c" app-c "$SECURE_HOST/flink/base:1.19.2" "$SECURE_HOST"
export REG_USER=$SECURE_USER REG_PASS=$SECURE_PASSWORD
rc=0; "$FACTORY" build --push --config "$tmp/secure.yaml" -o "$tmp/out" "$tmp/c/recipe.yaml" > "$tmp/push4" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && t_ok "TLS + basic auth: pull base, push image" || t_fail "TLS + basic auth: pull base, push image" "$(cat "$tmp/push4")"
mapfile -t SECURE_FLAGS < <(registry_skopeo_flags secure)
t_check "TLS: skopeo reads the pushed image" skopeo inspect "${SECURE_FLAGS[@]}" "docker://$SECURE_HOST/team/app-c:1.0"

# The lazy layout pushed to another registry: the base layers it does not hold are fetched
# from the base's registry and sent on.
cp -r "$tmp/out-lazy/app-lazy" "$tmp/lazy-elsewhere"
sed -i "s#\"registry\":\"$PLAIN_HOST\"#\"registry\":\"$SECURE_HOST\"#" "$tmp/lazy-elsewhere/bundle.json"
config "$tmp/both.yaml" "  - {host: \"$SECURE_HOST\", ca: \"$SECURE_CA\", credentials: env, username: \"\${REG_USER}\", password: \"\${REG_PASS}\"}
  - {host: \"$PLAIN_HOST\", insecure: true, credentials: none}"
sed -i "s#cache: {dir: $tmp/cache}#cache: {dir: $tmp/cache-both}#" "$tmp/both.yaml"
rc=0; "$FACTORY" push --config "$tmp/both.yaml" "$tmp/lazy-elsewhere" > "$tmp/push10" 2>&1 || rc=$?
got=$(skopeo inspect "${SECURE_FLAGS[@]}" --format '{{.Digest}}' "docker://$SECURE_HOST/team/app-lazy:1.0" 2>&1 || true)
if [[ $rc -eq 0 && $got == "$lazy_digest" ]]; then t_ok "lazy layout pushed elsewhere: base layers fetched from their registry"; else t_fail "lazy layout pushed elsewhere: base layers fetched from their registry" "exit $rc, $got: $(cat "$tmp/push10")"; fi

# build --push of a Java job from a base on one registry to another: the base layers the
# target lacks are downloaded to be sent on, and the summary says so (not "never downloaded").
mkdir -p "$tmp/cross"
sed -e "s#registry: \"$PLAIN_HOST\"#registry: \"$SECURE_HOST\"#" -e 's#team/app-lazy#team/app-cross#' \
    -e 's#name: app-lazy#name: app-cross#' "$tmp/lazy/recipe.yaml" > "$tmp/cross/recipe.yaml"
cp "$tmp/lazy/app.conf" "$tmp/cross/"
sed "s#cache: {dir: $tmp/cache-both}#cache: {dir: $tmp/cache-cross}#" "$tmp/both.yaml" > "$tmp/cross.yaml"
rc=0; "$FACTORY" build --push --config "$tmp/cross.yaml" -o "$tmp/out-cross" "$tmp/cross/recipe.yaml" > "$tmp/push11" 2>&1 || rc=$?
t_check "cross-registry build --push: the relayed base layers said as such" sh -c \
    '[ "$1" -eq 0 ] && grep -q "3 base layers (.* MB) fetched from the base.s registry to send on" "$2" && ! grep -q "never downloaded" "$2"' \
    _ "$rc" "$tmp/push11"

export REG_PASS=wrong-password-value
rc=0; "$FACTORY" push --config "$tmp/secure.yaml" "$tmp/out/app-c" > "$tmp/err1" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q "registry $SECURE_HOST, repository team/app-c: .*HTTP 401: unauthorized; check the credentials" "$tmp/err1"; then
    t_ok "wrong password: says which registry, repository, operation and status"
else
    t_fail "wrong password: says which registry, repository, operation and status" "$(cat "$tmp/err1")"
fi
config "$tmp/noca.yaml" "  - {host: \"$SECURE_HOST\", credentials: env, username: \"\${REG_USER}\", password: \"\${REG_PASS}\"}"
export REG_PASS=$SECURE_PASSWORD
rc=0; "$FACTORY" push --config "$tmp/noca.yaml" "$tmp/out/app-c" > "$tmp/err2" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -qi "registry $SECURE_HOST: .*certificate" "$tmp/err2" && grep -q "set ca: for it in factory.yaml" "$tmp/err2"; then t_ok "unknown CA: refused with a TLS error and what to set"; else t_fail "unknown CA: refused with a TLS error and what to set" "$(cat "$tmp/err2")"; fi

# Credentials from docker's config.json: "auths" (base64 user:password), then a credential
# helper named in "credHelpers".
config "$tmp/docker.yaml" "  - {host: \"$SECURE_HOST\", ca: \"$SECURE_CA\"}"
mkdir -p "$tmp/dockercfg" "$tmp/bin"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$SECURE_HOST" "$(printf '%s:%s' "$SECURE_USER" "$SECURE_PASSWORD" | base64 -w0)" > "$tmp/dockercfg/config.json"
rc=0; DOCKER_CONFIG=$tmp/dockercfg HOME=$tmp "$FACTORY" push --config "$tmp/docker.yaml" "$tmp/out/app-c" > "$tmp/push6" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && t_ok "credentials from docker config.json auths" || t_fail "credentials from docker config.json auths" "$(cat "$tmp/push6")"
cat > "$tmp/bin/docker-credential-factorytest" <<SH
#!/bin/sh
read host
[ "\$host" = "$SECURE_HOST" ] || exit 1
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "\$host" "$SECURE_USER" "$SECURE_PASSWORD"
SH
chmod +x "$tmp/bin/docker-credential-factorytest"
printf '{"credHelpers": {"%s": "factorytest"}}\n' "$SECURE_HOST" > "$tmp/dockercfg/config.json"
rc=0; PATH=$tmp/bin:$PATH DOCKER_CONFIG=$tmp/dockercfg HOME=$tmp "$FACTORY" push --config "$tmp/docker.yaml" "$tmp/out/app-c" > "$tmp/push7" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && t_ok "credentials from a docker credential helper" || t_fail "credentials from a docker credential helper" "$(cat "$tmp/push7")"

# A very long credential in config.json (cloud tokens run to kilobytes) is read safely.
long=$(head -c 9000 /dev/zero | tr '\0' 'x')
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$SECURE_HOST" "$(printf 'user:%s' "$long" | base64 -w0)" > "$tmp/dockercfg/config.json"
rc=0; DOCKER_CONFIG=$tmp/dockercfg HOME=$tmp "$FACTORY" push --config "$tmp/docker.yaml" "$tmp/out/app-c" > "$tmp/push11" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q 'HTTP 401: unauthorized' "$tmp/push11"; then t_ok "a 12 KB credential: read safely, refused by the registry"; else t_fail "a 12 KB credential: read safely, refused by the registry" "exit $rc: $(tail -c 300 "$tmp/push11")"; fi

if [[ -n ${REGISTRY_TOKEN_AVAILABLE:-yes} ]] && registry_start tok --tls --token 2>/dev/null; then
    registry_push_base tok "$tmp/base" 1.19.2 flink/base
    config "$tmp/tok.yaml" "  - {host: \"$TOK_HOST\", ca: \"$TOK_CA\", credentials: env, username: \"\${REG_USER}\", password: \"\${REG_PASS}\"}"
    recipe "$tmp/d" app-d "$TOK_HOST/flink/base:1.19.2" "$TOK_HOST"
    mark=$(registry_log_mark tok)
    rc=0; "$FACTORY" build --push --config "$tmp/tok.yaml" -o "$tmp/out" "$tmp/d/recipe.yaml" > "$tmp/push5" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] && t_ok "Bearer token flow: pull and push" || t_fail "Bearer token flow: pull and push" "$(cat "$tmp/push5")"
    mounts=$(registry_count tok mounts team/app-d "$mark")
    [[ $mounts -ge 3 ]] && t_ok "Bearer token flow: base layers mounted (token covers both repositories)" || t_fail "Bearer token flow: base layers mounted" "$mounts mounts: $(cat "$tmp/push5")"
fi

harness_stop plain
rc=0; "$FACTORY" push --config "$tmp/plain.yaml" "$tmp/out/app-a" > "$tmp/err3" 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q "registry $PLAIN_HOST: .*Couldn't connect" "$tmp/err3"; then t_ok "registry down: a clear connection error"; else t_fail "registry down: a clear connection error" "$(cat "$tmp/err3")"; fi

leaks=$(grep -rl -e "$SECURE_PASSWORD" -e wrong-password-value "$tmp/out" "$tmp"/push* "$tmp"/err* 2>/dev/null || true)
[[ -z $leaks ]] && t_ok "secrets: no password in any output or bundle file" || t_fail "secrets: no password in any output or bundle file" "$leaks"
exit 0
