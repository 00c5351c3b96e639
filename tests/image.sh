# shellcheck shell=bash
# Small "official Flink" base images for tests, written by real tools (umoci, skopeo) and
# never by factory. Source it after lib.sh:
#
#     . "$TESTS_DIR/lib.sh"
#     . "$TESTS_DIR/image.sh"
#     base=$(t_tmpdir)/base
#     image_build_base "$base"              # not in $( ): it sets variables
#     skopeo inspect "oci:$base:1.19.2"
#
# All builders need root (umoci unpack/repack must chown files to 9999 and keep owners);
# they fail with a message otherwise. Each result is built once per cache key under
# ${TEST_CACHE:-$REPO/build/test-cache}/oci-images/ (key: IMAGE_FIXTURE_VERSION, the
# variant, a hash of this file, the umoci/skopeo versions and the source jars) and copied
# into the destination (a real copy: tests may damage it). Building all three variants,
# the docker archive and the index from scratch takes a few seconds.
#
# image_build_base DIR [VARIANT]
#     Writes an OCI image layout at DIR (created if missing; must be empty) with one tag,
#     $IMAGE_FIXTURE_TAG (1.19.2), a linux/amd64 image manifest (gzip layers) like a tiny
#     official flink:1.19.2 image. VARIANT (default python):
#       python          3 layers: os, flink, python
#       nopython        2 layers: os, flink        (the same blobs as python's first two)
#       noflinkpython   3 layers: os, flink without opt/flink-python-1.19.2.jar, python
#                       (layer 1 and layer 3 are the same blobs as python's)
#     Layer 1 "os":     / (0755), bin -> usr/bin, lib -> usr/lib, etc/{passwd,group}
#                       (root only), etc/os-release, tmp (1777), usr/{bin,lib,local/bin}
#     Layer 2 "flink":  etc/passwd and etc/group again, now with flink:x:9999:9999
#                       (a file replaced by an upper layer), docker-entrypoint.sh (0755,
#                       root), opt/flink/ (everything below owned 9999:9999):
#                         bin/flink (0755 sh script), conf/config.yaml (0644),
#                         lib/flink-dist-1.19.2.jar (= commons-cli.jar from maven),
#                         opt/flink-python-1.19.2.jar (= aopalliance.jar; not in
#                         noflinkpython), plugins/README.txt, log/ (empty dir)
#     Layer 3 "python": usr/bin/python3.11 (0755 sh script printing "Python 3.11.9"),
#                       usr/bin/python3 -> python3.11, usr/lib/python3.11/os.py,
#                       usr/lib/python3.11/site-packages/ (empty dir)
#     An upper layer holds only what umoci's mtree diff saw change: etc/ and usr/bin/ are
#     not repeated, usr/lib/ is (in layer 3: its link count grew), layer 3 has no "./"
#     entry while layers 1 and 2 do. Every entry has mtime
#     $IMAGE_FIXTURE_EPOCH (2024-01-01T00:00:00Z, not 0, so that a writer that zeroes
#     mtimes can be told from one that passes layers through).
#     Config: architecture amd64, os linux, created $IMAGE_FIXTURE_CREATED, User unset,
#       Env PATH=/opt/flink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
#           FLINK_HOME=/opt/flink
#       WorkingDir /opt/flink, Entrypoint ["/docker-entrypoint.sh"], Cmd ["help"],
#       ExposedPorts 6123/tcp 8081/tcp, Labels org.opencontainers.image.title=flink-test-base,
#       one history entry per layer plus one empty_layer entry for the config.
#     The output is byte-for-byte reproducible (same digests on every build).
#     Sets and exports:
#       IMAGE_DIR              DIR (absolute)       IMAGE_REF  oci:DIR:1.19.2
#       IMAGE_VARIANT          the variant
#       IMAGE_MANIFEST_DIGEST  sha256:... of the manifest (what index.json's tag points at)
#       IMAGE_CONFIG_DIGEST    sha256:... of the config blob
#       IMAGE_LAYER_DIGESTS    the layer (gzip blob) digests in order, space-separated
#       IMAGE_DIFF_IDS         the config's rootfs.diff_ids in order, space-separated
#
# image_build_docker_archive OCI_DIR TAR
#     skopeo copy oci:OCI_DIR:1.19.2 docker-archive:TAR:flink:1.19.2 (a docker-save style
#     tar: manifest.json, repositories, <hex>.json config, uncompressed <hex>.tar layers;
#     Docker schema2). TAR must not exist. Cached by the manifest digest of OCI_DIR's tag.
#     Sets and exports IMAGE_ARCHIVE (TAR, absolute) and IMAGE_ARCHIVE_REF
#     (docker-archive:TAR).
#
# image_build_multiarch DIR
#     An OCI layout whose only tag 1.19.2 points at an image INDEX
#     (application/vnd.oci.image.index.v1+json) with two manifests: linux/amd64 (the
#     python variant's manifest, unchanged) and linux/arm64/v8 (same layers, a config with
#     "architecture":"arm64","variant":"v8"). Sets and exports IMAGE_INDEX_DIR (DIR),
#     IMAGE_INDEX_REF (oci:DIR:1.19.2), IMAGE_INDEX_DIGEST, IMAGE_AMD64_MANIFEST_DIGEST,
#     IMAGE_ARM64_MANIFEST_DIGEST, IMAGE_ARM64_CONFIG_DIGEST.
#
# image_unpack DIR TAG ROOTFS_OUT [ARCH]
#     Unpacks the image to the directory ROOTFS_OUT (must not exist; its parent must) with
#     `umoci unpack` so owners, modes, mtimes and symlinks are those of the layers. As root
#     owners are kept; as another user umoci runs --rootless and every file belongs to the
#     caller (check IMAGE_UNPACK_OWNERS: "real" or "rootless"). If TAG points at an index
#     (or ARCH is given) the ARCH (default amd64) image is first copied by skopeo to a
#     temporary single-image layout, since umoci cannot unpack an index.
#
# image_layers DIR TAG [ARCH]
#     Prints the layer digests (sha256:...) of DIR's TAG in order, one a line, following an
#     index to its ARCH (default amd64) manifest. Reads the JSON with python3, no skopeo.
#
# image_json DIR DIGEST
#     Prints the blob DIGEST of layout DIR (a manifest, config or index) pretty-printed.
#
# Needs umoci, skopeo, python3 (scripts/install-deps.sh) and maven (for the jars).

