#!/usr/bin/env bash
# Prints the app's cold start to its first usable screen and the search time among 5,000 children.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/app/common.sh
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npx vite build >/dev/null)
app_ensure_driver
APP_PROFILE=release SINERGI_APP_BENCH=1 app_test bench 2>&1 | grep -E "^(seeded|cold start|search|  search|  start)"
