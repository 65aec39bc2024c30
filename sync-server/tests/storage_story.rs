//! One story for the storage trait, told to every backend: the embedded SQLite store and
//! PostgreSQL. Init, users, enrollment through the service, pushes with conflicts and duplicates,
//! scope, moves with exits, paged pulls, refusals that a retry gets again, revocation, and the
//! digest (the same content gives the same digest on both backends: the story's store is copied
//! into the other backend and compared).
//!
//! The PostgreSQL tests read the server from the standard `PG*` variables (as `pg_virtualenv`
//! exports them) and create a fresh database per test. Without a reachable PostgreSQL they FAIL,
//! saying so: nothing is skipped. `scripts/test.sh` runs them under `pg_virtualenv`.
//!
//! The concurrency proof (`postgres_two_servers_concurrent_pushes_and_pulls`) runs two real
//! `sinergi-server serve --database postgres://...` processes on one database, pushes from many
//! devices at once through both while other devices pull, and checks that every device ends
//! with every change in its scope.

use serde_json::{json, Value};
use sinergi_core::hlc::{Clock, ManualClock};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{
    Edit, EnrollRequest, OwnRun, Role, SyncRequest, SyncResponse, MAX_PAGE, PROTOCOL_VERSION,
};
use sinergi_server::auth::token_hash;
use sinergi_server::service::Service;
use sinergi_server::storage::postgres::{fresh_database, PostgresStore};
use sinergi_server::storage::sqlite::SqliteStore;
use sinergi_server::storage::{MasterStore, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use uuid::Uuid;

const PASSWORD: &str = "rahasia-sekali";
/// 2024-06-01.
const T0: i64 = 1_717_200_000_000;

fn postgres_url() -> String {
    fresh_database("sinergi_story")
        .unwrap_or_else(|e| panic!("the PostgreSQL storage tests need a PostgreSQL server: {e}"))
}

fn sqlite_store(dir: &tempfile::TempDir) -> Box<dyn MasterStore> {
    Box::new(SqliteStore::open(&dir.path().join("master.db")).unwrap())
}

fn postgres_store() -> Box<dyn MasterStore> {
    Box::new(PostgresStore::open(&postgres_url()).unwrap())
}

fn obj(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A device as the story drives it: its own edit numbers and cursor.
struct Dev {
    id: Uuid,
    hash: String,
    seq: u64,
    cursor: i64,
    /// Everything it holds: id -> (kind, values); removed on exits.
    held: BTreeMap<Uuid, (Kind, Fields)>,
}

struct Story {
    svc: Service,
    clock: ManualClock,
    posyandu_a: Uuid,
    posyandu_b: Uuid,
}

impl Story {
    fn new(store: Box<dyn MasterStore>) -> Story {
        let clock = ManualClock::new(T0);
        let svc = Service::new(store, Arc::new(clock.clone()));
        assert!(svc.store.is_empty().unwrap());
        let pusk = svc.init("Puskesmas Cerita").unwrap();
        assert!(!svc.store.is_empty().unwrap());
        let again = svc.init("Lagi").unwrap_err();
        assert_eq!(again.problem().code, "already_initialized");
        let desa = svc.add_desa("Desa Cerita", None).unwrap();
        let posyandu_a = svc.add_posyandu(desa, "Posyandu A").unwrap();
        let posyandu_b = svc.add_posyandu(desa, "Posyandu B").unwrap();
        svc.add_user("bidan", Role::Bidan, None, Some(pusk), PASSWORD)
            .unwrap();
        svc.add_user("koordinator", Role::Coordinator, None, None, PASSWORD)
            .unwrap();
        for (name, p) in [
            ("kader_a", posyandu_a),
            ("kader_a2", posyandu_a),
            ("kader_b", posyandu_b),
        ] {
            svc.add_user(name, Role::Kader, Some(p), None, PASSWORD)
                .unwrap();
        }
        let taken = svc
            .add_user("bidan", Role::Bidan, None, None, PASSWORD)
            .unwrap_err();
        assert_eq!(taken.problem().code, "user_exists");
        assert_eq!(svc.store.count(Kind::Posyandu).unwrap(), 2);
        assert_eq!(
            svc.store
                .user_by_name("kader_b")
                .unwrap()
                .unwrap()
                .posyandu_id,
            Some(posyandu_b)
        );
        Story {
            svc,
            clock,
            posyandu_a,
            posyandu_b,
        }
    }

    fn enroll(&self, user: &str) -> Dev {
        let wrong = self
            .svc
            .enroll(&EnrollRequest {
                user: user.into(),
                password: "salah-sekali".into(),
                device_name: "hp".into(),
                device_key: None,
            })
            .unwrap_err();
        assert_eq!(wrong.problem().code, "bad_credentials");
        let r = self
            .svc
            .enroll(&EnrollRequest {
                user: user.into(),
                password: PASSWORD.into(),
                device_name: format!("hp-{user}"),
                device_key: None,
            })
            .unwrap();
        Dev {
            id: r.device_id,
            hash: token_hash(&r.token),
            seq: 0,
            cursor: 0,
            held: BTreeMap::new(),
        }
    }

    fn edit(&self, dev: &mut Dev, kind: Kind, id: Uuid, fields: Value) -> Edit {
        dev.seq += 1;
        Edit {
            device_seq: dev.seq,
            kind,
            id,
            made_ms: self.clock.now_ms(),
            base_seq: dev.cursor,
            fields: obj(fields),
        }
    }

    fn request(&self, dev: &Dev, edits: Vec<Edit>, page_limit: u32) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: dev.id,
            device_clock_ms: self.clock.now_ms(),
            cursor: dev.cursor,
            edits,
            page_limit,
            bundle: false,
            want_digest: false,
            repair: None,
        }
    }

    /// Send one request and apply its page to the device.
    fn send(&self, dev: &mut Dev, req: &SyncRequest) -> SyncResponse {
        self.clock.advance(1_000);
        let r = self.svc.sync(&dev.hash, req).unwrap();
        apply(dev, &r, req);
        r
    }

    /// Push these edits, then pull until up to date; the first response.
    fn sync(&self, dev: &mut Dev, edits: Vec<Edit>) -> SyncResponse {
        let req = self.request(dev, edits, MAX_PAGE);
        let first = self.send(dev, &req);
        let mut more = first.more;
        while more {
            let req = self.request(dev, vec![], MAX_PAGE);
            more = self.send(dev, &req).more;
        }
        first
    }

    fn child(&self, dev: &mut Dev, posyandu: Uuid, name: &str) -> Edit {
        self.edit(
            dev,
            Kind::Child,
            Uuid::now_v7(),
            json!({"posyandu_id": posyandu.to_string(), "name": name, "sex": "L",
                   "birth_date": "2023-03-14", "mother_name": format!("Ibu {name}"),
                   "status": "aktif"}),
        )
    }
}

