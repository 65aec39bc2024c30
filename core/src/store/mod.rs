//! The device's local store: a SQLite file (WAL) holding the records in this device's scope, the
//! outbox of edits not yet acknowledged, the edits the server refused, and the sync state.

mod apply;
mod assess;
mod day;
mod edit;
pub mod keyfile;
mod meta;
mod review;
mod schema;

pub use apply::{Applied, CLOCK_WARNING_MS};
pub use day::DayEntry;
pub use edit::EditOutcome;
pub use meta::{Enrollment, SyncState};
pub use review::Choice;

use crate::error::Result;
use crate::hlc::{Clock, SystemClock};
use crate::model::{Fields, Kind, Lookup};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

pub struct LocalStore {
    conn: Connection,
    clock: Arc<dyn Clock>,
    dir: PathBuf,
    encrypted: bool,
}

/// A record as the device holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub id: Uuid,
    pub kind: Kind,
    pub posyandu_id: Option<Uuid>,
    pub fields: Fields,
    /// Edits to this record not yet acknowledged by the server.
    pub pending: u32,
}

/// An edit the server refused, as the device keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefusedEdit {
    pub device_seq: u64,
    pub kind: Kind,
    pub id: Uuid,
    pub fields: Fields,
    pub code: String,
    pub message: String,
    pub message_en: String,
    pub refused_ms: i64,
}

/// `SINERGI_SLOW_COMMIT_MS`: wait this long just before committing each local write transaction
/// (an edit with its outbox entry, an applied page with its cursor). It only slows, never changes
/// what is written: crash drills use it to kill the process inside the transaction.
pub(crate) fn pause_before_commit() {
    static PAUSE: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        std::env::var("SINERGI_SLOW_COMMIT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis)
    });
    if let Some(d) = pause {
        std::thread::sleep(*d);
    }
}

pub(crate) fn open_conn(path: &Path, key: Option<&keyfile::DbKey>) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    if let Some(key) = key {
        keyfile::apply_key(&conn, key)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an edit the person saw saved survives a power cut (with NORMAL the last commits
    // can roll back, and the device would number new edits again from a lower seq).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    schema::MIGRATIONS.to_latest(&mut conn)?;
    Ok(conn)
}

impl LocalStore {
    /// Open (creating if needed) the plain store in `dir` (file `sinergi.db`). An encrypted
    /// store needs its PIN: see [`LocalStore::open_with_pin`].
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with_pin(dir, None, Arc::new(SystemClock))
    }

    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::open_with_pin(dir, None, clock)
    }

    /// Open the store in `dir`. An encrypted store (one with `key.json`) opens only with its
    /// PIN (`pin_required`, `wrong_pin`). A new store is created encrypted when a PIN is given;
    /// an existing plain store given a PIN is encrypted under it first.
    pub fn open_with_pin(dir: &Path, pin: Option<&str>, clock: Arc<dyn Clock>) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        keyfile::recover(dir)?;
        let path = dir.join(keyfile::DB_FILE);
        let key = if keyfile::is_encrypted(dir) {
            Some(keyfile::unlock(
                dir,
                pin.ok_or_else(keyfile::pin_required)?,
            )?)
        } else if let Some(pin) = pin {
            keyfile::check_pin(pin)?;
            if path.exists() {
                let mut store = Self::open_with_pin(dir, None, clock)?;
                store.set_pin(None, pin)?;
                return Ok(store);
            }
            let key = keyfile::new_key()?;
            keyfile::write_key(dir, &key, pin)?;
            Some(key)
        } else {
            None
        };
        let conn = open_conn(&path, key.as_ref())?;
        Ok(LocalStore {
            conn,
            clock,
            dir: dir.to_path_buf(),
            encrypted: key.is_some(),
        })
    }

    /// Whether the store's file is encrypted (SQLCipher, key unlocked by a PIN).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Set the PIN. A plain store is encrypted under it; an encrypted one needs its current
    /// PIN, and only the key file changes.
    pub fn set_pin(&mut self, current: Option<&str>, new: &str) -> Result<()> {
        keyfile::check_pin(new)?;
        if self.encrypted {
            let key = keyfile::unlock(&self.dir, current.ok_or_else(keyfile::pin_required)?)?;
            return keyfile::write_key(&self.dir, &key, new);
        }
        let key = keyfile::encrypt_plain(&self.dir, new)?;
        // Close the plain connection before its file is replaced.
        drop(std::mem::replace(
            &mut self.conn,
            Connection::open_in_memory()?,
        ));
        keyfile::finish_encrypt(&self.dir)?;
        self.conn = open_conn(&self.dir.join(keyfile::DB_FILE), Some(&key))?;
        self.encrypted = true;
        Ok(())
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Today, the device's local calendar date (the default visit date, due lists, the day
    /// list's month, "date in the future" checks): the device clock corrected by the offset the
    /// server measured at the last sync, so a phone reset to 1970 can still record today's visit.
    pub fn today(&self) -> chrono::NaiveDate {
        let offset = meta::get_i64(&self.conn, "clock_offset_ms").unwrap_or(0);
        crate::hlc::local_date(
            self.clock.now_ms().saturating_add(offset),
            self.clock.utc_offset_secs(),
        )
    }

    pub fn get(&self, id: Uuid) -> Result<Option<Record>> {
        let mut st = self.conn.prepare_cached(
            "SELECT r.kind, r.posyandu_id, r.fields,
                    (SELECT COUNT(*) FROM outbox o WHERE o.id = r.id)
             FROM records r WHERE r.id = ?1",
        )?;
        st.query_row([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })
        .optional()?
        .map(|(k, p, f, n)| to_record(id, &k, p, &f, n))
        .transpose()
    }

    /// All records of one kind, in creation order (ids are UUIDv7).
    pub fn list(&self, kind: Kind) -> Result<Vec<Record>> {
        let mut st = self.conn.prepare_cached(
            "SELECT r.id, r.posyandu_id, r.fields,
                    (SELECT COUNT(*) FROM outbox o WHERE o.id = r.id)
             FROM records r WHERE r.kind = ?1 ORDER BY r.id",
        )?;
        let rows = st.query_map([kind.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, p, f, n) = row?;
            let id = Uuid::parse_str(&id).map_err(|e| crate::CoreError::BadData(e.to_string()))?;
            out.push(to_record(id, kind.as_str(), p, &f, n)?);
        }
        Ok(out)
    }

    /// Records whose parent is `parent` (a child's measurements, a woman's pregnancies, ...).
    pub fn children_of(&self, parent: Uuid, kind: Kind) -> Result<Vec<Record>> {
        self.list_ids_by_parent(parent, kind)?
            .into_iter()
            .filter_map(|id| self.get(id).transpose())
            .collect()
    }

    fn list_ids_by_parent(&self, parent: Uuid, kind: Kind) -> Result<Vec<Uuid>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id FROM records WHERE parent_id = ?1 AND kind = ?2 ORDER BY id",
        )?;
        let ids = st
            .query_map(params![parent.to_string(), kind.as_str()], |r| {
                r.get::<_, String>(0)
            })?
            .filter_map(|s| s.ok().and_then(|s| Uuid::parse_str(&s).ok()))
            .collect();
        Ok(ids)
    }

    pub fn count(&self, kind: Kind) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM records WHERE kind = ?1",
            [kind.as_str()],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    pub fn pending_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    pub fn refused(&self) -> Result<Vec<RefusedEdit>> {
        let mut st = self.conn.prepare_cached(
            "SELECT device_seq, kind, id, fields, code, message, message_en, refused_ms
             FROM refused ORDER BY device_seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, id, fields, code, message, message_en, refused_ms) = row?;
            out.push(RefusedEdit {
                device_seq: seq as u64,
                kind: kind.parse().map_err(crate::CoreError::BadData)?,
                id: Uuid::parse_str(&id).map_err(|e| crate::CoreError::BadData(e.to_string()))?,
                fields: serde_json::from_str(&fields)?,
                code,
                message,
                message_en,
                refused_ms,
            });
        }
        Ok(out)
    }

    /// The raw connection, for the report and export code in this crate.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn to_record(
    id: Uuid,
    kind: &str,
    posyandu: Option<String>,
    fields: &str,
    pending: u32,
) -> Result<Record> {
    Ok(Record {
        id,
        kind: kind.parse().map_err(crate::CoreError::BadData)?,
        posyandu_id: posyandu.and_then(|p| Uuid::parse_str(&p).ok()),
        fields: serde_json::from_str(fields)?,
        pending,
    })
}

