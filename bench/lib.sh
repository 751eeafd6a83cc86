# shellcheck shell=bash
# Helpers the guest benchmarks share (sourced). Every process started here is remembered and
# ended by bench_cleanup, which the scripts call on exit.
BENCH_PIDS=()
BENCH_DIR=$(mktemp -d)
tool=$PWD/artifacts/kvm_stat
guest_binary=$PWD/artifacts/bench/guest

# bench_need COMMAND PACKAGE...: installs the packages where COMMAND is missing, without their
# recommended extras (Prometheus's would start a node exporter that loads the host being measured).
bench_need() {
    local command=$1
    shift
    command -v "$command" >/dev/null && return 0
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${BENCH_APT_UPDATED:-}" ]; then
        apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
        BENCH_APT_UPDATED=1
    fi
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# Builds the tool and the C test guest (tests/guest/guest.c), and installs what the scripts use
# (perf: Debian's linux-perf).
bench_prepare() {
    bench_need curl curl
    bench_need gcc gcc libc6-dev
    bench_need perf linux-perf
    mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
    ./build.sh >/dev/null
    mkdir -p artifacts/bench
    gcc -O2 -Wall -Wextra -Werror -pthread -o "$guest_binary" tests/guest/guest.c
}

bench_cleanup() {
    local pid children
    # Only those still this shell's children: a pid waited for already may be another process's now.
    children=" $(ps -o pid= --ppid $$ | tr -s ' \n' '  ') "
    for pid in "${BENCH_PIDS[@]}"; do
        [[ $children == *" $pid "* ]] && kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$BENCH_DIR"
}

bench_field_count() { ls -d /sys/kernel/tracing/events/kvm/*/ | wc -l; }

# Waits (up to 60 s) until FILE has a line matching the extended regular expression.
bench_wait_line() {
    local file=$1 pattern=$2 waited=0
    until grep -Eq "$pattern" "$file" 2>/dev/null; do
        sleep 0.05
        waited=$((waited + 1))
        if [ "$waited" -gt 1200 ]; then
            echo "bench: timed out waiting for /$pattern/ in $file:" >&2
            cat "$file" >&2
            return 1
        fi
    done
}

# bench_guest OUTPUT GUEST-ARGS...: starts a test guest, waits until its vCPUs exist; BENCH_GUEST is its pid.
bench_guest() {
    local output=$1
    shift
    "$guest_binary" "$@" >"$output" 2>&1 &
    BENCH_GUEST=$!
    BENCH_PIDS+=("$BENCH_GUEST")
    bench_wait_line "$output" '^ready '
}

# bench_tool ENGINE ARGS...: starts kvm_stat with that engine, waits until it counts; BENCH_TOOL is its pid,
# BENCH_TOOL_ERR the file with its standard error.
bench_tool() {
    local engine=$1
    shift
    BENCH_TOOL_ERR=$(mktemp -p "$BENCH_DIR")
    "$tool" --engine "$engine" --verbose "$@" >/dev/null 2>"$BENCH_TOOL_ERR" &
    BENCH_TOOL=$!
    BENCH_PIDS+=("$BENCH_TOOL")
    local waited=0
    until grep -q 'counting started' "$BENCH_TOOL_ERR"; do
        if ! kill -0 "$BENCH_TOOL" 2>/dev/null || [ "$waited" -gt 1200 ]; then
            echo "bench: kvm_stat --engine $engine $* did not start counting:" >&2
            cat "$BENCH_TOOL_ERR" >&2
            return 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
}

# Ends a process with SIGTERM, as systemd would, and waits for it.
bench_stop() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Waits until no kvm_stat runs, hand-off children included: a perf run's descriptors take the kernel
# about 3 s to release, which would slow the next measurement.
# Another kvm_stat (a service, a screen elsewhere) would never end: after 30 s it is said and left.
bench_settle() {
    local waited=0
    while pgrep -x kvm_stat >/dev/null; do
        waited=$((waited + 1))
        if [ "$waited" -gt 150 ]; then
            echo "bench: kvm_stat processes not started here are running ($(pgrep -x kvm_stat | tr '\n' ' ')): they count too" >&2
            break
        fi
        sleep 0.2
    done
    sleep 0.5
}

bench_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# bench_wait_series PORT TEXT: scrapes until the exposition contains TEXT (the exporter follows new VMs every second).
bench_wait_series() {
    local url="http://127.0.0.1:$1/metrics" waited=0
    until curl -sf "$url" | grep -qF "$2"; do
        sleep 0.1
        waited=$((waited + 1))
        if [ "$waited" -gt 600 ]; then
            echo "bench: $2 never appeared at $url" >&2
            return 1
        fi
    done
}

# bench_cpu_ticks PID: the process's CPU time so far (user and system), in clock ticks.
bench_cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' /proc/"$1"/stat; }

# bench_screen_pages SOCKET PATTERN OUT: the guest view of the screen in tmux server SOCKET shows a
# page of guests: pages down through all of them, keeping each page, from the top (Home) until the
# last guest row (a line matching the grep -E PATTERN) stays the same twice (Page Down moves the
# selection 10 guests on, 5 a step: fewer than a page, so no guest is skipped, and the first step
# only moves the selection down the first page); OUT gets every page, one after the other.
bench_screen_pages() {
    local socket=$1 pattern=$2 out=$3 page=0 last="" bottom same=0
    : >"$out"
    tmux -L "$socket" send-keys Home
    sleep 0.3
    while [ "$page" -lt 10000 ]; do
        tmux -L "$socket" capture-pane -p >"$out.page"
        cat "$out.page" >>"$out"
        bottom=$(grep -E "$pattern" "$out.page" | tail -n 1 || true)
        [ -n "$bottom" ] || break
        if [ "$bottom" = "$last" ]; then
            same=$((same + 1))
            [ "$same" -lt 2 ] || break
        else
            same=0
        fi
        last=$bottom
        for _ in 1 2 3 4 5; do tmux -L "$socket" send-keys NPage; done
        page=$((page + 1))
        sleep 0.3
    done
    rm -f "$out.page"
}
