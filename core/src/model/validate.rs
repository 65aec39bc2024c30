//! One validation for client and server: a whole record (after an edit is applied) is checked
//! against its schema and the domain rules. Problems refuse the edit; warnings do not.

use super::schema::check_type;
use super::{Fields, Kind};
use crate::error::Problem;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// What validation needs to know about other records.
pub trait Lookup {
    /// The current fields of a record, if this replica holds it.
    fn fields_of(&self, kind: Kind, id: Uuid) -> Option<Fields>;
}

/// Something worth telling a person that does not stop the edit (a NIK whose date part does not
/// match the birth date, for example: a NIK never changes even when it is wrong).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
    pub message_en: String,
}

fn text<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
    f.get(k).and_then(Value::as_str)
}
fn num(f: &Fields, k: &str) -> Option<f64> {
    f.get(k).and_then(Value::as_f64)
}
fn date(f: &Fields, k: &str) -> Option<NaiveDate> {
    text(f, k).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}
fn id(f: &Fields, k: &str) -> Option<Uuid> {
    text(f, k).and_then(|s| Uuid::parse_str(s).ok())
}

struct Checker<'a> {
    problems: Vec<Problem>,
    warnings: Vec<Warning>,
    fields: &'a Fields,
}

impl Checker<'_> {
    fn problem(&mut self, code: &str, field: &str, id: String, en: String) {
        self.problems.push(Problem::new(code, Some(field), id, en));
    }

    fn range(&mut self, field: &str, lo: f64, hi: f64, unit: &str, code: &str) {
        if let Some(v) = num(self.fields, field) {
            if !(lo..=hi).contains(&v) {
                self.problem(
                    code,
                    field,
                    format!("{field} {v} {unit} di luar batas wajar ({lo}-{hi} {unit})"),
                    format!("{field} {v} {unit} is out of range ({lo}-{hi} {unit})"),
                );
            }
        }
    }

    fn not_future(&mut self, field: &str, today: NaiveDate, code: &str) {
        if let Some(d) = date(self.fields, field) {
            if d > today {
                self.problem(
                    code,
                    field,
                    format!("Tanggal {field} ({d}) ada di masa depan"),
                    format!("Date {field} ({d}) is in the future"),
                );
            }
            if d.year() < 1900 {
                self.problem(
                    "date_out_of_range",
                    field,
                    format!("Tanggal {field} ({d}) terlalu lama"),
                    format!("Date {field} ({d}) is too far in the past"),
                );
            }
        }
    }

    fn digits(&mut self, field: &str, label: &str) {
        if let Some(s) = text(self.fields, field) {
            if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
                let code = format!("{}_malformed", field);
                self.problem(
                    &code,
                    field,
                    format!("{label} harus 16 angka (tertulis '{s}')"),
                    format!("{label} must be 16 digits (got '{s}')"),
                );
            }
        }
    }

    /// The record a reference points at must exist on this replica.
    fn reference(&mut self, lookup: &dyn Lookup, field: &str, kind: Kind) -> Option<Fields> {
        let target = id(self.fields, field)?;
        let found = lookup.fields_of(kind, target);
        if found.is_none() {
            self.problem(
                &format!("unknown_{kind}"),
                field,
                format!("{kind} {target} tidak dikenal"),
                format!("Unknown {kind} {target}"),
            );
        }
        found
    }

    fn nik_warning(&mut self, birth: Option<NaiveDate>, female: Option<bool>) {
        let (Some(nik), Some(birth)) = (text(self.fields, "nik"), birth) else {
            return;
        };
        if nik.len() != 16 || !nik.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        let day: u32 = nik[6..8].parse().unwrap_or(0);
        let month: u32 = nik[8..10].parse().unwrap_or(0);
        let year: u32 = nik[10..12].parse().unwrap_or(0);
        let is_female_code = day > 40;
        let real_day = if is_female_code { day - 40 } else { day };
        if real_day != birth.day() || month != birth.month() || year != (birth.year() as u32) % 100
        {
            self.warnings.push(Warning {
                code: "nik_birth_date_mismatch".into(),
                message: "Tanggal lahir di NIK tidak sama dengan tanggal lahir".into(),
                message_en: "The birth date in the NIK differs from the birth date".into(),
            });
        }
        if let Some(f) = female {
            if f != is_female_code {
                self.warnings.push(Warning {
                    code: "nik_sex_mismatch".into(),
                    message: "Jenis kelamin di NIK tidak sama dengan jenis kelamin".into(),
                    message_en: "The sex in the NIK differs from the sex".into(),
                });
            }
        }
    }
}

