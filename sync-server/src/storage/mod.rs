//! The master store. One trait for every backend (the embedded SQLite file, PostgreSQL for a
//! district): the backends only read and write rows, while the merge, scope and conflict rules
//! live once in `engine`, run inside the backend's transaction.

pub mod batch;
pub mod clocks;
pub mod engine;
pub mod postgres;
pub mod scope_digest;
pub mod sqlite;

use crate::error::ServerError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sinergi_core::merge::FieldState;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{Change, Exit, Refusal, Role, SyncRequest, SyncResponse};
use sinergi_core::Problem;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// One field as the master keeps it: value, merge timestamp and the sequence of its last change.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MasterField {
    #[serde(flatten)]
    pub state: FieldState,
    pub seq: i64,
}

/// A record in the master copy.
#[derive(Debug, Clone, PartialEq)]
pub struct MasterRecord {
    pub kind: Kind,
    pub id: Uuid,
    pub posyandu_id: Option<Uuid>,
    pub puskesmas_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub fields: BTreeMap<String, MasterField>,
    pub seq: i64,
}

impl MasterRecord {
    pub fn values(&self) -> Fields {
        self.fields
            .iter()
            .filter(|(_, f)| !f.state.value.is_null())
            .map(|(k, f)| (k.clone(), f.state.value.clone()))
            .collect()
    }
}

/// Who is asking: a device (with its user's role and scope) or the server itself (admin CLI).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    pub device_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    /// None only for the server itself (every puskesmas).
    pub puskesmas_id: Option<Uuid>,
    pub posyandu_id: Option<Uuid>,
}

impl Principal {
    /// The server's own edits (admin commands, seeding, merges it cascades).
    pub fn server() -> Self {
        Principal {
            device_id: Uuid::nil(),
            user_id: Uuid::nil(),
            role: Role::Admin,
            puskesmas_id: None,
            posyandu_id: None,
        }
    }

    pub fn is_server(&self) -> bool {
        self.device_id.is_nil()
    }

    /// May this principal read or write a record with this scope?
    pub fn covers(&self, posyandu: Option<Uuid>, puskesmas: Option<Uuid>) -> bool {
        if self.is_server() {
            return true;
        }
        match self.role {
            Role::Kader => posyandu.is_some() && posyandu == self.posyandu_id,
            _ => puskesmas.is_some() && puskesmas == self.puskesmas_id,
        }
    }

    /// Must this device drop a record that left (old posyandu and puskesmas) for a puskesmas?
    /// A kader's posyandu loses it wherever it went; a bidan or coordinator only when it left
    /// her puskesmas.
    pub fn sees_exit(
        &self,
        old_posyandu: Option<Uuid>,
        old_puskesmas: Option<Uuid>,
        new_puskesmas: Option<Uuid>,
    ) -> bool {
        !self.is_server()
            && self.covers(old_posyandu, old_puskesmas)
            && match self.role {
                Role::Kader => true,
                _ => new_puskesmas != self.puskesmas_id,
            }
    }
}

/// A user as stored.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub puskesmas_id: Uuid,
    pub posyandu_id: Option<Uuid>,
    #[serde(skip)]
    pub password_hash: String,
    /// Disabled by an admin (`user disable`): her devices are refused and her password enrolls
    /// nothing until she is enabled again.
    pub disabled: bool,
}

/// A user with the number of her devices that are not revoked (what `user list` shows).
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    #[serde(flatten)]
    pub user: User,
    pub active_devices: u64,
}

/// The device a token belongs to, with its user's scope and what may refuse it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenHolder {
    pub principal: Principal,
    /// When the device was revoked, if it was.
    pub revoked_ms: Option<i64>,
    /// Its user is disabled.
    pub user_disabled: bool,
    /// The key its bundle files must be signed with, once known.
    pub public_key: Option<String>,
}

/// A device as stored (never its token, only the token's hash).
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user: String,
    pub role: Role,
    pub name: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    pub last_sync_ms: Option<i64>,
    pub last_applied: u64,
    /// The public key (hex) that signs its bundle files (`sinergi_core::seal`): given at
    /// enrollment, or bound by its first signed file.
    pub public_key: Option<String>,
}