/// Apply a response as a device does: own writes the server confirmed become what the device
/// had with its acknowledged edits on top (the server checked that this is what it holds), then
/// the page.
fn apply(dev: &mut Dev, r: &SyncResponse, req: &SyncRequest) {
    for &OwnRun(first, _, count, _) in &r.own {
        for d in first..first + u64::from(count) {
            let e = req.edits.iter().find(|e| e.device_seq == d).unwrap();
            let mut fields = dev.held.get(&e.id).map(|h| h.1.clone()).unwrap_or_default();
            for o in req.edits.iter().filter(|o| o.id == e.id) {
                for (k, v) in &o.fields {
                    if v.is_null() {
                        fields.remove(k);
                    } else {
                        fields.insert(k.clone(), v.clone());
                    }
                }
            }
            dev.held.insert(e.id, (e.kind, fields));
        }
    }
    for c in &r.changes {
        assert!(c.seq > dev.cursor, "a change at or below the cursor");
        dev.held.insert(c.id, (c.kind, c.fields.clone()));
    }
    for e in &r.exits {
        dev.held.remove(&e.id);
    }
    assert!(r.cursor >= dev.cursor, "the cursor went back");
    dev.cursor = r.cursor;
}

fn ids_of(dev: &Dev, kind: Kind) -> BTreeSet<Uuid> {
    dev.held
        .iter()
        .filter(|(_, (k, _))| *k == kind)
        .map(|(id, _)| *id)
        .collect()
}

