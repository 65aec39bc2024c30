//! End-to-end: a real `sinergi-server` on a loopback port with a temporary data directory, and
//! real `sinergi` clients on their own data directories.

use serde_json::Value;
use sinergi_e2e::proxy::Proxy;
use sinergi_e2e::{find, Client, Puskesmas};
use std::thread::sleep;
use std::time::Duration;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn offline_edits_on_two_devices_then_sync() {
    let p = Puskesmas::new();
    let mut server = p.start();
    let (a, b) = (Client::new(), Client::new());
    a.enroll(&server.url, "kader_a");
    b.enroll(&server.url, "kader_a2");
    // Offline: the server is down while both devices work.
    server.stop();
    let ca = a.add_child(&p.posyandu_a, "Ahmad Offline");
    let cb = b.add_child(&p.posyandu_a, "Bunga Offline");
    a.ok(&[
        "measure",
        "add",
        "--child",
        &ca,
        "--date",
        "2026-10-10",
        "--weight-kg",
        "9.1",
    ]);
    assert!(
        a.run(&["sync"]).status.code() == Some(4),
        "sync without a server fails with the network code"
    );
    assert_eq!(a.status()["pending_edits"], 2);
    server.restart();
    let ra = a.sync();
    assert_eq!(ra["acknowledged"], 2);
    let rb = b.sync();
    assert_eq!(rb["acknowledged"], 1);
    assert!(
        rb["pulled"].as_u64().unwrap() >= 2,
        "b pulls a's child and measurement"
    );
    a.sync();
    for c in [&a, &b] {
        let kids = c.children();
        assert!(find(&kids, &ca).is_some() && find(&kids, &cb).is_some());
        assert_eq!(c.status()["pending_edits"], 0);
    }
    let on_server = p.records("child");
    assert_eq!(on_server.len(), 2);
    assert_eq!(p.records("measurement").len(), 1);
    assert_eq!(a.child(&ca)["measurements"].as_array().unwrap().len(), 1);
    assert_eq!(b.child(&ca)["measurements"].as_array().unwrap().len(), 1);
    // The cursor covers everything each device has seen: nothing comes twice.
    assert_eq!(a.sync()["pulled"], 0);
    assert_eq!(b.sync()["pulled"], 0);
}

