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

/// How many failed logins are allowed before the server answers `429 too_many_attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures per user name within `window` (a success clears them).
    pub max_failures_per_user: u32,
    /// Failures per client address within `window`, over every user name (stops one client
    /// from trying many names). They expire with the window only, so one known account cannot
    /// be used to wash away guesses at other accounts.
    pub max_failures_per_ip: u32,
    /// Counted from a key's first failure; when it has passed, the key starts again at zero.
    pub window: std::time::Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            max_failures_per_user: 5,
            max_failures_per_ip: 20,
            window: std::time::Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LimitKey {
    User(String),
    Ip(std::net::IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: std::time::Instant,
    failures: u32,
}

/// Counts failed logins in memory (a restart forgets them, which only gives an attacker one
/// more window). An attempt is counted *before* its password is hashed and taken back when it
/// succeeds, so concurrent attempts cannot slip past the limit and a refused attempt costs the
/// server no argon2 work.
pub struct LoginLimiter {
    limits: LoginLimits,
    state: std::sync::Mutex<std::collections::HashMap<LimitKey, Window>>,
}

/// Above this many keys, expired ones are dropped (the per-address limit bounds the rest).
const PRUNE_AT: usize = 10_000;

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        LoginLimiter {
            limits,
            state: Default::default(),
        }
    }

    pub fn limits(&self) -> LoginLimits {
        self.limits
    }

    /// The key a user name is counted under: trimmed and lower-cased, so variants of one name
    /// share one count.
    pub fn user_key(user: &str) -> String {
        user.trim().to_lowercase().chars().take(200).collect()
    }

    fn keys(user: &str, ip: Option<std::net::IpAddr>) -> Vec<LimitKey> {
        let mut k = vec![LimitKey::User(Self::user_key(user))];
        k.extend(ip.map(LimitKey::Ip));
        k
    }

    fn max(&self, key: &LimitKey) -> u32 {
        match key {
            LimitKey::User(_) => self.limits.max_failures_per_user,
            LimitKey::Ip(_) => self.limits.max_failures_per_ip,
        }
    }

    /// Reserve one attempt for this user name and address, counted as a failure until
    /// `succeeded` or `not_a_failure` says otherwise. `Err(retry_after)` when either is over
    /// its limit (nothing is counted then).
    pub fn attempt(
        &self,
        user: &str,
        ip: Option<std::net::IpAddr>,
        now: std::time::Instant,
    ) -> Result<(), std::time::Duration> {
        let window = self.limits.window;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.len() > PRUNE_AT {
            state.retain(|_, w| now.duration_since(w.start) < window);
        }
        let keys = Self::keys(user, ip);
        let mut retry = std::time::Duration::ZERO;
        for k in &keys {
            if let Some(w) = state.get(k) {
                let age = now.duration_since(w.start);
                if age < window && w.failures >= self.max(k) {
                    retry = retry.max(window - age);
                }
            }
        }
        if !retry.is_zero() {
            return Err(retry);
        }
        for k in keys {
            let w = state.entry(k).or_insert(Window {
                start: now,
                failures: 0,
            });
            if now.duration_since(w.start) >= window {
                *w = Window {
                    start: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
        Ok(())
    }

    /// The password was right: the user name starts again from zero, and this attempt does
    /// not count against the address.
    pub fn succeeded(&self, user: &str, ip: Option<std::net::IpAddr>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.remove(&LimitKey::User(Self::user_key(user)));
        Self::take_back(&mut state, ip.map(LimitKey::Ip));
    }

    /// The attempt ended before its password could be judged (e.g. a store error): undo it.
    pub fn not_a_failure(&self, user: &str, ip: Option<std::net::IpAddr>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for k in Self::keys(user, ip) {
            Self::take_back(&mut state, Some(k));
        }
    }

    fn take_back(state: &mut std::collections::HashMap<LimitKey, Window>, key: Option<LimitKey>) {
        if let Some(w) = key.and_then(|k| state.get_mut(&k)) {
            w.failures = w.failures.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, Instant};

    const IP: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));

    fn limiter(user: u32, ip: u32) -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            max_failures_per_user: user,
            max_failures_per_ip: ip,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2_hash() {
        // Otherwise unknown users would be answered faster than known ones.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn five_failures_then_refused_until_the_window_passes() {
        let l = limiter(5, 100);
        let t = Instant::now();
        for _ in 0..5 {
            assert!(l.attempt("Bidan ", IP, t).is_ok());
        }
        let retry = l
            .attempt("bidan", IP, t + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(retry, Duration::from_secs(50));
        assert!(
            l.attempt("kader1", IP, t).is_ok(),
            "other names are not blocked"
        );
        assert!(l.attempt("bidan", IP, t + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn a_success_clears_the_user_but_not_the_address() {
        let l = limiter(3, 5);
        let t = Instant::now();
        for _ in 0..2 {
            l.attempt("bidan", IP, t).unwrap();
        }
        l.attempt("bidan", IP, t).unwrap();
        l.succeeded("bidan", IP);
        for _ in 0..3 {
            l.attempt("bidan", IP, t).unwrap();
        }
        // 2 + 3 failures from this address: the address is now over its limit.
        assert!(l.attempt("kader1", IP, t).is_err());
        assert!(l.attempt("kader1", None, t).is_ok());
    }

    #[test]
    fn an_undone_attempt_is_not_counted() {
        let l = limiter(1, 1);
        let t = Instant::now();
        l.attempt("bidan", IP, t).unwrap();
        l.not_a_failure("bidan", IP);
        assert!(l.attempt("bidan", IP, t).is_ok());
        assert!(l.attempt("bidan", IP, t).is_err());
    }
}
