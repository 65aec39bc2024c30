//! Vitamin A coverage and immunizations of the month.
//!
//! **Vitamin A** (schedule data `vitamin_a`): capsules are given in the rounds starting in
//! February and August (six months each: February-July, August-January).
//! - Blue (100,000 IU): target = children in S aged 6-11 completed months on the month's last
//!   day; covered = those who received a blue capsule on or before that day (it is given once).
//! - Red (200,000 IU): target = children in S aged 12-59 months on that day; covered = those
//!   who received a capsule (red, or blue as the schedule's round rule allows) from the start of
//!   the running round to the month's end. In a sweeping month (March-July, September-January)
//!   the coverage is the round's so far.
//! - Given this month: children of the area who received a blue / red capsule dated in the
//!   month (event count, whatever their status later).
//!
//! **Immunization** (schedule data `vaccines`; old-register codes are mapped by the schedule's
//! aliases): a dose is given in the month when a child's first record of that vaccine is dated
//! in the month (a repeated entry of the same vaccine is not a new dose). Codes the schedule does
//! not know are counted as "lainnya".
//!
//! **Complete basic immunization (IDL, imunisasi dasar lengkap)**: the basic doses are the
//! schedule's vaccines due before 12 months that belong to no optional programme (rotavirus and
//! JE are left out where only some districts give them): HB0, BCG, OPV1-4, DPT-HB-Hib 1-3, IPV,
//! PCV1-2, MR1 in the current schedule. A child becomes IDL in the month when it has all of them
//! and the last of them is dated in the month; "IDL" when that last dose was given before 12
//! completed months, "lengkap > 12 bulan" when later.

use std::ops::AddAssign;

use chrono::NaiveDate;
use serde::Serialize;

use crate::growth::{completed_months, schedule};

use super::input::{ChildRec, ImmRec, VitaRec};
use super::{percent, PlaceRef, YearMonth};

/// Vitamin A counts of one posyandu (or a sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct VitaminACounts {
    /// Children in S aged 6-11 months.
    pub blue_target: u32,
    /// ... who received a blue capsule.
    pub blue_covered: u32,
    pub blue_pct: Option<f64>,
    /// Children in S aged 12-59 months.
    pub red_target: u32,
    /// ... who received a capsule in the running round.
    pub red_covered: u32,
    pub red_pct: Option<f64>,
    /// Children given a blue capsule this month.
    pub blue_given: u32,
    /// Children given a red capsule this month.
    pub red_given: u32,
}

impl VitaminACounts {
    pub fn finish(&mut self) {
        self.blue_pct = percent(self.blue_covered, self.blue_target);
        self.red_pct = percent(self.red_covered, self.red_target);
    }
}

impl AddAssign<&VitaminACounts> for VitaminACounts {
    fn add_assign(&mut self, o: &VitaminACounts) {
        self.blue_target += o.blue_target;
        self.blue_covered += o.blue_covered;
        self.red_target += o.red_target;
        self.red_covered += o.red_covered;
        self.blue_given += o.blue_given;
        self.red_given += o.red_given;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitaminARow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub counts: VitaminACounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitaminAReport {
    /// The month is a round's first month (February or August).
    pub round_month: bool,
    /// The first month of the running red-capsule round.
    pub round_start: YearMonth,
    pub rows: Vec<VitaminARow>,
    pub total: VitaminACounts,
}

/// The first month of the red-capsule round running in `month`.
pub(crate) fn round_start(month: YearMonth) -> YearMonth {
    let red = &schedule().vitamin_a.red;
    [month.year(), month.year() - 1]
        .into_iter()
        .flat_map(|y| {
            red.round_start_months
                .iter()
                .filter_map(move |&m| YearMonth::new(y, m))
        })
        .filter(|s| *s <= month)
        .max()
        .unwrap_or(month)
}

impl VitaminACounts {
    /// Counts one child of the area; `age_end` is `Some` (months on the last day) when the
    /// child is in S.
    pub(crate) fn add_child(
        &mut self,
        age_end: Option<u32>,
        caps: &[VitaRec],
        month: YearMonth,
        round: YearMonth,
    ) {
        let (first, last) = (month.first_day(), month.last_day());
        let in_month = |c: &&VitaRec| c.date >= first && c.date <= last;
        self.blue_given += caps.iter().filter(in_month).any(|c| !c.red) as u32;
        self.red_given += caps.iter().filter(in_month).any(|c| c.red) as u32;
        let Some(age) = age_end else { return };
        let va = &schedule().vitamin_a;
        if (va.blue.due_month..=va.blue.max_month).contains(&age) {
            self.blue_target += 1;
            self.blue_covered += caps.iter().any(|c| !c.red && c.date <= last) as u32;
        } else if (va.red.from_month..=va.red.to_month).contains(&age) {
            self.red_target += 1;
            let from = round.first_day();
            self.red_covered += caps.iter().any(|c| c.date >= from && c.date <= last) as u32;
        }
    }
}

/// One vaccine column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaccineColumn {
    pub code: String,
    pub name: String,
    /// Given only in some districts (rotavirus, JE).
    pub optional: bool,
    /// Counted for IDL.
    pub basic: bool,
}

/// Immunization counts of one posyandu (or a sum).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImmunizationCounts {
    /// Doses given this month, aligned with [`ImmunizationReport::vaccines`].
    pub doses: Vec<u32>,
    /// Doses with a code the schedule does not know.
    pub other: u32,
    /// All doses given this month.
    pub total_doses: u32,
    /// Children completing basic immunization this month, before 12 months.
    pub idl: u32,
    /// Children completing it this month at 12 months or older.
    pub idl_late: u32,
}

