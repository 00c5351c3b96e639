#!/usr/bin/env bash
# Self-test of tests/image.sh: OCI base images written by umoci, a docker-archive written by
# skopeo, a hand-written multi-arch index; read back with skopeo, umoci and python3.
# shellcheck disable=SC2016  # python snippets are single-quoted on purpose
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
# shellcheck source=tests/image.sh
. "$TESTS_DIR/image.sh"

if [[ $(id -u) -ne 0 ]]; then
    t_skip "image fixture" "tests/image.sh builds images with umoci as root (running as $(id -un))"
    exit 0
fi

tmp=$(t_tmpdir)
tag=$IMAGE_FIXTURE_TAG

# pyq FILE EXPR: prints EXPR evaluated with j = the JSON in FILE (strings raw, else JSON)
pyq() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
v = eval(sys.argv[2], {"j": j})
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":")))
EOF
}

# expect NAME ACTUAL EXPECTED
expect() {
    if [[ $2 == "$3" ]]; then
        t_ok "$1"
    else
        t_fail "$1" "got '$2', want '$3'"
    fi
}

# every blob of layout $1 hashes to its name; index.json parses
check_blobs() {
    local f n=0
    "$PYTHON" -m json.tool "$1/index.json" >/dev/null || return 1
    grep -qx '{"imageLayoutVersion":"1.0.0"}' "$1/oci-layout" || return 1
    for f in "$1"/blobs/sha256/*; do
        [[ $(sha256sum <"$f" | cut -c1-64) == "$(basename "$f")" ]] || { echo "bad blob $f"; return 1; }
        n=$((n + 1))
    done
    [[ $n -gt 0 ]]
}

declare -A layers=() manifest=()

# ---------------------------------------------------------------- the three variants

for variant in python nopython noflinkpython; do
    d=$tmp/$variant
    t0=$SECONDS
    if ! image_build_base "$d" "$variant"; then
        t_fail "$variant: image_build_base" "see the log"
        continue
    fi
    echo "image_build_base $variant took $((SECONDS - t0)) s" >&2
    t_ok "$variant: image_build_base"
    expect "$variant: IMAGE_DIR" "$IMAGE_DIR" "$d"
    expect "$variant: IMAGE_REF" "$IMAGE_REF" "oci:$d:$tag"
    layers[$variant]=$IMAGE_LAYER_DIGESTS
    manifest[$variant]=$IMAGE_MANIFEST_DIGEST
    t_check "$variant: blobs match their digests" check_blobs "$d"

    if ! skopeo inspect "oci:$d:$tag" >"$tmp/$variant.inspect.json"; then
        t_fail "$variant: skopeo inspect"
        continue
    fi
    t_ok "$variant: skopeo inspect"
    skopeo inspect --config "oci:$d:$tag" >"$tmp/$variant.config.json"
    skopeo inspect --raw "oci:$d:$tag" >"$tmp/$variant.manifest.json"
    want=3
    [[ $variant != nopython ]] || want=2
    expect "$variant: $want layers" "$(pyq "$tmp/$variant.inspect.json" 'len(j["Layers"])')" "$want"
    expect "$variant: skopeo's layers = IMAGE_LAYER_DIGESTS" \
        "$(pyq "$tmp/$variant.inspect.json" '" ".join(j["Layers"])')" "$IMAGE_LAYER_DIGESTS"
    expect "$variant: image_layers" "$(image_layers "$d" "$tag" | tr '\n' ' ')" "$IMAGE_LAYER_DIGESTS "
    expect "$variant: manifest digest" "sha256:$(sha256sum <"$tmp/$variant.manifest.json" | cut -c1-64)" \
        "$IMAGE_MANIFEST_DIGEST"
    expect "$variant: manifest media types" \
        "$(pyq "$tmp/$variant.manifest.json" '[j["config"]["mediaType"]] + sorted(set(l["mediaType"] for l in j["layers"]))')" \
        '["application/vnd.oci.image.config.v1+json","application/vnd.oci.image.layer.v1.tar+gzip"]'
    expect "$variant: diff_ids" "$(pyq "$tmp/$variant.config.json" '" ".join(j["rootfs"]["diff_ids"])')" \
        "$IMAGE_DIFF_IDS"
    c=$tmp/$variant.config.json
    expect "$variant: config Env" "$(pyq "$c" 'j["config"]["Env"]')" \
        '["PATH=/opt/flink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","FLINK_HOME=/opt/flink"]'
    expect "$variant: config Entrypoint" "$(pyq "$c" 'j["config"]["Entrypoint"]')" '["/docker-entrypoint.sh"]'
    expect "$variant: config Cmd" "$(pyq "$c" 'j["config"]["Cmd"]')" '["help"]'
    expect "$variant: config WorkingDir" "$(pyq "$c" 'j["config"]["WorkingDir"]')" /opt/flink
    expect "$variant: config ExposedPorts" "$(pyq "$c" 'j["config"]["ExposedPorts"]')" '{"6123/tcp":{},"8081/tcp":{}}'
    expect "$variant: config Labels" "$(pyq "$c" 'j["config"]["Labels"]')" \
        '{"org.opencontainers.image.title":"flink-test-base"}'
    expect "$variant: config User unset" "$(pyq "$c" 'j["config"].get("User", "<unset>")')" '<unset>'
    expect "$variant: platform" "$(pyq "$c" 'j["os"] + "/" + j["architecture"]')" linux/amd64
    expect "$variant: created" "$(pyq "$c" 'j["created"]')" "$IMAGE_FIXTURE_CREATED"
    expect "$variant: history" "$(pyq "$c" '[h.get("empty_layer", False) for h in j["history"]]')" \
        "$(if [[ $variant == nopython ]]; then echo '[false,false,true]'; else echo '[false,false,false,true]'; fi)"

    # unpack and look at the files
    r=$tmp/$variant.rootfs
    if ! image_unpack "$d" "$tag" "$r"; then
        t_fail "$variant: image_unpack"
        continue
    fi
    t_ok "$variant: image_unpack"
    expect "$variant: unpacked as root keeps owners" "$IMAGE_UNPACK_OWNERS" real
    st() { stat -c '%U:%G %u:%g %a %F' -- "$r/$1" 2>&1; } # names: whatever the host calls them
    expect "$variant: /opt/flink" "$(st opt/flink | cut -d' ' -f2-)" "9999:9999 755 directory"
    expect "$variant: flink-dist jar" "$(st opt/flink/lib/flink-dist-1.19.2.jar | cut -d' ' -f2-)" \
        "9999:9999 644 regular file"
    t_check "$variant: flink-dist jar is commons-cli.jar" cmp "$r/opt/flink/lib/flink-dist-1.19.2.jar" \
        /usr/share/maven/lib/commons-cli.jar
    expect "$variant: bin/flink" "$(st opt/flink/bin/flink | cut -d' ' -f2-)" "9999:9999 755 regular file"
    expect "$variant: conf/config.yaml" "$(st opt/flink/conf/config.yaml | cut -d' ' -f2-)" \
        "9999:9999 644 regular file"
    t_check "$variant: config.yaml is YAML with rest.port 8081" "$PYTHON" -c \
        'import sys, yaml; c = yaml.safe_load(open(sys.argv[1])); assert c["rest"]["port"] == 8081, c' \
        "$r/opt/flink/conf/config.yaml"
    expect "$variant: plugins/README.txt" "$(st opt/flink/plugins/README.txt | cut -d' ' -f2-)" \
        "9999:9999 644 regular file"
    expect "$variant: /docker-entrypoint.sh" "$(st docker-entrypoint.sh | cut -d' ' -f2-)" "0:0 755 regular file"
    expect "$variant: /tmp" "$(st tmp | cut -d' ' -f2-)" "0:0 1777 directory"
    expect "$variant: /bin symlink" "$(readlink "$r/bin")" usr/bin
    t_check "$variant: user flink 9999" grep -qx 'flink:x:9999:9999::/opt/flink:/bin/sh' "$r/etc/passwd"
    t_check "$variant: group flink 9999" grep -qx 'flink:x:9999:' "$r/etc/group"
    expect "$variant: mtimes" "$(find "$r" -mindepth 1 -printf '%T@\n' | sed 's/\..*//' | sort -u)" \
        "$IMAGE_FIXTURE_EPOCH"
    if [[ $variant == noflinkpython ]]; then
        t_check "$variant: no flink-python jar" test ! -e "$r/opt/flink/opt/flink-python-1.19.2.jar"
        t_check "$variant: opt/ still there" test -d "$r/opt/flink/opt"
    else
        expect "$variant: flink-python jar" "$(st opt/flink/opt/flink-python-1.19.2.jar | cut -d' ' -f2-)" \
            "9999:9999 644 regular file"
    fi
    if [[ $variant == nopython ]]; then
        t_check "$variant: no python3.11" test ! -e "$r/usr/bin/python3.11" -a ! -e "$r/usr/lib/python3.11"
    else
        expect "$variant: python3.11" "$(st usr/bin/python3.11 | cut -d' ' -f2-)" "0:0 755 regular file"
        expect "$variant: python3 symlink" "$(readlink "$r/usr/bin/python3")" python3.11
        t_check "$variant: os.py" test -f "$r/usr/lib/python3.11/os.py"
    fi
done

# layer reuse between variants
read -r -a py <<<"${layers[python]:-}"
read -r -a nopy <<<"${layers[nopython]:-}"
read -r -a nofp <<<"${layers[noflinkpython]:-}"
expect "reuse: nopython = python's first two layers" "${nopy[*]:-}" "${py[*]:0:2}"
expect "reuse: noflinkpython shares layers 1 and 3" "${nofp[0]:-} ${nofp[2]:-}" "${py[0]:-} ${py[2]:-}"
t_check "reuse: noflinkpython's flink layer differs" test "${nofp[1]:-x}" != "${py[1]:-x}"

# ---------------------------------------------------------------- cache and reproducibility

t_check "cache: second build of python" image_build_base "$tmp/python-again" python
expect "cache: same manifest" "${IMAGE_MANIFEST_DIGEST:-}" "${manifest[python]:-}"
t_check "cache: a real copy" test "$(stat -c %i "$tmp/python/index.json")" != \
    "$(stat -c %i "$tmp/python-again/index.json")"

fresh=$(t_tmpdir)
if (TEST_CACHE=$fresh/cache image_build_base "$fresh/python" python &&
    TEST_CACHE=$fresh/cache image_build_docker_archive "$fresh/python" "$fresh/python.tar"); then
    t_check "reproducible: fresh build of python is byte-identical" diff -r "$tmp/python" "$fresh/python"
    repro_archive=$fresh/python.tar
else
    t_fail "reproducible: fresh build of python"
    repro_archive=
fi

# ---------------------------------------------------------------- errors

rc=0
image_build_base "$tmp/python" 2>/dev/null || rc=$?
expect "error: destination not empty" "$rc" 2
rc=0
image_build_base "$tmp/other" debian 2>/dev/null || rc=$?
expect "error: unknown variant" "$rc" 2
rc=0
image_unpack "$tmp/python" "$tag" "$tmp/python.rootfs" 2>/dev/null || rc=$?
expect "error: unpack target exists" "$rc" 2

# ---------------------------------------------------------------- docker archive

a=$tmp/flink.tar
if image_build_docker_archive "$tmp/python" "$a"; then
    t_ok "docker-archive: image_build_docker_archive"
    expect "docker-archive: IMAGE_ARCHIVE_REF" "$IMAGE_ARCHIVE_REF" "docker-archive:$a"
    if skopeo inspect "docker-archive:$a" >"$tmp/archive.inspect.json"; then
        t_ok "docker-archive: skopeo inspect"
        expect "docker-archive: layers are the diff_ids" \
            "$(pyq "$tmp/archive.inspect.json" '" ".join(j["Layers"])')" "$(pyq "$tmp/python.config.json" '" ".join(j["rootfs"]["diff_ids"])')"
        expect "docker-archive: Env" "$(pyq "$tmp/archive.inspect.json" 'j["Env"]')" \
            "$(pyq "$tmp/python.config.json" 'j["config"]["Env"]')"
    else
        t_fail "docker-archive: skopeo inspect"
    fi
    skopeo inspect --raw "docker-archive:$a" >"$tmp/archive.manifest.json" || true
    expect "docker-archive: Docker schema2 manifest" "$(pyq "$tmp/archive.manifest.json" 'j.get("mediaType")')" \
        application/vnd.docker.distribution.manifest.v2+json
    mkdir "$tmp/archive"
    tar -xf "$a" -C "$tmp/archive"
    expect "docker-archive: manifest.json" \
        "$(pyq "$tmp/archive/manifest.json" '[len(j), j[0]["RepoTags"], len(j[0]["Layers"])]')" \
        '[1,["docker.io/library/flink:1.19.2"],3]'
    check_archive_layers() {
        local l
        for l in $(pyq "$tmp/archive/manifest.json" '" ".join(j[0]["Layers"])'); do
            [[ sha256:$(sha256sum <"$tmp/archive/$l" | cut -c1-64) == sha256:${l%.tar} ]] || return 1
            tar -tf "$tmp/archive/$l" >/dev/null || return 1
        done
    }
    t_check "docker-archive: layer tars are uncompressed and match their names" check_archive_layers
    if [[ -n $repro_archive ]]; then
        t_check "reproducible: docker archive is byte-identical" cmp "$a" "$repro_archive"
    fi
else
    t_fail "docker-archive: image_build_docker_archive"
fi

# ---------------------------------------------------------------- multi-arch index

m=$tmp/multi
if image_build_multiarch "$m"; then
    t_ok "multiarch: image_build_multiarch"
    t_check "multiarch: blobs match their digests" check_blobs "$m"
    expect "multiarch: index.json has one tag" "$(pyq "$m/index.json" \
        '[(x["mediaType"], x["annotations"]["org.opencontainers.image.ref.name"]) for x in j["manifests"]]')" \
        '[["application/vnd.oci.image.index.v1+json","1.19.2"]]'
    skopeo inspect --raw "oci:$m:$tag" >"$tmp/index.json"
    expect "multiarch: index digest" "sha256:$(sha256sum <"$tmp/index.json" | cut -c1-64)" "$IMAGE_INDEX_DIGEST"
    expect "multiarch: platforms" "$(pyq "$tmp/index.json" '[m["platform"] for m in j["manifests"]]')" \
        '[{"architecture":"amd64","os":"linux"},{"architecture":"arm64","os":"linux","variant":"v8"}]'
    expect "multiarch: amd64 is the python image" "$IMAGE_AMD64_MANIFEST_DIGEST" "${manifest[python]:-}"
    for arch in amd64 arm64; do
        if skopeo inspect --override-os linux --override-arch "$arch" "oci:$m:$tag" >"$tmp/multi.$arch.json"; then
            t_ok "multiarch: skopeo inspect --override-arch $arch"
            expect "multiarch: $arch resolves to $arch" "$(pyq "$tmp/multi.$arch.json" 'j["Architecture"]')" "$arch"
            expect "multiarch: $arch layers" "$(pyq "$tmp/multi.$arch.json" '" ".join(j["Layers"])')" "${layers[python]:-}"
        else
            t_fail "multiarch: skopeo inspect --override-arch $arch"
        fi
        expect "multiarch: image_layers $arch" "$(image_layers "$m" "$tag" "$arch" | tr '\n' ' ')" "${layers[python]:-} "
    done
    image_json "$m" "$IMAGE_ARM64_CONFIG_DIGEST" >"$tmp/arm64.config.json"
    expect "multiarch: arm64 config" \
        "$(pyq "$tmp/arm64.config.json" '[j["architecture"], j["variant"], j["config"]["Entrypoint"]]')" \
        '["arm64","v8",["/docker-entrypoint.sh"]]'
    rc=0
    skopeo inspect --override-os linux --override-arch s390x "oci:$m:$tag" >/dev/null 2>&1 || rc=$?
    t_check "multiarch: no s390x image" test "$rc" -ne 0
    if image_unpack "$m" "$tag" "$tmp/multi.arm64.rootfs" arm64; then
        t_ok "multiarch: image_unpack arm64"
        expect "multiarch: arm64 rootfs owners" "$(stat -c '%u:%g' "$tmp/multi.arm64.rootfs/opt/flink/lib/flink-dist-1.19.2.jar")" \
            9999:9999
    else
        t_fail "multiarch: image_unpack arm64"
    fi
    t_check "multiarch: image_unpack of the index (amd64)" image_unpack "$m" "$tag" "$tmp/multi.amd64.rootfs"
    t_check "multiarch: same tree as python" diff -r "$tmp/multi.amd64.rootfs" "$tmp/python.rootfs"
else
    t_fail "multiarch: image_build_multiarch"
fi
