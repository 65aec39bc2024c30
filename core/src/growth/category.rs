//! Nutrition-status categories of Permenkes 2/2020 (Indonesian child anthropometry standard).
//!
//! Edges: a z-score is categorised after rounding to 2 decimals (the precision it is
//! reported and written on the KMS with), compared as whole hundredths so float noise can
//! never move a child across a cut-off. So z = -3.004 counts as -3.00 ("-3 to < -2"), and
//! z = -3.0051 counts as -3.01 ("< -3"). The cut-offs are those of the regulation's table:
//!
//! | index | categories |
//! | --- | --- |
//! | BB/U | < -3 / -3 to < -2 / -2 to +1 / > +1 |
//! | PB/U, TB/U | < -3 / -3 to < -2 / -2 to +3 / > +3 |
//! | BB/PB, BB/TB, IMT/U | < -3 / -3 to < -2 / -2 to +1 / > +1 to +2 / > +2 to +3 / > +3 |
//!
//! From 5 years (60 months, where the z-scores come from the WHO 2007 reference) the cut-offs
//! for 5-18 years apply instead; they are versioned data with their source in
//! `core/data/categories-5-18.tsv`:
//!
//! | index | categories |
//! | --- | --- |
//! | IMT/U | gizi buruk < -3 / gizi kurang -3 to < -2 / gizi baik -2 to +1 / gizi lebih > +1 to +2 / obesitas > +2 |
//! | TB/U | sangat pendek < -3 / pendek -3 to < -2 / normal -2 to +3 / tinggi > +3 |
//!
//! Permenkes 2/2020 has no BB/U or BB/TB category for 5-18 years.

use std::sync::LazyLock;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// The four indices Permenkes 2/2020 categorises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum GrowthIndex {
    /// Berat badan menurut umur (weight-for-age).
    #[serde(rename = "bb_u")]
    WeightForAge,
    /// Panjang/tinggi badan menurut umur (length/height-for-age).
    #[serde(rename = "pb_u")]
    LengthForAge,
    /// Berat badan menurut panjang/tinggi badan (weight-for-length/height).
    #[serde(rename = "bb_pb")]
    WeightForLength,
    /// Indeks massa tubuh menurut umur (BMI-for-age).
    #[serde(rename = "imt_u")]
    BmiForAge,
}

/// A Permenkes 2/2020 category. Serialized as `{code, label_id, label_en}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    // BB/U
    BeratBadanSangatKurang,
    BeratBadanKurang,
    BeratBadanNormal,
    RisikoBeratBadanLebih,
    // PB/U, TB/U
    SangatPendek,
    Pendek,
    PanjangTinggiNormal,
    Tinggi,
    // BB/PB, BB/TB, IMT/U
    GiziBuruk,
    GiziKurang,
    GiziBaik,
    BerisikoGiziLebih,
    GiziLebih,
    Obesitas,
}

impl Category {
    /// Every category, in table order.
    pub const ALL: [Category; 14] = [
        Category::BeratBadanSangatKurang,
        Category::BeratBadanKurang,
        Category::BeratBadanNormal,
        Category::RisikoBeratBadanLebih,
        Category::SangatPendek,
        Category::Pendek,
        Category::PanjangTinggiNormal,
        Category::Tinggi,
        Category::GiziBuruk,
        Category::GiziKurang,
        Category::GiziBaik,
        Category::BerisikoGiziLebih,
        Category::GiziLebih,
        Category::Obesitas,
    ];

