#!/usr/bin/env bash
# The sync benchmark (issue: records/s merged, bytes per record, requests per incremental sync,
# first-enrollment time and memory). Usage: scripts/bench-sync.sh [RECORDS] (default 100000).
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}"
cargo build --release --locked --workspace --bins
"${CARGO_TARGET_DIR:-target}"/release/sinergi-sync-bench "${1:-100000}"
