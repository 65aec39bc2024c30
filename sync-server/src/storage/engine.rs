//! The merge rules of the master copy, written once for every backend: clock correction
//! (guarantee 6), per-field last-writer-wins with conflict records (2, 3), idempotent pushes (4),
//! scope (9), records that move between posyandu, duplicate children and their merging.

use super::batch::{pair_name, Batch};
use super::{
    DupKeys, ExitRow, MasterField, MasterRecord, Page, Principal, RecordTx, Result, ServerError,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sinergi_core::hlc::Hlc;
use sinergi_core::merge::{wins, FieldState};
use sinergi_core::model::{
    apply_changes, check_write, validate_record, Fields, Kind, Lookup, REFERENCES,
};
use sinergi_core::protocol::{Change, Edit, OwnRun, Refusal, SyncRequest, SyncResponse};
use sinergi_core::store::CLOCK_WARNING_MS;
use sinergi_core::Problem;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What applying a request did.
#[derive(Debug, Default)]
pub struct Applied {
    pub acked_through: u64,
    pub refused: Vec<Refusal>,
    pub conflicts: u32,
    pub clock_offset_ms: i64,
    pub clock_warning: bool,
    /// The records this request's edits touched (see `confirm_own`).
    pub own: HashMap<Uuid, OwnWrite>,
}

/// A record touched by the edits of one request: what it was before them and what they wrote.
#[derive(Debug)]
pub struct OwnWrite {
    /// Its sequence before the request (0: it did not exist), and its values then.
    pre_seq: i64,
    pre_values: Fields,
    /// The sequence of the last version an edit of this request wrote.
    written: Option<i64>,
    /// One of the edits was refused: the device shows something else.
    refused: bool,
}

struct TxLookup<'a, 'b>(&'a Batch<'b>);

impl Lookup for TxLookup<'_, '_> {
    fn fields_of(&self, kind: Kind, id: Uuid) -> Option<Fields> {
        match self.0.get(id) {
            Ok(Some(r)) if r.kind == kind => Some(r.values()),
            _ => None,
        }
    }
}

/// The latest calendar date anywhere in Indonesia (WIT, UTC+9): a date a device saw as today
/// is never "in the future" for the server.
fn today(now_ms: i64) -> chrono::NaiveDate {
    sinergi_core::hlc::local_date(now_ms, 9 * 3600)
}

fn refuse(code: &str, id: &str, en: &str) -> Problem {
    Problem::new(code, None, id.into(), en.into())
}

/// A backend's page query: the changes and exits in a device's scope after a cursor.
pub type PullFn<'a> = dyn Fn(i64, u32) -> Result<Page> + 'a;

/// The exchange, written once for every backend: apply the request's edits, then the page of
/// changes in the device's scope (every page for a file), the confirmations of its own writes,
/// and the scope digest or the repair it asked for. A backend runs it inside its transaction and
/// gives its page query and its sequence counter as this transaction sees it.
pub fn exchange(
    tx: &dyn RecordTx,
    who: &Principal,
    req: &SyncRequest,
    now: i64,
    digests: &super::scope_digest::DigestCache,
    pull: &PullFn,
    current_seq: &dyn Fn() -> Result<i64>,
) -> Result<SyncResponse> {
    let batch = Batch::new(tx);
    let applied = apply_request(&batch, who, req, now)?;
    batch.flush()?;
    let mut page = pull(req.cursor, req.page_limit)?;
    let mut own = confirm_own(req, &applied, &mut page);
    // A file cannot ask again: carry every page. A push is confirmed whole: while the pages hold
    // nothing but the device's own writes (versions it holds already, left out by
    // `confirm_own`), the answer goes on to the last of them, so a large push never comes back
    // to its device in later pages. A page with anything else in it ends the answer as usual.
    let reach = match req.protocol >= 2 {
        true => applied.own.values().filter_map(|w| w.written).max(),
        false => None,
    };
    while page.more && (req.bundle || (page.changes.is_empty() && reach > Some(page.cursor))) {
        let mut next = pull(page.cursor, req.page_limit)?;
        own.extend(confirm_own(req, &applied, &mut next));
        page.changes.extend(next.changes);
        page.exits.extend(next.exits);
        page.cursor = next.cursor;
        page.more = next.more;
    }
    let unchanged_at = if req.edits.is_empty() {
        Some(current_seq()?)
    } else {
        None
    };
    let (digest, repair) = super::scope_digest::digest_answer(
        req,
        who,
        page.more,
        digests,
        unchanged_at,
        &mut |cursor, limit| pull(cursor, limit),
    )?;
    Ok(SyncResponse {
        acked_through: applied.acked_through,
        refused: applied.refused,
        conflicts: applied.conflicts,
        changes: page.changes,
        exits: page.exits,
        cursor: page.cursor,
        more: page.more,
        server_clock_ms: now,
        clock_offset_ms: applied.clock_offset_ms,
        clock_warning: applied.clock_warning,
        digest,
        repair,
        own,
    })
}

/// Apply the edits of one request, inside the backend's transaction.
pub fn apply_request(tx: &Batch, who: &Principal, req: &SyncRequest, now: i64) -> Result<Applied> {
    let (mut last_applied, last_sync, enrolled_ms) = tx.device_progress(who.device_id)?;
    // A bundle's transit time is unknown: no offset is measured, the window clamp still holds.
    let offset = if req.bundle {
        0
    } else {
        now - req.device_clock_ms
    };
    // Everything this device has seen carries a time at or before its last sync (the server
    // clamps every time to "now"), so its new edits start just after it: an edit always follows
    // what its device had seen, and the stamp depends on the edit alone, never on arrival order.
    let mut floor = (last_sync.unwrap_or(enrolled_ms) + 1).min(now);
    let mut out = Applied {
        own: HashMap::with_capacity(req.edits.len()),
        clock_offset_ms: offset,
        clock_warning: offset.abs() > CLOCK_WARNING_MS,
        ..Applied::default()
    };
    let hashes: Vec<String> = req.edits.iter().map(edit_hash).collect();
    // A number already applied is a retry only if it carries the same edit: otherwise this
    // store was restored, copied or rolled back, and its new edits must not be taken for old
    // ones. Nothing is applied; the device numbers its pending edits again (`seq_reused`).
    let first = req.edits.first().map_or(1, |e| e.device_seq);
    let stored = tx.stored_edit_hashes(who.device_id, first, last_applied)?;
    for (e, hash) in req.edits.iter().zip(&hashes) {
        if e.device_seq <= last_applied && stored.get(&e.device_seq).is_some_and(|h| h != hash) {
            return Err(ServerError::SeqReused(last_applied));
        }
    }
    let new: Vec<(&Edit, &String)> = req
        .edits
        .iter()
        .zip(&hashes)
        .filter(|(e, _)| e.device_seq > last_applied)
        .collect();
    tx.prefetch(who.device_id, &new)?;
    for (edit, hash) in req.edits.iter().zip(hashes) {
        if edit.device_seq <= last_applied {
            continue; // already handled: a retry after a lost response
        }
        // The same edit under a new number: a copy of this store (restored, or on a second
        // phone) numbered its pending edits again after this one had been handled from another
        // copy. It is handled once: the same answer under the new number, nothing applied.
        if let Some(first) = tx.edit_seq_of_hash(who.device_id, &hash)? {
            for mut r in tx.refusals(who.device_id, first, first)? {
                r.device_seq = edit.device_seq;
                tx.add_refusal(who.device_id, r);
            }
            tx.add_edit_hash(who.device_id, edit.device_seq, hash);
            last_applied = edit.device_seq;
            continue;
        }
        // One device's edits keep their order even if its clock stepped back between them;
        // the counter orders those made in the same millisecond.
        let millis = edit.made_ms.saturating_add(offset).clamp(floor, now);
        floor = millis;
        let hlc = Hlc {
            millis,
            counter: edit.device_seq as u32,
            node: who.device_id,
        };
        let first_touch = !out.own.contains_key(&edit.id);
        // Each edit in its own savepoint: a refused one leaves no trace at all, whatever it
        // had written before the rule that refused it (a merge's follow-up moves, say).
        tx.savepoint();
        let result = apply_edit(tx, who, edit, hlc, now, first_touch);
        match &result {
            Ok(Ok(_)) => tx.release_savepoint(),
            _ => tx.rollback_savepoint(),
        }
        // A store error is not the edit's fault: the whole request fails and is retried,
        // nothing is acknowledged.
        match result? {
            Ok(done) => {
                out.conflicts += done.conflicts;
                let own = out.own.entry(edit.id).or_insert_with(|| {
                    let (pre_seq, pre_values) = done.pre.unwrap_or((i64::MAX, Fields::new()));
                    OwnWrite {
                        pre_seq,
                        pre_values,
                        written: None,
                        refused: false,
                    }
                });
                if done.written.is_some() {
                    own.written = done.written;
                }
            }
            Err(problem) => {
                out.own
                    .entry(edit.id)
                    .or_insert(OwnWrite {
                        pre_seq: i64::MAX,
                        pre_values: Fields::new(),
                        written: None,
                        refused: true,
                    })
                    .refused = true;
                let r = Refusal {
                    device_seq: edit.device_seq,
                    kind: edit.kind,
                    id: edit.id,
                    problem,
                };
                tx.add_refusal(who.device_id, r);
            }
        }
        tx.add_edit_hash(who.device_id, edit.device_seq, hash);
        last_applied = edit.device_seq;
    }
    tx.set_device_progress(who.device_id, last_applied, now)?;
    out.acked_through = last_applied;
    if let (Some(first), Some(last)) = (req.edits.first(), req.edits.last()) {
        out.refused = tx.refusals(who.device_id, first.device_seq, last.device_seq)?;
    }
    Ok(out)
}

/// What tells a retried edit from another one sent under the same number: its kind, record,
/// time on the device and fields (128 bits of SHA-256, hex).
pub fn edit_hash(e: &Edit) -> String {
    let bytes = serde_json::to_vec(&(e.kind.as_str(), e.id, e.made_ms, &e.fields))
        .expect("an edit always serializes");
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// Leave out of the page the versions the device already holds, and confirm them instead
/// (`SyncResponse::own`). A version qualifies only when all of this holds:
/// - an edit of this request wrote it, nothing wrote the record after, and none of the
///   device's edits to it was refused;
/// - the record's version before the request was one the device had pulled (at or before its
///   cursor), or there was none;
/// - its values are exactly that version with every acknowledged edit of the request to the
///   record applied on top, as the device applies them (so a value that lost to a concurrent
///   one, a child id redirected by a merge, anything the server decided otherwise, travels).
///
/// The confirmation carries the record's posyandu, as the change would have. The page's cursor
/// is unchanged, so no one else's change is ever skipped. Anything that does
/// not qualify travels as before (a retried request after a lost answer, for instance).
pub fn confirm_own(req: &SyncRequest, applied: &Applied, page: &mut Page) -> Vec<OwnRun> {
    // A device of protocol 1 does not read confirmations: it is sent everything.
    if req.protocol < 2 || applied.own.is_empty() || page.changes.is_empty() {
        return Vec::new();
    }
    let refused: HashSet<u64> = applied.refused.iter().map(|r| r.device_seq).collect();
    let mut edits_of: HashMap<Uuid, Vec<&Edit>> = HashMap::new();
    for e in req
        .edits
        .iter()
        .filter(|e| e.device_seq <= applied.acked_through)
    {
        edits_of.entry(e.id).or_default().push(e);
    }
    let mut confirmed = Vec::new();
    let mut kept = Vec::with_capacity(page.changes.len());
    for c in std::mem::take(&mut page.changes) {
        match own_version(applied, &edits_of, &refused, req.cursor, &c) {
            Some(last) => confirmed.push((last, c.seq, c.posyandu_id)),
            None => kept.push(c),
        }
    }
    page.changes = kept;
    OwnRun::runs(confirmed)
}

/// If this version of a record is exactly what the device holds after its acknowledged edits,
/// the last of those edits (see `confirm_own`).
fn own_version(
    applied: &Applied,
    edits_of: &HashMap<Uuid, Vec<&Edit>>,
    refused: &HashSet<u64>,
    cursor: i64,
    c: &Change,
) -> Option<u64> {
    let (w, edits) = (applied.own.get(&c.id)?, edits_of.get(&c.id)?);
    let last = edits.last()?.device_seq;
    if w.refused
        || w.written != Some(c.seq)
        || w.pre_seq > cursor
        || edits
            .iter()
            .any(|e| e.kind != c.kind || refused.contains(&e.device_seq))
    {
        return None;
    }
    let mut expected = w.pre_values.clone();
    for e in edits {
        apply_changes(&mut expected, &e.fields);
    }
    (expected == c.fields).then_some(last)
}

/// The server's own edit on a backend's transaction, written when accepted.
pub fn server_write(
    db: &dyn RecordTx,
    kind: Kind,
    id: Uuid,
    fields: Fields,
    now: i64,
) -> Result<std::result::Result<u32, Problem>> {
    let batch = Batch::new(db);
    let out = server_edit(&batch, kind, id, fields, now)?;
    if out.is_ok() {
        batch.flush()?;
    }
    Ok(out)
}

/// The server's own edit: same rules, always causally after what it has.
pub fn server_edit(
    tx: &Batch,
    kind: Kind,
    id: Uuid,
    fields: Fields,
    now: i64,
) -> Result<std::result::Result<u32, Problem>> {
    let seq_hint = tx.next_seq()?;
    let edit = Edit {
        device_seq: 0,
        kind,
        id,
        made_ms: now,
        base_seq: seq_hint,
        fields,
    };
    let hlc = Hlc {
        millis: now,
        counter: 0,
        node: Uuid::nil(),
    };
    Ok(apply_edit(tx, &Principal::server(), &edit, hlc, now, false)?.map(|d| d.conflicts))
}

/// What an applied edit did.
struct EditDone {
    /// Conflict records made.
    conflicts: u32,
    /// When asked for: the record's sequence and values before the edit (0 and none if new).
    pre: Option<(i64, Fields)>,
    /// The sequence of the version the edit wrote, if it wrote one.
    written: Option<i64>,
}

/// Outcome of one edit, or the reason it is refused. Nothing is written until every check has
/// passed.
type EditResult = std::result::Result<EditDone, Problem>;

fn apply_edit(
    tx: &Batch,
    who: &Principal,
    edit: &Edit,
    hlc: Hlc,
    now: i64,
    want_pre: bool,
) -> Result<EditResult> {
    let kind = edit.kind;
    if !who.is_server() {
        if let Err(p) = check_write(&who.role, kind, &edit.fields) {
            return Ok(Err(p));
        }
    }
    for (name, v) in &edit.fields {
        if let Err(p) = sinergi_core::model::check_field(kind, name, v) {
            return Ok(Err(p));
        }
    }
    let existing = tx.get(edit.id)?;
    let pre = want_pre.then(|| {
        existing
            .as_ref()
            .map_or((0, Fields::new()), |r| (r.seq, r.values()))
    });
    if let Some(ex) = &existing {
        if ex.kind != kind {
            return Ok(Err(refuse(
                "kind_mismatch",
                "ID ini sudah dipakai untuk jenis data lain",
                "This id is already used by another kind of record",
            )));
        }
        if !who.covers(ex.posyandu_id, ex.puskesmas_id) {
            return Ok(Err(out_of_scope(true)));
        }
    }
    let mut rec = existing.clone().unwrap_or(MasterRecord {
        kind,
        id: edit.id,
        posyandu_id: None,
        puskesmas_id: None,
        parent_id: None,
        fields: Default::default(),
        seq: 0,
    });
    let mut fields_in = edit.fields.clone();
    redirect_merged_child(tx, &mut fields_in)?;
    // Per field, last writer wins by clock. The server's own edits (admin, cascades) always
    // follow what the field holds. A losing value that differs is kept in a conflict record; a
    // winning one that overwrote a value its device had not seen keeps the overwritten one.
    // (field, winning value, losing value, the device that wrote the losing value)
    let mut losers: Vec<(String, Value, Value, Uuid)> = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    let mut clock_only = false;
    for (name, value) in fields_in {
        let cur = rec.fields.get(&name).cloned();
        let incoming = FieldState {
            value: value.clone(),
            hlc: match &cur {
                Some(c) if who.is_server() => hlc.max(Hlc {
                    millis: c.state.hlc.millis,
                    counter: c.state.hlc.counter + 1,
                    node: hlc.node,
                }),
                _ => hlc,
            },
        };
        if let Some(c) = &cur {
            if !wins(&incoming, &c.state) {
                if c.state.value != value {
                    losers.push((name, c.state.value.clone(), value, who.device_id));
                }
                continue;
            }
            if c.state.value == value {
                // Same value, later clock: keep the clock so the rule stays order-free, but
                // there is no change for devices to pull.
                if let Some(f) = rec.fields.get_mut(&name) {
                    f.state.hlc = incoming.hlc;
                }
                clock_only = true;
                continue;
            }
            // A device's own earlier value is not concurrent with its later edit, even when it
            // never heard back about it (a lost response): no conflict for the bidan then.
            if c.seq > edit.base_seq && c.state.hlc.node != hlc.node {
                losers.push((
                    name.clone(),
                    value.clone(),
                    c.state.value.clone(),
                    c.state.hlc.node,
                ));
            }
        }
        rec.fields.insert(
            name.clone(),
            MasterField {
                state: incoming,
                seq: 0,
            },
        );
        changed.push(name);
    }
    let values = rec.values();
    if let Err(problems) = validate_record(kind, &values, &TxLookup(tx), today(now)) {
        return Ok(Err(problems
            .into_iter()
            .next()
            .expect("at least one problem")));
    }
    let (posyandu, puskesmas, parent) = scope(tx, kind, edit.id, &values)?;
    if !who.covers(posyandu, puskesmas) {
        return Ok(Err(out_of_scope(false)));
    }
    if let Err(p) = check_references(tx, who, edit.id, kind, &changed, &values)? {
        return Ok(Err(p));
    }
    let mut done = EditDone {
        conflicts: 0,
        pre,
        written: None,
    };
    if changed.is_empty() && losers.is_empty() && !clock_only {
        return Ok(Ok(done));
    }
    // Every check passed: write.
    if !changed.is_empty() {
        let moved =
            existing.is_some() && (rec.posyandu_id != posyandu || rec.puskesmas_id != puskesmas);
        if moved {
            // The exit sorts before the record's new version: a device never drops what arrived.
            let exit = tx.next_seq()?;
            tx.add_exit(ExitRow {
                seq: exit,
                kind,
                id: rec.id,
                old_posyandu: rec.posyandu_id,
                old_puskesmas: rec.puskesmas_id,
                new_puskesmas: puskesmas,
            });
        }
        let seq = tx.next_seq()?;
        for name in &changed {
            if let Some(f) = rec.fields.get_mut(name) {
                f.seq = seq;
            }
        }
        rec.posyandu_id = posyandu;
        rec.puskesmas_id = puskesmas;
        rec.parent_id = parent;
        rec.seq = seq;
        let keys = tx.put(&rec);
        done.written = Some(seq);
        if moved {
            move_dependents(tx, rec.id, posyandu, puskesmas)?;
        }
        if kind == Kind::Child {
            flag_duplicates(tx, &rec, &keys, now)?;
            if changed.iter().any(|c| c == "merged_into") {
                if let Err(p) = follow_merge(tx, who, &rec, now)? {
                    return Ok(Err(p));
                }
            }
        }
    } else if clock_only {
        // The value stays but its clock moved on: the record still gets a new sequence, or a
        // device whose concurrent edit of that field lost (and that still shows its own value)
        // would never pull the winner (found by the simulation's digest check, seed 503).
        rec.seq = tx.next_seq()?;
        tx.put(&rec);
        done.written = Some(rec.seq);
    }
    for (field, winning, losing, loser) in losers {
        if winning == losing {
            continue;
        }
        let mut f = Fields::new();
        f.insert("record_kind".into(), Value::from(kind.as_str()));
        f.insert("record_id".into(), Value::from(edit.id.to_string()));
        f.insert("field".into(), Value::from(field));
        f.insert("winning_value".into(), winning);
        f.insert("losing_value".into(), losing);
        f.insert("losing_device".into(), Value::from(loser.to_string()));
        f.insert("status".into(), Value::from("terbuka"));
        write_server_record(tx, Kind::Conflict, Uuid::now_v7(), f, now)?;
        done.conflicts += 1;
    }
    Ok(Ok(done))
}

fn out_of_scope(existing: bool) -> Problem {
    if existing {
        refuse(
            "out_of_scope",
            "Data ini sudah tidak termasuk wilayah perangkat ini (pindah posyandu atau milik posyandu lain); perubahan ditolak",
            "This record is outside this device's area (moved or another posyandu's); the change is refused",
        )
    } else {
        refuse(
            "out_of_scope",
            "Perangkat ini tidak boleh menulis data untuk posyandu tersebut",
            "This device may not write records of that posyandu",
        )
    }
}

fn uuid_field(f: &Fields, k: &str) -> Option<Uuid> {
    f.get(k)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Scope of a record: (posyandu, puskesmas, parent).
fn scope(
    tx: &Batch,
    kind: Kind,
    id: Uuid,
    f: &Fields,
) -> Result<(Option<Uuid>, Option<Uuid>, Option<Uuid>)> {
    match kind {
        Kind::Puskesmas => return Ok((None, Some(id), None)),
        Kind::Desa => return Ok((None, uuid_field(f, "puskesmas_id"), None)),
        Kind::Posyandu => return Ok((Some(id), uuid_field(f, "puskesmas_id"), None)),
        _ => {}
    }
    for pf in kind.parent_fields() {
        if let Some(parent) = uuid_field(f, pf) {
            let p = tx.get(parent)?;
            return Ok(match p {
                Some(p) => (p.posyandu_id, p.puskesmas_id, Some(parent)),
                None => (None, None, Some(parent)),
            });
        }
    }
    let posyandu = uuid_field(f, "posyandu_id");
    let puskesmas = match posyandu {
        Some(p) => tx.get(p)?.and_then(|r| r.puskesmas_id),
        None => None,
    };
    Ok((posyandu, puskesmas, None))
}

/// A record moved: its dependents move with it, arrive whole where it went, and leave where it was.
fn move_dependents(
    tx: &Batch,
    parent: Uuid,
    posyandu: Option<Uuid>,
    puskesmas: Option<Uuid>,
) -> Result<()> {
    let mut queue = tx.dependents(parent)?;
    while let Some(id) = queue.pop() {
        let Some(mut d) = tx.get(id)? else { continue };
        if d.kind.is_review() {
            continue;
        }
        let exit = tx.next_seq()?;
        tx.add_exit(ExitRow {
            seq: exit,
            kind: d.kind,
            id: d.id,
            old_posyandu: d.posyandu_id,
            old_puskesmas: d.puskesmas_id,
            new_puskesmas: puskesmas,
        });
        d.posyandu_id = posyandu;
        d.puskesmas_id = puskesmas;
        d.seq = tx.next_seq()?;
        tx.put(&d);
        queue.extend(tx.dependents(id)?);
    }
    Ok(())
}

/// Write a record as the server (conflict and duplicate records, cascades).
fn write_server_record(tx: &Batch, kind: Kind, id: Uuid, fields: Fields, now: i64) -> Result<()> {
    match server_edit(tx, kind, id, fields, now)? {
        Ok(_) => Ok(()),
        Err(p) => Err(super::ServerError::Data(format!(
            "server edit refused: {p}"
        ))),
    }
}

/// Normalized name: lower case, letters and digits only, single spaces.
pub fn normalize_name(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn dup_keys(rec: &MasterRecord) -> DupKeys {
    dup_keys_of(rec.kind, &rec.values())
}

/// The duplicate keys of a record of this kind with these values: a child's NIK and person
/// (unless it is merged), a duplicate record's pair.
pub fn dup_keys_of(kind: Kind, v: &Fields) -> DupKeys {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match kind {
        Kind::Duplicate => DupKeys {
            pair: uuid_field(v, "child_a")
                .zip(uuid_field(v, "child_b"))
                .map(|(a, b)| pair_name(a, b)),
            ..DupKeys::default()
        },
        Kind::Child if v.get("merged_into").is_none_or(|m| m.is_null()) => DupKeys {
            nik: s("nik"),
            person: match (s("name"), s("sex"), s("birth_date")) {
                (Some(n), Some(x), Some(b)) => Some(format!(
                    "{}|{}|{}|{}",
                    normalize_name(&n),
                    x,
                    b,
                    s("mother_id")
                        .or_else(|| s("mother_name").map(|m| normalize_name(&m)))
                        .unwrap_or_default()
                )),
                _ => None,
            },
            pair: None,
        },
        _ => DupKeys::default(),
    }
}

/// Flag every other child sharing one of `keys` (this child's, as `Batch::put` computed them).
fn flag_duplicates(tx: &Batch, rec: &MasterRecord, keys: &DupKeys, now: i64) -> Result<()> {
    if keys.nik.is_none() && keys.person.is_none() {
        return Ok(());
    }
    for other in tx.duplicate_candidates(keys, rec.puskesmas_id, rec.id)? {
        if tx.duplicate_pair_exists(rec.id, other)? {
            continue;
        }
        let Some(o) = tx.get(other)? else { continue };
        let ok = dup_keys(&o);
        let reason = if keys.nik.is_some() && keys.nik == ok.nik {
            "nik"
        } else {
            "nama_lahir_ibu"
        };
        let (a, b) = if other < rec.id {
            (other, rec.id)
        } else {
            (rec.id, other)
        };
        let mut f = Fields::new();
        f.insert("child_a".into(), Value::from(a.to_string()));
        f.insert("child_b".into(), Value::from(b.to_string()));
        f.insert("reason".into(), Value::from(reason));
        f.insert("status".into(), Value::from("terbuka"));
        write_server_record(tx, Kind::Duplicate, Uuid::now_v7(), f, now)?;
    }
    Ok(())
}

/// A child was merged into another: its measurements and other records follow the kept child,
/// moved with the writer's rights (every one of them must be the writer's to move).
fn follow_merge(
    tx: &Batch,
    who: &Principal,
    merged: &MasterRecord,
    now: i64,
) -> Result<std::result::Result<(), Problem>> {
    let Some(kept) = uuid_field(&merged.values(), "merged_into") else {
        return Ok(Ok(()));
    };
    for id in tx.dependents(merged.id)? {
        let Some(d) = tx.get(id)? else { continue };
        let mut f = Fields::new();
        match d.kind {
            Kind::Measurement | Kind::Immunization | Kind::VitaminA | Kind::Referral => {
                f.insert("child_id".into(), Value::from(kept.to_string()));
            }
            Kind::Duplicate => {
                f.insert("status".into(), Value::from("digabung"));
                f.insert("kept_id".into(), Value::from(kept.to_string()));
            }
            _ => continue,
        }
        if !who.covers(d.posyandu_id, d.puskesmas_id) {
            return Ok(Err(out_of_scope(true)));
        }
        if let Err(p) = server_edit(tx, d.kind, id, f, now)? {
            return Ok(Err(Problem::new(
                "merge_blocked",
                Some("merged_into"),
                format!(
                    "Penggabungan ditolak: data {} anak ini tidak dapat dipindah ({})",
                    d.kind, p.message
                ),
                format!(
                    "Merge refused: this child's {} cannot be moved ({})",
                    d.kind, p.message_en
                ),
            )));
        }
    }
    Ok(Ok(()))
}

fn bad_reference(code: &str, field: &str, id: &str, en: &str) -> Problem {
    Problem::new(code, Some(field), id.into(), en.into())
}

/// Every reference an edit wrote points at an existing record of the right kind inside the
/// writer's scope; a child is never merged into itself or into a chain that leads back to it.
fn check_references(
    tx: &Batch,
    who: &Principal,
    id: Uuid,
    kind: Kind,
    changed: &[String],
    values: &Fields,
) -> Result<std::result::Result<(), Problem>> {
    for (_, field, want) in REFERENCES
        .iter()
        .filter(|(k, f, _)| *k == kind && changed.iter().any(|c| c == f))
    {
        let Some(target) = uuid_field(values, field) else {
            continue;
        };
        let Some(t) = tx.get(target)? else {
            return Ok(Err(bad_reference(
                "unknown_reference",
                field,
                "Data yang dirujuk tidak dikenal di server",
                "The record referred to is not known on the server",
            )));
        };
        if want.is_some_and(|w| w != t.kind) {
            return Ok(Err(bad_reference(
                "reference_wrong_kind",
                field,
                "Data yang dirujuk bukan jenis yang benar",
                "The record referred to is of the wrong kind",
            )));
        }
        if !who.covers(t.posyandu_id, t.puskesmas_id) {
            return Ok(Err(bad_reference(
                "reference_out_of_scope",
                field,
                "Data yang dirujuk berada di luar wilayah perangkat ini",
                "The record referred to is outside this device's area",
            )));
        }
        if *field == "merged_into" && merges_back(tx, target, id)? {
            return Ok(Err(bad_reference(
                "merge_cycle",
                field,
                "Anak tidak dapat digabung ke dirinya sendiri atau ke anak yang sudah digabung ke anak ini",
                "A child cannot be merged into itself or into a child merged into it",
            )));
        }
    }
    Ok(Ok(()))
}

/// Does following `merged_into` from `from` reach `id`?
fn merges_back(tx: &Batch, from: Uuid, id: Uuid) -> Result<bool> {
    let mut at = from;
    for _ in 0..64 {
        if at == id {
            return Ok(true);
        }
        match tx
            .get(at)?
            .and_then(|r| uuid_field(&r.values(), "merged_into"))
        {
            Some(next) => at = next,
            None => return Ok(false),
        }
    }
    Ok(true) // a chain this long is itself broken: refuse rather than loop
}

/// A new record pointing at a merged child points at the kept child instead.
fn redirect_merged_child(tx: &Batch, fields: &mut Fields) -> Result<()> {
    let Some(child) = uuid_field(fields, "child_id") else {
        return Ok(());
    };
    let Some(c) = tx.get(child)? else {
        return Ok(());
    };
    if c.kind == Kind::Child {
        if let Some(kept) = uuid_field(&c.values(), "merged_into") {
            fields.insert("child_id".into(), Value::from(kept.to_string()));
        }
    }
    Ok(())
}
