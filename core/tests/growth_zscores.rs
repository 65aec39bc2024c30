//! Z-scores against WHO's `anthro` R package (values from its tests/testthat files) and
//! against hand computations from the LMS rows of the tables.

use sinergi_core::growth::zscore::{
    self, corrected_lenhei, round2, weight_for_age, weight_for_lenhei, DAYS_PER_MONTH,
};
use sinergi_core::growth::{zscores, GrowthInput, Position, Sex};

fn r2(z: Option<f64>) -> Option<f64> {
    z.map(round2)
}

fn input(sex: Sex, age_days: f64) -> GrowthInput {
    GrowthInput::new(sex, age_days)
}

// ---- anthro tests/testthat ----

#[test]
fn growth_anthro_length_for_age_uses_adjusted_lenhei() {
    // test-zscores.R: anthro_zscores(sex = 1, age = 987, lenhei = 72.86, measure = "l")
    // -> zlen -6.09, flen 1.
    let z = zscores(&GrowthInput {
        lenhei_cm: Some(72.86),
        position: Some(Position::Lying),
        ..input(Sex::L, 987.0)
    });
    assert!((z.clenhei_cm.unwrap() - 72.16).abs() < 1e-9);
    assert_eq!(r2(z.laz), Some(-6.09));
    assert!(z.flags.laz);
}

#[test]
fn growth_anthro_standing_under_9_months_is_not_adjusted() {
    // test-zscores.R: sex 1, age 8 and 9 months, lenhei 60, measure "h"
    // -> c9mo_flag 1/0, clenhei 60.0/60.7, zlen -4.81/-5.02.
    let at = |months: f64| {
        zscores(&GrowthInput {
            lenhei_cm: Some(60.0),
            position: Some(Position::Standing),
            ..input(Sex::L, months * DAYS_PER_MONTH)
        })
    };
    let (m8, m9) = (at(8.0), at(9.0));
    assert!(m8.flags.standing_under_9_months);
    assert!(!m9.flags.standing_under_9_months);
    assert!((m8.clenhei_cm.unwrap() - 60.0).abs() < 1e-9);
    assert!((m9.clenhei_cm.unwrap() - 60.7).abs() < 1e-9);
    assert_eq!(r2(m8.laz), Some(-4.81));
    assert_eq!(r2(m9.laz), Some(-5.02));
}

#[test]
fn growth_anthro_height_used_at_24_months() {
    // test-zscores.R: sex 2, age 24 months (730.5 days, rounds up to 731), lenhei 77.5,
    // measure "h" or unknown -> clenhei 77.5, zlen -2.55.
    for position in [Some(Position::Standing), None] {
        let z = zscores(&GrowthInput {
            lenhei_cm: Some(77.5),
            weight_kg: Some(8.8),
            position,
            ..input(Sex::P, 24.0 * DAYS_PER_MONTH)
        });
        assert!((z.clenhei_cm.unwrap() - 77.5).abs() < 1e-9);
        assert_eq!(r2(z.laz), Some(-2.55));
    }
}

#[test]
fn growth_anthro_adjusted_lenhei_around_731_days() {
    // test-zscores.R: ages 730/800 with measure h/h/l/l and lenhei 100
    // -> clenhei 100.7, 100, 100, 99.3.
    let cases = [
        (730.0, Position::Standing, 100.7),
        (800.0, Position::Standing, 100.0),
        (730.0, Position::Lying, 100.0),
        (800.0, Position::Lying, 99.3),
    ];
    for (age, pos, want) in cases {
        let got = corrected_lenhei(age, 100.0, Some(pos));
        assert!((got - want).abs() < 1e-9, "{age} {pos:?}: {got}");
    }
}

#[test]
fn growth_anthro_weight_for_age() {
    // test-zscore-weight-for-age.R: weight 17, 1522 days, girl -> 0.24, not flagged.
    assert_eq!(r2(weight_for_age(Sex::P, 1522.0, 17.0)), Some(0.24));
    let z = zscores(&GrowthInput {
        weight_kg: Some(17.0),
        ..input(Sex::P, 1522.0)
    });
    assert!(!z.flags.waz);
    // Weight 10.37 at day 1, girl: flagged (> 5).
    let z = zscores(&GrowthInput {
        weight_kg: Some(10.37),
        ..input(Sex::P, 1.0)
    });
    assert!(z.flags.waz);
    // No growth standard at 1857 days; none below 0 days; weight <= 0 gives None.
    assert_eq!(weight_for_age(Sex::L, 1857.0, 50.0), None);
    assert_eq!(weight_for_age(Sex::L, -1.0, 50.0), None);
    assert_eq!(weight_for_age(Sex::L, 10.0, 0.0), None);
    assert_eq!(weight_for_age(Sex::L, 10.0, -1.0), None);
    assert!(weight_for_age(Sex::L, 1.0, 50.0).is_some());
}

