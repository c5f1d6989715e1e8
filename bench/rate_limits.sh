# Sourced by bench/run.sh and bench/actions.sh: the gateway's rate-limit flags for a benchmark.
# BENCH_RATE_LIMITS (environment):
#   measure   (default) every bucket is checked and its headers sent, with limits no benchmark
#             reaches (10^9 a second): the cost of rate limiting is in every figure
#   off       --no-rate-limits: nothing is checked (the unlimited gateway, to compare with)
#   defaults  the shipped defaults: a flood from one client gets 429s (wrk counts them as errors)
# shellcheck shell=bash
case "${BENCH_RATE_LIMITS:-measure}" in
    measure)
        RATE_LIMIT_ARGS=()
        for class in reads writes checkout registration; do
            RATE_LIMIT_ARGS+=(--rate-limit "$class=1000000000/1s" --rate-limit "anonymous.$class=1000000000/1s")
        done
        ;;
    off) RATE_LIMIT_ARGS=(--no-rate-limits) ;;
    defaults) RATE_LIMIT_ARGS=() ;;
    *) printf 'bench: error: BENCH_RATE_LIMITS is measure, off or defaults, not %s\n' "$BENCH_RATE_LIMITS" >&2; exit 1 ;;
esac
