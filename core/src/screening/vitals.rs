//! Dewasa and lansia measurements: blood pressure grade, blood glucose, adult BMI and waist
//! circumference (central obesity).

use serde::{Deserialize, Serialize};

use super::data::{band_index, judge, verdict_at};
use super::range::Range;
use super::Verdict;
use crate::growth::Sex;
use crate::Problem;

const SYSTOLIC: Range = Range {
    field: "systolic",
    code: "blood_pressure_out_of_range",
    name: ("Tekanan darah sistolik", "Systolic blood pressure"),
    min: 50.0,
    max: 300.0,
    unit: "mmHg",
};

const DIASTOLIC: Range = Range {
    field: "diastolic",
    name: ("Tekanan darah diastolik", "Diastolic blood pressure"),
    min: 20.0,
    max: 200.0,
    ..SYSTOLIC
};

/// The blood pressure grade: the higher of the systolic and diastolic grades wins
/// (normal / normal tinggi 130-139/85-89 / hipertensi derajat 1 140-159/90-99 / derajat 2
/// 160-179/100-109 / derajat 3 from 180/110).
pub fn blood_pressure(systolic: u16, diastolic: u16) -> Result<Verdict, Problem> {
    let s = SYSTOLIC.check(systolic.into())?;
    let d = DIASTOLIC.check(diastolic.into())?;
    if systolic <= diastolic {
        return Err(Problem::new(
            "systolic_not_above_diastolic",
            Some("systolic"),
            format!(
                "Sistolik {systolic} harus lebih tinggi dari diastolik {diastolic}: periksa lagi"
            ),
            format!("Systolic {systolic} must be above diastolic {diastolic}: check it"),
        ));
    }
    let by_systolic = band_index("td_sistolik", s);
    let by_diastolic = band_index("td_diastolik", d);
    Ok(if by_diastolic > by_systolic {
        verdict_at("td_diastolik", by_diastolic)
    } else {
        verdict_at("td_sistolik", by_systolic)
    })
}

/// How the blood glucose was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlucoseTest {
    /// Gula darah sewaktu (GDS), random.
    Sewaktu,
    /// Gula darah puasa (GDP), fasting.
    Puasa,
}

const GLUCOSE: Range = Range {
    field: "glucose",
    code: "glucose_out_of_range",
    name: ("Gula darah", "Blood glucose"),
    min: 20.0,
    max: 1000.0,
    unit: "mg/dL",
};

/// Blood glucose in mg/dL: sewaktu 140-199 prediabetes, from 200 diabetes; puasa 100-125
/// prediabetes, from 126 diabetes.
pub fn blood_glucose(test: GlucoseTest, mg_dl: f64) -> Result<Verdict, Problem> {
    let v = GLUCOSE.check(mg_dl)?;
    Ok(match test {
        GlucoseTest::Sewaktu => judge("gula_darah_sewaktu", v),
        GlucoseTest::Puasa => judge("gula_darah_puasa", v),
    })
}

const WEIGHT: Range = Range {
    field: "weight_kg",
    code: "weight_out_of_range",
    name: ("Berat badan", "Weight"),
    min: 20.0,
    max: 300.0,
    unit: "kg",
};

const HEIGHT: Range = Range {
    field: "height_cm",
    code: "height_out_of_range",
    name: ("Tinggi badan", "Height"),
    min: 100.0,
    max: 250.0,
    unit: "cm",
};

/// An adult's BMI (IMT, kg/m²) rounded to one decimal, as written on the card.
pub fn bmi(weight_kg: f64, height_cm: f64) -> Result<f64, Problem> {
    let w = WEIGHT.check(weight_kg)?;
    let h = HEIGHT.check(height_cm)? / 100.0;
    Ok((w / (h * h) * 10.0).round() / 10.0)
}

/// The adult BMI category (Kemenkes): kurus < 18.5 / normal 18.5-25.0 / gemuk > 25.0-27.0 /
/// obesitas > 27.0, judged on the BMI rounded to one decimal.
pub fn adult_bmi(weight_kg: f64, height_cm: f64) -> Result<Verdict, Problem> {
    Ok(judge("imt_dewasa", bmi(weight_kg, height_cm)?))
}

const WAIST: Range = Range {
    field: "waist_cm",
    code: "waist_out_of_range",
    name: ("Lingkar perut", "Waist circumference"),
    min: 30.0,
    max: 250.0,
    unit: "cm",
};

/// Waist circumference: central obesity above 90 cm for men, above 80 cm for women.
pub fn waist_circumference(sex: Sex, cm: f64) -> Result<Verdict, Problem> {
    let v = WAIST.check(cm)?;
    Ok(match sex {
        Sex::L => judge("lingkar_perut_laki_laki", v),
        Sex::P => judge("lingkar_perut_perempuan", v),
    })
}
