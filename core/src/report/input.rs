//! The records a report reads, parsed once into compact typed structs.
//!
//! Feed a [`ReportInputBuilder`] records in any order (`kind, id, posyandu, fields`), or
//! use [`ReportInput::from_records`] / [`ReportInput::from_store`]. A record that cannot be
//! used (a measurement whose child is unknown, a child without birth date, ...) is skipped and
//! counted in [`InputSummary::skipped`] by reason: a report never fails on bad data.
//!
//! Per-child records (measurements, immunizations, vitamin A) are kept in one flat vector
//! sorted by child then date (then id), with an offset table: a report walks them without
//! allocating.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::growth::{schedule, Position, Sex};
use crate::model::{Fields, Kind};
use crate::store::LocalStore;

use super::{Level, PlaceRef, ScopeInfo};

/// A fast hasher for ids (UUIDs are unique keys; no protection against crafted collisions is
/// needed for a report).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn finish(&self) -> u64 {
        // fmix64 of MurmurHash3: every input bit reaches the low and the high bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

pub(crate) type IdMap<V> = HashMap<Uuid, V, std::hash::BuildHasherDefault<IdHasher>>;

/// How many records were read and why some were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    /// Records offered to the builder.
    pub records: u64,
    /// Records skipped, by reason code (e.g. `measurement_unknown_child`).
    pub skipped: BTreeMap<String, u64>,
    /// Children with status `pindah` / `meninggal` but no status date (taken as gone in every
    /// month).
    pub gone_without_date: u64,
}

impl InputSummary {
    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }

    /// All skipped records.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Moved away or died, from a date (unknown date: gone in every month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone {
    pub died: bool,
    pub date: Option<NaiveDate>,
}

