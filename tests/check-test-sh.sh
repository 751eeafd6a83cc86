#!/usr/bin/env bash
# test.sh's check of itself: a test run that goes wrong in each way test.sh must catch is made to
# happen for real (fixtures in tests/KvmStat.Tests/TestRunner), and the suite runner must fail it
# with a last line that says why. Prints "test.sh: self-check: P passed, F failed, 0 skipped" and
# appends "P F 0|REASON" to $SUITE_SUMMARY when that is set.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0; failed=0; reasons=""
# The test processes killed here leave the runtime's diagnostic pipes behind: in a folder of their own.
TMPDIR=$(mktemp -d)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
expect_failure() { # $1: case, $2: text the last line must hold, $3...: environment assignments, then -- and filters
    local name=$1 expected=$2 out status last
    shift 2
    local env=()
    while [ "$1" != "--" ]; do env+=("$1"); shift; done
    shift
    out=$(env "${env[@]}" SUITE_SUMMARY= tests/run-suite.sh "self-check $name" "$@" 2>&1 >/dev/null)
    status=$?
    last=$(tail -n 1 <<<"$out")
    if [ $status -ne 0 ] && [[ "$last" == *"$expected"* ]]; then
        passed=$((passed + 1))
        echo "test.sh: self-check: $name: caught ($last)"
    else
        failed=$((failed + 1))
        reasons="${reasons:+$reasons; }self-check: $name not caught (status $status, last line: $last)"
        echo "test.sh: self-check: $name NOT caught: status $status, expected a last line with \"$expected\", got: $last" >&2
    fi
}

selfcheck=(-trait "Category=SelfCheck")
expect_failure "a crashed test process" "killed by signal 9" KVM_STAT_SELFCHECK=crash -- "${selfcheck[@]}"
expect_failure "no test found" "no test was found" KVM_STAT_SELFCHECK=none -- -trait "Category=NoSuchCategory"
expect_failure "skipped KVM tests" "must run on this host" KVM_STAT_SELFCHECK=skip -- --no-skips "${selfcheck[@]}"
expect_failure "a hung test" "a test hung for 3 s" KVM_STAT_SELFCHECK=hang KVM_STAT_TEST_HANG_SECONDS=3 -- "${selfcheck[@]}"
# The hang left a dump of the hung process to look at; the self-check's own is not kept.
dumps=(artifacts/test-results/self-check-a-hung-test-hang-*.dmp)
if [ -s "${dumps[0]}" ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); reasons="${reasons:+$reasons; }self-check: the hung test left no dump"
    echo "test.sh: self-check: the hung test left no dump" >&2
fi
rm -f "${dumps[@]}"

echo "test.sh: self-check: $passed passed, $failed failed, 0 skipped"
[ -n "${SUITE_SUMMARY:-}" ] && echo "$passed $failed 0|$reasons" >>"$SUITE_SUMMARY"
[ $failed -eq 0 ]
