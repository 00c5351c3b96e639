# shellcheck shell=bash
# shellcheck source=tests/nginx.sh
. "${TESTS_DIR:-$(dirname "${BASH_SOURCE[0]}")}/nginx.sh"
# Python wheels for tests: real, valid (and some deliberately hostile) .whl files written by
# python3's zipfile (stdlib only, no pip, no network), a PEP 503 "simple" index of them and
# an nginx server for that index. Source it after lib.sh:
#
#     . "$TESTS_DIR/lib.sh"
#     . "$TESTS_DIR/wheels.sh"
#     w=$(t_tmpdir)/wheels
#     wheels_build "$w"                  # not in $( ): it sets variables
#     idx=$(t_tmpdir)/index
#     wheels_index "$idx"
#     wheels_serve "$idx"
#     curl -fsS "$WHEELS_URL/simple/hello-flink/"
#
# wheels_build DIR
#     Writes the wheels below into DIR (created if missing; must be empty) plus DIR/wheels.tsv
#     (header line "file name version sha256 kind", tab-separated; file is relative to DIR,
#     name is METADATA's Name, kind is good|incompatible|malicious|tampered).
#     Every wheel is a PEP 427 zip: <dist>-<ver>.dist-info/{METADATA (Metadata-Version 2.1,
#     Name, Version, Summary), WHEEL (Wheel-Version 1.0, Generator, Root-Is-Purelib, one Tag
#     line per tag), RECORD} and a RECORD that lists every entry with
#     sha256=<urlsafe base64, no padding> and its size (RECORD itself: "…/RECORD,,").
#     The bytes are reproducible: entries sorted by name except that the .dist-info files
#     come last (RECORD last of all, as PEP 427 recommends), every timestamp 1980-01-01
#     00:00:00, create_system 3 (unix), modes 0644 (0755 for scripts), deflate (level 6)
#     except tiny_native (stored, so both methods are covered).
#       good
#         hello_flink-1.0.0-py3-none-any.whl          Name hello-flink, Requires-Python >=3.8
#             hello_flink/__init__.py                 def main(): print("hello")
#             hello_flink/data.txt
#             hello_flink-1.0.0.data/scripts/hello-raw       0755, first line "#!python"
#                                                     (an installer rewrites it)
#             hello_flink-1.0.0.data/data/share/hello/readme.txt
#             hello_flink-1.0.0.dist-info/entry_points.txt   [console_scripts]
#                                                     hello-flink = hello_flink:main
#         tiny_native-2.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
#             Name tiny_native, Root-Is-Purelib false, two Tag lines (the expanded tag set);
#             its only module is tiny_native-2.1.data/platlib/tiny_native/__init__.py
#             (pure python although the tags claim CPython 3.11 on x86_64)
#       incompatible (for a CPython 3.11 linux/amd64 base)
#         wrong_py-1.0-cp39-cp39-manylinux2014_x86_64.whl      (Python 3.9 only)
#         arm_only-1.0-cp311-cp311-manylinux2014_aarch64.whl   (aarch64 only)
#       malicious: otherwise valid wheels (own package evil_*/__init__.py, METADATA, WHEEL,
#       RECORD listing the bad entry with its true hash) with ONE hostile entry each:
#         evil_dotdot-1.0-py3-none-any.whl   ../../etc/evil
#         evil_abs-1.0-py3-none-any.whl      /etc/evil
#         evil_link-1.0-py3-none-any.whl     evil_link/x: a symlink (mode 0120777 in
#                                            external_attr) to ../../../../etc/passwd
#         evil_data-1.0-py3-none-any.whl     evil_data-1.0.data/scripts/../../../../etc/evil
#         evil_device-1.0-py3-none-any.whl   evil_device/null: a character device (mode
#                                            0020644 in external_attr), empty
#       tampered
#         tampered/hello_flink-1.0.0-py3-none-any.whl   the same file name, Name and Version
#             as the good one, a consistent RECORD, but __init__.py prints "tampered": only
#             a sha256 pin of the whole file tells it from the good one
#     Built once per cache key (WHEELS_FIXTURE_VERSION, a hash of this file, the python and
#     zlib versions: deflate output depends on zlib) under
#     ${TEST_CACHE:-$REPO/build/test-cache}/wheels/ and copied into DIR (a real copy).
#     Sets and exports WHEELS_DIR (DIR, absolute) and WHEELS_LIST (DIR/wheels.tsv).
#
# wheels_index DIR
#     Lays out a PEP 503 simple repository of the same wheels in DIR (created if missing;
#     must be empty):
#       DIR/files/<file>                      every good, incompatible and malicious wheel
#       DIR/simple/index.html                 one anchor per project: <a href="NAME/">NAME</a>
#                                             (NAME normalized: hello-flink, tiny-native, ...)
#       DIR/simple/NAME/index.html            <a href="../../files/FILE#sha256=HEX">FILE</a>;
#                                             hello-flink's anchor also has
#                                             data-requires-python="&gt;=3.8"
#       DIR/tampered/files/hello_flink-1.0.0-py3-none-any.whl   the tampered wheel
#       DIR/tampered/simple/...               an index (hello-flink only) whose #sha256=
#                                             fragment is the GOOD wheel's hash: a lying index
#       DIR/wheels.tsv                        as for wheels_build, paths relative to DIR
#     Sets and exports WHEELS_INDEX_DIR (DIR, absolute) and WHEELS_INDEX_LIST
#     (DIR/wheels.tsv).
#
# wheels_serve DIR [NAME]
#     Starts nginx (harness server NAME, default "wheels") on a free 127.0.0.1 port serving
#     DIR at / (static files, index.html for directories, autoindex elsewhere; /_ready
#     answers 204 and is not logged). Sets and exports
#       WHEELS_PORT, WHEELS_URL=http://127.0.0.1:PORT (no trailing slash; the simple index
#                             of wheels_index is $WHEELS_URL/simple/)
#       WHEELS_ACCESS_LOG     one line per request, written unbuffered:
#                             127.0.0.1 [time] "GET /simple/x/ HTTP/1.1" 200 1234 range="-"
#       WHEELS_NGINX_DIR      config, pid and temp files
#
# Needs python3 (stdlib only), nginx and curl. wheels_serve needs lib.sh's harness.

