//! User administration (`sinergi-server user list|disable|enable|password`) and the login
//! slow-down, against a real `sinergi-server` and real `sinergi` devices on loopback.
//!
//! The slow-down is keyed on (user name, client address): the attacker's requests leave from
//! 127.0.0.2 (every 127.x.y.z address is loopback on Linux), the kader's `sinergi` from
//! 127.0.0.1, to the same server.

use serde_json::{json, Value};
use sinergi_e2e::{error_code, login_from, Client, Puskesmas, PASSWORD};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Output;
use std::time::Duration;

const NEW_PASSWORD: &str = "sandi-baru-456";

fn http(from: Option<IpAddr>) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(from)
        .build()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `user list` as JSON: name -> (disabled, active devices, place).
fn users(p: &Puskesmas) -> std::collections::BTreeMap<String, (bool, u64, String)> {
    p.admin_json(&["user", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_string(),
                (
                    u["disabled"].as_bool().unwrap(),
                    u["active_devices"].as_u64().unwrap(),
                    u["place"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// The plain `user list` line of a user.
fn list_line(p: &Puskesmas, name: &str) -> String {
    p.admin_ok(&["user", "list"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} is not listed"))
        .to_string()
}

fn set_password(p: &Puskesmas, name: &str, password: &str) -> Output {
    let args = ["user", "password", "--name", name, "--password-stdin"];
    p.admin_stdin(&args, Some(&format!("{password}\n")))
}

/// Enroll a fresh device with this password through the real client.
fn enroll_with(url: &str, user: &str, password: &str) -> (Client, Output) {
    let c = Client::new();
    let out = c.enroll_with(url, user, password, "hp-lagi");
    (c, out)
}

/// A raw sync with the device's token: status and body.
fn raw_sync(url: &str, kader: &Client) -> (u16, Value) {
    let resp = http(None)
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(kader.token())
        .json(&json!({
            "protocol": sinergi_core::protocol::PROTOCOL_VERSION,
            "device_id": kader.device_id(),
            "device_clock_ms": chrono::Utc::now().timestamp_millis(),
            "cursor": 0,
        }))
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

#[test]
fn disable_enable_and_a_new_password() {
    let p = Puskesmas::new();
    let server = p.start();
    let url = server.url.clone();
    let kader = Client::new();
    kader.enroll(&url, "kader_a");
    kader.add_child(&p.posyandu_a, "Anak Pertama");
    assert_eq!(kader.sync()["acknowledged"], 1);

    // The list: every user, aligned, enabled, with her active devices.
    let list = p.admin_ok(&["user", "list"]);
    println!("{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 6, "a header and five users");
    let status_at = lines[0].find("STATUS").unwrap();
    for l in &lines[1..] {
        assert!(
            l[status_at..].starts_with("aktif"),
            "columns aligned: {l:?}"
        );
    }
    let line = list_line(&p, "kader_a");
    assert!(
        line.contains("kader") && line.contains("Posyandu A"),
        "{line}"
    );
    assert!(line.ends_with(" 1"), "{line}");
    assert!(list_line(&p, "bidan").contains("Puskesmas Uji"));
    assert!(!users(&p)["kader_a"].0);

    // An unknown name: a clear error, a non-zero exit, nothing changed.
    let before = p.admin_ok(&["user", "list"]);
    for args in [
        &["user", "disable", "--name", "tidak_ada"][..],
        &["user", "enable", "--name", "tidak_ada"][..],
    ] {
        let out = p.admin(args);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("[unknown_user]"), "{}", stderr(&out));
    }
    let out = set_password(&p, "tidak_ada", NEW_PASSWORD);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[unknown_user]"));
    assert_eq!(p.admin_ok(&["user", "list"]), before);

    // Disabled: her device is refused at its next request, with the code, in the server's
    // error shape, and its edit stays pending on the device.
    p.admin_ok(&["user", "disable", "--name", "kader_a"]);
    let line = list_line(&p, "kader_a");
    assert!(line.contains("NONAKTIF") && line.ends_with(" 1"), "{line}");
    assert!(users(&p)["kader_a"].0);
    kader.add_child(&p.posyandu_a, "Anak Saat Nonaktif");
    let out = kader.run(&["sync", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("[user_disabled]"), "{}", stderr(&out));
    let (status, body) = raw_sync(&url, &kader);
    assert_eq!((status, error_code(&body)), (403, "user_disabled"));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("dinonaktifkan"));
    assert!(body["error"]["message_en"]
        .as_str()
        .unwrap()
        .contains("disabled"));
    let report = http(None)
        .get(format!("{url}/api/v1/report?month=2025-06&format=json"))
        .bearer_auth(kader.token())
        .send()
        .unwrap();
    assert_eq!(report.status().as_u16(), 403);
    assert_eq!(p.records("child").len(), 1, "nothing pushed while disabled");
    assert_eq!(kader.status()["pending_edits"], 1, "kept on the device");

    // Her password enrolls nothing: the same code (only with the right password), and the
    // wrong one is still just wrong.
    let devices_before = p.device_count();
    let (status, body, _) = login_from(&http(None), &url, "kader_a", PASSWORD);
    assert_eq!((status, error_code(&body)), (403, "user_disabled"));
    let (other, out) = enroll_with(&url, "kader_a", PASSWORD);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("[user_disabled]"));
    let store = sinergi_core::store::LocalStore::open(other.dir.path()).unwrap();
    assert!(
        store.enrollment().unwrap().is_none(),
        "the new device is not enrolled"
    );
    let (status, body, _) = login_from(&http(None), &url, "kader_a", "bukan-sandinya");
    assert_eq!((status, error_code(&body)), (401, "bad_credentials"));
    assert_eq!(p.device_count(), devices_before, "nothing enrolled");
    // The file path too.
    let out = p.enroll_file("kader_a", None, &p.dir.path().join("daftar.sinergi"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[user_disabled]"));
    assert_eq!(p.device_count(), devices_before);

    // Enabled again: the same device syncs, with the edit it kept.
    p.admin_ok(&["user", "enable", "--name", "kader_a"]);
    assert!(list_line(&p, "kader_a").contains("aktif"));
    assert!(!users(&p)["kader_a"].0);
    assert_eq!(kader.sync()["acknowledged"], 1);
    assert_eq!(p.records("child").len(), 2);

    // A new password: too short or empty is refused by the rule `user add` uses; then the old
    // password enrolls nothing and the new one does. Her device keeps syncing.
    for (pw, expect) in [("pendek", "8"), ("", "kosong")] {
        let out = set_password(&p, "kader_a", pw);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("[weak_password]") && err.contains(expect),
            "{err}"
        );
    }
    let mut add = p.server_command();
    add.args([
        "user",
        "add",
        "--name",
        "bidan2",
        "--role",
        "bidan",
        "--password-stdin",
    ]);
    let out = {
        use std::io::Write;
        let mut child = add
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"pendek").unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(stderr(&out).contains("[weak_password]") && stderr(&out).contains("8"));
    let out = set_password(&p, "kader_a", NEW_PASSWORD);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, out) = enroll_with(&url, "kader_a", PASSWORD);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("[bad_credentials]"));
    let (second, out) = enroll_with(&url, "kader_a", NEW_PASSWORD);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(second.children().len(), 2);
    kader.add_child(&p.posyandu_a, "Anak Ketiga");
    assert_eq!(kader.sync()["acknowledged"], 1);
    let line = list_line(&p, "kader_a");
    assert!(line.contains("aktif") && line.ends_with(" 2"), "{line}");
}

#[test]
fn wrong_passwords_from_one_address_do_not_lock_out_another() {
    let p = Puskesmas::new();
    let server = p.start_args(&[
        "--login-free-failures",
        "3",
        "--login-free-failures-per-ip",
        "6",
        "--login-max-delay-secs",
        "2",
    ]);
    let url = server.url.clone();
    let attacker = http(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));

    // Ten wrong passwords for kader_a from 127.0.0.2: three are checked, then the pair waits.
    let mut statuses = Vec::new();
    let mut retry_after = 0;
    for _ in 0..10 {
        let (s, v, retry) = login_from(&attacker, &url, "kader_a", "tebak-tebak");
        match s {
            401 => assert_eq!(error_code(&v), "bad_credentials"),
            429 => {
                assert_eq!(error_code(&v), "too_many_attempts");
                retry_after = retry.expect("Retry-After");
            }
            other => panic!("status {other}"),
        }
        statuses.push(s);
    }
    println!("10 wrong passwords from 127.0.0.2: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3);
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    // The right password from there waits too ...
    assert_eq!(login_from(&attacker, &url, "kader_a", PASSWORD).0, 429);

    // ... but the kader's own device, at 127.0.0.1, enrolls at once with her password.
    let kader = Client::new();
    kader.enroll(&url, "kader_a");
    kader.add_child(&p.posyandu_a, "Anak Tetap Masuk");
    assert_eq!(kader.sync()["acknowledged"], 1);

    // The looser per-address budget: three wrong passwords for other names from 127.0.0.2 use
    // it up, then that address waits for every name, while 127.0.0.1 does not.
    for name in ["bidan", "kader_b", "tidak_ada"] {
        assert_eq!(
            login_from(&attacker, &url, name, "tebak-tebak").0,
            401,
            "{name}"
        );
    }
    let (s, v, retry) = login_from(&attacker, &url, "koordinator", PASSWORD);
    assert_eq!((s, error_code(&v)), (429, "too_many_attempts"));
    assert!(retry.is_some());
    assert_eq!(
        login_from(&http(None), &url, "koordinator", PASSWORD).0,
        200
    );

    // Once the delays have passed, the right password from 127.0.0.2 works and clears the
    // pair: the next wrong one is checked again (401), not delayed.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(login_from(&attacker, &url, "kader_a", PASSWORD).0, 200);
    assert_eq!(login_from(&attacker, &url, "kader_a", "tebak-lagi").0, 401);
}
