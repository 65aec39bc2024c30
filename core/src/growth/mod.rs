//! WHO z-scores (the Child Growth Standards 2006 under 60 months, the Growth Reference 2007
//! from 60 months to 19 years) and Permenkes 2/2020 categories.
//!
//! The module is split by what each part holds:
//! - [`tables`]: the WHO LMS tables, embedded at build time and parsed once into arrays
//!   indexed by age day or month, or by length in tenths of a cm (O(1) look-ups);
//! - [`zscore`]: z-scores exactly as WHO's `anthro` R package computes them, and the
//!   choice of reference by age;
//! - [`reference2007`]: z-scores from 60 months exactly as WHO's `anthroplus` computes them;
//! - [`category`]: the Permenkes 2/2020 nutrition-status categories (under 5, and 5-18
//!   years from versioned data);
//! - [`kbm`]: the minimum weight gain (KBM) and the N / T / 2T / BGM decisions;
//! - [`schedule`]: the immunization and vitamin A schedule (versioned data);
//! - [`assessment`]: everything above combined for one measurement;
//! - [`batch`]: z-scores for a whole CSV file (survey and weighing-month data).

use serde::{Deserialize, Serialize};

pub mod assessment;
pub mod batch;
pub mod category;
pub mod kbm;
pub mod reference2007;
pub mod schedule;
pub mod tables;
pub mod zscore;

pub use assessment::{
    assess, status, AssessError, Assessment, Measurement, ReferReason, RoundedZScores, Status,
};
pub use category::{
    bmi_for_age_category, bmi_for_age_category_5_18, height_for_age_category_5_18,
    length_for_age_category, weight_for_age_category, weight_for_length_category, Category,
    GrowthIndex,
};
pub use kbm::{
    completed_months, is_bgm, is_two_t, kbm_grams, trends, weight_trend, TrendError, Weighing,
    WeightTrend,
};
pub use schedule::{
    due_items, schedule, DoseKind, DueItem, DueStatus, Received, Schedule, ScheduleItem,
};
pub use zscore::{age_in_days, zscores, GrowthInput, Reference, ZFlags, ZScores};

/// Sex as written in Indonesian registers: L (laki-laki, boy; WHO code 1) and
/// P (perempuan, girl; WHO code 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    /// Laki-laki (boy), WHO sex 1.
    #[serde(rename = "L")]
    L,
    /// Perempuan (girl), WHO sex 2.
    #[serde(rename = "P")]
    P,
}

impl Sex {
    /// The WHO tables' sex code: 1 = boy, 2 = girl.
    pub fn who_code(self) -> u8 {
        match self {
            Sex::L => 1,
            Sex::P => 2,
        }
    }

    /// From the WHO tables' sex code (1 or 2).
    pub fn from_who_code(code: u8) -> Option<Sex> {
        match code {
            1 => Some(Sex::L),
            2 => Some(Sex::P),
            _ => None,
        }
    }

    /// Position in per-sex arrays (boy 0, girl 1).
    pub(crate) fn idx(self) -> usize {
        match self {
            Sex::L => 0,
            Sex::P => 1,
        }
    }
}

/// How length/height was measured: lying (recumbent length) or standing (height).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// Recumbent length (WHO "L").
    Lying,
    /// Standing height (WHO "H").
    Standing,
}
