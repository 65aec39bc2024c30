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

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

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
