#!/usr/bin/env bash
# The growth and report benchmarks (issue 3, "Done when"): z-scores per second for a batch of
# 1,000,000 CSV rows (aim: over 1,000,000 z-scores/s), and the time of the full monthly report
# set for a puskesmas of 4,500 children and a district of 100,000 (aim: under 100 ms and 2 s).
# Usage: scripts/bench-growth.sh [ROWS] (default 1000000).
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}"
echo ">> batch z-scores (core/examples/zscore_bench.rs)"
cargo run --release --locked -p sinergi-core --example zscore_bench -- "${1:-1000000}"
echo ">> monthly reports (core/examples/report_bench.rs)"
cargo run --release --locked -p sinergi-core --example report_bench
