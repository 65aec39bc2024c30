//! The embedded master store: one SQLite file in WAL mode. One writer at a time (a mutex), which
//! also makes sequence numbers visible in order (guarantee 5).

use super::clocks;
use super::engine;
use super::scope_digest;
use super::{
    Device, DupKeys, ExitRow, MasterRecord, MasterStore, Page, Principal, RecordTx, RecordVisitor,
    Result, Row, TokenHolder, User, UserSummary,
};
use crate::error::ServerError;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rusqlite_migration::{HookError, Migrations, M};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{Change, Exit, Refusal, Role, SyncRequest, SyncResponse};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{LazyLock, Mutex};
use uuid::Uuid;

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(
            r#"
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters VALUES ('seq', 0);
-- The master copy: one row per record; `fields` holds the values, `meta` each field's clock and
-- sequence. `seq` is the record's last change: pulls read `seq > cursor` in scope.
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    posyandu_id TEXT,
    puskesmas_id TEXT,
    parent_id TEXT,
    fields TEXT NOT NULL,
    meta TEXT NOT NULL,
    seq INTEGER NOT NULL,
    dup_nik TEXT,
    dup_person TEXT
);
CREATE UNIQUE INDEX records_seq ON records(seq);
CREATE INDEX records_parent ON records(parent_id);
CREATE INDEX records_dup_nik ON records(dup_nik) WHERE dup_nik IS NOT NULL;
CREATE INDEX records_dup_person ON records(dup_person) WHERE dup_person IS NOT NULL;
-- Records that left a scope, so devices there drop them.
CREATE TABLE exits (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    old_posyandu_id TEXT,
    old_puskesmas_id TEXT,
    new_puskesmas_id TEXT
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    puskesmas_id TEXT NOT NULL REFERENCES records(id),
    posyandu_id TEXT REFERENCES records(id),
    password_hash TEXT NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER,
    last_sync_ms INTEGER,
    last_applied INTEGER NOT NULL DEFAULT 0
);
-- Refused edits, kept so that a retried push gets the same answer.
CREATE TABLE refusals (
    device_id TEXT NOT NULL REFERENCES devices(id),
    device_seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    problem TEXT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
);
"#,
        ),
        // Pulls and scope digests read one scope: without these every one walked the whole
        // table (a kader's scope is its posyandu plus the puskesmas-level records). No index
        // on puskesmas_id alone: SQLite would prefer it to the duplicate keys' indexes and walk
        // the puskesmas for every child written.
        M::up(
            r#"
CREATE INDEX records_posyandu_seq ON records(posyandu_id, seq);
CREATE INDEX records_puskesmas_level ON records(puskesmas_id, seq) WHERE posyandu_id IS NULL;
"#,
        ),
        // `user disable`: a disabled user's devices are refused and her password enrolls nothing.
        M::up("ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;"),
        // What each device sent under each number: a repeated number with other content is
        // not a retry (a restored or copied store), and is never acknowledged unseen.
        M::up(
            r#"
CREATE TABLE edit_hashes (
    device_id TEXT NOT NULL REFERENCES devices(id),
    device_seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
) WITHOUT ROWID;
"#,
        ),
        // Signed bundle files: each device's public key, and the server's own signing key.
        M::up(
            r#"
ALTER TABLE devices ADD COLUMN public_key TEXT;
CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
        ),
        // An edit sent again under a new number (a copy of the store numbered it again) is
        // found by its hash, and not applied twice.
        M::up("CREATE INDEX edit_hashes_by_hash ON edit_hashes(device_id, hash);"),
        // A duplicate record's pair ('child_a|child_b'), found by index: checking every pair
        // against every duplicate record made a push of many possible duplicates quadratic.
        M::up(
            r#"
ALTER TABLE records ADD COLUMN dup_pair TEXT;
UPDATE records SET dup_pair = json_extract(fields, '$.child_a') || '|' || json_extract(fields, '$.child_b')
    WHERE kind = 'duplicate';
CREATE INDEX records_dup_pair ON records(dup_pair) WHERE dup_pair IS NOT NULL;
"#,
        ),
        // Field clocks stored compact (`clocks`) instead of the JSON `meta`, every row converted.
        M::up_with_hook(
            "ALTER TABLE records ADD COLUMN clocks BLOB;",
            |tx: &Transaction| {
                let rows: Vec<(String, String)> = tx
                    .prepare("SELECT id, meta FROM records")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut st = tx.prepare("UPDATE records SET clocks = ?2 WHERE id = ?1")?;
                for (id, meta) in rows {
                    let stored = clocks::from_json_meta(&meta)
                        .map_err(|e| HookError::Hook(format!("record {id}: {e}")))?;
                    st.execute(params![id, stored])?;
                }
                tx.execute_batch("ALTER TABLE records DROP COLUMN meta;")?;
                Ok(())
            },
        ),
    ])
});

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Reports read here, on their own read-only connection: under WAL they see the last
    /// committed state and never wait for (or hold up) the writer.
    reader: Mutex<Connection>,
    digests: scope_digest::DigestCache,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged commit survives a power cut (with NORMAL the last commits of
        // WAL can roll back after one, though devices were told they were applied).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -64_000)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        MIGRATIONS.to_latest(&mut conn)?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(30))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            digests: Default::default(),
        })
    }

    fn with_tx<T>(&self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&Tx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// The device (with its user's scope) of the row `cond` selects with `arg` as ?1.
    fn holder(&self, cond: &str, arg: &str) -> Result<Option<TokenHolder>> {
        self.with_tx(|tx| {
            let row =
                tx.0.query_row(
                    &format!(
                        "SELECT d.id, u.id, u.role, u.puskesmas_id, u.posyandu_id, d.revoked_ms,
                                u.disabled, d.public_key
                         FROM devices d JOIN users u ON u.id = d.user_id WHERE {cond}"
                    ),
                    [arg],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                            r.get::<_, bool>(6)?,
                            r.get::<_, Option<String>>(7)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(d, u, role, q, p, revoked, disabled, public_key)| {
                Ok(TokenHolder {
                    principal: Principal {
                        device_id: parse_uuid(&d)?,
                        user_id: parse_uuid(&u)?,
                        role: Role::parse(&role).ok_or_else(|| ServerError::Data(role.clone()))?,
                        puskesmas_id: Some(parse_uuid(&q)?),
                        posyandu_id: p.as_deref().map(parse_uuid).transpose()?,
                    },
                    revoked_ms: revoked,
                    user_disabled: disabled,
                    public_key,
                })
            })
            .transpose()
        })
    }

    fn pull(tx: &Tx, who: &Principal, cursor: i64, limit: u32) -> Result<Page> {
        let t = tx.0;
        let limit = limit.clamp(1, sinergi_core::protocol::MAX_PAGE);
        let scope = if who.role == Role::Kader {
            "(posyandu_id = ?3 AND kind NOT IN ('conflict', 'duplicate'))
             OR (posyandu_id IS NULL AND puskesmas_id = ?4)"
        } else {
            "puskesmas_id = ?4 AND ?3 IS NULL"
        };
        let sql = format!(
            "SELECT kind, id, posyandu_id, fields, seq FROM records
             WHERE seq > ?1 AND ({scope}) ORDER BY seq LIMIT ?2"
        );
        let mut st = t.prepare_cached(&sql)?;
        let posyandu = if who.role == Role::Kader {
            opt(who.posyandu_id)
        } else {
            None
        };
        let rows = st.query_map(
            params![cursor, limit, posyandu, opt(who.puskesmas_id)],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )?;
        let mut page = Page::default();
        for row in rows {
            let (kind, id, posyandu, fields, seq) = row?;
            if !page.has_room(fields.len()) {
                break;
            }
            page.changes.push(Change {
                kind: parse_kind(&kind)?,
                id: parse_uuid(&id)?,
                seq,
                posyandu_id: posyandu.as_deref().map(parse_uuid).transpose()?,
                fields: serde_json::from_str(&fields)?,
            });
        }
        // The counter as this transaction sees it (it is flushed only at commit).
        let upto = page.reach(limit, || tx.current_seq())?;
        // Exits for this scope: where the record was, and it is no longer there.
        let mut st = t.prepare_cached(
            "SELECT kind, id, seq, old_posyandu_id, old_puskesmas_id, new_puskesmas_id FROM exits
             WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
        )?;
        let rows = st.query_map(params![cursor, upto], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        for row in rows {
            let (kind, id, seq, old_p, old_q, new_q) = row?;
            let old_p = old_p.as_deref().map(parse_uuid).transpose()?;
            let old_q = old_q.as_deref().map(parse_uuid).transpose()?;
            let new_q = new_q.as_deref().map(parse_uuid).transpose()?;
            if who.sees_exit(old_p, old_q, new_q) {
                page.exits.push(Exit {
                    kind: parse_kind(&kind)?,
                    id: parse_uuid(&id)?,
                    seq,
                });
            }
        }
        page.cursor = upto;
        Ok(page)
    }
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| ServerError::Data(format!("bad id {s:?}: {e}")))
}
fn parse_kind(s: &str) -> Result<Kind> {
    s.parse().map_err(ServerError::Data)
}
fn opt(u: Option<Uuid>) -> Option<String> {
    u.map(|u| u.to_string())
}