/// The story; returns the service for the digest checks that follow.
fn story(store: Box<dyn MasterStore>) -> Service {
    let s = Story::new(store);
    let mut a = s.enroll("kader_a");
    let mut a2 = s.enroll("kader_a2");
    let mut b = s.enroll("kader_b");
    let mut bidan = s.enroll("bidan");
    let mut koord = s.enroll("koordinator");

    // kader_a pushes 30 children.
    let edits: Vec<Edit> = (0..30)
        .map(|i| {
            let pa = s.posyandu_a;
            s.child(&mut a, pa, &format!("Anak {i}"))
        })
        .collect();
    let children: Vec<Uuid> = edits.iter().map(|e| e.id).collect();
    let r = s.sync(&mut a, edits);
    assert_eq!(r.acked_through, 30);
    assert!(r.refused.is_empty());
    assert_eq!(ids_of(&a, Kind::Child).len(), 30);
    assert_eq!(s.svc.store.count(Kind::Child).unwrap(), 30);

    // Scope: kader_b sees its own posyandu, none of A's children.
    s.sync(&mut b, vec![]);
    assert!(ids_of(&b, Kind::Child).is_empty());
    assert_eq!(ids_of(&b, Kind::Posyandu), BTreeSet::from([s.posyandu_b]));
    assert_eq!(ids_of(&b, Kind::Puskesmas).len(), 1);

    // Paged pull: kader_a2 pulls in pages of 7; every change once, cursors rising.
    let mut pages = 0;
    loop {
        let req = s.request(&a2, vec![], 7);
        let r = s.send(&mut a2, &req);
        pages += 1;
        assert!(r.changes.len() <= 7);
        if !r.more {
            break;
        }
    }
    assert!(pages >= 5, "{pages} pages");
    assert_eq!(ids_of(&a2, Kind::Child), children.iter().copied().collect());

    // A conflict: kader_a sets the dusun of child 0, kader_a2 (not having seen that) too.
    let c0 = children[0];
    let e = s.edit(&mut a, Kind::Child, c0, json!({"dusun": "Dusun Kidul"}));
    assert_eq!(s.sync(&mut a, vec![e]).conflicts, 0);
    let e = s.edit(&mut a2, Kind::Child, c0, json!({"dusun": "Dusun Lor"}));
    assert_eq!(s.sync(&mut a2, vec![e]).conflicts, 1);
    assert_eq!(s.svc.store.list(Kind::Conflict).unwrap().len(), 1);
    s.sync(&mut bidan, vec![]);
    assert_eq!(ids_of(&bidan, Kind::Conflict).len(), 1);
    assert!(
        ids_of(&a2, Kind::Conflict).is_empty(),
        "kader see no conflicts"
    );
    s.sync(&mut a, vec![]);
    assert_eq!(a.held[&c0].1["dusun"], a2.held[&c0].1["dusun"]);

    // Duplicates: the same child registered twice is flagged once, even when edited again.
    let pa = s.posyandu_a;
    let d1 = s.child(&mut a, pa, "Budi Santoso");
    let mut d2 = s.child(&mut a, pa, "Budi Santoso");
    d2.id = Uuid::now_v7();
    let d2_id = d2.id;
    s.sync(&mut a, vec![d1, d2]);
    assert_eq!(s.svc.store.list(Kind::Duplicate).unwrap().len(), 1);
    let e = s.edit(&mut a, Kind::Child, d2_id, json!({"dusun": "Dusun Baru"}));
    s.sync(&mut a, vec![e]);
    assert_eq!(s.svc.store.list(Kind::Duplicate).unwrap().len(), 1);

    // A refusal: kader_a may not move a child to another posyandu. A retry (the response was
    // lost) gets the same answer and changes nothing.
    let c1 = children[1];
    let pb = s.posyandu_b;
    let e = s.edit(
        &mut a,
        Kind::Child,
        c1,
        json!({"posyandu_id": pb.to_string()}),
    );
    let req = s.request(&a, vec![e], MAX_PAGE);
    let first = s.svc.sync(&a.hash, &req).unwrap();
    assert_eq!(first.refused.len(), 1);
    assert_eq!(first.refused[0].problem.code, "out_of_scope");
    let digest = s.svc.store.digest().unwrap();
    let again = s.svc.sync(&a.hash, &req).unwrap();
    assert_eq!(again.refused, first.refused);
    assert_eq!(again.acked_through, first.acked_through);
    assert_eq!(
        s.svc.store.digest().unwrap(),
        digest,
        "a retry changed the store"
    );
    apply(&mut a, &again, &req);

    // A move by the bidan: the child (with its measurement) leaves A and arrives in B.
    let m = s.edit(
        &mut a,
        Kind::Measurement,
        Uuid::now_v7(),
        json!({"child_id": c1.to_string(), "date": "2024-05-10", "weight_kg": 12.3,
               "length_cm": 88.5, "position": "standing", "place": "posyandu"}),
    );
    let m_id = m.id;
    assert!(s.sync(&mut a, vec![m]).refused.is_empty());
    assert!(a.held.contains_key(&m_id));
    s.sync(&mut bidan, vec![]);
    let e = s.edit(
        &mut bidan,
        Kind::Child,
        c1,
        json!({"posyandu_id": pb.to_string()}),
    );
    assert!(s.sync(&mut bidan, vec![e]).refused.is_empty());
    let r = s.sync(&mut a, vec![]);
    assert!(r.exits.iter().any(|x| x.id == c1));
    assert!(!a.held.contains_key(&c1) && !a.held.contains_key(&m_id));
    s.sync(&mut b, vec![]);
    assert!(b.held.contains_key(&c1) && b.held.contains_key(&m_id));
    assert_eq!(b.held[&m_id].1["weight_kg"], json!(12.3));
    // The bidan still holds it: it stayed in the puskesmas (no exit for the bidan).
    assert!(bidan.held.contains_key(&c1));

    // The coordinator reads everything of the puskesmas and writes nothing.
    s.sync(&mut koord, vec![]);
    assert_eq!(ids_of(&koord, Kind::Child), ids_of(&bidan, Kind::Child));
    let e = s.edit(&mut koord, Kind::Child, c0, json!({"dusun": "X"}));
    assert_eq!(
        s.sync(&mut koord, vec![e]).refused[0].problem.code,
        "read_only_role"
    );

    // Revocation.
    let devices = s.svc.store.devices().unwrap();
    assert_eq!(devices.len(), 5);
    assert!(s.svc.store.revoke_device(a2.id, s.clock.now_ms()).unwrap());
    assert!(!s.svc.store.revoke_device(a2.id, s.clock.now_ms()).unwrap());
    let req = s.request(&a2, vec![], MAX_PAGE);
    let err = s.svc.sync(&a2.hash, &req).unwrap_err();
    assert_eq!(err.problem().code, "device_revoked");
    let err = s.svc.sync("no-such-token", &req).unwrap_err();
    assert_eq!(err.problem().code, "invalid_token");

    users_story(&s, &mut a, &mut b, &mut bidan);

    // Reports read the same records.
    let mut n = 0;
    s.svc
        .store
        .scan(&mut |kind, _, _, _| n += (kind == Kind::Child) as usize)
        .unwrap();
    assert_eq!(n as u64, s.svc.store.count(Kind::Child).unwrap());

    // The digest is stable and covers the whole store.
    assert_eq!(s.svc.store.digest().unwrap(), s.svc.store.digest().unwrap());
    s.svc
}

