#!/usr/bin/env bash
# Action benchmarks (`make bench` runs it after bench/run.sh; not part of the tests), on loopback
# with wrk, in one run:
#   1. MCP tools/call search_catalog through /mcp (revision 2026-07-28, JSON answers) on the gateway
#      and on the official MCP Python SDK's MCPServer serving the same tool over the same store
#      (bench/mcp_python_server.py; bench/same_answer.py checks the answers are equal first):
#      throughput, p50/p99, ratios, with both servers' result caches on and then off, and the
#      gateway also without analytics recording (the Python server records nothing).
#   2. complete_checkout over REST: many agents, a different ready checkout and a fresh
#      Idempotency-Key per request; every answer is sent after its transaction committed.
#   3. GET /agents throughput without and with 1,000 idle inbox subscribers (SSE) held open.
#   4. GET /agents and MCP search_catalog with analytics recording on and off (two gateways, one store).
# Writes bench/results/actions.md. Settings (environment):
#   BENCH_DURATION=8s  BENCH_CONNECTIONS=64  BENCH_WRK_THREADS=2  BENCH_SERVER_THREADS=$(nproc)
#   BENCH_AGENTS=200   BENCH_CHECKOUTS_PER_AGENT=150   (30,000 prepared checkouts)
#   BENCH_MCP_ROUNDS=3 (each MCP configuration is measured this many times; the median is reported)
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
AGENTS=${BENCH_AGENTS:-200}
MCP_ROUNDS=${BENCH_MCP_ROUNDS:-3}
PER_AGENT=${BENCH_CHECKOUTS_PER_AGENT:-150}
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}
PY=${BENCH_PYTHON:-$ROOT/.venv/bin/python}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"

say() { printf 'bench: %s\n' "$*" >&2; }
fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN is missing: run 'swift build -c release --product storefront'"
[ -x "$PY" ] || fail "$PY is missing: run 'scripts/setup.sh --test' (the MCP Python SDK lives in .venv)"
command -v wrk >/dev/null || fail "wrk is missing (scripts/setup.sh --bench)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-actions.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    fail "nothing answers at $1"
}

# wrk's summary → "requests/s p50 p99" (latencies in ms)
parse() {
    awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        END {
            printf "%s %s %s\n", rps, ms(p50), ms(p99)
        }
        function ms(v,   n) {
            n = v + 0
            if (v ~ /us$/) return sprintf("%.3f", n / 1000)
            if (v ~ /ms$/) return sprintf("%.3f", n)
            if (v ~ /s$/) return sprintf("%.3f", n * 1000)
            return v
        }' "$1"
}

GW_PORT=$(free_port)
"$BIN" serve --store "$TMP/bench.db" --port "$GW_PORT" --threads "$SERVER_THREADS" "${RATE_LIMIT_ARGS[@]}" --max-streams-per-agent 0 > "$TMP/gateway.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$GW_PORT/status"
ADMIN=$(awk '/admin token/ { print $NF }' "$TMP/gateway.log")
[ -n "$ADMIN" ] || fail "the gateway printed no admin token"

