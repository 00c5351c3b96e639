#!/usr/bin/env bash
# Self-test of tests/wheels.sh: wheels written by python3's zipfile, checked with
# `python3 -m zipfile -t`, their RECORDs and (where the system python has pip) a real
# `pip install --target`; the PEP 503 index parsed with html.parser and served by nginx.
# shellcheck disable=SC2016  # bash -c / python snippets get their values as arguments
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
# shellcheck source=tests/wheels.sh
. "$TESTS_DIR/wheels.sh"

tmp=$(t_tmpdir)
w=$tmp/wheels
hello=hello_flink-1.0.0-py3-none-any.whl
tiny=tiny_native-2.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl

# ---------------------------------------------------------------- building

if ! wheels_build "$w"; then
    t_fail "build: wheels_build" "see the log"
    exit 1
fi
t_ok "build: wheels_build"
t_check "build: variables set" test "$WHEELS_DIR" = "$w" -a "$WHEELS_LIST" = "$w/wheels.tsv" \
    -a -f "$WHEELS_LIST"
cat "$WHEELS_LIST" >&2

# tsv_files KIND...: the files (relative to $w) of the given kinds
tsv_files() {
    local k
    for k in "$@"; do
        awk -F'\t' -v k="$k" 'NR > 1 && $5 == k { print $1 }' "$WHEELS_LIST"
    done
}
mapfile -t good < <(tsv_files good)
mapfile -t all < <(awk -F'\t' 'NR > 1 { print $1 }' "$WHEELS_LIST")

tsv_ok() {
    [[ $(head -n 1 "$WHEELS_LIST") == $'file\tname\tversion\tsha256\tkind' ]] || return 1
    local expect
    expect=$(
        cat <<EOF
$hello	hello-flink	1.0.0	good
$tiny	tiny_native	2.1	good
wrong_py-1.0-cp39-cp39-manylinux2014_x86_64.whl	wrong_py	1.0	incompatible
arm_only-1.0-cp311-cp311-manylinux2014_aarch64.whl	arm_only	1.0	incompatible
evil_dotdot-1.0-py3-none-any.whl	evil-dotdot	1.0	malicious
evil_abs-1.0-py3-none-any.whl	evil-abs	1.0	malicious
evil_link-1.0-py3-none-any.whl	evil-link	1.0	malicious
evil_data-1.0-py3-none-any.whl	evil-data	1.0	malicious
evil_device-1.0-py3-none-any.whl	evil-device	1.0	malicious
tampered/$hello	hello-flink	1.0.0	tampered
EOF
    )
    diff <(awk -F'\t' 'NR > 1 { print $1 "\t" $2 "\t" $3 "\t" $5 }' "$WHEELS_LIST") - <<<"$expect" ||
        return 1
    local f sha
    while IFS=$'\t' read -r f _ _ sha _; do
        [[ $f == file ]] && continue
        [[ $(sha256sum <"$w/$f" | cut -c1-64) == "$sha" ]] || { echo "sha256 of $f"; return 1; }
    done <"$WHEELS_LIST"
    # exactly the listed files, nothing else
    diff <(cd "$w" && find . -type f ! -name wheels.tsv | sed 's|^\./||' | LC_ALL=C sort) \
        <(printf '%s\n' "${all[@]}" | LC_ALL=C sort)
}
t_check "build: wheels.tsv lists every wheel with its sha256" tsv_ok

for f in "${good[@]}" "tampered/$hello" $(tsv_files incompatible); do
    t_check "zip: python3 -m zipfile -t $f" "$PYTHON" -m zipfile -t "$w/$f"
done

