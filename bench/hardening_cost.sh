#!/usr/bin/env bash
# What rate limiting and admission cost (issue 12; goal: at most 5 %). Not a test.
#
# Two gateways on one store, from the same release binary, measured alternately with wrk on
# loopback (same connections, same duration, rounds interleaved so drift hits both):
#   guarded    the defaults: every request charged to a token bucket (limits no run reaches,
#              10^9 a second, so every bucket is checked and RateLimit headers are sent), and
#              admission counting connections per address and streams per owner
#   unguarded  --no-rate-limits and every admission limit off (0)
# on three paths: GET /agents (the entry point; the guarded one is 4 KB longer, as it publishes its
# limits), GET /pricing (a document of the same bytes in both) and MCP tools/call search_catalog.
#
# Settings (environment): BENCH_DURATION=8s, BENCH_WARMUP=2s, BENCH_CONNECTIONS=64,
# BENCH_WRK_THREADS=2, BENCH_ROUNDS=3, BENCH_PATHS="agents pricing mcp", STOREFRONT_BIN=.build/release/storefront.
# Prints a Markdown table of the median requests/s, p99 and gateway CPU per request (user + system
# time of the gateway process from /proc, divided by the requests wrk completed) per
# configuration, and the cost of each. On a 2-core machine that also runs wrk, throughput swings by
# ±10 % between identical rounds; CPU per request is the steadier measure of what the guards cost.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-8s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
KINDS=${BENCH_PATHS:-agents pricing mcp}
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}

fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
command -v wrk >/dev/null || fail "wrk is missing (scripts/setup.sh --bench installs it)"
[ -x "$BIN" ] || fail "$BIN is missing: swift build -c release --product storefront"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-hardening.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
    fail "no answer from $1"
}

HIGH=()
for class in reads writes checkout registration; do
    HIGH+=(--rate-limit "$class=1000000000/1s" --rate-limit "anonymous.$class=1000000000/1s")
done
OPEN=(--no-rate-limits --reserved-connections 0 --max-connections-per-address 0 --max-anonymous-streams 0
      --max-streams-per-address 0 --max-streams-per-agent 0 --stream-idle-timeout 0)

start() {  # name args... (run in this shell, not a subshell, so that cleanup knows the pid)
    local name=$1 port
    shift
    port=$(free_port)
    "$BIN" serve --store "$TMP/store.db" --port "$port" "$@" > "$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    PID[$name]=$!
    PORT[$name]=$port
    wait_for "http://127.0.0.1:$port/status"
}
declare -A PID PORT
start guarded "${HIGH[@]}"
start unguarded "${OPEN[@]}"
GUARDED=${PORT[guarded]}
UNGUARDED=${PORT[unguarded]}
curl -sI "http://127.0.0.1:$GUARDED/agents" | grep -qi '^RateLimit-Policy' || fail "the guarded gateway sends no RateLimit-Policy"
curl -sI "http://127.0.0.1:$UNGUARDED/agents" | grep -qi '^RateLimit-Policy' && fail "the unguarded gateway still limits"

# The gateway's CPU time so far (user + system, in clock ticks), from /proc.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)

run() {  # config path-kind -> "rps p99ms cpu-us-per-request"
    local config=$1 kind=$2 args=()
    local port=${PORT[$config]} pid=${PID[$config]}
    [ "$kind" = mcp ] && args=(-s bench/mcp_call.lua)
    local url="http://127.0.0.1:$port/agents"
    [ "$kind" = mcp ] && url="http://127.0.0.1:$port/mcp"
    [ "$kind" = pricing ] && url="http://127.0.0.1:$port/pricing"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${args[@]}" "$url" > /dev/null
    local before after
    before=$(cpu_ticks "$pid")
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${args[@]}" "$url" > "$TMP/out.txt"
    after=$(cpu_ticks "$pid")
    awk -v ticks=$((after - before)) -v hz="$TICKS" '
        /^Requests\/sec/ { rps = $2 } /^ +99%/ { p = $2 } /requests in/ { n = $1 }
        END { v = p + 0; if (p ~ /us$/) v /= 1000; else if (p !~ /ms$/ && p ~ /s$/) v *= 1000
              printf "%s %.2f %.2f\n", rps, v, ticks / hz * 1e6 / n }' "$TMP/out.txt"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A RPS P99 CPU
for kind in $KINDS; do
    for config in guarded unguarded; do RPS[$config.$kind]=""; P99[$config.$kind]=""; CPU[$config.$kind]=""; done
    for round in $(seq "$ROUNDS"); do
        order=(guarded unguarded)
        [ $((round % 2)) -eq 0 ] && order=(unguarded guarded)
        for config in "${order[@]}"; do
            read -r rps p99 cpu < <(run "$config" "$kind")
            printf 'bench: %s %s round %s: %s req/s, p99 %s ms, %s µs of gateway CPU a request\n' "$kind" "$config" "$round" "$rps" "$p99" "$cpu" >&2
            RPS[$config.$kind]+="$rps "
            P99[$config.$kind]+="$p99 "
            CPU[$config.$kind]+="$cpu "
        done
    done
done

echo "| path | guarded req/s | unguarded req/s | throughput cost | guarded CPU/request | unguarded CPU/request | CPU cost | guarded p99 | unguarded p99 |"
echo "|---|---|---|---|---|---|---|---|---|"
for kind in $KINDS; do
    g=$(tr ' ' '\n' <<< "${RPS[guarded.$kind]}" | grep . | median)
    u=$(tr ' ' '\n' <<< "${RPS[unguarded.$kind]}" | grep . | median)
    gc=$(tr ' ' '\n' <<< "${CPU[guarded.$kind]}" | grep . | median)
    uc=$(tr ' ' '\n' <<< "${CPU[unguarded.$kind]}" | grep . | median)
    gp=$(tr ' ' '\n' <<< "${P99[guarded.$kind]}" | grep . | median)
    up=$(tr ' ' '\n' <<< "${P99[unguarded.$kind]}" | grep . | median)
    name="GET /agents"
    [ "$kind" = mcp ] && name="MCP tools/call search_catalog"
    [ "$kind" = pricing ] && name="GET /pricing"
    cost=$(awk -v g="$g" -v u="$u" 'BEGIN { printf "%.1f %%", (u - g) / u * 100 }')
    cpucost=$(awk -v g="$gc" -v u="$uc" 'BEGIN { printf "%.1f %%", (g - u) / u * 100 }')
    echo "| $name | $g | $u | $cost | $gc µs | $uc µs | $cpucost | $gp ms | $up ms |"
done
echo
g=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$GUARDED/agents")
u=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$UNGUARDED/agents")
echo "GET /agents is $g bytes guarded and $u bytes unguarded: the guarded document publishes its limits."
echo "Rounds (req/s, then µs of gateway CPU per request; guarded / unguarded):"
for kind in $KINDS; do
    echo "- $kind: ${RPS[guarded.$kind]}/ ${RPS[unguarded.$kind]}; ${CPU[guarded.$kind]}/ ${CPU[unguarded.$kind]}"
done
