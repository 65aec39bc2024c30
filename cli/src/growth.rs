//! `sinergi growth`: WHO z-scores without touching the store. `batch` does a whole CSV file
//! (survey or weighing-month data, the job WHO Anthro and AnthroPlus are used for), `assess`
//! one child. Ages from 0 to under 229 months (19 years): the WHO 2006 standards under 60
//! months, the WHO 2007 reference and the Permenkes categories for 5-18 years from 60.
//! Both use the same cell rules as `sinergi_core::growth::batch` (sex 1/2/L/P, decimal
//! point or comma, dates YYYY-MM-DD) and the same error codes.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{json, Value};
use sinergi_core::growth::assessment::RoundedZScores;
use sinergi_core::growth::batch::{self, codes, BatchOptions, BatchSummary};
use sinergi_core::growth::zscore::{age_in_range, uses_height, DAYS_PER_MONTH};
use sinergi_core::growth::{
    completed_months, status, Category, GrowthInput, Position, ReferReason, Reference, Sex, ZFlags,
};
use sinergi_core::{CoreError, Problem};

use crate::output;

#[derive(Subcommand)]
pub enum GrowthCmd {
    /// Z-scores for a CSV file: input columns + waz, laz, wlz, baz, hcz, acz, flags,
    /// Permenkes categories and an error column (see `sinergi_core::growth::batch`).
    Batch(BatchArgs),
    /// Z-scores, implausibility flags and Permenkes 2/2020 categories for one child.
    Assess(AssessArgs),
}

#[derive(Args)]
pub struct BatchArgs {
    /// CSV with the columns sex, age_days (or age_months, or birth_date and visit_date),
    /// weight_kg, lenhei_cm, measure, head_cm, muac_cm, oedema; other columns pass through.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the result (overwritten).
    #[arg(long)]
    output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AssessArgs {
    /// L (laki-laki) or P (perempuan); 1 or 2 also work.
    #[arg(long)]
    sex: Option<String>,
    /// Exact age in days (instead of --birth-date).
    #[arg(long, allow_hyphen_values = true)]
    age_days: Option<String>,
    /// Birth date, YYYY-MM-DD (needs --date).
    #[arg(long)]
    birth_date: Option<String>,
    /// Measurement date, YYYY-MM-DD.
    #[arg(long)]
    date: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    weight_kg: Option<String>,
    /// Length or height as measured, cm.
    #[arg(long, allow_hyphen_values = true)]
    lenhei_cm: Option<String>,
    /// l = lying (length), h = standing (height).
    #[arg(long)]
    measure: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    head_cm: Option<String>,
    /// Mid-upper arm circumference (LiLA), cm.
    #[arg(long, allow_hyphen_values = true)]
    muac_cm: Option<String>,
    /// Bilateral pitting oedema.
    #[arg(long)]
    oedema: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: GrowthCmd) -> anyhow::Result<()> {
    match cmd {
        GrowthCmd::Batch(a) => run_batch(a),
        GrowthCmd::Assess(a) => assess(a),
    }
}

fn problem(code: &str, field: &str, id: String, en: String) -> Problem {
    Problem::new(code, Some(field), id, en)
}

fn invalid(code: &str, field: &str, id: String, en: String) -> anyhow::Error {
    CoreError::invalid(problem(code, field, id, en)).into()
}

// ---- batch ----

/// Files this size or larger get a progress bar (when stderr is a terminal).
const PROGRESS_FROM_BYTES: u64 = 4 << 20;

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn run_batch(a: BatchArgs) -> anyhow::Result<()> {
    let input = File::open(&a.input).map_err(|e| {
        invalid(
            "input_unreadable",
            "input",
            format!(
                "berkas input '{}' tidak dapat dibuka: {e}",
                a.input.display()
            ),
            format!("cannot open the input '{}': {e}", a.input.display()),
        )
    })?;
    if same_file(&a.input, &a.output) {
        return Err(invalid(
            "output_is_input",
            "output",
            "--output sama dengan --input: hasil akan menimpa data asli; pilih nama lain".into(),
            "--output is the input file".into(),
        ));
    }
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let out_file = File::create(&a.output).map_err(|e| {
        invalid(
            "output_unwritable",
            "output",
            format!(
                "berkas hasil '{}' tidak dapat ditulis: {e}",
                a.output.display()
            ),
            format!("cannot write the output '{}': {e}", a.output.display()),
        )
    })?;

    let bar = if a.quiet || size < PROGRESS_FROM_BYTES {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} z-skor {wide_bar} {bytes}/{total_bytes} ({elapsed}, sisa {eta})",
            )
            .expect("template"),
        );
        bar
    };
    let options = BatchOptions {
        threads: a.threads.unwrap_or(0),
        ..BatchOptions::default()
    };
    let result = batch::process(
        input,
        BufWriter::with_capacity(1 << 20, out_file),
        &options,
        &mut |p| bar.set_position(p.bytes),
    );
    bar.finish_and_clear();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            // Do not leave a half-written or empty result behind.
            let _ = std::fs::remove_file(&a.output);
            return Err(e.into());
        }
    };
    if a.json {
        output::json(&json!({
            "rows": summary.rows,
            "rows_with_error": summary.rows_with_error,
            "zscores": summary.zscores,
            "seconds": summary.seconds,
            "output": a.output,
        }))
    } else {
        print_summary(&summary, &a.output);
        Ok(())
    }
}

