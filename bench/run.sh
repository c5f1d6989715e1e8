#!/usr/bin/env bash
# The benchmark (`make bench`; not part of the tests). In one run, on loopback, with wrk:
#   GET /agents and GET /catalog?q=tent  on the gateway (.build/release/storefront)
#   the same two paths                   on bench/baseline/agents-baseline, a bare C
#                                        libmicrohttpd server with the gateway's daemon settings,
#                                        serving the exact bytes and headers captured from the gateway.
# Prints a Markdown report (throughput, p50/p99 latency, server CPU per request, CPU used by other
# processes meanwhile, storefront/baseline ratios, the /agents target of 0.8x) and writes it to
# bench/results/latest.md (raw wrk output beside it in latest-raw.txt). BENCHMARKS.md explains it.
#
# Settings (environment):
#   BENCH_DURATION=8s       wrk duration of each measured run
#   BENCH_WARMUP=2s         wrk duration of the unmeasured run before each measured one
#   BENCH_CONNECTIONS=64    open connections (wrk -c)
#   BENCH_WRK_THREADS=2     wrk threads (wrk -t)
#   BENCH_SERVER_THREADS=$(nproc)   epoll thread pool of both servers
#   BENCH_ROUNDS=2          how many times to repeat the four measurements (even rounds
#                           load the baseline first, odd rounds the gateway)
#   BENCH_QUERY=tent        the catalog search
#   STOREFRONT_BIN=.build/release/storefront
#   BENCH_RATE_LIMITS=measure   measure | off | defaults (bench/rate_limits.sh)
# With the defaults the script takes about a minute and a half (2 rounds × 4 × (2 s + 8 s), plus
# start-up). Throughput varies from round to round by ±15 % or more (far more when other processes
# are busy; see the "Other load" column): compare within one run, and the CPU-per-request figures.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/rate_limits.sh
. "$ROOT/bench/rate_limits.sh"

DURATION=${BENCH_DURATION:-8s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_SERVER_THREADS:-$(nproc)}
ROUNDS=${BENCH_ROUNDS:-2}
QUERY=${BENCH_QUERY:-tent}
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}
BASELINE_SRC=$ROOT/bench/baseline/agents_baseline.c
BASELINE_BIN=$ROOT/bench/baseline/agents-baseline
RESULTS=$ROOT/bench/results

say() { printf 'bench: %s\n' "$*" >&2; }
fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

for tool in wrk gcc pkg-config curl awk; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh --bench installs wrk and gcc)"
done
pkg-config --exists libmicrohttpd || fail "libmicrohttpd-dev is missing (scripts/setup.sh installs it)"
[ -x "$BIN" ] || fail "$BIN is missing: run 'swift build -c release --product storefront' (or 'make bench')"

# --- servers ----------------------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits for a line matching $2 in log $1 written by process $3; prints the port of the URL in it.
wait_for_port() {
    local log=$1 pattern=$2 pid=$3 line
    for _ in $(seq 300); do
        line=$(grep -m1 -- "$pattern" "$log" 2>/dev/null || true)
        if [ -n "$line" ]; then
            sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' <<<"$line" | head -n1
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "the server exited during start-up"; }
        sleep 0.1
    done
    cat "$log" >&2
    fail "the server did not start within 30 s"
}

say "building the baseline ($BASELINE_BIN)"
# shellcheck disable=SC2046  # pkg-config's flags are meant to be split
gcc -O2 -Wall -Wextra -o "$BASELINE_BIN" "$BASELINE_SRC" $(pkg-config --cflags --libs libmicrohttpd)

say "starting the gateway ($SERVER_THREADS threads)"
"$BIN" serve --store "$TMP/store.db" --host 127.0.0.1 --port 0 --threads "$SERVER_THREADS" "${RATE_LIMIT_ARGS[@]}" \
    >"$TMP/storefront.log" 2>&1 &
SF_PID=$!
PIDS+=("$SF_PID")
SF_PORT=$(wait_for_port "$TMP/storefront.log" "agent entry point:" "$SF_PID")
SF=http://127.0.0.1:$SF_PORT

# The exact bytes and headers the gateway answers (wrk sends no Accept header; nor does this).
capture() {  # name path
    local status
    status=$(curl -sS -H 'Accept:' -D "$TMP/$1.head" -o "$TMP/$1.body" -w '%{http_code}' "$SF$2")
    [ "$status" = 200 ] || fail "GET $2 on the gateway answered $status"
}
capture agents /agents
capture catalog "/catalog?q=$QUERY"
curl -sS -H 'Accept:' -o "$TMP/catalog.again" "$SF/catalog?q=$QUERY"
cmp -s "$TMP/catalog.body" "$TMP/catalog.again" || fail "GET /catalog?q=$QUERY is not deterministic"

say "starting the baseline ($SERVER_THREADS threads)"
"$BASELINE_BIN" 0 "$SERVER_THREADS" \
    "/agents=$TMP/agents.body,$TMP/agents.head" "/catalog=$TMP/catalog.body,$TMP/catalog.head" \
    >"$TMP/baseline.log" 2>&1 &
