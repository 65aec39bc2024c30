//! A whole measurement assessed: z-scores, categories, N/T/2T/BGM, refer advice, JSON.
//! Expected z-scores were computed by hand from the LMS rows (girl day 435; boy day 1109).

use chrono::NaiveDate;
use sinergi_core::growth::{
    assess, AssessError, Category, Measurement, Position, ReferReason, Sex, Weighing, WeightTrend,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn w(date: NaiveDate, weight_kg: f64) -> Weighing {
    Weighing { date, weight_kg }
}

fn measurement(date: NaiveDate, weight: f64, lenhei: f64, position: Position) -> Measurement {
    Measurement {
        date,
        weight_kg: Some(weight),
        lenhei_cm: Some(lenhei),
        position: Some(position),
        head_cm: None,
        muac_cm: None,
        oedema: false,
    }
}

#[test]
fn growth_assessment_severely_wasted_girl_with_2t() {
    let birth = d(2023, 1, 10);
    let m = measurement(d(2024, 3, 20), 6.4, 72.0, Position::Lying);
    let history = [w(d(2024, 1, 15), 6.5), w(d(2024, 2, 12), 6.5)];
    let a = assess(Sex::P, birth, &m, &history).unwrap();

    assert_eq!(a.age_days, 435);
    assert_eq!(a.age_months, 14);
    assert!(!a.uses_height);
    assert_eq!(a.z.waz, Some(-3.29));
    assert_eq!(a.z.laz, Some(-1.75));
    assert_eq!(a.z.wlz, Some(-3.38));
    assert_eq!(a.z.baz, Some(-3.19));
    assert_eq!(a.bb_u, Some(Category::BeratBadanSangatKurang));
    assert_eq!(a.pb_u, Some(Category::PanjangTinggiNormal));
    assert_eq!(a.bb_pb, Some(Category::GiziBuruk));
    assert_eq!(a.imt_u, Some(Category::GiziBuruk));
    assert_eq!(
        (a.stunting, a.wasting, a.underweight),
        (Some(false), Some(true), Some(true))
    );
    // Feb: 0 g (T), Mar: -100 g (T): 2T. Below -3 weight-for-age: BGM.
    assert_eq!(a.trend, Some(WeightTrend::T));
    assert_eq!(a.gain_g, Some(-100));
    assert_eq!(a.kbm_g, Some(200));
    assert!(a.two_t);
    assert!(a.bgm);
    assert!(a.refer);
    assert_eq!(
        a.refer_reasons,
        vec![ReferReason::TwoT, ReferReason::Bgm, ReferReason::GiziBuruk]
    );
}

#[test]
fn growth_assessment_normal_boy_standing() {
    let birth = d(2021, 5, 2);
    let m = measurement(d(2024, 5, 15), 14.2, 95.3, Position::Standing);
    let history = [w(d(2024, 3, 11), 13.9), w(d(2024, 4, 10), 14.0)];
    let a = assess(Sex::L, birth, &m, &history).unwrap();

    assert_eq!(a.age_days, 1109);
    assert_eq!(a.age_months, 36);
    assert!(a.uses_height);
    assert_eq!(a.clenhei_cm, Some(95.3));
    assert_eq!(a.bmi, Some(15.64));
    assert_eq!(a.z.waz, Some(-0.12));
    assert_eq!(a.z.laz, Some(-0.29));
    assert_eq!(a.z.wlz, Some(0.06));
    assert_eq!(a.z.baz, Some(0.04));
    assert_eq!(a.bb_u, Some(Category::BeratBadanNormal));
    assert_eq!(a.bb_pb, Some(Category::GiziBaik));
    // Gained exactly the KBM (200 g from 12 months): N.
    assert_eq!(a.trend, Some(WeightTrend::N));
    assert_eq!((a.gain_g, a.kbm_g), (Some(200), Some(200)));
    assert!(!a.two_t && !a.bgm && !a.refer);
    assert!(a.refer_reasons.is_empty());

    // JSON for the CLI: categories carry code and both labels.
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["sex"], "L");
    assert_eq!(json["z"]["wlz"], 0.06);
    assert_eq!(json["bb_pb"]["code"], "gizi_baik");
    assert_eq!(json["bb_pb"]["label_id"], "Gizi baik");
    assert_eq!(json["trend"], "N");
    assert_eq!(json["z"]["hcz"], serde_json::Value::Null);
    assert_eq!(json["refer_reasons"], serde_json::json!([]));
}

#[test]
fn growth_assessment_first_and_skipped_months() {
    let birth = d(2021, 5, 2);
    let m = measurement(d(2024, 5, 15), 14.2, 95.3, Position::Standing);
    // First weighing ever: B.
    let a = assess(Sex::L, birth, &m, &[]).unwrap();
    assert_eq!(a.trend, Some(WeightTrend::B));
    assert_eq!((a.gain_g, a.kbm_g), (None, None));
    // Not weighed in April: O, not T.
    let a = assess(Sex::L, birth, &m, &[w(d(2024, 3, 11), 14.2)]).unwrap();
    assert_eq!(a.trend, Some(WeightTrend::O));
    // Weighings after the measurement are ignored.
    let a = assess(Sex::L, birth, &m, &[w(d(2024, 6, 11), 15.0)]).unwrap();
    assert_eq!(a.trend, Some(WeightTrend::B));
    // A measurement dated before birth is refused.
    let early = measurement(d(2021, 5, 1), 3.0, 50.0, Position::Lying);
    assert_eq!(
        assess(Sex::L, birth, &early, &[]),
        Err(AssessError::BeforeBirth)
    );
}

#[test]
fn growth_assessment_oedema_refers_without_weight_zscores() {
    let birth = d(2023, 1, 10);
    let m = Measurement {
        oedema: true,
        muac_cm: Some(12.0),
        ..measurement(d(2024, 3, 20), 6.4, 72.0, Position::Lying)
    };
    let a = assess(Sex::P, birth, &m, &[]).unwrap();
    assert_eq!((a.z.waz, a.z.wlz, a.z.baz), (None, None, None));
    assert_eq!((a.bb_u, a.bb_pb, a.imt_u), (None, None, None));
    assert_eq!(a.z.laz, Some(-1.75));
    assert!(a.z.acz.is_some());
    assert!(!a.bgm);
    assert_eq!(a.refer_reasons, vec![ReferReason::Oedema]);
    assert!(a.refer);
}
