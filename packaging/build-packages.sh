#!/usr/bin/env bash
# Makes kvm_stat's Debian and RPM packages, for x86-64 and arm64, from what ./build.sh and
# ./build.sh linux-arm64 made (the binaries, the manual page, the shell completions) and from
# contrib/ (the systemd units and their arguments' file, the logrotate snippet, the alerting rules,
# the dashboard), then writes SHA256SUMS beside them. "./build.sh package" builds and runs this,
# then packaging/lint.sh. The packages of one commit are the same bytes however often they are made.
#   packaging/build-packages.sh [--output DIR] [--version VERSION --output DIR]
#     --output   where the packages go (default artifacts/packages, the release)
#     --version  name the packages VERSION instead of the VERSION file's, to rehearse an upgrade.
#                Only the names change: the binary inside is still the VERSION file's release and
#                says so (kvm_stat --version), and the changelog says both. Such packages are no
#                release: they go only into the folder --output names (never artifacts/packages),
#                without SHA256SUMS.
# Needs dpkg-deb and rpmbuild (Debian's rpm package); ./build.sh package installs them.
# The maintainer named in the packages is packaging/release.conf's (or KVM_STAT_MAINTAINER's).
set -euo pipefail
cd "$(dirname "$0")/.."

release_folder=artifacts/packages
output=""
release=$(tr -d '[:space:]' <VERSION)
version=$release
while [ $# -gt 0 ]; do
    case "$1" in
        --output) output=${2:-}; shift 2 ;;
        --version) version=${2:-}; shift 2 ;;
        *) echo "build-packages.sh: unknown argument $1 (use --output DIR, --version VERSION --output DIR)" >&2; exit 2 ;;
    esac
done
fail() { echo "build-packages.sh: $*" >&2; exit 1; }
# A release, or a pre-release spelled as Debian and Fedora both order it before the release: 1.0.0~rc1.
version_pattern='^[0-9]+(\.[0-9]+)*(~[a-z]+[0-9]*)?$'
[[ $release =~ $version_pattern ]] || fail "VERSION says \"$release\", which is not a version: digits and dots, as in 1.0.0, or a pre-release as in 1.0.0~rc1"
[[ $version =~ $version_pattern ]] || fail "\"$version\" is not a version: digits and dots, as in 1.0.0, or a pre-release as in 1.0.0~rc1"
if [ "$version" != "$release" ]; then
    [ -n "$output" ] || { echo "build-packages.sh: --version $version relabels release $release: name a folder for them with --output DIR (not $release_folder)" >&2; exit 2; }
    [ "$(realpath -m "$output")" != "$(realpath -m "$release_folder")" ] \
        || { echo "build-packages.sh: --version $version relabels release $release: its packages never go into $release_folder, the release's folder; choose another --output" >&2; exit 2; }
fi
output=${output:-$release_folder}
for tool in dpkg-deb rpmbuild readelf gzip sha256sum; do
    command -v "$tool" >/dev/null || fail "$tool is missing: ./build.sh package installs what packaging needs"
done
inputs=(artifacts/kvm_stat artifacts/kvm_stat.1 artifacts/completions/kvm_stat.bash artifacts/completions/_kvm_stat
        artifacts/completions/kvm_stat.fish artifacts/linux-arm64/kvm_stat)
for input in "${inputs[@]}"; do
    [ -f "$input" ] || fail "$input is missing: run ./build.sh and ./build.sh linux-arm64 first (./build.sh package does)"
done

# Both binaries must be this release, built from one commit: the x86-64 one names it, and the
# arm64 one must hold the same stamp ("1.0.0+<commit>", "+dirty" after it for a build from a tree
# with uncommitted changes, which ./build.sh package makes only when told to).
stamp_pattern="${release//./\\.}\+[0-9a-f]{40}(\+dirty)?"
stamp=$(grep -aoE "$stamp_pattern" artifacts/kvm_stat | head -n 1) \
    || fail "artifacts/kvm_stat is not release $release (VERSION) built from a git commit: run ./build.sh again in the clone"
