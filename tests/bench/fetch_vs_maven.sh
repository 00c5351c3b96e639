#!/usr/bin/env bash
# Benchmark: fetching the same ~20-artifact set from the same nginx-served repository, cold,
# with `factory fetch` and with Maven (`mvn dependency:copy-dependencies`, what a Maven
# project collecting connector JARs runs). Prints both times and the ratio, then factory's
# warm time (lock present, cache warm: no network).
#
# usage: tests/bench/fetch_vs_maven.sh [RUNS]     (builds bin/factory first: make)
set -euo pipefail
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
FACTORY=${FACTORY:-$REPO/bin/factory}
RUNS=${1:-5}

tmp=$(t_tmpdir)
maven_build_repo "$tmp/repo" 20
maven_serve "$tmp/repo"
coords=$tmp/coords
head -n 20 "$MAVEN_FIXTURE_COORDS" > "$coords"

cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
maven:
  repositories: [{name: bench, url: "$MAVEN_URL_OPEN"}]
  parallel: 8
cache: {dir: $tmp/cache}
YAML
mkdir -p "$tmp/app"
image_build_base "$tmp/base" nopython > /dev/null
{
    # A local base: fetch resolves the base too, and the benchmark is about the JARs.
    printf 'apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: bench}\nflink: {version: "1.19", image: "oci:%s:1.19.2"}\nimage: {repository: bench/app}\n' "$tmp/base"
    printf 'java: {jarURI: "local:///opt/flink/usrlib/app.jar"}\njobManager: {memory: 1g}\ntaskManager: {memory: 1g}\nconnectors:\n'
    sed 's/^/  - maven: /' "$coords"
} > "$tmp/app/recipe.yaml"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for i in $(seq "$RUNS"); do
    rm -rf "$tmp/cache" "$tmp/app/factory.lock"
    sync # each timed run starts with no pending writeback from the previous one
    s=$(now); "$FACTORY" fetch -q --config "$tmp/factory.yaml" "$tmp/app/recipe.yaml"; e=$(now)
    awk "BEGIN {print $e - $s}" >> "$tmp/factory_cold"
    s=$(now); "$FACTORY" fetch -q --config "$tmp/factory.yaml" "$tmp/app/recipe.yaml"; e=$(now)
    awk "BEGIN {print $e - $s}" >> "$tmp/factory_warm"
    rm -rf "$tmp/mvn"
    sync
    "$TESTS_DIR/bench/maven_baseline.sh" "$MAVEN_URL_OPEN" "$coords" "$tmp/mvn" >> "$tmp/maven_cold"
done

fc=$(median < "$tmp/factory_cold"); fw=$(median < "$tmp/factory_warm"); mc=$(median < "$tmp/maven_cold")
bytes=$(du -cb $(awk -F'\t' 'NR>1 && NR<=21 {print "'"$MAVEN_REPO_DIR"'/" $4}' "$MAVEN_FIXTURE_LIST") | tail -n 1 | cut -f1)
printf 'artifacts: %d (%s bytes), %d runs, medians\n' "$(wc -l < "$coords")" "$bytes" "$RUNS"
printf 'maven dependency:copy-dependencies, cold: %8.3f s\n' "$mc"
printf 'factory fetch, cold:                      %8.3f s\n' "$fc"
printf 'factory fetch, warm (lock + cache):       %8.3f s\n' "$fw"
printf 'ratio maven/factory (cold):               %8.1fx\n' "$(awk "BEGIN {print $mc / $fc}")"
