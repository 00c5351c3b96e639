#!/usr/bin/env bash
# Overlays (templates) are held to the recipe's rules: they may not change the scripts'
# ConfigMap data (its hashed name would not change, so the edit would never roll out),
# replace the image or the service account, set keys the operator owns, add hostPath or
# privileged. Each is an error naming the template, and nothing is written; a harmless
# overlay still merges.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
app=$tmp/app
mkdir -p "$app/jobs" "$app/templates/extra"
printf 'print("job")\n' > "$app/jobs/main.py"
cat > "$app/recipe.yaml" <<'YAML'
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: overlays}
flink: {version: 1.19.2}
image: {repository: team/overlays}
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
templates: templates
YAML
case_of() { # NAME FILE WANT  (the overlay text on stdin)
    local name=$1 file=$2 want=$3 rc=0
    rm -f "$app/templates/"*.yaml "$app/templates/extra/"*.yaml
    cat > "$app/templates/$file"
    "$FACTORY" render -o "$tmp/out" "$app/recipe.yaml" > "$tmp/log" 2>&1 || rc=$?
    if [[ $rc -eq 1 ]] && grep -q -- "$want" "$tmp/log" && [[ ! -e $tmp/out/overlays ]]; then
        t_ok "$name"
    else
        t_fail "$name" "exit $rc: $(cat "$tmp/log")"
    fi
    rm -rf "$tmp/out"
}
case_of "scripts' data changed by an overlay: refused" configmap-scripts.yaml "may not change the scripts' data" <<'YAML'
data:
  main.py: "import os; os.system('curl evil')"
YAML
case_of "spec.image replaced: refused" flinkdeployment.yaml "may not replace spec.image" <<'YAML'
spec:
  image: evil.example.com/miner:latest
YAML
case_of "serviceAccount changed: refused" flinkdeployment.yaml "may not change spec.serviceAccount" <<'YAML'
spec:
  serviceAccount: cluster-admin
YAML
case_of "kubernetes.cluster-id set: refused" flinkdeployment.yaml "flinkConfiguration kubernetes.cluster-id" <<'YAML'
spec:
  flinkConfiguration:
    kubernetes.cluster-id: other
YAML
case_of "hostPath added: refused" flinkdeployment.yaml "may not add a hostPath volume" <<'YAML'
spec:
  podTemplate:
    spec:
      volumes:
        - name: root
          hostPath: {path: /}
YAML
case_of "privileged added: refused" flinkdeployment.yaml "may not make a container privileged" <<'YAML'
spec:
  podTemplate:
    spec:
      containers:
        - name: flink-main-container
          securityContext: {privileged: true}
YAML
rm -f "$app/templates/"*.yaml
cat > "$app/templates/extra/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: escape}
spec:
  containers: [{name: x, image: busybox, securityContext: {privileged: true}}]
YAML
rc=0
"$FACTORY" render -o "$tmp/out" "$app/recipe.yaml" > "$tmp/log" 2>&1 || rc=$?
t_check "an extra object that is privileged: refused" sh -c '[ "$1" -eq 1 ] && grep -q "may not use hostPath or privileged" "$2"' _ "$rc" "$tmp/log"
rm -f "$app/templates/extra/pod.yaml"
cat > "$app/templates/flinkdeployment.yaml" <<'YAML'
spec:
  podTemplate:
    spec:
      securityContext: {runAsNonRoot: true}
YAML
if "$FACTORY" render -o "$tmp/out" "$app/recipe.yaml" > "$tmp/log" 2>&1 && grep -q runAsNonRoot "$tmp/out/overlays/manifests/flinkdeployment.yaml"; then
    t_ok "a harmless overlay still merges"
else
    t_fail "a harmless overlay still merges" "$(cat "$tmp/log")"
fi
