//! The pregnancy register read from a real device store: KEK and anaemia from the latest
//! readings, gestational age and due date, Td status with the next dose, visits in order.

mod common;

use chrono::NaiveDate;
use serde_json::{json, Value};
use sinergi_core::hlc::ManualClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::store::LocalStore;
use std::sync::Arc;
use uuid::Uuid;

/// 2025-06-01 00:00 UTC.
const NOW: i64 = 1_748_736_000_000;

fn fields(v: Value) -> Fields {
    v.as_object().unwrap().clone()
}

fn store(dir: &std::path::Path, posyandu: Uuid) -> LocalStore {
    let mut s = LocalStore::open_with_clock(dir, Arc::new(ManualClock::new(NOW))).unwrap();
    common::enroll_kader(&mut s, posyandu, "token", NOW);
    s
}

#[test]
fn register_judges_latest_readings_and_td() {
    let dir = tempfile::tempdir().unwrap();
    let posyandu = Uuid::from_u128(2);
    let mut s = store(dir.path(), posyandu);

    let woman = s
        .create(
            Kind::Woman,
            fields(json!({"posyandu_id": posyandu.to_string(), "name": "Siti Hamil", "nik": "3201010101900001"})),
        )
        .unwrap()
        .id;
    let preg = s
        .create(
            Kind::Pregnancy,
            fields(json!({"woman_id": woman.to_string(), "hpht": "2025-02-01", "gravida": 2, "para": 1})),
        )
        .unwrap()
        .id;
    let visit = |s: &mut LocalStore, v: Value| {
        let mut f = fields(v);
        f.insert("pregnancy_id".into(), json!(preg.to_string()));
        s.create(Kind::PregnancyVisit, f).unwrap();
    };
    // Entered out of order: the register sorts by date.
    visit(
        &mut s,
        json!({"date": "2025-05-10", "muac_cm": 24.0, "contact": "K2"}),
    );
    visit(
        &mut s,
        json!({"date": "2025-03-15", "muac_cm": 22.9, "hb_g_dl": 10.4, "td_given": "T2", "contact": "K1"}),
    );

    let reg = s.pregnancy_register().unwrap();
    assert_eq!(reg.len(), 1);
    let e = &reg[0];
    assert_eq!(e.woman_name, "Siti Hamil");
    assert_eq!(e.posyandu_id, Some(posyandu));
    assert_eq!(
        e.due_date,
        Some(NaiveDate::from_ymd_opt(2025, 11, 8).unwrap())
    );
    assert_eq!(e.weeks, Some(17), "2025-02-01 to 2025-06-01");
    assert_eq!(e.trimester, Some(2));
    assert_eq!(e.visits, 2);
    assert_eq!(e.last_visit, NaiveDate::from_ymd_opt(2025, 5, 10));
    assert_eq!(e.last_contact.as_deref(), Some("K2"));
    // The latest LiLA (24.0) is no longer KEK; the only Hb (10.4) is anaemia.
    assert_eq!((e.lila_cm, e.kek), (Some(24.0), Some(false)));
    assert_eq!((e.hb_g_dl, e.anaemia), (Some(10.4), Some(true)));
    assert_eq!(e.td_status.as_deref(), Some("T2"));
    let next = e.next_td.as_ref().unwrap();
    assert_eq!(next.dose, "T3");
    assert_eq!(next.due_from, NaiveDate::from_ymd_opt(2025, 9, 15));
    assert!(e.active);

    let page = s.pregnancy_page(preg).unwrap();
    let dates: Vec<String> = page.visits.iter().map(|v| v.date.to_string()).collect();
    assert_eq!(dates, ["2025-03-15", "2025-05-10"]);
    assert_eq!(page.visits[0].kek, Some(true));

    // A birth ends it: still listed, no longer active, no gestational age.
    s.update(
        Kind::Pregnancy,
        preg,
        fields(json!({"outcome": "lahir_hidup", "outcome_date": "2025-05-30"})),
    )
    .unwrap();
    let e = &s.pregnancy_register().unwrap()[0];
    assert!(!e.active);
    assert_eq!(e.weeks, None);
    assert!(
        s.pregnancy_page(woman).is_err(),
        "a woman id is not a pregnancy"
    );
}
