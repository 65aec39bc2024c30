//! Trust, cases 5 and 6: bundle files hold no reusable secret and cannot be forged or changed.
//! A request file is signed by its device's key, a reply or enrollment file by the server's,
//! which the device pinned at enrollment; a reply never acknowledges more than the device sent.
//! Real `sinergi-server` and `sinergi` processes, real files, a real server on loopback.

use serde_json::{json, Value};
use sinergi_core::protocol::{self, Bundle, Change, SyncResponse};
use sinergi_core::seal;
use sinergi_e2e::*;
use sinergi_server::storage::open_store;
use std::path::Path;

/// Every string in a JSON value (a sealed file's envelope, and the bundle inside it).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            out.push(s.clone());
            if let Ok(inner) = serde_json::from_str::<Value>(s) {
                strings(&inner, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

fn file_strings(path: &Path) -> Vec<String> {
    let json = protocol::gunzip(&std::fs::read(path).unwrap(), 1 << 28).unwrap();
    let mut out = Vec::new();
    strings(&serde_json::from_slice(&json).unwrap(), &mut out);
    out
}

/// Status of a pull-only sync request made with this bearer token.
fn sync_status(url: &str, device_id: &str, token: &str) -> u16 {
    let body = json!({"protocol": 2, "device_id": device_id, "device_clock_ms": 0,
                      "cursor": 0, "edits": []});
    reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The server's signing key, read from its store (what only the puskesmas holds).
fn server_secret(p: &Puskesmas) -> String {
    open_store(&p.database_spec())
        .unwrap()
        .secret("signing_key")
        .unwrap()
        .expect("made at the first signed file")
}

#[test]
fn no_file_holds_a_token_and_a_changed_or_forged_request_is_refused() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    let token = a.token();
    let device = a.device_id();
    assert_eq!(sync_status(&server.url, &device, &token), 200);
    let child = a.add_child(&p.posyandu_a, "Lewat Berkas");
    let dir = tempfile::tempdir().unwrap();
    let (req, reply) = (dir.path().join("a.sinergi"), dir.path().join("r.sinergi"));
    a.ok(&["bundle", "export", "--out", req.to_str().unwrap()]);
    let enroll_file = dir.path().join("daftar.sinergi");
    assert!(p
        .enroll_file("kader_a", Some(&server.url), &enroll_file)
        .status
        .success());

    // Whoever carries the files learns nothing that opens the server: no string in them is a
    // token (each tried as one), and the device's own token is not in them.
    for file in [&req, &enroll_file] {
        let found = file_strings(file);
        assert!(!found.iter().any(|s| s.contains(&token)), "{file:?}");
        for s in found.iter().filter(|s| s.len() >= 16 && s.len() <= 200) {
            assert_eq!(
                sync_status(&server.url, &device, s),
                401,
                "{s} opens the server"
            );
        }
    }

    // One value changed in the file, the signature kept: refused, nothing applied.
    let json = protocol::gunzip(&std::fs::read(&req).unwrap(), 1 << 28).unwrap();
    let text = String::from_utf8(json).unwrap();
    assert!(text.contains("Lewat Berkas"));
    let altered = dir.path().join("diubah.sinergi");
    std::fs::write(
        &altered,
        protocol::gzip(text.replace("Lewat Berkas", "Anak Palsu").as_bytes()),
    )
    .unwrap();
    let out = p.import_bundle(&altered, &reply);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bundle_altered"), "{}", stderr(&out));
    assert!(find(&p.records("child"), &child).is_none());
    assert!(!reply.exists());

    // A request for this device signed by someone else's key: refused, nothing applied.
    let opened = seal::open(&std::fs::read(&req).unwrap()).unwrap();
    let forged = dir.path().join("palsu.sinergi");
    std::fs::write(
        &forged,
        seal::seal(&seal::new_secret(), &opened.bundle).unwrap(),
    )
    .unwrap();
    let out = p.import_bundle(&forged, &reply);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("device_key_mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(find(&p.records("child"), &child).is_none());

    // An unsigned file of the old format: named as such.
    let plain = dir.path().join("lama.sinergi");
    std::fs::write(&plain, protocol::encode(&opened.bundle)).unwrap();
    let out = p.import_bundle(&plain, &reply);
    assert!(stderr(&out).contains("unsigned_bundle"), "{}", stderr(&out));

    // The genuine file goes through.
    assert!(p.import_bundle(&req, &reply).status.success());
    a.ok(&["bundle", "import", reply.to_str().unwrap()]);
    assert_eq!(a.status()["pending_edits"], 0);
    assert!(find(&p.records("child"), &child).is_some());
}

#[test]
fn a_forged_or_changed_reply_changes_nothing_and_no_reply_acknowledges_unsent_edits() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    let known = a.add_child(&p.posyandu_a, "Sudah Di Server");
    a.sync();
    drop(server);
    let sent = a.add_child(&p.posyandu_a, "Terkirim");
    let dir = tempfile::tempdir().unwrap();
    let (req, reply) = (dir.path().join("a.sinergi"), dir.path().join("r.sinergi"));
    a.ok(&["bundle", "export", "--out", req.to_str().unwrap()]);
    assert!(p.import_bundle(&req, &reply).status.success());
    // Made after the export: not in the request, so no reply may take it from the outbox.
    let unsent = a.add_child(&p.posyandu_a, "Belum Terkirim");
    let before = a.status();
    assert_eq!(before["pending_edits"], 2);

    // A forged reply: everything acknowledged, the cursor pinned at its maximum, a child
    // marked dead. Signed by a key that is not the puskesmas's.
    let Bundle::Reply { device_id, .. } =
        seal::open(&std::fs::read(&reply).unwrap()).unwrap().bundle
    else {
        panic!("a reply")
    };
    let fields = json!({"posyandu_id": p.posyandu_a, "name": "Sudah Di Server", "sex": "L",
                        "birth_date": "2025-03-14", "status": "meninggal"})
    .as_object()
    .unwrap()
    .clone();
    let evil = SyncResponse {
        acked_through: u64::MAX,
        refused: vec![],
        conflicts: 0,
        changes: vec![Change {
            kind: sinergi_core::model::Kind::Child,
            id: known.parse().unwrap(),
            seq: i64::MAX - 1,
            posyandu_id: Some(p.posyandu_a.parse().unwrap()),
            fields,
        }],
        exits: vec![],
        cursor: i64::MAX,
        more: false,
        server_clock_ms: 0,
        clock_offset_ms: 0,
        clock_warning: false,
        digest: None,
        repair: None,
        own: vec![],
    };
    let forged = dir.path().join("palsu.sinergi");
    let bundle = Bundle::Reply {
        device_id,
        for_request: None,
        response: evil.clone(),
    };
    std::fs::write(&forged, seal::seal(&seal::new_secret(), &bundle).unwrap()).unwrap();
    let out = a.run(&["bundle", "import", forged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bundle_wrong_signer"),
        "{}",
        stderr(&out)
    );
    assert_eq!(a.status(), before, "a forged reply changed the device");
    assert_ne!(a.child(&known)["status"], "meninggal");

    // The genuine reply with one value changed: refused the same way.
    let json = protocol::gunzip(&std::fs::read(&reply).unwrap(), 1 << 28).unwrap();
    let text = String::from_utf8(json).unwrap();
    let changed = dir.path().join("diubah.sinergi");
    let edited = text.replacen(r#"\"more\":false"#, r#"\"more\":true"#, 1);
    assert_ne!(edited, text);
    std::fs::write(&changed, protocol::gzip(edited.as_bytes())).unwrap();
    let out = a.run(&["bundle", "import", changed.to_str().unwrap()]);
    assert!(stderr(&out).contains("bundle_altered"), "{}", stderr(&out));
    assert_eq!(a.status(), before);

    // Even signed by the server itself, a reply that acknowledges more than the device sent
    // takes only what was sent: the edit made after the export stays pending.
    let genuine_but_greedy = seal::seal(&server_secret(&p), &bundle).unwrap();
    let greedy = dir.path().join("rakus.sinergi");
    std::fs::write(&greedy, genuine_but_greedy).unwrap();
    a.ok(&["bundle", "import", greedy.to_str().unwrap()]);
    let after = a.status();
    assert_eq!(after["pending_edits"], 1, "{after}");
    assert_eq!(a.child(&unsent)["name"], "Belum Terkirim");

    // The real reply and the next round: everything reaches the server.
    a.ok(&["bundle", "import", reply.to_str().unwrap()]);
    let (req2, reply2) = (dir.path().join("a2.sinergi"), dir.path().join("r2.sinergi"));
    a.ok(&["bundle", "export", "--out", req2.to_str().unwrap()]);
    assert!(p.import_bundle(&req2, &reply2).status.success());
    a.ok(&["bundle", "import", reply2.to_str().unwrap()]);
    assert_eq!(a.status()["pending_edits"], 0);
    for id in [&known, &sent, &unsent] {
        assert!(
            find(&p.records("child"), id).is_some(),
            "{id} on the server"
        );
    }
}

#[test]
fn an_enrollment_file_opened_on_two_phones_serves_only_the_first() {
    let p = Puskesmas::new();
    let server = p.start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daftar.sinergi");
    assert!(p
        .enroll_file("kader_a", Some(&server.url), &file)
        .status
        .success());
    // Shown before it is opened: the server, the user and the key it will trust.
    let (first, second) = (Client::new(), Client::new());
    let shown = first.ok(&["bundle", "show", file.to_str().unwrap()]);
    assert!(shown.contains(&server.url), "{shown}");
    assert!(shown.contains("kader_a"), "{shown}");
    assert_eq!(first.status()["enrolled"], false);
    first.ok(&["bundle", "open", file.to_str().unwrap()]);
    second.ok(&["bundle", "open", file.to_str().unwrap()]);

    // The first phone reaches the server over HTTP: it asks for a token with its key.
    let mine = first.add_child(&p.posyandu_a, "Dari HP Pertama");
    first.sync();
    assert!(find(&p.records("child"), &mine).is_some());
    assert_eq!(first.status()["pending_edits"], 0);

    // The second phone is the same device to the server, with another key: refused, by
    // HTTP and by file, and what it made stays pending on it with the reason.
    let theirs = second.add_child(&p.posyandu_a, "Dari HP Kedua");
    let out = second.run(&["sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("device_key_mismatch"),
        "{}",
        stderr(&out)
    );
    let (req, reply) = (dir.path().join("b.sinergi"), dir.path().join("rb.sinergi"));
    second.ok(&["bundle", "export", "--out", req.to_str().unwrap()]);
    let out = p.import_bundle(&req, &reply);
    assert!(
        stderr(&out).contains("device_key_mismatch"),
        "{}",
        stderr(&out)
    );
    assert_eq!(second.status()["pending_edits"], 1);
    assert!(find(&p.records("child"), &theirs).is_none());
}
