//! The posyandu day list read from a real device store: who is expected and who is done this
//! month, each child's last weighing, the order the kader sees.

mod common;

use chrono::NaiveDate;
use serde_json::{json, Value};
use sinergi_core::hlc::ManualClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::report::YearMonth;
use sinergi_core::store::LocalStore;
use std::sync::Arc;
use uuid::Uuid;

/// 2025-06-15 00:00 UTC.
const NOW: i64 = 1_749_945_600_000;
const POSYANDU: Uuid = Uuid::from_u128(2);

fn store(dir: &std::path::Path) -> LocalStore {
    let mut s = LocalStore::open_with_clock(dir, Arc::new(ManualClock::new(NOW))).unwrap();
    common::enroll_kader(&mut s, POSYANDU, "token", NOW);
    s
}

fn child(s: &mut LocalStore, name: &str, extra: Value) -> Uuid {
    let mut f = Fields::new();
    f.insert("posyandu_id".into(), json!(POSYANDU.to_string()));
    f.insert("name".into(), json!(name));
    f.insert("sex".into(), json!("P"));
    f.insert("birth_date".into(), json!("2025-01-15"));
    f.insert("mother_name".into(), json!("Ibu Sari"));
    f.extend(extra.as_object().unwrap().clone());
    s.create(Kind::Child, f).unwrap().id
}

fn weigh(s: &mut LocalStore, child: Uuid, date: &str, kg: f64) {
    let mut m = Fields::new();
    m.insert("child_id".into(), json!(child.to_string()));
    m.insert("date".into(), json!(date));
    m.insert("weight_kg".into(), json!(kg));
    s.create(Kind::Measurement, m).unwrap();
}

#[test]
fn expected_first_then_done_each_by_name_with_the_last_weighing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let budi = child(&mut s, "budi", json!({"nik": "3301010101010001"}));
    let ayu = child(&mut s, "Ayu", json!({}));
    let citra = child(&mut s, "Citra", json!({"dusun": "Krajan"}));
    let moved = child(&mut s, "Dodi", json!({"status": "pindah"}));
    weigh(&mut s, ayu, "2025-05-10", 8.1);
    weigh(&mut s, ayu, "2025-06-03", 8.4);
    weigh(&mut s, citra, "2025-05-20", 7.9);
    weigh(&mut s, moved, "2025-06-01", 9.0);

    let june = s.day_list(YearMonth::new(2025, 6).unwrap()).unwrap();
    let names: Vec<_> = june.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["budi", "Citra", "Ayu"],
        "expected first, by name ignoring case"
    );
    let by = |id| june.iter().find(|e| e.id == id).unwrap();
    assert!(by(ayu).done);
    assert_eq!(by(ayu).last_date, NaiveDate::from_ymd_opt(2025, 6, 3));
    assert_eq!(by(ayu).last_weight_kg, Some(8.4));
    assert_eq!(by(ayu).mother_name.as_deref(), Some("Ibu Sari"));
    assert_eq!(by(ayu).birth_date, "2025-01-15");
    assert_eq!(by(ayu).sex, "P");
    assert!(!by(citra).done);
    assert_eq!(by(citra).last_weight_kg, Some(7.9));
    assert_eq!(by(citra).dusun.as_deref(), Some("Krajan"));
    assert_eq!(by(budi).nik.as_deref(), Some("3301010101010001"));
    assert_eq!(by(budi).last_date, None);
    assert_eq!(by(budi).pending, 1, "made here, not yet synced");

    // May: Ayu and Citra were weighed; July: nobody yet.
    let may = s.day_list(YearMonth::new(2025, 5).unwrap()).unwrap();
    let done: Vec<_> = may
        .iter()
        .filter(|e| e.done)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(done, ["Ayu", "Citra"]);
    let july = s.day_list(YearMonth::new(2025, 7).unwrap()).unwrap();
    assert!(july.iter().all(|e| !e.done));
    assert_eq!(july.len(), 3);
}

#[test]
fn a_merged_child_leaves_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let a = child(&mut s, "Siti", json!({}));
    let b = child(&mut s, "Siti A", json!({}));
    // A bidan merged them (a kader may not): the merge arrives from the server.
    let mut f = s.get(b).unwrap().unwrap().fields;
    f.insert("merged_into".into(), json!(a.to_string()));
    f.insert("status".into(), json!("digabung"));
    let resp: sinergi_core::protocol::SyncResponse = serde_json::from_value(json!({
        "acked_through": 2, "refused": [], "conflicts": 0, "exits": [],
        "changes": [{"kind": "child", "id": b, "seq": 9, "posyandu_id": POSYANDU, "fields": f}],
        "cursor": 9, "more": false, "server_clock_ms": NOW, "clock_offset_ms": 0, "clock_warning": false
    }))
    .unwrap();
    s.apply_response(&resp).unwrap();
    let list = s.day_list(YearMonth::new(2025, 6).unwrap()).unwrap();
    assert_eq!(list.iter().map(|e| e.id).collect::<Vec<_>>(), [a]);
}
