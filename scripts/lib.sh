# Shared helpers for the README's commands.
set -euo pipefail

# Install Debian packages that are missing (CI runs as root; elsewhere sudo is used).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo ">> installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_rust() {
  command -v cargo >/dev/null || { echo "Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
  rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt || true
}

# What the Rust build needs from Debian (libssl-dev: SQLCipher, the encrypted device store,
# links the system's libcrypto).
BUILD_PACKAGES=(build-essential pkg-config libssl-dev)
# What the tests use: LibreOffice opens the XLSX reports, pdftoppm renders the PDF ones.
TEST_PACKAGES=(libreoffice-calc poppler-utils)
# What the Tauri app needs to build (WebKitGTK) and to be tested end to end (Xvfb, WebKitWebDriver).
APP_PACKAGES=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev
  libxdo-dev file xvfb xauth webkit2gtk-driver)

# Node 20+ and npm for the app's front end (ui/).
ensure_node() {
  command -v npm >/dev/null || ensure_packages nodejs npm
}

# PostgreSQL for the district master copy's tests (pg_virtualenv comes with postgresql-common).
PG_PACKAGES=(postgresql)

# The newest installed PostgreSQL major version (what `pg_virtualenv -v` takes).
pg_version() {
  ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1
}

# Run a command on a throwaway PostgreSQL cluster (loopback port, temporary data directory, PG*
# variables exported), removed afterwards. Fails when PostgreSQL is missing: nothing is skipped.
with_postgres() {
  local v
  v="$(pg_version)"
  [ -n "$v" ] && command -v pg_virtualenv >/dev/null || { echo "PostgreSQL is not installed" >&2; return 1; }
  pg_virtualenv -v "$v" "$@"
}

# Run one step of a long script: print its name, then how long it took. A step that hangs is
# stopped after its limit (seconds) with a message naming it, instead of eating the whole budget.
step() {
  local limit=$1 name=$2 t0=$SECONDS rc=0
  shift 2
  echo ">> $name"
  timeout -k 30 "$limit" bash -c 'source scripts/lib.sh; "$@"' step "$@" || rc=$?
  if [ "$rc" -eq 124 ]; then
    echo "!! $name: stopped after ${limit} s (hung?)" >&2
  fi
  [ "$rc" -eq 0 ] || return "$rc"
  echo "<< $name: $((SECONDS - t0)) s"
}
