//! The write rules of issue 11, told to both backends through the service (as the HTTP front
//! calls it): references stay inside the writer's scope, a refused edit leaves no trace, the
//! referral answer is the bidan's, and no text grows without bound.
//!
//! PostgreSQL tests read the `PG*` variables (`pg_virtualenv`); without a server they fail.

use serde_json::{json, Value};
use sinergi_core::hlc::{Clock, ManualClock};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{
    Edit, EnrollRequest, Role, SyncRequest, SyncResponse, MAX_PAGE, PROTOCOL_VERSION,
};
use sinergi_server::auth::token_hash;
use sinergi_server::error::ServerError;
use sinergi_server::service::Service;
use sinergi_server::storage::postgres::{fresh_database, PostgresStore};
use sinergi_server::storage::sqlite::SqliteStore;
use sinergi_server::storage::{MasterStore, MAX_PAGE_BYTES};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

const PASSWORD: &str = "rahasia-sekali";
/// 2024-06-01.
const T0: i64 = 1_717_200_000_000;

struct World {
    svc: Service,
    clock: ManualClock,
    posyandu_a: Uuid,
    posyandu_b: Uuid,
    /// A child of another puskesmas, made by the server.
    foreign_child: Uuid,
    _dir: Option<tempfile::TempDir>,
}

struct Dev {
    id: Uuid,
    hash: String,
    seq: u64,
}

fn obj(v: Value) -> Fields {
    v.as_object().cloned().unwrap()
}

impl World {
    fn new(store: Box<dyn MasterStore>, dir: Option<tempfile::TempDir>) -> World {
        let clock = ManualClock::new(T0);
        let svc = Service::new(store, Arc::new(clock.clone()));
        let pusk = svc.init("Puskesmas Uji").unwrap();
        let desa = svc.add_desa("Desa Uji", None).unwrap();
        let posyandu_a = svc.add_posyandu(desa, "Posyandu A").unwrap();
        let posyandu_b = svc.add_posyandu(desa, "Posyandu B").unwrap();
        svc.add_user("bidan", Role::Bidan, None, Some(pusk), PASSWORD)
            .unwrap();
        svc.add_user("kader_a", Role::Kader, Some(posyandu_a), None, PASSWORD)
            .unwrap();
        svc.add_user("kader_b", Role::Kader, Some(posyandu_b), None, PASSWORD)
            .unwrap();
        // Another puskesmas on the same server (a district store), with one child.
        let (other, other_desa, other_pos, child) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let w = |kind, id, v: Value| svc.store.server_write(kind, id, obj(v), T0).unwrap();
        w(Kind::Puskesmas, other, json!({"name": "Puskesmas Lain"}));
        w(
            Kind::Desa,
            other_desa,
            json!({"name": "Desa Lain", "puskesmas_id": other.to_string()}),
        );
        w(
            Kind::Posyandu,
            other_pos,
            json!({"name": "Posyandu Lain", "desa_id": other_desa.to_string(),
                   "puskesmas_id": other.to_string()}),
        );
        w(
            Kind::Child,
            child,
            json!({"posyandu_id": other_pos.to_string(), "name": "Anak Lain", "sex": "P",
                   "birth_date": "2023-01-01"}),
        );
        World {
            svc,
            clock,
            posyandu_a,
            posyandu_b,
            foreign_child: child,
            _dir: dir,
        }
    }

