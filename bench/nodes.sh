#!/usr/bin/env bash
# Several nodes on one PostgreSQL (issue 14), against SQLite, on loopback with wrk:
#   complete_checkout over REST and over MCP (2026-07-28 tools/call; fresh Idempotency-Key,
#   a different ready checkout of one of many agents each request, answered after its commit),
#   and MCP search_catalog calls,
# for: SQLite, 1 node · PostgreSQL, 1 node · PostgreSQL, 2 nodes on one database.
# With two nodes, wrk's connections are split between them (one wrk per node, run together) and
# the throughputs summed. CPU per request is read from /proc (utime + stime of the gateways, and
# of every PostgreSQL process) over each run. PostgreSQL is a throwaway cluster made here
# (Debian's initdb as the postgres user, fsync on: purchases are durable), deleted at the end.
# This machine's cores are shared by wrk, the gateways and PostgreSQL: what two nodes could do
# on two machines cannot be shown here; the CPU per request says what each costs.
# Writes bench/results/nodes.md. Settings (environment):
#   BENCH_DURATION=8s  BENCH_CONNECTIONS=64  BENCH_WRK_THREADS=2
#   BENCH_AGENTS=100   BENCH_CHECKOUTS_PER_AGENT=300   (30,000 prepared checkouts per run)
#   BENCH_STORES=all   all | sqlite (only the SQLite run: no cluster is made) | postgres (only the PostgreSQL runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/rate_limits.sh
. "$ROOT/bench/rate_limits.sh"
DURATION=${BENCH_DURATION:-8s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
AGENTS=${BENCH_AGENTS:-100}
PER_AGENT=${BENCH_CHECKOUTS_PER_AGENT:-300}
STORES=${BENCH_STORES:-all}
case $STORES in all|sqlite|postgres) ;; *) printf 'bench: error: BENCH_STORES is all, sqlite or postgres\n' >&2; exit 2 ;; esac
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}
PY=${BENCH_PYTHON:-$ROOT/.venv/bin/python}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"

say() { printf 'bench: %s\n' "$*" >&2; }
fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN is missing: run 'swift build -c release --product storefront'"
command -v wrk >/dev/null || fail "wrk is missing (scripts/setup.sh --bench)"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ "$STORES" = sqlite ] || [ -x "$PGBIN/initdb" ] || fail "PostgreSQL is missing (scripts/setup.sh --test installs it)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-nodes.XXXXXX")
chmod 755 "$TMP"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PIDS=()
PGDATA_DIR=$TMP/pg/data
stop_nodes() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_nodes
    [ -d "$PGDATA_DIR" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    fail "nothing answers at $1"
}

# PostgreSQL: a throwaway cluster on a free loopback port.
if [ "$STORES" != sqlite ]; then
mkdir -p "$TMP/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$TMP/pg"
as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres -E UTF8 --locale C >/dev/null
PGPORT=$(free_port)
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$TMP/pg/log" -w \
    -o "-p $PGPORT -k $TMP/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
PGURL=postgres://postgres@127.0.0.1:$PGPORT
fi

# wrk's summary → "requests/s p50 p99" (latencies in ms)
parse() {
    awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        END { printf "%s %s %s\n", rps, ms(p50), ms(p99) }
        function ms(v,   n) {
            n = v + 0
            if (v ~ /us$/) return sprintf("%.3f", n / 1000)
            if (v ~ /ms$/) return sprintf("%.3f", n)
            if (v ~ /s$/) return sprintf("%.3f", n * 1000)
            return v
        }' "$1"
}

# CPU ticks (utime + stime) of the given processes, and of every PostgreSQL process.
ticks_of() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0; done | awk '{ s += $1 } END { print s + 0 }'; }
pg_ticks() { if [ "$STORES" != sqlite ]; then ticks_of $(pgrep -u postgres postgres || true); else echo 0; fi; }
HZ=$(getconf CLK_TCK)

NODE_PORTS=()
# start_nodes STORE N: N gateways on one store.
start_nodes() {
    NODE_PORTS=()
    local n
    for n in $(seq "$2"); do
        local port
        port=$(free_port)
        "$BIN" serve --store "$1" --port "$port" --signing-key "$TMP/trail-$3.key" "${RATE_LIMIT_ARGS[@]}" \
            --admin-token-file "$TMP/admin-token" --max-streams-per-agent 0 > "$TMP/node-$3-$n.log" 2>&1 &
        PIDS+=($!)
        wait_for "http://127.0.0.1:$port/status"
        NODE_PORTS+=("$port")
    done
}

