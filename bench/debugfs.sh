#!/usr/bin/env bash
# kvm_stat -1 -d -i over a debugfs of many VMs, against a one-thread C program that reads the same
# files twice with a second between (the least any -1 must do). Builds its own fixture: VMS VM
# folders (default 1000) of 60 statistics each, under a temporary folder.
# usage: bench/debugfs.sh [VMS]
set -euo pipefail
cd "$(dirname "$0")/.."
vms=${1:-1000}
command -v hyperfine >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
[ -x artifacts/kvm_stat ] || ./build.sh >/dev/null
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
kvm="$root/sys/kernel/debug/kvm"
mkdir -p "$kvm"
stats=(blocking exits fpu_reload halt_attempted_poll halt_exits halt_poll_fail_ns halt_poll_invalid halt_poll_success_ns
       halt_successful_poll halt_wait_ns halt_wakeup host_state_reload hypercalls insn_emulation insn_emulation_fail
       invlpg io_exits irq_exits irq_injections irq_window_exits l1d_flush largepages max_mmu_page_hash_collisions
       max_mmu_rmap_size mmio_exits mmu_cache_miss mmu_flooded mmu_pde_zapped mmu_pte_write mmu_recycled
       mmu_shadow_zapped mmu_unsync nested_run nmi_injections nmi_window_exits notify_window_exits nx_lpage_splits
       pages_1g pages_2m pages_4k pf_emulate pf_fast pf_fixed pf_guest pf_mmio_spte_created pf_spurious pf_taken
       preemption_other preemption_reported remote_tlb_flush remote_tlb_flush_requests req_event request_irq_exits
       signal_exits tlb_flush directed_yield_attempted directed_yield_successful guest_mode gp_injections ud_injections)
for stat in "${stats[@]}"; do echo 0 > "$kvm/$stat"; done
for ((vm = 1; vm <= vms; vm++)); do
    folder="$kvm/$((100000 + vm))-$((10 + vm % 7))"
    mkdir "$folder"
    for stat in "${stats[@]}"; do echo $((vm * 3)) > "$folder/$stat"; done
done
gcc -O2 -o "$root/read-twice" bench/debugfs/read-twice.c
echo "## $vms VM folders of ${#stats[@]} statistics ($(( vms * ${#stats[@]} )) files, read twice)"
hyperfine --style basic --warmup 1 --runs 5 \
    -n "C, one thread, read twice 1 s apart" "$root/read-twice $kvm" \
    -n "kvm_stat -1 -d -i" "KVM_STAT_ROOT=$root artifacts/kvm_stat -1 -d -i" 2>&1 | grep -E "^Benchmark|Time \(mean|±" | grep -v "^\s*Range"
# Exact: the tool's totals are what the files hold.
expected=$(( vms * (vms + 1) / 2 * 3 ))
KVM_STAT_ROOT=$root artifacts/kvm_stat -1 -d -i -f 'exits$' | awk -v want="$expected" '{ print; if ($2 != want) { print "kvm_stat: exits " $2 " != " want; exit 1 } }'
