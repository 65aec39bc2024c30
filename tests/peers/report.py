"""The report of scripts/bench-peers.sh: medians of the rounds, Sinergi's ratio to each peer and
the issue's targets. Reads the JSON lines the drivers printed (sinergi-sync-bench --json,
tests/peers/pouchdb/bench.js, tests/peers/anki/bench.py); lines that are not JSON are skipped.

Usage: python3 report.py RESULTS.jsonl   (standard library only)
"""

import json
import os
import statistics
import sys

NAMES = {
    "sinergi-sqlite": "Sinergi SQLite",
    "sinergi-postgres": "Sinergi PostgreSQL",
    "pouchdb": "PouchDB",
    "anki": "Anki",
}
ORDER = list(NAMES)
# Issue 12, "Done when": push over HTTP at least this many times each peer.
PUSH_TARGETS = {"sinergi-sqlite": {"pouchdb": 10, "anki": 2}, "sinergi-postgres": {"pouchdb": 5, "anki": 1.5}}
# ... and the server merge in process at least this many records/s.
MERGE_TARGETS = {"sinergi-sqlite": 60_000, "sinergi-postgres": 30_000}


def durability(system, d):
    if system == "sinergi-sqlite":
        return (
            f"SQLite journal_mode={d['journal_mode']}, synchronous={d['synchronous']} "
            "(the WAL fsynced at every commit)"
        )
    if system == "sinergi-postgres":
        return ", ".join(f"{k}={v}" for k, v in d.items()) + " (the WAL flushed at every commit)"
    if system == "pouchdb":
        return (
            "leveldb (leveldown) batches written with sync=false: no fsync, a write survives "
            "a crash of the process, not of the machine"
        )
    if system == "anki":
        return (
            f"SQLite journal_mode={d['journal_mode']}, synchronous={d['synchronous']} "
            "(rslib sets WAL and leaves SQLite's default; read back from the collection)"
        )
    return json.dumps(d)


def num(x):
    return "-" if x is None else f"{x:,.0f}"


def main():
    rows = {}
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows.setdefault(r["system"], []).append(r)
    systems = [s for s in ORDER if s in rows]
    n = rows[systems[0]][0]["records"]
    rounds = min(len(rows[s]) for s in systems)

    def med(system, key):
        vals = [r[key] for r in rows.get(system, []) if key in r]
        return statistics.median(vals) if vals else None

    print(
        f"Sinergi beside its peers: {n:,} child records, one system at a time, medians of "
        f"{rounds} round{'s' if rounds > 1 else ''}, loopback HTTP, {os.cpu_count()} cores"
    )
    print()
    print("durability:")
    for s in systems:
        d = rows[s][0].get("durability")
        print(f"  {NAMES[s]:<19} {durability(s, d or {})}")
    print()
    width = 19
    print(f"{'records/s':<34}" + "".join(f"{NAMES[s]:>{width}}" for s in systems))
    figures = [
        ("push over HTTP", "push_rps"),
        ("server merge in process", "merge_rps"),
        ("  half of them possible duplicates", "merge_half_duplicates_rps"),
        ("first enrollment (initial pull)", "pull_rps"),
    ]
    for label, key in figures:
        print(f"{label:<34}" + "".join(f"{num(med(s, key)):>{width}}" for s in systems))
    if "anki" in rows:
        print(
            "(Anki's push is its normal incremental sync, each note with its card; its first enrollment "
            "is a full download. "
            f"Anki's full upload of the same notes, for reference: {num(med('anki', 'full_upload_rps'))} records/s.)"
        )
    print()

    peers = [p for p in ("pouchdb", "anki") if p in rows]
    for label, key in [("push over HTTP", "push_rps"), ("first enrollment", "pull_rps")]:
        for s in ("sinergi-sqlite", "sinergi-postgres"):
            if s not in rows:
                continue
            mine = med(s, key)
            ratios = ", ".join(f"{mine / med(p, key):.1f}x {NAMES[p]}" for p in peers)
            line = f"{label}: {NAMES[s]} {num(mine)} rec/s = {ratios}"
            if key == "push_rps":
                marks = []
                for p in peers:
                    goal = PUSH_TARGETS[s][p]
                    met = mine / med(p, key) >= goal
                    marks.append(f">={goal:g}x {NAMES[p]} {'met' if met else 'NOT met'}")
                line += "   (target: " + ", ".join(marks) + ")"
            print(line)
    for s in ("sinergi-sqlite", "sinergi-postgres"):
        if s in rows:
            mine = med(s, "merge_rps")
            goal = MERGE_TARGETS[s]
            print(
                f"server merge in process: {NAMES[s]} {num(mine)} rec/s, no peer equivalent (-)"
                f"   (target: >={goal:,} rec/s {'met' if mine >= goal else 'NOT met'})"
            )
    print()
    print("each round, records/s:")
    for s in systems:
        cells = []
        for label, key in [("push", "push_rps"), ("first enrollment", "pull_rps"), ("merge", "merge_rps")]:
            if any(key in r for r in rows[s]):
                cells.append(f"{label} " + " / ".join(num(r[key]) for r in rows[s]))
        print(f"  {NAMES[s]:<19} " + "; ".join(cells))


if __name__ == "__main__":
    main()
