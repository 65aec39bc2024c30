//! The master copy on PostgreSQL, for a district or province: the same rows and the same engine
//! as the SQLite store, for a database the health office can host, replicate and back up, shared
//! by several `sinergi-server` processes.
//!
//! # Cursor guarantee (DESIGN.md guarantee 5) with several writers
//!
//! A pull reads `seq > cursor` and hands back the highest sequence number it has seen as the next
//! cursor, so a change whose number is below that cursor but is committed *after* the pull would
//! never reach that device. Sequence numbers must therefore become visible in the order they are
//! handed out. Every writing transaction here starts with `pg_advisory_xact_lock(WRITE_LOCK)`:
//! one writer at a time across every server process on the database, holding the lock until its
//! commit is visible (PostgreSQL releases transaction-level locks after the commit has been
//! made visible). The next writer reads the counter only after that, so numbers are handed out and
//! committed in the same order, exactly as SQLite's single writer does. The counter lives in the
//! `counters` table, read once after taking the lock and written back once before commit; records
//! read inside the transaction can be cached for the same reason (nobody else writes meanwhile).
//! Writers run in READ COMMITTED, so each statement after the lock sees every earlier commit.
//!
//! A pull-only exchange (no edits) does not take the lock: it runs in one REPEATABLE READ
//! snapshot, and because writers commit in sequence order, every snapshot holds a prefix of the
//! sequence, counter included. Only its device row is written, and a rare clash with the same
//! device's other request is retried (serialization failure).
//!
//! # Migrations
//!
//! Versioned, in `MIGRATIONS` below (the SQLite ones are in `sqlite.rs`): `schema_version` holds
//! the number applied; a server applies the missing ones at start under a session advisory lock,
//! so two processes starting at once do not race.

use super::clocks;
use super::engine;
use super::scope_digest;
use super::{
    Device, DupKeys, ExitRow, MasterRecord, MasterStore, Page, Principal, RecordTx, RecordVisitor,
    Result, Row, TokenHolder, User, UserSummary,
};
use crate::error::ServerError;
use postgres::{Client, IsolationLevel, NoTls, Statement, Transaction};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{Change, Exit, Refusal, Role, SyncRequest, SyncResponse};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use uuid::Uuid;

/// The query of a device with its user's scope, selected by `cond` (statements are cached by
/// their static text).
macro_rules! holder_sql {
    ($cond:literal) => {
        concat!(
            "SELECT d.id, u.id, u.role, u.puskesmas_id, u.posyandu_id, d.revoked_ms,
                    u.disabled, d.public_key
             FROM devices d JOIN users u ON u.id = d.user_id WHERE ",
            $cond
        )
    };
}

/// The advisory lock every writing transaction takes (any constant the database does not use
/// for something else; "SINERGI1" in ASCII).
const WRITE_LOCK: i64 = 0x53494E4552474931;
/// The session lock held while migrating.
const MIGRATE_LOCK: i64 = 0x53494E455247494D;

/// The PostgreSQL migrations, in order: version n is `MIGRATIONS[n - 1]`. Never edit one that
/// has shipped; add the next.
pub const MIGRATIONS: &[&str] = &[
    // 1. The first schema.
    r#"
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters VALUES ('seq', 0);
-- The master copy: one row per record; `fields` holds the values (JSON text, exactly as written),
-- `meta` each field's clock and sequence. `seq` is the record's last change.
CREATE TABLE records (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    posyandu_id UUID,
    puskesmas_id UUID,
    parent_id UUID,
    fields TEXT NOT NULL,
    meta TEXT NOT NULL,
    seq BIGINT NOT NULL,
    dup_nik TEXT,
    dup_person TEXT,
    -- For duplicate records: 'child_a|child_b', so a pair is found by index.
    dup_pair TEXT
);
CREATE UNIQUE INDEX records_seq ON records(seq);
CREATE INDEX records_puskesmas_seq ON records(puskesmas_id, seq);
CREATE INDEX records_posyandu_seq ON records(posyandu_id, seq);
CREATE INDEX records_kind ON records(kind);
CREATE INDEX records_parent ON records(parent_id);
CREATE INDEX records_dup_nik ON records(dup_nik) WHERE dup_nik IS NOT NULL;
CREATE INDEX records_dup_person ON records(dup_person) WHERE dup_person IS NOT NULL;
CREATE INDEX records_dup_pair ON records(dup_pair) WHERE dup_pair IS NOT NULL;
CREATE TABLE exits (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    id UUID NOT NULL,
    old_posyandu_id UUID,
    old_puskesmas_id UUID,
    new_puskesmas_id UUID
);
CREATE TABLE users (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    puskesmas_id UUID NOT NULL REFERENCES records(id),
    posyandu_id UUID REFERENCES records(id),
    password_hash TEXT NOT NULL
);
CREATE TABLE devices (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT,
    last_sync_ms BIGINT,
    last_applied BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE refusals (
    device_id UUID NOT NULL REFERENCES devices(id),
    device_seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    id UUID NOT NULL,
    problem TEXT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
);
"#,
    // 2. `user disable`: a disabled user's devices are refused and her password enrolls nothing.
    "ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;",
    // 3. What each device sent under each number: a repeated number with other content is not a
    // retry (a restored or copied store), and is never acknowledged unseen.
    r#"
CREATE TABLE edit_hashes (
    device_id UUID NOT NULL REFERENCES devices(id),
    device_seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
);
"#,
    // 4. Signed bundle files: each device's public key, and the server's own signing key.
    r#"
ALTER TABLE devices ADD COLUMN public_key TEXT;
CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
    // 5. An edit sent again under a new number (a copy of the store numbered it again) is found
    // by its hash, and not applied twice.
    "CREATE INDEX edit_hashes_by_hash ON edit_hashes(device_id, hash);",
    // 6. Field clocks stored compact (`clocks`) instead of the JSON `meta`: every row is
    // converted by `convert_meta` before `meta` goes (see `migrate`).
    "ALTER TABLE records ADD COLUMN clocks BYTEA;",
    "ALTER TABLE records DROP COLUMN meta; ALTER TABLE records ALTER COLUMN clocks SET NOT NULL;",
];

/// The migration after which every row's `meta` is converted (in Rust) into `clocks`.
const CLOCKS_ADDED: usize = 6;

/// Fill `clocks` from `meta` for every row (migration 6).
fn convert_meta(tx: &mut Transaction) -> Result<()> {
    let rows = tx.query("SELECT id, meta FROM records WHERE clocks IS NULL", &[])?;
    let mut ids: Vec<Uuid> = Vec::with_capacity(rows.len());
    let mut stored: Vec<Vec<u8>> = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.get(0));
        stored.push(clocks::from_json_meta(r.get(1))?);
    }
    for (ids, stored) in ids
        .chunks(ROWS_PER_STATEMENT)
        .zip(stored.chunks(ROWS_PER_STATEMENT))
    {
        tx.execute(
            "UPDATE records SET clocks = c.clocks
             FROM unnest($1::uuid[], $2::bytea[]) AS c(id, clocks) WHERE records.id = c.id",
            &[&ids, &stored],
        )?;
    }
    Ok(())
}

