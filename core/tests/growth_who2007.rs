//! The WHO Growth Reference 2007 (5-19 years) against WHO's own results: the batch over WHO's
//! sample survey (`tests/data/who2007/`, 933 rows, 2,101 z-scores) must give every z-score
//! and flag of WHO's output at 2 decimals, and no z-score where WHO has none. Then the
//! 60-month boundary with WHO's anthro (0-5 years) and the Permenkes categories for 5-18
//! years as the batch writes them.

use std::collections::HashMap;

use sinergi_core::growth::batch::{self, codes, BatchOptions};
use sinergi_core::growth::{zscores, GrowthInput, Position, Reference, Sex};

const SURVEY: &str = include_str!("data/who2007/survey_who2007_z.csv");

/// Runs the batch and returns its rows as maps from column name to cell.
fn run(input: &str) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    batch::process(
        input.as_bytes(),
        &mut out,
        &BatchOptions {
            threads: 2,
            chunk_bytes: 4096,
        },
        &mut |_| {},
    )
    .expect("batch");
    let mut rdr = csv::Reader::from_reader(&out[..]);
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// A number written by WHO (`-1.13`, `0.4`, `2`) or by the batch (`-1.13`, `0.40`, `2.00`)
/// in hundredths; empty stays `None`.
fn hundredths(cell: &str) -> Option<i64> {
    (!cell.is_empty()).then(|| (cell.parse::<f64>().expect(cell) * 100.0).round() as i64)
}

