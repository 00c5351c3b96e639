#!/usr/bin/env bash
# Errors a caller can branch on: the code in --json says what kind of failure it was
# (auth, not-found, invalid ...), and an unset ${VAR} in a registry credential is reported
# as such, not as a wrong password.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory

tmp=$(t_tmpdir)
PYTHON=${PYTHON:-/usr/bin/python3}
maven_build_repo "$tmp/maven" 2 > /dev/null
maven_serve "$tmp/maven" > /dev/null
registry_start locked --auth > /dev/null
image_build_base "$tmp/base" nopython
code_of() { "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["error"]["code"] if d["error"] else "none")' "$1"; }

# A registry credential whose variable is not set.
cat > "$tmp/reg.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
registries: [{host: "$LOCKED_HOST", insecure: true, credentials: env, username: "\${FACTORY_TEST_UNSET_USER}", password: "\${FACTORY_TEST_UNSET_PASSWORD}"}]
cache: {dir: $tmp/cache}
YAML
unset FACTORY_TEST_UNSET_USER FACTORY_TEST_UNSET_PASSWORD
rc=0
"$FACTORY" pull --json --config "$tmp/reg.yaml" "$LOCKED_HOST/flink/flink:1.19.2" > "$tmp/pull.json" 2> "$tmp/pull.err" || rc=$?
t_check "unset credential variable: exit 1, code auth" sh -c '[ "$1" -eq 1 ] && [ "$2" = auth ]' _ "$rc" "$(code_of "$tmp/pull.json")"
t_check "unset credential variable: the message names the variable" grep -q "FACTORY_TEST_UNSET_USER" "$tmp/pull.json"

# Maven: a private repository without credentials (auth), a coordinate nobody has (not-found).
mkdir -p "$tmp/app"
cat > "$tmp/maven.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
maven: {repositories: [{name: private, url: "$MAVEN_URL_PRIVATE"}]}
cache: {dir: $tmp/cache}
YAML
cat > "$tmp/open.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
maven: {repositories: [{name: open, url: "$MAVEN_URL_OPEN"}]}
cache: {dir: $tmp/cache}
YAML
recipe() { # COORDINATE
    cat > "$tmp/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: errs}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {repository: team/errs}
java: {jarURI: "local:///opt/flink/usrlib/x.jar"}
connectors: [{maven: "$1"}]
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
recipe "$(sed -n 2p "$MAVEN_FIXTURE_COORDS")"
rc=0
"$FACTORY" fetch --json --config "$tmp/maven.yaml" "$tmp/app/recipe.yaml" > "$tmp/auth.json" 2>/dev/null || rc=$?
t_check "Maven 401: exit 1, code auth" sh -c '[ "$1" -eq 1 ] && [ "$2" = auth ]' _ "$rc" "$(code_of "$tmp/auth.json")"
recipe "org.example.nobody:nothing:9.9.9"
rc=0
"$FACTORY" fetch --json --config "$tmp/open.yaml" "$tmp/app/recipe.yaml" > "$tmp/nf.json" 2>/dev/null || rc=$?
t_check "Maven 404 everywhere: exit 1, code not-found" sh -c '[ "$1" -eq 1 ] && [ "$2" = not-found ]' _ "$rc" "$(code_of "$tmp/nf.json")"
# A registry repository that does not exist.
registry_start open > /dev/null
cat > "$tmp/open-reg.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
registries: [{host: "$OPEN_HOST", insecure: true, credentials: none}]
cache: {dir: $tmp/cache}
YAML
rc=0
"$FACTORY" pull --json --config "$tmp/open-reg.yaml" "$OPEN_HOST/nobody/nothing:1" > "$tmp/reg404.json" 2>/dev/null || rc=$?
t_check "registry 404: exit 1, code not-found, the tag named" sh -c '[ "$1" -eq 1 ] && [ "$2" = not-found ] && grep -q "reading the manifest of tag 1" "$3"' _ "$rc" "$(code_of "$tmp/reg404.json")" "$tmp/reg404.json"

# A base tag that is not there: the tag and the recipe line that names it.
mkdir -p "$tmp/notag"
cat > "$tmp/notag/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: notag}
flink:
  version: "1.19"
  image: $OPEN_HOST/library/flink:1.19-missing
java: {jarURI: "local:///opt/flink/usrlib/x.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
rc=0
"$FACTORY" build --config "$tmp/open-reg.yaml" -o "$tmp/out-notag" "$tmp/notag/recipe.yaml" > "$tmp/notag.log" 2>&1 || rc=$?
t_check "missing base tag: exit 1, the recipe line, the tag and the registry named" sh -c \
    '[ "$1" -eq 1 ] && grep -q "recipe.yaml:6:10: flink.image $3/library/flink:1.19-missing: .*$3.*reading the manifest of tag 1.19-missing" "$2"' \
    _ "$rc" "$tmp/notag.log" "$OPEN_HOST"

# A base whose index names another index for the platform (as multi-level indexes do): the
# inner one is followed; past three levels the message says so, not "malformed descriptor".
registry_push_base open "$tmp/base" 1.19.2 nested/flink > /dev/null
put_index() { # TAG CHILD-DIGEST CHILD-MEDIA-TYPE: prints the new index's digest
    local body
    body=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}}]}' \
        "$3" "$2" "$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' \
            "http://$OPEN_HOST/v2/nested/flink/manifests/$2" | wc -c)")
    curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$body" \
        -D - -o /dev/null "http://$OPEN_HOST/v2/nested/flink/manifests/$1" | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip'
}
inner=$(put_index inner "$REGISTRY_PUSHED_DIGEST" application/vnd.oci.image.manifest.v1+json)
outer=$(put_index outer "$inner" application/vnd.oci.image.index.v1+json)
deeper=$(put_index deeper "$outer" application/vnd.oci.image.index.v1+json)
put_index deepest "$deeper" application/vnd.oci.image.index.v1+json > /dev/null
rc=0
"$FACTORY" pull --json --config "$tmp/open-reg.yaml" "$OPEN_HOST/nested/flink:outer" > "$tmp/nested.json" 2>/dev/null || rc=$?
t_check "an index inside an index: followed to the platform's image" sh -c \
    '[ "$1" -eq 0 ] && grep -q "$3" "$2"' _ "$rc" "$tmp/nested.json" "$REGISTRY_PUSHED_DIGEST"