# Structure of every wheel (malicious ones included: they are valid but for one entry).
# Prints "OK" lines; exits non-zero with a message on the first problem.
check_wheels() {
    "$PYTHON" - "$WHEELS_LIST" "$w" <<'EOF'
import base64, csv, hashlib, os, re, stat, sys, zipfile

tsv, base = sys.argv[1], sys.argv[2]
rows = list(csv.reader(open(tsv), delimiter="\t"))[1:]
fn_re = re.compile(r"^(?P<dist>[A-Za-z0-9_.]+)-(?P<ver>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-"
                   r"(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")
def fail(msg):
    sys.exit("FAIL: " + msg)
def parse_headers(text):
    h = {}
    for line in text.splitlines():
        if not line:
            break
        k, _, v = line.partition(": ")
        h.setdefault(k, []).append(v)
    return h
for rel, name, version, sha, kind in rows:
    m = fn_re.match(os.path.basename(rel))
    if not m:
        fail("%s: not a PEP 427 file name" % rel)
    di = "%s-%s.dist-info/" % (m["dist"], m["ver"])
    if m["ver"] != version:
        fail("%s: version %s in the name" % (rel, m["ver"]))
    z = zipfile.ZipFile(os.path.join(base, rel))
    infos = z.infolist()
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        fail("%s: duplicate entries" % rel)
    if names[-1] != di + "RECORD":
        fail("%s: RECORD is not the last entry" % rel)
    body = [n for n in names if not n.startswith(di)]
    dist = [n for n in names[:-1] if n.startswith(di)]
    if names[:-1] != sorted(body) + sorted(dist):
        fail("%s: entries not in the documented order: %r" % (rel, names))
    for i in infos:
        if i.date_time != (1980, 1, 1, 0, 0, 0) or i.create_system != 3:
            fail("%s: %s has date %r / system %d" % (rel, i.filename, i.date_time, i.create_system))
    meta = parse_headers(z.read(di + "METADATA").decode())
    if meta.get("Metadata-Version") != ["2.1"] or meta.get("Name") != [name] \
            or meta.get("Version") != [version]:
        fail("%s: METADATA %r" % (rel, meta))
    wh = parse_headers(z.read(di + "WHEEL").decode())
    tags = {"%s-%s-%s" % (py, abi, plat) for py in m["py"].split(".")
            for abi in m["abi"].split(".") for plat in m["plat"].split(".")}
    if wh.get("Wheel-Version") != ["1.0"] or set(wh.get("Tag", [])) != tags \
            or wh.get("Root-Is-Purelib") not in (["true"], ["false"]):
        fail("%s: WHEEL %r (tags from the name: %r)" % (rel, wh, sorted(tags)))
    record = list(csv.reader(z.read(di + "RECORD").decode().splitlines()))
    listed = {}
    for r in record:
        if len(r) != 3:
            fail("%s: RECORD row %r" % (rel, r))
        listed[r[0]] = r
    if set(listed) != set(names):
        fail("%s: RECORD lists %r, the zip has %r" % (rel, sorted(listed), sorted(names)))
    if listed[di + "RECORD"][1:] != ["", ""]:
        fail("%s: RECORD's own row %r" % (rel, listed[di + "RECORD"]))
    for n in names[:-1]:
        data = z.read(n)
        h = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if listed[n][1] != h or listed[n][2] != str(len(data)):
            fail("%s: RECORD row of %s is %r, content has %s,%d" % (rel, n, listed[n], h, len(data)))
    if z.testzip() is not None:
        fail("%s: CRC error" % rel)
    print("OK %s (%s, %d entries, Root-Is-Purelib %s)" % (rel, kind, len(names),
                                                       wh["Root-Is-Purelib"][0]))
EOF
}
t_check "wheels: names, order, timestamps, METADATA, WHEEL tags, RECORD hashes+sizes" check_wheels

# pyzip WHEEL EXPR: evaluates EXPR with z = ZipFile(WHEEL), i = {name: ZipInfo}, r = z.read;
# succeeds iff the value is true (prints it)
pyzip() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import stat, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
i = {x.filename: x for x in z.infolist()}
v = eval("(%s)" % sys.argv[2], {"z": z, "i": i, "r": lambda n: z.read(n).decode(), "stat": stat,
                                "zipfile": zipfile})
