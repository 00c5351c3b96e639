#!/usr/bin/env bash
# The vendored JSON Schemas match the checksums recorded in
# tests/schemas/README.md, and nothing used at build or test time refers to
# files outside the repository's vendored copies.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"

cd "$TESTS_DIR/schemas"
sums=$(t_tmpdir)/sha256
grep -E '^[0-9a-f]{64}  (operator-|sbom/)[^ ]+\.json$' README.md >"$sums" || true

listed=$(awk '{print $2}' "$sums" | LC_ALL=C sort)
present=$(find . -name '*.json' -printf '%P\n' | LC_ALL=C sort)
if [[ -n $listed && $listed == "$present" ]]; then
    t_ok "schemas: README lists every schema file"
else
    t_fail "schemas: README lists every schema file" "listed: ${listed//$'\n'/ } present: ${present//$'\n'/ }"
fi

t_check "schemas: sha256 as recorded in README" sha256sum --quiet -c "$sums"

# SPDX publishes its 2.3 schema as draft 2019-09; every other schema here is draft-07.
for f in $present; do
    draft="Draft 7"
    [[ $f == sbom/spdx/* ]] && draft="Draft 2019-09"
    t_check "schemas: $f is a $draft schema" "$PYTHON" -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
if sys.argv[2] == "Draft 7":
    want, validator = "http://json-schema.org/draft-07/schema#", jsonschema.Draft7Validator
else:
    want, validator = "https://json-schema.org/draft/2019-09/schema", jsonschema.Draft201909Validator
assert s.get("$schema") == want, s.get("$schema")
validator.check_schema(s)' "$f" "$draft"
done

cd "$REPO"
outside=/work/
outside+=shared   # split so that this file does not match itself
hits=$(grep -rIl --exclude='*.md' --exclude-dir=.git --exclude-dir=.logs --exclude-dir=out \
    -e "$outside" . || true)
if [[ -z $hits ]]; then
    t_ok "no build or test file refers to $outside"
else
    t_fail "no build or test file refers to $outside" "${hits//$'\n'/ }"
fi
