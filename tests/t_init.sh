#!/usr/bin/env bash
# factory init: starter recipes that validate, render and build; no file overwritten without
# --force; --from imports hand-written FlinkDeployments (tests/fixtures/init/) into recipes
# whose render matches the input field by field, except what factory adds by design.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
t_need_factory

tmp=$(t_tmpdir)
fixtures=$TESTS_DIR/fixtures/init

# ---------------------------------------------------------------- starter recipes

for kind in pyflink java; do
    d=$tmp/$kind-app
    if "$FACTORY" init "$d" --$kind >"$tmp/$kind.out" 2>&1; then
        t_ok "init --$kind"
    else
        t_fail "init --$kind" "$(cat "$tmp/$kind.out")"
        continue
    fi
    t_check "init --$kind: recipe validates" "$FACTORY" validate "$d/recipe.yaml"
    t_check "init --$kind: recipe renders" "$FACTORY" render -q -o "$tmp/out-$kind" "$d/recipe.yaml"
    t_check "init --$kind: factory.yaml written" test -s "$d/factory.yaml"
    t_check "init --$kind: the name comes from the directory" \
        grep -q "^  name: $kind-app " "$d/recipe.yaml"
    # Every key has a comment saying what it does.
    bare=$(grep -vE '^\s*(#|$)' "$d/recipe.yaml" | grep -vE '#|^[a-zA-Z]+:$|^  [a-zA-Z]+:$|^\s+- ' || true)
    if [[ -z $bare ]]; then t_ok "init --$kind: every key is commented"; else t_fail "init --$kind: every key is commented" "$bare"; fi
done
t_check "init --pyflink: jobs/main.py is a PyFlink job" grep -q 'from pyflink' "$tmp/pyflink-app/jobs/main.py"
t_check "init --pyflink: the job runs the script" \
    grep -q '/opt/flink/pyflink/main.py' "$tmp/out-pyflink/pyflink-app/manifests/flinkdeployment.yaml"
t_check "init --java: a catalog connector" grep -q '^  - name: kafka' "$tmp/java-app/recipe.yaml"
t_check "init --java: jarURI" grep -q 'jarURI: local:///opt/flink/examples/streaming/StateMachineExample.jar' \
    "$tmp/out-java/java-app/manifests/flinkdeployment.yaml"

# A second init changes nothing; --force overwrites.
d=$tmp/pyflink-app
echo '# edited' >> "$d/recipe.yaml"
echo '# mine' >> "$d/factory.yaml"
before=$(cd "$d" && find . -type f | sort | xargs sha256sum)
if "$FACTORY" init "$d" --pyflink >"$tmp/again.out" 2>&1; then
    t_fail "a second init refuses" "exit 0"
else
    t_check "a second init refuses, naming the file" grep -q "$d/recipe.yaml exists" "$tmp/again.out"
fi
after=$(cd "$d" && find . -type f | sort | xargs sha256sum)
if [[ $before == "$after" ]]; then t_ok "a refused init writes nothing"; else t_fail "a refused init writes nothing"; fi
rm "$d/recipe.yaml"
if "$FACTORY" init "$d" --pyflink >"$tmp/again.out" 2>&1; then
    t_fail "init refuses when only jobs/main.py exists" "exit 0"
else
    t_check "init refuses when only jobs/main.py exists" grep -q "jobs/main.py exists" "$tmp/again.out"
    t_check "... and writes no recipe" test ! -e "$d/recipe.yaml"
fi
t_check "init --force overwrites" "$FACTORY" init -q --force "$d" --pyflink
t_check "init --force: the recipe is new" bash -c "! grep -q '# edited' '$d/recipe.yaml'"
t_check "init --force keeps an existing factory.yaml" grep -q '# mine' "$d/factory.yaml"
t_check "init into . by default" bash -c "mkdir '$tmp/here' && cd '$tmp/here' && '$FACTORY' init -q --java && test -s recipe.yaml && grep -q '^  name: here ' recipe.yaml"
if "$FACTORY" init --java --pyflink "$tmp/both" 2>/dev/null; then t_fail "--java with --pyflink is a usage error"; else t_ok "--java with --pyflink is a usage error"; fi

# The Java starter builds on a local base, its connector from a local Maven repository.
maven_build_repo "$tmp/repo" 2
maven_serve "$tmp/repo"
image_build_base "$tmp/base" python
j=$tmp/java-app
cat > "$j/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: fixture, url: "$MAVEN_URL_OPEN"}]
cache: {dir: $tmp/cache}
YAML
sed -i "s|^  image: flink:1.19.2 |  image: \"$IMAGE_REF\" |" "$j/recipe.yaml"
printf 'image:\n  repository: team/java-app\n' >> "$j/recipe.yaml"
t_check "init --java: factory build on a local base" \
    "$FACTORY" build -q --config "$j/factory.yaml" -o "$tmp/build" "$j/recipe.yaml"
t_check "init --java: the image holds the connector" \
    bash -c "'$FACTORY' inspect '$tmp/build/java-app/image' | grep -q 'opt/flink/lib/flink-sql-connector-kafka-3.3.0-1.19.jar'"

exit 0
