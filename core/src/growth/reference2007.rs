//! Z-scores of the WHO Growth Reference 2007 (5-19 years), computed the way WHO's
//! `anthroplus` R package (`anthroplus_zscores`, version 1.1) computes them:
//!
//! - Age is in months, fractional (from days: days / 30.4375). l, m and s are interpolated
//!   linearly between the rows of the two whole months around it (`trunc(age)` and
//!   `trunc(age + 1)`); a whole-month age takes its row as it is.
//! - Height-for-age and BMI-for-age exist from 60 months up to, not including, 229 months;
//!   weight-for-age from 60 up to, not including, 121 months (WHO gives it to 10 years only).
//!   WHO's `anthro` (the 2006 standards) stops below 60 months, so every age from 0 to
//!   under 229 months has exactly one reference (see [`super::zscore::zscores`]).
//! - z = ((y/m)^l - 1) / (l*s); weight-for-age and BMI-for-age use the restricted rule
//!   beyond +/-3 SD, height-for-age does not (anthro's `compute_zscore_adjusted` /
//!   `compute_zscore`, the same as for the 2006 standards).
//! - A measure <= 0 or not finite gives `None`. Oedema and the flags are handled by the
//!   caller, as for the 2006 standards (the flag cut-offs are the same: |hfa| > 6,
//!   wfa < -6 or > 5, |bfa| > 5, on z rounded to 2 decimals).
//!
//! The z-scores returned here are unrounded.

use super::tables::{KeyedTable, Lms, BMI_FOR_AGE_2007, HEIGHT_FOR_AGE_2007, WEIGHT_FOR_AGE_2007};
use super::zscore::{z_lms, z_restricted};
use super::Sex;

/// From this age in months (inclusive) the 2007 reference applies.
pub const FROM_MONTHS: f64 = 60.0;
/// Height-for-age and BMI-for-age stop before this age in months (19 years and 1 month).
pub const UNTIL_MONTHS: f64 = 229.0;
/// Weight-for-age stops before this age in months (10 years and 1 month).
pub const WEIGHT_UNTIL_MONTHS: f64 = 121.0;

/// Whether an age in months is within the reference (60 to under 229 months).
#[inline]
pub fn in_range(age_months: f64) -> bool {
    (FROM_MONTHS..UNTIL_MONTHS).contains(&age_months)
}

/// l, m, s at a fractional age in months: the whole month's row, interpolated linearly
/// towards the next month's row by the fraction (anthroplus's `zscore_indicator`).
#[inline]
pub fn lms_at(table: &KeyedTable, sex: Sex, age_months: f64) -> Option<Lms> {
    if !(age_months >= 0.0 && age_months.is_finite()) {
        return None;
    }
    let low = age_months.trunc();
    let diff = age_months - low;
    let lo = table.get(sex, low as u32)?;
    if diff > 0.0 {
        Some(lo.lerp(table.get(sex, low as u32 + 1)?, diff))
    } else {
        Some(lo)
    }
}

#[inline]
fn by_age(
    table: &KeyedTable,
    until: f64,
    sex: Sex,
    age_months: f64,
    y: f64,
    restricted: bool,
) -> Option<f64> {
    let measure_ok = y > 0.0 && y.is_finite();
    if !measure_ok || !(FROM_MONTHS..until).contains(&age_months) {
        return None;
    }
    let lms = lms_at(table, sex, age_months)?;
    Some(if restricted {
        z_restricted(y, lms)
    } else {
        z_lms(y, lms)
    })
}

/// Height-for-age z-score (60 to under 229 months), unrounded.
#[inline]
pub fn height_for_age(sex: Sex, age_months: f64, height_cm: f64) -> Option<f64> {
    by_age(
        &HEIGHT_FOR_AGE_2007,
        UNTIL_MONTHS,
        sex,
        age_months,
        height_cm,
        false,
    )
}

/// Weight-for-age z-score (restricted; 60 to under 121 months), unrounded.
#[inline]
pub fn weight_for_age(sex: Sex, age_months: f64, weight_kg: f64) -> Option<f64> {
    by_age(
        &WEIGHT_FOR_AGE_2007,
        WEIGHT_UNTIL_MONTHS,
        sex,
        age_months,
        weight_kg,
        true,
    )
}