/// 1234567 -> "1.234.567" (Indonesian thousands separator).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

fn print_summary(s: &BatchSummary, output: &Path) {
    let rate = if s.rows >= 10_000 {
        format!(
            " ({} baris/detik)",
            thousands(s.rows_per_second().round() as u64)
        )
    } else {
        String::new()
    };
    println!(
        "Selesai: {} baris, {} baris bergalat{}, {} z-skor dalam {} detik{rate}.",
        thousands(s.rows),
        thousands(s.rows_with_error),
        if s.rows_with_error > 0 {
            " (lihat kolom 'error')"
        } else {
            ""
        },
        thousands(s.zscores),
        format!("{:.2}", s.seconds).replace('.', ","),
    );
    println!("Hasil: {}", output.display());
}

// ---- assess ----

/// One child's result, as printed by `growth assess --json`.
#[derive(Serialize)]
struct AssessOut {
    sex: Sex,
    birth_date: Option<NaiveDate>,
    date: Option<NaiveDate>,
    /// Exact age in days (a whole number when given by dates).
    age_days: Value,
    /// Completed months.
    age_months: u32,
    /// `who2006` (the Child Growth Standards, under 60 months) or `who2007` (the Growth
    /// Reference, from 60 months; the Permenkes categories for 5-18 years).
    reference: Reference,
    /// True from 731 days: TB/U and BB/TB (standing height) rather than PB/U and BB/PB.
    uses_height: bool,
    weight_kg: f64,
    lenhei_cm: Option<f64>,
    measure: Option<Position>,
    head_cm: Option<f64>,
    muac_cm: Option<f64>,
    oedema: bool,
    /// Length/height after the 0.7 cm correction (2 decimals).
    clenhei_cm: Option<f64>,
    bmi: Option<f64>,
    /// Z-scores rounded to 2 decimals.
    z: RoundedZScores,
    flags: ZFlags,
    bb_u: Option<Category>,
    pb_u: Option<Category>,
    bb_pb: Option<Category>,
    imt_u: Option<Category>,
    stunting: Option<bool>,
    wasting: Option<bool>,
    underweight: Option<bool>,
    bgm: bool,
    /// BGM, gizi buruk or oedema (2T needs the weighing history, which one measurement lacks).
    refer: bool,
    refer_reasons: Vec<ReferReason>,
}