BL_PID=$!
PIDS+=("$BL_PID")
BL_PORT=$(wait_for_port "$TMP/baseline.log" "listening on" "$BL_PID")
BL=http://127.0.0.1:$BL_PORT

# Both servers must answer the same status, headers (but Date and X-Request-Id) and body.
normalized_head() { tr -d '\r' <"$1" | grep -v -i -e '^date:' -e '^x-request-id:' -e '^$' | sort; }
for name in agents catalog; do
    path=/$name
    [ "$name" = catalog ] && path="/catalog?q=$QUERY"
    curl -sS -H 'Accept:' -D "$TMP/$name.bhead" -o "$TMP/$name.bbody" "$BL$path"
    cmp -s "$TMP/$name.body" "$TMP/$name.bbody" || fail "the baseline's $path body differs from the gateway's"
    if ! diff <(normalized_head "$TMP/$name.head") <(normalized_head "$TMP/$name.bhead") >"$TMP/diff" 2>&1; then
        cat "$TMP/diff" >&2
        fail "the baseline's $path headers differ from the gateway's"
    fi
done
say "gateway on $SF, baseline on $BL: same bodies (agents $(wc -c <"$TMP/agents.body") B, catalog $(wc -c <"$TMP/catalog.body") B) and headers"

# --- measurements -----------------------------------------------------------------------------

mkdir -p "$RESULTS"
RAW=$RESULTS/latest-raw.txt
: >"$RAW"

# wrk's latency ("812.00us", "1.25ms", "1.02s", "1.50m") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) { print "nan"; exit }
        printf "%.3f", n * f }'
}

# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }  # the fields after "(comm) "; utime and stime are the 12th and 13th of them
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}
CLK_TCK=$(getconf CLK_TCK)

# CPU time (ticks) every process on the machine has used so far (user, nice, system, irq, softirq, steal).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# Measures one URL served by process pid; prints "rps p50_ms p99_ms errors requests
# server_cpu_us_per_request server_cores_busy other_cores_busy" (other: neither wrk nor the server).
measure() {  # label url pid
    local out rps p50 p99 errors requests t0 t1 m0 m1 secs cpu_us cores wrk_secs others
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$2" >/dev/null
    t0=$(cpu_ticks "$3")
    m0=$(machine_ticks)
    out=$( { TIMEFORMAT='%U %S'; time wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2"; } 2>"$TMP/wrk.time")
    m1=$(machine_ticks)
    t1=$(cpu_ticks "$3")
    wrk_secs=$(awk 'END {print $1 + $2}' "$TMP/wrk.time")
    printf '### %s  (%s)\n%s\n\n' "$1" "$2" "$out" >>"$RAW"
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    errors=$(awk '/Socket errors:/ {gsub(/,/, ""); s += $4 + $6 + $8 + $10} /Non-2xx or 3xx/ {s += $NF} END {print s + 0}' <<<"$out")
    [ -n "$rps" ] || { printf '%s\n' "$out" >&2; fail "could not read wrk's output for $1"; }
    secs=$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' <<<"$out")
    cpu_us=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0) ? t / hz * 1e6 / n : 0 }')
    cores=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.2f", (s > 0) ? t / hz / s : 0 }')
    others=$(awk -v m=$((m1 - m0)) -v t=$((t1 - t0)) -v w="$wrk_secs" -v hz="$CLK_TCK" -v s="$secs" \
        'BEGIN { o = (s > 0) ? ((m - t) / hz - w) / s : 0; printf "%.2f", (o > 0) ? o : 0 }')
    echo "$rps $p50 $p99 $errors $requests $cpu_us $cores $others"
}

ENDPOINTS=("/agents" "/catalog?q=$QUERY")
declare -A RESULT
for round in $(seq "$ROUNDS"); do
    for endpoint in "${ENDPOINTS[@]}"; do
        order="storefront baseline"
        [ $((round % 2)) -eq 0 ] && order="baseline storefront"  # alternate who goes first
        for server in $order; do
            base=$SF pid=$SF_PID
            [ "$server" = baseline ] && base=$BL pid=$BL_PID
            say "round $round/$ROUNDS: $server GET $endpoint (warm-up $WARMUP, then $DURATION, $CONNECTIONS connections)"
            RESULT[$round,$endpoint,$server]=$(measure "round $round: $server GET $endpoint" "$base$endpoint" "$pid")
        done
    done
done

# --- report -----------------------------------------------------------------------------------

cores=$(nproc)
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
wrk_version=$(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}' || true)
mhd_version=$(pkg-config --modversion libmicrohttpd)
revision=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [ -n "$(git status --porcelain 2>/dev/null | head -n1)" ]; then revision="$revision (with uncommitted changes)"; fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt_rps() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

