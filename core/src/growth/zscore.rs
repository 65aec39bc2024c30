//! Z-scores of the WHO Child Growth Standards, computed the way WHO's `anthro` R package
//! (`anthro_zscores`) computes them, so that numbers match what health offices get; from 60
//! months [`zscores`] takes them from the WHO Growth Reference 2007 instead, as WHO's
//! `anthroplus` computes them (see [`super::reference2007`]):
//!
//! - Age: the exact age in days (fractional days allowed). The table row is the age rounded
//!   half up (anthro's `round_up`: .5 goes up). The 2006 standards give z-scores only when
//!   the *unrounded* age in months (days / 30.4375) is below 60, and the age is not negative.
//!   From 60 months to under 229, [`zscores`] gives height-for-age (`laz`), weight-for-age
//!   (`waz`, under 121 months) and BMI-for-age (`baz`) of the 2007 reference, and no
//!   weight-for-length/height, head or arm circumference z-score (the reference has none).
//! - Length/height: the 731-day switch uses the rounded age. Under 731 days a standing
//!   measure gets +0.7 cm; from 731 days a lying measure gets -0.7 cm. A standing measure
//!   under 9 months (unrounded months) is implausible: anthro then ignores the position (no
//!   correction) and raises `c9mo_flag`; we do the same (`standing_under_9_months`).
//! - Weight-for-length (45-110 cm) below 731 days, weight-for-height (65-120 cm) from 731
//!   days; l, m, s interpolated linearly between the 0.1 cm rows around the length.
//! - Weight-for-age, weight-for-length/height, BMI-for-age and arm circumference use WHO's
//!   restricted rule beyond +/-3 SD; length-for-age and head circumference do not.
//! - Oedema makes weight-for-age, weight-for-length/height and BMI-for-age `None`.
//! - A measure <= 0 (or not finite) gives `None`, as does anything outside the tables.
//! - Flags are computed on the z-score rounded to 2 decimals, as anthro does.
//!
//! The z-scores returned here are unrounded; round with [`round2`] for display.

use chrono::NaiveDate;
use serde::Serialize;

use super::reference2007;
use super::tables::{
    KeyedTable, Lms, ARM_CIRCUMFERENCE_FOR_AGE, BMI_FOR_AGE, HEAD_CIRCUMFERENCE_FOR_AGE,
    LENGTH_FOR_AGE, WEIGHT_FOR_AGE, WEIGHT_FOR_HEIGHT, WEIGHT_FOR_LENGTH,
};
use super::{Position, Sex};

/// Days in a month as WHO uses them (365.25 / 12).
pub const DAYS_PER_MONTH: f64 = 30.4375;
/// From this (rounded) age in days, height replaces length.
pub const HEIGHT_FROM_DAY: u32 = 731;
/// The length/height correction between lying and standing measures, in cm.
pub const LENHEI_CORRECTION_CM: f64 = 0.7;

/// Exact age in days between two dates (negative if `date` is before `birth`).
pub fn age_in_days(birth: NaiveDate, date: NaiveDate) -> i64 {
    (date - birth).num_days()
}

/// anthro's `round_up`: round half up for non-negative numbers (floor, +1 if rest >= .5).
#[inline]
pub fn round_up(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 {
        f + 1.0
    } else {
        f
    }
}

/// Rounds to 2 decimals (half away from zero), how z-scores are reported.
#[inline]
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The table row (rounded age in days) for an age, or `None` when no z-score applies:
/// negative or non-finite age, or unrounded age in months >= 60.
#[inline]
pub fn age_row(age_days: f64) -> Option<u32> {
    if age_days.is_nan() || age_days < 0.0 || age_days / DAYS_PER_MONTH >= 60.0 {
        return None;
    }
    Some(round_up(age_days) as u32)
}

/// Whether a WHO table covers an age: from 0 days to under 229 months (the 2006 standards
/// under 60 months, the 2007 reference from 60). `age_months` as in
/// [`GrowthInput::age_months`] (`None`: `age_days` / 30.4375).
#[inline]
pub fn age_in_range(age_days: f64, age_months: Option<f64>) -> bool {
    let months = age_months.unwrap_or(age_days / DAYS_PER_MONTH);
    age_days >= 0.0 && (0.0..reference2007::UNTIL_MONTHS).contains(&months)
}