ROWS=()
# measure LABEL SCRIPT PATH [CHECKOUTS_FILE [VIA]]: wrk on every node at once (connections split), summed.
measure() {
    local label=$1 script=$2 path=$3 file=${4:-} via=${5:-rest}
    local count=${#NODE_PORTS[@]} i
    if [ -n "$file" ]; then
        split -n "l/$count" -d "$file" "$TMP/part-"
    fi
    local gw_before pg_before
    gw_before=$(ticks_of "${PIDS[@]}")
    pg_before=$(pg_ticks)
    local wrks=()
    for i in $(seq 0 $((count - 1))); do
        VIA=$via CHECKOUTS="$TMP/part-0$i" WRK_THREADS=$WRK_THREADS wrk -t"$WRK_THREADS" -c$((CONNECTIONS / count)) -d"$DURATION" --latency \
            -s "$script" "http://127.0.0.1:${NODE_PORTS[$i]}$path" > "$TMP/wrk-$i.txt" &
        wrks+=($!)
    done
    for pid in "${wrks[@]}"; do wait "$pid"; done
    local gw_after pg_after
    gw_after=$(ticks_of "${PIDS[@]}")
    pg_after=$(pg_ticks)
    local rps=0 p50=0 p99=0 done_count=0 failures=0 r a b
    for i in $(seq 0 $((count - 1))); do
        read -r r a b < <(parse "$TMP/wrk-$i.txt")
        rps=$(awk -v x="$rps" -v y="$r" 'BEGIN { printf "%.2f", x + y }')
        p50=$(awk -v x="$p50" -v y="$a" 'BEGIN { print (y > x ? y : x) }')
        p99=$(awk -v x="$p99" -v y="$b" 'BEGIN { print (y > x ? y : x) }')
        done_count=$((done_count + $(awk '/checkout-completed/ { print $2 }' "$TMP/wrk-$i.txt" | head -1 || echo 0) + 0))
        failures=$((failures + $(awk '/checkout-failures|mcp-errors/ { print $2 }' "$TMP/wrk-$i.txt" | head -1 || echo 0) + 0))
        # Non-2xx answers wrk counts.
        failures=$((failures + $(awk '/Non-2xx/ { print $5 }' "$TMP/wrk-$i.txt" | head -1 || echo 0) + 0))
    done
    rm -f "$TMP"/part-*
    local seconds=${DURATION%s}
    local requests
    requests=$(awk -v r="$rps" -v s="$seconds" 'BEGIN { printf "%d", r * s }')
    local gw_cpu pg_cpu
    gw_cpu=$(awk -v t=$((gw_after - gw_before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.0f", n ? t / hz / n * 1e6 : 0 }')
    pg_cpu=$(awk -v t=$((pg_after - pg_before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.0f", n ? t / hz / n * 1e6 : 0 }')
    say "$label: $rps/s p50 $p50 ms p99 $p99 ms, failures $failures, gateway CPU $gw_cpu µs/request, PostgreSQL CPU $pg_cpu µs/request"
    ROWS+=("| $label | $rps | $p50 | $p99 | $failures | $gw_cpu | $pg_cpu |")
}

token=sf_admin_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" > "$TMP/admin-token"

# run STORE NODES LABEL
run() {
    local store=$1 nodes=$2 label=$3
    start_nodes "$store" "$nodes" "$label"
    local first=${NODE_PORTS[0]}
    say "$label: preparing $((AGENTS * PER_AGENT)) checkouts (REST)"
    "$PY" bench/prepare_checkouts.py "http://127.0.0.1:$first" "$token" "$AGENTS" "$PER_AGENT" "$TMP/rest.txt"
    measure "$label — complete_checkout, REST" bench/checkout.lua "" "$TMP/rest.txt"
    say "$label: preparing $((AGENTS * PER_AGENT)) checkouts (MCP)"
    "$PY" bench/prepare_checkouts.py "http://127.0.0.1:$first" "$token" "$AGENTS" "$PER_AGENT" "$TMP/mcp.txt"
    measure "$label — complete_checkout, MCP tools/call" bench/checkout.lua "" "$TMP/mcp.txt" mcp
    : > "$TMP/none.txt"
    measure "$label — search_catalog, MCP tools/call" bench/mcp_call.lua /mcp "$TMP/none.txt"
    stop_nodes
}

[ "$STORES" = postgres ] || run "$TMP/bench.db" 1 "SQLite, 1 node"
if [ "$STORES" != sqlite ]; then
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres one_node
run "$PGURL/one_node" 1 "PostgreSQL, 1 node"
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres two_nodes
run "$PGURL/two_nodes" 2 "PostgreSQL, 2 nodes"
fi

{
    echo "# Nodes: SQLite and PostgreSQL (bench/nodes.sh)"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk $WRK_THREADS threads × $CONNECTIONS connections (split between nodes), $DURATION per run."
    echo
    echo "| run | requests/s | p50 ms | p99 ms | failures | gateway CPU µs/request | PostgreSQL CPU µs/request |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
} > "$RESULTS/nodes.md"
cat "$RESULTS/nodes.md"