#[test]
fn same_field_on_two_devices_keeps_the_loser_and_the_bidan_chooses() {
    let p = Puskesmas::new();
    let server = p.start();
    let (a, b, bidan) = (Client::new(), Client::new(), Client::new());
    a.enroll(&server.url, "kader_a");
    b.enroll(&server.url, "kader_a2");
    let id = a.add_child(&p.posyandu_a, "Dewi");
    a.sync();
    b.sync();
    a.ok(&["child", "set", &id, "name=Dewi Lestari"]);
    sleep(Duration::from_millis(30));
    b.ok(&["child", "set", &id, "name=Dewi Sartika"]);
    assert_eq!(a.sync()["conflicts"], 0);
    assert_eq!(
        b.sync()["conflicts"],
        1,
        "b's later edit wins; a's value is kept"
    );
    a.sync();
    for c in [&a, &b] {
        assert_eq!(
            c.child(&id)["name"],
            "Dewi Sartika",
            "the winner everywhere"
        );
    }
    let conflicts = p.admin_json(&["conflicts", "list", "--json"]);
    let c = &conflicts.as_array().unwrap()[0];
    assert_eq!(c["losing_value"], "Dewi Lestari");
    assert_eq!(c["winning_value"], "Dewi Sartika");
    assert_eq!(c["field"], "name");
    // A kader does not get the review list; the bidan does, and picks the losing value.
    assert!(a
        .json(&["conflicts", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    bidan.enroll(&server.url, "bidan");
    let open = bidan.json(&["conflicts", "list", "--json"]);
    let cid = s(&open[0]["id"]).to_string();
    bidan.ok(&["conflicts", "resolve", &cid, "losing"]);
    bidan.sync();
    a.sync();
    b.sync();
    for c in [&a, &b, &bidan] {
        assert_eq!(
            c.child(&id)["name"],
            "Dewi Lestari",
            "the bidan's choice travels everywhere"
        );
    }
    assert!(bidan
        .json(&["conflicts", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn lost_response_is_retried_without_doubling() {
    let p = Puskesmas::new();
    let server = p.start();
    let proxy = Proxy::start(server.port);
    let a = Client::new();
    a.enroll(&proxy.url, "kader_a");
    let id = a.add_child(&p.posyandu_a, "Putri");
    a.ok(&[
        "measure",
        "add",
        "--child",
        &id,
        "--date",
        "2026-11-01",
        "--weight-kg",
        "8.4",
    ]);
    proxy.cut_next_response_after(0);
    let out = a.run(&["sync"]);
    assert!(!out.status.success(), "the device never heard the answer");
    assert_eq!(
        a.status()["pending_edits"],
        2,
        "so its edits are still pending"
    );
    assert_eq!(
        p.records("measurement").len(),
        1,
        "but the server applied them"
    );
    let r = a.sync();
    assert_eq!(r["acknowledged"], 2);
    assert_eq!(a.status()["pending_edits"], 0);
    assert_eq!(p.records("child").len(), 1, "nothing doubled");
    assert_eq!(p.records("measurement").len(), 1, "nothing doubled");
    let devices = p.admin_json(&["device", "list", "--json"]);
    assert_eq!(devices[0]["last_applied"], 2);
}

/// Create `n` children straight in a device's store (the same core code the CLI calls).
fn bulk_children(c: &Client, posyandu: &str, n: usize) {
    let mut store = sinergi_core::store::LocalStore::open(c.dir.path()).unwrap();
    for i in 0..n {
        let mut f = sinergi_core::model::Fields::new();
        f.insert("posyandu_id".into(), posyandu.into());
        f.insert("name".into(), format!("Anak {i}").into());
        f.insert(
            "sex".into(),
            if i.is_multiple_of(2) { "L" } else { "P" }.into(),
        );
        f.insert("birth_date".into(), "2024-05-17".into());
        store.create(sinergi_core::model::Kind::Child, f).unwrap();
    }
}

#[test]
fn twenty_thousand_records_pulled_in_pages_and_an_interrupted_pull_resumes() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    bulk_children(&a, &p.posyandu_a, 20_000);
    let pushed = a.sync();
    assert_eq!(pushed["acknowledged"], 20_000);
    // First enrollment of another device pulls everything in pages of 5,000.
    let b = Client::new();
    let e = b.enroll(&server.url, "kader_a2");
    assert_eq!(b.children().len(), 20_000);
    let requests = e["sync"]["requests"].as_u64().unwrap();
    assert!(requests >= 4, "pulled in pages, got {requests} requests");
    // A third device whose link drops in the middle of the second page.
    let proxy = Proxy::start(server.port);
    let c = Client::new();
    let enrolled = c.run_stdin(
        &[
            "enroll",
            "--server",
            &proxy.url,
            "--user",
            "kader_a",
            "--password-stdin",
            "--device-name",
            "hp-c",
        ],
        Some(sinergi_e2e::PASSWORD),
    );
    assert!(enrolled.status.success());
    // Start from scratch with a page size that makes several pages, cut the 2nd response.
    let d = Client::new();
    let enrolled = d.run_stdin(
        &[
            "enroll",
            "--server",
            &proxy.url,
            "--user",
            "kader_a2",
            "--password-stdin",
            "--device-name",
            "hp-d",
        ],
        Some(sinergi_e2e::PASSWORD),
    );
    assert!(enrolled.status.success());
    d.ok(&["child", "list"]);
    // Make new work on the server: 3,000 more children from a.
    bulk_children(&a, &p.posyandu_a, 3_000);
    a.sync();
    let before = d.status()["cursor"].as_i64().unwrap();
    let first = d.json(&[
        "sync",
        "--json",
        "--page-size",
        "1000",
        "--max-requests",
        "1",
    ]);
    assert_eq!(first["pulled"], 1000);
    assert_eq!(first["complete"], false);
    let mid = d.status()["cursor"].as_i64().unwrap();
    assert!(mid > before);
    proxy.cut_next_response_after(2_000);
    let cut = d.run(&["sync", "--page-size", "1000"]);
    assert!(!cut.status.success(), "the link dropped mid-page");
    assert_eq!(d.status()["cursor"], mid, "a torn page is not applied");
    let rest = d.json(&["sync", "--json", "--page-size", "1000"]);
    assert_eq!(
        rest["pulled"], 2000,
        "resumes where it stopped: nothing skipped, nothing twice"
    );
    assert_eq!(d.children().len(), 23_000);
    assert_eq!(c.sync()["pulled"], 3000);
}

#[test]
fn wrong_device_clocks_cannot_win_or_lose_every_conflict() {
    const YEAR: i64 = 365 * 24 * 3600 * 1000;
    let p = Puskesmas::new();
    let server = p.start();
    let ahead = Client::with_clock_offset(YEAR);
    let good = Client::new();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let reset = Client::with_clock_offset(-now_ms + 86_400_000); // 2 January 1970
    ahead.enroll(&server.url, "kader_a");
    good.enroll(&server.url, "kader_a2");
    reset.enroll(&server.url, "bidan");
    let id = good.add_child(&p.posyandu_a, "Rina");
    good.sync();
    ahead.sync();
    reset.sync();
    // Concurrent edits of one field, made in this order in real time.
    ahead.ok(&["child", "set", &id, "dusun=Dusun Maju"]);
    sleep(Duration::from_millis(50));
    good.ok(&["child", "set", &id, "dusun=Dusun Baru"]);
    sleep(Duration::from_millis(50));
    reset.ok(&["child", "set", &id, "dusun=Dusun Lama"]);
    good.sync();
    let r = ahead.sync();
    assert_eq!(r["conflicts"], 1);
    assert_eq!(r["clock_warning"], true);
    assert!(r["clock_offset_ms"].as_i64().unwrap() < -YEAR + 60_000);
    // The clock a year ahead made its edit first: it loses, whatever its clock says.
    good.sync();
    assert_eq!(good.child(&id)["dusun"], "Dusun Baru");
    // The clock reset to 1970 made its edit last: it wins, whatever its clock says.
    let r = reset.sync();
    assert_eq!(r["clock_warning"], true);
    assert!(r["clock_offset_ms"].as_i64().unwrap() > 50 * YEAR);
    for c in [&ahead, &good, &reset] {
        c.sync();
        assert_eq!(c.child(&id)["dusun"], "Dusun Lama");
        assert_eq!(c.status()["pending_edits"], 0);
    }
    assert!(ahead.status()["clock_warning"].as_bool().unwrap());
    assert!(!good.status()["clock_warning"].as_bool().unwrap());
}

#[test]
fn a_kader_cannot_touch_another_posyandu() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    let b = Client::new();
    a.enroll(&server.url, "kader_a");
    b.enroll(&server.url, "kader_b");
    let child_b = b.add_child(&p.posyandu_b, "Milik B");
    b.sync();
    a.sync();
    assert!(
        a.children().is_empty(),
        "a kader only receives her posyandu"
    );
    let out = a.run(&[
        "child",
        "add",
        "--posyandu",
        &p.posyandu_b,
        "--name",
        "X",
        "--sex",
        "P",
        "--birth-date",
        "2025-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_posyandu"));
    // A forged push straight to the server is refused too, with a reason for the device.
    let body = serde_json::json!({
        "protocol": 1, "device_id": a.device_id(), "device_clock_ms": chrono::Utc::now().timestamp_millis(),
        "cursor": 0, "page_limit": 10,
        "edits": [
            {"device_seq": 1, "kind": "child", "id": child_b, "made_ms": 0, "base_seq": 1000,
             "fields": {"name": "Diubah A"}},
            {"device_seq": 2, "kind": "child", "id": uuid::Uuid::now_v7(), "made_ms": 0, "base_seq": 0,
             "fields": {"posyandu_id": p.posyandu_b, "name": "Baru", "sex": "L", "birth_date": "2025-01-01"}}
        ]
    });
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/sync", server.url))
        .bearer_auth(a.token())
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().unwrap();
    let refused = v["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2);
    assert!(refused
        .iter()
        .all(|r| r["problem"]["code"] == "out_of_scope"));
    assert!(v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["kind"] != "child"));
    b.sync();
    assert_eq!(b.child(&child_b)["name"], "Milik B");
    assert_eq!(p.records("child").len(), 1);
}

#[test]
fn a_revoked_device_is_refused() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    a.add_child(&p.posyandu_a, "Sebelum");
    a.sync();
    a.add_child(&p.posyandu_a, "Sesudah");
    let id = a.device_id();
    p.admin_ok(&["device", "revoke", &id]);
    let out = a.run(&["sync"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("device_revoked"));
    assert_eq!(
        a.status()["pending_edits"],
        1,
        "the edit stays on the device"
    );
    assert_eq!(p.records("child").len(), 1);
    let list = p.admin_json(&["device", "list", "--json"]);
    assert!(list[0]["revoked_ms"].is_i64());
}

#[test]
fn a_record_moved_away_while_edited_offline_is_refused_with_its_reason() {
    let p = Puskesmas::new();
    let server = p.start();
    let (a, b, bidan) = (Client::new(), Client::new(), Client::new());
    a.enroll(&server.url, "kader_a");
    b.enroll(&server.url, "kader_b");
    bidan.enroll(&server.url, "bidan");
    let id = a.add_child(&p.posyandu_a, "Pindahan");
    a.ok(&[
        "measure",
        "add",
        "--child",
        &id,
        "--date",
        "2026-09-09",
        "--weight-kg",
        "10.2",
    ]);
    a.sync();
    bidan.sync();
    // The bidan moves the child to posyandu B while kader A, offline, corrects its name.
    bidan.ok(&[
        "child",
        "set",
        &id,
        &format!("posyandu_id={}", p.posyandu_b),
    ]);
    bidan.sync();
    a.ok(&["child", "set", &id, "name=Pindahan Benar"]);
    let r = a.sync();
    assert_eq!(r["refused"], 1);
    let st = a.status();
    let refused = st["refused_edits"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["code"], "out_of_scope");
    assert_eq!(
        refused[0]["fields"]["name"], "Pindahan Benar",
        "what the kader typed is kept"
    );
    assert!(!refused[0]["message"].as_str().unwrap().is_empty());
    assert!(a.children().is_empty(), "the record left a's posyandu");
    assert!(a
        .json(&["record", "list", "measurement", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    // It arrives whole where it went.
    b.sync();
    let moved = b.child(&id);
    assert_eq!(moved["name"], "Pindahan");
    assert_eq!(moved["measurements"].as_array().unwrap().len(), 1);
}

#[test]
fn a_full_round_trip_through_bundle_files() {
    let p = Puskesmas::new();
    let server = p.start();
    let (a, b) = (Client::new(), Client::new());
    a.enroll(&server.url, "kader_a");
    b.enroll(&server.url, "kader_a2");
    drop(server); // no HTTP from here on
    let id = a.add_child(&p.posyandu_a, "Lewat Berkas");
    a.ok(&[
        "measure",
        "add",
        "--child",
        &id,
        "--date",
        "2026-11-02",
        "--weight-kg",
        "7.7",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (req, reply) = (
        dir.path().join("a.sinergi"),
        dir.path().join("a-balasan.sinergi"),
    );
    a.ok(&["bundle", "export", "--out", req.to_str().unwrap()]);
    assert!(p.import_bundle(&req, &reply).status.success());
    // Importing the same file twice changes nothing.
    assert!(p.import_bundle(&req, &reply).status.success());
    assert_eq!(p.records("child").len(), 1);
    assert_eq!(p.records("measurement").len(), 1);
    a.ok(&["bundle", "import", reply.to_str().unwrap()]);
    assert_eq!(a.status()["pending_edits"], 0);
    let (req_b, reply_b) = (
        dir.path().join("b.sinergi"),
        dir.path().join("b-balasan.sinergi"),
    );
    b.ok(&["bundle", "export", "--out", req_b.to_str().unwrap()]);
    assert!(p.import_bundle(&req_b, &reply_b).status.success());
    b.ok(&["bundle", "import", reply_b.to_str().unwrap()]);
    assert_eq!(b.child(&id)["measurements"].as_array().unwrap().len(), 1);
    // A reply for another device is refused.
    let out = b.run(&["bundle", "import", reply.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong_device"));
}

#[test]
fn a_device_that_never_had_a_link_opens_an_enrollment_file() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    let id = a.add_child(&p.posyandu_a, "Anak Di Berkas");
    a.sync();
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kader_a.sinergi");
    assert!(p.enroll_file("kader_a", None, &file).status.success());
    let fresh = Client::new();
    let out = fresh.ok(&["bundle", "open", file.to_str().unwrap()]);
    assert!(out.contains("kader_a"), "{out}");
    assert_eq!(fresh.child(&id)["name"], "Anak Di Berkas");
    // Opening twice (or on an enrolled device) is refused and changes nothing.
    let again = fresh.run(&["bundle", "open", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already_enrolled"));
    // No server was named: HTTP sync says so; files still work both ways.
    let no_link = fresh.run(&["sync"]);
    assert_eq!(no_link.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_link.stderr).contains("no_server_url"));
    let new_child = fresh.add_child(&p.posyandu_a, "Dari Dusun Jauh");
    let (req, reply) = (
        dir.path().join("req.sinergi"),
        dir.path().join("rep.sinergi"),
    );
    fresh.ok(&["bundle", "export", "--out", req.to_str().unwrap()]);
    assert!(p.import_bundle(&req, &reply).status.success());
    fresh.ok(&["bundle", "import", reply.to_str().unwrap()]);
    assert_eq!(fresh.status()["pending_edits"], 0);
    assert!(find(&p.records("child"), &new_child).is_some());
    // A reply file is not an enrollment file; an unknown user gets no device.
    let other = Client::new();
    let wrong = other.run(&["bundle", "open", reply.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong_bundle_type"));
    assert_eq!(other.run(&["status", "--json"]).status.code(), Some(0));
    let nobody = p.admin(&[
        "bundle",
        "enroll",
        "--user",
        "tidak_ada",
        "--device-name",
        "x",
        "--out",
        dir.path().join("x.sinergi").to_str().unwrap(),
    ]);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("unknown_user"));
}

#[test]
fn duplicate_children_are_flagged_and_merged_and_measurements_follow() {
    let p = Puskesmas::new();
    let server = p.start();
    let (a, b, bidan) = (Client::new(), Client::new(), Client::new());
    a.enroll(&server.url, "kader_a");
    b.enroll(&server.url, "kader_b");
    bidan.enroll(&server.url, "bidan");
    let nik = "3201014203250001";
    let c1 = a.ok(&[
        "child",
        "add",
        "--posyandu",
        &p.posyandu_a,
        "--name",
        "Siti",
        "--sex",
        "P",
        "--birth-date",
        "2025-03-02",
        "--nik",
        nik,
    ]);
    let c2 = b.ok(&[
        "child",
        "add",
        "--posyandu",
        &p.posyandu_b,
        "--name",
        "Siti Aminah",
        "--sex",
        "P",
        "--birth-date",
        "2025-03-02",
        "--nik",
        nik,
    ]);
    b.ok(&[
        "measure",
        "add",
        "--child",
        &c2,
        "--date",
        "2026-10-05",
        "--weight-kg",
        "9.0",
    ]);
    a.sync();
    b.sync();
    let dups = p.admin_json(&["duplicates", "list", "--json"]);
    assert_eq!(dups.as_array().unwrap().len(), 1);
    assert_eq!(dups[0]["reason"], "nik");
    bidan.sync();
    let d = bidan.json(&["duplicates", "list", "--json"]);
    let did = s(&d[0]["id"]).to_string();
    bidan.ok(&["duplicates", "merge", &did, "--keep", &c1]);
    bidan.sync();
    a.sync();
    b.sync();
    let kept = a.child(&c1);
    assert_eq!(
        kept["measurements"].as_array().unwrap().len(),
        1,
        "the measurement follows the kept child"
    );
    let m = p.records("measurement");
    assert_eq!(m[0]["child_id"], c1.as_str());
    assert_eq!(bidan.child(&c2)["merged_into"], c1.as_str());
    assert!(bidan
        .json(&["duplicates", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
}

fn post_raw(url: &str, token: Option<&str>, encoding: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut rb = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/sync"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(e) = encoding {
        rb = rb.header("content-encoding", e);
    }
    let r = rb.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn malformed_oversized_and_invalid_bodies_get_a_specific_4xx() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    let token = a.token();
    let dev = a.device_id();
    let good_edit = |seq: u64| {
        serde_json::json!({"device_seq": seq, "kind": "child", "id": uuid::Uuid::now_v7(), "made_ms": 0, "base_seq": 0,
            "fields": {"posyandu_id": p.posyandu_a, "name": "Ok", "sex": "L", "birth_date": "2025-01-01"}})
    };
    let req = |edits: Vec<Value>| {
        serde_json::to_vec(&serde_json::json!({"protocol": 1, "device_id": dev, "device_clock_ms": 0, "cursor": 0, "edits": edits})).unwrap()
    };
    // (what, token, content encoding, body, expected status, expected code)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "no token",
            None,
            None,
            req(vec![good_edit(1)]),
            401,
            "missing_token",
        ),
        (
            "forged token",
            Some("00ff"),
            None,
            req(vec![good_edit(1)]),
            401,
            "invalid_token",
        ),
        (
            "not json",
            Some(&token),
            None,
            b"{\"protocol\": 1, \"edits\": [".to_vec(),
            400,
            "malformed_body",
        ),
        (
            "bad gzip",
            Some(&token),
            Some("gzip"),
            b"\x1f\x8b\x08garbage".to_vec(),
            400,
            "malformed_body",
        ),
        (
            "truncated gzip",
            Some(&token),
            Some("gzip"),
            {
                let g = sinergi_core::protocol::gzip(&req(vec![good_edit(1)]));
                g[..g.len() / 2].to_vec()
            },
            400,
            "malformed_body",
        ),
        (
            "wrong types",
            Some(&token),
            None,
            br#"{"protocol": "one", "device_id": 5, "device_clock_ms": 0, "cursor": 0}"#.to_vec(),
            422,
            "invalid_request",
        ),
        (
            "unknown kind",
            Some(&token),
            None,
            {
                let mut e = good_edit(1);
                e["kind"] = "spaceship".into();
                req(vec![e])
            },
            422,
            "invalid_request",
        ),
        (
            "edit numbers going back",
            Some(&token),
            None,
            req(vec![good_edit(2), good_edit(1)]),
            422,
            "invalid_request",
        ),
        (
            "unsupported encoding",
            Some(&token),
            Some("zstd"),
            req(vec![good_edit(1)]),
            415,
            "unsupported_encoding",
        ),
        (
            "bad brotli",
            Some(&token),
            Some("br"),
            b"\x1f\x8b\x08garbage".to_vec(),
            400,
            "malformed_body",
        ),
        (
            "truncated brotli",
            Some(&token),
            Some("br"),
            {
                let b = sinergi_core::protocol::brotli(&req(vec![good_edit(1)]));
                b[..b.len() / 2].to_vec()
            },
            400,
            "malformed_body",
        ),
        (
            "edit table with a row longer than its shape",
            Some(&token),
            Some("br"),
            sinergi_core::protocol::brotli(
                &serde_json::to_vec(&serde_json::json!({
                    "protocol": 2, "device_id": dev, "device_clock_ms": 0, "cursor": 0,
                    "edits": {"shapes": [["child", "has_kms"]],
                              "rows": [[0, 1, uuid::Uuid::now_v7(), 0, 0, true, "extra"]]}
                }))
                .unwrap(),
            ),
            422,
            "invalid_request",
        ),
        (
            "too large",
            Some(&token),
            None,
            vec![b' '; 17 * 1024 * 1024],
            413,
            "body_too_large",
        ),
        (
            "gzip bomb",
            Some(&token),
            Some("gzip"),
            sinergi_core::protocol::gzip(&vec![b' '; 65 * 1024 * 1024]),
            413,
            "body_too_large",
        ),
        (
            "brotli bomb",
            Some(&token),
            Some("br"),
            sinergi_core::protocol::brotli(&vec![b' '; 65 * 1024 * 1024]),
            413,
            "body_too_large",
        ),
    ];
    for (what, token, enc, body, status, code) in cases {
        let (got, v) = post_raw(&server.url, token, enc, body);
        assert_eq!(got, status, "{what}: {v}");
        assert_eq!(v["error"]["code"], code, "{what}");
        assert!(
            !v["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{what}"
        );
    }
    assert!(server.health(), "the server stays up");
    assert!(p.records("child").is_empty(), "nothing partly applied");
    // A good request still works afterwards.
    let (got, v) = post_raw(
        &server.url,
        Some(&token),
        None,
        req(vec![good_edit(1), good_edit(2)]),
    );
    assert_eq!(got, 200, "{v}");
    assert_eq!(v["acked_through"], 2);
    assert_eq!(p.records("child").len(), 2);
}

#[test]
fn bad_input_on_the_command_line_is_refused_clearly() {
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    // Not enrolled yet.
    let out = a.run(&["sync"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_enrolled"));
    let out = a.run_stdin(
        &[
            "enroll",
            "--server",
            &server.url,
            "--user",
            "kader_a",
            "--password-stdin",
            "--device-name",
            "x",
        ],
        Some("salah-sandi"),
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad_credentials"));
    a.enroll(&server.url, "kader_a");
    let pa = p.posyandu_a.as_str();
    let id = a.add_child(pa, "Valid");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "child",
                "add",
                "--posyandu",
                pa,
                "--name",
                "X",
                "--sex",
                "Q",
                "--birth-date",
                "2025-01-01",
            ],
            "invalid_value",
        ),
        (
            vec![
                "child",
                "add",
                "--posyandu",
                pa,
                "--name",
                "X",
                "--sex",
                "L",
                "--birth-date",
                "2999-01-01",
            ],
            "birth_date_in_future",
        ),
        (
            vec![
                "child",
                "add",
                "--posyandu",
                pa,
                "--name",
                "X",
                "--sex",
                "L",
                "--birth-date",
                "2025-13-01",
            ],
            "invalid_value",
        ),
        (
            vec![
                "child",
                "add",
                "--posyandu",
                pa,
                "--name",
                "X",
                "--sex",
                "L",
                "--birth-date",
                "2025-01-01",
                "--nik",
                "12345",
            ],
            "nik_malformed",
        ),
        (
            vec![
                "child",
                "add",
                "--posyandu",
                "bukan-id",
                "--name",
                "X",
                "--sex",
                "L",
                "--birth-date",
                "2025-01-01",
            ],
            "invalid_value",
        ),
        (
            vec![
                "measure",
                "add",
                "--child",
                &id,
                "--date",
                "2026-01-01",
                "--weight-kg",
                "250",
            ],
            "weight_out_of_range",
        ),
        (
            vec![
                "measure",
                "add",
                "--child",
                &id,
                "--date",
                "2025-01-01",
                "--weight-kg",
                "5",
            ],
            "measurement_before_birth",
        ),
        (
            vec![
                "measure",
                "add",
                "--child",
                &id,
                "--date",
                "2026-01-01",
                "--weight-kg",
                "abc",
            ],
            "invalid_value",
        ),
        (vec!["child", "set", &id, "warna=biru"], "unknown_field"),
        (vec!["child", "set", &id, "name"], "invalid_assignment"),
    ];
    for (args, code) in cases {
        let out = a.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(code), "{args:?}: expected {code}, got {err}");
    }
    assert_eq!(
        a.children().len(),
        1,
        "nothing was stored by the bad commands"
    );
    assert_eq!(a.status()["pending_edits"], 1);
}
