#!/usr/bin/env bash
# A failed render leaves the previous bundle exactly as it was and no staging directory.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
cp -r recipes templates "$tmp/"
r=$tmp/recipes/word-count.yaml
"$FACTORY" render -q --catalog connectors -o "$tmp/out" "$r"
cp -r "$tmp/out" "$tmp/snapshot"

# The recipe is valid, so the failure comes late: from a broken template overlay.
printf 'spec: [unclosed\n' > "$tmp/templates/hardened/flinkdeployment.yaml"
echo "# edited" >> "$tmp/recipes/word-count/word_count.py"
rc=0
"$FACTORY" render -q --catalog connectors -o "$tmp/out" "$r" 2>"$tmp/err" || rc=$?
if [[ $rc -eq 1 ]] && grep -q 'flinkdeployment.yaml:2:1: error: YAML syntax error' "$tmp/err"; then
    t_ok "atomic: a broken template fails with its position"
else
    t_fail "atomic: a broken template fails with its position" "exit $rc: $(cat "$tmp/err")"
fi
t_check "atomic: previous bundle intact after a failed render" diff -r "$tmp/snapshot" "$tmp/out"
leftovers=$(find "$tmp/out" -name '.manifests.*' -o -name '*.tmp.*')
if [[ -z $leftovers ]]; then t_ok "atomic: no staging directory or temp file left"; else t_fail "atomic: no staging directory or temp file left" "$leftovers"; fi

# An invalid recipe writes nothing at all.
rc=0
printf 'apiVersion: factory.dev/v1alpha1\nkind: Recipe\n' > "$tmp/bad.yaml"
"$FACTORY" render -q --catalog connectors -o "$tmp/fresh" "$tmp/bad.yaml" 2>"$tmp/err" || rc=$?
grep -q 'missing required key' "$tmp/err" || rc=99
if [[ $rc -eq 1 && ! -e $tmp/fresh ]]; then t_ok "atomic: invalid recipe writes nothing"; else t_fail "atomic: invalid recipe writes nothing" "exit $rc"; fi
exit 0
