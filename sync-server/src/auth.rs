//! Passwords (argon2) and device tokens (random, stored as SHA-256 hashes).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh device token: 256 random bits, hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Tokens are high-entropy, so a fast hash is enough to make a stolen database useless.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A password that is never the hash of anything, used to spend the same time on unknown users.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2luZXJnaXNhbHQ$2m3K2cM6Yq4JZ0v8Yl3mWmJ6yTQ0C2Gk9Yp7m9X1H2E";

/// The shortest password `user add` and `user password` accept, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// How failed logins are slowed down: growing delays answered as `429 too_many_attempts` with
/// `Retry-After`, counted per (user name, client address) pair and, more loosely, per address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures of one user name from one address that cost no wait; after the next failure
    /// that pair waits `first_delay`, then twice as long after each further failure. A success
    /// clears the pair. Failures of that name from other addresses are not counted here, so an
    /// attacker elsewhere cannot slow a kader down, let alone lock her out.
    pub free_failures: u32,
    /// Failures from one address over every user name before that address waits too (the same
    /// growing delays). A success does not clear them, so one known account cannot wash away
    /// guesses at other accounts; they are forgotten like the pair's.
    pub free_failures_per_ip: u32,
    /// The first delay.
    pub first_delay: std::time::Duration,
    /// The longest delay: however many failures, a pair or address waits at most this long.
    pub max_delay: std::time::Duration,
    /// A pair or address with no failure for this long starts again from zero (never before
    /// its current delay has passed).
    pub forget_after: std::time::Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            free_failures: 3,
            free_failures_per_ip: 20,
            first_delay: std::time::Duration::from_secs(1),
            max_delay: std::time::Duration::from_secs(60),
            forget_after: std::time::Duration::from_secs(15 * 60),
        }
    }
}

impl LoginLimits {
    /// The wait after `failures` failures when the first `free` are free: 0 up to `free - 1`
    /// failures, then `first_delay`, doubling with each further failure, at most `max_delay`.
    pub fn delay_after(&self, failures: u32, free: u32) -> std::time::Duration {
        if failures < free.max(1) {
            return std::time::Duration::ZERO;
        }
        let doublings = (failures - free.max(1)).min(31);
        self.first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LimitKey {
    /// A user name (normalised by `LoginLimiter::user_key`) from one address (None when the
    /// server does not know it).
    Pair(String, Option<std::net::IpAddr>),
    Ip(std::net::IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Wrong passwords.
    count: u32,
    /// When the last of them was tried: the delay is counted from here.
    last: std::time::Instant,
    /// Attempts let through whose password is still being checked.
    pending: u32,
}

/// Slows failed logins down, in memory (a restart forgets them, which only gives an attacker a
/// few more free tries). An attempt is reserved *before* its password is hashed: while some are
/// being checked, only as many more are let through as could fail without a delay, so
/// concurrent attempts cannot slip past it, and a refused attempt costs the server no argon2
/// work.
pub struct LoginLimiter {
    limits: LoginLimits,
    state: std::sync::Mutex<std::collections::HashMap<LimitKey, Failures>>,
}

/// One login let through by `LoginLimiter::attempt`: say how it ended. Dropped without a word
/// (e.g. the client went away while its password was checked), it counts as a wrong password.
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    keys: Vec<LimitKey>,
    at: std::time::Instant,
    settled: bool,
}

enum Outcome {
    Failed,
    Succeeded,
    NotAFailure,
}

impl Attempt<'_> {
    /// The password was right: this user name from this address starts again from zero, and
    /// the attempt does not count against the address.
    pub fn succeeded(mut self) {
        self.settle(Outcome::Succeeded);
    }

    /// The password was wrong.
    pub fn failed(mut self) {
        self.settle(Outcome::Failed);
    }

    /// The attempt ended without its password being found wrong (a store error, a disabled
    /// user): it is not counted.
    pub fn not_a_failure(mut self) {
        self.settle(Outcome::NotAFailure);
    }

    fn settle(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let mut state = self.limiter.lock();
        for k in &self.keys {
            if matches!(outcome, Outcome::Succeeded) && matches!(k, LimitKey::Pair(..)) {
                state.remove(k);
                continue;
            }
            let Some(f) = state.get_mut(k) else { continue };
            f.pending = f.pending.saturating_sub(1);
            if matches!(outcome, Outcome::Failed) {
                f.count = f.count.saturating_add(1);
                f.last = f.last.max(self.at);
            }
        }
    }
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("keys", &self.keys)
            .field("at", &self.at)
            .finish()
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.settle(Outcome::Failed);
    }
}

