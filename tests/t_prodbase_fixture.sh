#!/usr/bin/env bash
# Self-test of tests/prodbase.sh: production-like Flink bases from real Debian packages,
# written by umoci, skopeo and GNU tar, read back with skopeo inspect, umoci unpack, GNU tar -t,
# python3's tarfile and a chroot; and the stand-in python-build-standalone runtime.
# Cold (nothing cached, .debs downloaded) this takes about a minute; cached, 15-20 s (it
# copies, hashes and unpacks about 1.5 GB of images).
# PRODBASE_FULL=1 checks the images with the complete JRE (java -version in a chroot).
# PRODBASE_TEST_REPRO=1 also rebuilds everything in a fresh cache and compares the bytes.
# shellcheck disable=SC2016  # python snippets are single-quoted on purpose
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
# shellcheck source=tests/prodbase.sh
. "$TESTS_DIR/prodbase.sh"

if [[ $(id -u) -ne 0 ]]; then
    t_skip "prodbase fixture" "tests/prodbase.sh builds images as root (umoci, mknod, chroot; running as $(id -un))"
    exit 0
fi

tmp=$(t_tmpdir)
tag=$PRODBASE_TAG
GZ=application/vnd.oci.image.layer.v1.tar+gzip
ZS=application/vnd.oci.image.layer.v1.tar+zstd
TR=application/vnd.oci.image.layer.v1.tar

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

# report < lines "ok<TAB>NAME" / "fail<TAB>NAME<TAB>DETAIL" (from python checks)
report() {
    local st name detail
    while IFS=$'\t' read -r st name detail; do
        if [[ $st == ok ]]; then t_ok "$name"; else t_fail "$name" "$detail"; fi
    done
}

