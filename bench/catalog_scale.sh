#!/usr/bin/env bash
# How the catalog grows (issue 18), in one run: for the demo's 47 products and for generated
# catalogs of 100,000 and 1,000,000 (bench/generate_catalog.py, deterministic), on a fresh SQLite
# store each:
#   import   `storefront catalog import` of the generated JSON Lines: wall time, rows/s, peak RSS
#   startup  `storefront serve` on the filled store: time until GET /catalog?q=tent answers 200,
#            and the resident memory once it does
#   search   GET /catalog with wrk at 64 connections over distinct queries drawn from the catalog's
#            vocabulary (bench/catalog_search.lua: no query repeats within a run, so no result cache
#            or search-page memo can answer), after a warm-up on other queries: req/s, p50, p99,
#            gateway CPU per request; twice: "vocabulary" pairs any words of the catalog (most
#            pairs never meet in one product), "products" takes the words from one product's name
#            (every query matches something)
# Writes bench/results/catalog_scale.md. Settings (environment):
#   BENCH_SIZES="47 100000 1000000"  BENCH_DURATION=10s  BENCH_WARMUP=3s  BENCH_CONNECTIONS=64
#   BENCH_WRK_THREADS=2  BENCH_QUERIES=300000  BENCH_QUERY_SETS="vocabulary products"
#   STOREFRONT_BIN=.build/release/storefront
# Generated catalogs are kept in ${BENCH_CACHE:-/tmp/storefront-catalogs} between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZES=${BENCH_SIZES:-"47 100000 1000000"}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
QUERIES=${BENCH_QUERIES:-300000}
QUERY_SETS=${BENCH_QUERY_SETS:-"vocabulary products"}
BIN=${STOREFRONT_BIN:-$ROOT/.build/release/storefront}
CACHE=${BENCH_CACHE:-/tmp/storefront-catalogs}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS" "$CACHE"

say() { printf 'bench: %s\n' "$*" >&2; }
fail() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN is missing: run 'swift build -c release --product storefront'"
for tool in wrk curl python3 /usr/bin/time; do command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh --bench)"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/storefront-catalog.XXXXXX")
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# Queries: one file for the warm-up, another for the measured run (distinct from each other).
QFILE=$CACHE/queries-$QUERIES.txt
if [ ! -s "$QFILE" ]; then
    say "drawing $QUERIES distinct queries"
    python3 bench/generate_catalog.py 0 --queries "$((QUERIES + 20000))" --queries-out "$QFILE.all" > /dev/null
    head -n 20000 "$QFILE.all" > "$CACHE/warmup.txt"
    tail -n +20001 "$QFILE.all" > "$QFILE"
    rm "$QFILE.all"
fi

ROWS=()
start_server() {  # store, manifests
    local port; port=$(free_port)
    local begun; begun=$(now)
    "$BIN" serve --manifests "$2" --store "$1" --port "$port" --threads "$(nproc)" --no-rate-limits > "$TMP/serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 6000); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/catalog?q=tent" || true)" = 200 ] && break
        sleep 0.01
    done
    STARTUP=$(python3 -c "print(f'{$(now) - $begun:.2f}')")
    PORT=$port
}

for size in $SIZES; do
    store=$TMP/store-$size.db
    manifests=$ROOT/manifests
    import_time="–"; import_rate="–"; import_rss="–"
    # A fresh store: the demo's 47 products come from manifests/catalog.json at first start.
    start_server "$store" "$manifests"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
    if [ "$size" != 47 ]; then
        feed=$CACHE/catalog-$size.jsonl
        [ -s "$feed" ] || { say "generating $size products"; python3 bench/generate_catalog.py "$size" > "$feed"; }
        say "importing $size products"
        begun=$(now)
        /usr/bin/time -f '%M' -o "$TMP/import.rss" "$BIN" catalog import "$feed" --store "$store" --format storefront-jsonl \
            > "$TMP/import.json" 2> "$TMP/import.err" || { cat "$TMP/import.err" >&2; fail "import of $size failed"; }
        import_time=$(python3 -c "print(f'{$(now) - $begun:.1f}')")
        import_rate=$(python3 -c "print(f'{$size / $import_time:,.0f}')")
        import_rss=$(awk '{printf "%.0f", $1 / 1024}' "$TMP/import.rss")
    fi
    start_server "$store" "$manifests"
    startup=$STARTUP
    rss=$(rss_mb "$SERVER")
    products=$(curl -s "http://127.0.0.1:$PORT/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["products"])')
    say "$products products: startup ${startup}s; searching"
    for set in $QUERY_SETS; do
        queries=$QFILE
        if [ "$set" = products ]; then
            queries=$CACHE/product-queries-$size-$QUERIES.txt
            if [ ! -s "$queries" ]; then
                say "drawing $QUERIES queries from the names of the products"
                from=$size; [ "$size" = 47 ] && from=0
                python3 bench/generate_catalog.py 0 --queries "$QUERIES" --queries-out "$queries" --queries-from-products "$from" > /dev/null
            fi
        fi
        QUERIES=$CACHE/warmup.txt WRK_THREADS=$WRK_THREADS wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$WARMUP" \
            -s bench/catalog_search.lua "http://127.0.0.1:$PORT" > /dev/null
        before=$(cpu_ticks "$SERVER")
        QUERIES=$queries WRK_THREADS=$WRK_THREADS wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency \
            -s bench/catalog_search.lua "http://127.0.0.1:$PORT" > "$TMP/wrk.txt"
        after=$(cpu_ticks "$SERVER")
        cat "$TMP/wrk.txt" >> "$RESULTS/catalog_scale-raw.txt"
        rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.txt")
        total=$(awk '/requests in/ {print $1}' "$TMP/wrk.txt")
        p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.txt")
        p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")
        errors=$(awk '/search-errors/ {print $2}' "$TMP/wrk.txt")
        wraps=$(awk '/query-wraps/ {print $2}' "$TMP/wrk.txt")
        cpu_us=$(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / $total:.0f}')")
        rss_after=$(rss_mb "$SERVER")
        ROWS+=("| $products | $set | $import_time | $import_rate | $import_rss | $startup | $rss → $rss_after | $rps | $p50 | $p99 | $cpu_us | $errors | $wraps |")
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done

{
    echo "# Catalog scale ($(date -u +%Y-%m-%d), $(nproc) cores, \`bench/catalog_scale.sh\`)"
    echo
    echo "Search: \`GET /catalog\`, wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION over $(wc -l < "$QFILE") distinct queries (warm-up $WARMUP on others)."
    echo
    echo "| products | queries | import s | import rows/s | import peak MB | startup s | RSS MB (ready → after search) | search req/s | p50 | p99 | CPU µs/req | errors | query wraps |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS/catalog_scale.md"
