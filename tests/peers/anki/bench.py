"""Anki's sync server as a peer for scripts/bench-peers.sh.

Usage: python bench.py RECORDS ROUNDS   (in a venv with `anki` installed)

Each round starts a fresh `python -m anki.syncserver` (Anki's Rust sync server, in the wheel) on a
loopback port with an empty SYNC_BASE, and prints one JSON line of figures:

- push over HTTP: a collection holding RECORDS new notes (one per child, the same fields as
  Sinergi's benchmark records) sends them with Anki's *normal* (incremental) sync, the path a
  phone takes every day. A normal sync needs client and server to share a schema, so the client
  first joins the empty server (its first sync is a full upload of a collection that holds only
  the note type, untimed), then adds the notes (untimed, like Sinergi's local edits) and the timed
  `sync_collection` carries them. The normal sync carries all of them in chunks (checked: the
  enrollment below downloads RECORDS notes). A second user's full upload of the same notes (the
  whole collection file in one request) is measured too and printed for reference only.
- first enrollment: a new empty collection logs in and syncs; Anki answers "full download" (the
  server's whole collection file), timed from creating the collection to its reopening.

Durability: Anki's storage (rslib) opens every collection, the client's and the server's, with
journal_mode=WAL and leaves `synchronous` at SQLite's default, FULL; the pragmas are read back
from the client collection and printed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from anki.collection import AddNoteRequest, Collection

USER, PASSWORD = "bidan", "sinergi-bench"
USER2 = "bidan2"
FIELDS = ["name", "sex", "birth_date", "mother_name", "dusun", "posyandu_id", "status"]
# The posyandu every benchmark child belongs to (Sinergi's is the puskesmas's first posyandu).
POSYANDU = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def child(i):
    """The same child as sinergi-sync-bench's `child_fields` (tests/src/bin/sync_bench.rs)."""
    return {
        "name": f"Anak Nomor {i}",
        "sex": "L" if i % 2 == 0 else "P",
        "birth_date": f"2023-{1 + i % 12:02}-{1 + i % 28:02}",
        "mother_name": f"Ibu {i // 2}",
        "dusun": f"Dusun {i % 7}",
        "posyandu_id": POSYANDU,
        "status": "aktif",
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(base):
    port = free_port()
    env = dict(
        os.environ,
        SYNC_USER1=f"{USER}:{PASSWORD}",
        SYNC_USER2=f"{USER2}:{PASSWORD}",
        SYNC_BASE=base,
        SYNC_HOST="127.0.0.1",
        SYNC_PORT=str(port),
        RUST_LOG="error",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "anki.syncserver"], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("anki.syncserver did not start")
            time.sleep(0.05)


def add_notetype(col):
    mm = col.models
    nt = mm.new("Anak")
    for f in FIELDS:
        mm.add_field(nt, mm.new_field(f))
    t = mm.new_template("Kartu")
    t["qfmt"] = "{{name}}"
    t["afmt"] = "{{FrontSide}}<hr>{{mother_name}}, {{dusun}}"
    mm.add_template(nt, t)
    mm.add(nt)
    return mm.by_name("Anak")


def add_children(col, n):
    nt = col.models.by_name("Anak")
    deck = col.decks.id("Anak")
    for start in range(0, n, 1000):
        reqs = []
        for i in range(start, min(n, start + 1000)):
            note = col.new_note(nt)
            for k, v in child(i).items():
                note[k] = v
            reqs.append(AddNoteRequest(note=note, deck_id=deck))
        col.add_notes(reqs)


def open_collection(work, name):
    os.makedirs(os.path.join(work, name))
    return Collection(os.path.join(work, name, "collection.anki2"))


def full_sync(col, auth, out, upload):
    col.close_for_full_sync()
    col.full_upload_or_download(auth=auth, server_usn=out.server_media_usn, upload=upload)
    col.reopen(after_full_sync=True)


def round_(n, work):
    proc, endpoint = start_server(os.path.join(work, "server"))
    try:
        # Push: join the empty server with the note type only, then a normal sync of n notes.
        a = open_collection(work, "a")
        add_notetype(a)
        auth = a.sync_login(USER, PASSWORD, endpoint)
        out = a.sync_collection(auth, False)
        assert out.required in (out.FULL_SYNC, out.FULL_UPLOAD), out
        full_sync(a, auth, out, upload=True)
        add_children(a, n)
        t = time.perf_counter()
        out = a.sync_collection(auth, False)
        push = time.perf_counter() - t
        assert out.required in (out.NO_CHANGES, out.NORMAL_SYNC), out
        pragmas = {
            "journal_mode": a.db.scalar("pragma journal_mode"),
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
                a.db.scalar("pragma synchronous")
            ],
        }
        a.close()

        # For reference: the same notes as a full upload (a whole collection file), user 2.
        c = open_collection(work, "c")
        add_notetype(c)
        add_children(c, n)
        auth2 = c.sync_login(USER2, PASSWORD, endpoint)
        t = time.perf_counter()
        out = c.sync_collection(auth2, False)
        assert out.required in (out.FULL_SYNC, out.FULL_UPLOAD), out
        full_sync(c, auth2, out, upload=True)
        upload = time.perf_counter() - t
        c.close()

        # First enrollment: a new, empty collection's first sync is a full download.
        t = time.perf_counter()
        b = open_collection(work, "b")
        auth = b.sync_login(USER, PASSWORD, endpoint)
        out = b.sync_collection(auth, False)
        assert out.required == out.FULL_DOWNLOAD, out
        full_sync(b, auth, out, upload=False)
        pull = time.perf_counter() - t
        pulled = b.note_count()
        b.close()
        assert pulled == n, f"full download brought {pulled} notes, not {n}"
    finally:
        proc.terminate()
        proc.wait()
    return {
        "system": "anki",
        "records": n,
        "push_s": push,
        "push_rps": n / push,
        "full_upload_s": upload,
        "full_upload_rps": n / upload,
        "pull_s": pull,
        "pull_rps": n / pull,
        "durability": pragmas,
    }


def main():
    n, rounds = int(sys.argv[1]), int(sys.argv[2])
    for _ in range(rounds):
        work = tempfile.mkdtemp(prefix="sinergi-peer-anki-")
        try:
            print(json.dumps(round_(n, work)), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
