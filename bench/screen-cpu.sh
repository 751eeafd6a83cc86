#!/usr/bin/env bash
# CPU used by the interactive screen at -s 0.1 (10 refreshes a second) with 50 rows on screen
# that all change at every refresh, and over the real tracepoints of this host.
# Run as root: bench/screen-cpu.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
. bench/lib.sh
[ -x "$tool" ] || ./build.sh >/dev/null
root=$(mktemp -d)
socket="kvm_stat-bench-$$"
writer=""
cleanup() {
    [ -n "$writer" ] && kill "$writer" 2>/dev/null || true
    tmux -L "$socket" kill-server 2>/dev/null || true
    rm -rf "$root"
    bench_cleanup
}
trap cleanup EXIT

# A fake debugfs with 50 counters in one VM folder; a writer bumps them all every 50 ms.
mkdir -p "$root/sys/kernel/debug/kvm/4242-7"
for i in $(seq -w 1 50); do
    echo 0 > "$root/sys/kernel/debug/kvm/counter_$i"
    echo 0 > "$root/sys/kernel/debug/kvm/4242-7/counter_$i"
done
perl -e '
    my $dir = shift; my $n = 0;
    while (1) { $n++; for my $i (1..50) { my $f = sprintf("%s/counter_%02d", $dir, $i);
        open(my $h, ">", "$f.tmp") or die; print $h ($n * $i * 7), "\n"; close $h; rename("$f.tmp", $f); }
        select(undef, undef, undef, 0.05); }' "$root/sys/kernel/debug/kvm/4242-7" &
writer=$!

measure() { # label, command
    tmux -L "$socket" new-session -d -x 120 -y 60 "$2 2>$BENCH_DIR/err"
    sleep 2
    if ! tmux -L "$socket" has-session 2>/dev/null; then
        echo "$1: did not run: $(head -1 "$BENCH_DIR/err")"
        return
    fi
    local pane pid before after
    pane=$(tmux -L "$socket" display-message -p '#{pane_pid}')
    pid=$pane
    before=$(bench_cpu_ticks "$pid")
    sleep "$seconds"
    after=$(bench_cpu_ticks "$pid")
    local rows
    rows=$(tmux -L "$socket" capture-pane -p | grep -cE '^ *[a-z_()A-Z0-9]+ +[0-9]+ +[0-9.]+ +[0-9]+$' || true)
    tmux -L "$socket" kill-server 2>/dev/null || true
    awk -v l="$1" -v t=$((after - before)) -v s="$seconds" -v hz="$(getconf CLK_TCK)" -v r="$rows" \
        'BEGIN { printf "%s: %.2f %% of one core (%d rows on screen, %d s)\n", l, 100 * t / hz / s, r, s }'
}

measure "screen, -d -s 0.1, 50 changing rows" "env KVM_STAT_ROOT=$root $tool -d -s 0.1"
measure "screen, tracepoints -s 0.1, all CPUs" "$tool -s 0.1"
