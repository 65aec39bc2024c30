//! Encryption at rest with the real client and a real server: a kader's device made with a PIN
//! syncs like any other, yet its data folder holds neither the children's names nor its sync
//! token; without the PIN, or with a wrong one, nothing opens; the PIN can be changed.

use sinergi_e2e::{Client, Puskesmas};
use std::path::Path;

const NAME: &str = "Larasati Kusumawardhani";

fn folder_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_device_with_a_pin_syncs_and_keeps_nothing_readable_on_disk() {
    let p = Puskesmas::new();
    let server = p.start();
    let kader = Client::with_pin("739204");
    kader.enroll(&server.url, "kader_a");
    let child = kader.add_child(&p.posyandu_a, NAME);
    kader.ok(&[
        "measure",
        "add",
        "--child",
        &child,
        "--date",
        "2025-06-02",
        "--weight-kg",
        "8.1",
    ]);
    assert_eq!(kader.json(&["pin", "status", "--json"])["encrypted"], true);
    let sync = kader.sync();
    assert_eq!(sync["acknowledged"], 2, "{sync}");

    // The server (and a bidan's device) have the child...
    let bidan = Client::new();
    bidan.enroll(&server.url, "bidan");
    assert!(bidan.children().iter().any(|c| c["name"] == NAME));
    assert!(contains(&folder_bytes(bidan.dir.path()), NAME), "control");
    // ...but the kader's folder holds neither the name nor the token.
    let bytes = folder_bytes(kader.dir.path());
    assert!(bytes.len() > 4096);
    assert!(
        !contains(&bytes, NAME),
        "the child's name is readable on disk"
    );
    assert!(
        !contains(&bytes, &kader.token()),
        "the token is readable on disk"
    );

    // No PIN, a wrong PIN: a clear error, exit 2, nothing opened or changed.
    let locked = Client {
        dir: tempfile::tempdir().unwrap(),
        clock_offset_ms: 0,
        pin: None,
    };
    let copy = |to: &Client| {
        for e in std::fs::read_dir(kader.dir.path()).unwrap() {
            let f = e.unwrap().path();
            std::fs::copy(&f, to.dir.path().join(f.file_name().unwrap())).unwrap();
        }
    };
    copy(&locked);
    let out = locked.run(&["child", "list", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[pin_required]"), "{}", stderr(&out));
    let out = kader.run_stdin(&["child", "list"], None);
    assert!(out.status.success());
    let wrong = Client {
        pin: Some("111111".into()),
        ..Client::new()
    };
    copy(&wrong);
    let out = wrong.run(&["child", "list", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[wrong_pin]"), "{}", stderr(&out));

    // A new PIN (the current one in SINERGI_PIN, the new on stdin); the old one stops working.
    let out = kader.run_stdin(&["pin", "set", "--new-pin-stdin"], Some("123"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[pin_too_short]"));
    let out = kader.run_stdin(&["pin", "set", "--new-pin-stdin"], Some("864209\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kader.run(&["child", "list"]);
    assert!(stderr(&out).contains("[wrong_pin]"));
    let kader = Client {
        pin: Some("864209".into()),
        ..kader
    };
    assert_eq!(kader.child(&child)["name"], NAME);
    kader.ok(&["child", "set", &child, "has_kms=true"]);
    assert_eq!(kader.sync()["acknowledged"], 1);
    drop(server);
}

#[test]
fn a_plain_device_is_encrypted_in_place_by_setting_a_pin() {
    let p = Puskesmas::new();
    let server = p.start();
    let kader = Client::new();
    kader.enroll(&server.url, "kader_a");
    let child = kader.add_child(&p.posyandu_a, NAME);
    assert!(contains(&folder_bytes(kader.dir.path()), NAME));
    assert_eq!(kader.json(&["pin", "status", "--json"])["encrypted"], false);

    let out = kader.run_stdin(&["pin", "set", "--new-pin-stdin"], Some("502817"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!contains(&folder_bytes(kader.dir.path()), NAME));
    let kader = Client {
        pin: Some("502817".into()),
        ..kader
    };
    // The pending edit survived the switch and reaches the server.
    assert_eq!(kader.status()["pending_edits"], 1);
    assert_eq!(kader.sync()["acknowledged"], 1);
    assert!(sinergi_e2e::find(&p.records("child"), &child).is_some());
    drop(server);
}
