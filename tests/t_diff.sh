#!/usr/bin/env bash
# factory diff RECIPE: a build into a scratch directory compared with out/<app>, object by
# object and field by field, the image layer by layer; nothing under out/ and no factory.lock
# is written; exit 0 (the same), 1 (different), 2 (trouble).
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
t_need_factory

tmp=$(t_tmpdir)
maven_build_repo "$tmp/repo" 2
maven_serve "$tmp/repo"
image_build_base "$tmp/base" python

cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: fixture, url: "$MAVEN_URL_OPEN"}]
cache: {dir: $tmp/cache}
YAML
dep1=$(sed -n 1p "$MAVEN_FIXTURE_COORDS")
dep2=$(sed -n 2p "$MAVEN_FIXTURE_COORDS")
app=$tmp/app
mkdir -p "$app/jobs"
printf 'print("hello")\n' > "$app/jobs/main.py"
write_recipe() { # PARALLELISM TAGS CONNECTORS
    cat > "$app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: dapp}
flink: {version: 1.19.2, image: "oci:$tmp/base:1.19.2"}
image:
  registry: registry.example.com
  repository: team/dapp
  tags: $2
connectors:
$3
python:
  scripts: [jobs/main.py]
job: {parallelism: $1}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
conn1="  - {maven: $dep1, destination: usrlib}"
conn2="$conn1
  - {maven: $dep2, destination: usrlib}"
write_recipe 2 '["1.0"]' "$conn1"
out=$tmp/out
F() { "$FACTORY" "$@"; }
F build -q --config "$tmp/factory.yaml" -o "$out" "$app/recipe.yaml" > "$tmp/build.log" 2>&1 ||
    { t_fail "first build" "$(cat "$tmp/build.log")"; exit 0; }

state() { (cd "$tmp" && find out -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum app/factory.lock 2>/dev/null || echo "no lock"); }
state > "$tmp/state0"
diff_run() { # NAME: runs factory diff, stdout to $tmp/NAME.out, JSON to $tmp/NAME.json, status to rc
    rc=0
    F diff --config "$tmp/factory.yaml" -o "$out" "$app/recipe.yaml" > "$tmp/$1.out" 2> "$tmp/$1.err" || rc=$?
    F diff --json --config "$tmp/factory.yaml" -o "$out" "$app/recipe.yaml" > "$tmp/$1.json" 2>> "$tmp/$1.err" || true
}
unchanged() { # NAME
    state > "$tmp/state1"
    if cmp -s "$tmp/state0" "$tmp/state1"; then t_ok "$1: nothing written under out/, factory.lock intact"
    else t_fail "$1: nothing written under out/, factory.lock intact" "$(diff "$tmp/state0" "$tmp/state1")"; fi
}

# No change after a build: exit 0.
diff_run same
if [[ $rc == 0 ]] && grep -qx 'no changes' "$tmp/same.out"; then t_ok "same: exit 0, no changes"
else t_fail "same: exit 0, no changes" "rc=$rc $(cat "$tmp/same.out" "$tmp/same.err")"; fi
t_check "same: --json changed false, no objects" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] and d["changed"] is False and d["objects"] == [], d
assert d["image"]["from"] == d["image"]["to"] and d["image"]["layers"] == [] and d["image"]["push"]["blobs"] == 0, d["image"]
' "$tmp/same.json"
unchanged same

# (b) parallelism: exactly that field.
write_recipe 4 '["1.0"]' "$conn1"
diff_run parallelism
if [[ $rc == 1 ]] && [[ "$(cat "$tmp/parallelism.out")" == "~ manifests/flinkdeployment.yaml FlinkDeployment/dapp spec.job.parallelism: 2 -> 4" ]]; then
    t_ok "parallelism: exit 1, the one field"
else t_fail "parallelism: exit 1, the one field" "rc=$rc $(cat "$tmp/parallelism.out" "$tmp/parallelism.err")"; fi
t_check "parallelism: --json" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["changed"] is True, d
assert d["objects"] == [{"file": "manifests/flinkdeployment.yaml", "kind": "FlinkDeployment", "name": "dapp",
    "change": "changed", "fields": [{"path": "spec.job.parallelism", "from": 2, "to": 4}]}], d["objects"]
assert d["image"]["from"] == d["image"]["to"], d["image"]
' "$tmp/parallelism.json"
unchanged parallelism
write_recipe 2 '["1.0"]' "$conn1"

