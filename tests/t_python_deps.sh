#!/usr/bin/env bash
# A recipe's python.requirements as a file: a locked PyFlink 1.19.2 dependency set
# (tests/wheels.sh: wheels_pyflink_set, 24 projects, served by nginx as a PEP 503 index) from
# a requirements.txt in pip's hash-checking format and from a PEP 751 pylock.toml, resolved
# for the base's CPython 3.11 on linux/amd64, linux/arm64 and a glibc 2.36 base. Checked with
# real tools: umoci unpacks the image, python3 reads the wheels, the RECORDs and
# factory.lock, pip (when the system python has it) installs the same requirements.txt for
# comparison, nginx's access log counts the requests. Each broken set fails with exit 1,
# file:line and the reason, and writes nothing.
# shellcheck disable=SC2016,SC2317  # snippets get their values as arguments; checks run via t_check
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
# shellcheck source=tests/image.sh
. "$TESTS_DIR/image.sh"
# shellcheck source=tests/wheels.sh
. "$TESTS_DIR/wheels.sh"
t_need_factory

tmp=$(t_tmpdir)
image_build_base "$tmp/base" python
image_build_multiarch "$tmp/multi"
wheels_pyflink_set "$tmp/set"
wheels_serve "$WHEELS_PYFLINK_DIR" pyflink
wheels_pyflink_locks "$WHEELS_PYFLINK_DIR" "$WHEELS_URL" "$tmp/locks"
L=$WHEELS_PYFLINK_LOCKS
SET=$WHEELS_PYFLINK_DIR
LOG=$WHEELS_ACCESS_LOG
SITE=usr/local/lib/python3.11/dist-packages
AMD64=cp311-x86_64-glibc
ARM64=cp311-aarch64-glibc
GLIBC=cp311-x86_64-glibc2.36

# A glibc 2.36 base: the python base plus a layer with a libc.so.6 that carries glibc's
# version banner (all factory reads of it), repacked by umoci (umoci 0.4.7's `insert` writes
# a tar without its end-of-archive blocks).
cp -a "$tmp/base" "$tmp/glibc"
umoci unpack --image "$tmp/glibc:$IMAGE_FIXTURE_TAG" "$tmp/glibc-bundle" >&2
mkdir -p "$tmp/glibc-bundle/rootfs/usr/lib/x86_64-linux-gnu"
printf '\177ELF\002\001\001\000GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n' \
    >"$tmp/glibc-bundle/rootfs/usr/lib/x86_64-linux-gnu/libc.so.6"
umoci repack --image "$tmp/glibc:$IMAGE_FIXTURE_TAG" --history.created "$IMAGE_FIXTURE_CREATED" \
    --history.created_by "factory test fixture: glibc 2.36" "$tmp/glibc-bundle" >&2
rm -rf "$tmp/glibc-bundle"

config() { # CACHE_DIR: prints the path of a factory.yaml with the index and that cache
    local cfg
    cfg=$tmp/factory-$(basename "$1").yaml
    cat >"$cfg" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
python: {index: ["$WHEELS_URL/simple"]}
cache: {dir: $1}
YAML
    printf '%s' "$cfg"
}
recipe() { # DIR REQUIREMENTS_FILE [IMAGE_REF [PLATFORM]]
    local dir=$1 file=$2 image=${3:-oci:$tmp/base:$IMAGE_FIXTURE_TAG} platform=${4:-}
    mkdir -p "$dir/jobs"
    cp "$file" "$dir/"
    printf 'from pyflink.datastream import StreamExecutionEnvironment\nprint("job")\n' \
        >"$dir/jobs/main.py"
    cat >"$dir/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: deps}
flink: {version: 1.19.2, image: "$image"${platform:+, platform: $platform}}
image: {repository: team/deps, tags: ["1.0"]}
python:
  scripts: [jobs/main.py]
  requirements: $(basename "$file")
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
# build DIR OUT CACHE [ARG...]: stdout+stderr to $tmp/log, returns factory's status
build() {
    local dir=$1 out=$2 cache=$3
    shift 3
    "$FACTORY" build --config "$(config "$cache")" -o "$out" "$@" "$dir/recipe.yaml" >"$tmp/log" 2>&1
}
mark() { wc -l <"$LOG"; }
since() { tail -n "+$(($1 + 1))" "$LOG"; } # MARK: the requests after it
digest() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
    "$1/deps/image/index.json"; }
export -f digest # for the bash -c checks below
# expect NAME COMMAND...: like t_check, but the detail is $tmp/log
expect() {
    local name=$1
    shift
    if "$@" >&2; then t_ok "$name"; else t_fail "$name" "$(tail -c 600 "$tmp/log")"; fi
}

