//! Nutrition status of the month (Permenkes 2/2020 categories).
//!
//! Who: children in S measured in the month; which measurement: the month's weighing (the
//! last one in the month), or the last length-only measurement when the child was not weighed
//! (see [`super::skdn`]). Each index is categorised from that measurement's assessment
//! ([`crate::growth::assess`]: z-scores rounded to 2 decimals, the Permenkes cut-offs).
//!
//! Per index, a child is in exactly one of: a category, "tidak dapat dinilai" (not
//! computable: no length, oedema for the weight-based indices, length outside the tables) or
//! "nilai ekstrem" (flagged implausible by the WHO rules: counted apart and left out of the
//! categories and percentages, to be re-measured). Age groups use the completed months at the
//! measurement: 0-5, 6-11, 12-23, 24-59.
//!
//! Per posyandu: underweight (BB/U < -2), stunting (PB/U or TB/U < -2), wasting (BB/PB or BB/TB
//! < -2), gizi buruk (BB/PB or BB/TB < -3) and gizi lebih or obesitas (BB/PB or BB/TB > +2), with
//! percentages of the children assessed for that index.

use std::ops::AddAssign;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::growth::{Assessment, Category, GrowthIndex, Sex};

use super::{percent, PlaceRef};

/// The age groups of the nutrition table, in completed months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AgeGroup {
    #[serde(rename = "0-5")]
    M0To5,
    #[serde(rename = "6-11")]
    M6To11,
    #[serde(rename = "12-23")]
    M12To23,
    #[serde(rename = "24-59")]
    M24To59,
}

impl AgeGroup {
    pub const ALL: [AgeGroup; 4] = [
        AgeGroup::M0To5,
        AgeGroup::M6To11,
        AgeGroup::M12To23,
        AgeGroup::M24To59,
    ];

    /// The group of an age in completed months (60 and over fall in 24-59; S never holds
    /// them).
    pub fn of_months(m: u32) -> AgeGroup {
        match m {
            0..=5 => AgeGroup::M0To5,
            6..=11 => AgeGroup::M6To11,
            12..=23 => AgeGroup::M12To23,
            _ => AgeGroup::M24To59,
        }
    }

    /// "0-5".
    pub fn code(self) -> &'static str {
        match self {
            AgeGroup::M0To5 => "0-5",
            AgeGroup::M6To11 => "6-11",
            AgeGroup::M12To23 => "12-23",
            AgeGroup::M24To59 => "24-59",
        }
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// Counts by age group and sex. Serialized as
/// `{"0-5": {"L": n, "P": n}, ..., "L": n, "P": n, "total": n}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SexAgeCounts {
    cells: [[u32; 2]; 4],
}

impl SexAgeCounts {
    pub fn get(&self, group: AgeGroup, sex: Sex) -> u32 {
        self.cells[group.idx()][sex_idx(sex)]
    }

    pub fn sex_total(&self, sex: Sex) -> u32 {
        self.cells.iter().map(|g| g[sex_idx(sex)]).sum()
    }

    pub fn total(&self) -> u32 {
        self.cells.iter().flatten().sum()
    }

    pub(crate) fn add(&mut self, group: AgeGroup, sex: Sex) {
        self.cells[group.idx()][sex_idx(sex)] += 1;
    }
}

fn sex_idx(s: Sex) -> usize {
    match s {
        Sex::L => 0,
        Sex::P => 1,
    }
}

impl AddAssign<&SexAgeCounts> for SexAgeCounts {
    fn add_assign(&mut self, o: &SexAgeCounts) {
        for (a, b) in self
            .cells
            .iter_mut()
            .flatten()
            .zip(o.cells.iter().flatten())
        {
            *a += b;
        }
    }
}

impl Serialize for SexAgeCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Pair {
            #[serde(rename = "L")]
            l: u32,
            #[serde(rename = "P")]
            p: u32,
        }
        let mut m = s.serialize_map(Some(7))?;
        for g in AgeGroup::ALL {
            m.serialize_entry(
                g.code(),
                &Pair {
                    l: self.get(g, Sex::L),
                    p: self.get(g, Sex::P),
                },
            )?;
        }
        m.serialize_entry("L", &self.sex_total(Sex::L))?;
        m.serialize_entry("P", &self.sex_total(Sex::P))?;
        m.serialize_entry("total", &self.total())?;
        m.end()
    }
}

/// One category's counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategoryCounts {
    pub category: Category,
    pub counts: SexAgeCounts,
}

/// One index: its categories, the children it could not assess and those flagged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexCounts {
    pub index: GrowthIndex,
    /// "BB/U", "PB/U atau TB/U", "BB/PB atau BB/TB", "IMT/U".
    pub label: &'static str,
    pub categories: Vec<CategoryCounts>,
    /// Sum of the categories (the percentages' denominator).
    pub assessed: SexAgeCounts,
    /// Not computable for this index.
    pub not_assessable: SexAgeCounts,
    /// Flagged implausible (left out of the categories).
    pub flagged: SexAgeCounts,
}

