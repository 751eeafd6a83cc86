#!/usr/bin/env bash
# Measures the published binary on this host, with each tracepoint engine, and prints the figures
# README records. Guest-side figures: bench/overhead.sh; many VMs: bench/scale.sh; churn: bench/soak.sh.
# Run as root: bench/run.sh [SECONDS]     (SECONDS of -s 0.1 under perf stat; default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
source bench/lib.sh
bench_prepare
bench_need hyperfine hyperfine
bench_need strace strace
trap bench_cleanup EXIT

dotnet build bench/KvmStat.Bench/KvmStat.Bench.csproj -c Release --nologo -v quiet >/dev/null
bench=artifacts/build/bin/KvmStat.Bench/release/KvmStat.Bench
cpus=$(nproc)


echo "## host: $(uname -r), $cpus CPUs, $(bench_field_count) kvm tracepoints"
for engine in bpf perf; do
    echo
    echo "### engine: $engine"
    echo
    echo "wall time of a one-shot sample (each run starts after the previous run's descriptors are released):"
    hyperfine --style basic --runs 5 --prepare 'sleep 4' "$tool -1 --engine $engine" 2>&1 | grep -E "Time \(mean"
    bench_settle
    "$bench" startup "$tool" 10 -1 --engine "$engine"
    bench_settle
    /usr/bin/time -f "peak RSS of kvm_stat -1: %M KB" "$tool" -1 --engine "$engine" 2>&1 >/dev/null | tail -1
    bench_settle
    echo "system calls of one refresh (kvm_stat -l -s 0.1, system-wide, $cpus CPUs):"
    trace=$(mktemp -p "$BENCH_DIR")
    timeout -s INT 3 strace -f -qq -o "$trace" "$tool" -l -s 0.1 --engine "$engine" >/dev/null || true
    # The calls between the 10th and the 11th record written to standard output.
    awk '/write\(1, "[0-9][0-9][0-9][0-9]-/ { n++; if (n == 11) exit; next } n == 10 { sub(/^[0-9]+ +/, ""); sub(/\(.*/, ""); count[$0]++ }
         END { for (c in count) printf "  %s: %d\n", c, count[c] }' "$trace" | sort
    bench_settle
    # CPU per refresh as the kernel accounts it (the engine's reads included), with a guest making
    # 200 port writes a second so that the counters change.
    guest_out=$(mktemp -p "$BENCH_DIR")
    bench_guest "$guest_out" -name "run-$$" --vcpus 2 --outs 100 --every 1000
    record=$(mktemp -p "$BENCH_DIR")
    "$tool" -l -s 0.1 --engine "$engine" >"$record" 2>/dev/null &
    log=$!
    BENCH_PIDS+=("$log")
    sleep 2
    before=$(grep -c '^[0-9]' "$record" || true)
    clock=$(perf stat -x, -e task-clock -p "$log" -- sleep "$seconds" 2>&1 | awk -F, '/task-clock/ { print $1 }')
    after=$(grep -c '^[0-9]' "$record" || true)
    bench_stop "$log"
    kill "$BENCH_GUEST"
    awk -v ms="$clock" -v n="$((after - before))" -v s="$seconds" \
        'BEGIN { printf "CPU at -s 0.1 over %d s: %.1f ms task-clock, %.0f refreshes, %.0f µs per refresh\n", s, ms, n, ms * 1000 / n }'
    bench_settle
done
echo
echo "## allocations and time of a refresh (BenchmarkDotNet, in process)"
"$bench" --filter '*' 2>/dev/null | grep -E "^\|"
