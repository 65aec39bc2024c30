//! The instant verdict for a measurement, from what the device holds: the child's sex and birth
//! date and its earlier weighings.

use super::LocalStore;
use crate::error::{CoreError, Result};
use crate::growth::{assess, Assessment, Measurement, Position, Sex, Weighing};
use crate::model::{Fields, Kind};
use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

fn date(f: &Fields, k: &str) -> Option<NaiveDate> {
    f.get(k)
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}
fn num(f: &Fields, k: &str) -> Option<f64> {
    f.get(k).and_then(Value::as_f64)
}

impl LocalStore {
    /// Assess a stored measurement against the WHO standards, the KBM and the child's history.
    pub fn assess_measurement(&self, id: Uuid) -> Result<Assessment> {
        let m = self
            .get(id)?
            .filter(|r| r.kind == Kind::Measurement)
            .ok_or_else(|| CoreError::NotFound(format!("measurement {id}")))?;
        let child_id = m
            .fields
            .get("child_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| CoreError::BadData("measurement without child".into()))?;
        let child = self
            .get(child_id)?
            .ok_or_else(|| CoreError::NotFound(format!("child {child_id}")))?;
        let sex: Sex =
            serde_json::from_value(child.fields.get("sex").cloned().unwrap_or(Value::Null))?;
        let birth = date(&child.fields, "birth_date")
            .ok_or_else(|| CoreError::BadData("child without birth date".into()))?;
        let on = date(&m.fields, "date")
            .ok_or_else(|| CoreError::BadData("measurement without date".into()))?;
        let mut earlier: Vec<Weighing> = self
            .children_of(child_id, Kind::Measurement)?
            .into_iter()
            .filter(|r| r.id != id)
            .filter_map(|r| {
                Some(Weighing {
                    date: date(&r.fields, "date")?,
                    weight_kg: num(&r.fields, "weight_kg")?,
                })
            })
            .filter(|w| w.date < on)
            .collect();
        earlier.sort_by_key(|w| w.date);
        let position = m
            .fields
            .get("position")
            .cloned()
            .map(serde_json::from_value::<Position>)
            .transpose()?;
        let measurement = Measurement {
            date: on,
            weight_kg: num(&m.fields, "weight_kg"),
            lenhei_cm: num(&m.fields, "length_cm"),
            position,
            head_cm: num(&m.fields, "head_cm"),
            muac_cm: num(&m.fields, "muac_cm"),
            oedema: m
                .fields
                .get("oedema")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        assess(sex, birth, &measurement, &earlier).map_err(|e| CoreError::BadData(e.to_string()))
    }
}
