#!/usr/bin/env bash
# Installs what ./build.sh made, for a host without the packages (README: Install): the binary,
# its manual page, its shell completions, the systemd units and the logrotate snippet. The units
# are installed, not enabled.
#   sudo ./install.sh [--prefix /usr/local] [--destdir DIR]
set -euo pipefail
cd "$(dirname "$0")"
prefix=/usr/local
destdir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --destdir) destdir=$2; shift 2 ;;
        *) echo "install.sh: unknown argument $1 (use --prefix DIR, --destdir DIR)" >&2; exit 2 ;;
    esac
done
[ -x artifacts/kvm_stat ] && [ -f artifacts/kvm_stat.1 ] && [ -d artifacts/completions ] || { echo "install.sh: run ./build.sh first" >&2; exit 1; }

install -D -m 0755 artifacts/kvm_stat "$destdir$prefix/bin/kvm_stat"
install -D -m 0644 artifacts/kvm_stat.1 "$destdir$prefix/share/man/man1/kvm_stat.1"
# Where each shell looks for completions under the prefix (bash-completion, zsh's site-functions, fish's vendor files).
install -D -m 0644 artifacts/completions/kvm_stat.bash "$destdir$prefix/share/bash-completion/completions/kvm_stat"
install -D -m 0644 artifacts/completions/_kvm_stat "$destdir$prefix/share/zsh/site-functions/_kvm_stat"
install -D -m 0644 artifacts/completions/kvm_stat.fish "$destdir$prefix/share/fish/vendor_completions.d/kvm_stat.fish"
for unit in kvm_stat.service kvm_stat-exporter.service; do
    sed "s|/usr/local/bin/kvm_stat|$prefix/bin/kvm_stat|" "contrib/$unit" > "contrib/.$unit.tmp"
    install -D -m 0644 "contrib/.$unit.tmp" "$destdir/etc/systemd/system/$unit"
    rm -f "contrib/.$unit.tmp"
done
install -D -m 0644 contrib/kvm_stat.logrotate "$destdir/etc/logrotate.d/kvm-stat"
echo "installed $prefix/bin/kvm_stat, its manual page and shell completions, systemd units (not enabled) and /etc/logrotate.d/kvm-stat${destdir:+ under $destdir}"
