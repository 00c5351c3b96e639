#!/usr/bin/env bash
# The bad-recipe corpus: every tests/bad-recipes/NN-name.yaml is a recipe with something wrong
# (the comment on its first line says what), and NN-name.err is the exact stderr that
#
#     cd tests/bad-recipes && factory validate --catalog ../../connectors NN-name.yaml
#
# must print. For each recipe:
#   - validate exits 1, prints nothing on stdout and its stderr is byte-identical to the .err
#     file (a unified diff goes to the log otherwise);
#   - render (same cwd, same catalog, -o into a temporary directory) exits 1 and writes no file.
#
# Recipes that reference scripts/generated/ need large scripts that are not committed: they run
# in a temporary copy of tests/bad-recipes (with ../../connectors linking to the catalog) in
# which this script generates scripts/generated/part1.py and part2.py (600000 bytes each).
#
# KNOWN_BUGS lists cases whose .err holds the output factory SHOULD print but does not yet
# (see the reason given for each). They are reported as "ok ... # skip known bug" while they
# fail, and as "not ok" once they pass, so that the entry gets removed with the fix.
#
# Regenerating the expected output (maintainers):
#     FACTORY=$PWD/bin/factory UPDATE=1 tests/t_bad_recipes.sh
# rewrites every .err except those of KNOWN_BUGS and prints a diff of each change to stderr.
# Read every changed .err before committing it: a .err is a claim that the message is right.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"

if [[ -z $FACTORY && -x $REPO/bin/factory ]]; then
    FACTORY=$REPO/bin/factory
fi
t_need_factory

BAD=$TESTS_DIR/bad-recipes
CATALOG=../../connectors
UPDATE=${UPDATE:-}
tmp=$(t_tmpdir)

declare -A KNOWN_BUGS=(
)

# The temporary copy of tests/bad-recipes for recipes with generated scripts.
mirror=
mirror_dir() {
    if [[ -z $mirror ]]; then
        mirror=$tmp/mirror/tests/bad-recipes
        mkdir -p "$tmp/mirror/tests"
        cp -R "$BAD" "$mirror"
        ln -s "$REPO/connectors" "$tmp/mirror/connectors"
        mkdir -p "$mirror/scripts/generated"
        local i
        for i in 1 2; do
            # 600000 bytes each: under the per-file limit, 1200000 together (> 1 MiB)
            head -c 600000 /dev/zero | tr '\0' '#' >"$mirror/scripts/generated/part$i.py"
        done
    fi
    printf '%s\n' "$mirror"
}

shopt -s nullglob
cases=("$BAD"/[0-9][0-9]-*.yaml)
errs=("$BAD"/[0-9][0-9]-*.err)
shopt -u nullglob

if [[ ${#cases[@]} -lt 35 ]]; then
    t_fail "bad-recipes: corpus size" "${#cases[@]} recipes in $BAD, expected at least 35"
else
    t_ok "bad-recipes: corpus size (${#cases[@]} recipes)"
fi

# every .err belongs to a recipe
for err in "${errs[@]}"; do
    if [[ ! -f ${err%.err}.yaml ]]; then
        base=${err##*/}
        t_fail "bad-recipes: $base has no recipe" "remove it or add ${base%.err}.yaml"
    fi
done
for name in "${!KNOWN_BUGS[@]}"; do
    if [[ ! -f $BAD/$name.yaml ]]; then
        t_fail "bad-recipes: KNOWN_BUGS entry $name has no recipe"
    fi
done

for yaml in "${cases[@]}"; do
    file=${yaml##*/}
    name=${file%.yaml}
    exp=$BAD/$name.err
    label="bad-recipes: $name"
    known=${KNOWN_BUGS[$name]:-}

    if [[ $(head -n 1 "$yaml") != "# "?* ]]; then
        t_fail "$label: comment" "the first line must be a '# ' comment saying what is wrong"
    fi

    dir=$BAD
    if grep -q 'scripts/generated/' "$yaml"; then
        dir=$(mirror_dir)
    fi

    # ---- validate
    rc=0
    (cd "$dir" && exec "$FACTORY" validate --catalog "$CATALOG" "$file") \
        >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?

    if [[ -n $UPDATE ]]; then
        if [[ -n $known ]]; then
            echo "UPDATE: $name is a known bug; its .err (the intended output) is left alone" >&2
        else
            if [[ -f $exp ]] && ! cmp -s "$exp" "$tmp/stderr"; then
                echo "UPDATE: $name.err changed:" >&2
                diff -u --label "old/$name.err" --label "new/$name.err" "$exp" "$tmp/stderr" >&2 || true
            elif [[ ! -f $exp ]]; then
                echo "UPDATE: $name.err created:" >&2
                sed 's/^/  | /' "$tmp/stderr" >&2
            fi
            cp "$tmp/stderr" "$exp"
        fi
    fi

    why=
    if [[ ! -f $exp ]]; then
        why="$name.err is missing (UPDATE=1 creates it; check it by eye)"
    elif [[ $rc -ne 1 ]]; then
        why="validate exited $rc, expected 1"
    elif [[ -s $tmp/stdout ]]; then
        why="validate wrote to stdout"
    elif ! cmp -s "$exp" "$tmp/stderr"; then
        why="stderr differs from $name.err"
    fi
    if [[ -n $why ]]; then
        {
            echo "---- $name: validate exited $rc"
            if [[ -f $exp ]]; then
                diff -u --label "expected/$name.err" --label "actual/$name.stderr" "$exp" "$tmp/stderr" || true
            else
                cat "$tmp/stderr"
            fi
            if [[ -s $tmp/stdout ]]; then
                echo "---- stdout:"
                cat "$tmp/stdout"
            fi
        } >&2
    fi
    validate_why=$why

    # ---- render: must fail and write nothing
    out=$tmp/out
    rm -rf "$out"
    rc=0
    (cd "$dir" && exec "$FACTORY" render --catalog "$CATALOG" -o "$out" "$file") \
        >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
    why=
    if [[ $rc -ne 1 ]]; then
        why="render exited $rc, expected 1"
    elif [[ -e $out && -n $(find "$out" -mindepth 1 ! -type d -print -quit) ]]; then
        why="render wrote files: $(find "$out" -mindepth 1 ! -type d | head -n 3 | tr '\n' ' ')"
    fi
    if [[ -n $why ]]; then
        {
            echo "---- $name: render exited $rc"
            cat "$tmp/stdout" "$tmp/stderr"
            [[ -e $out ]] && find "$out" -mindepth 1
        } >&2
    fi
    render_why=$why

    if [[ -n $known ]]; then
        # a check that passes is reported as passed; one that fails is the known bug
        if [[ -z $validate_why && -z $render_why ]]; then
            t_fail "$label" "listed in KNOWN_BUGS but passes now: remove it from KNOWN_BUGS"
            continue
        fi
        if [[ -z $validate_why ]]; then t_ok "$label: validate"; else t_skip "$label: validate" "known bug: $known"; fi
        if [[ -z $render_why ]]; then t_ok "$label: render writes nothing"; else t_skip "$label: render writes nothing" "known bug: $known"; fi
        continue
    fi
    if [[ -z $validate_why ]]; then t_ok "$label: validate"; else t_fail "$label: validate" "$validate_why"; fi
    if [[ -z $render_why ]]; then t_ok "$label: render writes nothing"; else t_fail "$label: render writes nothing" "$render_why"; fi

    # the ConfigMap limit must be explained to the user
    if [[ $dir != "$BAD" ]]; then
        t_check "$label: message mentions the 1 MiB limit" grep -q '1 MiB' "$exp"
    fi
done

exit 0
