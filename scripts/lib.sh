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

# What the Rust build needs from Debian.
BUILD_PACKAGES=(build-essential pkg-config)
# What the tests use: LibreOffice opens the XLSX reports, pdftoppm renders the PDF ones.
TEST_PACKAGES=(libreoffice-calc poppler-utils)
