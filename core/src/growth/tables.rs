//! WHO LMS tables: the Child Growth Standards 2006 (from WHO's `anthro` package, 0-5 years)
//! and the Growth Reference 2007 (from WHO's `anthroplus` package, 5-19 years).
//!
//! The TSV files in `core/data/who/` and `core/data/who2007/` are embedded with `include_str!`
//! so nothing is read at run time, and parsed once (lazily) into dense arrays: the 2006 age
//! tables are indexed by age in days, length/height tables by length in tenths of a cm, the
//! 2007 tables by age in whole months, so a look-up is one bounds check and one index.

use std::sync::LazyLock;

use super::Sex;

/// Box-Cox power (l), median (m) and coefficient of variation (s) for one table row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lms {
    pub l: f64,
    pub m: f64,
    pub s: f64,
}

impl Lms {
    /// Linear interpolation between two rows (`t` in 0..1), as anthro does between
    /// 0.1 cm rows of the weight-for-length/height tables.
    pub fn lerp(self, upper: Lms, t: f64) -> Lms {
        Lms {
            l: self.l + t * (upper.l - self.l),
            m: self.m + t * (upper.m - self.m),
            s: self.s + t * (upper.s - self.s),
        }
    }
}

/// A table keyed by a whole number (age in days, or length in tenths of a cm), both sexes.
/// `rows[sex][key - first]`.
#[derive(Debug)]
pub struct KeyedTable {
    first: u32,
    rows: [Vec<Lms>; 2],
}

impl KeyedTable {
    /// The row for `key`, or `None` outside the table.
    #[inline]
    pub fn get(&self, sex: Sex, key: u32) -> Option<Lms> {
        let i = key.checked_sub(self.first)? as usize;
        self.rows[sex.idx()].get(i).copied()
    }

    /// Smallest key in the table.
    pub fn first_key(&self) -> u32 {
        self.first
    }

    /// Largest key in the table (same for both sexes; checked when parsing).
    pub fn last_key(&self) -> u32 {
        self.first + self.rows[0].len() as u32 - 1
    }

    /// Parses an anthro TSV: header line, then `sex key l m s [loh]`. `key_scale` turns the
    /// key column into an integer (1 for age days or months, 10 for cm -> tenths of a cm). Panics on
    /// malformed data: the data is embedded at build time and covered by tests, so a panic
    /// here can only be a packaging error.
    fn parse(name: &str, text: &str, key_scale: f64) -> KeyedTable {
        let mut keyed: [Vec<(u32, Lms)>; 2] = [Vec::new(), Vec::new()];
        for (n, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| -> f64 {
                cols.get(i)
                    .and_then(|c| c.trim().parse::<f64>().ok())
                    .unwrap_or_else(|| panic!("{name}: bad column {i} on line {}", n + 1))
            };
            let sex = Sex::from_who_code(num(0) as u8)
                .unwrap_or_else(|| panic!("{name}: bad sex on line {}", n + 1));
            let key = (num(1) * key_scale).round() as u32;
            keyed[sex.idx()].push((
                key,
                Lms {
                    l: num(2),
                    m: num(3),
                    s: num(4),
                },
            ));
        }
        let first = keyed[0].first().map(|r| r.0).expect("empty table");
        let rows = keyed.map(|rows| {
            // Rows must be contiguous so that the key is the array index.
            for (i, (key, _)) in rows.iter().enumerate() {
                assert_eq!(*key, first + i as u32, "{name}: keys not contiguous");
            }
            rows.into_iter().map(|r| r.1).collect::<Vec<_>>()
        });
        assert_eq!(
            rows[0].len(),
            rows[1].len(),
            "{name}: sexes differ in length"
        );
        KeyedTable { first, rows }
    }
}

