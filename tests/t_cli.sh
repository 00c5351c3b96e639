#!/usr/bin/env bash
# The command line as a whole: every command's -h and `factory help CMD` print its own usage
# (generated from its option table); usage errors exit 2 with the usage on stderr; --json is
# exactly one document with the documented fields, on success and on failure; -v shows each
# HTTP request and never a password, a base64 credential or a token; progress redraws a
# line on a terminal and nowhere else; push finds its configuration through $FACTORY_CONFIG;
# --version names the commit.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/image.sh"
. "$TESTS_DIR/registry.sh"
t_need_factory

tmp=$(t_tmpdir)
CMDS=(fetch lock build push pull inspect render validate)

# ---------------------------------------------------------------- usage, no server needed

for c in "${CMDS[@]}"; do
    rc=0; "$FACTORY" "$c" -h > "$tmp/h.$c" 2> "$tmp/h.$c.err" || rc=$?
    rc2=0; "$FACTORY" help "$c" > "$tmp/help.$c" 2>&1 || rc2=$?
    rc3=0; "$FACTORY" "$c" --help > "$tmp/hh.$c" 2>&1 || rc3=$?
    if [[ $rc -eq 0 && $rc2 -eq 0 && $rc3 -eq 0 && ! -s $tmp/h.$c.err ]] && head -n 1 "$tmp/h.$c" | grep -q "^usage: factory $c " &&
       grep -q -- "-h, --help" "$tmp/h.$c" && cmp -s "$tmp/h.$c" "$tmp/help.$c" && cmp -s "$tmp/h.$c" "$tmp/hh.$c"; then
        t_ok "$c -h, --help and 'factory help $c' print its own usage (rc 0)"
    else
        t_fail "$c -h, --help and 'factory help $c' print its own usage (rc 0)" "rc $rc/$rc2/$rc3: $(head -n 2 "$tmp/h.$c" "$tmp/help.$c")"
    fi
    rc=0; "$FACTORY" "$c" --no-such-option x > "$tmp/u.out" 2> "$tmp/u.err" || rc=$?
    if [[ $rc -eq 2 && ! -s $tmp/u.out ]] && grep -q "unknown option '--no-such-option'" "$tmp/u.err" &&
       grep -q "^usage: factory $c " "$tmp/u.err"; then
        t_ok "$c: an unknown option is a usage error (rc 2, usage on stderr)"
    else
        t_fail "$c: an unknown option is a usage error (rc 2, usage on stderr)" "rc $rc: $(cat "$tmp/u.err")"
    fi
done

# The --json option every command has is in its help; lock does not offer --frozen.
for c in "${CMDS[@]}"; do grep -q -- "--json" "$tmp/h.$c" || echo "$c" ; done > "$tmp/nojson"
[[ ! -s $tmp/nojson ]] && t_ok "every command offers --json" || t_fail "every command offers --json" "$(cat "$tmp/nojson")"
if ! grep -q -- "--frozen" "$tmp/h.lock" && grep -q -- "--frozen" "$tmp/h.fetch" && grep -q -- "--frozen" "$tmp/h.build"; then
    t_ok "lock does not advertise --frozen (fetch and build do)"
else
    t_fail "lock does not advertise --frozen (fetch and build do)" "$(cat "$tmp/h.lock")"
fi
rc=0; "$FACTORY" lock --frozen r.yaml > /dev/null 2>&1 || rc=$?
t_check "lock --frozen: rc 2" test "$rc" -eq 2

usage_rc() { # NAME WANT_RC WANT_STDERR ARGS...
    local name=$1 want=$2 grepfor=$3 rc=0
    shift 3
    "$FACTORY" "$@" > "$tmp/ur.out" 2> "$tmp/ur.err" || rc=$?
    if [[ $rc -eq $want ]] && grep -q -- "$grepfor" "$tmp/ur.err"; then
        t_ok "$name"
    else
        t_fail "$name" "rc $rc: $(head -n 3 "$tmp/ur.err")"
    fi
}
for c in fetch lock build; do
    usage_rc "$c -j abc: a usage error, not the default" 2 "'abc' is not a whole number" "$c" -j abc r.yaml
