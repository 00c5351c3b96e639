#!/usr/bin/env bash
# Test runner (called by `make test`).
#
# usage: tests/run.sh [FILTER]
#
# Environment:
#   FACTORY       absolute path of the factory binary under test (exported to scripts)
#   UNIT          unit-test binary; run first if set and executable
#   TEST_TIMEOUT  per-program timeout in seconds (default 300)
#
# Runs $UNIT (if any), then every tests/t_*.sh in sorted order with cwd = repo
# root and FACTORY, TESTS_DIR, REPO, TEST_TIMEOUT, HARNESS_PGID_FILE in the
# environment. FILTER (optional) keeps only programs whose file name contains
# it.
#
# Protocol: a line "ok NAME" or "not ok NAME" on a program's stdout (optionally
# followed by " # detail") counts as one passed/failed test. A program that
# prints no such line counts as one test named after the program, passed iff it
# exits 0. A program that prints such lines but exits non-zero adds one failure
# "not ok PROGRAM (exit N)". All other output goes to tests/.logs/PROGRAM.log;
# for failing programs its last 40 lines are shown. Process groups recorded by
# the server harness that are still alive after a program ends are killed and
# count as one failure. The last output line is "N passed, M failed"; the exit
# status is 0 iff M is 0.
set -euo pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TESTS_DIR/.." && pwd)
LOG_DIR=$TESTS_DIR/.logs
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
FILTER=${1:-}
FACTORY=${FACTORY:-}
UNIT=${UNIT:-}