# (a) a script edit: the ConfigMap's data and name, the annotation and the volume reference.
printf 'print("hello, world")\n' > "$app/jobs/main.py"
diff_run script
t_check "script: exit 1, ConfigMap and FlinkDeployment fields only, image unchanged" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sys.argv[2] == "1", sys.argv[2]
got = sorted((o["file"], o["kind"], o["change"], tuple(f["path"] for f in o["fields"])) for o in d["objects"])
fd = [o for o in d["objects"] if o["kind"] == "FlinkDeployment"][0]
vol = [f["path"] for f in fd["fields"] if f["path"].endswith("configMap.name")]
assert len(vol) == 1 and vol[0].startswith("spec.podTemplate.spec.volumes["), fd
assert got == [
    ("manifests/configmap-scripts.yaml", "ConfigMap", "changed", ("metadata.name", "data[\"main.py\"]")),
    ("manifests/flinkdeployment.yaml", "FlinkDeployment", "changed",
     ("spec.podTemplate.metadata.annotations[\"factory.dev/scripts-hash\"]", vol[0])),
] or got == [
    ("manifests/configmap-scripts.yaml", "ConfigMap", "changed", ("data[\"main.py\"]", "metadata.name")),
    ("manifests/flinkdeployment.yaml", "FlinkDeployment", "changed",
     ("spec.podTemplate.metadata.annotations[\"factory.dev/scripts-hash\"]", vol[0])),
], got
cm = [o for o in d["objects"] if o["kind"] == "ConfigMap"][0]
data = [f for f in cm["fields"] if f["path"] == "data[\"main.py\"]"][0]
assert data["from"] == "print(\"hello\")\n" and data["to"] == "print(\"hello, world\")\n", data
assert cm["name"].startswith("dapp-scripts-"), cm
assert d["image"]["from"] == d["image"]["to"] and d["image"]["push"]["blobs"] == 0, d["image"]
' "$tmp/script.json" "$rc"
if grep -q '^~ manifests/configmap-scripts.yaml ConfigMap/dapp-scripts-[a-z0-9]* metadata.name: dapp-scripts-[a-z0-9]* -> dapp-scripts-' "$tmp/script.out"; then
    t_ok "script: human line for the ConfigMap name"
else t_fail "script: human line for the ConfigMap name" "$(cat "$tmp/script.out")"; fi
unchanged script
printf 'print("hello")\n' > "$app/jobs/main.py"

# (c) a new connector: the connectors layer changes and the push would send it.
write_recipe 2 '["1.0"]' "$conn2"
diff_run connector
t_check "connector: exit 1, a layer with one more file, the push sends it" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sys.argv[2] == "1", sys.argv[2]
im = d["image"]
assert im["from"] != im["to"] and im["from"].startswith("sha256:"), im
changed = [l for l in im["layers"] if l["change"] == "changed"]
assert len(changed) == 1 and len(changed[0]["inputs"]["added"]) == 1 and not changed[0]["inputs"]["removed"], im["layers"]
assert all(l["content"] != "base" for l in im["layers"]), im["layers"]
l = changed[0]
# the new layer, the config and the manifest
assert im["push"]["blobs"] == 3 and im["push"]["tags"] == ["1.0"] and im["push"]["bytes"] > l["to"]["size"], im["push"]
fd = [o for o in d["objects"] if o["kind"] == "FlinkDeployment"][0]
assert [f["path"] for f in fd["fields"]] == ["spec.image"], fd
assert fd["fields"][0]["to"].endswith("@" + im["to"]), fd
' "$tmp/connector.json" "$rc"
if grep -q "^image: sha256:[0-9a-f]* -> sha256:" "$tmp/connector.out" && grep -q '^  layer [0-9]* [a-z]*: changed (+1 file)' "$tmp/connector.out" &&
   grep -q '^  push: 3 blobs, ' "$tmp/connector.out"; then t_ok "connector: human lines"
else t_fail "connector: human lines" "$(cat "$tmp/connector.out")"; fi
unchanged connector

