//! Benchmark of the monthly report set: a puskesmas of 4,500 children and a district of
//! 100,000 children, each with 12 months of measurements (January-December 2025, about 95 %
//! attendance), their immunizations and vitamin A capsules, pregnancies with visits, referrals
//! and births / deaths. Prints the time to read the records into a `ReportInput`, to build the
//! reports for December 2025, and to write them as XLSX, CSV, PDF and JSON.
//!
//! Run: `cargo run --release -p sinergi-core --example report_bench [N ...]`
//! (default sizes 4500 and 100000). With `SINERGI_BENCH_OUT=DIR` the files are also written
//! there as `bench-N.xlsx` etc.

use std::hint::black_box;
use std::time::Instant;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde_json::{json, Map, Value};
use sinergi_core::growth::schedule;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::report::{self, build, Level, ReportInputBuilder, YearMonth};
use uuid::Uuid;

/// Children per posyandu, posyandu per desa, desa per puskesmas (4,500 children).
const PER_POSYANDU: usize = 60;
const POSYANDU_PER_DESA: usize = 5;
const DESA_PER_PUSKESMAS: usize = 15;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn obj(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

type Rec = (Kind, Uuid, Option<Uuid>, Fields);

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Records for `n` children; returns the records and the first puskesmas id.
fn generate(n: usize) -> (Vec<Rec>, Uuid) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let mut next_id: u128 = 1;
    let mut id = || {
        next_id += 1;
        Uuid::from_u128(next_id)
    };
    let mut recs: Vec<Rec> = Vec::with_capacity(n * 30);
    let report_end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let n_posyandu = n.div_ceil(PER_POSYANDU);
    let mut posyandu = Vec::with_capacity(n_posyandu);
    let (mut pk, mut desa) = (Uuid::nil(), Uuid::nil());
    let mut first_pk = None;
    for p in 0..n_posyandu {
        if p % (POSYANDU_PER_DESA * DESA_PER_PUSKESMAS) == 0 {
            pk = id();
            first_pk.get_or_insert(pk);
            recs.push((
                Kind::Puskesmas,
                pk,
                None,
                obj(json!({"name": format!("Puskesmas {p}")})),
            ));
        }
        if p % POSYANDU_PER_DESA == 0 {
            desa = id();
            recs.push((
                Kind::Desa,
                desa,
                None,
                obj(json!({"puskesmas_id": pk.to_string(), "name": format!("Desa {p}")})),
            ));
        }
        let pid = id();
        recs.push((
            Kind::Posyandu,
            pid,
            None,
            obj(
                json!({"desa_id": desa.to_string(), "puskesmas_id": pk.to_string(),
                       "name": format!("Posyandu {p}")}),
            ),
        ));
        posyandu.push(pid);
    }
    let vaccines: Vec<(String, u32)> = schedule()
        .vaccines
        .iter()
        .filter(|v| v.group.is_none())
        .map(|v| (v.code.clone(), v.due_month))
        .collect();

    for c in 0..n {
        let p = posyandu[c / PER_POSYANDU];
        let child = id();
        let age_days = rng.below(60 * 30);
        let birth = report_end - Days::new(age_days);
        let sex = if rng.below(2) == 0 { "L" } else { "P" };
        let mut f = json!({
            "posyandu_id": p.to_string(), "name": format!("Anak {c}"), "sex": sex,
            "birth_date": date(birth), "has_kms": rng.below(10) < 8,
        });
        match rng.below(100) {
            0 => {
                f["status"] = json!("pindah");
                f["status_date"] = json!(date(report_end - Days::new(rng.below(300))));
            }
            1 => f["status"] = json!("meninggal"),
            _ => {}
        }
        recs.push((Kind::Child, child, Some(p), obj(f)));

        // 12 months of weighings, lengths in February and August.
        let mut weight = 3.3 + rng.unit() * 0.5;
        let mut length = 50.0;
        let months_old = |d: NaiveDate| ((d - birth).num_days() as f64 / 30.4375).max(0.0);
        for m in 1..=12u32 {
            let day = NaiveDate::from_ymd_opt(2025, m, 5 + rng.below(20) as u32).unwrap();
            if day < birth || rng.below(100) >= 95 {
                continue;
            }
            let age = months_old(day);
            // Median-like growth with noise.
            weight = (3.3 + age * 0.55 - (age * age) * 0.004) * (0.85 + rng.unit() * 0.3);
            length = 50.0 + age * 2.0 - age * age * 0.013 + rng.unit() * 3.0;
            let mut mf = json!({"child_id": child.to_string(), "date": date(day),
                                "weight_kg": (weight * 10.0).round() / 10.0});
            if m == 2 || m == 8 {
                mf["length_cm"] = json!((length * 10.0).round() / 10.0);
                mf["position"] = json!(if age < 24.0 { "lying" } else { "standing" });
            }
            recs.push((Kind::Measurement, id(), Some(p), obj(mf)));
        }
        black_box((weight, length));

        // Immunizations at their due month (90 % given).
        for (code, due) in &vaccines {
            let Some(d) = birth.checked_add_months(Months::new(*due)) else {
                continue;
            };
            if d <= report_end && rng.below(10) < 9 {
                recs.push((
                    Kind::Immunization,
                    id(),
                    Some(p),
                    obj(json!({"child_id": child.to_string(), "vaccine": code, "date": date(d)})),
                ));
            }
        }
        // Vitamin A: red in February and August at 12-59 months.
        for m in [2u32, 8] {
            let d = NaiveDate::from_ymd_opt(2025, m, 15).unwrap();
            if d > birth && months_old(d) >= 12.0 && rng.below(10) < 8 {
                recs.push((
                    Kind::VitaminA,
                    id(),
                    Some(p),
                    obj(
                        json!({"child_id": child.to_string(), "date": date(d), "capsule": "merah"}),
                    ),
                ));
            }
        }
        // Referrals, births and deaths now and then.
        if rng.below(50) == 0 {
            let d = NaiveDate::from_ymd_opt(2025, 1 + rng.below(12) as u32, 10).unwrap();
            recs.push((
                Kind::Referral,
                id(),
                Some(p),
                obj(
                    json!({"child_id": child.to_string(), "date": date(d), "reason": "2t",
                           "status": if rng.below(2) == 0 { "menunggu" } else { "selesai" }}),
                ),
            ));
        }
        if birth.year() == 2025 {
            recs.push((
                Kind::Event,
                id(),
                Some(p),
                obj(
                    json!({"posyandu_id": p.to_string(), "type": "lahir", "subject": "bayi",
                           "date": date(birth), "child_id": child.to_string()}),
                ),
            ));
        }
        // One pregnancy per 10 children, with 3 visits.
        if c % 10 == 0 {
            let woman = id();
            let preg = id();
            recs.push((
                Kind::Woman,
                woman,
                Some(p),
                obj(json!({"posyandu_id": p.to_string(), "name": format!("Ibu {c}")})),
            ));
            let hpht = report_end - Days::new(30 + rng.below(240));
            recs.push((
                Kind::Pregnancy,
                preg,
                Some(p),
                obj(json!({"woman_id": woman.to_string(), "hpht": date(hpht)})),
            ));
            for k in 0..3u64 {
                let d = hpht + Days::new(30 + k * 60);
                recs.push((
                    Kind::PregnancyVisit,
                    id(),
                    Some(p),
                    obj(json!({"pregnancy_id": preg.to_string(), "date": date(d.min(report_end)),
                               "muac_cm": 21.0 + rng.unit() * 8.0, "hb_g_dl": 9.0 + rng.unit() * 4.0})),
                ));
            }
        }
    }
    (recs, first_pk.unwrap_or_default())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![4_500, 100_000]
    } else {
        sizes
    };
    sinergi_core::growth::tables::init();
    let month: YearMonth = "2025-12".parse().unwrap();
    for n in sizes {
        let t = Instant::now();
        let (recs, first_pk) = generate(n);
        let measurements = recs.iter().filter(|r| r.0 == Kind::Measurement).count();
        println!(
            "{n} children: {} records ({measurements} measurements) generated in {:.0} ms",
            recs.len(),
            ms(t)
        );

        let t = Instant::now();
        let mut b = ReportInputBuilder::new();
        for (k, id, p, f) in &recs {
            b.push(*k, *id, *p, f);
        }
        let t_push = ms(t);
        let input = b.finish();
        let t_read = ms(t);
        println!("  (push {t_push:.1} ms, link {:.1} ms)", t_read - t_push);

        // The area: one puskesmas for the small case, everything (a district) otherwise.
        let level = if n <= 4_500 {
            Level::Puskesmas(first_pk)
        } else {
            Level::All
        };
        let t = Instant::now();
        let rep = build(&input, month, level);
        let t_build = ms(t);
        let t = Instant::now();
        let mut sizes = Vec::new();
        let out_dir = std::env::var_os("SINERGI_BENCH_OUT").map(std::path::PathBuf::from);
        for f in report::Format::ALL {
            let bytes = report::render(&rep, f).expect("render");
            if let Some(dir) = &out_dir {
                let path = dir.join(format!("bench-{n}.{}", f.extension()));
                std::fs::write(path, &bytes).expect("write");
            }
            sizes.push((f, bytes.len()));
        }
        let t_render = ms(t);
        println!(
            "  read {t_read:.1} ms, build {t_build:.1} ms (S {} D {} N {} T {} O {} B {}, {} posyandu rows), \
             render xlsx+csv+pdf+json {t_render:.1} ms",
            rep.skdn.total.s,
            rep.skdn.total.d,
            rep.skdn.total.n,
            rep.skdn.total.t,
            rep.skdn.total.o,
            rep.skdn.total.b,
            rep.skdn.rows.len()
        );
        println!(
            "  full monthly report set (read + build): {:.1} ms; with all four files: {:.1} ms",
            t_read + t_build,
            t_read + t_build + t_render
        );
        let files: Vec<String> = sizes
            .iter()
            .map(|(f, s)| format!("{} {} KiB", f.extension(), s / 1024))
            .collect();
        println!("  files: {}", files.join(", "));
        black_box(&rep);
    }
}
