#!/usr/bin/env bash
# Tests of tests/tools/validate_k8s.py against the fixtures in tests/fixtures/k8s:
#   valid/*.yaml      must validate (strict, operator 1.15.0) without output
#   invalid/X.yaml    must fail; output line i must contain line i of X.expect
#                     and there must be exactly as many lines as in X.expect
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"

V=$TESTS_DIR/tools/validate_k8s.py
S15=$TESTS_DIR/schemas/operator-1.15.0
S19=$TESTS_DIR/schemas/operator-1.9.0
FX=$TESTS_DIR/fixtures/k8s
tmp=$(t_tmpdir)

# run_v OUTFILE ARGS... -> sets RC
run_v() {
    local out=$1
    shift
    RC=0
    "$PYTHON" "$V" "$@" >"$out" 2>&1 || RC=$?
}

for mode in "" --strict; do
    for f in "$FX"/valid/*.yaml; do
        name="validate_k8s: valid ${f##*/}${mode:+ $mode}"
        run_v "$tmp/out" --schema-dir "$S15" $mode "$f"
        if [[ $RC -eq 0 && ! -s $tmp/out ]]; then
            t_ok "$name"
        else
            t_fail "$name" "exit $RC: $(head -n 3 "$tmp/out")"
            cat "$tmp/out" >&2
        fi
    done
done

for f in "$FX"/invalid/*.yaml; do
    exp=${f%.yaml}.expect
    name="validate_k8s: invalid ${f##*/}"
    rel=${f#"$REPO"/}
    (cd "$REPO" && "$PYTHON" "$V" --schema-dir "$S15" --strict "$rel") >"$tmp/out" 2>&1 && RC=0 || RC=$?
    mapfile -t got <"$tmp/out"
    mapfile -t want <"$exp"
    why=
    if [[ $RC -ne 1 ]]; then
        why="exit $RC, expected 1"
    elif [[ ${#got[@]} -ne ${#want[@]} ]]; then
        why="${#got[@]} error lines, expected ${#want[@]}"
    else
        for i in "${!want[@]}"; do
            if [[ ${got[$i]} != "$rel: "* || ${got[$i]} != *"${want[$i]}"* ]]; then
                why="line $((i + 1)): '${got[$i]}' does not contain '$rel: ... ${want[$i]}'"
                break
            fi
        done
    fi
    if [[ -z $why ]]; then
        t_ok "$name"
    else
        t_fail "$name" "$why"
        cat "$tmp/out" >&2
    fi
done

# faithful (non-strict) schemas allow unknown fields, strict ones do not
cat >"$tmp/extra-field.yaml" <<'EOF'
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata:
  name: job
spec:
  deploymentName: session
  job:
    jarURI: https://example.org/job.jar
    upgradeMode: stateless
  someFutureField: 1
EOF
run_v "$tmp/out" --schema-dir "$S15" "$tmp/extra-field.yaml"
t_check "validate_k8s: faithful schema allows unknown fields" test "$RC" -eq 0
run_v "$tmp/out" --schema-dir "$S15" --strict "$tmp/extra-field.yaml"
t_check "validate_k8s: strict schema rejects unknown fields" grep -q "'someFutureField' was unexpected" "$tmp/out"

# the schema directory decides the operator version
cat >"$tmp/v2.yaml" <<'EOF'
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: v2
spec:
  image: flink:2.2
  flinkVersion: v2_2
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: 2
  jobManager:
    resource: {memory: 2048m, cpu: 1}
  taskManager:
    resource: {memory: 2048m, cpu: 1}
EOF
run_v "$tmp/out" --schema-dir "$S15" --strict "$tmp/v2.yaml"
t_check "validate_k8s: v2_2 valid for operator 1.15.0" test "$RC" -eq 0
run_v "$tmp/out" --schema-dir "$S19" --strict "$tmp/v2.yaml"
if [[ $RC -eq 1 ]] && grep -q "spec.flinkVersion: 'v2_2' is not one of" "$tmp/out" &&
    grep -q "numberOfTaskSlots: 2 is not of type 'string'" "$tmp/out"; then
    t_ok "validate_k8s: v2_2 and non-string flinkConfiguration invalid for operator 1.9.0"
else
    t_fail "validate_k8s: v2_2 and non-string flinkConfiguration invalid for operator 1.9.0" "exit $RC"
    cat "$tmp/out" >&2
fi

# ConfigMap size limit: 1 MiB of data is fine, one byte more is not
for n in 1048576 1048577; do
    "$PYTHON" - "$tmp/cm-$n.yaml" "$n" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
half = n // 2
with open(path, 'w') as f:
    f.write('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n')
    f.write('  a: "%s"\n  b: "%s"\n' % ('x' * half, 'y' * (n - half)))
EOF
done
run_v "$tmp/out" --schema-dir "$S15" --strict "$tmp/cm-1048576.yaml"
t_check "validate_k8s: ConfigMap of exactly 1 MiB valid" test "$RC" -eq 0
run_v "$tmp/out" --schema-dir "$S15" --strict "$tmp/cm-1048577.yaml"
t_check "validate_k8s: ConfigMap over 1 MiB rejected" grep -q "total size 1048577 exceeds 1048576" "$tmp/out"

# long FlinkDeployment names pass the schema but not the operator webhook
sed 's/^  name: v2$/  name: a23456789-123456789-123456789-123456789-123456/' "$tmp/v2.yaml" >"$tmp/long.yaml"
run_v "$tmp/out" --schema-dir "$S15" --strict "$tmp/long.yaml"
t_check "validate_k8s: 46-character FlinkDeployment name rejected" grep -q "rejected by the operator webhook" "$tmp/out"

# empty documents are ignored, numbering counts them
printf -- '---\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: Bad\n' >"$tmp/empty-docs.yaml"
run_v "$tmp/out" --schema-dir "$S15" "$tmp/empty-docs.yaml"
t_check "validate_k8s: empty documents skipped, counted" grep -q "doc 2 (ServiceAccount/Bad): metadata.name" "$tmp/out"

# usage errors exit 2
run_v "$tmp/out" --strict "$FX/valid/core-objects.yaml"
t_check "validate_k8s: --schema-dir required" test "$RC" -eq 2
run_v "$tmp/out" --schema-dir "$tmp/nonexistent" "$FX/valid/core-objects.yaml"
t_check "validate_k8s: missing schema dir" test "$RC" -eq 2

# python3-jsonschema is required, there is no fallback
mkdir -p "$tmp/nojs"
cat >"$tmp/nojs/sitecustomize.py" <<'EOF'
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == 'jsonschema' or name.startswith('jsonschema.'):
            raise ImportError('blocked for test')
        return None
sys.meta_path.insert(0, _Block())
EOF
RC=0
PYTHONPATH=$tmp/nojs "$PYTHON" "$V" --schema-dir "$S15" "$FX/valid/core-objects.yaml" >"$tmp/out" 2>&1 || RC=$?
if [[ $RC -eq 2 ]] && grep -q "python3-jsonschema is required" "$tmp/out"; then
    t_ok "validate_k8s: fails clearly without python3-jsonschema"
else
    t_fail "validate_k8s: fails clearly without python3-jsonschema" "exit $RC: $(cat "$tmp/out")"
fi