impl IndexCounts {
    fn new(index: GrowthIndex) -> IndexCounts {
        let (label, cats) = match index {
            GrowthIndex::WeightForAge => ("BB/U", &Category::ALL[0..4]),
            GrowthIndex::LengthForAge => ("PB/U atau TB/U", &Category::ALL[4..8]),
            GrowthIndex::WeightForLength => ("BB/PB atau BB/TB", &Category::ALL[8..14]),
            GrowthIndex::BmiForAge => ("IMT/U", &Category::ALL[8..14]),
        };
        IndexCounts {
            index,
            label,
            categories: cats
                .iter()
                .map(|&category| CategoryCounts {
                    category,
                    counts: SexAgeCounts::default(),
                })
                .collect(),
            assessed: SexAgeCounts::default(),
            not_assessable: SexAgeCounts::default(),
            flagged: SexAgeCounts::default(),
        }
    }

    fn add(&mut self, cat: Option<Category>, flagged: bool, group: AgeGroup, sex: Sex) {
        match cat {
            None => self.not_assessable.add(group, sex),
            Some(_) if flagged => self.flagged.add(group, sex),
            Some(c) => {
                if let Some(cc) = self.categories.iter_mut().find(|cc| cc.category == c) {
                    cc.counts.add(group, sex);
                    self.assessed.add(group, sex);
                }
            }
        }
    }
}

/// The nutrition problems of one posyandu (or a sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct NutritionSummary {
    /// Children in S measured this month.
    pub measured: u32,
    pub bb_u_assessed: u32,
    /// BB/U < -2.
    pub underweight: u32,
    pub underweight_pct: Option<f64>,
    pub pb_u_assessed: u32,
    /// PB/U or TB/U < -2.
    pub stunting: u32,
    pub stunting_pct: Option<f64>,
    pub bb_pb_assessed: u32,
    /// BB/PB or BB/TB < -2.
    pub wasting: u32,
    pub wasting_pct: Option<f64>,
    /// BB/PB or BB/TB < -3.
    pub gizi_buruk: u32,
    /// BB/PB or BB/TB > +2 (gizi lebih and obesitas).
    pub overweight: u32,
}

impl NutritionSummary {
    pub fn finish(&mut self) {
        self.underweight_pct = percent(self.underweight, self.bb_u_assessed);
        self.stunting_pct = percent(self.stunting, self.pb_u_assessed);
        self.wasting_pct = percent(self.wasting, self.bb_pb_assessed);
    }

    pub(crate) fn add_assessment(&mut self, a: &Assessment) {
        use Category::*;
        self.measured += 1;
        if let (Some(c), false) = (a.bb_u, a.flags.waz) {
            self.bb_u_assessed += 1;
            self.underweight += matches!(c, BeratBadanSangatKurang | BeratBadanKurang) as u32;
        }
        if let (Some(c), false) = (a.pb_u, a.flags.laz) {
            self.pb_u_assessed += 1;
            self.stunting += matches!(c, SangatPendek | Pendek) as u32;
        }
        if let (Some(c), false) = (a.bb_pb, a.flags.wlz) {
            self.bb_pb_assessed += 1;
            self.wasting += matches!(c, GiziBuruk | GiziKurang) as u32;
            self.gizi_buruk += (c == GiziBuruk) as u32;
            self.overweight += matches!(c, GiziLebih | Obesitas) as u32;
        }
    }
}

impl AddAssign<&NutritionSummary> for NutritionSummary {
    fn add_assign(&mut self, o: &NutritionSummary) {
        self.measured += o.measured;
        self.bb_u_assessed += o.bb_u_assessed;
        self.underweight += o.underweight;
        self.pb_u_assessed += o.pb_u_assessed;
        self.stunting += o.stunting;
        self.bb_pb_assessed += o.bb_pb_assessed;
        self.wasting += o.wasting;
        self.gizi_buruk += o.gizi_buruk;
        self.overweight += o.overweight;
    }
}

/// One posyandu's nutrition problems.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NutritionRow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub summary: NutritionSummary,
}

/// The nutrition report of the area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NutritionReport {
    /// Children in S measured this month, by age group and sex.
    pub measured: SexAgeCounts,
    /// BB/U, PB/U-TB/U, BB/PB-BB/TB, IMT/U.
    pub indices: Vec<IndexCounts>,
    pub rows: Vec<NutritionRow>,
    pub total: NutritionSummary,
}

impl NutritionReport {
    pub(crate) fn new() -> NutritionReport {
        NutritionReport {
            measured: SexAgeCounts::default(),
            indices: [
                GrowthIndex::WeightForAge,
                GrowthIndex::LengthForAge,
                GrowthIndex::WeightForLength,
                GrowthIndex::BmiForAge,
            ]
            .into_iter()
            .map(IndexCounts::new)
            .collect(),
            rows: Vec::new(),
            total: NutritionSummary::default(),
        }
    }

    /// Counts one measured child of the area.
    pub(crate) fn add_assessment(&mut self, a: &Assessment) {
        let g = AgeGroup::of_months(a.age_months);
        let sex = a.sex;
        self.measured.add(g, sex);
        let per_index = [
            (a.bb_u, a.flags.waz),
            (a.pb_u, a.flags.laz),
            (a.bb_pb, a.flags.wlz),
            (a.imt_u, a.flags.baz),
        ];
        for (ic, (cat, flagged)) in self.indices.iter_mut().zip(per_index) {
            ic.add(cat, flagged, g, sex);
        }
    }
}