    fn enroll(&self, user: &str) -> Dev {
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
        }
    }

    /// The device's next edit.
    fn edit(&self, dev: &mut Dev, kind: Kind, id: Uuid, fields: Value) -> Edit {
        dev.seq += 1;
        self.clock.advance(1_000);
        Edit {
            device_seq: dev.seq,
            kind,
            id,
            made_ms: self.clock.now_ms(),
            base_seq: 0,
            fields: obj(fields),
        }
    }

    /// Send these edits as one request.
    fn send(&self, dev: &Dev, edits: Vec<Edit>) -> Result<SyncResponse, ServerError> {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: dev.id,
            device_clock_ms: self.clock.now_ms(),
            cursor: 0,
            edits,
            page_limit: 10,
            bundle: false,
            want_digest: false,
            repair: None,
        };
        self.svc.sync(&dev.hash, &req)
    }

    /// Push one edit; the response.
    fn push(&self, dev: &mut Dev, kind: Kind, id: Uuid, fields: Value) -> SyncResponse {
        let e = self.edit(dev, kind, id, fields);
        self.send(dev, vec![e]).unwrap()
    }

    /// Push one edit that must be applied.
    fn ok(&self, dev: &mut Dev, kind: Kind, id: Uuid, fields: Value) {
        let r = self.push(dev, kind, id, fields);
        assert!(r.refused.is_empty(), "refused: {:?}", r.refused);
    }

    /// Push one edit that must be refused with this code.
    fn refused(&self, dev: &mut Dev, kind: Kind, id: Uuid, fields: Value, code: &str) {
        let r = self.push(dev, kind, id, fields);
        assert_eq!(r.refused.len(), 1, "not refused: {r:?}");
        assert_eq!(r.refused[0].problem.code, code, "{:?}", r.refused[0]);
        assert_eq!(r.acked_through, dev.seq, "a refusal is an answer too");
    }

    fn new_child(&self, dev: &mut Dev, posyandu: Uuid, name: &str, born: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.ok(
            dev,
            Kind::Child,
            id,
            json!({"posyandu_id": posyandu.to_string(), "name": name, "sex": "L",
                   "birth_date": born}),
        );
        id
    }

    fn weigh(&self, dev: &mut Dev, child: Uuid, date: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.ok(
            dev,
            Kind::Measurement,
            id,
            json!({"child_id": child.to_string(), "date": date, "weight_kg": 9.5}),
        );
        id
    }

    fn field(&self, id: Uuid, name: &str) -> Option<Value> {
        let rec = self.svc.store.get(id).unwrap().unwrap();
        rec.values().get(name).cloned()
    }
}

fn sqlite() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("master.db")).unwrap();
    World::new(Box::new(store), Some(dir))
}

fn postgres() -> World {
    let url = fresh_database("sinergi_trust")
        .unwrap_or_else(|e| panic!("these tests need a PostgreSQL server: {e}"));
    World::new(Box::new(PostgresStore::open(&url).unwrap()), None)
}

/// Case 3: a kader set `merged_into` on her own child to another posyandu's child, and the
/// server moved her child's records onto it. Now only a bidan merges, and only inside her scope.
fn merges_stay_in_scope(w: World) {
    let (mut ka, mut kb, mut bidan) = (w.enroll("kader_a"), w.enroll("kader_b"), w.enroll("bidan"));
    let mine = w.new_child(&mut ka, w.posyandu_a, "Budi", "2023-03-14");
    let weighing = w.weigh(&mut ka, mine, "2024-05-02");
    let theirs = w.new_child(&mut kb, w.posyandu_b, "Tono", "2023-03-14");
    let merge = |target: Uuid| json!({"merged_into": target.to_string(), "status": "digabung"});
    w.refused(&mut ka, Kind::Child, mine, merge(theirs), "forbidden_field");
    w.refused(
        &mut ka,
        Kind::Child,
        mine,
        merge(w.foreign_child),
        "forbidden_field",
    );
    // The bidan may merge inside her puskesmas, never into another puskesmas's child.
    w.refused(
        &mut bidan,
        Kind::Child,
        mine,
        merge(w.foreign_child),
        "reference_out_of_scope",
    );
    w.refused(&mut bidan, Kind::Child, mine, merge(mine), "merge_cycle");
    let measurement = w.svc.store.get(weighing).unwrap().unwrap();
    assert_eq!(
        measurement.values()["child_id"],
        json!(mine.to_string()),
        "nothing moved"
    );
    assert_eq!(w.field(mine, "merged_into"), None);
    // A merge into a child that is merged back into this one is a cycle.
    w.ok(&mut bidan, Kind::Child, theirs, merge(mine));
    w.refused(&mut bidan, Kind::Child, mine, merge(theirs), "merge_cycle");
    // Other references too: a mother of another puskesmas is out of reach (here: a child id
    // where a woman is wanted is the wrong kind).
    w.refused(
        &mut ka,
        Kind::Child,
        mine,
        json!({"mother_id": w.foreign_child.to_string()}),
        "unknown_woman",
    );
}

/// Case 3, second half: a merge whose follow-up move is refused (a weighing dated before the
/// kept child was born) is refused whole: no `merged_into`, nothing moved.
fn a_refused_merge_leaves_no_trace(w: World) {
    let (mut ka, mut bidan) = (w.enroll("kader_a"), w.enroll("bidan"));
    let older = w.new_child(&mut ka, w.posyandu_a, "Siti", "2022-01-10");
    let early = w.weigh(&mut ka, older, "2022-06-01");
    let late = w.weigh(&mut ka, older, "2024-05-01");
    let younger = w.new_child(&mut ka, w.posyandu_a, "Siti", "2023-12-01");
    let r = w.push(
        &mut bidan,
        Kind::Child,
        older,
        json!({"merged_into": younger.to_string(), "status": "digabung"}),
    );
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert_eq!(
        r.refused[0].problem.code, "merge_blocked",
        "{:?}",
        r.refused[0]
    );
    assert_eq!(w.field(older, "merged_into"), None);
    assert_eq!(w.field(older, "status"), None);
    for m in [early, late] {
        assert_eq!(w.field(m, "child_id"), Some(json!(older.to_string())));
    }
}