# (d) a new tag: the tags, the image digest (its version annotation) and the deployed reference.
write_recipe 2 '["1.0", "1.1"]' "$conn1"
diff_run tag
t_check "tag: exit 1, the tags" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sys.argv[2] == "1", sys.argv[2]
assert d["image"]["tags"] == {"from": ["1.0"], "to": ["1.0", "1.1"]}, d["image"]
# the tag is in the image manifest only as a reference: the digest stays, a push sets the new tag
assert d["image"]["push"] == {"blobs": 0, "bytes": 0, "tags": ["1.1"]}, d["image"]["push"]
assert d["objects"] == [], d["objects"]
' "$tmp/tag.json" "$rc"
if grep -q '^image: sha256:[0-9a-f]* (unchanged)$' "$tmp/tag.out" && grep -q '^  tags: \["1.0"\] -> \["1.0","1.1"\]' "$tmp/tag.out" &&
   grep -q '^  push: 0 blobs, 0 B; tags 1.1$' "$tmp/tag.out"; then t_ok "tag: human line"
else t_fail "tag: human line" "$(cat "$tmp/tag.out")"; fi
unchanged tag
write_recipe 2 '["1.0"]' "$conn1"

# Nothing built yet: every object is added.
rc=0
F diff --config "$tmp/factory.yaml" -o "$tmp/none" "$app/recipe.yaml" > "$tmp/none.out" 2>&1 || rc=$?
if [[ $rc == 1 ]] && grep -q '^+ manifests/flinkdeployment.yaml FlinkDeployment/dapp$' "$tmp/none.out" &&
   grep -q '^+ manifests/kustomization.yaml Kustomization$' "$tmp/none.out" && [[ ! -e $tmp/none ]]; then
    t_ok "no bundle yet: objects added, nothing written"
else t_fail "no bundle yet: objects added, nothing written" "rc=$rc $(cat "$tmp/none.out")"; fi

# (e) a bad recipe: exit 2, nothing written.
sed -i 's/^job: .*/job: {parallelism: -3}/' "$app/recipe.yaml"
rc=0
F diff --config "$tmp/factory.yaml" -o "$out" "$app/recipe.yaml" > "$tmp/bad.out" 2>&1 || rc=$?
if [[ $rc == 2 ]] && grep -q 'error' "$tmp/bad.out"; then t_ok "bad recipe: exit 2"
else t_fail "bad recipe: exit 2" "rc=$rc $(cat "$tmp/bad.out")"; fi
unchanged bad
# --against git: the manifests at the tip of the recipe's gitops branch, fetched, nothing
# committed; the image is not compared (a repository holds only manifests).
sed -i 's/^job: .*/job: {parallelism: 2}/' "$app/recipe.yaml"
git init -q --bare -b main "$tmp/gitops.git"
printf 'gitops: {url: "%s", branch: main, path: apps/dapp}\n' "$tmp/gitops.git" >> "$app/recipe.yaml"
printf 'gitops:\n  author: {name: t, email: t@example.com}\n' >> "$tmp/factory.yaml"
git_diff() { # NAME
    rc=0
    F diff --against git --config "$tmp/factory.yaml" -o "$out" "$app/recipe.yaml" > "$tmp/$1.out" 2>&1 || rc=$?
}
git_diff git-empty
if [[ $rc == 1 ]] && grep -q '^+ manifests/flinkdeployment.yaml FlinkDeployment/dapp$' "$tmp/git-empty.out" &&
   ! grep -q '^image' "$tmp/git-empty.out"; then t_ok "git: an empty branch, every object added"
else t_fail "git: an empty branch, every object added" "rc=$rc $(cat "$tmp/git-empty.out")"; fi
F build -q --config "$tmp/factory.yaml" -o "$out" "$app/recipe.yaml" > "$tmp/build2.log" 2>&1
F publish -q --config "$tmp/factory.yaml" "$out/dapp" > "$tmp/publish.log" 2>&1 ||
    t_fail "git: publish" "$(cat "$tmp/publish.log")"
head=$(git -C "$tmp/gitops.git" rev-parse main)
git_diff git-same
if [[ $rc == 0 ]] && grep -qx 'no changes' "$tmp/git-same.out"; then t_ok "git: published, no changes"
else t_fail "git: published, no changes" "rc=$rc $(cat "$tmp/git-same.out")"; fi
sed -i 's/^job: .*/job: {parallelism: 3}/' "$app/recipe.yaml"
git_diff git-par
if [[ $rc == 1 ]] && [[ "$(cat "$tmp/git-par.out")" == "~ manifests/flinkdeployment.yaml FlinkDeployment/dapp spec.job.parallelism: 2 -> 3" ]] &&
   [[ $(git -C "$tmp/gitops.git" rev-parse main) == "$head" ]]; then t_ok "git: the changed field, nothing committed"
else t_fail "git: the changed field, nothing committed" "rc=$rc $(cat "$tmp/git-par.out")"; fi
exit 0
