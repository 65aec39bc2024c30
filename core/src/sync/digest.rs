//! Scope digests: how a device and the server notice that the device's replica drifted from
//! the master copy (a row lost or changed behind the store's back, a bug), and narrow it down so
//! that only the records of the differing buckets travel to repair it.
//!
//! A record's hash covers (kind, id, server sequence of the version held, fields as canonical
//! JSON). Records are spread over `BUCKETS` buckets by the last byte of their id (random in a
//! UUIDv7); a bucket's digest is the wrapping sum of its records' hashes, so it does not depend
//! on the order records are visited in, and the root is SHA-256 over the bucket digests.

use crate::model::{Fields, Kind};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const BUCKETS: usize = 256;

/// The bucket of a record: the last byte of its id.
pub fn bucket_of(id: Uuid) -> usize {
    id.as_bytes()[15] as usize
}

/// The bucket's name as it appears at the end of an id's text form (two hex digits).
pub fn bucket_suffix(bucket: usize) -> String {
    format!("{bucket:02x}")
}

/// One record's contribution to its bucket.
pub fn record_hash(kind: Kind, id: Uuid, seq: i64, fields: &Fields) -> u64 {
    let json = serde_json::to_string(fields).expect("fields always serialize");
    let mut h = Sha256::new();
    h.update(kind.as_str().as_bytes());
    h.update(b"\t");
    h.update(id.as_bytes());
    h.update(seq.to_le_bytes());
    h.update(json.as_bytes());
    let out = h.finalize();
    u64::from_le_bytes(out[..8].try_into().expect("8 bytes"))
}

/// The digest of a set of records, per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDigest {
    buckets: Vec<u64>,
}

impl Default for ScopeDigest {
    fn default() -> Self {
        ScopeDigest {
            buckets: vec![0; BUCKETS],
        }
    }
}

impl ScopeDigest {
    pub fn add(&mut self, kind: Kind, id: Uuid, seq: i64, fields: &Fields) {
        self.add_hash(id, record_hash(kind, id, seq, fields));
    }

    /// Count a record by its `record_hash` (a server keeping a scope's digest up to date).
    pub fn add_hash(&mut self, id: Uuid, hash: u64) {
        let b = &mut self.buckets[bucket_of(id)];
        *b = b.wrapping_add(hash);
    }

    /// Take back what `add_hash` counted.
    pub fn remove_hash(&mut self, id: Uuid, hash: u64) {
        let b = &mut self.buckets[bucket_of(id)];
        *b = b.wrapping_sub(hash);
    }

    /// One hex string for the whole set (what a sync response carries).
    pub fn root(&self) -> String {
        let mut h = Sha256::new();
        for b in &self.buckets {
            h.update(b.to_le_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Every bucket's digest as 16 hex digits (what a device sends to ask for a repair).
    pub fn bucket_hex(&self) -> Vec<String> {
        self.buckets.iter().map(|b| format!("{b:016x}")).collect()
    }

    /// The buckets whose digest differs from `other` (as `bucket_hex` gives them). None when
    /// `other` is not a well-formed list of `BUCKETS` digests.
    pub fn differing(&self, other: &[String]) -> Option<Vec<u16>> {
        if other.len() != BUCKETS {
            return None;
        }
        let mut out = Vec::new();
        for (i, (mine, theirs)) in self.buckets.iter().zip(other).enumerate() {
            if theirs.len() != 16 {
                return None;
            }
            let theirs = u64::from_str_radix(theirs, 16).ok()?;
            if *mine != theirs {
                out.push(i as u16);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: serde_json::Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn order_free_and_narrowed_to_one_bucket() {
        let a = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0107);
        let b = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_02a0);
        let (fa, fb) = (f(json!({"name": "Ani"})), f(json!({"name": "Budi"})));
        let mut x = ScopeDigest::default();
        x.add(Kind::Child, a, 3, &fa);
        x.add(Kind::Child, b, 4, &fb);
        let mut y = ScopeDigest::default();
        y.add(Kind::Child, b, 4, &fb);
        y.add(Kind::Child, a, 3, &fa);
        assert_eq!(x.root(), y.root());
        let mut z = ScopeDigest::default();
        z.add(Kind::Child, b, 4, &fb);
        z.add(Kind::Child, a, 3, &f(json!({"name": "Ana"})));
        assert_ne!(x.root(), z.root());
        assert_eq!(x.differing(&z.bucket_hex()), Some(vec![0x07]));
        assert_eq!(bucket_suffix(bucket_of(a)), "07");
        assert!(a.to_string().ends_with("07"));
        assert_eq!(x.differing(&["0".into()]), None);
    }
}
