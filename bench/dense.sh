#!/usr/bin/env bash
# Everything around the BPF table on a dense host, without KVM: N VM processes that are real
# processes (children of tests/guest/bpfrun.c) whose events are synthetic: each child runs the
# tool's own kvm_pio program with BPF_PROG_TEST_RUN (child i: i % 10 + 1 events per kick), so the
# kernel counts them as that process's. A fixture root (KVM_STAT_ROOT) gives the published binary
# this host's tracefs, CPUs and modules, and a /proc whose only processes are those VMs.
# Measured, in rounds of random order: start-up of "-1 --json" (to the first sample, and to the
# record written and exit), CPU per refresh and peak RSS of "-l --json -s 1" (events every second),
# the exporter's scrape time and body size with and without --guest-fields kvm_pio, and the
# screen's guest view (every page read); every count checked exact. The step "latency" measures the
# exporter and -l --json with exit latencies: each child's events are exits to user space of three
# reasons in turn (the tool's kvm_userspace_exit program), each ended by ioctl(KVM_RUN) (which its
# sys_enter program times), against the same exits counted without --latency. The step "first"
# measures a fresh exporter with a debugfs folder per VM and without debugfs, among DENSE_OTHERS
# (1000) processes that are no VMs and raise events too: its first scrape (the VMs made, no event
# yet), its first scrape after every process's first events, later scrapes, its CPU a second
# (events and a scrape every second), and the wall time of -1 --json. The step "vcpus" measures
# the exporter with --vcpus (each VM's one thread is its vCPU 0, a row of the table of threads).
# Run as root: bench/dense.sh [COUNTS...]   (default: 1 200 4000; DENSE_ROUNDS=3, DENSE_SECONDS=60,
# DENSE_STEPS="serve log screen"; "latency", "first" and "vcpus" too if named)
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 200 4000)
rounds=${DENSE_ROUNDS:-3}
seconds=${DENSE_SECONDS:-60}
steps=${DENSE_STEPS:-serve log screen}
others=${DENSE_OTHERS:-1000}
scrapes=10
source bench/lib.sh
bench_prepare
bench_need tmux tmux
bpfrun=$PWD/artifacts/bench/bpfrun
gcc -O2 -Wall -Wextra -Werror -pthread -o "$bpfrun" tests/guest/bpfrun.c
dotnet build bench/KvmStat.Bench/KvmStat.Bench.csproj -c Release --nologo -v quiet >/dev/null
startup_bench=$PWD/artifacts/build/bin/KvmStat.Bench/release/KvmStat.Bench
trap 'tmux -L "kvm_stat-dense-$$" kill-server 2>/dev/null || true; bench_cleanup' EXIT
helper="python3 bench/dense.py"
root=$BENCH_DIR/root
$helper root "$root"
export KVM_STAT_ROOT=$root
# The latency step's: this host's CPU, whose kvm_entry never fires (the tool times exits to user
# space up to the next ioctl(KVM_RUN), which the children make).
plain_root=$BENCH_DIR/root-plain
$helper root "$plain_root" plain
results=$BENCH_DIR/results.tsv
pids=$BENCH_DIR/pids
others_pids=$BENCH_DIR/others
# kvm_pio's raw tracepoint arguments (vcpu, port, size, count), eight bytes each, little-endian.
pio=0100000000000000f80300000000000001000000000000000100000000000000
# What the children raise: kvm_pio, or (workload=exits) exits to user space: kvm_userspace_exit's
# arguments (reason, errno), the reason put in by bpfrun (KVM_EXIT_IO 2, MMIO 6, HLT 5, in turn).
workload=pio
exits=00000000000000000000000000000000
exit_reasons=2,6,5
exit_labels=IO,MMIO,HLT

# The event processes' parent: one set of children at a time, each running one tool's program.
coproc BPFRUN { exec "$bpfrun"; }
BENCH_PIDS+=("$BPFRUN_PID")
ask() {
    echo "$1" >&"${BPFRUN[1]}"
    IFS= read -r answer <&"${BPFRUN[0]}"
}
IFS= read -r answer <&"${BPFRUN[0]}"  # "ready PID"

