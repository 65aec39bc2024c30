#!/usr/bin/env bash
# The sync benchmark (issue: records/s merged, bytes per record, requests per incremental sync,
# first-enrollment time and memory).
# Usage: scripts/bench-sync.sh [RECORDS] [--database sqlite|postgres|both]   (default 100000, sqlite)
#        scripts/bench-sync.sh --district [CHILDREN]   (PostgreSQL; default 100000 children x 12 months)
# PostgreSQL runs are on the server the PG* variables name, or on a throwaway cluster (pg_virtualenv).
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}"
cargo build --release --locked -p sinergi-server -p sinergi-cli -p sinergi-e2e --bins
bench="${CARGO_TARGET_DIR:-target}/release/sinergi-sync-bench"
if [[ " $* " == *" postgres "* || " $* " == *" both "* || " $* " == *" --district "* ]] && [ -z "${PGHOST:-}" ]; then
  ensure_packages "${PG_PACKAGES[@]}"
  with_postgres "$bench" "$@"
else
  "$bench" "$@"
fi
