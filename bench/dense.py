#!/usr/bin/env python3
"""Helpers of bench/dense.sh: the fixture root whose /proc declares which processes are VMs, the
descriptor of one of the tool's BPF programs, the check that every guest's count is exact, and
the table of medians.

usage: dense.py root DIR [plain]              a root for KVM_STAT_ROOT: this host's tracefs, CPUs
                                              and modules, a CPU with VMX (plain: this host's CPU,
                                              where kvm_entry never fires), a /proc of VMs only
       dense.py vms DIR PIDS-FILE [OTHERS-FILE] [debugfs]
                                              the processes in PIDS-FILE (one a line) are the VMs
                                              dense-0, dense-1, ...; those of OTHERS-FILE processes
                                              that are not VMs; no other process is one (debugfs:
                                              each VM has its folder PID-10 in debugfs's kvm)
       dense.py program PID NAME              the descriptor of PID that holds BPF program NAME
       dense.py check-metrics FILE PIDS-FILE KICKS [OTHERS-FILE]
       dense.py check-vcpus-metrics FILE PIDS-FILE KICKS   (--vcpus: each VM's vCPU 0 too)
       dense.py check-json FILE PIDS-FILE KICKS
       dense.py check-screen FILE PIDS-FILE KICKS   (the screen's guest view, every page)
                                              "exact" when every VM's kvm_pio is KICKS x (i % 10 + 1)
                                              (what bpfrun's child i ran), and the host's total is
                                              their sum (and OTHERS-FILE's, whose children come after
                                              the VMs', outside VMs); else what differs
       dense.py check-latency-json FILE PIDS-FILE KICKS REASONS [untimed]
       dense.py check-latency-metrics FILE PIDS-FILE KICKS REASONS [untimed]
                                              with exits of REASONS (labels, as "IO,MMIO,HLT") in
                                              turn: "exact" when every VM's exits of each reason,
                                              counted and timed (histogram), and the host's, are
                                              what bpfrun's children ran (untimed: counted, and no
                                              histogram at all); else what differs
       dense.py table RESULTS-TSV             the markdown table: median (min-max) per VM count
"""
import ctypes
import json
import os
import re
import shutil
import statistics
import struct
import sys
from collections import defaultdict

SYS_BPF = 321  # x86_64
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
# struct bpf_prog_info: the name (16 bytes) follows type, id, tag, lengths, pointers, load time,
# uid, map count and map ids.
PROG_INFO_SIZE = 80
PROG_NAME_OFFSET = 64


def make_root(root, vmx=True):
    for folder in ("sys/kernel", "sys/devices/system/cpu", "proc", "dev"):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    os.symlink("/sys/kernel/tracing", os.path.join(root, "sys/kernel/tracing"))
    os.symlink("/sys/module", os.path.join(root, "sys/module"))
    for cpus in ("online", "possible"):
        os.symlink(f"/sys/devices/system/cpu/{cpus}", os.path.join(root, "sys/devices/system/cpu", cpus))
    # A host that can run VMs: /dev/kvm, and VMX among the CPU's flags (kvm_exit's reasons become
    # fields, as on an Intel host; this kernel, itself a guest, has neither).
    open(os.path.join(root, "dev/kvm"), "w").close()
    with open("/proc/cpuinfo") as real, open(os.path.join(root, "proc/cpuinfo"), "w") as fixture:
        fixture.write(re.sub(r"^(flags\s*:) ", r"\1 vmx " if vmx else r"\1 ", real.read(), flags=re.M))


def declare_vms(root, pids_file, others_file=None, debugfs=False):
    proc = os.path.join(root, "proc")
    kvm = os.path.join(root, "sys/kernel/debug/kvm")
    for entry in os.listdir(proc):
        if entry.isdigit():
            shutil.rmtree(os.path.join(proc, entry))
    shutil.rmtree(kvm, ignore_errors=True)
    if debugfs:
        os.makedirs(kvm)
    for index, pid in enumerate(read_pids(pids_file)):
        folder = declare_process(proc, pid, "qemu-system-x86", f"qemu-system-x86_64\0-name\0dense-{index}\0")
        # Its one thread, which raises its events, is its vCPU 0 by the name QEMU gives one.
        write(os.path.join(folder, "task", str(pid)), "comm", "CPU 0/KVM\n")
        os.symlink("anon_inode:kvm-vm", os.path.join(folder, "fd", "10"))
        if debugfs:
            os.makedirs(os.path.join(kvm, f"{pid}-10"))
    for pid in read_pids(others_file) if others_file else []:
        os.symlink("/dev/null", os.path.join(declare_process(proc, pid, "worker", "worker\0"), "fd", "10"))