/// Collects every problem of the arguments, so one run shows them all.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, code: &str, field: &str, id: String, en: String) {
        self.0.push(problem(code, field, id, en));
    }

    fn date(&mut self, value: Option<&str>, field: &str) -> Option<NaiveDate> {
        let v = value?;
        let d = batch::parse_date(v.as_bytes());
        if d.is_none() {
            self.add(
                codes::DATE_INVALID,
                field,
                format!("--{field} '{v}' bukan tanggal yang sah (tulis YYYY-MM-DD)"),
                format!("--{field} '{v}' is not a valid YYYY-MM-DD date"),
            );
        }
        d
    }

    fn number(&mut self, value: Option<&str>, field: &str) -> Option<f64> {
        let v = value?;
        match batch::parse_number(v.as_bytes()) {
            Some(x) if x > 0.0 => Some(x),
            Some(_) => {
                self.add(
                    codes::NUMBER_NOT_POSITIVE,
                    field,
                    format!("--{field} harus lebih dari 0 (tertulis '{v}')"),
                    format!("--{field} must be above 0"),
                );
                None
            }
            None => {
                self.add(
                    codes::NUMBER_INVALID,
                    field,
                    format!("--{field} '{v}' bukan angka"),
                    format!("--{field} '{v}' is not a number"),
                );
                None
            }
        }
    }
}

struct Child {
    sex: Sex,
    birth_date: Option<NaiveDate>,
    date: Option<NaiveDate>,
    age_days: f64,
    weight_kg: f64,
    lenhei_cm: Option<f64>,
    measure: Option<Position>,
    head_cm: Option<f64>,
    muac_cm: Option<f64>,
}

