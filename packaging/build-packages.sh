#!/usr/bin/env bash
# Makes kvm_stat's Debian and RPM packages, for x86-64 and arm64, from what ./build.sh and
# ./build.sh linux-arm64 made (the binaries, the manual page, the shell completions) and from
# contrib/ (the systemd units, the logrotate snippet, the alerting rules, the dashboard), then
# writes SHA256SUMS beside them. "./build.sh package" builds and runs this, then packaging/lint.sh.
#   packaging/build-packages.sh [--output DIR] [--version VERSION]
#     --output   where the packages go (default artifacts/packages)
#     --version  name the packages VERSION instead of the VERSION file's (to rehearse an upgrade:
#                the binaries inside stay what they are)
# Needs dpkg-deb and rpmbuild (Debian's rpm package); ./build.sh package installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

output=artifacts/packages
release=$(tr -d '[:space:]' <VERSION)
version=$release
while [ $# -gt 0 ]; do
    case "$1" in
        --output) output=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        *) echo "build-packages.sh: unknown argument $1 (use --output DIR, --version VERSION)" >&2; exit 2 ;;
    esac
done
fail() { echo "build-packages.sh: $*" >&2; exit 1; }
[[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] || fail "\"$version\" is not a version: digits and dots, as in 1.0.0"
for tool in dpkg-deb rpmbuild readelf gzip sha256sum; do
    command -v "$tool" >/dev/null || fail "$tool is missing: ./build.sh package installs what packaging needs"
done
inputs=(artifacts/kvm_stat artifacts/kvm_stat.1 artifacts/completions/kvm_stat.bash artifacts/completions/_kvm_stat
        artifacts/completions/kvm_stat.fish artifacts/linux-arm64/kvm_stat)
for input in "${inputs[@]}"; do
    [ -f "$input" ] || fail "$input is missing: run ./build.sh and ./build.sh linux-arm64 first (./build.sh package does)"
done

# Both binaries must be this release, built from one commit: the x86-64 one names it, and the
# arm64 one must hold the same stamp ("1.0.0+<commit>").
stamp=$(grep -aoE "$release\+[0-9a-f]{40}" artifacts/kvm_stat | head -n 1) \
    || fail "artifacts/kvm_stat is not release $release (VERSION) built from a git commit: run ./build.sh again in the clone"
grep -qaF "$stamp" artifacts/linux-arm64/kvm_stat \
    || fail "artifacts/linux-arm64/kvm_stat was not built from the commit of artifacts/kvm_stat (${stamp#*+}): run ./build.sh linux-arm64 again"
commit=${stamp#*+}

maintainer=$(sed -n 's/^Maintainer: //p' packaging/deb/control.in)
# Dates and file times from the commit, so that one commit makes the same packages.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct "$commit" 2>/dev/null || date +%s)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$output"
rm -f "$output"/kvm-stat[_-]*.deb "$output"/kvm-stat-*.rpm "$output/SHA256SUMS"

# stage ROOT BINARY UNITDIR ZSHDIR: the files both formats install, under ROOT.
stage() {
    local root=$1 binary=$2 unitdir=$3 zshdir=$4 unit
    install -D -m 0755 "$binary" "$root/usr/bin/kvm_stat"
    install -d -m 0755 "$root/usr/share/man/man1"
    gzip -9n <artifacts/kvm_stat.1 >"$root/usr/share/man/man1/kvm_stat.1.gz"
    for unit in kvm_stat.service kvm_stat-exporter.service; do
        install -d -m 0755 "$root$unitdir"
        sed 's|/usr/local/bin/kvm_stat|/usr/bin/kvm_stat|' "contrib/$unit" >"$root$unitdir/$unit"
    done
    install -D -m 0644 contrib/kvm_stat.logrotate "$root/etc/logrotate.d/kvm-stat"
    install -D -m 0644 artifacts/completions/kvm_stat.bash "$root/usr/share/bash-completion/completions/kvm_stat"
    install -D -m 0644 artifacts/completions/_kvm_stat "$root$zshdir/_kvm_stat"
    install -D -m 0644 artifacts/completions/kvm_stat.fish "$root/usr/share/fish/vendor_completions.d/kvm_stat.fish"
    install -d -m 0755 "$root/usr/share/kvm-stat"
    install -m 0644 contrib/kvm_stat.rules.yml contrib/kvm_stat.rules.test.yml contrib/kvm_stat.grafana.json "$root/usr/share/kvm-stat/"
    chmod 0644 "$root$unitdir"/*.service "$root/usr/share/man/man1/kvm_stat.1.gz"
}

# The newest glibc symbol version a binary needs, and a check that it needs nothing but glibc.
glibc_needed() {
    local binary=$1 library
    for library in $(readelf -d "$binary" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'); do
        case $library in
            libc.so.6 | libm.so.6 | ld-linux-*.so.*) ;;
            *) fail "$binary needs $library, which the packages do not name: add it to Depends (control.in) and check the spec" ;;
        esac
    done
    readelf -V "$binary" | grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sed 's/GLIBC_//' | sort -V | tail -n 1
}

date_debian=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
date_rpm=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')

build_deb() { # ARCH BINARY
    local arch=$1 binary=$2 root="$work/deb-$1" size
    stage "$root" "$binary" /lib/systemd/system /usr/share/zsh/vendor-completions
    install -D -m 0644 packaging/copyright "$root/usr/share/doc/kvm-stat/copyright"
    gzip -9n <README.md >"$root/usr/share/doc/kvm-stat/README.md.gz"
    # A native package: its changelog is changelog.gz, one entry per release.
    printf 'kvm-stat (%s) unstable; urgency=medium\n\n  * Release %s, built from commit %s.\n\n -- %s  %s\n' \
        "$version" "$version" "$commit" "$maintainer" "$date_debian" | gzip -9n >"$root/usr/share/doc/kvm-stat/changelog.gz"
    # Overrides ship in the package, where lintian looks for them; none today.
    if grep -qvE '^(#|\s*$)' packaging/deb/lintian-overrides 2>/dev/null; then
        install -D -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/kvm-stat"
    fi
    install -d -m 0755 "$root/DEBIAN"
    for script in postinst prerm postrm; do
        install -m 0755 "packaging/deb/$script" "$root/DEBIAN/$script"
    done
    echo /etc/logrotate.d/kvm-stat >"$root/DEBIAN/conffiles"
    chmod 0644 "$root/DEBIAN/conffiles"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/md5sums"
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@GLIBC@/$(glibc_needed "$binary")/" \
        packaging/deb/control.in >"$root/DEBIAN/control"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zxz --build "$root" "$output/kvm-stat_${version}_$arch.deb" >/dev/null
    echo "built $output/kvm-stat_${version}_$arch.deb"
}

build_rpm() { # ARCH BINARY
    local arch=$1 binary=$2 root="$work/rpm-$1-stage" top="$work/rpm-$1"
    stage "$root" "$binary" /usr/lib/systemd/system /usr/share/zsh/site-functions
    install -D -m 0644 README.md "$root/usr/share/doc/kvm-stat/README.md"
    install -D -m 0644 packaging/copyright "$root/usr/share/licenses/kvm-stat/copyright"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    mkdir -p "$top"
    sed -e "s/@VERSION@/$version/g" -e "s/@COMMIT@/$commit/g" -e "s/@DATE@/$date_rpm/g" -e "s/@MAINTAINER@/$maintainer/g" \
        packaging/rpm/kvm-stat.spec.in >"$top/kvm-stat.spec"
    rpmbuild -bb --quiet --target "$arch-linux" --define "_topdir $top" --define "_stagedir $root" \
        "$top/kvm-stat.spec" >"$top/rpmbuild.log" 2>&1 || { cat "$top/rpmbuild.log" >&2; fail "rpmbuild failed for $arch"; }
    mv "$top/RPMS/$arch/kvm-stat-$version-1.$arch.rpm" "$output/"
    echo "built $output/kvm-stat-$version-1.$arch.rpm"
}

build_deb amd64 artifacts/kvm_stat
build_deb arm64 artifacts/linux-arm64/kvm_stat
build_rpm x86_64 artifacts/kvm_stat
build_rpm aarch64 artifacts/linux-arm64/kvm_stat
(cd "$output" && sha256sum -- kvm-stat_"$version"_*.deb kvm-stat-"$version"-1.*.rpm >SHA256SUMS)
echo "wrote $output/SHA256SUMS"
