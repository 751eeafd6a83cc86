#!/usr/bin/env bash
# What TLS costs the exporter: start-up (from exec to the first HTTPS answer) and resident memory
# after 50 scrapes, for `kvm_stat --serve -f kvm_pio` with a web configuration (TLS and basic
# authentication) and without one.   sudo bench/serve-tls.sh [RUNS] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
binary=${2:-$PWD/artifacts/kvm_stat}
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
# bcrypt of "secret" at cost 10, as htpasswd -nbBC 10 "" secret makes it.
hash='$2b$10$hFNmQCi/4Tc..JDK6bpc1ORJWVr6SAHs6XPGATtfzc0VJJ5me2lU6'
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: "%s"\n' "$hash" >"$dir/web.yml"

measure() { # $1: label, rest: extra kvm_stat arguments; prints "label: start-up median ms, RSS median KB"
    local label=$1 scheme=$2
    shift 2
    local starts=() rss=() port start end
    for _ in $(seq 1 "$runs"); do
        port=$((20000 + RANDOM % 20000))
        start=$(date +%s%N)
        "$binary" --serve "127.0.0.1:$port" -f kvm_pio "$@" 2>"$dir/err" &
        pid=$!
        until curl -skf -u prometheus:secret "$scheme://127.0.0.1:$port/metrics" -o /dev/null; do sleep 0.005; done
        end=$(date +%s%N)
        starts+=($(((end - start) / 1000000)))
        for _ in $(seq 1 50); do curl -skf -u prometheus:secret "$scheme://127.0.0.1:$port/metrics" -o /dev/null; done
        rss+=("$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status)")
        kill -TERM "$pid"; wait "$pid" || true; pid=""
    done
    median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
    echo "$label: start-up to first answer median $(median "${starts[@]}") ms, RSS after 50 scrapes median $(median "${rss[@]}") KB ($runs runs)"
}
measure "plain HTTP" http
measure "TLS + basic auth" https --web-config-file "$dir/web.yml"
