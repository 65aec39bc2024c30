//! Immunization and vitamin A schedule: which doses are due or overdue for a child on a date.
//!
//! The schedule is versioned data (`core/data/schedule.json`, embedded); its `rules` object
//! documents the due / overdue / stop rules this code applies. In short: due from the
//! scheduled age in completed months (and after the previous dose of the series plus its
//! minimum interval), overdue one month later (HB0 at once), no longer listed after
//! `max_month`; vitamin A blue once at 6-11 months, red once per February / August round.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::kbm::completed_months;

/// One vaccine dose of the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleItem {
    /// Stable code, e.g. "DPT_HB_HIB1".
    pub code: String,
    pub name: String,
    /// Doses of one series must be given in order.
    pub series: String,
    /// 1-based dose number within the series.
    pub dose: u32,
    /// Due from this age in completed months.
    pub due_month: u32,
    /// Overdue from this age in completed months (default due_month + 1).
    #[serde(default)]
    pub overdue_month: Option<u32>,
    /// Not listed any more past this age in completed months.
    #[serde(default)]
    pub max_month: Option<u32>,
    /// Minimum days after the previous dose of the series.
    #[serde(default)]
    pub min_interval_days: u32,
    /// Optional programme group ("rotavirus", "je"): listed only when enabled.
    #[serde(default)]
    pub group: Option<String>,
    /// Codes used by older registers for this dose.
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl ScheduleItem {
    /// Age in completed months from which the dose is overdue.
    pub fn overdue_from_month(&self) -> u32 {
        self.overdue_month.unwrap_or(self.due_month + 1)
    }
}

/// Blue vitamin A capsule (100,000 IU), once in an age window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueCapsule {
    pub code: String,
    pub name: String,
    pub due_month: u32,
    pub overdue_month: u32,
    pub max_month: u32,
}

/// Red vitamin A capsule (200,000 IU), once per distribution round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedCapsule {
    pub code: String,
    pub name: String,
    pub from_month: u32,
    pub to_month: u32,
    /// Calendar months (1-12) in which rounds start.
    pub round_start_months: Vec<u32>,
    pub round_length_months: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VitaminA {
    pub blue: BlueCapsule,
    pub red: RedCapsule,
}

/// A versioned schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub version: String,
    pub effective_from: NaiveDate,
    pub source: String,
    /// Human-readable rules (documentation travelling with the data).
    pub rules: BTreeMap<String, String>,
    pub vaccines: Vec<ScheduleItem>,
    pub vitamin_a: VitaminA,
}

/// Vaccine or vitamin A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoseKind {
    Vaccine,
    VitaminA,
}

/// Due (may be given now) or overdue (should already have been given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueStatus {
    Due,
    Overdue,
}

/// A dose already given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Schedule code or one of its aliases (case, spaces, hyphens and underscores ignored).
    pub code: String,
    pub date: NaiveDate,
}

/// A dose due or overdue on the asked date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueItem {
    pub code: String,
    pub name: String,
    pub kind: DoseKind,
    pub status: DueStatus,
    /// Date from which it was due (scheduled age, or the round start for a red capsule).
    pub due_from: NaiveDate,
    /// Date from which it is (or will be) overdue.
    pub overdue_from: NaiveDate,
}

static SCHEDULE: LazyLock<Schedule> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../data/schedule.json"))
        .expect("core/data/schedule.json is invalid")
});

/// The embedded schedule.
pub fn schedule() -> &'static Schedule {
    &SCHEDULE
}

/// Upper case without spaces, hyphens and underscores, for matching codes and aliases
/// ("dpt-1", "DPT 1" and "DPT1" are the same column of an old register).
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

fn last_day_of_month(d: NaiveDate) -> NaiveDate {
    let first = d.with_day(1).expect("day 1 exists");
    add_months(first, 1)
        .pred_opt()
        .expect("not the first day ever")
}

impl Schedule {
    /// The schedule code for a code or alias (e.g. "Campak" -> "MR1"), `None` if unknown.
    pub fn canonical_code(&self, code: &str) -> Option<&str> {
        let n = normalize(code);
        let blue = &self.vitamin_a.blue.code;
        let red = &self.vitamin_a.red.code;
        for code in [blue, red] {
            if normalize(code) == n {
                return Some(code);
            }
        }
        self.vaccines
            .iter()
            .find(|v| normalize(&v.code) == n || v.aliases.iter().any(|a| normalize(a) == n))
            .map(|v| v.code.as_str())
    }

