//! The posyandu day list: every active child of the device's scope, who is already weighed this
//! month and each one's last weighing. It opens the app, so it reads only the fields it shows
//! (SQLite's JSON functions) instead of parsing every record.

use super::LocalStore;
use crate::error::Result;
use crate::report::YearMonth;
use chrono::NaiveDate;
use rusqlite::types::ValueRef;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// One line of the day list.
#[derive(Debug, Clone, PartialEq)]
pub struct DayEntry {
    pub id: Uuid,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub nik: Option<String>,
    pub mother_name: Option<String>,
    pub dusun: Option<String>,
    /// Weighed (measured) in the month asked for.
    pub done: bool,
    pub last_date: Option<NaiveDate>,
    pub last_weight_kg: Option<f64>,
    /// Edits to the child not yet acknowledged by the server.
    pub pending: u32,
}

/// A JSON string field (validation keeps these fields text).
fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

impl LocalStore {
    /// Active children (not merged away, status `aktif` or unset), those still expected this
    /// `month` first, then those done; each group by name, ignoring case.
    pub fn day_list(&self, month: YearMonth) -> Result<Vec<DayEntry>> {
        // Each child's last measurement (a later date wins; on the same date the one listed
        // last), and whether one falls in the month.
        let mut last: HashMap<String, (NaiveDate, Option<f64>)> = HashMap::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut st = self.conn.prepare_cached(
            "SELECT json_extract(fields, '$.child_id'), json_extract(fields, '$.date'),
                    json_extract(fields, '$.weight_kg')
             FROM records WHERE kind = 'measurement' ORDER BY id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (Some(child), Some(date)) = (text(r.get_ref(0)?), text(r.get_ref(1)?)) else {
                continue;
            };
            let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
                continue;
            };
            let weight = match r.get_ref(2)? {
                ValueRef::Real(w) => Some(w),
                ValueRef::Integer(w) => Some(w as f64),
                _ => None,
            };
            if month.contains(date) {
                done.insert(child.clone());
            }
            let e = last.entry(child).or_insert((date, weight));
            if date >= e.0 {
                *e = (date, weight);
            }
        }

        let mut st = self.conn.prepare_cached(
            "SELECT r.id, json_extract(r.fields, '$.name'), json_extract(r.fields, '$.sex'),
                    json_extract(r.fields, '$.birth_date'), json_extract(r.fields, '$.nik'),
                    json_extract(r.fields, '$.mother_name'), json_extract(r.fields, '$.dusun'),
                    (SELECT COUNT(*) FROM outbox o WHERE o.id = r.id)
             FROM records r
             WHERE r.kind = 'child'
               AND json_extract(r.fields, '$.merged_into') IS NULL
               AND coalesce(json_extract(r.fields, '$.status'), 'aktif') = 'aktif'",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let l = last.get(&id);
            out.push(DayEntry {
                id: Uuid::parse_str(&id).map_err(|e| crate::CoreError::BadData(e.to_string()))?,
                name: text(r.get_ref(1)?).unwrap_or_default(),
                sex: text(r.get_ref(2)?).unwrap_or_default(),
                birth_date: text(r.get_ref(3)?).unwrap_or_default(),
                nik: text(r.get_ref(4)?),
                mother_name: text(r.get_ref(5)?),
                dusun: text(r.get_ref(6)?),
                done: done.contains(&id),
                last_date: l.map(|l| l.0),
                last_weight_kg: l.and_then(|l| l.1),
                pending: r.get(7)?,
            });
        }
        out.sort_by_cached_key(|e| (e.done, e.name.to_lowercase()));
        Ok(out)
    }
}