# vms_of TOOL-PID N [OTHERS [debugfs]]: N children that run TOOL's kvm_pio program (or its
# kvm_userspace_exit program, exits ended by ioctl(KVM_RUN)), the fixture's only VMs; OTHERS more
# children, after them, that are processes of the fixture but no VMs; debugfs: a folder per VM.
vms_of() {
    local fd all=$(($2 + ${3:-0}))
    if [ "$workload" = exits ]; then
        fd=$($helper program "$1" kvm_userspace_e)
        ask "get $1 $fd"
        ask "fork $all ${answer#fd } $exits $exit_reasons"
    else
        fd=$($helper program "$1" kvm_pio)
        ask "get $1 $fd"
        ask "fork $all ${answer#fd } $pio"
    fi
    [[ $answer == forked* ]] || { echo "bench: bpfrun: $answer" >&2; return 1; }
    # Through a file: head closing a pipe early would fail the pipeline (pipefail).
    tr ' ' '\n' <<<"${answer#forked }" >"$pids.all"
    head -n "$2" "$pids.all" >"$pids"
    tail -n +"$(($2 + 1))" "$pids.all" >"$others_pids"
    $helper vms "$root" "$pids" "$others_pids" ${4:-}
}

vms_end() {
    ask release
    $helper vms "$root" /dev/null
}

kick() {
    ask kick
    [ "$answer" = "kicked 0" ] || { echo "bench: bpfrun: $answer" >&2; return 1; }
}

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }

# check metrics|json FILE KICKS ARGS...: what dense.py says of the counts (and latencies) in FILE.
check() {
    local kind=$1 file=$2 kicks=$3
    shift 3
    if [ "$workload" = exits ]; then
        if [[ " $* " == *" --latency "* ]]; then
            $helper "check-latency-$kind" "$file" "$pids" "$kicks" "$exit_labels"
        else
            $helper "check-latency-$kind" "$file" "$pids" "$kicks" "$exit_labels" untimed
        fi
    elif [[ " $* " == *" --vcpus "* ]]; then
        $helper "check-vcpus-$kind" "$file" "$pids" "$kicks"
    else
        $helper "check-$kind" "$file" "$pids" "$kicks"
    fi
}

# serve N LABEL ARGS...: scrape time and body size of --serve ARGS once all N guests are exact.
serve() {
    local n=$1 label=$2 port body waited=0 verdict i
    shift 2
    port=$(bench_port)
    bench_tool bpf --serve "127.0.0.1:$port" "$@"
    vms_of "$BENCH_TOOL" "$n"
    kick
    body=$BENCH_DIR/body
    until curl -sf "http://127.0.0.1:$port/metrics" -o "$body" &&
        verdict=$(check metrics "$body" 1 "$@") && [ "$verdict" = exact ]; do
        waited=$((waited + 1))
        [ "$waited" -lt 60 ] || break
        sleep 0.5
    done
    record "$n" "$label: counts check" "$verdict"
    for ((i = 0; i < scrapes; i++)); do
        curl -sf "http://127.0.0.1:$port/metrics" -o "$body" -w '%{time_total} %{size_download}\n'
    done | while read -r time size; do
        record "$n" "$label: scrape (ms)" "$(awk -v t="$time" 'BEGIN { print t * 1000 }')"
        record "$n" "$label: body (KB)" "$(awk -v s="$size" 'BEGIN { print s / 1000 }')"
    done
    record "$n" "$label: peak RSS (MB)" "$(awk '/^VmHWM:/ { print $2 / 1024 }' /proc/"$BENCH_TOOL"/status)"
    bench_stop "$BENCH_TOOL"
    vms_end
}