done
usage_rc "fetch -j 0: out of range" 2 "'0' is not a whole number from 1 to 64" fetch -j 0 r.yaml
usage_rc "fetch --parallel=12x: a usage error" 2 "'12x' is not a whole number" fetch --parallel=12x r.yaml
usage_rc "build -o without its value: a usage error" 2 "needs a value" build r.yaml -o
usage_rc "render without a recipe: a usage error" 2 "missing RECIPE" render
usage_rc "render with two recipes: a usage error" 2 "unexpected argument" render a.yaml b.yaml
usage_rc "--json takes no value" 2 "takes no value" validate --json=yes r.yaml
usage_rc "inspect with no layout: a usage error" 2 "missing IMAGE_LAYOUT_DIR" inspect
usage_rc "factory help NOSUCH: rc 2" 2 "'nosuch' is not a command" help nosuch
usage_rc "factory NOSUCH: rc 2" 2 "'nosuch' is not a command" nosuch
rc=0; "$FACTORY" help > "$tmp/help" 2>&1 || rc=$?
if [[ $rc -eq 0 ]] && grep -q "^  build " "$tmp/help" && grep -q "^  validate " "$tmp/help"; then
    t_ok "factory help lists the commands (rc 0)"
else
    t_fail "factory help lists the commands (rc 0)" "rc $rc"
fi
# Options may follow the arguments (GNU style), flags bundle, -- ends the options.
rc=0; "$FACTORY" render "$REPO/recipes/word-count.yaml" -qo "$tmp/r1" --catalog "$REPO/connectors" > "$tmp/r1.out" 2>&1 || rc=$?
[[ $rc -eq 0 && ! -s $tmp/r1.out && -f $tmp/r1/word-count/manifests/flinkdeployment.yaml ]] &&
    t_ok "options after the argument, bundled -qo DIR" || t_fail "options after the argument, bundled -qo DIR" "rc $rc: $(cat "$tmp/r1.out")"

out=$("$FACTORY" --version)
commit=$(sed -nE 's/^factory [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12})\)$/\1/p' <<< "$out")
if [[ -n $commit ]] && git -C "$REPO" cat-file -e "$commit^{commit}" 2>/dev/null; then
    t_ok "--version names the commit it was built from ($commit)"
else
    t_fail "--version names the commit it was built from" "$out"
fi

# ---------------------------------------------------------------- JSON without a server

# json_check NAME FILE PYTHON_ASSERTIONS [ARG...]: FILE must be exactly one JSON document (d)
# whose common fields are right; then the assertions run (ARGs are sys.argv[3:]).
json_check() {
    local name=$1 file=$2 code=$3
    shift 3
    if "$PYTHON" - "$file" "$code" "$@" >&2 <<'PY'; then t_ok "$name"; else t_fail "$name" "$(head -c 600 "$file")"; fi
import json, sys
text = open(sys.argv[1]).read()
d, end = json.JSONDecoder().raw_decode(text)
assert text[end:].strip() == "", "more than one document"
assert set(["command", "ok", "diagnostics", "error"]) <= set(d), sorted(d)
assert isinstance(d["ok"], bool)
for g in d["diagnostics"]:
    assert set(g) == {"file", "line", "col", "severity", "message"}, g
    assert g["severity"] in ("error", "warning"), g
if d["ok"]:
    assert d["error"] is None, d["error"]
else:
    assert set(d["error"]) == {"code", "message"} and d["error"]["message"], d["error"]
    assert d["error"]["code"] in ("io", "invalid", "limit", "internal", "not-found", "auth", "conflict",
                                  "interrupted", "network"), d["error"]
exec(sys.argv[2])
PY
}

