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

# ---------------------------------------------------------------- --from

D=$TESTS_DIR/tools/fd_diff.py
for input in "$fixtures"/*.yaml; do
    n=$(basename "$input" .yaml)
    case $n in *-scripts | *-configmap) continue ;; esac
    d=$tmp/from/$n
    mkdir -p "$tmp/from"
    scripts=()
    [[ -f $fixtures/$n-scripts.yaml ]] && scripts=(--scripts "$fixtures/$n-scripts.yaml")
    if ! "$FACTORY" init -q "$d" --from "$input" "${scripts[@]}" 2>"$d.err"; then
        t_fail "init --from $n" "$(cat "$d.err")"
        continue
    fi
    grep 'not carried over' "$d.err" > "$d.dropped" || true
    if diff -u "$fixtures/expected/$n.dropped" "$d.dropped" >&2; then
        t_ok "init --from $n: exactly the expected fields not carried over"
    else
        t_fail "init --from $n: exactly the expected fields not carried over"
    fi
    t_check "init --from $n: the recipe validates" "$FACTORY" validate "$d/recipe.yaml"
    if ! "$FACTORY" render -q -o "$tmp/from-out" "$d/recipe.yaml" 2>"$d.render"; then
        t_fail "init --from $n: the recipe renders" "$(cat "$d.render")"
        continue
    fi
    app=$(yq -r .metadata.name "$input")
    sed 's/^factory: not carried over: //; s/ (line [0-9]*)$//' "$d.dropped" > "$d.paths"
    "$PYTHON" "$D" "$input" "$tmp/from-out/$app/manifests/flinkdeployment.yaml" "$d.paths" > "$d.diff" || true
    expected=/dev/null
    [[ -f $fixtures/expected/$n.diff ]] && expected=$fixtures/expected/$n.diff
    if diff -u "$expected" "$d.diff" >&2; then
        t_ok "init --from $n: the render matches the input field by field"
    else
        t_fail "init --from $n: the render matches the input field by field"
    fi
done

# The scripts come from the ConfigMap, byte for byte, into jobs/ and the rendered ConfigMap.
h=$tmp/from/handmade-pyflink
t_check "--scripts: each data key is a file in jobs/ with its text" \
    bash -c "[[ \$(yq -r '.data[\"clicks.py\"]' '$fixtures/handmade-pyflink-scripts.yaml') == \"\$(cat '$h/jobs/clicks.py')\" ]] && test -s '$h/jobs/schema.py'"
t_check "--scripts: the rendered ConfigMap holds the same data" \
    bash -c "[[ \$(yq -S -c .data '$fixtures/handmade-pyflink-scripts.yaml') == \"\$(yq -S -c .data '$tmp/from-out/clicks/manifests/configmap-scripts.yaml')\" ]]"
t_check "--from: flinkConfiguration goes to recipe keys where there are some" \
    bash -c "yq -e '.state.ha == \"kubernetes\" and .taskManager.slots == 4 and .python.mountPath == \"/opt/flink/jobs\" and .flinkConfiguration == {\"pipeline.name\": \"clicks\"}' '$h/recipe.yaml' >/dev/null"
t_check "--from: a hand-built image is the base, with a note" \
    grep -q 'note: flink.image is registry.example.com/data/pyflink:1.19.2: the hand-built image is now the base' "$h.err"

# The comparison itself sees a difference.
sed 's/parallelism: 6/parallelism: 7/' "$fixtures/handmade-pyflink.yaml" > "$tmp/changed.yaml"
if "$PYTHON" "$D" "$tmp/changed.yaml" "$tmp/from-out/clicks/manifests/flinkdeployment.yaml" "$h.paths" > "$tmp/changed.diff"; then
    t_fail "fd_diff reports a changed field" "exit 0"
else
    t_check "fd_diff reports a changed field" grep -qx "~ spec.job.parallelism: input '7', rendered '6'" "$tmp/changed.diff"
fi

# A script directory the recipe may not mount over (usrlib): the default python.mountPath.
p=$tmp/from/python-demo
"$FACTORY" init -q "$p" --from "$fixtures/op-python-example.yaml" --scripts "$fixtures/python-demo-configmap.yaml" 2>"$p.err" || true
t_check "--scripts into usrlib: a note says where the scripts go" grep -q 'would hide the image' "$p.err"
t_check "--scripts into usrlib: the recipe renders" "$FACTORY" render -q -o "$tmp/from-out" "$p/recipe.yaml"
"$PYTHON" "$D" "$fixtures/op-python-example.yaml" "$tmp/from-out/python-example/manifests/flinkdeployment.yaml" /dev/null > "$p.diff" || true
cat > "$tmp/python-demo.expected" <<'TXT'
~ spec.job.args[3]: input '/opt/flink/usrlib/python_demo.py', rendered '/opt/flink/pyflink/python_demo.py'
~ spec.job.jarURI: input 'local:///opt/flink/opt/flink-python_2.12-1.16.1.jar', rendered 'local:///opt/flink/opt/flink-python-1.20.0.jar'
TXT
if diff -u "$tmp/python-demo.expected" "$p.diff" >&2; then
    t_ok "--scripts into usrlib: only the script path and the jar differ"
else
    t_fail "--scripts into usrlib: only the script path and the jar differ"
fi

# --json lists what was not carried over; a second import refuses to overwrite.
if "$FACTORY" init --json "$tmp/from/json" --from "$fixtures/op-pod-template.yaml" > "$tmp/init.json" 2>/dev/null; then
    t_check "--from --json: notCarriedOver" \
        bash -c "jq -e '.ok and (.notCarriedOver | length) == 6 and .notCarriedOver[0] == {\"path\": \"spec.podTemplate.spec.containers[0].volumeMounts[0] (flink-logs)\", \"line\": 35}' '$tmp/init.json' >/dev/null"
else
    t_fail "--from --json" "$(cat "$tmp/init.json")"
fi
if "$FACTORY" init "$tmp/from/json" --from "$fixtures/op-basic.yaml" 2>"$tmp/again.err"; then
    t_fail "--from refuses to overwrite" "exit 0"
else
    t_check "--from refuses to overwrite" grep -q "recipe.yaml exists" "$tmp/again.err"
fi
if "$FACTORY" init "$tmp/from/bad" --from "$fixtures/handmade-pyflink-scripts.yaml" 2>"$tmp/bad.err"; then
    t_fail "--from a ConfigMap is an error" "exit 0"
else
    t_check "--from a ConfigMap is an error" grep -q "not a flink.apache.org/v1beta1 FlinkDeployment" "$tmp/bad.err"
fi

exit 0