#[test]
fn growth_anthro_length_for_age_by_formula() {
    // test-zscore-length-for-age.R: round(((50 / 56.4833)^1 - 1) / (0.03492 * 1), 2).
    let want = round2((50.0 / 56.4833 - 1.0) / 0.03492);
    assert_eq!(want, -3.29);
    assert_eq!(r2(zscore::length_for_age(Sex::L, 44.0, 50.0)), Some(want));
    assert_eq!(zscore::length_for_age(Sex::L, 1857.0, 50.0), None);
    assert_eq!(zscore::length_for_age(Sex::L, 10.0, 0.0), None);
}

#[test]
fn growth_anthro_bmi_flag() {
    // test-zscore-bmi-for-age.R: BMI 25 at day 1, girl -> flagged.
    let z = zscore::bmi_for_age(Sex::P, 1.0, 25.0);
    assert_eq!(r2(z), Some(7.73));
    assert_eq!(zscore::bmi_for_age(Sex::L, 1857.0, 50.0), None);
    assert_eq!(zscore::bmi_for_age(Sex::L, 100.0, 0.0), None);
}

#[test]
fn growth_anthro_only_under_60_months() {
    // test-zscores.R: ages 59.9, 60, 60.1 months: only the first gets z-scores.
    let at = |months: f64| {
        zscores(&GrowthInput {
            weight_kg: Some(20.0),
            lenhei_cm: Some(80.0),
            position: Some(Position::Standing),
            head_cm: Some(5.0),
            muac_cm: Some(5.0),
            ..input(Sex::L, months * DAYS_PER_MONTH)
        })
    };
    let first = at(59.9);
    assert!(first.waz.is_some() && first.laz.is_some() && first.wlz.is_some());
    assert!(first.baz.is_some() && first.hcz.is_some() && first.acz.is_some());
    // From 60 months the 2006 standards give nothing: [`zscores`] then takes height-, weight-
    // and BMI-for-age from the WHO 2007 reference (growth_who2007.rs), and has no
    // weight-for-height, head or arm circumference z-score.
    for months in [60.0, 60.1] {
        let z = at(months);
        assert_eq!((z.wlz, z.hcz, z.acz), (None, None, None));
        assert!(z.waz.is_some() && z.laz.is_some() && z.baz.is_some());
        let days = months * DAYS_PER_MONTH;
        assert_eq!(weight_for_age(Sex::L, days, 20.0), None);
        assert_eq!(zscore::length_for_age(Sex::L, days, 80.0), None);
        assert_eq!(zscore::bmi_for_age(Sex::L, days, 20.0), None);
    }
    // 1826 days is 59.99 months: still computed (a fraction above 1826.25 is not).
    assert!(weight_for_age(Sex::L, 1826.0, 18.0).is_some());
    assert!(weight_for_age(Sex::L, 1826.2, 18.0).is_some());
    assert_eq!(weight_for_age(Sex::L, 1826.3, 18.0), None);
}

#[test]
fn growth_anthro_age_in_months_equals_days() {
    // test-zscores.R: age 30 months == 30 * 30.4375 days (913.125 -> row 913).
    let z = weight_for_age(Sex::L, 30.0 * DAYS_PER_MONTH, 20.0);
    assert_eq!(z, weight_for_age(Sex::L, 913.0, 20.0));
    assert_eq!(r2(z), Some(3.47));
}

#[test]
fn growth_anthro_bmi_from_corrected_lenhei() {
    // test-zscores.R: weight 20, lenhei 100 -> cbmi 20 (no position: no correction).
    let z = zscores(&GrowthInput {
        weight_kg: Some(20.0),
        lenhei_cm: Some(100.0),
        ..input(Sex::L, 30.0)
    });
    assert_eq!(z.bmi, Some(20.0));
    // Lying 90.7 cm at 1000 days is 90.0 cm standing: BMI 12.5 / 0.81.
    let z = zscores(&GrowthInput {
        weight_kg: Some(12.5),
        lenhei_cm: Some(90.7),
        position: Some(Position::Lying),
        ..input(Sex::L, 1000.0)
    });
    assert!((z.bmi.unwrap() - 12.5 / 0.81).abs() < 1e-9);
    assert_eq!(r2(z.baz), Some(-0.22));
}

// ---- hand computations from table rows ----

#[test]
fn growth_hand_weight_for_age_at_median_and_by_lms() {
    // Boy day 0: l 0.3487, m 3.3464, s 0.14602. At the median z = 0.
    assert_eq!(weight_for_age(Sex::L, 0.0, 3.3464), Some(0.0));
    // Boy day 1826 (last row), 18 kg.
    assert_eq!(r2(weight_for_age(Sex::L, 1826.0, 18.0)), Some(-0.14));
}