rc=0; "$FACTORY" validate --json --catalog "$REPO/connectors" "$REPO/recipes/word-count.yaml" > "$tmp/v.json" || rc=$?
json_check "validate --json: ok, one entry per recipe" "$tmp/v.json" '
assert d["command"] == "validate" and d["ok"] and d["diagnostics"] == []
assert d["recipes"] == [{"recipe": sys.argv[3], "app": "word-count", "ok": True, "errors": 0}], d["recipes"]
' "$REPO/recipes/word-count.yaml"
bad=$REPO/tests/bad-recipes/02-unknown-nested-key.yaml
rc=0; "$FACTORY" validate --json --catalog "$REPO/connectors" "$bad" "$REPO/recipes/word-count.yaml" > "$tmp/v2.json" 2> "$tmp/v2.err" || rc=$?
[[ $rc -eq 1 && ! -s $tmp/v2.err ]] && t_ok "validate --json of a bad recipe: rc 1, nothing on stderr" || t_fail "validate --json of a bad recipe: rc 1, nothing on stderr" "rc $rc: $(cat "$tmp/v2.err")"
json_check "validate --json: the diagnostics with file, line and column" "$tmp/v2.json" '
assert not d["ok"] and d["error"]["code"] == "invalid"
g = d["diagnostics"][0]
assert g["file"].endswith("02-unknown-nested-key.yaml") and g["line"] == 12 and g["col"] == 3 and g["severity"] == "error", g
assert "paralelism" in g["message"], g
assert [r["ok"] for r in d["recipes"]] == [False, True], d["recipes"]
'
rc=0; "$FACTORY" render --json --catalog "$REPO/connectors" -o "$tmp/r2" "$REPO/recipes/word-count.yaml" > "$tmp/render.json" || rc=$?
json_check "render --json: the manifests written" "$tmp/render.json" '
import os
assert d["command"] == "render" and d["ok"] and d["app"] == "word-count"
m = d["manifests"]
assert set(m) == {"dir", "files", "scriptsHash", "image"}, m
assert "flinkdeployment.yaml" in m["files"] and all(os.path.exists(os.path.join(m["dir"], f)) for f in m["files"])
assert m["scriptsHash"] and m["image"]
'
rc=0; "$FACTORY" render --json --catalog "$REPO/connectors" -o "$tmp/r3" "$bad" > "$tmp/render-bad.json" 2>/dev/null || rc=$?
json_check "render --json of a bad recipe: ok false with its diagnostics, rc 1" "$tmp/render-bad.json" '
assert not d["ok"] and d["manifests"] is None and d["diagnostics"][0]["line"] == 12
assert int(sys.argv[3]) == 1
' "$rc"
rc=0; "$FACTORY" inspect --json "$tmp/no-such-layout" > "$tmp/inspect-bad.json" 2>/dev/null || rc=$?
json_check "inspect --json of a missing layout: ok false, an io error, rc 1" "$tmp/inspect-bad.json" '
assert not d["ok"] and d["error"]["code"] == "io" and int(sys.argv[3]) == 1, d
' "$rc"

# ---------------------------------------------------------------- against real servers

maven_build_repo "$tmp/repo" 3
maven_serve "$tmp/repo"
image_build_base "$tmp/base" python
registry_start reg --tls --auth
registry_push_base reg "$tmp/base" 1.19.2 flink/base
BASE_DIGEST=$REGISTRY_PUSHED_DIGEST

export TEST_MAVEN_USER=$MAVEN_FIXTURE_USER TEST_MAVEN_PASSWORD=$MAVEN_FIXTURE_PASSWORD
export TEST_REG_USER=$REG_USER TEST_REG_PASSWORD=$REG_PASSWORD
mkdir -p "$tmp/cfg"
cat > "$tmp/cfg/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
catalog: $REPO/connectors
maven:
  repositories:
    - name: private
      url: $MAVEN_URL_PRIVATE
      username: \${TEST_MAVEN_USER}
      password: \${TEST_MAVEN_PASSWORD}
registries:
  - {host: "$REG_HOST", ca: "$REG_CA", credentials: env, username: "\${TEST_REG_USER}", password: "\${TEST_REG_PASSWORD}"}
cache: {dir: $tmp/cache}
YAML
mkdir -p "$tmp/app/jobs"
printf 'print("job")\n' > "$tmp/app/jobs/main.py"
{
    cat <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: cli-app}