fn login(s: &Story, user: &str, password: &str) -> Result<Uuid, String> {
    s.svc
        .enroll(&EnrollRequest {
            user: user.into(),
            password: password.into(),
            device_name: format!("hp-baru-{user}"),
            device_key: None,
        })
        .map(|r| r.device_id)
        .map_err(|e| e.problem().code)
}

fn listed(s: &Story, name: &str) -> (bool, u64) {
    let u = s.svc.users().unwrap();
    let u = u.iter().find(|u| u.name == name).unwrap();
    (u.disabled, u.active_devices)
}

/// User administration: disable (her devices refused, her password enrolls nothing), enable,
/// a new password, the list. Leaves kader_b disabled, so the copies that follow carry it.
fn users_story(s: &Story, a: &mut Dev, b: &mut Dev, bidan: &mut Dev) {
    let names: Vec<String> = s.svc.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(
        names,
        ["bidan", "kader_a", "kader_a2", "kader_b", "koordinator"],
        "by name"
    );
    assert_eq!(listed(s, "kader_b"), (false, 1));
    // kader_a2's only device is revoked: no active device.
    assert_eq!(listed(s, "kader_a2"), (false, 0));
    let places: BTreeMap<String, String> = s
        .svc
        .users()
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.place))
        .collect();
    assert_eq!(places["kader_b"], "Posyandu B");
    assert_eq!(places["bidan"], "Puskesmas Cerita");

    // An unknown name changes nothing.
    let digest = s.svc.store.digest().unwrap();
    for err in [
        s.svc.set_user_disabled("tidak_ada", true).unwrap_err(),
        s.svc.set_user_disabled("tidak_ada", false).unwrap_err(),
        s.svc
            .set_password("tidak_ada", "sandi-baru-123")
            .unwrap_err(),
    ] {
        assert_eq!(
            (err.status(), err.problem().code.as_str()),
            (404, "unknown_user")
        );
    }
    assert_eq!(s.svc.store.digest().unwrap(), digest);

    // Disabled: the device is refused at its next request, her password enrolls nothing (a
    // wrong one is still just wrong), and nothing of hers is revoked.
    let e = s.child(b, s.posyandu_b, "Anak Saat Nonaktif");
    let pending = e.id;
    s.svc.set_user_disabled("kader_b", true).unwrap();
    let req = s.request(b, vec![e], MAX_PAGE);
    let err = s.svc.sync(&b.hash, &req).unwrap_err();
    assert_eq!(
        (err.status(), err.problem().code.as_str()),
        (403, "user_disabled")
    );
    assert_eq!(login(s, "kader_b", PASSWORD), Err("user_disabled".into()));
    assert_eq!(
        login(s, "kader_b", "salah-sekali"),
        Err("bad_credentials".into())
    );
    let bundle = s
        .svc
        .enroll_bundle("kader_b", "hp-berkas", None, None)
        .unwrap_err();
    assert_eq!(bundle.problem().code, "user_disabled");
    assert_eq!(listed(s, "kader_b"), (true, 1));
    assert_eq!(s.svc.store.devices().unwrap().len(), 5, "nothing enrolled");
    assert!(
        s.svc.store.get(pending).unwrap().is_none(),
        "a refused push applies nothing"
    );
    // Others carry on.
    s.sync(a, vec![]);

    // Enabled again (twice is harmless): the same device pushes what it kept.
    s.svc.set_user_disabled("bidan", true).unwrap();
    let req = s.request(bidan, vec![], MAX_PAGE);
    assert_eq!(
        s.svc.sync(&bidan.hash, &req).unwrap_err().problem().code,
        "user_disabled"
    );
    s.svc.set_user_disabled("bidan", false).unwrap();
    s.svc.set_user_disabled("bidan", false).unwrap();
    assert_eq!(listed(s, "bidan"), (false, 1));
    s.sync(bidan, vec![]);

    // A new password: the old one enrolls nothing, the new one does; a short one is refused
    // by the rule `add_user` uses.
    for (pw, code) in [("", "weak_password"), ("pendek", "weak_password")] {
        let err = s.svc.set_password("kader_a", pw).unwrap_err();
        assert_eq!((err.status(), err.problem().code.as_str()), (422, code));
        let err = s
            .svc
            .add_user("baru", Role::Bidan, None, None, pw)
            .unwrap_err();
        assert_eq!(err.problem().code, code);
    }
    let old_device = login(s, "kader_a", PASSWORD).expect("unchanged so far");
    s.svc.set_password("kader_a", "sandi-baru-123").unwrap();
    assert_eq!(login(s, "kader_a", PASSWORD), Err("bad_credentials".into()));
    let new_device = login(s, "kader_a", "sandi-baru-123").unwrap();
    // Her devices keep syncing.
    s.sync(a, vec![]);
    assert_eq!(listed(s, "kader_a"), (false, 3));
    for d in [old_device, new_device] {
        assert!(s.svc.store.revoke_device(d, s.clock.now_ms()).unwrap());
    }
    assert_eq!(
        listed(s, "kader_a"),
        (false, 1),
        "a revoked device is not active"
    );
}