/// Whether weight-for-height and standing height apply (rounded age >= 731 days) rather than
/// weight-for-length and lying length.
#[inline]
pub fn uses_height(age_days: f64) -> bool {
    age_days >= 0.0 && round_up(age_days) >= HEIGHT_FROM_DAY as f64
}

/// True when a standing measure was taken under 9 months: anthro treats the position as
/// unknown then (no 0.7 cm correction) and flags it.
#[inline]
pub fn standing_under_9_months(age_days: f64, position: Option<Position>) -> bool {
    position == Some(Position::Standing) && age_days >= 0.0 && age_days / DAYS_PER_MONTH < 9.0
}

/// Length/height converted to what the tables expect for this age: lying length under 731
/// days, standing height from 731 days (see the module notes).
#[inline]
pub fn corrected_lenhei(age_days: f64, lenhei_cm: f64, position: Option<Position>) -> f64 {
    if age_days.is_nan() || age_days < 0.0 || standing_under_9_months(age_days, position) {
        return lenhei_cm;
    }
    let height = uses_height(age_days);
    match position {
        Some(Position::Standing) if !height => lenhei_cm + LENHEI_CORRECTION_CM,
        Some(Position::Lying) if height => lenhei_cm - LENHEI_CORRECTION_CM,
        _ => lenhei_cm,
    }
}

/// The LMS z-score: ((y/m)^l - 1) / (l*s) (log form when l = 0).
#[inline]
pub fn z_lms(y: f64, lms: Lms) -> f64 {
    if lms.l == 0.0 {
        (y / lms.m).ln() / lms.s
    } else {
        ((y / lms.m).powf(lms.l) - 1.0) / (lms.l * lms.s)
    }
}

/// The measurement at `k` SD: m * (1 + l*s*k)^(1/l).
#[inline]
pub fn sd_value(lms: Lms, k: f64) -> f64 {
    if lms.l == 0.0 {
        lms.m * (lms.s * k).exp()
    } else {
        lms.m * (1.0 + lms.l * lms.s * k).powf(1.0 / lms.l)
    }
}

/// WHO's restricted z-score: the LMS z-score within +/-3, and beyond it a linear
/// extrapolation using the distance between the 2 and 3 SD values, because the LMS curve's
/// tails are not trusted there.
#[inline]
pub fn z_restricted(y: f64, lms: Lms) -> f64 {
    let z = z_lms(y, lms);
    if z > 3.0 {
        let sd3 = sd_value(lms, 3.0);
        3.0 + (y - sd3) / (sd3 - sd_value(lms, 2.0))
    } else if z < -3.0 {
        let sd3 = sd_value(lms, -3.0);
        -3.0 + (y - sd3) / (sd_value(lms, -2.0) - sd3)
    } else {
        z
    }
}

#[inline]
fn positive(y: f64) -> Option<f64> {
    (y > 0.0 && y.is_finite()).then_some(y)
}

#[inline]
fn by_age(table: &KeyedTable, sex: Sex, age_days: f64, y: f64, restricted: bool) -> Option<f64> {
    let y = positive(y)?;
    let lms = table.get(sex, age_row(age_days)?)?;
    Some(if restricted {
        z_restricted(y, lms)
    } else {
        z_lms(y, lms)
    })
}

/// Weight-for-age z-score (restricted), unrounded.
#[inline]
pub fn weight_for_age(sex: Sex, age_days: f64, weight_kg: f64) -> Option<f64> {
    by_age(&WEIGHT_FOR_AGE, sex, age_days, weight_kg, true)
}

/// Length/height-for-age z-score from an already corrected length/height (see
/// [`corrected_lenhei`]), unrounded.
#[inline]
pub fn length_for_age(sex: Sex, age_days: f64, clenhei_cm: f64) -> Option<f64> {
    by_age(&LENGTH_FOR_AGE, sex, age_days, clenhei_cm, false)
}

/// BMI-for-age z-score (restricted), unrounded.
#[inline]
pub fn bmi_for_age(sex: Sex, age_days: f64, bmi: f64) -> Option<f64> {
    by_age(&BMI_FOR_AGE, sex, age_days, bmi, true)
}

/// Head circumference-for-age z-score, unrounded.
#[inline]
pub fn head_circumference_for_age(sex: Sex, age_days: f64, head_cm: f64) -> Option<f64> {
    by_age(&HEAD_CIRCUMFERENCE_FOR_AGE, sex, age_days, head_cm, false)
}

