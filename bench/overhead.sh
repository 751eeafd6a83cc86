#!/usr/bin/env bash
# What counting costs a guest: a one-vCPU test guest making WRITES port writes (about 9 kvm
# tracepoints fire per write), alone and while something counts every kvm tracepoint:
#   floor-raw, floor-classic   an empty BPF program on every kvm tracepoint, raw or classic (the
#                              cost of running any program: KvmStat.Bench floor)
#   bpf-l, perf-l              kvm_stat -l with each engine (the host's totals)
#   bpf-l-latency              kvm_stat -l --latency (exit handling times too)
#   bpf-serve, perf-serve      kvm_stat --serve with each engine (every VM counted on its own)
#   bpf-serve-latency          kvm_stat --serve --latency
# and with BREAKDOWN=1, bpf-l counting one tracepoint at a time, for each that fires on every port
# write (found by a first run): where the time goes.
# Each round runs every configuration once, in a new random order (seeded: SEED, printed), so that
# drift of the host falls on all alike. Per configuration: the median of the guest's wall time
# and of its CPU time (its vCPU thread in the guest and in the kernel), their spread (min-max),
# and the overhead over "alone" from all rounds and from the odd and even rounds apart: two halves
# that agree are an answer that holds on this machine.
# Run as root: bench/overhead.sh [ROUNDS] [WRITES]   (environment: BREAKDOWN=1, SEED=N)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
writes=${2:-1000000}
seed=${SEED:-$RANDOM}
[ -e /dev/kvm ] || { echo "bench: no /dev/kvm: this benchmark runs a real guest (KvmStat.Bench programs measures the programs without KVM)" >&2; exit 1; }
source bench/lib.sh
bench_prepare
dotnet build bench/KvmStat.Bench/KvmStat.Bench.csproj -c Release --nologo -v quiet >/dev/null
floor_binary=$PWD/artifacts/build/bin/KvmStat.Bench/release/KvmStat.Bench

results=$(mktemp)
trap 'bench_cleanup; rm -f "$results"' EXIT

# bench_floor KIND: an empty program of that kind on every kvm tracepoint; BENCH_TOOL is its pid.
bench_floor() {
    BENCH_TOOL_ERR=$(mktemp -p "$BENCH_DIR")
    "$floor_binary" floor "$1" 2>"$BENCH_TOOL_ERR" &
    BENCH_TOOL=$!
    BENCH_PIDS+=("$BENCH_TOOL")
    bench_wait_line "$BENCH_TOOL_ERR" 'counting started'
}

# One run: start the guest, then what counts (if anything) and wait until it counts that guest,
# then let the guest run; MEASURED is "WALL CPU", the guest's wall and CPU time in seconds.
measure() {
    local config=$1 guest_out tool_pid="" port
    bench_settle
    guest_out=$(mktemp -p "$BENCH_DIR")
    bench_guest "$guest_out" -name "overhead-$$" --vcpus 1 --outs "$writes"
    local guest=$BENCH_GUEST
    case $config in
        alone) ;;
        floor-raw|floor-classic)
            bench_floor "${config#floor-}"
            tool_pid=$BENCH_TOOL ;;
        bpf-l|perf-l)
            bench_tool "${config%-l}" -l -s 1
            tool_pid=$BENCH_TOOL ;;
        bpf-l-latency)
            bench_tool bpf -l -s 1 --latency
            tool_pid=$BENCH_TOOL ;;
        only:*)
            bench_tool bpf -l -s 1 -f "^${config#only:}$"
            tool_pid=$BENCH_TOOL ;;
        bpf-serve|perf-serve|bpf-serve-latency)
            local engine=${config%%-*} latency=()
            [ "$config" = bpf-serve-latency ] && latency=(--latency)
            port=$(bench_port)
            bench_tool "$engine" --serve "127.0.0.1:$port" "${latency[@]}"
            tool_pid=$BENCH_TOOL
            # The BPF engine counts a process from its first event; perf counters must first be
            # opened on the guest's threads (the exporter looks for new VMs every second).
            [ "$engine" = bpf ] || bench_wait_series "$port" "pid=\"$guest\"" ;;
    esac
    kill -USR1 "$guest"
    wait "$guest"
    [ -n "$tool_pid" ] && bench_stop "$tool_pid"
    # A --latency run that timed nothing would pass for a cheap one: it says so, and the run stops.
    if [[ $config == *latency ]] && grep -q 'none timed' "$BENCH_TOOL_ERR"; then
        echo "bench: $config timed no exit:" >&2
        cat "$BENCH_TOOL_ERR" >&2
        return 1
    fi
    MEASURED=$(awk '/^done / { printf "%.4f %.4f", $2 / 1e9, $3 / 1e9 }' "$guest_out")
    [ -n "$MEASURED" ] || { echo "bench: the guest failed:" >&2; cat "$guest_out" >&2; return 1; }
}

