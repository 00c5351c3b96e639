#!/usr/bin/env bash
# Benchmark: image assembly against the tools it replaces, on the same files (Debian's
# /usr/share/java JARs, ~50 MB) and the same base (tests/image.sh):
#   1. one layer: factory's writer (tar + parallel gzip + both digests, one pass) against
#      `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - DIR | gzip -n -6`;
#   2. a whole image: `factory build` (cold cache) against `umoci insert` of the same
#      files into a copy of the same base layout; and factory's rebuild with nothing changed.
# Prints medians and ratios.   usage: tests/bench/image_vs_tools.sh [RUNS]   (make bench)
set -euo pipefail
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/image.sh"
FACTORY=${FACTORY:-$REPO/bin/factory}
LAYER_BENCH=${LAYER_BENCH:-$REPO/build/layer-bench}
RUNS=${1:-3}

tmp=$(t_tmpdir)
mkdir -p "$tmp/jars"
find -L /usr/share/java -maxdepth 1 -name '*.jar' -type f | sort | while read -r f; do
    cp -L "$f" "$tmp/jars/$(basename "$f")"
done
bytes=$(du -sb "$tmp/jars" | cut -f1)
files=$(ls "$tmp/jars" | wc -l)
image_build_base "$tmp/base" nopython

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }

for i in $(seq "$RUNS"); do
    rm -rf "$tmp/c"; sync
    "$LAYER_BENCH" "$tmp/jars" "$tmp/c" | cut -d' ' -f1 >> "$tmp/layer_factory"
    sync; s=$(now)
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C "$tmp/jars" . | gzip -n -6 > "$tmp/layer.tgz"
    e=$(now); elapsed "$s" "$e" >> "$tmp/layer_tar"
done

{
    printf 'apiVersion: factory.dev/v1alpha1\nkind: Config\ncache: {dir: %s/cache}\n' "$tmp"
} > "$tmp/factory.yaml"
mkdir -p "$tmp/app"
# hard links, not a symbolic link: a recipe reads only what lies inside its directory
cp -rl "$tmp/jars" "$tmp/app/jars"
{
    printf 'apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: bench}\n'
    printf 'flink: {version: "1.19", image: "oci:%s/base:1.19.2"}\n' "$tmp"
    printf 'java: {jarURI: "local:///opt/flink/lib/app.jar"}\njobManager: {memory: 1g}\ntaskManager: {memory: 1g}\n'
    printf 'image:\n  repository: bench/app\n  files:\n'
    for f in $(ls "$tmp/jars"); do printf '    - {source: jars/%s, destination: /opt/flink/lib/%s}\n' "$f" "$f"; done
} > "$tmp/app/recipe.yaml"
for i in $(seq "$RUNS"); do
    rm -rf "$tmp/cache" "$tmp/out"; sync
    s=$(now); "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml"; e=$(now)
    elapsed "$s" "$e" >> "$tmp/build_factory"
    s=$(now); "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/out" "$tmp/app/recipe.yaml"; e=$(now)
    elapsed "$s" "$e" >> "$tmp/build_factory_warm"
    rm -rf "$tmp/umoci"; sync
    s=$(now)
    cp -r "$tmp/base" "$tmp/umoci"
    umoci insert --image "$tmp/umoci:1.19.2" "$tmp/jars" /opt/flink/lib > /dev/null
    e=$(now); elapsed "$s" "$e" >> "$tmp/build_umoci"
done

lf=$(median < "$tmp/layer_factory"); lt=$(median < "$tmp/layer_tar")
bf=$(median < "$tmp/build_factory"); bw=$(median < "$tmp/build_factory_warm"); bu=$(median < "$tmp/build_umoci")
printf 'files: %d JARs, %d bytes; %d runs, medians; %d cores\n' "$files" "$bytes" "$RUNS" "$(nproc)"
printf 'layer: tar | gzip -n -6                 %8.3f s\n' "$lt"
printf 'layer: factory (tar+pgzip+digests)      %8.3f s   ratio %.2fx\n' "$lf" "$(awk -v a="$lt" -v b="$lf" 'BEGIN {print a / b}')"
printf 'image: umoci insert into the base       %8.3f s\n' "$bu"
printf 'image: factory build, cold              %8.3f s   ratio %.2fx\n' "$bf" "$(awk -v a="$bu" -v b="$bf" 'BEGIN {print a / b}')"
printf 'image: factory build, nothing changed   %8.3f s   ratio %.2fx\n' "$bw" "$(awk -v a="$bu" -v b="$bw" 'BEGIN {print a / b}')"
