//! Growing or not: N / T against the minimum weight gain (KBM), 2T and BGM.
//!
//! Rules (DOMAIN.md "Growing or not"):
//! - **N** (naik): weighed in the previous calendar month too, and gained at least the KBM
//!   for the age in completed months at this weighing.
//! - **T** (tidak naik): weighed last month too, gained less than the KBM, stayed or lost.
//! - **O**: weighed this month but not last month (months without weighing are skipped,
//!   never counted as T). **B**: first weighing ever.
//! - **2T**: T at the last two weighings in a row (an O in between breaks the run).
//! - **BGM** (bawah garis merah): weight-for-age below -3 SD (z rounded to 2 decimals < -3).
//!
//! Weights are compared in whole grams (rounded) so 8.3 - 7.5 kg is exactly 800 g.

use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::category::hundredths;

/// One weighing: date and weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weighing {
    pub date: NaiveDate,
    pub weight_kg: f64,
}

/// The SKDN outcome of a weighing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WeightTrend {
    /// Naik: gained at least the KBM since last month's weighing.
    N,
    /// Tidak naik: gained less than the KBM, stayed or lost.
    T,
    /// Weighed this month but not last month (no comparison possible).
    O,
    /// Baru: weighed for the first time.
    B,
}

/// Why N/T could not be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrendError {
    #[error("weighing date is before the birth date")]
    BeforeBirth,
    #[error("the previous weighing is not in an earlier calendar month")]
    PreviousNotEarlier,
    #[error("age {0} months is outside the KBM table")]
    AgeOutOfRange(u32),
}

/// One KBM row: inclusive range of ages in completed months and the minimum gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KbmRow {
    from_month: u32,
    to_month: u32,
    kbm_g: u32,
}

/// `core/data/kbm.tsv`, embedded and parsed once.
static KBM: LazyLock<Vec<KbmRow>> = LazyLock::new(|| {
    let text = include_str!("../../data/kbm.tsv");
    let rows: Vec<KbmRow> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1) // header
        .map(|l| {
            let c: Vec<u32> = l
                .split('\t')
                .map(|v| v.trim().parse().expect("kbm.tsv: bad number"))
                .collect();
            assert_eq!(c.len(), 3, "kbm.tsv: expected 3 columns in {l:?}");
            KbmRow {
                from_month: c[0],
                to_month: c[1],
                kbm_g: c[2],
            }
        })
        .collect();
    assert!(!rows.is_empty(), "kbm.tsv: empty");
    rows
});

/// Minimum weight gain in grams for a child of `age_months` completed months at this
/// weighing; month 0 uses the first row (gain over the first month of life). `None` past
/// the table (over 60 months).
pub fn kbm_grams(age_months: u32) -> Option<u32> {
    let m = age_months.max(KBM[0].from_month);
    KBM.iter()
        .find(|r| r.from_month <= m && m <= r.to_month)
        .map(|r| r.kbm_g)
}

/// Completed months between `birth` and `date` (`None` if `date` is before `birth`). A
/// month is complete on the same day of a later month, or on that month's last day when it
/// has no such day (born 31 January: 1 month on 28/29 February), as chrono adds months.
pub fn completed_months(birth: NaiveDate, date: NaiveDate) -> Option<u32> {
    if date < birth {
        return None;
    }
    let n = (date.year() - birth.year()) * 12 + date.month() as i32 - birth.month() as i32;
    let n = n.max(0) as u32;
    match birth.checked_add_months(Months::new(n)) {
        Some(d) if d > date => Some(n - 1),
        _ => Some(n),
    }
}