#[test]
fn growth_hand_fractional_age_rounds_half_up() {
    // anthro rounds the age half up: 100.4 -> row 100, 100.5 -> row 101.
    assert_eq!(r2(weight_for_age(Sex::L, 100.4, 6.0)), Some(-0.78));
    assert_eq!(r2(weight_for_age(Sex::L, 100.5, 6.0)), Some(-0.81));
    assert_eq!(
        weight_for_age(Sex::L, 100.5, 6.0),
        weight_for_age(Sex::L, 101.0, 6.0)
    );
    // The 731 switch also uses the rounded age: 730.5 is 731 (height).
    assert!(zscore::uses_height(730.5));
    assert!(!zscore::uses_height(730.49));
}

#[test]
fn growth_hand_interpolation_between_rows() {
    // Boy, 300 days, 72.35 cm lying, 9.0 kg: halfway between rows 72.3 (m 8.9353,
    // s 0.08259) and 72.4 (m 8.9571, s 0.0826), l -0.3521 -> m 8.9462, s 0.082595.
    let l: f64 = -0.3521;
    let (m, s) = (8.9462, 0.082595);
    let hand = ((9.0_f64 / m).powf(l) - 1.0) / (l * s);
    let got = weight_for_lenhei(Sex::L, 300.0, 9.0, 72.35).unwrap();
    assert!((got - hand).abs() < 1e-9, "{got} vs {hand}");
    assert_eq!(round2(got), 0.07);
    // On a row exactly: no interpolation.
    let row = weight_for_lenhei(Sex::L, 300.0, 8.9353, 72.3).unwrap();
    assert!(row.abs() < 1e-12);
    // Interpolated value lies between the two rows' z-scores.
    let lo = weight_for_lenhei(Sex::L, 300.0, 9.0, 72.3).unwrap();
    let hi = weight_for_lenhei(Sex::L, 300.0, 9.0, 72.4).unwrap();
    assert!(hi < got && got < lo);
}

#[test]
fn growth_hand_length_switch_and_correction() {
    // WHO's weight-for-height rows equal weight-for-length rows 0.7 cm longer, so the same
    // child measured lying at 731 days (85.7 -> 85.0 cm) and standing at 730 days
    // (85.0 -> 85.7 cm) looks up the same l, m, s: z = -0.18 for 11.5 kg.
    let standing_730 = zscores(&GrowthInput {
        weight_kg: Some(11.5),
        lenhei_cm: Some(85.0),
        position: Some(Position::Standing),
        ..input(Sex::L, 730.0)
    });
    let lying_731 = zscores(&GrowthInput {
        weight_kg: Some(11.5),
        lenhei_cm: Some(85.7),
        position: Some(Position::Lying),
        ..input(Sex::L, 731.0)
    });
    assert!((standing_730.clenhei_cm.unwrap() - 85.7).abs() < 1e-9);
    assert!((lying_731.clenhei_cm.unwrap() - 85.0).abs() < 1e-9);
    assert_eq!(r2(standing_730.wlz), Some(-0.18));
    assert_eq!(r2(lying_731.wlz), Some(-0.18));
    // Length-for-age uses the length table at 730 days and the height table at 731:
    // 85.7 cm at 730 days -> -0.69; 85.0 cm at 731 days -> -0.70.
    assert_eq!(r2(standing_730.laz), Some(-0.69));
    assert_eq!(r2(lying_731.laz), Some(-0.70));
}

#[test]
fn growth_hand_weight_for_lenhei_ranges() {
    // Length table 45-110 cm below 731 days; height table 65-120 cm from 731 days.
    assert_eq!(r2(weight_for_lenhei(Sex::P, 10.0, 2.0, 45.0)), Some(-2.39));
    assert_eq!(weight_for_lenhei(Sex::P, 10.0, 2.0, 44.9), None);
    assert_eq!(weight_for_lenhei(Sex::P, 500.0, 18.3324, 110.0), Some(0.0));
    assert_eq!(weight_for_lenhei(Sex::P, 500.0, 18.0, 110.05), None);
    assert_eq!(weight_for_lenhei(Sex::L, 1200.0, 22.353, 120.0), Some(0.0));
    assert_eq!(weight_for_lenhei(Sex::L, 1200.0, 22.0, 120.01), None);
    assert_eq!(weight_for_lenhei(Sex::L, 1200.0, 7.0, 64.9), None);
    assert!(weight_for_lenhei(Sex::L, 700.0, 7.0, 64.9).is_some());
    assert_eq!(
        r2(weight_for_lenhei(Sex::P, 1200.0, 15.0, 100.0)),
        Some(-0.16)
    );
}