/// A pooled connection with its prepared statements.
struct Conn {
    client: Client,
    stmts: HashMap<&'static str, Statement>,
}

pub struct PostgresStore {
    config: postgres::Config,
    pool: Mutex<Vec<Conn>>,
    digests: scope_digest::DigestCache,
}

/// How a transaction runs.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Takes the write lock; READ COMMITTED.
    Write,
    /// One snapshot, no lock, may write rows that carry no sequence number (device progress).
    Snapshot,
}

impl PostgresStore {
    /// Connect (`postgres://user:password@host:port/db` or `host=... user=...`) and migrate.
    pub fn open(url: &str) -> Result<Self> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| ServerError::Data(format!("bad PostgreSQL address: {e}")))?;
        let store = PostgresStore {
            config,
            pool: Mutex::new(Vec::new()),
            digests: Default::default(),
        };
        let mut conn = store.connect()?;
        migrate(&mut conn.client)?;
        store.give_back(conn);
        Ok(store)
    }

    fn connect(&self) -> Result<Conn> {
        let client = self
            .config
            .connect(NoTls)
            .map_err(|e| ServerError::Data(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Conn {
            client,
            stmts: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn> {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => self.connect(),
        }
    }

    fn give_back(&self, conn: Conn) {
        if !conn.client.is_closed() {
            let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < 32 {
                pool.push(conn);
            }
        }
    }

    /// Run `f` in one transaction, retried on a serialization failure or deadlock.
    /// The device (with its user's scope) that `sql` (`holder_sql!`) selects with `arg` as $1.
    fn holder(
        &self,
        sql: &'static str,
        arg: &(dyn postgres::types::ToSql + Sync),
    ) -> Result<Option<TokenHolder>> {
        self.with_tx(Mode::Snapshot, |tx| {
            let row = tx.query_opt(sql, &[arg])?;
            row.map(|r| {
                Ok(TokenHolder {
                    principal: Principal {
                        device_id: r.get(0),
                        user_id: r.get(1),
                        role: parse_role(r.get(2))?,
                        puskesmas_id: Some(r.get(3)),
                        posyandu_id: r.get(4),
                    },
                    revoked_ms: r.get(5),
                    user_disabled: r.get(6),
                    public_key: r.get(7),
                })
            })
            .transpose()
        })
    }

    fn with_tx<T>(&self, mode: Mode, mut f: impl FnMut(&Tx) -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            let mut conn = self.take()?;
            let out = Self::run_once(&mut conn, mode, &mut f);
            self.give_back(conn);
            match out {
                Err(ServerError::Postgres(e)) if attempt < 20 && retryable(&e) => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
                }
                other => return other,
            }
        }
    }

    fn run_once<T>(conn: &mut Conn, mode: Mode, f: &mut impl FnMut(&Tx) -> Result<T>) -> Result<T> {
        let Conn { client, stmts } = conn;
        let level = match mode {
            Mode::Write => IsolationLevel::ReadCommitted,
            Mode::Snapshot => IsolationLevel::RepeatableRead,
        };
        let mut tx = client.build_transaction().isolation_level(level).start()?;
        if mode == Mode::Write {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        }
        let t = Tx {
            tx: RefCell::new(tx),
            stmts: RefCell::new(stmts),
        };
        let out = f(&t)?;
        t.tx.into_inner().commit()?;
        Ok(out)
    }

    fn pull(tx: &Tx, who: &Principal, cursor: i64, limit: u32) -> Result<Page> {
        let limit = limit.clamp(1, sinergi_core::protocol::MAX_PAGE);
        let rows = if who.role == Role::Kader {
            tx.query(
                "SELECT kind, id, posyandu_id, fields, seq FROM records
                 WHERE seq > $1 AND ((posyandu_id = $3 AND kind NOT IN ('conflict', 'duplicate'))
                    OR (posyandu_id IS NULL AND puskesmas_id = $4))
                 ORDER BY seq LIMIT $2",
                &[
                    &cursor,
                    &(limit as i64),
                    &who.posyandu_id,
                    &who.puskesmas_id,
                ],
            )?
        } else {
            tx.query(
                "SELECT kind, id, posyandu_id, fields, seq FROM records
                 WHERE seq > $1 AND puskesmas_id = $3 ORDER BY seq LIMIT $2",
                &[&cursor, &(limit as i64), &who.puskesmas_id],
            )?
        };
        let mut page = Page::default();
        for r in &rows {
            let fields: &str = r.get(3);
            if !page.has_room(fields.len()) {
                break;
            }
            page.changes.push(Change {
                kind: parse_kind(r.get(0))?,
                id: r.get(1),
                seq: r.get(4),
                posyandu_id: r.get(2),
                fields: serde_json::from_str(fields)?,
            });
        }
        let upto = page.reach(limit, || tx.current_seq())?;
        let rows = tx.query(
            "SELECT kind, id, seq, old_posyandu_id, old_puskesmas_id, new_puskesmas_id FROM exits
             WHERE seq > $1 AND seq <= $2 ORDER BY seq",
            &[&cursor, &upto],
        )?;
        for r in &rows {
            let (old_p, old_q, new_q): (Option<Uuid>, Option<Uuid>, Option<Uuid>) =
                (r.get(3), r.get(4), r.get(5));
            if who.sees_exit(old_p, old_q, new_q) {
                page.exits.push(Exit {
                    kind: parse_kind(r.get(0))?,
                    id: r.get(1),
                    seq: r.get(2),
                });
            }
        }
        page.cursor = upto;
        Ok(page)
    }
}