/// Copy every row of `from` into the empty `to`; both digests must agree.
fn copy_and_compare(from: &dyn MasterStore, to: &dyn MasterStore) {
    assert!(to.is_empty().unwrap());
    let mut rows = Vec::new();
    from.export(&mut |r| {
        rows.push(r);
        Ok(())
    })
    .unwrap();
    assert!(rows.iter().any(|r| matches!(r, Row::Refusal(..))));
    assert!(rows.iter().any(|r| matches!(r, Row::Exit(_))));
    assert!(
        rows.iter()
            .any(|r| matches!(r, Row::User(u) if u.disabled && u.name == "kader_b")),
        "the story leaves kader_b disabled"
    );
    let mut it = rows.clone().into_iter().map(Ok);
    to.import(&mut it).unwrap();
    let mut back = Vec::new();
    to.export(&mut |r| {
        back.push(r.canonical());
        Ok(())
    })
    .unwrap();
    let rows: Vec<String> = rows.iter().map(Row::canonical).collect();
    assert_eq!(rows, back, "the copy differs row by row");
    assert_eq!(from.digest().unwrap(), to.digest().unwrap());
    assert!(!to.is_empty().unwrap());
    // The copy keeps the flag where it counts: kader_b is disabled there too.
    let users = to.users().unwrap();
    let disabled: Vec<&str> = users
        .iter()
        .filter(|u| u.user.disabled)
        .map(|u| u.user.name.as_str())
        .collect();
    assert_eq!(disabled, ["kader_b"]);
    let kader_b = to.user_by_name("kader_b").unwrap().unwrap();
    assert!(kader_b.disabled);
}

