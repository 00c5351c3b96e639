#!/usr/bin/env bash
# A base whose manifest gives a layer the wrong size is refused (the size would be copied
# into the manifest factory writes), naming the layer and both sizes; so is a layer whose
# bytes are not the compression its media type declares.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/image.sh"
t_need_factory

tmp=$(t_tmpdir)
PYTHON=${PYTHON:-/usr/bin/python3}
image_build_base "$tmp/base" python
# lie LAYOUT HOW: rewrite the tagged manifest's first layer (size+1, or bzip2 bytes under gzip)
lie() {
    "$PYTHON" - "$1" "$2" <<'PY'
import bz2, gzip, hashlib, json, os, sys
d, how = sys.argv[1:]
idx = json.load(open(d + "/index.json"))
desc = idx["manifests"][0]
blob = lambda h: os.path.join(d, "blobs/sha256", h)
m = json.load(open(blob(desc["digest"][7:])))
layer = m["layers"][0]
if how == "size":
    layer["size"] += 1
else:
    raw = gzip.decompress(open(blob(layer["digest"][7:]), "rb").read())
    data = bz2.compress(raw)
    h = hashlib.sha256(data).hexdigest()
    open(blob(h), "wb").write(data)
    layer["digest"], layer["size"] = "sha256:" + h, len(data)
text = json.dumps(m, separators=(",", ":")).encode()
h = hashlib.sha256(text).hexdigest()
open(blob(h), "wb").write(text)
desc["digest"], desc["size"] = "sha256:" + h, len(text)
json.dump(idx, open(d + "/index.json", "w"))
PY
}
cat > "$tmp/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
cache: {dir: $tmp/cache}
YAML
recipe() { # DIR BASE
    mkdir -p "$1/jobs"
    printf 'print(1)\n' > "$1/jobs/main.py"
    cat > "$1/recipe.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: liar}
flink: {version: 1.19.2, image: "oci:$2:1.19.2"}
image: {repository: team/liar}
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
}
cp -r "$tmp/base" "$tmp/size"
lie "$tmp/size" size
recipe "$tmp/a" "$tmp/size"
rc=0
"$FACTORY" build --config "$tmp/factory.yaml" -o "$tmp/out-a" "$tmp/a/recipe.yaml" > "$tmp/log" 2>&1 || rc=$?
t_check "a layer descriptor with the wrong size is refused, naming both sizes" sh -c \
    '[ "$1" -eq 1 ] && grep -q "its descriptor says [0-9]* bytes but the blob has" "$2" && [ ! -e "$3/liar" ]' _ "$rc" "$tmp/log" "$tmp/out-a"
cp -r "$tmp/base" "$tmp/bzip"
lie "$tmp/bzip" bzip2
recipe "$tmp/b" "$tmp/bzip"
rc=0
"$FACTORY" build --config "$tmp/factory.yaml" -o "$tmp/out-b" "$tmp/b/recipe.yaml" > "$tmp/log" 2>&1 || rc=$?
t_check "bzip2 bytes under a gzip media type are refused" sh -c '[ "$1" -eq 1 ] && [ ! -e "$2/liar" ]' _ "$rc" "$tmp/out-b"