WHEELS_FIXTURE_VERSION=1
_WHEELS_SH=$(readlink -f "${BASH_SOURCE[0]}")

_wheels_py() { "${PYTHON:-/usr/bin/python3}" "$@"; }

_wheels_empty_dest() { # DIR: create, must be empty; prints the absolute path
    if [[ -e $1 && -n $(ls -A "$1" 2>/dev/null) ]]; then
        echo "wheels.sh: $1 is not empty" >&2
        return 2
    fi
    mkdir -p "$1" && (cd "$1" && pwd)
}

# _wheels_generate OUT: writes the wheels and OUT/wheels.tsv (the cache entry's content)
_wheels_generate() {
    _wheels_py - "$1" <<'EOF'
import base64, hashlib, os, stat, sys, zipfile

out = sys.argv[1]
EPOCH = (1980, 1, 1, 0, 0, 0)
REG, EXE = stat.S_IFREG | 0o644, stat.S_IFREG | 0o755

def b64(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def wheel(path, name, version, tags, purelib, files, compression=zipfile.ZIP_DEFLATED,
          requires_python=None, extra_dist=(), raw=()):
    """files: (arcname, text, mode); extra_dist: (name in .dist-info, text);
    raw: (arcname, bytes, external_attr) written as is (hostile entries)"""
    dist = os.path.basename(path).split("-")[0]
    di = "%s-%s.dist-info" % (dist, version)
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    meta += "Summary: factory test fixture (tests/wheels.sh)\n"
    if requires_python:
        meta += "Requires-Python: %s\n" % requires_python
    whl = "Wheel-Version: 1.0\nGenerator: factory-tests (tests/wheels.sh)\n"
    whl += "Root-Is-Purelib: %s\n" % ("true" if purelib else "false")
    whl += "".join("Tag: %s\n" % t for t in tags)
    entries = [(a, t.encode(), m << 16) for a, t, m in files]
    entries += [(a, d, attr) for a, d, attr in raw]
    entries.sort(key=lambda e: e[0])
    tail = [(di + "/" + n, t.encode(), REG << 16) for n, t in sorted(extra_dist)]
    tail += [(di + "/METADATA", meta.encode(), REG << 16), (di + "/WHEEL", whl.encode(), REG << 16)]
    tail.sort(key=lambda e: e[0])
    entries += tail
    record = "".join("%s,sha256=%s,%d\n" % (a, b64(d), len(d)) for a, d, _ in entries)
    record += di + "/RECORD,,\n"
    entries.append((di + "/RECORD", record.encode(), REG << 16))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for arc, data, attr in entries:
            zi = zipfile.ZipInfo("placeholder", date_time=EPOCH)
            zi.filename = arc        # set directly: the constructor may normalize names
            zi.orig_filename = arc
            zi.create_system = 3
            zi.external_attr = attr
            zi.compress_type = compression
            z.writestr(zi, data, compress_type=compression,
                       compresslevel=6 if compression == zipfile.ZIP_DEFLATED else None)
    return path

rows = []
def add(rel, name, version, kind, **kw):
    p = wheel(os.path.join(out, rel), name, version, **kw)
    with open(p, "rb") as f:
        rows.append((rel, name, version, hashlib.sha256(f.read()).hexdigest(), kind))

def hello(greeting):
    return dict(
        tags=["py3-none-any"], purelib=True, requires_python=">=3.8",
        files=[
            ("hello_flink/__init__.py", 'def main(): print("%s")\n' % greeting, REG),
            ("hello_flink/data.txt", "data file of hello_flink\n", REG),
            ("hello_flink-1.0.0.data/scripts/hello-raw",
             '#!python\nimport hello_flink\nhello_flink.main()\n', EXE),
            ("hello_flink-1.0.0.data/data/share/hello/readme.txt", "hello readme\n", REG),
        ],
        extra_dist=[("entry_points.txt", "[console_scripts]\nhello-flink = hello_flink:main\n"),
                    ("top_level.txt", "hello_flink\n")])

add("hello_flink-1.0.0-py3-none-any.whl", "hello-flink", "1.0.0", "good", **hello("hello"))
add("tiny_native-2.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "tiny_native", "2.1", "good",
    tags=["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"],
    purelib=False, compression=zipfile.ZIP_STORED,
    files=[("tiny_native-2.1.data/platlib/tiny_native/__init__.py",
            'VALUE = 42\ndef native(): return "tiny_native %d" % VALUE\n', REG)])
add("wrong_py-1.0-cp39-cp39-manylinux2014_x86_64.whl", "wrong_py", "1.0", "incompatible",
    tags=["cp39-cp39-manylinux2014_x86_64"], purelib=False,
    files=[("wrong_py/__init__.py", 'WHO = "cp39"\n', REG)])
add("arm_only-1.0-cp311-cp311-manylinux2014_aarch64.whl", "arm_only", "1.0", "incompatible",
    tags=["cp311-cp311-manylinux2014_aarch64"], purelib=False,
    files=[("arm_only/__init__.py", 'WHO = "aarch64"\n', REG)])

def evil(name, raw):
    add("%s-1.0-py3-none-any.whl" % name, name.replace("_", "-"), "1.0", "malicious",
        tags=["py3-none-any"], purelib=True,
        files=[("%s/__init__.py" % name, "# %s\n" % name, REG)], raw=raw)

evil("evil_dotdot", [("../../etc/evil", b"evil\n", REG << 16)])
evil("evil_abs", [("/etc/evil", b"evil\n", REG << 16)])
evil("evil_link", [("evil_link/x", b"../../../../etc/passwd", (stat.S_IFLNK | 0o777) << 16)])
evil("evil_data", [("evil_data-1.0.data/scripts/../../../../etc/evil", b"#!/bin/sh\necho evil\n",
                    EXE << 16)])
evil("evil_device", [("evil_device/null", b"", (stat.S_IFCHR | 0o644) << 16)])

add("tampered/hello_flink-1.0.0-py3-none-any.whl", "hello-flink", "1.0.0", "tampered",
    **hello("tampered"))

with open(os.path.join(out, "wheels.tsv"), "w") as f:
    f.write("file\tname\tversion\tsha256\tkind\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
EOF
}

_wheels_cache_entry() { # prints the cache entry, building it under the lock if needed
    local root key keytext entry
    root=${TEST_CACHE:-${REPO:?REPO is not set}/build/test-cache}/wheels
    mkdir -p "$root" || return 1
    keytext=$(
        echo "wheels fixture v$WHEELS_FIXTURE_VERSION"
        sha256sum <"$_WHEELS_SH"
        _wheels_py -c 'import sys, zlib; print(sys.version); print(zlib.ZLIB_RUNTIME_VERSION)'
    ) || return 1
    key=v$WHEELS_FIXTURE_VERSION-$(printf '%s\n' "$keytext" | sha256sum | cut -c1-16)
    entry=$root/$key
    if [[ ! -f $entry/ok ]]; then
        local lockfd rc=0 work
        exec {lockfd}>"$root/.lock"
        flock "$lockfd"
        if [[ ! -f $entry/ok ]]; then
            work=$(mktemp -d "$root/.build.XXXXXX") && chmod 0755 "$work" || rc=1
            if [[ $rc -eq 0 ]]; then
                printf '%s\n' "$keytext" >"$work/key.txt"
                if _wheels_generate "$work/wheels"; then
                    : >"$work/ok"
                    rm -rf -- "$entry"
                    mv -- "$work" "$entry" || rc=1
                    [[ $rc -ne 0 ]] || echo "wheels.sh: built $entry" >&2
                else
                    rc=1
                    echo "wheels.sh: generating the wheels failed (work dir kept: $work)" >&2
                fi
            fi
        fi
        exec {lockfd}>&-
        [[ $rc -eq 0 ]] || return "$rc"
    fi
    printf '%s' "$entry"
}

wheels_build() {
    if [[ $# -ne 1 ]]; then
        echo "usage: wheels_build DIR" >&2
        return 2
    fi
    local dir entry
    dir=$(_wheels_empty_dest "$1") || return
    entry=$(_wheels_cache_entry) || return 1
    cp -a -- "$entry/wheels/." "$dir/" || return 1
    WHEELS_DIR=$dir
    WHEELS_LIST=$dir/wheels.tsv
    export WHEELS_DIR WHEELS_LIST
}

wheels_index() {
    if [[ $# -ne 1 ]]; then
        echo "usage: wheels_index DIR" >&2
        return 2
    fi
    local dir entry
    dir=$(_wheels_empty_dest "$1") || return
    entry=$(_wheels_cache_entry) || return 1
    _wheels_py - "$entry/wheels" "$dir" <<'EOF' || return 1
import html, os, re, shutil, sys

src, dst = sys.argv[1], sys.argv[2]
def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()

with open(os.path.join(src, "wheels.tsv")) as f:
    rows = [l.rstrip("\n").split("\t") for l in f][1:]
good_hello = {r[0]: r for r in rows}["hello_flink-1.0.0-py3-none-any.whl"][3]

def page(title, body):
    return ("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" "
            "content=\"1.0\">\n    <title>%s</title>\n  </head>\n  <body>\n%s  </body>\n</html>\n"
            % (html.escape(title), body))

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

def layout(base, items):
    """items: (file in src, name, sha256 for the fragment, requires_python)"""
    projects = {}
    for rel, name, sha, rp in items:
        fn = os.path.basename(rel)
        os.makedirs(os.path.join(base, "files"), exist_ok=True)
        shutil.copyfile(os.path.join(src, rel), os.path.join(base, "files", fn))
        projects.setdefault(norm(name), []).append((fn, sha, rp))
    links = ""
    for p in sorted(projects):
        links += '    <a href="%s/">%s</a><br>\n' % (p, p)
        body = "    <h1>Links for %s</h1>\n" % p
        for fn, sha, rp in sorted(projects[p]):
            attr = ' data-requires-python="%s"' % html.escape(rp, quote=True) if rp else ""
            body += '    <a href="../../files/%s#sha256=%s"%s>%s</a><br>\n' % (fn, sha, attr, fn)
        write(os.path.join(base, "simple", p, "index.html"), page("Links for " + p, body))
    write(os.path.join(base, "simple", "index.html"), page("Simple index", links))

main = [(r[0], r[1], r[3], ">=3.8" if r[1] == "hello-flink" else None)
        for r in rows if r[4] != "tampered"]
layout(dst, main)
# the lying index: tampered bytes, the good wheel's hash in the fragment
tam = [(r[0], r[1], good_hello, ">=3.8") for r in rows if r[4] == "tampered"]
layout(os.path.join(dst, "tampered"), tam)

with open(os.path.join(dst, "wheels.tsv"), "w") as f:
    f.write("file\tname\tversion\tsha256\tkind\n")
    for r in rows:
        fn = os.path.basename(r[0])
        rel = ("tampered/files/" if r[4] == "tampered" else "files/") + fn
        f.write("\t".join([rel] + r[1:]) + "\n")
EOF
    WHEELS_INDEX_DIR=$dir
    WHEELS_INDEX_LIST=$dir/wheels.tsv
    export WHEELS_INDEX_DIR WHEELS_INDEX_LIST
}

wheels_serve() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: wheels_serve DIR [NAME]" >&2
        return 2
    fi
    local name=${2:-wheels} root port ndir
    root=$(cd "$1" && pwd) || return 1
    if [[ $root == *[\"\\\;\$\{\}]* ]]; then
        echo "wheels_serve: unsupported characters in path $root" >&2
        return 2
    fi
    port=$(harness_free_port) || return 1
    ndir=$(harness_dir "$name") || return 1
    : >"$ndir/access.log"
    nginx_start "$name" "$port" "$(cat <<CONF
    types {
        text/html html;
        application/zip whl;
        text/plain txt tsv;
    }
    log_format fixture '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent range="\$http_range"';
    access_log "$ndir/access.log" fixture;
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        location = /_ready { access_log off; return 204; }
        location / {
            root "$root";
            index index.html;
            autoindex on;
        }
    }
CONF
)" || return 1
    WHEELS_PORT=$port
    WHEELS_URL=http://127.0.0.1:$port
    WHEELS_ACCESS_LOG=$ndir/access.log
    WHEELS_NGINX_DIR=$ndir
    export WHEELS_PORT WHEELS_URL WHEELS_ACCESS_LOG WHEELS_NGINX_DIR
}