impl AddAssign<&ImmunizationCounts> for ImmunizationCounts {
    fn add_assign(&mut self, o: &ImmunizationCounts) {
        if self.doses.len() < o.doses.len() {
            self.doses.resize(o.doses.len(), 0);
        }
        for (a, b) in self.doses.iter_mut().zip(&o.doses) {
            *a += b;
        }
        self.other += o.other;
        self.total_doses += o.total_doses;
        self.idl += o.idl;
        self.idl_late += o.idl_late;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImmunizationRow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub counts: ImmunizationCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImmunizationReport {
    /// The schedule version the columns come from.
    pub schedule_version: String,
    pub vaccines: Vec<VaccineColumn>,
    pub rows: Vec<ImmunizationRow>,
    pub total: ImmunizationCounts,
}

/// The schedule's vaccine columns.
pub(crate) fn vaccine_columns() -> Vec<VaccineColumn> {
    schedule()
        .vaccines
        .iter()
        .map(|v| VaccineColumn {
            code: v.code.clone(),
            name: v.name.clone(),
            optional: v.group.is_some(),
            basic: v.group.is_none() && v.due_month < 12,
        })
        .collect()
}

impl ImmunizationCounts {
    pub(crate) fn new(vaccines: usize) -> Self {
        ImmunizationCounts {
            doses: vec![0; vaccines],
            ..Default::default()
        }
    }

    /// Counts one child of the area. `earliest` is scratch space of the vaccines' length.
    pub(crate) fn add_child(
        &mut self,
        c: &ChildRec,
        imms: &[ImmRec],
        month: YearMonth,
        basic: &[bool],
        earliest: &mut [Option<NaiveDate>],
    ) {
        if imms.is_empty() {
            return;
        }
        let (first, last) = (month.first_day(), month.last_day());
        earliest.fill(None);
        // `imms` is sorted by date: the first record of a vaccine is its earliest.
        for r in imms {
            match r.vaccine {
                Some(v) => {
                    let e = &mut earliest[v as usize];
                    if e.is_none() {
                        *e = Some(r.date);
                    }
                }
                None if r.date >= first && r.date <= last => {
                    self.other += 1;
                    self.total_doses += 1;
                }
                None => {}
            }
        }
        let mut complete_on: Option<NaiveDate> = Some(NaiveDate::MIN);
        for (v, e) in earliest.iter().enumerate() {
            if let Some(d) = e {
                if *d >= first && *d <= last {
                    self.doses[v] += 1;
                    self.total_doses += 1;
                }
            }
            if basic[v] {
                complete_on = match (complete_on, e) {
                    (Some(a), Some(b)) => Some(a.max(*b)),
                    _ => None,
                };
            }
        }
        if let Some(d) = complete_on.filter(|d| *d >= first && *d <= last) {
            if completed_months(c.birth, d).is_some_and(|m| m < 12) {
                self.idl += 1;
            } else {
                self.idl_late += 1;
            }
        }
    }
}