flink: {version: 1.19.2, image: "$REG_HOST/flink/base:1.19.2"}
image:
  registry: "$REG_HOST"
  repository: team/cli-app
  tags: ["1.0"]
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
connectors:
YAML
    grep '^org.example.fixture:' "$MAVEN_FIXTURE_COORDS" | sed 's/^/  - maven: /'
} > "$tmp/app/recipe.yaml"
njars=$(grep -c '^org.example.fixture:' "$MAVEN_FIXTURE_COORDS")
B64_MAVEN=$(printf '%s:%s' "$MAVEN_FIXTURE_USER" "$MAVEN_FIXTURE_PASSWORD" | base64)
B64_REG=$(printf '%s:%s' "$REG_USER" "$REG_PASSWORD" | base64)

# no_secret NAME FILE...: no password, no base64 user:password, no Authorization header, no JWT.
no_secret() {
    local name=$1 hits
    shift
    hits=$(grep -l -F -e "$MAVEN_FIXTURE_PASSWORD" -e "$REG_PASSWORD" -e "$B64_MAVEN" -e "$B64_REG" \
        -e "Authorization" -e "authorization:" -e "eyJ" "$@" 2>/dev/null || true)
    [[ -z $hits ]] && t_ok "$name" || t_fail "$name" "found in $hits"
}

rc=0; "$FACTORY" fetch --config "$tmp/cfg/factory.yaml" --json -v "$tmp/app/recipe.yaml" > "$tmp/fetch.json" 2> "$tmp/fetch.err" || rc=$?
json_check "fetch --json: every artifact, the lock and the counts" "$tmp/fetch.json" '
import os
n = int(sys.argv[3])
assert d["command"] == "fetch" and d["ok"] and d["lockChanged"] is True, d
assert os.path.exists(d["lock"]) and d["downloaded"] == n and d["cached"] == 0 and d["failed"] == 0, d
assert d["requests"] >= n and d["bytes"] > 0 and d["retries"] == 0
for a in d["artifacts"]:
    assert a["state"] == "downloaded" and os.path.exists(a["path"]) and len(a["sha256"]) == 64 and a["size"] > 0, a
    assert a["repository"].endswith("/private"), a
assert d["base"]["digest"] == sys.argv[4], d["base"]
' "$njars" "$BASE_DIGEST"
if [[ $rc -eq 0 ]] && grep -qE "^http: GET http://127\.0\.0\.1:$MAVEN_PORT/private/org/example/fixture/.*\.jar -> 200 \(received [0-9]+ bytes\)$" "$tmp/fetch.err" &&
   grep -qE "^http: GET https://$REG_HOST/v2/flink/base/manifests/1\.19\.2 -> (200|401)" "$tmp/fetch.err"; then
    t_ok "fetch -v: each Maven and registry request with its status and size"
else
    t_fail "fetch -v: each Maven and registry request with its status and size" "rc $rc: $(head -n 5 "$tmp/fetch.err")"
fi
no_secret "fetch -v --json: no password, base64 credential or token on stdout or stderr" "$tmp/fetch.json" "$tmp/fetch.err"

rc=0; "$FACTORY" lock --config "$tmp/cfg/factory.yaml" --json "$tmp/app/recipe.yaml" > "$tmp/lock.json" 2> "$tmp/lock.err" || rc=$?
json_check "lock --json: everything resolved again, the same lock" "$tmp/lock.json" '
assert d["command"] == "lock" and d["ok"] and d["lockChanged"] is False and d["downloaded"] == int(sys.argv[3]), d
' "$njars"
[[ ! -s $tmp/lock.err ]] && t_ok "lock --json: nothing on stderr" || t_fail "lock --json: nothing on stderr" "$(cat "$tmp/lock.err")"