print(repr(v))
sys.exit(0 if v else 1)
EOF
}
d=hello_flink-1.0.0
t_check "hello_flink: package, data file, console script, #!python script, data file" pyzip "$w/$hello" "
r('hello_flink/__init__.py') == 'def main(): print(\"hello\")\n'
and 'hello_flink/data.txt' in i
and r('$d.dist-info/entry_points.txt') == '[console_scripts]\nhello-flink = hello_flink:main\n'
and r('$d.data/scripts/hello-raw').startswith('#!python\n')
and i['$d.data/scripts/hello-raw'].external_attr >> 16 == 0o100755
and '$d.data/data/share/hello/readme.txt' in i
and 'Root-Is-Purelib: true\n' in r('$d.dist-info/WHEEL')
and 'Tag: py3-none-any\n' in r('$d.dist-info/WHEEL')
and 'Requires-Python: >=3.8\n' in r('$d.dist-info/METADATA')
and all(x.compress_type == zipfile.ZIP_DEFLATED for x in i.values())"
t_check "tiny_native: platlib only, Root-Is-Purelib false, stored" pyzip "$w/$tiny" "
sorted(i) == ['tiny_native-2.1.data/platlib/tiny_native/__init__.py',
              'tiny_native-2.1.dist-info/METADATA', 'tiny_native-2.1.dist-info/RECORD',
              'tiny_native-2.1.dist-info/WHEEL']
and 'Root-Is-Purelib: false\n' in r('tiny_native-2.1.dist-info/WHEEL')
and all(x.compress_type == zipfile.ZIP_STORED for x in i.values())"
t_check "malicious: evil_dotdot has ../../etc/evil" pyzip "$w/evil_dotdot-1.0-py3-none-any.whl" \
    "'../../etc/evil' in i"
t_check "malicious: evil_abs has /etc/evil" pyzip "$w/evil_abs-1.0-py3-none-any.whl" "'/etc/evil' in i"
t_check "malicious: evil_link/x is a symlink to ../../../../etc/passwd" \
    pyzip "$w/evil_link-1.0-py3-none-any.whl" "
stat.S_ISLNK(i['evil_link/x'].external_attr >> 16) and r('evil_link/x') == '../../../../etc/passwd'"
t_check "malicious: evil_data has a .data/scripts/../ path" pyzip "$w/evil_data-1.0-py3-none-any.whl" \
    "'evil_data-1.0.data/scripts/../../../../etc/evil' in i"
t_check "malicious: evil_device/null is a character device" \
    pyzip "$w/evil_device-1.0-py3-none-any.whl" "
i['evil_device/null'].external_attr >> 16 == 0o020644 and stat.S_ISCHR(i['evil_device/null'].external_attr >> 16)"
t_check "tampered: same name, other bytes, prints tampered" bash -c '
    ! cmp -s "$1/$2" "$1/tampered/$2" &&
    unzip -p "$1/tampered/$2" hello_flink/__init__.py | grep -qx "def main(): print(\"tampered\")"' \
    _ "$w" "$hello"

# ---------------------------------------------------------------- cache and determinism

entry=$(_wheels_cache_entry)
ok_before=$(stat -c %Y "$entry/ok")
w2=$tmp/wheels2
wheels_build "$w2" 2>/dev/null
t_check "cache: second build comes from the cache" test "$(stat -c %Y "$entry/ok")" = "$ok_before"
t_check "cache: copy is identical" diff -r "$w" "$w2"
t_check "cache: copies are independent" bash -c 'echo x >>"$1/$3"; ! cmp -s "$1/$3" "$2/$3"' \
    _ "$w2" "$w" "$hello"
t_check "cache: non-empty DIR is refused" bash -c '! (. "$1/lib.sh"; . "$1/wheels.sh"; wheels_build "$2")' \
    _ "$TESTS_DIR" "$w2"
w3=$tmp/wheels3
t_check "determinism: a build from scratch (empty cache) has the same bytes" bash -c '
    (. "$1/lib.sh"; . "$1/wheels.sh"; TEST_CACHE=$2/cache wheels_build "$2/w") && diff -r "$3" "$2/w"' \
    _ "$TESTS_DIR" "$w3" "$w"

# ---------------------------------------------------------------- pip (if the system python has it)