# first N LABEL [debugfs]: a fresh exporter with N VMs (debugfs: a folder each) and $others other
# processes: the time of its first scrape (the VMs made, before any event), of its first scrape
# after every process's first events, of later scrapes, its CPU a second over $seconds (events and
# a scrape every second), every count checked; then the wall time of -1 --json among them.
first() {
    local n=$1 label=$2 port body url kicks=1 before after hz i time
    shift 2
    port=$(bench_port)
    url="http://127.0.0.1:$port/metrics"
    body=$BENCH_DIR/body
    bench_tool bpf --serve "127.0.0.1:$port"
    vms_of "$BENCH_TOOL" "$n" "$others" "$@"
    # Assigned before recorded: a failed scrape stops the bench (set -e), never an empty figure.
    scrape_ms() { curl -sf "$url" -o "$body" -w '%{time_total}\n' | awk '{ print $1 * 1000 }'; }
    time=$(scrape_ms)
    record "$n" "$label: first scrape (ms)" "$time"
    kick
    # A scrape within half a second of the last is served the last one's sample: each timed one samples.
    sleep 0.6
    time=$(scrape_ms)
    record "$n" "$label: scrape after the first events (ms)" "$time"
    for ((i = 0; i < scrapes; i++)); do
        sleep 0.6
        time=$(scrape_ms)
        record "$n" "$label: later scrapes (ms)" "$time"
    done
    record "$n" "$label: counts check" "$($helper check-metrics "$body" "$pids" 1 "$others_pids")"
    hz=$(getconf CLK_TCK)
    before=$(bench_cpu_ticks "$BENCH_TOOL")
    for ((i = 0; i < seconds; i++)); do
        sleep 1
        kick
        kicks=$((kicks + 1))
        time=$(scrape_ms)
    done
    after=$(bench_cpu_ticks "$BENCH_TOOL")
    record "$n" "$label: exporter CPU (ms/s)" "$(awk -v t=$((after - before)) -v hz="$hz" -v s="$seconds" 'BEGIN { print t * 1000 / hz / s }')"
    record "$n" "$label: after ${seconds} s of events: counts check" "$($helper check-metrics "$body" "$pids" "$kicks" "$others_pids")"
    bench_stop "$BENCH_TOOL"
    "$startup_bench" startup "$tool" 1 -1 --json --engine bpf >"$BENCH_DIR/startup"
    record "$n" "$label: -1 --json to the record and exit (ms)" "$(sed -n 's/.*wall time: median \([0-9.]*\) ms.*/\1/p' "$BENCH_DIR/startup")"
    vms_end
}

# screen N: the screen's guest view with N VMs: every guest's row, page by page, exact (the view
# follows new VMs every 3 s: a few tries).
screen() {
    local n=$1 socket="kvm_stat-dense-$$" tool_pid waited=0 tries verdict=""
    tmux -L "$socket" new-session -d -x 160 -y 60 "KVM_STAT_ROOT='$root' exec '$tool' --engine bpf -f '^kvm_pio\$' 2>'$BENCH_DIR/screen.err'"
    until tmux -L "$socket" capture-pane -p | grep -q 'kvm statistics'; do
        waited=$((waited + 1))
        [ "$waited" -lt 600 ] || { echo "bench: the screen never drew" >&2; cat "$BENCH_DIR/screen.err" >&2; return 1; }
        sleep 0.1
    done
    tool_pid=$(tmux -L "$socket" list-panes -F '#{pane_pid}')
    # The screen counts per process from when its guest view is first shown (until then only the
    # host's totals): the view first, then the events.
    tmux -L "$socket" send-keys b
    waited=0
    until tmux -L "$socket" capture-pane -p 2>/dev/null | grep -q 'kvm statistics - per guest'; do
        waited=$((waited + 1))
        [ "$waited" -lt 600 ] || { echo "bench: the screen never showed its guest view" >&2; cat "$BENCH_DIR/screen.err" >&2; return 1; }
        sleep 0.1
    done
    sleep 1
    vms_of "$tool_pid" "$n"
    kick
    for ((tries = 0; tries < 5; tries++)); do
        sleep 3
        bench_screen_pages "$socket" '^ dense-[0-9]+ \[' "$BENCH_DIR/screen.txt"
        verdict=$($helper check-screen "$BENCH_DIR/screen.txt" "$pids" 1)
        [[ $verdict != exact,* ]] || break
    done
    record "$n" "screen's guest view: counts check" "$verdict"
    record "$n" "screen's guest view: peak RSS (MB)" "$(awk '/^VmHWM:/ { print $2 / 1024 }' /proc/"$tool_pid"/status)"
    tmux -L "$socket" kill-server 2>/dev/null || true
    waited=0
    while kill -0 "$tool_pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    vms_end
}

