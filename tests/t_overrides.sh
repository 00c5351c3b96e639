#!/usr/bin/env bash
# CI habits: the image target overridden without editing the recipe (--registry, --repository,
# --tag; FACTORY_REGISTRY, FACTORY_REPOSITORY, FACTORY_TAGS, the flags winning), --strict, and
# --digest-file / --image-refs where CI tools look for the result.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory
PYTHON=${PYTHON:-/usr/bin/python3}

tmp=$(t_tmpdir)
image_build_base "$tmp/base" nopython
registry_start plain > /dev/null
mkdir -p "$tmp/app"
cat > "$tmp/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: ci}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {registry: registry.example.com, repository: team/ci, tags: ["1.0"]}
java: {jarURI: "local:///opt/flink/usrlib/x.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
printf 'apiVersion: factory.dev/v1alpha1\nkind: Config\nregistries: [{host: "%s", insecure: true, credentials: none}]\ncache: {dir: %s/cache}\n' \
    "$PLAIN_HOST" "$tmp" > "$tmp/factory.yaml"
image_of() { grep -m1 '^ *image: ' "$1/ci/manifests/flinkdeployment.yaml" | sed -e 's/^ *image: //' -e 's/"//g'; }

"$FACTORY" render -q --config "$tmp/factory.yaml" -o "$tmp/r1" --registry reg.ci.example --repository ci/app --tag 2.0 --tag ci-abc123 "$tmp/app/recipe.yaml"
t_check "render: the flags replace registry, repository and tags" test "$(image_of "$tmp/r1")" = reg.ci.example/ci/app:2.0
FACTORY_REGISTRY=env.example FACTORY_REPOSITORY=env/app FACTORY_TAGS="7.1, nightly" \
    "$FACTORY" render -q --config "$tmp/factory.yaml" -o "$tmp/r2" "$tmp/app/recipe.yaml"
t_check "render: FACTORY_REGISTRY, FACTORY_REPOSITORY, FACTORY_TAGS replace them" test "$(image_of "$tmp/r2")" = env.example/env/app:7.1
FACTORY_REGISTRY=env.example FACTORY_TAGS=7.1 \
    "$FACTORY" render -q --config "$tmp/factory.yaml" -o "$tmp/r3" --registry flag.example --tag 9.9 "$tmp/app/recipe.yaml"
t_check "render: a flag wins over its variable" test "$(image_of "$tmp/r3")" = flag.example/team/ci:9.9
rc=0; "$FACTORY" render --config "$tmp/factory.yaml" -o "$tmp/r4" --tag 'not a tag!' "$tmp/app/recipe.yaml" > "$tmp/bad.log" 2>&1 || rc=$?
t_check "a bad tag: an error naming it, nothing written" sh -c \
    '[ "$1" -eq 1 ] && grep -q "tag override .not a tag!. is not a valid image tag" "$2" && [ ! -e "$3" ]' _ "$rc" "$tmp/bad.log" "$tmp/r4"

# build --push: the tags given are the ones pushed; the digest and references written out
rc=0
"$FACTORY" build -q --push --config "$tmp/factory.yaml" -o "$tmp/out" --registry "$PLAIN_HOST" --tag ci-42 --tag latest \
    --digest-file "$tmp/digest" --image-refs "$tmp/refs" "$tmp/app/recipe.yaml" > "$tmp/push.log" 2>&1 || rc=$?
digest=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["manifest"])' "$tmp/out/ci/bundle.json" 2>/dev/null || true)
t_check "build --push with overrides: pushed under the given tags" sh -c \
    '[ "$1" -eq 0 ] && [ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" "docker://$2/team/ci:ci-42")" = "$3" ] &&
     [ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" "docker://$2/team/ci:latest")" = "$3" ]' _ "$rc" "$PLAIN_HOST" "$digest"
t_check "--digest-file holds the manifest digest" test "$(cat "$tmp/digest")" = "$digest"
t_check "--image-refs lists the digest reference, then each tag" test "$(cat "$tmp/refs")" = "$(printf '%s\n' \
    "$PLAIN_HOST/team/ci@$digest" "$PLAIN_HOST/team/ci:ci-42" "$PLAIN_HOST/team/ci:latest")"
t_check "the manifests deploy the pushed image by digest" test "$(image_of "$tmp/out")" = "$PLAIN_HOST/team/ci@$digest"

# --strict: a recipe that warns fails, before anything is written
sed 's#^taskManager: {memory: 1g}#taskManager: {memory: 1g}\nstate: {checkpoints: "s3://bucket/cp"}#' "$tmp/app/recipe.yaml" > "$tmp/app/warns.yaml"
"$FACTORY" render -q --config "$tmp/factory.yaml" -o "$tmp/w1" "$tmp/app/warns.yaml" 2> "$tmp/w1.log"
t_check "without --strict a warning is printed and the render goes on" sh -c \
    'grep -q "warning: state: S3 directories need an S3 filesystem plugin" "$1" && [ -d "$2/ci/manifests" ]' _ "$tmp/w1.log" "$tmp/w1"
rc=0; "$FACTORY" render --strict --config "$tmp/factory.yaml" -o "$tmp/w2" "$tmp/app/warns.yaml" > "$tmp/w2.log" 2>&1 || rc=$?
t_check "--strict: the warning fails the run and nothing is written" sh -c \
    '[ "$1" -eq 1 ] && grep -q "which --strict makes errors" "$2" && [ ! -e "$3" ]' _ "$rc" "$tmp/w2.log" "$tmp/w2"

exit 0
