//! Births and deaths of the month, from the posyandu's birth and death events (`event`
//! records: type `lahir` / `meninggal`, subject `ibu` / `bayi` / `balita`, date).
//!
//! Births are counted by the sex of the child the event names when it names one; a birth
//! event without a (known) child counts in the total only. Deaths are counted by subject:
//! mother (ibu), infant (bayi, under 12 months) and child under five (balita).

use std::ops::AddAssign;

use serde::Serialize;

use crate::growth::Sex;

use super::input::EventRec;
use super::{PlaceRef, YearMonth};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VitalCounts {
    /// Births, boys.
    pub births_l: u32,
    /// Births, girls.
    pub births_p: u32,
    /// All births (with those of unknown sex).
    pub births: u32,
    pub deaths_mother: u32,
    pub deaths_infant: u32,
    pub deaths_child: u32,
    pub deaths: u32,
}

impl VitalCounts {
    pub(crate) fn add_event(&mut self, e: &EventRec, month: YearMonth) {
        if !month.contains(e.date) {
            return;
        }
        if e.birth {
            self.births += 1;
            match e.child_sex {
                Some(Sex::L) => self.births_l += 1,
                Some(Sex::P) => self.births_p += 1,
                None => {}
            }
        } else {
            self.deaths += 1;
            match e.subject {
                0 => self.deaths_mother += 1,
                1 => self.deaths_infant += 1,
                _ => self.deaths_child += 1,
            }
        }
    }
}

impl AddAssign<&VitalCounts> for VitalCounts {
    fn add_assign(&mut self, o: &VitalCounts) {
        self.births_l += o.births_l;
        self.births_p += o.births_p;
        self.births += o.births;
        self.deaths_mother += o.deaths_mother;
        self.deaths_infant += o.deaths_infant;
        self.deaths_child += o.deaths_child;
        self.deaths += o.deaths;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitalRow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub counts: VitalCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitalReport {
    pub rows: Vec<VitalRow>,
    pub total: VitalCounts,
}
