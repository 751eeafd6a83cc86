#!/usr/bin/env bash
# What counting costs a guest: the wall time of a one-vCPU test guest making 1,000,000 port
# writes (about 9 kvm tracepoints fire per write), alone and while kvm_stat counts every kvm
# tracepoint with each engine, for the host's totals (-l) and per guest (--serve, which follows
# every VM). The configurations are interleaved, a different order each round, so that drift of
# the host falls on all of them alike.
# Run as root: bench/overhead.sh [ROUNDS] [WRITES]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
writes=${2:-1000000}
source bench/lib.sh
bench_prepare

results=$(mktemp)
trap 'bench_cleanup; rm -f "$results"' EXIT

# One run: start the guest, then the tool (if any) and wait until it counts that guest, then let
# the guest run; MEASURED is the guest's wall time in seconds.
measure() {
    local config=$1 guest_out tool_pid="" port
    bench_settle
    guest_out=$(mktemp -p "$BENCH_DIR")
    bench_guest "$guest_out" -name "overhead-$$" --vcpus 1 --outs "$writes"
    local guest=$BENCH_GUEST
    case $config in
        alone) ;;
        bpf-l|perf-l)
            bench_tool "${config%-l}" -l -s 1
            tool_pid=$BENCH_TOOL ;;
        bpf-serve|perf-serve)
            port=$(bench_port)
            bench_tool "${config%-serve}" --serve "127.0.0.1:$port"
            tool_pid=$BENCH_TOOL
            # The BPF engine counts a process from its first event; perf counters must first be
            # opened on the guest's threads (the exporter looks for new VMs every second).
            [ "$config" = bpf-serve ] || bench_wait_series "$port" "pid=\"$guest\"" ;;
    esac
    kill -USR1 "$guest"
    wait "$guest"
    [ -n "$tool_pid" ] && bench_stop "$tool_pid"
    MEASURED=$(awk '/^done / { printf "%.3f", $2 / 1e9 }' "$guest_out")
    [ -n "$MEASURED" ] || { echo "bench: the guest failed:" >&2; cat "$guest_out" >&2; return 1; }
}

configs=(alone bpf-l perf-l bpf-serve perf-serve)
for ((round = 0; round < rounds; round++)); do
    for ((i = 0; i < ${#configs[@]}; i++)); do
        config=${configs[$(((i + round) % ${#configs[@]}))]}
        measure "$config"
        echo "$config $MEASURED" >>"$results"
        echo "round $((round + 1)) $config: $MEASURED s" >&2
    done
done

echo "## guest wall time for $writes port writes ($rounds rounds, median; $(uname -r), $(nproc) CPUs, $(bench_field_count) kvm tracepoints)"
echo
python3 - "$results" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    config, seconds = line.split()
    runs.setdefault(config, []).append(float(seconds))
alone = statistics.median(runs["alone"])
names = {"alone": "alone", "bpf-l": "BPF engine, -l (host totals)", "perf-l": "perf engine, -l (host totals)",
         "bpf-serve": "BPF engine, --serve (per guest)", "perf-serve": "perf engine, --serve (per guest)"}
print("| configuration | median | runs | overhead |")
print("|---|---|---|---|")
overhead = {}
for config in ["alone", "bpf-l", "perf-l", "bpf-serve", "perf-serve"]:
    median = statistics.median(runs[config])
    overhead[config] = median / alone - 1
    spread = ", ".join(f"{s:.2f}" for s in runs[config])
    print(f"| {names[config]} | {median:.2f} s | {spread} | {'' if config == 'alone' else f'{overhead[config] * 100:+.1f} %'} |")
print()
for view in ["l", "serve"]:
    bpf, perf = overhead[f"bpf-{view}"], overhead[f"perf-{view}"]
    if perf > 0:
        print(f"BPF overhead / perf overhead ({'-l' if view == 'l' else '--serve'}): {bpf / perf:.2f}")
EOF
