//! A hand-worked cohort for the monthly reports: 15 children (one a merged duplicate) in two
//! posyandu of one desa (plus an empty posyandu in another desa), weighed from November 2024 to
//! March 2025; reports for January, February and March 2025. Every expected number below is
//! worked out by hand in the comments, from the rules in DOMAIN.md and the module notes of
//! `sinergi_core::report`.
//!
//! Places: puskesmas PK; desa D1 with posyandu P1 "Melati" and P2 "Mawar"; desa D2 with
//! posyandu P3 "Anggrek" (no records at all).
//!
//! KBM: 800 g at 0-1 month, 900 g at 2 months, 400 g at 6 months, 300 g at 7-11 months, 200 g
//! from 12 months (age in completed months at the weighing).
//!
//! | child | sex | born | KMS | weighings (kg) | notes |
//! | --- | --- | --- | --- | --- | --- |
//! | A Ani | P | 2023-03-10 | yes | Dec 10.0, Jan 10.3, Feb 10.6, Mar 10.9 | N every month |
//! | B Budi | L | 2022-06-15 | yes | Dec 12.0, Jan 12.1, Feb 12.1, Mar 12.5 | T, T (2T in Feb), N |
//! | C Citra | P | 2024-09-05 | yes | Feb 7.0, Mar 7.5 | B in Feb, N in Mar (+500 >= 400) |
//! | Dw Dewi | P | 2021-01-20 | yes | Nov 14.0, Feb 14.5, Mar 14.6 | O in Feb, T in Mar |
//! | E Eko | L | 2020-02-15 | yes | Dec 17.0, Jan 17.3, Feb 17.5 | turns 60 months on 15 Feb |
//! | F Fajar | L | 2023-05-01 | yes | Dec 7.0, Jan 7.3, Feb 7.5, Mar 7.6 | BGM; N, N (+200 = KBM), T |
//! | G Gita | P | 2022-11-11 | yes | Dec 11.0, Jan 11.3, Feb 11.4 | moved away 20 Feb |
//! | H Hadi | L | 2023-08-08 | yes | Dec 9.5, Jan 9.7, Feb 9.8, 3 Mar 9.8 | died 5 Mar |
//! | I Indah | P | 2024-12-20 | yes | Jan 3.5, Feb 4.4, Mar 5.0 | B, N (+900 >= 800), T (+600 < 900) |
//! | J Joko | L | 2025-02-14 | no | 20 Feb 3.4, 20 Mar 4.3 | born in Feb: B, N |
//! | K Kartika | P | 2021-06-01 | no | none | in S, never weighed |
//! | L Lukman | L | 2022-01-05 | yes | Nov 12.5, Dec 12.8, Jan 13.0, (Feb 13.1), 3 Mar 13.5, 24 Mar 13.1 | the Feb weighing is recorded on his merged duplicate M; two weighings in Mar, the last counts |
//! | M | L | 2022-01-05 | - | Feb 13.1 | status digabung, merged into L |
//! | Ni Nina | P | 2023-01-15 | yes | Jan 11.0, Feb 11.1, Mar 11.4 | P2: B, T, N |
//! | Ok Oki | L | 2024-03-03 | yes | Dec 8.5, Jan 8.9, Feb 9.0, Mar 9.2 | P2: N (+400 >= 300), T (+100 < 300), N (+200 at 12 months) |
//!
//! Weighings are on the 10th unless said otherwise.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sinergi_core::growth::{Category, Sex};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::report::{
    self, build, AgeGroup, Level, MonthlyReport, ReportInput, Skdn, YearMonth,
};
use uuid::Uuid;

const PK: u128 = 1;
const D1: u128 = 2;
const D2: u128 = 3;
const P1: u128 = 10;
const P2: u128 = 11;
const P3: u128 = 12;

// Children.
const A: u128 = 100;
const B: u128 = 101;
const C: u128 = 102;
const DW: u128 = 103;
const E: u128 = 104;
const F: u128 = 105;
const G: u128 = 106;
const H: u128 = 107;
const I: u128 = 108;
const J: u128 = 109;
const K: u128 = 110;
const L: u128 = 111;
const M: u128 = 112;
const NI: u128 = 113;
const OK: u128 = 114;

// Women and pregnancies.
const W1: u128 = 200;
const W2: u128 = 201;
const W3: u128 = 202;
const W4: u128 = 203;
const W5: u128 = 204;

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[derive(Default)]
struct Records {
    recs: Vec<(Kind, Uuid, Option<Uuid>, Fields)>,
    next: u128,
}

impl Records {
    fn add(&mut self, kind: Kind, id: Option<u128>, posyandu: Option<u128>, v: Value) {
        let id = id.unwrap_or_else(|| {
            self.next += 1;
            10_000 + self.next
        });
        self.recs.push((kind, u(id), posyandu.map(u), fields(v)));
    }

    #[allow(clippy::too_many_arguments)]
    fn child(
        &mut self,
        id: u128,
        p: u128,
        name: &str,
        sex: &str,
        birth: &str,
        kms: bool,
        extra: Value,
    ) {
        let mut f = json!({
            "posyandu_id": u(p).to_string(), "name": name, "sex": sex,
            "birth_date": birth, "has_kms": kms,
        });
        for (k, v) in fields(extra) {
            f[k] = v;
        }
        self.add(Kind::Child, Some(id), Some(p), f);
    }