    /// Doses due or overdue on `on` for a child born on `birth`, given what it received
    /// (unknown codes are ignored) and the optional groups enabled in its district. Vaccines
    /// come first in schedule order, then vitamin A.
    pub fn due_items(
        &self,
        birth: NaiveDate,
        on: NaiveDate,
        received: &[Received],
        groups: &[&str],
    ) -> Vec<DueItem> {
        let Some(age) = completed_months(birth, on) else {
            return Vec::new();
        };
        // Earliest date each known code was received on or before `on`.
        let mut got: HashMap<&str, NaiveDate> = HashMap::new();
        for r in received.iter().filter(|r| r.date <= on) {
            if let Some(code) = self.canonical_code(&r.code) {
                let e = got.entry(code).or_insert(r.date);
                *e = (*e).min(r.date);
            }
        }
        let mut out = Vec::new();

        for item in &self.vaccines {
            if item.group.as_deref().is_some_and(|g| !groups.contains(&g))
                || got.contains_key(item.code.as_str())
                || age < item.due_month
                || item.max_month.is_some_and(|m| age > m)
            {
                continue;
            }
            if item.dose > 1 {
                let prev = self
                    .vaccines
                    .iter()
                    .find(|v| v.series == item.series && v.dose == item.dose - 1);
                if let Some(prev) = prev {
                    // The previous dose is listed itself while missing; this one waits.
                    let Some(prev_date) = got.get(prev.code.as_str()) else {
                        continue;
                    };
                    if (on - *prev_date).num_days() < item.min_interval_days as i64 {
                        continue;
                    }
                }
            }
            let overdue_month = item.overdue_from_month();
            out.push(DueItem {
                code: item.code.clone(),
                name: item.name.clone(),
                kind: DoseKind::Vaccine,
                status: if age >= overdue_month {
                    DueStatus::Overdue
                } else {
                    DueStatus::Due
                },
                due_from: add_months(birth, item.due_month),
                overdue_from: add_months(birth, overdue_month),
            });
        }

        let blue = &self.vitamin_a.blue;
        if (blue.due_month..=blue.max_month).contains(&age) && !got.contains_key(blue.code.as_str())
        {
            out.push(DueItem {
                code: blue.code.clone(),
                name: blue.name.clone(),
                kind: DoseKind::VitaminA,
                status: if age >= blue.overdue_month {
                    DueStatus::Overdue
                } else {
                    DueStatus::Due
                },
                due_from: add_months(birth, blue.due_month),
                overdue_from: add_months(birth, blue.overdue_month),
            });
        }

        let red = &self.vitamin_a.red;
        if (red.from_month..=red.to_month).contains(&age) {
            if let Some(start) = self.round_start(on) {
                let first_month_end = last_day_of_month(start);
                let eligible_in_round =
                    completed_months(birth, first_month_end).is_some_and(|m| m >= red.from_month);
                let got_in_round = received.iter().any(|r| {
                    r.date >= start
                        && r.date <= on
                        && self
                            .canonical_code(&r.code)
                            .is_some_and(|c| c == blue.code || c == red.code)
                });
                if eligible_in_round && !got_in_round {
                    out.push(DueItem {
                        code: red.code.clone(),
                        name: red.name.clone(),
                        kind: DoseKind::VitaminA,
                        status: if on > first_month_end {
                            DueStatus::Overdue
                        } else {
                            DueStatus::Due
                        },
                        due_from: start,
                        overdue_from: first_month_end.succ_opt().unwrap_or(first_month_end),
                    });
                }
            }
        }
        out
    }

    /// First day of the red-capsule round containing `on`.
    fn round_start(&self, on: NaiveDate) -> Option<NaiveDate> {
        let red = &self.vitamin_a.red;
        red.round_start_months
            .iter()
            .flat_map(|&m| {
                // This year's and last year's start in that month.
                [on.year(), on.year() - 1]
                    .into_iter()
                    .filter_map(move |y| NaiveDate::from_ymd_opt(y, m, 1))
            })
            .filter(|s| *s <= on && on < add_months(*s, red.round_length_months))
            .max()
    }
}

