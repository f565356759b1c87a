#!/usr/bin/env bash
# tests/run.sh: the driver behind `make test`, `make test-unit` and
# `make test-integration`.
#
#   B=build tests/run.sh [unit|integration|all]      (default: all)
#
# unit:        runs every $B/tests/test_* binary (see tests/unit/t.h).
# integration: runs tests/integration/run.sh, which starts Postgres and floe
#              and feeds tests/integration/cases/ to $B/runner.
#
# Result lines are passed through as they arrive and counted: "ok ..." passed,
# "not ok ..." failed, "skip ..." skipped.  A program that exits non-zero
# without printing a "not ok" line (a crash, a sanitizer abort, a server that
# would not start) counts as one failure.  The last line is the summary,
# "N passed, N failed[, N skipped]"; the exit status is 1 when anything failed.

set -u
shopt -s lastpipe nullglob

cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
export B
TIMEOUT=${FL_TEST_TIMEOUT:-600}

passed=0
failed=0
skipped=0

# Runs "$@" with stderr folded into stdout, echoing and counting its lines.
# $1 is the name used when the program itself fails.
run_counted() {
    local name=$1 line rc nfail=0
    shift
    if command -v timeout >/dev/null 2>&1; then
        set -- timeout "$TIMEOUT" "$@"
    fi
    "$@" 2>&1 | while IFS= read -r line || [ -n "$line" ]; do
        printf '%s\n' "$line"
        case $line in
        "ok "*) passed=$((passed + 1)) ;;
        "not ok "*) failed=$((failed + 1)); nfail=$((nfail + 1)) ;;
        "skip "*) skipped=$((skipped + 1)) ;;
        esac
    done
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
        if [ "$rc" -eq 124 ]; then
            echo "not ok $name - timed out after ${TIMEOUT}s"
        elif [ "$rc" -gt 128 ]; then
            echo "not ok $name - killed by signal $((rc - 128))"
        else
            echo "not ok $name - exited with status $rc"
        fi
        failed=$((failed + 1))
    fi
}

run_unit() {
    local t n=0
    for t in "$B"/tests/test_*; do
        # skip the compiler's .d files and anything else not a program
        if [ ! -f "$t" ] || [ ! -x "$t" ]; then
            continue
        fi
        n=$((n + 1))
        run_counted "$t" "$t"
    done
    if [ "$n" -eq 0 ]; then
        echo "# no unit test binaries in $B/tests (run make first)"
    fi
}

run_integration() {
    if [ ! -f tests/integration/run.sh ]; then
        echo "# tests/integration/run.sh does not exist yet; skipping" \
            "integration tests"
        return
    fi
    run_counted tests/integration/run.sh bash tests/integration/run.sh
}

case ${1:-all} in
unit)
    run_unit
    ;;
integration)
    run_integration
    ;;
all)
    run_unit
    run_integration
    ;;
*)
    echo "usage: tests/run.sh [unit|integration|all]" >&2
    exit 2
    ;;
esac

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
