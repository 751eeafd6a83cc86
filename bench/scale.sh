#!/usr/bin/env bash
# Per-guest counting at scale: with N test guests running (4 vCPU threads each, every vCPU making
# 100 port writes a second), each engine's descriptors, threads, start-up to first sample, peak
# resident memory and CPU per refresh, and whether the views that follow every guest work: the
# screen's "b" view, "-1 --json" and "--serve". The open-file limit is the host's (20000 here).
# Run as root: bench/scale.sh [COUNTS...]      (default: 1 30 60 200)
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 30 60 200)
seconds=${SCALE_SECONDS:-20}
source bench/lib.sh
bench_prepare
bench_need tmux tmux
dotnet build bench/KvmStat.Bench/KvmStat.Bench.csproj -c Release --nologo -v quiet >/dev/null
startup_bench=$PWD/artifacts/build/bin/KvmStat.Bench/release/KvmStat.Bench
socket="kvm_stat-scale-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; bench_cleanup' EXIT

echo "## $(uname -r), $(nproc) CPUs, $(bench_field_count) kvm tracepoints, open-file limit $(ulimit -Hn)"
echo
echo "| VMs | engine | descriptors | threads | start-up to first sample | peak RSS (-l --json) | CPU per refresh at -s 0.1 | b view | -1 --json | --serve |"
echo "|---|---|---|---|---|---|---|---|---|---|"

running=0
guest_pids=()
add_guests() {
    local want=$1 output
    while [ "$running" -lt "$want" ]; do
        output=$(mktemp -p "$BENCH_DIR")
        bench_guest "$output" -name "scale-$running" --vcpus 4 --outs 100 --every 1000
        guest_pids+=("$BENCH_GUEST")
        running=$((running + 1))
    done
}


# The tool's error, shortened for a table cell.
bench_reason() {
    local line
    line=$(grep -m1 'error: ' "$1" || tail -1 "$1")
    line=${line#*error: }
    echo "${line:0:70}…"
}

# "works (N guests)" when a JSON record lists every running guest, or the tool's error.
check_json() {
    local engine=$1 out err
    out=$(mktemp -p "$BENCH_DIR"); err=$(mktemp -p "$BENCH_DIR")
    if "$tool" --engine "$engine" -1 --json >"$out" 2>"$err"; then
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); n = sum(1 for g in d["guests"] if g["name"].startswith("scale-")); print(f"works ({n} guests)")' "$out"
    else
        echo "fails: $(bench_reason "$err")"
    fi
}

check_serve() {
    local engine=$1 port n
    port=$(bench_port)
    if ! bench_tool "$engine" --serve "127.0.0.1:$port" 2>/dev/null; then
        echo "fails: $(bench_reason "$BENCH_TOOL_ERR")"
        return
    fi
    sleep 2
    n=$(curl -sf "http://127.0.0.1:$port/metrics" | grep '^kvm_guest_events_total{' | grep -o 'guest="scale-[0-9]*"' | sort -u | wc -l)
    if grep -q 'cannot\|needs' "$BENCH_TOOL_ERR"; then
        echo "degraded ($n guests): $(grep -m1 'cannot\|needs' "$BENCH_TOOL_ERR" | cut -c11-80)…"
    else
        echo "works ($n guests)"
    fi
    bench_stop "$BENCH_TOOL"
}

check_screen() {
    local engine=$1 pane
    tmux -L "$socket" new-session -d -x 160 -y 50 "$tool --engine $engine -s 1; sleep 30"
    sleep 2
    tmux -L "$socket" send-keys b
    sleep 3
    pane=$(tmux -L "$socket" capture-pane -p)
    tmux -L "$socket" send-keys q
    tmux -L "$socket" kill-server 2>/dev/null || true
    local rows
    rows=$(grep -c ' scale-[0-9]' <<<"$pane" || true)
    if [ "$rows" -gt 0 ]; then
        echo "works ($rows rows on a 50-line screen)"
    else
        echo "fails: $(bench_reason <(echo "$pane"))"
    fi
}

for n in "${counts[@]}"; do
    add_guests "$n"
    for engine in bpf perf; do
        bench_settle
        json=$(check_json "$engine")
        bench_settle
        serve=$(check_serve "$engine")
        bench_settle
        screen=$(check_screen "$engine")
        bench_settle
        startup=$("$startup_bench" startup "$tool" 3 -1 --json --engine "$engine" | head -1 | sed -n 's/.*median \([0-9.]*\) ms.*/\1 ms/p' || true)
        [ -n "$startup" ] || startup="—"
        bench_settle
        record=$(mktemp -p "$BENCH_DIR")
        if bench_tool "$engine" -l --json -s 0.1 2>/dev/null; then
            # The tool writes to a file here (bench_tool discards standard output): count records at both ends.
            log=$BENCH_TOOL
            descriptors=$(ls /proc/"$log"/fd | wc -l)
            threads=$(awk '/^Threads:/ { print $2 }' /proc/"$log"/status)
            bench_stop "$log"
            "$tool" --engine "$engine" -l --json -s 0.1 >"$record" 2>/dev/null &
            log=$!
            BENCH_PIDS+=("$log")
            sleep 2
            before=$(wc -l <"$record")
            clock=$(perf stat -x, -e task-clock -p "$log" -- sleep "$seconds" 2>&1 | awk -F, '/task-clock/ { print $1 }')
            after=$(wc -l <"$record")
            rss=$(awk '/^VmHWM:/ { printf "%.1f MB", $2 / 1024 }' /proc/"$log"/status)
            bench_stop "$log"
            cpu=$(awk -v ms="$clock" -v n="$((after - before))" 'BEGIN { if (n > 0) printf "%.0f µs (%d refreshes)", ms * 1000 / n, n; else print "—" }')
        else
            descriptors="—"; threads="—"; rss="—"
            cpu="fails: $(bench_reason "$BENCH_TOOL_ERR")"
        fi
        echo "| $n | $engine | $descriptors | $threads | $startup | $rss | $cpu | $screen | $json | $serve |"
    done
done
