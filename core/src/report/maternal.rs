//! Pregnant women: chronic energy deficiency (KEK) and anaemia measured in the month.
//!
//! - **Pregnant at the month's end** (ibu hamil): a pregnancy of a woman of the area still in
//!   the area on the month's last day, started by then (HPHT on or before it; without HPHT, a
//!   first visit on or before it) and not ended by then (no outcome other than `hamil` dated on
//!   or before it; an outcome without a date ends it). A pregnancy without outcome is taken as
//!   over 43 weeks after its HPHT (or 2 weeks after its due date when the HPHT is missing;
//!   with neither, when its last visit is more than 3 months old) so that forgotten records do
//!   not count forever.
//! - **Examined** this month: pregnancies with a visit dated in the month.
//! - **KEK**: the last LiLA measured in the month is below 23.5 cm (compared in tenths of a cm).
//! - **Anaemia**: the last Hb measured in the month is below 11 g/dL (in tenths of g/dL).
//! - Percentages of KEK and anaemia are of the women measured (LiLA, Hb) this month.

use std::ops::AddAssign;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::input::{Gone, PregRec, VisitRec};
use super::{percent, PlaceRef, YearMonth};

/// LiLA below this (in tenths of a cm) is KEK.
pub const KEK_LILA_TENTHS_CM: i64 = 235;
/// Hb below this (in tenths of g/dL) is anaemia.
pub const ANAEMIA_HB_TENTHS: i64 = 110;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MaternalCounts {
    /// Pregnant at the month's end.
    pub pregnant: u32,
    /// Pregnancies with a visit this month.
    pub examined: u32,
    /// LiLA measured this month.
    pub lila_measured: u32,
    /// LiLA < 23.5 cm.
    pub kek: u32,
    pub kek_pct: Option<f64>,
    /// Hb measured this month.
    pub hb_measured: u32,
    /// Hb < 11 g/dL.
    pub anaemia: u32,
    pub anaemia_pct: Option<f64>,
}

impl MaternalCounts {
    pub fn finish(&mut self) {
        self.kek_pct = percent(self.kek, self.lila_measured);
        self.anaemia_pct = percent(self.anaemia, self.hb_measured);
    }

    pub(crate) fn add_pregnancy(&mut self, p: &PregRec, visits: &[VisitRec], month: YearMonth) {
        let (first, last) = (month.first_day(), month.last_day());
        if pregnant_on(p, visits, last) {
            self.pregnant += 1;
        }
        let start = visits.partition_point(|v| v.date < first);
        let end = visits.partition_point(|v| v.date <= last);
        let in_month = &visits[start..end];
        if in_month.is_empty() {
            return;
        }
        self.examined += 1;
        // Visits are sorted by date: the last with a value is the month's value.
        if let Some(lila) = in_month.iter().rev().find_map(|v| v.muac_cm) {
            self.lila_measured += 1;
            self.kek += (tenths(lila) < KEK_LILA_TENTHS_CM) as u32;
        }
        if let Some(hb) = in_month.iter().rev().find_map(|v| v.hb_g_dl) {
            self.hb_measured += 1;
            self.anaemia += (tenths(hb) < ANAEMIA_HB_TENTHS) as u32;
        }
    }
}

fn tenths(x: f64) -> i64 {
    (x * 10.0).round() as i64
}

fn pregnant_on(p: &PregRec, visits: &[VisitRec], day: NaiveDate) -> bool {
    if !Gone::present_on(p.woman_gone, day) {
        return false;
    }
    match p.ended {
        Some(None) => return false,
        Some(Some(d)) if d <= day => return false,
        _ => {}
    }
    let first_visit = visits.first().map(|v| v.date);
    let started = match p.hpht {
        Some(h) => h <= day,
        None => first_visit.is_some_and(|d| d <= day),
    };
    if !started {
        return false;
    }
    // Forgotten records: no outcome long after the expected birth.
    let stale = match (p.hpht, p.due) {
        (Some(h), _) => h
            .checked_add_days(Days::new(43 * 7))
            .is_some_and(|e| e < day),
        (None, Some(due)) => due.checked_add_days(Days::new(14)).is_some_and(|e| e < day),
        (None, None) => visits
            .iter()
            .rev()
            .find(|v| v.date <= day)
            .and_then(|v| v.date.checked_add_days(Days::new(92)))
            .is_some_and(|e| e < day),
    };
    !stale
}

impl AddAssign<&MaternalCounts> for MaternalCounts {
    fn add_assign(&mut self, o: &MaternalCounts) {
        self.pregnant += o.pregnant;
        self.examined += o.examined;
        self.lila_measured += o.lila_measured;
        self.kek += o.kek;
        self.hb_measured += o.hb_measured;
        self.anaemia += o.anaemia;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaternalRow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub counts: MaternalCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaternalReport {
    pub rows: Vec<MaternalRow>,
    pub total: MaternalCounts,
}