rc=0; "$FACTORY" fetch --config "$tmp/cfg/factory.yaml" --json "$tmp/app/nope.yaml" > "$tmp/fetch-bad.json" 2>/dev/null || rc=$?
json_check "fetch --json of a missing recipe: ok false, rc 1" "$tmp/fetch-bad.json" '
assert not d["ok"] and d["artifacts"] == [] and d["error"]["code"] == "io" and int(sys.argv[3]) == 1, d
' "$rc"
cp -r "$tmp/app" "$tmp/app-missing"
echo "  - maven: org.example.fixture:no-such-artifact:9.9.9" >> "$tmp/app-missing/recipe.yaml"
rc=0; "$FACTORY" fetch --config "$tmp/cfg/factory.yaml" --json "$tmp/app-missing/recipe.yaml" > "$tmp/fetch-404.json" 2> "$tmp/fetch-404.err" || rc=$?
json_check "fetch --json of an artifact no repository has: the failed item and the error" "$tmp/fetch-404.json" '
failed = [a for a in d["artifacts"] if a["state"] == "failed"]
assert not d["ok"] and d["failed"] == 1 and len(failed) == 1 and "no-such-artifact" in failed[0]["error"], d
assert int(sys.argv[3]) == 1
' "$rc"

rc=0; "$FACTORY" build --config "$tmp/cfg/factory.yaml" --json -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/build.json" 2> "$tmp/build.err" || rc=$?
json_check "build --json: the image, its layers and the manifests" "$tmp/build.json" '
import os
assert d["command"] == "build" and d["ok"] and d["app"] == "cli-app" and os.path.isdir(d["appDir"]), d
i = d["image"]
assert set(i) == {"dir", "digest", "config", "tag", "reference", "baseLayers", "built", "reused", "layers"}, sorted(i)
assert i["digest"].startswith("sha256:") and i["baseLayers"] == 3 and i["built"] + i["reused"] == len(i["layers"]) - 3, i
assert i["reference"] == sys.argv[3] + "/team/cli-app@" + i["digest"], i["reference"]
assert all(set(l) == {"digest", "size", "mediaType", "base"} for l in i["layers"])
assert d["manifests"]["image"] == i["reference"] and d["pushed"] is None and d["artifacts"], d
' "$REG_HOST"
image_digest=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["digest"])' "$tmp/build.json" 2>/dev/null || true)

rc=0; "$FACTORY" inspect --json "$tmp/out/cli-app/image" > "$tmp/inspect.json" || rc=$?
json_check "inspect --json: the manifest, config and each layer with its files" "$tmp/inspect.json" '
assert d["command"] == "inspect" and d["ok"] and d["digest"] == sys.argv[3] and d["tag"] == "1.0", d.get("digest")
assert d["config"]["os"] == "linux" and d["config"]["architecture"] == "amd64"
own = [l for l in d["layers"] if l["inLayout"] and l["files"]]
assert own and all(set(f) >= {"path", "mode", "uid", "gid", "size"} for l in own for f in l["files"])
assert any(f["path"].startswith("opt/flink/usrlib/") for l in own for f in l["files"]), own
' "$image_digest"
"$FACTORY" inspect "$tmp/out/cli-app/image" > "$tmp/inspect.txt"
t_check "inspect: the human listing is unchanged" sh -c 'grep -q "^image     $1" "$2" && grep -q "^layer 1 " "$2"' _ "$image_digest" "$tmp/inspect.txt"

# A failing build: still one document, with the recipe's diagnostics.
cp -r "$tmp/app" "$tmp/app-bad"
sed -i 's/^jobManager: {memory: 1g}$/jobManager: {memory: 1g, memroy: 2g}/' "$tmp/app-bad/recipe.yaml"
rc=0; "$FACTORY" build --config "$tmp/cfg/factory.yaml" --json -o "$tmp/out-bad" "$tmp/app-bad/recipe.yaml" > "$tmp/build-bad.json" 2> "$tmp/build-bad.err" || rc=$?
json_check "build --json of a bad recipe: ok false, the diagnostics at their line, rc 1" "$tmp/build-bad.json" '
assert not d["ok"] and d["error"]["code"] == "invalid" and d["image"] is None and d["manifests"] is None, d
g = [g for g in d["diagnostics"] if g["severity"] == "error"]
assert g and g[0]["file"].endswith("recipe.yaml") and g[0]["line"] == 10 and g[0]["col"] > 1 and "memroy" in g[0]["message"], g
assert int(sys.argv[3]) == 1
' "$rc"
[[ ! -s $tmp/build-bad.err && ! -e $tmp/out-bad ]] && t_ok "build --json of a bad recipe: nothing on stderr, nothing written" ||
    t_fail "build --json of a bad recipe: nothing on stderr, nothing written" "$(cat "$tmp/build-bad.err")"
