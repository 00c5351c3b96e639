#!/usr/bin/env bash
# A full disk, made real: a small tmpfs mounted in a private mount namespace (unshare -rm, so
# nothing outside this test sees it and it vanishes with the test).
#   a) the cache on a full file system: the base layout's import fails naming the blob and
#      "No space left on device" with what to do (not "does not match its digest"); nothing
#      half-written stays in the cache, nothing is written to out/
#   b) out/ on a full file system: a rebuild whose new layer does not fit fails the same way
#      and leaves the previous bundle whole (factory verify passes, bundle.json unchanged) and
#      no staging directory beside it
set -euo pipefail
if [[ -z ${FACTORY_FULL_DISK_NS:-} ]]; then
    if unshare -rm true 2>/dev/null; then
        FACTORY_FULL_DISK_NS=1 exec unshare -rm "$BASH" "$0" "$@"
    fi
fi
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
t_need_factory
if [[ -z ${FACTORY_FULL_DISK_NS:-} ]]; then
    t_skip "full disk" "no private mount namespace here (unshare -rm)"
    exit 0
fi

tmp=$(t_tmpdir)
image_build_base "$tmp/base" nopython
# full_fs DIR SIZE: a tmpfs of SIZE at DIR, seen only by this test
full_fs() { mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" && t_at_exit "umount '$1'"; }
recipe() { # DIR [FILES-LINE]
    mkdir -p "$1"
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: full}
flink: {version: "1.19", image: "oci:$tmp/base:1.19.2"}
image: {repository: team/full${2:+, files: [$2]}}
java: {jarURI: "local:///opt/flink/usrlib/x.jar"}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
config() { # FILE CACHE-DIR
    printf 'apiVersion: factory.dev/v1alpha1\nkind: Config\ncache: {dir: %s}\n' "$2" > "$1"
}
ENOSPC_RE='No space left on device \(free space on that file system, or write elsewhere\)'

# ---- a) the cache is on a full file system ------------------------------------------------
full_fs "$tmp/small-a" 60k
config "$tmp/a.yaml" "$tmp/small-a/cache"
recipe "$tmp/app-a"
rc=0
"$FACTORY" build --config "$tmp/a.yaml" -o "$tmp/out-a" "$tmp/app-a/recipe.yaml" > "$tmp/a.log" 2>&1 || rc=$?
t_check "a) full cache: exit 1, the blob and the full disk named with what to do" sh -c \
    '[ "$1" -eq 1 ] && grep -q "blob sha256:[0-9a-f]*: cannot write to the cache in" "$2" && grep -Eq "$3" "$2" &&
     ! grep -q "does not match" "$2"' _ "$rc" "$tmp/a.log" "$ENOSPC_RE"
t_check "a) full cache: nothing half-written in the cache's tmp/, nothing in out/" sh -c \
    '[ -z "$(ls -A "$1")" ] && [ ! -e "$2" ]' _ "$tmp/small-a/cache/tmp" "$tmp/out-a"
t_check "a) full cache: every blob that is there hashes to its name" sh -c \
    'cd "$1" && for f in *; do [ "$(sha256sum < "$f" | cut -c1-64)" = "$f" ] || exit 1; done' _ "$tmp/small-a/cache/blobs/sha256"

# ---- b) out/ is on a full file system ------------------------------------------------------
full_fs "$tmp/small-b" 300k
config "$tmp/b.yaml" "$tmp/cache-b"
recipe "$tmp/app-b"
head -c 400000 /dev/urandom > "$tmp/app-b/big.bin"
t_check "b) the first bundle fits" "$FACTORY" build -q --config "$tmp/b.yaml" -o "$tmp/small-b/out" "$tmp/app-b/recipe.yaml"
cp "$tmp/small-b/out/full/bundle.json" "$tmp/bundle-before.json"
recipe "$tmp/app-b" "{source: big.bin, destination: /opt/flink/usrlib/big.bin}"
rc=0
"$FACTORY" build --config "$tmp/b.yaml" -o "$tmp/small-b/out" "$tmp/app-b/recipe.yaml" > "$tmp/b.log" 2>&1 || rc=$?
t_check "b) full out/: exit 1, the full disk named with what to do" sh -c \
    '[ "$1" -eq 1 ] && grep -Eq "$3" "$2"' _ "$rc" "$tmp/b.log" "$ENOSPC_RE"
t_check "b) full out/: the previous bundle is whole (factory verify) and unchanged" sh -c \
    '"$1" verify "$2" > /dev/null && cmp -s "$3" "$2/bundle.json"' _ "$FACTORY" "$tmp/small-b/out/full" "$tmp/bundle-before.json"
t_check "b) full out/: no staging directory left beside it" sh -c \
    '[ "$(ls -A "$1")" = full ]' _ "$tmp/small-b/out"

exit 0