    fn weigh(&mut self, child: u128, date: &str, kg: f64) {
        self.add(
            Kind::Measurement,
            None,
            None,
            json!({"child_id": u(child).to_string(), "date": date, "weight_kg": kg}),
        );
    }

    fn measure(&mut self, child: u128, date: &str, kg: f64, cm: f64, position: &str) {
        self.add(
            Kind::Measurement,
            None,
            None,
            json!({"child_id": u(child).to_string(), "date": date, "weight_kg": kg,
                   "length_cm": cm, "position": position}),
        );
    }

    fn imm(&mut self, child: u128, date: &str, vaccines: &[&str]) {
        for v in vaccines {
            self.add(
                Kind::Immunization,
                None,
                None,
                json!({"child_id": u(child).to_string(), "vaccine": v, "date": date}),
            );
        }
    }

    fn vita(&mut self, child: u128, date: &str, capsule: &str) {
        self.add(
            Kind::VitaminA,
            None,
            None,
            json!({"child_id": u(child).to_string(), "date": date, "capsule": capsule}),
        );
    }

    fn input(&self) -> ReportInput {
        ReportInput::from_records(self.recs.iter().map(|(k, id, p, f)| (*k, *id, *p, f)))
    }
}

fn cohort() -> Records {
    let mut r = Records::default();
    r.add(Kind::Puskesmas, Some(PK), None, json!({"name": "Sukamaju"}));
    for (d, name) in [(D1, "Mekarsari"), (D2, "Cibodas")] {
        r.add(
            Kind::Desa,
            Some(d),
            None,
            json!({"puskesmas_id": u(PK).to_string(), "name": name}),
        );
    }
    for (p, d, name) in [(P1, D1, "Melati"), (P2, D1, "Mawar"), (P3, D2, "Anggrek")] {
        r.add(
            Kind::Posyandu,
            Some(p),
            None,
            json!({"desa_id": u(d).to_string(), "puskesmas_id": u(PK).to_string(), "name": name}),
        );
    }

    let none = json!({});
    r.child(A, P1, "Ani", "P", "2023-03-10", true, none.clone());
    r.child(B, P1, "Budi", "L", "2022-06-15", true, none.clone());
    r.child(C, P1, "Citra", "P", "2024-09-05", true, none.clone());
    r.child(DW, P1, "Dewi", "P", "2021-01-20", true, none.clone());
    r.child(E, P1, "Eko", "L", "2020-02-15", true, none.clone());
    r.child(F, P1, "Fajar", "L", "2023-05-01", true, none.clone());
    r.child(
        G,
        P1,
        "Gita",
        "P",
        "2022-11-11",
        true,
        json!({"status": "pindah", "status_date": "2025-02-20"}),
    );
    r.child(
        H,
        P1,
        "Hadi",
        "L",
        "2023-08-08",
        true,
        json!({"status": "meninggal", "status_date": "2025-03-05"}),
    );
    r.child(I, P1, "Indah", "P", "2024-12-20", true, none.clone());
    r.child(J, P1, "Joko", "L", "2025-02-14", false, none.clone());
    r.child(
        K,
        P1,
        "Kartika",
        "P",
        "2021-06-01",
        false,
        json!({"status": "aktif"}),
    );
    r.child(L, P1, "Lukman", "L", "2022-01-05", true, none.clone());
    r.child(
        M,
        P1,
        "Lukman",
        "L",
        "2022-01-05",
        true,
        json!({"status": "digabung", "merged_into": u(L).to_string()}),
    );
    r.child(NI, P2, "Nina", "P", "2023-01-15", true, none.clone());
    r.child(OK, P2, "Oki", "L", "2024-03-03", true, none);

    // Weighings up to February (weight only).
    for (c, w) in [
        (
            A,
            &[
                ("2024-12-10", 10.0),
                ("2025-01-10", 10.3),
                ("2025-02-10", 10.6),
            ][..],
        ),
        (
            B,
            &[
                ("2024-12-10", 12.0),
                ("2025-01-10", 12.1),
                ("2025-02-10", 12.1),
            ],
        ),
        (C, &[("2025-02-10", 7.0)]),
        (DW, &[("2024-11-10", 14.0), ("2025-02-10", 14.5)]),
        (
            E,
            &[
                ("2024-12-10", 17.0),
                ("2025-01-10", 17.3),
                ("2025-02-10", 17.5),
            ],
        ),
        (
            F,
            &[
                ("2024-12-10", 7.0),
                ("2025-01-10", 7.3),
                ("2025-02-10", 7.5),
            ],
        ),
        (
            G,
            &[
                ("2024-12-10", 11.0),
                ("2025-01-10", 11.3),
                ("2025-02-10", 11.4),
            ],
        ),
        (
            H,
            &[
                ("2024-12-10", 9.5),
                ("2025-01-10", 9.7),
                ("2025-02-10", 9.8),
                ("2025-03-03", 9.8),
            ],
        ),
        (I, &[("2025-01-10", 3.5), ("2025-02-10", 4.4)]),
        (J, &[("2025-02-20", 3.4)]),
        (
            L,
            &[
                ("2024-11-10", 12.5),
                ("2024-12-10", 12.8),
                ("2025-01-10", 13.0),
                ("2025-03-03", 13.5),
            ],
        ),
        (M, &[("2025-02-10", 13.1)]),
        (NI, &[("2025-01-10", 11.0), ("2025-02-10", 11.1)]),
        (
            OK,
            &[
                ("2024-12-10", 8.5),
                ("2025-01-10", 8.9),
                ("2025-02-10", 9.0),
            ],
        ),
    ] {
        for (d, kg) in w {
            r.weigh(c, d, *kg);
        }
    }
    // March: weight and length/height (l lying, h standing); Oki weight only.
    r.measure(A, "2025-03-10", 10.9, 84.0, "standing");
    r.measure(B, "2025-03-10", 12.5, 91.0, "standing");
    r.measure(C, "2025-03-10", 7.5, 65.0, "lying");
    r.measure(DW, "2025-03-10", 14.6, 92.0, "standing");
    r.measure(F, "2025-03-10", 7.6, 80.0, "lying");
    r.measure(I, "2025-03-10", 5.0, 57.0, "lying");
    r.measure(J, "2025-03-20", 4.3, 54.0, "lying");
    r.measure(L, "2025-03-24", 13.1, 94.0, "standing");
    r.measure(NI, "2025-03-10", 11.4, 86.0, "standing");
    r.weigh(OK, "2025-03-10", 9.2);

    // Immunizations.
    r.imm(J, "2025-02-14", &["HB0"]);
    r.imm(J, "2025-03-20", &["BCG", "OPV1"]);
    r.imm(I, "2024-12-20", &["HB0"]);
    r.imm(I, "2025-01-20", &["BCG", "OPV1"]);
    r.imm(I, "2025-02-20", &["DPT_HB_HIB1", "OPV2", "PCV1"]);
    // "DPT2" is an old-register code for DPT_HB_HIB2; OPV1 entered a second time is no dose.
    r.imm(I, "2025-03-20", &["DPT2", "OPV3", "PCV2", "OPV1"]);
    for (c, dates) in [
        (
            OK,
            [
                "2024-03-03",
                "2024-04-05",
                "2024-05-05",
                "2024-06-05",
                "2024-07-05",
            ],
        ),
        (
            NI,
            [
                "2023-01-15",
                "2023-02-15",
                "2023-03-15",
                "2023-04-15",
                "2023-05-15",
            ],
        ),
    ] {
        r.imm(c, dates[0], &["HB0"]);
        r.imm(c, dates[1], &["BCG", "OPV1"]);
        r.imm(c, dates[2], &["DPT_HB_HIB1", "OPV2", "PCV1"]);
        r.imm(c, dates[3], &["DPT_HB_HIB2", "OPV3", "PCV2"]);
        r.imm(c, dates[4], &["DPT_HB_HIB3", "OPV4", "IPV"]);
    }
    r.imm(OK, "2025-02-25", &["MR1"]); // 11 months: IDL in February
    r.imm(NI, "2025-03-10", &["MR1"]); // 25 months: complete, late, in March

    // Vitamin A.
    r.vita(OK, "2024-09-10", "biru");
    for c in [A, B, F, H, L, NI] {
        r.vita(c, "2025-02-10", "merah");
    }
    r.vita(DW, "2025-03-10", "merah");
    r.vita(C, "2025-03-10", "biru");

    // Women, pregnancies and visits.
    for (w, p) in [(W1, P1), (W2, P1), (W3, P1), (W4, P2), (W5, P2)] {
        r.add(
            Kind::Woman,
            Some(w),
            Some(p),
            json!({"posyandu_id": u(p).to_string(), "name": format!("Ibu {w}")}),
        );
    }
    let preg = |w: u128| w + 100;
    for (w, hpht, outcome) in [
        (W1, "2024-08-01", None),
        (W2, "2024-10-01", None),
        (W3, "2024-05-01", Some(("lahir_hidup", "2025-02-14"))),
        (W4, "2024-12-01", None),
        (W5, "2024-09-01", None),
    ] {
        let mut f = json!({"woman_id": u(w).to_string(), "hpht": hpht});
        if let Some((o, d)) = outcome {
            f["outcome"] = json!(o);
            f["outcome_date"] = json!(d);
        }
        r.add(Kind::Pregnancy, Some(preg(w)), None, f);
    }
    for (w, date, muac, hb) in [
        (W1, "2025-03-12", Some(22.0), Some(11.0)),
        (W2, "2025-03-05", Some(23.5), Some(10.9)),
        (W2, "2025-03-25", None, Some(11.2)),
        (W3, "2025-02-10", Some(22.0), Some(10.0)),
        (W4, "2025-02-15", Some(24.0), None),
        (W5, "2025-03-08", Some(25.0), Some(9.8)),
    ] {
        let mut f = json!({"pregnancy_id": u(preg(w)).to_string(), "date": date});
        if let Some(m) = muac {
            f["muac_cm"] = json!(m);
        }
        if let Some(h) = hb {
            f["hb_g_dl"] = json!(h);
        }
        r.add(Kind::PregnancyVisit, None, None, f);
    }

    // Births and deaths.
    for (p, ty, subject, date, child) in [
        (P1, "lahir", "bayi", "2025-02-14", Some(J)),
        (P2, "lahir", "bayi", "2025-03-02", None),
        (P1, "meninggal", "balita", "2025-03-05", Some(H)),
        (P2, "meninggal", "bayi", "2025-03-28", None),
        (P2, "meninggal", "ibu", "2025-01-07", None),
    ] {
        let mut f =
            json!({"posyandu_id": u(p).to_string(), "type": ty, "subject": subject, "date": date});
        if let Some(c) = child {
            f["child_id"] = json!(u(c).to_string());
        }
        r.add(Kind::Event, None, Some(p), f);
    }

    // Referrals.
    for (who, id, date, reason, status, answer) in [
        (
            "child_id",
            F,
            "2025-01-10",
            "bgm",
            "dijawab",
            Some("2025-01-20"),
        ),
        ("child_id", B, "2025-02-10", "2t", "menunggu", None),
        (
            "child_id",
            L,
            "2025-03-24",
            "2t",
            "dijawab",
            Some("2025-04-02"),
        ),
        (
            "woman_id",
            W1,
            "2025-03-12",
            "kek",
            "dijawab",
            Some("2025-03-15"),
        ),
        ("child_id", F, "2025-03-10", "gizi_buruk", "selesai", None),
        ("woman_id", W5, "2025-03-08", "anemia", "menunggu", None),
    ] {
        let mut f = json!({"date": date, "reason": reason, "status": status});
        f[who] = json!(u(id).to_string());
        if let Some(a) = answer {
            f["answer_date"] = json!(a);
        }
        r.add(Kind::Referral, None, None, f);
    }
    r
}

