//! The login slow-down and HTTPS, against real `sinergi-server` and `sinergi` processes on
//! loopback (the scope matrix is in `scope_matrix.rs`).

use sinergi_e2e::{error_code, login, Client, Puskesmas, PASSWORD};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[test]
fn failed_logins_are_slowed_per_user_and_address_and_a_success_resets() {
    let p = Puskesmas::new();
    let server = p.start_args(&[
        "--login-free-failures",
        "3",
        "--login-free-failures-per-ip",
        "100",
        "--login-first-delay-secs",
        "3",
        "--login-max-delay-secs",
        "3",
    ]);
    let url = &server.url;
    for _ in 0..3 {
        let (s, v, _) = login(url, "bidan", "salah-sekali");
        assert_eq!((s, error_code(&v)), (401, "bad_credentials"));
    }
    // Over the limit even the right password is turned away, before it is checked.
    let (s, v, retry) = login(url, "bidan", PASSWORD);
    assert_eq!((s, error_code(&v)), (429, "too_many_attempts"));
    let retry: u64 = retry.expect("Retry-After");
    assert!((1..=3).contains(&retry), "Retry-After {retry}");
    // The name is counted however it is spelled.
    assert_eq!(login(url, " BIDAN", PASSWORD).0, 429);
    assert_eq!(p.device_count(), 0, "nothing enrolled while blocked");
    // Other users are not affected.
    assert_eq!(login(url, "kader_a", PASSWORD).0, 200);
    // A success clears the count: 2 failures, a success, 2 failures, still not blocked.
    for round in 0..2 {
        for _ in 0..2 {
            assert_eq!(login(url, "kader_b", "keliru-lagi").0, 401, "round {round}");
        }
        assert_eq!(login(url, "kader_b", PASSWORD).0, 200, "round {round}");
    }
    // The CLI shows the code.
    for _ in 0..3 {
        login(url, "koordinator", "bukan-ini");
    }
    let c = Client::new();
    let out = c.run_stdin(
        &[
            "enroll",
            "--server",
            url,
            "--user",
            "koordinator",
            "--password-stdin",
            "--device-name",
            "hp-k",
        ],
        Some(PASSWORD),
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too_many_attempts"));
    // After the delay the user may try again.
    std::thread::sleep(Duration::from_secs(retry + 1));
    assert_eq!(login(url, "bidan", PASSWORD).0, 200);
    assert_eq!(p.device_count(), 4);
}

#[test]
fn failed_logins_are_slowed_per_address_and_counted_before_hashing() {
    let p = Puskesmas::new();
    let server = p.start_args(&[
        "--login-free-failures",
        "3",
        "--login-free-failures-per-ip",
        "6",
        "--login-first-delay-secs",
        "60",
    ]);
    let url = server.url.clone();
    // Concurrent wrong passwords for one name from one address: exactly the free ones are
    // checked, the rest are refused without hashing (a count kept after the check would let
    // them all through).
    let t = Instant::now();
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || login(&url, "bidan", "tebak-tebak").0)
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort();
    println!(
        "12 concurrent wrong logins: {:?} in {} ms",
        statuses,
        t.elapsed().as_millis()
    );
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 9);
    // The same address trying other names (known or not) is slowed at its own budget: 3 more.
    for name in ["kader_a", "tidak_ada", "kader_b"] {
        assert_eq!(login(&url, name, "tebak-tebak").0, 401, "{name}");
    }
    let (s, v, retry) = login(&url, "koordinator", PASSWORD);
    assert_eq!((s, error_code(&v)), (429, "too_many_attempts"));
    assert!(retry.is_some());
    // A burst against a waiting user costs the server no password hashing.
    let t = Instant::now();
    for _ in 0..200 {
        assert_eq!(login(&url, "bidan", "tebak-lagi").0, 429);
    }
    println!(
        "200 refused logins: {:.2} ms each",
        t.elapsed().as_secs_f64() * 1000.0 / 200.0
    );
    assert_eq!(p.device_count(), 0);
}

