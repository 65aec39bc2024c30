//! `core/data/screening/thresholds.tsv` and `forms.tsv`, embedded at build time and parsed once.
//! Malformed data panics on first use: the files are covered by tests, so a panic can only be a
//! packaging error.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

use super::Verdict;

/// One band of a scale: values under `upper` (or at it when inclusive), in tenths.
#[derive(Debug, Clone, Copy)]
struct Band {
    code: &'static str,
    upper: Option<(i64, bool)>,
    refer: bool,
    label: &'static str,
    label_en: &'static str,
    threshold: &'static str,
}

/// A data file: its version and its rows split into columns, header skipped.
struct Table {
    version: &'static str,
    rows: Vec<Vec<&'static str>>,
}

fn table(name: &str, text: &'static str, columns: usize) -> Table {
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("# version:"))
        .unwrap_or_else(|| panic!("{name}: no `# version:` line"))
        .trim();
    let rows: Vec<Vec<&'static str>> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').map(str::trim).collect::<Vec<_>>())
        .inspect(|c| {
            assert_eq!(
                c.len(),
                columns,
                "{name}: {columns} columns expected: {c:?}"
            )
        })
        .collect();
    Table { version, rows }
}

fn yes_no(name: &str, v: &str) -> bool {
    match v {
        "yes" => true,
        "no" => false,
        _ => panic!("{name}: yes or no expected, not {v:?}"),
    }
}

/// A value in tenths, the precision every band is compared at.
pub(crate) fn tenths(v: f64) -> i64 {
    (v * 10.0).round() as i64
}

fn band(c: &[&'static str]) -> Band {
    let upper = match (c[2], c[3]) {
        ("-", "-") => None,
        (v, inclusive) => {
            let v: f64 = v
                .parse()
                .unwrap_or_else(|_| panic!("thresholds.tsv: bad bound {v:?}"));
            Some((tenths(v), yes_no("thresholds.tsv", inclusive)))
        }
    };
    Band {
        code: c[1],
        upper,
        refer: yes_no("thresholds.tsv", c[4]),
        label: c[5],
        label_en: c[6],
        threshold: c[7],
    }
}

/// Only the last band of a scale is open, and the bounds go up.
fn check_scale(name: &str, bands: &[Band]) {
    let (last, bounded) = bands.split_last().expect("a scale has bands");
    assert!(last.upper.is_none(), "{name}: the last band is open");
    let bounds: Vec<i64> = bounded
        .iter()
        .map(|b| {
            b.upper
                .unwrap_or_else(|| panic!("{name}: only the last band is open"))
                .0
        })
        .collect();
    assert!(
        bounds.windows(2).all(|w| w[0] < w[1]),
        "{name}: bounds must go up"
    );
}

struct Thresholds {
    version: &'static str,
    scales: HashMap<&'static str, Vec<Band>>,
}

static THRESHOLDS: LazyLock<Thresholds> = LazyLock::new(|| {
    let t = table(
        "thresholds.tsv",
        include_str!("../../data/screening/thresholds.tsv"),
        8,
    );
    let mut scales: HashMap<&'static str, Vec<Band>> = HashMap::new();
    for c in &t.rows {
        scales.entry(c[0]).or_default().push(band(c));
    }
    scales
        .iter()
        .for_each(|(name, bands)| check_scale(name, bands));
    Thresholds {
        version: t.version,
        scales,
    }
});

fn bands(scale: &str) -> &'static [Band] {
    THRESHOLDS
        .scales
        .get(scale)
        .unwrap_or_else(|| panic!("thresholds.tsv: no scale {scale:?}"))
}

/// The position of `value`'s band in `scale`, from the lowest (0) up.
pub(crate) fn band_index(scale: &str, value: f64) -> usize {
    let v = tenths(value);
    bands(scale)
        .iter()
        .position(|b| match b.upper {
            Some((upper, true)) => v <= upper,
            Some((upper, false)) => v < upper,
            None => true,
        })
        .expect("the last band is open")
}

/// The verdict of band `index` of `scale`.
pub(crate) fn verdict_at(scale: &'static str, index: usize) -> Verdict {
    let b = bands(scale)[index];
    Verdict {
        scale,
        code: b.code,
        label: b.label,
        label_en: b.label_en,
        refer: b.refer,
        threshold: b.threshold,
        version: THRESHOLDS.version,
    }
}

