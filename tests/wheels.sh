# shellcheck shell=bash
# shellcheck source=tests/nginx.sh
. "${TESTS_DIR:-$(dirname "${BASH_SOURCE[0]}")}/nginx.sh"
# Python wheels for tests: real, valid (and some deliberately hostile) .whl files written by
# python3's zipfile (stdlib only, no pip, no network), a PEP 503 "simple" index of them and
# an nginx server for that index; and a locked PyFlink dependency set (stand-in wheels of
# the real projects, its index, requirements.txt and pylock.toml). Source it after lib.sh:
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
#     wheels_pyflink_set "$(t_tmpdir)/pyflink"
#     wheels_serve "$WHEELS_PYFLINK_DIR" pyflink
#     wheels_pyflink_locks "$WHEELS_PYFLINK_DIR" "$WHEELS_URL" "$(t_tmpdir)/locks"
#     ls "$WHEELS_PYFLINK_LOCKS"         # requirements.txt pylock.toml bad/ ...
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
# wheels_pyflink_set DIR
#     A locked PyFlink 1.19.2 dependency set for CPython 3.11: stand-in wheels (PEP 427, the
#     same writer, layout and reproducibility as wheels_build; pure python and placeholder
#     .so files that start with an ELF magic, mode 0755) with the real projects' names,
#     versions, tags, Requires-Python, Requires-Dist and entry points, and a PEP 503 index of
#     them (the wheels_index style, plus data-yanked). Lays out in DIR (created if missing;
#     must be empty):
#       DIR/files/<file>          every wheel and sdist (reproducible tar.gz: PKG-INFO,
#                                 setup.py)
#       DIR/simple/index.html, DIR/simple/NAME/index.html
#                                 <a href="../../files/FILE#sha256=HEX"
#                                 data-requires-python="..." [data-yanked="reason"]>FILE</a>
#       DIR/pyflink.tsv           header "file name version sha256 size role kind picks
#                                 upload", tab-separated, one row per file: file relative to
#                                 DIR, name normalized (PEP 503), kind wheel|sdist, upload an
#                                 RFC 3339 time (for lock files); picks says for which
#                                 targets an installer must choose this file: letters x
#                                 (cp311, linux x86_64, glibc unknown: manylinux2014 and
#                                 older), a (the same on aarch64), g (cp311 x86_64, glibc
#                                 2.36), or "-"
#       DIR/pyflink.json          [{name, version, role, requires: [normalized names],
#                                 files: [file, ...]}] per release
#     role:
#       set         the 24 pinned releases: apache-flink 1.19.2 (cp38/cp310/cp311 x86_64,
#                   cp310/cp311 aarch64; pyflink/__init__.py, pyflink/version.py with
#                   __version__ = "1.19.2", a .data/scripts/pyflink-shell.sh),
#                   apache-flink-libraries 1.19.2 (py3-none-any, pyflink/lib/*.jar stand-ins),
#                   avro 1.11.3, certifi 2024.2.2, charset-normalizer 3.3.2 (cp310/cp311
#                   native and py3-none-any), cloudpickle 2.2.0, fastavro 1.9.4, httplib2
#                   0.22.0, idna 3.6, numpy 1.24.4 (cp310/cp311, x86_64/aarch64; numpy.libs/),
#                   pandas 2.0.3, pemja 0.4.1 (manylinux1_x86_64 and macOS only: no aarch64
#                   wheel, as in reality), protobuf 4.25.3 (cp37-abi3-manylinux2014_x86_64/
#                   aarch64, macOS universal2, py3-none-any), py4j 0.10.9.7 (a .data/data
#                   share/py4j/py4j0.10.9.7.jar), pyarrow 11.0.0 (manylinux_2_17 and
#                   manylinux_2_28, both arches), pyparsing 3.1.2, python-dateutil
#                   2.9.0.post0, pytz 2024.1, requests 2.31.0, ruamel.yaml 0.18.6 (dots in the
#                   file name, a .pth file), ruamel.yaml.clib 0.2.8 (a top-level .so), six
#                   1.16.0 (a top-level module), tzdata 2024.1, urllib3 2.2.1; most with an
#                   sdist
#       other       numpy 1.26.4, pandas 2.1.4: newer releases the index also lists
#       arm-only    orjson 3.9.15: a manylinux_2_17_aarch64 and a macOS wheel, nothing for
#                   linux x86_64
#       yanked      grpcio 1.62.1: every file data-yanked
#       glibc-2.99  zstandard 0.22.0: one cp311-cp311-manylinux_2_99_x86_64 wheel
#       sdist-only  avro-python3 1.10.2: an sdist, no wheel (as in reality)
#     Built once per cache key (WHEELS_PYFLINK_VERSION, a hash of this file, the python and
#     zlib versions) like wheels_build, and copied. Sets and exports WHEELS_PYFLINK_DIR (DIR,
#     absolute) and WHEELS_PYFLINK_LIST (DIR/pyflink.tsv).
#
# wheels_pyflink_locks SET_DIR URL OUT
#     Writes the lock files of the set in SET_DIR (a wheels_pyflink_set) as served at URL
#     (e.g. $WHEELS_URL: files at URL/files/, the index at URL/simple/) into OUT (created if
#     missing; must be empty):
#       OUT/requirements.in       apache-flink==1.19.2, pemja==0.4.1 ; platform_machine ==
#                                 "x86_64"
#       OUT/requirements.txt      the role "set" releases as `pip-compile --generate-hashes`
#                                 writes them: its header comment, sorted by name,
#                                 "name==version \" then one "    --hash=sha256:HEX" line per
#                                 file of the release (sorted; " \" on all but the last), then
#                                 "    # via NAME" or "    # via" and "    #   NAME" lines;
#                                 pemja carries ' ; platform_machine == "x86_64"'
#       OUT/pylock.toml           the same set as `uv export --format pylock.toml` writes it
#                                 (PEP 751): lock-version "1.0", created-by "uv",
#                                 requires-python ">=3.11", one [[packages]] per release with
#                                 name, version, marker (pemja: platform_machine ==
#                                 'x86_64'; ruamel-yaml-clib: python_full_version < '3.13' and
#                                 platform_python_implementation == 'CPython'), index, sdist
#                                 and wheels = [{ url, upload-time, size, hashes = { sha256 } },
#                                 ...] (one inline table a line, a trailing comma)
#       OUT/bad/CASE/requirements.txt or OUT/bad/CASE/pylock.toml, one change each:
#         req-missing-hash    six==1.16.0 without --hash lines
#         req-range           pandas>=2.0.3 (its hashes kept)
#         req-wrong-hash      pyarrow==11.0.0 with one --hash that is no file's
#         req-arm-only        + orjson==3.9.15 (its two files' hashes)
#         req-glibc           + zstandard==0.22.0
#         req-sdist-only      + avro-python3==1.10.2
#         req-yanked          + grpcio==1.62.1 (yanked: PEP 592 lets an == pin install it)
#         req-numpy-upgrade   numpy==1.26.4 (a valid set that differs from the good one)
#         lock-missing-hash   numpy's cp311 x86_64 wheel without hashes
#         lock-wrong-hash     numpy's cp311 x86_64 wheel with a sha256 that is no file's
#         lock-arm-only       + package orjson 3.9.15
#         lock-glibc          + package zstandard 0.22.0
#         lock-sdist-only     + package avro-python3 1.10.2 (an sdist, no wheels)
#       OUT/bad/cases.tsv         header "case file line entry_line requirement": file
#                                 relative to OUT, line that of the changed requirement
#                                 ("name==" line) or [[packages]] header, entry_line that
#                                 of the changed wheel (else = line), requirement
#                                 "name==version"
#     Sets and exports WHEELS_PYFLINK_LOCKS (OUT, absolute).
#
# Needs python3 (stdlib only), nginx and curl. wheels_serve needs lib.sh's harness.

