#!/usr/bin/env bash
# Install what is missing, build, start the sync server on its embedded SQLite store with the
# demo puskesmas, and enroll a client to it. Ctrl-C stops the server.
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}" curl
cargo build --release --locked --bins --workspace --exclude sinergi-app
# With a display, the Tauri app opens enrolled to the demo server (same store as the client below).
WITH_APP=""
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${SINERGI_NO_APP:-}" != 1 ]; then
  WITH_APP=1
  ensure_packages "${APP_PACKAGES[@]}"
  ensure_node
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npx vite build)
  cargo build --release --locked -p sinergi-app --features tauri/custom-protocol
fi
BIN="${CARGO_TARGET_DIR:-target}/release"
BIND="${SINERGI_BIND:-127.0.0.1:8080}"
SERVER_DIR="${SINERGI_SERVER_DIR:-demo-data/server}"
CLIENT_DIR="${SINERGI_CLIENT_DIR:-demo-data/kader1}"
mkdir -p "$SERVER_DIR"
"$BIN"/sinergi-server --data-dir "$SERVER_DIR" serve --bind "$BIND" --demo &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 50); do
  curl -fsS "http://$BIND/api/v1/health" >/dev/null 2>&1 && break
  sleep 0.2
done
if [ ! -f "$CLIENT_DIR/sinergi.db" ] || ! "$BIN"/sinergi --data-dir "$CLIENT_DIR" status --json | grep -q '"enrolled": true'; then
  echo "sinergi-demo" | "$BIN"/sinergi --data-dir "$CLIENT_DIR" enroll \
    --server "http://$BIND" --user kader1 --password-stdin --device-name "laptop-demo"
fi
"$BIN"/sinergi --data-dir "$CLIENT_DIR" child list
cat <<MSG

Server: http://$BIND  (data in $SERVER_DIR; demo users admin, bidan, koordinator, kader1..kader4,
password 'sinergi-demo'). Client enrolled as kader1 in $CLIENT_DIR. Try:
  ./target/release/sinergi --data-dir $CLIENT_DIR child list
  ./target/release/sinergi --data-dir $CLIENT_DIR sync
Enroll another device:
  echo sinergi-demo | ./target/release/sinergi --data-dir demo-data/bidan enroll \\
      --server http://$BIND --user bidan --password-stdin --device-name hp-bidan
Press Ctrl-C to stop the server.
MSG
if [ -n "$WITH_APP" ]; then
  echo "Opening the app (kader1, data in $CLIENT_DIR)..."
  SINERGI_DATA_DIR="$(realpath "$CLIENT_DIR")" "$BIN"/sinergi-app &
  APP=$!
  trap 'kill $APP 2>/dev/null; kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
fi
wait $SERVER
