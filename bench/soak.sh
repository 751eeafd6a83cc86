#!/usr/bin/env bash
# Months of VM churn in minutes: test guests (2 vCPU threads each, about 1 s of life, 3 alive at a
# time) start and stop LIFETIMES times while three kvm_stat processes watch: the log service
# (-L FILE --json -s 0.5), the exporter (--serve, scraped every 1.2 s) and the screen's per-guest
# view (b, -s 0.5). Every 100 lifetimes: resident memory, descriptors, threads and CPU seconds of
# each. At the end the counts are checked against the guests: the port writes all guests made
# equal kvm_pio in the log's last record and in the exporter's kvm_events_total.
# Run as root: bench/soak.sh [LIFETIMES] [ENGINE]      (default: 3000 bpf)
set -euo pipefail
cd "$(dirname "$0")/.."
lifetimes=${1:-3000}
engine=${2:-bpf}
source bench/lib.sh
bench_prepare
bench_need tmux tmux
socket="kvm_stat-soak-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; bench_cleanup' EXIT

log_file=$BENCH_DIR/log.json
bench_tool "$engine" -L "$log_file" --json -s 0.5
log_pid=$BENCH_TOOL
port=$(bench_port)
bench_tool "$engine" --serve "127.0.0.1:$port"
serve_pid=$BENCH_TOOL
url="http://127.0.0.1:$port/metrics"
(while true; do curl -sf "$url" >/dev/null || true; sleep 1.2; done) &
BENCH_PIDS+=($!)
tmux -L "$socket" new-session -d -x 120 -y 40 "exec $tool --engine $engine -s 0.5"
screen_pid=$(tmux -L "$socket" list-panes -F '#{pane_pid}')
sleep 1
tmux -L "$socket" send-keys b

# "RSS-KB FDS THREADS CPU-SECONDS" of a process.
usage() {
    local rss threads fds cpu
    rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status)
    threads=$(awk '/^Threads:/ { print $2 }' /proc/"$1"/status)
    fds=$(ls /proc/"$1"/fd | wc -l)
    # utime and stime: fields 14 and 15 of stat, after the ")" that ends the command name.
    cpu=$(sed 's/.*) //' /proc/"$1"/stat | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($12 + $13) / hz }')
    echo "$rss $fds $threads $cpu"
}

row() {
    local done=$1 cells="" pid rss fds threads cpu
    for pid in "$log_pid" "$serve_pid" "$screen_pid"; do
        read -r rss fds threads cpu < <(usage "$pid")
        cells+=" $(awk -v k="$rss" 'BEGIN { printf "%.1f MB", k / 1024 }') / $fds / $threads / $cpu s |"
    done
    echo "| $done |$cells"
}

echo "## $lifetimes VM lifetimes, $engine engine ($(uname -r), $(nproc) CPUs)"
echo
echo "| lifetimes | log service: RSS / fds / threads / CPU | exporter | screen (b view) |"
echo "|---|---|---|---|"
row 0

started=0 finished=0 writes=0
declare -A outputs=()
start_guest() {
    local output
    output=$(mktemp -p "$BENCH_DIR")
    "$guest_binary" -name "soak-$started" --vcpus 2 --outs 100 --every 100 --lifetime 1000 >"$output" 2>&1 &
    outputs[$!]=$output
    BENCH_PIDS+=($!)
    started=$((started + 1))
}
while [ "$started" -lt 3 ] && [ "$started" -lt "$lifetimes" ]; do start_guest; done
while [ "$finished" -lt "$lifetimes" ]; do
    wait -n -p ended "${!outputs[@]}" || { echo "bench: a guest failed: $(cat "${outputs[$ended]}")" >&2; exit 1; }
    n=$(awk '/^writes / { print $2 }' "${outputs[$ended]}")
    [ -n "$n" ] || { echo "bench: guest $ended said nothing: $(cat "${outputs[$ended]}")" >&2; exit 1; }
    writes=$((writes + n))
    rm -f "${outputs[$ended]}"
    unset "outputs[$ended]"
    finished=$((finished + 1))
    [ "$started" -lt "$lifetimes" ] && start_guest
    if [ $((finished % 100)) -eq 0 ]; then row "$finished"; fi
done

# The last guest's events are in the next sample: one more record and one more scrape.
sleep 1.5
exported=$(curl -sf "$url" | awk '/^kvm_events_total\{event="kvm_pio"\}/ { print $2 }')
bench_stop "$log_pid"
logged=$(python3 -c 'import json, sys; print(max(json.loads(l)["fields"]["kvm_pio"]["total"] for l in open(sys.argv[1])))' "$log_file")
echo
echo "port writes made by the guests: $writes; kvm_pio in the log: $logged; in the exporter: $exported"
if [ "$writes" = "$logged" ] && [ "$writes" = "$exported" ]; then echo "exact"; else echo "NOT EXACT"; exit 1; fi
