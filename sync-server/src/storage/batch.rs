//! One request's view of the master copy: read in a few statements, decided in memory, written
//! in a few statements. The engine's rules run against a `Batch`; the backend only answers the
//! batch forms of `RecordTx` (a SQLite file or a PostgreSQL server across the network: no
//! round trip per record).
//!
//! Every write of an edit stays in memory, in the edit's own layer, until the edit passes every
//! rule: a refused edit's layer is dropped (no database savepoint), an accepted one joins the
//! request's layer, which `flush` writes once, inside the backend's transaction, before the
//! answer's pages are read.

use super::engine::{dup_keys, dup_keys_of};
use super::{DupKeys, ExitRow, MasterRecord, RecordTx, Result};
use sinergi_core::model::{apply_changes, Kind};
use sinergi_core::protocol::{Edit, Refusal};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// What was written: by the request's accepted edits, or by the edit being decided.
#[derive(Default)]
struct Layer {
    /// Each record as last written, with its duplicate keys (what `put_many` stores).
    recs: HashMap<Uuid, (MasterRecord, DupKeys)>,
    seq: Option<i64>,
    exits: Vec<ExitRow>,
    refusals: Vec<(Uuid, Refusal)>,
    hashes: Vec<(Uuid, u64, String)>,
    /// The lowest number each (device, hash) of `hashes` came under.
    first_of_hash: HashMap<(Uuid, String), u64>,
    /// Indexes of what `recs` held at some point (a look-up checks the record's current version).
    by_parent: HashMap<Uuid, Vec<Uuid>>,
    by_key: HashMap<String, Vec<Uuid>>,
    pairs: HashSet<String>,
}

impl Layer {
    fn put(&mut self, rec: MasterRecord) -> DupKeys {
        if let Some(p) = rec.parent_id {
            self.by_parent.entry(p).or_default().push(rec.id);
        }
        let keys = dup_keys(&rec);
        for k in key_names(&keys) {
            self.by_key.entry(k).or_default().push(rec.id);
        }
        if let Some(pair) = &keys.pair {
            self.pairs.insert(pair.clone());
        }
        self.recs.insert(rec.id, (rec, keys.clone()));
        keys
    }

    /// Take over what an accepted edit wrote.
    fn absorb(&mut self, other: Layer) {
        self.recs.extend(other.recs);
        self.seq = other.seq.or(self.seq);
        self.exits.extend(other.exits);
        self.refusals.extend(other.refusals);
        self.hashes.extend(other.hashes);
        for (k, s) in other.first_of_hash {
            let first = self.first_of_hash.entry(k).or_insert(s);
            *first = (*first).min(s);
        }
        for (k, v) in other.by_parent {
            self.by_parent.entry(k).or_default().extend(v);
        }
        for (k, v) in other.by_key {
            self.by_key.entry(k).or_default().extend(v);
        }
        self.pairs.extend(other.pairs);
    }
}

/// What was read from the database (never rolled back: the database is not written before
/// `flush`).
#[derive(Default)]
struct Reads {
    recs: HashMap<Uuid, Option<MasterRecord>>,
    /// Duplicate keys asked for, and the children stored under them.
    keys: HashMap<String, Vec<Uuid>>,
    pairs: HashMap<String, bool>,
    /// The first number each edit hash was sent under, for the hashes asked for.
    hash_seqs: HashMap<String, Option<u64>>,
}

/// The duplicate keys as look-up names ("n:" NIK, "p:" name, sex, birth date and mother).
fn key_names(keys: &DupKeys) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = &keys.nik {
        out.push(format!("n:{n}"));
    }
    if let Some(p) = &keys.person {
        out.push(format!("p:{p}"));
    }
    out
}

/// The canonical name of a pair of children ("a|b", the smaller id first).
pub fn pair_name(a: Uuid, b: Uuid) -> String {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    format!("{a}|{b}")
}

/// Both layers, borrowed.
struct Layers<'b>(std::cell::Ref<'b, Layer>, std::cell::Ref<'b, Option<Layer>>);

impl Layers<'_> {
    fn iter(&self) -> impl Iterator<Item = &Layer> {
        std::iter::once(&*self.0).chain(self.1.as_ref())
    }
}

pub struct Batch<'a> {
    db: &'a dyn RecordTx,
    reads: RefCell<Reads>,
    done: RefCell<Layer>,
    edit: RefCell<Option<Layer>>,
}

impl<'a> Batch<'a> {
    pub fn new(db: &'a dyn RecordTx) -> Self {
        Batch {
            db,
            reads: Default::default(),
            done: Default::default(),
            edit: RefCell::new(None),
        }
    }

