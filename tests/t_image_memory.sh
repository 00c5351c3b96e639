#!/usr/bin/env bash
# Peak memory does not grow with the size of the JARs: everything streams (read, tar,
# compress, hash, write) in fixed-size buffers. 10 MB and 200 MB of files, /usr/bin/time -v.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
t_need_factory
[[ -x /usr/bin/time ]] || { t_skip "memory: flat peak RSS" "/usr/bin/time is not installed"; exit 0; }

tmp=$(t_tmpdir)
image_build_base "$tmp/base" nopython
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
cache: {dir: $tmp/cache}
YAML
peak() { # MB_PER_FILE
    local dir=$tmp/app$1
    mkdir -p "$dir"
    for i in 1 2; do head -c "$(( $1 * 1024 * 512 ))" /dev/urandom > "$dir/part$i.jar"; done
    cat > "$dir/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: mem}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image:
  repository: team/mem
  files:
    - {source: part1.jar, destination: /opt/flink/usrlib/part1.jar}
    - {source: part2.jar, destination: /opt/flink/usrlib/part2.jar}
java: {jarURI: "local:///opt/flink/usrlib/part1.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
    # ASan keeps freed memory in a quarantine (256 MB by default) that grows with the work
    # done; a small one measures the program's own footprint.
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1" /usr/bin/time -v "$FACTORY" build -q --config "$tmp/factory.yaml" -o "$tmp/out$1" "$dir/recipe.yaml" 2> "$tmp/time$1" >&2
    awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time$1"
}
small=$(peak 10)
large=$(peak 200)
echo "peak RSS: 10 MB of JARs ${small} KiB, 200 MB of JARs ${large} KiB" >&2
# 20x more data may cost at most 32 MiB more (allocator noise, sanitizer shadow), never 190 MB.
if (( large - small < 32768 )); then
    t_ok "memory: flat peak RSS (10 MB: ${small} KiB, 200 MB: ${large} KiB)"
else
    t_fail "memory: flat peak RSS" "10 MB: ${small} KiB, 200 MB: ${large} KiB"
fi
exit 0
