#!/usr/bin/env bash
# Checks the packages in DIR as Debian and Fedora check theirs: lintian on each .deb, rpmlint on
# each .rpm. Every error and warning fails, except those overridden with a reason in
# packaging/deb/lintian-overrides (shipped in the package, where lintian reads it) and
# packaging/rpm/rpmlint.toml. Prints each tool's findings, then one line per package.
#   packaging/lint.sh [DIR]   (default artifacts/packages)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-artifacts/packages}
for tool in lintian rpmlint; do
    command -v "$tool" >/dev/null || { echo "lint.sh: $tool is missing: ./build.sh package installs it" >&2; exit 1; }
done
shopt -s nullglob
debs=("$dir"/*.deb) rpms=("$dir"/*.rpm)
[ ${#debs[@]} -gt 0 ] && [ ${#rpms[@]} -gt 0 ] || { echo "lint.sh: no .deb or no .rpm in $dir" >&2; exit 1; }

# lintian leaves its ELF cache files (mldbm-elf-*) in TMPDIR: give it a folder of its own.
TMPDIR=$(mktemp -d)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

status=0
for deb in "${debs[@]}"; do
    # E: and W: lines are errors and warnings; I: (information), P: (pedantic) and overridden
    # tags (O:) are not failures. A lintian that cannot run at all fails too.
    out=$(lintian --no-cfg --display-level '>=warning' "$deb" 2>&1); code=$?
    findings=$(grep -E '^[EW]: ' <<<"$out")
    if [ $code -gt 1 ] || [ -n "$findings" ] || grep -qE '^(internal error|Died)' <<<"$out"; then
        printf '%s\n' "$out"
        echo "lint.sh: lintian $(basename "$deb"): FAILED"
        status=1
    else
        echo "lint.sh: lintian $(basename "$deb"): no errors, no warnings"
    fi
done
for rpm in "${rpms[@]}"; do
    out=$(rpmlint --config packaging/rpm/rpmlint.toml "$rpm" 2>&1); code=$?
    summary=$(grep -E '[0-9]+ errors?, [0-9]+ warnings?' <<<"$out" | tail -n 1)
    if [[ ! $summary =~ \ 0\ errors?,\ 0\ warnings? ]] || { [ $code -ne 0 ] && [ $code -ne 66 ]; }; then
        printf '%s\n' "$out"
        echo "lint.sh: rpmlint $(basename "$rpm"): FAILED (${summary:-no summary})"
        status=1
    else
        echo "lint.sh: rpmlint $(basename "$rpm"): no errors, no warnings"
    fi
done
exit $status