fn retryable(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn migrate(client: &mut Client) -> Result<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])?;
    let out = (|| -> Result<()> {
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
        )?;
        let mut tx = client.transaction()?;
        let row = tx.query_opt("SELECT version FROM schema_version", &[])?;
        let current = match row {
            Some(r) => r.get::<_, i32>(0) as usize,
            None => {
                tx.execute("INSERT INTO schema_version VALUES (0)", &[])?;
                0
            }
        };
        if current > MIGRATIONS.len() {
            return Err(ServerError::Data(format!(
                "the database has schema version {current}, newer than this server ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            tx.batch_execute(sql)?;
            if i + 1 == CLOCKS_ADDED {
                convert_meta(&mut tx)?;
            }
            tx.execute("UPDATE schema_version SET version = $1", &[&(i as i32 + 1)])?;
        }
        tx.commit()?;
        Ok(())
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])?;
    out
}

fn parse_kind(s: &str) -> Result<Kind> {
    s.parse().map_err(ServerError::Data)
}

fn parse_role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| ServerError::Data(format!("unknown role {s:?}")))
}

type Param<'p> = &'p (dyn postgres::types::ToSql + Sync);

/// The engine's view of one PostgreSQL transaction (`batch::Batch` does the caching): every
/// batch form is one statement over arrays, one round trip however many rows.
struct Tx<'a> {
    tx: RefCell<Transaction<'a>>,
    stmts: RefCell<&'a mut HashMap<&'static str, Statement>>,
}

/// The columns `record_of` reads.
macro_rules! record_sql {
    ($cond:literal) => {
        concat!(
            "SELECT id, kind, posyandu_id, puskesmas_id, parent_id, fields, clocks, seq
             FROM records WHERE ",
            $cond
        )
    };
}

fn record_of(r: &postgres::Row) -> Result<MasterRecord> {
    Ok(MasterRecord {
        id: r.get(0),
        kind: parse_kind(r.get(1))?,
        posyandu_id: r.get(2),
        puskesmas_id: r.get(3),
        parent_id: r.get(4),
        fields: clocks::decode(r.get(5), r.get(6))?,
        seq: r.get(7),
    })
}