fn month(s: &str) -> YearMonth {
    s.parse().unwrap()
}

/// (S, K, D, N, T, O, B, 2T, BGM).
fn counts(s: &Skdn) -> [u32; 9] {
    [s.s, s.k, s.d, s.n, s.t, s.o, s.b, s.two_t, s.bgm]
}

fn puskesmas(input: &ReportInput, m: &str) -> MonthlyReport {
    build(input, month(m), Level::Puskesmas(u(PK)))
}

#[test]
fn report_cohort_skdn_january() {
    // January (last day 31 Jan). P1: in S are A B C Dw E F G H I K L (11; J not born yet, M is
    // merged; E is 59 months on 31 Jan; G moves only on 20 Feb). K: all but Kartika = 10.
    // D: A B E F G H I L = 8 (C, Dewi and Kartika not weighed).
    //   N: A (+300), E (+300), F (+300), G (+300), H (+200 = KBM), L (+200) = 6
    //   T: B (+100) = 1; O: 0; B: I (first weighing ever) = 1. 6+1+0+1 = 8 = D.
    //   2T: 0 (B's December weighing was his first, B not T). BGM: F (7.3 kg at 20 months,
    //   WHO boys -3 SD about 8.1 kg) = 1.
    // P2: Nina B (first ever), Oki N (+400 at 10 months, KBM 300): S 2 K 2 D 2 N 1 B 1.
    let input = cohort().input();
    let r = puskesmas(&input, "2025-01");
    assert_eq!(r.skdn.rows.len(), 3);
    let names: Vec<&str> = r.skdn.rows.iter().map(|x| x.place.name.as_str()).collect();
    // Sorted by desa (Cibodas before Mekarsari), then posyandu name.
    assert_eq!(names, ["Anggrek", "Mawar", "Melati"]);
    let row = |name: &str| {
        r.skdn
            .rows
            .iter()
            .find(|x| x.place.name == name)
            .unwrap()
            .counts
    };
    assert_eq!(counts(&row("Melati")), [11, 10, 8, 6, 1, 0, 1, 0, 1]);
    assert_eq!(counts(&row("Mawar")), [2, 2, 2, 1, 0, 0, 1, 0, 0]);
    assert_eq!(counts(&row("Anggrek")), [0; 9]);
    assert_eq!(counts(&r.skdn.total), [13, 12, 10, 7, 1, 0, 2, 0, 1]);
    assert!(r.skdn.total.check_ok);
    assert!(row("Anggrek").k_s.is_none(), "no ratio over S = 0");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn report_cohort_skdn_february() {
    // February (last day 28 Feb). P1 S: A B C Dw F H I J K L = 10. Out: E (60 months on
    // 15 Feb: his February weighing is not counted), G (moved 20 Feb: her weighing of 10 Feb is
    // not counted either). K: 10 - Kartika - Joko = 8.
    // D: A B C Dw F H I J L = 9 (L through his merged duplicate M).
    //   N: A (+300), F (+200, exactly the KBM), I (+900 at 1 month, KBM 800) = 3
    //   T: B (0), H (+100), L (13.0 -> 13.1) = 3
    //   O: Dewi (last weighed in November) = 1
    //   B: C (first weighing), J (born 14 Feb) = 2. 3+3+1+2 = 9 = D.
    //   2T: B (T in January and February) = 1. BGM: F = 1.
    // P2: Nina T (+100), Oki T (+100 at 11 months, KBM 300): S 2 K 2 D 2 T 2.
    let input = cohort().input();
    let r = puskesmas(&input, "2025-02");
    let melati = &r.skdn.rows[2];
    assert_eq!(melati.place.name, "Melati");
    assert_eq!(counts(&melati.counts), [10, 8, 9, 3, 3, 1, 2, 1, 1]);
    assert_eq!(counts(&r.skdn.rows[1].counts), [2, 2, 2, 0, 2, 0, 0, 0, 0]);
    assert_eq!(counts(&r.skdn.total), [12, 10, 11, 3, 5, 1, 2, 1, 1]);
    assert!(r.skdn.total.check_ok);
}

#[test]
fn report_cohort_skdn_march_and_ratios() {
    // March (last day 31 Mar). P1 S: A B C Dw F I J K L = 9 (E over 60 months, G moved, H died
    // on 5 Mar: his weighing of 3 Mar is not counted). K: 9 - Kartika - Joko = 7.
    // D: A B C Dw F I J L = 8.
    //   N: A (+300), B (+400), C (+500 at 6 months, KBM 400), J (+900 at 1 month, KBM 800) = 4
    //   T: Dewi (+100), F (+100), I (+600 at 2 months, KBM 900), L (13.1 -> 13.1: his last
    //   March weighing counts, not the 13.5 kg of 3 March) = 4. O 0, B 0. 4+4 = 8 = D.
    //   2T: L (T in February and March) = 1. BGM: F (7.6 kg, -3 SD 8.41 kg at 679 days) = 1.
    // P2: Nina N (+300), Oki N (+200 at 12 months, KBM 200): S 2 K 2 D 2 N 2.
    // Total: S 11, K 9, D 10, N 6, T 4. K/S = 81.8 %, D/S = 90.9 %, D/K = 111.1 %,
    // N/D = 60 %, N/S = 54.5 %.
    let input = cohort().input();
    let r = puskesmas(&input, "2025-03");
    assert_eq!(counts(&r.skdn.rows[2].counts), [9, 7, 8, 4, 4, 0, 0, 1, 1]);
    assert_eq!(counts(&r.skdn.rows[1].counts), [2, 2, 2, 2, 0, 0, 0, 0, 0]);
    let t = r.skdn.total;
    assert_eq!(counts(&t), [11, 9, 10, 6, 4, 0, 0, 1, 1]);
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
    assert!(close(t.k_s, 900.0 / 11.0));
    assert!(close(t.d_s, 1000.0 / 11.0));
    assert!(close(t.d_k, 1000.0 / 9.0));
    assert!(close(t.n_d, 60.0));
    assert!(close(t.n_s, 600.0 / 11.0));
    assert!(t.check_ok);
}

#[test]
fn report_cohort_levels() {
    let input = cohort().input();
    let m = month("2025-03");
    // Desa D1: Melati and Mawar only; same totals as the puskesmas (Anggrek is empty).
    let desa = build(&input, m, Level::Desa(u(D1)));
    assert_eq!(desa.skdn.rows.len(), 2);
    assert_eq!(
        desa.scope.describe(),
        "Puskesmas Sukamaju \u{b7} Desa Mekarsari"
    );
    assert_eq!(counts(&desa.skdn.total), [11, 9, 10, 6, 4, 0, 0, 1, 1]);
    // One posyandu: one row, total = that row.
    let p1 = build(&input, m, Level::Posyandu(u(P1)));
    assert_eq!(p1.skdn.rows.len(), 1);
    assert_eq!(counts(&p1.skdn.total), [9, 7, 8, 4, 4, 0, 0, 1, 1]);
    assert_eq!(
        p1.scope.describe(),
        "Puskesmas Sukamaju \u{b7} Desa Mekarsari \u{b7} Posyandu Melati"
    );
    // Everything = the puskesmas here.
    let all = build(&input, m, Level::All);
    assert_eq!(all.skdn.total, puskesmas(&input, "2025-03").skdn.total);
    assert_eq!(input.puskesmas_ids(), vec![u(PK)]);
    // An unknown area: empty tables and a warning.
    let none = build(&input, m, Level::Desa(u(999)));
    assert!(none.skdn.rows.is_empty());
    assert_eq!(none.skdn.total.s, 0);
    assert_eq!(none.warnings[0].code, "unknown_area");
}

#[test]
fn report_cohort_nutrition_march() {
    // Children in S measured in March: A B C Dw F I J L (P1), Nina, Oki (P2) = 10. Age at the
    // measurement (completed months) and group: A P 24 (24-59), B L 32 (24-59), C P 6 (6-11),
    // Dewi P 49 (24-59), F L 22 (12-23), I P 2 (0-5), J L 1 (0-5), L L 38 (24-59), Nina P 25
    // (24-59), Oki L 12 (12-23).
    // WHO values at these ages (weight kg; length/height cm):
    // - BB/U: F 7.6 kg vs -3 SD 8.41 (z -3.80): berat badan sangat kurang. Every other weight
    //   is within -1 and +0.2 SD (e.g. A 10.9 vs median 11.48, Dewi 14.6 vs median 16.36): normal.
    // - PB/U-TB/U (no length for Oki: not assessable): Dewi 92.0 cm vs -2 SD 94.9 / -3 SD 90.6
    //   (z -2.67): pendek; F 80.0 cm vs -2 SD 80.4 / -3 SD 77.5 (z -2.14): pendek; the other 7
    //   within -1 SD: normal.
    // - BB/PB-BB/TB: F 7.6 kg at 80.0 cm vs -3 SD 8.23 (z -3.95): gizi buruk; Dewi 14.6 kg at
    //   92.0 cm vs +1 SD 14.39 and +2 SD 15.81 (z 1.15): berisiko gizi lebih; 7 gizi baik
    //   (C highest at z 0.62).
    // - IMT/U: F BMI 11.87 vs -3 SD 12.72: gizi buruk; Dewi BMI 17.25 vs +1 SD 16.78, +2 SD
    //   about 18.5 (z 1.28): berisiko gizi lebih; 7 gizi baik.
    let input = cohort().input();
    let r = puskesmas(&input, "2025-03");
    let nut = &r.nutrition;
    assert_eq!(nut.measured.total(), 10);
    assert_eq!(nut.measured.get(AgeGroup::M0To5, Sex::L), 1);
    assert_eq!(nut.measured.get(AgeGroup::M0To5, Sex::P), 1);
    assert_eq!(nut.measured.get(AgeGroup::M6To11, Sex::P), 1);
    assert_eq!(nut.measured.get(AgeGroup::M12To23, Sex::L), 2);
    assert_eq!(nut.measured.get(AgeGroup::M24To59, Sex::L), 2);
    assert_eq!(nut.measured.get(AgeGroup::M24To59, Sex::P), 3);

    let cat = |idx: usize, c: Category| {
        nut.indices[idx]
            .categories
            .iter()
            .find(|x| x.category == c)
            .unwrap()
            .counts
    };
    // BB/U.
    let sk = cat(0, Category::BeratBadanSangatKurang);
    assert_eq!((sk.total(), sk.get(AgeGroup::M12To23, Sex::L)), (1, 1));
    let normal = cat(0, Category::BeratBadanNormal);
    assert_eq!(normal.total(), 9);
    assert_eq!((normal.sex_total(Sex::L), normal.sex_total(Sex::P)), (4, 5));
    assert_eq!(normal.get(AgeGroup::M24To59, Sex::P), 3);
    assert_eq!(normal.get(AgeGroup::M12To23, Sex::L), 1);
    assert_eq!(cat(0, Category::BeratBadanKurang).total(), 0);
    assert_eq!(cat(0, Category::RisikoBeratBadanLebih).total(), 0);
    assert_eq!(nut.indices[0].assessed.total(), 10);
    assert_eq!(nut.indices[0].not_assessable.total(), 0);
    // PB/U-TB/U.
    let pendek = cat(1, Category::Pendek);
    assert_eq!(pendek.total(), 2);
    assert_eq!(pendek.get(AgeGroup::M24To59, Sex::P), 1);
    assert_eq!(pendek.get(AgeGroup::M12To23, Sex::L), 1);
    assert_eq!(cat(1, Category::PanjangTinggiNormal).total(), 7);
    assert_eq!(cat(1, Category::SangatPendek).total(), 0);
    let na = nut.indices[1].not_assessable;
    assert_eq!((na.total(), na.get(AgeGroup::M12To23, Sex::L)), (1, 1));
    // BB/PB-BB/TB and IMT/U.
    for idx in [2, 3] {
        assert_eq!(cat(idx, Category::GiziBuruk).total(), 1, "index {idx}");
        assert_eq!(
            cat(idx, Category::BerisikoGiziLebih).total(),
            1,
            "index {idx}"
        );
        assert_eq!(
            cat(idx, Category::BerisikoGiziLebih).get(AgeGroup::M24To59, Sex::P),
            1
        );
        assert_eq!(cat(idx, Category::GiziBaik).total(), 7, "index {idx}");
        assert_eq!(nut.indices[idx].assessed.total(), 9);
        assert_eq!(nut.indices[idx].not_assessable.total(), 1);
        assert_eq!(nut.indices[idx].flagged.total(), 0);
    }

    // Per posyandu: P1 measured 8, underweight 1 (F), stunting 2 (Dewi, F), wasting 1 (F),
    // gizi buruk 1; P2 measured 2, BB/U assessed 2, PB/U and BB/TB assessed 1 (Nina).
    let p1 = &nut.rows[2].summary;
    assert_eq!(
        (
            p1.measured,
            p1.underweight,
            p1.stunting,
            p1.wasting,
            p1.gizi_buruk,
            p1.overweight
        ),
        (8, 1, 2, 1, 1, 0)
    );
    let p2 = &nut.rows[1].summary;
    assert_eq!(
        (
            p2.measured,
            p2.bb_u_assessed,
            p2.pb_u_assessed,
            p2.bb_pb_assessed,
            p2.stunting
        ),
        (2, 2, 1, 1, 0)
    );
    let t = &nut.total;
    assert_eq!((t.measured, t.bb_u_assessed, t.underweight), (10, 10, 1));
    assert_eq!((t.pb_u_assessed, t.stunting), (9, 2));
    assert!((t.stunting_pct.unwrap() - 200.0 / 9.0).abs() < 1e-9);
    assert!((t.underweight_pct.unwrap() - 10.0).abs() < 1e-9);
}

#[test]
fn report_cohort_vitamin_a() {
    // February is a round month. At 28 Feb: blue target = Oki (11 months), covered by his blue
    // capsule of September 2024. Red targets (12-59 months, in S): P1 A B Dewi F H Kartika L (7),
    // covered A B F H L (5); P2 Nina (1), covered. Red given in February: A B F H L Nina = 6.
    let input = cohort().input();
    let feb = puskesmas(&input, "2025-02");
    let v = &feb.vitamin_a;
    assert!(v.round_month);
    assert_eq!(v.round_start.to_string(), "2025-02");
    let t = v.total;
    assert_eq!(
        (
            t.blue_target,
            t.blue_covered,
            t.red_target,
            t.red_covered,
            t.blue_given,
            t.red_given
        ),
        (1, 1, 8, 6, 0, 6)
    );
    let p1 = v.rows[2].counts;
    assert_eq!((p1.red_target, p1.red_covered), (7, 5));
    assert!((p1.red_pct.unwrap() - 500.0 / 7.0).abs() < 1e-9);

    // March is a sweeping month of the February round. Blue: C (6 months) got hers on 10 Mar:
    // 1/1 (P2 has no infant of 6-11 months: no percentage). Red targets at 31 Mar: P1 A B Dewi F
    // Kartika L (6; H died), covered since 1 Feb: A B F L (February) and Dewi (10 Mar) = 5; P2
    // Nina (covered) and Oki (12 months now; his blue capsule predates the round) = 1 of 2.
    let mar = puskesmas(&input, "2025-03");
    let v = &mar.vitamin_a;
    assert!(!v.round_month);
    assert_eq!(v.round_start.to_string(), "2025-02");
    let t = v.total;
    assert_eq!(
        (
            t.blue_target,
            t.blue_covered,
            t.red_target,
            t.red_covered,
            t.blue_given,
            t.red_given
        ),
        (1, 1, 8, 6, 1, 1)
    );
    assert!(v.rows[1].counts.blue_pct.is_none());
    assert_eq!(
        (v.rows[1].counts.red_target, v.rows[1].counts.red_covered),
        (2, 1)
    );
    // January belongs to the August 2024 round.
    assert_eq!(
        puskesmas(&input, "2025-01")
            .vitamin_a
            .round_start
            .to_string(),
        "2024-08"
    );
}

#[test]
fn report_cohort_immunization() {
    // February: J HB0; I DPT-HB-Hib 1, OPV2, PCV1 (P1: 4 doses); Oki MR1 at 11 months completes
    // HB0 BCG OPV1-4 DPT-HB-Hib 1-3 IPV PCV1-2 MR1: IDL (P2). Total 5 doses, IDL 1.
    let input = cohort().input();
    let feb = puskesmas(&input, "2025-02");
    let im = &feb.immunization;
    let code = |c: &str| im.vaccines.iter().position(|v| v.code == c).unwrap();
    assert_eq!(im.total.total_doses, 5);
    assert_eq!(im.total.doses[code("HB0")], 1);
    assert_eq!(im.total.doses[code("MR1")], 1);
    assert_eq!((im.total.idl, im.total.idl_late), (1, 0));
    assert_eq!(im.rows[1].counts.idl, 1);
    let basic: Vec<&str> = im
        .vaccines
        .iter()
        .filter(|v| v.basic)
        .map(|v| v.code.as_str())
        .collect();
    assert_eq!(
        basic,
        [
            "HB0",
            "BCG",
            "OPV1",
            "OPV2",
            "OPV3",
            "OPV4",
            "DPT_HB_HIB1",
            "DPT_HB_HIB2",
            "DPT_HB_HIB3",
            "IPV",
            "PCV1",
            "PCV2",
            "MR1"
        ]
    );

    // March: J BCG, OPV1; I DPT2 (= DPT-HB-Hib 2), OPV3, PCV2 (his second OPV1 entry is not a
    // dose): P1 5 doses. Nina MR1 at 25 months completes her basic doses late: P2 1 dose,
    // "lengkap > 12 bulan" 1. Total 6 doses, IDL 0.
    let mar = puskesmas(&input, "2025-03");
    let im = &mar.immunization;
    assert_eq!(im.rows[2].counts.total_doses, 5);
    assert_eq!(im.total.total_doses, 6);
    for c in ["BCG", "OPV1", "OPV3", "DPT_HB_HIB2", "PCV2", "MR1"] {
        assert_eq!(im.total.doses[code(c)], 1, "{c}");
    }
    assert_eq!((im.total.idl, im.total.idl_late), (0, 1));
}

#[test]
fn report_cohort_maternal_vital_referrals() {
    // Maternal, March. P1: W1 (LiLA 22.0: KEK; Hb 11.0: not anaemia, the cut-off is < 11) and
    // W2 (LiLA 23.5: not KEK, the cut-off is < 23.5; Hb 10.9 on 5 Mar then 11.2 on 25 Mar: the
    // last counts, not anaemia) are pregnant and examined; W3 gave birth on 14 Feb. P2: W4
    // pregnant, not examined in March; W5 LiLA 25.0, Hb 9.8: anaemia.
    // Total: pregnant 4, examined 3, LiLA 3, KEK 1, Hb 3, anaemia 1.
    let input = cohort().input();
    let mar = puskesmas(&input, "2025-03");
    let m = mar.maternal.total;
    assert_eq!(
        (
            m.pregnant,
            m.examined,
            m.lila_measured,
            m.kek,
            m.hb_measured,
            m.anaemia
        ),
        (4, 3, 3, 1, 3, 1)
    );
    let p1 = mar.maternal.rows[2].counts;
    assert_eq!((p1.pregnant, p1.kek, p1.anaemia), (2, 1, 0));
    assert!((m.kek_pct.unwrap() - 100.0 / 3.0).abs() < 1e-9);
    // January: all five pregnancies ongoing (W3 ends in February), none examined.
    let jan = puskesmas(&input, "2025-01");
    assert_eq!(
        (jan.maternal.total.pregnant, jan.maternal.total.examined),
        (5, 0)
    );

    // Births and deaths, March: a birth in P2 without child (sex unknown), Hadi (balita, P1) and
    // an infant (P2) died. February: Joko's birth (L). January: a mother died (P2).
    let v = mar.vital.total;
    assert_eq!(
        (
            v.births,
            v.births_l,
            v.births_p,
            v.deaths,
            v.deaths_child,
            v.deaths_infant
        ),
        (1, 0, 0, 2, 1, 1)
    );
    assert_eq!(mar.vital.rows[2].counts.deaths_child, 1);
    let feb = puskesmas(&input, "2025-02").vital.total;
    assert_eq!((feb.births, feb.births_l, feb.deaths), (1, 1, 0));
    assert_eq!(jan.vital.total.deaths_mother, 1);

    // Referrals, March. Made: L 2T (24 Mar), W1 KEK (12 Mar), F gizi buruk (10 Mar) in P1; W5
    // anaemia in P2 = 4. Answered in March: W1 (15 Mar), F (selesai without answer date: counts
    // on its own date) = 2. Waiting on 31 Mar: B's 2T of February (never answered), L's (answered
    // on 2 Apr), W5's = 3. F's BGM referral of January was answered in January.
    let rf = mar.referrals.total;
    assert_eq!((rf.made, rf.answered, rf.waiting), (4, 2, 3));
    assert_eq!(rf.made_by_reason, [1, 0, 1, 1, 1, 0, 0]);
    assert_eq!(mar.referrals.reasons[0], "2t");
    let p1 = mar.referrals.rows[2].counts;
    assert_eq!((p1.made, p1.answered, p1.waiting), (3, 2, 2));
    let jan_ref = jan.referrals.total;
    assert_eq!((jan_ref.made, jan_ref.answered, jan_ref.waiting), (1, 1, 0));
}

#[test]
fn report_broken_check_and_bad_records_are_reported() {
    // One child whose only March weighing is dated before the birth date (a data error): it is
    // in S (born 15 Mar) and in D, but N/T/O/B cannot be decided: D 1, N+T+O+B 0.
    let mut r = Records::default();
    r.add(
        Kind::Posyandu,
        Some(P1),
        None,
        json!({"desa_id": u(D1).to_string(), "puskesmas_id": u(PK).to_string(), "name": "Melati"}),
    );
    r.child(A, P1, "Ani", "P", "2025-03-15", true, json!({}));
    r.weigh(A, "2025-03-10", 3.2);
    // Moved away without a date: in no month's S; counted in the summary.
    r.child(
        B,
        P1,
        "Budi",
        "L",
        "2024-01-01",
        true,
        json!({"status": "pindah"}),
    );
    // A measurement of an unknown child and a child without birth date are skipped.
    r.weigh(999, "2025-03-10", 9.0);
    r.add(
        Kind::Child,
        Some(C),
        Some(P1),
        json!({"posyandu_id": u(P1).to_string(), "name": "X", "sex": "L"}),
    );
    let input = r.input();
    let rep = build(&input, month("2025-03"), Level::Posyandu(u(P1)));
    let s = rep.skdn.total;
    assert_eq!((s.s, s.d, s.ntob(), s.undetermined), (1, 1, 0, 1));
    assert!(!s.check_ok);
    let codes: Vec<&str> = rep.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "skdn_check_failed",
            "skdn_check_failed",
            "records_skipped",
            "status_without_date"
        ]
    );
    let skipped: BTreeMap<&str, u64> = rep
        .input
        .skipped
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(skipped.get("measurement_unknown_child"), Some(&1));
    assert_eq!(skipped.get("child_without_birth_date"), Some(&1));
    assert_eq!(rep.input.gone_without_date, 1);
    // The broken check is visible in every format.
    let csv = String::from_utf8(report::csv_bytes(&rep).unwrap()).unwrap();
    assert!(csv.contains("TIDAK SESUAI: D 1 / N+T+O+B 0"), "{csv}");
    assert!(report::to_json(&rep).contains("\"check_ok\": false"));
}

