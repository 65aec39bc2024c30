// express-pouchdb on a loopback port, for scripts/bench-peers.sh (started by bench.js).
// Usage: node server.js DIR   (prints the port it listens on, then serves until killed)
'use strict';
const path = require('path');
const express = require('express');
const PouchDB = require('pouchdb-node');

const dir = process.argv[2];
const ServerPouch = PouchDB.defaults({ prefix: path.join(dir, path.sep) });
const app = express();
// The part of the CouchDB API that PouchDB's replication uses; configuration kept in memory
// and no log file, so the server writes only its databases.
app.use(
  '/',
  require('express-pouchdb')(ServerPouch, {
    mode: 'minimumForPouchDB',
    inMemoryConfig: true,
    logPath: path.join(dir, 'log.txt'),
  }),
);
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