if [[ $# -gt 1 ]]; then
    echo "usage: tests/run.sh [FILTER]" >&2
    exit 2
fi
if ! [[ $TEST_TIMEOUT =~ ^[1-9][0-9]*$ ]]; then
    echo "run.sh: TEST_TIMEOUT must be a positive integer (got '$TEST_TIMEOUT')" >&2
    exit 2
fi
if [[ -n $FACTORY && $FACTORY != /* ]]; then
    FACTORY=$(cd "$(dirname "$FACTORY")" && pwd)/$(basename "$FACTORY")
fi
export FACTORY TESTS_DIR REPO TEST_TIMEOUT

mkdir -p "$LOG_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/factory-run.XXXXXX")

PASSED=0
FAILED=0
CUR_PID=
CUR_NAME=
READER_PID=
COUNTED=0

# the runner's own stdout; program output never goes there directly
exec 3>&1

say() { printf '%s\n' "$*" >&3; }

pass() { PASSED=$((PASSED + 1)); say "ok $*"; }
fail() { FAILED=$((FAILED + 1)); say "not ok $*"; }

summary() {
    say "$PASSED passed, $FAILED failed"
}

kill_leftovers() { # $1 = pgid file; prints the groups that were still alive
    local f=$1 pgid left=()
    [[ -s $f ]] || return 0
    while read -r pgid; do
        [[ $pgid =~ ^[0-9]+$ ]] || continue
        if kill -0 -- "-$pgid" 2>/dev/null; then
            kill -KILL -- "-$pgid" 2>/dev/null || true
            left+=("$pgid")
        fi
    done <"$f"
    if [[ ${#left[@]} -gt 0 ]]; then
        echo "${left[*]}"
    fi
}

# adds the ok/not ok lines recorded in $1 to the totals; sets COUNTED
count_results() {
    local line n=0 nfail=0
    COUNTED=0
    [[ -f $1 ]] || return 0
    while IFS= read -r line; do
        n=$((n + 1))
        if [[ $line == not\ * ]]; then
            nfail=$((nfail + 1))
        fi
    done <"$1"
    PASSED=$((PASSED + n - nfail))
    FAILED=$((FAILED + nfail))
    COUNTED=$n
}

on_signal() {
    local sig=$1 code=$2
    trap - INT TERM HUP
    if [[ -n $CUR_PID ]]; then
        # timeout(1) forwards the signal to the program's process group
        kill -"$sig" "$CUR_PID" 2>/dev/null || true
        local i=0
        while kill -0 "$CUR_PID" 2>/dev/null && ((i < 100)); do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL -- "-$CUR_PID" 2>/dev/null || true
        kill_leftovers "$WORK/pgids" >/dev/null || true
        sleep 0.2
        kill "$READER_PID" 2>/dev/null || true
        count_results "$WORK/results"
        fail "$CUR_NAME (interrupted by SIG$sig)"
    fi
    rm -rf -- "$WORK"
    summary
    exit "$code"
}
trap 'rm -rf -- "$WORK"' EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# run_program NAME CMD [ARG...]
run_program() {
    local name=$1
    shift
    local log=$LOG_DIR/$name.log
    local res=$WORK/results fifo=$WORK/stdout.fifo
    local rc=0 nres=0 reader

    : >"$log"
    : >"$res"
    : >"$WORK/pgids"
    rm -f "$fifo"
    mkfifo "$fifo"
    say "# $name"

    # Reader: protocol lines are echoed and recorded, every stdout line is
    # also appended to the log (stderr goes there directly).
    (
        trap '' INT
        while IFS= read -r line || [[ -n $line ]]; do
            if [[ $line =~ ^(not\ )?ok\ [^[:space:]] ]]; then
                printf '%s\n' "$line" >>"$res"
                printf '%s\n' "$line" >&3
            fi
            printf '%s\n' "$line" >>"$log"
        done <"$fifo"
    ) &
    reader=$!
    READER_PID=$reader

    CUR_NAME=$name
    (
        cd "$REPO"
        export HARNESS_PGID_FILE=$WORK/pgids
        exec timeout -k 10 "$TEST_TIMEOUT" "$@"
    ) </dev/null >"$fifo" 2>>"$log" &
    CUR_PID=$!
    wait "$CUR_PID" || rc=$?
    # timeout(1) made its pid the program's process group id: remove stray
    # background processes the program left behind
    if kill -0 -- "-$CUR_PID" 2>/dev/null; then
        echo "run.sh: killing processes left in the process group of $name" >>"$log"
        kill -KILL -- "-$CUR_PID" 2>/dev/null || true
    fi
    CUR_PID=

    # A stray background process may keep the pipe open; do not wait forever.
    local i=0
    while kill -0 "$reader" 2>/dev/null && ((i < 50)); do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$reader" 2>/dev/null; then
        echo "run.sh: stdout still open 5 s after $name exited (stray background process?)" >>"$log"
        kill "$reader" 2>/dev/null || true
    fi
    wait "$reader" 2>/dev/null || true
    rm -f "$fifo"

    local failed_before=$FAILED
    count_results "$res"
    nres=$COUNTED

    local why=
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        why=" # timed out after $TEST_TIMEOUT s"
    fi
    if [[ $nres -eq 0 ]]; then
        if [[ $rc -eq 0 ]]; then
            pass "$name"
        else
            fail "$name (exit $rc)$why"
        fi
    elif [[ $rc -ne 0 ]]; then
        fail "$name (exit $rc)$why"
    fi

    local left
    left=$(kill_leftovers "$WORK/pgids")
    if [[ -n $left ]]; then
        echo "run.sh: killed server process group(s) still running after $name: $left" >>"$log"
        if [[ -z $why ]]; then
            fail "$name (left server process group(s) running: $left)"
        fi
    fi

    if [[ $FAILED -gt $failed_before ]]; then
        say "# ---- last 40 lines of ${log#"$REPO"/} ----"
        tail -n 40 "$log" | sed 's/^/# | /' >&3
        say "# ----"
    fi
}

ran=0

if [[ -n $UNIT ]]; then
    unit_name=$(basename "$UNIT")
    if [[ -z $FILTER || $unit_name == *"$FILTER"* ]]; then
        if [[ -f $UNIT && -x $UNIT ]]; then
            if [[ $UNIT != /* ]]; then
                UNIT=$(cd "$(dirname "$UNIT")" && pwd)/$unit_name
            fi
            run_program "$unit_name" "$UNIT"
            ran=$((ran + 1))
        else
            say "# UNIT=$UNIT is not an executable file; unit tests skipped"
        fi
    fi
fi

shopt -s nullglob
scripts=("$TESTS_DIR"/t_*.sh)
shopt -u nullglob
if [[ ${#scripts[@]} -gt 0 ]]; then
    mapfile -t scripts < <(printf '%s\n' "${scripts[@]}" | LC_ALL=C sort)
fi

for script in "${scripts[@]}"; do
    name=$(basename "$script")
    if [[ -n $FILTER && $name != *"$FILTER"* ]]; then
        continue
    fi
    run_program "$name" bash "$script"
    ran=$((ran + 1))
done

if [[ $ran -eq 0 && -n $FILTER ]]; then
    fail "run.sh (no test matches '$FILTER')"
fi

rm -rf -- "$WORK"
summary
[[ $FAILED -eq 0 ]]
