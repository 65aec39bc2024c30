//! Making edits on the device: the record change and its outbox entry in one transaction.

use super::{meta, scope_of, ConnLookup, LocalStore};
use crate::error::{CoreError, Problem, Result};
use crate::model::{check_write, validate_record, Fields, Kind, Warning};
use crate::protocol::Role;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct EditOutcome {
    pub id: Uuid,
    pub device_seq: u64,
    pub warnings: Vec<Warning>,
}

fn refuse(code: &str, id: String, en: String) -> CoreError {
    CoreError::invalid(Problem::new(code, None, id, en))
}

impl LocalStore {
    /// Create a record. Returns its new UUIDv7 id.
    pub fn create(&mut self, kind: Kind, fields: Fields) -> Result<EditOutcome> {
        self.write(kind, Uuid::now_v7(), fields, true)
    }

    /// Change some fields of an existing record (`null` clears a field).
    pub fn update(&mut self, kind: Kind, id: Uuid, fields: Fields) -> Result<EditOutcome> {
        self.write(kind, id, fields, false)
    }

    fn write(
        &mut self,
        kind: Kind,
        id: Uuid,
        changes: Fields,
        create: bool,
    ) -> Result<EditOutcome> {
        if changes.is_empty() {
            return Err(refuse(
                "nothing_to_change",
                "Tidak ada yang diubah".into(),
                "Nothing to change".into(),
            ));
        }
        if kind.is_master() {
            return Err(refuse(
                "master_data_readonly",
                format!("Data {kind} hanya dibuat di server puskesmas"),
                format!("{kind} records are made on the puskesmas server only"),
            ));
        }
        let enrollment = self.enrollment()?;
        if let Some(e) = &enrollment {
            check_write(&e.role, kind, &changes).map_err(CoreError::invalid)?;
        }
        let now = self.clock.now_ms();
        let today = self.today();
        let tx = self.conn.transaction()?;
        let current: Option<(String, String)> = tx
            .prepare_cached("SELECT kind, fields FROM records WHERE id = ?1")?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let mut fields: Fields = match (&current, create) {
            (Some(_), true) => {
                return Err(refuse(
                    "already_exists",
                    format!("Data {id} sudah ada"),
                    format!("Record {id} already exists"),
                ))
            }
            (None, false) => return Err(CoreError::NotFound(format!("{kind} {id}"))),
            (Some((k, _)), false) if k != kind.as_str() => {
                return Err(CoreError::NotFound(format!("{kind} {id}")))
            }
            (Some((_, f)), false) => serde_json::from_str(f)?,
            (None, true) => Fields::new(),
        };
        crate::model::apply_changes(&mut fields, &changes);
        let warnings =
            validate_record(kind, &fields, &ConnLookup(&tx), today).map_err(CoreError::Invalid)?;
        let (posyandu, parent) = scope_of(&tx, kind, &fields)?;
        if let (Some(e), Some(p)) = (&enrollment, posyandu) {
            if e.role == Role::Kader && e.posyandu_id != Some(p) {
                return Err(refuse(
                    "out_of_scope",
                    "Data ini milik posyandu lain".into(),
                    "This record belongs to another posyandu".into(),
                ));
            }
        }
        let device_seq = meta::get_i64(&tx, "next_device_seq")?.max(1);
        meta::set(&tx, "next_device_seq", &(device_seq + 1).to_string())?;
        let base_seq = meta::get_i64(&tx, "cursor")?;
        tx.prepare_cached(
            "INSERT INTO records(id, kind, posyandu_id, parent_id, fields, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)
             ON CONFLICT(id) DO UPDATE SET posyandu_id = excluded.posyandu_id,
                 parent_id = excluded.parent_id, fields = excluded.fields",
        )?
        .execute(params![
            id.to_string(),
            kind.as_str(),
            posyandu.map(|p| p.to_string()),
            parent.map(|p| p.to_string()),
            serde_json::to_string(&fields)?
        ])?;
        tx.prepare_cached(
            "INSERT INTO outbox(device_seq, kind, id, base_seq, fields, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            device_seq,
            kind.as_str(),
            id.to_string(),
            base_seq,
            serde_json::to_string(&changes)?,
            now
        ])?;
        super::pause_before_commit();
        tx.commit()?;
        Ok(EditOutcome {
            id,
            device_seq: device_seq as u64,
            warnings,
        })
    }

    /// The server had applied other edits under this device's numbers up to `server_last`
    /// (this store was restored from a backup, copied, or lost its last commits): give every
    /// pending edit, in order, a number after it, so none is taken for an edit already
    /// applied. Returns how many pending edits were numbered again.
    pub fn renumber_outbox(&mut self, server_last: u64) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let (count, first): (i64, Option<i64>) =
            tx.query_row("SELECT COUNT(*), MIN(device_seq) FROM outbox", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let shift = first.map_or(0, |f| (server_last as i64 + 1 - f).max(0));
        if shift > 0 {
            // Through negative numbers, so no row meets another's number on the way.
            tx.execute_batch(&format!(
                "UPDATE outbox SET device_seq = -(device_seq + {shift});
                 UPDATE outbox SET device_seq = -device_seq;"
            ))?;
        }
        let max: Option<i64> =
            tx.query_row("SELECT MAX(device_seq) FROM outbox", [], |r| r.get(0))?;
        let next = meta::get_i64(&tx, "next_device_seq")?
            .max(server_last as i64 + 1)
            .max(max.unwrap_or(0) + 1);
        meta::set(&tx, "next_device_seq", &next.to_string())?;
        tx.commit()?;
        Ok(if shift > 0 { count as u64 } else { 0 })
    }
}