    /// Stable machine code (for storage, reports and translations).
    pub fn code(self) -> &'static str {
        use Category::*;
        match self {
            BeratBadanSangatKurang => "berat_badan_sangat_kurang",
            BeratBadanKurang => "berat_badan_kurang",
            BeratBadanNormal => "berat_badan_normal",
            RisikoBeratBadanLebih => "risiko_berat_badan_lebih",
            SangatPendek => "sangat_pendek",
            Pendek => "pendek",
            PanjangTinggiNormal => "panjang_tinggi_normal",
            Tinggi => "tinggi",
            GiziBuruk => "gizi_buruk",
            GiziKurang => "gizi_kurang",
            GiziBaik => "gizi_baik",
            BerisikoGiziLebih => "berisiko_gizi_lebih",
            GiziLebih => "gizi_lebih",
            Obesitas => "obesitas",
        }
    }

    /// The label of Permenkes 2/2020 (Indonesian).
    pub fn label_id(self) -> &'static str {
        use Category::*;
        match self {
            BeratBadanSangatKurang => "Berat badan sangat kurang",
            BeratBadanKurang => "Berat badan kurang",
            BeratBadanNormal => "Berat badan normal",
            RisikoBeratBadanLebih => "Risiko berat badan lebih",
            SangatPendek => "Sangat pendek",
            Pendek => "Pendek",
            PanjangTinggiNormal => "Normal",
            Tinggi => "Tinggi",
            GiziBuruk => "Gizi buruk",
            GiziKurang => "Gizi kurang",
            GiziBaik => "Gizi baik",
            BerisikoGiziLebih => "Berisiko gizi lebih",
            GiziLebih => "Gizi lebih",
            Obesitas => "Obesitas",
        }
    }

    /// The English term (as in the regulation's parentheses / WHO usage).
    pub fn label_en(self) -> &'static str {
        use Category::*;
        match self {
            BeratBadanSangatKurang => "Severely underweight",
            BeratBadanKurang => "Underweight",
            BeratBadanNormal => "Normal weight",
            RisikoBeratBadanLebih => "Risk of overweight",
            SangatPendek => "Severely stunted",
            Pendek => "Stunted",
            PanjangTinggiNormal => "Normal",
            Tinggi => "Tall",
            GiziBuruk => "Severely wasted",
            GiziKurang => "Wasted",
            GiziBaik => "Normal",
            BerisikoGiziLebih => "Possible risk of overweight",
            GiziLebih => "Overweight",
            Obesitas => "Obese",
        }
    }

    /// The category for a stable code.
    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Category", 3)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("label_id", self.label_id())?;
        s.serialize_field("label_en", self.label_en())?;
        s.end()
    }
}

/// z in whole hundredths after rounding to 2 decimals (see the module notes).
#[inline]
pub fn hundredths(z: f64) -> i64 {
    (z * 100.0).round() as i64
}

/// BB/U: < -3 / -3 to < -2 / -2 to +1 / > +1.
pub fn weight_for_age_category(z: f64) -> Category {
    match hundredths(z) {
        h if h < -300 => Category::BeratBadanSangatKurang,
        h if h < -200 => Category::BeratBadanKurang,
        h if h <= 100 => Category::BeratBadanNormal,
        _ => Category::RisikoBeratBadanLebih,
    }
}

/// PB/U or TB/U: < -3 / -3 to < -2 / -2 to +3 / > +3.
pub fn length_for_age_category(z: f64) -> Category {
    match hundredths(z) {
        h if h < -300 => Category::SangatPendek,
        h if h < -200 => Category::Pendek,
        h if h <= 300 => Category::PanjangTinggiNormal,
        _ => Category::Tinggi,
    }
}

/// BB/PB or BB/TB: < -3 / -3 to < -2 / -2 to +1 / > +1 to +2 / > +2 to +3 / > +3.
pub fn weight_for_length_category(z: f64) -> Category {
    match hundredths(z) {
        h if h < -300 => Category::GiziBuruk,
        h if h < -200 => Category::GiziKurang,
        h if h <= 100 => Category::GiziBaik,
        h if h <= 200 => Category::BerisikoGiziLebih,
        h if h <= 300 => Category::GiziLebih,
        _ => Category::Obesitas,
    }
}

/// IMT/U: same cut-offs and labels as BB/PB-BB/TB.
pub fn bmi_for_age_category(z: f64) -> Category {
    weight_for_length_category(z)
}

/// The category of `z` for `index`.
pub fn categorise(index: GrowthIndex, z: f64) -> Category {
    match index {
        GrowthIndex::WeightForAge => weight_for_age_category(z),
        GrowthIndex::LengthForAge => length_for_age_category(z),
        GrowthIndex::WeightForLength => weight_for_length_category(z),
        GrowthIndex::BmiForAge => bmi_for_age_category(z),
    }
}

/// One row of the 5-18 years table: the category holds z (in hundredths) below `upper`
/// (or at it when `inclusive`); the last row of an index has no upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cutoff {
    category: Category,
    upper: Option<(i64, bool)>,
}

/// The cut-offs of `core/data/categories-5-18.tsv`, per index.
#[derive(Debug)]
struct Cutoffs5To18 {
    imt_u: Vec<Cutoff>,
    tb_u: Vec<Cutoff>,
}