impl Tx<'_> {
    fn stmt(&self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.stmts.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.borrow_mut().prepare(sql)?;
        self.stmts.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn query(&self, sql: &'static str, params: &[Param]) -> Result<Vec<postgres::Row>> {
        let st = self.stmt(sql)?;
        Ok(self.tx.borrow_mut().query(&st, params)?)
    }

    fn query_opt(&self, sql: &'static str, params: &[Param]) -> Result<Option<postgres::Row>> {
        let st = self.stmt(sql)?;
        Ok(self.tx.borrow_mut().query_opt(&st, params)?)
    }

    fn execute(&self, sql: &'static str, params: &[Param]) -> Result<u64> {
        let st = self.stmt(sql)?;
        Ok(self.tx.borrow_mut().execute(&st, params)?)
    }

    fn get(&self, id: Uuid) -> Result<Option<MasterRecord>> {
        self.query_opt(record_sql!("id = $1"), &[&id])?
            .map(|r| record_of(&r))
            .transpose()
    }

    fn insert_user(&self, u: &User) -> Result<()> {
        self.execute(
            "INSERT INTO users(id, name, role, puskesmas_id, posyandu_id, password_hash, disabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &u.id,
                &u.name,
                &u.role.as_str(),
                &u.puskesmas_id,
                &u.posyandu_id,
                &u.password_hash,
                &u.disabled,
            ],
        )?;
        Ok(())
    }
}

/// Rows per statement when writing many (bounds the size of one message).
const ROWS_PER_STATEMENT: usize = 5000;