/// Arm circumference-for-age z-score (restricted; from 91 days), unrounded.
#[inline]
pub fn arm_circumference_for_age(sex: Sex, age_days: f64, muac_cm: f64) -> Option<f64> {
    by_age(&ARM_CIRCUMFERENCE_FOR_AGE, sex, age_days, muac_cm, true)
}

/// l, m, s for a length/height, interpolated between the two 0.1 cm rows around it. The
/// lower row is trunc(length * 10) like anthro; a fraction within 1e-9 of a row snaps to it
/// so that float noise (57.3 * 10 = 572.999...) never asks for a row past the table end.
#[inline]
pub fn lms_for_lenhei(table: &KeyedTable, sex: Sex, lenhei_cm: f64) -> Option<Lms> {
    let x = lenhei_cm * 10.0;
    let mut low = x.trunc();
    let mut frac = x - low;
    if frac > 1.0 - 1e-9 {
        low += 1.0;
        frac = 0.0;
    } else if frac < 1e-9 {
        frac = 0.0;
    }
    let lo = table.get(sex, low as u32)?;
    if frac == 0.0 {
        Some(lo)
    } else {
        Some(lo.lerp(table.get(sex, low as u32 + 1)?, frac))
    }
}

/// Weight-for-length (rounded age < 731 days, 45-110 cm) or weight-for-height (from 731
/// days, 65-120 cm) z-score (restricted), unrounded, from an already corrected
/// length/height.
#[inline]
pub fn weight_for_lenhei(sex: Sex, age_days: f64, weight_kg: f64, clenhei_cm: f64) -> Option<f64> {
    let y = positive(weight_kg)?;
    age_row(age_days)?;
    let (table, min, max) = if uses_height(age_days) {
        (&*WEIGHT_FOR_HEIGHT, 65.0, 120.0)
    } else {
        (&*WEIGHT_FOR_LENGTH, 45.0, 110.0)
    };
    if !(clenhei_cm >= min && clenhei_cm <= max) {
        return None;
    }
    Some(z_restricted(y, lms_for_lenhei(table, sex, clenhei_cm)?))
}

/// One measurement as the z-score computation needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowthInput {
    pub sex: Sex,
    /// Exact age in days; fractional days are accepted (see the module notes).
    pub age_days: f64,
    /// The age in months when it was given in months (as WHO's anthroplus takes it): the
    /// 2007 reference uses it as it is, while `age_days` must then be months x 30.4375 (what
    /// anthro does with an age in months). `None`: months are `age_days` / 30.4375.
    pub age_months: Option<f64>,
    pub weight_kg: Option<f64>,
    /// Length or height as measured, before the 0.7 cm correction.
    pub lenhei_cm: Option<f64>,
    /// How length/height was measured; `None` = unknown (no correction).
    pub position: Option<Position>,
    pub head_cm: Option<f64>,
    /// Mid-upper arm circumference (LiLA).
    pub muac_cm: Option<f64>,
    /// Bilateral pitting oedema: weight-based z-scores are then unusable.
    pub oedema: bool,
}

impl GrowthInput {
    /// An input with only sex and age; fill in the measures with struct update syntax.
    pub fn new(sex: Sex, age_days: f64) -> Self {
        GrowthInput {
            sex,
            age_days,
            age_months: None,
            weight_kg: None,
            lenhei_cm: None,
            position: None,
            head_cm: None,
            muac_cm: None,
            oedema: false,
        }
    }

    /// An input with sex and an age given in months (as WHO's anthroplus takes it).
    pub fn in_months(sex: Sex, age_months: f64) -> Self {
        GrowthInput {
            age_months: Some(age_months),
            ..GrowthInput::new(sex, age_months * DAYS_PER_MONTH)
        }
    }

    /// The age in months: as given, or `age_days` / 30.4375.
    #[inline]
    pub fn months(&self) -> f64 {
        self.age_months.unwrap_or(self.age_days / DAYS_PER_MONTH)
    }

    /// Whether the WHO 2007 reference applies (60 months and over) rather than the 2006
    /// standards.
    #[inline]
    pub fn uses_reference_2007(&self) -> bool {
        self.months() >= reference2007::FROM_MONTHS
    }
}

