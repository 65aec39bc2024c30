#!/usr/bin/env bash
# The comparison benchmark of issue 12: the same child records through Sinergi (SQLite and
# PostgreSQL), PouchDB with express-pouchdb (the CouchDB replication protocol) and Anki's sync
# server, one system after the other in one run; prints each figure (medians of ROUNDS rounds),
# the durability settings of each, and Sinergi's ratio to each peer beside the issue's targets.
# Usage: scripts/bench-peers.sh [RECORDS]   (default 20000 child records; ROUNDS=3)
# A benchmark command, not part of CI. PostgreSQL is the server the PGHOST/PG* variables name,
# or a throwaway pg_virtualenv cluster started with fsync=on and synchronous_commit=on
# (pg_virtualenv turns fsync off unless told). The peers' drivers are in tests/peers/.
cd "$(dirname "$0")/.."
source scripts/lib.sh
records="${1:-20000}"
rounds="${ROUNDS:-3}"
target="${CARGO_TARGET_DIR:-target}"
out="$target/peers"
mkdir -p "$out"

ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}" "${PG_PACKAGES[@]}" python3 python3-venv
ensure_node
cargo build --release --locked -p sinergi-server -p sinergi-cli -p sinergi-e2e --bins

# PouchDB, express-pouchdb and express, as locked in tests/peers/pouchdb/package-lock.json.
pouch=tests/peers/pouchdb
if ! cmp -s "$pouch/package-lock.json" "$pouch/node_modules/.sinergi-lock"; then
  (cd "$pouch" && npm ci --no-audit --no-fund)
  cp "$pouch/package-lock.json" "$pouch/node_modules/.sinergi-lock"
fi
# Anki (its Python library and the Rust sync server in its wheel) in a venv of its own.
venv="$out/anki-venv"
if ! cmp -s tests/peers/anki/requirements.txt "$venv/.sinergi-requirements"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/peers/anki/requirements.txt
  cp tests/peers/anki/requirements.txt "$venv/.sinergi-requirements"
fi

# Every system's files (Sinergi's temporary stores, the PostgreSQL cluster, PouchDB's and Anki's
# folders) in one place on the disk, never on a tmpfs /tmp where an fsync costs nothing.
export TMPDIR
TMPDIR="$(realpath "$out")/tmp"
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
results="$out/results.jsonl"
log="$out/bench-peers.log"
: >"$results"
: >"$log"
bench="$target/release/sinergi-sync-bench"
run() {
  local name=$1 t0=$SECONDS
  shift
  echo ">> $name: $records records x $rounds round(s)"
  if ! "$@" >>"$results" 2>>"$log"; then
    echo "!! $name failed; its output:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "<< $name: $((SECONDS - t0)) s"
}
# Other work on the machine skews every figure: say how busy it was.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
run "Sinergi on SQLite" "$bench" "$records" --database sqlite --rounds "$rounds" --json
if [ -n "${PGHOST:-}" ]; then
  run "Sinergi on PostgreSQL" "$bench" "$records" --database postgres --rounds "$rounds" --json
else
  # -t: the cluster in $TMPDIR, on a port of its own, so that another pg_virtualenv running on
  # this machine (its cluster "regress" in /etc/postgresql) does not stop this one.
  PGPORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')" \
    run "Sinergi on PostgreSQL" with_postgres -t -o fsync=on -o synchronous_commit=on \
    "$bench" "$records" --database postgres --rounds "$rounds" --json
fi
run "PouchDB + express-pouchdb" node "$pouch/bench.js" "$records" "$rounds"
run "Anki sync server" "$venv/bin/python" tests/peers/anki/bench.py "$records" "$rounds"
echo
python3 tests/peers/report.py "$results"