configs=(alone floor-raw floor-classic bpf-l perf-l bpf-l-latency bpf-serve perf-serve bpf-serve-latency)

# The tracepoints that fire on every port write: a short guest run under kvm_stat -l --json.
if [ "${BREAKDOWN:-0}" = 1 ]; then
    calibration=10000
    log=$(mktemp -p "$BENCH_DIR")
    guest_out=$(mktemp -p "$BENCH_DIR")
    bench_guest "$guest_out" -name "overhead-calibration-$$" --vcpus 1 --outs "$calibration"
    guest=$BENCH_GUEST
    errors=$(mktemp -p "$BENCH_DIR")
    "$tool" --engine bpf --verbose -l --json -s 0.5 >"$log" 2>"$errors" &
    logger=$!
    BENCH_PIDS+=("$logger")
    bench_wait_line "$errors" 'counting started'
    kill -USR1 "$guest"
    wait "$guest"
    # SIGTERM writes the last partial interval: every write is in the log.
    bench_stop "$logger"
    mapfile -t firing < <(python3 - "$log" "$calibration" <<'EOF'
import json, sys
sums = {}
for line in open(sys.argv[1]):
    for name, value in json.loads(line)["fields"].items():
        sums[name] = sums.get(name, 0) + value.get("delta", 0)
print("\n".join(sorted(n for n, s in sums.items() if s >= int(sys.argv[2]))))
EOF
)
    echo "bench: fire on every port write: ${firing[*]}" >&2
    for name in "${firing[@]}"; do configs+=("only:$name"); done
fi

for ((round = 0; round < rounds; round++)); do
    mapfile -t order < <(python3 -c 'import random, sys; c = sys.argv[2:]; random.Random(int(sys.argv[1])).shuffle(c); print("\n".join(c))' \
        "$((seed * 1000 + round))" "${configs[@]}")
    for config in "${order[@]}"; do
        measure "$config"
        echo "$round $config $MEASURED" >>"$results"
        echo "round $((round + 1)) $config: $MEASURED" >&2
    done
done

echo "## a guest's $writes port writes ($rounds rounds in random order, seed $seed; $(uname -r), $(nproc) CPUs, $(bench_field_count) kvm tracepoints)"
echo
python3 - "$results" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    round_, config, wall, cpu = line.split()
    runs.setdefault(config, []).append((int(round_), float(wall), float(cpu)))
names = {"alone": "alone", "floor-raw": "empty raw program on every kvm tracepoint (the floor)",
         "floor-classic": "empty classic program on every kvm tracepoint",
         "bpf-l": "BPF engine, -l (host totals)", "perf-l": "perf engine, -l (host totals)",
         "bpf-l-latency": "BPF engine, -l --latency", "bpf-serve": "BPF engine, --serve (per guest)",
         "perf-serve": "perf engine, --serve (per guest)", "bpf-serve-latency": "BPF engine, --serve --latency"}

def median(config, index, half=None):
    return statistics.median(r[index] for r in runs[config] if half is None or r[0] % 2 == half)

def overhead(config, index, half=None):
    return median(config, index, half) / median("alone", index, half) - 1

print("| configuration | wall (median, min-max) | CPU (median, min-max) | overhead, wall | overhead, CPU | CPU overhead, odd / even rounds |")
print("|---|---|---|---|---|---|")
for config in runs:
    walls = [r[1] for r in runs[config]]
    cpus = [r[2] for r in runs[config]]
    name = names.get(config, f"BPF engine, -l, only {config[5:]}" if config.startswith("only:") else config)
    cells = [f"{statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f})",
             f"{statistics.median(cpus):.3f} s ({min(cpus):.3f}-{max(cpus):.3f})"]
    if config == "alone":
        cells += ["", "", ""]
    else:
        halves = " / ".join(f"{overhead(config, 2, h) * 100:+.1f} %" if any(r[0] % 2 == h for r in runs[config]) else "-" for h in (1, 0))
        cells += [f"{overhead(config, 1) * 100:+.1f} %", f"{overhead(config, 2) * 100:+.1f} %", halves]
    print(f"| {name} | " + " | ".join(cells) + " |")
print()
for view, flag in [("l", "-l"), ("serve", "--serve")]:
    bpf, perf = overhead(f"bpf-{view}", 2), overhead(f"perf-{view}", 2)
    if perf > 0:
        print(f"BPF / perf overhead ({flag}, CPU time): {bpf / perf:.2f}")
    # The goal is against counting alone: the guest's CPU time with --latency over its time with the same view without.
    latency = median(f"bpf-{view}-latency", 2) / median(f"bpf-{view}", 2) - 1
    print(f"--latency ({flag}, CPU time): {latency * 100:+.1f} % over counting alone ({(overhead(f'bpf-{view}-latency', 2) - bpf) * 100:+.1f} % of the guest's time alone); goal: under +2 %")
EOF
