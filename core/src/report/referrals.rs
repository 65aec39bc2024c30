//! Referrals (rujukan) of children and women to the puskesmas.
//!
//! - **Made** this month: referrals dated in the month, by reason (2T, BGM, gizi buruk, KEK,
//!   anaemia, danger signs, other).
//! - **Answered** this month: referrals whose answer is dated in the month (`answer_date`; a
//!   referral marked `dijawab` / `selesai` without an answer date counts as answered on its own
//!   date).
//! - **Waiting** at the month's end: referrals made on or before the month's last day and not
//!   answered by then.

use std::ops::AddAssign;

use serde::Serialize;

use super::input::{ReferralRec, REFERRAL_REASONS};
use super::{PlaceRef, YearMonth};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReferralCounts {
    /// Made this month, by reason in the order of [`ReferralReport::reasons`].
    pub made_by_reason: [u32; 7],
    pub made: u32,
    pub answered: u32,
    pub waiting: u32,
}

impl ReferralCounts {
    pub(crate) fn add_referral(&mut self, r: &ReferralRec, month: YearMonth) {
        let (first, last) = (month.first_day(), month.last_day());
        if r.date >= first && r.date <= last {
            self.made += 1;
            self.made_by_reason[r.reason as usize] += 1;
        }
        match r.answered_on {
            Some(a) if a >= first && a <= last => self.answered += 1,
            _ => {}
        }
        if r.date <= last && r.answered_on.is_none_or(|a| a > last) {
            self.waiting += 1;
        }
    }
}

impl AddAssign<&ReferralCounts> for ReferralCounts {
    fn add_assign(&mut self, o: &ReferralCounts) {
        for (a, b) in self.made_by_reason.iter_mut().zip(o.made_by_reason) {
            *a += b;
        }
        self.made += o.made;
        self.answered += o.answered;
        self.waiting += o.waiting;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralRow {
    pub place: PlaceRef,
    #[serde(flatten)]
    pub counts: ReferralCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralReport {
    /// Reason codes of `made_by_reason`.
    pub reasons: [&'static str; 7],
    pub rows: Vec<ReferralRow>,
    pub total: ReferralCounts,
}

impl ReferralReport {
    pub(crate) fn reasons() -> [&'static str; 7] {
        REFERRAL_REASONS
    }
}
