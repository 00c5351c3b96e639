#!/usr/bin/env bash
# Rendering is byte-identical run after run: from another working directory, with another
# umask, locale and time zone, and with the recipe tree copied elsewhere.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
render_all() { # OUT
    local r
    for r in "$REPO"/recipes/*.yaml; do "$FACTORY" render -q --catalog "$REPO/connectors" -o "$1" "$r"; done
}
listing() { (cd "$1" && find . -printf '%p %M %s\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

render_all "$tmp/a"
render_all "$tmp/b"
t_check "reproducible: two runs give identical bytes" diff -r "$tmp/a" "$tmp/b"

mkdir -p "$tmp/elsewhere"
(cd "$tmp/elsewhere" && umask 077 && LC_ALL=C.UTF-8 LANG=de_DE.UTF-8 TZ=Pacific/Kiritimati render_all "$tmp/c")
(cd / && umask 022 && LC_ALL=POSIX TZ=America/St_Johns render_all "$tmp/d")
listing "$tmp/a" > "$tmp/a.list"
listing "$tmp/c" > "$tmp/c.list"
listing "$tmp/d" > "$tmp/d.list"
t_check "reproducible: other cwd, umask 077, locale, TZ: same bytes and modes" diff "$tmp/a.list" "$tmp/c.list"
t_check "reproducible: cwd /, POSIX locale: same bytes and modes" diff "$tmp/a.list" "$tmp/d.list"

# The same recipes copied to another path render the same bundle.
cp -r "$REPO/recipes" "$REPO/templates" "$tmp/elsewhere/"
for r in "$tmp"/elsewhere/recipes/*.yaml; do "$FACTORY" render -q --catalog "$REPO/connectors" -o "$tmp/e" "$r"; done
t_check "reproducible: recipes at another path render the same bundle" diff -r "$tmp/a" "$tmp/e"

# Rendering over an existing bundle leaves exactly the new bundle (no stale files).
touch "$tmp/a/word-count/manifests/stale.yaml"
"$FACTORY" render -q --catalog "$REPO/connectors" -o "$tmp/a" "$REPO/recipes/word-count.yaml"
t_check "re-render replaces the bundle as a whole" diff -r "$tmp/a" "$tmp/b"
exit 0
