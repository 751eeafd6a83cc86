#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, builds the binary, runs every test and ends
# with one line: "N passed, N failed, N skipped". Run it as root: the integration tests create
# KVM guests and count with perf.
set -uo pipefail
cd "$(dirname "$0")"

# Debian packages the tests use that a fresh machine may lack.
packages=(gcc tmux util-linux qemu-system-x86 prometheus python3-prometheus-client logrotate groff-base systemd)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || { echo "test.sh: could not install ${missing[*]}" >&2; exit 1; }
fi

# tracefs and debugfs are not always mounted at boot; the tool explains that, the tests need them.
if [ "$(id -u)" = 0 ]; then
    mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
    mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

./build.sh || { echo "test.sh: build failed" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
dotnet build tests/KvmStat.Tests/KvmStat.Tests.csproj --nologo -v quiet -warnaserror \
    || { echo "test.sh: test build failed" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

passed=0; failed=0; skipped=0
run_tests() { # $1: label, $2: filter
    local log counts p f s
    log=$(mktemp)
    dotnet test tests/KvmStat.Tests/KvmStat.Tests.csproj --no-build --nologo --filter "$2" 2>&1 | tee "$log" \
        | grep -E "^\s*(Failed|Skipped) |^\[xUnit|Error Message|Assert|Expected|Actual|^(Passed|Failed)!" || true
    counts=$(grep -E "^(Passed|Failed)!" "$log" | tail -n 1)
    p=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$counts"); f=$(sed -nE 's/.*Failed: *([0-9]+).*/\1/p' <<<"$counts")
    s=$(sed -nE 's/.*Skipped: *([0-9]+).*/\1/p' <<<"$counts")
    if [ -z "$counts" ] && ! grep -q "No test matches" "$log"; then f=1; echo "test.sh: $1 tests did not run" >&2; fi
    rm -f "$log"
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
    echo "test.sh: $1 tests: ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
    last_ran=$(( ${p:-0} + ${f:-0} )); last_skipped=${s:-0}
}

run_tests "unit and binary" "Category!=Kvm"
run_tests "KVM" "Category=Kvm"
echo "test.sh: KVM tests ran: $last_ran (skipped: $last_skipped; they need /dev/kvm)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
