#!/usr/bin/env bash
# The whole job, end to end, on this machine alone: a Maven repository (built by Maven,
# served by nginx), a registry (docker-registry) and a small Flink-like base image (umoci)
# stand in for Maven Central, your registry and the official Flink image. factory then
# fetches the connectors, builds the image without a container engine, pushes it, renders
# the manifests and commits them to a GitOps repository served by `git daemon`; skopeo and
# git read the results back. Used by `make demo`.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TESTS_DIR=$REPO/tests
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
FACTORY=$REPO/bin/factory
work=$(t_tmpdir)
out=$REPO/out/demo

echo "== local stand-ins: Maven repository, registry, Flink base image"
maven_build_repo "$work/maven" 4 > /dev/null
maven_serve "$work/maven" > /dev/null
registry_start registry > /dev/null
gitdir=$(harness_dir gitops)
gitport=$(harness_free_port)
git init -q --bare -b main "$gitdir/deploy.git"
harness_start gitops "git ls-remote git://127.0.0.1:$gitport/deploy.git" -- \
    git daemon --reuseaddr --listen=127.0.0.1 --port="$gitport" --base-path="$gitdir" --export-all \
    --enable=receive-pack "$gitdir" > /dev/null
image_build_base "$work/base" python > /dev/null
registry_push_base registry "$work/base" 1.19.2 flink/flink > /dev/null

mkdir -p "$work/app/jobs"
cp "$REPO/recipes/pyflink-kafka/kafka_length.py" "$work/app/jobs/"
cat > "$work/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories: [{name: local, url: "$MAVEN_URL_OPEN"}]
registries: [{host: "$REGISTRY_HOST", insecure: true, credentials: none}]
cache: {dir: $work/cache}
signing: {key: $work/signing.pem}
YAML
# an Ed25519 key signs the SBOMs and the provenance
openssl genpkey -algorithm ed25519 -out "$work/signing.pem" 2> /dev/null
cat > "$work/app/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: pyflink-kafka-demo, namespace: flink}
flink: {version: 1.19.2, image: "$REGISTRY_HOST/flink/flink:1.19.2"}
image: {registry: "$REGISTRY_HOST", repository: demo/pyflink-kafka, tags: ["1.0"]}
connectors:
  - name: kafka
python:
  scripts: [jobs/kafka_length.py]
  args: ["--bootstrap-servers", "kafka:9092", "--source-topic", "in", "--sink-topic", "out"]
job: {parallelism: 1, upgradeMode: stateless}
jobManager: {memory: 2048m, cpu: 1}
taskManager: {memory: 2048m, cpu: 1, slots: 2}
ingress: {host: pyflink.example.com, className: nginx}
gitops: {url: "git://127.0.0.1:$gitport/deploy.git", branch: main, path: envs/demo/pyflink-kafka}
YAML

echo "== factory fetch"
"$FACTORY" fetch --config "$work/factory.yaml" "$work/app/recipe.yaml"
echo "== factory build --push --publish"
"$FACTORY" build --push --publish --config "$work/factory.yaml" -o "$work/out" "$work/app/recipe.yaml"
echo "== skopeo reads it back"
skopeo inspect --tls-verify=false --format '{{.Digest}} {{.Layers}}' "docker://$REGISTRY_HOST/demo/pyflink-kafka:1.0"
echo "== editing the PyFlink script: the image stays, only the ConfigMap changes"
echo "# tuned" >> "$work/app/jobs/kafka_length.py"
"$FACTORY" build --push --publish --config "$work/factory.yaml" -o "$work/out" "$work/app/recipe.yaml"
echo "== factory verify: the bundle against itself (signatures too), then a rebuild from the lock"
"$FACTORY" verify --config "$work/factory.yaml" -o "$work/out" "$work/app/recipe.yaml"
echo "== the GitOps repository: one commit per change, the script edit touching only what it must"
git --git-dir="$gitdir/deploy.git" log --stat --format='%h %s' main
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$work/out/pyflink-kafka-demo" "$out"
echo "== bundle in out/demo (manifests, image layout, bundle.json, SBOMs, provenance, signatures)"
find "$out" -maxdepth 2 -not -path '*/blobs*' | sort
