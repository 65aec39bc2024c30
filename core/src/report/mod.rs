//! Monthly posyandu reports (DOMAIN.md "Monthly report: SKDN and friends").
//!
//! For one month and one posyandu, one desa (its posyandu) or a whole puskesmas (or everything
//! the input holds, for a district), [`build`] makes a [`MonthlyReport`] with:
//! - [`skdn`]: S, K, D, N, T, O, B, 2T, BGM per posyandu and summed, the ratios K/S, D/S, D/K,
//!   N/D, N/S and the check D = N + T + O + B (reported when broken);
//! - [`nutrition`]: Permenkes 2/2020 nutrition status counts per index and category by sex and
//!   age group, and underweight / stunting / wasting per posyandu;
//! - [`coverage`]: vitamin A (blue 6-11 months, red 12-59 months; February / August rounds) and
//!   immunizations given with complete basic immunization (IDL);
//! - [`maternal`]: pregnant women with KEK (LiLA < 23.5 cm) and anaemia (Hb < 11 g/dL);
//! - [`vital`]: births and deaths; [`referrals`]: referrals made, answered and waiting.
//!
//! The input is a plain [`ReportInput`] built once from records (kind, id, posyandu, fields),
//! so the device's store and the server feed it alike. Outputs: JSON ([`to_json`]), CSV
//! ([`write_csv`]), XLSX ([`write_xlsx`]) and a printable A4 PDF ([`write_pdf`]); the three
//! formats for people share one layout ([`table::layout`]) with Indonesian headers.
//!
//! The growth rules are not re-implemented here: every weighing is assessed with
//! [`crate::growth::assess`] (z-scores, categories, N/T/O/B, 2T, BGM) exactly as the device
//! shows it to the kader, and the immunization / vitamin A rules come from the schedule data.
//!
//! ## The month a report describes (edge cases)
//! A report describes the balita population **on the last day of the month** and what
//! happened **during** the month:
//! - S counts a child born on or before the month's last day, aged 0-59 completed months on
//!   that day, not moved away or dead on or before that day and not merged into another
//!   record. So a child **turning 60 months during the month** is no longer in S that month
//!   (its last month in S is the one before), and a child **who died or moved during the
//!   month** (status date within the month, the last day included) is out of S for that
//!   month. K, D, N, T, O, B, 2T and BGM only count children in S (so D/S cannot pass 100 %
//!   and every child in D is under 60 months, where the WHO standards and the KBM apply).
//!   A weighing of a child who then died or moved in the same month is therefore not in D;
//!   the death shows in the births and deaths report.
//! - A status `pindah` / `meninggal` without a status date is taken as gone in every month
//!   (the date is unknown), and counted in the input summary.
//! - **Several weighings in a month**: the last one (by date; on the same date the record with
//!   the greater id, i.e. the later UUIDv7) is the month's weighing, as the growth rules say
//!   (a re-weighing replaces the earlier one).
//! - Records of a child merged into another (`status = digabung`, `merged_into`) count for the
//!   child it was merged into.
//! - A child belongs to its current posyandu for every month (the records keep no history of
//!   moves between posyandu).
//! - Events (immunizations and capsules given, births, deaths, referrals) are counted in the
//!   month they happened, for the posyandu of the child or woman, whatever the status later.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Problem;

pub mod coverage;
pub mod csv;
pub mod input;
pub mod maternal;
pub mod nutrition;
pub mod pdf;
pub mod referrals;
pub mod skdn;
pub mod table;
pub mod vital;
pub mod xlsx;

mod build;
mod pdf_font;

pub use build::build;
pub use coverage::{ImmunizationReport, ImmunizationRow, VitaminAReport, VitaminARow};
pub use csv::{csv_bytes, write_csv};
pub use input::{InputSummary, ReportInput, ReportInputBuilder};
pub use maternal::{MaternalCounts, MaternalReport, MaternalRow};
pub use nutrition::{
    AgeGroup, IndexCounts, NutritionReport, NutritionRow, NutritionSummary, SexAgeCounts,
};
pub use pdf::{pdf_bytes, write_pdf};
pub use referrals::{ReferralCounts, ReferralReport, ReferralRow};
pub use skdn::{Skdn, SkdnReport, SkdnRow};
pub use vital::{VitalCounts, VitalReport, VitalRow};
pub use xlsx::{write_xlsx, xlsx_bytes};

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

/// Indonesian month names, January first.
pub const MONTH_NAMES_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