fn month_number(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

/// Weight change in whole grams.
pub fn weight_gain_g(previous: &Weighing, current: &Weighing) -> i64 {
    ((current.weight_kg - previous.weight_kg) * 1000.0).round() as i64
}

/// N, T, O or B for `current` given the child's previous weighing (`None` = first ever).
pub fn weight_trend(
    birth: NaiveDate,
    previous: Option<&Weighing>,
    current: &Weighing,
) -> Result<WeightTrend, TrendError> {
    let age = completed_months(birth, current.date).ok_or(TrendError::BeforeBirth)?;
    let Some(prev) = previous else {
        return Ok(WeightTrend::B);
    };
    let gap = month_number(current.date) - month_number(prev.date);
    if gap < 1 {
        return Err(TrendError::PreviousNotEarlier);
    }
    if gap > 1 {
        return Ok(WeightTrend::O);
    }
    let kbm = kbm_grams(age).ok_or(TrendError::AgeOutOfRange(age))?;
    Ok(if weight_gain_g(prev, current) >= kbm as i64 {
        WeightTrend::N
    } else {
        WeightTrend::T
    })
}

/// The weighings of a history in date order, one per calendar month (a later weighing in
/// the same month replaces an earlier one: it is a re-weighing), each with its trend
/// (`None` when undecidable: before birth or past the KBM table).
pub fn trends(birth: NaiveDate, history: &[Weighing]) -> Vec<(Weighing, Option<WeightTrend>)> {
    let mut sorted: Vec<Weighing> = history.to_vec();
    sorted.sort_by_key(|w| w.date); // stable: same-day entries keep their given order
    let mut monthly: Vec<Weighing> = Vec::with_capacity(sorted.len());
    for w in sorted {
        match monthly.last_mut() {
            Some(last) if month_number(last.date) == month_number(w.date) => *last = w,
            _ => monthly.push(w),
        }
    }
    let mut out = Vec::with_capacity(monthly.len());
    for (i, w) in monthly.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &monthly[j]);
        out.push((*w, weight_trend(birth, prev, w).ok()));
    }
    out
}

/// 2T: the last two weighings of the history (one per month) are both T.
pub fn is_two_t(birth: NaiveDate, history: &[Weighing]) -> bool {
    let t = trends(birth, history);
    t.len() >= 2
        && t[t.len() - 2..]
            .iter()
            .all(|(_, tr)| *tr == Some(WeightTrend::T))
}

