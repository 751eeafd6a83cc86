#!/usr/bin/env bash
# Per-guest truth on a dense host, with real guests (needs /dev/kvm; bench/dense.sh measures the
# same without KVM, on synthetic events): N one-vCPU test guests (tests/guest/guest.c), half of
# them started before the tools and half after, each making (i % 10 + 1) x 10 port writes once
# every tool counts it. Checked: each guest's kvm_pio in the last record of kvm_stat -l --json, in
# a real Prometheus scraping kvm_stat --serve every 2 s, and in the rows of the screen's guest
# view (every page); in the JSON and in Prometheus, the guests, the events outside VMs, those of exited VMs and
# the unattributed ones make the host's total. Measured: each tool's start-up (to "counting
# started"), peak RSS, the log's CPU per refresh, and Prometheus's own scrape duration and samples.
# Run as root: bench/dense-kvm.sh [N]   (default 4000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4000}
[ -e /dev/kvm ] || { echo "bench: no /dev/kvm: this benchmark runs real guests (bench/dense.sh measures without KVM)" >&2; exit 1; }
source bench/lib.sh
bench_prepare
bench_need prometheus prometheus
bench_need tmux tmux
helper="python3 bench/dense_kvm.py"
socket="kvm_stat-dense-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; bench_cleanup' EXIT
prefix="dense-$$-"
guests=$BENCH_DIR/guests
: >"$guests"
results=()
# Each result is said as it is measured (a later failure keeps it), and the table comes at the end.
record() {
    results+=("| $1 | $2 |")
    echo "bench: $1: $2" >&2
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_guests FROM TO: guests FROM..TO-1, each waiting for SIGUSR1 to make its writes; returns once all are ready.
start_guests() {
    local i writes
    for ((i = $1; i < $2; i++)); do
        writes=$(((i % 10 + 1) * 10))
        "$guest_binary" -name "$prefix$i" --vcpus 1 --outs "$writes" --stay >"$BENCH_DIR/guest-$i" 2>&1 &
        BENCH_PIDS+=($!)
        echo "$! $writes" >>"$guests"
    done
    local waited=0
    until [ "$(cat "$BENCH_DIR"/guest-* | grep -c '^ready ')" -ge "$2" ]; do
        waited=$((waited + 1))
        [ "$waited" -lt 600 ] || { echo "bench: only $(cat "$BENCH_DIR"/guest-* | grep -c '^ready ') of $2 guests ready" >&2; return 1; }
        sleep 1
    done
}

# started NAME ERR-FILE START-MS: waits for "counting started" and records the start-up.
started() {
    bench_wait_line "$2" 'counting started'
    record "$1: start-up to counting (ms)" "$(($(now_ms) - $3))"
}

# until_all WHAT COMMAND...: until COMMAND prints at least N (up to 120 s).
until_all() {
    local what=$1 waited=0 seen
    shift
    until seen=$("$@") && [ "$seen" -ge "$n" ]; do
        waited=$((waited + 1))
        [ "$waited" -lt 240 ] || { echo "bench: $what: only ${seen:-0} of $n guests" >&2; return 1; }
        sleep 0.5
    done
}

echo "bench: starting $((n / 2)) guests before the tools" >&2
start_guests 0 $((n / 2))

log=$BENCH_DIR/log.json
t=$(now_ms)
"$tool" --engine bpf --verbose -l --json -s 1 --guest-fields kvm_pio >"$log" 2>"$BENCH_DIR/log.err" &
logger=$!
BENCH_PIDS+=("$logger")
started "-l --json -s 1 --guest-fields kvm_pio" "$BENCH_DIR/log.err" "$t"

port=$(bench_port)
t=$(now_ms)
"$tool" --engine bpf --verbose --serve "127.0.0.1:$port" >/dev/null 2>"$BENCH_DIR/serve.err" &
exporter=$!
BENCH_PIDS+=("$exporter")
started "--serve" "$BENCH_DIR/serve.err" "$t"

prometheus_port=$(bench_port)
mkdir -p "$BENCH_DIR/prometheus"
# A scrape may take as long as its interval: a first scrape of thousands of guests takes most of a second.
cat >"$BENCH_DIR/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: kvm_stat
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
prometheus --config.file="$BENCH_DIR/prometheus/prometheus.yml" --storage.tsdb.path="$BENCH_DIR/prometheus/data" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$BENCH_DIR/prometheus/log" 2>&1 &
prometheus_pid=$!
BENCH_PIDS+=("$prometheus_pid")
api="http://127.0.0.1:$prometheus_port"
waited=0
until curl -sf "$api/-/ready" >/dev/null; do
    waited=$((waited + 1))
    if ! kill -0 "$prometheus_pid" 2>/dev/null || [ "$waited" -gt 600 ]; then
        echo "bench: Prometheus did not start:" >&2
        tail -n 20 "$BENCH_DIR/prometheus/log" >&2
        exit 1
    fi
    sleep 0.1
done

# screen_wait WHAT PATTERN: until the screen shows PATTERN (grep -E), up to 60 s.
screen_wait() {
    local waited=0
    until tmux -L "$socket" capture-pane -p | grep -Eq "$2"; do
        waited=$((waited + 1))
        [ "$waited" -lt 600 ] || { echo "bench: the screen never showed $1" >&2; cat "$BENCH_DIR/screen.err" >&2; exit 1; }
        sleep 0.1
    done
}

# The screen, counting only kvm_pio, in its guest view.
tmux -L "$socket" new-session -d -x 160 -y 60 "$tool --engine bpf -f '^kvm_pio\$' 2>$BENCH_DIR/screen.err"
screen_wait "its first draw" 'kvm statistics'
tmux -L "$socket" send-keys b
screen_wait "the guest view" 'kvm statistics - per guest'

echo "bench: starting $((n - n / 2)) guests after the tools" >&2
start_guests $((n / 2)) "$n"

# Every tool follows every guest before any writes.
until_all "-l --json" sh -c "tail -n 1 '$log' | grep -o '\"name\":\"$prefix' | wc -l"
until_all "--serve" sh -c "curl -sf 'http://127.0.0.1:$port/metrics' | grep -c '^kvm_guest_info{guest=\"$prefix'"

# alive WHAT PID: the process still runs (else the run ends, saying so).
alive() {
    kill -0 "$2" 2>/dev/null && return 0
    echo "bench: $1 exited" >&2
    exit 1
}

echo "bench: every guest makes its writes" >&2
hz=$(getconf CLK_TCK)
before=$(bench_cpu_ticks "$logger")
lines0=$(wc -l <"$log")
cut -d' ' -f1 "$guests" | xargs kill -USR1
waited=0
until [ "$(cat "$BENCH_DIR"/guest-* | grep -c '^done ')" -ge "$n" ]; do
    waited=$((waited + 1))
    if [ "$waited" -gt 1200 ]; then
        echo "bench: only $(cat "$BENCH_DIR"/guest-* | grep -c '^done ') of $n guests made their writes; some of the others said:" >&2
        grep -L '^done ' "$BENCH_DIR"/guest-* | head -n 5 | xargs tail -n 3 >&2
        exit 1
    fi
    sleep 0.5
done
# Two more records and a few more scrapes after the last write.
waited=0
until [ "$(wc -l <"$log")" -ge $((lines0 + 3)) ]; do
    alive "kvm_stat -l --json" "$logger"
    waited=$((waited + 1))
    [ "$waited" -lt 300 ] || { echo "bench: kvm_stat -l --json wrote no record for 60 s" >&2; exit 1; }
    sleep 0.2
done
sleep 5
# The records and the CPU time they took, read together.
after=$(bench_cpu_ticks "$logger")
lines1=$(wc -l <"$log")

record "-l --json: counts" "$($helper check-json "$log" "$guests" "$prefix")"
record "-l --json: CPU per refresh (ms)" "$(awk -v t=$((after - before)) -v hz="$hz" -v r=$((lines1 - lines0)) 'BEGIN { printf "%.1f", t * 1000 / hz / r }')"
record "-l --json: record (KB)" "$(tail -n 2 "$log" | head -n 1 | wc -c | awk '{ print int($1 / 1000) }')"
record "-l --json: peak RSS (MB)" "$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' /proc/"$logger"/status)"
alive Prometheus "$prometheus_pid"
record "Prometheus: counts" "$($helper check-prometheus "$api" "$guests" "$prefix")"
read -r scrape samples <<<"$($helper scrape "$api")"
record "--serve: slowest scrape in Prometheus (ms)" "$scrape"
record "--serve: samples a scrape" "$samples"
record "--serve: peak RSS (MB)" "$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' /proc/"$exporter"/status)"

alive "the screen" "$(tmux -L "$socket" list-panes -F '#{pane_pid}')"
bench_screen_pages "$socket" "^ ${prefix}[0-9]+ \\[" "$BENCH_DIR/screen.txt"
record "screen's guest view: counts" "$($helper check-screen "$BENCH_DIR/screen.txt" "$guests" "$prefix")"

echo "## $n one-vCPU guests ($((n / 2)) before the tools, the rest after); $(uname -r), $(nproc) CPUs, $(bench_field_count) kvm tracepoints"
echo
echo "| measure | value |"
echo "|---|---|"
printf '%s\n' "${results[@]}"