impl RecordTx for Tx<'_> {
    fn get_many(&self, ids: &[Uuid]) -> Result<Vec<MasterRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            // A join on the array, not `= ANY($1)`: with thousands of ids a generic plan tests
            // every row against every element of the array.
            for r in self.query(record_sql!("id IN (SELECT unnest($1::uuid[]))"), &[&chunk])? {
                out.push(record_of(&r)?);
            }
        }
        Ok(out)
    }

    fn put_many(&self, recs: &[(&MasterRecord, &DupKeys)]) -> Result<()> {
        for chunk in recs.chunks(ROWS_PER_STATEMENT) {
            let mut cols = RecordColumns::default();
            for (rec, dup) in chunk {
                cols.push(rec, dup)?;
            }
            self.execute(
                "INSERT INTO records(id, kind, posyandu_id, puskesmas_id, parent_id, fields, clocks,
                                     seq, dup_nik, dup_person, dup_pair)
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[],
                                      $6::text[], $7::bytea[], $8::int8[], $9::text[], $10::text[],
                                      $11::text[])
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,
                    posyandu_id = excluded.posyandu_id, puskesmas_id = excluded.puskesmas_id,
                    parent_id = excluded.parent_id, fields = excluded.fields,
                    clocks = excluded.clocks,
                    seq = excluded.seq, dup_nik = excluded.dup_nik,
                    dup_person = excluded.dup_person, dup_pair = excluded.dup_pair",
                &[
                    &cols.id,
                    &cols.kind,
                    &cols.posyandu,
                    &cols.puskesmas,
                    &cols.parent,
                    &cols.fields,
                    &cols.clocks,
                    &cols.seq,
                    &cols.nik,
                    &cols.person,
                    &cols.pair,
                ],
            )?;
        }
        Ok(())
    }

    fn current_seq(&self) -> Result<i64> {
        Ok(self
            .query_opt("SELECT value FROM counters WHERE name = 'seq'", &[])?
            .map(|r| r.get(0))
            .unwrap_or(0))
    }

    fn set_seq(&self, seq: i64) -> Result<()> {
        self.execute("UPDATE counters SET value = $1 WHERE name = 'seq'", &[&seq])?;
        Ok(())
    }

    fn dependents(&self, parent: Uuid) -> Result<Vec<Uuid>> {
        Ok(self
            .query("SELECT id FROM records WHERE parent_id = $1", &[&parent])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn add_exits(&self, exits: &[ExitRow]) -> Result<()> {
        let seq: Vec<i64> = exits.iter().map(|e| e.seq).collect();
        let kind: Vec<&str> = exits.iter().map(|e| e.kind.as_str()).collect();
        let id: Vec<Uuid> = exits.iter().map(|e| e.id).collect();
        let old_p: Vec<Option<Uuid>> = exits.iter().map(|e| e.old_posyandu).collect();
        let old_q: Vec<Option<Uuid>> = exits.iter().map(|e| e.old_puskesmas).collect();
        let new_q: Vec<Option<Uuid>> = exits.iter().map(|e| e.new_puskesmas).collect();
        self.execute(
            "INSERT INTO exits(seq, kind, id, old_posyandu_id, old_puskesmas_id, new_puskesmas_id)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[],
                                  $6::uuid[])",
            &[&seq, &kind, &id, &old_p, &old_q, &new_q],
        )?;
        Ok(())
    }

    fn add_refusals(&self, refusals: &[(Uuid, Refusal)]) -> Result<()> {
        // One row per (device, number), the last written (one statement cannot update a row twice).
        let last: BTreeMap<(Uuid, u64), &Refusal> = refusals
            .iter()
            .map(|(d, r)| ((*d, r.device_seq), r))
            .collect();
        let device: Vec<Uuid> = last.keys().map(|k| k.0).collect();
        let seq: Vec<i64> = last.keys().map(|k| k.1 as i64).collect();
        let kind: Vec<&str> = last.values().map(|r| r.kind.as_str()).collect();
        let id: Vec<Uuid> = last.values().map(|r| r.id).collect();
        let problem: Vec<String> = last
            .values()
            .map(|r| serde_json::to_string(&r.problem))
            .collect::<std::result::Result<_, _>>()?;
        self.execute(
            "INSERT INTO refusals(device_id, device_seq, kind, id, problem)
             SELECT * FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::uuid[], $5::text[])
             ON CONFLICT (device_id, device_seq) DO UPDATE SET kind = excluded.kind,
                id = excluded.id, problem = excluded.problem",
            &[&device, &seq, &kind, &id, &problem],
        )?;
        Ok(())
    }

    fn refusals(&self, device: Uuid, from: u64, to: u64) -> Result<Vec<Refusal>> {
        let rows = self.query(
            "SELECT device_seq, kind, id, problem FROM refusals
             WHERE device_id = $1 AND device_seq BETWEEN $2 AND $3 ORDER BY device_seq",
            &[&device, &(from as i64), &(to as i64)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Refusal {
                    device_seq: r.get::<_, i64>(0) as u64,
                    kind: parse_kind(r.get(1))?,
                    id: r.get(2),
                    problem: serde_json::from_str(r.get(3))?,
                })
            })
            .collect()
    }

    fn edit_hashes(&self, device: Uuid, from: u64, to: u64) -> Result<Vec<(u64, String)>> {
        Ok(self
            .query(
                "SELECT device_seq, hash FROM edit_hashes
                 WHERE device_id = $1 AND device_seq BETWEEN $2 AND $3",
                &[&device, &(from as i64), &(to as i64)],
            )?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
    }

    fn add_edit_hashes(&self, hashes: &[(Uuid, u64, String)]) -> Result<()> {
        let last: BTreeMap<(Uuid, u64), &str> = hashes
            .iter()
            .map(|(d, s, h)| ((*d, *s), h.as_str()))
            .collect();
        let device: Vec<Uuid> = last.keys().map(|k| k.0).collect();
        let seq: Vec<i64> = last.keys().map(|k| k.1 as i64).collect();
        let hash: Vec<&str> = last.values().copied().collect();
        for ((device, seq), hash) in device
            .chunks(ROWS_PER_STATEMENT)
            .zip(seq.chunks(ROWS_PER_STATEMENT))
            .zip(hash.chunks(ROWS_PER_STATEMENT))
        {
            self.execute(
                "INSERT INTO edit_hashes(device_id, device_seq, hash)
                 SELECT * FROM unnest($1::uuid[], $2::int8[], $3::text[])
                 ON CONFLICT (device_id, device_seq) DO UPDATE SET hash = excluded.hash",
                &[&device, &seq, &hash],
            )?;
        }
        Ok(())
    }

    fn edit_seqs_of_hashes(&self, device: Uuid, hashes: &[String]) -> Result<HashMap<String, u64>> {
        let mut out = HashMap::new();
        for chunk in hashes.chunks(ROWS_PER_STATEMENT) {
            for r in self.query(
                "SELECT hash, MIN(device_seq) FROM edit_hashes
                 WHERE device_id = $1 AND hash IN (SELECT unnest($2::text[])) GROUP BY hash",
                &[&device, &chunk],
            )? {
                out.insert(r.get(0), r.get::<_, i64>(1) as u64);
            }
        }
        Ok(out)
    }

    fn device_progress(&self, device: Uuid) -> Result<(u64, Option<i64>, i64)> {
        if device.is_nil() {
            return Ok((0, None, 0));
        }
        Ok(self
            .query_opt(
                "SELECT last_applied, last_sync_ms, created_ms FROM devices WHERE id = $1",
                &[&device],
            )?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1), r.get(2)))
            .unwrap_or((0, None, 0)))
    }

    fn set_device_progress(&self, device: Uuid, last_applied: u64, now: i64) -> Result<()> {
        self.execute(
            "UPDATE devices SET last_applied = $2, last_sync_ms = $3 WHERE id = $1",
            &[&device, &(last_applied as i64), &now],
        )?;
        Ok(())
    }

    fn children_with_keys(&self, niks: &[String], persons: &[String]) -> Result<Vec<MasterRecord>> {
        self.query(
            record_sql!(
                "kind = 'child' AND (dup_nik IN (SELECT unnest($1::text[]))
                    OR dup_person IN (SELECT unnest($2::text[])))"
            ),
            &[&niks, &persons],
        )?
        .iter()
        .map(record_of)
        .collect()
    }

    fn pairs_existing(&self, pairs: &[String]) -> Result<HashSet<String>> {
        Ok(self
            .query(
                "SELECT dup_pair FROM records
                 WHERE dup_pair IN (SELECT unnest($1::text[])) AND kind = 'duplicate'",
                &[&pairs],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }
}

/// Records as the column arrays `put_many` sends.
#[derive(Default)]
struct RecordColumns {
    id: Vec<Uuid>,
    kind: Vec<&'static str>,
    posyandu: Vec<Option<Uuid>>,
    puskesmas: Vec<Option<Uuid>>,
    parent: Vec<Option<Uuid>>,
    fields: Vec<String>,
    clocks: Vec<Vec<u8>>,
    seq: Vec<i64>,
    nik: Vec<Option<String>>,
    person: Vec<Option<String>>,
    pair: Vec<Option<String>>,
}

impl RecordColumns {
    fn push(&mut self, rec: &MasterRecord, dup: &DupKeys) -> Result<()> {
        self.id.push(rec.id);
        self.kind.push(rec.kind.as_str());
        self.posyandu.push(rec.posyandu_id);
        self.puskesmas.push(rec.puskesmas_id);
        self.parent.push(rec.parent_id);
        self.fields.push(serde_json::to_string(&rec.values())?);
        self.clocks.push(clocks::encode(&rec.fields));
        self.seq.push(rec.seq);
        self.nik.push(dup.nik.clone());
        self.person.push(dup.person.clone());
        self.pair.push(dup.pair.clone());
        Ok(())
    }
}

impl MasterStore for PostgresStore {
    fn exchange(&self, who: &Principal, req: &SyncRequest, now: i64) -> Result<SyncResponse> {
        let mode = if req.edits.is_empty() {
            Mode::Snapshot
        } else {
            Mode::Write
        };
        self.with_tx(mode, |tx| {
            engine::exchange(
                tx,
                who,
                req,
                now,
                &self.digests,
                &|cursor, limit| Self::pull(tx, who, cursor, limit),
                &|| tx.current_seq(),
            )
        })
    }

    fn server_write(&self, kind: Kind, id: Uuid, fields: Fields, now: i64) -> Result<()> {
        self.with_tx(Mode::Write, |tx| {
            match engine::server_write(tx, kind, id, fields.clone(), now)? {
                Ok(_) => Ok(()),
                Err(p) => Err(ServerError::Request(422, p)),
            }
        })
    }

    fn get(&self, id: Uuid) -> Result<Option<MasterRecord>> {
        self.with_tx(Mode::Snapshot, |tx| tx.get(id))
    }

    fn list(&self, kind: Kind) -> Result<Vec<MasterRecord>> {
        self.with_tx(Mode::Snapshot, |tx| {
            let ids: Vec<Uuid> = tx
                .query(
                    "SELECT id FROM records WHERE kind = $1 ORDER BY id",
                    &[&kind.as_str()],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = tx.get(id)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    fn count(&self, kind: Kind) -> Result<u64> {
        self.with_tx(Mode::Snapshot, |tx| {
            Ok(tx
                .query_opt(
                    "SELECT COUNT(*) FROM records WHERE kind = $1",
                    &[&kind.as_str()],
                )?
                .map(|r| r.get::<_, i64>(0))
                .unwrap_or(0) as u64)
        })
    }

    fn add_user(&self, u: &User) -> Result<()> {
        self.with_tx(Mode::Write, |tx| {
            let taken = tx
                .query_opt("SELECT 1 FROM users WHERE name = $1", &[&u.name])?
                .is_some();
            if taken {
                return Err(ServerError::bad_request(
                    409,
                    "user_exists",
                    format!("Pengguna '{}' sudah ada", u.name),
                    format!("User '{}' already exists", u.name),
                ));
            }
            tx.insert_user(u)
        })
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        self.with_tx(Mode::Snapshot, |tx| {
            tx.query_opt(
                "SELECT id, name, role, puskesmas_id, posyandu_id, password_hash, disabled
                 FROM users WHERE name = $1",
                &[&name],
            )?
            .map(|r| user_of(&r))
            .transpose()
        })
    }

    fn users(&self) -> Result<Vec<UserSummary>> {
        self.with_tx(Mode::Snapshot, |tx| {
            tx.query(
                "SELECT u.id, u.name, u.role, u.puskesmas_id, u.posyandu_id, u.password_hash,
                        u.disabled,
                        (SELECT COUNT(*) FROM devices d
                          WHERE d.user_id = u.id AND d.revoked_ms IS NULL)
                 FROM users u ORDER BY u.name",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(UserSummary {
                    user: user_of(r)?,
                    active_devices: r.get::<_, i64>(7) as u64,
                })
            })
            .collect()
        })
    }

    fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<bool> {
        self.with_tx(Mode::Write, |tx| {
            Ok(tx.execute(
                "UPDATE users SET disabled = $2 WHERE name = $1",
                &[&name, &disabled],
            )? > 0)
        })
    }

    fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<bool> {
        self.with_tx(Mode::Write, |tx| {
            Ok(tx.execute(
                "UPDATE users SET password_hash = $2 WHERE name = $1",
                &[&name, &password_hash],
            )? > 0)
        })
    }

    fn add_device(&self, d: &Device, token_hash: &str) -> Result<()> {
        self.with_tx(Mode::Write, |tx| {
            tx.execute(
                "INSERT INTO devices(id, user_id, name, token_hash, created_ms, public_key)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &d.id,
                    &d.user_id,
                    &d.name,
                    &token_hash,
                    &d.created_ms,
                    &d.public_key,
                ],
            )?;
            Ok(())
        })
    }

    fn principal_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.holder(holder_sql!("d.token_hash = $1"), &token_hash)
    }

    fn principal_by_device(&self, device: Uuid) -> Result<Option<TokenHolder>> {
        self.holder(holder_sql!("d.id = $1"), &device)
    }

    fn bind_device_key(&self, device: Uuid, key: &str) -> Result<bool> {
        self.with_tx(Mode::Write, |tx| {
            tx.execute(
                "UPDATE devices SET public_key = $2 WHERE id = $1 AND public_key IS NULL",
                &[&device, &key],
            )?;
            let row = tx.query_opt("SELECT public_key FROM devices WHERE id = $1", &[&device])?;
            Ok(row.and_then(|r| r.get::<_, Option<String>>(0)).as_deref() == Some(key))
        })
    }

    fn set_device_token(&self, device: Uuid, token_hash: &str) -> Result<()> {
        self.with_tx(Mode::Write, |tx| {
            tx.execute(
                "UPDATE devices SET token_hash = $2 WHERE id = $1",
                &[&device, &token_hash],
            )?;
            Ok(())
        })
    }

    fn secret(&self, name: &str) -> Result<Option<String>> {
        self.with_tx(Mode::Snapshot, |tx| {
            Ok(tx
                .query_opt("SELECT value FROM secrets WHERE name = $1", &[&name])?
                .map(|r| r.get(0)))
        })
    }

    fn add_secret(&self, name: &str, value: &str) -> Result<String> {
        self.with_tx(Mode::Write, |tx| {
            tx.execute(
                "INSERT INTO secrets(name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )?;
            Ok(tx
                .query_opt("SELECT value FROM secrets WHERE name = $1", &[&name])?
                .map(|r| r.get(0))
                .unwrap_or_default())
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.with_tx(Mode::Snapshot, |tx| {
            tx.query(
                "SELECT d.id, d.user_id, u.name, u.role, d.name, d.created_ms, d.revoked_ms,
                        d.last_sync_ms, d.last_applied, d.public_key
                 FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.created_ms, d.id",
                &[],
            )?
            .iter()
            .map(device_of)
            .collect()
        })
    }

    fn revoke_device(&self, id: Uuid, now: i64) -> Result<bool> {
        self.with_tx(Mode::Write, |tx| {
            Ok(tx.execute(
                "UPDATE devices SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
                &[&id, &now],
            )? > 0)
        })
    }

    fn scan(&self, f: &mut RecordVisitor) -> Result<()> {
        self.with_tx(Mode::Snapshot, |tx| {
            // A portal, so a district's million records are not held in memory at once.
            let mut t = tx.tx.borrow_mut();
            let portal = t.bind("SELECT kind, id, posyandu_id, fields FROM records", &[])?;
            loop {
                let rows = t.query_portal(&portal, 5_000)?;
                if rows.is_empty() {
                    break;
                }
                for r in &rows {
                    let fields: Fields = serde_json::from_str(r.get(3))?;
                    f(parse_kind(r.get(0))?, r.get(1), r.get(2), &fields);
                }
            }
            Ok(())
        })
    }

    fn export(&self, f: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        self.with_tx(Mode::Snapshot, |tx| {
            for r in tx.query("SELECT name, value FROM counters ORDER BY name", &[])? {
                f(Row::Counter(r.get(0), r.get(1)))?;
            }
            {
                let mut t = tx.tx.borrow_mut();
                let portal = t.bind(concat!(record_sql!("TRUE"), " ORDER BY id"), &[])?;
                loop {
                    let rows = t.query_portal(&portal, 5_000)?;
                    if rows.is_empty() {
                        break;
                    }
                    for r in &rows {
                        f(Row::Record(record_of(r)?))?;
                    }
                }
            }
            for r in tx.query(
                "SELECT seq, kind, id, old_posyandu_id, old_puskesmas_id, new_puskesmas_id
                 FROM exits ORDER BY seq",
                &[],
            )? {
                f(Row::Exit(ExitRow {
                    seq: r.get(0),
                    kind: parse_kind(r.get(1))?,
                    id: r.get(2),
                    old_posyandu: r.get(3),
                    old_puskesmas: r.get(4),
                    new_puskesmas: r.get(5),
                }))?;
            }
            for r in tx.query(
                "SELECT id, name, role, puskesmas_id, posyandu_id, password_hash, disabled
                 FROM users ORDER BY id",
                &[],
            )? {
                f(Row::User(user_of(&r)?))?;
            }
            for r in tx.query(
                "SELECT d.id, d.user_id, u.name, u.role, d.name, d.created_ms, d.revoked_ms,
                        d.last_sync_ms, d.last_applied, d.public_key, d.token_hash
                 FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id",
                &[],
            )? {
                f(Row::Device(device_of(&r)?, r.get(10)))?;
            }
            for r in tx.query(
                "SELECT device_id, device_seq, kind, id, problem FROM refusals
                 ORDER BY device_id, device_seq",
                &[],
            )? {
                f(Row::Refusal(
                    r.get(0),
                    Refusal {
                        device_seq: r.get::<_, i64>(1) as u64,
                        kind: parse_kind(r.get(2))?,
                        id: r.get(3),
                        problem: serde_json::from_str(r.get(4))?,
                    },
                ))?;
            }
            for r in tx.query(
                "SELECT device_id, device_seq, hash FROM edit_hashes ORDER BY device_id, device_seq",
                &[],
            )? {
                f(Row::EditHash(r.get(0), r.get::<_, i64>(1) as u64, r.get(2)))?;
            }
            for r in tx.query("SELECT name, value FROM secrets ORDER BY name", &[])? {
                f(Row::Secret(r.get(0), r.get(1)))?;
            }
            Ok(())
        })
    }

    fn import(&self, rows: &mut dyn Iterator<Item = Result<Row>>) -> Result<()> {
        // Not retried: the rows can be read only once.
        let mut conn = self.take()?;
        let mut once = Some(rows);
        let out = Self::run_once(&mut conn, Mode::Write, &mut |tx| {
            let Some(rows) = once.take() else {
                return Err(ServerError::Data("import ran twice".into()));
            };
            for row in rows {
                match row? {
                    Row::Counter(name, value) => {
                        tx.execute(
                            "INSERT INTO counters(name, value) VALUES ($1, $2)
                             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                            &[&name, &value],
                        )?;
                    }
                    Row::Record(rec) => {
                        tx.put_many(&[(&rec, &engine::dup_keys(&rec))])?;
                    }
                    Row::Exit(e) => tx.add_exits(&[e])?,
                    Row::User(u) => tx.insert_user(&u)?,
                    Row::Device(d, token_hash) => {
                        tx.execute(
                            "INSERT INTO devices(id, user_id, name, token_hash, created_ms,
                                                 revoked_ms, last_sync_ms, last_applied,
                                                 public_key)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            &[
                                &d.id,
                                &d.user_id,
                                &d.name,
                                &token_hash,
                                &d.created_ms,
                                &d.revoked_ms,
                                &d.last_sync_ms,
                                &(d.last_applied as i64),
                                &d.public_key,
                            ],
                        )?;
                    }
                    Row::Refusal(device, r) => tx.add_refusals(&[(device, r)])?,
                    Row::EditHash(device, seq, hash) => {
                        tx.add_edit_hashes(&[(device, seq, hash)])?
                    }
                    Row::Secret(name, value) => {
                        // The copied server's keys win: its devices pinned them.
                        tx.execute(
                            "INSERT INTO secrets(name, value) VALUES ($1, $2)
                             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                            &[&name, &value],
                        )?;
                    }
                }
            }
            Ok(())
        });
        self.give_back(conn);
        out
    }

    fn is_empty(&self) -> Result<bool> {
        self.with_tx(Mode::Snapshot, |tx| {
            Ok(tx
                .query_opt(
                    "SELECT NOT EXISTS(SELECT 1 FROM records) AND NOT EXISTS(SELECT 1 FROM users)
                        AND NOT EXISTS(SELECT 1 FROM devices)
                        AND (SELECT value FROM counters WHERE name = 'seq') = 0",
                    &[],
                )?
                .map(|r| r.get::<_, bool>(0))
                .unwrap_or(true))
        })
    }
}

/// A user from a row of (id, name, role, puskesmas_id, posyandu_id, password_hash, disabled).
fn user_of(r: &postgres::Row) -> Result<User> {
    Ok(User {
        id: r.get(0),
        name: r.get(1),
        role: parse_role(r.get(2))?,
        puskesmas_id: r.get(3),
        posyandu_id: r.get(4),
        password_hash: r.get(5),
        disabled: r.get(6),
    })
}

fn device_of(r: &postgres::Row) -> Result<Device> {
    Ok(Device {
        id: r.get(0),
        user_id: r.get(1),
        user: r.get(2),
        role: parse_role(r.get(3))?,
        name: r.get(4),
        created_ms: r.get(5),
        revoked_ms: r.get(6),
        last_sync_ms: r.get(7),
        last_applied: r.get::<_, i64>(8) as u64,
        public_key: r.get(9),
    })
}

/// The address of the server the standard `PG*` variables name (PGHOST, PGPORT, PGUSER,
/// PGPASSWORD; what `pg_virtualenv` exports), for database `db`.
pub fn env_url(db: &str) -> std::result::Result<String, String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let host = var("PGHOST").ok_or_else(|| {
        "PGHOST is not set: the PostgreSQL tests need a server named by the PG* variables \
         (run them under `pg_virtualenv -v 15 ...`, as scripts/test.sh does)"
            .to_string()
    })?;
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let user = var("PGUSER")
        .or_else(|| var("USER"))
        .unwrap_or_else(|| "postgres".into());
    let auth = match var("PGPASSWORD") {
        Some(p) => format!("{}:{}", enc(&user), enc(&p)),
        None => enc(&user),
    };
    let port = var("PGPORT").unwrap_or_else(|| "5432".into());
    Ok(format!(
        "postgres://{auth}@{}:{port}/{}",
        enc(&host),
        enc(db)
    ))
}

/// Create a new, empty database on the server the `PG*` variables name and return its address.
/// For tests and benchmarks: it fails with a clear message when PostgreSQL is not reachable.
pub fn fresh_database(prefix: &str) -> std::result::Result<String, String> {
    let admin_db = std::env::var("PGDATABASE").unwrap_or_else(|_| "postgres".into());
    let admin = env_url(&admin_db)?;
    let name = format!("{prefix}_{}", Uuid::now_v7().simple());
    let mut client = postgres::Client::connect(&admin, NoTls).map_err(|e| {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        format!(
            "PostgreSQL is not reachable at host {:?} port {:?} as {:?} (from the PG* variables): {e}",
            var("PGHOST"),
            var("PGPORT"),
            var("PGUSER")
        )
    })?;
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .map_err(|e| format!("cannot create database {name}: {e}"))?;
    env_url(&name)
}
