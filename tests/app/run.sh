#!/usr/bin/env bash
# The app's tests: vitest (UI logic), the Rust unit tests (errors, generated TypeScript types) and
# the end-to-end run of the real app through tauri-driver + WebKitWebDriver under Xvfb against a
# real sinergi-server. Screenshots land in target/screenshots.
# Needs the workspace's debug binaries (sinergi-server, sinergi): cargo build --workspace --bins.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/app/common.sh
[ "${SINERGI_UI_BUILT:-}" = 1 ] || app_build_ui
app_ensure_driver
export SINERGI_BIN_DIR="${SINERGI_BIN_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/debug}"
export SINERGI_SCREENSHOTS="${SINERGI_SCREENSHOTS:-$PWD/target/screenshots}"
echo ">> app end-to-end (tauri-driver, Xvfb); screenshots in $SINERGI_SCREENSHOTS"
SINERGI_APP_E2E=1 app_test e2e
