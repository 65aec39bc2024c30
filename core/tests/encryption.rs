//! Encryption at rest: a device store made with a PIN is a SQLCipher file in which no child's
//! name can be found, that opens only with its PIN; a plain store is encrypted in place by
//! setting a PIN, and a switch cut off half way is finished or undone at the next open.

mod common;

use serde_json::{json, Value};
use sinergi_core::hlc::SystemClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::store::keyfile::{DB_FILE, KEY_FILE};
use sinergi_core::store::LocalStore;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

const NAME: &str = "Kirana Wulandari Prameswari";
const MOTHER: &str = "Sekar Ayuningtyas";
const PIN: &str = "482913";
/// The device's sync token: a stolen file must not let anyone sync as the device either.
const TOKEN: &str = "tkn-7Qm2vXr9LpWz4Hs8";

fn fields(v: Value) -> Fields {
    v.as_object().unwrap().clone()
}

fn open(dir: &Path, pin: Option<&str>) -> sinergi_core::Result<LocalStore> {
    LocalStore::open_with_pin(dir, pin, Arc::new(SystemClock))
}

/// A posyandu from the server, then a child with her mother's name and a weighing.
fn fill(s: &mut LocalStore) -> Uuid {
    let posyandu = Uuid::from_u128(2);
    common::enroll_kader(s, posyandu, TOKEN, 1_748_736_000_000);
    let child = s
        .create(
            Kind::Child,
            fields(
                json!({"posyandu_id": posyandu.to_string(), "name": NAME, "sex": "P",
                          "birth_date": "2024-03-05", "mother_name": MOTHER}),
            ),
        )
        .unwrap()
        .id;
    s.create(
        Kind::Measurement,
        fields(json!({"child_id": child.to_string(), "date": "2025-01-10", "weight_kg": 9.4})),
    )
    .unwrap();
    child
}

/// Every byte the store left on disk (database, WAL, shared memory, key file, leftovers).
fn disk_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            all.extend(std::fs::read(p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn name_of(s: &LocalStore, id: Uuid) -> String {
    s.get(id).unwrap().unwrap().fields["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn store_made_with_a_pin_hides_names_and_opens_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let child;
    {
        let mut s = open(dir.path(), Some(PIN)).unwrap();
        assert!(s.is_encrypted());
        child = fill(&mut s);
        // Both while open (WAL and shared memory present) and after closing.
        let bytes = disk_bytes(dir.path());
        assert!(!contains(&bytes, NAME) && !contains(&bytes, MOTHER));
        assert!(!contains(&bytes, TOKEN));
    }
    let bytes = disk_bytes(dir.path());
    assert!(bytes.len() > 4096, "the store was written");
    assert!(
        !contains(&bytes, NAME),
        "a child's name is readable on disk"
    );
    assert!(
        !contains(&bytes, MOTHER),
        "a mother's name is readable on disk"
    );
    assert!(
        !contains(&bytes, TOKEN),
        "the sync token is readable on disk"
    );
    assert!(
        !contains(&bytes, "SQLite format 3"),
        "the file is plain SQLite"
    );

    // The control: the same data in a store without a PIN is readable on disk, so the check
    // above can fail.
    let plain = tempfile::tempdir().unwrap();
    {
        let mut s = open(plain.path(), None).unwrap();
        assert!(!s.is_encrypted());
        fill(&mut s);
    }
    assert!(contains(&disk_bytes(plain.path()), NAME));
    assert!(contains(&disk_bytes(plain.path()), TOKEN));

    assert_eq!(open(dir.path(), None).err().unwrap().code(), "pin_required");
    assert_eq!(
        open(dir.path(), Some("000000")).err().unwrap().code(),
        "wrong_pin"
    );
    // Opened with a plain SQLite connection (no key), the file is not a database.
    let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    assert!(raw
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
        .is_err());

    let s = open(dir.path(), Some(PIN)).unwrap();
    assert_eq!(name_of(&s, child), NAME);
    assert_eq!(s.children_of(child, Kind::Measurement).unwrap().len(), 1);
    assert_eq!(s.pending_count().unwrap(), 2);
}

#[test]
fn setting_a_pin_encrypts_a_plain_store_and_changing_it_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), None).unwrap();
    let child = fill(&mut s);
    assert!(contains(&disk_bytes(dir.path()), NAME));

    assert_eq!(s.set_pin(None, "123").unwrap_err().code(), "pin_too_short");
    assert!(!s.is_encrypted());
    s.set_pin(None, PIN).unwrap();
    assert!(s.is_encrypted());
    // The open store keeps working on the encrypted file.
    assert_eq!(name_of(&s, child), NAME);
    s.update(Kind::Child, child, fields(json!({"has_kms": true})))
        .unwrap();
    drop(s);
    let bytes = disk_bytes(dir.path());
    assert!(!contains(&bytes, NAME) && !contains(&bytes, MOTHER));

    // Changing the PIN needs the current one and leaves the records as they were.
    let mut s = open(dir.path(), Some(PIN)).unwrap();
    assert_eq!(
        s.set_pin(Some("999999"), "246810").unwrap_err().code(),
        "wrong_pin"
    );
    s.set_pin(Some(PIN), "246810").unwrap();
    drop(s);
    assert_eq!(
        open(dir.path(), Some(PIN)).err().unwrap().code(),
        "wrong_pin"
    );
    let s = open(dir.path(), Some("246810")).unwrap();
    assert_eq!(name_of(&s, child), NAME);
    assert_eq!(s.get(child).unwrap().unwrap().fields["has_kms"], true);
    assert_eq!(s.pending_count().unwrap(), 3);
}

#[test]
fn an_interrupted_switch_is_finished_or_undone() {
    // Build the two halves of a switch: a plain store, and the same store encrypted.
    let plain = tempfile::tempdir().unwrap();
    let child = {
        let mut s = open(plain.path(), None).unwrap();
        fill(&mut s)
    };
    let enc = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(plain.path()).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, enc.path().join(p.file_name().unwrap())).unwrap();
    }
    open(enc.path(), None).unwrap().set_pin(None, PIN).unwrap();

    // Cut after the key file appeared (the commit point): the next open finishes the switch.
    let forward = tempfile::tempdir().unwrap();
    std::fs::copy(plain.path().join(DB_FILE), forward.path().join(DB_FILE)).unwrap();
    std::fs::copy(
        enc.path().join(DB_FILE),
        forward.path().join("sinergi.db.new"),
    )
    .unwrap();
    std::fs::copy(enc.path().join(KEY_FILE), forward.path().join(KEY_FILE)).unwrap();
    let s = open(forward.path(), Some(PIN)).unwrap();
    assert!(s.is_encrypted());
    assert_eq!(name_of(&s, child), NAME);
    drop(s);
    assert!(!forward.path().join("sinergi.db.new").exists());
    assert!(!contains(&disk_bytes(forward.path()), NAME));

    // Cut before it: the half-written copy is dropped and the plain store opens as it was.
    let back = tempfile::tempdir().unwrap();
    std::fs::copy(plain.path().join(DB_FILE), back.path().join(DB_FILE)).unwrap();
    std::fs::copy(enc.path().join(DB_FILE), back.path().join("sinergi.db.new")).unwrap();
    let s = open(back.path(), None).unwrap();
    assert!(!s.is_encrypted());
    assert_eq!(name_of(&s, child), NAME);
    assert!(!back.path().join("sinergi.db.new").exists());
}