{
    echo "## Benchmark run $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Machine: $cores cores ($cpu), $mem RAM, Linux $(uname -r)"
    echo "- Gateway: \`$(realpath -s --relative-to="$ROOT" "$BIN" 2>/dev/null || echo "$BIN") serve --threads $SERVER_THREADS\`, revision $revision"
    echo "- Baseline: \`bench/baseline/agents-baseline\` (C, libmicrohttpd $mhd_version, same daemon flags and options, $SERVER_THREADS threads, same bytes and headers)"
    echo "- Load: $wrk_version, \`wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency\` after a $WARMUP warm-up, loopback, one server loaded at a time"
    if [ "$cores" -le $((WRK_THREADS + SERVER_THREADS)) ]; then
        echo "- **wrk ($WRK_THREADS threads) and the server ($SERVER_THREADS threads) share $cores cores**: the numbers compare the two servers on equal terms; they are not either server's capacity on a dedicated machine."
    fi
    echo "- Other load: CPU used on the machine during the measured run by processes other than wrk and the server (/proc/stat), in cores; anything above ~0.1 disturbs the throughput figures."
    echo "- Server CPU µs/request: the server process's user + system time during the measured run (/proc/PID/stat, $CLK_TCK ticks/s) over its requests; it depends less than throughput on how wrk and the server split the cores."
    echo "- Bodies: /agents $(wc -c <"$TMP/agents.body") bytes, /catalog?q=$QUERY $(wc -c <"$TMP/catalog.body") bytes"
    echo
    max_others=0
    echo "| Round | Endpoint | Server | Requests/s | p50 (ms) | p99 (ms) | Server CPU µs/request | Server cores busy | Other load (cores) | Requests | Errors |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for round in $(seq "$ROUNDS"); do
        for endpoint in "${ENDPOINTS[@]}"; do
            for server in storefront baseline; do
                read -r rps p50 p99 errors requests cpu_us cores others <<<"${RESULT[$round,$endpoint,$server]}"
                echo "| $round | \`GET $endpoint\` | $server | $(fmt_rps "$rps") | $p50 | $p99 | $cpu_us | $cores | $others | $requests | $errors |"
                max_others=$(awk -v a="$max_others" -v b="$others" 'BEGIN { print (b > a) ? b : a }')
            done
        done
    done
    echo
    if awk -v o="$max_others" 'BEGIN { exit !(o > 0.15) }'; then
        echo "**Other processes used up to $max_others cores during this run**: the throughput ratios are disturbed; the CPU-per-request ratios are the steadier comparison. Re-run on an idle machine."
        echo
    fi
    echo "| Round | Endpoint | Throughput storefront / baseline | p50 storefront / baseline | p99 storefront / baseline | CPU per request storefront / baseline |"
    echo "|---|---|---:|---:|---:|---:|"
    for round in $(seq "$ROUNDS"); do
        for endpoint in "${ENDPOINTS[@]}"; do
            read -r s_rps s_p50 s_p99 _ _ s_cpu _ <<<"${RESULT[$round,$endpoint,storefront]}"
            read -r b_rps b_p50 b_p99 _ _ b_cpu _ <<<"${RESULT[$round,$endpoint,baseline]}"
            echo "| $round | \`GET $endpoint\` | **$(ratio "$s_rps" "$b_rps")×** | $(ratio "$s_p50" "$b_p50")× | $(ratio "$s_p99" "$b_p99")× | $(ratio "$s_cpu" "$b_cpu")× |"
        done
    done
    echo
    agents_ratios="" s_cpus="" b_cpus=""
    for round in $(seq "$ROUNDS"); do
        read -r s_rps _ _ _ _ s_cpu _ <<<"${RESULT[$round,/agents,storefront]}"
        read -r b_rps _ _ _ _ b_cpu _ <<<"${RESULT[$round,/agents,baseline]}"
        agents_ratios="$agents_ratios $(ratio "$s_rps" "$b_rps")"
        s_cpus="$s_cpus $s_cpu" b_cpus="$b_cpus $b_cpu"
    done
    awk -v r="$agents_ratios" -v s="$s_cpus" -v b="$b_cpus" -v o="$max_others" 'BEGIN {
        n = split(r, a, " "); split(s, sc, " "); split(b, bc, " ")
        for (i = 1; i <= n; i++) { sum += a[i]; x += sc[i]; y += bc[i]; list = list (i > 1 ? ", " : "") a[i] "×" }
        mean = sum / n
        printf "**`/agents` against the target (at least 0.80× the bare C server):**\n\n"
        printf "- Throughput ratio: %.2f× (%s%s): target %s.\n", mean, (n > 1) ? "mean of rounds " : "one round: ", list, (mean >= 0.8) ? "met" : "NOT met"
        if (x > 0)
            printf "- CPU per request: storefront %.1f µs, baseline %.1f µs (%.1f µs more in the gateway); per CPU-second the gateway serves %.2f× the baseline, which is the throughput ratio to expect when the server alone is the bottleneck.\n", x / n, y / n, (x - y) / n, y / x
        if (o > 0.15)
            printf "- Other processes used up to %.2f cores during the run, so the throughput ratio is noisy; trust the CPU-per-request figure more.\n", o
    }'
} >"$TMP/report.md"

cp "$TMP/report.md" "$RESULTS/latest.md"
echo
cat "$RESULTS/latest.md"
echo
say "written to bench/results/latest.md (raw wrk output: bench/results/latest-raw.txt)"
