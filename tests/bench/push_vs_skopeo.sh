#!/usr/bin/env bash
# Benchmark: pushing an image to a registry, factory against the tools users would use.
#   1. push: one image (the tests/image.sh base from an oci: layout plus Debian's
#      /usr/share/java JARs as image.files, built once by `factory build`) pushed to a FRESH
#      plain-HTTP docker-registry on each run, by `factory push` and by
#      `skopeo copy oci:OUT/APP/image:TAG docker://HOST/REPO:TAG` (the same blobs: the
#      pushed manifest digests are checked to be equal);
#   2. Dockerfile route, if buildah is installed and works here: `buildah bud` (FROM the same
#      oci: base, COPY --chown=9999:9999 of the JARs) + `buildah push`, from empty storage,
#      against a cold `factory build --push` (empty cache), each to a fresh registry.
# Prints medians and ratios (tool time / factory time: above 1 means factory is faster).
#   usage: tests/bench/push_vs_skopeo.sh [RUNS]      (FACTORY defaults to bin/factory)
set -euo pipefail
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
FACTORY=${FACTORY:-$REPO/bin/factory}
RUNS=${1:-${RUNS:-3}}
if [[ ! -x $FACTORY ]]; then
    echo "push_vs_skopeo: $FACTORY is not built (run make)" >&2
    exit 1
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
host_of() { local v=${1^^}_HOST; printf '%s' "${!v}"; } # host of registry NAME

tmp=$(t_tmpdir)
mkdir -p "$tmp/app/jars"
# the JAR files themselves, not the unversioned symlinks to them (no duplicate content)
find /usr/share/java -maxdepth 1 -name '*.jar' -type f | sort | while read -r f; do
    cp "$f" "$tmp/app/jars/$(basename "$f")"
done
bytes=$(du -sb "$tmp/app/jars" | cut -f1)
files=$(find "$tmp/app/jars" -type f | wc -l)
image_build_base "$tmp/base" nopython >/dev/null

# recipe REGISTRY: (re)writes the recipe, targeting REGISTRY
recipe() {
    {
        printf 'apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: bench}\n'
        printf 'flink: {version: "1.19", image: "oci:%s/base:1.19.2"}\n' "$tmp"
        printf 'java: {jarURI: "local:///opt/flink/lib/app.jar"}\njobManager: {memory: 1g}\ntaskManager: {memory: 1g}\n'
        printf 'image:\n  registry: "%s"\n  repository: bench/app\n  tags: ["1.0"]\n  files:\n' "$1"
        for f in "$tmp"/app/jars/*.jar; do
            f=${f##*/}
            printf '    - {source: jars/%s, destination: /opt/flink/lib/%s}\n' "$f" "$f"
        done
    } > "$tmp/app/recipe.yaml"
}
# config FILE HOST CACHE_DIR
config() {
    printf 'apiVersion: factory.dev/v1alpha1\nkind: Config\ncache: {dir: %s}\nregistries:\n  - {host: "%s", insecure: true, credentials: none}\n' \
        "$3" "$2" > "$1"
}
manifest_of() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["manifest"])' "$1/bench/bundle.json"; }

# ---- 1. push: factory push vs skopeo copy, same image, fresh registry each time -------------
recipe "127.0.0.1:1"
config "$tmp/build.yaml" 127.0.0.1:1 "$tmp/cache"
s=$(now)
"$FACTORY" build -q --config "$tmp/build.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml"
build_s=$(elapsed "$s" "$(now)")
DIGEST=$(manifest_of "$tmp/out")
image_bytes=$(du -sb "$tmp/out/bench/image/blobs" | cut -f1)

for i in $(seq "$RUNS"); do
    # factory: the bundle names its registry, so retarget it (a warm build: no layer is
    # rebuilt, the image digest must not change), untimed
    registry_start "f$i" 2>/dev/null
    h=$(host_of "f$i")
    recipe "$h"
    config "$tmp/f$i.yaml" "$h" "$tmp/cache"
    "$FACTORY" build -q --config "$tmp/f$i.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml"
    [[ $(manifest_of "$tmp/out") == "$DIGEST" ]] || { echo "the retargeted build changed the image" >&2; exit 1; }
    sync; s=$(now)
    "$FACTORY" push -q --config "$tmp/f$i.yaml" "$tmp/out/bench"
    elapsed "$s" "$(now)" >> "$tmp/t_factory"
    got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$h/bench/app:1.0")
    [[ $got == "$DIGEST" ]] || { echo "factory pushed $got, want $DIGEST" >&2; exit 1; }
    harness_stop "f$i" 2>/dev/null

    registry_start "s$i" 2>/dev/null
    h=$(host_of "s$i")
    sync; s=$(now)
    skopeo --insecure-policy copy -q --retry-times 0 --dest-tls-verify=false \
        "oci:$tmp/out/bench/image:1.0" "docker://$h/bench/app:1.0"
    elapsed "$s" "$(now)" >> "$tmp/t_skopeo"
    got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$h/bench/app:1.0")
    [[ $got == "$DIGEST" ]] || { echo "skopeo pushed $got, want $DIGEST (not the same bytes)" >&2; exit 1; }
    harness_stop "s$i" 2>/dev/null
