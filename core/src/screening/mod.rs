//! Screening verdicts of the ILP life stages (Juknis ILP, KMK HK.01.07/MENKES/2015/2023): blood
//! pressure, blood glucose, adult BMI and waist circumference, PUMA, SRQ-20, Barthel ADL, SKILAS,
//! TB symptoms and anaemia. Pure functions: a measurement or a questionnaire's answers in, a
//! [`Verdict`] out, or a [`Problem`](crate::Problem) for an impossible input (never a panic).
//!
//! Every cut-off and item list is versioned data in `core/data/screening/` with its source:
//! - [`data`]: the threshold bands and the questionnaire items, embedded and parsed once;
//! - [`range`]: the plausible range of each measurement, and its problem when out of it;
//! - [`vitals`]: blood pressure, glucose, adult BMI and waist circumference;
//! - [`anaemia`]: haemoglobin by WHO (2011) cut-offs for age and sex;
//! - [`questionnaire`]: PUMA, SRQ-20, Barthel, SKILAS and TB symptoms.

use serde::Serialize;

pub mod anaemia;
pub mod data;
pub mod questionnaire;
pub mod range;
pub mod vitals;

pub use anaemia::anaemia;
pub use data::{items, Form, Item};
pub use questionnaire::{
    barthel, barthel_total, puma, skilas, srq20, tb_form_for_age, tb_symptoms,
};
pub use vitals::{adult_bmi, blood_glucose, blood_pressure, bmi, waist_circumference, GlucoseTest};

/// The outcome of one screening, as shown to a kader and stored with the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The scale judged by (a scale of `core/data/screening/thresholds.tsv`), e.g. `td_sistolik`.
    pub scale: &'static str,
    /// Stable code, e.g. `hipertensi_derajat_1`.
    pub code: &'static str,
    /// Indonesian label for the kader.
    pub label: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// Whether the verdict suggests a referral to the puskesmas.
    pub refer: bool,
    /// The band judged by, e.g. `TD 140-159/90-99 mmHg`.
    pub threshold: &'static str,
    /// The version of the thresholds file.
    pub version: &'static str,
}
