#!/usr/bin/env bash
# What each way in costs (issue 16; not part of the tests): one authenticated read-only action,
# `POST /tools/list_orders` (scope orders:read), on loopback with wrk, by the same agent's
# principal through three credentials:
#   1. an API key (registration): the key's prefix finds its row, its SHA-256 is compared;
#   2. an OAuth access token (the code flow run first, with the principal's page driven over
#      HTTP as tests/e2e/oauth_flow.py does): the token's SHA-256 finds its row and its agent;
#   3. anonymous `POST /tools/get_policies` for the floor (no credential checked at all).
# Writes bench/results/auth_cost.md. Settings (environment):
#   BENCH_DURATION=8s  BENCH_CONNECTIONS=64  BENCH_WRK_THREADS=2  BENCH_SERVER_THREADS=$(nproc)
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
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}
PY=${BENCH_PYTHON:-$ROOT/.venv/bin/python}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"

say() { printf 'bench: %s\n' "$*" >&2; }
fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN is missing: run 'swift build -c release --product storefront'"
[ -x "$PY" ] || fail "$PY is missing: run 'scripts/setup.sh --test'"
command -v wrk >/dev/null || fail "wrk is missing (scripts/setup.sh --bench)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-auth.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
"$BIN" serve --store "$TMP/bench.db" --port "$PORT" --threads "$SERVER_THREADS" "${RATE_LIMIT_ARGS[@]}" > "$TMP/gateway.log" 2>&1 &
PID=$!
for _ in $(seq 200); do curl -sf -o /dev/null "$BASE/status" && break; sleep 0.1; done

# Both credentials, for agents of one principal.
read -r API_KEY ACCESS_TOKEN < <(PYTHONPATH="$ROOT/tests/e2e" "$PY" - "$BASE" "$TMP/gateway.log" <<'EOF'
import sys, requests
from pathlib import Path
import oauth_flow

base, log = sys.argv[1], Path(sys.argv[2])

class Server:  # what oauth_flow needs of a gateway: its URL and its log
    base_url = base
    @property
    def stderr(self):
        return log.read_text()

key = requests.post(f"{base}/agents/register", json={"principal": "bench@example.com", "display_name": "bench"}, timeout=10).json()["api_key"]
principal = oauth_flow.sign_in(Server(), "bench@example.com")
tokens = oauth_flow.authorize(Server(), principal, scope="orders:read")
print(key, tokens.access)
EOF
)
[ -n "$ACCESS_TOKEN" ] || fail "no OAuth access token"

cat > "$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
EOF

parse() {
    awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s %s\n", rps, ms(p50), ms(p99), bad + 0 }
        function ms(v,   n) {
            n = v + 0
            if (v ~ /us$/) return sprintf("%.3f", n / 1000)
            if (v ~ /ms$/) return sprintf("%.3f", n)
            if (v ~ /s$/) return sprintf("%.3f", n * 1000)
            return v
        }' "$1"
}

run() {  # name path auth
    AUTH=$3 wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$TMP/post.lua" "$BASE$2" > "$TMP/$1.txt"
    read -r rps p50 p99 bad < <(parse "$TMP/$1.txt")
    [ "$bad" = 0 ] || fail "$1: $bad answers were not 2xx"
    printf '| %s | `%s` | %s | %s | %s |\n' "$1" "$2" "$rps" "$p50" "$p99"
}

say "warming up"
AUTH="Bearer $ACCESS_TOKEN" wrk -t1 -c8 -d2s -s "$TMP/post.lua" "$BASE/tools/list_orders" > /dev/null
{
    printf '## Auth cost — %s, %s cores, wrk -t%s -c%s -d%s, rate limits: %s\n\n' "$(date -u +%FT%RZ)" "$(nproc)" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" "${BENCH_RATE_LIMITS:-measure}"
    printf '| credential | route | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|\n'
    run "anonymous (floor)" /tools/get_policies ""
    run "API key" /tools/list_orders "Bearer $API_KEY"
    run "OAuth access token" /tools/list_orders "Bearer $ACCESS_TOKEN"
} | tee "$RESULTS/auth_cost.md"
