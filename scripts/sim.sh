#!/usr/bin/env bash
# A long run of the deterministic sync simulation (sync-server/tests/sim.rs):
#   scripts/sim.sh [SCHEDULES (default 1000000)] [FIRST_SEED (default 0)]
# A failing seed is printed with the command that replays it.
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
SINERGI_SIM_SCHEDULES="${1:-1000000}" SINERGI_SIM_START="${2:-0}" \
    cargo test --release --locked -p sinergi-server --test sim -- --nocapture
