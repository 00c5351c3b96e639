#!/usr/bin/env bash
# Self-test of tests/lib.sh: reporting helpers, temp dirs and the server harness.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"

command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

http_ok() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; }

# true if no process of group $1 exists any more
group_gone() { ! kill -0 -- "-$1" 2>/dev/null; }

# wait up to 10 s for a file to become non-empty
wait_file() {
    local i=0
    while [[ ! -s $1 ]] && ((i < 100)); do sleep 0.1; i=$((i + 1)); done
    [[ -s $1 ]]
}

# a helper script that sources lib.sh in a fresh shell, starts an http server,
# records "PGID PORT" in $1 and then behaves according to $2
helper=$(t_tmpdir)/helper.sh
cat >"$helper" <<'EOF'
set -euo pipefail
. "$TESTS_DIR/lib.sh"
out=$1 mode=$2
port=$(harness_free_port)
dir=$(harness_dir web)
harness_start web "curl -fsS -o /dev/null http://127.0.0.1:$port/" -- \
    "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$dir" "$port"
echo "$(harness_pid web) $port $T_TMP" >"$out.tmp"
mv "$out.tmp" "$out"
case $mode in
    exit) exit 0 ;;
    fail) false ;;
    sleep) sleep 300 ;;           # foreground command, then signal the group
    wait) sleep 300 & wait $! ;;  # waiting, then signal the shell only
esac
EOF

# ---------------------------------------------------------------- reporting

