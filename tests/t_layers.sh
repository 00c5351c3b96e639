#!/usr/bin/env bash
# `make check` (scripts/check-layers.sh) passes on the tree and fails, naming the place, when
# library code prints or a util module includes a domain header.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"

tmp=$(t_tmpdir)
t_check "check: the tree keeps its layers" "$REPO/scripts/check-layers.sh"
copy() { rm -rf "$tmp/tree"; mkdir -p "$tmp/tree/scripts"; cp -r "$REPO/factory" "$tmp/tree/"; cp "$REPO/scripts/check-layers.sh" "$tmp/tree/scripts/"; }
copy
printf '\nvoid plan_debug(void);\nvoid plan_debug(void) { printf("debug\\n"); }\n' >> "$tmp/tree/factory/lib/plan.c"
rc=0
"$tmp/tree/scripts/check-layers.sh" > "$tmp/out" 2>&1 || rc=$?
t_check "check: a printf in a library file fails, naming it" sh -c '[ "$1" -eq 1 ] && grep -q "factory/lib/plan.c:.*the library prints" "$2"' _ "$rc" "$tmp/out"
copy
sed -i '0,/#include "error.h"/s//#include "error.h"\n#include "recipe.h"/' "$tmp/tree/factory/util/error.c"
rc=0
"$tmp/tree/scripts/check-layers.sh" > "$tmp/out" 2>&1 || rc=$?
t_check "check: a util module including a domain header fails, naming it" sh -c '[ "$1" -eq 1 ] && grep -q "factory/util/error.c:.*util includes a domain header" "$2"' _ "$rc" "$tmp/out"