/// The verdict of `value` on `scale`.
pub(crate) fn judge(scale: &'static str, value: f64) -> Verdict {
    verdict_at(scale, band_index(scale, value))
}

/// The stable codes of a scale's bands, from the lowest up.
pub fn band_codes(scale: &str) -> Vec<&'static str> {
    bands(scale).iter().map(|b| b.code).collect()
}

/// A questionnaire of `forms.tsv`; its total is judged on the scale of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// PUMA, PPOK (COPD) screening from 40 years.
    Puma,
    /// SRQ-20, mental-emotional screening from 15 years.
    Srq20,
    /// Barthel index of ADL (activities of daily living), lansia.
    Barthel,
    /// SKILAS, the simple lansia screening.
    Skilas,
    /// TB symptoms of a child (under 15 years).
    TbAnak,
    /// TB symptoms from 15 years.
    TbDewasa,
}

impl Form {
    /// The form's name in `forms.tsv` and its scale in `thresholds.tsv`.
    pub fn name(self) -> &'static str {
        match self {
            Form::Puma => "puma",
            Form::Srq20 => "srq20",
            Form::Barthel => "barthel",
            Form::Skilas => "skilas",
            Form::TbAnak => "tb_anak",
            Form::TbDewasa => "tb_dewasa",
        }
    }
}

/// One question of a form, in the order a kader asks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable code within the form, e.g. `batuk_2_minggu`.
    pub code: &'static str,
    /// The highest score the item gives (1 for yes/no).
    pub max_score: u8,
    /// Indonesian question.
    pub label: &'static str,
    /// English question.
    pub label_en: &'static str,
}

static FORMS: LazyLock<HashMap<&'static str, Vec<Item>>> = LazyLock::new(|| {
    let t = table(
        "forms.tsv",
        include_str!("../../data/screening/forms.tsv"),
        5,
    );
    let mut forms: HashMap<&'static str, Vec<Item>> = HashMap::new();
    for c in &t.rows {
        let max_score = c[2]
            .parse()
            .unwrap_or_else(|_| panic!("forms.tsv: bad max_score {:?}", c[2]));
        let item = Item {
            code: c[1],
            max_score,
            label: c[3],
            label_en: c[4],
        };
        forms.entry(c[0]).or_default().push(item);
    }
    forms
});

/// The items of `form`, in order.
pub fn items(form: Form) -> &'static [Item] {
    FORMS
        .get(form.name())
        .unwrap_or_else(|| panic!("forms.tsv: no form {:?}", form.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screening_data_parses_and_is_checked() {
        assert_eq!(THRESHOLDS.version, "ilp-2023.1");
        assert_eq!(THRESHOLDS.scales.len(), 17);
        // Both blood pressure scales grade alike, so either can give the verdict.
        assert_eq!(band_codes("td_sistolik"), band_codes("td_diastolik"));
        assert_eq!(band_codes("barthel").len(), 5);
        assert_eq!(FORMS.len(), 6);
        let barthel_max: u32 = items(Form::Barthel)
            .iter()
            .map(|i| u32::from(i.max_score))
            .sum();
        assert_eq!(barthel_max, 20);
        let puma_max: u32 = items(Form::Puma)
            .iter()
            .map(|i| u32::from(i.max_score))
            .sum();
        assert_eq!(puma_max, 9);
    }

    #[test]
    fn screening_data_rejects_bad_tables() {
        let b = |upper: Option<(i64, bool)>| Band {
            code: "x",
            upper,
            refer: false,
            label: "",
            label_en: "",
            threshold: "",
        };
        assert!(std::panic::catch_unwind(|| check_scale(
            "s",
            &[b(Some((20, false))), b(Some((10, false))), b(None)]
        ))
        .is_err());
        assert!(std::panic::catch_unwind(|| check_scale("s", &[b(None), b(None)])).is_err());
        assert!(std::panic::catch_unwind(|| check_scale("s", &[b(Some((10, false)))])).is_err());
        assert!(std::panic::catch_unwind(|| table("t", "a\tb\n1\t2\n", 2)).is_err()); // no version
        assert!(std::panic::catch_unwind(|| table("t", "# version: 1\na\tb\n1\n", 2)).is_err());
        check_scale("s", &[b(Some((10, false))), b(Some((20, true))), b(None)]);
    }
}