# every blob of layout $1 hashes to its name; index.json and oci-layout parse
check_blobs() {
    local f n=0
    "$PYTHON" -m json.tool "$1/index.json" >/dev/null || return 1
    # umoci writes {"imageLayoutVersion":"1.0.0"}, skopeo {"imageLayoutVersion": "1.0.0"}
    [[ $(pyq "$1/oci-layout" 'j["imageLayoutVersion"]') == 1.0.0 ]] || return 1
    for f in "$1"/blobs/sha256/*; do
        [[ $(sha256sum <"$f" | cut -c1-64) == "$(basename "$f")" ]] || { echo "bad blob $f"; return 1; }
        n=$((n + 1))
    done
    [[ $n -gt 0 ]]
}

# the uncompressed layers of layout $1 hash to the diff_ids (gzip -dc, zstd -dc, cat)
check_diff_ids() {
    local l mt d i=0 ls mts ds
    read -r -a ls <<<"$PRODBASE_LAYER_DIGESTS"
    read -r -a mts <<<"$PRODBASE_LAYER_MEDIA_TYPES"
    read -r -a ds <<<"$PRODBASE_DIFF_IDS"
    [[ ${#ls[@]} -eq ${#ds[@]} ]] || return 1
    for l in "${ls[@]}"; do
        mt=${mts[$i]} d=${ds[$i]}
        local f=$1/blobs/sha256/${l#sha256:} got
        case $mt in
            "$GZ") got=$(gzip -dc <"$f" | sha256sum | cut -c1-64) ;;
            "$ZS") got=$(zstd -dcq <"$f" | sha256sum | cut -c1-64) ;;
            "$TR") got=$(sha256sum <"$f" | cut -c1-64) ;;
            *) echo "layer $i: media type $mt"; return 1 ;;
        esac
        [[ sha256:$got == "$d" ]] || { echo "layer $i ($mt): $got != $d"; return 1; }
        i=$((i + 1))
    done
}

declare -A layers=() manifest=() config=()

# ---------------------------------------------------------------- variants x compressions

for variant in python nopython; do
    for comp in gzip zstd uncompressed mixed; do
        n="$variant/$comp"
        d=$tmp/$variant-$comp
        t0=$(date +%s.%N)
        if ! prodbase_build "$d" "$variant" "$comp"; then
            t_fail "$n: prodbase_build" "see the log"
            continue
        fi
        echo "prodbase_build $variant $comp took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s" >&2
        t_ok "$n: prodbase_build"
        expect "$n: PRODBASE_REF" "$PRODBASE_REF" "oci:$d:$tag"
        layers[$n]=$PRODBASE_LAYER_DIGESTS
        manifest[$n]=$PRODBASE_MANIFEST_DIGEST
        config[$n]=$PRODBASE_CONFIG_DIGEST
        # nopython's blobs are python's (checked below); python gzip's diff_ids are checked
        # with the layer contents further down
        if [[ $variant == python ]]; then
            t_check "$n: blobs match their digests" check_blobs "$d"
            if [[ $comp != gzip ]]; then
                t_check "$n: uncompressed layers match the diff_ids" check_diff_ids "$d"
            fi
        fi
        if ! skopeo inspect --raw "oci:$d:$tag" >"$tmp/$variant-$comp.manifest.json"; then
            t_fail "$n: skopeo inspect --raw"
            continue
        fi
        m=$tmp/$variant-$comp.manifest.json
        nlayers=7
        [[ $variant == python ]] || nlayers=6
        expect "$n: $nlayers layers" "$(pyq "$m" 'len(j["layers"])')" "$nlayers"
        expect "$n: skopeo's manifest digest" "sha256:$(sha256sum <"$m" | cut -c1-64)" "$PRODBASE_MANIFEST_DIGEST"
        case $comp in
            gzip) w="[\"$GZ\"]" ;;
            zstd) w="[\"$ZS\"]" ;;
            uncompressed) w="[\"$TR\"]" ;;
            mixed) w="[\"$GZ\",\"$ZS\",\"$TR\"]" ;;
        esac
        expect "$n: layer media types" "$(pyq "$m" 'sorted(set(l["mediaType"] for l in j["layers"]), key=lambda t: ("+gzip" not in t, "+zstd" not in t))')" "$w"
        if [[ $comp == mixed ]]; then
            expect "$n: layer i is gzip, zstd, tar for i mod 3" \
                "$(pyq "$m" '[l["mediaType"].rsplit(".", 1)[1] for l in j["layers"]]')" \
                "$(if [[ $variant == python ]]; then echo '["tar+gzip","tar+zstd","tar","tar+gzip","tar+zstd","tar","tar+gzip"]'; else echo '["tar+gzip","tar+zstd","tar","tar+gzip","tar+zstd","tar"]'; fi)"
        fi
        expect "$n: config media type" "$(pyq "$m" 'j["config"]["mediaType"]')" application/vnd.oci.image.config.v1+json
        expect "$n: the same config as gzip" "$PRODBASE_CONFIG_DIGEST" "${config[$variant/gzip]:-}"
    done
done

for comp in gzip zstd uncompressed mixed; do
    read -r -a py <<<"${layers[python/$comp]:-}"
    read -r -a nopy <<<"${layers[nopython/$comp]:-}"
    expect "reuse: $comp nopython = python's first six layers" "${nopy[*]:-}" "${py[*]:0:6}"
    t_check "reuse: $comp nopython's blobs are python's" cmp -s \
        "$tmp/nopython-$comp/blobs/sha256/${nopy[5]#sha256:}" "$tmp/python-$comp/blobs/sha256/${py[5]#sha256:}"
done

# ---------------------------------------------------------------- config

c=$tmp/config.json
skopeo inspect --config "oci:$tmp/python-gzip:$tag" >"$c"
expect "config: Env" "$(pyq "$c" 'j["config"]["Env"]')" \
    "[\"PATH=/opt/flink/bin:$PRODBASE_JAVA_HOME/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"JAVA_HOME=$PRODBASE_JAVA_HOME\",\"LANG=C.UTF-8\",\"FLINK_HOME=/opt/flink\"]"
expect "config: Entrypoint" "$(pyq "$c" 'j["config"]["Entrypoint"]')" '["/docker-entrypoint.sh"]'
expect "config: Cmd" "$(pyq "$c" 'j["config"]["Cmd"]')" '["help"]'
expect "config: WorkingDir" "$(pyq "$c" 'j["config"]["WorkingDir"]')" /opt/flink
expect "config: User unset" "$(pyq "$c" 'j["config"].get("User", "<unset>")')" '<unset>'
expect "config: ExposedPorts" "$(pyq "$c" 'j["config"]["ExposedPorts"]')" '{"6123/tcp":{},"8081/tcp":{}}'
expect "config: platform" "$(pyq "$c" 'j["os"] + "/" + j["architecture"]')" linux/amd64
expect "config: created" "$(pyq "$c" 'j["created"]')" "$PRODBASE_CREATED"
expect "config: history times" "$(pyq "$c" 'sorted(set(h["created"] for h in j["history"]))')" "[\"$PRODBASE_CREATED\"]"
expect "config: history (python: base, six empty, python)" \
    "$(pyq "$c" '[h.get("empty_layer", False) for h in j["history"]]')" \
    '[false,false,false,false,false,false,true,true,true,true,true,true,false]'
expect "config: history of the layers" \
    "$(pyq "$c" '[h["created_by"].split(": ", 1)[1].split(" ")[0] for h in j["history"] if not h.get("empty_layer")]')" \
    '["debian","ca-certificates","java","flink","cleanup","plugins","python"]'
skopeo inspect --config "oci:$tmp/nopython-gzip:$tag" >"$tmp/config-nopython.json"
expect "config: nopython history" "$(pyq "$tmp/config-nopython.json" '[h.get("empty_layer", False) for h in j["history"]]')" \
    '[false,false,false,false,false,false,true,true,true,true,true,true]'
expect "config: nopython Env is python's" "$(pyq "$tmp/config-nopython.json" 'j["config"]["Env"]')" \
    "$(pyq "$c" 'j["config"]["Env"]')"

# ---------------------------------------------------------------- quirks in the layer tars

"$PYTHON" - "$tmp/python-gzip" "$tag" <<'EOF' | report
import gzip, json, os, sys, tarfile
layout, tag = sys.argv[1:3]
env = os.environb
def q(name):  # a quirk path as the tar stores it (str, surrogateescape for non-UTF-8)
    return env[name.encode()].decode("utf-8", "surrogateescape")
def blob(d):
    return os.path.join(layout, "blobs", *d.split(":", 1))
with open(os.path.join(layout, "index.json")) as f:
    (top,) = json.load(f)["manifests"]
with open(blob(top["digest"])) as f:
    man = json.load(f)
with open(blob(man["config"]["digest"])) as f:
    diff_ids = json.load(f)["rootfs"]["diff_ids"]
import hashlib, io
layers = []
got = []
for l in man["layers"]:
    with open(blob(l["digest"]), "rb") as f:
        raw = gzip.decompress(f.read())
    got.append("sha256:" + hashlib.sha256(raw).hexdigest())
    t = tarfile.open(fileobj=io.BytesIO(raw), mode="r:", encoding="utf-8", errors="surrogateescape")
    layers.append((raw, {m.name: m for m in t.getmembers()}, [m.name for m in t.getmembers()]))
def check(name, cond, detail=""):
    print("ok\t%s" % name if cond else "fail\t%s\t%s" % (name, detail))
def hdr(raw, m):  # the 512-byte header block of member m (after any PAX/GNU extension)
    return raw[m.offset_data - 512:m.offset_data]
def entry(i, name):
    return layers[i][1].get(name)

check("python/gzip: uncompressed layers match the diff_ids", got == diff_ids, repr((got, diff_ids)))
L_DEB, L_CA, L_JAVA, L_FLINK, L_CLEAN, L_PLUG, L_PY = range(7)
# writers: Go archive/tar (umoci) writes POSIX ustar magic, GNU tar its old GNU magic
for i in (L_DEB, L_CA, L_JAVA, L_FLINK, L_CLEAN, L_PY):
    first = next(iter(layers[i][1].values()))
    check("tar: layer %d written by Go (ustar magic)" % (i + 1), hdr(layers[i][0], first)[257:265] == b"ustar\x0000")
first = next(iter(layers[L_PLUG][1].values()))
check("tar: layer 6 written by GNU tar (GNU magic)", hdr(layers[L_PLUG][0], first)[257:265] == b"ustar  \x00")

# UTF-8 names and link targets
f = entry(L_CA, q("PRODBASE_UTF8_FILE"))
check("utf8: the certificate file, a PAX path record", f is not None and f.isfile()
      and f.pax_headers.get("path") == q("PRODBASE_UTF8_FILE"), repr(f and f.pax_headers))
l = entry(L_CA, q("PRODBASE_UTF8_LINK"))
check("utf8: symlink with a UTF-8 name and target", l is not None and l.issym()
      and l.linkname == q("PRODBASE_UTF8_LINK_TARGET")
      and l.pax_headers.get("linkpath") == q("PRODBASE_UTF8_LINK_TARGET"), repr(l and (l.linkname, l.pax_headers)))
h = entry(L_CA, q("PRODBASE_UTF8_HASH_LINK"))
check("utf8: hash link to the UTF-8 .pem", h is not None and h.issym()
      and h.linkname == os.path.basename(q("PRODBASE_UTF8_LINK")), repr(h and h.linkname))
nonascii = [n for n in layers[L_CA][2] if not n.isascii()]
check("utf8: the ca layer has non-ASCII names", len(nonascii) >= 2, repr(nonascii))
pem_links = [m for m in layers[L_CA][1].values() if m.issym() and m.name.startswith("etc/ssl/certs/")
             and m.name.endswith(".pem") and m.linkname.startswith("/usr/share/ca-certificates/mozilla/")]
check("ca: over 100 .pem links to /usr/share/ca-certificates", len(pem_links) > 100, len(pem_links))
b = entry(L_CA, "etc/ssl/certs/ca-certificates.crt")
check("ca: the bundle", b is not None and b.isfile() and b.size > 100000, repr(b and b.size))

# hardlink
hl, ht = entry(L_FLINK, q("PRODBASE_HARDLINK")), entry(L_FLINK, q("PRODBASE_HARDLINK_TARGET"))
check("hardlink: a typeflag 1 entry", hl is not None and hl.type == tarfile.LNKTYPE
      and hl.linkname == q("PRODBASE_HARDLINK_TARGET"), repr(hl and (hl.type, hl.linkname)))
check("hardlink: its target is a regular file before it", ht is not None and ht.isfile()
      and layers[L_FLINK][2].index(ht.name) < layers[L_FLINK][2].index(hl.name))

# whiteouts
wj = q("PRODBASE_WHITEOUT_JAR")
wh = os.path.join(os.path.dirname(wj), ".wh." + os.path.basename(wj))
check("whiteout: the jar in the flink layer", entry(L_FLINK, wj) is not None and entry(L_FLINK, wj).isfile())
check("whiteout: .wh. entry in the cleanup layer", entry(L_CLEAN, wh) is not None, repr(layers[L_CLEAN][2]))
wd = q("PRODBASE_WHITEOUT_DIR")
whd = os.path.join(os.path.dirname(wd), ".wh." + os.path.basename(wd))
check("whiteout: directory from the packages", any(n.startswith(wd + "/") for n in layers[L_DEB][2]))
check("whiteout: one .wh. entry for the directory", entry(L_CLEAN, whd) is not None
      and not any(n.startswith(wd + "/") for n in layers[L_CLEAN][2]), repr(layers[L_CLEAN][2]))
check("whiteout: the cleanup layer holds only whiteouts",
      all(os.path.basename(n).startswith(".wh.") or entry(L_CLEAN, n).isdir() for n in layers[L_CLEAN][2]),
      repr(layers[L_CLEAN][2]))

# opaque directory
od = q("PRODBASE_OPAQUE_DIR")
names6 = layers[L_PLUG][2]
check("opaque: .wh..wh..opq right after its directory", names6[:2] == [od, od + "/.wh..wh..opq"], repr(names6[:3]))
check("opaque: the hidden file is in the flink layer", entry(L_FLINK, q("PRODBASE_OPAQUE_HIDDEN")) is not None)
check("opaque: and not in the plugins layer", entry(L_PLUG, q("PRODBASE_OPAQUE_HIDDEN")) is None)
check("opaque: the kept file is in the plugins layer", entry(L_PLUG, q("PRODBASE_OPAQUE_KEPT")) is not None)
check("opaque: no per-file whiteouts", not any(".wh." in n and not n.endswith(".wh..wh..opq") for n in names6))

# long names: USTAR prefix (Go), PAX path (Go), GNU ././@LongLink (GNU tar), PAX linkpath
lp = entry(L_FLINK, q("PRODBASE_LONG_PATH"))
raw4 = layers[L_FLINK][0]
check("long: path > 100 bytes", len(q("PRODBASE_LONG_PATH").encode()) > 100)
check("long: stored in the USTAR prefix field", lp is not None and not lp.pax_headers
      and hdr(raw4, lp)[345:500].rstrip(b"\0") != b"", repr(lp and (lp.pax_headers, hdr(raw4, lp)[345:500].rstrip(b"\0"))))
pl = entry(L_FLINK, q("PRODBASE_PAX_LONG_PATH"))
check("long: PAX path record", pl is not None and pl.pax_headers.get("path") == pl.name
      and len(os.path.basename(pl.name)) > 100)
gl = entry(L_PLUG, q("PRODBASE_GNU_LONG_PATH"))
raw6 = layers[L_PLUG][0]
check("long: GNU ././@LongLink entry", gl is not None and len(gl.name.encode()) > 100
      and raw6[gl.offset:gl.offset + 13] == b"././@LongLink" and raw6[gl.offset + 156:gl.offset + 157] == b"L",
      repr(gl and raw6[gl.offset:gl.offset + 16]))
ll = entry(L_FLINK, q("PRODBASE_LONG_LINK"))
check("long: symlink target > 100 bytes in a PAX linkpath record", ll is not None and ll.issym()
      and ll.linkname == q("PRODBASE_LONG_LINK_TARGET") and len(ll.linkname) > 100
      and ll.pax_headers.get("linkpath") == ll.linkname)

# setuid, device, non-UTF-8 name
s = entry(L_DEB, q("PRODBASE_SETUID"))
check("setuid: mode 4755, root", s is not None and s.isfile() and s.mode == 0o4755 and s.uid == 0,
      repr(s and (oct(s.mode), s.uid)))
dv = entry(L_DEB, q("PRODBASE_DEVICE"))
check("device: character device 1,3 0666 root", dv is not None and dv.ischr() and (dv.devmajor, dv.devminor) == (1, 3)
      and dv.mode == 0o666 and dv.uid == 0, repr(dv and (dv.type, dv.devmajor, dv.devminor, oct(dv.mode))))
lat = q("PRODBASE_LATIN1_FILE")
lf = entry(L_FLINK, lat)
check("latin1: the raw byte 0xe9 in the name", lf is not None and b"\xe9" in lat.encode("utf-8", "surrogateescape")
      and lf.pax_headers.get("path") == lat, repr(lf and lf.pax_headers))
try:
    lat.encode("utf-8")
    check("latin1: not valid UTF-8", False)
except UnicodeEncodeError:
    check("latin1: not valid UTF-8", True)

# owners, files replaced by an upper layer, links
check("owners: /opt/flink is 9999:9999", all(m.uid == 9999 and m.gid == 9999
      for n, m in layers[L_FLINK][1].items() if n.startswith("opt/flink")))
check("replaced: etc/passwd in layers 1 and 4", entry(L_DEB, "etc/passwd") is not None
      and entry(L_FLINK, "etc/passwd") is not None)
j = entry(L_JAVA, q("PRODBASE_ABSOLUTE_LINK"))
check("java: /usr/bin/java -> /etc/alternatives/java", j is not None and j.linkname == "/etc/alternatives/java")
a = entry(L_JAVA, "etc/alternatives/java")
check("java: /etc/alternatives/java -> JAVA_HOME/bin/java", a is not None
      and a.linkname == env[b"PRODBASE_JAVA_HOME"].decode() + "/bin/java")
dl = entry(L_JAVA, q("PRODBASE_DANGLING_LINK"))
check("java: lib/security/cacerts -> /etc/ssl/certs/java/cacerts", dl is not None and dl.issym()
      and dl.linkname == "/etc/ssl/certs/java/cacerts")
modules = entry(L_JAVA, env[b"PRODBASE_JAVA_HOME"].decode().lstrip("/") + "/lib/modules")
full = env.get(b"PRODBASE_FULL") == b"1"
check("java: lib/modules %s" % ("present (PRODBASE_FULL=1)" if full else "left out"),
      (modules is not None and modules.size > 50_000_000) if full else modules is None)
py_names = [n for n in layers[L_PY][2] if n.startswith(("usr/bin/python", "usr/lib/python3"))]
check("python: only in layer 7", py_names and not any(n.startswith(("usr/bin/python", "usr/lib/python3"))
      for i in range(6) for n in layers[i][2]))
check("python: usr/bin/python3 -> python3.11", entry(L_PY, "usr/bin/python3") is not None
      and entry(L_PY, "usr/bin/python3").linkname == "python3.11")
check("python: no usr/bin/python", entry(L_PY, "usr/bin/python") is None)
check("no usrlib", not any(n.startswith("opt/flink/usrlib") for i in range(7) for n in layers[i][2]))

# mtimes: packages keep theirs, the fixture's files get the epoch
epoch = int(env[b"PRODBASE_EPOCH"])
bash = entry(L_DEB, "usr/bin/bash")
check("mtime: usr/bin/bash keeps the package's", bash is not None and bash.mtime != epoch
      and bash.mtime < epoch + 10 * 365 * 86400, repr(bash and bash.mtime))
cfg = entry(L_FLINK, "opt/flink/conf/config.yaml")
check("mtime: conf/config.yaml has the fixture epoch", cfg is not None and cfg.mtime == epoch)
EOF

# GNU tar reads the same names (tar -t, literal quoting)
lay() { # N: path of the N-th (1-based) layer blob of the python gzip image
    local a
    read -r -a a <<<"${layers[python/gzip]:-}"
    printf '%s' "$tmp/python-gzip/blobs/sha256/${a[$1 - 1]#sha256:}"
}
# tar_lists N LINE [-F|-E]: GNU tar's listing of layer N (-tv with -F or -E) has LINE
tar_lists() {
    local f=$tmp/layer$1.tv
    [[ -f $f ]] || tar -tv --numeric-owner --quoting-style=literal -zf "$(lay "$1")" >"$f" || return 1
    if [[ -n ${3:-} ]]; then
        grep -q "$3" -- "$2" "$f"
    else # the name column: everything after the date and time
        sed -E 's/^([^ ]+ +){5}//; s/ (->|link to) .*$//' "$f" | grep -xF -- "$2" >/dev/null
    fi
}
t_check "tar -t: the UTF-8 certificate name" tar_lists 2 "$PRODBASE_UTF8_FILE"
t_check "tar -t: the latin-1 name (raw bytes)" tar_lists 4 "$PRODBASE_LATIN1_FILE"
t_check "tar -t: the whiteout" tar_lists 5 "opt/flink/lib/.wh.flink-removed-$PRODBASE_FLINK_VERSION.jar"
t_check "tar -t: the directory whiteout" tar_lists 5 "usr/share/.wh.man"
t_check "tar -t: the opaque marker" tar_lists 6 "$PRODBASE_OPAQUE_DIR/.wh..wh..opq"
t_check "tar -t: the GNU long name" tar_lists 6 "$PRODBASE_GNU_LONG_PATH"
t_check "tar -tv: the UTF-8 symlink" tar_lists 2 "$PRODBASE_UTF8_LINK -> $PRODBASE_UTF8_LINK_TARGET" -F
t_check "tar -tv: the hard link" tar_lists 4 "$PRODBASE_HARDLINK link to $PRODBASE_HARDLINK_TARGET" -F
t_check "tar -tv: dev/null" tar_lists 1 '^crw-rw-rw- 0/0 +1,3 .* dev/null$' -E
t_check "tar -tv: setuid mount" tar_lists 1 "^-rwsr-xr-x 0/0 .* $PRODBASE_SETUID\$" -E

# ---------------------------------------------------------------- the merged rootfs

r=$tmp/rootfs
if prodbase_unpack "$tmp/python-gzip" "$r"; then
    t_ok "unpack: prodbase_unpack python"
    st() { stat -c '%u:%g %a %F' -- "$r/$1" 2>&1; }
    expect "unpack: /opt/flink" "$(st opt/flink)" "9999:9999 755 directory"
    for sub in bin conf lib opt plugins log; do
        expect "unpack: /opt/flink/$sub" "$(st "opt/flink/$sub")" "9999:9999 755 directory"
    done
    t_check "unpack: no usrlib" test ! -e "$r/opt/flink/usrlib"
    expect "unpack: flink-dist jar" "$(st "opt/flink/lib/flink-dist-$PRODBASE_FLINK_VERSION.jar")" "9999:9999 644 regular file"
    expect "unpack: flink-python jar" "$(st "opt/flink/opt/flink-python-$PRODBASE_FLINK_VERSION.jar")" "9999:9999 644 regular file"
    t_check "unpack: flink-python jar is a jar" "$PYTHON" -m zipfile -t "$r/opt/flink/opt/flink-python-$PRODBASE_FLINK_VERSION.jar"
    expect "unpack: /docker-entrypoint.sh" "$(st docker-entrypoint.sh)" "0:0 755 regular file"
    t_check "unpack: user flink 9999" grep -qx 'flink:x:9999:9999::/opt/flink:/bin/sh' "$r/etc/passwd"
    t_check "unpack: group flink 9999" grep -qx 'flink:x:9999:' "$r/etc/group"
    t_check "unpack: root and daemon users kept" grep -q '^daemon:x:1:1:' "$r/etc/passwd"
    t_check "unpack: the whiteout jar is gone" test ! -e "$r/$PRODBASE_WHITEOUT_JAR" -a -d "$r/opt/flink/lib"
    # the python layer brings usr/share/man back (Python's man pages): deleted, then re-created
    t_check "unpack: the whiteout dir lost its old contents" test ! -e "$r/$PRODBASE_WHITEOUT_DIR/man1/ls.1.gz" \
        -a -e "$r/usr/share/doc/coreutils/copyright"
    t_check "unpack: python's man page in the re-created dir" test -f "$r/$PRODBASE_WHITEOUT_DIR/man1/python3.11.1.gz"
    t_check "unpack: the opaque dir hides the old plugin" test ! -e "$r/$PRODBASE_OPAQUE_HIDDEN" -a ! -e "$r/$PRODBASE_OPAQUE_DIR/metrics-jmx"
    t_check "unpack: the opaque dir has the new plugin" test -f "$r/$PRODBASE_OPAQUE_KEPT" -a -f "$r/$PRODBASE_GNU_LONG_PATH"
    t_check "unpack: the new plugins/README.txt" grep -q 'one sub-directory per plugin' "$r/$PRODBASE_OPAQUE_DIR/README.txt"
    t_check "unpack: no marker left" test ! -e "$r/$PRODBASE_OPAQUE_DIR/.wh..wh..opq"
    expect "unpack: hardlink shares the inode" "$(stat -c '%i %h' "$r/$PRODBASE_HARDLINK")" "$(stat -c '%i %h' "$r/$PRODBASE_HARDLINK_TARGET")"
    expect "unpack: UTF-8 link target" "$(readlink "$r/$PRODBASE_UTF8_LINK")" "$PRODBASE_UTF8_LINK_TARGET"
    t_check "unpack: UTF-8 link resolves in the rootfs" test -f "$r$(readlink "$r/$PRODBASE_UTF8_LINK")"
    t_check "unpack: latin-1 file" test -f "$r/$PRODBASE_LATIN1_FILE"
    expect "unpack: setuid mount" "$(st "$PRODBASE_SETUID")" "0:0 4755 regular file"
    expect "unpack: dev/null" "$(stat -c '%u:%g %a %F %t,%T' "$r/dev/null")" "0:0 666 character special file 1,3"
    expect "unpack: long path" "$(stat -c %s "$r/$PRODBASE_LONG_PATH")" "$(printf '# factory test fixture (prodbase)\nprint("kafka json")\n' | wc -c)"
    expect "unpack: long symlink" "$(readlink "$r/$PRODBASE_LONG_LINK")" "$PRODBASE_LONG_LINK_TARGET"
    expect "unpack: merged /usr" "$(readlink "$r/bin") $(readlink "$r/lib") $(readlink "$r/lib64") $(readlink "$r/sbin")" \
        "usr/bin usr/lib usr/lib64 usr/sbin"
    t_check "unpack: JAVA_HOME" test -x "$r$PRODBASE_JAVA_HOME/bin/java"
    expect "unpack: java alternatives" "$(readlink "$r/usr/bin/java") $(readlink "$r/etc/alternatives/java")" \
        "/etc/alternatives/java $PRODBASE_JAVA_HOME/bin/java"
    t_check "unpack: cacerts dangles" test -L "$r/$PRODBASE_DANGLING_LINK" -a ! -e "$r$(readlink "$r/$PRODBASE_DANGLING_LINK")"
    expect "unpack: python3 -> python3.11" "$(readlink "$r/usr/bin/python3")" python3.11
    # the dpkg database agrees with the provenance
    check_dpkg() {
        local n v a _s _l want got
        while read -r n v a _s _l; do
            [[ $n != \#* ]] || continue
            got=$(awk -v p="$n" '/^Package: / { cur = $2 } /^Version: / && cur == p { print $2; exit }' \
                "$r/var/lib/dpkg/status")
            [[ $got == "$v" ]] || { echo "$n: status says '$got', provenance '$v'"; return 1; }
            want=$n
            [[ -f $r/var/lib/dpkg/info/$want.list ]] || want=$n:$a
            [[ -f $r/var/lib/dpkg/info/$want.list ]] || { echo "no info/$n.list"; return 1; }
        done <"$PRODBASE_PROVENANCE"
    }
    t_check "dpkg: status and info/*.list match the provenance" check_dpkg
    t_check "dpkg: every package installed" sh -c '[ "$(grep -c "^Status: install ok installed" "$1")" = "$(grep -vc "^#" "$2")" ]' _ \
        "$r/var/lib/dpkg/status" "$PRODBASE_PROVENANCE"
    expect "provenance: packages" "$(grep -v '^#' "$PRODBASE_PROVENANCE" | awk '{ print $1 }' | sort | tr '\n' ' ')" \
        "$(printf '%s\n' "${_PRODBASE_OS_DEBS[@]}" "${_PRODBASE_CA_DEBS[@]}" "${_PRODBASE_JAVA_DEBS[@]}" "${_PRODBASE_PY_DEBS[@]}" | sort | tr '\n' ' ')"
    t_check "provenance: header" grep -q '^# PROVENANCE' "$PRODBASE_PROVENANCE"
    expect "provenance: nopython lists no python package" "$(prodbase_provenance nopython | grep -c ' python$' || true)" 0

    # run things in the image
    expect "chroot: /docker-entrypoint.sh help" "$(prodbase_chroot "$r" /docker-entrypoint.sh help 2>&1)" \
        "Usage: docker-entrypoint.sh (jobmanager|standalone-job|taskmanager|history-server)|help"
    expect "chroot: jobmanager runs as flink (gosu)" \
        "$(prodbase_chroot "$r" /docker-entrypoint.sh jobmanager 2>&1)" "jobmanager.sh start-foreground (user flink)"
    expect "chroot: Debian's python3" "$(prodbase_chroot_python "$r" -c 'import json, ssl, sys; print(sys.version_info[:2], sys.prefix)' 2>&1)" \
        "(3, 11) /usr"
    expect "chroot: the CA bundle verifies a certificate" \
        "$(prodbase_chroot "$r" openssl verify -CApath /etc/ssl/certs "/$PRODBASE_UTF8_FILE" 2>&1 | sed 's/^.*: //')" OK
    if [[ ${PRODBASE_FULL:-0} == 1 ]]; then
        t_check "chroot: java -version (full JRE)" prodbase_chroot "$r" java -version
    fi
else
    t_fail "unpack: prodbase_unpack python"
    r=
fi

# ---------------------------------------------------------------- the Python runtime

rt=$tmp/cpython-3.11-install_only.tar.gz
if prodbase_python_runtime "$rt"; then
    t_ok "runtime: prodbase_python_runtime"
    expect "runtime: PRODBASE_RUNTIME" "$PRODBASE_RUNTIME" "$rt"
    expect "runtime: PRODBASE_RUNTIME_SHA256" "$(sha256sum <"$rt" | cut -c1-64)" "$PRODBASE_RUNTIME_SHA256"
    expect "runtime: PRODBASE_RUNTIME_VERSION" "$PRODBASE_RUNTIME_VERSION" "${PRODBASE_RUNTIME_DEB_VERSION%%-*}"
    t_check "runtime: version 3.11.x" test "${PRODBASE_RUNTIME_VERSION%.*}" = 3.11
    "$PYTHON" - "$rt" "$PRODBASE_EPOCH" <<'EOF' | report
import sys, tarfile
path, epoch = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    head = f.read(10)
def check(name, cond, detail=""):
    print("ok\t%s" % name if cond else "fail\t%s\t%s" % (name, detail))
check("runtime: gzip without name or mtime", head[:3] == b"\x1f\x8b\x08" and head[3] & 0x08 == 0
      and head[4:8] == b"\0\0\0\0", repr(head))
t = tarfile.open(path)
ms = t.getmembers()
names = [m.name for m in ms]
by = {m.name: m for m in ms}
check("runtime: one top directory python/", set(n.split("/")[0] for n in names) == {"python"})
check("runtime: python/bin/python3.11", "python/bin/python3.11" in by and by["python/bin/python3.11"].isfile()
      and by["python/bin/python3.11"].mode & 0o111)
for link in ("python3", "python"):
    m = by.get("python/bin/" + link)
    check("runtime: python/bin/%s -> python3.11" % link, m is not None and m.issym() and m.linkname == "python3.11")
check("runtime: the standard library", "python/lib/python3.11/os.py" in by and "python/lib/python3.11/json/__init__.py" in by
      and any(n.startswith("python/lib/python3.11/lib-dynload/_ssl.") for n in names))
check("runtime: site-packages", "python/lib/python3.11/site-packages/README.txt" in by)
check("runtime: sitecustomize.py is a file", by.get("python/lib/python3.11/sitecustomize.py") is not None
      and by["python/lib/python3.11/sitecustomize.py"].isfile())
check("runtime: owners 0:0", all(m.uid == 0 and m.gid == 0 and not m.uname and not m.gname for m in ms))
check("runtime: mtimes", all(m.mtime == epoch for m in ms))
check("runtime: sorted", names == sorted(names))
check("runtime: no __pycache__", not any("__pycache__" in n for n in names))
check("runtime: no absolute or outside symlinks", all(not m.linkname.startswith("/") and ".." not in m.linkname
      for m in ms if m.issym()), [(m.name, m.linkname) for m in ms if m.issym() and (m.linkname.startswith("/") or ".." in m.linkname)])
EOF
    x="$tmp/somewhere else"
    mkdir -p "$x"
    tar -xzf "$rt" -C "$x"
    out=$(env -i PATH=/usr/bin:/bin "$x/python/bin/python3" -c 'import sys, json, ssl; print(sys.prefix); print(sys.path[-1])' 2>&1) || true
    expect "runtime: sys.prefix and site-packages (host)" "$out" "$x/python"$'\n'"$x/python/lib/python3.11/site-packages"
    expect "runtime: sysconfig purelib, site.getsitepackages()" \
        "$(env -i "$x/python/bin/python" -c 'import site, sysconfig; print(sysconfig.get_paths()["purelib"] == site.getsitepackages()[0])' 2>&1)" True
    expect "runtime: -S has no site-packages" \
        "$(env -i "$x/python/bin/python3" -S -c 'import sys; print(any(p.endswith("site-packages") for p in sys.path))' 2>&1)" False
    expect "runtime: frozen_modules=off agrees" \
        "$(env -i "$x/python/bin/python3" -X frozen_modules=off -c 'import sys; print(sys.path[-1])' 2>&1)" \
        "$x/python/lib/python3.11/site-packages"
    printf 'import sys; sys.stdout.write("pth\\n")\n' >"$x/python/lib/python3.11/site-packages/probe.pth"
    expect "runtime: .pth files in site-packages run" "$(env -i "$x/python/bin/python3" -c pass 2>&1)" pth
    if [[ -n $r ]]; then
        mkdir -p "$r/opt/python-standalone"
        tar -xzf "$rt" -C "$r/opt/python-standalone"
        expect "runtime: runs in the image (chroot)" \
            "$(PRODBASE_CHROOT_PYTHON=/opt/python-standalone/python/bin/python3 prodbase_chroot_python "$r" \
                -c 'import sys, json, ssl; print(sys.prefix, sys.path[-1])' 2>&1)" \
            "/opt/python-standalone/python /opt/python-standalone/python/lib/python3.11/site-packages"
    fi
    rt2=$tmp/again.tar.gz
    prodbase_python_runtime "$rt2"
    t_check "runtime: cached copy is identical" cmp "$rt" "$rt2"
else
    t_fail "runtime: prodbase_python_runtime"
fi

# ---------------------------------------------------------------- docker formats

a=$tmp/flink.tar
if prodbase_docker_archive "$a"; then
    t_ok "docker-archive: prodbase_docker_archive"
    expect "docker-archive: PRODBASE_ARCHIVE_REF" "$PRODBASE_ARCHIVE_REF" "docker-archive:$a"
    skopeo inspect --raw "docker-archive:$a" >"$tmp/archive.manifest.json"
    # skopeo's docker-archive reader says tar.gzip although the layer tars are not compressed
    expect "docker-archive: Docker schema2 (as skopeo reports it)" "$(pyq "$tmp/archive.manifest.json" '[j["mediaType"], j["config"]["mediaType"], sorted(set(l["mediaType"] for l in j["layers"]))]')" \
        '["application/vnd.docker.distribution.manifest.v2+json","application/vnd.docker.container.image.v1+json",["application/vnd.docker.image.rootfs.diff.tar.gzip"]]'
    expect "docker-archive: the OCI config" "$(pyq "$tmp/archive.manifest.json" 'j["config"]["digest"]')" "${config[python/gzip]:-}"
    tar -xOf "$a" manifest.json >"$tmp/archive-manifest.json"
    expect "docker-archive: manifest.json" "$(pyq "$tmp/archive-manifest.json" '[len(j), j[0]["RepoTags"], len(j[0]["Layers"])]')" \
        '[1,["docker.io/library/flink:1.19.2"],7]'
    t_check "docker-archive: uncompressed layers named by their diff_id" "$PYTHON" -c '
import hashlib, json, sys, tarfile
t = tarfile.open(sys.argv[1])
(m,) = json.load(t.extractfile("manifest.json"))
for name in m["Layers"]:
    h = hashlib.sha256()
    f = t.extractfile(name)
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    assert h.hexdigest() + ".tar" == name, name
    tarfile.open(fileobj=t.extractfile(name)).getmembers()  # a tar, not compressed
' "$a"
    t_check "docker-archive: legacy <id>/layer.tar symlinks" sh -c 'tar -tvf "$1" | grep -q "^l.* [0-9a-f]*/layer.tar -> ../[0-9a-f]*.tar$"' _ "$a"
else
    t_fail "docker-archive: prodbase_docker_archive"
fi

v=$tmp/v2s2
if prodbase_docker_dir "$v"; then
    t_ok "v2s2: prodbase_docker_dir"
    expect "v2s2: PRODBASE_V2S2_REF" "$PRODBASE_V2S2_REF" "dir:$v"
    expect "v2s2: media types" "$(pyq "$v/manifest.json" '[j["mediaType"], j["config"]["mediaType"], sorted(set(l["mediaType"] for l in j["layers"]))]')" \
        '["application/vnd.docker.distribution.manifest.v2+json","application/vnd.docker.container.image.v1+json",["application/vnd.docker.image.rootfs.diff.tar.gzip"]]'
    expect "v2s2: the gzip blobs" "$(pyq "$v/manifest.json" '" ".join(l["digest"] for l in j["layers"])')" "${layers[python/gzip]:-}"
    t_check "v2s2: skopeo inspect dir:" skopeo inspect "dir:$v"
else
    t_fail "v2s2: prodbase_docker_dir"
fi

dl=$tmp/docker-layout
if prodbase_docker_layout "$dl"; then
    t_ok "docker-layout: prodbase_docker_layout"
    t_check "docker-layout: blobs match their digests" check_blobs "$dl"
    expect "docker-layout: index.json points at a schema2 manifest" "$(pyq "$dl/index.json" '[(m["mediaType"], m["annotations"]["org.opencontainers.image.ref.name"]) for m in j["manifests"]]')" \
        "[[\"application/vnd.docker.distribution.manifest.v2+json\",\"$tag\"]]"
    expect "docker-layout: the manifest of prodbase_docker_dir" "$PRODBASE_DOCKER_LAYOUT_MANIFEST_DIGEST" "${PRODBASE_V2S2_MANIFEST_DIGEST:-}"
    rc=0
    skopeo inspect "oci:$dl:$tag" >/dev/null 2>&1 || rc=$?
    t_check "docker-layout: skopeo 1.9 cannot read it (documented)" test "$rc" -ne 0
else
    t_fail "docker-layout: prodbase_docker_layout"
fi

# ---------------------------------------------------------------- multi-arch index

m=$tmp/multi
if prodbase_index "$m"; then
    t_ok "index: prodbase_index"
    t_check "index: blobs match their digests" check_blobs "$m"
    skopeo inspect --raw "oci:$m:$tag" >"$tmp/index.json"
    expect "index: media type" "$(pyq "$tmp/index.json" 'j["mediaType"]')" application/vnd.oci.image.index.v1+json
    expect "index: digest" "sha256:$(sha256sum <"$tmp/index.json" | cut -c1-64)" "$PRODBASE_INDEX_DIGEST"
    expect "index: platforms" "$(pyq "$tmp/index.json" '[m["platform"] for m in j["manifests"]]')" \
        '[{"architecture":"amd64","os":"linux"},{"architecture":"arm64","os":"linux","variant":"v8"}]'
    expect "index: amd64 is the python gzip image" "$PRODBASE_AMD64_MANIFEST_DIGEST" "${manifest[python/gzip]:-}"
    for arch in amd64 arm64; do
        if skopeo inspect --override-os linux --override-arch "$arch" "oci:$m:$tag" >"$tmp/multi.$arch.json"; then
            expect "index: $arch resolves to $arch" "$(pyq "$tmp/multi.$arch.json" 'j["Architecture"]')" "$arch"
            expect "index: $arch layers" "$(pyq "$tmp/multi.$arch.json" '" ".join(j["Layers"])')" "${layers[python/gzip]:-}"
        else
            t_fail "index: skopeo inspect --override-arch $arch"
        fi
    done
    skopeo inspect --override-arch arm64 --config "oci:$m:$tag" >"$tmp/arm64.config.json"
    expect "index: arm64 config" "$(pyq "$tmp/arm64.config.json" '[j["architecture"], j["variant"], j["config"]["Entrypoint"]]')" \
        '["arm64","v8",["/docker-entrypoint.sh"]]'
    expect "index: arm64 config digest" \
        "$(pyq "$m/blobs/sha256/${PRODBASE_ARM64_MANIFEST_DIGEST#sha256:}" 'j["config"]["digest"]')" \
        "$PRODBASE_ARM64_CONFIG_DIGEST"
    expect "index: arm64 config = amd64 config but for the platform" \
        "$(pyq "$tmp/arm64.config.json" 'dict((k, v) for k, v in j.items() if k not in ("architecture", "variant"))')" \
        "$(pyq "$c" 'dict((k, v) for k, v in j.items() if k not in ("architecture", "variant"))')"
else
    t_fail "index: prodbase_index"
fi

# ---------------------------------------------------------------- errors and cache

rc=0
prodbase_build "$tmp/python-gzip" 2>/dev/null || rc=$?
expect "error: destination not empty" "$rc" 2
rc=0
prodbase_build "$tmp/x1" debian 2>/dev/null || rc=$?
expect "error: unknown variant" "$rc" 2
rc=0
prodbase_build "$tmp/x2" python lz4 2>/dev/null || rc=$?
expect "error: unknown compression" "$rc" 2
rc=0
prodbase_python_runtime "$rt" 2>/dev/null || rc=$?
expect "error: runtime destination exists" "$rc" 2
rc=0
prodbase_docker_archive "$a" 2>/dev/null || rc=$?
expect "error: archive exists" "$rc" 2

prodbase_build "$tmp/again" python gzip
expect "cache: same manifest" "$PRODBASE_MANIFEST_DIGEST" "${manifest[python/gzip]:-}"
t_check "cache: a real copy" test "$(stat -c %i "$tmp/python-gzip/index.json")" != "$(stat -c %i "$tmp/again/index.json")"

if [[ ${PRODBASE_TEST_REPRO:-0} == 1 ]]; then
    fresh=$(t_tmpdir)
    if (export TEST_CACHE=$fresh/cache PRODBASE_DEB_CACHE=${PRODBASE_DEB_CACHE:-$(_prodbase_test_cache)/debs}
        prodbase_build "$fresh/python" python gzip && prodbase_build "$fresh/nopython-zstd" nopython zstd &&
            prodbase_python_runtime "$fresh/rt.tar.gz"); then
        t_check "reproducible: python gzip" diff -r "$tmp/python-gzip" "$fresh/python"
        t_check "reproducible: nopython zstd" diff -r "$tmp/nopython-zstd" "$fresh/nopython-zstd"
        t_check "reproducible: runtime" cmp "$rt" "$fresh/rt.tar.gz"
    else
        t_fail "reproducible: fresh build"
    fi
fi
