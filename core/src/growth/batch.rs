//! Batch z-scores for survey and weighing-month CSV files (what people use WHO Anthro's
//! batch mode for): one row per measurement in, the same row plus z-scores, flags,
//! Permenkes 2/2020 categories and an error column out.
//!
//! # Input
//! A CSV file with a header row. Column names are matched exactly (case-sensitive; spaces
//! around a name are ignored). Recognised columns, in any order:
//!
//! | column | content |
//! | --- | --- |
//! | `sex` | `1`/`L`/`l` = boy, `2`/`P`/`p` = girl (required column) |
//! | `age_days` | exact age in days (decimals allowed) |
//! | `age_months` | age in months (decimals allowed), as WHO AnthroPlus takes it; used when `age_days` is absent or empty |
//! | `birth_date`, `visit_date` | `YYYY-MM-DD`; used when `age_days` and `age_months` are absent or empty |
//! | `weight_kg` | weight in kg |
//! | `lenhei_cm` | length or height in cm, as measured |
//! | `measure` | `l`/`L` lying, `h`/`H` standing, empty = unknown (no 0.7 cm correction) |
//! | `head_cm` | head circumference in cm |
//! | `muac_cm` | mid-upper arm circumference (LiLA) in cm |
//! | `oedema` | `y`/`Y` or `n`/`N`; empty = n |
//!
//! The header must have `sex` and `age_days`, `age_months` or both `birth_date` and `visit_date`;
//! otherwise [`process`] fails before reading any row (code `batch_missing_column`). Every
//! other column passes through untouched, in its place. Numbers accept a decimal point or a
//! decimal comma (`8.5` or `8,5`). An empty cell or `NA` is a missing value. The field
//! delimiter is detected from the header line: `,` (default), `;` (Excel with an Indonesian
//! locale) or tab. A UTF-8 byte-order mark is skipped.
//!
//! # Output
//! The input columns, then [`OUTPUT_COLUMNS`]:
//! - `waz`, `laz`, `wlz`, `baz`, `hcz`, `acz`: z-scores rounded to 2 decimals, empty when not
//!   computable (missing measure, oedema for the weight-based ones, outside the tables). `laz`
//!   is length-for-age under 731 days and height-for-age from 731 days; `wlz` likewise
//!   weight-for-length or weight-for-height. The z-scores are exactly those of
//!   [`zscores`](super::zscore::zscores): the WHO 2006 standards under 60 months (as WHO's
//!   anthro), the WHO 2007 reference from 60 to under 229 months (as WHO's anthroplus), where
//!   `laz` is height-for-age, `waz` weight-for-age to under 121 months, `baz` BMI-for-age,
//!   and `wlz`, `hcz`, `acz` stay empty (the reference has none).
//! - `flag_waz`, `flag_laz`, `flag_wlz`, `flag_baz`: `1` when implausible (WHO rules, see
//!   [`ZFlags`](super::zscore::ZFlags)), `0` otherwise, empty when the z-score is empty.
//! - `kat_bb_u` (BB/U), `kat_pb_u` (PB/U under 731 days, TB/U from 731 days), `kat_bb_pb`
//!   (BB/PB or BB/TB), `kat_imt_u` (IMT/U): the Permenkes 2/2020 category's Indonesian label
//!   ([`Category::label_id`](super::category::Category::label_id), e.g. `Gizi kurang`),
//!   empty when the z-score is empty. From 60 months the categories for 5-18 years apply
//!   (`kat_pb_u` TB/U, `kat_imt_u` IMT/U; `kat_bb_u` and `kat_bb_pb` stay empty), as in
//!   [`status`](super::assessment::status). As in [`assess`](super::assessment::assess), a
//!   flagged z-score is still categorised (the flag asks for a re-check).
//! - `error`: empty for a good row; otherwise every problem of the row as `code: pesan`
//!   (Indonesian), joined by `; `. A bad row never stops the batch.
//!
//! The output uses the input's delimiter; with `;` the z-scores are written with a decimal
//! comma (`-1,25`), as Excel with an Indonesian locale expects. Lines end with `\n`.
//!
//! # Row errors (stable codes, see [`codes`])
//! - `sex_unknown`, `age_missing`, `age_out_of_range` (below 0, or from 229 months = 19 years
//!   and 1 month, where WHO has no reference), `date_invalid`, `visit_before_birth`: no
//!   z-score at all for the row.
//! - `number_invalid`, `number_not_positive`: that measure is ignored, the other z-scores are
//!   still computed.
//! - `measure_unknown`: the length/height is ignored (its correction is unknown), so `laz`,
//!   `wlz` and `baz` stay empty. `oedema_unknown`: weight-based z-scores stay empty.
//! - `row_length`: the row has more or fewer fields than the header; missing fields count as
//!   empty, extra fields are dropped from the output.
//!
//! A row whose cells are all empty (`,,,,`, as spreadsheets leave them) is passed through with
//! empty output columns and no error.
//!
//! Header problems fail the whole call before any output: `batch_no_header`,
//! `batch_missing_column`, `batch_duplicate_column` (a recognised column twice) and
//! `batch_column_conflict` (the input already has an output column, e.g. a result file fed
//! back in).
//!
//! # Speed
//! The calling thread reads the input in 64 KiB blocks and cuts it into chunks of whole
//! records (about [`BatchOptions::chunk_bytes`]; the cut follows csv's quoting rules, so a
//! quoted field may hold line breaks). With more than one thread, worker threads
//! (`std::thread::scope`) parse each chunk into one reused [`ByteRecord`] and compute it into a
//! reused output buffer, and the calling thread writes the chunks back in input order; at most
//! `3 × threads` chunks are in flight. Numbers are parsed and the 2-decimal z-scores written
//! by hand, without allocating per row. See `core/examples/zscore_bench.rs`.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use chrono::NaiveDate;
use csv::ByteRecord;
use serde::Serialize;

