#!/usr/bin/env bash
# The layering rules `make check` enforces (and `make test` runs first):
#   - factory/util/ knows no domain: it includes no header of factory/lib/ or factory/cli/;
#   - factory/lib/ (with factory/lib/render/) includes no header of factory/cli/;
#   - the library (util and lib) never prints: only the commands talk to the user, as in
#     curl's lib/ and src/ split. Messages travel in struct error and struct diag_list.
# Prints each violation as file:line and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
headers_of() { (cd "factory/$1" && ls -- *.h 2>/dev/null) | sed 's/[.]/[.]/g' | paste -sd'|'; }
# factory/lib/render/ (the render targets) is part of the library.
lib_headers=$(headers_of lib)'|'$(headers_of lib/render)
cli_headers=$(headers_of cli)
report() { # RULE: reads grep -n output
    while IFS= read -r hit; do
        echo "check: $hit: $1"
        bad=1
    done
}
report "util includes a domain header" < <(grep -nE "^#include \"($lib_headers|$cli_headers)\"" factory/util/*.[ch] || true)
report "the library includes a command header" < <(grep -nE "^#include \"($cli_headers)\"" factory/lib/*.[ch] factory/lib/render/*.[ch] || true)
report "the library prints (return a struct error or a diagnostic instead)" < <(
    grep -nE '(^|[^A-Za-z0-9_])(printf|vprintf|fprintf|vfprintf|dprintf|puts|fputs|putchar|fputc|putc|perror|fwrite)[[:space:]]*\(|(^|[^A-Za-z0-9_])(stdout|stderr)([^A-Za-z0-9_]|$)' \
        factory/util/*.c factory/lib/*.c factory/lib/render/*.c || true)
if [[ $bad -ne 0 ]]; then
    echo "check: the layering rules are broken (see scripts/check-layers.sh)" >&2
    exit 1
fi
echo "check: util, lib and cli keep their layers; the library never prints"
