//! The pregnancy register as a kader and a bidan read it: for each pregnancy the woman, the
//! gestational age and the due date (HPL), the latest LiLA (KEK) and Hb (anaemia), the Td status
//! with the next dose and when it is due, and the antenatal visits.
//!
//! The thresholds are the ones the monthly report counts with (`report::maternal`), so the
//! register and the report never disagree about who is KEK or anaemic.

use crate::error::{CoreError, Result};
use crate::model::Kind;
use crate::report::maternal::{ANAEMIA_HB_TENTHS, KEK_LILA_TENTHS_CM};
use crate::store::{LocalStore, Record};
use chrono::{Days, Months, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// A pregnancy counts as over this long after its HPHT even without a recorded outcome
/// (the same rule as the report's "forgotten records").
const STALE_AFTER_DAYS: u64 = 43 * 7;

/// LiLA below 23.5 cm: risk of chronic energy deficiency (KEK).
pub fn is_kek(lila_cm: f64) -> bool {
    tenths(lila_cm) < KEK_LILA_TENTHS_CM
}

/// Hb below 11 g/dL: anaemia in pregnancy.
pub fn is_anaemic(hb_g_dl: f64) -> bool {
    tenths(hb_g_dl) < ANAEMIA_HB_TENTHS
}

fn tenths(x: f64) -> i64 {
    (x * 10.0).round() as i64
}

/// Naegele's rule: HPHT + 280 days.
pub fn due_date_from_hpht(hpht: NaiveDate) -> Option<NaiveDate> {
    hpht.checked_add_days(Days::new(280))
}

/// Completed weeks since HPHT on `day` (None before the HPHT).
pub fn gestational_weeks(hpht: NaiveDate, day: NaiveDate) -> Option<u32> {
    let days = (day - hpht).num_days();
    (days >= 0).then_some((days / 7) as u32)
}

/// Trimester for completed weeks: 1 up to 13, 2 up to 27, then 3.
pub fn trimester(weeks: u32) -> u8 {
    match weeks {
        0..=13 => 1,
        14..=27 => 2,
        _ => 3,
    }
}

/// The Td dose a woman needs next, and the first day it may be given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextTd {
    pub dose: String,
    /// None when the date of the last dose is unknown (give it at the next visit).
    pub due_from: Option<NaiveDate>,
}

/// Td doses T1..T5 are spaced 4 weeks, 6 months, 1 year and 1 year apart; after T5 none is due.
pub fn next_td(status: Option<&str>, last_dose_date: Option<NaiveDate>) -> Option<NextTd> {
    let n = td_number(status).unwrap_or(0);
    if n >= 5 {
        return None;
    }
    let due_from = match n {
        0 => None,
        1 => last_dose_date.and_then(|d| d.checked_add_days(Days::new(28))),
        2 => last_dose_date.and_then(|d| d.checked_add_months(Months::new(6))),
        _ => last_dose_date.and_then(|d| d.checked_add_months(Months::new(12))),
    };
    Some(NextTd {
        dose: format!("T{}", n + 1),
        due_from,
    })
}

fn td_number(s: Option<&str>) -> Option<u8> {
    s?.strip_prefix('T')?.parse().ok()
}

/// One antenatal visit, with its readings judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitView {
    pub id: Uuid,
    pub date: NaiveDate,
    pub weight_kg: Option<f64>,
    pub muac_cm: Option<f64>,
    pub hb_g_dl: Option<f64>,
    pub td_given: Option<String>,
    pub iron_tablets: Option<i64>,
    pub contact: Option<String>,
    pub kek: Option<bool>,
    pub anaemia: Option<bool>,
    pub pending: u32,
}