impl YearMonth {
    /// `None` unless 1 <= month <= 12 and the year is one chrono can represent.
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        NaiveDate::from_ymd_opt(year, month, 1)?;
        // The month after must exist too (last_day needs it).
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        NaiveDate::from_ymd_opt(ny, nm, 1)?;
        Some(YearMonth { year, month })
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1-12.
    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("checked in new")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("not the first day ever")
    }

    pub fn prev(self) -> YearMonth {
        if self.month == 1 {
            YearMonth {
                year: self.year - 1,
                month: 12,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn next(self) -> YearMonth {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Whether `date` falls in this month.
    pub fn contains(self, date: NaiveDate) -> bool {
        date.year() == self.year && date.month() == self.month
    }

    /// "Januari 2025".
    pub fn name_id(self) -> String {
        format!("{} {}", MONTH_NAMES_ID[self.month as usize - 1], self.year)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Why a month could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bulan tidak sah {0:?}: tulis TTTT-BB, mis. 2025-01 (invalid month: write YYYY-MM)")]
pub struct BadMonth(pub String);

impl FromStr for YearMonth {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadMonth(s.to_string());
        let t = s.trim();
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        YearMonth::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which area a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "level", content = "id", rename_all = "snake_case")]
pub enum Level {
    /// One posyandu.
    Posyandu(Uuid),
    /// The posyandu of one desa.
    Desa(Uuid),
    /// The posyandu of one puskesmas.
    Puskesmas(Uuid),
    /// Everything the input holds (a district on the server, or "my whole puskesmas" on a
    /// device that holds one).
    All,
}

/// One posyandu as a report row names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceRef {
    pub id: Uuid,
    /// The posyandu's name, or "Posyandu " and the start of its id when its master record is
    /// not in the input.
    pub name: String,
    /// The desa's name, when known.
    pub desa: Option<String>,
}

/// The area a report covers, named for titles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeInfo {
    pub level: Level,
    /// "Posyandu", "Desa", "Puskesmas" or "Semua wilayah".
    pub level_label: String,
    pub puskesmas: Option<String>,
    pub desa: Option<String>,
    pub posyandu: Option<String>,
}

impl ScopeInfo {
    /// "Puskesmas Sukamaju · Desa Mekar · Posyandu Melati 1" (only the parts known).
    pub fn describe(&self) -> String {
        // Names often carry their own prefix ("Posyandu Mawar"): never write it twice.
        let named = |prefix: &str, name: &str| {
            if name.to_lowercase().starts_with(&prefix.to_lowercase()) {
                name.to_string()
            } else {
                format!("{prefix} {name}")
            }
        };
        let mut parts = Vec::new();
        if let Some(p) = &self.puskesmas {
            parts.push(named("Puskesmas", p));
        }
        if let Some(d) = &self.desa {
            parts.push(named("Desa", d));
        }
        if let Some(p) = &self.posyandu {
            parts.push(named("Posyandu", p));
        }
        if parts.is_empty() {
            parts.push(self.level_label.clone());
        }
        parts.join(" \u{b7} ")
    }
}

/// Every monthly report for one month and one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    pub month: YearMonth,
    pub scope: ScopeInfo,
    pub skdn: SkdnReport,
    pub nutrition: NutritionReport,
    pub vitamin_a: VitaminAReport,
    pub immunization: ImmunizationReport,
    pub maternal: MaternalReport,
    pub vital: VitalReport,
    pub referrals: ReferralReport,
    /// What was read and what was skipped (with reasons).
    pub input: InputSummary,
    /// Things a coordinator must know: a broken D = N+T+O+B check, an unknown area, ...
    pub warnings: Vec<Problem>,
}

/// A percentage `num / den * 100`, `None` when `den` is 0.
pub fn percent(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| num as f64 * 100.0 / den as f64)
}

/// The report as pretty JSON.
pub fn to_json(report: &MonthlyReport) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes")
}

/// Writes [`to_json`] to `path`.
pub fn write_json(report: &MonthlyReport, path: &std::path::Path) -> Result<(), WriteError> {
    std::fs::write(path, to_json(report))?;
    Ok(())
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Csv,
    Pdf,
    Json,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Xlsx, Format::Csv, Format::Pdf, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Pdf => "pdf",
            Format::Json => "json",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Json => "application/json",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("format tidak dikenal {s:?} (xlsx, csv, pdf, json)"))
    }
}

/// The report in `format`, as bytes (for an HTTP response).
pub fn render(report: &MonthlyReport, format: Format) -> Result<Vec<u8>, WriteError> {
    match format {
        Format::Xlsx => xlsx_bytes(report),
        Format::Csv => csv_bytes(report),
        Format::Pdf => Ok(pdf_bytes(report)),
        Format::Json => Ok(to_json(report).into_bytes()),
    }
}

/// Writes the report in `format` to `path`.
pub fn write(
    report: &MonthlyReport,
    format: Format,
    path: &std::path::Path,
) -> Result<(), WriteError> {
    std::fs::write(path, render(report, format)?)?;
    Ok(())
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv: {0}")]
    Csv(#[from] ::csv::Error),
}

impl From<WriteError> for crate::CoreError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io(e) => crate::CoreError::Io(e),
            other => crate::CoreError::BadData(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_year_month() {
        let m: YearMonth = "2024-02".parse().unwrap();
        assert_eq!(m.to_string(), "2024-02");
        assert_eq!(m.last_day(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(m.prev().to_string(), "2024-01");
        assert_eq!(
            "2024-01".parse::<YearMonth>().unwrap().prev().to_string(),
            "2023-12"
        );
        assert_eq!(
            m.next()
                .next()
                .next()
                .next()
                .next()
                .next()
                .next()
                .next()
                .next()
                .next()
                .next()
                .to_string(),
            "2025-01"
        );
        assert_eq!(m.name_id(), "Februari 2024");
        for bad in ["2024-13", "2024-1", "24-01", "2024/01", ""] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"2024-02\"");
        assert_eq!("pdf".parse::<Format>(), Ok(Format::Pdf));
    }
}