IMAGE_FIXTURE_VERSION=1
IMAGE_FIXTURE_TAG=1.19.2
IMAGE_FIXTURE_EPOCH=1704067200
IMAGE_FIXTURE_CREATED=2024-01-01T00:00:00Z
IMAGE_FLINK_UID=9999
IMAGE_FLINK_GID=9999
export IMAGE_FIXTURE_TAG IMAGE_FIXTURE_EPOCH IMAGE_FIXTURE_CREATED IMAGE_FLINK_UID IMAGE_FLINK_GID

_IMAGE_SH=$(readlink -f "${BASH_SOURCE[0]}")
_IMAGE_DIST_JAR=${IMAGE_DIST_JAR:-/usr/share/maven/lib/commons-cli.jar}
_IMAGE_PYTHON_JAR=${IMAGE_PYTHON_JAR:-/usr/share/maven/lib/aopalliance.jar}

_image_py() { "${PYTHON:-/usr/bin/python3}" "$@"; }

_image_cache_root() {
    local root=${TEST_CACHE:-${REPO:?REPO is not set}/build/test-cache}/oci-images
    mkdir -p "$root" && printf '%s' "$root"
}

_image_need() {
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null; then
            echo "image.sh: $t is not installed (scripts/install-deps.sh)" >&2
            return 1
        fi
    done
}

_image_need_root() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "image.sh: $1 must run as root (umoci must set owners 9999:9999 and 0:0)" >&2
        return 1
    fi
}

_image_empty_dest() { # DIR: create, must be empty; prints the absolute path
    if [[ -e $1 && -n $(ls -A "$1" 2>/dev/null) ]]; then
        echo "image.sh: $1 is not empty" >&2
        return 2
    fi
    mkdir -p "$1" && (cd "$1" && pwd)
}