def declare_process(proc, pid, comm, cmdline):
    folder = os.path.join(proc, str(pid))
    os.makedirs(os.path.join(folder, "fd"))
    os.makedirs(os.path.join(folder, "task", str(pid)))
    os.makedirs(os.path.join(folder, "ns"))
    write(folder, "cmdline", cmdline)
    write(folder, "comm", comm + "\n")
    write(folder, "status", f"Name:\t{comm}\nTgid:\t{pid}\nPid:\t{pid}\n")
    write(folder, "stat", f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n")
    return folder


def write(folder, name, text):
    with open(os.path.join(folder, name), "w") as f:
        f.write(text)


def read_pids(path):
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def program_name(prog_id):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    attr = ctypes.create_string_buffer(struct.pack("III", prog_id, 0, 0), 128)
    fd = libc.syscall(SYS_BPF, BPF_PROG_GET_FD_BY_ID, attr, 128)
    if fd < 0:
        return None
    try:
        info = ctypes.create_string_buffer(PROG_INFO_SIZE)
        attr = ctypes.create_string_buffer(struct.pack("IIQ", fd, PROG_INFO_SIZE, ctypes.addressof(info)), 128)
        if libc.syscall(SYS_BPF, BPF_OBJ_GET_INFO_BY_FD, attr, 128) < 0:
            return None
        return info.raw[PROG_NAME_OFFSET:PROG_NAME_OFFSET + 16].split(b"\0")[0].decode()
    finally:
        os.close(fd)


def find_program(pid, name):
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in sorted(os.listdir(fdinfo), key=int):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                match = re.search(r"^prog_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if match and program_name(int(match.group(1))) == name:
            return int(fd)
    sys.exit(f"dense.py: process {pid} holds no BPF program named {name}")


def expected(pids_file, kicks):
    return {pid: kicks * (index % 10 + 1) for index, pid in enumerate(read_pids(pids_file))}


def verdict(counted, want, host, outside, unattributed, others=0):
    """Every guest what its process ran, the others' events outside VMs, and guests + outside VMs (exited ones too) + unattributed = the host."""
    wrong = [pid for pid, count in want.items() if counted.get(pid) != count]
    extra = len(set(counted) - set(want))
    problems = []
    if wrong:
        pid = wrong[0]
        problems.append(f"{len(wrong)} of {len(want)} guests wrong (pid {pid}: {counted.get(pid)}, ran {want[pid]})")
    if extra:
        problems.append(f"{extra} guests not started")
    if host != sum(want.values()) + others:
        problems.append(f"host total {host}, guests ran {sum(want.values())} and other processes {others}")
    if others and outside != others:
        problems.append(f"outside VMs {outside}, other processes ran {others}")
    if unattributed:
        problems.append(f"{unattributed} events unattributed")
    if host is not None and sum(counted.values()) + outside + unattributed != host:
        problems.append(f"guests {sum(counted.values())} + outside {outside} + unattributed {unattributed} is not the host's {host}")
    return "; ".join(problems) or "exact"


def check_metrics(path, pids_file, kicks, others_file=None):
    text = open(path).read()
    series = re.findall(r'^kvm_guest_events_total\{guest="dense-\d+",pid="(\d+)",event="kvm_pio"\} (\d+)$', text, re.M)
    def total(family):
        found = re.search(r'^' + family + r'\{event="kvm_pio"\} (\d+)$', text, re.M)
        return int(found.group(1)) if found else None
    return verdict({int(p): int(c) for p, c in series}, expected(pids_file, kicks), total("kvm_events_total"),
                   (total("kvm_events_outside_vms_total") or 0) + (total("kvm_events_exited_vms_total") or 0),
                   total("kvm_stat_unattributed_events_total") or 0, others_ran(pids_file, others_file, kicks))


def check_vcpus_metrics(path, pids_file, kicks):
    """check_metrics, and each VM's vCPU 0 (its one thread) counted what the VM did."""
    guests = check_metrics(path, pids_file, kicks)
    text = open(path).read()
    series = re.findall(r'^kvm_guest_vcpu_events_total\{guest="dense-\d+",pid="(\d+)",vcpu="0",event="kvm_pio"\} (\d+)$', text, re.M)
    counted = {int(p): int(c) for p, c in series}
    want = expected(pids_file, kicks)
    wrong = [pid for pid, count in want.items() if counted.get(pid) != count]
    vcpus = f"{len(wrong)} of {len(want)} vCPUs wrong (pid {wrong[0]}: {counted.get(wrong[0])}, ran {want[wrong[0]]})" if wrong else "exact"
    return guests if vcpus == "exact" else vcpus if guests == "exact" else f"{guests}; {vcpus}"


def others_ran(pids_file, others_file, kicks):
    """What the children after the VMs' ran: child i (counted over both files) (i % 10) + 1 a kick."""
    if not others_file:
        return 0
    first = len(read_pids(pids_file))
    return sum(kicks * ((first + j) % 10 + 1) for j in range(len(read_pids(others_file))))


def last_record(path):
    """The last complete record of a JSON Lines log (a line without its end was cut short when the tool was stopped)."""
    last = None
    with open(path) as f:
        for line in f:
            last = line if line.endswith("\n") else last
    return json.loads(last)


def check_json(path, pids_file, kicks):
    record = last_record(path)
    pio = lambda fields: fields.get("kvm_pio", {}).get("total", 0)
    counted = {g["pid"]: pio(g["fields"]) for g in record["guests"]}
    outside = pio(record.get("outside_vms", {})) + pio(record.get("exited_vms", {}))
    return verdict(counted, expected(pids_file, kicks), pio(record["fields"]), outside, pio(record.get("unattributed", {})))


def expected_exits(pids_file, kicks, reasons):
    """Child i runs (i % 10) + 1 exits a kick, the Jth of reason J % len(reasons)."""
    k = len(reasons)
    return {pid: {reason: kicks * len(range(r, index % 10 + 1, k)) for r, reason in enumerate(reasons)}
            for index, pid in enumerate(read_pids(pids_file))}


def latency_verdict(counted, timed, host_timed, want, untimed):
    """counted and timed: {pid: {reason: exits}} from the counts and from the histograms (counted
    may have all reasons as one, "all": the per-guest events of the exporter, whose reasons are a family of their own)."""
    problems = []
    if any("all" in exits for exits in counted.values()):
        counted = {pid: {"all": sum(exits.values())} for pid, exits in counted.items()}
        want_counted = {pid: {"all": sum(exits.values())} for pid, exits in want.items()}
    else:
        want_counted = want
    if untimed:
        exits = sum(n for exits in timed.values() for n in exits.values()) + sum(host_timed.values())
        if exits:
            problems.append(f"{exits} exits timed without --latency")
        timed = want
    for what, got, want_got in (("counted", counted, want_counted), ("timed", timed, want)):
        wrong = [pid for pid, exits in want_got.items() if {r: n for r, n in got.get(pid, {}).items() if n} != {r: n for r, n in exits.items() if n}]
        if wrong:
            pid = wrong[0]
            problems.append(f"{len(wrong)} of {len(want)} guests' exits {what} wrong (pid {pid}: {got.get(pid)}, ran {want_got[pid]})")
    ran = defaultdict(int)
    for exits in want.values():
        for reason, n in exits.items():
            ran[reason] += n
    if not untimed and {r: n for r, n in host_timed.items() if n} != {r: n for r, n in ran.items() if n}:
        problems.append(f"host timed {dict(host_timed)}, guests ran {dict(ran)}")
    return "; ".join(problems) or "exact"


def check_latency_json(path, pids_file, kicks, reasons, untimed):
    record = last_record(path)
    field = lambda reason: f"kvm_userspace_exit({reason})"
    child = lambda fields, r: fields.get("kvm_userspace_exit", {}).get("children", {}).get(r, {}).get("total", 0)
    counted = {g["pid"]: {r: child(g["fields"], r) for r in reasons} for g in record["guests"]}
    timed = {g["pid"]: {r: g.get("exit_latency", {}).get(field(r), {}).get("exits", 0) for r in reasons} for g in record["guests"]}
    host = record.get("exit_latency", {})
    host_timed = {r: host.get("reasons", {}).get(field(r), {}).get("exits", 0) for r in reasons}
    lost = host.get("lost")
    verdict = latency_verdict(counted, timed, host_timed, expected_exits(pids_file, kicks, reasons), untimed)
    return verdict + ("" if lost == 0 or untimed and lost is None else f"; lost {lost}")


def check_latency_metrics(path, pids_file, kicks, reasons, untimed):
    text = open(path).read()
    counted, timed = defaultdict(dict), defaultdict(dict)
    for pid, n in re.findall(r'^kvm_guest_events_total\{guest="dense-\d+",pid="(\d+)",event="kvm_userspace_exit"\} (\d+)$', text, re.M):
        counted[int(pid)]["all"] = int(n)
    for pid, reason, n in re.findall(r'^kvm_guest_exit_handling_seconds_count\{guest="dense-\d+",pid="(\d+)",event="kvm_userspace_exit",reason="(\w+)"\} (\d+)$', text, re.M):
        timed[int(pid)][reason] = int(n)
    host_timed = {r: int(n) for r, n in re.findall(r'^kvm_exit_handling_seconds_count\{event="kvm_userspace_exit",reason="(\w+)"\} (\d+)$', text, re.M)}
    lost = re.search(r'^kvm_stat_exit_latency_lost_total (\d+)$', text, re.M)
    verdict = latency_verdict(counted, timed, host_timed, expected_exits(pids_file, kicks, reasons), untimed)
    return verdict + ("" if (lost.group(1) == "0" if lost else untimed) else f"; lost {lost.group(1) if lost else 'not served'}")


def screen_rows(path, prefix):
    """The screen's guest view, every page: each guest's Total by pid (rows "PREFIX-I [PID]  TOTAL  %  RATE"),
    and the other rows' ("(outside VMs)", "(exited VMs)", "(unattributed)", "Total") by label."""
    counted, others = {}, {}
    for line in open(path):
        row = re.match(rf"^ {re.escape(prefix)}\d+ \[(\d+)\]\s+(\d+)\s", line)
        if row:
            counted[int(row.group(1))] = int(row.group(2))
        # A row's rate is left out when 0, and tmux drops trailing blanks: a count may end the line.
        other = re.match(r"^ (\((?:outside|exited) VMs\)|\(unattributed\)|Total)\s+(\d+)(?:\s|$)", line)
        if other:
            others[other.group(1)] = int(other.group(2))
    return counted, others


def check_screen(path, pids_file, kicks):
    """The guest view's rows, every page, against what each process ran."""
    counted, others = screen_rows(path, "dense-")
    host = others.get("Total")
    outside = others.get("(outside VMs)", 0) + others.get("(exited VMs)", 0)
    want = expected(pids_file, kicks)
    return verdict(counted, want, host, outside, others.get("(unattributed)", 0)) + f", {len(set(counted) & set(want))} of {len(want)} guests seen"


def table(path):
    # Lines: VMS <tab> MEASURE <tab> VALUE (numbers) or MEASURE "check" with a verdict.
    values = defaultdict(list)
    checks = defaultdict(set)
    order = []
    with open(path) as f:
        for line in f:
            vms, measure, value = line.rstrip("\n").split("\t")
            if measure not in order:
                order.append(measure)
            if measure.endswith("check"):
                checks[int(vms), measure].add(value)
            else:
                values[int(vms), measure].append(float(value))
    counts = sorted({vms for vms, _ in list(values) + list(checks)})
    print("| measure | " + " | ".join(f"{n} VM{'s' if n > 1 else ''}" for n in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for measure in order:
        cells = []
        for n in counts:
            if measure.endswith("check"):
                cells.append(", ".join(sorted(checks[n, measure])) or "—")
                continue
            v = values[n, measure]
            cells.append(f"{fmt(statistics.median(v))} ({fmt(min(v))}–{fmt(max(v))}, {len(v)} runs)" if v else "—")
        print(f"| {measure} | " + " | ".join(cells) + " |")


def fmt(x):
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "root" and len(argv) in (3, 4) and argv[3:] in ([], ["plain"]):
        make_root(argv[2], vmx=len(argv) == 3)
    elif command == "vms" and 4 <= len(argv) <= 6 and argv[5:] in ([], ["debugfs"]):
        declare_vms(argv[2], argv[3], argv[4] if len(argv) > 4 and argv[4] != "-" else None, len(argv) == 6)
    elif command == "program" and len(argv) == 4:
        print(find_program(int(argv[2]), argv[3]))
    elif command == "check-metrics" and len(argv) in (5, 6):
        print(check_metrics(argv[2], argv[3], int(argv[4]), argv[5] if len(argv) == 6 else None))
    elif command == "check-vcpus-metrics" and len(argv) == 5:
        print(check_vcpus_metrics(argv[2], argv[3], int(argv[4])))
    elif command == "check-json" and len(argv) == 5:
        print(check_json(argv[2], argv[3], int(argv[4])))
    elif command == "check-screen" and len(argv) == 5:
        print(check_screen(argv[2], argv[3], int(argv[4])))
    elif command in ("check-latency-json", "check-latency-metrics") and len(argv) in (6, 7) and argv[6:] in ([], ["untimed"]):
        check = check_latency_json if command == "check-latency-json" else check_latency_metrics
        print(check(argv[2], argv[3], int(argv[4]), argv[5].split(","), len(argv) == 7))
    elif command == "table" and len(argv) == 3:
        table(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
