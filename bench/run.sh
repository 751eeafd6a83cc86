#!/usr/bin/env bash
# Measures the published binary on this host and prints the figures README records.
# Run as root: bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
command -v hyperfine >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq hyperfine strace >/dev/null; }
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing

./build.sh >/dev/null
dotnet build bench/KvmStat.Bench/KvmStat.Bench.csproj -c Release --nologo -v quiet >/dev/null
bench=artifacts/build/bin/KvmStat.Bench/release/KvmStat.Bench
tool=artifacts/kvm_stat
fields=$(ls -d /sys/kernel/tracing/events/kvm/*/ | wc -l)
cpus=$(nproc)

echo "## host: $(uname -r), $cpus CPUs, $fields kvm tracepoints"
echo
echo "## wall time of a one-shot sample (each run starts after the previous run's descriptors are released)"
hyperfine --style basic --runs 5 --prepare 'sleep 4' "$tool -1" "perf stat -a -e kvm:* -o /dev/null sleep 1" 2>&1 \
    | grep -E "Benchmark|Time \(mean"
echo
echo "## start-up to first sample"
sleep 4
"$bench" startup "$tool" 10
echo
echo "## peak RSS of kvm_stat -1"
sleep 4
/usr/bin/time -f "maximum resident set size: %M KB" "$tool" -1 >/dev/null
echo
echo "## system calls of one refresh (kvm_stat -l -s 0.1, system-wide, $cpus CPU groups)"
sleep 4
trace=$(mktemp)
timeout -s INT 3 strace -f -qq -o "$trace" "$tool" -l -s 0.1 >/dev/null || true
# The calls between the 10th and the 11th record written to standard output.
awk '/write\(1, "[0-9][0-9][0-9][0-9]-/ { n++; if (n == 11) exit; next } n == 10 { sub(/^[0-9]+ +/, ""); sub(/\(.*/, ""); count[$0]++ }
     END { for (c in count) printf "  %s: %d\n", c, count[c] }' "$trace" | sort
rm -f "$trace"
echo
echo "## allocations and time of a refresh (BenchmarkDotNet, in process)"
"$bench" --filter '*' 2>/dev/null | grep -E "^\|"