WHEELS_FIXTURE_VERSION=1
WHEELS_PYFLINK_VERSION=1
_WHEELS_SH=$(readlink -f "${BASH_SOURCE[0]}")

_wheels_py() { "${PYTHON:-/usr/bin/python3}" "$@"; }

_wheels_empty_dest() { # DIR: create, must be empty; prints the absolute path
    if [[ -e $1 && -n $(ls -A "$1" 2>/dev/null) ]]; then
        echo "wheels.sh: $1 is not empty" >&2
        return 2
    fi
    mkdir -p "$1" && (cd "$1" && pwd)
}

# The PEP 427 writer both generators share (python source, read by _wheels_run).
_WHEELS_ZIP_PY=$(cat <<'EOF'
import base64, hashlib, os, stat, sys, zipfile

EPOCH = (1980, 1, 1, 0, 0, 0)
REG, EXE = stat.S_IFREG | 0o644, stat.S_IFREG | 0o755

def b64(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def wheel(path, name, version, tags, purelib, files, compression=zipfile.ZIP_DEFLATED,
          requires_python=None, extra_dist=(), raw=(), requires_dist=()):
    """files: (arcname, text, mode); extra_dist: (name in .dist-info, text);
    raw: (arcname, bytes, external_attr) written as is (hostile entries)"""
    dist = os.path.basename(path).split("-")[0]
    di = "%s-%s.dist-info" % (dist, version)
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    meta += "Summary: factory test fixture (tests/wheels.sh)\n"
    if requires_python:
        meta += "Requires-Python: %s\n" % requires_python
    meta += "".join("Requires-Dist: %s\n" % r for r in requires_dist)
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
EOF
)

_wheels_run() { # ARG... < SCRIPT: runs SCRIPT after _WHEELS_ZIP_PY
    local script
    script=$(cat) || return 1
    _wheels_py -c "$_WHEELS_ZIP_PY"$'\n'"$script" "$@"
}

# _wheels_generate OUT: writes the wheels and OUT/wheels.tsv (the cache entry's content)
_wheels_generate() {
    _wheels_run "$1" <<'EOF'
out = sys.argv[1]

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

# _wheels_cache_entry [SET]: prints the cache entry of SET (wheels, the default, or pyflink),
# building it under the lock if needed; the content is in ENTRY/wheels or ENTRY/pyflink
_wheels_cache_entry() {
    local set=${1:-wheels} root key keytext entry generator prefix
    case $set in
        wheels) generator=_wheels_generate prefix=v$WHEELS_FIXTURE_VERSION ;;
        pyflink) generator=_wheels_pyflink_generate prefix=pyflink-v$WHEELS_PYFLINK_VERSION ;;
        *) echo "wheels.sh: unknown set '$set'" >&2; return 2 ;;
    esac
    root=${TEST_CACHE:-${REPO:?REPO is not set}/build/test-cache}/wheels
    mkdir -p "$root" || return 1
    keytext=$(
        echo "wheels fixture v$WHEELS_FIXTURE_VERSION set $set"
        sha256sum <"$_WHEELS_SH"
        _wheels_py -c 'import sys, zlib; print(sys.version); print(zlib.ZLIB_RUNTIME_VERSION)'
    ) || return 1
    key=$prefix-$(printf '%s\n' "$keytext" | sha256sum | cut -c1-16)
    entry=$root/$key
    if [[ ! -f $entry/ok ]]; then
        local lockfd rc=0 work
        exec {lockfd}>"$root/.lock"
        flock "$lockfd"
        if [[ ! -f $entry/ok ]]; then
            work=$(mktemp -d "$root/.build.XXXXXX") && chmod 0755 "$work" || rc=1
            if [[ $rc -eq 0 ]]; then
                printf '%s\n' "$keytext" >"$work/key.txt"
                if "$generator" "$work/$set"; then
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

