#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, builds the binary and the tests, checks that
# this script catches a broken test run, runs every test, and ends with one line:
# "N passed, N failed, N skipped" — followed by "(FAILED: why)" when the run is not a pass.
# It builds the arm64 binary too and runs its checks under qemu-user, and makes the Debian and RPM
# packages of both, lints them, and installs, upgrades and purges them (the .deb on this machine).
# It fails when a test fails, when the test process crashes, aborts or hangs, when fewer tests
# report a result than were discovered, when no test runs, when /dev/kvm exists but a KVM test
# skipped, and when a test leaves a process or a temporary file behind.
# Run it as root: the integration tests create KVM guests and count with perf.
set -uo pipefail
cd "$(dirname "$0")"

finish() { # $1: passed, $2: failed, $3: skipped, $4: why it failed (empty for a pass)
    if [ -n "$4" ]; then
        echo "$1 passed, $2 failed, $3 skipped (FAILED: $4)"
        exit 1
    fi
    echo "$1 passed, $2 failed, $3 skipped"
    exit 0
}

# Debian packages the tests use that a fresh machine may lack.
packages=(gcc libc6-dev tmux util-linux qemu-system-x86 prometheus python3-prometheus-client logrotate groff-base systemd
          qemu-user clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
          rpm lintian rpmlint cpio man-db bash-completion zsh fish)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Another package manager may hold the lock a while (unattended upgrades): wait for it.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || finish 0 1 0 "could not install ${missing[*]}"
fi

# tracefs and debugfs are not always mounted at boot; the tool explains that, the tests need them.
if [ "$(id -u)" = 0 ]; then
    mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
    mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

./build.sh || finish 0 1 0 "the build failed"
./build.sh linux-arm64 || finish 0 1 0 "the arm64 build failed"
dotnet build tests/KvmStat.Tests/KvmStat.Tests.csproj --nologo -v quiet -warnaserror || finish 0 1 0 "the tests did not build"
# The benchmarks are not run here (README has their figures), but they must keep building.
dotnet build bench/KvmStat.Bench/KvmStat.Bench.csproj -c Release --nologo -v quiet -warnaserror || finish 0 1 0 "the benchmarks did not build"

# Everything the tests start carries this mark in its environment, and every temporary file goes
# under this folder: what is left of either after the tests is a leak, reported as a failure.
run_id=$(cat /proc/sys/kernel/random/uuid)
export KVM_STAT_TEST_RUN=$run_id
# Short and independent of where the clone lives: Unix socket paths must stay under 108 bytes.
export TMPDIR="/tmp/kvm_stat-test-${run_id%%-*}"
mkdir -p "$TMPDIR"
export SUITE_SUMMARY="$TMPDIR.summary"
: >"$SUITE_SUMMARY"

descends_from_this_script() { # $1: pid
    local pid=$1
    while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
        [ "$pid" = "$$" ] && return 0
        pid=$(sed -nE 's/^PPid:\s*([0-9]+)/\1/p' "/proc/$pid/status" 2>/dev/null)
    done
    return 1
}

# Processes the tests started that are still there (this script's own helpers aside).
marked_processes() {
    local dir pid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        grep -qz "^KVM_STAT_TEST_RUN=$run_id\$" "$dir/environ" 2>/dev/null || continue
        descends_from_this_script "$pid" && continue
        # Zombies hold nothing; they wait for a parent that reaps them.
        [ "$(sed -E 's/.*\) (.).*/\1/' "$dir/stat" 2>/dev/null)" = "Z" ] && continue
        echo "$pid"
    done
}

leaks=""
check_leftovers() { # $1: suite label
    local pids=() pid left="" files
    # kvm_stat hands its counters to a child that closes them after it exits (a few seconds).
    for _ in $(seq 1 30); do
        mapfile -t pids < <(marked_processes)
        [ ${#pids[@]} -eq 0 ] && break
        sleep 0.5
    done
    for pid in "${pids[@]}"; do
        left="${left:+$left, }$pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))"
        kill -KILL "$pid" 2>/dev/null
    done
    [ -n "$left" ] && leaks="${leaks:+$leaks; }$1 left processes running: $left"
    files=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)
    [ -n "$files" ] && leaks="${leaks:+$leaks; }$1 left temporary files: $files"
    rm -rf "${TMPDIR:?}"/*
    [ -z "$left$files" ] || echo "test.sh: $1 left something behind: ${left:+processes $left }${files:+files $files}" >&2
}

tests/check-test-sh.sh
tests/run-suite.sh "unit and binary" -- -trait- "Category=Kvm" -trait- "Category=SelfCheck" -trait- "Category=Arm64" -trait- "Category=Package"
check_leftovers "the unit and binary tests"
# The packages, made from the binaries built above: a suite of its own, because it installs
# kvm-stat on this machine (and purges it), which no other test may run beside.
tests/run-suite.sh "packages" --no-skips -- -trait "Category=Package"
check_leftovers "the package tests"
# The arm64 binary's checks run under qemu-user; with it installed, none may skip.
tests/run-suite.sh "arm64 (qemu-user)" --no-skips -- -trait "Category=Arm64"
check_leftovers "the arm64 tests"
kvm_skipped=""
if [ -e /dev/kvm ]; then
    # On a host with KVM every KVM test must run: a skip here hides a broken guest or tool.
    tests/run-suite.sh "KVM" --no-skips -- -trait "Category=Kvm"
else
    # Every test that needs no VM has run above; those that need one skip here, and the run says why.
    why_no_kvm=$(artifacts/kvm_stat --doctor 2>/dev/null | sed -nE 's/^fail  KVM +//p' | sed 's/; modules:.*//')
    echo "test.sh: /dev/kvm is absent: the KVM tests will skip (${why_no_kvm:-no /dev/kvm})"
    tests/run-suite.sh "KVM" -- -trait "Category=Kvm"
    kvm_skipped=$(tail -n 1 "$SUITE_SUMMARY" | cut -d'|' -f1 | awk '{print $3}')
fi
check_leftovers "the KVM tests"

passed=0; failed=0; skipped=0; why=""
while IFS='|' read -r counts reason; do
    read -r p f s <<<"$counts"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    [ -n "$reason" ] && why="${why:+$why; }$reason"
done <"$SUITE_SUMMARY"
rm -rf "$TMPDIR" "$SUITE_SUMMARY"
if [ -n "$leaks" ]; then
    failed=$((failed + 1))
    why="${why:+$why; }$leaks"
fi
[ -n "$kvm_skipped" ] && echo "test.sh: ${kvm_skipped} KVM tests skipped: they need a VM, and this host cannot run one (${why_no_kvm:-no /dev/kvm})."
finish "$passed" "$failed" "$skipped" "$why"
