# shellcheck shell=bash
# Helpers for tests/t_*.sh. Source it from a test script:
#
#     #!/usr/bin/env bash
#     set -euo pipefail
#     . "${TESTS_DIR:-$(dirname "$0")}/lib.sh"
#
# Reporting (stdout protocol understood by tests/run.sh):
#   t_ok NAME                 prints "ok NAME"
#   t_fail NAME [DETAIL]      prints "not ok NAME # DETAIL"
#   t_check NAME CMD [ARG...] runs CMD (its stdout goes to stderr, i.e. the log)
#                             and prints ok/not ok; returns 0 either way
#   t_skip NAME REASON        prints "ok NAME # skip REASON"
#   t_need_factory            fails the script unless $FACTORY is executable
# Temporary files:
#   t_tmpdir                  prints the path of a new directory below $T_TMP;
#                             $T_TMP is removed when the sourcing shell exits
#   t_at_exit 'CMD'           run CMD on exit of the sourcing shell (before
#                             servers are stopped and $T_TMP is removed)
# Servers (nginx, registry, git daemon, ...):
#   harness_free_port         prints a free TCP port on 127.0.0.1
#   harness_dir NAME          prints (and creates) the server's data directory
#   harness_start NAME READY_CHECK_CMD -- CMD [ARG...]
#                             starts CMD in its own process group (cwd = data
#                             dir, stdout+stderr -> log), then evaluates the
#                             string READY_CHECK_CMD until it succeeds
#                             (HARNESS_READY_TIMEOUT, default 20 s)
#   harness_stop NAME         stops one server (SIGTERM to the process group,
#                             SIGKILL after HARNESS_GRACE s, default 5)
#   harness_stop_all          stops every server started by this shell
#   harness_log NAME / harness_pid NAME
#                             log path / process group id of a started server
# $PYTHON is /usr/bin/python3 (override with TEST_PYTHON).
# Every server started by a shell is stopped when that shell exits, also on
# failure (set -e), INT, TERM and HUP. A subshell that starts servers gets its
# own cleanup and stops only its own servers.
#
# Test scripts should exit 0 after reporting; a non-zero exit status is
# reported by the runner as an additional failure "(exit N)".

if [[ -n ${_T_LIB_LOADED:-} && ${_T_LIB_OWNER:-} == "$BASHPID" ]]; then
    return 0
fi
_T_LIB_LOADED=1
_T_LIB_OWNER=$BASHPID

TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
REPO=${REPO:-$(cd "$TESTS_DIR/.." && pwd)}
PYTHON=${TEST_PYTHON:-/usr/bin/python3}
FACTORY=${FACTORY:-}
export TESTS_DIR REPO PYTHON FACTORY

T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/factory-test.${T_NAME}.XXXXXX")
_T_AT_EXIT=()

# ---------------------------------------------------------------- reporting

