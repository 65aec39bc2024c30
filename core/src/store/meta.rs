//! Small key-value state of the device: enrollment, cursor, clock, counters.

use super::LocalStore;
use crate::error::{CoreError, Result};
use crate::protocol::Role;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What enrolling gave this device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: Uuid,
    pub token: String,
    pub role: Role,
    pub user: String,
    pub puskesmas_id: Uuid,
    pub posyandu_id: Option<Uuid>,
}

/// Where this device stands with the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncState {
    pub pending_edits: u64,
    pub cursor: i64,
    /// Server clock (ms) of the last successful exchange.
    pub last_sync_ms: Option<i64>,
    pub clock_offset_ms: i64,
    pub clock_warning: bool,
    pub refused_edits: u64,
    /// The last digest check found this replica different from the server's copy of its
    /// scope; the next sync repairs the differing buckets.
    pub diverged: bool,
}

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

fn set_or_clear(conn: &Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => set(conn, key, v),
        None => {
            conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        }
    }
}

pub(crate) fn get_i64(conn: &Connection, key: &str) -> Result<i64> {
    Ok(get(conn, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

impl LocalStore {
    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        get(&self.conn, "enrollment")?
            .map(|s| serde_json::from_str(&s).map_err(CoreError::from))
            .transpose()
    }

    pub fn require_enrollment(&self) -> Result<Enrollment> {
        self.enrollment()?.ok_or(CoreError::NotEnrolled)
    }

    pub fn set_enrollment(&self, e: &Enrollment) -> Result<()> {
        set(&self.conn, "enrollment", &serde_json::to_string(e)?)
    }

    /// Forget a half-made enrollment (only while nothing else was stored with it).
    pub(crate) fn clear_enrollment(&self) -> Result<()> {
        self.conn
            .execute("DELETE FROM meta WHERE key = 'enrollment'", [])?;
        Ok(())
    }

    /// The extra certificate (PEM) this device trusts for its server, given at enrollment.
    pub fn server_ca(&self) -> Result<Option<String>> {
        get(&self.conn, "server_ca_pem")
    }

    pub fn set_server_ca(&self, pem: Option<&str>) -> Result<()> {
        set_or_clear(&self.conn, "server_ca_pem", pem)
    }

    /// This device's signing key (hex secret), made the first time it is asked for: its
    /// bundle files are signed with it (`crate::seal`).
    pub fn device_key(&self) -> Result<String> {
        if let Some(k) = get(&self.conn, "device_key")? {
            return Ok(k);
        }
        let k = crate::seal::new_secret();
        set(&self.conn, "device_key", &k)?;
        Ok(k)
    }

    /// The public key (hex) of this device's server, pinned at enrollment: only files it
    /// signed are opened.
    pub fn server_key(&self) -> Result<Option<String>> {
        get(&self.conn, "server_key")
    }

    pub fn set_server_key(&self, key: &str) -> Result<()> {
        set(&self.conn, "server_key", key)
    }

    /// The server's HTTPS certificate (SHA-256, hex) this device pins, if any.
    pub fn tls_pin(&self) -> Result<Option<String>> {
        get(&self.conn, "tls_pin")
    }

    pub fn set_tls_pin(&self, pin: Option<&str>) -> Result<()> {
        set_or_clear(&self.conn, "tls_pin", pin)
    }

    /// The device was enrolled over plain HTTP to another machine (`--insecure-http`): the app
    /// shows it in red.
    pub fn insecure_http(&self) -> Result<bool> {
        Ok(get(&self.conn, "insecure_http")?.as_deref() == Some("1"))
    }

    pub fn set_insecure_http(&self, on: bool) -> Result<()> {
        set_or_clear(&self.conn, "insecure_http", on.then_some("1"))
    }

    /// The ids of the request files this store wrote, oldest first (the last 64).
    fn exported_ids(&self) -> Result<Vec<String>> {
        Ok(get(&self.conn, "exported_requests")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Remember a request file written (its id), for `exported`; the last 64 are kept.
    pub fn note_exported(&self, id: &str) -> Result<()> {
        let mut ids = self.exported_ids()?;
        ids.push(id.to_string());
        let keep = ids.len().saturating_sub(64);
        set(
            &self.conn,
            "exported_requests",
            &serde_json::to_string(&ids[keep..])?,
        )
    }

    /// Did this store write the request file of this id?
    pub fn exported(&self, id: &str) -> Result<bool> {
        Ok(self.exported_ids()?.iter().any(|i| i == id))
    }

    pub fn sync_state(&self) -> Result<SyncState> {
        let c = &self.conn;
        Ok(SyncState {
            pending_edits: self.pending_count()?,
            cursor: get_i64(c, "cursor")?,
            last_sync_ms: get(c, "last_sync_ms")?.and_then(|v| v.parse().ok()),
            clock_offset_ms: get_i64(c, "clock_offset_ms")?,
            clock_warning: get(c, "clock_warning")?.as_deref() == Some("1"),
            refused_edits: c
                .query_row("SELECT COUNT(*) FROM refused", [], |r| r.get::<_, i64>(0))?
                as u64,
            diverged: get(c, "diverged")?.as_deref() == Some("1"),
        })
    }
}