/// A user from a row of (id, name, role, puskesmas_id, posyandu_id, password_hash, disabled).
/// The outer error is SQLite's, the inner one a value that does not parse.
fn user_of(r: &rusqlite::Row) -> rusqlite::Result<Result<User>> {
    let (id, name, role, q, p, hash, disabled) = (
        r.get::<_, String>(0)?,
        r.get::<_, String>(1)?,
        r.get::<_, String>(2)?,
        r.get::<_, String>(3)?,
        r.get::<_, Option<String>>(4)?,
        r.get::<_, String>(5)?,
        r.get::<_, bool>(6)?,
    );
    Ok((|| {
        Ok(User {
            id: parse_uuid(&id)?,
            name,
            role: Role::parse(&role).ok_or_else(|| ServerError::Data(role.clone()))?,
            puskesmas_id: parse_uuid(&q)?,
            posyandu_id: p.as_deref().map(parse_uuid).transpose()?,
            password_hash: hash,
            disabled,
        })
    })())
}

/// The engine's view of one SQLite transaction (`batch::Batch` does the caching): local calls,
/// so the batch forms are prepared statements run once per row.
struct Tx<'a>(&'a Transaction<'a>);

const RECORD_COLUMNS: &str = "id, kind, posyandu_id, puskesmas_id, parent_id, fields, clocks, seq";