/// BGM: weight-for-age z (rounded to 2 decimals) below -3. `None` (no weight, or oedema)
/// is not BGM.
pub fn is_bgm(waz: Option<f64>) -> bool {
    waz.is_some_and(|z| hundredths(z) < -300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn w(y: i32, m: u32, day: u32, kg: f64) -> Weighing {
        Weighing {
            date: d(y, m, day),
            weight_kg: kg,
        }
    }

    #[test]
    fn growth_kbm_table_values() {
        let want = [
            (0, 800),
            (1, 800),
            (2, 900),
            (3, 800),
            (4, 600),
            (5, 500),
            (6, 400),
            (7, 400),
            (8, 300),
            (11, 300),
            (12, 200),
            (59, 200),
            (60, 200),
        ];
        for (m, g) in want {
            assert_eq!(kbm_grams(m), Some(g), "month {m}");
        }
        assert_eq!(kbm_grams(61), None);
    }

    #[test]
    fn growth_completed_months() {
        let b = d(2024, 1, 15);
        assert_eq!(completed_months(b, d(2024, 1, 15)), Some(0));
        assert_eq!(completed_months(b, d(2024, 2, 14)), Some(0));
        assert_eq!(completed_months(b, d(2024, 2, 15)), Some(1));
        assert_eq!(completed_months(b, d(2025, 1, 14)), Some(11));
        assert_eq!(completed_months(b, d(2025, 1, 15)), Some(12));
        assert_eq!(completed_months(b, d(2024, 1, 14)), None);
        // Month-end birthdays complete on the last day of a shorter month.
        let b = d(2024, 1, 31);
        assert_eq!(completed_months(b, d(2024, 2, 28)), Some(0));
        assert_eq!(completed_months(b, d(2024, 2, 29)), Some(1));
        assert_eq!(completed_months(b, d(2024, 3, 30)), Some(1));
        assert_eq!(completed_months(b, d(2024, 3, 31)), Some(2));
    }

    #[test]
    fn growth_n_and_t_at_the_kbm_edge() {
        let birth = d(2024, 1, 10);
        // At 3 months (10 April), KBM is 800 g.
        let prev = w(2024, 3, 12, 5.5);
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2024, 4, 10, 6.3)),
            Ok(WeightTrend::N)
        );
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2024, 4, 10, 6.2)),
            Ok(WeightTrend::T)
        );
        // 9 April is still 2 months: KBM 900 g, so 800 g is T.
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2024, 4, 9, 6.3)),
            Ok(WeightTrend::T)
        );
        // Stayed or lost is T.
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2024, 4, 10, 5.5)),
            Ok(WeightTrend::T)
        );
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2024, 4, 10, 5.4)),
            Ok(WeightTrend::T)
        );
        // From 12 months the KBM is 200 g.
        let prev = w(2025, 1, 5, 9.0);
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2025, 2, 10, 9.2)),
            Ok(WeightTrend::N)
        );
        assert_eq!(
            weight_trend(birth, Some(&prev), &w(2025, 2, 10, 9.1)),
            Ok(WeightTrend::T)
        );
    }

    #[test]
    fn growth_o_b_and_errors() {
        let birth = d(2024, 1, 10);
        assert_eq!(
            weight_trend(birth, None, &w(2024, 2, 1, 4.0)),
            Ok(WeightTrend::B)
        );
        // Not weighed in March: April is O whatever the gain.
        assert_eq!(
            weight_trend(birth, Some(&w(2024, 2, 28, 4.0)), &w(2024, 4, 1, 6.0)),
            Ok(WeightTrend::O)
        );
        assert_eq!(
            weight_trend(birth, Some(&w(2024, 4, 1, 4.0)), &w(2024, 4, 20, 6.0)),
            Err(TrendError::PreviousNotEarlier)
        );
        assert_eq!(
            weight_trend(birth, None, &w(2024, 1, 1, 3.0)),
            Err(TrendError::BeforeBirth)
        );
        assert_eq!(
            weight_trend(birth, Some(&w(2029, 1, 20, 18.0)), &w(2029, 2, 20, 18.5)),
            Err(TrendError::AgeOutOfRange(61))
        );
    }

    #[test]
    fn growth_two_t() {
        let birth = d(2023, 1, 1);
        let base = vec![
            w(2024, 1, 5, 10.0),
            w(2024, 2, 5, 10.1), // T (100 < 200)
            w(2024, 3, 5, 10.2), // T
        ];
        assert!(is_two_t(birth, &base));
        // Unsorted input gives the same answer.
        let mut shuffled = base.clone();
        shuffled.reverse();
        assert!(is_two_t(birth, &shuffled));
        // Last one N: no 2T.
        let mut h = base.clone();
        h[2] = w(2024, 3, 5, 10.3);
        assert!(!is_two_t(birth, &h));
        // A skipped month breaks the run: April missing, May is O.
        let mut h = base.clone();
        h.push(w(2024, 5, 5, 10.2));
        assert!(!is_two_t(birth, &h));
        // ... and T in May and June again makes 2T.
        h.push(w(2024, 6, 5, 10.2));
        assert!(!is_two_t(birth, &h));
        h.push(w(2024, 7, 5, 10.2));
        assert!(is_two_t(birth, &h));
        // A re-weighing in the same month replaces the earlier one.
        let mut h = base.clone();
        h.push(w(2024, 3, 20, 10.4)); // March now 10.4: N
        assert!(!is_two_t(birth, &h));
        let t = trends(birth, &h);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].1, Some(WeightTrend::B));
        assert_eq!(t[2].1, Some(WeightTrend::N));
        // Too short a history.
        assert!(!is_two_t(birth, &base[..1]));
    }

    #[test]
    fn growth_bgm() {
        assert!(is_bgm(Some(-3.01)));
        assert!(is_bgm(Some(-4.5)));
        assert!(!is_bgm(Some(-3.0)));
        assert!(!is_bgm(Some(-3.004)));
        assert!(!is_bgm(Some(-2.5)));
        assert!(!is_bgm(None));
    }
}