/// Implausible-value flags (WHO anthro's `f*` columns), on z rounded to 2 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ZFlags {
    /// waz < -6 or waz > 5.
    pub waz: bool,
    /// |laz| > 6.
    pub laz: bool,
    /// |wlz| > 5.
    pub wlz: bool,
    /// |baz| > 5.
    pub baz: bool,
    /// |hcz| > 5.
    pub hcz: bool,
    /// |acz| > 5.
    pub acz: bool,
    /// Standing measure under 9 months: position ignored (anthro's `c9mo_flag`).
    pub standing_under_9_months: bool,
}

impl ZFlags {
    /// Whether any z-score is flagged implausible (measurement to re-check).
    pub fn any_implausible(&self) -> bool {
        self.waz || self.laz || self.wlz || self.baz || self.hcz || self.acz
    }
}

/// Which WHO tables gave the z-scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Reference {
    /// The WHO Child Growth Standards 2006 (under 60 months, WHO's anthro).
    #[default]
    #[serde(rename = "who2006")]
    Standards2006,
    /// The WHO Growth Reference 2007 (60 to under 229 months, WHO's anthroplus).
    #[serde(rename = "who2007")]
    Reference2007,
}

/// Unrounded z-scores for one measurement, with the derived length/height and BMI.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ZScores {
    /// The tables the z-scores come from.
    pub reference: Reference,
    /// Weight-for-age.
    pub waz: Option<f64>,
    /// Length/height-for-age.
    pub laz: Option<f64>,
    /// Weight-for-length (under 731 days) or weight-for-height (from 731 days).
    pub wlz: Option<f64>,
    /// BMI-for-age.
    pub baz: Option<f64>,
    /// Head circumference-for-age.
    pub hcz: Option<f64>,
    /// Arm circumference-for-age.
    pub acz: Option<f64>,
    /// Length/height after the 0.7 cm correction.
    pub clenhei_cm: Option<f64>,
    /// Weight / (corrected length/height in m)^2.
    pub bmi: Option<f64>,
    pub flags: ZFlags,
}

fn flag(z: Option<f64>, low: f64, high: f64) -> bool {
    z.map(round2).is_some_and(|r| r < low || r > high)
}

/// All z-scores for one measurement (unrounded), with flags.
pub fn zscores(input: &GrowthInput) -> ZScores {
    let GrowthInput {
        sex, age_days: age, ..
    } = *input;
    let weight = if input.oedema { None } else { input.weight_kg };
    let clenhei = input
        .lenhei_cm
        .map(|lh| corrected_lenhei(age, lh, input.position));
    let bmi = match (input.weight_kg, clenhei) {
        (Some(w), Some(lh)) if lh > 0.0 => Some(w / (lh / 100.0).powi(2)),
        _ => None,
    };

    let bmi_usable = if input.oedema { None } else { bmi };

    let (reference, waz, laz, wlz, bmi_z, hcz, acz) = if input.uses_reference_2007() {
        let months = input.months();
        (
            Reference::Reference2007,
            weight.and_then(|w| reference2007::weight_for_age(sex, months, w)),
            clenhei.and_then(|h| reference2007::height_for_age(sex, months, h)),
            None,
            bmi_usable.and_then(|b| reference2007::bmi_for_age(sex, months, b)),
            None,
            None,
        )
    } else {
        (
            Reference::Standards2006,
            weight.and_then(|w| weight_for_age(sex, age, w)),
            clenhei.and_then(|lh| length_for_age(sex, age, lh)),
            weight
                .zip(clenhei)
                .and_then(|(w, lh)| weight_for_lenhei(sex, age, w, lh)),
            bmi_usable.and_then(|b| bmi_for_age(sex, age, b)),
            input
                .head_cm
                .and_then(|h| head_circumference_for_age(sex, age, h)),
            input
                .muac_cm
                .and_then(|a| arm_circumference_for_age(sex, age, a)),
        )
    };

    ZScores {
        reference,
        waz,
        laz,
        wlz,
        baz: bmi_z,
        hcz,
        acz,
        clenhei_cm: clenhei,
        bmi,
        flags: ZFlags {
            waz: flag(waz, -6.0, 5.0),
            laz: flag(laz, -6.0, 6.0),
            wlz: flag(wlz, -5.0, 5.0),
            baz: flag(bmi_z, -5.0, 5.0),
            hcz: flag(hcz, -5.0, 5.0),
            acz: flag(acz, -5.0, 5.0),
            standing_under_9_months: standing_under_9_months(age, input.position),
        },
    }
}
