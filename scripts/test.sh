#!/usr/bin/env bash
# Every test: formatting, lints, unit, property and end-to-end tests (real server on loopback).
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
echo ">> cargo fmt --check"
cargo fmt --all --check
echo ">> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo ">> build binaries for the end-to-end tests"
cargo build --workspace --bins --locked
echo ">> cargo test"
cargo test --workspace --locked
echo ">> all tests passed"
