//! Hybrid logical clock. Merge order is (wall millis, counter, node); the wall part comes from a
//! `Clock` so tests can drive time by hand.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// Source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;

    /// This device's time zone at `now_ms`, in seconds east of UTC: "today" for a person is the
    /// local calendar date (Indonesia is UTC+7 to +9; at 08:30 WIT it is still yesterday in UTC).
    fn utc_offset_secs(&self) -> i32 {
        use chrono::TimeZone;
        chrono::DateTime::from_timestamp_millis(self.now_ms())
            .map(|t| {
                chrono::Local
                    .offset_from_utc_datetime(&t.naive_utc())
                    .local_minus_utc()
            })
            .unwrap_or(0)
    }
}

/// The local calendar date at `ms` (UTC millis) for a zone `offset_secs` east of UTC.
pub fn local_date(ms: i64, offset_secs: i32) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms.saturating_add(i64::from(offset_secs) * 1000))
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to (tests, simulation, or a device with a set offset).
/// Its time zone is UTC unless set (`set_utc_offset_secs`).
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>, Arc<std::sync::atomic::AtomicI32>);

impl ManualClock {
    pub fn new(ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(ms)), Default::default())
    }
    pub fn set_utc_offset_secs(&self, secs: i32) {
        self.1.store(secs, Ordering::SeqCst)
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst)
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn utc_offset_secs(&self) -> i32 {
        self.1.load(Ordering::SeqCst)
    }
}

/// The system clock shifted by a fixed offset: how a device with a wrong clock is simulated.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub i64);

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.0
    }
}

/// A hybrid logical timestamp. Total order: millis, then counter, then node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub millis: i64,
    pub counter: u32,
    pub node: Uuid,
}

impl Hlc {
    pub const ZERO: Hlc = Hlc {
        millis: 0,
        counter: 0,
        node: Uuid::nil(),
    };

    /// Next timestamp for `node` that is after both `self` (the latest seen) and the wall clock.
    pub fn tick(self, wall_ms: i64, node: Uuid) -> Hlc {
        if wall_ms > self.millis {
            Hlc {
                millis: wall_ms,
                counter: 0,
                node,
            }
        } else {
            Hlc {
                millis: self.millis,
                counter: self.counter + 1,
                node,
            }
        }
    }
}

impl fmt::Display for Hlc {
    /// Fixed width so that string order equals timestamp order (millis may be negative only in
    /// broken input; they are clamped to zero when printed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:013}-{:05}-{}",
            self.millis.max(0),
            self.counter,
            self.node.simple()
        )
    }
}

impl FromStr for Hlc {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut it = s.splitn(3, '-');
        let (Some(m), Some(c), Some(n)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("bad hlc {s:?}"));
        };
        Ok(Hlc {
            millis: m.parse().map_err(|_| format!("bad hlc millis {s:?}"))?,
            counter: c.parse().map_err(|_| format!("bad hlc counter {s:?}"))?,
            node: Uuid::parse_str(n).map_err(|_| format!("bad hlc node {s:?}"))?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_order_is_timestamp_order() {
        let n = Uuid::nil();
        let a = Hlc {
            millis: 9,
            counter: 10,
            node: n,
        };
        let b = Hlc {
            millis: 10,
            counter: 0,
            node: n,
        };
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
    }

    #[test]
    fn tick_never_goes_back() {
        let n = Uuid::now_v7();
        let seen = Hlc {
            millis: 1_000,
            counter: 3,
            node: Uuid::nil(),
        };
        let t = seen.tick(5, n);
        assert!(t > seen);
        assert_eq!((t.millis, t.counter), (1_000, 4));
        assert_eq!(seen.tick(2_000, n).millis, 2_000);
    }
}