/// One page of what changed in a scope after a cursor.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub changes: Vec<Change>,
    pub exits: Vec<Exit>,
    pub cursor: i64,
    pub more: bool,
    /// The text of the records in `changes` (what `MAX_PAGE_BYTES` bounds).
    pub bytes: usize,
}

/// A page stops once its records' text passes this, whatever the record count asked for (the
/// first record always travels): a page of large records never makes an answer the device cannot
/// take (`MAX_BODY_BYTES`), nor one that takes minutes on a slow link.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

impl Page {
    /// Room for one more record whose values take `bytes` of text? When there is none the page
    /// is full (`more`), and the record waits for the next one.
    pub fn has_room(&mut self, bytes: usize) -> bool {
        if !self.changes.is_empty() && self.bytes + bytes > MAX_PAGE_BYTES {
            self.more = true;
            return false;
        }
        self.bytes += bytes;
        true
    }

    /// How far this page reaches: to its last record when it is full (by count or by bytes),
    /// else to the store's current sequence.
    pub fn reach(&mut self, limit: u32, current_seq: impl FnOnce() -> Result<i64>) -> Result<i64> {
        if self.more || self.changes.len() as u32 >= limit {
            self.more = true;
            return Ok(self.changes.last().map(|c| c.seq).unwrap_or_default());
        }
        current_seq()
    }
}

/// A record that left a scope (old posyandu/puskesmas) for another puskesmas (or the same).
#[derive(Debug, Clone, PartialEq)]
pub struct ExitRow {
    pub seq: i64,
    pub kind: Kind,
    pub id: Uuid,
    pub old_posyandu: Option<Uuid>,
    pub old_puskesmas: Option<Uuid>,
    pub new_puskesmas: Option<Uuid>,
}

/// What the engine needs from a backend, inside one transaction: rows read and written many at
/// a time (`batch::Batch` reads a request's rows in a few statements, decides in memory and
/// writes them in a few more; over a network each statement is a round trip).
pub trait RecordTx {
    /// The records of these ids that exist (in no particular order).
    fn get_many(&self, ids: &[Uuid]) -> Result<Vec<MasterRecord>>;
    /// Write records (each id once) whose `seq` the engine has already taken.
    fn put_many(&self, recs: &[(&MasterRecord, &DupKeys)]) -> Result<()>;
    /// The sequence counter as this transaction sees it.
    fn current_seq(&self) -> Result<i64>;
    fn set_seq(&self, seq: i64) -> Result<()>;
    fn dependents(&self, parent: Uuid) -> Result<Vec<Uuid>>;
    fn add_exits(&self, exits: &[ExitRow]) -> Result<()>;
    /// Keep refusals (device, refusal), replacing any under the same device and number.
    fn add_refusals(&self, refusals: &[(Uuid, Refusal)]) -> Result<()>;
    fn refusals(&self, device: Uuid, from_seq: u64, to_seq: u64) -> Result<Vec<Refusal>>;
    /// The hashes (`engine::edit_hash`) this device's edits `from..=to` were handled with.
    fn edit_hashes(&self, device: Uuid, from_seq: u64, to_seq: u64) -> Result<Vec<(u64, String)>>;
    /// Keep (device, number, hash) rows, replacing any under the same device and number.
    fn add_edit_hashes(&self, hashes: &[(Uuid, u64, String)]) -> Result<()>;
    /// For each of these hashes this device sent an edit under, the lowest number it used.
    fn edit_seqs_of_hashes(&self, device: Uuid, hashes: &[String]) -> Result<HashMap<String, u64>>;
    /// (highest edit number applied, server time of the last sync, enrollment time)
    fn device_progress(&self, device: Uuid) -> Result<(u64, Option<i64>, i64)>;
    fn set_device_progress(&self, device: Uuid, last_applied: u64, last_sync_ms: i64)
        -> Result<()>;
    /// The children stored under any of these NIK or person keys (`DupKeys`).
    fn children_with_keys(&self, niks: &[String], persons: &[String]) -> Result<Vec<MasterRecord>>;
    /// Which of these pairs (`batch::pair_name`) a duplicate record names already.
    fn pairs_existing(&self, pairs: &[String]) -> Result<HashSet<String>>;
}

