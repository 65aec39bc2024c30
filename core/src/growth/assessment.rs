//! One measurement assessed: z-scores (rounded to 2 decimals), Permenkes categories, flags,
//! N/T/2T/BGM and the advice to refer. Serializable so fronts can print it as JSON.
//!
//! Choices:
//! - Categories, stunting / wasting / underweight and BGM use the z rounded to 2 decimals.
//! - A z-score flagged implausible is still categorised (and can trigger a referral): the
//!   flag asks the kader to re-check the measurement; reports may exclude flagged values.
//! - Refer when 2T, BGM, gizi buruk by weight-for-length/height, or oedema (bilateral pitting
//!   oedema is severe acute malnutrition, and it hides the weight-based z-scores).
//! - From 60 months the z-scores come from the WHO 2007 reference and the Permenkes
//!   categories for 5-18 years apply: IMT/U and TB/U only (no BB/U, BB/TB, underweight,
//!   wasting or BGM, which are balita measures; `waz` is still reported to 121 months). Gizi
//!   buruk there is by IMT/U (< -3), and is a reason to refer.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::category::{
    bmi_for_age_category, bmi_for_age_category_5_18, height_for_age_category_5_18, hundredths,
    length_for_age_category, weight_for_age_category, weight_for_length_category, Category,
};
use super::kbm::{
    completed_months, is_bgm, kbm_grams, trends, weight_gain_g, Weighing, WeightTrend,
};
use super::zscore::{age_in_days, round2, uses_height, zscores, GrowthInput, Reference, ZFlags};
use super::{Position, Sex};

/// One visit's measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub date: NaiveDate,
    pub weight_kg: Option<f64>,
    /// As measured, before the 0.7 cm correction.
    pub lenhei_cm: Option<f64>,
    pub position: Option<Position>,
    pub head_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    #[serde(default)]
    pub oedema: bool,
}

/// Z-scores rounded to 2 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RoundedZScores {
    pub waz: Option<f64>,
    pub laz: Option<f64>,
    pub wlz: Option<f64>,
    pub baz: Option<f64>,
    pub hcz: Option<f64>,
    pub acz: Option<f64>,
}

/// Why a child should be referred to the puskesmas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReferReason {
    /// T at two weighings in a row.
    #[serde(rename = "2T")]
    TwoT,
    /// Below the red line (weight-for-age < -3).
    #[serde(rename = "BGM")]
    Bgm,
    /// Weight-for-length/height < -3 (under 60 months) or BMI-for-age < -3 (from 60 months).
    #[serde(rename = "gizi_buruk")]
    GiziBuruk,
    /// Bilateral pitting oedema.
    #[serde(rename = "oedema")]
    Oedema,
}

/// The assessment of one measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub sex: Sex,
    pub date: NaiveDate,
    /// Exact age in days.
    pub age_days: i64,
    /// Completed months.
    pub age_months: u32,
    /// True from 731 days: TB/U and BB/TB (standing height) rather than PB/U and BB/PB.
    pub uses_height: bool,
    /// Length/height after the 0.7 cm correction (2 decimals).
    pub clenhei_cm: Option<f64>,
    /// BMI from weight and corrected length/height (2 decimals).
    pub bmi: Option<f64>,
    pub z: RoundedZScores,
    pub flags: ZFlags,
    /// BB/U.
    pub bb_u: Option<Category>,
    /// PB/U (under 731 days) or TB/U.
    pub pb_u: Option<Category>,
    /// BB/PB (under 731 days) or BB/TB.
    pub bb_pb: Option<Category>,
    /// IMT/U.
    pub imt_u: Option<Category>,
    /// PB/U or TB/U < -2.
    pub stunting: Option<bool>,
    /// BB/PB or BB/TB < -2.
    pub wasting: Option<bool>,
    /// BB/U < -2.
    pub underweight: Option<bool>,
    /// N / T / O / B for this weighing (`None` without weight or past the KBM table).
    pub trend: Option<WeightTrend>,
    /// Gain since last month's weighing, in grams (when N or T).
    pub gain_g: Option<i64>,
    /// The KBM applied (when N or T).
    pub kbm_g: Option<u32>,
    pub two_t: bool,
    pub bgm: bool,
    pub refer: bool,
    pub refer_reasons: Vec<ReferReason>,
}

/// Why a measurement could not be assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    #[error("measurement date is before the birth date")]
    BeforeBirth,
}

/// What one measurement says on its own, without the weighing history: rounded z-scores,
/// flags, categories, stunting / wasting / underweight, BGM and the history-free reasons to refer
/// (BGM, gizi buruk, oedema). `assess` adds N/T and 2T; `sinergi growth assess` uses it alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The WHO tables the z-scores come from (the 2007 reference from 60 months).
    pub reference: Reference,
    pub clenhei_cm: Option<f64>,
    pub bmi: Option<f64>,
    pub z: RoundedZScores,
    pub flags: ZFlags,
    pub bb_u: Option<Category>,
    pub pb_u: Option<Category>,
    pub bb_pb: Option<Category>,
    pub imt_u: Option<Category>,
    pub stunting: Option<bool>,
    pub wasting: Option<bool>,
    pub underweight: Option<bool>,
    pub bgm: bool,
    pub refer_reasons: Vec<ReferReason>,
}

