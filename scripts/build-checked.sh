#!/usr/bin/env bash
# Builds the package and its tests (debug) and fails on any compiler warning in this repository's
# own sources: the project keeps zero warnings in Swift 6 language mode. Warnings are printed for
# the files compiled in this run (every file on a fresh clone, as in CI; the changed ones after).
# A target that imports a module it does not declare as a direct dependency is an error, so the
# layers of Package.swift hold (scripts/check-layers.py: StorefrontDomain cannot reach Store or
# HTTPServer, StorefrontActions and StorefrontHTTP cannot import Store and run SQL, StorefrontMCP
# cannot see the actions). The package manager's own check lets a target import whatever its
# dependencies depend on; ours does not.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
python3 scripts/check-layers.py
log=$(mktemp "${TMPDIR:-/tmp}/storefront-build.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
"$SWIFT" build --build-tests --explicit-target-dependency-import-check=error 2>&1 | tee "$log" || status=$?
[ "$status" -eq 0 ] || exit "$status"
# Diagnostics of our own files only (dependencies under .build are not ours to fix).
warnings=$(grep -E "^$PWD/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" | sort -u || true)
if [ -n "$warnings" ]; then
    count=$(printf '%s\n' "$warnings" | wc -l)
    printf '\nbuild-checked: %s compiler warning(s); the project keeps zero:\n%s\n' "$count" "$warnings" >&2
    exit 1
fi
echo "build-checked: no compiler warnings"