/// Keys under which children are compared for duplicates, and the pair a duplicate record names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DupKeys {
    pub nik: Option<String>,
    pub person: Option<String>,
    pub pair: Option<String>,
}

/// Called once per record by `MasterStore::scan`: kind, id, posyandu, current values.
pub type RecordVisitor<'a> = dyn FnMut(Kind, Uuid, Option<Uuid>, &Fields) + 'a;

/// The master store every front uses.
pub trait MasterStore: Send + Sync {
    /// Apply a device's request and answer it (one page; every page for a bundle).
    fn exchange(&self, who: &Principal, req: &SyncRequest, now_ms: i64) -> Result<SyncResponse>;
    /// An edit by the server itself (admin commands, seeding).
    fn server_write(&self, kind: Kind, id: Uuid, fields: Fields, now_ms: i64) -> Result<()>;
    fn get(&self, id: Uuid) -> Result<Option<MasterRecord>>;
    fn list(&self, kind: Kind) -> Result<Vec<MasterRecord>>;
    fn count(&self, kind: Kind) -> Result<u64>;
    fn add_user(&self, user: &User) -> Result<()>;
    fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    /// Every user, by name, with her devices that are not revoked.
    fn users(&self) -> Result<Vec<UserSummary>>;
    /// Disable or enable the user of this name; false when there is none (nothing changed).
    fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<bool>;
    /// Replace the password hash of the user of this name; false when there is none.
    fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<bool>;
    fn add_device(&self, device: &Device, token_hash: &str) -> Result<()>;
    /// The device holding this token hash, with its user's scope, whether it is revoked and
    /// whether its user is disabled (read on every request, so both take effect at once).
    fn principal_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>>;
    /// The same, for a device named by its id (a signed bundle file names its device).
    fn principal_by_device(&self, device: Uuid) -> Result<Option<TokenHolder>>;
    /// Bind this public key to a device that has none yet; true when the device now has
    /// exactly this key (bound now or before), false when it has another.
    fn bind_device_key(&self, device: Uuid, key: &str) -> Result<bool>;
    /// Give a device a new token (its old one, if any, stops working).
    fn set_device_token(&self, device: Uuid, token_hash: &str) -> Result<()>;
    /// A secret of the server itself (its signing key), if made.
    fn secret(&self, name: &str) -> Result<Option<String>>;
    /// Keep a secret unless one of that name exists; the value kept is returned either way, so
    /// two servers starting at once agree on one.
    fn add_secret(&self, name: &str, value: &str) -> Result<String>;
    fn devices(&self) -> Result<Vec<Device>>;
    fn revoke_device(&self, id: Uuid, now_ms: i64) -> Result<bool>;
    /// Every record (current values), in no particular order: what reports are built from.
    fn scan(&self, f: &mut RecordVisitor) -> Result<()>;
    /// Every row of the store, in the canonical order (see `Row`): what `migrate-store` copies
    /// and what the digest is computed from.
    fn export(&self, f: &mut dyn FnMut(Row) -> Result<()>) -> Result<()>;
    /// Write exported rows into this store, which must be empty, in one transaction.
    fn import(&self, rows: &mut dyn Iterator<Item = Result<Row>>) -> Result<()>;
    /// Nothing written yet (no record, user or device, sequence counter at 0)?
    fn is_empty(&self) -> Result<bool>;
    /// Everything in the store as one digest (for moving stores and comparing replicas). It is
    /// computed here, from the canonical rows, so the same content gives the same digest on every
    /// backend. A device's `last_sync_ms` (when it last called) is left out: it is not content,
    /// and a resent request must not change the digest.
    fn digest(&self) -> Result<String> {
        let mut h = Sha256::new();
        self.export(&mut |row| {
            h.update(row.canonical().as_bytes());
            h.update(b"\n");
            Ok(())
        })?;
        Ok(hex::encode(h.finalize()))
    }
}