# The MCP comparison. Every server answers the same call with the same bytes; the gateway's result
# cache and the Python server's (--result-cache) are both on, then both off (both keep their
# memo of search pages either way). The gateway records analytics on every request (the Python
# server records nothing), so it is also measured with --no-analytics, like for like.
GW_URL=http://127.0.0.1:$GW_PORT
start_gateway() {  # name flags...; sets STARTED_PORT (answers as if it were the main gateway)
    local name=$1 port
    shift
    port=$(free_port)
    "$BIN" serve --store "$TMP/bench.db" --port "$port" --threads "$SERVER_THREADS" --public-url "$GW_URL" "${RATE_LIMIT_ARGS[@]}" "$@" \
        > "$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_for "http://127.0.0.1:$port/status"
    STARTED_PORT=$port
}
start_python() {  # name flags...; sets STARTED_PORT and PY_PID
    local name=$1 port
    shift
    port=$(free_port)
    "$PY" bench/mcp_python_server.py "$port" manifests/catalog.json "$TMP/bench.db" "$GW_URL" "$@" > "$TMP/$name.log" 2>&1 &
    PY_PID=$!
    PIDS+=($PY_PID)
    for _ in $(seq 100); do
        curl -s -o /dev/null -X POST "http://127.0.0.1:$port/mcp" && break
        sleep 0.2
    done
    STARTED_PORT=$port
    # Both must give the same answers, or the comparison means nothing.
    "$PY" bench/same_answer.py "$GW_URL/mcp" "http://127.0.0.1:$port/mcp" \
        || fail "the gateway and the Python server ($name) answer differently"
}
mcp_run() {  # label port → $TMP/mcp-<label>.txt (the median round by throughput), $TMP/mcp-<label>.rounds
    say "MCP tools/call search_catalog: $1 ($MCP_ROUNDS rounds)"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d2s -s bench/mcp_call.lua "http://127.0.0.1:$2/mcp" > /dev/null
    local r
    : > "$TMP/mcp-$1.rounds"
    for r in $(seq "$MCP_ROUNDS"); do
        wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/mcp_call.lua "http://127.0.0.1:$2/mcp" \
            > "$TMP/mcp-$1-$r.txt"
        echo "$(parse "$TMP/mcp-$1-$r.txt") $TMP/mcp-$1-$r.txt" >> "$TMP/mcp-$1.rounds"
    done
    cp "$(sort -g "$TMP/mcp-$1.rounds" | awk -v n="$MCP_ROUNDS" 'NR == int((n + 1) / 2) { print $4 }')" "$TMP/mcp-$1.txt"
}
rounds() {  # label → "rps/p99, …" of every round
    awk '{ printf "%s%s req/s, p99 %s ms", (NR > 1 ? "; " : ""), $1, $3 }' "$TMP/mcp-$1.rounds"
}
start_gateway uncached --no-result-cache
UNCACHED_PORT=$STARTED_PORT
start_gateway quiet --no-analytics
QUIET_PORT=$STARTED_PORT

mcp_run gw "$GW_PORT"
mcp_run gw-quiet "$QUIET_PORT"
mcp_run gw-uncached "$UNCACHED_PORT"
start_python python-cached --result-cache
mcp_run py "$STARTED_PORT"
kill -TERM "$PY_PID" 2>/dev/null || true
start_python python-uncached
mcp_run py-uncached "$STARTED_PORT"
kill -TERM "$PY_PID" 2>/dev/null || true

read -r GW_RPS GW_P50 GW_P99 < <(parse "$TMP/mcp-gw.txt")
read -r GQ_RPS GQ_P50 GQ_P99 < <(parse "$TMP/mcp-gw-quiet.txt")
read -r GU_RPS GU_P50 GU_P99 < <(parse "$TMP/mcp-gw-uncached.txt")
read -r PY_RPS PY_P50 PY_P99 < <(parse "$TMP/mcp-py.txt")
read -r PU_RPS PU_P50 PU_P99 < <(parse "$TMP/mcp-py-uncached.txt")
errors() { awk '/mcp-errors/ { print $2 }' "$TMP/mcp-$1.txt"; }

say "preparing $((AGENTS * PER_AGENT)) checkouts for $AGENTS agents"
"$PY" bench/prepare_checkouts.py "http://127.0.0.1:$GW_PORT" "$ADMIN" "$AGENTS" "$PER_AGENT" "$TMP/checkouts.txt"
say "complete_checkout"
CHECKOUTS="$TMP/checkouts.txt" WRK_THREADS=$WRK_THREADS wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s bench/checkout.lua "http://127.0.0.1:$GW_PORT" > "$TMP/checkout.txt"
read -r CO_RPS CO_P50 CO_P99 < <(parse "$TMP/checkout.txt")
CO_DONE=$(awk '/checkout-completed/ { print $2 }' "$TMP/checkout.txt")
CO_FAIL=$(awk '/checkout-failures/ { print $2 }' "$TMP/checkout.txt")
"$BIN" trail verify --store "$TMP/bench.db" > "$TMP/verify.txt" 2>&1 || true

say "GET /agents without and with 1,000 idle inbox subscribers"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$GW_PORT/agents" > "$TMP/idle-before.txt"
KEY=$(head -1 "$TMP/checkouts.txt" | cut -d' ' -f1)
"$PY" bench/idle_subscribers.py 127.0.0.1 "$GW_PORT" "$KEY" 1000 > "$TMP/idle.log" 2>&1 &
IDLE_PID=$!
PIDS+=($IDLE_PID)
for _ in $(seq 300); do grep -q ready "$TMP/idle.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$TMP/idle.log" || fail "the idle subscribers did not connect: $(cat "$TMP/idle.log")"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$GW_PORT/agents" > "$TMP/idle-after.txt"
kill -TERM "$IDLE_PID" 2>/dev/null || true
read -r IB_RPS IB_P50 IB_P99 < <(parse "$TMP/idle-before.txt")
read -r IA_RPS IA_P50 IA_P99 < <(parse "$TMP/idle-after.txt")