#[test]
fn growth_hand_restricted_rule() {
    // Girl 400 days: weight-for-age beyond +/-3 uses the restricted rule.
    // 16 kg: LMS z 4.24, restricted 4.49; 5.5 kg: LMS z -4.43, restricted -4.21.
    assert_eq!(r2(weight_for_age(Sex::P, 400.0, 16.0)), Some(4.49));
    assert_eq!(r2(weight_for_age(Sex::P, 400.0, 5.5)), Some(-4.21));
    // Arm circumference too (boy 500 days): 11 cm -> -3.76 (LMS -3.81), 20 cm -> 4.01 (3.94).
    assert_eq!(
        r2(zscore::arm_circumference_for_age(Sex::L, 500.0, 11.0)),
        Some(-3.76)
    );
    assert_eq!(
        r2(zscore::arm_circumference_for_age(Sex::L, 500.0, 20.0)),
        Some(4.01)
    );
    // Head circumference is not restricted (girl 100 days, 36 cm: plain LMS -3.08).
    assert_eq!(
        r2(zscore::head_circumference_for_age(Sex::P, 100.0, 36.0)),
        Some(-3.08)
    );
    // The restricted rule is continuous at +/-3: at exactly SD3 both give 3.
    let lms = sinergi_core::growth::tables::WEIGHT_FOR_AGE
        .get(Sex::P, 400)
        .unwrap();
    let sd3 = zscore::sd_value(lms, 3.0);
    assert!((zscore::z_restricted(sd3, lms) - 3.0).abs() < 1e-9);
    let sdm3 = zscore::sd_value(lms, -3.0);
    assert!((zscore::z_restricted(sdm3, lms) + 3.0).abs() < 1e-9);
    // Halfway between SD3 and SD3 + (SD3 - SD2) is 3.5.
    let sd2 = zscore::sd_value(lms, 2.0);
    let y = sd3 + 0.5 * (sd3 - sd2);
    assert!((zscore::z_restricted(y, lms) - 3.5).abs() < 1e-9);
}

#[test]
fn growth_arm_circumference_from_91_days() {
    assert_eq!(zscore::arm_circumference_for_age(Sex::L, 90.0, 13.0), None);
    assert!(zscore::arm_circumference_for_age(Sex::L, 90.5, 13.0).is_some()); // row 91
    assert_eq!(zscore::arm_circumference_for_age(Sex::L, 100.0, 0.0), None);
}

#[test]
fn growth_flags() {
    // Girl 100 days, head 50 cm: hcz 8.12, flagged.
    let z = zscores(&GrowthInput {
        head_cm: Some(50.0),
        ..input(Sex::P, 100.0)
    });
    assert_eq!(r2(z.hcz), Some(8.12));
    assert!(z.flags.hcz);
    assert!(z.flags.any_implausible());
    // Weight-for-age: flagged below -6 or above 5 (girl 400 days, 16 kg = 4.49: not).
    let z = zscores(&GrowthInput {
        weight_kg: Some(16.0),
        ..input(Sex::P, 400.0)
    });
    assert!(!z.flags.waz);
    let z = zscores(&GrowthInput {
        weight_kg: Some(3.0),
        ..input(Sex::P, 400.0)
    });
    assert!(z.waz.unwrap() < -6.0 && z.flags.waz);
    // Weight-for-length and BMI: |z| > 5.
    let z = zscores(&GrowthInput {
        weight_kg: Some(14.0),
        lenhei_cm: Some(72.0),
        position: Some(Position::Lying),
        ..input(Sex::L, 300.0)
    });
    assert!(z.wlz.unwrap() > 5.0 && z.flags.wlz);
    assert!(z.baz.unwrap() > 5.0 && z.flags.baz);
    // A plausible child has no flags at all.
    let z = zscores(&GrowthInput {
        weight_kg: Some(9.0),
        lenhei_cm: Some(72.35),
        position: Some(Position::Lying),
        head_cm: Some(45.0),
        muac_cm: Some(14.5),
        ..input(Sex::L, 300.0)
    });
    assert!(!z.flags.any_implausible());
}

#[test]
fn growth_oedema_hides_weight_based_zscores() {
    let base = GrowthInput {
        weight_kg: Some(7.0),
        lenhei_cm: Some(60.0),
        position: Some(Position::Lying),
        head_cm: Some(40.0),
        muac_cm: Some(13.0),
        ..input(Sex::L, 100.0)
    };
    let plain = zscores(&base);
    assert!(plain.waz.is_some() && plain.wlz.is_some() && plain.baz.is_some());
    let z = zscores(&GrowthInput {
        oedema: true,
        ..base
    });
    assert_eq!((z.waz, z.wlz, z.baz), (None, None, None));
    // Length, head and arm are not weight-based: unchanged.
    assert_eq!((z.laz, z.hcz, z.acz), (plain.laz, plain.hcz, plain.acz));
    assert!(!z.flags.waz);
}