rc=0; "$FACTORY" build --config "$tmp/cfg/factory.yaml" -o "$tmp/out-bad" "$tmp/app-bad/recipe.yaml" > /dev/null 2> "$tmp/build-bad.txt" || rc=$?
t_check "build of a bad recipe without --json: file:line:col on stderr as before" \
    grep -q "recipe.yaml:10:[0-9]*: error: .*memroy" "$tmp/build-bad.txt"

# Push: -v shows the registry requests (query values hidden) and no secret.
rc=0; "$FACTORY" build --config "$tmp/cfg/factory.yaml" --push --json -v -o "$tmp/out" "$tmp/app/recipe.yaml" > "$tmp/bpush.json" 2> "$tmp/bpush.err" || rc=$?
json_check "build --push --json: what was pushed, by digest and tag" "$tmp/bpush.json" '
p = d["pushed"]
assert d["ok"] and set(p) == {"reference", "references", "uploaded", "mounted", "existing", "uploadedBytes",
                             "unchanged", "baseLayersRelayed", "baseRelayedBytes", "baseLayersLeft",
                             "attached", "referrersTag", "warnings"}, p
assert isinstance(p["attached"], list) and p["warnings"] == [], p
assert not p["unchanged"] and p["uploadedBytes"] > 0, p
assert p["reference"] == sys.argv[3] + "/team/cli-app@" + d["image"]["digest"], p
assert p["references"][1:] == [sys.argv[3] + "/team/cli-app:1.0"], p
assert p["uploaded"] + p["mounted"] + p["existing"] == len(d["image"]["layers"]) + 1, p
' "$REG_HOST"
if grep -qE "^http: HEAD https://$REG_HOST/v2/team/cli-app/blobs/sha256:[0-9a-f]{64} -> (200|401|404)" "$tmp/bpush.err" &&
   grep -qE "^http: PUT https://$REG_HOST/v2/team/cli-app/manifests/1\.0 -> 201 \(sent [0-9]+ bytes" "$tmp/bpush.err" &&
   ! grep -E "^http: " "$tmp/bpush.err" | grep -qE '_state=[^*]|digest=sha'; then
    t_ok "push -v: HEAD, uploads and manifests with their status; query values hidden"
else
    t_fail "push -v: HEAD, uploads and manifests with their status; query values hidden" "$(grep -E '^http: (PUT|POST)' "$tmp/bpush.err" | head -n 3)"
fi
no_secret "push -v --json: no password, base64 credential or token" "$tmp/bpush.json" "$tmp/bpush.err"

# push finds its configuration through $FACTORY_CONFIG (there is no factory.yaml above $tmp/out).
rc=0; "$FACTORY" push "$tmp/out/cli-app" > "$tmp/push-nocfg" 2>&1 || rc=$?
[[ $rc -eq 1 ]] && t_ok "push without a configuration: the registry's CA is unknown, rc 1" || t_fail "push without a configuration: the registry's CA is unknown, rc 1" "rc $rc: $(cat "$tmp/push-nocfg")"
rc=0; FACTORY_CONFIG=$tmp/cfg/factory.yaml "$FACTORY" push --json "$tmp/out/cli-app" > "$tmp/push.json" 2> "$tmp/push.err" || rc=$?
json_check "push with FACTORY_CONFIG --json: the second time, the tags already name the image: nothing sent" "$tmp/push.json" '
p = d["pushed"]
assert d["command"] == "push" and d["ok"] and p["unchanged"] and p["uploaded"] == 0 and p["uploadedBytes"] == 0, p
assert d["appDir"] == sys.argv[3], d
' "$tmp/out/cli-app"
rc=0; FACTORY_CONFIG=$tmp/cfg/factory.yaml "$FACTORY" push "$tmp/out/cli-app" > "$tmp/push.txt" 2> "$tmp/push.txt.err" || rc=$?
if [[ $rc -eq 0 ]] && grep -q "^pushed $REG_HOST/team/cli-app@$image_digest (already there under every tag: nothing sent)" "$tmp/push.txt" &&
   [[ ! -s $tmp/push.txt.err ]]; then
    t_ok "push with FACTORY_CONFIG: an image already there, the human summary"