# ---------------------------------------------------------------- the PyFlink dependency set

# _wheels_pyflink_generate OUT: writes the set's files, index, OUT/pyflink.tsv and
# OUT/pyflink.json (the cache entry's content)
_wheels_pyflink_generate() {
    _wheels_run "$1" <<'EOF'
out = sys.argv[1]
import html, io, re, tarfile, gzip

def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()

X86 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
ARM = "manylinux_2_17_aarch64.manylinux2014_aarch64"
# expected choices: "x" = cp311 linux x86_64 with an unknown glibc (manylinux2014 and older),
# "a" = the same on aarch64, "g" = cp311 x86_64 on glibc 2.36
def native(py, plat, picks=""):
    return ("%s-%s-%s" % (py, py, plat), picks)

# name, version, requires-python, role, [(compressed tag set, picks)], sdist?, content, extras
# content: [(path, text, mode)]; {arch} and {py} are replaced per wheel
# extras: requires (Requires-Dist), entry (entry_points.txt), scripts [(name, text)],
#         data [(path under .data/data/, text)], yanked (reason), upload (upload-time)
P = []
def project(name, version, rp, role, wheels, sdist, content, **extras):
    P.append(dict(name=name, version=version, rp=rp, role=role, wheels=wheels, sdist=sdist,
                  content=content, **extras))

def so(path):
    return (path, None, EXE)

project("apache-flink", "1.19.2", ">=3.8", "set",
        [native("cp38", X86), native("cp310", X86), native("cp311", X86, "xg"),
         native("cp310", ARM), native("cp311", ARM, "a")], True,
        [("pyflink/__init__.py", 'import sys\n\nfrom pyflink.version import __version__\n\n'
          'if sys.version_info < (3, 8):\n    raise RuntimeError("Python versions prior to 3.8 are not supported for PyFlink")\n', REG),
         ("pyflink/version.py", '"""\nThe pyflink version will be consumed by setup.py\n"""\n__version__ = "1.19.2"\n', REG),
         ("pyflink/datastream/__init__.py", "from pyflink.datastream.stream_execution_environment import StreamExecutionEnvironment\n", REG),
         ("pyflink/datastream/stream_execution_environment.py", "class StreamExecutionEnvironment:\n    pass\n", REG),
         ("pyflink/table/__init__.py", "from pyflink.table.table_environment import TableEnvironment\n", REG),
         ("pyflink/table/table_environment.py", "class TableEnvironment:\n    pass\n", REG),
         so("pyflink/fn_execution/coder_impl_fast.cpython-{py}-{arch}-linux-gnu.so"),
         so("pyflink/fn_execution/stream_fast.cpython-{py}-{arch}-linux-gnu.so")],
        requires=["py4j ==0.10.9.7", "python-dateutil <3,>=2.8.0", "cloudpickle >=2.2.0",
                  "avro >=1.11.1", "pytz >=2018.3", "fastavro !=1.8.0,>=1.1.0",
                  "requests >=2.26.0", "protobuf >=3.19.0", "numpy >=1.22.4", "pandas >=1.3.0",
                  "pyarrow >=5.0.0", 'pemja ==0.4.1 ; platform_system != "Windows"',
                  "httplib2 >=0.19.0", "ruamel.yaml >=0.18.4",
                  "apache-flink-libraries <1.19.3,>=1.19.2"],
        scripts=[("pyflink-shell.sh", '#!/usr/bin/env bash\nexec python3 -m pyflink.shell "$@"\n')],
        upload="2025-02-12T10:31:02Z")
project("apache-flink-libraries", "1.19.2", ">=3.8", "set", [("py3-none-any", "xag")], True,
        [("pyflink/lib/flink-dist-1.19.2.jar", "stand-in for flink-dist-1.19.2.jar\n", REG),
         ("pyflink/lib/flink-table-runtime-1.19.2.jar", "stand-in for flink-table-runtime-1.19.2.jar\n", REG),
         ("pyflink/opt/flink-python-1.19.2.jar", "stand-in for flink-python-1.19.2.jar\n", REG),
         ("pyflink/conf/config.yaml", "jobmanager.rpc.address: localhost\n", REG),
         ("pyflink/bin/flink", "#!/usr/bin/env bash\necho flink 1.19.2\n", EXE)],
        upload="2025-02-12T10:29:45Z")
project("avro", "1.11.3", ">=3.6", "set", [("py2.py3-none-any", "xag")], True,
        [("avro/__init__.py", "__all__ = ['schema', 'io', 'datafile']\n", REG),
         ("avro/schema.py", "def parse(json_string):\n    return json_string\n", REG),
         ("avro/__main__.py", "def main():\n    return 0\n", REG),
         ("avro/VERSION.txt", "1.11.3\n", REG)],
        entry="[console_scripts]\navro = avro.__main__:main\n", upload="2023-09-25T07:50:29Z")
project("certifi", "2024.2.2", ">=3.6", "set", [("py3-none-any", "xag")], True,
        [("certifi/__init__.py", 'from .core import contents, where\n\n__version__ = "2024.02.02"\n', REG),
         ("certifi/core.py", "def where():\n    return __file__\n\ndef contents():\n    return ''\n", REG),
         ("certifi/cacert.pem", "# stand-in for the Mozilla CA bundle\n", REG),
         ("certifi/py.typed", "", REG)],
        upload="2024-02-02T01:22:14Z")
project("charset-normalizer", "3.3.2", ">=3.7.0", "set",
        [native("cp310", X86), native("cp311", X86, "xg"), native("cp311", ARM, "a"),
         ("py3-none-any", "")], True,
        [("charset_normalizer/__init__.py", "from .api import from_bytes\n", REG),
         ("charset_normalizer/api.py", "def from_bytes(sequences):\n    return []\n", REG),
         ("charset_normalizer/version.py", '__version__ = "3.3.2"\n', REG),
         so("charset_normalizer/md.cpython-{py}-{arch}-linux-gnu.so")],
        entry="[console_scripts]\nnormalizer = charset_normalizer.cli:cli_detect\n",
        upload="2023-10-31T13:59:42Z")
project("cloudpickle", "2.2.0", ">=3.6", "set", [("py3-none-any", "xag")], True,
        [("cloudpickle/__init__.py", 'from cloudpickle.cloudpickle import *\n\n__version__ = "2.2.0"\n', REG),
         ("cloudpickle/cloudpickle.py", "def dumps(obj, protocol=None):\n    raise NotImplementedError\n", REG)],
        upload="2022-09-06T14:42:18Z")
project("fastavro", "1.9.4", ">=3.8", "set",
        [native("cp311", X86, "xg"), native("cp311", ARM, "a")], True,
        [("fastavro/__init__.py", '__version_info__ = (1, 9, 4)\n__version__ = "1.9.4"\n', REG),
         so("fastavro/_read.cpython-{py}-{arch}-linux-gnu.so"),
         so("fastavro/_write.cpython-{py}-{arch}-linux-gnu.so")],
        entry="[console_scripts]\nfastavro = fastavro.__main__:main\n", upload="2024-02-09T21:12:37Z")
project("httplib2", "0.22.0", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "set",
        [("py3-none-any", "xag")], True,
        [("httplib2/__init__.py", '__version__ = "0.22.0"\n', REG),
         ("httplib2/cacerts.txt", "# stand-in CA list\n", REG)],
        requires=["pyparsing !=3.0.0,!=3.0.1,!=3.0.2,!=3.0.3,<4,>=2.4.2 ; python_version > \"3.0\""],
        upload="2023-03-21T22:29:37Z")
project("idna", "3.6", ">=3.5", "set", [("py3-none-any", "xag")], True,
        [("idna/__init__.py", "from .core import encode, decode\n", REG),
         ("idna/core.py", "def encode(s):\n    return s\n\ndef decode(s):\n    return s\n", REG)],
        upload="2023-11-25T15:40:52Z")
project("numpy", "1.24.4", ">=3.8", "set",
        [native("cp310", X86), native("cp311", X86, "xg"), native("cp310", ARM),
         native("cp311", ARM, "a")], True,
        [("numpy/__init__.py", "from .version import version as __version__\n", REG),
         ("numpy/version.py", 'version = "1.24.4"\n__version__ = version\n', REG),
         so("numpy/core/_multiarray_umath.cpython-{py}-{arch}-linux-gnu.so"),
         so("numpy.libs/libopenblas64_p-r0-15028c96.3.21.so"),
         ("numpy/f2py/__init__.py", "", REG),
         ("numpy/f2py/f2py2e.py", "def main():\n    return 0\n", REG)],
        entry="[console_scripts]\nf2py = numpy.f2py.f2py2e:main\nf2py3 = numpy.f2py.f2py2e:main\n"
              "f2py3.11 = numpy.f2py.f2py2e:main\n", upload="2023-06-26T13:32:26Z")
project("numpy", "1.26.4", ">=3.9", "other",
        [native("cp311", X86), native("cp311", ARM)], False,
        [("numpy/__init__.py", 'raise ImportError("not the pinned numpy")\n', REG)],
        upload="2024-02-05T23:48:01Z")
project("pandas", "2.0.3", ">=3.8", "set",
        [native("cp311", X86, "xg"), native("cp311", ARM, "a")], True,
        [("pandas/__init__.py", "from pandas._version import __version__\n", REG),
         ("pandas/_version.py", '__version__ = "2.0.3"\n', REG),
         so("pandas/_libs/lib.cpython-{py}-{arch}-linux-gnu.so"),
         ("pandas/io/__init__.py", "", REG)],
        requires=['numpy >=1.23.2 ; python_version >= "3.11"', "python-dateutil >=2.8.2",
                  "pytz >=2020.1", "tzdata >=2022.1"],
        upload="2023-06-28T23:16:47Z")
project("pandas", "2.1.4", ">=3.9", "other", [native("cp311", X86), native("cp311", ARM)], False,
        [("pandas/__init__.py", 'raise ImportError("not the pinned pandas")\n', REG)],
        upload="2023-12-08T15:26:52Z")
project("pemja", "0.4.1", ">=3.8", "set",
        [("cp38-cp38-manylinux1_x86_64", ""), ("cp311-cp311-manylinux1_x86_64", "xg"),
         ("cp311-cp311-macosx_10_9_x86_64", "")], True,
        [("pemja/__init__.py", "from pemja._pemja import findClass\n", REG),
         so("pemja/_pemja.cpython-{py}-{arch}-linux-gnu.so")],
        upload="2023-11-16T03:27:09Z")
project("protobuf", "4.25.3", ">=3.8", "set",
        [("cp37-abi3-manylinux2014_x86_64", "xg"), ("cp37-abi3-manylinux2014_aarch64", "a"),
         ("cp37-abi3-macosx_10_9_universal2", ""), ("py3-none-any", "")], True,
        [("google/protobuf/__init__.py", "__version__ = '4.25.3'\n", REG),
         ("google/protobuf/message.py", "class Message:\n    pass\n", REG),
         so("google/_upb/_message.abi3.so")],
        upload="2024-02-15T21:45:22Z")
project("py4j", "0.10.9.7", None, "set", [("py2.py3-none-any", "xag")], True,
        [("py4j/__init__.py", "from py4j.version import __version__\n", REG),
         ("py4j/version.py", "__version__ = '0.10.9.7'\n", REG),
         ("py4j/java_gateway.py", "class JavaGateway:\n    pass\n", REG)],
        data=[("share/py4j/py4j0.10.9.7.jar", "stand-in for py4j0.10.9.7.jar\n")],
        upload="2022-08-12T22:49:07Z")
project("pyarrow", "11.0.0", ">=3.7", "set",
        [native("cp311", X86, "x"), native("cp311", "manylinux_2_28_x86_64", "g"),
         native("cp311", ARM, "a"), native("cp311", "manylinux_2_28_aarch64", "")], True,
        [("pyarrow/__init__.py", "from pyarrow._generated_version import version as __version__\n", REG),
         ("pyarrow/_generated_version.py", "version = '11.0.0'\n", REG),
         so("pyarrow/lib.cpython-{py}-{arch}-linux-gnu.so"),
         so("pyarrow/libarrow.so.1100")],
        requires=["numpy >=1.16.6"], upload="2023-01-26T07:55:47Z")
project("pyparsing", "3.1.2", ">=3.6.8", "set", [("py3-none-any", "xag")], True,
        [("pyparsing/__init__.py", '__version__ = "3.1.2"\n', REG)], upload="2024-03-06T06:49:27Z")
project("python-dateutil", "2.9.0.post0", "!=3.0.*,!=3.1.*,!=3.2.*,>=2.7", "set",
        [("py2.py3-none-any", "xag")], True,
        [("dateutil/__init__.py", "__all__ = ['easter', 'parser', 'relativedelta', 'rrule', 'tz']\n", REG),
         ("dateutil/_version.py", "__version__ = version = '2.9.0.post0'\n", REG),
         ("dateutil/zoneinfo/dateutil-zoneinfo.tar.gz", "stand-in zoneinfo tarball\n", REG)],
        requires=["six >=1.5"], upload="2024-03-01T18:36:18Z")
project("pytz", "2024.1", None, "set", [("py2.py3-none-any", "xag")], True,
        [("pytz/__init__.py", "__version__ = '2024.1'\n", REG),
         ("pytz/zoneinfo/UTC", "TZif2 stand-in\n", REG),
         ("pytz/zoneinfo/Europe/Berlin", "TZif2 stand-in\n", REG)],
        upload="2024-02-02T01:18:37Z")
project("requests", "2.31.0", ">=3.7", "set", [("py3-none-any", "xag")], True,
        [("requests/__init__.py", "from .__version__ import __version__\n", REG),
         ("requests/__version__.py", '__version__ = "2.31.0"\n', REG)],
        requires=["charset-normalizer <4,>=2", "idna <4,>=2.5", "urllib3 <3,>=1.21.1",
                  "certifi >=2017.4.17"],
        upload="2023-05-22T15:12:42Z")
project("ruamel.yaml", "0.18.6", ">=3.7", "set", [("py3-none-any", "xag")], True,
        [("ruamel/yaml/__init__.py", "version_info = (0, 18, 6)\n__version__ = '0.18.6'\n", REG),
         ("ruamel.yaml-0.18.6-py3.11-nspkg.pth", "import sys, types, os\n", REG)],
        requires=['ruamel.yaml.clib >=0.2.7 ; platform_python_implementation == "CPython" and python_version < "3.13"'],
        upload="2024-02-07T06:47:14Z")
project("ruamel.yaml.clib", "0.2.8", ">=3.6", "set",
        [native("cp311", X86, "xg"), native("cp311", ARM, "a")], True,
        [("_ruamel_yaml.cpython-{py}-{arch}-linux-gnu.so", None, EXE),
         ("ruamel/yaml/clib/__init__.py", "", REG)],
        upload="2023-10-02T20:50:40Z")
project("six", "1.16.0", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*", "set", [("py2.py3-none-any", "xag")], True,
        [("six.py", '"""Utilities for writing code that runs on Python 2 and 3"""\n__version__ = "1.16.0"\n', REG)],
        upload="2021-05-05T14:18:17Z")
project("tzdata", "2024.1", ">=2", "set", [("py2.py3-none-any", "xag")], True,
        [("tzdata/__init__.py", 'IANA_VERSION = "2024a"\n', REG),
         ("tzdata/zoneinfo/UTC", "TZif2 stand-in\n", REG)],
        upload="2024-01-19T13:14:29Z")
project("urllib3", "2.2.1", ">=3.8", "set", [("py3-none-any", "xag")], True,
        [("urllib3/__init__.py", "from ._version import __version__\n", REG),
         ("urllib3/_version.py", '__version__ = "2.2.1"\n', REG)],
        upload="2024-02-18T19:26:54Z")
# releases no installer can use on the targets of the tests
project("avro-python3", "1.10.2", ">=3.5", "sdist-only", [], True, [],
        upload="2021-03-17T09:44:22Z")
project("orjson", "3.9.15", ">=3.8", "arm-only",
        [native("cp311", ARM, "a"),
         ("cp311-cp311-macosx_10_15_x86_64.macosx_11_0_arm64.macosx_10_15_universal2", "")], False,
        [so("orjson/orjson.cpython-{py}-{arch}-linux-gnu.so"), ("orjson/__init__.py", "", REG)],
        upload="2024-02-23T18:40:51Z")
project("grpcio", "1.62.1", ">=3.7", "yanked",
        [native("cp311", X86, "xg"), native("cp311", ARM, "a")], True,
        [("grpc/__init__.py", "__version__ = '1.62.1'\n", REG),
         so("grpc/_cython/cygrpc.cpython-{py}-{arch}-linux-gnu.so")],
        yanked="regression in the manylinux wheels, use 1.62.2", upload="2024-03-08T20:26:12Z")
project("zstandard", "0.22.0", ">=3.8", "glibc-2.99",
        [native("cp311", "manylinux_2_99_x86_64", "")], False,
        [("zstandard/__init__.py", "__version__ = '0.22.0'\n", REG),
         so("zstandard/backend_c.cpython-{py}-{arch}-linux-gnu.so")],
        upload="2023-11-01T22:14:03Z")

def dist_name(name):  # the file-name form of the projects above, as their real files spell it
    return name if "." in name else name.replace("-", "_")

def elf(arch, path):
    # a stand-in shared object: an ELF magic, then text (never loaded)
    return b"\x7fELF\x02\x01\x01" + b"\0" * 9 + ("stand-in %s for %s\n" % (path, arch)).encode()

rows = []
for p in P:
    dist = dist_name(p["name"])
    for tagset, picks in p["wheels"]:
        py, abi, plat = tagset.split("-")
        tags = ["%s-%s-%s" % (a, b, c) for a in py.split(".") for b in abi.split(".")
                for c in plat.split(".")]
        purelib = plat == "any"
        arch = ("aarch64" if "aarch64" in plat else "x86_64" if "x86_64" in plat
                else "universal2" if "universal2" in plat else "any")
        cp = py[2:] if py.startswith("cp") and abi != "abi3" else "311"
        files, raw = [], []
        for path, text, mode in p["content"]:
            path = path.format(arch=arch, py=cp)
            if text is None:
                raw.append((path, elf(arch, path), mode << 16))
            else:
                files.append((path, text, mode))
        for sname, text in p.get("scripts", ()):
            files.append(("%s-%s.data/scripts/%s" % (dist, p["version"], sname), text, EXE))
        for dpath, text in p.get("data", ()):
            files.append(("%s-%s.data/data/%s" % (dist, p["version"], dpath), text, REG))
        tops = {f[0].split("/")[0] for f in files + raw if ".data/" not in f[0]}
        tops = {t.split(".cpython-")[0].replace(".py", "") for t in tops
                if not t.endswith((".pth", ".libs"))}
        extra = [("top_level.txt", "".join(t + "\n" for t in sorted(tops)))]
        if p.get("entry"):
            extra.append(("entry_points.txt", p["entry"]))
        fn = "%s-%s-%s.whl" % (dist, p["version"], tagset)
        rel = "files/" + fn
        wheel(os.path.join(out, rel), p["name"], p["version"], tags, purelib, files,
              requires_python=p["rp"], extra_dist=extra, raw=raw, requires_dist=p.get("requires", ()))
        rows.append([rel, p, "wheel", picks or "-"])
    if p["sdist"]:
        base = "%s-%s" % (p["name"], p["version"])
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for n, text in sorted([
                    ("PKG-INFO", "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (p["name"], p["version"])),
                    ("setup.py", "from setuptools import setup\nsetup()\n")]):
                data = text.encode()
                ti = tarfile.TarInfo("%s/%s" % (base, n))
                ti.size, ti.mtime, ti.mode, ti.uname, ti.gname = len(data), 315532800, 0o644, "", ""
                t.addfile(ti, io.BytesIO(data))
        rel = "files/%s.tar.gz" % base
        os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
        with open(os.path.join(out, rel), "wb") as f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=6) as g:
                g.write(buf.getvalue())
        rows.append([rel, p, "sdist", "-"])

def page(title, body):
    return ("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" "
            "content=\"1.1\">\n    <title>%s</title>\n  </head>\n  <body>\n%s  </body>\n</html>\n"
            % (html.escape(title), body))

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

tsv = []
projects = {}
for rel, p, kind, picks in rows:
    with open(os.path.join(out, rel), "rb") as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    projects.setdefault(norm(p["name"]), []).append((os.path.basename(rel), sha, p))
    tsv.append([rel, norm(p["name"]), p["version"], sha, str(len(data)), p["role"], kind, picks,
                p["upload"]])
links = ""
for name in sorted(projects):
    links += '    <a href="%s/">%s</a><br>\n' % (name, name)
    body = "    <h1>Links for %s</h1>\n" % name
    for fn, sha, p in sorted(projects[name], key=lambda x: x[0]):
        attr = ""
        if p["rp"]:
            attr += ' data-requires-python="%s"' % html.escape(p["rp"], quote=True)
        if p.get("yanked"):
            attr += ' data-yanked="%s"' % html.escape(p["yanked"], quote=True)
        body += '    <a href="../../files/%s#sha256=%s"%s>%s</a><br>\n' % (fn, sha, attr, fn)
    write(os.path.join(out, "simple", name, "index.html"), page("Links for " + name, body))
write(os.path.join(out, "simple", "index.html"), page("Simple index", links))
import json
meta = []
for p in P:
    meta.append({"name": norm(p["name"]), "version": p["version"], "role": p["role"],
                 "requires": sorted({norm(re.split(r"[ ;<>=!\[]", r)[0]) for r in p.get("requires", ())}),
                 "files": [r[0] for r in tsv if r[1] == norm(p["name"]) and r[2] == p["version"]]})
with open(os.path.join(out, "pyflink.json"), "w") as f:
    json.dump(meta, f, indent=1, sort_keys=True)
    f.write("\n")
with open(os.path.join(out, "pyflink.tsv"), "w") as f:
    f.write("file\tname\tversion\tsha256\tsize\trole\tkind\tpicks\tupload\n")
    for r in tsv:
        f.write("\t".join(r) + "\n")
EOF
}