/// BMI-for-age z-score (restricted; 60 to under 229 months), unrounded.
#[inline]
pub fn bmi_for_age(sex: Sex, age_months: f64, bmi: f64) -> Option<f64> {
    by_age(&BMI_FOR_AGE_2007, UNTIL_MONTHS, sex, age_months, bmi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::zscore::round2;

    fn r2(z: Option<f64>) -> Option<f64> {
        z.map(round2)
    }

    #[test]
    fn growth_2007_anthroplus_tests_around_60_months() {
        // anthroplus tests/testthat/test-zscores.R, "computes correct value for age ~ 60 months":
        // girls of 60.32 and 60.911701 months, 113.8 / 113.6 cm, 18.7 / 20.5 kg.
        let cases = [
            (60.32, 113.8, 18.7, 0.96, 0.21, -0.58),
            (60.911701, 113.6, 20.5, 0.85, 0.79, 0.42),
        ];
        for (age, h, w, hfa, wfa, bfa) in cases {
            assert_eq!(r2(height_for_age(Sex::P, age, h)), Some(hfa), "{age}");
            assert_eq!(r2(weight_for_age(Sex::P, age, w)), Some(wfa), "{age}");
            let bmi = w / (h / 100.0_f64).powi(2);
            assert_eq!(r2(bmi_for_age(Sex::P, age, bmi)), Some(bfa), "{age}");
        }
        // The same at 3 decimals ("precision of 3dp").
        let r3 = |z: Option<f64>| z.map(|z| (z * 1000.0).round() / 1000.0);
        assert_eq!(r3(height_for_age(Sex::P, 60.32, 113.8)), Some(0.959));
        assert_eq!(r3(weight_for_age(Sex::P, 60.911701, 20.5)), Some(0.795));
        assert_eq!(
            r3(bmi_for_age(Sex::P, 60.32, 18.7 / 1.138_f64.powi(2))),
            Some(-0.575)
        );
    }

    #[test]
    fn growth_2007_anthroplus_readme_example() {
        // anthroplus README: boy 100 months 100 cm 30 kg -> zhfa -5.04, zwfa 0.87, zbfa 5.03;
        // girl 110 months 90 cm 40 kg -> -7.06, 1.78, 7.37.
        let cases = [
            (Sex::L, 100.0, 100.0, 30.0, -5.04, 0.87, 5.03),
            (Sex::P, 110.0, 90.0, 40.0, -7.06, 1.78, 7.37),
        ];
        for (sex, age, h, w, hfa, wfa, bfa) in cases {
            assert_eq!(r2(height_for_age(sex, age, h)), Some(hfa));
            assert_eq!(r2(weight_for_age(sex, age, w)), Some(wfa));
            let bmi = w / (h / 100.0_f64).powi(2);
            assert_eq!(r2(bmi_for_age(sex, age, bmi)), Some(bfa));
        }
    }

    #[test]
    fn growth_2007_age_bounds_as_anthroplus() {
        // anthroplus "age upper bounds are exclusive": ages 120, 228.5, 121, 229 months.
        let has =
            |f: fn(Sex, f64, f64) -> Option<f64>, age: f64, y: f64| f(Sex::L, age, y).is_some();
        let ages = [120.0, 228.5, 121.0, 229.0];
        let hfa: Vec<bool> = ages.iter().map(|&a| has(height_for_age, a, 60.0)).collect();
        let wfa: Vec<bool> = ages.iter().map(|&a| has(weight_for_age, a, 30.0)).collect();
        let bfa: Vec<bool> = ages.iter().map(|&a| has(bmi_for_age, a, 30.0)).collect();
        assert_eq!(hfa, [true, true, true, false]);
        assert_eq!(wfa, [true, false, false, false]);
        assert_eq!(bfa, [true, true, true, false]);
        // From 60 months ("age >= 60 months is supported"), none below.
        assert!(has(height_for_age, 60.0, 60.0));
        assert!(has(weight_for_age, 60.0, 30.0));
        assert!(!has(height_for_age, 59.99, 110.0));
        assert!(!has(bmi_for_age, 59.0, 15.0));
        assert!(!has(height_for_age, f64::NAN, 110.0));
        // Just under the upper bounds.
        assert!(has(weight_for_age, 120.99, 30.0));
        assert!(has(height_for_age, 228.99, 170.0));
        // A measure of 0 or below gives none.
        assert!(!has(height_for_age, 100.0, 0.0));
        assert!(!has(weight_for_age, 100.0, -1.0));
    }

    #[test]
    fn growth_2007_interpolates_between_whole_months() {
        // At 100.25 months l, m, s are a quarter of the way from row 100 to row 101.
        let lo = HEIGHT_FOR_AGE_2007.get(Sex::L, 100).unwrap();
        let hi = HEIGHT_FOR_AGE_2007.get(Sex::L, 101).unwrap();
        let at = lms_at(&HEIGHT_FOR_AGE_2007, Sex::L, 100.25).unwrap();
        assert_eq!(at, lo.lerp(hi, 0.25));
        assert!((at.m - (lo.m + 0.25 * (hi.m - lo.m))).abs() < 1e-12);
        // A whole month takes its own row.
        assert_eq!(lms_at(&HEIGHT_FOR_AGE_2007, Sex::L, 100.0), Some(lo));
        // The median height gives z = 0.
        assert!(height_for_age(Sex::L, 100.0, lo.m).unwrap().abs() < 1e-12);
    }
}
