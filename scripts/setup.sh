#!/usr/bin/env bash
# Installs what storefront needs on a fresh Debian machine, and nothing that is already there.
#   scripts/setup.sh          the system libraries to build and run the gateway
#   scripts/setup.sh --test   also the Python virtual environment for the end-to-end tests
#   scripts/setup.sh --bench  also wrk, a C compiler and valgrind for the benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libcurl4 libjs-chart.js curl jq)
want_venv=0
for arg in "$@"; do
    case "$arg" in
        --test) want_venv=1; packages+=(python3-venv chromium chromium-driver sqlite3 postgresql) ;;
        --bench) packages+=(wrk gcc curl valgrind binutils) ;;
        *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$want_venv" -eq 1 ]; then
    req=tests/e2e/requirements.txt
    stamp=.venv/.requirements.sha256
    sum=$(sha256sum "$req" | cut -d' ' -f1)
    if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
        echo "setup: creating the Python virtual environment for the end-to-end tests"
        python3 -m venv .venv
        .venv/bin/pip install -q --upgrade pip
        .venv/bin/pip install -q -r "$req"
        echo "$sum" > "$stamp"
    fi
fi
