//! Reports end to end: from a device's store, from the server's command line, and from the
//! authenticated HTTP endpoint limited by role and scope. The files must open in LibreOffice and
//! the PDF must render (the test command installs both; a missing tool fails the test).

use sinergi_e2e::{Client, Puskesmas};
use std::process::Command;

fn month_of(date: &str) -> String {
    date[..7].to_string()
}

/// A posyandu month: two children weighed twice, one referral.
fn seed(p: &Puskesmas, kader: &Client) -> String {
    let c1 = kader.add_child(&p.posyandu_a, "Anak Satu");
    let c2 = kader.ok(&[
        "child",
        "add",
        "--posyandu",
        &p.posyandu_a,
        "--name",
        "Anak Dua",
        "--sex",
        "P",
        "--birth-date",
        "2024-11-20",
    ]);
    for (c, w1, w2) in [(&c1, "9.0", "9.4"), (&c2, "10.0", "10.0")] {
        kader.ok(&[
            "measure",
            "add",
            "--child",
            c,
            "--date",
            "2026-09-10",
            "--weight-kg",
            w1,
        ]);
        kader.ok(&[
            "measure",
            "add",
            "--child",
            c,
            "--date",
            "2026-10-10",
            "--weight-kg",
            w2,
        ]);
    }
    kader.ok(&[
        "record",
        "add",
        "referral",
        &format!("child_id={c2}"),
        "date=2026-10-10",
        "reason=lainnya",
        "status=menunggu",
    ]);
    kader.sync();
    month_of("2026-10-10")
}

fn converts_with_libreoffice(xlsx: &std::path::Path) {
    let out_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("libreoffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(out_dir.path())
        .arg(xlsx)
        .output()
        .expect("libreoffice must be installed (scripts/test.sh installs libreoffice-calc)");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let pdf = out_dir
        .path()
        .join(xlsx.with_extension("pdf").file_name().unwrap());
    assert!(
        std::fs::metadata(&pdf).unwrap().len() > 1000,
        "LibreOffice produced a PDF"
    );
}

fn renders_with_pdftoppm(pdf: &std::path::Path) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(pdf)
        .arg(dir.path().join("p"))
        .output()
        .expect("pdftoppm must be installed (scripts/test.sh installs poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_dir(dir.path()).unwrap().count()
}

#[test]
fn reports_from_the_device_the_server_and_http_by_scope() {
    let p = Puskesmas::new();
    let server = p.start();
    let kader = Client::new();
    kader.enroll(&server.url, "kader_a");
    let month = seed(&p, &kader);
    let dir = tempfile::tempdir().unwrap();

    // On the device, offline, from what it holds.
    let json = dir.path().join("kader.json");
    let out = kader.ok(&[
        "report",
        "--month",
        &month,
        "--format",
        "json",
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(out.contains("SKDN: S 2 K 2 D 2 N 1 T 1 O 0 B 0"), "{out}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["skdn"]["total"]["n"], 1);
    assert_eq!(v["referrals"]["total"]["made"], 1, "{}", v["referrals"]);
    let xlsx = dir.path().join("kader.xlsx");
    kader.ok(&[
        "report",
        "--month",
        &month,
        "--posyandu",
        &p.posyandu_a,
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    converts_with_libreoffice(&xlsx);

    // On the server's command line, for the whole puskesmas.
    let pdf = dir.path().join("puskesmas.pdf");
    let out = p.admin_ok(&[
        "report",
        "--month",
        &month,
        "--puskesmas",
        "--format",
        "pdf",
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert!(out.contains("SKDN: S 2 K 2 D 2 N 1 T 1"), "{out}");
    assert!(renders_with_pdftoppm(&pdf) >= 1);
    let csv = dir.path().join("desa.csv");
    p.admin_ok(&[
        "report",
        "--month",
        &month,
        "--desa",
        &p.desa,
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&csv)
        .unwrap()
        .contains("Posyandu A"));

    // Over HTTP, by role and scope.
    let coordinator = Client::new();
    coordinator.enroll(&server.url, "koordinator");
    let other_kader = Client::new();
    other_kader.enroll(&server.url, "kader_b");
    let get = |token: Option<&str>, query: &str| {
        let mut rb =
            reqwest::blocking::Client::new().get(format!("{}/api/v1/report?{query}", server.url));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, r.bytes().unwrap().to_vec())
    };
    let q = |extra: &str, fmt: &str| format!("month={month}&format={fmt}{extra}");
    let (s, ct, body) = get(Some(&coordinator.token()), &q("", "pdf"));
    assert_eq!(s, 200);
    assert_eq!(ct, "application/pdf");
    assert!(body.starts_with(b"%PDF"));
    let (s, _, body) = get(Some(&kader.token()), &q("", "json"));
    assert_eq!(s, 200, "a kader gets her own posyandu by default");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["skdn"]["total"]["s"], 2);
    let (s, _, body) = get(
        Some(&other_kader.token()),
        &q(&format!("&posyandu={}", p.posyandu_a), "json"),
    );
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&body));
    let (s, _, _) = get(
        Some(&kader.token()),
        &q(&format!("&puskesmas={}", p.puskesmas), "json"),
    );
    assert_eq!(s, 403, "a kader does not read the puskesmas");
    let (s, _, _) = get(None, &q("", "json"));
    assert_eq!(s, 401);
    let (s, _, _) = get(Some("ffff"), &q("", "json"));
    assert_eq!(s, 401);
    let (s, _, body) = get(Some(&coordinator.token()), "month=2026-13&format=json");
    assert_eq!(s, 422);
    assert!(String::from_utf8_lossy(&body).contains("invalid_month"));
    let (s, ct, _) = get(
        Some(&coordinator.token()),
        &q(&format!("&desa={}", p.desa), "xlsx"),
    );
    assert_eq!(s, 200);
    assert!(ct.contains("spreadsheetml"));
    p.admin_ok(&["device", "revoke", &coordinator.device_id()]);
    let (s, _, _) = get(Some(&coordinator.token()), &q("", "json"));
    assert_eq!(s, 401, "a revoked device reads nothing");
}
