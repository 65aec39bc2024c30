//! Batch z-scores over CSV (`growth::batch`): pass-through columns, both age forms, decimal
//! comma, bad rows reported in the `error` column without stopping the batch, header errors
//! before any output, and the same z-scores as `growth_zscores.rs` (WHO anthro's tests and the
//! hand computations there).

use std::collections::HashMap;

use sinergi_core::growth::batch::{self, codes, BatchOptions, BatchSummary, OUTPUT_COLUMNS};
use sinergi_core::growth::zscore::round2;
use sinergi_core::growth::{zscores, GrowthInput, Position, Sex};
use sinergi_core::CoreError;

/// Output rows as column -> value, in order.
struct Out {
    header: Vec<String>,
    rows: Vec<HashMap<String, String>>,
    raw: String,
    summary: BatchSummary,
}

impl Out {
    fn get(&self, row: usize, col: &str) -> &str {
        self.rows[row]
            .get(col)
            .unwrap_or_else(|| panic!("no column {col}"))
    }
}

fn run_with(input: &str, options: BatchOptions) -> Out {
    let mut out = Vec::new();
    let summary = batch::process(input.as_bytes(), &mut out, &options, &mut |_| {})
        .unwrap_or_else(|e| panic!("batch failed: {e}"));
    let raw = String::from_utf8(out).unwrap();
    let delimiter = if raw.lines().next().unwrap().contains(";waz;") {
        b';'
    } else if raw.lines().next().unwrap().contains("\twaz\t") {
        b'\t'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(raw.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(
                r.len(),
                header.len(),
                "every output row has the header's width"
            );
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    Out {
        header,
        rows,
        raw,
        summary,
    }
}

fn run(input: &str) -> Out {
    run_with(input, BatchOptions::default())
}

fn header_error(input: &str) -> String {
    let mut out = Vec::new();
    let err = batch::process(
        input.as_bytes(),
        &mut out,
        &BatchOptions::default(),
        &mut |_| {},
    )
    .expect_err("header must be refused");
    assert!(out.is_empty(), "nothing written before a header error");
    match err {
        CoreError::Invalid(p) => p[0].code.clone(),
        other => panic!("not an Invalid error: {other}"),
    }
}

fn error_codes(cell: &str) -> Vec<&str> {
    cell.split("; ")
        .filter(|e| !e.is_empty())
        .map(|e| e.split(':').next().unwrap())
        .collect()
}

#[test]
fn growth_batch_passes_other_columns_through_in_order() {
    let input = "no,nama,sex,catatan,age_days,weight_kg,desa\n\
                 1,Siti,P,\"kata \"\"ibu\"\": sehat, ceria\",1522,17,Krajan\n\
                 2,  Budi ,L,\"dua\nbaris\",300,,\n";
    let out = run(input);
    let mut want: Vec<String> = [
        "no",
        "nama",
        "sex",
        "catatan",
        "age_days",
        "weight_kg",
        "desa",
    ]
    .map(String::from)
    .to_vec();
    want.extend(OUTPUT_COLUMNS.map(String::from));
    assert_eq!(out.header, want);
    assert_eq!(out.get(0, "catatan"), "kata \"ibu\": sehat, ceria");
    assert_eq!(out.get(0, "nama"), "Siti");
    assert_eq!(out.get(0, "desa"), "Krajan");
    assert_eq!(out.get(1, "nama"), "  Budi ");
    assert_eq!(out.get(1, "catatan"), "dua\nbaris");
    assert_eq!(out.get(0, "waz"), "0.24");
    // No weight: nothing weight-based, and no error either.
    assert_eq!(out.get(1, "waz"), "");
    assert_eq!(out.get(1, "flag_waz"), "");
    assert_eq!(out.get(1, "kat_bb_u"), "");
    assert_eq!(out.get(1, "error"), "");
    assert_eq!(out.summary.rows, 2);
    assert_eq!(out.summary.rows_with_error, 0);
    assert_eq!(out.summary.zscores, 1);
}

#[test]
fn growth_batch_both_age_forms_give_the_same_zscores() {
    // anthro: girl, 1522 days, 17 kg -> waz 0.24. 2020-01-01 + 1522 days = 2024-03-02.
    let input = "sex,age_days,birth_date,visit_date,weight_kg\n\
                 2,1522,,,17\n\
                 P,,2020-01-01,2024-03-02,17\n\
                 p,1522,1999-01-01,1999-01-02,17\n";
    let out = run(input);
    for row in 0..3 {
        assert_eq!(out.get(row, "waz"), "0.24", "row {row}");
        assert_eq!(out.get(row, "flag_waz"), "0");
        assert_eq!(out.get(row, "kat_bb_u"), "Berat badan normal");
        assert_eq!(out.get(row, "error"), "");
    }
    // Only the dates, no age_days column at all.
    let out = run("sex,birth_date,visit_date,weight_kg\nP,2020-01-01,2024-03-02,17\n");
    assert_eq!(out.get(0, "waz"), "0.24");
}

#[test]
fn growth_batch_matches_the_zscore_tests() {
    let input = "case,sex,age_days,weight_kg,lenhei_cm,measure,head_cm,muac_cm,oedema\n\
                 laz_l,1,987,,72.86,l,,,\n\
                 wfl_interp,L,300,9.0,72.35,l,,,\n\
                 standing_730,l,730,11.5,85.0,h,,,\n\
                 lying_731,1,731,11.5,85.7,L,,,\n\
                 heavy,P,400,16,,,,,\n\
                 light,2,400,5.5,,,,,\n\
                 arm_low,L,500,,,,,11,\n\
                 arm_high,L,500,,,,,20,\n\
                 head_low,P,100,,,,36,,\n\
                 head_high,P,100,,,,50,,\n\
                 bmi,L,1000,12.5,90.7,l,,,\n\
                 months,L,913.125,20,,,,,\n\
                 height_24m,P,730.5,8.8,77.5,H,,,n\n";
    let out = run(input);
    let row = |case: &str| out.rows.iter().position(|r| r["case"] == case).unwrap();
    let r = row("laz_l");
    assert_eq!(out.get(r, "laz"), "-6.09");
    assert_eq!(out.get(r, "flag_laz"), "1");
    assert_eq!(out.get(r, "kat_pb_u"), "Sangat pendek");
    assert_eq!(out.get(r, "waz"), "");
    let r = row("wfl_interp");
    assert_eq!(out.get(r, "wlz"), "0.07");
    assert_eq!(out.get(r, "flag_wlz"), "0");
    assert_eq!(out.get(r, "kat_bb_pb"), "Gizi baik");
    for (case, laz) in [("standing_730", "-0.69"), ("lying_731", "-0.70")] {
        let r = row(case);
        assert_eq!(out.get(r, "wlz"), "-0.18", "{case}");
        assert_eq!(out.get(r, "laz"), laz, "{case}");
        assert_eq!(out.get(r, "kat_pb_u"), "Normal");
    }
    let r = row("heavy");
    assert_eq!(out.get(r, "waz"), "4.49");
    assert_eq!(out.get(r, "flag_waz"), "0");
    assert_eq!(out.get(r, "kat_bb_u"), "Risiko berat badan lebih");
    let r = row("light");
    assert_eq!(out.get(r, "waz"), "-4.21");
    assert_eq!(out.get(r, "kat_bb_u"), "Berat badan sangat kurang");
    assert_eq!(out.get(row("arm_low"), "acz"), "-3.76");
    assert_eq!(out.get(row("arm_high"), "acz"), "4.01");
    assert_eq!(out.get(row("head_low"), "hcz"), "-3.08");
    assert_eq!(out.get(row("head_high"), "hcz"), "8.12");
    let r = row("bmi");
    assert_eq!(out.get(r, "baz"), "-0.22");
    assert_eq!(out.get(r, "flag_baz"), "0");
    assert_eq!(out.get(r, "kat_imt_u"), "Gizi baik");
    assert_eq!(out.get(row("months"), "waz"), "3.47");
    assert_eq!(out.get(row("height_24m"), "laz"), "-2.55");
    assert_eq!(out.get(row("height_24m"), "kat_pb_u"), "Pendek");
    assert_eq!(out.summary.rows_with_error, 0);
}

#[test]
fn growth_batch_oedema_hides_weight_based_zscores() {
    let input = "sex,age_days,weight_kg,lenhei_cm,measure,head_cm,muac_cm,oedema\n\
                 L,100,7.0,60.0,l,40,13,n\n\
                 L,100,7.0,60.0,l,40,13,Y\n\
                 L,100,7.0,60.0,l,40,13,\n";
    let out = run(input);
    for col in ["waz", "wlz", "baz", "flag_waz", "flag_wlz", "flag_baz"] {
        assert_ne!(out.get(0, col), "", "{col}");
        assert_eq!(out.get(1, col), "", "{col}");
        assert_eq!(out.get(2, col), out.get(0, col), "{col}");
    }
    for col in ["laz", "hcz", "acz", "flag_laz"] {
        assert_eq!(out.get(1, col), out.get(0, col), "{col}");
    }
    assert_eq!(out.get(1, "error"), "");
}

#[test]
fn growth_batch_bad_rows_get_an_error_and_the_batch_goes_on() {
    let input = "id,sex,age_days,birth_date,visit_date,weight_kg,lenhei_cm,measure,oedema\n\
                 ok1,L,300,,,9.0,72.35,l,n\n\
                 sex,X,300,,,9.0,72.35,l,n\n\
                 weight,L,300,,,abc,72.35,l,n\n\
                 zero,L,300,,,0,72.35,l,n\n\
                 date,L,,2020-13-01,2021-01-01,9.0,,,\n\
                 noage,L,,,,9.0,,,\n\
                 old,L,6971,,,9.0,,,\n\
                 negative,L,-3,,,9.0,,,\n\
                 before,L,,2024-05-01,2024-04-01,9.0,,,\n\
                 measure,L,300,,,9.0,72.35,x,n\n\
                 oedema,L,300,,,9.0,72.35,l,maybe\n\
                 two,,300,,,9;0,72.35,l,n\n\
                 short,L,300\n\
                 long,L,300,,,9.0,72.35,l,n,extra\n\
                 ok2,P,1522,,,17,,,\n";
    let out = run(input);
    assert_eq!(out.summary.rows, 15);
    assert_eq!(out.summary.rows_with_error, 13);
    let row = |id: &str| out.rows.iter().position(|r| r["id"] == id).unwrap();
    let expect = [
        ("sex", vec![codes::SEX_UNKNOWN]),
        ("weight", vec![codes::NUMBER_INVALID]),
        ("zero", vec![codes::NUMBER_NOT_POSITIVE]),
        ("date", vec![codes::DATE_INVALID]),
        ("noage", vec![codes::AGE_MISSING]),
        ("old", vec![codes::AGE_OUT_OF_RANGE]),
        ("negative", vec![codes::AGE_OUT_OF_RANGE]),
        ("before", vec![codes::VISIT_BEFORE_BIRTH]),
        ("measure", vec![codes::MEASURE_UNKNOWN]),
        ("oedema", vec![codes::OEDEMA_UNKNOWN]),
        ("two", vec![codes::SEX_UNKNOWN, codes::NUMBER_INVALID]),
        ("short", vec![codes::ROW_LENGTH]),
        ("long", vec![codes::ROW_LENGTH]),
    ];
    for (id, want) in expect {
        let r = row(id);
        assert_eq!(error_codes(out.get(r, "error")), want, "{id}");
    }
    // Messages are specific and Indonesian.
    assert!(out.get(row("sex"), "error").contains("'X'"));
    assert!(out
        .get(row("weight"), "error")
        .contains("weight_kg 'abc' bukan angka"));
    assert!(out
        .get(row("date"), "error")
        .contains("birth_date '2020-13-01'"));
    // No sex or no age: no z-score at all.
    for id in ["sex", "date", "noage", "old", "negative", "before", "two"] {
        for col in &OUTPUT_COLUMNS[..14] {
            assert_eq!(out.get(row(id), col), "", "{id} {col}");
        }
    }
    // A bad measure only loses what depends on it.
    let r = row("weight");
    assert_eq!(out.get(r, "waz"), "");
    assert_eq!(out.get(r, "wlz"), "");
    assert_ne!(out.get(r, "laz"), "");
    let r = row("measure");
    assert_ne!(out.get(r, "waz"), "");
    assert_eq!(out.get(r, "laz"), "");
    assert_eq!(out.get(r, "wlz"), "");
    let r = row("oedema");
    assert_eq!(out.get(r, "waz"), "");
    assert_ne!(out.get(r, "laz"), "");
    // Short rows are padded, long rows keep the header's width.
    assert_eq!(out.get(row("short"), "weight_kg"), "");
    assert_eq!(out.get(row("long"), "wlz"), out.get(row("ok1"), "wlz"));
    // Good rows before and after are computed.
    assert_eq!(out.get(row("ok1"), "wlz"), "0.07");
    assert_eq!(out.get(row("ok2"), "waz"), "0.24");
    assert_eq!(out.get(row("ok2"), "error"), "");
}

#[test]
fn growth_batch_decimal_comma() {
    // Quoted in a comma-separated file.
    let out = run("sex,age_days,weight_kg,lenhei_cm,measure\n\
                   L,300,\"9,0\",\"72,35\",l\n\
                   L,300,9.0,72.35,l\n");
    assert_eq!(out.get(0, "wlz"), "0.07");
    assert_eq!(out.get(0, "error"), "");
    for col in ["waz", "laz", "wlz", "baz"] {
        assert_eq!(out.get(0, col), out.get(1, col), "{col}");
    }
    // Semicolon-separated (Excel, Indonesian locale): z-scores written with a decimal comma.
    let out = run("id;sex;age_days;weight_kg;lenhei_cm;measure\nA;L;300;9,0;72,35;l\n");
    assert!(out
        .raw
        .starts_with("id;sex;age_days;weight_kg;lenhei_cm;measure;waz;laz;"));
    assert_eq!(out.get(0, "wlz"), "0,07");
    assert_eq!(out.get(0, "weight_kg"), "9,0");
    // Tab-separated.
    let out = run("sex\tage_days\tweight_kg\nP\t1522\t17\n");
    assert_eq!(out.get(0, "waz"), "0.24");
}

#[test]
fn growth_batch_blank_rows_pass_through_without_error() {
    let out = run("id,sex,age_days,weight_kg\n,,,\n1,P,1522,17\n , ,,\n");
    assert_eq!(out.summary.rows, 3);
    assert_eq!(out.summary.rows_with_error, 0);
    assert_eq!(out.rows.len(), 3);
    assert_eq!(out.get(0, "error"), "");
    assert_eq!(out.get(0, "waz"), "");
    assert_eq!(out.get(1, "waz"), "0.24");
    assert_eq!(out.get(2, "id"), " ");
}

#[test]
fn growth_batch_bom_crlf_and_no_final_newline() {
    let out = run("\u{feff}sex,age_days,weight_kg\r\nP,1522,17\r\n2,1522,17");
    assert_eq!(out.header[0], "sex");
    assert_eq!(out.rows.len(), 2);
    assert_eq!(out.get(0, "waz"), "0.24");
    assert_eq!(out.get(1, "waz"), "0.24");
}

#[test]
fn growth_batch_header_errors_come_before_any_row() {
    assert_eq!(
        header_error("age_days,weight_kg\n300,9\n"),
        codes::MISSING_COLUMN
    );
    assert_eq!(
        header_error("sex,birth_date,weight_kg\nL,2024-01-01,9\n"),
        codes::MISSING_COLUMN
    );
    assert_eq!(header_error("sex,weight_kg\nL,9\n"), codes::MISSING_COLUMN);
    assert_eq!(
        header_error("sex,age_days,sex\nL,300,L\n"),
        codes::DUPLICATE_COLUMN
    );
    assert_eq!(
        header_error("sex,age_days,waz\nL,300,1.0\n"),
        codes::COLUMN_CONFLICT
    );
    assert_eq!(header_error(""), codes::NO_HEADER);
    // The message names what is missing, in Indonesian.
    let mut out = Vec::new();
    let err = batch::process(
        &b"Sex,age_days\nL,300\n"[..],
        &mut out,
        &BatchOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("kolom wajib 'sex'"), "{err}");
    // A header alone is fine: no rows.
    let out = run("sex,age_days\n");
    assert_eq!(out.summary.rows, 0);
    assert_eq!(out.rows.len(), 0);
}

/// A deterministic pseudo-random generator for the cross-check below.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn expected(z: Option<f64>) -> String {
    match z.map(round2) {
        None => String::new(),
        Some(0.0) => "0.00".into(), // also -0.0: the batch never writes "-0.00"
        Some(v) => format!("{v:.2}"),
    }
}

#[test]
fn growth_batch_parallel_chunks_keep_order_and_match_zscores() {
    let mut rng = Rng(0x1234_5678);
    let mut input =
        String::from("id,note,sex,age_days,weight_kg,lenhei_cm,measure,head_cm,muac_cm\n");
    let mut rows = Vec::new();
    for i in 0..3000 {
        let sex = if rng.below(2) == 0 { Sex::L } else { Sex::P };
        // Mostly balita ages; every fifth row anywhere to 19 years and a little past it.
        let age = if i % 5 == 0 {
            1800 + rng.below(5300)
        } else {
            rng.below(1830)
        } as f64;
        let weight = 2.0 + rng.below(200) as f64 / 10.0;
        let lenhei = 45.0 + rng.below(700) as f64 / 10.0;
        let position = match rng.below(3) {
            0 => None,
            1 => Some(Position::Lying),
            _ => Some(Position::Standing),
        };
        let head = 30.0 + rng.below(200) as f64 / 10.0;
        let muac = 9.0 + rng.below(120) as f64 / 10.0;
        // Notes with quotes, delimiters and line breaks exercise the chunk splitting.
        let note = match i % 7 {
            0 => "\"a, \"\"b\"\"\nc\"".to_string(),
            1 => format!("n{i}"),
            2 => String::new(),
            3 => "\"\"".to_string(),
            4 => "\"abc\"def".to_string(),
            5 => "\"x\r\ny\"".to_string(),
            _ => "x\"y".to_string(),
        };
        input.push_str(&format!(
            "{i},{note},{},{age},{weight},{lenhei},{},{head},{muac}\n",
            if sex == Sex::L { "L" } else { "P" },
            match position {
                None => "",
                Some(Position::Lying) => "l",
                Some(Position::Standing) => "h",
            }
        ));
        rows.push(GrowthInput {
            weight_kg: Some(weight),
            lenhei_cm: Some(lenhei),
            position,
            head_cm: Some(head),
            muac_cm: Some(muac),
            ..GrowthInput::new(sex, age)
        });
    }
    // One chunk on one thread: plain csv parsing, the reference.
    let seq = run_with(
        &input,
        BatchOptions {
            threads: 1,
            chunk_bytes: 1 << 30,
        },
    );
    for (threads, chunk_bytes) in [(1, 1), (3, 1), (2, 97), (4, 5000), (2, 1 << 20)] {
        let par = run_with(
            &input,
            BatchOptions {
                threads,
                chunk_bytes,
            },
        );
        assert!(par.raw == seq.raw, "threads {threads}, chunk {chunk_bytes}");
        assert_eq!(par.summary.rows, 3000);
        assert_eq!(par.summary.zscores, seq.summary.zscores);
    }
    assert_eq!(seq.rows.len(), 3000);
    let mut computed = 0;
    for (i, (row, g)) in seq.rows.iter().zip(&rows).enumerate() {
        assert_eq!(row["id"], i.to_string());
        let z = zscores(g);
        let want = [
            ("waz", z.waz),
            ("laz", z.laz),
            ("wlz", z.wlz),
            ("baz", z.baz),
            ("hcz", z.hcz),
            ("acz", z.acz),
        ];
        for (col, v) in want {
            assert_eq!(row[col], expected(v), "row {i} {col}");
            computed += u64::from(v.is_some());
        }
        let flag = |v: Option<f64>, f: bool| match v {
            None => "",
            Some(_) if f => "1",
            Some(_) => "0",
        };
        assert_eq!(row["flag_waz"], flag(z.waz, z.flags.waz));
        assert_eq!(row["flag_laz"], flag(z.laz, z.flags.laz));
        assert_eq!(row["flag_wlz"], flag(z.wlz, z.flags.wlz));
        assert_eq!(row["flag_baz"], flag(z.baz, z.flags.baz));
        let over_229_months = g.age_days / 30.4375 >= 229.0;
        assert_eq!(
            error_codes(&row["error"]),
            if over_229_months {
                vec![codes::AGE_OUT_OF_RANGE]
            } else {
                vec![]
            },
            "row {i}"
        );
    }
    assert_eq!(seq.summary.zscores, computed);
}

#[test]
fn growth_batch_reports_progress() {
    let mut input = String::from("sex,age_days,weight_kg\n");
    for i in 0..1000 {
        input.push_str(&format!("L,{},9\n", i % 1800));
    }
    let mut seen = Vec::new();
    let summary = batch::process(
        input.as_bytes(),
        std::io::sink(),
        &BatchOptions {
            threads: 2,
            chunk_bytes: 1000,
        },
        &mut |p| seen.push(p),
    )
    .unwrap();
    assert!(seen.len() > 5);
    assert!(seen.windows(2).all(|w| w[0].bytes <= w[1].bytes));
    assert_eq!(seen.last().unwrap().bytes, input.len() as u64);
    assert_eq!(summary.rows, 1000);
    assert!(summary.seconds > 0.0);
}