/// The history-free part of an assessment, for one set of measures.
pub fn status(input: &GrowthInput) -> Status {
    let z = zscores(input);
    let r = RoundedZScores {
        waz: z.waz.map(round2),
        laz: z.laz.map(round2),
        wlz: z.wlz.map(round2),
        baz: z.baz.map(round2),
        hcz: z.hcz.map(round2),
        acz: z.acz.map(round2),
    };
    let below_minus_2 = |z: Option<f64>| z.map(|z| hundredths(z) < -200);
    let under5 = z.reference == Reference::Standards2006;
    let bgm = under5 && is_bgm(r.waz);
    let bb_pb = r.wlz.map(weight_for_length_category);
    let (bb_u, pb_u, imt_u) = if under5 {
        (
            r.waz.map(weight_for_age_category),
            r.laz.map(length_for_age_category),
            r.baz.map(bmi_for_age_category),
        )
    } else {
        (
            None,
            r.laz.map(height_for_age_category_5_18),
            r.baz.map(bmi_for_age_category_5_18),
        )
    };
    let gizi_buruk_by = if under5 { bb_pb } else { imt_u };
    let mut refer_reasons = Vec::new();
    if bgm {
        refer_reasons.push(ReferReason::Bgm);
    }
    if gizi_buruk_by == Some(Category::GiziBuruk) {
        refer_reasons.push(ReferReason::GiziBuruk);
    }
    if input.oedema {
        refer_reasons.push(ReferReason::Oedema);
    }
    Status {
        reference: z.reference,
        clenhei_cm: z.clenhei_cm.map(round2),
        bmi: z.bmi.map(round2),
        z: r,
        flags: z.flags,
        bb_u,
        pb_u,
        bb_pb,
        imt_u,
        stunting: below_minus_2(r.laz),
        wasting: below_minus_2(r.wlz),
        underweight: if under5 { below_minus_2(r.waz) } else { None },
        bgm,
        refer_reasons,
    }
}

/// Assesses `m` for a child of `sex` born on `birth`, with the child's earlier weighings
/// (any order; weighings on or after `m.date` are ignored, and one in `m`'s month is
/// replaced by `m`).
pub fn assess(
    sex: Sex,
    birth: NaiveDate,
    m: &Measurement,
    earlier_weighings: &[Weighing],
) -> Result<Assessment, AssessError> {
    let age_months = completed_months(birth, m.date).ok_or(AssessError::BeforeBirth)?;
    let age_days = age_in_days(birth, m.date);
    let st = status(&GrowthInput {
        sex,
        age_days: age_days as f64,
        age_months: None,
        weight_kg: m.weight_kg,
        lenhei_cm: m.lenhei_cm,
        position: m.position,
        head_cm: m.head_cm,
        muac_cm: m.muac_cm,
        oedema: m.oedema,
    });

    let (mut trend, mut gain_g, mut kbm_g, mut two_t) = (None, None, None, false);
    if let Some(weight_kg) = m.weight_kg {
        let mut history: Vec<Weighing> = earlier_weighings
            .iter()
            .filter(|w| w.date < m.date)
            .copied()
            .collect();
        history.push(Weighing {
            date: m.date,
            weight_kg,
        });
        let t = trends(birth, &history);
        if let Some((current, tr)) = t.last() {
            trend = *tr;
            if matches!(tr, Some(WeightTrend::N | WeightTrend::T)) {
                let previous = &t[t.len() - 2].0;
                gain_g = Some(weight_gain_g(previous, current));
                kbm_g = kbm_grams(age_months);
            }
        }
        two_t = t.len() >= 2
            && t[t.len() - 2..]
                .iter()
                .all(|(_, tr)| *tr == Some(WeightTrend::T));
    }

    let mut refer_reasons = st.refer_reasons;
    if two_t {
        refer_reasons.insert(0, ReferReason::TwoT);
    }

    Ok(Assessment {
        sex,
        date: m.date,
        age_days,
        age_months,
        uses_height: uses_height(age_days as f64),
        clenhei_cm: st.clenhei_cm,
        bmi: st.bmi,
        z: st.z,
        flags: st.flags,
        bb_u: st.bb_u,
        pb_u: st.pb_u,
        bb_pb: st.bb_pb,
        imt_u: st.imt_u,
        stunting: st.stunting,
        wasting: st.wasting,
        underweight: st.underweight,
        trend,
        gain_g,
        kbm_g,
        two_t,
        bgm: st.bgm,
        refer: !refer_reasons.is_empty(),
        refer_reasons,
    })
}
