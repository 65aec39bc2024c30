//! Divergence detection: a device's replica changed behind the store's back (a row deleted, a
//! value changed in the SQLite file) is noticed by the digest that comes with the last page of a
//! sync, and repaired by fetching only the records of the buckets that differ; edits still
//! pending on the device survive the repair and reach the server.

use serde_json::json;
use sinergi_core::hlc::ManualClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{EnrollRequest, Role, SyncRequest, PROTOCOL_VERSION};
use sinergi_core::store::LocalStore;
use sinergi_core::sync::digest::{bucket_of, BUCKETS};
use sinergi_core::sync::{self as core_sync, SyncOptions};
use sinergi_server::auth::token_hash;
use sinergi_server::service::{InProcess, Service};
use sinergi_server::storage::sqlite::SqliteStore;
use std::sync::Arc;
use tempfile::TempDir;
use uuid::Uuid;

const T0: i64 = 1_717_200_000_000;

struct Setup {
    _dir: TempDir,
    device_dir: std::path::PathBuf,
    service: Service,
    store: LocalStore,
    posyandu: Uuid,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let service = Service::new(
        Box::new(SqliteStore::open(&dir.path().join("master.db")).unwrap()),
        Arc::new(clock.clone()),
    );
    service.init("Puskesmas Sukamaju").unwrap();
    let desa = service.add_desa("Sukamaju", None).unwrap();
    let posyandu = service.add_posyandu(desa, "Melati").unwrap();
    service
        .add_user("kader", Role::Kader, Some(posyandu), None, "rahasia-sekali")
        .unwrap();
    let device_dir = dir.path().join("kader");
    let mut store = LocalStore::open_with_clock(&device_dir, Arc::new(clock)).unwrap();
    core_sync::enroll(
        &mut store,
        &InProcess(&service),
        "in-process",
        &EnrollRequest {
            user: "kader".into(),
            password: "rahasia-sekali".into(),
            device_name: "hp".into(),
            device_key: None,
        },
        &mut |_| {},
    )
    .unwrap();
    Setup {
        _dir: dir,
        device_dir,
        service,
        store,
        posyandu,
    }
}

fn child(posyandu: Uuid, name: &str) -> Fields {
    json!({"posyandu_id": posyandu.to_string(), "name": name, "sex": "P",
           "birth_date": "2023-03-01"})
    .as_object()
    .unwrap()
    .clone()
}

