//! HTTPS with no setup (trust, case 10): the server makes its own certificate, devices pin it by
//! its fingerprint (given by the admin, or carried by the enrollment file), and plain `http://`
//! to another machine needs `--insecure-http`. Real server and client processes on loopback.

use sinergi_e2e::*;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_servers_own_certificate_is_pinned_and_nothing_else_passes() {
    let p = Puskesmas::new();
    let fp = p.admin_ok(&["tls", "fingerprint"]);
    assert_eq!(fp.len(), 64, "{fp}");
    let mut server = p.start_args(&["--https"]);
    assert!(server.url.starts_with("https://"), "{}", server.url);

    // Not trusted by the system: refused, and the fingerprint it presents is shown to compare.
    let a = Client::new();
    let out = a.enroll_trusting(&server.url, "kader_a", &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("tls_untrusted"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&fp),
        "the fingerprint is shown: {}",
        stderr(&out)
    );
    assert_eq!(a.status()["enrolled"], false);

    // A wrong fingerprint: refused as well.
    let wrong = "ab".repeat(32);
    let out = a.enroll_trusting(&server.url, "kader_a", &["--tls-fingerprint", &wrong]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("tls_pin_mismatch"),
        "{}",
        stderr(&out)
    );

    // The admin's fingerprint (written with colons, as people copy it): enrolled, then syncs.
    let colons: Vec<String> = fp
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect();
    let out = a.enroll_trusting(
        &server.url,
        "kader_a",
        &["--tls-fingerprint", &colons.join(":")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = a.add_child(&p.posyandu_a, "Lewat HTTPS");
    a.sync();
    assert!(find(&p.records("child"), &id).is_some());

    // Another server (another certificate) on the same address: the device will not talk to it.
    let port = server.port;
    server.stop();
    let other = Puskesmas::new();
    let _impostor = Server::start_with_args(
        other.dir.path(),
        other.database.clone(),
        port,
        vec!["--https".into()],
    );
    let out = a.run(&["sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("tls_pin_mismatch"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_enrollment_file_carries_the_pin() {
    let p = Puskesmas::new();
    let server = p.start_args(&["--https"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daftar.sinergi");
    assert!(p
        .enroll_file("kader_a", Some(&server.url), &file)
        .status
        .success());
    let fp = p.admin_ok(&["tls", "fingerprint"]);
    let c = Client::new();
    let shown = c.ok(&["bundle", "show", file.to_str().unwrap()]);
    assert!(shown.contains(&fp), "{shown}");
    c.ok(&["bundle", "open", file.to_str().unwrap()]);
    let id = c.add_child(&p.posyandu_a, "Dari Berkas Lewat HTTPS");
    c.sync();
    assert!(find(&p.records("child"), &id).is_some());
}

#[test]
fn plain_http_to_another_machine_needs_insecure_http() {
    let p = Puskesmas::new();
    let server = p.start();
    // 0.0.0.0 reaches this machine on Linux, but it is not a loopback address: it stands for
    // a server on the network.
    let url = server.url.replace("127.0.0.1", "0.0.0.0");
    let a = Client::new();
    let out = a.enroll_trusting(&url, "kader_a", &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("insecure_http"), "{}", stderr(&out));
    assert_eq!(a.status()["enrolled"], false);
    let out = a.enroll_trusting(&url, "kader_a", &["--insecure-http"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(a.status()["insecure_http"], true);
    a.sync();
    // Loopback needs no flag: nothing leaves the machine.
    let b = Client::new();
    assert!(b
        .enroll_trusting(&server.url, "kader_a", &[])
        .status
        .success());
    assert_eq!(b.status()["insecure_http"], false);
}

#[test]
fn a_server_on_the_network_serves_https_unless_told_otherwise() {
    let p = Puskesmas::new();
    let port = free_port();
    let mut cmd = p.server_command();
    let mut child = cmd
        .args(["serve", "--bind", &format!("0.0.0.0:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("https://"), "{line}");
}
