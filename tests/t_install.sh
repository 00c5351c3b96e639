#!/usr/bin/env bash
# make install / make uninstall: everything lands under DESTDIR/PREFIX; the installed binary
# (and a copy of the tree elsewhere) finds its connector catalog under its own prefix; the
# manual pages render without a warning and name every option --help lists; the bash
# completion completes commands, options and files; uninstall removes exactly what install
# wrote.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
dest=$tmp/dest
# The build the binary under test comes from: make finds it up to date and builds nothing.
build=$(dirname "$FACTORY")
mk() {
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$REPO" --no-print-directory BUILD="$build" \
        FACTORY_BIN="$FACTORY" PREFIX=/usr DESTDIR="$dest" "$@"
}

# Someone else's files, which uninstall must leave alone.
mkdir -p "$dest/usr/share/man/man1" "$dest/usr/bin"
echo other > "$dest/usr/share/man/man1/other.1"
echo other > "$dest/usr/bin/other"

if mk install > "$tmp/install.log" 2>&1; then
    t_ok "make install DESTDIR PREFIX=/usr"
else
    t_fail "make install DESTDIR PREFIX=/usr" "$(tail -n 5 "$tmp/install.log")"
fi

# ---------------------------------------------------------------- what goes where

share=$dest/usr/share
expected=(usr/bin/factory usr/share/factory/connectors/README.md
    usr/share/bash-completion/completions/factory usr/share/zsh/site-functions/_factory
    usr/share/fish/vendor_completions.d/factory.fish
    usr/share/man/man1/factory.1 usr/share/man/man5/factory-recipe.5 usr/share/man/man5/factory.yaml.5)
for f in "$REPO"/connectors/*.yaml; do expected+=("usr/share/factory/connectors/${f##*/}"); done
while IFS= read -r f; do expected+=("usr/share/factory/$f"); done < <(cd "$REPO" && find templates -type f)
commands=$("$FACTORY" help --commands)
for c in $commands; do expected+=("usr/share/man/man1/factory-$c.1"); done
missing=()
for f in "${expected[@]}"; do [[ -f $dest/$f ]] || missing+=("$f"); done
extra=$(cd "$dest" && find . -type f ! -name 'other*' | sed 's|^\./||' | sort |
    comm -23 - <(printf '%s\n' "${expected[@]}" | sort))