done

pf=$(median < "$tmp/t_factory"); ps=$(median < "$tmp/t_skopeo")
printf 'image: %d JARs (%d bytes) on the test base; %d bytes of blobs; manifest %s\n' \
    "$files" "$bytes" "$image_bytes" "$DIGEST"
printf '%d runs, medians, fresh registry per push, %d cores (initial cold build %.3f s)\n' \
    "$RUNS" "$(nproc)" "$build_s"
printf '%-48s %8.3f s\n' 'push: skopeo copy oci: -> docker://' "$ps"
printf '%-48s %8.3f s   ratio skopeo/factory %sx\n' 'push: factory push' "$pf" "$(ratio "$ps" "$pf")"

# ---- 2. the Dockerfile route: buildah bud + push vs cold factory build --push ---------------
if ! command -v buildah >/dev/null; then
    cand=$(apt-cache policy buildah 2>/dev/null | awk '/Candidate:/ {print $2}')
    echo "buildah: skipped: not installed (apt-cache candidate: ${cand:-none}; apt-get install buildah)"
    exit 0
fi
# buildah names the base after its path, and an image name must be lowercase: the base
# layout goes to a lowercase path
bbase=/tmp/factory-bench-base-$$-$RANDOM
t_at_exit "rm -rf '$bbase'"
cp -r "$tmp/base" "$bbase"
cat > "$tmp/app/Containerfile" <<EOF
FROM oci:$bbase:1.19.2
COPY --chown=9999:9999 jars/ /opt/flink/lib/
EOF
printf 'Containerfile\nrecipe.yaml\n' > "$tmp/app/.dockerignore"
bh() { buildah --root "$tmp/bh-root" --runroot "$tmp/bh-run" --storage-driver "$driver" "$@"; }
bh_reset() {
    bh rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$tmp/bh-root" "$tmp/bh-run"
}
why=''
for driver in overlay vfs; do
    if out=$(bh bud --isolation chroot -q -t localhost/probe:1 -f "$tmp/app/Containerfile" "$tmp/app" 2>&1); then
        why=''
        break
    fi
    why="buildah bud with --storage-driver $driver failed: $(tail -n 1 <<<"$out")"
    bh_reset
done
bh_reset
if [[ -n $why ]]; then
    echo "buildah: skipped: $why"
    exit 0
fi

for i in $(seq "$RUNS"); do
    registry_start "b$i" 2>/dev/null
    h=$(host_of "b$i")
    bh_reset; sync; s=$(now)
    bh bud --isolation chroot -q -t "$h/bench/app:1.0" -f "$tmp/app/Containerfile" "$tmp/app" > /dev/null
    bh push -q --tls-verify=false "$h/bench/app:1.0" "docker://$h/bench/app:1.0"
    elapsed "$s" "$(now)" >> "$tmp/t_buildah"
    harness_stop "b$i" 2>/dev/null

    registry_start "c$i" 2>/dev/null
    h=$(host_of "c$i")
    recipe "$h"
    config "$tmp/c$i.yaml" "$h" "$tmp/cache-cold"
    rm -rf "$tmp/cache-cold" "$tmp/out-cold"; sync; s=$(now)
    "$FACTORY" build -q --push --config "$tmp/c$i.yaml" -o "$tmp/out-cold" "$tmp/app/recipe.yaml" > /dev/null
    elapsed "$s" "$(now)" >> "$tmp/t_cold"
    [[ $(manifest_of "$tmp/out-cold") == "$DIGEST" ]] || { echo "cold build: another image" >&2; exit 1; }
    harness_stop "c$i" 2>/dev/null
done
bh_reset
bb=$(median < "$tmp/t_buildah"); bc=$(median < "$tmp/t_cold")
printf '%-48s %8.3f s\n' "build+push: buildah bud + push ($driver, cold)" "$bb"
printf '%-48s %8.3f s   ratio buildah/factory %sx\n' 'build+push: factory build --push, cold' "$bc" "$(ratio "$bb" "$bc")"
