#!/usr/bin/env bash
# No user value can change a document's shape: scripts with document markers, template
# braces, tabs and unicode, and configuration values that look like other YAML types come
# back exactly as written when the bundle is parsed.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
mkdir -p "$tmp/r"
printf -- '---\nkind: Secret\n...\n{{ .Values.password }}\n\tindented with a tab\ncaf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80\nkey: value # not a comment\ntrailing space \n' > "$tmp/r/job.py"
printf 'x = "no newline at the end"' > "$tmp/r/helper.py"
cat > "$tmp/r/recipe.yaml" <<'YAML'
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata:
  name: hostile
  labels: {tier: "true"}
flink: {version: 1.20.1}
python:
  scripts: [job.py, helper.py]
  entry: job.py
  args: ["--sep", ": ", "--yes", "yes", "--num", "1.20", "--tmpl", "{{x}}", "--nl", "a\nb", "---"]
jobManager: {memory: 1g}
taskManager: {memory: 1g}
flinkConfiguration:
  pipeline.name: "a: b # c"
  some.flag: "true"
  some.number: 0x1F
  some.date: 2024-01-01
  some.time: "2024-05-01T10:00:00Z"
env:
  GREETING: "hello\tworld"
  EMPTY: ""
  BUILD_TIME: "2024-05-01 10:00:00"
YAML
"$FACTORY" render -q -o "$tmp/out" "$tmp/r/recipe.yaml"
m=$tmp/out/hostile/manifests
t_check "hostile: every file is exactly one YAML document with the values as written" "$PYTHON" - "$m" "$tmp/r" <<'PY'
import sys, os, yaml
m, r = sys.argv[1], sys.argv[2]
for root, _, files in os.walk(m):
    for f in files:
        docs = list(yaml.safe_load_all(open(os.path.join(root, f), encoding="utf-8")))
        assert len(docs) == 1 and isinstance(docs[0], dict), (f, docs)
cm = yaml.safe_load(open(os.path.join(m, "configmap-scripts.yaml"), encoding="utf-8"))
assert cm["kind"] == "ConfigMap" and set(cm["data"]) == {"job.py", "helper.py"}
for k in cm["data"]:
    assert cm["data"][k] == open(os.path.join(r, k), encoding="utf-8", newline="").read(), k
fd = yaml.safe_load(open(os.path.join(m, "flinkdeployment.yaml"), encoding="utf-8"))
assert fd["kind"] == "FlinkDeployment" and fd["metadata"]["labels"]["tier"] == "true"
assert fd["spec"]["job"]["args"][-11:] == ["--sep", ": ", "--yes", "yes", "--num", "1.20", "--tmpl", "{{x}}", "--nl", "a\nb", "---"], fd["spec"]["job"]["args"]
conf = fd["spec"]["flinkConfiguration"]
assert conf["pipeline.name"] == "a: b # c" and conf["some.flag"] == "true"
assert conf["some.number"] == "0x1F" and conf["some.date"] == "2024-01-01", conf
assert conf["some.time"] == "2024-05-01T10:00:00Z", conf
env = {e["name"]: e["value"] for e in fd["spec"]["podTemplate"]["spec"]["containers"][0]["env"]}
assert env == {"GREETING": "hello\tworld", "EMPTY": "", "BUILD_TIME": "2024-05-01 10:00:00"}, env
PY
t_check "hostile: output validates against the operator 1.15.0 strict schema" \
    "$PYTHON" "$TESTS_DIR/tools/validate_k8s.py" --strict --schema-dir "$TESTS_DIR/schemas/operator-1.15.0" \
    "$m/flinkdeployment.yaml" "$m/configmap-scripts.yaml"
exit 0
