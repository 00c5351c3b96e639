#!/usr/bin/env bash
# Files a recipe names are read only where their path really leads inside the recipe's (or
# the templates') directory, and only if they are regular files: a symbolic link to
# /etc/shadow, a template linked to a kubeconfig, a FIFO, /dev/zero are refused at once with
# an error naming the key, and nothing is written. A link that stays inside is fine.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
secret=$tmp/outside/secret.txt
mkdir -p "$tmp/outside"
echo "TOP-SECRET-0xfeed" > "$secret"
new_app() { # DIR
    rm -rf "$1"
    mkdir -p "$1/jobs"
    printf 'print("job")\n' > "$1/jobs/main.py"
    cat > "$1/recipe.yaml" <<'YAML'
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: hostile}
flink: {version: 1.19.2}
image:
  repository: team/hostile
  files: [{source: files/app.jar, destination: /opt/flink/usrlib/app.jar}]
python: {scripts: [jobs/main.py]}
jobManager: {memory: 1g}
taskManager: {memory: 1g}
YAML
    mkdir -p "$1/files"
    echo jar > "$1/files/app.jar"
}
# run NAME EXPECT: validate and render must fail within 10 s, naming EXPECT, writing nothing
refused() {
    local name=$1 want=$2 rc=0
    timeout 10 "$FACTORY" validate "$app/recipe.yaml" > "$tmp/out" 2>&1 || rc=$?
    if [[ $rc -eq 1 ]] && grep -q -- "$want" "$tmp/out" && ! grep -q TOP-SECRET "$tmp/out"; then
        rc=0
        timeout 10 "$FACTORY" render -o "$tmp/render-out" "$app/recipe.yaml" > /dev/null 2>&1 || rc=$?
        if [[ $rc -eq 1 && ! -e $tmp/render-out/hostile ]]; then t_ok "$name"; else t_fail "$name" "render exit $rc"; fi
    else
        t_fail "$name" "exit $rc: $(cat "$tmp/out")"
    fi
    rm -rf "$tmp/render-out"
}
app=$tmp/app

new_app "$app"
ln -sf "$secret" "$app/jobs/main.py"
refused "a script linked outside the recipe's directory is refused" "python.scripts\[0\]: 'jobs/main.py' leads outside"

new_app "$app"
rm "$app/files/app.jar"
ln -s "$secret" "$app/files/app.jar"
refused "image.files: a file linked outside is refused" "image.files\[0\].source: 'files/app.jar' leads outside"

new_app "$app"
rm -rf "$app/files"
ln -s "$tmp/outside" "$app/files"
cp "$secret" "$tmp/outside/app.jar"
refused "image.files: a directory linked outside is refused" "image.files\[0\].source: 'files/app.jar' leads outside"

new_app "$app"
rm "$app/files/app.jar"
ln -s /dev/zero "$app/files/app.jar"
refused "image.files: a link to /dev/zero is refused at once" "image.files\[0\].source"

new_app "$app"
rm "$app/files/app.jar"
mkfifo "$app/files/app.jar"
refused "image.files: a FIFO is refused at once" "image.files\[0\].source: 'files/app.jar' is a FIFO"

new_app "$app"
rm "$app/jobs/main.py"
mkfifo "$app/jobs/main.py"
refused "a script that is a FIFO is refused at once" "python.scripts\[0\]: 'jobs/main.py' is a FIFO"

# A recipe or a configuration that is a FIFO.
new_app "$app"
mkfifo "$tmp/fifo.yaml"
rc=0
timeout 10 "$FACTORY" validate "$tmp/fifo.yaml" > "$tmp/out" 2>&1 || rc=$?
t_check "a recipe that is a FIFO is refused at once" sh -c '[ "$1" -eq 1 ] && grep -q "is not a regular file (a FIFO)" "$2"' _ "$rc" "$tmp/out"
rc=0
timeout 10 "$FACTORY" validate --config "$tmp/fifo.yaml" "$app/recipe.yaml" > "$tmp/out" 2>&1 || rc=$?
t_check "a --config that is a FIFO is refused at once" sh -c '[ "$1" -eq 1 ] && grep -q "is not a regular file (a FIFO)" "$2"' _ "$rc" "$tmp/out"

# Templates: an overlay linked to a file outside the templates directory.
new_app "$app"
mkdir -p "$app/templates"
printf 'apiVersion: v1\nkind: Config\nclusters: []\n' > "$tmp/outside/kubeconfig"
ln -s "$tmp/outside/kubeconfig" "$app/templates/flinkdeployment.yaml"
echo "templates: templates" >> "$app/recipe.yaml"
rc=0
timeout 10 "$FACTORY" render -o "$tmp/render-out" "$app/recipe.yaml" > "$tmp/out" 2>&1 || rc=$?
t_check "an overlay linked outside the templates directory is refused, nothing written" sh -c \
    '[ "$1" -eq 1 ] && grep -q "templates: .flinkdeployment.yaml. leads outside" "$2" && [ ! -e "$3/hostile" ]' _ "$rc" "$tmp/out" "$tmp/render-out"

# A link that stays inside the recipe's directory is followed.
new_app "$app"
mv "$app/jobs/main.py" "$app/jobs/real.py"
ln -s real.py "$app/jobs/main.py"
if "$FACTORY" render -o "$tmp/render-ok" "$app/recipe.yaml" > "$tmp/out" 2>&1; then
    t_ok "a link that stays inside the recipe's directory is followed"
else
    t_fail "a link that stays inside the recipe's directory is followed" "$(cat "$tmp/out")"
fi