/// Record lookups inside a transaction (validation reads what the transaction sees).
pub(crate) struct ConnLookup<'a>(pub &'a Connection);

impl Lookup for ConnLookup<'_> {
    fn fields_of(&self, kind: Kind, id: Uuid) -> Option<Fields> {
        self.0
            .prepare_cached("SELECT fields FROM records WHERE id = ?1 AND kind = ?2")
            .and_then(|mut st| {
                st.query_row(params![id.to_string(), kind.as_str()], |r| {
                    r.get::<_, String>(0)
                })
            })
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
    }
}

/// The posyandu a record belongs to: its own `posyandu_id`, or its parent's scope.
/// Returns (posyandu, parent id).
pub(crate) fn scope_of(
    conn: &Connection,
    kind: Kind,
    fields: &Fields,
) -> Result<(Option<Uuid>, Option<Uuid>)> {
    let own = |k: &str| {
        fields
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    if kind == Kind::Posyandu {
        return Ok((None, None));
    }
    for pf in kind.parent_fields() {
        if let Some(parent) = own(pf) {
            let p: Option<Option<String>> = conn
                .prepare_cached("SELECT posyandu_id FROM records WHERE id = ?1")?
                .query_row([parent.to_string()], |r| r.get(0))
                .optional()?;
            let posyandu = p.flatten().and_then(|s| Uuid::parse_str(&s).ok());
            return Ok((posyandu, Some(parent)));
        }
    }
    Ok((own("posyandu_id"), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::ManualClock;

    #[test]
    fn what_the_person_saw_saved_survives_a_power_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let mode: i64 = store
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2, "synchronous=FULL");
    }

    #[test]
    fn today_is_the_local_calendar_date() {
        let dir = tempfile::tempdir().unwrap();
        // 2027-01-31 23:30 UTC is 1 February 08:30 in WIT (UTC+9).
        let clock = ManualClock::new(1_801_438_200_000);
        let store = LocalStore::open_with_clock(dir.path(), Arc::new(clock.clone())).unwrap();
        assert_eq!(store.today().to_string(), "2027-01-31");
        clock.set_utc_offset_secs(9 * 3600);
        assert_eq!(store.today().to_string(), "2027-02-01");
        clock.set_utc_offset_secs(7 * 3600);
        assert_eq!(store.today().to_string(), "2027-02-01");
    }
}