/// Case 4: the answer to a referral is the bidan's.
fn the_referral_answer_is_the_bidans(w: World) {
    let (mut ka, mut bidan) = (w.enroll("kader_a"), w.enroll("bidan"));
    let child = w.new_child(&mut ka, w.posyandu_a, "Ani", "2023-03-14");
    let referral = Uuid::now_v7();
    w.ok(
        &mut ka,
        Kind::Referral,
        referral,
        json!({"child_id": child.to_string(), "date": "2024-05-02", "reason": "bgm",
               "status": "menunggu"}),
    );
    for answer in [
        json!({"status": "dijawab"}),
        json!({"status": "selesai"}),
        json!({"diagnosis": "gizi kurang"}),
        json!({"action": "PMT"}),
        json!({"advice": "timbang lagi"}),
        json!({"answer_date": "2024-05-03"}),
    ] {
        w.refused(&mut ka, Kind::Referral, referral, answer, "forbidden_field");
    }
    assert_eq!(w.field(referral, "status"), Some(json!("menunggu")));
    w.ok(
        &mut bidan,
        Kind::Referral,
        referral,
        json!({"status": "dijawab", "answer_date": "2024-05-03", "diagnosis": "gizi kurang"}),
    );
    // The kader marks the answer seen.
    w.ok(&mut ka, Kind::Referral, referral, json!({"seen": true}));
}

/// Case 8: one kader's 35 MB names once blocked every device's sync; texts now have limits.
fn texts_have_limits(w: World) {
    let mut ka = w.enroll("kader_a");
    let id = Uuid::now_v7();
    let huge = "a".repeat(35 * 1024 * 1024);
    w.refused(
        &mut ka,
        Kind::Child,
        id,
        json!({"posyandu_id": w.posyandu_a.to_string(), "name": huge, "sex": "L",
               "birth_date": "2023-03-14"}),
        "text_too_long",
    );
    assert!(w.svc.store.get(id).unwrap().is_none());
    let child = w.new_child(&mut ka, w.posyandu_a, &"b".repeat(200), "2023-03-14");
    w.refused(
        &mut ka,
        Kind::Child,
        child,
        json!({"dusun": "c".repeat(201)}),
        "text_too_long",
    );
    let referral = Uuid::now_v7();
    w.refused(
        &mut ka,
        Kind::Referral,
        referral,
        json!({"child_id": child.to_string(), "date": "2024-05-02", "reason": "lainnya",
               "note": "d".repeat(2001)}),
        "text_too_long",
    );
    w.ok(
        &mut ka,
        Kind::Referral,
        referral,
        json!({"child_id": child.to_string(), "date": "2024-05-02", "reason": "lainnya",
               "note": "d".repeat(2000)}),
    );
}

/// Case 1: a store restored from a backup (or copied, or rolled back by a power cut) numbers
/// its edits again from a number the server has applied. Such an edit was acknowledged and
/// dropped; now the request is refused whole with the server's last number, and a real retry
/// (the same edit under the same number) still changes nothing.
fn a_reused_number_is_not_taken_for_a_retry(w: World) {
    let mut ka = w.enroll("kader_a");
    let child = |name: &str| {
        json!({"posyandu_id": w.posyandu_a.to_string(), "name": name, "sex": "L",
               "birth_date": "2023-03-14"})
    };
    let (budi, tono) = (Uuid::now_v7(), Uuid::now_v7());
    let first = w.edit(&mut ka, Kind::Child, budi, child("Budi"));
    let second = w.edit(&mut ka, Kind::Child, tono, child("Tono"));
    let r = w.send(&ka, vec![first.clone(), second.clone()]).unwrap();
    assert_eq!(r.acked_through, 2);
    // The answer was lost: the same request again is a retry.
    let again = w.send(&ka, vec![first.clone(), second]).unwrap();
    assert_eq!(again.acked_through, 2);
    // The backup knew only the first edit; the restored store makes its next one as number 2.
    ka.seq = 1;
    let siti = Uuid::now_v7();
    let reused = w.edit(&mut ka, Kind::Child, siti, child("Siti"));
    match w.send(&ka, vec![reused.clone()]) {
        Err(ServerError::SeqReused(2)) => {}
        other => panic!("expected seq_reused up to 2, got {other:?}"),
    }
    assert!(w.svc.store.get(siti).unwrap().is_none(), "nothing applied");
    // Numbered after the server's last, it is applied like any other edit.
    let renumbered = Edit {
        device_seq: 3,
        ..reused
    };
    let r = w.send(&ka, vec![renumbered]).unwrap();
    assert_eq!((r.acked_through, r.refused.len()), (3, 0));
    assert_eq!(w.field(siti, "name"), Some(json!("Siti")));
    assert_eq!(w.field(tono, "name"), Some(json!("Tono")));
}