_t_oneline() { local s=$*; s=${s//$'\r'/ }; printf '%s' "${s//$'\n'/ }"; }

t_ok() {
    T_PASSED=$((T_PASSED + 1))
    printf 'ok %s\n' "$(_t_oneline "$1")"
}

t_fail() {
    T_FAILED=$((T_FAILED + 1))
    if [[ $# -ge 2 && -n $2 ]]; then
        printf 'not ok %s # %s\n' "$(_t_oneline "$1")" "$(_t_oneline "$2")"
        printf 'FAILED: %s: %s\n' "$1" "$2" >&2
    else
        printf 'not ok %s\n' "$(_t_oneline "$1")"
        printf 'FAILED: %s\n' "$1" >&2
    fi
}

t_skip() {
    T_PASSED=$((T_PASSED + 1))
    printf 'ok %s # skip %s\n' "$(_t_oneline "$1")" "$(_t_oneline "${2:-}")"
}

t_check() {
    local name=$1 rc=0
    shift
    printf '+ [%s] %s\n' "$name" "$*" >&2
    "$@" >&2 || rc=$?
    if [[ $rc -eq 0 ]]; then
        t_ok "$name"
    else
        t_fail "$name" "exit $rc: $*"
    fi
    return 0
}

t_need_factory() {
    if [[ -z $FACTORY || ! -x $FACTORY ]]; then
        echo "FACTORY is not set to an executable (FACTORY='$FACTORY')" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- temp dirs

t_tmpdir() {
    mktemp -d "$T_TMP/tmp.XXXXXX"
}

t_at_exit() {
    _T_AT_EXIT+=("$1")
}

# ---------------------------------------------------------------- servers

# Per-shell server table; reset when first used in a subshell so a subshell
# never stops (or lists) its parent's servers.
declare -A _H_PGID=()
declare -A _H_LOG=()
_H_OWNER=
_H_CLEANED=

_h_init() {
    if [[ $_H_OWNER != "$BASHPID" ]]; then
        _H_PGID=()
        _H_LOG=()
        _H_OWNER=$BASHPID
        _H_CLEANED=
        _t_install_traps
    fi
}

harness_free_port() {
    local port tries=0
    mkdir -p "$T_TMP/.harness"
    while :; do
        port=$("$PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()') || return 1
        # never hand out the same port twice within one test
        if ! grep -qx "$port" "$T_TMP/.harness/ports" 2>/dev/null; then
            echo "$port" >>"$T_TMP/.harness/ports"
            echo "$port"
            return 0
        fi
        tries=$((tries + 1))
        if [[ $tries -ge 50 ]]; then
            echo "harness_free_port: no free port found" >&2
            return 1
        fi
    done
}

harness_dir() {
    local d="$T_TMP/servers/$1"
    mkdir -p "$d"
    echo "$d"
}

harness_log() { echo "$T_TMP/servers/$1.log"; }

harness_pid() {
    if [[ -n ${_H_PGID[$1]:-} ]]; then
        echo "${_H_PGID[$1]}"
    else
        return 1
    fi
}

# prints "own" if process $1 leads its own process group, "gone" if it does
# not exist, else "other"
_h_pgrp() {
    local pid=$1 stat f
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || { echo gone; return 0; }
    # fields after "(comm)": state ppid pgrp ...
    read -r -a f <<<"${stat##*) }"
    if [[ ${f[0]:-} == Z ]]; then
        echo gone
    elif [[ ${f[2]:-} == "$pid" ]]; then
        echo own
    else
        echo other
    fi
}

# true while any process of the group exists
_h_alive() { kill -0 -- "-$1" 2>/dev/null; }

harness_start() {
    if [[ $# -lt 4 || $3 != -- ]]; then
        echo "usage: harness_start NAME READY_CHECK_CMD -- CMD [ARG...]" >&2
        return 2
    fi
    # locals are prefixed so that READY_CHECK_CMD sees the caller's variables
    local _h_name=$1 _h_ready=$2
    shift 3
    _h_init
    if [[ -n ${_H_PGID[$_h_name]:-} ]]; then
        echo "harness_start: server '$_h_name' is already running" >&2
        return 2
    fi
    local _h_dir _h_log _h_pgid _h_i=0
    _h_dir=$(harness_dir "$_h_name")
    _h_log=$(harness_log "$_h_name")
    printf '# %s: %s\n' "$(date '+%F %T')" "$*" >>"$_h_log"
    # New session => own process group (pgid == pid); SIGINT/SIGQUIT are
    # reset to default because background jobs of a script ignore them.
    (cd "$_h_dir" && exec "$PYTHON" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
try:
    os.setsid()
except OSError:
    os.setpgid(0, 0)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as e:
    sys.stderr.write("harness: cannot execute %s: %s\n" % (sys.argv[1], e))
    sys.exit(127)' "$@") </dev/null >>"$_h_log" 2>&1 &
    _h_pgid=$!
    # wait until the child has left our process group, so that a group kill
    # can never miss it
    while [[ $(_h_pgrp "$_h_pgid") == other ]] && ((_h_i < 100)); do
        sleep 0.05
        _h_i=$((_h_i + 1))
    done
    _H_PGID[$_h_name]=$_h_pgid
    _H_LOG[$_h_name]=$_h_log
    if [[ -n ${HARNESS_PGID_FILE:-} ]]; then
        echo "$_h_pgid" >>"$HARNESS_PGID_FILE" 2>/dev/null || true
    fi
    echo "harness: started $_h_name (pgid $_h_pgid): $*" >&2

    local _h_timeout=${HARNESS_READY_TIMEOUT:-20} _h_why='' _h_st=0
    local _h_deadline=$((SECONDS + _h_timeout))
    while :; do
        if (eval "$_h_ready") >/dev/null 2>&1; then
            echo "harness: $_h_name ready" >&2
            return 0
        fi
        if ! kill -0 "$_h_pgid" 2>/dev/null; then
            wait "$_h_pgid" 2>/dev/null || _h_st=$?
            _h_why="exited with status $_h_st before it was ready"
            break
        fi
        if ((SECONDS >= _h_deadline)); then
            _h_why="not ready after ${_h_timeout} s (ready check: $_h_ready)"
            break
        fi
        sleep 0.1
    done
    {
        echo "harness: server '$_h_name' $_h_why"
        echo "harness: command: $*"
        echo "harness: ---- last 40 lines of $_h_log ----"
        tail -n 40 "$_h_log" | sed 's/^/harness: | /'
        echo "harness: ----"
    } >&2
    harness_stop "$_h_name"
    t_fail "harness: start $_h_name" "$_h_why"
    return 1
}

harness_stop() {
    local name=$1 pgid
    [[ $_H_OWNER == "$BASHPID" ]] || return 0
    pgid=${_H_PGID[$name]:-}
    [[ -n $pgid ]] || return 0
    unset '_H_PGID[$name]'
    if _h_alive "$pgid"; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        local grace=${HARNESS_GRACE:-5} i=0
        while _h_alive "$pgid" && ((i < grace * 10)); do
            sleep 0.1
            i=$((i + 1))
        done
        if _h_alive "$pgid"; then
            echo "harness: $name did not stop after ${grace} s, sending SIGKILL" >&2
            kill -KILL -- "-$pgid" 2>/dev/null || true
            i=0
            while _h_alive "$pgid" && ((i < 50)); do
                sleep 0.1
                i=$((i + 1))
            done
        fi
    fi
    wait "$pgid" 2>/dev/null || true
    echo "harness: stopped $name (pgid $pgid)" >&2
}

harness_stop_all() {
    [[ $_H_OWNER == "$BASHPID" ]] || return 0
    local name
    for name in "${!_H_PGID[@]}"; do
        harness_stop "$name"
    done
}

# ---------------------------------------------------------------- cleanup

_t_cleanup() {
    local c
    if [[ $_T_LIB_OWNER == "$BASHPID" ]]; then
        for c in "${_T_AT_EXIT[@]+"${_T_AT_EXIT[@]}"}"; do
            eval "$c" || true
        done
        _T_AT_EXIT=()
    fi
    if [[ $_H_OWNER == "$BASHPID" && -z $_H_CLEANED ]]; then
        _H_CLEANED=1
        harness_stop_all
    fi
    if [[ $_T_LIB_OWNER == "$BASHPID" && -n ${T_TMP:-} && -d $T_TMP ]]; then
        if [[ -n ${T_KEEP_TMP:-} ]]; then
            echo "keeping $T_TMP" >&2
        else
            rm -rf -- "$T_TMP"
        fi
    fi
}

_t_on_exit() {
    local rc=$?
    set +e
    _t_cleanup
    return "$rc"
}

_t_on_signal() {
    local sig=$1 code=$2
    set +e
    trap - EXIT "$sig"
    _t_cleanup
    echo "interrupted by SIG$sig" >&2
    kill -"$sig" "$BASHPID" 2>/dev/null
    exit "$code"
}

_t_install_traps() {
    trap _t_on_exit EXIT
    trap '_t_on_signal INT 130' INT
    trap '_t_on_signal TERM 143' TERM
    trap '_t_on_signal HUP 129' HUP
}

_H_OWNER=$BASHPID
_t_install_traps
