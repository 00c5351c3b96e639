#!/usr/bin/env bash
# The PyFlink layer: pinned wheels from a file, a URL and a PEP 503 index served by nginx,
# installed as an installer would into the base's Python; incompatible, tampered and
# malicious wheels refused with nothing written.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/wheels.sh"
t_need_factory

tmp=$(t_tmpdir)
image_build_base "$tmp/base" python
wheels_index "$tmp/index"
wheels_serve "$tmp/index"
sha() { awk -F'\t' -v f="$1" '$1 == f {print $4}' "$WHEELS_INDEX_LIST"; }
HELLO=hello_flink-1.0.0-py3-none-any.whl
TINY=tiny_native-2.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
HELLO_SHA=$(sha "files/$HELLO")
TINY_SHA=$(sha "files/$TINY")

config() { # INDEX_URL
    cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
python: {index: ["$1"]}
cache: {dir: $tmp/cache}
YAML
}
recipe() { # DIR REQUIREMENTS_YAML
    mkdir -p "$1/jobs"
    cp "$tmp/index/files/"*.whl "$1/" 2>/dev/null || true
    printf 'print("job")\n' > "$1/jobs/main.py"
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: py}
flink: {version: 1.19.2, image: "oci:$tmp/base:1.19.2"}
image: {repository: team/py, tags: ["1.0"]}
python:
  scripts: [jobs/main.py]
  requirements:
$2
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
build() { "$FACTORY" build --config "$tmp/factory.yaml" -o "$2" "$1/recipe.yaml"; }