if [[ ${#missing[@]} -eq 0 && -z $extra && -x $dest/usr/bin/factory ]]; then
    t_ok "install writes the binary, catalog, templates, $(($(wc -w <<< "$commands") + 3)) pages and completions, nothing else"
else
    t_fail "install writes the binary, catalog, templates, pages and completions, nothing else" \
        "missing: ${missing[*]}; extra: $extra"
fi

# ---------------------------------------------------------------- the catalog from the prefix

# The recipe outside the repository: no factory.yaml above it names a catalog.
work=$tmp/work
mkdir -p "$work"
cp -r "$REPO/recipes/pyflink-kafka.yaml" "$REPO/recipes/pyflink-kafka" "$work/"
render() { (cd "$work" && "$1" render -q -o "$2" pyflink-kafka.yaml); }
if render "$dest/usr/bin/factory" "$tmp/out1" > "$tmp/r1.log" 2>&1 && [[ -d $tmp/out1/pyflink-kafka-sink-kafka/manifests ]]; then
    t_ok "the installed binary renders a recipe with catalog connectors, no --catalog"
else
    t_fail "the installed binary renders a recipe with catalog connectors, no --catalog" "$(cat "$tmp/r1.log")"
fi
# The whole tree moved elsewhere: the catalog is found relative to the binary.
mkdir -p "$tmp/elsewhere"
cp -r "$dest/usr" "$tmp/elsewhere/"
if render "$tmp/elsewhere/usr/bin/factory" "$tmp/out2" > "$tmp/r2.log" 2>&1 && [[ -d $tmp/out2/pyflink-kafka-sink-kafka/manifests ]] &&
    diff -r "$tmp/out1/pyflink-kafka-sink-kafka/manifests" "$tmp/out2/pyflink-kafka-sink-kafka/manifests" > /dev/null; then
    t_ok "a copy of the installed tree elsewhere renders the same manifests"
else
    t_fail "a copy of the installed tree elsewhere renders the same manifests" "$(cat "$tmp/r2.log")"
fi
# Without its share/ next to it, the binary has no catalog (unless the distribution has one).
mkdir -p "$tmp/alone/bin"
cp "$dest/usr/bin/factory" "$tmp/alone/bin/"
if [[ -d /usr/share/factory/connectors ]]; then
    t_skip "a binary without share/ next to it has no catalog" "/usr/share/factory/connectors exists"
elif ! render "$tmp/alone/bin/factory" "$tmp/out3" > "$tmp/r3.log" 2>&1 && grep -q kafka "$tmp/r3.log"; then
    t_ok "a binary without share/ next to it has no catalog (the lookup is relative to it)"
else
    t_fail "a binary without share/ next to it has no catalog (the lookup is relative to it)" "$(cat "$tmp/r3.log")"
fi

# ---------------------------------------------------------------- manual pages

pages=("$share"/man/man1/factory*.1 "$share"/man/man5/factory*.5)
if command -v man > /dev/null; then check=man; elif command -v groff > /dev/null; then check=groff; else check=; fi
if [[ -z $check ]]; then
    t_skip "every manual page renders without a warning" "neither man nor groff is installed"
else
    bad=()
    for p in "${pages[@]}"; do
        if [[ $check == man ]]; then
            warn=$(MANWIDTH=80 man -l "$p" 2>&1 > /dev/null | grep -i warn || true)
        else
            warn=$(groff -ww -man -Tutf8 "$p" 2>&1 > /dev/null || echo "groff failed")
        fi
        [[ -z $warn ]] || bad+=("${p##*/}: $warn")
    done
    if [[ ${#bad[@]} -eq 0 ]]; then
        t_ok "all ${#pages[@]} manual pages render without a warning ($check)"
    else
        t_fail "every manual page renders without a warning ($check)" "${bad[*]}"
    fi
fi

# Each option --help lists is in the command's page (roff writes - as \-).
bad=()
for c in $commands; do
    page=$share/man/man1/factory-$c.1
    while read -r opt; do
        grep -qF -- "${opt//-/\\-}" "$page" || bad+=("$c $opt")
    done < <("$FACTORY" "$c" --help | grep -oE '^ +(-[a-z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+')
    grep -q "^factory\\\\-$c \\\\- " "$page" || bad+=("$c: no NAME line")
done
if [[ ${#bad[@]} -eq 0 ]]; then
    t_ok "every option of every command's --help is in its manual page"
else
    t_fail "every option of every command's --help is in its manual page" "${bad[*]}"
fi
if grep -qF 'metadata.name' "$share/man/man5/factory-recipe.5" && grep -q 'gitops.remotes' "$share/man/man5/factory.yaml.5"; then
    t_ok "factory-recipe(5) and factory.yaml(5) carry the README's reference tables"
else
    t_fail "factory-recipe(5) and factory.yaml(5) carry the README's reference tables"
fi

# ---------------------------------------------------------------- completion

# COMP_WORDS as bash sets them for `factory WORDS...<tab>`; COMPREPLY, one a line.
complete_words() {
    (
        set +eu
        cd "$work" || exit 1
        # shellcheck disable=SC1090
        . "$share/bash-completion/completions/factory"
        COMP_WORDS=("$dest/usr/bin/factory" "$@")
        COMP_CWORD=$#
        _factory
        printf '%s\n' "${COMPREPLY[@]}"
    )
}
t_check "bash: 'fe' completes the command fetch" [ "$(complete_words fe)" = fetch ]
t_check "bash: 'build --pu' completes --push and --publish" \
    [ "$(complete_words build --pu | sort | tr '\n' ' ')" = "--publish --push " ]
t_check "bash: 'verify --ca' completes --cache and --catalog" \
    [ "$(complete_words verify --ca | sort | tr '\n' ' ')" = "--cache --catalog " ]
t_check "bash: a recipe argument completes *.yaml files and directories" \
    [ "$(complete_words render pyf | sort | tr '\n' ' ')" = "pyflink-kafka pyflink-kafka.yaml " ]
t_check "bash: 'completion z' completes the shell zsh" [ "$(complete_words completion z)" = zsh ]
t_check "bash: 'help ren' completes the command render" [ "$(complete_words help ren)" = render ]
names=$("$dest/usr/bin/factory" completion --connectors 2> "$tmp/names.err" || true)
want=$(cd "$REPO/connectors" && ls -- *.yaml | sed 's/\.yaml$//' | sort)
t_check "completion --connectors prints the installed catalog's names" [ "$(sort <<< "$names")" = "$want" ]

for sh in zsh fish; do
    case $sh in zsh) script=$share/zsh/site-functions/_factory ;; fish) script=$share/fish/vendor_completions.d/factory.fish ;; esac
    if ! command -v "$sh" > /dev/null; then
        t_skip "$sh -n parses the $sh completion" "$sh is not installed"
    elif "$sh" -n "$script" 2> "$tmp/$sh.err"; then
        t_ok "$sh -n parses the $sh completion"
    else
        t_fail "$sh -n parses the $sh completion" "$(cat "$tmp/$sh.err")"
    fi
done
t_check "factory completion with no shell is a usage error" \
    sh -c '"$1" completion > /dev/null 2>&1; [ $? -eq 2 ]' sh "$FACTORY"

# ---------------------------------------------------------------- uninstall

if mk uninstall > "$tmp/uninstall.log" 2>&1; then
    t_ok "make uninstall DESTDIR PREFIX=/usr"
else
    t_fail "make uninstall DESTDIR PREFIX=/usr" "$(tail -n 5 "$tmp/uninstall.log")"
fi
left=$(cd "$dest" && find . ! -type d | sed 's|^\./||' | sort | tr '\n' ' ')
if [[ $left == "usr/bin/other usr/share/man/man1/other.1 " && ! -e $share/factory ]]; then
    t_ok "uninstall removes every file install wrote (and share/factory), nothing else"
else
    t_fail "uninstall removes every file install wrote (and share/factory), nothing else" "left: $left"
fi