#[test]
fn sqlite_story() {
    let dir = tempfile::tempdir().unwrap();
    let svc = story(sqlite_store(&dir));
    let other = tempfile::tempdir().unwrap();
    copy_and_compare(&*svc.store, &*sqlite_store(&other));
}

#[test]
fn postgres_story() {
    let svc = story(postgres_store());
    let other = tempfile::tempdir().unwrap();
    copy_and_compare(&*svc.store, &*sqlite_store(&other));
    copy_and_compare(&*svc.store, &*postgres_store());
}

#[test]
fn sqlite_to_postgres_digest_is_backend_independent() {
    let dir = tempfile::tempdir().unwrap();
    let svc = story(sqlite_store(&dir));
    let pg = postgres_store();
    copy_and_compare(&*svc.store, &*pg);
    // The copy keeps working as a master copy: the same device goes on syncing.
    let pg_svc = Service::new(pg, Arc::new(ManualClock::new(T0 + 3_600_000)));
    assert_eq!(
        pg_svc.store.count(Kind::Child).unwrap(),
        svc.store.count(Kind::Child).unwrap()
    );
}

/// A PostgreSQL database made before users could be disabled (schema version 1) is migrated
/// at open, every user enabled, and the flag then works.
#[test]
fn postgres_older_schema_is_migrated_with_every_user_enabled() {
    use sinergi_server::storage::postgres::MIGRATIONS;
    let url = postgres_url();
    {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL);")
            .unwrap();
        c.batch_execute(MIGRATIONS[0]).unwrap();
        c.batch_execute(
            "INSERT INTO schema_version VALUES (1);
             INSERT INTO records(id, kind, fields, meta, seq)
                 VALUES ('00000000-0000-0000-0000-000000000002', 'puskesmas', '{}', '{}', 1);
             INSERT INTO users(id, name, role, puskesmas_id, password_hash)
                 VALUES ('00000000-0000-0000-0000-000000000001', 'bidan', 'bidan',
                         '00000000-0000-0000-0000-000000000002', 'hash');",
        )
        .unwrap();
    }
    let store = PostgresStore::open(&url).unwrap();
    assert!(!store.user_by_name("bidan").unwrap().unwrap().disabled);
    assert!(store.set_user_disabled("bidan", true).unwrap());
    assert!(store.user_by_name("bidan").unwrap().unwrap().disabled);
    assert!(!store.set_user_disabled("tidak_ada", true).unwrap());
    assert!(store.set_password_hash("bidan", "hash-baru").unwrap());
    assert_eq!(
        store.user_by_name("bidan").unwrap().unwrap().password_hash,
        "hash-baru"
    );
}

/// A PostgreSQL database whose records carry their clocks as JSON (schema version 5) is
/// converted at open: every record comes back whole, cleared fields and clocks included.
#[test]
fn postgres_records_with_json_clocks_come_back_whole_after_the_upgrade() {
    use sinergi_core::hlc::Hlc;
    use sinergi_core::merge::FieldState;
    use sinergi_server::storage::postgres::MIGRATIONS;
    use sinergi_server::storage::{MasterField, MasterRecord};
    let url = postgres_url();
    let field = |value: serde_json::Value, node: u128| MasterField {
        state: FieldState {
            value,
            hlc: Hlc {
                millis: 1_765_000_000_000,
                counter: 2,
                node: Uuid::from_u128(node),
            },
        },
        seq: 7,
    };
    let old = MasterRecord {
        kind: Kind::Child,
        id: Uuid::from_u128(9),
        posyandu_id: Some(Uuid::from_u128(3)),
        puskesmas_id: Some(Uuid::from_u128(2)),
        parent_id: None,
        fields: [
            ("name".to_string(), field("Siti".into(), 1)),
            ("nik".to_string(), field(serde_json::Value::Null, 4)),
        ]
        .into_iter()
        .collect(),
        seq: 7,
    };
    {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL);")
            .unwrap();
        for m in &MIGRATIONS[..5] {
            c.batch_execute(m).unwrap();
        }
        c.execute("INSERT INTO schema_version VALUES (5)", &[])
            .unwrap();
        c.execute(
            "INSERT INTO records(id, kind, posyandu_id, puskesmas_id, fields, meta, seq)
             VALUES ($1, 'child', $2, $3, $4, $5, $6)",
            &[
                &old.id,
                &old.posyandu_id,
                &old.puskesmas_id,
                &serde_json::to_string(&old.values()).unwrap(),
                &serde_json::to_string(&old.fields).unwrap(),
                &old.seq,
            ],
        )
        .unwrap();
    }
    let store = PostgresStore::open(&url).unwrap();
    assert_eq!(store.get(old.id).unwrap(), Some(old));
}