config "$WHEELS_URL/simple"
recipe "$tmp/ok" "    - {name: hello-flink, version: 1.0.0, sha256: [$HELLO_SHA]}
    - {name: tiny_native, version: \"2.1\", sha256: [$TINY_SHA], url: \"$WHEELS_URL/files/$TINY\"}"
if build "$tmp/ok" "$tmp/out" > "$tmp/log1" 2>&1; then t_ok "wheels from an index and a URL: build succeeds"; else t_fail "wheels from an index and a URL: build succeeds" "$(cat "$tmp/log1")"; fi
t_check "the index and the wheels were fetched over HTTP" sh -c 'grep -q "GET /simple/hello-flink/" "$1" && grep -q "GET /files/hello_flink" "$1" && grep -q "GET /files/tiny_native" "$1"' _ "$WHEELS_ACCESS_LOG"
umoci unpack --image "$tmp/out/py/image:1.0" "$tmp/bundle" > /dev/null
R=$tmp/bundle/rootfs
SP=$R/usr/local/lib/python3.11/dist-packages
t_check "installed: packages in dist-packages, root-owned 0644" sh -c '[ "$(stat -c %u:%g:%a "$1"/hello_flink/__init__.py)" = 0:0:644 ] && [ -f "$1"/hello_flink/data.txt ] && [ -f "$1"/tiny_native/__init__.py ]' _ "$SP"
t_check "installed: INSTALLER and a RECORD that matches the files" "$PYTHON" - "$SP" <<'PY'
import sys, os, base64, hashlib, csv
sp = sys.argv[1]
for dist in ("hello_flink-1.0.0.dist-info", "tiny_native-2.1.dist-info"):
    d = os.path.join(sp, dist)
    assert open(os.path.join(d, "INSTALLER")).read() == "factory\n"
    rows = list(csv.reader(open(os.path.join(d, "RECORD"))))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    for path, h, size in rows:
        full = os.path.normpath(os.path.join(sp, path))
        if not h:
            assert path.endswith("RECORD"), path
            continue
        data = open(full, "rb").read()
        want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert h == want and int(size) == len(data), (path, h, want)
PY
t_check "installed: console script and #!python script point at the base's Python" sh -c '
    head -1 "$1/usr/local/bin/hello-flink" | grep -qx "#!/usr/bin/python3.11" &&
    grep -q "from hello_flink import main" "$1/usr/local/bin/hello-flink" &&
    head -1 "$1/usr/local/bin/hello-raw" | grep -qx "#!/usr/bin/python3.11" &&
    [ "$(stat -c %a "$1/usr/local/bin/hello-flink")" = 755 ] && [ "$(stat -c %a "$1/usr/local/bin/hello-raw")" = 755 ] &&
    [ -f "$1/usr/local/share/hello/readme.txt" ]' _ "$R"
t_check "history names the python layer" sh -c 'skopeo inspect --config "oci:$1:1.0" | grep -q "factory: python layer"' _ "$tmp/out/py/image"

# Warm: the wheels and the layer come from the cache, no request.
before=$(wc -l < "$WHEELS_ACCESS_LOG")
build "$tmp/ok" "$tmp/out" > "$tmp/log2" 2>&1
after=$(wc -l < "$WHEELS_ACCESS_LOG")
if [[ $before -eq $after ]] && grep -q '0 built, 1 reused' "$tmp/log2"; then t_ok "rebuild: python layer reused, no request"; else t_fail "rebuild: python layer reused, no request" "$((after - before)) requests; $(cat "$tmp/log2")"; fi

# A wheel file beside the recipe.
recipe "$tmp/file" "    - {name: hello-flink, version: 1.0.0, sha256: [$HELLO_SHA], file: $HELLO}"
t_check "wheel from a file beside the recipe" build "$tmp/file" "$tmp/out-file"

expect_fail() { # NAME DIR MESSAGE
    local rc=0
    build "$2" "$tmp/out-$(basename "$2")" > "$tmp/err" 2>&1 || rc=$?
    if [[ $rc -eq 1 ]] && grep -qF -- "$3" "$tmp/err" && [[ ! -e $tmp/out-$(basename "$2") ]] &&
       [[ -z $(ls -A "$tmp/cache/tmp") ]]; then
        t_ok "$1"
    else
        t_fail "$1" "exit $rc: $(cat "$tmp/err"); tmp: $(ls -A "$tmp/cache/tmp")"
    fi
}
WRONG=wrong_py-1.0-cp39-cp39-manylinux2014_x86_64.whl
ARM=arm_only-1.0-cp311-cp311-manylinux2014_aarch64.whl
recipe "$tmp/cp39" "    - {name: wrong_py, version: \"1.0\", sha256: [$(sha "files/$WRONG")], file: $WRONG}"
expect_fail "incompatible: built for Python 3.9" "$tmp/cp39" "is built for Python 'cp39', the base image has Python 3.11"
recipe "$tmp/arm" "    - {name: arm_only, version: \"1.0\", sha256: [$(sha "files/$ARM")], file: $ARM}"
expect_fail "incompatible: aarch64 wheel on amd64" "$tmp/arm" "is built for 'manylinux2014_aarch64', not linux x86_64"
cp "$tmp/index/tampered/files/$HELLO" "$tmp/tampered.whl"
recipe "$tmp/tampered" "    - {name: hello-flink, version: 1.0.0, sha256: [$HELLO_SHA], file: $HELLO}"
cp "$tmp/tampered.whl" "$tmp/tampered/$HELLO"
rm -rf "$tmp/cache"
expect_fail "tampered wheel: pin mismatch, nothing stored" "$tmp/tampered" "is not one of the 1 pinned; nothing was stored"
config "$WHEELS_URL/tampered/simple"
recipe "$tmp/lying" "    - {name: hello-flink, version: 1.0.0, sha256: [$HELLO_SHA]}"
expect_fail "lying index: the downloaded bytes do not match the pin" "$tmp/lying" "lists no wheel of hello-flink 1.0.0"
config "$WHEELS_URL/simple"
for evil in evil_dotdot evil_abs evil_link evil_data evil_device; do
    f=$evil-1.0-py3-none-any.whl
    recipe "$tmp/$evil" "    - {name: ${evil/_/-}, version: \"1.0\", sha256: [$(sha "files/$f")], file: $f}"
    case $evil in
        evil_link|evil_device) msg="only regular files may be installed" ;;
        *) msg="would land outside its directory" ;;
    esac
    expect_fail "malicious wheel refused: $evil" "$tmp/$evil" "$msg"
done
exit 0