# ---------------------------------------------------------------- the fixture, by other tools

export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 PIP_NO_COLOR=1
have_pip=
if "$PYTHON" -m pip --version >/dev/null 2>&1; then have_pip=1; fi
pip_tree=$tmp/pip
if [[ -n $have_pip ]]; then
    t_check "fixture: pip installs requirements.txt (--require-hashes, cp311 manylinux2014_x86_64)" \
        "$PYTHON" -m pip install -q --no-deps --no-compile --require-hashes --only-binary=:all: \
        --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
        --index-url "$WHEELS_URL/simple" --target "$pip_tree" -r "$L/requirements.txt"
else
    t_skip "fixture: pip installs requirements.txt" "the system python has no pip"
fi
t_check "fixture: every wheel a valid zip (CRCs, RECORD hashes, WHEEL tags as named), every sdist a tar.gz" \
    "$PYTHON" - "$WHEELS_PYFLINK_LIST" "$SET" <<'PY'
import base64, csv, hashlib, os, re, sys, tarfile, zipfile
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def b64(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
for r in rows:
    path = os.path.join(sys.argv[2], r["file"])
    data = open(path, "rb").read()
    assert hashlib.sha256(data).hexdigest() == r["sha256"] and len(data) == int(r["size"]), r["file"]
    if r["kind"] == "sdist":
        assert tarfile.open(path).getnames()[0].endswith("/PKG-INFO"), r["file"]
        continue
    dist, ver, py, abi, plat = re.match(r"(.+?)-([^-]+)-([^-]+)-([^-]+)-([^-]+)\.whl$",
                                        os.path.basename(path)).groups()
    z = zipfile.ZipFile(path)
    assert z.testzip() is None, r["file"]
    di = "%s-%s.dist-info/" % (dist, ver)
    rec = {p: (h, s) for p, h, s in csv.reader(z.read(di + "RECORD").decode().splitlines())}
    assert set(rec) == set(z.namelist()), r["file"]
    for n in z.namelist():
        if n != di + "RECORD":
            assert rec[n] == (b64(z.read(n)), str(len(z.read(n)))), (r["file"], n)
    tags = {"%s-%s-%s" % t for t in ((a, b, c) for a in py.split(".") for b in abi.split(".")
                                     for c in plat.split("."))}
    wheel = z.read(di + "WHEEL").decode()
    assert set(re.findall(r"^Tag: (\S+)$", wheel, re.M)) == tags, (r["file"], wheel)
    meta = z.read(di + "METADATA").decode()
    name = re.search(r"^Name: (.+)$", meta, re.M).group(1)
    assert re.sub(r"[-_.]+", "-", name).lower() == r["name"] and "\nVersion: %s\n" % ver in meta
print(len(rows), "files")
PY
t_check "fixture: pylock.toml parses (tomllib) and pins every file requirements.txt hashes" \
    "$PYTHON" - "$L/pylock.toml" "$L/requirements.txt" "$WHEELS_PYFLINK_LIST" "$WHEELS_URL" <<'PY'
import csv, re, sys, tomllib
lock = tomllib.load(open(sys.argv[1], "rb"))
req = open(sys.argv[2]).read()
rows = list(csv.DictReader(open(sys.argv[3]), delimiter="\t"))
url = sys.argv[4]
assert lock["lock-version"] == "1.0" and lock["created-by"] == "uv", lock
pins = {}
body = "\n".join(l for l in req.splitlines() if not l.startswith("#"))  # the header
for block in re.split(r"\n(?=[a-z])", body.strip()):
    name, version = re.match(r"([a-z0-9-]+)==([^ ]+)", block).groups()
    pins[name] = (version, sorted(re.findall(r"--hash=sha256:([0-9a-f]{64})", block)))
listed = {}
for p in lock["packages"]:
    files = ([p["sdist"]] if "sdist" in p else []) + p["wheels"]
    for f in files:
        assert f["url"].startswith(url + "/files/") and f["size"] > 0 and f["upload-time"].tzinfo
    listed[p["name"]] = (p["version"], sorted(f["hashes"]["sha256"] for f in files))
assert listed == pins, (listed, pins)
want = {(r["name"], r["version"], r["sha256"]) for r in rows if r["role"] == "set"}
got = {(n, v, h) for n, (v, hs) in pins.items() for h in hs}
assert want == got and len(pins) == 24, sorted(want ^ got)
print("24 packages, %d files" % len(got))
PY

# ---------------------------------------------------------------- checks of a result

# lock_check LOCK TARGET LETTER REPOSITORY: one pypi: entry per project that the target
# installs (pyflink.tsv's picks), with the right key, file, sha256, size and URL
lock_check() {
    "$PYTHON" - "$@" "$WHEELS_PYFLINK_LIST" "$WHEELS_URL" <<'PY'
import csv, sys, yaml
lock, target, letter, repo, tsv, url = sys.argv[1:]
doc = yaml.safe_load(open(lock))
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
want = {}
for r in rows:
    if r["role"] == "set" and letter in r["picks"]:
        assert r["name"] not in want, r
        want["pypi:%s==%s;%s" % (r["name"], r["version"], target)] = r
assert doc["version"] == 2, doc.get("version")
got = {"pypi:%s;%s" % (e["requirement"], e["target"]): e for e in doc.get("python", {}).get("wheels", [])}
assert set(got) == set(want), sorted(set(got) ^ set(want))
for k, r in want.items():
    e, fn = got[k], r["file"].split("/")[-1]
    assert (e["sha256"], e["size"], e["filename"], e["url"]) == \
        (r["sha256"], int(r["size"]), fn, url + "/" + r["file"]), (k, e)
    assert e["repository"] == repo, (k, e["repository"])
print("%d entries for %s" % (len(got), target))
PY
}

# tree_check ROOTFS LETTER: the chosen wheels (picks LETTER) installed as an installer would:
# every wheel entry at its place with its bytes and mode, root-owned; console scripts; an
# INSTALLER and a RECORD per distribution that lists exactly the installed files with their
# hashes; no other file below site-packages, usr/local/bin, usr/local/share
tree_check() {
    "$PYTHON" - "$1" "$2" "$SET" "$SITE" <<'PY'
import base64, csv, hashlib, io, os, stat, sys, zipfile
root, letter, setdir, site = sys.argv[1:]
sp = os.path.join(root, site)
rows = list(csv.DictReader(open(os.path.join(setdir, "pyflink.tsv")), delimiter="\t"))
chosen = [r for r in rows if r["role"] == "set" and letter in r["picks"]]
def b64(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
def check_file(path, data, mode, what):
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode), (what, path)
    assert (st.st_uid, st.st_gid) == (0, 0), (what, path, st.st_uid, st.st_gid)
    assert stat.S_IMODE(st.st_mode) == mode, (what, path, oct(st.st_mode))
    if data is not None:
        assert open(path, "rb").read() == data, (what, path)
installed = set()
dists = set()
for r in chosen:
    fn = r["file"].split("/")[-1]
    z = zipfile.ZipFile(os.path.join(setdir, r["file"]))
    dist, ver = fn.split("-")[:2]
    di, data_dir = "%s-%s.dist-info/" % (dist, ver), "%s-%s.data/" % (dist, ver)
    dists.add(di.rstrip("/"))
    mine = set()
    for i in z.infolist():
        n = i.filename
        exe = (i.external_attr >> 16) & 0o111
        if n == di + "RECORD":
            continue
        data = z.read(n)
        if n.startswith(data_dir):
            scheme, rest = n[len(data_dir):].split("/", 1)
            dest = {"purelib": sp, "platlib": sp, "scripts": os.path.join(root, "usr/local/bin"),
                    "data": os.path.join(root, "usr/local")}[scheme]
            if scheme == "scripts":
                exe = True
                if data.startswith(b"#!python"):
                    data = None
        else:
            dest, rest = sp, n
        path = os.path.join(dest, rest)
        check_file(path, data, 0o755 if exe else 0o644, fn)
        mine.add(os.path.normpath(path))
    meta = z.read(di + "METADATA").decode()
    assert "\nVersion: %s\n" % r["version"] in meta
    if di + "entry_points.txt" in z.namelist():
        section = None
        for line in z.read(di + "entry_points.txt").decode().splitlines():
            if line.startswith("["):
                section = line.strip("[]")
            elif "=" in line and section == "console_scripts":
                name, target = (s.strip() for s in line.split("=", 1))
                path = os.path.join(root, "usr/local/bin", name)
                check_file(path, None, 0o755, fn)
                text = open(path).read()
                assert text.startswith("#!/usr/bin/python3.11\n"), (path, text)
                assert "from %s import %s" % tuple(target.split(":")) in text, (path, text)
                mine.add(os.path.normpath(path))
    inst = os.path.join(sp, di, "INSTALLER")
    check_file(inst, b"factory\n", 0o644, fn)
    record = os.path.join(sp, di, "RECORD")
    check_file(record, None, 0o644, fn)
    mine |= {os.path.normpath(inst), os.path.normpath(record)}
    listed = set()
    for p, h, size in csv.reader(open(record)):
        full = os.path.normpath(os.path.join(sp, p))
        listed.add(full)
        if full == os.path.normpath(record):
            assert (h, size) == ("", ""), (fn, p)
            continue
        data = open(full, "rb").read()
        assert h == b64(data) and int(size) == len(data), (fn, p, h, size)
    # the RECORD lists exactly this wheel's files (and INSTALLER, and itself)
    assert listed == mine, (fn, sorted(listed ^ mine))
    assert not installed & mine, (fn, sorted(installed & mine))
    installed |= mine
found = set()
for top in (sp, os.path.join(root, "usr/local/bin"), os.path.join(root, "usr/local/share")):
    for d, subdirs, files in os.walk(top):
        st = os.lstat(d)
        assert stat.S_IMODE(st.st_mode) == 0o755 and (st.st_uid, st.st_gid) == (0, 0), (d, oct(st.st_mode))
        found |= {os.path.normpath(os.path.join(d, f)) for f in files}
assert found == installed, ("unexpected", sorted(found - installed)[:5], "missing", sorted(installed - found)[:5])
got = {d for d in os.listdir(sp) if d.endswith(".dist-info")}
assert got == dists, sorted(got ^ dists)
print("%d distributions, %d files" % (len(dists), len(installed)))
PY
}

# tags_check ROOTFS ARCH: the installed dist-info WHEEL tags (the wheel an installer chose)
tags_check() {
    "$PYTHON" - "$1/$SITE" "$2" <<'PY'
import glob, os, sys
sp, arch = sys.argv[1:]
def tags(dist):
    (d,) = glob.glob(os.path.join(sp, dist + "-*.dist-info"))
    return sorted(l.split(": ")[1] for l in open(os.path.join(d, "WHEEL")).read().splitlines()
                  if l.startswith("Tag: "))
plat = "manylinux_2_17_%s" % arch
assert tags("apache_flink") == sorted(["cp311-cp311-" + plat, "cp311-cp311-manylinux2014_" + arch])
assert tags("numpy") == sorted(["cp311-cp311-" + plat, "cp311-cp311-manylinux2014_" + arch])
assert tags("protobuf") == ["cp37-abi3-manylinux2014_" + arch], tags("protobuf")
assert tags("charset_normalizer")[0].startswith("cp311-cp311-"), tags("charset_normalizer")
print("apache-flink, numpy, protobuf, charset-normalizer: %s wheels" % arch)
PY
}

# imports ROOTFS: the stand-in modules import from the image's site-packages (pure python;
# -B: no __pycache__ left in the tree)
imports() {
    "$PYTHON" -I -S -B - "$1/$SITE" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import pyflink, pyflink.version, pyflink.datastream, pyflink.table
assert pyflink.__version__ == pyflink.version.__version__ == "1.19.2"
assert pyflink.__file__.startswith(sys.argv[1]), pyflink.__file__
import py4j, cloudpickle, avro, dateutil, pytz, six, requests, urllib3, certifi, idna
import httplib2, pyparsing, numpy, pandas, pyarrow, google.protobuf, ruamel.yaml, tzdata
assert (numpy.__version__, pandas.__version__, pyarrow.__version__) == ("1.24.4", "2.0.3", "11.0.0")
print("pyflink", pyflink.__version__, "and 18 more import")
PY
}

# layer_check OUT: the python layer (the image's last) holds only usr/local/... entries,
# root's, and the first three layers are the base's
layer_check() {
    local layers=() below=()
    mapfile -t layers < <(image_layers "$1/deps/image" 1.0)
    mapfile -t below < <(image_layers "$2" "$IMAGE_FIXTURE_TAG" "${3:-amd64}")
    [[ ${#layers[@]} -eq $((${#below[@]} + 1)) && ${layers[*]:0:${#below[@]}} == "${below[*]}" ]] ||
        { echo "layers ${layers[*]} on base ${below[*]}"; return 1; }
    "$PYTHON" - "$1/deps/image/blobs/sha256/${layers[-1]#sha256:}" <<'PY'
import sys, tarfile
names = []
for m in tarfile.open(sys.argv[1]):
    n = m.name.lstrip("./")
    assert n in ("usr", "usr/local", "usr/local/lib", "usr/local/lib/python3.11", "usr/local/bin") or \
        n.startswith(("usr/local/lib/python3.11/dist-packages", "usr/local/bin/", "usr/local/share")), n
    assert (m.uid, m.gid) == (0, 0) and (m.isfile() or m.isdir()), (n, m.uid, m.type)
    names.append(n)
print("python layer: %d entries" % len(names))
PY
}

# ---------------------------------------------------------------- requirements.txt, linux/amd64

R=$tmp/req
recipe "$R" "$L/requirements.txt"
m0=$(mark)
SECONDS=0
expect "requirements.txt: build succeeds" build "$R" "$tmp/out-req" "$tmp/cache"
cat "$tmp/log" >&2
echo "requirements.txt build: ${SECONDS} s" >&2
since "$m0" >"$tmp/requests-req"
t_check "requirements.txt: each project's index page and chosen wheel fetched once, nothing else" \
    "$PYTHON" - "$WHEELS_PYFLINK_LIST" "$tmp/requests-req" <<'PY'
import csv, collections, re, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
reqs = collections.Counter(re.search(r'"([A-Z]+ \S+) [^"]*" (\d+) ', l).groups() for l in open(sys.argv[2]))
want = collections.Counter({("GET /simple/%s/" % r["name"], "200"): 1 for r in rows if r["role"] == "set"})
want.update(("GET /" + r["file"], "200") for r in rows if r["role"] == "set" and "x" in r["picks"])
assert reqs == want, sorted((reqs - want).items()) + ["missing"] + sorted((want - reqs).items())
print(len(reqs), "requests")
PY
t_check "requirements.txt: factory.lock has one pypi:NAME==VERSION;$AMD64 entry per requirement" \
    lock_check "$R/factory.lock" "$AMD64" x "$WHEELS_URL/simple"
image_unpack "$tmp/out-req/deps/image" 1.0 "$tmp/root-req" || true
if [[ $IMAGE_UNPACK_OWNERS == real ]]; then
    t_check "requirements.txt: every wheel's files installed (bytes, modes, 0:0), RECORDs exact" \
        tree_check "$tmp/root-req" x
else
    t_skip "requirements.txt: every wheel's files installed" "not root: umoci unpacks --rootless"
fi
t_check "requirements.txt: cp311 x86_64 wheels chosen (abi3 over py3-none-any, cp311 over cp310)" \
    tags_check "$tmp/root-req" x86_64
t_check "requirements.txt: pyarrow's manylinux_2_17 wheel, not manylinux_2_28 (glibc unknown)" \
    grep -qx "Tag: cp311-cp311-manylinux2014_x86_64" \
    "$tmp/root-req/$SITE/pyarrow-11.0.0.dist-info/WHEEL"
t_check "requirements.txt: pemja installed (its marker holds on x86_64)" \
    test -f "$tmp/root-req/$SITE/pemja/_pemja.cpython-311-x86_64-linux-gnu.so"
t_check "requirements.txt: pyflink and its dependencies import from site-packages" \
    imports "$tmp/root-req"
t_check "requirements.txt: the python layer holds only usr/local, on the base's layers" \
    layer_check "$tmp/out-req" "$tmp/base"
if [[ -n $have_pip && -d $pip_tree ]]; then
    t_check "requirements.txt: the same files as pip install --target (bytes and modes)" \
        "$PYTHON" - "$pip_tree" "$tmp/root-req" "$SITE" <<'PY'
import hashlib, os, stat, sys
pip, root, site = sys.argv[1:]
def walk(top, skip=()):
    out = {}
    for d, subdirs, files in os.walk(top):
        subdirs[:] = [s for s in subdirs if s != "__pycache__" and os.path.join(d, s) not in skip]
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, top)
            if rel.split("/")[0].endswith(".dist-info") and f in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            st = os.lstat(p)
            out[rel] = (hashlib.sha256(open(p, "rb").read()).hexdigest(), stat.S_IMODE(st.st_mode) & 0o111 != 0)
    return out
a = walk(pip, {os.path.join(pip, "bin"), os.path.join(pip, "share")})
a.update({"share/" + k: v for k, v in walk(os.path.join(pip, "share")).items()})
b = walk(os.path.join(root, site))
b.update({"share/" + k: v for k, v in walk(os.path.join(root, "usr/local/share")).items()})
assert a == b, sorted(set(a.items()) ^ set(b.items()))[:6]
pb, fb = sorted(os.listdir(os.path.join(pip, "bin"))), sorted(os.listdir(os.path.join(root, "usr/local/bin")))
assert pb == fb, (pb, fb)
print(len(a), "files and", len(pb), "scripts as pip installs them")
PY
else
    t_skip "requirements.txt: the same files as pip install --target" "the system python has no pip"
fi

# Again: the lock and the cache answer everything.
cp "$R/factory.lock" "$tmp/lock-req"
m1=$(mark)
expect "rebuild: succeeds" build "$R" "$tmp/out-req2" "$tmp/cache"
t_check "rebuild: no request to the index, python layer reused, same image, lock unchanged" bash -c '
    [[ $(wc -l <"$1") -eq $2 ]] && grep -q "0 built, 1 reused" "$3" && cmp "$4" "$5" &&
    [[ $(digest "$6") == $(digest "$7") ]]' _ "$LOG" "$m1" "$tmp/log" "$tmp/lock-req" "$R/factory.lock" \
    "$tmp/out-req" "$tmp/out-req2"
# --frozen from the lock with an empty cache: the locked files, never the index.
m2=$(mark)
expect "frozen: build --frozen from the lock with an empty cache succeeds" \
    build "$R" "$tmp/out-frozen" "$tmp/cache-frozen" --frozen
t_check "frozen: only the 24 locked wheels requested, no index page; same image; lock unchanged" bash -c '
    reqs=$(tail -n "+$(($2 + 1))" "$1")
    [[ $(grep -c " 200 " <<<"$reqs") -eq 24 && $(grep -c "GET /files/" <<<"$reqs") -eq 24 ]] &&
    ! grep -q "/simple/" <<<"$reqs" && cmp "$3" "$4" && [[ $(digest "$5") == $(digest "$6") ]]' \
    _ "$LOG" "$m2" "$tmp/lock-req" "$R/factory.lock" "$tmp/out-req" "$tmp/out-frozen"

# --frozen with a requirement the lock lacks (numpy upgraded without relocking).
F=$tmp/frozen-upgrade
recipe "$F" "$L/bad/req-numpy-upgrade/requirements.txt"
cp "$R/factory.lock" "$F/factory.lock"
line=$(awk -F'\t' '$1 == "req-numpy-upgrade" { print $3 }' "$L/bad/cases.tsv")
rc=0
build "$F" "$tmp/out-frozen-upgrade" "$tmp/cache" --frozen || rc=$?
if [[ $rc -eq 1 ]] &&
    grep -qF "$F/requirements.txt:$line:1: error: numpy==1.26.4: $F/factory.lock has no entry pypi:numpy==1.26.4;$AMD64; run 'factory build $F/recipe.yaml' without --frozen" "$tmp/log" &&
    [[ ! -e $tmp/out-frozen-upgrade ]] && cmp -s "$R/factory.lock" "$F/factory.lock"; then
    t_ok "frozen: a requirement missing from the lock fails at its line, nothing written"
else
    t_fail "frozen: a requirement missing from the lock fails at its line, nothing written" \
        "exit $rc: $(cat "$tmp/log")"
fi

# ---------------------------------------------------------------- pylock.toml, linux/amd64

P=$tmp/pylock
recipe "$P" "$L/pylock.toml"
m3=$(mark)
expect "pylock.toml: build succeeds (empty cache)" build "$P" "$tmp/out-pylock" "$tmp/cache-pylock"
cat "$tmp/log" >&2
t_check "pylock.toml: only the chosen wheels' URLs fetched, no index page" bash -c '
    reqs=$(tail -n "+$(($2 + 1))" "$1")
    [[ $(grep -c "GET /files/.* 200 " <<<"$reqs") -eq 24 && $(wc -l <<<"$reqs") -eq 24 ]]' \
    _ "$LOG" "$m3"
t_check "pylock.toml: factory.lock has one pypi: entry per package, from pylock.toml" \
    lock_check "$P/factory.lock" "$AMD64" x pylock.toml
t_check "pylock.toml: the same image as from requirements.txt" \
    bash -c '[[ $(digest "$1") == $(digest "$2") ]]' _ "$tmp/out-req" "$tmp/out-pylock"
cp "$P/factory.lock" "$tmp/lock-pylock"
m4=$(mark)
expect "pylock.toml: frozen rebuild succeeds" build "$P" "$tmp/out-pylock2" "$tmp/cache-pylock" --frozen
t_check "pylock.toml: frozen rebuild makes no request, lock unchanged" bash -c '
    [[ $(wc -l <"$1") -eq $2 ]] && cmp "$3" "$4"' _ "$LOG" "$m4" "$tmp/lock-pylock" "$P/factory.lock"

# ---------------------------------------------------------------- linux/arm64

for kind in requirements.txt pylock.toml; do
    A=$tmp/arm-${kind%%.*}
    recipe "$A" "$L/$kind" "oci:$tmp/multi:$IMAGE_FIXTURE_TAG" linux/arm64
    expect "arm64 $kind: build succeeds" build "$A" "$tmp/out-${A##*/}" "$tmp/cache"
    repo=$WHEELS_URL/simple
    [[ $kind == requirements.txt ]] || repo=pylock.toml
    t_check "arm64 $kind: factory.lock has 23 entries pypi:...;$ARM64 (no pemja: its marker is false)" \
        lock_check "$A/factory.lock" "$ARM64" a "$repo"
done
t_check "arm64: requirements.txt and pylock.toml give the same image" \
    bash -c '[[ $(digest "$1") == $(digest "$2") ]]' _ "$tmp/out-arm-requirements" "$tmp/out-arm-pylock"
image_unpack "$tmp/out-arm-requirements/deps/image" 1.0 "$tmp/root-arm" || true
if [[ $IMAGE_UNPACK_OWNERS == real ]]; then
    t_check "arm64: every aarch64 wheel's files installed, RECORDs exact, no pemja" \
        tree_check "$tmp/root-arm" a
else
    t_skip "arm64: every aarch64 wheel's files installed" "not root: umoci unpacks --rootless"
fi
t_check "arm64: aarch64 wheels chosen" tags_check "$tmp/root-arm" aarch64
t_check "arm64: the python layer holds only usr/local, on the arm64 base's layers" \
    layer_check "$tmp/out-arm-requirements" "$tmp/multi" arm64

# ---------------------------------------------------------------- a glibc 2.36 base

G=$tmp/glibc-req
recipe "$G" "$L/requirements.txt" "oci:$tmp/glibc:$IMAGE_FIXTURE_TAG"
expect "glibc 2.36: build succeeds" build "$G" "$tmp/out-glibc" "$tmp/cache"
t_check "glibc 2.36: factory.lock keys ;$GLIBC, pyarrow's manylinux_2_28 wheel chosen" \
    lock_check "$G/factory.lock" "$GLIBC" g "$WHEELS_URL/simple"
image_unpack "$tmp/out-glibc/deps/image" 1.0 "$tmp/root-glibc" || true
t_check "glibc 2.36: installed pyarrow is the manylinux_2_28 wheel" \
    grep -qx "Tag: cp311-cp311-manylinux_2_28_x86_64" "$tmp/root-glibc/$SITE/pyarrow-11.0.0.dist-info/WHEEL"

# ---------------------------------------------------------------- broken sets

# bad CASE BASE REASON [entry]: the case's file beside a recipe (on the base layout BASE) that
# also has the good factory.lock; exit 1, "FILE:LINE:COL: error: ... REASON" on stderr (LINE
# the requirement's or [[packages]]'s line, with "entry" the changed wheel's), no image, the
# lock and the cache's tmp/ as they were
bad() {
    local case=$1 base=$2 reason=$3 file line entry req dir out rc=0
    IFS=$'\t' read -r _ file line entry req < <(awk -F'\t' -v c="$case" '$1 == c' "$L/bad/cases.tsv")
    [[ ${4:-} == entry ]] || entry=$line
    dir=$tmp/bad-$case-${base##*/}
    out=$tmp/out-bad-$case-${base##*/}
    recipe "$dir" "$L/$file" "oci:$base:$IMAGE_FIXTURE_TAG"
    cp "$R/factory.lock" "$dir/factory.lock"
    build "$dir" "$out" "$tmp/cache" || rc=$?
    local where
    where="$dir/$(basename "$file"):$entry:"
    local on=
    [[ $base != "$tmp/glibc" ]] || on=" (glibc 2.36 base)"
    local name="bad $case$on: exit 1 at ${file##*/}:$entry ($req): ${reason//$WHEELS_URL/URL}"
    if [[ $rc -eq 1 ]] && grep -F -- "$where" "$tmp/log" | grep -qF -- "error: " &&
        grep -F -- "$where" "$tmp/log" | grep -qF -- "$reason" && [[ ! -e $out ]] &&
        cmp -s "$R/factory.lock" "$dir/factory.lock" && [[ -z $(ls -A "$tmp/cache/tmp" 2>/dev/null) ]]; then
        t_ok "$name"
    else
        t_fail "$name" \
            "exit $rc; want '$where'; $(cat "$tmp/log"); tmp: $(ls -A "$tmp/cache/tmp" 2>/dev/null)"
    fi
}
bad req-missing-hash "$tmp/base" "error: 'six==1.16.0' has no --hash"
bad req-range "$tmp/base" "error: 'pandas>=2.0.3' is not pinned with '=='"
bad req-wrong-hash "$tmp/base" "error: pyarrow==11.0.0: $WHEELS_URL/simple/pyarrow/: pyarrow 11.0.0: no wheel matches the pinned sha256 values"
bad req-arm-only "$tmp/base" "error: orjson==3.9.15: $WHEELS_URL/simple/orjson/: orjson 3.9.15: no wheel for linux/amd64"
bad req-glibc "$tmp/base" "error: zstandard==0.22.0: $WHEELS_URL/simple/zstandard/: zstandard 0.22.0: manylinux_2_99 wheels need glibc 2.99; the base's glibc version is unknown"
bad req-glibc "$tmp/glibc" "error: zstandard==0.22.0: $WHEELS_URL/simple/zstandard/: zstandard 0.22.0: manylinux_2_99 wheels need glibc 2.99; the base has 2.36"
bad req-sdist-only "$tmp/base" "error: avro-python3==1.10.2: $WHEELS_URL/simple/avro-python3/: avro-python3 1.10.2 has no wheel, only avro-python3-1.10.2.tar.gz"
bad lock-missing-hash "$tmp/base" "error: package numpy: wheel numpy-1.24.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl has no hashes" entry
bad lock-wrong-hash "$tmp/base" "error: numpy==1.24.4: $WHEELS_URL/files/numpy-1.24.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl has sha256"
bad lock-arm-only "$tmp/base" "error: orjson==3.9.15: orjson 3.9.15: no wheel for linux/amd64"
bad lock-glibc "$tmp/base" "error: zstandard==0.22.0: zstandard 0.22.0: manylinux_2_99 wheels need glibc 2.99"
bad lock-sdist-only "$tmp/base" "error: package avro-python3 has only an sdist"

# A yanked release pinned with == is installed, with a warning at its line (PEP 592).
Y=$tmp/yanked
recipe "$Y" "$L/bad/req-yanked/requirements.txt"
line=$(awk -F'\t' '$1 == "req-yanked" { print $3 }' "$L/bad/cases.tsv")
yanked=grpcio-1.62.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
expect "yanked: a pinned yanked release builds" build "$Y" "$tmp/out-yanked" "$tmp/cache"
t_check "yanked: warning at requirements.txt:$line, grpcio locked and installed" bash -c '
    grep -qF "$1/requirements.txt:$2:1: warning: grpcio==1.62.1: $3 is yanked; installed because the set pins exactly it" "$4" &&
    grep -qF "requirement: grpcio==1.62.1" "$1/factory.lock" && grep -qF "target: $5" "$1/factory.lock" &&
    grep -qF "filename: $3" "$1/factory.lock"' \
    _ "$Y" "$line" "$yanked" "$tmp/log" "$AMD64"

# --frozen where the lock has the entry but the file now pins other hashes: said as such.
W=$tmp/frozen-rehash
recipe "$W" "$L/bad/req-wrong-hash/requirements.txt"
cp "$R/factory.lock" "$W/factory.lock"
line=$(awk -F'\t' '$1 == "req-wrong-hash" { print $3 }' "$L/bad/cases.tsv")
rc=0
build "$W" "$tmp/out-frozen-rehash" "$tmp/cache" --frozen || rc=$?
expect "frozen: a locked wheel the file no longer accepts is named, at its line" bash -c '
    [[ $1 -eq 1 ]] && grep -qF "$2/requirements.txt:$3:1: error: pyarrow==11.0.0: $2/factory.lock pins pyarrow-11.0.0-" "$4" &&
    grep -qF "which this file no longer accepts" "$4" && cmp -s "$5" "$2/factory.lock"' _ "$rc" "$W" "$line" "$tmp/log" "$R/factory.lock"

# A wheel refused at installation (an entry that leaves its directory) is never pinned, and
# the refusal is reported at the line that asked for it.
wheels_index "$tmp/evil-index"
EVIL=evil_dotdot-1.0-py3-none-any.whl
evil_sha=$(awk -F'\t' -v f="files/$EVIL" '$1 == f {print $4}' "$tmp/evil-index/wheels.tsv")
E=$tmp/evil
mkdir -p "$E"
cat >"$tmp/evil.toml" <<TOML
lock-version = "1.0"
created-by = "uv"
[[packages]]
name = "evil-dotdot"
version = "1.0"
wheels = [{ path = "$tmp/evil-index/files/$EVIL", hashes = { sha256 = "$evil_sha" } }]
TOML
cp "$tmp/evil.toml" "$tmp/pylock.toml"
recipe "$E" "$tmp/pylock.toml"
rc=0
build "$E" "$tmp/out-evil" "$tmp/cache" || rc=$?
expect "a wheel refused at installation: exit 1 at pylock.toml:3 (its [[packages]]), not pinned in factory.lock" bash -c '
    [[ $1 -eq 1 ]] && grep -qF "$2/pylock.toml:3:1: error: evil_dotdot" "$3" && grep -qF "refusing entry" "$3" &&
    [[ ! -e $2/factory.lock ]] && [[ ! -e $4/deps/image ]]' _ "$rc" "$E" "$tmp/log" "$tmp/out-evil"

echo "t_python_deps: ${SECONDS} s since the first build" >&2
exit 0