# _image_cached NAME KEYTEXT BUILDER [ARG...]: ENTRY=$root/NAME-<hash of KEYTEXT>; runs
# BUILDER WORKDIR ARG... under the cache lock unless ENTRY/ok exists; the builder fills
# WORKDIR, which becomes ENTRY. Sets _IMAGE_ENTRY.
_image_cached() {
    local name=$1 keytext=$2 builder=$3
    shift 3
    local root key entry
    root=$(_image_cache_root) || return 1
    key=$(printf '%s\n' "$keytext" | sha256sum | cut -c1-16)
    entry=$root/$name-$key
    if [[ ! -f $entry/ok ]]; then
        local lockfd rc=0
        exec {lockfd}>"$root/.lock"
        flock "$lockfd"
        if [[ ! -f $entry/ok ]]; then
            local work start
            work=$(mktemp -d "$root/.build.XXXXXX") && chmod 0755 "$work" || rc=1
            if [[ $rc -eq 0 ]]; then
                start=$(date +%s.%N)
                printf '%s\n' "$keytext" >"$work/key.txt"
                "$builder" "$work" "$@" || rc=$?
                if [[ $rc -eq 0 ]]; then
                    awk -v a="$start" -v b="$(date +%s.%N)" \
                        'BEGIN { printf "built in %.2f s\n", b - a }' >"$work/ok"
                    rm -rf -- "$entry"
                    mv -- "$work" "$entry" || rc=1
                    [[ $rc -ne 0 ]] || echo "image.sh: built $entry ($(cat "$entry/ok"))" >&2
                else
                    echo "image.sh: building $name failed (work dir kept: $work)" >&2
                fi
            fi
        fi
        exec {lockfd}>&-
        [[ $rc -eq 0 ]] || return "$rc"
    fi
    _IMAGE_ENTRY=$entry
}

_image_tool_versions() {
    umoci --version 2>&1
    skopeo --version 2>&1
}

# ---------------------------------------------------------------- JSON helpers (python3)

