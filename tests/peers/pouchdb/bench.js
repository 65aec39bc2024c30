// PouchDB with express-pouchdb as a peer for scripts/bench-peers.sh: the CouchDB replication
// protocol, the one the Community Health Toolkit's phones use.
// Usage: node bench.js RECORDS ROUNDS
//
// Each round starts a fresh express-pouchdb server (server.js, its own process, leveldb storage
// in a new temporary folder) and prints one JSON line of figures:
// - push over HTTP: a client database holding RECORDS new documents (one per child, the same
//   fields as Sinergi's benchmark records; written before the clock starts, like Sinergi's
//   local edits) replicates to the empty server database: `local.replicate.to(remote)`.
// - first enrollment: a new, empty client database pulls them: `fresh.replicate.from(remote)`.
// Replication runs with PouchDB's defaults (batch_size 100, batches_limit 10), as an app would.
//
// Durability: PouchDB's leveldb adapter (pouchdb-node, leveldown) writes each batch with
// LevelDB's default `sync: false`: the write reaches LevelDB's log through the OS, with no
// fsync, so it survives a crash of the process but not of the machine (a power cut).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const PouchDB = require('pouchdb-node');

// The posyandu every benchmark child belongs to (Sinergi's is the puskesmas's first posyandu).
const POSYANDU = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

// The same child as sinergi-sync-bench's `child_fields` (tests/src/bin/sync_bench.rs), with an
// id shaped like Sinergi's (a time-ordered UUID).
function child(i) {
  const pad = (x) => String(x).padStart(2, '0');
  return {
    _id: `0190a1b2-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    posyandu_id: POSYANDU,
    name: `Anak Nomor ${i}`,
    sex: i % 2 === 0 ? 'L' : 'P',
    birth_date: `2023-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`,
    mother_name: `Ibu ${Math.floor(i / 2)}`,
    dusun: `Dusun ${i % 7}`,
    status: 'aktif',
  };
}

function startServer(dir) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(__dirname, 'server.js'), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    proc.on('exit', (code) => reject(new Error(`express-pouchdb exited with ${code}`)));
    proc.stdout.once('data', (d) => resolve({ proc, port: Number(String(d).trim()) }));
  });
}

async function round(n) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sinergi-peer-pouchdb-'));
  const serverDir = path.join(work, 'server');
  fs.mkdirSync(serverDir);
  const { proc, port } = await startServer(serverDir);
  const url = `http://127.0.0.1:${port}/children`;
  try {
    const local = new PouchDB(path.join(work, 'client-a'));
    for (let start = 0; start < n; start += 1000) {
      const docs = [];
      for (let i = start; i < Math.min(n, start + 1000); i++) docs.push(child(i));
      await local.bulkDocs(docs);
    }
    const remote = new PouchDB(url);
    await remote.info(); // creates the empty server database
    let t = process.hrtime.bigint();
    const up = await local.replicate.to(remote);
    const push = Number(process.hrtime.bigint() - t) / 1e9;
    if (up.docs_written !== n) throw new Error(`pushed ${up.docs_written} of ${n}`);
    await local.close();

    t = process.hrtime.bigint();
    const fresh = new PouchDB(path.join(work, 'client-b'));
    const down = await fresh.replicate.from(new PouchDB(url));
    const pull = Number(process.hrtime.bigint() - t) / 1e9;
    const count = (await fresh.info()).doc_count;
    if (down.docs_written !== n || count !== n) throw new Error(`pulled ${count} of ${n}`);
    await fresh.close();
    return { system: 'pouchdb', records: n, push_s: push, push_rps: n / push, pull_s: pull, pull_rps: n / pull };
  } finally {
    proc.removeAllListeners('exit');
    await new Promise((resolve) => {
      proc.once('exit', resolve);
      proc.kill();
    });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const n = Number(process.argv[2] || 20000);
  const rounds = Number(process.argv[3] || 3);
  for (let r = 0; r < rounds; r++) {
    process.stdout.write(JSON.stringify(await round(n)) + '\n');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
