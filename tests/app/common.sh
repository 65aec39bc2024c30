# Shared by tests/app/*.sh: build what the app's end-to-end runs need.
# The app has its own target dir by default so it never blocks the workspace build.
APP_TARGET="${SINERGI_APP_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}"
APP_CARGO=(cargo)

app_build_ui() {
  echo ">> npm ci + svelte-check + vitest + vite build (ui/)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npx svelte-check --tsconfig ./tsconfig.json && npx vitest run && npx vite build)
}

app_ensure_driver() {
  command -v tauri-driver >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/tauri-driver" ] ||
    cargo install tauri-driver --version "^2" --locked
}

# Runs one integration test of sinergi-app with the embedded front end (custom-protocol), in the
# profile given by APP_PROFILE: the test build by default (it shares the workspace build's
# dependencies), `release` for the benchmark.
app_test() {
  local test="$1"; shift
  local profile=()
  [ "${APP_PROFILE:-dev}" = release ] && profile=(--release)
  CARGO_TARGET_DIR="$APP_TARGET" xvfb-run -a -s "-screen 0 1400x1000x24" \
    cargo test "${profile[@]}" --locked -p sinergi-app --features tauri/custom-protocol --test "$test" -- --nocapture "$@"
}