/// `migrate-store` through the command line: SQLite file into PostgreSQL, digests printed and
/// equal; a second run refuses the non-empty target.
#[test]
fn migrate_store_command() {
    let dir = tempfile::tempdir().unwrap();
    drop(story(sqlite_store(&dir)));
    let url = postgres_url();
    let bin = env!("CARGO_BIN_EXE_sinergi-server");
    let from = format!("sqlite:{}", dir.path().join("master.db").display());
    let out = std::process::Command::new(bin)
        .args(["migrate-store", "--from", &from, "--to", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let digest = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(digest("source digest:"), digest("target digest:"));
    let printed = std::process::Command::new(bin)
        .args(["--database", &url, "digest"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout).trim(),
        digest("source digest:")
    );
    let again = std::process::Command::new(bin)
        .args(["migrate-store", "--from", &from, "--to", &url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("target_not_empty"));
}

mod concurrency {
    use super::*;
    use sinergi_core::store::LocalStore;
    use sinergi_core::sync::{self, HttpTransport, SyncOptions};
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};

    struct Serve(Child, String);

    impl Serve {
        fn start(url: &str) -> Serve {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(env!("CARGO_BIN_EXE_sinergi-server"))
                .args(["--database", url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert!(
                line.contains("mendengarkan"),
                "server did not start: {line}"
            );
            Serve(child, format!("http://127.0.0.1:{port}"))
        }
    }

    impl Drop for Serve {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    const POSYANDU: usize = 3;
    const PUSHERS_PER_POSYANDU: usize = 3;
    const ROUNDS: usize = 8;
    const CHILDREN_PER_ROUND: usize = 25;
    /// Pullers give up (and fail the test) after this long, so a broken pusher cannot leave
    /// them pulling forever.
    const PULL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

    /// Counts a pusher as finished when it ends, also by panicking, so pullers always stop.
    struct Finished(Arc<std::sync::atomic::AtomicUsize>);

    impl Drop for Finished {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn enroll(dir: &std::path::Path, url: &str, user: &str) -> LocalStore {
        let mut store = LocalStore::open(dir).unwrap();
        let t = HttpTransport::new(url).unwrap();
        sync::enroll(
            &mut store,
            &t,
            url,
            &EnrollRequest {
                user: user.into(),
                password: PASSWORD.into(),
                device_name: format!("hp-{user}"),
                device_key: None,
            },
            &mut |_| {},
        )
        .unwrap();
        store
    }

    fn sync_now(store: &mut LocalStore, url: &str) {
        let t = HttpTransport::new(url).unwrap();
        // Small pages, so pulls cross many concurrent commits.
        let opts = SyncOptions {
            page_limit: 20,
            max_requests: None,
        };
        sync::sync(store, &t, &opts, &mut |_| {}).unwrap();
    }

    /// Several devices per posyandu push children in rounds, each through one of two server
    /// processes, while pullers (a kader per posyandu and the bidan) pull in small pages through
    /// the other. At the end every device, after one last sync, holds every child of its scope.
    #[test]
    fn postgres_two_servers_concurrent_pushes_and_pulls() {
        let url = postgres_url();
        let svc = Service::new(
            Box::new(PostgresStore::open(&url).unwrap()),
            Arc::new(sinergi_core::hlc::SystemClock),
        );
        let pusk = svc.init("Puskesmas Serentak").unwrap();
        let desa = svc.add_desa("Desa", None).unwrap();
        let mut posyandu = Vec::new();
        for p in 0..POSYANDU {
            let id = svc.add_posyandu(desa, &format!("Posyandu {p}")).unwrap();
            for k in 0..=PUSHERS_PER_POSYANDU {
                svc.add_user(
                    &format!("kader_{p}_{k}"),
                    Role::Kader,
                    Some(id),
                    None,
                    PASSWORD,
                )
                .unwrap();
            }
            posyandu.push(id);
        }
        svc.add_user("bidan", Role::Bidan, None, Some(pusk), PASSWORD)
            .unwrap();
        drop(svc);

        let servers = [Serve::start(&url), Serve::start(&url)];
        let urls: Vec<String> = servers.iter().map(|s| s.1.clone()).collect();
        let root = tempfile::tempdir().unwrap();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let pushers = POSYANDU * PUSHERS_PER_POSYANDU;

        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (p, &pid) in posyandu.iter().enumerate() {
                for k in 0..PUSHERS_PER_POSYANDU {
                    let (urls, root, done) = (&urls, root.path(), done.clone());
                    handles.push(scope.spawn(move || {
                        let _finished = Finished(done);
                        let url = &urls[(p + k) % 2];
                        let dir = root.join(format!("kader_{p}_{k}"));
                        let mut store = enroll(&dir, url, &format!("kader_{p}_{k}"));
                        for round in 0..ROUNDS {
                            for i in 0..CHILDREN_PER_ROUND {
                                let mut f = Fields::new();
                                f.insert("posyandu_id".into(), pid.to_string().into());
                                f.insert("name".into(), format!("Anak {p} {k} {round} {i}").into());
                                f.insert("sex".into(), if i % 2 == 0 { "L" } else { "P" }.into());
                                f.insert("birth_date".into(), "2023-01-15".into());
                                f.insert("status".into(), "aktif".into());
                                store.create(Kind::Child, f).unwrap();
                            }
                            // Alternate the server each round.
                            sync_now(&mut store, &urls[(p + k + round) % 2]);
                        }
                        (dir, store)
                    }));
                }
            }
            // Pullers: one more kader per posyandu and the bidan, pulling until the pushers end.
            let mut pullers = Vec::new();
            let mut puller_users: Vec<(String, Option<Uuid>)> = (0..POSYANDU)
                .map(|p| {
                    (
                        format!("kader_{p}_{PUSHERS_PER_POSYANDU}"),
                        Some(posyandu[p]),
                    )
                })
                .collect();
            puller_users.push(("bidan".into(), None));
            for (j, (user, scope_p)) in puller_users.into_iter().enumerate() {
                let (urls, root, done) = (&urls, root.path(), done.clone());
                pullers.push(scope.spawn(move || {
                    let dir = root.join(&user);
                    let mut store = enroll(&dir, &urls[j % 2], &user);
                    let mut n = 0;
                    let start = std::time::Instant::now();
                    while done.load(std::sync::atomic::Ordering::SeqCst) < pushers {
                        assert!(
                            start.elapsed() < PULL_DEADLINE,
                            "pushers still running after {PULL_DEADLINE:?}"
                        );
                        sync_now(&mut store, &urls[(j + n) % 2]);
                        n += 1;
                    }
                    (store, scope_p, n)
                }));
            }
            let pushed: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let pulled: Vec<_> = pullers.into_iter().map(|h| h.join().unwrap()).collect();

            // The truth: what the master copy holds.
            let master = PostgresStore::open(&url).unwrap();
            let all = master.list(Kind::Child).unwrap();
            assert_eq!(all.len(), pushers * ROUNDS * CHILDREN_PER_ROUND);
            let in_scope = |p: Option<Uuid>| -> BTreeSet<Uuid> {
                all.iter()
                    .filter(|r| p.is_none() || r.posyandu_id == p)
                    .map(|r| r.id)
                    .collect()
            };
            let held = |s: &LocalStore| -> BTreeSet<Uuid> {
                s.list(Kind::Child)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.id)
                    .collect()
            };
            // Pullers: the pull loop ran concurrently; one last sync (after all pushes ended)
            // must complete the set. A skipped change would be missing for good, since the
            // cursor has passed it.
            for (mut store, p, rounds) in pulled {
                assert!(rounds > 0);
                sync_now(&mut store, &urls[0]);
                assert_eq!(held(&store), in_scope(p), "a puller misses changes");
            }
            for (p, (_, mut store)) in pushed.into_iter().enumerate() {
                let pid = posyandu[p / PUSHERS_PER_POSYANDU];
                sync_now(&mut store, &urls[1]);
                assert_eq!(held(&store), in_scope(Some(pid)), "a pusher misses changes");
            }
        });
        drop(servers);
    }
}
