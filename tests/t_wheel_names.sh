#!/usr/bin/env bash
# Names inside wheels: a control character (a newline would forge a RECORD row that pip
# uninstall acts on) is refused, a file the wheel's RECORD does not list is refused, and a
# name with a comma is written to the generated RECORD with CSV quoting.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
t_need_factory

tmp=$(t_tmpdir)
PYTHON=${PYTHON:-/usr/bin/python3}
image_build_base "$tmp/base" python
# make_wheel OUT NAME ENTRY... : a wheel of dist NAME 1.0 with the entries (path=content) and
# a RECORD listing them, except entries marked with a leading '!' (left out of RECORD)
make_wheel() {
    "$PYTHON" - "$@" <<'PY'
import base64, hashlib, sys, zipfile
out, name, entries = sys.argv[1], sys.argv[2], sys.argv[3:]
di = "%s-1.0.dist-info" % name
files = []
for e in entries:
    listed = not e.startswith("!")
    path, content = e.lstrip("!").split("=", 1)
    files.append((path.encode().decode("unicode_escape"), content.encode(), listed))
files += [(di + "/METADATA", b"Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name.encode(), True),
          (di + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n", True)]
def row(p, data):
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    q = '"%s"' % p.replace('"', '""') if any(c in p for c in ',"\n') else p
    return "%s,sha256=%s,%d\n" % (q, h, len(data))
record = "".join(row(p, d) for p, d, listed in files if listed) + di + "/RECORD,,\n"
with zipfile.ZipFile(out, "w") as z:
    for p, d, _ in files:
        z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), d)
    z.writestr(zipfile.ZipInfo(di + "/RECORD", (1980, 1, 1, 0, 0, 0)), record)
PY
}
app() { # DIR WHEEL
    mkdir -p "$1/jobs"
    printf 'print("job")\n' > "$1/jobs/main.py"
    cp "$2" "$1/"
    local w sha
    w=$(basename "$2")
    sha=$(sha256sum "$2" | cut -d' ' -f1)
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: names}
flink: {version: 1.19.2, image: "oci:$tmp/base:1.19.2"}
image: {repository: team/names, tags: ["1.0"]}
python:
  scripts: [jobs/main.py]
  requirements: [{name: ${w%%-*}, version: "1.0", sha256: [$sha], file: $w}]
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
cache: {dir: $tmp/cache}
YAML
build() { "$FACTORY" build --config "$tmp/factory.yaml" -o "$2" "$1/recipe.yaml" > "$tmp/log" 2>&1; }

make_wheel "$tmp/evil_newline-1.0-py3-none-any.whl" evil_newline 'evil_newline/__init__.py=x' \
    'evil_newline/x\n/usr/bin/python3.11=boom'
app "$tmp/a" "$tmp/evil_newline-1.0-py3-none-any.whl"
rc=0
build "$tmp/a" "$tmp/out-a" || rc=$?
t_check "a wheel entry with a newline in its name is refused, nothing written" sh -c \
    '[ "$1" -eq 1 ] && grep -q "control character" "$2" && [ ! -e "$3/names" ]' _ "$rc" "$tmp/log" "$tmp/out-a"

make_wheel "$tmp/evil_unlisted-1.0-py3-none-any.whl" evil_unlisted 'evil_unlisted/__init__.py=x' \
    '!evil_unlisted/hidden.py=import os'
app "$tmp/b" "$tmp/evil_unlisted-1.0-py3-none-any.whl"
rc=0
build "$tmp/b" "$tmp/out-b" || rc=$?
t_check "a file the wheel's RECORD does not list is refused" sh -c \
    '[ "$1" -eq 1 ] && grep -q "evil_unlisted/hidden.py. is not listed in evil_unlisted-1.0.dist-info/RECORD" "$2"' _ "$rc" "$tmp/log"

make_wheel "$tmp/comma_name-1.0-py3-none-any.whl" comma_name 'comma_name/__init__.py=x' 'comma_name/a,b.txt=data'
app "$tmp/c" "$tmp/comma_name-1.0-py3-none-any.whl"
if build "$tmp/c" "$tmp/out-c"; then t_ok "a name with a comma installs"; else t_fail "a name with a comma installs" "$(cat "$tmp/log")"; fi
umoci unpack --image "$tmp/out-c/names/image:1.0" "$tmp/bundle-c" > /dev/null
t_check "the generated RECORD quotes it as CSV, and Python's csv reads every row back" "$PYTHON" - \
    "$tmp/bundle-c/rootfs/usr/local/lib/python3.11/dist-packages" <<'PY'
import csv, os, sys
sp = sys.argv[1]
rows = list(csv.reader(open(os.path.join(sp, "comma_name-1.0.dist-info/RECORD"), newline="")))
paths = [r[0] for r in rows]
assert "comma_name/a,b.txt" in paths, paths
for p in paths:
    assert os.path.exists(os.path.join(sp, p)), p
PY
