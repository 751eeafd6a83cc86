#!/usr/bin/env bash
# Publishes kvm_stat as one NativeAOT binary, and makes its release packages.
#   ./build.sh               artifacts/kvm_stat for this machine, its manual page artifacts/kvm_stat.1
#                            and its shell completions in artifacts/completions/
#   ./build.sh linux-arm64   artifacts/linux-arm64/kvm_stat, cross-compiled with Debian's arm64
#                            toolchain (installed first when missing; that needs root)
#   ./build.sh package       both of those, then the release in artifacts/packages/:
#                            kvm-stat_VERSION_amd64.deb and _arm64.deb, kvm-stat-VERSION-1.x86_64.rpm
#                            and .aarch64.rpm, and SHA256SUMS, checked by lintian and rpmlint (VERSION
#                            is the VERSION file's; the packaging tools are installed first when missing).
#                            It refuses a tree with uncommitted changes: a release is one commit.
#   ./build.sh package --allow-dirty
#                            the same from a tree with uncommitted changes, for development: the
#                            binaries' stamp says "+dirty" after the commit (--version, the changelogs)
set -euo pipefail
cd "$(dirname "$0")"

# Installs those of the Debian packages named that are missing. $1 says what they are for.
require() {
    local what=$1 package missing=()
    shift
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "build.sh: installing $what: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}"; } >/dev/null \
            || { echo "build.sh: could not install ${missing[*]} (run as root, or install them)" >&2; exit 1; }
    fi
}

# What differs from the commit in the files the build reads: tracked files with uncommitted
# changes, and untracked files under src/ (the build compiles them). Directory.Build.props
# stamps a binary built from such a tree "+dirty" after the same test.
uncommitted() {
    git status --porcelain --untracked-files=no | cut -c4-
    git ls-files --others --exclude-standard -- src
}

if [ "${1:-}" = "package" ]; then
    shift
    allow_dirty=false
    [ "${1:-}" = "--allow-dirty" ] && { allow_dirty=true; shift; }
    [ $# -eq 0 ] || { echo "build.sh: package takes no arguments but --allow-dirty" >&2; exit 2; }
    git rev-parse --verify -q HEAD >/dev/null || { echo "build.sh: package needs a git clone: the packages name the commit they are built from" >&2; exit 1; }
    mapfile -t changed < <(uncommitted)
    if [ ${#changed[@]} -gt 0 ] && ! $allow_dirty; then
        listed="${changed[*]:0:3}"
        [ ${#changed[@]} -le 3 ] || listed="$listed and $((${#changed[@]} - 3)) more"
        echo "build.sh: uncommitted changes in $listed: commit or stash them (a release is one commit), or use ./build.sh package --allow-dirty for a development build marked +dirty" >&2
        exit 1
    fi
    version=$(tr -d '[:space:]' <VERSION)
    # A release tag on this commit must name the same version as the VERSION file (git tags cannot
    # hold "~": pre-release 1.0.0~rc1 is tagged v1.0.0-rc1).
    for tag in $(git tag --list --points-at HEAD 'v[0-9]*' 2>/dev/null); do
        [ "$tag" = "v${version//\~/-}" ] || { echo "build.sh: this commit is tagged $tag, but VERSION says $version: make them agree" >&2; exit 1; }
    done
    # shellcheck source=packaging/release.conf
    . packaging/release.conf
    [[ ${KVM_STAT_MAINTAINER:-$MAINTAINER} != *set-maintainer-in-packaging-release-conf* ]] \
        || echo "build.sh: the packages name the placeholder maintainer: set MAINTAINER in packaging/release.conf before publishing them"
    require "the packaging tools" rpm lintian rpmlint
    ./build.sh
    ./build.sh linux-arm64
    packaging/build-packages.sh
    packaging/lint.sh artifacts/packages
    exit 0
fi

if [ "${1:-}" = "linux-arm64" ]; then
    shift
    require "the arm64 cross toolchain" clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
    # NativeAOT links with clang for the target; objcopy must be the target's to strip symbols.
    dotnet publish src/KvmStat/KvmStat.csproj -c Release -r linux-arm64 -p:ObjCopyName=aarch64-linux-gnu-objcopy \
        -o artifacts/linux-arm64/publish --nologo -v quiet "$@"
    install -m 0755 artifacts/linux-arm64/publish/kvm_stat artifacts/linux-arm64/kvm_stat
    echo "built artifacts/linux-arm64/kvm_stat ($(stat -c %s artifacts/linux-arm64/kvm_stat) bytes)"
    exit 0
fi

dotnet publish src/KvmStat/KvmStat.csproj -c Release --use-current-runtime -o artifacts/publish --nologo -v quiet "$@"
install -m 0755 artifacts/publish/kvm_stat artifacts/kvm_stat
# The manual page and the shell completions come from the same option definitions as -h. The
# page's date is the commit's (SOURCE_DATE_EPOCH), so that one commit makes the same page.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)} artifacts/kvm_stat --man-page > artifacts/kvm_stat.1
mkdir -p artifacts/completions
artifacts/kvm_stat --completion bash > artifacts/completions/kvm_stat.bash
artifacts/kvm_stat --completion zsh > artifacts/completions/_kvm_stat
artifacts/kvm_stat --completion fish > artifacts/completions/kvm_stat.fish
echo "built artifacts/kvm_stat ($(stat -c %s artifacts/kvm_stat) bytes), artifacts/kvm_stat.1 and artifacts/completions/"