fn sync(s: &mut Setup) -> core_sync::SyncReport {
    core_sync::sync(
        &mut s.store,
        &InProcess(&s.service),
        &SyncOptions::default(),
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn corrupted_replica_is_detected_and_only_the_differing_buckets_travel() {
    let mut s = setup();
    let mut ids = Vec::new();
    for i in 0..600 {
        ids.push(
            s.store
                .create(Kind::Child, child(s.posyandu, &format!("Anak {i}")))
                .unwrap()
                .id,
        );
    }
    let r = sync(&mut s);
    assert!(r.checked && r.in_sync && !r.diverged, "{r:?}");
    let total = s.store.count(Kind::Child).unwrap();
    assert_eq!(total, 600);

    // Behind the store's back: one row deleted, one value changed, in two buckets.
    // (A row whose bucket holds another child, for the pending edit below: ids are random, so
    // a fixed one has a bucket of its own about one time in ten.)
    let deleted = *ids
        .iter()
        .find(|a| {
            ids.iter()
                .any(|b| b != *a && bucket_of(*b) == bucket_of(**a))
        })
        .expect("600 children in 256 buckets share some");
    let changed = *ids[11..]
        .iter()
        .find(|id| bucket_of(**id) != bucket_of(deleted))
        .unwrap();
    // A pending edit to a record in the deleted row's bucket, and a new child: never lost.
    let neighbour = *ids
        .iter()
        .find(|id| **id != deleted && bucket_of(**id) == bucket_of(deleted))
        .expect("chosen so");
    let mut f = Fields::new();
    f.insert("dusun".into(), json!("Wetan"));
    s.store.update(Kind::Child, neighbour, f).unwrap();
    let newborn = s
        .store
        .create(Kind::Child, child(s.posyandu, "Bayi Baru"))
        .unwrap()
        .id;
    {
        let conn = rusqlite::Connection::open(s.device_dir.join("sinergi.db")).unwrap();
        conn.execute("DELETE FROM records WHERE id = ?1", [deleted.to_string()])
            .unwrap();
        conn.execute(
            "UPDATE records SET fields = json_set(fields, '$.name', 'Palsu') WHERE id = ?1",
            [changed.to_string()],
        )
        .unwrap();
    }
    assert!(s.store.get(deleted).unwrap().is_none());

    // One exchange: the pushes land and the digest of the last page shows the divergence,
    // which the device's status reports until it is repaired.
    let first = core_sync::sync(
        &mut s.store,
        &InProcess(&s.service),
        &SyncOptions {
            max_requests: Some(1),
            ..SyncOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(
        first.checked && first.diverged && !first.in_sync,
        "{first:?}"
    );
    assert_eq!(first.acknowledged, 2);
    assert!(s.store.sync_state().unwrap().diverged);

    // The next sync asks for a repair: only the two differing buckets travel.
    let r = sync(&mut s);
    let buckets = [bucket_of(deleted), bucket_of(changed)];
    // Every kind counts: the puskesmas, desa or posyandu record can share a bucket (ids are
    // random), and the master holds nothing outside this kader's scope.
    let in_buckets: u64 = Kind::ALL
        .iter()
        .map(|k| {
            s.service
                .store
                .list(*k)
                .unwrap()
                .iter()
                .filter(|c| buckets.contains(&bucket_of(c.id)))
                .count() as u64
        })
        .sum();
    assert_eq!(r.repaired_buckets, 2, "{r:?}");
    assert_eq!(r.repaired_records, in_buckets, "{r:?}");
    assert!(
        in_buckets < 20,
        "{in_buckets} records in two of {BUCKETS} buckets"
    );
    assert!(r.checked && r.in_sync, "{r:?}");
    assert!(!s.store.sync_state().unwrap().diverged);
    println!(
        "repair moved {} of {} records ({} buckets)",
        r.repaired_records,
        total + 1,
        r.repaired_buckets
    );

    // Restored, nothing wiped, pending edits kept and delivered.
    let name = |id: Uuid, s: &Setup| s.store.get(id).unwrap().unwrap().fields["name"].clone();
    let d = ids.iter().position(|x| *x == deleted).unwrap();
    assert_eq!(name(deleted, &s), json!(format!("Anak {d}")));
    let i = ids.iter().position(|x| *x == changed).unwrap();
    assert_eq!(name(changed, &s), json!(format!("Anak {i}")));
    assert_eq!(s.store.count(Kind::Child).unwrap(), 601);
    assert_eq!(s.store.pending_count().unwrap(), 0);
    let master = |id: Uuid| s.service.store.get(id).unwrap().unwrap().values();
    assert_eq!(master(neighbour)["dusun"], json!("Wetan"));
    assert_eq!(
        s.store.get(neighbour).unwrap().unwrap().fields["dusun"],
        json!("Wetan")
    );
    assert_eq!(master(newborn)["name"], json!("Bayi Baru"));
    let again = sync(&mut s);
    assert!(again.in_sync && !again.diverged && again.repaired_buckets == 0);
}

#[test]
fn a_repair_keeps_edits_made_while_it_was_in_flight() {
    let mut s = setup();
    let id = s
        .store
        .create(Kind::Child, child(s.posyandu, "Citra"))
        .unwrap()
        .id;
    sync(&mut s);
    // The row's server version is damaged in the file.
    {
        let conn = rusqlite::Connection::open(s.device_dir.join("sinergi.db")).unwrap();
        conn.execute(
            "UPDATE records SET base = json_set(base, '$.name', 'Palsu'),
                                fields = json_set(fields, '$.name', 'Palsu') WHERE id = ?1",
            [id.to_string()],
        )
        .unwrap();
    }
    let r = core_sync::sync(
        &mut s.store,
        &InProcess(&s.service),
        &SyncOptions {
            max_requests: Some(1),
            ..SyncOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(r.diverged && !r.in_sync, "{r:?}");
    // The repair request leaves; meanwhile the kader edits the damaged record (the app syncs in
    // the background), so the edit is pending when the repair lands.
    let req = s.store.build_request(100, 1000, false).unwrap();
    assert!(req.repair.is_some());
    let mut f = Fields::new();
    f.insert("dusun".into(), json!("Kulon"));
    s.store.update(Kind::Child, id, f).unwrap();
    let e = s.store.enrollment().unwrap().unwrap();
    let resp = s.service.sync(&token_hash(&e.token), &req).unwrap();
    let applied = s.store.apply_response(&resp).unwrap();
    assert_eq!((applied.repaired_buckets, applied.repaired_records), (1, 1));
    assert!(applied.checked && !applied.diverged);
    let rec = s.store.get(id).unwrap().unwrap();
    assert_eq!(rec.fields["name"], json!("Citra"));
    assert_eq!(rec.fields["dusun"], json!("Kulon"));
    assert_eq!(s.store.pending_count().unwrap(), 1);
    let r = sync(&mut s);
    assert!(r.in_sync && r.acknowledged == 1, "{r:?}");
    let master = s.service.store.get(id).unwrap().unwrap().values();
    assert_eq!(
        (master["name"].clone(), master["dusun"].clone()),
        (json!("Citra"), json!("Kulon"))
    );
}

#[test]
fn old_requests_without_digest_fields_are_answered_and_bad_bucket_lists_refused() {
    let s = setup();
    let e = s.store.enrollment().unwrap().unwrap();
    let hash = token_hash(&e.token);
    // A request as an older device writes it: no want_digest, no repair.
    let old = format!(
        r#"{{"protocol":{PROTOCOL_VERSION},"device_id":"{}","device_clock_ms":{T0},"cursor":0}}"#,
        e.device_id
    );
    let req: SyncRequest = sinergi_core::protocol::decode(old.as_bytes(), false).unwrap();
    let resp = s.service.sync(&hash, &req).unwrap();
    assert!(resp.digest.is_none() && resp.repair.is_none());
    let body = serde_json::to_value(&resp).unwrap();
    assert!(body.get("digest").is_none() && body.get("repair").is_none());

    let mut bad = req.clone();
    bad.repair = Some(vec!["zz".into(); 3]);
    let err = s.service.sync(&hash, &bad).unwrap_err();
    assert_eq!(
        (err.status(), err.problem().code.as_str()),
        (422, "invalid_request")
    );

    let mut asked = req;
    asked.want_digest = true;
    asked.repair = Some(vec!["0000000000000000".into(); BUCKETS]);
    let resp = s.service.sync(&hash, &asked).unwrap();
    assert_eq!(resp.digest, Some(s.store.replica_digest().unwrap().root()));
    // Every bucket holding a record differs from an empty list's.
    let repair = resp.repair.unwrap();
    assert_eq!(repair.records.len(), resp.changes.len());
}

/// The server remembers a scope's digest between pull-only exchanges: the remembered one must
/// follow every change to the master copy and never stand for another scope.
#[test]
fn a_remembered_scope_digest_follows_every_change_and_stays_in_its_scope() {
    let mut s = setup();
    s.store
        .create(Kind::Child, child(s.posyandu, "Dewi"))
        .unwrap();
    assert!(sync(&mut s).in_sync);
    let hash = token_hash(&s.store.enrollment().unwrap().unwrap().token);
    let pull = |s: &mut Setup| {
        let req = s.store.build_request(100, 1000, false).unwrap();
        assert!(req.edits.is_empty() && req.want_digest);
        let resp = s.service.sync(&hash, &req).unwrap();
        let applied = s.store.apply_response(&resp).unwrap();
        assert!(applied.checked && !applied.diverged, "{applied:?}");
        resp.digest.unwrap()
    };
    let first = pull(&mut s);
    assert_eq!(pull(&mut s), first);
    assert_eq!(first, s.store.replica_digest().unwrap().root());

    // A change the device has not seen: the next pull-only answer carries the new digest.
    s.service
        .store
        .server_write(Kind::Child, Uuid::now_v7(), child(s.posyandu, "Eka"), T0)
        .unwrap();
    let second = pull(&mut s);
    assert_ne!(second, first);
    assert_eq!(second, s.store.replica_digest().unwrap().root());
    assert_eq!(s.store.count(Kind::Child).unwrap(), 2);

    // Another posyandu's kader, at the same sequence, gets her own scope's digest.
    let desa = s.service.add_desa("Sukamaju Hilir", None).unwrap();
    let other = s.service.add_posyandu(desa, "Mawar").unwrap();
    s.service
        .add_user("kader2", Role::Kader, Some(other), None, "rahasia-sekali")
        .unwrap();
    let mut store2 = LocalStore::open(&s.device_dir.with_file_name("kader2")).unwrap();
    core_sync::enroll(
        &mut store2,
        &InProcess(&s.service),
        "in-process",
        &EnrollRequest {
            user: "kader2".into(),
            password: "rahasia-sekali".into(),
            device_name: "hp2".into(),
            device_key: None,
        },
        &mut |_| {},
    )
    .unwrap();
    let third = pull(&mut s);
    let hash2 = token_hash(&store2.enrollment().unwrap().unwrap().token);
    let req2 = store2.build_request(100, 1000, false).unwrap();
    let other_digest = s.service.sync(&hash2, &req2).unwrap().digest.unwrap();
    assert_ne!(other_digest, third);
    assert_eq!(other_digest, store2.replica_digest().unwrap().root());
}