use super::category::{
    bmi_for_age_category, bmi_for_age_category_5_18, height_for_age_category_5_18, hundredths,
    length_for_age_category, weight_for_age_category, weight_for_length_category,
};
use super::tables;
use super::zscore::{age_in_range, zscores, GrowthInput, Reference, DAYS_PER_MONTH};
use super::{Position, Sex};
use crate::{CoreError, Problem, Result};

/// The columns added after the input columns, in this order.
pub const OUTPUT_COLUMNS: [&str; 15] = [
    "waz",
    "laz",
    "wlz",
    "baz",
    "hcz",
    "acz",
    "flag_waz",
    "flag_laz",
    "flag_wlz",
    "flag_baz",
    "kat_bb_u",
    "kat_pb_u",
    "kat_bb_pb",
    "kat_imt_u",
    "error",
];

/// Stable error codes: per row (in the `error` column) and for the whole file.
pub mod codes {
    /// `sex` empty or not one of 1/2/L/P/l/p.
    pub const SEX_UNKNOWN: &str = "sex_unknown";
    /// Neither `age_days`, `age_months` nor both dates given.
    pub const AGE_MISSING: &str = "age_missing";
    /// Age below 0 days or from 229 months (6970.19 days) on: no WHO standard or reference.
    pub const AGE_OUT_OF_RANGE: &str = "age_out_of_range";
    /// A date that is not a real `YYYY-MM-DD` date.
    pub const DATE_INVALID: &str = "date_invalid";
    /// `visit_date` before `birth_date`.
    pub const VISIT_BEFORE_BIRTH: &str = "visit_before_birth";
    /// A cell that should be a number and is not.
    pub const NUMBER_INVALID: &str = "number_invalid";
    /// A measure (or weight) of 0 or below.
    pub const NUMBER_NOT_POSITIVE: &str = "number_not_positive";
    /// `measure` not l/h/L/H/empty.
    pub const MEASURE_UNKNOWN: &str = "measure_unknown";
    /// `oedema` not y/n/Y/N/empty.
    pub const OEDEMA_UNKNOWN: &str = "oedema_unknown";
    /// A row with more or fewer fields than the header.
    pub const ROW_LENGTH: &str = "row_length";

    /// The input has no header row (empty file).
    pub const NO_HEADER: &str = "batch_no_header";
    /// A required column is missing from the header.
    pub const MISSING_COLUMN: &str = "batch_missing_column";
    /// A recognised column appears twice in the header.
    pub const DUPLICATE_COLUMN: &str = "batch_duplicate_column";
    /// The input already has a column the output adds (e.g. an earlier output fed back in).
    pub const COLUMN_CONFLICT: &str = "batch_column_conflict";
}

/// How to run a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Worker threads; 0 = one per available core, 1 = everything on the calling thread.
    pub threads: usize,
    /// Input bytes per chunk handed to a worker (whole records; a chunk holds at least one).
    pub chunk_bytes: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            threads: 0,
            chunk_bytes: 256 * 1024,
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct BatchSummary {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows with a non-empty `error` column.
    pub rows_with_error: u64,
    /// Z-scores computed (non-empty cells among `waz` ... `acz`).
    pub zscores: u64,
    /// Wall time, from the first byte read to the output flushed.
    pub seconds: f64,
}

impl BatchSummary {
    /// Rows per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }

    /// Z-scores computed per second.
    pub fn zscores_per_second(&self) -> f64 {
        self.zscores as f64 / self.seconds.max(1e-9)
    }
}

/// Progress reported while reading (after each chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchProgress {
    /// Data rows computed and written so far.
    pub rows: u64,
    /// Input bytes consumed so far (after a byte-order mark).
    pub bytes: u64,
}

// ---- parsing of single cells (shared with the command line's `growth assess`) ----

/// Sex from `1`/`L`/`l` (boy) or `2`/`P`/`p` (girl); spaces around are ignored.
pub fn parse_sex(cell: &[u8]) -> Option<Sex> {
    match cell.trim_ascii() {
        b"1" | b"L" | b"l" => Some(Sex::L),
        b"2" | b"P" | b"p" => Some(Sex::P),
        _ => None,
    }
}

/// Measuring position from `l`/`L` (lying) or `h`/`H` (standing).
pub fn parse_measure(cell: &[u8]) -> Option<Position> {
    match cell.trim_ascii() {
        b"l" | b"L" => Some(Position::Lying),
        b"h" | b"H" => Some(Position::Standing),
        _ => None,
    }
}