/// Parses `core/data/categories-5-18.tsv`. Panics on malformed data: the file is embedded at
/// build time and covered by tests, so a panic can only be a packaging error.
fn parse_cutoffs(text: &str) -> Cutoffs5To18 {
    let (mut imt_u, mut tb_u) = (Vec::new(), Vec::new());
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
    {
        let c: Vec<&str> = line.split('\t').map(str::trim).collect();
        assert_eq!(
            c.len(),
            4,
            "categories-5-18.tsv: 4 columns expected in {line:?}"
        );
        let category = Category::from_code(c[1])
            .unwrap_or_else(|| panic!("categories-5-18.tsv: unknown category {:?}", c[1]));
        let upper = match (c[2], c[3]) {
            ("-", "-") => None,
            (z, inclusive) => {
                let z: f64 = z
                    .parse()
                    .unwrap_or_else(|_| panic!("categories-5-18.tsv: bad bound in {line:?}"));
                let inclusive = match inclusive {
                    "yes" => true,
                    "no" => false,
                    _ => panic!("categories-5-18.tsv: upper_inclusive must be yes or no"),
                };
                Some((hundredths(z), inclusive))
            }
        };
        let rows = match c[0] {
            "imt_u" => &mut imt_u,
            "tb_u" => &mut tb_u,
            other => panic!("categories-5-18.tsv: unknown index {other:?}"),
        };
        rows.push(Cutoff { category, upper });
    }
    for (name, rows) in [("imt_u", &imt_u), ("tb_u", &tb_u)] {
        assert!(rows.len() >= 2, "categories-5-18.tsv: {name} needs rows");
        let (last, bounded) = rows.split_last().expect("rows");
        assert!(
            last.upper.is_none(),
            "{name}: the last row has no upper bound"
        );
        let bounds: Vec<i64> = bounded
            .iter()
            .map(|r| r.upper.expect("only the last row is open").0)
            .collect();
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "{name}: bounds must go up"
        );
    }
    Cutoffs5To18 { imt_u, tb_u }
}

static CUTOFFS_5_18: LazyLock<Cutoffs5To18> =
    LazyLock::new(|| parse_cutoffs(include_str!("../../data/categories-5-18.tsv")));

fn categorise_by(rows: &[Cutoff], z: f64) -> Category {
    let h = hundredths(z);
    rows.iter()
        .find(|r| match r.upper {
            Some((upper, true)) => h <= upper,
            Some((upper, false)) => h < upper,
            None => true,
        })
        .map(|r| r.category)
        .expect("the last row takes every z")
}

/// IMT/U for 5-18 years (WHO 2007 BMI-for-age): gizi buruk < -3 / gizi kurang -3 to < -2 /
/// gizi baik -2 to +1 / gizi lebih > +1 to +2 / obesitas > +2.
pub fn bmi_for_age_category_5_18(z: f64) -> Category {
    categorise_by(&CUTOFFS_5_18.imt_u, z)
}