fn record_of(r: &rusqlite::Row) -> rusqlite::Result<Result<MasterRecord>> {
    let row = (
        r.get::<_, String>(0)?,
        r.get::<_, String>(1)?,
        r.get::<_, Option<String>>(2)?,
        r.get::<_, Option<String>>(3)?,
        r.get::<_, Option<String>>(4)?,
        r.get::<_, String>(5)?,
        r.get::<_, Vec<u8>>(6)?,
        r.get::<_, i64>(7)?,
    );
    Ok((|| {
        let (id, kind, p, q, parent, values, stored, seq) = row;
        Ok(MasterRecord {
            kind: parse_kind(&kind)?,
            id: parse_uuid(&id)?,
            posyandu_id: p.as_deref().map(parse_uuid).transpose()?,
            puskesmas_id: q.as_deref().map(parse_uuid).transpose()?,
            parent_id: parent.as_deref().map(parse_uuid).transpose()?,
            fields: clocks::decode(&values, &stored)?,
            seq,
        })
    })())
}

impl Tx<'_> {
    /// The records `sql` (selecting `RECORD_COLUMNS`) finds with `key` as ?1.
    fn records_where(&self, sql: &str, key: &str) -> Result<Vec<MasterRecord>> {
        let mut st = self.0.prepare_cached(sql)?;
        let rows = st.query_map([key], record_of)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    fn get(&self, id: Uuid) -> Result<Option<MasterRecord>> {
        Ok(self
            .records_where(
                &format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1"),
                &id.to_string(),
            )?
            .pop())
    }
}

