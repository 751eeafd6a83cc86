#!/usr/bin/env bash
# Publishes kvm_stat as one NativeAOT binary.
#   ./build.sh               artifacts/kvm_stat for this machine, and its manual page artifacts/kvm_stat.1
#   ./build.sh linux-arm64   artifacts/linux-arm64/kvm_stat, cross-compiled with Debian's arm64
#                            toolchain (installed first when missing; that needs root)
set -euo pipefail
cd "$(dirname "$0")"

if [ "${1:-}" = "linux-arm64" ]; then
    shift
    packages=(clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu)
    missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "build.sh: installing the arm64 cross toolchain: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null \
            || { echo "build.sh: could not install ${missing[*]} (run as root, or install them)" >&2; exit 1; }
    fi
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