/// TB/U for 5-18 years (WHO 2007 height-for-age): sangat pendek < -3 / pendek -3 to < -2 /
/// normal -2 to +3 / tinggi > +3.
pub fn height_for_age_category_5_18(z: f64) -> Category {
    categorise_by(&CUTOFFS_5_18.tb_u, z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

    #[test]
    fn growth_category_5_18_imt_u_edges() {
        // At and just across every edge, after rounding to 2 decimals.
        let cases = [
            (-5.0, GiziBuruk),
            (-3.01, GiziBuruk),
            (-3.0051, GiziBuruk),
            (-3.0049, GiziKurang),
            (-3.0, GiziKurang),
            (-2.5, GiziKurang),
            (-2.01, GiziKurang),
            (-2.0051, GiziKurang),
            (-2.004, GiziBaik),
            (-2.0, GiziBaik),
            (0.0, GiziBaik),
            (1.0, GiziBaik),
            (1.004, GiziBaik),
            (1.0051, GiziLebih),
            (1.01, GiziLebih),
            (1.5, GiziLebih),
            (2.0, GiziLebih),
            (2.004, GiziLebih),
            (2.0051, Obesitas),
            (2.01, Obesitas),
            (3.0, Obesitas),
            (3.01, Obesitas),
            (6.0, Obesitas),
        ];
        for (z, want) in cases {
            assert_eq!(bmi_for_age_category_5_18(z), want, "z = {z}");
        }
        // Under 5 the same z-scores give other categories above +1.
        assert_eq!(bmi_for_age_category(1.5), BerisikoGiziLebih);
        assert_eq!(bmi_for_age_category(2.5), GiziLebih);
        assert_eq!(bmi_for_age_category_5_18(2.5), Obesitas);
    }

    #[test]
    fn growth_category_5_18_tb_u_edges() {
        let cases = [
            (-6.5, SangatPendek),
            (-3.01, SangatPendek),
            (-3.0051, SangatPendek),
            (-3.004, Pendek),
            (-3.0, Pendek),
            (-2.01, Pendek),
            (-2.0, PanjangTinggiNormal),
            (0.0, PanjangTinggiNormal),
            (3.0, PanjangTinggiNormal),
            (3.004, PanjangTinggiNormal),
            (3.0051, Tinggi),
            (3.01, Tinggi),
        ];
        for (z, want) in cases {
            assert_eq!(height_for_age_category_5_18(z), want, "z = {z}");
            // The same cut-offs as PB/U-TB/U under 5.
            assert_eq!(length_for_age_category(z), want, "z = {z}");
        }
    }

    #[test]
    fn growth_category_5_18_data_is_checked() {
        let t = &*CUTOFFS_5_18;
        let codes: Vec<&str> = t.imt_u.iter().map(|r| r.category.code()).collect();
        assert_eq!(
            codes,
            [
                "gizi_buruk",
                "gizi_kurang",
                "gizi_baik",
                "gizi_lebih",
                "obesitas"
            ]
        );
        assert_eq!(t.tb_u.len(), 4);
        let bad = "index\tcategory\tupper\tupper_inclusive\nimt_u\tgizi_buruk\t-2\tno\nimt_u\tgizi_baik\t-3\tno\nimt_u\tobesitas\t-\t-\ntb_u\tpendek\t0\tno\ntb_u\ttinggi\t-\t-\n";
        assert!(std::panic::catch_unwind(|| parse_cutoffs(bad)).is_err());
        let open_middle = "index\tcategory\tupper\tupper_inclusive\nimt_u\tgizi_buruk\t-\t-\nimt_u\tobesitas\t1\tyes\ntb_u\tpendek\t0\tno\ntb_u\ttinggi\t-\t-\n";
        assert!(std::panic::catch_unwind(|| parse_cutoffs(open_middle)).is_err());
    }

    #[test]
    fn growth_category_weight_for_age_edges() {
        let cases = [
            (-3.01, BeratBadanSangatKurang),
            (-3.0051, BeratBadanSangatKurang),
            (-3.0, BeratBadanKurang),
            (-3.004, BeratBadanKurang),
            (-2.01, BeratBadanKurang),
            (-2.0, BeratBadanNormal),
            (0.0, BeratBadanNormal),
            (1.0, BeratBadanNormal),
            (1.004, BeratBadanNormal),
            (1.0051, RisikoBeratBadanLebih),
            (1.01, RisikoBeratBadanLebih),
            (2.0, RisikoBeratBadanLebih),
            (3.0, RisikoBeratBadanLebih),
            (3.01, RisikoBeratBadanLebih),
        ];
        for (z, want) in cases {
            assert_eq!(weight_for_age_category(z), want, "z = {z}");
        }
    }

    #[test]
    fn growth_category_length_for_age_edges() {
        let cases = [
            (-3.01, SangatPendek),
            (-3.0, Pendek),
            (-2.01, Pendek),
            (-2.0, PanjangTinggiNormal),
            (1.0, PanjangTinggiNormal),
            (2.0, PanjangTinggiNormal),
            (3.0, PanjangTinggiNormal),
            (3.01, Tinggi),
        ];
        for (z, want) in cases {
            assert_eq!(length_for_age_category(z), want, "z = {z}");
        }
    }

    #[test]
    fn growth_category_weight_for_length_and_bmi_edges() {
        let cases = [
            (-3.01, GiziBuruk),
            (-3.0, GiziKurang),
            (-2.01, GiziKurang),
            (-2.0, GiziBaik),
            (1.0, GiziBaik),
            (1.01, BerisikoGiziLebih),
            (2.0, BerisikoGiziLebih),
            (2.01, GiziLebih),
            (3.0, GiziLebih),
            (3.01, Obesitas),
        ];
        for (z, want) in cases {
            assert_eq!(weight_for_length_category(z), want, "z = {z}");
            assert_eq!(bmi_for_age_category(z), want, "z = {z}");
        }
    }

    #[test]
    fn growth_category_codes_round_trip_and_serialize() {
        for c in Category::ALL {
            assert_eq!(Category::from_code(c.code()), Some(c));
        }
        let json = serde_json::to_value(GiziBuruk).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "gizi_buruk", "label_id": "Gizi buruk", "label_en": "Severely wasted"})
        );
    }
}