impl Gone {
    /// Still in the area on `day` (gone on the status date itself).
    pub fn present_on(gone: Option<Gone>, day: NaiveDate) -> bool {
        match gone {
            None => true,
            Some(g) => g.date.is_some_and(|d| d > day),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PosyanduRec {
    pub id: Uuid,
    pub name: Option<String>,
    pub desa: Option<Uuid>,
    pub puskesmas: Option<Uuid>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildRec {
    pub posyandu: u32,
    pub sex: Sex,
    pub birth: NaiveDate,
    pub has_kms: bool,
    pub gone: Option<Gone>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct MeasRec {
    pub date: NaiveDate,
    pub weight_kg: Option<f64>,
    pub lenhei_cm: Option<f64>,
    pub position: Option<Position>,
    pub head_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    pub oedema: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ImmRec {
    pub date: NaiveDate,
    /// Index into `schedule().vaccines`, or `None` for a code the schedule does not know.
    pub vaccine: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct VitaRec {
    pub date: NaiveDate,
    pub red: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PregRec {
    pub posyandu: u32,
    pub woman_gone: Option<Gone>,
    pub hpht: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    /// Ended (an outcome other than `hamil`), with its date when known.
    pub ended: Option<Option<NaiveDate>>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct VisitRec {
    pub date: NaiveDate,
    pub muac_cm: Option<f64>,
    pub hb_g_dl: Option<f64>,
}

/// Referral reasons, in the schema's order.
pub const REFERRAL_REASONS: [&str; 7] = [
    "2t",
    "bgm",
    "gizi_buruk",
    "kek",
    "anemia",
    "tanda_bahaya",
    "lainnya",
];

#[derive(Debug, Clone, Copy)]
pub(crate) struct ReferralRec {
    pub posyandu: u32,
    pub date: NaiveDate,
    /// Index into [`REFERRAL_REASONS`].
    pub reason: u8,
    /// The day it was answered: `answer_date`, or the referral date when the status says it
    /// was answered (`dijawab` / `selesai`) without a date; `None` while waiting.
    pub answered_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct EventRec {
    pub posyandu: u32,
    pub date: NaiveDate,
    pub birth: bool,
    /// 0 ibu, 1 bayi, 2 balita.
    pub subject: u8,
    pub child_sex: Option<Sex>,
}

/// Per-owner records in one vector with offsets (`items[start[i]..start[i + 1]]`).
#[derive(Debug, Clone)]
pub(crate) struct Grouped<T> {
    pub start: Vec<u32>,
    pub items: Vec<T>,
}

impl<T> Default for Grouped<T> {
    fn default() -> Self {
        Grouped {
            start: vec![0],
            items: Vec::new(),
        }
    }
}

impl<T: Copy> Grouped<T> {
    /// From (owner, sort key, item) triples; items of one owner sorted by key. A counting
    /// sort by owner, then a small sort per owner.
    fn new<K: Ord + Copy>(owners: usize, raw: Vec<(u32, K, T)>) -> Self {
        let mut start = vec![0u32; owners + 1];
        for (o, _, _) in &raw {
            start[*o as usize + 1] += 1;
        }
        for i in 0..owners {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut perm = vec![0u32; raw.len()];
        for (i, (o, _, _)) in raw.iter().enumerate() {
            let slot = &mut next[*o as usize];
            perm[*slot as usize] = i as u32;
            *slot += 1;
        }
        for o in 0..owners {
            let s = &mut perm[start[o] as usize..start[o + 1] as usize];
            if s.len() > 1 {
                s.sort_unstable_by_key(|&i| raw[i as usize].1);
            }
        }
        Grouped {
            start,
            items: perm.iter().map(|&i| raw[i as usize].2).collect(),
        }
    }

    pub fn of(&self, owner: usize) -> &[T] {
        &self.items[self.start[owner] as usize..self.start[owner + 1] as usize]
    }
}

/// The records of a report, typed. Build with [`ReportInputBuilder`].
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub(crate) puskesmas_names: HashMap<Uuid, String>,
    /// desa id -> (name, puskesmas id).
    pub(crate) desa: HashMap<Uuid, (String, Option<Uuid>)>,
    pub(crate) posyandu: Vec<PosyanduRec>,
    pub(crate) posyandu_idx: IdMap<u32>,
    pub(crate) children: Vec<ChildRec>,
    pub(crate) measurements: Grouped<MeasRec>,
    pub(crate) immunizations: Grouped<ImmRec>,
    pub(crate) vitamin_a: Grouped<VitaRec>,
    pub(crate) pregnancies: Vec<PregRec>,
    pub(crate) visits: Grouped<VisitRec>,
    pub(crate) referrals: Vec<ReferralRec>,
    pub(crate) events: Vec<EventRec>,
    pub(crate) summary: InputSummary,
}

impl ReportInput {
    /// From records in any order: `(kind, id, posyandu, fields)`.
    pub fn from_records<'a, I>(records: I) -> ReportInput
    where
        I: IntoIterator<Item = (Kind, Uuid, Option<Uuid>, &'a Fields)>,
    {
        let mut b = ReportInputBuilder::new();
        for (kind, id, posyandu, fields) in records {
            b.push(kind, id, posyandu, fields);
        }
        b.finish()
    }

    /// Everything a device's store holds.
    pub fn from_store(store: &LocalStore) -> crate::Result<ReportInput> {
        let mut b = ReportInputBuilder::new();
        for kind in ReportInputBuilder::KINDS {
            for r in store.list(kind)? {
                b.push(r.kind, r.id, r.posyandu_id, &r.fields);
            }
        }
        Ok(b.finish())
    }

    /// What was read and skipped.
    pub fn summary(&self) -> &InputSummary {
        &self.summary
    }

    /// Number of children (merged records excluded).
    pub fn child_count(&self) -> usize {
        self.children.len()
    }

    /// The puskesmas named by the input's master records or by its posyandu and desa, sorted
    /// (a device holds one; the CLI uses it for `--puskesmas` without an id).
    pub fn puskesmas_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .puskesmas_names
            .keys()
            .copied()
            .chain(self.posyandu.iter().filter_map(|p| p.puskesmas))
            .chain(self.desa.values().filter_map(|(_, p)| *p))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Whether the input knows the area of `level` (a posyandu referenced by a child counts).
    pub fn knows(&self, level: &Level) -> bool {
        match level {
            Level::All => true,
            Level::Posyandu(id) => self.posyandu_idx.contains_key(id),
            Level::Desa(id) => {
                self.desa.contains_key(id) || self.posyandu.iter().any(|p| p.desa == Some(*id))
            }
            Level::Puskesmas(id) => {
                self.puskesmas_names.contains_key(id)
                    || self
                        .posyandu
                        .iter()
                        .any(|p| self.puskesmas_of(p) == Some(*id))
            }
        }
    }

    pub(crate) fn puskesmas_of(&self, p: &PosyanduRec) -> Option<Uuid> {
        p.puskesmas.or_else(|| {
            p.desa
                .and_then(|d| self.desa.get(&d).and_then(|(_, pk)| *pk))
        })
    }

    pub(crate) fn place(&self, idx: u32) -> PlaceRef {
        let p = &self.posyandu[idx as usize];
        PlaceRef {
            id: p.id,
            name: p.name.clone().unwrap_or_else(|| {
                let s = p.id.to_string();
                format!("Posyandu {}", &s[..8])
            }),
            desa: p
                .desa
                .and_then(|d| self.desa.get(&d).map(|(name, _)| name.clone())),
        }
    }

    /// The posyandu (indices) a level covers, in report order (desa name, posyandu name, id),
    /// and how to name the area.
    pub(crate) fn scope(&self, level: &Level) -> (Vec<u32>, ScopeInfo) {
        let in_level = |p: &PosyanduRec| match level {
            Level::All => true,
            Level::Posyandu(id) => p.id == *id,
            Level::Desa(id) => p.desa == Some(*id),
            Level::Puskesmas(id) => self.puskesmas_of(p) == Some(*id),
        };
        let mut rows: Vec<u32> = (0..self.posyandu.len() as u32)
            .filter(|&i| in_level(&self.posyandu[i as usize]))
            .collect();
        let places: Vec<PlaceRef> = (0..self.posyandu.len() as u32)
            .map(|i| self.place(i))
            .collect();
        rows.sort_by(|&a, &b| {
            let (pa, pb) = (&places[a as usize], &places[b as usize]);
            let key = |p: &PlaceRef| {
                (
                    p.desa.as_deref().unwrap_or("").to_lowercase(),
                    p.name.to_lowercase(),
                )
            };
            key(pa).cmp(&key(pb)).then(pa.id.cmp(&pb.id))
        });

        let pk_name = |id: Option<Uuid>| id.map(|id| self.puskesmas_label(id));
        let desa_name = |id: Option<Uuid>| {
            id.map(|id| {
                self.desa
                    .get(&id)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| short(id))
            })
        };
        let info = match level {
            Level::All => {
                let pks = self.puskesmas_ids();
                ScopeInfo {
                    level: *level,
                    level_label: "Semua wilayah".into(),
                    puskesmas: (pks.len() == 1).then(|| self.puskesmas_label(pks[0])),
                    desa: None,
                    posyandu: None,
                }
            }
            Level::Puskesmas(id) => ScopeInfo {
                level: *level,
                level_label: "Puskesmas".into(),
                puskesmas: pk_name(Some(*id)),
                desa: None,
                posyandu: None,
            },
            Level::Desa(id) => ScopeInfo {
                level: *level,
                level_label: "Desa".into(),
                puskesmas: pk_name(self.desa.get(id).and_then(|(_, p)| *p).or_else(|| {
                    self.posyandu
                        .iter()
                        .find(|p| p.desa == Some(*id))
                        .and_then(|p| self.puskesmas_of(p))
                })),
                desa: desa_name(Some(*id)),
                posyandu: None,
            },
            Level::Posyandu(id) => {
                let p = self
                    .posyandu_idx
                    .get(id)
                    .map(|&i| &self.posyandu[i as usize]);
                ScopeInfo {
                    level: *level,
                    level_label: "Posyandu".into(),
                    puskesmas: pk_name(p.and_then(|p| self.puskesmas_of(p))),
                    desa: desa_name(p.and_then(|p| p.desa)),
                    posyandu: Some(
                        self.posyandu_idx
                            .get(id)
                            .map(|&i| self.place(i).name)
                            .unwrap_or_else(|| short(*id)),
                    ),
                }
            }
        };
        (rows, info)
    }

    fn puskesmas_label(&self, id: Uuid) -> String {
        self.puskesmas_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| short(id))
    }
}

fn short(id: Uuid) -> String {
    id.to_string()[..8].to_string()
}

// ---------------------------------------------------------------------------------------------
// Field access (fast paths: dates are always "YYYY-MM-DD").

fn text<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
    f.get(k).and_then(Value::as_str)
}

fn id(f: &Fields, k: &str) -> Option<Uuid> {
    text(f, k).and_then(|s| Uuid::parse_str(s).ok())
}

fn num(f: &Fields, k: &str) -> Option<f64> {
    f.get(k)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite() && *v > 0.0)
}

fn flag(f: &Fields, k: &str) -> bool {
    f.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// "YYYY-MM-DD" without going through a format parser.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
        })
    };
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

fn date(f: &Fields, k: &str) -> Option<NaiveDate> {
    text(f, k).and_then(parse_date)
}

fn gone_of(f: &Fields) -> (Option<Gone>, bool) {
    match text(f, "status") {
        Some(s @ ("pindah" | "meninggal")) => {
            let date = date(f, "status_date");
            (
                Some(Gone {
                    died: s == "meninggal",
                    date,
                }),
                date.is_none(),
            )
        }
        _ => (None, false),
    }
}

struct RawChild {
    id: Uuid,
    posyandu: Uuid,
    sex: Sex,
    birth: NaiveDate,
    has_kms: bool,
    gone: Option<Gone>,
}

struct RawPregnancy {
    id: Uuid,
    woman: Uuid,
    posyandu: Option<Uuid>,
    hpht: Option<NaiveDate>,
    due: Option<NaiveDate>,
    ended: Option<Option<NaiveDate>>,
}

struct RawReferral {
    child: Option<Uuid>,
    woman: Option<Uuid>,
    posyandu: Option<Uuid>,
    date: NaiveDate,
    reason: u8,
    answered_on: Option<NaiveDate>,
}

struct RawEvent {
    posyandu: Uuid,
    date: NaiveDate,
    birth: bool,
    subject: u8,
    child: Option<Uuid>,
}

/// Collects records in any order, then [`finish`](Self::finish) links them.
#[derive(Default)]
pub struct ReportInputBuilder {
    summary: InputSummary,
    puskesmas: HashMap<Uuid, String>,
    desa: HashMap<Uuid, (String, Option<Uuid>)>,
    posyandu: Vec<PosyanduRec>,
    children: Vec<RawChild>,
    /// merged child -> the child it was merged into.
    merged: IdMap<Uuid>,
    /// woman -> (posyandu, gone).
    women: IdMap<(Uuid, Option<Gone>)>,
    measurements: Vec<(Uuid, Uuid, MeasRec)>,
    immunizations: Vec<(Uuid, Uuid, ImmRec)>,
    vitamin_a: Vec<(Uuid, Uuid, VitaRec)>,
    pregnancies: Vec<RawPregnancy>,
    visits: Vec<(Uuid, Uuid, VisitRec)>,
    referrals: Vec<RawReferral>,
    events: Vec<RawEvent>,
    vaccine_codes: HashMap<String, Option<u8>>,
}

impl ReportInputBuilder {
    /// The kinds a report reads.
    pub const KINDS: [Kind; 12] = [
        Kind::Puskesmas,
        Kind::Desa,
        Kind::Posyandu,
        Kind::Child,
        Kind::Woman,
        Kind::Pregnancy,
        Kind::PregnancyVisit,
        Kind::Measurement,
        Kind::Immunization,
        Kind::VitaminA,
        Kind::Referral,
        Kind::Event,
    ];

    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one record. `posyandu` is the record's posyandu as the store scopes it; it is used
    /// only when the fields do not name it (a referral whose child or woman is unknown).
    pub fn push(&mut self, kind: Kind, rec_id: Uuid, posyandu: Option<Uuid>, f: &Fields) {
        self.summary.records += 1;
        match kind {
            Kind::Puskesmas => {
                let name = text(f, "name").unwrap_or("").to_string();
                self.puskesmas.insert(rec_id, name);
            }
            Kind::Desa => {
                let name = text(f, "name").unwrap_or("").to_string();
                self.desa.insert(rec_id, (name, id(f, "puskesmas_id")));
            }
            Kind::Posyandu => self.posyandu.push(PosyanduRec {
                id: rec_id,
                name: text(f, "name").map(str::to_string),
                desa: id(f, "desa_id"),
                puskesmas: id(f, "puskesmas_id"),
            }),
            Kind::Child => self.push_child(rec_id, posyandu, f),
            Kind::Woman => match id(f, "posyandu_id").or(posyandu) {
                Some(p) => {
                    let (gone, _) = gone_of(f);
                    self.women.insert(rec_id, (p, gone));
                }
                None => self.summary.skip("woman_without_posyandu"),
            },
            Kind::Measurement => {
                let (Some(child), Some(d)) = (id(f, "child_id"), date(f, "date")) else {
                    return self.summary.skip("measurement_without_child_or_date");
                };
                let position = match text(f, "position") {
                    Some("lying") => Some(Position::Lying),
                    Some("standing") => Some(Position::Standing),
                    _ => None,
                };
                self.measurements.push((
                    child,
                    rec_id,
                    MeasRec {
                        date: d,
                        weight_kg: num(f, "weight_kg"),
                        lenhei_cm: num(f, "length_cm"),
                        position,
                        head_cm: num(f, "head_cm"),
                        muac_cm: num(f, "muac_cm"),
                        oedema: flag(f, "oedema"),
                    },
                ));
            }
            Kind::Immunization => {
                let (Some(child), Some(d), Some(code)) =
                    (id(f, "child_id"), date(f, "date"), text(f, "vaccine"))
                else {
                    return self
                        .summary
                        .skip("immunization_without_child_date_or_vaccine");
                };
                let vaccine = match self.vaccine_codes.get(code) {
                    Some(v) => *v,
                    None => {
                        let s = schedule();
                        let v = s
                            .canonical_code(code)
                            .and_then(|c| s.vaccines.iter().position(|v| v.code == c))
                            .map(|i| i as u8);
                        self.vaccine_codes.insert(code.to_string(), v);
                        v
                    }
                };
                self.immunizations
                    .push((child, rec_id, ImmRec { date: d, vaccine }));
            }
            Kind::VitaminA => {
                let (Some(child), Some(d)) = (id(f, "child_id"), date(f, "date")) else {
                    return self.summary.skip("vitamin_a_without_child_or_date");
                };
                let red = match text(f, "capsule") {
                    Some("merah") => true,
                    Some("biru") => false,
                    _ => return self.summary.skip("vitamin_a_unknown_capsule"),
                };
                self.vitamin_a
                    .push((child, rec_id, VitaRec { date: d, red }));
            }
            Kind::Pregnancy => {
                let Some(woman) = id(f, "woman_id") else {
                    return self.summary.skip("pregnancy_without_woman");
                };
                let ended = match text(f, "outcome") {
                    None | Some("hamil") => None,
                    Some(_) => Some(date(f, "outcome_date")),
                };
                self.pregnancies.push(RawPregnancy {
                    id: rec_id,
                    woman,
                    posyandu,
                    hpht: date(f, "hpht"),
                    due: date(f, "due_date"),
                    ended,
                });
            }
            Kind::PregnancyVisit => {
                let (Some(preg), Some(d)) = (id(f, "pregnancy_id"), date(f, "date")) else {
                    return self
                        .summary
                        .skip("pregnancy_visit_without_pregnancy_or_date");
                };
                self.visits.push((
                    preg,
                    rec_id,
                    VisitRec {
                        date: d,
                        muac_cm: num(f, "muac_cm"),
                        hb_g_dl: num(f, "hb_g_dl"),
                    },
                ));
            }
            Kind::Referral => {
                let Some(d) = date(f, "date") else {
                    return self.summary.skip("referral_without_date");
                };
                let reason = text(f, "reason")
                    .and_then(|r| REFERRAL_REASONS.iter().position(|x| *x == r))
                    .unwrap_or(REFERRAL_REASONS.len() - 1) as u8;
                let answered_on = date(f, "answer_date").or_else(|| {
                    matches!(text(f, "status"), Some("dijawab" | "selesai")).then_some(d)
                });
                self.referrals.push(RawReferral {
                    child: id(f, "child_id"),
                    woman: id(f, "woman_id"),
                    posyandu,
                    date: d,
                    reason,
                    answered_on,
                });
            }
            Kind::Event => {
                let (Some(p), Some(d)) = (id(f, "posyandu_id").or(posyandu), date(f, "date"))
                else {
                    return self.summary.skip("event_without_posyandu_or_date");
                };
                let birth = match text(f, "type") {
                    Some("lahir") => true,
                    Some("meninggal") => false,
                    _ => return self.summary.skip("event_unknown_type"),
                };
                let subject = match text(f, "subject") {
                    Some("ibu") => 0,
                    Some("bayi") => 1,
                    Some("balita") => 2,
                    _ => return self.summary.skip("event_unknown_subject"),
                };
                self.events.push(RawEvent {
                    posyandu: p,
                    date: d,
                    birth,
                    subject,
                    child: id(f, "child_id"),
                });
            }
            Kind::Conflict | Kind::Duplicate => {}
        }
    }

    fn push_child(&mut self, rec_id: Uuid, posyandu: Option<Uuid>, f: &Fields) {
        if text(f, "status") == Some("digabung") {
            match id(f, "merged_into") {
                Some(into) => {
                    self.merged.insert(rec_id, into);
                }
                None => self.summary.skip("child_merged_without_target"),
            }
            return;
        }
        let Some(p) = id(f, "posyandu_id").or(posyandu) else {
            return self.summary.skip("child_without_posyandu");
        };
        let sex = match text(f, "sex") {
            Some("L") => Sex::L,
            Some("P") => Sex::P,
            _ => return self.summary.skip("child_without_sex"),
        };
        let Some(birth) = date(f, "birth_date") else {
            return self.summary.skip("child_without_birth_date");
        };
        let (gone, no_date) = gone_of(f);
        if no_date {
            self.summary.gone_without_date += 1;
        }
        self.children.push(RawChild {
            id: rec_id,
            posyandu: p,
            sex,
            birth,
            has_kms: flag(f, "has_kms"),
            gone,
        });
    }

    /// Links the records and sorts each child's history.
    pub fn finish(self) -> ReportInput {
        let ReportInputBuilder {
            mut summary,
            puskesmas,
            desa,
            posyandu,
            children: raw_children,
            merged,
            women,
            measurements,
            immunizations,
            vitamin_a,
            pregnancies: raw_pregnancies,
            visits,
            referrals: raw_referrals,
            events: raw_events,
            vaccine_codes: _,
        } = self;

        let mut input = ReportInput {
            puskesmas_names: puskesmas,
            desa,
            ..ReportInput::default()
        };
        for p in posyandu {
            if input.posyandu_idx.contains_key(&p.id) {
                continue;
            }
            input.posyandu_idx.insert(p.id, input.posyandu.len() as u32);
            input.posyandu.push(p);
        }
        // Posyandu named by children or events but without a master record still get a row.
        let posyandu_index = |input: &mut ReportInput, id: Uuid| -> u32 {
            if let Some(&i) = input.posyandu_idx.get(&id) {
                return i;
            }
            let i = input.posyandu.len() as u32;
            input.posyandu.push(PosyanduRec {
                id,
                name: None,
                desa: None,
                puskesmas: None,
            });
            input.posyandu_idx.insert(id, i);
            i
        };

        // Children.
        let mut child_idx: IdMap<u32> = IdMap::default();
        child_idx.reserve(raw_children.len());
        for c in &raw_children {
            if child_idx.contains_key(&c.id) {
                summary.skip("child_duplicate_id");
                continue;
            }
            let p = posyandu_index(&mut input, c.posyandu);
            child_idx.insert(c.id, input.children.len() as u32);
            input.children.push(ChildRec {
                posyandu: p,
                sex: c.sex,
                birth: c.birth,
                has_kms: c.has_kms,
                gone: c.gone,
            });
        }
        // A merged child's records count for the child it was merged into (chains followed,
        // a cycle gives up).
        let resolve = |mut id: Uuid| -> Option<u32> {
            for _ in 0..8 {
                if let Some(&i) = child_idx.get(&id) {
                    return Some(i);
                }
                id = *merged.get(&id)?;
            }
            None
        };
        let n_children = input.children.len();

        fn group<T: Copy>(
            raw: Vec<(Uuid, Uuid, T)>,
            owners: usize,
            resolve: impl Fn(Uuid) -> Option<u32>,
            date_of: impl Fn(&T) -> NaiveDate,
            summary: &mut InputSummary,
            reason: &str,
        ) -> Grouped<T> {
            let mut linked = Vec::with_capacity(raw.len());
            for (owner, rec_id, t) in raw {
                match resolve(owner) {
                    Some(o) => linked.push((o, (date_of(&t), rec_id), t)),
                    None => summary.skip(reason),
                }
            }
            Grouped::new(owners, linked)
        }
        input.measurements = group(
            measurements,
            n_children,
            resolve,
            |m| m.date,
            &mut summary,
            "measurement_unknown_child",
        );
        input.immunizations = group(
            immunizations,
            n_children,
            resolve,
            |m| m.date,
            &mut summary,
            "immunization_unknown_child",
        );
        input.vitamin_a = group(
            vitamin_a,
            n_children,
            resolve,
            |m| m.date,
            &mut summary,
            "vitamin_a_unknown_child",
        );

        // Pregnancies and their visits.
        let mut preg_idx: IdMap<u32> = IdMap::default();
        preg_idx.reserve(raw_pregnancies.len());
        for p in raw_pregnancies {
            let (posyandu, woman_gone) = match women.get(&p.woman) {
                Some((pos, gone)) => (*pos, *gone),
                None => match p.posyandu {
                    Some(pos) => (pos, None),
                    None => {
                        summary.skip("pregnancy_unknown_woman");
                        continue;
                    }
                },
            };
            if preg_idx.contains_key(&p.id) {
                summary.skip("pregnancy_duplicate_id");
                continue;
            }
            let pi = posyandu_index(&mut input, posyandu);
            preg_idx.insert(p.id, input.pregnancies.len() as u32);
            input.pregnancies.push(PregRec {
                posyandu: pi,
                woman_gone,
                hpht: p.hpht,
                due: p.due,
                ended: p.ended,
            });
        }
        input.visits = group(
            visits,
            input.pregnancies.len(),
            |id| preg_idx.get(&id).copied(),
            |v| v.date,
            &mut summary,
            "pregnancy_visit_unknown_pregnancy",
        );

        for r in raw_referrals {
            let from_child = r
                .child
                .and_then(resolve)
                .map(|c| input.children[c as usize].posyandu);
            let posyandu = match from_child {
                Some(p) => Some(p),
                None => r
                    .woman
                    .and_then(|w| women.get(&w).map(|(p, _)| *p))
                    .or(r.posyandu)
                    .map(|p| posyandu_index(&mut input, p)),
            };
            match posyandu {
                Some(posyandu) => input.referrals.push(ReferralRec {
                    posyandu,
                    date: r.date,
                    reason: r.reason,
                    answered_on: r.answered_on,
                }),
                None => summary.skip("referral_unknown_subject"),
            }
        }

        for e in raw_events {
            let posyandu = posyandu_index(&mut input, e.posyandu);
            let child_sex = e
                .child
                .and_then(resolve)
                .map(|c| input.children[c as usize].sex);
            input.events.push(EventRec {
                posyandu,
                date: e.date,
                birth: e.birth,
                subject: e.subject,
                child_sex,
            });
        }

        input.summary = summary;
        input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_parse_date() {
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-29"), None);
        assert_eq!(parse_date("2024-0a-01"), None);
        assert_eq!(parse_date("abcd-01-01"), None);
    }
}