fn parse_child(a: &AssessArgs) -> Result<Child, CoreError> {
    let mut p = Problems::default();
    let sex = match a.sex.as_deref() {
        None => {
            p.add(
                "sex_missing",
                "sex",
                "--sex wajib diisi (L = laki-laki, P = perempuan)".into(),
                "--sex is required (L or P)".into(),
            );
            None
        }
        Some(v) => {
            let s = batch::parse_sex(v.as_bytes());
            if s.is_none() {
                p.add(
                    codes::SEX_UNKNOWN,
                    "sex",
                    format!("jenis kelamin '{v}' tidak dikenal (tulis L atau P)"),
                    format!("unknown sex '{v}' (use L or P)"),
                );
            }
            s
        }
    };

    let date = p.date(a.date.as_deref(), "date");
    let birth_date = p.date(a.birth_date.as_deref(), "birth-date");
    let age_days = match (a.age_days.as_deref(), a.birth_date.as_deref()) {
        (Some(_), Some(_)) => {
            p.add(
                "age_conflict",
                "age-days",
                "isi --age-days atau --birth-date, jangan keduanya".into(),
                "give --age-days or --birth-date, not both".into(),
            );
            None
        }
        (None, None) => {
            p.add(
                codes::AGE_MISSING,
                "age-days",
                "umur tidak ada: isi --age-days, atau --birth-date dan --date".into(),
                "no age: give --age-days, or --birth-date and --date".into(),
            );
            None
        }
        (Some(v), None) => match batch::parse_number(v.as_bytes()) {
            Some(x) => Some(x),
            None => {
                p.add(
                    codes::NUMBER_INVALID,
                    "age-days",
                    format!("--age-days '{v}' bukan angka"),
                    format!("--age-days '{v}' is not a number"),
                );
                None
            }
        },
        (None, Some(_)) => match (birth_date, date, a.date.is_some()) {
            (_, _, false) => {
                p.add(
                    "date_missing",
                    "date",
                    "--date (tanggal pengukuran) wajib diisi bersama --birth-date".into(),
                    "--date is required with --birth-date".into(),
                );
                None
            }
            (Some(b), Some(d), true) if d < b => {
                p.add(
                    codes::VISIT_BEFORE_BIRTH,
                    "date",
                    format!("--date {d} sebelum --birth-date {b}"),
                    format!("--date {d} is before --birth-date {b}"),
                );
                None
            }
            (Some(b), Some(d), true) => Some((d - b).num_days() as f64),
            _ => None, // bad date, already reported
        },
    };
    if let Some(age) = age_days {
        if !age_in_range(age, None) {
            p.add(
                codes::AGE_OUT_OF_RANGE,
                "age-days",
                format!(
                    "umur {age} hari di luar standar dan rujukan WHO (0 hari sampai di bawah 229 bulan = 6970 hari)"
                ),
                format!(
                    "age {age} days is outside the WHO standards and reference (0 to under 229 months)"
                ),
            );
        }
    }

    let weight_kg = p.number(a.weight_kg.as_deref(), "weight-kg");
    if a.weight_kg.is_none() {
        p.add(
            "weight_missing",
            "weight-kg",
            "--weight-kg (berat badan, kg) wajib diisi".into(),
            "--weight-kg is required".into(),
        );
    }
    let lenhei_cm = p.number(a.lenhei_cm.as_deref(), "lenhei-cm");
    let measure = match a.measure.as_deref() {
        None => None,
        Some(_) if a.lenhei_cm.is_none() => {
            p.add(
                "lenhei_missing",
                "lenhei-cm",
                "--measure tanpa --lenhei-cm: isi panjang/tinggi badan".into(),
                "--measure needs --lenhei-cm".into(),
            );
            None
        }
        Some(v) => {
            let m = batch::parse_measure(v.as_bytes());
            if m.is_none() {
                p.add(
                    codes::MEASURE_UNKNOWN,
                    "measure",
                    format!("--measure '{v}' tidak dikenal (l = berbaring, h = berdiri)"),
                    format!("unknown --measure '{v}' (l or h)"),
                );
            }
            m
        }
    };
    let head_cm = p.number(a.head_cm.as_deref(), "head-cm");
    let muac_cm = p.number(a.muac_cm.as_deref(), "muac-cm");

    if !p.0.is_empty() {
        return Err(CoreError::Invalid(p.0));
    }
    // No problem reported means every required value is present.
    match (sex, age_days, weight_kg) {
        (Some(sex), Some(age_days), Some(weight_kg)) => Ok(Child {
            sex,
            birth_date,
            date,
            age_days,
            weight_kg,
            lenhei_cm,
            measure,
            head_cm,
            muac_cm,
        }),
        _ => Err(CoreError::BadData("growth assess: incomplete input".into())),
    }
}

fn assess(a: AssessArgs) -> anyhow::Result<()> {
    let c = parse_child(&a)?;
    let st = status(&GrowthInput {
        sex: c.sex,
        age_days: c.age_days,
        age_months: None,
        weight_kg: Some(c.weight_kg),
        lenhei_cm: c.lenhei_cm,
        position: c.measure,
        head_cm: c.head_cm,
        muac_cm: c.muac_cm,
        oedema: a.oedema,
    });
    let age_months = match (c.birth_date, c.date) {
        (Some(b), Some(d)) => completed_months(b, d).unwrap_or(0),
        _ => (c.age_days / DAYS_PER_MONTH).floor() as u32,
    };
    let out = AssessOut {
        sex: c.sex,
        birth_date: c.birth_date,
        date: c.date,
        age_days: if c.age_days.fract() == 0.0 {
            json!(c.age_days as i64)
        } else {
            json!(c.age_days)
        },
        age_months,
        reference: st.reference,
        uses_height: uses_height(c.age_days),
        weight_kg: c.weight_kg,
        lenhei_cm: c.lenhei_cm,
        measure: c.measure,
        head_cm: c.head_cm,
        muac_cm: c.muac_cm,
        oedema: a.oedema,
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
        bgm: st.bgm,
        refer: !st.refer_reasons.is_empty(),
        refer_reasons: st.refer_reasons,
    };
    if a.json {
        output::json(&out)
    } else {
        print_assessment(&out);
        Ok(())
    }
}