/// Oedema from `y`/`Y` (yes) or `n`/`N`/empty (no).
pub fn parse_oedema(cell: &[u8]) -> Option<bool> {
    match cell.trim_ascii() {
        b"y" | b"Y" => Some(true),
        b"n" | b"N" | b"" => Some(false),
        _ => None,
    }
}

/// A date written `YYYY-MM-DD`.
pub fn parse_date(cell: &[u8]) -> Option<NaiveDate> {
    let b = cell.trim_ascii();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
        })
    };
    NaiveDate::from_ymd_opt(num(&b[..4])? as i32, num(&b[5..7])?, num(&b[8..])?)
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A finite decimal number with a decimal point or a decimal comma (`8.5`, `8,5`, `-1`,
/// `.5`); spaces around are ignored. Thousands separators are not accepted. The result is
/// exactly what `str::parse::<f64>` gives for the same number written with a point.
pub fn parse_number(cell: &[u8]) -> Option<f64> {
    let b = cell.trim_ascii();
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    // Fast path: the digits as an integer and a power of ten. Both are exact in f64 when the
    // integer is below 2^53 and the power at most 22, so one division rounds correctly.
    let mut mantissa: u64 = 0;
    let mut any_digit = false;
    let mut decimals: Option<usize> = None;
    let mut slow = false;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                any_digit = true;
                mantissa = mantissa * 10 + (c - b'0') as u64;
                if let Some(d) = decimals.as_mut() {
                    *d += 1;
                }
                if mantissa >= 1 << 53 || decimals.is_some_and(|d| d > 22) {
                    slow = true;
                    break;
                }
            }
            b'.' | b',' if decimals.is_none() => decimals = Some(0),
            b'e' | b'E' => {
                slow = true;
                break;
            }
            _ => return None,
        }
    }
    if slow {
        let text = std::str::from_utf8(b).ok()?.replacen(',', ".", 1);
        if text.contains(',') {
            return None;
        }
        return text.parse::<f64>().ok().filter(|x| x.is_finite());
    }
    if !any_digit {
        return None;
    }
    let x = mantissa as f64 / POW10[decimals.unwrap_or(0)];
    Some(if neg { -x } else { x })
}

// ---- the layout of a file ----

/// Where the recognised columns are.
#[derive(Debug, Clone)]
struct Layout {
    width: usize,
    delimiter: u8,
    decimal: u8,
    sex: usize,
    age_days: Option<usize>,
    age_months: Option<usize>,
    birth_date: Option<usize>,
    visit_date: Option<usize>,
    weight_kg: Option<usize>,
    lenhei_cm: Option<usize>,
    measure: Option<usize>,
    head_cm: Option<usize>,
    muac_cm: Option<usize>,
    oedema: Option<usize>,
}

fn invalid(code: &str, field: Option<&str>, id: String, en: String) -> CoreError {
    CoreError::invalid(Problem::new(code, field, id, en))
}

impl Layout {
    fn from_header(header: &ByteRecord, delimiter: u8) -> Result<Layout> {
        let names: Vec<&[u8]> = header.iter().map(<[u8]>::trim_ascii).collect();
        let find = |name: &str| -> Result<Option<usize>> {
            let mut found = names
                .iter()
                .enumerate()
                .filter(|(_, n)| **n == name.as_bytes());
            let first = found.next().map(|(i, _)| i);
            if found.next().is_some() {
                return Err(invalid(
                    codes::DUPLICATE_COLUMN,
                    Some(name),
                    format!("kolom '{name}' muncul lebih dari sekali di header"),
                    format!("column '{name}' appears more than once in the header"),
                ));
            }
            Ok(first)
        };
        for out in OUTPUT_COLUMNS {
            if names.contains(&out.as_bytes()) {
                return Err(invalid(
                    codes::COLUMN_CONFLICT,
                    Some(out),
                    format!(
                        "input sudah punya kolom '{out}' yang akan ditambahkan oleh proses ini \
                         (apakah ini berkas hasil? hapus atau ganti nama kolom itu)"
                    ),
                    format!("the input already has the output column '{out}'"),
                ));
            }
        }
        let present = || {
            names
                .iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sex = find("sex")?.ok_or_else(|| {
            invalid(
                codes::MISSING_COLUMN,
                Some("sex"),
                format!(
                    "kolom wajib 'sex' tidak ada di header (kolom yang ada: {})",
                    present()
                ),
                "the required column 'sex' is missing from the header".into(),
            )
        })?;
        let (age_days, age_months, birth_date, visit_date) = (
            find("age_days")?,
            find("age_months")?,
            find("birth_date")?,
            find("visit_date")?,
        );
        if age_days.is_none()
            && age_months.is_none()
            && (birth_date.is_none() || visit_date.is_none())
        {
            let missing = match (birth_date, visit_date) {
                (Some(_), None) => "visit_date",
                (None, Some(_)) => "birth_date",
                _ => "age_days",
            };
            return Err(invalid(
                codes::MISSING_COLUMN,
                Some(missing),
                format!(
                    "umur tidak dapat dihitung: perlu kolom 'age_days', 'age_months', atau kolom \
                     'birth_date' dan 'visit_date' (kolom yang ada: {})",
                    present()
                ),
                "age cannot be computed: the header needs 'age_days', 'age_months', or both \
                 'birth_date' and 'visit_date'"
                    .into(),
            ));
        }
        Ok(Layout {
            width: names.len(),
            delimiter,
            decimal: if delimiter == b';' { b',' } else { b'.' },
            sex,
            age_days,
            age_months,
            birth_date,
            visit_date,
            weight_kg: find("weight_kg")?,
            lenhei_cm: find("lenhei_cm")?,
            measure: find("measure")?,
            head_cm: find("head_cm")?,
            muac_cm: find("muac_cm")?,
            oedema: find("oedema")?,
        })
    }
}

// ---- one row ----

/// Counts of one chunk (or of the whole batch).
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    rows: u64,
    rows_with_error: u64,
    zscores: u64,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.rows += o.rows;
        self.rows_with_error += o.rows_with_error;
        self.zscores += o.zscores;
    }
}