/// One row of a store, as `export` gives them: the counters, records by id, exits by seq, users
/// by id, devices by id, refusals by (device, device_seq), edit hashes by (device, device_seq). `import` takes them in this order, which
/// also satisfies the references between them.
#[derive(Debug, Clone)]
pub enum Row {
    Counter(String, i64),
    Record(MasterRecord),
    Exit(ExitRow),
    User(User),
    Device(Device, String),
    Refusal(Uuid, Refusal),
    /// (device, device_seq, hash of the edit applied under that number)
    EditHash(Uuid, u64, String),
    /// (name, value): the server's own keys, which travel with its data.
    Secret(String, String),
}

impl Row {
    /// One line of JSON that does not depend on the backend (what the digest hashes).
    pub fn canonical(&self) -> String {
        use serde_json::json;
        let v = match self {
            Row::Counter(name, value) => json!(["counter", name, value]),
            Row::Record(r) => json!([
                "record",
                r.id,
                r.kind.as_str(),
                r.posyandu_id,
                r.puskesmas_id,
                r.parent_id,
                r.fields,
                r.seq
            ]),
            Row::Exit(e) => json!([
                "exit",
                e.seq,
                e.kind.as_str(),
                e.id,
                e.old_posyandu,
                e.old_puskesmas,
                e.new_puskesmas
            ]),
            Row::User(u) => {
                let mut line = json!([
                    "user",
                    u.id,
                    u.name,
                    u.role.as_str(),
                    u.puskesmas_id,
                    u.posyandu_id,
                    u.password_hash
                ]);
                // Only a disabled user's line says so: an enabled user's line is what it was
                // before users could be disabled, so digests taken then still compare equal.
                if u.disabled {
                    if let Some(a) = line.as_array_mut() {
                        a.push(json!("disabled"));
                    }
                }
                line
            }
            Row::Device(d, token_hash) => {
                let mut line = json!([
                    "device",
                    d.id,
                    d.user_id,
                    d.name,
                    token_hash,
                    d.created_ms,
                    d.revoked_ms,
                    d.last_applied
                ]);
                // As with `disabled`: only a device with a key has it in its line.
                if let (Some(k), Some(a)) = (&d.public_key, line.as_array_mut()) {
                    a.push(json!(k));
                }
                line
            }
            Row::Refusal(device, r) => json!([
                "refusal",
                device,
                r.device_seq,
                r.kind.as_str(),
                r.id,
                r.problem
            ]),
            Row::EditHash(device, seq, hash) => json!(["edit", device, seq, hash]),
            Row::Secret(name, value) => json!(["secret", name, value]),
        };
        v.to_string()
    }
}

/// Open the master store a `--database` value names: `postgres://...` (or `postgresql://`, or a
/// PostgreSQL key=value string starting with `host=`), `sqlite:PATH`, or a plain path to a SQLite
/// file.
pub fn open_store(spec: &str) -> Result<Box<dyn MasterStore>> {
    if spec.starts_with("postgres://")
        || spec.starts_with("postgresql://")
        || spec.starts_with("host=")
    {
        Ok(Box::new(postgres::PostgresStore::open(spec)?))
    } else {
        let path = spec.strip_prefix("sqlite:").unwrap_or(spec);
        Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(
            path,
        ))?))
    }
}

pub fn problem(code: &str, id: String, en: String) -> Problem {
    Problem::new(code, None, id, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(disabled: bool) -> User {
        User {
            id: Uuid::from_u128(1),
            name: "kader_a".into(),
            role: Role::Kader,
            puskesmas_id: Uuid::from_u128(2),
            posyandu_id: Some(Uuid::from_u128(3)),
            password_hash: "$argon2id$hash".into(),
            disabled,
        }
    }

    #[test]
    fn an_enabled_users_canonical_line_is_what_it_was_before_users_could_be_disabled() {
        // The line as it was written before the disabled flag: digests of stores taken then
        // still compare equal.
        assert_eq!(
            Row::User(user(false)).canonical(),
            r#"["user","00000000-0000-0000-0000-000000000001","kader_a","kader","00000000-0000-0000-0000-000000000002","00000000-0000-0000-0000-000000000003","$argon2id$hash"]"#
        );
        assert_eq!(
            Row::User(user(true)).canonical(),
            r#"["user","00000000-0000-0000-0000-000000000001","kader_a","kader","00000000-0000-0000-0000-000000000002","00000000-0000-0000-0000-000000000003","$argon2id$hash","disabled"]"#
        );
    }
}
