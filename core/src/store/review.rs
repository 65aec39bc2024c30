//! The bidan's review work on the device: choosing a value in a conflict, merging duplicate
//! children. Each is an ordinary edit, so it syncs everywhere like any other.

use super::{EditOutcome, LocalStore};
use crate::error::{CoreError, Problem, Result};
use crate::model::{Fields, Kind};
use serde_json::Value;
use uuid::Uuid;

fn s<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
    f.get(k).and_then(Value::as_str)
}

fn not_open(what: &str) -> CoreError {
    CoreError::invalid(Problem::new(
        "already_resolved",
        None,
        format!("{what} ini sudah diselesaikan"),
        format!("This {what} is already resolved"),
    ))
}

/// Which value the bidan keeps in a conflict.
#[derive(Debug, Clone)]
pub enum Choice {
    Winning,
    Losing,
    Value(Value),
}

impl LocalStore {
    /// Resolve a conflict: the chosen value becomes a new edit of the record's field, and the
    /// conflict is marked resolved. Both edits travel to every device.
    pub fn resolve_conflict(&mut self, conflict: Uuid, choice: Choice) -> Result<EditOutcome> {
        let c = self
            .get(conflict)?
            .filter(|r| r.kind == Kind::Conflict)
            .ok_or_else(|| CoreError::NotFound(format!("conflict {conflict}")))?;
        if s(&c.fields, "status") != Some("terbuka") {
            return Err(not_open("Konflik"));
        }
        let kind: Kind = s(&c.fields, "record_kind")
            .unwrap_or_default()
            .parse()
            .map_err(CoreError::BadData)?;
        let record = s(&c.fields, "record_id")
            .and_then(|r| Uuid::parse_str(r).ok())
            .ok_or_else(|| CoreError::BadData("conflict without record".into()))?;
        let field = s(&c.fields, "field").unwrap_or_default().to_string();
        let value = match choice {
            Choice::Winning => c
                .fields
                .get("winning_value")
                .cloned()
                .unwrap_or(Value::Null),
            Choice::Losing => c.fields.get("losing_value").cloned().unwrap_or(Value::Null),
            Choice::Value(v) => v,
        };
        let mut edit = Fields::new();
        edit.insert(field, value.clone());
        let out = self.update(kind, record, edit)?;
        let mut done = Fields::new();
        done.insert("status".into(), Value::from("selesai"));
        done.insert("chosen_value".into(), value);
        self.update(Kind::Conflict, conflict, done)?;
        Ok(out)
    }

    /// Merge a pair of possible duplicates, keeping `keep`: the other child is marked merged into
    /// it, and the server moves its measurements and other records to the kept child.
    pub fn merge_duplicate(&mut self, duplicate: Uuid, keep: Uuid) -> Result<EditOutcome> {
        let d = self
            .get(duplicate)?
            .filter(|r| r.kind == Kind::Duplicate)
            .ok_or_else(|| CoreError::NotFound(format!("duplicate {duplicate}")))?;
        if s(&d.fields, "status") != Some("terbuka") {
            return Err(not_open("Duplikat"));
        }
        let (a, b) = (s(&d.fields, "child_a"), s(&d.fields, "child_b"));
        let keep_s = keep.to_string();
        let other = if a == Some(&keep_s) {
            b
        } else if b == Some(&keep_s) {
            a
        } else {
            return Err(CoreError::invalid(Problem::new(
                "not_in_pair",
                Some("keep"),
                "Anak yang dipertahankan harus salah satu dari pasangan duplikat".into(),
                "The kept child must be one of the pair".into(),
            )));
        };
        let other = other
            .and_then(|o| Uuid::parse_str(o).ok())
            .ok_or_else(|| CoreError::BadData("duplicate without pair".into()))?;
        let mut f = Fields::new();
        f.insert("merged_into".into(), Value::from(keep_s.clone()));
        f.insert("status".into(), Value::from("digabung"));
        let out = self.update(Kind::Child, other, f)?;
        let mut done = Fields::new();
        done.insert("status".into(), Value::from("digabung"));
        done.insert("kept_id".into(), Value::from(keep_s));
        self.update(Kind::Duplicate, duplicate, done)?;
        Ok(out)
    }
}