/// The trimmed cell of `col`, or `None` when the column is absent or the cell is empty/NA.
#[inline]
fn cell(rec: &ByteRecord, col: Option<usize>) -> Option<&[u8]> {
    let v = rec.get(col?)?.trim_ascii();
    (!v.is_empty() && v != b"NA").then_some(v)
}

/// A cell's text for an error message (lossy UTF-8, at most 30 characters).
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(self.0);
        if text.chars().count() > 30 {
            let cut: String = text.chars().take(30).collect();
            write!(f, "{cut}...")
        } else {
            f.write_str(&text)
        }
    }
}

fn push_err(err: &mut String, code: &str, message: fmt::Arguments<'_>) {
    if !err.is_empty() {
        err.push_str("; ");
    }
    err.push_str(code);
    err.push_str(": ");
    let _ = err.write_fmt(message);
}

/// A positive measure from `col` (None when absent; an error when present but bad).
#[inline]
fn measure_cell(rec: &ByteRecord, col: Option<usize>, name: &str, err: &mut String) -> Option<f64> {
    let v = cell(rec, col)?;
    match parse_number(v) {
        Some(x) if x > 0.0 => Some(x),
        Some(_) => {
            push_err(
                err,
                codes::NUMBER_NOT_POSITIVE,
                format_args!("{name} harus lebih dari 0 (tertulis '{}')", Shown(v)),
            );
            None
        }
        None => not_a_number(err, name, v),
    }
}

/// Reports a cell that should be a number and is not.
fn not_a_number<T>(err: &mut String, name: &str, v: &[u8]) -> Option<T> {
    push_err(
        err,
        codes::NUMBER_INVALID,
        format_args!("{name} '{}' bukan angka", Shown(v)),
    );
    None
}

/// The row's age as days and, when given in months, months (see
/// [`GrowthInput::age_months`]).
type RowAge = (f64, Option<f64>);

fn check_age(age: RowAge, err: &mut String) -> Option<RowAge> {
    if age_in_range(age.0, age.1) {
        return Some(age);
    }
    match age.1 {
        Some(months) => push_err(
            err,
            codes::AGE_OUT_OF_RANGE,
            format_args!(
                "umur {months} bulan di luar standar dan rujukan WHO (0 sampai di bawah 229 bulan)"
            ),
        ),
        None => push_err(
            err,
            codes::AGE_OUT_OF_RANGE,
            format_args!(
                "umur {} hari di luar standar dan rujukan WHO (0 hari sampai di bawah 229 bulan = 6970 hari)",
                age.0
            ),
        ),
    }
    None
}

fn row_age(l: &Layout, rec: &ByteRecord, err: &mut String) -> Option<RowAge> {
    for (col, name) in [(l.age_days, "age_days"), (l.age_months, "age_months")] {
        if let Some(v) = cell(rec, col) {
            return match parse_number(v) {
                Some(x) if name == "age_days" => check_age((x, None), err),
                Some(x) => check_age((x * DAYS_PER_MONTH, Some(x)), err),
                None => not_a_number(err, name, v),
            };
        }
    }
    let (Some(b), Some(v)) = (cell(rec, l.birth_date), cell(rec, l.visit_date)) else {
        push_err(
            err,
            codes::AGE_MISSING,
            format_args!(
                "umur tidak ada: isi age_days, age_months, atau birth_date dan visit_date"
            ),
        );
        return None;
    };
    let mut date = |text: &[u8], name: &str| {
        let d = parse_date(text);
        if d.is_none() {
            push_err(
                err,
                codes::DATE_INVALID,
                format_args!(
                    "{name} '{}' bukan tanggal yang sah (tulis YYYY-MM-DD)",
                    Shown(text)
                ),
            );
        }
        d
    };
    let (birth, visit) = (date(b, "birth_date"), date(v, "visit_date"));
    let (birth, visit) = (birth?, visit?);
    if visit < birth {
        push_err(
            err,
            codes::VISIT_BEFORE_BIRTH,
            format_args!("visit_date {visit} sebelum birth_date {birth}"),
        );
        return None;
    }
    check_age(((visit - birth).num_days() as f64, None), err)
}