rc=0
"$FACTORY" pull --config "$tmp/open-reg.yaml" "$OPEN_HOST/nested/flink:deepest" > "$tmp/deepest.log" 2>&1 || rc=$?
t_check "indexes four deep: exit 1, said as such" sh -c \
    '[ "$1" -eq 1 ] && grep -q "image indexes nested more than 3 deep" "$2" && ! grep -q malformed "$2"' _ "$rc" "$tmp/deepest.log"

# A wrong registry password: the first refusal ends it, named as such, no secret shown.
cat > "$tmp/wrong.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
registries: [{host: "$LOCKED_HOST", insecure: true, credentials: env, username: "\${FACTORY_TEST_REG_USER}", password: "\${FACTORY_TEST_REG_PASSWORD}"}]
cache: {dir: $tmp/cache}
YAML
mkdir -p "$tmp/push"
cat > "$tmp/push/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: wrongpass}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {registry: "$LOCKED_HOST", repository: team/wrongpass, tags: ["1.0"]}
java: {jarURI: "local:///opt/flink/usrlib/x.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
mark=$(registry_log_mark locked)
rc=0
FACTORY_TEST_REG_USER=$LOCKED_USER FACTORY_TEST_REG_PASSWORD=Wrong-Secret-42 \
    "$FACTORY" build --push --config "$tmp/wrong.yaml" -o "$tmp/out-wrong" "$tmp/push/recipe.yaml" > "$tmp/wrong.log" 2>&1 || rc=$?
refused=$(registry_count locked unauthorized "" "$mark" 2>/dev/null || echo 99)
t_check "wrong registry password: exit 1, the refusal named, no secret" sh -c \
    '[ "$1" -eq 1 ] && grep -q "HTTP 401: unauthorized; check the credentials" "$2" && ! grep -q "Wrong-Secret-42" "$2"' _ "$rc" "$tmp/wrong.log"
t_check "wrong registry password: it stops at the first refused credentials (401s: $refused, challenges included)" test "$refused" -le 8

# Credentials in a package index URL are refused without being echoed.
cat > "$tmp/index.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
python: {index: ["http://pyuser:Idx-Secret-77@127.0.0.1:9/simple"]}
cache: {dir: $tmp/cache}
YAML
rc=0
"$FACTORY" validate --config "$tmp/index.yaml" "$tmp/push/recipe.yaml" > "$tmp/index.log" 2>&1 || rc=$?
t_check "credentials in python.index: refused, not echoed" sh -c \
    '[ "$1" -eq 1 ] && grep -q "python.index\[0\]: credentials in the URL" "$2" && ! grep -q "Idx-Secret-77" "$2"' _ "$rc" "$tmp/index.log"

# So is a signing passphrase written in the file instead of a ${NAME} reference.
cat > "$tmp/signing.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
signing: {key: keys/signing.pem, passphrase: "Sign-Secret-88"}
cache: {dir: $tmp/cache}
YAML
rc=0
"$FACTORY" validate --config "$tmp/signing.yaml" "$tmp/push/recipe.yaml" > "$tmp/signing.log" 2>&1 || rc=$?
t_check "a literal signing.passphrase: refused with its position, not echoed" sh -c \
    '[ "$1" -eq 1 ] && grep -q "signing.yaml:3:[0-9]*: error: signing.passphrase: write a \${NAME} reference" "$2" &&
     ! grep -q "Sign-Secret-88" "$2"' _ "$rc" "$tmp/signing.log"

# A fetch where one artifact fails writes no factory.lock: half a set of pins is not a lock.
cat > "$tmp/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: errs}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {repository: team/errs}
java: {jarURI: "local:///opt/flink/usrlib/x.jar"}
connectors: [{maven: "$(sed -n 2p "$MAVEN_FIXTURE_COORDS")"}, {maven: "org.example.nobody:nothing:9.9.9"}]
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
rm -f "$tmp/app/factory.lock"
rc=0
"$FACTORY" fetch --config "$tmp/open.yaml" "$tmp/app/recipe.yaml" > /dev/null 2>&1 || rc=$?
t_check "a fetch with one failing artifact writes no factory.lock" sh -c '[ "$1" -eq 1 ] && [ ! -e "$2" ]' _ "$rc" "$tmp/app/factory.lock"