/// One pregnancy in the register.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PregnancyEntry {
    pub pregnancy_id: Uuid,
    pub woman_id: Uuid,
    pub woman_name: String,
    pub nik: Option<String>,
    pub posyandu_id: Option<Uuid>,
    pub hpht: Option<NaiveDate>,
    /// The recorded due date, or HPHT + 280 days.
    pub due_date: Option<NaiveDate>,
    pub weeks: Option<u32>,
    pub trimester: Option<u8>,
    pub gravida: Option<i64>,
    pub para: Option<i64>,
    /// The highest of the recorded Td status and the doses given at visits.
    pub td_status: Option<String>,
    pub next_td: Option<NextTd>,
    pub visits: u32,
    pub last_visit: Option<NaiveDate>,
    /// Highest antenatal contact reached (K1..K6).
    pub last_contact: Option<String>,
    pub lila_cm: Option<f64>,
    pub kek: Option<bool>,
    pub hb_g_dl: Option<f64>,
    pub anaemia: Option<bool>,
    pub outcome: Option<String>,
    /// Still pregnant today: no outcome other than `hamil`, and not long past the due date.
    pub active: bool,
    pub pending: u32,
}

/// A pregnancy with its woman and every visit, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PregnancyPage {
    pub entry: PregnancyEntry,
    pub visits: Vec<VisitView>,
}

fn text(r: &Record, f: &str) -> Option<String> {
    r.fields.get(f).and_then(Value::as_str).map(str::to_string)
}

fn date(r: &Record, f: &str) -> Option<NaiveDate> {
    r.fields.get(f).and_then(Value::as_str)?.parse().ok()
}

fn num(r: &Record, f: &str) -> Option<f64> {
    r.fields.get(f).and_then(Value::as_f64)
}

fn int(r: &Record, f: &str) -> Option<i64> {
    r.fields.get(f).and_then(Value::as_i64)
}

fn visit_view(v: &Record) -> Option<VisitView> {
    let muac = num(v, "muac_cm");
    let hb = num(v, "hb_g_dl");
    Some(VisitView {
        id: v.id,
        date: date(v, "date")?,
        weight_kg: num(v, "weight_kg"),
        muac_cm: muac,
        hb_g_dl: hb,
        td_given: text(v, "td_given"),
        iron_tablets: int(v, "iron_tablets"),
        contact: text(v, "contact"),
        kek: muac.map(is_kek),
        anaemia: hb.map(is_anaemic),
        pending: v.pending,
    })
}

/// Builds the register entry from the pregnancy, its woman and its visits (sorted by date).
pub fn entry(
    pregnancy: &Record,
    woman: Option<&Record>,
    visits: &[VisitView],
    today: NaiveDate,
) -> PregnancyEntry {
    let hpht = date(pregnancy, "hpht");
    let due = date(pregnancy, "due_date").or_else(|| hpht.and_then(due_date_from_hpht));
    let weeks = hpht.and_then(|h| gestational_weeks(h, today));
    let outcome = text(pregnancy, "outcome");
    let over = hpht
        .and_then(|h| h.checked_add_days(Days::new(STALE_AFTER_DAYS)))
        .is_some_and(|end| end < today);
    let active = matches!(outcome.as_deref(), None | Some("hamil")) && !over;
    // Td: the highest dose recorded anywhere, and when it was given (only visits have dates).
    let mut td = td_number(text(pregnancy, "td_status").as_deref()).unwrap_or(0);
    let mut td_date = None;
    for v in visits {
        if let Some(n) = td_number(v.td_given.as_deref()) {
            if n >= td {
                td = n;
                td_date = Some(v.date);
            }
        }
    }
    let td_status = (td > 0).then(|| format!("T{td}"));
    let last_with = |get: fn(&VisitView) -> Option<f64>| visits.iter().rev().find_map(get);
    let lila = last_with(|v| v.muac_cm);
    let hb = last_with(|v| v.hb_g_dl);
    let last_contact = visits
        .iter()
        .filter_map(|v| v.contact.clone())
        .max_by_key(|c| c[1..].parse::<u8>().unwrap_or(0));
    PregnancyEntry {
        pregnancy_id: pregnancy.id,
        woman_id: woman.map(|w| w.id).unwrap_or_default(),
        woman_name: woman.and_then(|w| text(w, "name")).unwrap_or_default(),
        nik: woman.and_then(|w| text(w, "nik")),
        posyandu_id: woman.and_then(|w| w.posyandu_id),
        hpht,
        due_date: due,
        weeks: weeks.filter(|_| active),
        trimester: weeks.filter(|_| active).map(trimester),
        gravida: int(pregnancy, "gravida"),
        para: int(pregnancy, "para"),
        next_td: next_td(td_status.as_deref(), td_date),
        td_status,
        visits: visits.len() as u32,
        last_visit: visits.last().map(|v| v.date),
        last_contact,
        lila_cm: lila,
        kek: lila.map(is_kek),
        hb_g_dl: hb,
        anaemia: hb.map(is_anaemic),
        outcome,
        active,
        pending: pregnancy.pending,
    }
}

