//! Scope digests as the server answers them (divergence detection). Reading a device's whole
//! scope at every exchange made the digest the largest part of a sync at a monthly meeting, so
//! the server remembers, per scope, the digest of a committed state with each record's hash:
//! - a pull-only exchange at that same sequence answers with it as it is;
//! - an exchange that writes starts from it and applies what changed since, read with the
//!   backend's own pull (the changes and exits a device receives, in sequence order);
//! - anything else reads the whole scope, and a pull-only exchange remembers what it read.
//!
//! Only whole reads of committed states are remembered, so what is remembered is always the
//! master's own digest; a wrong step in the second case would last one answer.

use super::{Page, Principal, Result};
use sinergi_core::protocol::{Change, Repair, Role, SyncRequest, MAX_PAGE};
use sinergi_core::sync::digest::{bucket_of, record_hash, ScopeDigest};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// What a device's scope is made of: the parameters of the backends' `pull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ScopeKey {
    kader: bool,
    posyandu_id: Option<Uuid>,
    puskesmas_id: Option<Uuid>,
}

impl ScopeKey {
    fn of(who: &Principal) -> Self {
        let kader = who.role == Role::Kader;
        ScopeKey {
            kader,
            posyandu_id: if kader { who.posyandu_id } else { None },
            puskesmas_id: who.puskesmas_id,
        }
    }
}

/// A scope's digest at the master's sequence `seq`, and the hash of each record in it.
struct Remembered {
    seq: i64,
    digest: ScopeDigest,
    root: String,
    hashes: HashMap<Uuid, u64>,
}

/// Records remembered over all scopes at most (some 40 bytes each); past it the older scopes
/// are forgotten, and a larger scope is read whole each time.
const REMEMBERED_RECORDS: usize = 500_000;

/// The remembered digests of one server process.
#[derive(Default)]
pub struct DigestCache(Mutex<HashMap<ScopeKey, Arc<Remembered>>>);

impl DigestCache {
    fn get(&self, key: &ScopeKey) -> Option<Arc<Remembered>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).cloned()
    }

    fn put(&self, key: ScopeKey, entry: Remembered) {
        if entry.hashes.len() > REMEMBERED_RECORDS {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&key).is_some_and(|known| known.seq >= entry.seq) {
            // A concurrent exchange (PostgreSQL) already remembered this state or a later one.
            return;
        }
        map.remove(&key);
        let held: usize = map.values().map(|r| r.hashes.len()).sum();
        if held + entry.hashes.len() > REMEMBERED_RECORDS {
            let newest = entry.seq;
            map.retain(|_, r| r.seq == newest);
        }
        map.insert(key, Arc::new(entry));
    }
}

/// The digest part of an answer, computed in the exchange's transaction after its page: the
/// root of the device's scope when asked for on the last page (the device, once it has applied
/// the page, must hold exactly that), and, when the device sent its bucket digests, every record
/// of the buckets that differ. `pull` reads the scope in pages (the backend's own pull, so the
/// scope is the one devices receive).
///
/// `unchanged_at` is the master's sequence when this transaction has written nothing and sees
/// only committed changes (a pull-only exchange); None when it writes.
pub fn digest_answer(
    req: &SyncRequest,
    who: &Principal,
    more: bool,
    cache: &DigestCache,
    unchanged_at: Option<i64>,
    pull: &mut dyn FnMut(i64, u32) -> Result<Page>,
) -> Result<(Option<String>, Option<Repair>)> {
    let want_root = req.want_digest && !more;
    if !want_root && req.repair.is_none() {
        return Ok((None, None));
    }
    let key = ScopeKey::of(who);
    if req.repair.is_none() {
        if let Some(known) = cache.get(&key) {
            match unchanged_at {
                Some(seq) if seq == known.seq => return Ok((Some(known.root.clone()), None)),
                None => return Ok((Some(since(&known, pull)?), None)),
                // A later committed state: read it whole and remember that.
                Some(_) => {}
            }
        }
    }
    let whole = read(pull, &|_| false)?;
    let root = whole.digest.root();
    let repair = match &req.repair {
        None => None,
        Some(theirs) => {
            // The shape was checked with the request; a bad one asks for nothing.
            let buckets = whole.digest.differing(theirs).unwrap_or_default();
            let records = if buckets.is_empty() {
                Vec::new()
            } else {
                read(pull, &|id| buckets.contains(&(bucket_of(id) as u16)))?.kept
            };
            Some(Repair { buckets, records })
        }
    };
    if let Some(seq) = unchanged_at {
        cache.put(
            key,
            Remembered {
                seq,
                digest: whole.digest,
                root: root.clone(),
                hashes: whole.hashes,
            },
        );
    }
    Ok((want_root.then_some(root), repair))
}

struct Whole {
    digest: ScopeDigest,
    hashes: HashMap<Uuid, u64>,
    kept: Vec<Change>,
}

/// The whole scope, with the records `keep` asks for.
fn read(
    pull: &mut dyn FnMut(i64, u32) -> Result<Page>,
    keep: &dyn Fn(Uuid) -> bool,
) -> Result<Whole> {
    let mut whole = Whole {
        digest: ScopeDigest::default(),
        hashes: HashMap::new(),
        kept: Vec::new(),
    };
    let mut cursor = 0;
    loop {
        let page = pull(cursor, MAX_PAGE)?;
        for c in page.changes {
            let h = record_hash(c.kind, c.id, c.seq, &c.fields);
            whole.digest.add_hash(c.id, h);
            whole.hashes.insert(c.id, h);
            if keep(c.id) {
                whole.kept.push(c);
            }
        }
        if !page.more {
            return Ok(whole);
        }
        cursor = page.cursor;
    }
}

/// The root now: the remembered digest with every change and exit since applied in server
/// order, as a device applies them (a record that left and came back is present).
fn since(known: &Remembered, pull: &mut dyn FnMut(i64, u32) -> Result<Page>) -> Result<String> {
    let mut digest = known.digest.clone();
    let mut now: HashMap<Uuid, Option<u64>> = HashMap::new();
    let mut cursor = known.seq;
    loop {
        let page = pull(cursor, MAX_PAGE)?;
        let mut steps: Vec<(i64, Uuid, Option<u64>)> = page
            .changes
            .iter()
            .map(|c| {
                (
                    c.seq,
                    c.id,
                    Some(record_hash(c.kind, c.id, c.seq, &c.fields)),
                )
            })
            .chain(page.exits.iter().map(|x| (x.seq, x.id, None)))
            .collect();
        steps.sort_by_key(|s| s.0);
        for (_, id, hash) in steps {
            let before = match now.get(&id) {
                Some(h) => *h,
                None => known.hashes.get(&id).copied(),
            };
            if let Some(h) = before {
                digest.remove_hash(id, h);
            }
            if let Some(h) = hash {
                digest.add_hash(id, h);
            }
            now.insert(id, hash);
        }
        if !page.more {
            return Ok(digest.root());
        }
        cursor = page.cursor;
    }
}
