#!/usr/bin/env bash
# Editing a PyFlink script changes exactly the ConfigMap (name and data), the references to
# it and the pod annotation that makes the operator roll out: a byte-level diff proves it.
# bundle.json changes too: it records the digest of every manifest file.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
cp -r recipes "$tmp/recipes"
cp -r templates "$tmp/templates"
r=$tmp/recipes/word-count.yaml
"$FACTORY" render -q --catalog connectors -o "$tmp/before" "$r"
old_hash=$(grep -o 'scripts-hash: .*' "$tmp/before/word-count/manifests/flinkdeployment.yaml" | cut -d' ' -f2)
echo "# a comment added by the edit" >> "$tmp/recipes/word-count/tokenize_words.py"
"$FACTORY" render -q --catalog connectors -o "$tmp/after" "$r"
new_hash=$(grep -o 'scripts-hash: .*' "$tmp/after/word-count/manifests/flinkdeployment.yaml" | cut -d' ' -f2)

changed=$( (cd "$tmp" && diff -rq before after || true) | awk '{print $2}' | sed 's#^before/##' | sort | tr '\n' ' ')
if [[ $changed == "word-count/bundle.json word-count/manifests/configmap-scripts.yaml word-count/manifests/flinkdeployment.yaml " ]]; then
    t_ok "edit: only the ConfigMap and the FlinkDeployment change"
else
    t_fail "edit: only the ConfigMap and the FlinkDeployment change" "changed: $changed"
fi

# In the FlinkDeployment, the only changed lines are the annotation and the volume reference.
diff "$tmp/before/word-count/manifests/flinkdeployment.yaml" \
     "$tmp/after/word-count/manifests/flinkdeployment.yaml" | grep '^[<>]' > "$tmp/fd.diff" || true
expected=$(printf '%s\n' \
    "<         factory.dev/scripts-hash: $old_hash" \
    "<           name: word-count-scripts-$old_hash" \
    ">         factory.dev/scripts-hash: $new_hash" \
    ">           name: word-count-scripts-$new_hash")
if [[ $old_hash != "$new_hash" && "$(sort "$tmp/fd.diff")" == "$(sort <<<"$expected")" ]]; then
    t_ok "edit: FlinkDeployment differs only in the scripts hash annotation and ConfigMap name"
else
    t_fail "edit: FlinkDeployment differs only in the scripts hash annotation and ConfigMap name" \
        "$(cat "$tmp/fd.diff")"
fi

diff "$tmp/before/word-count/manifests/configmap-scripts.yaml" \
     "$tmp/after/word-count/manifests/configmap-scripts.yaml" | grep '^[<>]' > "$tmp/cm.diff" || true
if grep -q "^<   name: word-count-scripts-$old_hash" "$tmp/cm.diff" &&
   grep -q "^>   name: word-count-scripts-$new_hash" "$tmp/cm.diff" &&
   grep -q '^>     # a comment added by the edit' "$tmp/cm.diff" &&
   [[ $(wc -l < "$tmp/cm.diff") -eq 3 ]]; then
    t_ok "edit: ConfigMap differs in its name and the edited line only"
else
    t_fail "edit: ConfigMap differs in its name and the edited line only" "$(cat "$tmp/cm.diff")"
fi

# The image reference is untouched: nothing to rebuild or push.
if grep -q 'image: registry.example.com/flink/pyflink-word-count:1.0' "$tmp/after/word-count/manifests/flinkdeployment.yaml"; then
    t_ok "edit: image reference unchanged"
else
    t_fail "edit: image reference unchanged"
fi
exit 0
