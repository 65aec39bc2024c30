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

# Runs one integration test of sinergi-app (its default feature embeds the front end), in the
# profile given by APP_PROFILE: the workspace's test build by default (selected with --workspace
# so that every dependency keeps the features, and the build, of scripts/test.sh's earlier steps),
# `release` for the benchmark.
app_test() {
  local test="$1"; shift
  local select=(--workspace)
  [ "${APP_PROFILE:-dev}" = release ] && select=(--release -p sinergi-app)
  CARGO_TARGET_DIR="$APP_TARGET" xvfb-run -a -s "-screen 0 1400x1000x24" \
    cargo test "${select[@]}" --locked --test "$test" -- --nocapture "$@"
}
