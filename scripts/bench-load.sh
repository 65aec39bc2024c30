#!/usr/bin/env bash
# The load benchmark: N devices (default 300) syncing at once against a release sinergi-server
# over real HTTP; prints p50/p99/max latency, errors and the server's peak memory.
# Usage: scripts/bench-load.sh [--devices N] [--enroll-parallel K] [--database postgres://...]
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}"
cargo build --release --locked -p sinergi-server -p sinergi-cli -p sinergi-e2e --bins
# Each device keeps a SQLite file and a connection open: allow the file descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"${CARGO_TARGET_DIR:-target}/release/sinergi-load" "$@"
