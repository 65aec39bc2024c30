//! `sinergi growth batch` and `sinergi growth assess`, run as the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

/// A fresh, empty directory under cargo's temporary directory for integration tests.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "growth-cli-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sinergi(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sinergi"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run sinergi")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn growth_cli_batch_writes_zscores_and_a_summary() {
    let dir = temp_dir("batch");
    std::fs::write(
        dir.join("in.csv"),
        "no,nama,sex,age_days,birth_date,visit_date,weight_kg,lenhei_cm,measure\n\
         1,Siti,P,1522,,,17,,\n\
         2,Budi,L,,2024-01-01,2024-10-27,\"9,0\",72.35,l\n\
         3,Ani,X,300,,,9,,\n",
    )
    .unwrap();
    let out = sinergi(
        &dir,
        &[
            "growth", "batch", "--input", "in.csv", "--output", "out.csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Selesai: 3 baris, 1 baris bergalat (lihat kolom 'error'), 5 z-skor"),
        "{stdout}"
    );
    assert!(stdout.contains("Hasil: out.csv"), "{stdout}");

    let result = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(
        lines[0],
        "no,nama,sex,age_days,birth_date,visit_date,weight_kg,lenhei_cm,measure,\
         waz,laz,wlz,baz,hcz,acz,flag_waz,flag_laz,flag_wlz,flag_baz,\
         kat_bb_u,kat_pb_u,kat_bb_pb,kat_imt_u,error"
    );
    assert_eq!(
        lines[1],
        "1,Siti,P,1522,,,17,,,0.24,,,,,,0,,,,Berat badan normal,,,,"
    );
    // 2024-01-01 to 2024-10-27 is 300 days: wlz 0.07 as in the z-score tests.
    assert!(
        lines[2].starts_with("2,Budi,L,,2024-01-01,2024-10-27,\"9,0\",72.35,l,"),
        "{}",
        lines[2]
    );
    let cells: Vec<&str> = lines[2].rsplit(',').collect();
    assert_eq!(cells[0], "", "no error");
    assert!(lines[2].contains(",0.07,"), "{}", lines[2]);
    assert!(lines[2].contains(",Gizi baik,"), "{}", lines[2]);
    assert!(
        lines[3].starts_with("3,Ani,X,300,,,9,,,,,,,,,,,,,,,,,\"sex_unknown: "),
        "{}",
        lines[3]
    );
    // Growth commands need no store: nothing is created in the working directory.
    assert!(!dir.join("sinergi-data").exists());

    // The summary as JSON.
    let out = sinergi(
        &dir,
        &[
            "growth",
            "batch",
            "--input",
            "in.csv",
            "--output",
            "out2.csv",
            "--json",
            "--threads",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows"], 3);
    assert_eq!(summary["rows_with_error"], 1);
    assert_eq!(summary["zscores"], 5);
    assert!(summary["seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        std::fs::read_to_string(dir.join("out2.csv")).unwrap(),
        result
    );
}

#[test]
fn growth_cli_batch_refuses_a_bad_header_or_file() {
    let dir = temp_dir("batch-bad");
    std::fs::write(dir.join("in.csv"), "id,age_days,weight_kg\n1,300,9\n").unwrap();
    let out = sinergi(
        &dir,
        &[
            "growth", "batch", "--input", "in.csv", "--output", "out.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("galat [batch_missing_column] sex: kolom wajib 'sex'"),
        "{stderr}"
    );
    assert!(!dir.join("out.csv").exists(), "no output left behind");

    let out = sinergi(
        &dir,
        &[
            "growth", "batch", "--input", "nope.csv", "--output", "out.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("galat [input_unreadable] input: "));

    let out = sinergi(
        &dir,
        &[
            "growth", "batch", "--input", "in.csv", "--output", "./in.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("galat [output_is_input]"));
    assert_eq!(
        std::fs::read_to_string(dir.join("in.csv")).unwrap(),
        "id,age_days,weight_kg\n1,300,9\n"
    );
}

#[test]
fn growth_cli_assess_json() {
    let dir = temp_dir("assess");
    // anthro: girl, 1522 days, 17 kg -> waz 0.24 (2020-01-01 + 1522 days = 2024-03-02).
    let out = sinergi(
        &dir,
        &[
            "growth",
            "assess",
            "--sex",
            "P",
            "--birth-date",
            "2020-01-01",
            "--date",
            "2024-03-02",
            "--weight-kg",
            "17",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sex"], "P");
    assert_eq!(v["age_days"], 1522);
    assert_eq!(v["age_months"], 50);
    assert_eq!(v["z"]["waz"], 0.24);
    assert_eq!(v["z"]["laz"], Value::Null);
    assert_eq!(v["flags"]["waz"], false);
    assert_eq!(v["bb_u"]["code"], "berat_badan_normal");
    assert_eq!(v["bb_u"]["label_id"], "Berat badan normal");
    assert_eq!(v["underweight"], false);
    assert_eq!(v["refer"], false);

    // anthro: boy, 987 days, 72.86 cm lying -> 72.16 cm standing, laz -6.09, flagged.
    // Decimal comma accepted; with --age-days the date is optional.
    let out = sinergi(
        &dir,
        &[
            "growth",
            "assess",
            "--sex",
            "L",
            "--age-days",
            "987",
            "--weight-kg",
            "8,5",
            "--lenhei-cm",
            "72,86",
            "--measure",
            "l",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["date"], Value::Null);
    assert_eq!(v["uses_height"], true);
    assert_eq!(v["clenhei_cm"], 72.16);
    assert_eq!(v["z"]["laz"], -6.09);
    assert_eq!(v["flags"]["laz"], true);
    assert_eq!(v["pb_u"]["code"], "sangat_pendek");
    assert_eq!(v["stunting"], true);
    assert_eq!(v["weight_kg"], 8.5);

    // Oedema hides the weight-based z-scores and asks for a referral.
    let out = sinergi(
        &dir,
        &[
            "growth",
            "assess",
            "--sex",
            "L",
            "--age-days",
            "300",
            "--weight-kg",
            "9",
            "--lenhei-cm",
            "72.35",
            "--measure",
            "l",
            "--oedema",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["z"]["waz"], Value::Null);
    assert_eq!(v["z"]["wlz"], Value::Null);
    assert_eq!(v["z"]["laz"], -0.33);
    assert_eq!(v["refer"], true);
    assert_eq!(v["refer_reasons"], serde_json::json!(["oedema"]));
    assert!(!dir.join("sinergi-data").exists());
}

#[test]
fn growth_cli_assess_text_is_indonesian() {
    let dir = temp_dir("assess-text");
    let out = sinergi(
        &dir,
        &[
            "growth",
            "assess",
            "--sex",
            "L",
            "--age-days",
            "300",
            "--date",
            "2025-01-15",
            "--weight-kg",
            "9.0",
            "--lenhei-cm",
            "72.35",
            "--measure",
            "l",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Anak laki-laki, umur 300 hari (9 bulan)"),
        "{stdout}"
    );
    assert!(stdout.contains("BB/PB"), "{stdout}");
    assert!(stdout.contains("0.07  Gizi baik"), "{stdout}");
    assert!(stdout.contains("Rujuk: tidak"), "{stdout}");
}

#[test]
fn growth_cli_assess_bad_input_is_refused_with_codes() {
    let dir = temp_dir("assess-bad");
    let out = sinergi(
        &dir,
        &[
            "growth",
            "assess",
            "--sex",
            "X",
            "--age-days",
            "abc",
            "--weight-kg",
            "-1",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    for line in [
        "galat [sex_unknown] sex: jenis kelamin 'X' tidak dikenal",
        "galat [number_invalid] age-days: --age-days 'abc' bukan angka",
        "galat [number_not_positive] weight-kg: --weight-kg harus lebih dari 0",
    ] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }

    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "--sex",
                "P",
                "--birth-date",
                "2020-01-01",
                "--weight-kg",
                "9",
            ],
            "date_missing",
        ),
        (
            &[
                "--sex",
                "P",
                "--birth-date",
                "2020-02-30",
                "--date",
                "2021-01-01",
                "--weight-kg",
                "9",
            ],
            "date_invalid",
        ),
        (
            &["--sex", "P", "--age-days", "6971", "--weight-kg", "9"],
            "age_out_of_range",
        ),
        (&["--sex", "P", "--weight-kg", "9"], "age_missing"),
        (&["--sex", "P", "--age-days", "300"], "weight_missing"),
    ];
    for (args, code) in cases {
        let mut all = vec!["growth", "assess"];
        all.extend_from_slice(args);
        let out = sinergi(&dir, &all);
        assert_eq!(out.status.code(), Some(2), "{code}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("galat [{code}]")),
            "{code}: {stderr}"
        );
    }
}

/// `sinergi` with its arguments written as one line (none holds a space).
fn sinergi_words(dir: &Path, line: &str) -> Output {
    sinergi(dir, &line.split_whitespace().collect::<Vec<_>>())
}

#[test]
fn growth_cli_school_age_uses_who_2007() {
    let dir = temp_dir("who2007");
    // anthroplus README: a boy of 100 months, 100 cm, 30 kg -> hfa -5.04, wfa 0.87, bfa 5.03
    // (flagged). 100 months = 3043.75 days.
    let out = sinergi_words(
        &dir,
        "growth assess --sex L --age-days 3043.75 --weight-kg 30 --lenhei-cm 100 --measure h --json",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reference"], "who2007");
    assert_eq!(v["age_months"], 100);
    assert_eq!(v["z"]["laz"], -5.04);
    assert_eq!(v["z"]["waz"], 0.87);
    assert_eq!(v["z"]["baz"], 5.03);
    assert_eq!(v["z"]["wlz"], Value::Null);
    assert_eq!(v["flags"]["baz"], true);
    assert_eq!(v["pb_u"]["code"], "sangat_pendek");
    assert_eq!(v["imt_u"]["code"], "obesitas");
    assert_eq!(v["bb_u"], Value::Null);
    assert_eq!(v["bgm"], false);

    // A 15-year-old girl by dates, in Indonesian text.
    let out = sinergi_words(
        &dir,
        "growth assess --sex P --birth-date 2010-03-01 --date 2025-03-01 --weight-kg 33 --lenhei-cm 150",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("Rujukan WHO 2007"), "{shown}");
    assert!(shown.contains("IMT/U"), "{shown}");
    assert!(
        shown.contains("Gizi kurang") || shown.contains("Gizi buruk"),
        "{shown}"
    );

    // The batch: an age in months, one in days, one past 19 years.
    std::fs::write(
        dir.join("school.csv"),
        "id,sex,age_days,age_months,weight_kg,lenhei_cm\n\
         a,2,,110,40,90\n\
         b,1,5000,,45,160\n\
         c,1,7000,,60,170\n",
    )
    .unwrap();
    let out = sinergi(
        &dir,
        &[
            "growth",
            "batch",
            "--input",
            dir.join("school.csv").to_str().unwrap(),
            "--output",
            dir.join("school-out.csv").to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result = std::fs::read_to_string(dir.join("school-out.csv")).unwrap();
    let lines: Vec<&str> = result.lines().collect();
    assert!(lines[0].ends_with(",waz,laz,wlz,baz,hcz,acz,flag_waz,flag_laz,flag_wlz,flag_baz,kat_bb_u,kat_pb_u,kat_bb_pb,kat_imt_u,error"));
    // anthroplus README: girl of 110 months, 90 cm, 40 kg -> -7.06 / 1.78 / 7.37, flagged.
    assert_eq!(
        lines[1],
        "a,2,,110,40,90,1.78,-7.06,,7.37,,,0,1,,1,,Sangat pendek,,Obesitas,"
    );
    assert!(lines[2].starts_with("b,1,5000,,45,160,,"), "{}", lines[2]);
    assert!(lines[2].ends_with(','), "{}", lines[2]);
    assert!(lines[3].contains("age_out_of_range"), "{}", lines[3]);
}