// --- HTTPS ---

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A puskesmas CA and a server certificate it signed for 127.0.0.1 and localhost.
    fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Puskesmas Uji CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "sinergi.puskesmas.uji");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), leaf_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), leaf_key.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn not_enrolled(dir: &Path) -> bool {
    let store = sinergi_core::store::LocalStore::open(dir).unwrap();
    store.enrollment().unwrap().is_none() && store.server_ca().unwrap().is_none()
}

#[test]
fn https_with_the_puskesmas_certificate() {
    let pki = Pki::new();
    let p = Puskesmas::new();
    let mut server = p.start_args(&[
        "--tls-cert",
        &pki.s("server.pem"),
        "--tls-key",
        &pki.s("server.key"),
    ]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let url = server.url.clone();

    // A device that does not know the puskesmas CA refuses the server: nothing is stored,
    // nothing is sent past the handshake.
    let stranger = Client::new();
    let out = stranger.enroll_trusting(&url, "kader_a", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("[tls_untrusted]"), "{err}");
    assert!(not_enrolled(stranger.dir.path()));
    assert_eq!(p.device_count(), 0);

    // Plain HTTP to the HTTPS port fails cleanly (no hang, no enrollment) and the server
    // keeps serving.
    let plain = url.replace("https://", "http://");
    let t = Instant::now();
    let out = stranger.enroll_trusting(&plain, "kader_a", &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(t.elapsed() < Duration::from_secs(15));
    assert!(not_enrolled(stranger.dir.path()));
    let raw = reqwest::blocking::get(format!("{plain}/api/v1/health"));
    assert!(raw.is_err(), "plain HTTP is not answered: {raw:?}");

    // A CA file that is not a certificate is refused before any connection.
    std::fs::write(pki.path("rusak.pem"), "bukan sertifikat").unwrap();
    let out = stranger.enroll_trusting(&url, "kader_a", &["--ca-cert", &pki.s("rusak.pem")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_ca_cert"));
    assert!(not_enrolled(stranger.dir.path()));

    // With the CA: enroll, work, sync; the device remembers the CA for every later sync.
    let kader = Client::new();
    let ca = pki.s("ca.pem");
    let out = kader.enroll_trusting(&url, "kader_a", &["--ca-cert", &ca]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child = kader.add_child(&p.posyandu_a, "Anak Aman");
    assert_eq!(kader.sync()["acknowledged"], 1);
    let bidan = Client::new();
    let out = bidan.enroll_trusting(&url, "bidan", &["--ca-cert", &ca]);
    assert!(out.status.success());
    assert_eq!(bidan.child(&child)["name"], "Anak Aman");
    assert_eq!(p.records("child").len(), 1);
    // After a restart on the same certificate, syncs carry on.
    server.restart();
    kader.ok(&["child", "set", &child, "name=Anak Aman Sekali"]);
    assert_eq!(kader.sync()["acknowledged"], 1);
    assert_eq!(bidan.sync()["pulled"], 1);
    assert_eq!(bidan.child(&child)["name"], "Anak Aman Sekali");
    // The stranger still cannot sync anything in (it has no enrollment at all).
    assert_eq!(p.device_count(), 2);
}

#[test]
fn a_bad_certificate_stops_the_server_before_it_listens() {
    let pki = Pki::new();
    let p = Puskesmas::new();
    std::fs::write(pki.path("kosong.pem"), "").unwrap();
    for (cert, key) in [
        (pki.s("tidak-ada.pem"), pki.s("server.key")),
        (pki.s("kosong.pem"), pki.s("server.key")),
        (pki.s("server.pem"), pki.s("ca.pem")),
    ] {
        let out = p.admin(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cert} {key}");
        assert!(err.contains("[tls_config]"), "{err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("mendengarkan"));
    }
    // --tls-cert without --tls-key is a usage error.
    let out = p.admin(&["serve", "--tls-cert", &pki.s("server.pem")]);
    assert_eq!(out.status.code(), Some(2));
}