/// One kader pushes more text than one page may hold (2,200 events with 2,000-character notes,
/// 4.4 MB): another device pulls it in pages bounded by bytes, not only by count, and gets all.
fn pages_are_bounded_by_bytes(w: World) {
    let mut ka = w.enroll("kader_a");
    let note = "n".repeat(2_000);
    let mut ids = std::collections::HashSet::new();
    for _ in 0..4 {
        let edits: Vec<Edit> = (0..550)
            .map(|_| {
                let id = Uuid::now_v7();
                ids.insert(id);
                w.edit(
                    &mut ka,
                    Kind::Event,
                    id,
                    json!({"posyandu_id": w.posyandu_a.to_string(), "type": "lahir",
                           "subject": "bayi", "date": "2024-05-01", "note": note}),
                )
            })
            .collect();
        let r = w.send(&ka, edits).unwrap();
        assert!(r.refused.is_empty(), "{:?}", r.refused.first());
    }
    let kb = w.enroll("kader_a");
    let (mut cursor, mut pages, mut got) = (0, 0, std::collections::HashSet::new());
    loop {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: kb.id,
            device_clock_ms: w.clock.now_ms(),
            cursor,
            edits: vec![],
            page_limit: MAX_PAGE,
            bundle: false,
            want_digest: false,
            repair: None,
        };
        let r = w.svc.sync(&kb.hash, &req).unwrap();
        let bytes: usize = r
            .changes
            .iter()
            .map(|c| serde_json::to_string(&c.fields).unwrap().len())
            .sum();
        assert!(bytes <= MAX_PAGE_BYTES + 4_096, "a page of {bytes} bytes");
        got.extend(
            r.changes
                .iter()
                .filter(|c| c.kind == Kind::Event)
                .map(|c| c.id),
        );
        pages += 1;
        cursor = r.cursor;
        if !r.more {
            break;
        }
    }
    assert!(pages >= 2, "{pages} page(s)");
    assert_eq!(got, ids, "every event arrives");
}

/// A push larger than a page, from a device that holds everything else, is confirmed whole in
/// its answer: none of its records comes back to it, in that answer or in a later page.
fn a_push_is_confirmed_whole(w: World) {
    let mut dev = w.enroll("kader_a");
    let (device_id, hash) = (dev.id, dev.hash.clone());
    let exchange = |cursor: i64, edits: Vec<Edit>| {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id,
            device_clock_ms: w.clock.now_ms(),
            cursor,
            edits,
            page_limit: 10,
            bundle: false,
            want_digest: false,
            repair: None,
        };
        w.svc.sync(&hash, &req).unwrap()
    };
    // Everything there is, first.
    let mut cursor = 0;
    loop {
        let r = exchange(cursor, Vec::new());
        cursor = r.cursor;
        if !r.more {
            break;
        }
    }
    let mut ids = HashSet::new();
    let edits: Vec<Edit> = (0..50)
        .map(|i| {
            let id = Uuid::now_v7();
            ids.insert(id);
            let fields = json!({"posyandu_id": w.posyandu_a.to_string(),
                "name": format!("Anak {i}"), "sex": "L", "birth_date": "2024-01-01"});
            w.edit(&mut dev, Kind::Child, id, fields)
        })
        .collect();
    let r = exchange(cursor, edits);
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    let confirmed: u32 = r.own.iter().map(|run| run.2).sum();
    assert_eq!(
        confirmed, 50,
        "every record of the push confirmed in its answer"
    );
    assert!(r.changes.iter().all(|c| !ids.contains(&c.id)));
    let (mut cursor, mut more) = (r.cursor, r.more);
    while more {
        let next = exchange(cursor, Vec::new());
        assert!(next.changes.iter().all(|c| !ids.contains(&c.id)), "echoed");
        (cursor, more) = (next.cursor, next.more);
    }
}

