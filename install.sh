#!/usr/bin/env bash
# Installs what ./build.sh made, for a host without the packages (README: Install): the binary,
# its manual page, its shell completions, the systemd units with their arguments' file
# /etc/default/kvm-stat, and the logrotate snippet. The units are installed, not enabled.
# --uninstall takes all of it away again (before installing the packages, README says how);
# configuration files the operator changed are kept, and named.
#   sudo ./install.sh [--prefix /usr/local] [--destdir DIR] [--uninstall]
set -euo pipefail
cd "$(dirname "$0")"
prefix=/usr/local
destdir=""
uninstall=false
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --destdir) destdir=$2; shift 2 ;;
        --uninstall) uninstall=true; shift ;;
        *) echo "install.sh: unknown argument $1 (use --prefix DIR, --destdir DIR, --uninstall)" >&2; exit 2 ;;
    esac
done
units=(kvm_stat.service kvm_stat-exporter.service)
# Where each shell looks for completions under the prefix (bash-completion, zsh's site-functions, fish's vendor files).
files=("$prefix/bin/kvm_stat" "$prefix/share/man/man1/kvm_stat.1" "$prefix/share/bash-completion/completions/kvm_stat"
       "$prefix/share/zsh/site-functions/_kvm_stat" "$prefix/share/fish/vendor_completions.d/kvm_stat.fish"
       "${units[@]/#//etc/systemd/system/}")
# The configuration files: contrib/'s file for each.
declare -A configs=([/etc/default/kvm-stat]=contrib/kvm_stat.default [/etc/logrotate.d/kvm-stat]=contrib/kvm_stat.logrotate)
# On this host itself (no --destdir) with systemd running, the units are told about the change.
live=false
[ -z "$destdir" ] && [ -d /run/systemd/system ] && live=true

if $uninstall; then
    if $live; then
        # Stopped and disabled before their files go: no unit runs, or is linked, without its file.
        systemctl disable --now "${units[@]}" >/dev/null 2>&1 || true
    fi
    for file in "${files[@]}"; do
        rm -f "$destdir$file"
    done
    kept=()
    for config in "${!configs[@]}"; do
        [ -e "$destdir$config" ] || continue
        if cmp -s "$destdir$config" "${configs[$config]}"; then
            rm -f "$destdir$config"
        else
            kept+=("$config")
        fi
    done
    $live && systemctl daemon-reload
    echo "removed $prefix/bin/kvm_stat, its manual page and shell completions, the systemd units and unchanged configuration files${destdir:+ under $destdir}"
    [ ${#kept[@]} -eq 0 ] || echo "install.sh: kept ${kept[*]}: changed since installed (remove it, or let the package take it over)"
    exit 0
fi

[ -x artifacts/kvm_stat ] && [ -f artifacts/kvm_stat.1 ] && [ -d artifacts/completions ] || { echo "install.sh: run ./build.sh first" >&2; exit 1; }
install -D -m 0755 artifacts/kvm_stat "$destdir${files[0]}"
install -D -m 0644 artifacts/kvm_stat.1 "$destdir${files[1]}"
install -D -m 0644 artifacts/completions/kvm_stat.bash "$destdir${files[2]}"
install -D -m 0644 artifacts/completions/_kvm_stat "$destdir${files[3]}"
install -D -m 0644 artifacts/completions/kvm_stat.fish "$destdir${files[4]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "${units[@]}"; do
    sed "s|/usr/local/bin/kvm_stat|$prefix/bin/kvm_stat|" "contrib/$unit" >"$work/$unit"
    install -D -m 0644 "$work/$unit" "$destdir/etc/systemd/system/$unit"
done
# An operator's configuration files stay as they are when installing again.
for config in "${!configs[@]}"; do
    [ -e "$destdir$config" ] || install -D -m 0644 "${configs[$config]}" "$destdir$config"
done
$live && systemctl daemon-reload
echo "installed $prefix/bin/kvm_stat, its manual page and shell completions, systemd units (not enabled), /etc/default/kvm-stat and /etc/logrotate.d/kvm-stat${destdir:+ under $destdir}"