/// [`Schedule::due_items`] with the embedded schedule.
pub fn due_items(
    birth: NaiveDate,
    on: NaiveDate,
    received: &[Received],
    groups: &[&str],
) -> Vec<DueItem> {
    schedule().due_items(birth, on, received, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn rec(code: &str, date: NaiveDate) -> Received {
        Received {
            code: code.into(),
            date,
        }
    }
    fn codes(items: &[DueItem]) -> Vec<(&str, DueStatus)> {
        items.iter().map(|i| (i.code.as_str(), i.status)).collect()
    }
    use DueStatus::{Due, Overdue};

    #[test]
    fn growth_schedule_loads() {
        let s = schedule();
        assert_eq!(s.version, "id-2023.1");
        assert_eq!(s.vaccines.len(), 20);
        for key in ["due", "overdue", "stop", "vitamin_a_red"] {
            assert!(s.rules.contains_key(key), "rule {key} documented");
        }
        assert_eq!(s.canonical_code("Campak"), Some("MR1"));
        assert_eq!(s.canonical_code("dpt-1"), Some("DPT_HB_HIB1"));
        assert_eq!(s.canonical_code("Polio 2"), Some("OPV2"));
        assert_eq!(s.canonical_code("vita_red"), Some("VITA_RED"));
        assert_eq!(s.canonical_code("XYZ"), None);
        // No two doses share a code or alias once normalised.
        let mut seen = std::collections::HashSet::new();
        for v in &s.vaccines {
            for c in std::iter::once(&v.code).chain(&v.aliases) {
                assert!(seen.insert(normalize(c)), "duplicate code {c}");
            }
        }
    }

    #[test]
    fn growth_schedule_newborn_and_one_month() {
        let birth = d(2024, 3, 10);
        // Day of birth: HB0 only, overdue at once (first 24 hours).
        assert_eq!(
            codes(&due_items(birth, birth, &[], &[])),
            vec![("HB0", Overdue)]
        );
        // HB0 given: nothing due until 1 month.
        let got = [rec("HB0", birth)];
        assert!(due_items(birth, d(2024, 4, 9), &got, &[]).is_empty());
        // At 1 month: BCG and OPV1 due; HB0 past its window is not listed.
        assert_eq!(
            codes(&due_items(birth, d(2024, 4, 10), &[], &[])),
            vec![("BCG", Due), ("OPV1", Due)]
        );
        // At 2 months without them: overdue; OPV2 waits for OPV1; dose-1 of the 2-month
        // series due.
        assert_eq!(
            codes(&due_items(birth, d(2024, 5, 10), &got, &[])),
            vec![
                ("BCG", Overdue),
                ("OPV1", Overdue),
                ("DPT_HB_HIB1", Due),
                ("PCV1", Due)
            ]
        );
        // Rotavirus only where enabled.
        assert_eq!(
            codes(&due_items(birth, d(2024, 5, 10), &got, &["rotavirus"]))
                .last()
                .copied(),
            Some(("ROTA1", Due))
        );
    }

    #[test]
    fn growth_schedule_series_interval() {
        let birth = d(2024, 1, 1);
        let got = [
            rec("HB0", birth),
            rec("BCG", d(2024, 2, 1)),
            rec("OPV1", d(2024, 2, 1)),
            rec("DPT1", d(2024, 3, 20)), // old-register alias
            rec("OPV2", d(2024, 3, 20)),
            rec("PCV1", d(2024, 3, 20)),
        ];
        // 1 April: 3 months, but dose 2s are less than 28 days after dose 1s.
        assert!(due_items(birth, d(2024, 4, 1), &got, &[]).is_empty());
        // 17 April (28 days later): dose 2s and OPV3 due (3 months, overdue from 4).
        assert_eq!(
            codes(&due_items(birth, d(2024, 4, 17), &got, &[])),
            vec![("OPV3", Due), ("DPT_HB_HIB2", Due), ("PCV2", Due)]
        );
        // 2 May: 4 months: dose 2s overdue, OPV3 overdue, IPV due.
        assert_eq!(
            codes(&due_items(birth, d(2024, 5, 2), &got, &[])),
            vec![
                ("OPV3", Overdue),
                ("DPT_HB_HIB2", Overdue),
                ("IPV", Due),
                ("PCV2", Overdue)
            ]
        );
    }

    #[test]
    fn growth_schedule_vitamin_a_blue() {
        let birth = d(2024, 1, 15);
        assert!(due_items(birth, d(2024, 7, 14), &all_basic(birth), &[]).is_empty());
        assert_eq!(
            codes(&due_items(birth, d(2024, 7, 15), &all_basic(birth), &[])),
            vec![("VITA_BLUE", Due)]
        );
        assert_eq!(
            codes(&due_items(birth, d(2024, 8, 15), &all_basic(birth), &[])),
            vec![("VITA_BLUE", Overdue)]
        );
        let mut got = all_basic(birth);
        got.push(rec("VITA_BLUE", d(2024, 8, 1)));
        assert!(due_items(birth, d(2024, 8, 15), &got, &[]).is_empty());
    }

    /// Every dose up to 12 months, at its scheduled month.
    fn all_basic(birth: NaiveDate) -> Vec<Received> {
        schedule()
            .vaccines
            .iter()
            .filter(|v| v.due_month <= 12 && v.group.is_none())
            .map(|v| rec(&v.code, add_months(birth, v.due_month)))
            .collect()
    }

    #[test]
    fn growth_schedule_vitamin_a_red_rounds() {
        let birth = d(2022, 6, 10);
        let mut got = all_basic(birth);
        got.push(rec("VITA_BLUE", d(2022, 12, 10)));
        got.push(rec("DPT_HB_HIB4", d(2023, 12, 10)));
        got.push(rec("MR2", d(2023, 12, 10)));
        // February round: due in February, overdue from March, until July.
        assert_eq!(
            codes(&due_items(birth, d(2025, 2, 20), &got, &[])),
            vec![("VITA_RED", Due)]
        );
        let later = due_items(birth, d(2025, 3, 1), &got, &[]);
        assert_eq!(codes(&later), vec![("VITA_RED", Overdue)]);
        assert_eq!(later[0].due_from, d(2025, 2, 1));
        assert_eq!(later[0].overdue_from, d(2025, 3, 1));
        assert_eq!(
            codes(&due_items(birth, d(2025, 7, 31), &got, &[])),
            vec![("VITA_RED", Overdue)]
        );
        // August round, and the January end of it (round started last year).
        assert_eq!(
            codes(&due_items(birth, d(2025, 8, 5), &got, &[])),
            vec![("VITA_RED", Due)]
        );
        assert_eq!(
            codes(&due_items(birth, d(2026, 1, 20), &got, &[])),
            vec![("VITA_RED", Overdue)]
        );
        // Given in the round: nothing; given in the previous round: due again.
        got.push(rec("VITA_RED", d(2025, 2, 12)));
        assert!(due_items(birth, d(2025, 5, 1), &got, &[]).is_empty());
        assert_eq!(
            codes(&due_items(birth, d(2025, 8, 5), &got, &[])),
            vec![("VITA_RED", Due)]
        );
        // From 60 months: no more.
        assert!(due_items(birth, d(2027, 8, 5), &got, &[]).is_empty());
    }

    #[test]
    fn growth_schedule_red_waits_when_12_months_mid_round() {
        // Born 10 April 2024: 12 months on 10 April 2025, after the February round month.
        let birth = d(2024, 4, 10);
        let mut got = all_basic(birth);
        got.push(rec("VITA_BLUE", d(2024, 10, 10)));
        let codes_may: Vec<_> = due_items(birth, d(2025, 5, 1), &got, &[])
            .into_iter()
            .filter(|i| i.kind == DoseKind::VitaminA)
            .collect();
        assert!(codes_may.is_empty());
        // Born 10 February 2024: 12 months on 10 February 2025, within the round month.
        let birth = d(2024, 2, 10);
        let mut got = all_basic(birth);
        got.push(rec("VITA_BLUE", d(2024, 8, 10)));
        let vit: Vec<_> = due_items(birth, d(2025, 2, 20), &got, &[])
            .into_iter()
            .filter(|i| i.kind == DoseKind::VitaminA)
            .map(|i| (i.code, i.status))
            .collect();
        assert_eq!(vit, vec![("VITA_RED".to_string(), Due)]);
    }
}
