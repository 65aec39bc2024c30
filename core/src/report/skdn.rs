//! SKDN: the monthly weighing report of a posyandu.
//!
//! For a month M (see the module notes of [`crate::report`] for the month's edge cases):
//! - **S**: balita in the area on M's last day: born by then, aged 0-59 completed months on
//!   that day, not moved away or dead on or before it, not merged into another record.
//! - **K**: children in S with a KMS / Buku KIA (`has_kms = true`; missing counts as no).
//! - **D**: children in S with a weighing (a measurement with a weight) dated in M.
//! - **N / T / O / B**: the month's weighing (the last one in M) assessed by
//!   [`crate::growth::assess`] against the child's earlier weighings (one per month, the last
//!   of each month): N gained at least the KBM since last month's weighing, T gained less,
//!   stayed or lost, O weighed in M but not in M-1 (weighed before), B first weighing ever.
//! - **2T**: children in D whose weighings of M and M-1 are both T.
//! - **BGM**: children in D whose weight-for-age at the month's weighing is below -3 SD
//!   (oedema makes weight-for-age unusable: such a child is not counted as BGM; it is referred
//!   for the oedema itself).
//! - The check **D = N + T + O + B** fails only when a weighing cannot be decided (a weighing
//!   dated before the birth date: a data error); such weighings are counted in
//!   [`Skdn::undetermined`] and the broken check is reported.
//! - Ratios in percent: K/S, D/S, D/K, N/D, N/S (`None` when the denominator is 0). Usual
//!   targets: K/S 80 %, D/S at least 80-85 %.

use std::ops::AddAssign;

use chrono::NaiveDate;
use serde::Serialize;

use crate::growth::{assess, completed_months, Assessment, Measurement, Weighing, WeightTrend};

use super::input::{ChildRec, Gone, MeasRec};
use super::{percent, PlaceRef, YearMonth};

/// The SKDN counts of one posyandu (or a sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Skdn {
    pub s: u32,
    pub k: u32,
    pub d: u32,
    pub n: u32,
    pub t: u32,
    pub o: u32,
    pub b: u32,
    /// 2T.
    pub two_t: u32,
    pub bgm: u32,
    /// Weighings in D whose N / T / O / B could not be decided (data errors).
    pub undetermined: u32,
    /// K/S in percent.
    pub k_s: Option<f64>,
    /// D/S in percent.
    pub d_s: Option<f64>,
    /// D/K in percent.
    pub d_k: Option<f64>,
    /// N/D in percent.
    pub n_d: Option<f64>,
    /// N/S in percent.
    pub n_s: Option<f64>,
    /// D = N + T + O + B.
    pub check_ok: bool,
}

impl Skdn {
    /// N + T + O + B.
    pub fn ntob(&self) -> u32 {
        self.n + self.t + self.o + self.b
    }

    /// Computes the ratios and the check from the counts.
    pub fn finish(&mut self) {
        self.k_s = percent(self.k, self.s);
        self.d_s = percent(self.d, self.s);
        self.d_k = percent(self.d, self.k);
        self.n_d = percent(self.n, self.d);
        self.n_s = percent(self.n, self.s);
        self.check_ok = self.d == self.ntob();
    }
}

impl AddAssign<&Skdn> for Skdn {
    fn add_assign(&mut self, o: &Skdn) {
        self.s += o.s;
        self.k += o.k;
        self.d += o.d;
        self.n += o.n;
        self.t += o.t;
        self.o += o.o;
        self.b += o.b;
        self.two_t += o.two_t;
        self.bgm += o.bgm;
        self.undetermined += o.undetermined;
    }
}

/// One posyandu's SKDN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkdnRow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub counts: Skdn,
}

/// SKDN per posyandu and summed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkdnReport {
    pub rows: Vec<SkdnRow>,
    pub total: Skdn,
}

/// What the month means for one child in S.
#[derive(Debug, Clone)]
pub(crate) struct ChildMonth {
    /// Weighed in the month (in D).
    pub weighed: bool,
    /// The month's measurement assessed: the last weighing of the month, or when the child
    /// was only measured (no weight), the last measurement of the month. `None` when not
    /// measured in the month or when the measurement is dated before the birth date.
    pub assessment: Option<Assessment>,
}

/// Whether a child is in S for `month` (see the module notes) and its age in completed months
/// on the month's last day.
pub(crate) fn in_s(c: &ChildRec, month: YearMonth) -> Option<u32> {
    let last = month.last_day();
    if c.birth > last || !Gone::present_on(c.gone, last) {
        return None;
    }
    completed_months(c.birth, last).filter(|&m| m <= 59)
}

fn to_measurement(m: &MeasRec) -> Measurement {
    Measurement {
        date: m.date,
        weight_kg: m.weight_kg,
        lenhei_cm: m.lenhei_cm,
        position: m.position,
        head_cm: m.head_cm,
        muac_cm: m.muac_cm,
        oedema: m.oedema,
    }
}

/// The month for one child in S. `meas` is the child's history sorted by date (then id).
pub(crate) fn child_month(c: &ChildRec, meas: &[MeasRec], month: YearMonth) -> ChildMonth {
    let first: NaiveDate = month.first_day();
    let last = month.last_day();
    let start = meas.partition_point(|m| m.date < first);
    let end = meas.partition_point(|m| m.date <= last);
    let in_month = &meas[start..end];
    // The last weighing in the month; else the last measurement with a length.
    let chosen = in_month
        .iter()
        .rposition(|m| m.weight_kg.is_some())
        .or_else(|| in_month.iter().rposition(|m| m.lenhei_cm.is_some()));
    let Some(pos) = chosen else {
        return ChildMonth {
            weighed: false,
            assessment: None,
        };
    };
    let m = &in_month[pos];
    let weighed = m.weight_kg.is_some();
    // Earlier weighings: everything before this one's date (assess also drops later ones and
    // lets this one replace an earlier weighing of the same month).
    let earlier: Vec<Weighing> = meas[..start + pos]
        .iter()
        .filter(|e| e.date < m.date)
        .filter_map(|e| {
            e.weight_kg.map(|w| Weighing {
                date: e.date,
                weight_kg: w,
            })
        })
        .collect();
    ChildMonth {
        weighed,
        assessment: assess(c.sex, c.birth, &to_measurement(m), &earlier).ok(),
    }
}

impl Skdn {
    /// Counts one child in S.
    pub(crate) fn add_child(&mut self, c: &ChildRec, cm: &ChildMonth) {
        self.s += 1;
        self.k += c.has_kms as u32;
        if !cm.weighed {
            return;
        }
        self.d += 1;
        let a = cm.assessment.as_ref();
        match a.and_then(|a| a.trend) {
            Some(WeightTrend::N) => self.n += 1,
            Some(WeightTrend::T) => self.t += 1,
            Some(WeightTrend::O) => self.o += 1,
            Some(WeightTrend::B) => self.b += 1,
            None => self.undetermined += 1,
        }
        if let Some(a) = a {
            self.two_t += a.two_t as u32;
            self.bgm += a.bgm as u32;
        }
    }
}
