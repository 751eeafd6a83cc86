#!/usr/bin/env python3
"""Per folder of src/KvmStat: Stryker's mutation score and coverlet's line and branch coverage.

usage: mutation-summary.py MUTATION-REPORT.json COVERAGE.cobertura.xml

The score is Stryker's: detected (killed or timed out) over all valid mutants (detected,
survived, not covered); mutants that do not compile or were left out do not count. The last
lines name, for one mutant every run must kill, the tests that killed it: a measurement in which
that mutant survives measures nothing.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

SOURCE_ROOT = "src/KvmStat/"
# A mutant any working measurement kills: the anchor of the -f regular expression (tested by
# FieldFilterTests: -f matches at the start of a name, like the reference's re.match).
SENTINEL_FILE = "Stats/FieldFilter.cs"
SENTINEL_TEXT = '@"\\A(?:"'


def folder_of(path):
    relative = path.split(SOURCE_ROOT, 1)[-1]
    return relative.split("/", 1)[0] if "/" in relative else "(root files)"


def main(report_path, coverage_path):
    report = json.load(open(report_path))
    tests = {t["id"]: t["name"] for f in report.get("testFiles", {}).values() for t in f.get("tests", [])}
    counts = defaultdict(lambda: defaultdict(int))
    sentinel = None
    for path, entry in report["files"].items():
        folder = folder_of(path)
        lines = entry.get("source", "").split("\n")
        for mutant in entry["mutants"]:
            counts[folder][mutant["status"]] += 1
            line = mutant["location"]["start"]["line"]
            if path.endswith(SENTINEL_FILE) and 0 < line <= len(lines) and SENTINEL_TEXT in lines[line - 1] \
                    and mutant["mutatorName"].startswith("String"):
                sentinel = (mutant, line)

    lines_valid = defaultdict(int)
    lines_covered = defaultdict(int)
    branches_valid = defaultdict(int)
    branches_covered = defaultdict(int)
    for cls in ET.parse(coverage_path).getroot().iter("class"):
        folder = folder_of(cls.get("filename").replace("\\", "/"))
        seen = set()
        for line in cls.iter("line"):
            number = line.get("number")
            if number in seen:
                continue
            seen.add(number)
            lines_valid[folder] += 1
            lines_covered[folder] += int(line.get("hits", "0")) > 0
            match = re.search(r"\((\d+)/(\d+)\)", line.get("condition-coverage", ""))
            if line.get("branch") == "True" and match:
                branches_covered[folder] += int(match.group(1))
                branches_valid[folder] += int(match.group(2))

    def percent(part, whole):
        return f"{100.0 * part / whole:.1f} %" if whole else "–"

    print("| folder of src/KvmStat | mutants tested | killed | survived | no coverage | mutation score | lines covered | branches covered |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    totals = defaultdict(int)
    for folder in sorted(set(counts) | set(lines_valid)):
        c = counts[folder]
        detected = c["Killed"] + c["Timeout"]
        valid = detected + c["Survived"] + c["NoCoverage"]
        for key, value in (("detected", detected), ("valid", valid), ("killed", c["Killed"]), ("survived", c["Survived"]),
                           ("nocoverage", c["NoCoverage"]), ("lv", lines_valid[folder]), ("lc", lines_covered[folder]),
                           ("bv", branches_valid[folder]), ("bc", branches_covered[folder])):
            totals[key] += value
        print(f"| {folder} | {valid} | {c['Killed']} | {c['Survived']} | {c['NoCoverage']} | {percent(detected, valid)} "
              f"| {percent(lines_covered[folder], lines_valid[folder])} | {percent(branches_covered[folder], branches_valid[folder])} |")
    print(f"| **all** | {totals['valid']} | {totals['killed']} | {totals['survived']} | {totals['nocoverage']} "
          f"| **{percent(totals['detected'], totals['valid'])}** | {percent(totals['lc'], totals['lv'])} | {percent(totals['bc'], totals['bv'])} |")
    print()
    if sentinel is None:
        print(f"Sentinel: no string mutant of {SENTINEL_TEXT} in {SENTINEL_FILE} was tested: the measurement cannot be trusted.")
        return 1
    mutant, line = sentinel
    killers = sorted({tests.get(t, t) for t in mutant.get("killedBy", [])})
    print(f"Sentinel: the string mutant of {SENTINEL_FILE}:{line} (the -f anchor) is {mutant['status']}"
          + (f", killed by {len(killers)} tests, e.g. {', '.join(killers[:3])}." if killers else "."))
    return 0 if mutant["status"] == "Killed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
