"""Checks for bench/dense-kvm.sh: each guest's port writes as every output shows them, against
what the guest made (the GUESTS file: "PID WRITES" lines), and the host's total against the guests,
the events outside VMs, those of exited VMs and the unattributed ones."""
import json
import sys
import urllib.parse
import urllib.request

from dense import last_record, screen_rows


def read_guests(path):
    guests = {}
    for line in open(path):
        pid, writes = line.split()
        guests[int(pid)] = int(writes)
    return guests


def verdict(counted, want, balance=None):
    wrong = [pid for pid, count in want.items() if counted.get(pid) != count]
    problems = []
    if wrong:
        pid = wrong[0]
        problems.append(f"{len(wrong)} of {len(want)} guests wrong (pid {pid}: {counted.get(pid)}, made {want[pid]})")
    if balance is not None and balance[0] != balance[1]:
        problems.append(f"host total {balance[0]}, guests + outside + exited + unattributed {balance[1]}")
    return "; ".join(problems) or f"exact ({len(want)} guests)"


def check_json(path, guests_path, prefix):
    record = last_record(path)
    pio = lambda fields: (fields or {}).get("kvm_pio", {}).get("total", 0)
    counted = {g["pid"]: pio(g["fields"]) for g in record["guests"] if g["name"].startswith(prefix)}
    parts = sum(pio(g["fields"]) for g in record["guests"]) + sum(pio(record.get(k)) for k in ("outside_vms", "exited_vms", "unattributed"))
    return verdict(counted, read_guests(guests_path), (pio(record["fields"]), parts))


def query(api, promql):
    url = f"{api}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)["data"]["result"]


def scalar(api, promql):
    result = query(api, promql)
    return int(float(result[0]["value"][1])) if result else None


def check_prometheus(api, guests_path, prefix):
    # The prefix is letters, digits and hyphens: nothing a regular expression would read otherwise.
    series = query(api, f'kvm_guest_events_total{{event="kvm_pio",guest=~"{prefix}.*"}}')
    counted = {int(s["metric"]["pid"]): int(float(s["value"][1])) for s in series}
    # One evaluation time: every term from the same scrape.
    host = scalar(api, 'kvm_events_total{event="kvm_pio"}')
    parts = scalar(api, ' + '.join(f'(sum({family}{{event="kvm_pio"}}) or vector(0))' for family in
                                   ("kvm_guest_events_total", "kvm_events_outside_vms_total", "kvm_events_exited_vms_total",
                                    "kvm_stat_unattributed_events_total")))
    return verdict(counted, read_guests(guests_path), (host, parts))


def check_screen(path, guests_path, prefix):
    """The guest rows of every page ("NAME [PID]   TOTAL   %   RATE") against what every guest made: one not shown is wrong.
    The guests (every one is a test guest on the bench's host), the outside and exited VMs and the unattributed make Total."""
    want = read_guests(guests_path)
    counted, others = screen_rows(path, prefix)
    unattributed = others.get("(unattributed)", 0)
    if not counted:
        return "no guest row on the screen"
    parts = sum(counted.values()) + others.get("(outside VMs)", 0) + others.get("(exited VMs)", 0) + unattributed
    result = verdict(counted, want, (others.get("Total"), parts)) + f", {len(set(counted) & set(want))} of {len(want)} guests shown"
    # The screen keeps (unattributed) in view whenever it is not zero: it must not be there.
    return result + (f", {unattributed} unattributed" if unattributed else "")


def scrape_figures(api):
    duration = query(api, 'max_over_time(scrape_duration_seconds{job="kvm_stat"}[5m])')
    samples = scalar(api, 'scrape_samples_scraped{job="kvm_stat"}')
    return f"{float(duration[0]['value'][1]) * 1000:.0f} {samples}" if duration else "- -"


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "check-json" and len(argv) == 5:
        print(check_json(argv[2], argv[3], argv[4]))
    elif command == "check-prometheus" and len(argv) == 5:
        print(check_prometheus(argv[2], argv[3], argv[4]))
    elif command == "check-screen" and len(argv) == 5:
        print(check_screen(argv[2], argv[3], argv[4]))
    elif command == "scrape" and len(argv) == 3:
        print(scrape_figures(argv[2]))
    else:
        sys.exit("usage: dense_kvm.py check-json LOG GUESTS PREFIX | check-prometheus API GUESTS PREFIX | "
                 "check-screen CAPTURE GUESTS PREFIX | scrape API")


if __name__ == "__main__":
    main(sys.argv)
