#!/usr/bin/env bash
# Publishes kvm_stat as one NativeAOT binary, artifacts/kvm_stat, and its manual page artifacts/kvm_stat.1.
set -euo pipefail
cd "$(dirname "$0")"
dotnet publish src/KvmStat/KvmStat.csproj -c Release --use-current-runtime -o artifacts/publish --nologo -v quiet "$@"
install -m 0755 artifacts/publish/kvm_stat artifacts/kvm_stat
# The manual page comes from the same option definitions as -h.
artifacts/kvm_stat --man-page > artifacts/kvm_stat.1
echo "built artifacts/kvm_stat ($(stat -c %s artifacts/kvm_stat) bytes) and artifacts/kvm_stat.1"
