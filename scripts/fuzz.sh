#!/usr/bin/env bash
# Run the cargo-fuzz targets (fuzz/): ./scripts/fuzz.sh [TARGET|all] [SECONDS]
#   TARGET: sync_request, sync_request_structured, bundle, growth_batch (default: all, one after another)
#   SECONDS: per target (default 600)
# Only stable Rust is needed: RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo-fuzz passes.
# Runs at the lowest priority. The committed seeds (fuzz/corpus/TARGET) stay as they are: what
# the fuzzer finds goes to the working corpus TARGET_DIR/fuzz/corpus/TARGET, crashes to
# fuzz/artifacts/TARGET (fix each, then copy it into fuzz/regressions/TARGET: the test
# core/tests/fuzz_regressions.rs replays the seeds and every past crash in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust

TARGET="${1:-all}"
SECONDS_PER_TARGET="${2:-600}"
export RUSTC_BOOTSTRAP=1
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"

if ! command -v cargo-fuzz >/dev/null; then
  echo ">> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

TARGETS=(sync_request sync_request_structured bundle growth_batch)
[ "$TARGET" = all ] || TARGETS=("$TARGET")

# Safe Rust with bounds checks: no sanitizer (2-3x the executions), but overflow checks and
# debug assertions stay on (cargo-fuzz's default).
for t in "${TARGETS[@]}"; do
  echo ">> fuzzing $t for ${SECONDS_PER_TARGET}s"
  mkdir -p "$TARGET_DIR/corpus/$t"
  (cd fuzz && nice -n 19 cargo fuzz run -s none --target-dir "$TARGET_DIR" "$t" \
    "$TARGET_DIR/corpus/$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1)
done