[ "$(grep -aoE "$stamp_pattern" artifacts/linux-arm64/kvm_stat | head -n 1)" = "$stamp" ] \
    || fail "artifacts/linux-arm64/kvm_stat was not built from the commit of artifacts/kvm_stat (${stamp#*+}): run ./build.sh linux-arm64 again"
commit=${stamp#*+}
built="built from commit $commit"
[ "$commit" = "${commit%+dirty}" ] || built="built from commit ${commit%+dirty} with uncommitted changes ($commit): a development build"
[ "$version" = "$release" ] || built="$built; relabelled $version for an upgrade rehearsal: the binary is release $release"

# shellcheck source=release.conf
. packaging/release.conf
maintainer=${KVM_STAT_MAINTAINER:-$MAINTAINER}
# Dates and file times from the commit, so that one commit makes the same packages.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct "${commit%+dirty}" 2>/dev/null || date +%s)}

# The versions of what the NativeAOT compiler linked into the binaries, from the build's restore
# (the runtime is the ILCompiler package's), for the RPM's Provides: bundled(...).
assets=artifacts/build/obj/KvmStat/project.assets.json
[ -f "$assets" ] || fail "$assets is missing: run ./build.sh first (./build.sh package does)"
flat_assets=$(tr -d ' \n' <"$assets")
bundled() { # NAME PATTERN: the version of the package PATTERN matches, or a failure naming NAME
    sed -nE "s#.*$2.*#\1#p" <<<"$flat_assets" | grep -E '^[0-9.]+$' || fail "$assets names no version of $1"
}
dotnet_version=$(bundled ".NET's ILCompiler" '"Microsoft\.DotNet\.ILCompiler/([0-9.]+)"')
aspnetcore_version=$(bundled "ASP.NET Core" '"name":"Microsoft\.AspNetCore\.App\.Runtime\.[^"]*","version":"\[([0-9.]+),')
commandline_version=$(bundled System.CommandLine '"System\.CommandLine/([0-9.]+)"')
bcrypt_version=$(bundled BCrypt.Net-Next '"BCrypt\.Net-Next/([0-9.]+)"')
yaml_version=$(bundled YamlDotNet '"YamlDotNet/([0-9.]+)"')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$output"
rm -f "$output"/kvm-stat[_-]*.deb "$output"/kvm-stat-*.rpm "$output/SHA256SUMS"

# stage ROOT BINARY UNITDIR ZSHDIR DEFAULTS: the files both formats install, under ROOT. DEFAULTS
# is the units' EnvironmentFile= (/etc/default/kvm-stat in contrib/, Debian's place).
stage() {
    local root=$1 binary=$2 unitdir=$3 zshdir=$4 defaults=$5 unit
    install -D -m 0755 "$binary" "$root/usr/bin/kvm_stat"
    install -d -m 0755 "$root/usr/share/man/man1"
    gzip -9n <artifacts/kvm_stat.1 >"$root/usr/share/man/man1/kvm_stat.1.gz"
    for unit in kvm_stat.service kvm_stat-exporter.service; do
        install -d -m 0755 "$root$unitdir"
        sed -e 's|/usr/local/bin/kvm_stat|/usr/bin/kvm_stat|' -e "s|/etc/default/kvm-stat|$defaults|" "contrib/$unit" >"$root$unitdir/$unit"
    done
    install -D -m 0644 contrib/kvm_stat.default "$root$defaults"
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

# Text to put into a sed replacement as it is.
sed_text() { sed -e 's/[\/&|]/\\&/g' <<<"$1"; }

date_debian=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
date_rpm=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')

build_deb() { # ARCH BINARY
    local arch=$1 binary=$2 root="$work/deb-$1" size entry
    stage "$root" "$binary" /lib/systemd/system /usr/share/zsh/vendor-completions /etc/default/kvm-stat
    install -D -m 0644 packaging/copyright "$root/usr/share/doc/kvm-stat/copyright"
    gzip -9n <README.md >"$root/usr/share/doc/kvm-stat/README.md.gz"
    # A native package: its changelog is changelog.gz, one entry per release.
    entry=$(printf '* Release %s, %s.' "$version" "$built" | fold -s -w 76 | sed -e 's/ *$//' -e '1s/^/  /' -e '2,$s/^/    /')
    printf 'kvm-stat (%s) unstable; urgency=medium\n\n%s\n\n -- %s  %s\n' "$version" "$entry" "$maintainer" "$date_debian" \
        | gzip -9n >"$root/usr/share/doc/kvm-stat/changelog.gz"
    # Overrides ship in the package, where lintian looks for them; none today.
    if grep -qvE '^(#|\s*$)' packaging/deb/lintian-overrides 2>/dev/null; then
        install -D -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/kvm-stat"
    fi
    install -d -m 0755 "$root/DEBIAN"
    for script in postinst prerm postrm; do
        install -m 0755 "packaging/deb/$script" "$root/DEBIAN/$script"
    done
    printf '%s\n' /etc/default/kvm-stat /etc/logrotate.d/kvm-stat >"$root/DEBIAN/conffiles"
    chmod 0644 "$root/DEBIAN/conffiles"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/md5sums"
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@GLIBC@/$(glibc_needed "$binary")/" \
        -e "s/@MAINTAINER@/$(sed_text "$maintainer")/" packaging/deb/control.in >"$root/DEBIAN/control"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zxz --build "$root" "$output/kvm-stat_${version}_$arch.deb" >/dev/null
    echo "built $output/kvm-stat_${version}_$arch.deb"
}

build_rpm() { # ARCH BINARY
    local arch=$1 binary=$2 root="$work/rpm-$1-stage" top="$work/rpm-$1"
    stage "$root" "$binary" /usr/lib/systemd/system /usr/share/zsh/site-functions /etc/sysconfig/kvm-stat
    install -D -m 0644 README.md "$root/usr/share/doc/kvm-stat/README.md"
    # The licence texts: the program's (GPL-2.0), and each bundled component's (MIT) with its copyright.
    install -D -m 0644 LICENSE "$root/usr/share/licenses/kvm-stat/LICENSE"
    install -m 0644 packaging/copyright "$root/usr/share/licenses/kvm-stat/copyright"
    for text in packaging/licenses/*.txt; do
        install -m 0644 "$text" "$root/usr/share/licenses/kvm-stat/LICENSE.$(basename "$text" .txt)"
    done
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    mkdir -p "$top"
    sed -e "s/@VERSION@/$version/g" -e "s/@BUILT@/$(sed_text "$built")/g" -e "s/@DATE@/$date_rpm/g" \
        -e "s/@MAINTAINER@/$(sed_text "$maintainer")/g" -e "s/@DOTNET@/$dotnet_version/g" -e "s/@ASPNETCORE@/$aspnetcore_version/g" \
        -e "s/@COMMANDLINE@/$commandline_version/g" -e "s/@BCRYPT@/$bcrypt_version/g" -e "s/@YAML@/$yaml_version/g" \
        packaging/rpm/kvm-stat.spec.in >"$top/kvm-stat.spec"
    # Reproducible: the build time is SOURCE_DATE_EPOCH (the commit's), file times are clamped to
    # it, and the build host is a fixed name, so the same binaries make the same .rpm bytes.
    rpmbuild -bb --quiet --target "$arch-linux" --define "_topdir $top" --define "_stagedir $root" \
        --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
        --define "source_date_epoch_from_changelog 0" --define "_buildhost reproducible" \
        "$top/kvm-stat.spec" >"$top/rpmbuild.log" 2>&1 || { cat "$top/rpmbuild.log" >&2; fail "rpmbuild failed for $arch"; }
    mv "$top/RPMS/$arch/kvm-stat-$version-1.$arch.rpm" "$output/"
    echo "built $output/kvm-stat-$version-1.$arch.rpm"
}

build_deb amd64 artifacts/kvm_stat
build_deb arm64 artifacts/linux-arm64/kvm_stat
build_rpm x86_64 artifacts/kvm_stat
build_rpm aarch64 artifacts/linux-arm64/kvm_stat
[ "$version" = "$release" ] || exit 0
(cd "$output" && sha256sum -- kvm-stat_"$version"_*.deb kvm-stat-"$version"-1.*.rpm >SHA256SUMS)
echo "wrote $output/SHA256SUMS"