# log N LABEL ARGS...: CPU per refresh and peak RSS of -l --json -s 1 ARGS over $seconds with events
# every second; then, without ARGS, the start-up of -1 --json with the same N VMs.
log() {
    local n=$1 label=$2 out=$BENCH_DIR/log.json err=$BENCH_DIR/log.err logger kicks=1 waited=0 before after lines0 lines1 hz
    shift 2
    "$tool" --engine bpf -l --json -s 1 --verbose "$@" >"$out" 2>"$err" &
    logger=$!
    BENCH_PIDS+=("$logger")
    bench_wait_line "$err" 'counting started'
    vms_of "$logger" "$n"
    kick
    # Until a record has every guest (the /proc scan runs every 3 s).
    until [ "$(tail -1 "$out" | grep -o '"name":"dense-' | wc -l)" -ge "$n" ]; do
        waited=$((waited + 1))
        [ "$waited" -lt 100 ] || { echo "bench: -l --json never listed $n guests" >&2; return 1; }
        sleep 0.2
    done
    hz=$(getconf CLK_TCK)
    before=$(bench_cpu_ticks "$logger")
    lines0=$(wc -l <"$out")
    for ((i = 0; i < seconds; i++)); do
        sleep 1
        kick
        kicks=$((kicks + 1))
    done
    after=$(bench_cpu_ticks "$logger")
    lines1=$(wc -l <"$out")
    record "$n" "$label: CPU per refresh (ms)" "$(awk -v t=$((after - before)) -v hz="$hz" -v r=$((lines1 - lines0)) 'BEGIN { print t * 1000 / hz / r }')"
    record "$n" "$label: peak RSS (MB)" "$(awk '/^VmHWM:/ { print $2 / 1024 }' /proc/"$logger"/status)"
    # The last kick is in the next record but one (a record may be half-written when it came).
    until [ "$(wc -l <"$out")" -ge $((lines1 + 2)) ]; do sleep 0.1; done
    bench_stop "$logger"
    record "$n" "$label: record (KB)" "$(head -n "$lines1" "$out" | tail -1 | wc -c | awk '{ print $1 / 1000 }')"
    record "$n" "$label: counts check" "$(check json "$out" "$kicks" "$@")"
    : >"$out"
    if [ $# -gt 0 ] || [ "$workload" = exits ]; then
        vms_end
        return
    fi
    # -1 --json with the same VMs: the children run the stopped tool's program, so no events.
    "$startup_bench" startup "$tool" 1 -1 --json --engine bpf >"$BENCH_DIR/startup"
    record "$n" "-1 --json: start-up to first sample (ms)" "$(sed -n 's/^start-up to first sample: median \([0-9.]*\) ms.*/\1/p' "$BENCH_DIR/startup")"
    record "$n" "-1 --json: to the record and exit (ms)" "$(sed -n 's/.*wall time: median \([0-9.]*\) ms.*/\1/p' "$BENCH_DIR/startup")"
    vms_end
}

: >"$results"
for ((round = 1; round <= rounds; round++)); do
    for n in $(printf '%s\n' "${counts[@]}" | shuf); do
        echo "round $round: $n VMs" >&2
        if [[ " $steps " == *" serve "* ]]; then
            bench_settle
            serve "$n" "--serve"
            bench_settle
            serve "$n" "--serve --guest-fields kvm_pio" --guest-fields kvm_pio
        fi
        if [[ " $steps " == *" log "* ]]; then
            bench_settle
            log "$n" "-l --json -s 1"
            bench_settle
            log "$n" "-l --json -s 1 --guest-fields kvm_pio" --guest-fields kvm_pio
        fi
        if [[ " $steps " == *" screen "* ]]; then
            bench_settle
            screen "$n"
        fi
        if [[ " $steps " == *" vcpus "* ]]; then
            bench_settle
            serve "$n" "--serve --vcpus" --vcpus
        fi
        if [[ " $steps " == *" first "* ]]; then
            for mode in $(printf '%s\n' debugfs none | shuf); do
                bench_settle
                if [ "$mode" = debugfs ]; then first "$n" "debugfs folders" debugfs; else first "$n" "no debugfs"; fi
            done
        fi
        if [[ " $steps " == *" latency "* ]]; then
            workload=exits
            root=$plain_root
            export KVM_STAT_ROOT=$root
            for latency in "" --latency; do
                bench_settle
                serve "$n" "exits: --serve${latency:+ $latency}" $latency
                bench_settle
                log "$n" "exits: -l --json -s 1${latency:+ $latency}" $latency
            done
            workload=pio
            root=$BENCH_DIR/root
            export KVM_STAT_ROOT=$root
        fi
    done
done

echo "## $(uname -r), $(nproc) CPUs, $(bench_field_count) kvm tracepoints, $rounds rounds in random order, steps: $steps (${seconds} s of -l per round, $scrapes scrapes per round$([[ " $steps " != *" first "* ]] || echo ", $others other processes in the step first"))"
echo
$helper table "$results"