else
    t_fail "push with FACTORY_CONFIG: an image already there, the human summary" "rc $rc: $(cat "$tmp/push.txt" "$tmp/push.txt.err")"
fi
# Without the record of the last push, every blob is asked about.
"$PYTHON" - "$tmp/out/cli-app/bundle.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
del d["pushed"]
json.dump(d, open(sys.argv[1], "w"), sort_keys=True, separators=(",", ":"))
PY
rc=0; FACTORY_CONFIG=$tmp/cfg/factory.yaml "$FACTORY" push "$tmp/out/cli-app" > "$tmp/push.txt" 2> "$tmp/push.txt.err" || rc=$?
if [[ $rc -eq 0 ]] && grep -q "^pushed $REG_HOST/team/cli-app@$image_digest (0 blobs uploaded, 0 mounted" "$tmp/push.txt" &&
   grep -qE "^exists +sha256:[0-9a-f]{64} \(" "$tmp/push.txt.err"; then
    t_ok "push with FACTORY_CONFIG: the human summary, a plain line per blob off a terminal"
else
    t_fail "push with FACTORY_CONFIG: the human summary, a plain line per blob off a terminal" "rc $rc: $(cat "$tmp/push.txt" "$tmp/push.txt.err")"
fi
rc=0; FACTORY_CONFIG=$tmp/cfg/factory.yaml "$FACTORY" push -q "$tmp/out/cli-app" > "$tmp/push-q" 2>&1 || rc=$?
[[ $rc -eq 0 && ! -s $tmp/push-q ]] && t_ok "push -q: silent" || t_fail "push -q: silent" "$(cat "$tmp/push-q")"

rc=0; FACTORY_CONFIG=$tmp/cfg/factory.yaml "$FACTORY" pull --json -v "$REG_HOST/flink/base:1.19.2" > "$tmp/pull.json" 2> "$tmp/pull.err" || rc=$?
json_check "pull with FACTORY_CONFIG --json: the platform's manifest digest" "$tmp/pull.json" '
assert d["command"] == "pull" and d["ok"] and d["digest"] == sys.argv[3] and d["layers"] == 3, d
assert d["platform"] == "linux/amd64" and d["config"].startswith("sha256:") and d["cacheDir"], d
' "$BASE_DIGEST"
no_secret "pull -v --json: no password, base64 credential or token" "$tmp/pull.json" "$tmp/pull.err"

# Progress: redrawn on a terminal, never off one, never with -q or --json.
if command -v script > /dev/null; then
    rm -rf "$tmp/cache-tty"
    sed "s#cache: {dir: $tmp/cache}#cache: {dir: $tmp/cache-tty}#" "$tmp/cfg/factory.yaml" > "$tmp/tty.yaml"
    script -qec "$(printf '%q ' "$FACTORY" build --config "$tmp/tty.yaml" -o "$tmp/out-tty" "$tmp/app/recipe.yaml")" /dev/null \
        > "$tmp/tty.log" 2>&1 || true
    if grep -q $'\r\033\[K' "$tmp/tty.log" && grep -q "fetching" "$tmp/tty.log" && grep -q "built $tmp/out-tty/cli-app/image: sha256:" "$tmp/tty.log"; then
        t_ok "build on a terminal: a progress line, then the summary"
    else
        t_fail "build on a terminal: a progress line, then the summary" "$(head -c 300 "$tmp/tty.log" | od -c | head -n 5)"
    fi
else
    t_skip "build on a terminal: a progress line, then the summary" "no script(1)"
fi
if ! grep -q $'\033\[K' "$tmp/build.err" "$tmp/push.txt.err" "$tmp/bpush.err"; then
    t_ok "off a terminal: no progress line"
else
    t_fail "off a terminal: no progress line"
fi
exit 0
