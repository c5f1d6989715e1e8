#!/usr/bin/env bash
# What "verified or claimed" costs (issue 19; not part of the tests): GET /agents and MCP
# tools/call search_catalog (2026-07-28, JSON) sent with a ChatGPT-User User-Agent, on loopback
# with wrk, on one gateway with and without that family's published ranges stored — 2,000
# prefixes (the size of a large operator's list), none containing loopback, so every request is
# checked against all of them and filed as claimed. The gateway re-reads ranges with its sweep, so
# the second run follows a `storefront agents refresh-ranges` and a sweep.
# Writes bench/results/verification_cost.md. Settings (environment):
#   BENCH_DURATION=8s  BENCH_CONNECTIONS=64  BENCH_WRK_THREADS=2  BENCH_SERVER_THREADS=$(nproc)
#   BENCH_ROUNDS=3 (each configuration is measured this many times; the median is reported)
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
PID=
cleanup() {
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
"$BIN" serve --store "$TMP/bench.db" --port "$PORT" --threads "$SERVER_THREADS" --sweep-interval 1 "${RATE_LIMIT_ARGS[@]}" \
    > "$TMP/gateway.log" 2>&1 &
PID=$!
for _ in $(seq 200); do curl -sf -o /dev/null "$BASE/status" && break; sleep 0.1; done

UA="Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
cat > "$TMP/agents.lua" <<EOF
wrk.headers["User-Agent"] = "$UA"
wrk.headers["Accept"] = "application/json"
EOF
cat > "$TMP/mcp.lua" <<EOF
wrk.method = "POST"
wrk.headers["User-Agent"] = "$UA"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_catalog","arguments":{"query":"tent"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
EOF

rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
measure() {  # script path → median requests/s
    for _ in $(seq "$ROUNDS"); do
        wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$TMP/$1.lua" "$BASE$2" > "$TMP/out.txt"
        rps "$TMP/out.txt"
    done | median
}

wrk -t1 -c8 -d2s -s "$TMP/agents.lua" "$BASE/agents" > /dev/null
agents_without=$(measure agents /agents)
mcp_without=$(measure mcp /mcp)

# 2,000 published prefixes (documentation and benchmarking ranges, none of them loopback).
"$PY" - "$TMP/ranges.json" <<'EOF'
import json, sys
prefixes = [{"ipv4Prefix": f"198.18.{i // 8}.{(i % 8) * 32}/27"} for i in range(1500)]
prefixes += [{"ipv6Prefix": f"2001:db8:{i:x}::/48"} for i in range(500)]
json.dump({"creationTime": "2026-12-07T00:00:00Z", "prefixes": prefixes}, open(sys.argv[1], "w"))
EOF
"$BIN" agents refresh-ranges --family ChatGPT-User --from "$TMP/ranges.json" --store "$TMP/bench.db" > /dev/null
sleep 3  # the sweep (every second here) re-reads the ranges
agents_with=$(measure agents /agents)
mcp_with=$(measure mcp /mcp)

cost() { "$PY" -c "print(f'{(1 - $2 / $1) * 100:+.1f} %')"; }
{
    printf '## Verified or claimed — %s, %s cores, wrk -t%s -c%s -d%s, median of %s, rate limits: %s\n\n' \
        "$(date -u +%FT%RZ)" "$(nproc)" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "${BENCH_RATE_LIMITS:-measure}"
    printf '| request (User-Agent ChatGPT-User) | no ranges stored | 2,000 prefixes stored | cost |\n|---|---|---|---|\n'
    printf '| `GET /agents` | %s | %s | %s |\n' "$agents_without" "$agents_with" "$(cost "$agents_without" "$agents_with")"
    printf '| MCP `tools/call search_catalog` | %s | %s | %s |\n' "$mcp_without" "$mcp_with" "$(cost "$mcp_without" "$mcp_with")"
} | tee "$RESULTS/verification_cost.md"