#[test]
fn report_cohort_outputs_are_written() {
    let input = cohort().input();
    let dir = tempfile::tempdir().unwrap();
    let out = std::env::var_os("SINERGI_REPORT_OUT").map(std::path::PathBuf::from);
    for (name, level) in [
        ("puskesmas", Level::Puskesmas(u(PK))),
        ("posyandu", Level::Posyandu(u(P1))),
    ] {
        let rep = build(&input, month("2025-03"), level);
        let base = out.as_deref().unwrap_or(dir.path());
        std::fs::create_dir_all(base).unwrap();
        let xlsx = base.join(format!("laporan-{name}.xlsx"));
        let csv = base.join(format!("laporan-{name}.csv"));
        let pdf = base.join(format!("laporan-{name}.pdf"));
        let json = base.join(format!("laporan-{name}.json"));
        report::write_xlsx(&rep, &xlsx).unwrap();
        report::write_csv(&rep, &csv).unwrap();
        report::write_pdf(&rep, &pdf).unwrap();
        report::write_json(&rep, &json).unwrap();

        let x = std::fs::read(&xlsx).unwrap();
        assert!(x.len() > 5_000 && x.starts_with(b"PK"), "xlsx is a zip");
        let p = std::fs::read(&pdf).unwrap();
        assert!(p.len() > 2_000 && p.starts_with(b"%PDF-"));
        assert!(p.ends_with(b"%%EOF") || p.ends_with(b"%%EOF\n"));
        let c = std::fs::read_to_string(&csv).unwrap();
        for section in [
            "# SKDN",
            "# Status Gizi",
            "# Ringkasan Gizi",
            "# Vitamin A",
            "# Imunisasi",
            "# Ibu Hamil",
            "# Lahir dan Mati",
            "# Rujukan",
            "# Catatan",
        ] {
            assert!(c.contains(section), "{section} in the CSV");
        }
        assert!(c.contains("Jumlah balita: S"));
        let j: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(j["month"], "2025-03");
        assert_eq!(
            j["skdn"]["total"]["s"],
            if name == "posyandu" { 9 } else { 11 }
        );
        assert_eq!(j["scope"]["level"]["level"], name);
    }
    // The puskesmas CSV's SKDN totals line.
    let rep = puskesmas(&input, "2025-03");
    let c = String::from_utf8(report::csv_bytes(&rep).unwrap()).unwrap();
    assert!(
        c.contains(",Jumlah,,11,9,10,6,4,0,0,1,1,81.8,90.9,111.1,60.0,54.5,Sesuai"),
        "{c}"
    );
}