/// Writes a field, quoted when it holds the delimiter, a quote or a line break.
#[inline]
fn write_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8) {
    if field
        .iter()
        .any(|&c| c == delimiter || c == b'"' || c == b'\n' || c == b'\r')
    {
        out.push(b'"');
        for &c in field {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// Writes z rounded to 2 decimals (the same rounding as `round2` and the categories).
#[inline]
fn write_z(out: &mut Vec<u8>, z: f64, decimal: u8) {
    let h = hundredths(z);
    if h < 0 {
        out.push(b'-');
    }
    let a = h.unsigned_abs();
    let (int, frac) = (a / 100, a % 100);
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = int;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(&[decimal, b'0' + (frac / 10) as u8, b'0' + (frac % 10) as u8]);
}

fn write_blank_row(l: &Layout, rec: &ByteRecord, out: &mut Vec<u8>) {
    for i in 0..l.width {
        if i > 0 {
            out.push(l.delimiter);
        }
        write_field(out, rec.get(i).unwrap_or(b""), l.delimiter);
    }
    out.extend(std::iter::repeat_n(l.delimiter, OUTPUT_COLUMNS.len()));
    out.push(b'\n');
}

fn process_row(l: &Layout, rec: &ByteRecord, out: &mut Vec<u8>, err: &mut String) -> Stats {
    err.clear();
    if rec.iter().all(|f| f.trim_ascii().is_empty()) {
        // A blank row (`,,,,` as spreadsheets leave them): passed through, nothing computed,
        // and not reported as an error.
        write_blank_row(l, rec, out);
        return Stats {
            rows: 1,
            ..Stats::default()
        };
    }
    if rec.len() != l.width {
        push_err(
            err,
            codes::ROW_LENGTH,
            format_args!(
                "baris punya {} kolom, header punya {}{}",
                rec.len(),
                l.width,
                if rec.len() > l.width {
                    " (kolom lebih dibuang dari hasil)"
                } else {
                    ""
                }
            ),
        );
    }

    let sex = match cell(rec, Some(l.sex)) {
        Some(v) => {
            let s = parse_sex(v);
            if s.is_none() {
                push_err(
                    err,
                    codes::SEX_UNKNOWN,
                    format_args!(
                        "jenis kelamin '{}' tidak dikenal (tulis 1/L untuk laki-laki, 2/P untuk perempuan)",
                        Shown(v)
                    ),
                );
            }
            s
        }
        None => {
            push_err(
                err,
                codes::SEX_UNKNOWN,
                format_args!("jenis kelamin kosong (tulis 1/L atau 2/P)"),
            );
            None
        }
    };
    let age = row_age(l, rec, err);
    let mut weight = measure_cell(rec, l.weight_kg, "weight_kg", err);
    let mut lenhei = measure_cell(rec, l.lenhei_cm, "lenhei_cm", err);
    let position = match cell(rec, l.measure) {
        None => None,
        Some(v) => {
            let p = parse_measure(v);
            if p.is_none() {
                push_err(
                    err,
                    codes::MEASURE_UNKNOWN,
                    format_args!(
                        "measure '{}' tidak dikenal (tulis l = berbaring, h = berdiri, atau kosongkan), panjang/tinggi tidak dipakai",
                        Shown(v)
                    ),
                );
                lenhei = None;
            }
            p
        }
    };
    let head = measure_cell(rec, l.head_cm, "head_cm", err);
    let muac = measure_cell(rec, l.muac_cm, "muac_cm", err);
    let oedema = match cell(rec, l.oedema) {
        None => false,
        Some(v) => parse_oedema(v).unwrap_or_else(|| {
            push_err(
                err,
                codes::OEDEMA_UNKNOWN,
                format_args!(
                    "oedema '{}' tidak dikenal (tulis y atau n), z-skor berbasis berat tidak dihitung",
                    Shown(v)
                ),
            );
            weight = None;
            false
        }),
    };

    let z = match (sex, age) {
        (Some(sex), Some((age_days, age_months))) => zscores(&GrowthInput {
            sex,
            age_days,
            age_months,
            weight_kg: weight,
            lenhei_cm: lenhei,
            position,
            head_cm: head,
            muac_cm: muac,
            oedema,
        }),
        _ => Default::default(),
    };

    let d = l.delimiter;
    for i in 0..l.width {
        if i > 0 {
            out.push(d);
        }
        write_field(out, rec.get(i).unwrap_or(b""), d);
    }
    let all = [z.waz, z.laz, z.wlz, z.baz, z.hcz, z.acz];
    let mut computed = 0;
    for v in all {
        out.push(d);
        if let Some(v) = v {
            write_z(out, v, l.decimal);
            computed += 1;
        }
    }
    let f = z.flags;
    for (v, flagged) in [
        (z.waz, f.waz),
        (z.laz, f.laz),
        (z.wlz, f.wlz),
        (z.baz, f.baz),
    ] {
        out.push(d);
        if v.is_some() {
            out.push(if flagged { b'1' } else { b'0' });
        }
    }
    let categories = match z.reference {
        Reference::Standards2006 => [
            z.waz.map(weight_for_age_category),
            z.laz.map(length_for_age_category),
            z.wlz.map(weight_for_length_category),
            z.baz.map(bmi_for_age_category),
        ],
        Reference::Reference2007 => [
            None,
            z.laz.map(height_for_age_category_5_18),
            None,
            z.baz.map(bmi_for_age_category_5_18),
        ],
    };
    for c in categories {
        out.push(d);
        if let Some(c) = c {
            out.extend_from_slice(c.label_id().as_bytes());
        }
    }
    out.push(d);
    write_field(out, err.as_bytes(), d);
    out.push(b'\n');

    Stats {
        rows: 1,
        rows_with_error: u64::from(!err.is_empty()),
        zscores: computed,
    }
}

// ---- splitting the input into chunks of whole records ----

/// Where a scan of CSV bytes is, mirroring `csv-core`'s reader: a quote opens a quoted
/// field only at the start of a field; inside one, `""` is a quote and a line break is data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// Reads the input in large blocks and cuts them at record boundaries (a `\n` outside
/// quotes), so that worker threads can parse and compute whole records on their own.
struct Splitter<R> {
    input: R,
    /// Bytes read but not yet handed out (the start of the next record).
    carry: Vec<u8>,
    eof: bool,
    /// Bytes handed out so far.
    consumed: u64,
    delimiter: u8,
}

const READ_BLOCK: usize = 1 << 16;
/// The UTF-8 byte-order mark.
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

impl<R: Read> Splitter<R> {
    /// Reads the first block, skips a UTF-8 byte-order mark and detects the delimiter from the
    /// header line (`,`, `;` or tab, the most frequent outside quotes; `,` by default).
    fn new(input: R) -> io::Result<Splitter<R>> {
        let mut s = Splitter {
            input,
            carry: Vec::new(),
            eof: false,
            consumed: 0,
            delimiter: b',',
        };
        // Read until the header record is whole (or 4 blocks), so that the delimiter never
        // depends on how the input arrives.
        let counts = loop {
            let (counts, whole) = header_counts(&s.carry[..s.carry.len().min(READ_BLOCK * 4)]);
            if whole || s.eof || s.carry.len() >= READ_BLOCK * 4 {
                break counts;
            }
            s.read_more()?;
        };
        if s.carry.starts_with(BOM) {
            s.carry.drain(..3);
        }
        s.delimiter = if counts[1] > counts[0] && counts[1] >= counts[2] {
            b';'
        } else if counts[2] > counts[0] && counts[2] > counts[1] {
            b'\t'
        } else {
            b','
        };
        Ok(s)
    }

    fn read_more(&mut self) -> io::Result<()> {
        let len = self.carry.len();
        self.carry.resize(len + READ_BLOCK, 0);
        let n = loop {
            match self.input.read(&mut self.carry[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.carry.truncate(len);
                    return Err(e);
                }
            }
        };
        self.carry.truncate(len + n);
        self.eof |= n == 0;
        Ok(())
    }

    /// Fills `raw` with whole records: the shortest run of records of at least `min_bytes`
    /// (so only the first record when `min_bytes` is 0), or the rest of the input. Returns
    /// false when the input is exhausted.
    fn next(&mut self, raw: &mut Vec<u8>, min_bytes: usize) -> io::Result<bool> {
        raw.clear();
        std::mem::swap(raw, &mut self.carry);
        // A record ending at a `\n` at index `i >= want` makes the chunk long enough.
        let want = min_bytes.saturating_sub(1);
        let (mut state, mut scanned) = (Scan::StartField, 0);
        let d = self.delimiter;
        let cut = loop {
            let new = &raw[scanned..];
            let found = if matches!(state, Scan::StartField | Scan::InField) && !new.contains(&b'"')
            {
                // Fast path, the usual case: no quote in the new bytes, so every `\n` ends a
                // record.
                let from = want.max(scanned);
                let found = raw
                    .get(from..)
                    .and_then(|tail| tail.iter().position(|&c| c == b'\n'))
                    .map(|i| from + i + 1);
                state = match new.last() {
                    None => state,
                    Some(&c) if c == b'\n' || c == b'\r' || c == d => Scan::StartField,
                    Some(_) => Scan::InField,
                };
                found
            } else {
                let (next_state, found) = scan(raw, scanned, state, d, want);
                state = next_state;
                found
            };
            scanned = raw.len();
            if found.is_some() || self.eof {
                break found.unwrap_or(raw.len());
            }
            std::mem::swap(raw, &mut self.carry);
            self.read_more()?;
            std::mem::swap(raw, &mut self.carry);
        };
        self.carry.clear();
        self.carry.extend_from_slice(&raw[cut..]);
        raw.truncate(cut);
        self.consumed += cut as u64;
        Ok(!raw.is_empty())
    }
}

/// Counts `,` `;` and tab in the header record, outside quotes as csv reads them (a quote opens
/// only at the start of a field), and tells whether the record ended within `bytes`.
fn header_counts(bytes: &[u8]) -> ([usize; 3], bool) {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let (mut state, mut counts) = (Scan::StartField, [0usize; 3]);
    for &c in bytes {
        state = match (state, c) {
            (Scan::InQuoted, b'"') => Scan::QuoteInQuoted,
            (Scan::InQuoted, _) => Scan::InQuoted,
            (Scan::StartField, b'"') | (Scan::QuoteInQuoted, b'"') => Scan::InQuoted,
            (_, b'\n' | b'\r') => return (counts, true),
            (_, b',') => {
                counts[0] += 1;
                Scan::StartField
            }
            (_, b';') => {
                counts[1] += 1;
                Scan::StartField
            }
            (_, b'\t') => {
                counts[2] += 1;
                Scan::StartField
            }
            _ => Scan::InField,
        };
    }
    (counts, false)
}

/// Scans `raw[from..]` from `state` with `csv-core`'s quoting rules, up to the first `\n`
/// that ends a record at index `want` or later. Returns the state and the index just after
/// that `\n`, if found.
fn scan(
    raw: &[u8],
    from: usize,
    mut state: Scan,
    delimiter: u8,
    want: usize,
) -> (Scan, Option<usize>) {
    for (i, &c) in raw.iter().enumerate().skip(from) {
        state = match (state, c) {
            (Scan::InQuoted, b'"') => Scan::QuoteInQuoted,
            (Scan::InQuoted, _) => Scan::InQuoted,
            (Scan::StartField, b'"') | (Scan::QuoteInQuoted, b'"') => Scan::InQuoted,
            (_, b'\n') if i >= want => return (Scan::StartField, Some(i + 1)),
            (_, b'\n') | (_, b'\r') => Scan::StartField,
            (_, c) if c == delimiter => Scan::StartField,
            _ => Scan::InField,
        };
    }
    (state, None)
}

// ---- chunks and the driver ----

/// A chunk of whole records with its reused buffers.
struct Chunk {
    seq: u64,
    raw: Vec<u8>,
    record: ByteRecord,
    out: Vec<u8>,
    err: String,
    stats: Stats,
    failed: bool,
}

impl Chunk {
    fn new() -> Chunk {
        Chunk {
            seq: 0,
            raw: Vec::new(),
            record: ByteRecord::new(),
            out: Vec::new(),
            err: String::new(),
            stats: Stats::default(),
            failed: false,
        }
    }

    /// Parses the chunk's records and writes their output rows.
    fn compute(&mut self, l: &Layout) {
        self.out.clear();
        self.stats = Stats::default();
        let Chunk {
            raw,
            record,
            out,
            err,
            ..
        } = self;
        // csv drops a UTF-8 byte-order mark at the start of its input, but a chunk starts in
        // the middle of the file (the file's own mark went in `Splitter::new`): a leading
        // blank line (csv skips it) keeps the bytes as data, wherever the chunk was cut.
        if raw.starts_with(BOM) {
            raw.insert(0, b'\n');
        }
        let run = catch_unwind(AssertUnwindSafe(|| {
            let mut rdr = csv_reader(l.delimiter, &raw[..]);
            let mut stats = Stats::default();
            while rdr.read_byte_record(record).ok()? {
                stats.add(process_row(l, record, out, err));
            }
            Some(stats)
        }));
        match run {
            Ok(Some(stats)) => self.stats = stats,
            _ => self.failed = true,
        }
    }
}

fn csv_reader(delimiter: u8, raw: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(raw)
}

fn chunk_failed() -> CoreError {
    CoreError::BadData("batch: baris tidak dapat diproses (galat internal)".into())
}

/// Runs a batch: reads CSV from `input`, writes the CSV with z-scores to `output` (see the
/// module documentation), calling `progress` after each chunk read. Fails only on a bad
/// header (before writing anything) or an I/O error; bad rows are reported in the output's
/// `error` column and counted in the summary.
pub fn process<R: Read, W: Write>(
    input: R,
    mut output: W,
    options: &BatchOptions,
    progress: &mut dyn FnMut(BatchProgress),
) -> Result<BatchSummary> {
    let start = Instant::now();
    let mut split = Splitter::new(input)?;
    let delimiter = split.delimiter;
    let mut raw = Vec::new();
    let mut header = ByteRecord::new();
    // The first record is the header (blank lines before it are skipped, as csv does).
    let mut has_header = false;
    while !has_header && split.next(&mut raw, 0)? {
        has_header = csv_reader(delimiter, &raw)
            .read_byte_record(&mut header)
            .unwrap_or(false);
    }
    if !has_header {
        return Err(invalid(
            codes::NO_HEADER,
            None,
            "berkas input kosong: tidak ada baris header".into(),
            "the input is empty: no header row".into(),
        ));
    }
    let layout = Layout::from_header(&header, delimiter)?;
    tables::init();

    let mut head = Vec::with_capacity(256);
    for (i, name) in header.iter().enumerate() {
        if i > 0 {
            head.push(delimiter);
        }
        write_field(&mut head, name, delimiter);
    }
    for name in OUTPUT_COLUMNS {
        head.push(delimiter);
        head.extend_from_slice(name.as_bytes());
    }
    head.push(b'\n');
    output.write_all(&head)?;

    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let chunk_bytes = options.chunk_bytes.max(1);
    let stats = if threads <= 1 {
        sequential(&layout, &mut split, &mut output, chunk_bytes, progress)?
    } else {
        parallel(
            &layout,
            &mut split,
            &mut output,
            chunk_bytes,
            threads,
            progress,
        )?
    };
    output.flush()?;
    Ok(BatchSummary {
        rows: stats.rows,
        rows_with_error: stats.rows_with_error,
        zscores: stats.zscores,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn sequential<R: Read, W: Write>(
    layout: &Layout,
    split: &mut Splitter<R>,
    output: &mut W,
    chunk_bytes: usize,
    progress: &mut dyn FnMut(BatchProgress),
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut chunk = Chunk::new();
    while split.next(&mut chunk.raw, chunk_bytes)? {
        chunk.compute(layout);
        if chunk.failed {
            return Err(chunk_failed());
        }
        output.write_all(&chunk.out)?;
        stats.add(chunk.stats);
        progress(BatchProgress {
            rows: stats.rows,
            bytes: split.consumed,
        });
    }
    Ok(stats)
}

/// Chunks go to `threads` workers, which parse and compute them; this thread reads the next
/// chunks meanwhile and writes finished ones in input order. At most `3 * threads` chunks are
/// in flight, and their buffers are reused.
fn parallel<R: Read, W: Write>(
    layout: &Layout,
    split: &mut Splitter<R>,
    output: &mut W,
    chunk_bytes: usize,
    threads: usize,
    progress: &mut dyn FnMut(BatchProgress),
) -> Result<Stats> {
    let (work_tx, work_rx) = mpsc::channel::<Chunk>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<Chunk>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            scope.spawn(move || loop {
                let next = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(mut chunk) = next else { return };
                chunk.compute(layout);
                if done_tx.send(chunk).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);

        let mut run = || -> Result<Stats> {
            let mut stats = Stats::default();
            let mut free: Vec<Chunk> = (0..threads * 3).map(|_| Chunk::new()).collect();
            let mut finished: BTreeMap<u64, Chunk> = BTreeMap::new();
            let (mut next_read, mut next_write, mut more) = (0u64, 0u64, true);
            loop {
                while more {
                    let Some(mut chunk) = free.pop() else { break };
                    more = split.next(&mut chunk.raw, chunk_bytes)?;
                    if !more {
                        free.push(chunk);
                        break;
                    }
                    chunk.seq = next_read;
                    next_read += 1;
                    work_tx.send(chunk).map_err(|_| chunk_failed())?;
                    progress(BatchProgress {
                        rows: stats.rows,
                        bytes: split.consumed,
                    });
                }
                if next_write == next_read {
                    progress(BatchProgress {
                        rows: stats.rows,
                        bytes: split.consumed,
                    });
                    return Ok(stats);
                }
                let chunk = done_rx.recv().map_err(|_| chunk_failed())?;
                if chunk.failed {
                    return Err(chunk_failed());
                }
                finished.insert(chunk.seq, chunk);
                while let Some(chunk) = finished.remove(&next_write) {
                    output.write_all(&chunk.out)?;
                    stats.add(chunk.stats);
                    next_write += 1;
                    free.push(chunk);
                }
            }
        };
        let result = run();
        // Closing the work channel ends the workers; the scope then joins them.
        drop(work_tx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_batch_parse_number_forms() {
        assert_eq!(parse_number(b"8.5"), Some(8.5));
        assert_eq!(parse_number(b"8,5"), Some(8.5));
        assert_eq!(parse_number(b" 12 "), Some(12.0));
        assert_eq!(parse_number(b"-1,25"), Some(-1.25));
        assert_eq!(parse_number(b".5"), Some(0.5));
        assert_eq!(parse_number(b"1e2"), Some(100.0));
        for bad in [
            &b""[..],
            b"-",
            b".",
            b"8..5",
            b"8,5,1",
            b"1.234,5",
            b"abc",
            b"8 kg",
            b"inf",
        ] {
            assert_eq!(parse_number(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // Same as the standard parser, including long inputs on the slow path.
        for s in [
            "72.35",
            "0.1",
            "3.3464",
            "123456789012345678.25",
            "1.00000000000000000001",
        ] {
            assert_eq!(parse_number(s.as_bytes()), s.parse::<f64>().ok(), "{s}");
        }
    }

    #[test]
    fn growth_batch_write_z_two_decimals() {
        let show = |z: f64, dec: u8| {
            let mut out = Vec::new();
            write_z(&mut out, z, dec);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(show(0.2449, b'.'), "0.24");
        assert_eq!(show(-6.0851, b'.'), "-6.09");
        assert_eq!(show(-0.004, b'.'), "0.00");
        assert_eq!(show(-0.03, b'.'), "-0.03");
        assert_eq!(show(12.5, b','), "12,50");
        assert_eq!(show(123.456, b'.'), "123.46");
    }

    #[test]
    fn growth_batch_dates_and_codes() {
        assert_eq!(
            parse_date(b"2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2024-2-29"), None);
        assert_eq!(parse_date(b"29-02-2024"), None);
        assert_eq!(parse_sex(b"p"), Some(Sex::P));
        assert_eq!(parse_sex(b"X"), None);
        assert_eq!(parse_measure(b"H"), Some(Position::Standing));
        assert_eq!(parse_oedema(b""), Some(false));
        assert_eq!(parse_oedema(b"ya"), None);
    }
}