impl RecordTx for Tx<'_> {
    fn get_many(&self, ids: &[Uuid]) -> Result<Vec<MasterRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.get(*id)?);
        }
        Ok(out)
    }

    fn put_many(&self, recs: &[(&MasterRecord, &DupKeys)]) -> Result<()> {
        let mut st = self.0.prepare_cached(
            "INSERT INTO records(id, kind, posyandu_id, puskesmas_id, parent_id, fields, clocks, seq, dup_nik, dup_person, dup_pair)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, posyandu_id = excluded.posyandu_id,
                puskesmas_id = excluded.puskesmas_id, parent_id = excluded.parent_id,
                fields = excluded.fields, clocks = excluded.clocks, seq = excluded.seq,
                dup_nik = excluded.dup_nik, dup_person = excluded.dup_person,
                dup_pair = excluded.dup_pair",
        )?;
        for (rec, dup) in recs {
            st.execute(params![
                rec.id.to_string(),
                rec.kind.as_str(),
                opt(rec.posyandu_id),
                opt(rec.puskesmas_id),
                opt(rec.parent_id),
                serde_json::to_string(&rec.values())?,
                clocks::encode(&rec.fields),
                rec.seq,
                dup.nik,
                dup.person,
                dup.pair,
            ])?;
        }
        Ok(())
    }

    fn current_seq(&self) -> Result<i64> {
        Ok(self
            .0
            .prepare_cached("SELECT value FROM counters WHERE name = 'seq'")?
            .query_row([], |r| r.get(0))?)
    }

    fn set_seq(&self, seq: i64) -> Result<()> {
        self.0
            .prepare_cached("UPDATE counters SET value = ?1 WHERE name = 'seq'")?
            .execute([seq])?;
        Ok(())
    }

    fn dependents(&self, parent: Uuid) -> Result<Vec<Uuid>> {
        let mut st = self
            .0
            .prepare_cached("SELECT id FROM records WHERE parent_id = ?1")?;
        let ids: Vec<String> = st
            .query_map([parent.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    fn add_exits(&self, exits: &[ExitRow]) -> Result<()> {
        let mut st = self.0.prepare_cached(
            "INSERT INTO exits(seq, kind, id, old_posyandu_id, old_puskesmas_id, new_puskesmas_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for e in exits {
            st.execute(params![
                e.seq,
                e.kind.as_str(),
                e.id.to_string(),
                opt(e.old_posyandu),
                opt(e.old_puskesmas),
                opt(e.new_puskesmas)
            ])?;
        }
        Ok(())
    }

    fn add_refusals(&self, refusals: &[(Uuid, Refusal)]) -> Result<()> {
        let mut st = self.0.prepare_cached(
            "INSERT OR REPLACE INTO refusals(device_id, device_seq, kind, id, problem) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (device, r) in refusals {
            st.execute(params![
                device.to_string(),
                r.device_seq as i64,
                r.kind.as_str(),
                r.id.to_string(),
                serde_json::to_string(&r.problem)?
            ])?;
        }
        Ok(())
    }

    fn refusals(&self, device: Uuid, from: u64, to: u64) -> Result<Vec<Refusal>> {
        let mut st = self.0.prepare_cached(
            "SELECT device_seq, kind, id, problem FROM refusals
             WHERE device_id = ?1 AND device_seq BETWEEN ?2 AND ?3 ORDER BY device_seq",
        )?;
        let rows = st.query_map(params![device.to_string(), from as i64, to as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, id, problem) = row?;
            out.push(Refusal {
                device_seq: seq as u64,
                kind: parse_kind(&kind)?,
                id: parse_uuid(&id)?,
                problem: serde_json::from_str(&problem)?,
            });
        }
        Ok(out)
    }

    fn edit_hashes(&self, device: Uuid, from: u64, to: u64) -> Result<Vec<(u64, String)>> {
        let mut st = self.0.prepare_cached(
            "SELECT device_seq, hash FROM edit_hashes
             WHERE device_id = ?1 AND device_seq BETWEEN ?2 AND ?3",
        )?;
        let rows = st.query_map(params![device.to_string(), from as i64, to as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn add_edit_hashes(&self, hashes: &[(Uuid, u64, String)]) -> Result<()> {
        let mut st = self.0.prepare_cached(
            "INSERT OR REPLACE INTO edit_hashes(device_id, device_seq, hash) VALUES (?1, ?2, ?3)",
        )?;
        for (device, seq, hash) in hashes {
            st.execute(params![device.to_string(), *seq as i64, hash])?;
        }
        Ok(())
    }

    fn edit_seqs_of_hashes(&self, device: Uuid, hashes: &[String]) -> Result<HashMap<String, u64>> {
        let mut st = self.0.prepare_cached(
            "SELECT MIN(device_seq) FROM edit_hashes WHERE device_id = ?1 AND hash = ?2",
        )?;
        let device = device.to_string();
        let mut out = HashMap::new();
        for h in hashes {
            let seq: Option<i64> = st.query_row(params![device, h], |r| r.get(0))?;
            if let Some(seq) = seq {
                out.insert(h.clone(), seq as u64);
            }
        }
        Ok(out)
    }

    fn device_progress(&self, device: Uuid) -> Result<(u64, Option<i64>, i64)> {
        if device.is_nil() {
            return Ok((0, None, 0));
        }
        Ok(self
            .0
            .query_row(
                "SELECT last_applied, last_sync_ms, created_ms FROM devices WHERE id = ?1",
                [device.to_string()],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .unwrap_or((0, None, 0)))
    }

    fn set_device_progress(&self, device: Uuid, last_applied: u64, now: i64) -> Result<()> {
        self.0.execute(
            "UPDATE devices SET last_applied = ?2, last_sync_ms = ?3 WHERE id = ?1",
            params![device.to_string(), last_applied as i64, now],
        )?;
        Ok(())
    }

    fn children_with_keys(&self, niks: &[String], persons: &[String]) -> Result<Vec<MasterRecord>> {
        // One indexed lookup per key (an OR across two indexes would scan the table).
        let mut out = Vec::new();
        for k in niks {
            out.extend(self.records_where(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE dup_nik = ?1 AND kind = 'child'"
                ),
                k,
            )?);
        }
        for k in persons {
            out.extend(self.records_where(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE dup_person = ?1 AND kind = 'child'"
                ),
                k,
            )?);
        }
        Ok(out)
    }

    fn pairs_existing(&self, pairs: &[String]) -> Result<HashSet<String>> {
        let mut st = self.0.prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM records WHERE dup_pair = ?1 AND kind = 'duplicate')",
        )?;
        let mut out = HashSet::new();
        for p in pairs {
            if st.query_row([p], |r| r.get::<_, bool>(0))? {
                out.insert(p.clone());
            }
        }
        Ok(out)
    }
}

impl MasterStore for SqliteStore {
    fn exchange(&self, who: &Principal, req: &SyncRequest, now: i64) -> Result<SyncResponse> {
        self.with_tx(|tx| {
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
        self.with_tx(
            |tx| match engine::server_write(tx, kind, id, fields, now)? {
                Ok(_) => Ok(()),
                Err(p) => Err(ServerError::Request(422, p)),
            },
        )
    }

    fn get(&self, id: Uuid) -> Result<Option<MasterRecord>> {
        self.with_tx(|tx| tx.get(id))
    }

    fn list(&self, kind: Kind) -> Result<Vec<MasterRecord>> {
        self.with_tx(|tx| {
            let ids: Vec<String> = {
                let mut st =
                    tx.0.prepare_cached("SELECT id FROM records WHERE kind = ?1 ORDER BY id")?;
                let rows = st.query_map([kind.as_str()], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = tx.get(parse_uuid(&id)?)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    fn count(&self, kind: Kind) -> Result<u64> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM records WHERE kind = ?1",
            [kind.as_str()],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn add_user(&self, u: &User) -> Result<()> {
        self.with_tx(|tx| {
            let taken: bool = tx.0.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
                [&u.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(ServerError::bad_request(
                    409,
                    "user_exists",
                    format!("Pengguna '{}' sudah ada", u.name),
                    format!("User '{}' already exists", u.name),
                ));
            }
            tx.0.execute(
                "INSERT INTO users(id, name, role, puskesmas_id, posyandu_id, password_hash, disabled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![u.id.to_string(), u.name, u.role.as_str(), u.puskesmas_id.to_string(), opt(u.posyandu_id), u.password_hash, u.disabled],
            )?;
            Ok(())
        })
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        self.with_tx(|tx| {
            let row =
                tx.0.query_row(
                    "SELECT id, name, role, puskesmas_id, posyandu_id, password_hash, disabled
                     FROM users WHERE name = ?1",
                    [name],
                    user_of,
                )
                .optional()?;
            row.transpose()
        })
    }

    fn users(&self) -> Result<Vec<UserSummary>> {
        self.with_tx(|tx| {
            let mut st = tx.0.prepare(
                "SELECT u.id, u.name, u.role, u.puskesmas_id, u.posyandu_id, u.password_hash,
                        u.disabled,
                        (SELECT COUNT(*) FROM devices d
                          WHERE d.user_id = u.id AND d.revoked_ms IS NULL)
                 FROM users u ORDER BY u.name",
            )?;
            let rows = st.query_map([], |r| Ok((user_of(r)?, r.get::<_, i64>(7)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (user, active) = row?;
                out.push(UserSummary {
                    user: user?,
                    active_devices: active as u64,
                });
            }
            Ok(out)
        })
    }

    fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<bool> {
        self.with_tx(|tx| {
            Ok(tx.0.execute(
                "UPDATE users SET disabled = ?2 WHERE name = ?1",
                params![name, disabled],
            )? > 0)
        })
    }

    fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<bool> {
        self.with_tx(|tx| {
            Ok(tx.0.execute(
                "UPDATE users SET password_hash = ?2 WHERE name = ?1",
                params![name, password_hash],
            )? > 0)
        })
    }

    fn add_device(&self, d: &Device, token_hash: &str) -> Result<()> {
        self.with_tx(|tx| {
            tx.0.execute(
                "INSERT INTO devices(id, user_id, name, token_hash, created_ms, public_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    d.id.to_string(),
                    d.user_id.to_string(),
                    d.name,
                    token_hash,
                    d.created_ms,
                    d.public_key
                ],
            )?;
            Ok(())
        })
    }

    fn principal_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.holder("d.token_hash = ?1", token_hash)
    }

    fn principal_by_device(&self, device: Uuid) -> Result<Option<TokenHolder>> {
        self.holder("d.id = ?1", &device.to_string())
    }

    fn bind_device_key(&self, device: Uuid, key: &str) -> Result<bool> {
        self.with_tx(|tx| {
            tx.0.execute(
                "UPDATE devices SET public_key = ?2 WHERE id = ?1 AND public_key IS NULL",
                params![device.to_string(), key],
            )?;
            let bound: Option<Option<String>> =
                tx.0.query_row(
                    "SELECT public_key FROM devices WHERE id = ?1",
                    [device.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(bound.flatten().as_deref() == Some(key))
        })
    }

    fn set_device_token(&self, device: Uuid, token_hash: &str) -> Result<()> {
        self.with_tx(|tx| {
            tx.0.execute(
                "UPDATE devices SET token_hash = ?2 WHERE id = ?1",
                params![device.to_string(), token_hash],
            )?;
            Ok(())
        })
    }

    fn secret(&self, name: &str) -> Result<Option<String>> {
        self.with_tx(|tx| {
            Ok(tx
                .0
                .query_row("SELECT value FROM secrets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    fn add_secret(&self, name: &str, value: &str) -> Result<String> {
        self.with_tx(|tx| {
            tx.0.execute(
                "INSERT INTO secrets(name, value) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
                params![name, value],
            )?;
            Ok(tx
                .0
                .query_row("SELECT value FROM secrets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })?)
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.with_tx(|tx| {
            let mut st = tx.0.prepare(
                "SELECT d.id, d.user_id, u.name, u.role, d.name, d.created_ms, d.revoked_ms, d.last_sync_ms, d.last_applied,
                        d.public_key
                 FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.created_ms, d.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, uid, user, role, name, created, revoked, last, applied, public_key) = row?;
                out.push(Device {
                    id: parse_uuid(&id)?,
                    user_id: parse_uuid(&uid)?,
                    user,
                    role: Role::parse(&role).ok_or_else(|| ServerError::Data(role.clone()))?,
                    name,
                    created_ms: created,
                    revoked_ms: revoked,
                    last_sync_ms: last,
                    last_applied: applied as u64,
                    public_key,
                });
            }
            Ok(out)
        })
    }

    fn revoke_device(&self, id: Uuid, now: i64) -> Result<bool> {
        self.with_tx(|tx| {
            Ok(tx.0.execute(
                "UPDATE devices SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
                params![id.to_string(), now],
            )? > 0)
        })
    }

    fn scan(&self, f: &mut RecordVisitor) -> Result<()> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = conn.prepare("SELECT kind, id, posyandu_id, fields FROM records")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let kind = parse_kind(r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?)?;
            let id = parse_uuid(r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?)?;
            let posyandu = match r
                .get_ref(2)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?
            {
                Some(p) => Some(parse_uuid(p)?),
                None => None,
            };
            let fields: Fields =
                serde_json::from_str(r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?)?;
            f(kind, id, posyandu, &fields);
        }
        Ok(())
    }

    fn export(&self, f: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        self.with_tx(|tx| {
            let t = tx.0;
            let mut st = t.prepare("SELECT name, value FROM counters ORDER BY name")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                f(Row::Counter(r.get(0)?, r.get(1)?))?;
            }
            let mut st = t.prepare("SELECT id FROM records ORDER BY id")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id = parse_uuid(r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?)?;
                if let Some(rec) = tx.get(id)? {
                    f(Row::Record(rec))?;
                }
            }
            let mut st = t.prepare(
                "SELECT seq, kind, id, old_posyandu_id, old_puskesmas_id, new_puskesmas_id
                 FROM exits ORDER BY seq",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let u = |i: usize| -> Result<Option<Uuid>> {
                    r.get::<_, Option<String>>(i)?
                        .as_deref()
                        .map(parse_uuid)
                        .transpose()
                };
                f(Row::Exit(ExitRow {
                    seq: r.get(0)?,
                    kind: parse_kind(&r.get::<_, String>(1)?)?,
                    id: parse_uuid(&r.get::<_, String>(2)?)?,
                    old_posyandu: u(3)?,
                    old_puskesmas: u(4)?,
                    new_puskesmas: u(5)?,
                }))?;
            }
            let mut st = t.prepare(
                "SELECT id, name, role, puskesmas_id, posyandu_id, password_hash, disabled
                 FROM users ORDER BY id",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                f(Row::User(user_of(r)??))?;
            }
            let mut st = t.prepare(
                "SELECT d.id, d.user_id, u.name, u.role, d.name, d.created_ms, d.revoked_ms,
                        d.last_sync_ms, d.last_applied, d.token_hash, d.public_key
                 FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let role: String = r.get(3)?;
                let d = Device {
                    id: parse_uuid(&r.get::<_, String>(0)?)?,
                    user_id: parse_uuid(&r.get::<_, String>(1)?)?,
                    user: r.get(2)?,
                    role: Role::parse(&role).ok_or_else(|| ServerError::Data(role.clone()))?,
                    name: r.get(4)?,
                    created_ms: r.get(5)?,
                    revoked_ms: r.get(6)?,
                    last_sync_ms: r.get(7)?,
                    last_applied: r.get::<_, i64>(8)? as u64,
                    public_key: r.get(10)?,
                };
                f(Row::Device(d, r.get(9)?))?;
            }
            let mut st = t.prepare(
                "SELECT device_id, device_seq, kind, id, problem FROM refusals
                 ORDER BY device_id, device_seq",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                f(Row::Refusal(
                    parse_uuid(&r.get::<_, String>(0)?)?,
                    Refusal {
                        device_seq: r.get::<_, i64>(1)? as u64,
                        kind: parse_kind(&r.get::<_, String>(2)?)?,
                        id: parse_uuid(&r.get::<_, String>(3)?)?,
                        problem: serde_json::from_str(&r.get::<_, String>(4)?)?,
                    },
                ))?;
            }
            let mut st = t.prepare(
                "SELECT device_id, device_seq, hash FROM edit_hashes ORDER BY device_id, device_seq",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                f(Row::EditHash(
                    parse_uuid(&r.get::<_, String>(0)?)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get(2)?,
                ))?;
            }
            let mut st = t.prepare("SELECT name, value FROM secrets ORDER BY name")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                f(Row::Secret(r.get(0)?, r.get(1)?))?;
            }
            Ok(())
        })
    }

    fn import(&self, rows: &mut dyn Iterator<Item = Result<Row>>) -> Result<()> {
        self.with_tx(|tx| {
            let t = tx.0;
            for row in rows {
                match row? {
                    Row::Counter(name, value) => {
                        t.execute(
                            "INSERT INTO counters(name, value) VALUES (?1, ?2)
                             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                            params![name, value],
                        )?;
                    }
                    Row::Record(rec) => {
                        tx.put_many(&[(&rec, &engine::dup_keys(&rec))])?;
                    }
                    Row::Exit(e) => tx.add_exits(&[e])?,
                    Row::User(u) => {
                        t.execute(
                            "INSERT INTO users(id, name, role, puskesmas_id, posyandu_id, password_hash, disabled)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![u.id.to_string(), u.name, u.role.as_str(), u.puskesmas_id.to_string(), opt(u.posyandu_id), u.password_hash, u.disabled],
                        )?;
                    }
                    Row::Device(d, token_hash) => {
                        t.execute(
                            "INSERT INTO devices(id, user_id, name, token_hash, created_ms, revoked_ms, last_sync_ms, last_applied, public_key)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            params![d.id.to_string(), d.user_id.to_string(), d.name, token_hash, d.created_ms, d.revoked_ms, d.last_sync_ms, d.last_applied as i64, d.public_key],
                        )?;
                    }
                    Row::Refusal(device, r) => tx.add_refusals(&[(device, r)])?,
                    Row::EditHash(device, seq, hash) => tx.add_edit_hashes(&[(device, seq, hash)])?,
                    Row::Secret(name, value) => {
                        t.execute(
                            // The copied server's keys win: its devices pinned them.
                            "INSERT INTO secrets(name, value) VALUES (?1, ?2)
                             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                            params![name, value],
                        )?;
                    }
                }
            }
            Ok(())
        })
    }

    fn is_empty(&self) -> Result<bool> {
        self.with_tx(|tx| {
            Ok(tx.0.query_row(
                "SELECT NOT EXISTS(SELECT 1 FROM records) AND NOT EXISTS(SELECT 1 FROM users)
                    AND NOT EXISTS(SELECT 1 FROM devices)
                    AND (SELECT value FROM counters WHERE name = 'seq') = 0",
                [],
                |r| r.get(0),
            )?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledged_commit_survives_a_power_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("master.db")).unwrap();
        let conn = store.conn.lock().unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2, "synchronous=FULL");
    }

    /// A report's scan runs while a merge holds the writer: it neither waits for it nor sees
    /// what is not committed.
    #[test]
    fn reports_read_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("master.db")).unwrap();
        let id = Uuid::now_v7();
        store
            .server_write(
                Kind::Puskesmas,
                id,
                serde_json::json!({"name": "P"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                1,
            )
            .unwrap();
        let writer = store.conn.lock().unwrap();
        writer
            .execute_batch("BEGIN IMMEDIATE; DELETE FROM records;")
            .unwrap();
        let mut seen = Vec::new();
        store.scan(&mut |_, id, _, _| seen.push(id)).unwrap();
        assert_eq!(seen, [id]);
        writer.execute_batch("ROLLBACK").unwrap();
    }

    /// A store made before users could be disabled gains the column, every user enabled.
    #[test]
    fn an_older_store_is_migrated_with_every_user_enabled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            MIGRATIONS.to_version(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO records(id, kind, fields, meta, seq)
                     VALUES ('00000000-0000-0000-0000-000000000002', 'puskesmas', '{}', '{}', 1);
                 INSERT INTO users(id, name, role, puskesmas_id, password_hash)
                     VALUES ('00000000-0000-0000-0000-000000000001', 'bidan', 'bidan',
                             '00000000-0000-0000-0000-000000000002', 'hash');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let u = store.user_by_name("bidan").unwrap().unwrap();
        assert!(!u.disabled);
        assert!(store.set_user_disabled("bidan", true).unwrap());
        assert!(store.user_by_name("bidan").unwrap().unwrap().disabled);
        assert!(!store.set_user_disabled("tidak_ada", true).unwrap());
    }

    #[test]
    fn a_duplicate_record_from_before_the_pair_column_is_found_by_its_pair() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.db");
        let (a, b) = (Uuid::from_u128(7), Uuid::from_u128(9));
        {
            let mut conn = Connection::open(&path).unwrap();
            MIGRATIONS.to_version(&mut conn, 6).unwrap();
            conn.execute(
                "INSERT INTO records(id, kind, fields, meta, seq) VALUES (?1, 'duplicate', ?2, '{}', 1)",
                params![
                    Uuid::from_u128(1).to_string(),
                    serde_json::json!({"child_a": a, "child_b": b}).to_string()
                ],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let pair = super::super::batch::pair_name(b, a);
        let found = store.with_tx(|tx| tx.pairs_existing(&[pair.clone(), "x|y".into()]));
        assert_eq!(found.unwrap(), HashSet::from([pair]));
    }

    #[test]
    fn records_written_with_json_clocks_come_back_whole_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.db");
        let old = super::super::clocks::tests::sample_record();
        {
            let mut conn = Connection::open(&path).unwrap();
            MIGRATIONS.to_version(&mut conn, 7).unwrap();
            conn.execute(
                "INSERT INTO records(id, kind, posyandu_id, fields, meta, seq) VALUES (?1, 'child', ?2, ?3, ?4, ?5)",
                params![
                    old.id.to_string(),
                    opt(old.posyandu_id),
                    serde_json::to_string(&old.values()).unwrap(),
                    serde_json::to_string(&old.fields).unwrap(),
                    old.seq
                ],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get(old.id).unwrap(), Some(old));
    }
}
