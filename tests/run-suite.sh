#!/usr/bin/env bash
# Runs one suite of the test executable (xunit's in-process runner) and judges the run by more
# than its exit status: the number of tests discovered against the number that reported a
# result, a crash or abort of the test process, a hang, an empty selection, and (with
# --no-skips) any skipped test. Prints "test.sh: LABEL tests: P passed, F failed, S skipped",
# then, if anything went wrong, one line "test.sh: LABEL: FAILED: " with every problem, and appends "P F S|REASON" to $SUITE_SUMMARY when that is set.
# Exit status: 0 when the suite ran completely and passed, 1 otherwise.
#
# usage: tests/run-suite.sh LABEL [--no-skips] [--] RUNNER-FILTERS...
#   KVM_STAT_TEST_HANG_SECONDS  a test running this long is a hang: dumped, then killed (default 300)
set -uo pipefail
cd "$(dirname "$0")/.."

label=$1; shift
no_skips=0
if [ "${1:-}" = "--no-skips" ]; then no_skips=1; shift; fi
[ "${1:-}" = "--" ] && shift
hang_seconds=${KVM_STAT_TEST_HANG_SECONDS:-300}

exe=artifacts/build/bin/KvmStat.Tests/debug/KvmStat.Tests
results=artifacts/test-results
mkdir -p "$results"
slug=${label//[^A-Za-z0-9]/-}
xml="$results/$slug.xml"
log="$results/$slug.log"
rm -f "$xml" "$log"

problems=()
if [ ! -x "$exe" ]; then
    problems+=("the test executable $exe is missing (build the tests first)")
else
    # A background job of a script starts with SIGINT ignored, and so would every process the
    # tests start (kvm_stat among them): give the tests the default disposition back.
    env --default-signal=INT,QUIT "$exe" -noLogo -noColor -preEnumerateTheories -longRunning "$hang_seconds" \
        -result-xml "$xml" "$@" >"$log" 2>&1 &
    pid=$!
    # Show the runner's report (failures, skips, summary) as it comes.
    tail -n +1 -f --pid="$pid" "$log" 2>/dev/null | grep -v -E '^\s*(Discovering|Discovered|Starting|Finished):' &
    viewer=$!
    hung=""
    while kill -0 "$pid" 2>/dev/null; do
        hung=$(grep -m1 -o "\[Long Running Test\] '[^']*'" "$log" 2>/dev/null)
        if [ -n "$hung" ]; then
            dump="$results/$slug-hang-$pid.dmp"
            createdump=$(ls -d /usr/share/dotnet/shared/Microsoft.NETCore.App/*/createdump 2>/dev/null | tail -n 1)
            if [ -n "$createdump" ] && "$createdump" -f "$dump" "$pid" >/dev/null 2>&1; then
                where="dump: $dump"
            else
                where="no dump could be written"
            fi
            kill -KILL "$pid" 2>/dev/null
            problems+=("a test hung for ${hang_seconds} s and was killed: ${hung#\[Long Running Test\] } ($where)")
            break
        fi
        sleep 1
    done
    wait "$pid"; status=$?
    wait "$viewer" 2>/dev/null
    if [ $status -gt 128 ] && [ -z "$hung" ]; then
        problems+=("the test process was killed by signal $((status - 128)) (crashed or aborted)")
    fi
fi

discovered=$(sed -nE 's/.*Discovered: .*\(([0-9]+) test cases? to be run\).*/\1/p' "$log" 2>/dev/null | tail -n 1)
passed=0; failed=0; skipped=0; errors=0
if [ -s "$xml" ]; then
    assembly=$(grep -o '<assembly [^>]*>' "$xml" | head -n 1)
    field() { sed -nE "s/.* $1=\"([0-9]+)\".*/\1/p" <<<"$assembly"; }
    passed=$(field passed); failed=$(field failed); skipped=$(field skipped); errors=$(field errors)
    passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}; errors=${errors:-0}
elif [ ${#problems[@]} -eq 0 ]; then
    problems+=("the run wrote no results (the test process ended before its summary)")
fi
ran=$((passed + failed + skipped))

if [ -z "$discovered" ]; then
    [ ${#problems[@]} -eq 0 ] && problems+=("the runner did not report what it discovered")
    discovered=$ran
fi
if [ "$discovered" -eq 0 ]; then
    problems+=("no test was found")
fi
if [ "$ran" -lt "$discovered" ]; then
    problems+=("$((discovered - ran)) of $discovered tests never reported a result")
    failed=$((failed + discovered - ran))
fi
if [ "$errors" -gt 0 ]; then
    problems+=("$errors errors outside any test (fixtures, collection set-up or clean-up)")
    failed=$((failed + errors))
fi
if [ "$failed" -gt 0 ] && [ ${#problems[@]} -eq 0 ]; then
    problems+=("$failed tests failed")
fi
if [ "$no_skips" -eq 1 ] && [ "$skipped" -gt 0 ]; then
    problems+=("$skipped tests skipped, but every one of them must run on this host")
    grep -E '\[SKIP\]' "$log" | sed 's/^ */test.sh:   skipped: /' | head -n 20
fi

[ ${#problems[@]} -gt 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "test.sh: $label tests: $passed passed, $failed failed, $skipped skipped"
reason=""
for problem in "${problems[@]}"; do
    reason="${reason:+$reason; }$problem"
done
[ -n "$reason" ] && echo "test.sh: $label: FAILED: $reason" >&2
[ -n "${SUITE_SUMMARY:-}" ] && echo "$passed $failed $skipped|${reason:+$label: $reason}" >>"$SUITE_SUMMARY"
[ -z "$reason" ]