export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 PIP_NO_COLOR=1
have_pip=
if pipv=$("$PYTHON" -m pip --version 2>/dev/null); then
    have_pip=1
    echo "pip: $pipv" >&2
fi
arch=$(uname -m)

fails() { ! "$@"; }

pip_target() { # TARGET WHEEL-or-ARGS...
    local t=$1
    shift
    "$PYTHON" -m pip install --no-index --no-deps --no-compile --target "$t" "$@"
}

hello_installed() {
    local t=$1
    [[ -f $t/hello_flink/__init__.py && -f $t/hello_flink/data.txt ]] || return 1
    [[ $(cat "$t/hello_flink-1.0.0.dist-info/INSTALLER") == pip ]] || return 1
    grep -q '^hello_flink/__init__.py,sha256=' "$t/hello_flink-1.0.0.dist-info/RECORD" || return 1
    [[ -f $t/share/hello/readme.txt ]] || return 1
    [[ -x $t/bin/hello-flink && -x $t/bin/hello-raw ]] || return 1
    local sb
    sb=$(head -n 1 "$t/bin/hello-raw")
    [[ $sb == '#!/'*python* ]] || { echo "hello-raw shebang: $sb"; return 1; }
    [[ $(PYTHONPATH=$t "$t/bin/hello-flink") == hello ]] || return 1
    [[ $(PYTHONPATH=$t "$t/bin/hello-raw") == hello ]]
}

if [[ -z $have_pip ]]; then
    t_skip "pip: install --target of the good wheels" "$PYTHON has no pip (python3-pip)"
else
    pt=$(t_tmpdir)
    t_check "pip: install --target $hello" pip_target "$pt/hello" "$w/$hello"
    t_check "pip: hello_flink installed (dist-info, bin/hello-flink, shebang rewritten, share/)" \
        hello_installed "$pt/hello"
    if [[ $arch == x86_64 ]]; then
        t_check "pip: install --target $tiny" pip_target "$pt/tiny" "$w/$tiny"
        t_check "pip: tiny_native importable from platlib" bash -c '
            [[ $(PYTHONPATH=$1 "$2" -c "import tiny_native; print(tiny_native.native())") == "tiny_native 42" ]]
            [[ -f $1/tiny_native-2.1.dist-info/RECORD ]]' _ "$pt/tiny" "$PYTHON"
        t_check "pip: refuses arm_only (aarch64) on x86_64" fails \
            pip_target "$pt/arm" "$w/arm_only-1.0-cp311-cp311-manylinux2014_aarch64.whl"
    else
        t_skip "pip: tiny_native and arm_only" "the tags are for x86_64, this is $arch"
    fi
    t_check "pip: refuses wrong_py (cp39)" fails \
        pip_target "$pt/cp39" "$w/wrong_py-1.0-cp39-cp39-manylinux2014_x86_64.whl"
    # what pip makes of the malicious wheels (for the log: not asserted, pip is not under test)
    for f in $(tsv_files malicious); do
        if out=$(pip_target "$pt/${f%%-*}" "$w/$f" 2>&1); then
            echo "pip accepted $f" >&2
        else
            echo "pip refused $f: $(tail -n 1 <<<"$out")" >&2
        fi
    done
fi

# ---------------------------------------------------------------- index

idx=$tmp/index
if ! wheels_index "$idx"; then
    t_fail "index: wheels_index" "see the log"
    exit 1
fi
t_ok "index: wheels_index"
t_check "index: variables set" test "$WHEELS_INDEX_DIR" = "$idx" -a \
    "$WHEELS_INDEX_LIST" = "$idx/wheels.tsv"
t_check "index: wheels.tsv paths exist, sha256 as in wheels_build" bash -c '
    diff <(cut -f2- "$1") <(cut -f2- "$2") || exit 1
    while IFS=$'"'\t'"' read -r f n v sha k; do
        [[ $f == file ]] && continue
        [[ $(sha256sum <"$3/$f" | cut -c1-64) == "$sha" ]] || { echo "$f"; exit 1; }
    done <"$1"' _ "$WHEELS_INDEX_LIST" "$WHEELS_LIST" "$idx"