out=$( (t_ok "a b"; t_fail x "line1
line2"; t_check c true; t_check d false; t_skip e why) 2>/dev/null)
expected=$'ok a b\nnot ok x # line1 line2\nok c\nnot ok d # exit 1: false\nok e # skip why'
if [[ $out == "$expected" ]]; then t_ok "lib: reporting lines"; else t_fail "lib: reporting lines" "got: $out"; fi

out=$( (t_check quiet sh -c 'echo "ok fake"; echo noise >&2') 2>/dev/null)
if [[ $out == "ok quiet" ]]; then t_ok "lib: t_check keeps command stdout off the protocol"; else t_fail "lib: t_check keeps command stdout off the protocol" "got: $out"; fi

d=$(t_tmpdir)
if [[ -d $d && $d == "$T_TMP"/* ]]; then t_ok "lib: t_tmpdir below T_TMP"; else t_fail "lib: t_tmpdir below T_TMP" "$d"; fi

# ---------------------------------------------------------------- harness

port=$(harness_free_port)
port2=$(harness_free_port)
if [[ $port =~ ^[0-9]+$ && $port -gt 0 && $port != "$port2" ]]; then
    t_ok "harness: free ports"
else
    t_fail "harness: free ports" "$port $port2"
fi

webdir=$(harness_dir web)
echo hello-harness >"$webdir/index.html"
harness_start web "http_ok $port" -- "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$webdir" "$port"
pgid=$(harness_pid web)
body=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/index.html" || true)
if [[ $body == hello-harness ]]; then t_ok "harness: http.server answers"; else t_fail "harness: http.server answers" "body: $body"; fi
if [[ -s $(harness_log web) ]]; then t_ok "harness: server log written"; else t_fail "harness: server log written"; fi
if [[ $(ps -o pgid= -p "$pgid" | tr -d ' ') == "$pgid" ]]; then
    t_ok "harness: server runs in its own process group"
else
    t_fail "harness: server runs in its own process group" "pgid of $pgid: $(ps -o pgid= -p "$pgid")"
fi

harness_stop web
if group_gone "$pgid" && ! http_ok "$port" 2>/dev/null; then
    t_ok "harness: harness_stop"
else
    t_fail "harness: harness_stop" "group $pgid still alive"
fi

# a ready check that passes at once must not race with the server's setsid
harness_start quick "true" -- sleep 300
qpgid=$(harness_pid quick)
harness_stop quick
if group_gone "$qpgid"; then t_ok "harness: stop right after start"; else t_fail "harness: stop right after start" "group $qpgid alive"; kill -KILL -- "-$qpgid" 2>/dev/null || true; fi

# a server that ignores SIGTERM is killed after the grace period
(
    # shellcheck disable=SC2034 # read by harness_stop in this subshell
    HARNESS_GRACE=1
    p=$(harness_free_port)
    harness_start stubborn "curl -fsS -o /dev/null http://127.0.0.1:$p/" -- \
        "$PYTHON" -c 'import signal, http.server, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()' "$p"
    harness_pid stubborn >"$T_TMP/stubborn.pgid"
) >/dev/null 2>&1 || true
spgid=$(cat "$T_TMP/stubborn.pgid" 2>/dev/null || echo 0)
if [[ $spgid != 0 ]] && group_gone "$spgid"; then
    t_ok "harness: SIGKILL after grace period"
else
    t_fail "harness: SIGKILL after grace period" "pgid '$spgid'"
fi

# a server that exits before it is ready fails fast and shows its log
st=0
errout=$( (harness_start broken "false" -- sh -c 'echo broken-server-message >&2; exit 3') 2>&1 >/dev/null) || st=$?
if [[ $st -ne 0 && $errout == *"exited with status 3"* && $errout == *broken-server-message* ]]; then
    t_ok "harness: early exit reported with log"
else
    t_fail "harness: early exit reported with log" "status $st: $errout"
fi

# a server that never gets ready fails after HARNESS_READY_TIMEOUT and is stopped
st=0
stdout=$( (HARNESS_READY_TIMEOUT=1 harness_start never "false" -- sh -c 'echo never-ready-message; echo $$ >"$0"; exec sleep 300' "$T_TMP/never.pid") 2>"$T_TMP/never.err") || st=$?
npid=$(cat "$T_TMP/never.pid" 2>/dev/null || echo 0)
if [[ $st -ne 0 && $stdout == "not ok harness: start never"* ]] &&
    grep -q "not ready after 1 s" "$T_TMP/never.err" &&
    grep -q never-ready-message "$T_TMP/never.err" &&
    [[ $npid != 0 ]] && group_gone "$npid"; then
    t_ok "harness: ready timeout reported with log, server stopped"
else
    t_fail "harness: ready timeout reported with log, server stopped" "status $st, stdout '$stdout', pid $npid"
fi

# ---------------------------------------------------------------- cleanup in other shells

check_cleanup() { # NAME MODE [SIGNAL]
    local name=$1 mode=$2 sig=${3:-} rec pid st=0 spgid sport stmp
    rec=$(t_tmpdir)/rec
    set -m
    bash "$helper" "$rec" "$mode" >"$rec.out" 2>"$rec.err" &
    pid=$!
    set +m
    if [[ -n $sig ]]; then
        if ! wait_file "$rec"; then
            kill -KILL -- "-$pid" 2>/dev/null || true
            t_fail "$name" "helper did not start: $(tail -n 5 "$rec.err")"
            return 0
        fi
        sleep 0.2
        if [[ $mode == sleep ]]; then
            kill -"$sig" -- "-$pid"   # like Ctrl-C: the whole foreground group
        else
            kill -"$sig" "$pid"
        fi
    fi
    wait "$pid" || st=$?
    # the helper's own children (e.g. the backgrounded sleep) are not servers
    kill -KILL -- "-$pid" 2>/dev/null || true
    if [[ ! -s $rec ]]; then
        t_fail "$name" "helper did not start (status $st): $(tail -n 5 "$rec.err")"
        return 0
    fi
    read -r spgid sport stmp <"$rec"
    local i=0
    while ! group_gone "$spgid" && ((i < 20)); do sleep 0.1; i=$((i + 1)); done
    if ! group_gone "$spgid"; then
        kill -KILL -- "-$spgid" 2>/dev/null || true
        t_fail "$name" "server process group $spgid left running (helper status $st)"
    elif http_ok "$sport" 2>/dev/null; then
        t_fail "$name" "port $sport still answers"
    elif [[ -e $stmp ]]; then
        t_fail "$name" "temp dir $stmp not removed"
    elif [[ -n $sig && $st -eq 0 ]]; then
        t_fail "$name" "helper exited 0 after SIG$sig"
    else
        t_ok "$name"
    fi
}

check_cleanup "harness: cleanup on normal exit" exit
check_cleanup "harness: cleanup on failing command (set -e)" fail
check_cleanup "harness: cleanup on SIGINT to the process group" sleep INT
check_cleanup "harness: cleanup on SIGINT while waiting" wait INT
check_cleanup "harness: cleanup on SIGTERM" wait TERM

# a subshell of this script with its own server stops only that server
parent_port=$(harness_free_port)
harness_start parent "http_ok $parent_port" -- "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$webdir" "$parent_port"
sub_rec=$T_TMP/sub.rec
(
    p=$(harness_free_port)
    harness_start child "http_ok $p" -- "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$webdir" "$p"
    harness_pid child >"$sub_rec"
) >/dev/null 2>&1
cpgid=$(cat "$sub_rec" 2>/dev/null || echo 0)
if [[ $cpgid != 0 ]] && group_gone "$cpgid" && http_ok "$parent_port"; then
    t_ok "harness: subshell stops its own server only"
else
    t_fail "harness: subshell stops its own server only" "child pgid $cpgid"
fi
# "parent" is left running on purpose: the EXIT trap must stop it
