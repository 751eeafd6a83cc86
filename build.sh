#!/usr/bin/env bash
# Publishes kvm_stat as one NativeAOT binary, and makes its release packages.
#   ./build.sh               artifacts/kvm_stat for this machine, its manual page artifacts/kvm_stat.1
#                            and its shell completions in artifacts/completions/
#   ./build.sh linux-arm64   artifacts/linux-arm64/kvm_stat, cross-compiled with Debian's arm64
#                            toolchain (installed first when missing; that needs root)
#   ./build.sh package       both of those, then the release in artifacts/packages/:
#                            kvm-stat_VERSION_amd64.deb and _arm64.deb, kvm-stat-VERSION-1.x86_64.rpm
#                            and .aarch64.rpm, and SHA256SUMS, checked by lintian and rpmlint (VERSION
#                            is the VERSION file's; the packaging tools are installed first when missing)
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

if [ "${1:-}" = "package" ]; then
    shift
    [ $# -eq 0 ] || { echo "build.sh: package takes no arguments" >&2; exit 2; }
    version=$(tr -d '[:space:]' <VERSION)
    # A release tag on this commit must name the same version as the VERSION file.
    for tag in $(git tag --list --points-at HEAD 'v[0-9]*' 2>/dev/null); do
        [ "$tag" = "v$version" ] || { echo "build.sh: this commit is tagged $tag, but VERSION says $version: make them agree" >&2; exit 1; }
    done
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
# The manual page and the shell completions come from the same option definitions as -h.
artifacts/kvm_stat --man-page > artifacts/kvm_stat.1
mkdir -p artifacts/completions
artifacts/kvm_stat --completion bash > artifacts/completions/kvm_stat.bash
artifacts/kvm_stat --completion zsh > artifacts/completions/_kvm_stat
artifacts/kvm_stat --completion fish > artifacts/completions/kvm_stat.fish
echo "built artifacts/kvm_stat ($(stat -c %s artifacts/kvm_stat) bytes), artifacts/kvm_stat.1 and artifacts/completions/"