macro_rules! who_table {
    ($(#[$doc:meta])* $name:ident, $file:literal, $scale:expr) => {
        $(#[$doc])*
        pub static $name: LazyLock<KeyedTable> = LazyLock::new(|| {
            KeyedTable::parse($file, include_str!(concat!("../../data/", $file)), $scale)
        });
    };
}

who_table!(
    /// Weight-for-age, by age in days 0..=1826.
    WEIGHT_FOR_AGE, "who/weianthro.tsv", 1.0);
who_table!(
    /// Length (below 731 days) / height (from 731 days)-for-age, by age in days 0..=1826.
    LENGTH_FOR_AGE, "who/lenanthro.tsv", 1.0);
who_table!(
    /// Weight-for-length, by length in tenths of a cm 450..=1100.
    WEIGHT_FOR_LENGTH, "who/wflanthro.tsv", 10.0);
who_table!(
    /// Weight-for-height, by height in tenths of a cm 650..=1200.
    WEIGHT_FOR_HEIGHT, "who/wfhanthro.tsv", 10.0);
who_table!(
    /// BMI-for-age, by age in days 0..=1826.
    BMI_FOR_AGE, "who/bmianthro.tsv", 1.0);
who_table!(
    /// Head circumference-for-age, by age in days 0..=1826.
    HEAD_CIRCUMFERENCE_FOR_AGE, "who/hcanthro.tsv", 1.0);
who_table!(
    /// Arm circumference-for-age, by age in days 91..=1826.
    ARM_CIRCUMFERENCE_FOR_AGE, "who/acanthro.tsv", 1.0);
who_table!(
    /// WHO 2007 height-for-age, by age in whole months 60..=229 (229 repeats 228).
    HEIGHT_FOR_AGE_2007, "who2007/hfawho2007.tsv", 1.0);
who_table!(
    /// WHO 2007 weight-for-age, by age in whole months 60..=121 (121 repeats 120).
    WEIGHT_FOR_AGE_2007, "who2007/wfawho2007.tsv", 1.0);
who_table!(
    /// WHO 2007 BMI-for-age, by age in whole months 60..=229 (229 repeats 228).
    BMI_FOR_AGE_2007, "who2007/bfawho2007.tsv", 1.0);

/// Forces parsing of every table (e.g. before a benchmark, or at start-up).
pub fn init() {
    for t in [
        &WEIGHT_FOR_AGE,
        &LENGTH_FOR_AGE,
        &WEIGHT_FOR_LENGTH,
        &WEIGHT_FOR_HEIGHT,
        &BMI_FOR_AGE,
        &HEAD_CIRCUMFERENCE_FOR_AGE,
        &ARM_CIRCUMFERENCE_FOR_AGE,
        &HEIGHT_FOR_AGE_2007,
        &WEIGHT_FOR_AGE_2007,
        &BMI_FOR_AGE_2007,
    ] {
        LazyLock::force(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_tables_have_the_documented_ranges() {
        let ranges = [
            (&WEIGHT_FOR_AGE, 0, 1826),
            (&LENGTH_FOR_AGE, 0, 1826),
            (&BMI_FOR_AGE, 0, 1826),
            (&HEAD_CIRCUMFERENCE_FOR_AGE, 0, 1826),
            (&ARM_CIRCUMFERENCE_FOR_AGE, 91, 1826),
            (&WEIGHT_FOR_LENGTH, 450, 1100),
            (&WEIGHT_FOR_HEIGHT, 650, 1200),
            (&HEIGHT_FOR_AGE_2007, 60, 229),
            (&WEIGHT_FOR_AGE_2007, 60, 121),
            (&BMI_FOR_AGE_2007, 60, 229),
        ];
        for (table, first, last) in ranges {
            assert_eq!(table.first_key(), first);
            assert_eq!(table.last_key(), last);
        }
    }

    #[test]
    fn growth_tables_rows_match_the_tsv() {
        // Spot checks against lines of the TSV files.
        assert_eq!(
            WEIGHT_FOR_AGE.get(Sex::L, 0),
            Some(Lms {
                l: 0.3487,
                m: 3.3464,
                s: 0.14602
            })
        );
        assert_eq!(
            LENGTH_FOR_AGE.get(Sex::P, 731),
            Some(Lms {
                l: 1.0,
                m: 85.7299,
                s: 0.03764
            })
        );
        assert_eq!(
            WEIGHT_FOR_LENGTH.get(Sex::P, 1100),
            Some(Lms {
                l: -0.3833,
                m: 18.3324,
                s: 0.09401
            })
        );
        assert_eq!(
            WEIGHT_FOR_HEIGHT.get(Sex::L, 651),
            Some(Lms {
                l: -0.3521,
                m: 7.4563,
                s: 0.08216
            })
        );
        assert_eq!(
            ARM_CIRCUMFERENCE_FOR_AGE.get(Sex::L, 91),
            Some(Lms {
                l: 0.3933,
                m: 13.4779,
                s: 0.07474
            })
        );
        assert_eq!(ARM_CIRCUMFERENCE_FOR_AGE.get(Sex::L, 90), None);
        assert_eq!(
            WEIGHT_FOR_AGE_2007.get(Sex::P, 120),
            Some(Lms {
                l: -0.5958,
                m: 31.8578,
                s: 0.17262
            })
        );
        assert_eq!(
            BMI_FOR_AGE_2007.get(Sex::L, 60),
            Some(Lms {
                l: -0.7151,
                m: 15.2679,
                s: 0.08366
            })
        );
        assert_eq!(
            HEIGHT_FOR_AGE_2007.get(Sex::P, 229),
            HEIGHT_FOR_AGE_2007.get(Sex::P, 228)
        );
        assert_eq!(WEIGHT_FOR_AGE_2007.get(Sex::L, 122), None);
        assert_eq!(BMI_FOR_AGE_2007.get(Sex::L, 59), None);
        assert_eq!(WEIGHT_FOR_AGE.get(Sex::L, 1827), None);
    }
}
