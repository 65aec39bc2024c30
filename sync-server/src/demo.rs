//! The demo puskesmas the README's run command starts with: desa, posyandu, users and children
//! with a few months of measurements. Deterministic (seeded), so every machine sees the same.

use crate::service::Service;
use crate::storage::Result;
use chrono::{Datelike, Months, NaiveDate};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::Role;
use uuid::Uuid;

pub const DEMO_PASSWORD: &str = "sinergi-demo";

#[derive(Debug, serde::Serialize)]
pub struct DemoSummary {
    pub puskesmas_id: Uuid,
    pub posyandu: Vec<(String, Uuid)>,
    pub users: Vec<(String, String)>,
    pub children: u32,
    pub measurements: u32,
}

fn obj(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Fields::new(),
    }
}

const NAMES: &[&str] = &[
    "Aisyah",
    "Budi",
    "Citra",
    "Dewi",
    "Eko",
    "Fajar",
    "Gita",
    "Hana",
    "Indra",
    "Joko",
    "Kartika",
    "Lestari",
    "Made",
    "Nur",
    "Oktaviani",
    "Putri",
    "Rizky",
    "Sari",
    "Tono",
    "Umi",
    "Wahyu",
    "Yusuf",
];
const MOTHERS: &[&str] = &[
    "Siti", "Ani", "Rina", "Wati", "Yuni", "Lina", "Tuti", "Ratna", "Sri", "Nining",
];

/// Seed the demo puskesmas into an empty server. Does nothing if it is already initialized.
pub fn seed(svc: &Service, today: NaiveDate) -> Result<Option<DemoSummary>> {
    if !svc.puskesmas_ids()?.is_empty() {
        return Ok(None);
    }
    let mut rng = StdRng::seed_from_u64(2020);
    let pusk = svc.init("Puskesmas Sukamaju (demo)")?;
    let mut posyandu = Vec::new();
    for (desa, names) in [
        ("Desa Sukamaju", ["Mawar", "Melati"]),
        ("Desa Cibeureum", ["Anggrek", "Kenanga"]),
    ] {
        let d = svc.add_desa(desa, Some(pusk))?;
        for n in names {
            posyandu.push((
                format!("Posyandu {n}"),
                svc.add_posyandu(d, &format!("Posyandu {n}"))?,
            ));
        }
    }
    let mut users = vec![
        ("admin".to_string(), "admin".to_string()),
        ("bidan".to_string(), "bidan".to_string()),
        ("koordinator".to_string(), "coordinator".to_string()),
    ];
    svc.add_user("admin", Role::Admin, None, Some(pusk), DEMO_PASSWORD)?;
    svc.add_user("bidan", Role::Bidan, None, Some(pusk), DEMO_PASSWORD)?;
    svc.add_user(
        "koordinator",
        Role::Coordinator,
        None,
        Some(pusk),
        DEMO_PASSWORD,
    )?;
    for (i, (_, p)) in posyandu.iter().enumerate() {
        let name = format!("kader{}", i + 1);
        svc.add_user(&name, Role::Kader, Some(*p), None, DEMO_PASSWORD)?;
        users.push((name, format!("kader ({})", posyandu[i].0)));
    }
    let now = svc.clock.now_ms();
    let (mut children, mut measurements) = (0, 0);
    for (_, p) in &posyandu {
        for c in 0..12 {
            let months_old: u32 = rng.gen_range(1..58);
            let birth = today
                .checked_sub_months(Months::new(months_old))
                .and_then(|d| d.with_day(rng.gen_range(1..=28)))
                .unwrap_or(today);
            let sex = if rng.gen_bool(0.5) { "L" } else { "P" };
            let mother_name = MOTHERS[rng.gen_range(0..MOTHERS.len())];
            let mother = Uuid::now_v7();
            svc.store.server_write(
                Kind::Woman,
                mother,
                obj(json!({"posyandu_id": p.to_string(), "name": format!("{mother_name} {}", c + 1), "dusun": "Dusun Krajan"})),
                now,
            )?;
            let child = Uuid::now_v7();
            let name = format!(
                "{} {}",
                NAMES[rng.gen_range(0..NAMES.len())],
                NAMES[rng.gen_range(0..NAMES.len())]
            );
            svc.store.server_write(
                Kind::Child,
                child,
                obj(json!({
                    "posyandu_id": p.to_string(), "name": name, "sex": sex,
                    "birth_date": birth.to_string(), "mother_id": mother.to_string(),
                    "mother_name": format!("{mother_name} {}", c + 1), "has_kms": true, "status": "aktif",
                    "dusun": "Dusun Krajan"
                })),
                now,
            )?;
            children += 1;
            // Three monthly weighings on the 10th, a typical curve with some noise.
            for back in (1..=3u32).rev() {
                let Some(date) = today
                    .checked_sub_months(Months::new(back))
                    .and_then(|d| d.with_day(10))
                else {
                    continue;
                };
                if date <= birth {
                    continue;
                }
                let age_m = (date - birth).num_days() as f64 / 30.4375;
                let base = if age_m < 12.0 {
                    3.3 + 0.6 * age_m - 0.018 * age_m * age_m
                } else {
                    9.5 + 0.2 * (age_m - 12.0)
                };
                let weight = ((base * rng.gen_range(0.8..1.1)) * 10.0_f64).round() / 10.0;
                let length = ((50.0
                    + if age_m < 12.0 {
                        2.1 * age_m
                    } else {
                        25.0 + 0.9 * (age_m - 12.0)
                    })
                    * rng.gen_range(0.95..1.03)
                    * 10.0_f64)
                    .round()
                    / 10.0;
                let position = if age_m < 24.0 { "lying" } else { "standing" };
                svc.store.server_write(
                    Kind::Measurement,
                    Uuid::now_v7(),
                    obj(json!({"child_id": child.to_string(), "date": date.to_string(), "weight_kg": weight, "length_cm": length, "position": position, "place": "posyandu"})),
                    now,
                )?;
                measurements += 1;
            }
        }
    }
    Ok(Some(DemoSummary {
        puskesmas_id: pusk,
        posyandu,
        users,
        children,
        measurements,
    }))
}