# _image_info DIR TAG [ARCH]: prints shell assignments for the image of TAG (following an
# index to ARCH): _m (manifest digest), _c (config digest), _l (layer digests), _d (diff ids),
# _kind (manifest|index), _top (digest the tag points at)
_image_info() {
    _image_py - "$@" <<'EOF'
import json, os, shlex, sys
layout, tag = sys.argv[1], sys.argv[2]
arch = sys.argv[3] if len(sys.argv) > 3 else "amd64"
def blob(d):
    alg, hexd = d.split(":", 1)
    with open(os.path.join(layout, "blobs", alg, hexd), "rb") as f:
        return json.load(f)
with open(os.path.join(layout, "index.json")) as f:
    idx = json.load(f)
tops = [m for m in idx.get("manifests", [])
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
if len(tops) != 1:
    sys.exit("image.sh: %d entries for tag %s in %s/index.json" % (len(tops), tag, layout))
top = tops[0]
desc, kind = top, "manifest"
if top["mediaType"] in ("application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"):
    kind = "index"
    ms = [m for m in blob(top["digest"])["manifests"]
          if m.get("platform", {}).get("architecture") == arch
          and m.get("platform", {}).get("os") == "linux"]
    if len(ms) != 1:
        sys.exit("image.sh: %d linux/%s manifests in the index of %s" % (len(ms), arch, tag))
    desc = ms[0]
man = blob(desc["digest"])
cfg = blob(man["config"]["digest"])
out = {"_top": top["digest"], "_kind": kind, "_m": desc["digest"],
       "_c": man["config"]["digest"],
       "_l": " ".join(l["digest"] for l in man["layers"]),
       "_d": " ".join(cfg["rootfs"]["diff_ids"])}
for k, v in out.items():
    print("%s=%s" % (k, shlex.quote(v)))
EOF
}

image_layers() {
    if [[ $# -lt 2 || $# -gt 3 ]]; then
        echo "usage: image_layers DIR TAG [ARCH]" >&2
        return 2
    fi
    local info _top _kind _m _c _l _d
    info=$(_image_info "$@") || return 1
    eval "$info"
    local ls
    read -r -a ls <<<"$_l"
    [[ ${#ls[@]} -eq 0 ]] || printf '%s\n' "${ls[@]}"
}

image_json() {
    if [[ $# -ne 2 ]]; then
        echo "usage: image_json DIR DIGEST" >&2
        return 2
    fi
    _image_py -m json.tool "$1/blobs/${2%%:*}/${2#*:}"
}

# ---------------------------------------------------------------- base image

_image_variant_ok() {
    case $1 in
        python | nopython | noflinkpython) return 0 ;;
    esac
    echo "image.sh: unknown variant '$1' (python, nopython, noflinkpython)" >&2
    return 2
}

image_build_base() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: image_build_base DIR [VARIANT]" >&2
        return 2
    fi
    local variant=${2:-python} dir
    _image_variant_ok "$variant" || return
    _image_need umoci skopeo flock || return 1
    dir=$(_image_empty_dest "$1") || return
    local src
    for src in "$_IMAGE_DIST_JAR" "$_IMAGE_PYTHON_JAR"; do
        [[ -s $src ]] || { echo "image.sh: $src is missing (maven installs it)" >&2; return 1; }
    done

    _image_base_entry "$variant" || return 1
    cp -a -- "$_IMAGE_ENTRY/oci/." "$dir/" || return 1
    local info _top _kind _m _c _l _d
    info=$(_image_info "$dir" "$IMAGE_FIXTURE_TAG") || return 1
    eval "$info"
    IMAGE_DIR=$dir
    IMAGE_REF=oci:$dir:$IMAGE_FIXTURE_TAG
    IMAGE_VARIANT=$variant
    IMAGE_MANIFEST_DIGEST=$_m
    IMAGE_CONFIG_DIGEST=$_c
    IMAGE_LAYER_DIGESTS=$_l
    IMAGE_DIFF_IDS=$_d
    export IMAGE_DIR IMAGE_REF IMAGE_VARIANT IMAGE_MANIFEST_DIGEST IMAGE_CONFIG_DIGEST \
        IMAGE_LAYER_DIGESTS IMAGE_DIFF_IDS
}

# _image_base_entry VARIANT: sets _IMAGE_ENTRY (cache entry with oci/)
_image_base_entry() {
    local keytext
    keytext=$(
        echo "image fixture v$IMAGE_FIXTURE_VERSION base $1"
        sha256sum "$_IMAGE_SH"
        _image_tool_versions
        stat -L -c '%n %s %Y' -- "$_IMAGE_DIST_JAR" "$_IMAGE_PYTHON_JAR"
    )
    _image_cached "base-$1" "$keytext" _image_build_base_into "$1"
}

# write FILE MODE [OWNER] < content
_image_put() {
    mkdir -p "$(dirname "$1")"
    cat >"$1"
    chmod "$2" "$1"
    [[ -z ${3:-} ]] || chown -h "$3" "$1"
}

# _image_layer LAYOUT TAG WORK NAME FUNC [ARG...]: unpack TAG, run FUNC ROOTFS ARG...,
# give every entry the fixture mtime, repack as one new layer
_image_layer() {
    local layout=$1 tag=$2 work=$3 name=$4 fn=$5
    shift 5
    local bundle=$work/bundle-$name
    umoci unpack --image "$layout:$tag" "$bundle" || return 1
    "$fn" "$bundle/rootfs" "$@" || return 1
    find "$bundle/rootfs" -exec touch -h -d "@$IMAGE_FIXTURE_EPOCH" {} + || return 1
    umoci repack --image "$layout:$tag" \
        --history.created "$IMAGE_FIXTURE_CREATED" \
        --history.created_by "factory test fixture: $name layer" "$bundle" || return 1
    rm -rf -- "$bundle"
}

_image_os_files() {
    local r=$1
    mkdir -p "$r/etc" "$r/tmp" "$r/usr/bin" "$r/usr/lib" "$r/usr/local/bin" "$r/usr/sbin"
    chmod 0755 "$r" "$r/etc" "$r/usr" "$r/usr/bin" "$r/usr/lib" "$r/usr/local" \
        "$r/usr/local/bin" "$r/usr/sbin"
    chmod 1777 "$r/tmp"
    ln -s usr/bin "$r/bin"
    ln -s usr/lib "$r/lib"
    ln -s usr/sbin "$r/sbin"
    _image_put "$r/etc/passwd" 0644 <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    _image_put "$r/etc/group" 0644 <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
    _image_put "$r/etc/os-release" 0644 <<'EOF'
PRETTY_NAME="factory test base (not a real distribution)"
NAME="factory-test"
ID=factory-test
EOF
}

_image_flink_files() {
    local r=$1 flink_python=$2 f=$1/opt/flink
    _image_put "$r/etc/passwd" 0644 <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
flink:x:9999:9999::/opt/flink:/bin/sh
EOF
    _image_put "$r/etc/group" 0644 <<'EOF'
root:x:0:
nogroup:x:65534:
flink:x:9999:
EOF
    _image_put "$r/docker-entrypoint.sh" 0755 <<'EOF'
#!/usr/bin/env bash
# factory test fixture: a stand-in for the official image's entrypoint
set -e
if [ "$1" = "help" ]; then
    echo "Usage: $(basename "$0") (jobmanager|taskmanager|help)"
    exit 0
fi
exec "$@"
EOF
    mkdir -p "$f/bin" "$f/conf" "$f/lib" "$f/opt" "$f/plugins" "$f/log"
    chmod 0755 "$r/opt" "$f" "$f/bin" "$f/conf" "$f/lib" "$f/opt" "$f/plugins" "$f/log"
    _image_put "$f/bin/flink" 0755 <<'EOF'
#!/bin/sh
# factory test fixture: not the real Flink CLI
echo "Version: 1.19.2, Commit ID: 0000000"
EOF
    _image_put "$f/conf/config.yaml" 0644 <<'EOF'
# factory test fixture (Flink 1.19 config.yaml layout)
jobmanager:
  bind-host: 0.0.0.0
  rpc:
    address: localhost
    port: 6123
  memory:
    process:
      size: 1600m
taskmanager:
  bind-host: 0.0.0.0
  numberOfTaskSlots: 1
rest:
  port: 8081
parallelism:
  default: 1
EOF
    _image_put "$f/plugins/README.txt" 0644 <<'EOF'
This folder is for plugins (factory test fixture).
EOF
    _image_put "$f/lib/flink-dist-1.19.2.jar" 0644 <"$_IMAGE_DIST_JAR"
    if [[ $flink_python == yes ]]; then
        _image_put "$f/opt/flink-python-1.19.2.jar" 0644 <"$_IMAGE_PYTHON_JAR"
    fi
    chown -R -h "$IMAGE_FLINK_UID:$IMAGE_FLINK_GID" "$f"
}

_image_python_files() {
    local r=$1
    _image_put "$r/usr/bin/python3.11" 0755 <<'EOF'
#!/bin/sh
# factory test fixture: only the name matters
echo "Python 3.11.9"
EOF
    ln -s python3.11 "$r/usr/bin/python3"
    _image_put "$r/usr/lib/python3.11/os.py" 0644 <<'EOF'
# factory test fixture: stands for the standard library
EOF
    mkdir -p "$r/usr/lib/python3.11/site-packages"
    chmod 0755 "$r/usr/lib/python3.11" "$r/usr/lib/python3.11/site-packages"
}

_image_build_base_into() {
    local work=$1 variant=$2
    _image_need_root "image_build_base" || return 1
    (
        set -e
        umask 022
        local layout=$work/oci tag=$IMAGE_FIXTURE_TAG fp=yes
        [[ $variant != noflinkpython ]] || fp=no
        umoci init --layout "$layout"
        umoci new --image "$layout:$tag"
        _image_layer "$layout" "$tag" "$work" os _image_os_files
        _image_layer "$layout" "$tag" "$work" flink _image_flink_files "$fp"
        if [[ $variant != nopython ]]; then
            _image_layer "$layout" "$tag" "$work" python _image_python_files
        fi
        umoci config --image "$layout:$tag" \
            --created "$IMAGE_FIXTURE_CREATED" \
            --architecture amd64 --os linux \
            --config.env "PATH=/opt/flink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            --config.env "FLINK_HOME=/opt/flink" \
            --config.workingdir /opt/flink \
            --config.entrypoint /docker-entrypoint.sh \
            --config.cmd help \
            --config.exposedports 6123/tcp --config.exposedports 8081/tcp \
            --config.label org.opencontainers.image.title=flink-test-base \
            --history.created "$IMAGE_FIXTURE_CREATED" \
            --history.created_by "factory test fixture: config"
        umoci gc --layout "$layout"
        # umoci writes blobs 0600; make the layout readable like skopeo's
        find "$layout" -type f -exec chmod 0644 {} +
    )
}

# ---------------------------------------------------------------- docker archive

image_build_docker_archive() {
    if [[ $# -ne 2 ]]; then
        echo "usage: image_build_docker_archive OCI_DIR TAR" >&2
        return 2
    fi
    local oci tar=$1
    _image_need skopeo flock || return 1
    oci=$(cd "$1" && pwd) || return 1
    tar=$2
    if [[ -e $tar ]]; then
        echo "image_build_docker_archive: $tar exists" >&2
        return 2
    fi
    mkdir -p "$(dirname "$tar")" || return 1
    tar=$(cd "$(dirname "$tar")" && pwd)/$(basename "$tar")
    local info _top _kind _m _c _l _d keytext
    info=$(_image_info "$oci" "$IMAGE_FIXTURE_TAG") || return 1
    eval "$info"
    keytext=$(
        echo "image fixture v$IMAGE_FIXTURE_VERSION docker-archive $_top"
        sha256sum "$_IMAGE_SH"
        _image_tool_versions
    )
    _image_cached docker-archive "$keytext" _image_build_archive_into "$oci" || return 1
    cp -- "$_IMAGE_ENTRY/image.tar" "$tar" || return 1
    IMAGE_ARCHIVE=$tar
    IMAGE_ARCHIVE_REF=docker-archive:$tar
    export IMAGE_ARCHIVE IMAGE_ARCHIVE_REF
}

_image_build_archive_into() {
    local work=$1 oci=$2
    # --insecure-policy: no /etc/containers/policy.json needed; both ends are local files
    skopeo --insecure-policy copy -q "oci:$oci:$IMAGE_FIXTURE_TAG" \
        "docker-archive:$work/image.tar:flink:$IMAGE_FIXTURE_TAG" || return 1
    chmod 0644 "$work/image.tar"
}

# ---------------------------------------------------------------- multi-arch index

image_build_multiarch() {
    if [[ $# -ne 1 ]]; then
        echo "usage: image_build_multiarch DIR" >&2
        return 2
    fi
    local dir keytext base
    _image_need umoci skopeo flock || return 1
    dir=$(_image_empty_dest "$1") || return
    _image_base_entry python || return 1
    base=$_IMAGE_ENTRY
    keytext=$(
        echo "image fixture v$IMAGE_FIXTURE_VERSION multiarch"
        echo "base $(basename "$base")"
        sha256sum "$_IMAGE_SH"
    )
    _image_cached multiarch "$keytext" _image_build_multiarch_into "$base/oci" || return 1
    cp -a -- "$_IMAGE_ENTRY/oci/." "$dir/" || return 1
    local a m
    a=$(_image_info "$dir" "$IMAGE_FIXTURE_TAG" amd64) || return 1
    m=$(_image_info "$dir" "$IMAGE_FIXTURE_TAG" arm64) || return 1
    local _top _kind _m _c _l _d
    eval "$a"
    IMAGE_AMD64_MANIFEST_DIGEST=$_m
    eval "$m"
    IMAGE_ARM64_MANIFEST_DIGEST=$_m
    IMAGE_ARM64_CONFIG_DIGEST=$_c
    IMAGE_INDEX_DIGEST=$_top
    IMAGE_INDEX_DIR=$dir
    IMAGE_INDEX_REF=oci:$dir:$IMAGE_FIXTURE_TAG
    export IMAGE_INDEX_DIR IMAGE_INDEX_REF IMAGE_INDEX_DIGEST IMAGE_AMD64_MANIFEST_DIGEST \
        IMAGE_ARM64_MANIFEST_DIGEST IMAGE_ARM64_CONFIG_DIGEST
}

_image_build_multiarch_into() {
    local work=$1 base=$2
    mkdir -p "$work/oci" && cp -a -- "$base/." "$work/oci/" || return 1
    _image_py - "$work/oci" "$IMAGE_FIXTURE_TAG" <<'EOF' || return 1
import hashlib, json, os, sys
layout, tag = sys.argv[1], sys.argv[2]
IDX = "application/vnd.oci.image.index.v1+json"
def path(d):
    alg, hexd = d.split(":", 1)
    return os.path.join(layout, "blobs", alg, hexd)
def load(d):
    with open(path(d), "rb") as f:
        data = f.read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == d, "bad blob " + d
    return json.loads(data)
def put(obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(path(d), "wb") as f:
        f.write(data)
    os.chmod(path(d), 0o644)
    return d, len(data)
with open(os.path.join(layout, "index.json")) as f:
    top = json.load(f)
(amd,) = [m for m in top["manifests"]
          if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
man = load(amd["digest"])
cfg = load(man["config"]["digest"])
cfg["architecture"] = "arm64"
cfg["variant"] = "v8"
cd, cs = put(cfg)
man["config"] = dict(man["config"], digest=cd, size=cs)
md, ms = put(man)
index = {
    "schemaVersion": 2,
    "mediaType": IDX,
    "manifests": [
        {"mediaType": amd["mediaType"], "digest": amd["digest"], "size": amd["size"],
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": amd["mediaType"], "digest": md, "size": ms,
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ],
}
xd, xs = put(index)
top["manifests"] = [{"mediaType": IDX, "digest": xd, "size": xs,
                     "annotations": {"org.opencontainers.image.ref.name": tag}}]
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(top, f, separators=(",", ":"))
EOF
    local arch
    for arch in amd64 arm64; do
        if ! skopeo --override-os linux --override-arch "$arch" inspect \
            "oci:$work/oci:$IMAGE_FIXTURE_TAG" >"$work/inspect-$arch.json"; then
            echo "image_build_multiarch: skopeo cannot resolve $arch" >&2
            return 1
        fi
    done
}

# ---------------------------------------------------------------- unpack

image_unpack() {
    if [[ $# -lt 3 || $# -gt 4 ]]; then
        echo "usage: image_unpack DIR TAG ROOTFS_OUT [ARCH]" >&2
        return 2
    fi
    local dir=$1 tag=$2 out=$3 arch=${4:-}
    _image_need umoci || return 1
    if [[ -e $out ]]; then
        echo "image_unpack: $out exists" >&2
        return 2
    fi
    local info _top _kind _m _c _l _d
    info=$(_image_info "$dir" "$tag" "${arch:-amd64}") || return 1
    eval "$info"
    local parent tmp src=$dir rc=0
    parent=$(cd "$(dirname "$out")" && pwd) || return 1
    tmp=$(mktemp -d "$parent/.unpack.XXXXXX") || return 1
    if [[ $_kind == index || -n $arch ]]; then
        _image_need skopeo || { rm -rf -- "$tmp"; return 1; }
        src=$tmp/single
        skopeo --insecure-policy --override-os linux --override-arch "${arch:-amd64}" copy -q \
            "oci:$dir:$tag" "oci:$src:$tag" || rc=1
    fi
    local opts=()
    if [[ $(id -u) -eq 0 ]]; then
        IMAGE_UNPACK_OWNERS=real
    else
        IMAGE_UNPACK_OWNERS=rootless
        opts=(--rootless)
    fi
    export IMAGE_UNPACK_OWNERS
    [[ $rc -ne 0 ]] || umoci unpack "${opts[@]}" --image "$src:$tag" "$tmp/bundle" >&2 || rc=1
    [[ $rc -ne 0 ]] || mv -- "$tmp/bundle/rootfs" "$out" || rc=1
    rm -rf -- "$tmp"
    return "$rc"
}