wheels_pyflink_set() {
    if [[ $# -ne 1 ]]; then
        echo "usage: wheels_pyflink_set DIR" >&2
        return 2
    fi
    local dir entry
    dir=$(_wheels_empty_dest "$1") || return
    entry=$(_wheels_cache_entry pyflink) || return 1
    cp -a -- "$entry/pyflink/." "$dir/" || return 1
    WHEELS_PYFLINK_DIR=$dir
    WHEELS_PYFLINK_LIST=$dir/pyflink.tsv
    export WHEELS_PYFLINK_DIR WHEELS_PYFLINK_LIST
}

wheels_pyflink_locks() {
    if [[ $# -ne 3 ]]; then
        echo "usage: wheels_pyflink_locks SET_DIR URL OUT" >&2
        return 2
    fi
    local out
    [[ -f $1/pyflink.json ]] || { echo "wheels_pyflink_locks: $1 is not a wheels_pyflink_set" >&2; return 2; }
    out=$(_wheels_empty_dest "$3") || return
    _wheels_py - "$1" "$2" "$out" <<'EOF' || return 1
import hashlib, json, os, sys
src, url, out = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]

with open(os.path.join(src, "pyflink.json")) as f:
    projects = json.load(f)
files = {}
with open(os.path.join(src, "pyflink.tsv")) as f:
    head = f.readline().rstrip("\n").split("\t")
    for line in f:
        r = dict(zip(head, line.rstrip("\n").split("\t")))
        files[r["file"]] = r

def release(name, role=None):
    (p,) = [p for p in projects if p["name"] == name and (role is None or p["role"] == role)]
    return p

pinned = sorted((p for p in projects if p["role"] == "set"), key=lambda p: p["name"])
via = {p["name"]: [] for p in pinned}
for p in pinned:
    for d in p["requires"]:
        via[d].append(p["name"])
TOP_IN = {"apache-flink": "", "pemja": ' ; platform_machine == "x86_64"'}
for n in TOP_IN:
    via[n].insert(0, "-r requirements.in")
REQ_MARKER = {"pemja": 'platform_machine == "x86_64"'}
LOCK_MARKER = {"pemja": "platform_machine == 'x86_64'",
               "ruamel-yaml-clib": "python_full_version < '3.13' and platform_python_implementation == 'CPython'"}
WRONG = hashlib.sha256(b"not the bytes of any file\n").hexdigest()

def hashes(p):
    return sorted(files[f]["sha256"] for f in p["files"])

def write(rel, text):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

# ---- requirements.txt, as pip-compile --generate-hashes writes it
REQ_HEAD = """#
# This file is autogenerated by pip-compile with Python 3.11
# by the following command:
#
#    pip-compile --generate-hashes --output-file=requirements.txt requirements.in
#
"""
def requirements(entries):
    """entries: (name, spec, marker, hashes, via); returns the text and {name: line}"""
    lines, where = REQ_HEAD.splitlines(), {}
    for name, spec, marker, hs, vias in sorted(entries, key=lambda e: e[0]):
        where[name] = len(lines) + 1
        first = name + spec + (" ; " + marker if marker else "")
        if hs:
            lines.append(first + " \\")
            lines += ["    --hash=sha256:%s%s" % (h, " \\" if i < len(hs) - 1 else "")
                      for i, h in enumerate(hs)]
        else:
            lines.append(first)
        if len(vias) == 1:
            lines.append("    # via " + vias[0])
        elif vias:
            lines.append("    # via")
            lines += ["    #   " + v for v in vias]
    return "\n".join(lines) + "\n", where

def req_entries():
    return [(p["name"], "==" + p["version"], REQ_MARKER.get(p["name"]), hashes(p), via[p["name"]])
            for p in pinned]

cases = []
def req_case(case, edit, target):
    es = edit(req_entries())
    text, where = requirements(es)
    rel = "bad/%s/requirements.txt" % case
    write(rel, text)
    line = where[target[0]]
    cases.append((case, rel, line, line, "%s==%s" % target))

def replace(name, **kw):
    def edit(es):
        out_ = []
        for e in es:
            if e[0] == name:
                e = (e[0], kw.get("spec", e[1]), e[2], kw.get("hashes", e[3]), e[4])
            out_.append(e)
        return out_
    return edit

def add(name, role):
    def edit(es):
        p = [q for q in projects if q["name"] == name and q["role"] == role][0]
        return es + [(name, "==" + p["version"], None, hashes(p), ["-r requirements.in"])]
    return edit

text, _ = requirements(req_entries())
write("requirements.txt", text)
write("requirements.in", "".join("%s==%s%s\n" % (n, release(n, "set")["version"], m)
                                 for n, m in TOP_IN.items()))
req_case("req-missing-hash", replace("six", hashes=[]), ("six", "1.16.0"))
req_case("req-range", replace("pandas", spec=">=2.0.3"), ("pandas", "2.0.3"))
req_case("req-wrong-hash", replace("pyarrow", hashes=[WRONG]), ("pyarrow", "11.0.0"))
req_case("req-arm-only", add("orjson", "arm-only"), ("orjson", "3.9.15"))
req_case("req-glibc", add("zstandard", "glibc-2.99"), ("zstandard", "0.22.0"))
req_case("req-sdist-only", add("avro-python3", "sdist-only"), ("avro-python3", "1.10.2"))
req_case("req-yanked", add("grpcio", "yanked"), ("grpcio", "1.62.1"))
def upgrade(es):
    p = release("numpy", "other")
    return [(e[0], "==" + p["version"], e[2], hashes(p), e[4]) if e[0] == "numpy" else e for e in es]
req_case("req-numpy-upgrade", upgrade, ("numpy", "1.26.4"))

# ---- pylock.toml, as uv writes it (uv export --format pylock.toml)
LOCK_HEAD = """# This file was autogenerated by uv via the following command:
#    uv export --format pylock.toml -o pylock.toml
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.11"
"""
def artifact(rel, sha=None, drop_hashes=False):
    r = files[rel]
    s = '{ url = "%s/%s", upload-time = %s, size = %s' % (url, rel, r["upload"], r["size"])
    if not drop_hashes:
        s += ', hashes = { sha256 = "%s" }' % (sha or r["sha256"])
    return s + " }"

def pylock(pkgs, edits=None):
    """pkgs: project dicts; edits: {file: dict(sha=..., drop_hashes=...)}; returns the text,
    {name: line of its [[packages]]} and {file: line of its wheel}"""
    edits = edits or {}
    lines, where, wline = LOCK_HEAD.splitlines(), {}, {}
    for p in sorted(pkgs, key=lambda p: p["name"]):
        lines.append("")
        lines.append("[[packages]]")
        where[p["name"]] = len(lines)
        lines.append('name = "%s"' % p["name"])
        lines.append('version = "%s"' % p["version"])
        if p["name"] in LOCK_MARKER:
            lines.append('marker = "%s"' % LOCK_MARKER[p["name"]])
        lines.append('index = "%s/simple"' % url)
        sdists = [f for f in p["files"] if files[f]["kind"] == "sdist"]
        wheels = [f for f in p["files"] if files[f]["kind"] == "wheel"]
        for f in sdists:
            lines.append("sdist = " + artifact(f, **edits.get(f, {})))
        if wheels:
            lines.append("wheels = [")
            for f in wheels:
                wline[f] = len(lines) + 1
                lines.append("    " + artifact(f, **edits.get(f, {})) + ",")
            lines.append("]")
    return "\n".join(lines) + "\n", where, wline

text, _, _ = pylock(pinned)
write("pylock.toml", text)
NUMPY_X86 = "files/numpy-1.24.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
def lock_case(case, pkgs, target, edits=None, entry_file=None):
    text, where, wline = pylock(pkgs, edits)
    rel = "bad/%s/pylock.toml" % case
    write(rel, text)
    line = where[target[0]]
    cases.append((case, rel, line, wline[entry_file] if entry_file else line, "%s==%s" % target))
lock_case("lock-missing-hash", pinned, ("numpy", "1.24.4"), {NUMPY_X86: dict(drop_hashes=True)},
          NUMPY_X86)
lock_case("lock-wrong-hash", pinned, ("numpy", "1.24.4"), {NUMPY_X86: dict(sha=WRONG)}, NUMPY_X86)
lock_case("lock-arm-only", pinned + [release("orjson")], ("orjson", "3.9.15"))
lock_case("lock-glibc", pinned + [release("zstandard")], ("zstandard", "0.22.0"))
lock_case("lock-sdist-only", pinned + [release("avro-python3")], ("avro-python3", "1.10.2"))

with open(os.path.join(out, "bad", "cases.tsv"), "w") as f:
    f.write("case\tfile\tline\tentry_line\trequirement\n")
    for c in cases:
        f.write("\t".join(map(str, c)) + "\n")
EOF
    WHEELS_PYFLINK_LOCKS=$out
    export WHEELS_PYFLINK_LOCKS
}
