//! Anaemia by haemoglobin, with the WHO (2011) cut-offs for age and sex (non-pregnant, at sea
//! level): the remaja girls' screening, and school children and adults alike.

use super::data::judge;
use super::range::Range;
use super::Verdict;
use crate::growth::Sex;
use crate::Problem;

const HB: Range = Range {
    field: "hb",
    code: "hb_out_of_range",
    name: ("Hb", "Haemoglobin"),
    min: 2.0,
    max: 25.0,
    unit: "g/dL",
};

const AGE: Range = Range {
    field: "age_years",
    code: "age_out_of_range",
    name: ("Umur", "Age"),
    min: 5.0,
    max: 130.0,
    unit: "tahun",
};

/// The WHO 2011 scale for a person of `age_years` completed years (5 and over).
fn hb_scale(sex: Sex, age_years: u32) -> &'static str {
    match (age_years, sex) {
        (..=11, _) => "hb_5_11_tahun",
        (12..=14, _) => "hb_12_14_tahun",
        (_, Sex::P) => "hb_perempuan_15_tahun",
        (_, Sex::L) => "hb_laki_laki_15_tahun",
    }
}

/// Anaemia from Hb in g/dL (judged at one decimal): severe under 8.0, moderate 8.0-10.9, mild
/// from 11.0 to under 11.5 (5-11 years), 12.0 (12-14 years, women 15+) or 13.0 (men 15+). Not for
/// pregnant women, whose cut-offs differ.
pub fn anaemia(sex: Sex, age_years: u32, hb_g_dl: f64) -> Result<Verdict, Problem> {
    AGE.check(age_years.into())?;
    Ok(judge(hb_scale(sex, age_years), HB.check(hb_g_dl)?))
}