#[test]
fn growth_who2007_matches_who_on_its_sample_survey() {
    let mut rdr = csv::Reader::from_reader(SURVEY.as_bytes());
    let who: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(who.len(), 933);

    // The survey as a batch input: age in months as WHO gives it, height with no position
    // (anthroplus takes standing height as it is), oedema y/n.
    let mut input = String::from("id,sex,age_months,weight_kg,lenhei_cm,oedema\n");
    for r in &who {
        input.push_str(&format!(
            "{},{},{},{},{},{}\n",
            &r[0], &r[1], &r[2], &r[3], &r[4], &r[5]
        ));
    }
    let out = run(&input);
    assert_eq!(out.len(), who.len());

    // (our column, WHO's column) for the z-scores and their flags.
    let pairs = [
        ("laz", 7),
        ("waz", 8),
        ("baz", 9),
        ("flag_laz", 10),
        ("flag_waz", 11),
        ("flag_baz", 12),
    ];
    let (mut zscores, mut flags, mut empty) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for (r, o) in who.iter().zip(&out) {
        assert_eq!(o["id"], &r[0]);
        assert_eq!(o["error"], "", "row {}", &r[0]);
        for (ours, theirs) in pairs {
            let (got, want) = (hundredths(&o[ours]), hundredths(&r[theirs]));
            if got != want {
                mismatches.push(format!(
                    "id {} {ours}: ours {:?}, WHO {:?}",
                    &r[0], o[ours], &r[theirs]
                ));
            } else if want.is_none() {
                empty += 1;
            } else if ours.starts_with("flag") {
                flags += 1;
            } else {
                zscores += 1;
            }
        }
        // Outside the 0-60 months standards there is no other z-score.
        for col in ["wlz", "hcz", "acz", "flag_wlz", "kat_bb_u", "kat_bb_pb"] {
            assert_eq!(o[col], "", "id {} {col}", &r[0]);
        }
        // IMT/U and TB/U categorised whenever their z-score is there.
        assert_eq!(o["kat_pb_u"].is_empty(), o["laz"].is_empty());
        assert_eq!(o["kat_imt_u"].is_empty(), o["baz"].is_empty());
    }
    println!(
        "WHO 2007 survey: {} rows, {zscores} z-scores and {flags} flags equal at 2 decimals, \
         {empty} empty cells empty in both, {} mismatches",
        who.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(zscores, 2101, "every z-score of WHO's file compared");
    assert_eq!(flags, 2101);
}

#[test]
fn growth_who2007_takes_over_at_60_months() {
    // Under 60 months (1826.25 days) the WHO 2006 standards, exactly as before; from 60 months
    // the 2007 reference, for height-, weight- and BMI-for-age only.
    let at = |age_days: f64| {
        zscores(&GrowthInput {
            weight_kg: Some(18.5),
            lenhei_cm: Some(110.0),
            position: Some(Position::Standing),
            head_cm: Some(50.0),
            muac_cm: Some(16.0),
            ..GrowthInput::new(Sex::L, age_days)
        })
    };
    let before = at(1826.2);
    assert_eq!(before.reference, Reference::Standards2006);
    assert!(before.wlz.is_some() && before.hcz.is_some() && before.acz.is_some());
    let after = at(1826.25);
    assert_eq!(after.reference, Reference::Reference2007);
    assert!(after.laz.is_some() && after.waz.is_some() && after.baz.is_some());
    assert_eq!((after.wlz, after.hcz, after.acz), (None, None, None));
    // The two references nearly agree at the seam (they were made to join there).
    for (a, b) in [
        (before.laz, after.laz),
        (before.waz, after.waz),
        (before.baz, after.baz),
    ] {
        assert!((a.unwrap() - b.unwrap()).abs() < 0.1, "{a:?} {b:?}");
    }
    // An age in months is used as it is: 60.32 months (anthroplus test) gives 0.96 / 0.21 /
    // -0.58 for a girl of 113.8 cm and 18.7 kg.
    let z = zscores(&GrowthInput {
        weight_kg: Some(18.7),
        lenhei_cm: Some(113.8),
        ..GrowthInput::in_months(Sex::P, 60.32)
    });
    let r = |z: Option<f64>| z.map(|z| (z * 100.0).round() / 100.0);
    assert_eq!(
        (r(z.laz), r(z.waz), r(z.baz)),
        (Some(0.96), Some(0.21), Some(-0.58))
    );
    // Oedema hides weight- and BMI-for-age, not height-for-age.
    let z = zscores(&GrowthInput {
        weight_kg: Some(18.7),
        lenhei_cm: Some(113.8),
        oedema: true,
        ..GrowthInput::in_months(Sex::P, 60.32)
    });
    assert!(z.laz.is_some() && z.waz.is_none() && z.baz.is_none());
}

#[test]
fn growth_who2007_batch_ages_and_categories() {
    // anthroplus README: a boy of 100 months, 100 cm, 30 kg -> hfa -5.04, wfa 0.87, bfa 5.03
    // (flagged: |bfa| > 5); a girl of 110 months, 90 cm, 40 kg -> hfa -7.06 and bfa 7.37 (both
    // flagged). Then an age in days, one by dates, the last day of the reference (6970 days =
    // 228.99 months) and the first ones after it.
    let input = "id,sex,age_days,age_months,birth_date,visit_date,weight_kg,lenhei_cm,measure\n\
                 boy,1,,100,,,30,100,\n\
                 girl,2,,110,,,40,90,\n\
                 days,L,3044,,,,25.5,128.0,h\n\
                 dates,P,,,2010-01-15,2024-06-01,45,155,h\n\
                 last,L,6970,,,,60,170,h\n\
                 over,L,6971,,,,60,170,h\n\
                 over_months,L,,229,,,60,170,\n";
    let out = run(input);
    let row = |id: &str| out.iter().find(|r| r["id"] == id).unwrap();
    let boy = row("boy");
    assert_eq!(
        (&*boy["laz"], &*boy["waz"], &*boy["baz"]),
        ("-5.04", "0.87", "5.03")
    );
    assert_eq!(
        (&*boy["flag_laz"], &*boy["flag_waz"], &*boy["flag_baz"]),
        ("0", "0", "1")
    );
    assert_eq!(boy["kat_pb_u"], "Sangat pendek");
    assert_eq!(boy["kat_imt_u"], "Obesitas");
    assert_eq!(boy["kat_bb_u"], "");
    let girl = row("girl");
    assert_eq!(
        (&*girl["laz"], &*girl["waz"], &*girl["baz"]),
        ("-7.06", "1.78", "7.37")
    );
    assert_eq!((&*girl["flag_laz"], &*girl["flag_baz"]), ("1", "1"));
    // 3044 days = 100.01 months; dates: 14 years 4.5 months; weight-for-age stops at 121
    // months, so only height and BMI there.
    assert!(!row("days")["waz"].is_empty() && row("days")["error"].is_empty());
    let dates = row("dates");
    assert_eq!(dates["waz"], "");
    assert!(!dates["laz"].is_empty() && !dates["baz"].is_empty());
    assert_eq!(dates["flag_waz"], "");
    assert_eq!(dates["error"], "");
    assert!(!row("last")["laz"].is_empty());
    for id in ["over", "over_months"] {
        let r = row(id);
        assert!(r["error"].starts_with(codes::AGE_OUT_OF_RANGE), "{id}");
        assert_eq!((&*r["laz"], &*r["baz"]), ("", ""));
    }
}

#[test]
fn growth_who2007_status_uses_the_5_18_categories() {
    use sinergi_core::growth::{
        bmi_for_age_category_5_18, height_for_age_category_5_18, status, Category, ReferReason,
    };
    // A boy of 100 months, 130 cm: 17 kg is very thin (BMI 10.1), 40 kg obese (BMI 23.7).
    let child = |weight: f64| {
        status(&GrowthInput {
            weight_kg: Some(weight),
            lenhei_cm: Some(130.0),
            position: Some(Position::Standing),
            ..GrowthInput::in_months(Sex::L, 100.0)
        })
    };
    let thin = child(17.0);
    let baz = thin.z.baz.unwrap();
    assert!(baz < -3.0, "{baz}");
    assert_eq!(thin.imt_u, Some(Category::GiziBuruk));
    assert_eq!(thin.refer_reasons, vec![ReferReason::GiziBuruk]);
    // Weight-for-age is there (under 121 months) and below -3, but BB/U, underweight and BGM
    // are balita measures: none from 60 months.
    assert!(thin.z.waz.unwrap() < -3.0);
    assert_eq!((thin.bb_u, thin.underweight, thin.bgm), (None, None, false));
    assert_eq!((thin.bb_pb, thin.wasting), (None, None));
    assert_eq!(
        thin.pb_u,
        Some(height_for_age_category_5_18(thin.z.laz.unwrap()))
    );
    assert_eq!(thin.stunting, Some(thin.z.laz.unwrap() < -2.0));
    let heavy = child(40.0);
    let baz = heavy.z.baz.unwrap();
    assert!(baz > 2.0, "{baz}");
    assert_eq!(heavy.imt_u, Some(Category::Obesitas));
    assert_eq!(heavy.imt_u, Some(bmi_for_age_category_5_18(baz)));
    assert!(heavy.refer_reasons.is_empty());
}