    /// Write into the edit's layer while one is open, else into the request's.
    fn write<T>(&self, f: impl FnOnce(&mut Layer) -> T) -> T {
        match self.edit.borrow_mut().as_mut() {
            Some(layer) => f(layer),
            None => f(&mut self.done.borrow_mut()),
        }
    }

    /// Look in what was written, the edit's layer first.
    fn written<T>(&self, f: impl Fn(&Layer) -> Option<T>) -> Option<T> {
        if let Some(v) = self.edit.borrow().as_ref().and_then(&f) {
            return Some(v);
        }
        f(&self.done.borrow())
    }

    /// What was written, the request's layer first (to go through with `.iter()`).
    fn layers(&self) -> Layers<'_> {
        Layers(self.done.borrow(), self.edit.borrow())
    }

    /// Start deciding one edit.
    pub fn savepoint(&self) {
        *self.edit.borrow_mut() = Some(Layer::default());
    }

    /// The edit passed: keep what it wrote.
    pub fn release_savepoint(&self) {
        if let Some(layer) = self.edit.borrow_mut().take() {
            self.done.borrow_mut().absorb(layer);
        }
    }

    /// The edit was refused: nothing it wrote remains.
    pub fn rollback_savepoint(&self) {
        self.edit.borrow_mut().take();
    }

    /// Read these records from the database in one go (those not read yet).
    fn load(&self, ids: impl IntoIterator<Item = Uuid>) -> Result<()> {
        let want: Vec<Uuid> = {
            let reads = self.reads.borrow();
            let mut seen = HashSet::new();
            ids.into_iter()
                .filter(|id| !reads.recs.contains_key(id) && seen.insert(*id))
                .collect()
        };
        if want.is_empty() {
            return Ok(());
        }
        let found = self.db.get_many(&want)?;
        let mut reads = self.reads.borrow_mut();
        for id in want {
            reads.recs.insert(id, None);
        }
        for r in found {
            reads.recs.insert(r.id, Some(r));
        }
        Ok(())
    }

    pub fn get(&self, id: Uuid) -> Result<Option<MasterRecord>> {
        if let Some(r) = self.written(|l| l.recs.get(&id).map(|(r, _)| r.clone())) {
            return Ok(Some(r));
        }
        self.load([id])?;
        Ok(self.reads.borrow().recs.get(&id).cloned().flatten())
    }

    /// Write a record whose `seq` the engine took from `next_seq`; its duplicate keys come back.
    pub fn put(&self, rec: &MasterRecord) -> DupKeys {
        self.write(|l| l.put(rec.clone()))
    }

    pub fn current_seq(&self) -> Result<i64> {
        if let Some(s) = self.written(|l| l.seq) {
            return Ok(s);
        }
        let s = self.db.current_seq()?;
        self.done.borrow_mut().seq = Some(s);
        Ok(s)
    }

    pub fn next_seq(&self) -> Result<i64> {
        let next = self.current_seq()? + 1;
        self.write(|l| l.seq = Some(next));
        Ok(next)
    }

    /// The records whose parent is `parent`, as written so far.
    pub fn dependents(&self, parent: Uuid) -> Result<Vec<Uuid>> {
        let mut ids = self.db.dependents(parent)?;
        for layer in self.layers().iter() {
            ids.extend(layer.by_parent.get(&parent).into_iter().flatten());
        }
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(*id));
        let mut out = Vec::new();
        for id in ids {
            if self.get(id)?.is_some_and(|r| r.parent_id == Some(parent)) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn add_exit(&self, exit: ExitRow) {
        self.write(|l| l.exits.push(exit));
    }

    pub fn add_refusal(&self, device: Uuid, r: Refusal) {
        self.write(|l| l.refusals.push((device, r)));
    }

    /// This device's refusals for the numbers `from..=to`, as written so far.
    pub fn refusals(&self, device: Uuid, from: u64, to: u64) -> Result<Vec<Refusal>> {
        let mut by_seq: BTreeMap<u64, Refusal> = self
            .db
            .refusals(device, from, to)?
            .into_iter()
            .map(|r| (r.device_seq, r))
            .collect();
        for layer in self.layers().iter() {
            for (d, r) in &layer.refusals {
                if *d == device && (from..=to).contains(&r.device_seq) {
                    by_seq.insert(r.device_seq, r.clone());
                }
            }
        }
        Ok(by_seq.into_values().collect())
    }

    /// The hashes this device's edits `from..=to` were applied with (before this request).
    pub fn stored_edit_hashes(
        &self,
        device: Uuid,
        from: u64,
        to: u64,
    ) -> Result<HashMap<u64, String>> {
        if from > to {
            return Ok(HashMap::new());
        }
        Ok(self.db.edit_hashes(device, from, to)?.into_iter().collect())
    }

    pub fn add_edit_hash(&self, device: Uuid, seq: u64, hash: String) {
        self.write(|l| {
            let first = l.first_of_hash.entry((device, hash.clone())).or_insert(seq);
            *first = (*first).min(seq);
            l.hashes.push((device, seq, hash));
        });
    }

    /// The lowest number under which this device sent the edit of this hash, if it did.
    pub fn edit_seq_of_hash(&self, device: Uuid, hash: &str) -> Result<Option<u64>> {
        let known = self.reads.borrow().hash_seqs.get(hash).copied();
        let stored = match known {
            Some(s) => s,
            None => {
                let found = self.db.edit_seqs_of_hashes(device, &[hash.to_string()])?;
                found.get(hash).copied()
            }
        };
        let key = (device, hash.to_string());
        let mut best = stored;
        for layer in self.layers().iter() {
            if let Some(s) = layer.first_of_hash.get(&key) {
                best = Some(best.map_or(*s, |b| b.min(*s)));
            }
        }
        Ok(best)
    }

    pub fn device_progress(&self, device: Uuid) -> Result<(u64, Option<i64>, i64)> {
        self.db.device_progress(device)
    }

    pub fn set_device_progress(&self, device: Uuid, last_applied: u64, now: i64) -> Result<()> {
        self.db.set_device_progress(device, last_applied, now)
    }

    /// Children sharing a duplicate key with this one, within the same puskesmas, as written
    /// so far.
    pub fn duplicate_candidates(
        &self,
        keys: &DupKeys,
        puskesmas: Option<Uuid>,
        except: Uuid,
    ) -> Result<Vec<Uuid>> {
        let names = key_names(keys);
        self.load_keys(&names)?;
        let mut ids: Vec<Uuid> = Vec::new();
        for name in &names {
            ids.extend(self.reads.borrow().keys.get(name).into_iter().flatten());
            for layer in self.layers().iter() {
                ids.extend(layer.by_key.get(name).into_iter().flatten());
            }
        }
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids.into_iter().filter(|id| *id != except) {
            let Some(r) = self.get(id)? else { continue };
            let theirs = key_names(&dup_keys(&r));
            if r.kind == Kind::Child
                && r.puskesmas_id == puskesmas
                && names.iter().any(|n| theirs.contains(n))
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Read the children stored under these duplicate keys (those not read yet).
    fn load_keys(&self, names: &[String]) -> Result<()> {
        let (mut niks, mut persons) = (Vec::new(), Vec::new());
        {
            let reads = self.reads.borrow();
            for n in names.iter().filter(|n| !reads.keys.contains_key(*n)) {
                match n.split_at(2) {
                    ("n:", k) => niks.push(k.to_string()),
                    (_, k) => persons.push(k.to_string()),
                }
            }
        }
        if niks.is_empty() && persons.is_empty() {
            return Ok(());
        }
        let found = self.db.children_with_keys(&niks, &persons)?;
        let mut reads = self.reads.borrow_mut();
        for k in &niks {
            reads.keys.entry(format!("n:{k}")).or_default();
        }
        for k in &persons {
            reads.keys.entry(format!("p:{k}")).or_default();
        }
        for r in found {
            for name in key_names(&dup_keys(&r)) {
                if let Some(ids) = reads.keys.get_mut(&name) {
                    ids.push(r.id);
                }
            }
            reads.recs.entry(r.id).or_insert(Some(r));
        }
        Ok(())
    }

    /// Is there already a duplicate record for this pair?
    pub fn duplicate_pair_exists(&self, a: Uuid, b: Uuid) -> Result<bool> {
        let pair = pair_name(a, b);
        if self
            .written(|l| l.pairs.contains(&pair).then_some(()))
            .is_some()
        {
            return Ok(true);
        }
        // A duplicate record names two children that existed when it was written: none can
        // name a child the database does not hold.
        let new_child = |id: Uuid| matches!(self.reads.borrow().recs.get(&id), Some(None));
        if new_child(a) || new_child(b) {
            return Ok(false);
        }
        self.load_pairs(std::slice::from_ref(&pair))?;
        Ok(self.reads.borrow().pairs.get(&pair) == Some(&true))
    }

    fn load_pairs(&self, pairs: &[String]) -> Result<()> {
        let want: Vec<String> = {
            let reads = self.reads.borrow();
            pairs
                .iter()
                .filter(|p| !reads.pairs.contains_key(*p))
                .cloned()
                .collect()
        };
        if want.is_empty() {
            return Ok(());
        }
        let found = self.db.pairs_existing(&want)?;
        let mut reads = self.reads.borrow_mut();
        for p in want {
            let has = found.contains(&p);
            reads.pairs.insert(p, has);
        }
        Ok(())
    }

    /// Room for a request of `n` edits (growing the maps edit by edit cost more than the rest).
    fn reserve(&self, n: usize) {
        let mut reads = self.reads.borrow_mut();
        reads.recs.reserve(2 * n);
        reads.hash_seqs.reserve(n);
        reads.keys.reserve(2 * n);
        let mut done = self.done.borrow_mut();
        done.recs.reserve(n);
        done.hashes.reserve(n);
        done.first_of_hash.reserve(n);
        done.by_key.reserve(2 * n);
    }

    /// Read ahead what a request's edits will look up, in a few statements: the records they
    /// name and refer to, the hashes they may have been sent under before, and for children
    /// the others sharing their duplicate keys with the pairs already flagged.
    pub fn prefetch(&self, device: Uuid, edits: &[(&Edit, &String)]) -> Result<()> {
        self.reserve(edits.len());
        let mut ids: Vec<Uuid> = Vec::with_capacity(edits.len() * 2);
        for (e, _) in edits {
            ids.push(e.id);
            ids.extend(
                e.fields
                    .values()
                    .filter_map(|v| v.as_str())
                    .filter(|s| s.len() == 36)
                    .filter_map(|s| Uuid::parse_str(s).ok()),
            );
        }
        self.load(ids)?;
        let hashes: Vec<String> = edits.iter().map(|(_, h)| (*h).clone()).collect();
        let found = self.db.edit_seqs_of_hashes(device, &hashes)?;
        {
            let mut reads = self.reads.borrow_mut();
            for h in hashes {
                let s = found.get(&h).copied();
                reads.hash_seqs.insert(h, s);
            }
        }
        let edits: Vec<&Edit> = edits.iter().map(|(e, _)| *e).collect();
        self.prefetch_duplicates(&edits)
    }

    fn prefetch_duplicates(&self, edits: &[&Edit]) -> Result<()> {
        let mut names_of: Vec<(Uuid, Vec<String>)> = Vec::new();
        for e in edits.iter().filter(|e| e.kind == Kind::Child) {
            // The keys the child will most likely have: what it holds with the edit on top (a
            // key that turns out otherwise is read when asked for).
            let mut values = self.get(e.id)?.map(|r| r.values()).unwrap_or_default();
            apply_changes(&mut values, &e.fields);
            names_of.push((e.id, key_names(&dup_keys_of(Kind::Child, &values))));
        }
        let all: Vec<String> = names_of.iter().flat_map(|(_, n)| n.clone()).collect();
        self.load_keys(&all)?;
        let mut pairs = Vec::new();
        {
            let reads = self.reads.borrow();
            for (id, names) in &names_of {
                if matches!(reads.recs.get(id), Some(None)) {
                    continue; // a new child: no pair names it yet
                }
                for other in names
                    .iter()
                    .flat_map(|n| reads.keys.get(n).into_iter().flatten())
                {
                    if other != id {
                        pairs.push(pair_name(*id, *other));
                    }
                }
            }
        }
        self.load_pairs(&pairs)
    }

    /// Write everything the accepted edits wrote, in a few statements.
    pub fn flush(&self) -> Result<()> {
        debug_assert!(self.edit.borrow().is_none(), "flush inside an edit");
        let done = std::mem::take(&mut *self.done.borrow_mut());
        let mut rows: Vec<(&MasterRecord, &DupKeys)> =
            done.recs.values().map(|(r, k)| (r, k)).collect();
        rows.sort_by_key(|(r, _)| r.seq);
        if !rows.is_empty() {
            self.db.put_many(&rows)?;
        }
        if !done.exits.is_empty() {
            self.db.add_exits(&done.exits)?;
        }
        if !done.refusals.is_empty() {
            self.db.add_refusals(&done.refusals)?;
        }
        if !done.hashes.is_empty() {
            self.db.add_edit_hashes(&done.hashes)?;
        }
        if let Some(seq) = done.seq {
            self.db.set_seq(seq)?;
        }
        // What was written is now what the database holds.
        let mut reads = self.reads.borrow_mut();
        for (id, (r, _)) in done.recs {
            reads.recs.insert(id, Some(r));
        }
        reads.keys.clear();
        reads.pairs.clear();
        Ok(())
    }
}