#[test]
fn sqlite_a_push_is_confirmed_whole() {
    a_push_is_confirmed_whole(sqlite());
}

#[test]
fn postgres_a_push_is_confirmed_whole() {
    a_push_is_confirmed_whole(postgres());
}

#[test]
fn sqlite_pages_are_bounded_by_bytes() {
    pages_are_bounded_by_bytes(sqlite());
}
#[test]
fn postgres_pages_are_bounded_by_bytes() {
    pages_are_bounded_by_bytes(postgres());
}

/// Case 1 with edits pending in both copies (a phone restored from a backup, one enrollment on
/// two phones): one copy delivers them, the other is told `seq_reused` and numbers every pending
/// edit again, those included. Under its new number such an edit is still the same edit (same
/// hash): acknowledged with the answer it had, never applied a second time (an old rename would
/// otherwise come back over a later one).
fn an_edit_numbered_again_is_not_applied_twice(w: World) {
    let mut ka = w.enroll("kader_a");
    let budi = Uuid::now_v7();
    let shared = vec![
        w.edit(
            &mut ka,
            Kind::Child,
            budi,
            json!({"posyandu_id": w.posyandu_a.to_string(), "name": "Budi", "sex": "L",
                   "birth_date": "2023-03-14"}),
        ),
        w.edit(&mut ka, Kind::Child, budi, json!({"name": "Ani"})),
        w.edit(&mut ka, Kind::Child, budi, json!({"name": "x".repeat(201)})),
    ];
    // The store is copied here. The first copy delivers the three and its own next edit, then
    // renames the child again.
    let mut first = shared.clone();
    first.push(w.edit(&mut ka, Kind::Child, budi, json!({"dusun": "Krajan"})));
    let r = w.send(&ka, first).unwrap();
    assert_eq!(r.refused.len(), 1);
    w.ok(&mut ka, Kind::Child, budi, json!({"name": "Citra"}));
    // The second copy made its own fourth edit.
    ka.seq = 3;
    let mut second = shared;
    second.push(w.edit(&mut ka, Kind::Child, budi, json!({"dusun": "Wetan"})));
    match w.send(&ka, second.clone()) {
        Err(ServerError::SeqReused(5)) => {}
        other => panic!("expected seq_reused up to 5, got {other:?}"),
    }
    let renumbered: Vec<Edit> = second
        .into_iter()
        .zip(6..)
        .map(|(e, n)| Edit { device_seq: n, ..e })
        .collect();
    let r = w.send(&ka, renumbered).unwrap();
    assert_eq!(r.acked_through, 9);
    let refused: Vec<_> = r
        .refused
        .iter()
        .map(|r| (r.device_seq, r.problem.code.as_str()))
        .collect();
    assert_eq!(
        refused,
        [(8, "text_too_long")],
        "the same answer, new number"
    );
    assert_eq!(
        w.field(budi, "name"),
        Some(json!("Citra")),
        "not renamed back"
    );
    assert_eq!(w.field(budi, "dusun"), Some(json!("Wetan")));
}

#[test]
fn sqlite_an_edit_numbered_again_is_not_applied_twice() {
    an_edit_numbered_again_is_not_applied_twice(sqlite());
}
#[test]
fn postgres_an_edit_numbered_again_is_not_applied_twice() {
    an_edit_numbered_again_is_not_applied_twice(postgres());
}
#[test]
fn sqlite_a_reused_number_is_not_taken_for_a_retry() {
    a_reused_number_is_not_taken_for_a_retry(sqlite());
}
#[test]
fn postgres_a_reused_number_is_not_taken_for_a_retry() {
    a_reused_number_is_not_taken_for_a_retry(postgres());
}
#[test]
fn sqlite_merges_stay_in_scope() {
    merges_stay_in_scope(sqlite());
}
#[test]
fn postgres_merges_stay_in_scope() {
    merges_stay_in_scope(postgres());
}
#[test]
fn sqlite_a_refused_merge_leaves_no_trace() {
    a_refused_merge_leaves_no_trace(sqlite());
}
#[test]
fn postgres_a_refused_merge_leaves_no_trace() {
    a_refused_merge_leaves_no_trace(postgres());
}
#[test]
fn sqlite_the_referral_answer_is_the_bidans() {
    the_referral_answer_is_the_bidans(sqlite());
}
#[test]
fn postgres_the_referral_answer_is_the_bidans() {
    the_referral_answer_is_the_bidans(postgres());
}
#[test]
fn sqlite_texts_have_limits() {
    texts_have_limits(sqlite());
}
#[test]
fn postgres_texts_have_limits() {
    texts_have_limits(postgres());
}