/// Above this many keys, forgotten ones are dropped.
const PRUNE_AT: usize = 10_000;

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        LoginLimiter {
            limits: LoginLimits {
                // A delay is never forgotten before it has passed.
                forget_after: limits.forget_after.max(limits.max_delay),
                ..limits
            },
            state: Default::default(),
        }
    }

    pub fn limits(&self) -> LoginLimits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<LimitKey, Failures>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key a user name is counted under: trimmed and lower-cased, so variants of one name
    /// share one count.
    pub fn user_key(user: &str) -> String {
        user.trim().to_lowercase().chars().take(200).collect()
    }

    fn free(&self, key: &LimitKey) -> u32 {
        match key {
            LimitKey::Pair(..) => self.limits.free_failures,
            LimitKey::Ip(_) => self.limits.free_failures_per_ip,
        }
    }

    fn forgotten(&self, f: &Failures, now: std::time::Instant) -> bool {
        f.pending == 0 && now.saturating_duration_since(f.last) >= self.limits.forget_after
    }

    /// How long this key must still wait before another attempt: the delay of its last
    /// failure, or, while attempts are being checked, the delay they would cause if they all
    /// failed.
    fn wait(&self, key: &LimitKey, f: &Failures, now: std::time::Instant) -> std::time::Duration {
        let free = self.free(key);
        let after_last =
            (f.last + self.limits.delay_after(f.count, free)).saturating_duration_since(now);
        let if_pending_fail = if f.pending > 0 {
            self.limits
                .delay_after(f.count.saturating_add(f.pending), free)
        } else {
            std::time::Duration::ZERO
        };
        after_last.max(if_pending_fail)
    }

    /// Let one attempt for this user name from this address through, or `Err(retry_after)`
    /// while the pair or the address must still wait (nothing is counted then).
    pub fn attempt(
        &self,
        user: &str,
        ip: Option<std::net::IpAddr>,
        now: std::time::Instant,
    ) -> Result<Attempt<'_>, std::time::Duration> {
        let mut keys = vec![LimitKey::Pair(Self::user_key(user), ip)];
        keys.extend(ip.map(LimitKey::Ip));
        let mut state = self.lock();
        if state.len() > PRUNE_AT {
            state.retain(|_, f| !self.forgotten(f, now));
        }
        let mut retry = std::time::Duration::ZERO;
        for k in &keys {
            if let Some(f) = state.get(k).filter(|f| !self.forgotten(f, now)) {
                retry = retry.max(self.wait(k, f, now));
            }
        }
        if !retry.is_zero() {
            return Err(retry);
        }
        for k in &keys {
            let f = state.entry(k.clone()).or_insert(Failures {
                count: 0,
                last: now,
                pending: 0,
            });
            if self.forgotten(f, now) {
                f.count = 0;
            }
            f.pending += 1;
        }
        drop(state);
        Ok(Attempt {
            limiter: self,
            keys,
            at: now,
            settled: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, Instant};

    const IP: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    const OTHER_IP: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));

    fn limiter(pair: u32, ip: u32) -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            free_failures: pair,
            free_failures_per_ip: ip,
            ..LoginLimits::default()
        })
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2_hash() {
        // Otherwise unknown users would be answered faster than known ones.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn three_free_failures_then_delays_that_double_up_to_a_minute() {
        let l = limiter(3, 1000);
        let mut t = Instant::now();
        for _ in 0..3 {
            assert!(l.attempt("bidan", IP, t).is_ok());
        }
        // Each further failure: the next attempt waits 1, 2, 4, ... s, never more than 60 s.
        let mut waits = Vec::new();
        for _ in 0..9 {
            let retry = l.attempt("bidan", IP, t).unwrap_err();
            waits.push(retry.as_secs());
            // Just before the delay ends, still refused, with what is left.
            assert_eq!(
                l.attempt("bidan", IP, t + retry - Duration::from_millis(1))
                    .err(),
                Some(Duration::from_millis(1))
            );
            t += retry;
            assert!(l.attempt("bidan", IP, t).is_ok(), "after {retry:?}");
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn the_delay_rule() {
        let l = LoginLimits::default();
        let d: Vec<u64> = (0..12).map(|n| l.delay_after(n, 3).as_secs()).collect();
        assert_eq!(d, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(l.delay_after(u32::MAX, 3), secs(60));
        assert_eq!(l.delay_after(u32::MAX, 0), secs(60));
        assert_eq!(l.delay_after(1, 0), secs(1));
    }

    #[test]
    fn counted_per_user_name_and_address_pair() {
        let l = limiter(3, 1000);
        let t = Instant::now();
        for _ in 0..3 {
            l.attempt("Bidan ", IP, t).unwrap();
        }
        // The name is counted however it is spelled ...
        assert_eq!(l.attempt(" BIDAN", IP, t).err(), Some(secs(1)));
        // ... but only from that address, and only for that name.
        assert!(l.attempt("bidan", OTHER_IP, t).is_ok());
        assert!(l.attempt("kader_a", IP, t).is_ok());
    }

    #[test]
    fn an_attacker_elsewhere_cannot_slow_a_kader_down() {
        let l = limiter(3, 20);
        let t = Instant::now();
        // Ten wrong passwords for kader_a from the attacker's address, as fast as allowed.
        let mut at = t;
        let mut tried = 0;
        while tried < 10 {
            match l.attempt("kader_a", OTHER_IP, at) {
                Ok(_) => tried += 1,
                Err(wait) => at += wait,
            }
        }
        assert!(l.attempt("kader_a", OTHER_IP, at).is_err());
        // The kader at her own address is let through at once, and her success changes
        // nothing for the attacker.
        l.attempt("kader_a", IP, t).unwrap().succeeded();
        assert!(l.attempt("kader_a", OTHER_IP, at).is_err());
        // So is the kader from no known address (a server without connect info).
        assert!(l.attempt("kader_a", None, at).is_ok());
    }

    #[test]
    fn a_success_clears_the_pair_but_not_the_address() {
        let l = limiter(3, 5);
        let t = Instant::now();
        for _ in 0..3 {
            l.attempt("bidan", IP, t).unwrap();
        }
        assert!(l.attempt("bidan", IP, t).is_err());
        // The right password once the delay has passed: the pair starts again from zero.
        let t = t + secs(1);
        l.attempt("bidan", IP, t).unwrap().succeeded();
        for _ in 0..2 {
            l.attempt("bidan", IP, t).unwrap().failed();
        }
        // 3 + 2 failures from this address (the success not counted): the address now waits,
        // whatever name it tries.
        assert_eq!(l.attempt("kader1", IP, t).err(), Some(secs(1)));
        assert!(l.attempt("kader1", OTHER_IP, t).is_ok());
        assert!(l.attempt("kader1", None, t).is_ok());
    }

    #[test]
    fn a_success_does_not_make_the_address_wait() {
        let l = limiter(100, 3);
        let t = Instant::now();
        for i in 0..3 {
            l.attempt(&format!("nama{i}"), IP, t).unwrap().failed();
        }
        let t = t + secs(1);
        l.attempt("bidan", IP, t).unwrap().succeeded();
        // The address's delay is still counted from its last failure, not from the success.
        assert!(l.attempt("kader_a", IP, t).is_ok());
    }

    #[test]
    fn concurrent_attempts_cannot_slip_past_the_delay() {
        let l = limiter(3, 100);
        let t = Instant::now();
        // Three passwords being checked at once: a fourth waits for them, as long as it would
        // if they all failed.
        let checking: Vec<_> = (0..3).map(|_| l.attempt("bidan", IP, t).unwrap()).collect();
        assert_eq!(l.attempt("bidan", IP, t).err(), Some(secs(1)));
        // One of them was right: the pair starts again (the others are still checked).
        let mut checking = checking.into_iter();
        checking.next().unwrap().succeeded();
        assert!(l.attempt("bidan", IP, t).is_ok());
        // The others fail; an attempt dropped unanswered (its client went away) counts as a
        // failure too.
        checking.next().unwrap().failed();
        drop(checking);
        // 1 (above) + 2 failures: three, so the next attempt waits.
        assert_eq!(l.attempt("bidan", IP, t).err(), Some(secs(1)));
    }

    #[test]
    fn the_address_budget_spans_names_and_grows_too() {
        let l = limiter(3, 6);
        let t = Instant::now();
        for i in 0..6 {
            l.attempt(&format!("nama{i}"), IP, t).unwrap();
        }
        assert_eq!(l.attempt("nama_baru", IP, t).err(), Some(secs(1)));
        l.attempt("nama_baru", IP, t + secs(1)).unwrap();
        assert_eq!(l.attempt("lagi", IP, t + secs(1)).err(), Some(secs(2)));
    }

    #[test]
    fn an_undone_attempt_is_not_counted() {
        let l = limiter(1, 100);
        let t = Instant::now();
        l.attempt("bidan", IP, t).unwrap().not_a_failure();
        assert!(l.attempt("bidan", IP, t).is_ok());
        assert!(l.attempt("bidan", IP, t).is_err());
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_while() {
        let l = LoginLimiter::new(LoginLimits {
            forget_after: secs(600),
            ..LoginLimits::default()
        });
        let t = Instant::now();
        let mut at = t;
        for _ in 0..10 {
            if let Err(wait) = l.attempt("bidan", IP, at) {
                at += wait;
                l.attempt("bidan", IP, at).unwrap();
            }
        }
        assert!(l.attempt("bidan", IP, at).is_err());
        let later = at + secs(600);
        for _ in 0..3 {
            assert!(l.attempt("bidan", IP, later).is_ok());
        }
        assert_eq!(l.attempt("bidan", IP, later).err(), Some(secs(1)));
    }

    #[test]
    fn a_delay_is_never_forgotten_before_it_ends() {
        let l = LoginLimiter::new(LoginLimits {
            free_failures: 1,
            first_delay: secs(100),
            max_delay: secs(100),
            forget_after: secs(5),
            ..LoginLimits::default()
        });
        let t = Instant::now();
        l.attempt("bidan", IP, t).unwrap();
        assert_eq!(l.attempt("bidan", IP, t + secs(50)).err(), Some(secs(50)));
        assert!(l.attempt("bidan", IP, t + secs(100)).is_ok());
    }
}