# check_index ROOT PREFIX: parses PREFIX/simple/ of ROOT (a directory, or an http URL) with
# html.parser; every project page's anchors must point at files whose sha256 is the
# fragment (for the "tampered" prefix: must NOT be, and equal the good wheel's sha256).
check_index() {
    "$PYTHON" - "$1" "$2" "$WHEELS_INDEX_LIST" <<'EOF'
import csv, hashlib, html.parser, os, re, sys, urllib.parse, urllib.request

root, prefix, tsv = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.reader(open(tsv), delimiter="\t"))[1:]
def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()
def fail(msg):
    sys.exit("FAIL: " + msg)
def get(url):
    if root.startswith("http"):
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read()
    path = url[len("file://"):]
    if path.endswith("/"):
        path += "index.html"
    with open(path, "rb") as f:
        return f.read()
base = (root.rstrip("/") if root.startswith("http") else "file://" + os.path.abspath(root)) + "/"
if prefix:
    base += prefix + "/"
class Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.a, self.cur = [], None
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.cur = [dict(attrs), ""]
    def handle_data(self, data):
        if self.cur is not None:
            self.cur[1] += data
    def handle_endtag(self, tag):
        if tag == "a" and self.cur is not None:
            self.a.append(tuple(self.cur))
            self.cur = None
def anchors(url):
    p = Anchors()
    p.feed(get(url).decode("utf-8"))
    return p.a
kinds = ("tampered",) if prefix == "tampered" else ("good", "incompatible", "malicious")
want = {}
for rel, name, version, sha, kind in rows:
    if kind in kinds:
        want.setdefault(norm(name), {})[os.path.basename(rel)] = sha
good_hello = [r[3] for r in rows if r[4] == "good" and r[1] == "hello-flink"][0]
top = urllib.parse.urljoin(base, "simple/")
projects = anchors(top)
if sorted(t for _, t in projects) != sorted(want) or any(a["href"] != t + "/" for a, t in projects):
    fail("%s lists %r, want %r" % (top, projects, sorted(want)))
n = 0
for a, proj in projects:
    page = urllib.parse.urljoin(top, a["href"])
    files = anchors(page)
    if sorted(t for _, t in files) != sorted(want[proj]):
        fail("%s: %r" % (page, files))
    for attrs, text in files:
        url, _, frag = urllib.parse.urljoin(page, attrs["href"]).partition("#")
        if os.path.basename(urllib.parse.urlparse(url).path) != text:
            fail("%s: href %s, text %s" % (page, attrs["href"], text))
        alg, _, hexd = frag.partition("=")
        actual = hashlib.sha256(get(url)).hexdigest()
        if alg != "sha256":
            fail("%s: fragment %r" % (page, frag))
        if prefix == "tampered":
            if hexd == actual or hexd != good_hello:
                fail("%s: the lying index should carry the good hash %s, has %s (file %s)"
                     % (page, good_hello, hexd, actual))
        elif hexd != actual or hexd != want[proj][text]:
            fail("%s: %s: fragment %s, file %s" % (page, text, hexd, actual))
        rp = attrs.get("data-requires-python")
        if (proj == "hello-flink") != (rp == ">=3.8"):
            fail("%s: data-requires-python %r" % (page, rp))
        n += 1
        print("OK %s %s sha256 %s%s" % (proj, text, actual,
                                        " requires-python %s" % rp if rp else ""))
print("%d files" % n)
EOF
}
t_check "index: pages parse, every href exists, sha256 fragments match" check_index "$idx" ""
t_check "index: raw data-requires-python is HTML-escaped" \
    grep -qF 'data-requires-python="&gt;=3.8"' "$idx/simple/hello-flink/index.html"
t_check "index: tampered/ is a lying index (good hash, tampered bytes)" check_index "$idx" tampered

# ---------------------------------------------------------------- serving

wheels_serve "$idx"
echo "WHEELS_URL=$WHEELS_URL WHEELS_ACCESS_LOG=$WHEELS_ACCESS_LOG" >&2
t_check "serve: variables set" test -n "$WHEELS_PORT" -a "$WHEELS_URL" = "http://127.0.0.1:$WHEELS_PORT" \
    -a -f "$WHEELS_ACCESS_LOG" -a -d "$WHEELS_NGINX_DIR"
