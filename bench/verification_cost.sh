#!/usr/bin/env bash
# What "verified or claimed" costs (issue 19; not part of the tests): GET /agents and MCP
# tools/call search_catalog (2026-07-28, JSON) sent with a ChatGPT-User User-Agent, on loopback
# with wrk, against two gateways (two stores) alike but for that family's published ranges: none
# on one, 2,000 prefixes on the other (the size of a large operator's list), none containing
# loopback, so every request there is checked against them and filed as claimed. The two are
# measured in alternation, round after round, so warm-up and drift fall on both alike.
# Writes bench/results/verification_cost.md. Settings (environment):
#   BENCH_DURATION=8s  BENCH_CONNECTIONS=64  BENCH_WRK_THREADS=2  BENCH_SERVER_THREADS=$(nproc)
#   BENCH_ROUNDS=3 (each configuration is measured this many times; the median is reported)
#   BENCH_RATE_LIMITS=measure   measure | off | defaults (bench/rate_limits.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/rate_limits.sh
. "$ROOT/bench/rate_limits.sh"
DURATION=${BENCH_DURATION:-8s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_SERVER_THREADS:-$(nproc)}
ROUNDS=${BENCH_ROUNDS:-3}
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}
PY=${BENCH_PYTHON:-$ROOT/.venv/bin/python}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"

fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN is missing: run 'swift build -c release --product storefront'"
command -v wrk >/dev/null || fail "wrk is missing (scripts/setup.sh --bench)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-verification.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 200); do curl -sf -o /dev/null "$1/status" && return 0; sleep 0.1; done
    fail "nothing answers at $1"
}

# 2,000 published prefixes (benchmarking and documentation ranges, none of them loopback).
"$PY" "$ROOT/bench/published_ranges.py" "$TMP/ranges.json"

# Each store is made by a first start; the one with ranges gets them before its gateway serves.
PORT_WITHOUT=$(free_port)
"$BIN" serve --store "$TMP/without.db" --port "$PORT_WITHOUT" --threads "$SERVER_THREADS" "${RATE_LIMIT_ARGS[@]}" \
    > "$TMP/without.log" 2>&1 &
PIDS+=($!)
WITHOUT=http://127.0.0.1:$PORT_WITHOUT
wait_for "$WITHOUT"
PORT_WITH=$(free_port)
"$BIN" serve --store "$TMP/with.db" --port "$PORT_WITH" > "$TMP/first.log" 2>&1 &
first=$!
wait_for "http://127.0.0.1:$PORT_WITH"
kill -TERM "$first"
wait "$first" || true
"$BIN" agents refresh-ranges --family ChatGPT-User --from "$TMP/ranges.json" --store "$TMP/with.db" > /dev/null
"$BIN" serve --store "$TMP/with.db" --port "$PORT_WITH" --threads "$SERVER_THREADS" "${RATE_LIMIT_ARGS[@]}" \
    > "$TMP/with.log" 2>&1 &
PIDS+=($!)
WITH=http://127.0.0.1:$PORT_WITH
wait_for "$WITH"

UA="Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
printf 'wrk.headers["User-Agent"] = "%s"\nwrk.headers["Accept"] = "application/json"\n' "$UA" > "$TMP/agents.lua"
cat > "$TMP/mcp.lua" <<LUA
wrk.method = "POST"
wrk.headers["User-Agent"] = "$UA"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_catalog","arguments":{"query":"tent"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
LUA

rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
run() {  # script, base, path → requests/s
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$TMP/$1.lua" "$2$3" > "$TMP/out.txt"
    rps "$TMP/out.txt"
}

for base in "$WITHOUT" "$WITH"; do  # warm both up
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s -s "$TMP/agents.lua" "$base/agents" > /dev/null
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s -s "$TMP/mcp.lua" "$base/mcp" > /dev/null
done
: > "$TMP/a0"; : > "$TMP/a1"; : > "$TMP/m0"; : > "$TMP/m1"
for _ in $(seq "$ROUNDS"); do
    run agents "$WITHOUT" /agents >> "$TMP/a0"
    run agents "$WITH" /agents >> "$TMP/a1"
    run mcp "$WITHOUT" /mcp >> "$TMP/m0"
    run mcp "$WITH" /mcp >> "$TMP/m1"
done
agents_without=$(median < "$TMP/a0"); agents_with=$(median < "$TMP/a1")
mcp_without=$(median < "$TMP/m0"); mcp_with=$(median < "$TMP/m1")

cost() { "$PY" -c "print(f'{(1 - $2 / $1) * 100:+.1f} %')"; }
{
    printf '## Verified or claimed — %s, %s cores, wrk -t%s -c%s -d%s, median of %s alternated rounds, rate limits: %s\n\n' \
        "$(date -u +%FT%RZ)" "$(nproc)" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "${BENCH_RATE_LIMITS:-measure}"
    printf '| request (User-Agent ChatGPT-User) | no ranges stored (req/s) | 2,000 prefixes stored (req/s) | cost |\n|---|---|---|---|\n'
    printf '| `GET /agents` | %s | %s | %s |\n' "$agents_without" "$agents_with" "$(cost "$agents_without" "$agents_with")"
    printf '| MCP `tools/call search_catalog` | %s | %s | %s |\n' "$mcp_without" "$mcp_with" "$(cost "$mcp_without" "$mcp_with")"
} | tee "$RESULTS/verification_cost.md"