impl LocalStore {
    /// Every pregnancy on this device: the ones still running first (by due date), then the
    /// ended ones, most recent first.
    pub fn pregnancy_register(&self) -> Result<Vec<PregnancyEntry>> {
        let today = self.today();
        let women: HashMap<Uuid, Record> = self
            .list(Kind::Woman)?
            .into_iter()
            .map(|w| (w.id, w))
            .collect();
        let mut visits: HashMap<String, Vec<VisitView>> = HashMap::new();
        for v in self.list(Kind::PregnancyVisit)? {
            if let (Some(p), Some(view)) = (text(&v, "pregnancy_id"), visit_view(&v)) {
                visits.entry(p).or_default().push(view);
            }
        }
        let mut out: Vec<PregnancyEntry> = self
            .list(Kind::Pregnancy)?
            .iter()
            .map(|p| {
                let woman = text(p, "woman_id")
                    .and_then(|w| w.parse::<Uuid>().ok())
                    .and_then(|w| women.get(&w));
                let vs = visits
                    .get_mut(&p.id.to_string())
                    .map(|v| {
                        v.sort_by_key(|v| v.date);
                        &v[..]
                    })
                    .unwrap_or(&[]);
                entry(p, woman, vs, today)
            })
            .collect();
        out.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then_with(|| match a.active {
                    true => a.due_date.cmp(&b.due_date),
                    false => b.due_date.cmp(&a.due_date),
                })
                .then_with(|| a.woman_name.cmp(&b.woman_name))
        });
        Ok(out)
    }

    /// One pregnancy with its visits.
    pub fn pregnancy_page(&self, id: Uuid) -> Result<PregnancyPage> {
        let p = self
            .get(id)?
            .filter(|r| r.kind == Kind::Pregnancy)
            .ok_or_else(|| CoreError::NotFound(format!("pregnancy {id}")))?;
        let woman = match text(&p, "woman_id").and_then(|w| w.parse::<Uuid>().ok()) {
            Some(w) => self.get(w)?,
            None => None,
        };
        let mut visits: Vec<VisitView> = self
            .children_of(id, Kind::PregnancyVisit)?
            .iter()
            .filter_map(visit_view)
            .collect();
        visits.sort_by_key(|v| v.date);
        Ok(PregnancyPage {
            entry: entry(&p, woman.as_ref(), &visits, self.today()),
            visits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn thresholds_match_the_report() {
        assert!(is_kek(23.4));
        assert!(!is_kek(23.5));
        assert!(is_anaemic(10.9));
        assert!(!is_anaemic(11.0));
    }

    #[test]
    fn due_date_and_weeks() {
        assert_eq!(due_date_from_hpht(d("2025-01-01")), Some(d("2025-10-08")));
        assert_eq!(gestational_weeks(d("2025-01-01"), d("2025-03-01")), Some(8));
        assert_eq!(gestational_weeks(d("2025-03-01"), d("2025-01-01")), None);
        assert_eq!(trimester(13), 1);
        assert_eq!(trimester(14), 2);
        assert_eq!(trimester(28), 3);
    }

    #[test]
    fn td_intervals() {
        let next = |s: Option<&str>, last: Option<&str>| next_td(s, last.map(d));
        assert_eq!(next(None, None).unwrap().dose, "T1");
        assert_eq!(
            next(Some("T1"), Some("2025-01-01")).unwrap().due_from,
            Some(d("2025-01-29"))
        );
        assert_eq!(
            next(Some("T2"), Some("2025-01-31")).unwrap().due_from,
            Some(d("2025-07-31"))
        );
        let t4 = next(Some("T3"), Some("2025-02-01")).unwrap();
        assert_eq!(
            (t4.dose.as_str(), t4.due_from),
            ("T4", Some(d("2026-02-01")))
        );
        assert_eq!(next(Some("T4"), None).unwrap().due_from, None);
        assert_eq!(next(Some("T5"), Some("2025-01-01")), None);
    }
}
