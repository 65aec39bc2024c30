//! A device store that numbers its edits again (issue 11, case 1), with the real `sinergi` and a
//! real `sinergi-server` on loopback: a phone's data folder restored from an older copy, and one
//! enrolled data folder copied onto a second phone. Before, the server took the new edits for
//! retries, the device emptied its outbox, and they were gone; now every one reaches the master.

use sinergi_e2e::{find, Client, Puskesmas};
use std::path::Path;

/// Copy every file of a data folder (the store, its WAL, the key file) into another.
fn copy_folder(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(to).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// A kader's phone that never had a link: enrolled from a file, it travels by file only.
fn file_only_kader() -> (Puskesmas, tempfile::TempDir, Client) {
    let p = Puskesmas::new();
    let dir = tempfile::tempdir().unwrap();
    let enroll_file = dir.path().join("daftar.sinergi");
    assert!(p
        .enroll_file("kader_a", None, &enroll_file)
        .status
        .success());
    let kader = Client::new();
    kader.ok(&["bundle", "open", enroll_file.to_str().unwrap()]);
    (p, dir, kader)
}

fn on_server(p: &Puskesmas, id: &str) -> bool {
    find(&p.records("child"), id).is_some()
}

#[test]
fn a_phone_restored_from_an_older_copy_loses_nothing() {
    let p = Puskesmas::new();
    let server = p.start();
    let kader = Client::new();
    kader.enroll(&server.url, "kader_a");
    let budi = kader.add_child(&p.posyandu_a, "Budi");
    kader.sync();
    let backup = tempfile::tempdir().unwrap();
    copy_folder(kader.dir.path(), backup.path());
    let tono = kader.add_child(&p.posyandu_a, "Tono");
    kader.sync();
    // The phone is restored from the copy, and the kader carries on with her day.
    copy_folder(backup.path(), kader.dir.path());
    let siti = kader.add_child(&p.posyandu_a, "Siti");
    let report = kader.sync();
    assert_eq!(report["renumbered"], 1, "{report}");
    let again = kader.sync();
    assert_eq!(again["pushed"], 0, "nothing left pending: {again}");
    for id in [&budi, &tono, &siti] {
        assert!(on_server(&p, id), "{id} is on the server");
        assert!(!kader.child(id).is_null(), "{id} is on the phone");
    }
}

#[test]
fn one_enrollment_on_two_phones_loses_nothing() {
    let p = Puskesmas::new();
    let server = p.start();
    let first = Client::new();
    first.enroll(&server.url, "kader_a");
    let second = Client::new();
    copy_folder(first.dir.path(), second.dir.path());
    let a = first.add_child(&p.posyandu_a, "Ani");
    let b = second.add_child(&p.posyandu_a, "Bayu");
    let c = second.add_child(&p.posyandu_a, "Cahya");
    first.sync();
    second.sync();
    let d = first.add_child(&p.posyandu_a, "Dewi");
    first.sync();
    second.sync();
    for id in [&a, &b, &c, &d] {
        assert!(on_server(&p, id), "{id} is on the server");
        assert!(!second.child(id).is_null(), "{id} reached the second phone");
    }
}

#[test]
fn a_restored_phone_that_travels_by_file_loses_nothing() {
    let (p, dir, kader) = file_only_kader();
    let round = |n: &str| {
        let (req, reply) = (
            dir.path().join(format!("{n}.sinergi")),
            dir.path().join(format!("{n}-balasan.sinergi")),
        );
        kader.ok(&["bundle", "export", "--out", req.to_str().unwrap()]);
        let out = p.import_bundle(&req, &reply);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            kader.ok(&["bundle", "import", reply.to_str().unwrap()]),
        )
    };
    let budi = kader.add_child(&p.posyandu_a, "Budi");
    round("1");
    let backup = tempfile::tempdir().unwrap();
    copy_folder(kader.dir.path(), backup.path());
    let tono = kader.add_child(&p.posyandu_a, "Tono");
    round("2");
    copy_folder(backup.path(), kader.dir.path());
    let siti = kader.add_child(&p.posyandu_a, "Siti");
    // Siti went out under Tono's number: the server applies nothing and says where to number
    // from; the device numbers again, and the next file delivers her.
    let (server_said, device_said) = round("3");
    assert!(server_said.contains("menomori ulang"), "{server_said}");
    assert!(device_said.contains("nomor baru"), "{device_said}");
    assert!(!on_server(&p, &siti));
    assert_eq!(kader.status()["pending_edits"], 1);
    round("4");
    assert_eq!(kader.status()["pending_edits"], 0);
    for id in [&budi, &tono, &siti] {
        assert!(on_server(&p, id), "{id} is on the server");
    }
}

#[test]
fn an_old_reply_opened_on_a_restored_phone_takes_nothing_from_it() {
    let (p, dir, kader) = file_only_kader();
    let file = |n: &str| dir.path().join(format!("{n}.sinergi"));
    let export = |n: &str| kader.ok(&["bundle", "export", "--out", file(n).to_str().unwrap()]);
    let backup = tempfile::tempdir().unwrap();
    copy_folder(kader.dir.path(), backup.path());
    let ani = kader.add_child(&p.posyandu_a, "Ani");
    export("1");
    assert!(p
        .import_bundle(&file("1"), &file("1-balasan"))
        .status
        .success());
    // The phone goes back to the copy made before Ani; Bayu takes Ani's number, and the file
    // carrying him is lost on the way. Then the old reply (to Ani's file) is opened.
    copy_folder(backup.path(), kader.dir.path());
    let bayu = kader.add_child(&p.posyandu_a, "Bayu");
    export("2-hilang");
    kader.ok(&["bundle", "import", file("1-balasan").to_str().unwrap()]);
    assert_eq!(kader.status()["pending_edits"], 1, "Bayu is still pending");
    // The next files deliver him (renumbered after the server's last number).
    for n in ["3", "4"] {
        export(n);
        let reply = file(&format!("{n}-balasan"));
        assert!(p.import_bundle(&file(n), &reply).status.success());
        kader.ok(&["bundle", "import", reply.to_str().unwrap()]);
    }
    assert_eq!(kader.status()["pending_edits"], 0);
    for id in [&ani, &bayu] {
        assert!(on_server(&p, id), "{id} is on the server");
        assert!(!kader.child(id).is_null(), "{id} is on the phone");
    }
}