/// Validate a whole record. `today` is the replica's calendar date (dates people enter have no
/// time zone, so "in the future" is judged by date, with a day of slack for time zones).
pub fn validate_record(
    kind: Kind,
    fields: &Fields,
    lookup: &dyn Lookup,
    today: NaiveDate,
) -> Result<Vec<Warning>, Vec<Problem>> {
    let today = today.succ_opt().unwrap_or(today);
    let mut c = Checker {
        problems: Vec::new(),
        warnings: Vec::new(),
        fields,
    };
    for (name, v) in fields {
        if let Err(p) = check_type(kind, name, v) {
            c.problems.push(p);
        }
    }
    for spec in kind.fields() {
        if spec.required && fields.get(spec.name).is_none_or(Value::is_null) {
            c.problem(
                "required_field_missing",
                spec.name,
                format!("Kolom '{}' wajib diisi", spec.name),
                format!("Field '{}' is required", spec.name),
            );
        }
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    match kind {
        Kind::Child => {
            c.reference(lookup, "posyandu_id", Kind::Posyandu);
            c.not_future("birth_date", today, "birth_date_in_future");
            c.not_future("status_date", today, "date_in_future");
            c.range(
                "birth_weight_kg",
                0.3,
                7.0,
                "kg",
                "birth_weight_out_of_range",
            );
            c.range(
                "birth_length_cm",
                20.0,
                65.0,
                "cm",
                "birth_length_out_of_range",
            );
            c.digits("nik", "NIK");
            c.digits("no_kk", "No KK");
            c.reference(lookup, "mother_id", Kind::Woman);
            let female = text(fields, "sex").map(|s| s == "P");
            c.nik_warning(date(fields, "birth_date"), female);
        }
        Kind::Woman => {
            c.reference(lookup, "posyandu_id", Kind::Posyandu);
            c.not_future("birth_date", today, "birth_date_in_future");
            c.digits("nik", "NIK");
            c.digits("no_kk", "No KK");
            c.nik_warning(date(fields, "birth_date"), Some(true));
        }
        Kind::Event => {
            c.reference(lookup, "posyandu_id", Kind::Posyandu);
            c.not_future("date", today, "date_in_future");
        }
        Kind::Measurement | Kind::Immunization | Kind::VitaminA => {
            c.not_future("date", today, "date_in_future");
            if let Some(child) = c.reference(lookup, "child_id", Kind::Child) {
                let (Some(birth), Some(d)) = (date(&child, "birth_date"), date(fields, "date"))
                else {
                    return finish(c);
                };
                if d < birth {
                    let code = if kind == Kind::Measurement {
                        "measurement_before_birth"
                    } else {
                        "date_before_birth"
                    };
                    c.problem(
                        code,
                        "date",
                        format!("Tanggal {d} sebelum tanggal lahir anak ({birth})"),
                        format!("Date {d} is before the child's birth date ({birth})"),
                    );
                }
            }
            if kind == Kind::Measurement {
                c.range("weight_kg", 0.5, 60.0, "kg", "weight_out_of_range");
                c.range("length_cm", 35.0, 135.0, "cm", "length_out_of_range");
                c.range("head_cm", 25.0, 60.0, "cm", "head_out_of_range");
                c.range("muac_cm", 5.0, 30.0, "cm", "muac_out_of_range");
                if num(fields, "weight_kg").is_none() && num(fields, "length_cm").is_none() {
                    c.problem(
                        "measurement_empty",
                        "weight_kg",
                        "Isi paling sedikit berat atau panjang/tinggi badan".into(),
                        "Enter at least a weight or a length/height".into(),
                    );
                }
                if num(fields, "length_cm").is_some() && text(fields, "position").is_none() {
                    c.problem(
                        "position_missing",
                        "position",
                        "Pilih cara ukur: telentang (lying) atau berdiri (standing)".into(),
                        "Choose how length was measured: lying or standing".into(),
                    );
                }
            }
        }
        Kind::Pregnancy => {
            c.reference(lookup, "woman_id", Kind::Woman);
            c.not_future("hpht", today, "date_in_future");
        }
        Kind::PregnancyVisit => {
            c.reference(lookup, "pregnancy_id", Kind::Pregnancy);
            c.not_future("date", today, "date_in_future");
            c.range("weight_kg", 25.0, 200.0, "kg", "weight_out_of_range");
            c.range("muac_cm", 10.0, 60.0, "cm", "muac_out_of_range");
            c.range("hb_g_dl", 2.0, 25.0, "g/dL", "hb_out_of_range");
        }
        Kind::Referral => {
            let has_child = c.reference(lookup, "child_id", Kind::Child).is_some();
            let has_woman = c.reference(lookup, "woman_id", Kind::Woman).is_some();
            if !has_child && !has_woman && c.problems.is_empty() {
                c.problem(
                    "referral_subject_missing",
                    "child_id",
                    "Rujukan harus untuk seorang anak atau ibu".into(),
                    "A referral must be for a child or a woman".into(),
                );
            }
            c.not_future("date", today, "date_in_future");
        }
        Kind::Desa => {
            c.reference(lookup, "puskesmas_id", Kind::Puskesmas);
        }
        Kind::Posyandu => {
            c.reference(lookup, "desa_id", Kind::Desa);
        }
        Kind::Puskesmas | Kind::Conflict | Kind::Duplicate => {}
    }
    finish(c)
}

fn finish(c: Checker) -> Result<Vec<Warning>, Vec<Problem>> {
    if c.problems.is_empty() {
        Ok(c.warnings)
    } else {
        Err(c.problems)
    }
}