fn print_assessment(o: &AssessOut) {
    let yes_no = |b: bool| if b { "ya" } else { "tidak" };
    let opt_yes_no = |b: Option<bool>| b.map_or("-", yes_no);
    let sex = match o.sex {
        Sex::L => "laki-laki",
        Sex::P => "perempuan",
    };
    let mut age = format!("{} hari", o.age_days);
    age.push_str(&format!(" ({} bulan)", o.age_months));
    println!("Anak {sex}, umur {age}");
    if o.reference == Reference::Reference2007 {
        println!("Rujukan WHO 2007 (5-19 tahun); kategori Permenkes 2/2020 untuk 5-18 tahun");
    }
    let (pb, bb_pb) = if o.uses_height {
        ("TB/U", "BB/TB")
    } else {
        ("PB/U", "BB/PB")
    };
    let mut measures = format!("BB {} kg", o.weight_kg);
    if let Some(lh) = o.lenhei_cm {
        let how = match o.measure {
            Some(Position::Lying) => ", berbaring",
            Some(Position::Standing) => ", berdiri",
            None => "",
        };
        let name = if o.uses_height { "TB" } else { "PB" };
        measures.push_str(&format!("; {name} {lh} cm{how}"));
        if let Some(c) = o.clenhei_cm.filter(|c| (c - lh).abs() > 1e-9) {
            measures.push_str(&format!(" (dikoreksi {c} cm)"));
        }
    }
    if let Some(h) = o.head_cm {
        measures.push_str(&format!("; LK {h} cm"));
    }
    if let Some(m) = o.muac_cm {
        measures.push_str(&format!("; LiLA {m} cm"));
    }
    if o.oedema {
        measures.push_str("; edema");
    }
    println!("{measures}");
    let rows: [(&str, Option<f64>, Option<Category>, bool); 6] = [
        ("BB/U", o.z.waz, o.bb_u, o.flags.waz),
        (pb, o.z.laz, o.pb_u, o.flags.laz),
        (bb_pb, o.z.wlz, o.bb_pb, o.flags.wlz),
        ("IMT/U", o.z.baz, o.imt_u, o.flags.baz),
        ("LK/U", o.z.hcz, None, o.flags.hcz),
        ("LiLA/U", o.z.acz, None, o.flags.acz),
    ];
    println!("{:<8} {:>7}  kategori", "indeks", "z-skor");
    for (label, z, cat, flagged) in rows {
        let z = z.map_or("-".to_string(), |z| format!("{z:.2}"));
        let mut cat = cat.map_or(String::new(), |c| c.label_id().to_string());
        if flagged {
            cat.push_str(" (nilai tidak wajar: periksa ulang pengukuran)");
        }
        println!("{label:<8} {z:>7}  {cat}");
    }
    if o.oedema {
        println!("Edema: z-skor berbasis berat (BB/U, {bb_pb}, IMT/U) tidak dapat dipakai.");
    }
    if o.flags.standing_under_9_months {
        println!("Diukur berdiri di bawah 9 bulan: posisi diabaikan, ukur ulang berbaring.");
    }
    println!(
        "Stunting: {}; wasting: {}; underweight: {}; BGM: {}",
        opt_yes_no(o.stunting),
        opt_yes_no(o.wasting),
        opt_yes_no(o.underweight),
        yes_no(o.bgm)
    );
    let reasons: Vec<&str> = o
        .refer_reasons
        .iter()
        .map(|r| match r {
            ReferReason::TwoT => "2T",
            ReferReason::Bgm => "BGM",
            ReferReason::GiziBuruk => "gizi buruk",
            ReferReason::Oedema => "edema",
        })
        .collect();
    if reasons.is_empty() {
        println!("Rujuk: tidak");
    } else {
        println!("Rujuk: ya ({})", reasons.join(", "));
    }
}