say "analytics recording on and off: GET /agents and MCP search_catalog"
OFF_PORT=$QUIET_PORT  # the gateway started with --no-analytics
for target in on off; do
    port=$GW_PORT
    [ "$target" = off ] && port=$OFF_PORT
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/agents" > "$TMP/an-agents-$target.txt"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/mcp_call.lua "http://127.0.0.1:$port/mcp" > "$TMP/an-mcp-$target.txt"
done
read -r AON_RPS _ _ < <(parse "$TMP/an-agents-on.txt")
read -r AOFF_RPS _ _ < <(parse "$TMP/an-agents-off.txt")
read -r MON_RPS _ _ < <(parse "$TMP/an-mcp-on.txt")
read -r MOFF_RPS _ _ < <(parse "$TMP/an-mcp-off.txt")

{
    echo "## Actions — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION"
    echo
    echo "| benchmark | requests/s | p50 ms | p99 ms | errors |"
    echo "|---|---:|---:|---:|---:|"
    echo "| MCP search_catalog — storefront (defaults: result cache, analytics) | $GW_RPS | $GW_P50 | $GW_P99 | $(errors gw) |"
    echo "| MCP search_catalog — storefront --no-analytics | $GQ_RPS | $GQ_P50 | $GQ_P99 | $(errors gw-quiet) |"
    echo "| MCP search_catalog — Python SDK MCPServer, --result-cache | $PY_RPS | $PY_P50 | $PY_P99 | $(errors py) |"
    echo "| MCP search_catalog — storefront --no-result-cache | $GU_RPS | $GU_P50 | $GU_P99 | $(errors gw-uncached) |"
    echo "| MCP search_catalog — Python SDK MCPServer, no result cache | $PU_RPS | $PU_P50 | $PU_P99 | $(errors py-uncached) |"
    echo "| complete_checkout (REST, $AGENTS agents, fresh keys) | $CO_RPS | $CO_P50 | $CO_P99 | $CO_FAIL |"
    echo "| GET /agents, no inbox subscribers | $IB_RPS | $IB_P50 | $IB_P99 | |"
    echo "| GET /agents, 1,000 idle inbox subscribers open | $IA_RPS | $IA_P50 | $IA_P99 | |"
    echo "| GET /agents, analytics on / off | $AON_RPS / $AOFF_RPS | | | |"
    echo "| MCP search_catalog, analytics on / off | $MON_RPS / $MOFF_RPS | | | |"
    echo
    echo "MCP rows are the median of $MCP_ROUNDS rounds by throughput. Every round:"
    echo
    for label in gw gw-quiet py gw-uncached py-uncached; do echo "- $label: $(rounds "$label")"; done
    echo
    awk -v a="$GW_RPS" -v q="$GQ_RPS" -v b="$PY_RPS" -v u="$GU_RPS" -v c="$PU_RPS" 'BEGIN {
        if (b > 0) printf "MCP throughput ratio storefront / Python SDK, result caches on: %.1f× (defaults), %.1f× (--no-analytics)\n", a / b, q / b
        if (c > 0) printf "\nMCP throughput ratio storefront / Python SDK, result caches off: %.1f×\n", u / c }'
    awk -v a="$IA_RPS" -v b="$IB_RPS" 'BEGIN { if (b > 0) printf "\nGET /agents with 1,000 idle subscribers: %.1f%% of its throughput without them\n", 100 * a / b }'
    awk -v a="$AON_RPS" -v b="$AOFF_RPS" -v c="$MON_RPS" -v d="$MOFF_RPS" 'BEGIN { if (b > 0 && d > 0) printf "\nAnalytics recording costs: GET /agents %.1f%%, MCP search_catalog %.1f%%\n", 100 * (1 - a / b), 100 * (1 - c / d) }'
    echo
    echo "Completed checkouts in the run: $CO_DONE. After it: $(cat "$TMP/verify.txt")"
} | tee "$RESULTS/actions.md"
