#!/usr/bin/env bash
# Every test: formatting, lints, unit, property and end-to-end tests (real server on loopback).
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${APP_PACKAGES[@]}" "${PG_PACKAGES[@]}"
ensure_node
source tests/app/common.sh
# The app's front end first: vitest, and the built files the Tauri build embeds.
app_build_ui
export SINERGI_UI_BUILT=1
step 120 "cargo fmt --check" cargo fmt --all --check
step 1800 "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step 1800 "build binaries for the end-to-end tests" cargo build --workspace --bins --locked
# Every test on a throwaway PostgreSQL cluster (pg_virtualenv): the storage story and the
# two-server concurrency test need it (they fail, not skip, without it); then the end-to-end
# suites again with every server on its own PostgreSQL database.
step 2400 "cargo test (PostgreSQL $(pg_version) via pg_virtualenv for the storage tests)" \
  with_postgres cargo test --workspace --locked
# The later steps select test targets with --workspace: with -p, Cargo resolves the features of
# that package alone and rebuilds much of the tree.
SINERGI_SIM_SCHEDULES=10000 step 1800 "deterministic sync simulation: 10,000 schedules" \
  cargo test --workspace --locked --test sim simulation -- --nocapture
e2e_suites=()
for f in tests/tests/*.rs; do e2e_suites+=(--test "$(basename "$f" .rs)"); done
SINERGI_E2E_DATABASE=postgres step 1200 "end-to-end suites against PostgreSQL-backed servers" \
  with_postgres cargo test --workspace --locked "${e2e_suites[@]}"
step 2400 "the app end to end (tauri-driver + WebKitWebDriver under Xvfb, real server)" tests/app/run.sh
echo ">> all tests passed in $SECONDS s"