t_check "serve: index parses over HTTP, sha256 fragments match" check_index "$WHEELS_URL" ""
t_check "serve: tampered index over HTTP" check_index "$WHEELS_URL" tampered

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
dl=$(t_tmpdir)
t_check "serve: /simple/hello-flink/ is text/html" bash -c '
    [[ $(curl -fsS -o /dev/null -w "%{content_type}" "$1/simple/hello-flink/") == text/html* ]]' _ "$WHEELS_URL"
t_check "serve: wheel bytes identical" bash -c '
    curl -fsS -o "$2/h.whl" "$1/files/$3" && cmp "$2/h.whl" "$4/files/$3"' _ \
    "$WHEELS_URL" "$dl" "$hello" "$idx"
t_check "serve: missing project is 404" test "$(status "$WHEELS_URL/simple/no-such-project/")" = 404
t_check "serve: Range request is 206" bash -c '
    [[ $(curl -sS -r 10-19 -o "$2/part" -w "%{http_code}" "$1/files/$3") == 206 ]] &&
    cmp "$2/part" <(tail -c +11 "$4/files/$3" | head -c 10)' _ "$WHEELS_URL" "$dl" "$hello" "$idx"

if [[ -n $have_pip ]]; then
    pipdl() { # INDEX-URL DEST ARGS...
        local u=$1 d=$2
        shift 2
        "$PYTHON" -m pip download --no-deps --index-url "$u" -d "$d" "$@"
    }
    pip_download_hello() {
        pipdl "$WHEELS_URL/simple/" "$dl/pip1" hello-flink==1.0.0 && cmp "$dl/pip1/$hello" "$idx/files/$hello"
    }
    t_check "pip: download hello-flink from the served index" pip_download_hello
    t_check "pip: install --target hello-flink from the served index" bash -c '
        "$1" -m pip install --no-deps --no-compile --index-url "$2/simple/" --target "$3" hello-flink' \
        _ "$PYTHON" "$WHEELS_URL" "$dl/pip2"
    t_check "pip: installed from the index works" hello_installed "$dl/pip2"
    if [[ $arch == x86_64 ]]; then
        t_check "pip: download tiny-native (normalized name) from the index" \
            pipdl "$WHEELS_URL/simple/" "$dl/pip3" tiny-native
    fi
    t_check "pip: no matching distribution for wrong-py" fails \
        pipdl "$WHEELS_URL/simple/" "$dl/pip4" wrong-py
    lying_index_fails() {
        local out rc=0
        out=$(pipdl "$WHEELS_URL/tampered/simple/" "$dl/pip5" hello-flink 2>&1) || rc=$?
        echo "$out"
        [[ $rc -ne 0 ]] && grep -qi hash <<<"$out" && [[ ! -e $dl/pip5/$hello ]]
    }
    t_check "pip: the lying index fails the hash check" lying_index_fails
else
    t_skip "pip: against the served index" "$PYTHON has no pip (python3-pip)"
fi

log_ok() {
    local log=$WHEELS_ACCESS_LOG
    cat "$log" >&2
    grep -E "\"GET /simple/hello-flink/ HTTP/1\.1\" 200 [0-9]+ range=\"-\"" "$log" || return 1
    grep -E "\"GET /files/$hello HTTP/1\.1\" 200 [0-9]+ range=\"-\"" "$log" || return 1
    grep -E "\"GET /files/$hello HTTP/1\.1\" 206 10 range=\"bytes=10-19\"" "$log" || return 1
    grep -E "\"GET /simple/no-such-project/ HTTP/1\.1\" 404 " "$log" || return 1
    ! grep -q _ready "$log" || return 1
    ! grep -vE '^127\.0\.0\.1 \[[^]]+\] "[^"]*" [0-9]{3} [0-9]+ range="[^"]*"$' "$log"
}
t_check "serve: access log records requests" log_ok
