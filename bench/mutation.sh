#!/usr/bin/env bash
# Test strength, measured: mutation testing with Stryker.NET and line/branch coverage with coverlet,
# over the tests that run the tool in-process (the others run the published binary, which no mutant
# reaches), summarised per folder of src/. Slow (about an hour for all of src/ on 2 cores): not part
# of ./test.sh or CI. Results: artifacts/mutation/summary.md (the table README quotes), Stryker's
# HTML and JSON reports under artifacts/mutation/reports, coverage under artifacts/mutation/coverage.
#
# usage: bench/mutation.sh [STRYKER-OPTIONS...]      e.g. bench/mutation.sh -m "**/Stats/*.cs"
#
# Stryker's VSTest runner cannot reach xunit v3's tests, which run in a process of their own
# (stryker-net#3117: every mutant "survives"); its Microsoft Testing Platform runner controls the
# active mutant through a file named in the environment, which does. The test project is built
# for it with MutationTesting=true (see tests/KvmStat.Tests/KvmStat.Tests.csproj).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/artifacts/mutation"
rm -rf "$out"
mkdir -p "$out"
dotnet tool restore >/dev/null
export MutationTesting=true
# Killed mutant runs leave the tests' temporary files and the runtime's pipes behind: in a folder of their own.
TMPDIR=$(mktemp -d)
export TMPDIR
# Some tests run a process as nobody, which must reach its files there (as under test.sh's folder).
chmod 755 "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT

dotnet build tests/KvmStat.Tests/KvmStat.Tests.csproj --nologo -v quiet
artifacts/mutation-build/bin/KvmStat.Tests/debug/KvmStat.Tests --coverlet --coverlet-output-format cobertura \
    --coverlet-include "[kvm_stat]*" --results-directory "$out/coverage" >"$out/coverage.log" 2>&1 \
    || { cat "$out/coverage.log"; exit 1; }

(cd tests/KvmStat.Tests && dotnet stryker -p KvmStat.csproj -t mtp -r json -r html -r progress \
    -O "$out" --skip-version-check "$@")

python3 bench/mutation-summary.py "$out/reports/mutation-report.json" "$out"/coverage/*.cobertura.*xml | tee "$out/summary.md"
