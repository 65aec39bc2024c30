//! The device side of an exchange: what to send, and applying the answer in one transaction
//! (acknowledged edits leave the outbox, refused ones are kept with their reason, the page of
//! changes and the new cursor land together, so an interrupted pull resumes where it stopped).

use super::{meta, LocalStore};
use crate::error::Result;
use crate::model::Fields;
use crate::protocol::{
    Change, Edit, OwnRun, Repair, SyncRequest, SyncResponse, MAX_EDITS_PER_REQUEST,
    PROTOCOL_VERSION,
};
use crate::sync::digest::{bucket_of, bucket_suffix, ScopeDigest};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;
use uuid::Uuid;

/// Tolerated skew before the app warns about the device clock.
pub const CLOCK_WARNING_MS: i64 = 5 * 60 * 1000;

/// What one applied response changed on the device.
#[derive(Debug, Default, Clone, Copy)]
pub struct Applied {
    pub acknowledged: u64,
    pub refused: u64,
    pub pulled: u64,
    pub removed: u64,
    /// Records whose version the server confirmed instead of sending it (own writes).
    pub confirmed: u64,
    /// The response carried the server's digest of this device's scope and it was compared.
    pub checked: bool,
    /// ... and it differed from the replica's: the next request asks for a repair.
    pub diverged: bool,
    /// Buckets and records replaced by a repair.
    pub repaired_buckets: u64,
    pub repaired_records: u64,
}

impl LocalStore {
    /// The next request: pending edits (oldest first, at most `max_edits`), cursor, clock.
    pub fn build_request(
        &self,
        page_limit: u32,
        max_edits: usize,
        bundle: bool,
    ) -> Result<SyncRequest> {
        let e = self.require_enrollment()?;
        let mut st = self.conn.prepare_cached(
            "SELECT device_seq, kind, id, created_ms, base_seq, fields FROM outbox
             ORDER BY device_seq LIMIT ?1",
        )?;
        let limit = max_edits.min(MAX_EDITS_PER_REQUEST) as i64;
        let rows = st.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let bad = crate::CoreError::BadData;
        let mut edits = Vec::new();
        for row in rows {
            let (seq, kind, id, made_ms, base_seq, fields) = row?;
            edits.push(Edit {
                device_seq: seq as u64,
                kind: kind.parse().map_err(bad)?,
                id: Uuid::parse_str(&id).map_err(|e| bad(e.to_string()))?,
                made_ms,
                base_seq,
                fields: serde_json::from_str(&fields)?,
            });
        }
        if let Some(last) = edits.last() {
            // What any reply may acknowledge at most (see `apply_response`).
            if last.device_seq as i64 > meta::get_i64(&self.conn, "sent_through")? {
                meta::set(&self.conn, "sent_through", &last.device_seq.to_string())?;
            }
        }
        Ok(SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: e.device_id,
            device_clock_ms: self.clock.now_ms(),
            cursor: meta::get_i64(&self.conn, "cursor")?,
            edits,
            page_limit,
            bundle,
            want_digest: true,
            repair: if meta::get(&self.conn, "diverged")?.as_deref() == Some("1") {
                Some(replica_digest(&self.conn)?.bucket_hex())
            } else {
                None
            },
        })
    }

    /// The digest of what this device holds, as the server computes it for the device's scope.
    pub fn replica_digest(&self) -> Result<ScopeDigest> {
        replica_digest(&self.conn)
    }

    /// Apply a response in one transaction.
    pub fn apply_response(&mut self, resp: &SyncResponse) -> Result<Applied> {
        let now = self.clock.now_ms();
        let tx = self.conn.transaction()?;
        let mut applied = Applied::default();
        for r in &resp.refused {
            if move_to_refused(&tx, r.device_seq as i64, &r.problem, now)? {
                applied.refused += 1;
            }
        }
        // A reply never acknowledges an edit this device has not sent: whatever it says, only
        // what went out in a request can leave the outbox.
        let acked = (resp.acked_through.min(i64::MAX as u64) as i64)
            .min(meta::get_i64(&tx, "sent_through")?);
        // Own writes the server confirmed instead of sending them back, as the changes they
        // stand for: built before the acknowledged edits leave the outbox, applied in server
        // order with the rest of the page.
        let mut own = Vec::new();
        for run in &resp.own {
            own_versions(&tx, run, acked as u64, &mut own)?;
        }
        applied.acknowledged =
            tx.execute("DELETE FROM outbox WHERE device_seq <= ?1", [acked])? as u64;
        // Nor does a new edit get a number the server has acknowledged: a restored or copied
        // store can be behind the server's last number, and an edit numbered at or below it,
        // once sent (even if the request is lost), would be taken as acknowledged by this
        // answer applied again (a reply file imported twice) and leave the outbox unsent.
        let server_last = resp.acked_through.min(i64::MAX as u64 - 1) as i64;
        if meta::get_i64(&tx, "next_device_seq")? <= server_last {
            meta::set(&tx, "next_device_seq", &(server_last + 1).to_string())?;
        }
        let any_pending: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM outbox)", [], |r| r.get(0))?;
        if let Some(repair) = &resp.repair {
            apply_repair(&tx, repair, &mut applied)?;
            // Asked for and answered: only a new mismatch asks again.
            meta::set(&tx, "diverged", "0")?;
        }
        // Changes and exits in server order: a record that left and came back ends up present.
        enum Item<'a> {
            Change(&'a Change),
            Own(&'a Change),
            Exit(&'a crate::protocol::Exit),
        }
        let mut order: Vec<(i64, Item)> = resp
            .changes
            .iter()
            .map(|c| (c.seq, Item::Change(c)))
            .chain(own.iter().map(|c| (c.seq, Item::Own(c))))
            .chain(resp.exits.iter().map(|x| (x.seq, Item::Exit(x))))
            .collect();
        order.sort_by_key(|(seq, _)| *seq);
        let cursor = meta::get_i64(&tx, "cursor")?;
        {
            let mut upsert = tx.prepare_cached(UPSERT_NEWER)?;
            for (_, item) in order {
                let c = match item {
                    Item::Change(c) => {
                        // At or below the cursor, a change comes from an old reply (a file
                        // imported again): a record no longer held left this scope since (or
                        // was lost, which the digest repairs), and does not come back.
                        if c.seq <= cursor
                            && !tx
                                .prepare_cached("SELECT 1 FROM records WHERE id = ?1")?
                                .exists([c.id.to_string()])?
                        {
                            continue;
                        }
                        applied.pulled += 1;
                        c
                    }
                    Item::Own(c) => {
                        applied.confirmed += 1;
                        c
                    }
                    Item::Exit(x) => {
                        // An old reply (a bundle imported again) must not drop a record that came
                        // back after it left, nor refuse the edits pending on it.
                        let held: Option<i64> = tx
                            .prepare_cached("SELECT seq FROM records WHERE id = ?1")?
                            .query_row([x.id.to_string()], |r| r.get(0))
                            .optional()?;
                        if held.is_none_or(|s| s <= x.seq) {
                            applied.removed += remove_out_of_scope(&tx, x.id, now)?;
                        }
                        continue;
                    }
                };
                upsert_change(&tx, &mut upsert, c, any_pending)?;
            }
        }
        // The digest describes the scope at the response's cursor: an old reply says nothing
        // about a replica that has moved on.
        if let Some(root) = resp.digest.as_ref().filter(|_| resp.cursor >= cursor) {
            applied.checked = true;
            applied.diverged = replica_digest(&tx)?.root() != *root;
            meta::set(&tx, "diverged", if applied.diverged { "1" } else { "0" })?;
        }
        meta::set(&tx, "cursor", &resp.cursor.max(cursor).to_string())?;
        meta::set(&tx, "last_sync_ms", &resp.server_clock_ms.to_string())?;
        meta::set(&tx, "clock_offset_ms", &resp.clock_offset_ms.to_string())?;
        meta::set(
            &tx,
            "clock_warning",
            if resp.clock_warning { "1" } else { "0" },
        )?;
        super::pause_before_commit();
        tx.commit()?;
        Ok(applied)
    }
}

/// The versions a run confirms (`SyncResponse::own`), as the changes they stand for: each named
/// edit's record as this device had pulled it with its acknowledged edits to it applied on top
/// (the server checked that this is what it holds), at the sequence given, in the posyandu the
/// run names. An edit no longer in the outbox (an old reply applied again), a record no longer
/// held or already held at that version or a newer one gives none.
fn own_versions(
    tx: &Transaction,
    run: &OwnRun,
    acked_through: u64,
    out: &mut Vec<Change>,
) -> Result<()> {
    let OwnRun(first, seq, count, posyandu) = *run;
    let last = first
        .saturating_add(u64::from(count).saturating_sub(1))
        .min(acked_through);
    if count == 0 || first > last || first > i64::MAX as u64 {
        return Ok(());
    }
    let named: Vec<(i64, String, String)> = {
        let mut st = tx.prepare_cached(
            "SELECT device_seq, id, kind FROM outbox WHERE device_seq BETWEEN ?1 AND ?2
             ORDER BY device_seq",
        )?;
        let rows = st.query_map(params![first as i64, last as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let bad = crate::CoreError::BadData;
    for (device_seq, id, kind) in named {
        let Some(version) = seq.checked_add(device_seq - first as i64) else {
            continue;
        };
        let held: Option<(Option<String>, i64)> = tx
            .prepare_cached("SELECT base, seq FROM records WHERE id = ?1")?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((base, held_seq)) = held else {
            continue;
        };
        if held_seq >= version {
            continue;
        }
        let mut fields: Fields = match base {
            Some(b) => serde_json::from_str(&b)?,
            None => Fields::new(),
        };
        let mut st = tx.prepare_cached(
            "SELECT fields FROM outbox WHERE id = ?1 AND device_seq <= ?2 ORDER BY device_seq",
        )?;
        let rows = st.query_map(params![&id, acked_through as i64], |r| {
            r.get::<_, String>(0)
        })?;
        for row in rows {
            crate::model::apply_changes(&mut fields, &serde_json::from_str(&row?)?);
        }
        out.push(Change {
            kind: kind.parse().map_err(bad)?,
            id: Uuid::parse_str(&id).map_err(|e| bad(e.to_string()))?,
            seq: version,
            posyandu_id: posyandu,
            fields,
        });
    }
    Ok(())
}

/// Store the server's version of a record, with this device's pending edits shown on top.
fn upsert_change(
    tx: &Transaction,
    upsert: &mut rusqlite::CachedStatement,
    c: &Change,
    any_pending: bool,
) -> Result<()> {
    let mut fields = c.fields.clone();
    if any_pending {
        overlay_pending(tx, c.id, &mut fields)?;
    }
    let parent = c
        .kind
        .parent_fields()
        .iter()
        .find_map(|f| fields.get(*f).and_then(Value::as_str).map(str::to_string));
    upsert.execute(params![
        c.id.to_string(),
        c.kind.as_str(),
        c.posyandu_id.map(|p| p.to_string()),
        parent,
        serde_json::to_string(&fields)?,
        serde_json::to_string(&c.fields)?,
        c.seq
    ])?;
    Ok(())
}

const UPSERT: &str = "INSERT INTO records(id, kind, posyandu_id, parent_id, fields, base, seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT(id) DO UPDATE SET kind = excluded.kind,
         posyandu_id = excluded.posyandu_id, parent_id = excluded.parent_id,
         fields = excluded.fields, base = excluded.base, seq = excluded.seq";

/// The same, but never replacing a newer version of the record than the change carries (an old
/// reply applied again).
const UPSERT_NEWER: &str =
    "INSERT INTO records(id, kind, posyandu_id, parent_id, fields, base, seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT(id) DO UPDATE SET kind = excluded.kind,
         posyandu_id = excluded.posyandu_id, parent_id = excluded.parent_id,
         fields = excluded.fields, base = excluded.base, seq = excluded.seq
     WHERE excluded.seq >= records.seq";

/// The digest of the replica: for each record, the server version it holds (`base` when edits
/// are pending on top of it, else the fields shown; a record made here and not yet seen back
/// is not the server's yet and is left out).
pub(crate) fn replica_digest(conn: &Connection) -> Result<ScopeDigest> {
    let mut st = conn.prepare_cached(
        "SELECT r.id, r.kind, r.seq, r.fields, r.base,
                EXISTS(SELECT 1 FROM outbox o WHERE o.id = r.id)
         FROM records r",
    )?;
    let mut rows = st.query([])?;
    let mut d = ScopeDigest::default();
    let bad = |e: String| crate::CoreError::BadData(e);
    while let Some(r) = rows.next()? {
        let pending: bool = r.get(5)?;
        let held: Option<String> = if pending { r.get(4)? } else { r.get(3)? };
        let Some(held) = held else { continue };
        let id = Uuid::parse_str(&r.get::<_, String>(0)?).map_err(|e| bad(e.to_string()))?;
        let kind = r.get::<_, String>(1)?.parse().map_err(bad)?;
        // A row changed behind the store's back may not even be JSON: that is a difference too.
        let fields: Fields = serde_json::from_str(&held).unwrap_or_else(|_| {
            let mut f = Fields::new();
            f.insert("\u{0}unreadable".into(), Value::from(held.clone()));
            f
        });
        d.add(kind, id, r.get(2)?, &fields);
    }
    Ok(d)
}

/// Replace the rows of the differing buckets by the server's: rows the server does not hold
/// in this scope go, unless edits to them are still pending (those are never lost), and every
/// row it sent is stored again with the pending edits on top.
fn apply_repair(tx: &Transaction, repair: &Repair, applied: &mut Applied) -> Result<()> {
    let sent: std::collections::HashSet<String> =
        repair.records.iter().map(|c| c.id.to_string()).collect();
    for b in &repair.buckets {
        let ids: Vec<String> = {
            let mut st = tx.prepare_cached(
                "SELECT id FROM records r WHERE substr(r.id, 35, 2) = ?1
                   AND NOT EXISTS(SELECT 1 FROM outbox o WHERE o.id = r.id)",
            )?;
            let rows = st.query_map([bucket_suffix(*b as usize)], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in ids.iter().filter(|id| !sent.contains(*id)) {
            applied.removed += tx.execute("DELETE FROM records WHERE id = ?1", [id])? as u64;
        }
    }
    let mut upsert = tx.prepare_cached(UPSERT)?;
    for c in &repair.records {
        if !repair.buckets.contains(&(bucket_of(c.id) as u16)) {
            continue; // not asked for: the server's answer is checked, not trusted blindly
        }
        upsert_change(tx, &mut upsert, c, true)?;
        applied.repaired_records += 1;
    }
    applied.repaired_buckets = repair.buckets.len() as u64;
    Ok(())
}

/// Re-apply the fields of edits still waiting in the outbox on top of a pulled version, so the
/// device keeps showing what its person entered until the server has decided.
fn overlay_pending(tx: &Transaction, id: Uuid, fields: &mut Fields) -> Result<()> {
    let mut st =
        tx.prepare_cached("SELECT fields FROM outbox WHERE id = ?1 ORDER BY device_seq")?;
    let rows = st.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
    for row in rows {
        crate::model::apply_changes(fields, &serde_json::from_str(&row?)?);
    }
    Ok(())
}

/// Keep a refused edit with its reason, and show the record again as the server has it (the
/// last pulled version) with the device's other pending edits on top. A record made here that
/// the server never accepted goes, unless later pending edits still build on it.
fn move_to_refused(
    tx: &Transaction,
    seq: i64,
    p: &crate::error::Problem,
    now: i64,
) -> Result<bool> {
    let row: Option<(String, String, String)> = tx
        .prepare_cached("SELECT kind, id, fields FROM outbox WHERE device_seq = ?1")?
        .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((kind, id, fields)) = row else {
        return Ok(false);
    };
    tx.prepare_cached(
        "INSERT OR REPLACE INTO refused(device_seq, kind, id, fields, code, message, message_en, refused_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![seq, kind, id, fields, p.code, p.message, p.message_en, now])?;
    tx.prepare_cached("DELETE FROM outbox WHERE device_seq = ?1")?
        .execute([seq])?;
    let base: Option<Option<String>> = tx
        .prepare_cached("SELECT base FROM records WHERE id = ?1")?
        .query_row([&id], |r| r.get(0))
        .optional()?;
    let Some(base) = base else {
        return Ok(true);
    };
    let still_pending: bool = tx
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM outbox WHERE id = ?1)")?
        .query_row([&id], |r| r.get(0))?;
    if base.is_none() && !still_pending {
        tx.prepare_cached("DELETE FROM records WHERE id = ?1")?
            .execute([&id])?;
        return Ok(true);
    }
    let mut shown: Fields = match base {
        Some(b) => serde_json::from_str(&b)?,
        None => Fields::new(),
    };
    let uuid = Uuid::parse_str(&id).map_err(|e| crate::CoreError::BadData(e.to_string()))?;
    overlay_pending(tx, uuid, &mut shown)?;
    tx.prepare_cached("UPDATE records SET fields = ?1 WHERE id = ?2")?
        .execute(params![serde_json::to_string(&shown)?, id])?;
    Ok(true)
}

/// A record left this device's scope: pending edits to it become refused edits (kept, with the
/// reason), and the record itself goes, with its dependents.
fn remove_out_of_scope(tx: &Transaction, id: Uuid, now: i64) -> Result<u64> {
    let problem = crate::error::Problem::new(
        "out_of_scope",
        None,
        "Data ini sudah pindah ke posyandu lain; perubahan tidak dikirim".into(),
        "This record moved to another posyandu; the change was not sent".into(),
    );
    let mut removed = 0;
    let mut queue = vec![id.to_string()];
    while let Some(id) = queue.pop() {
        let seqs: Vec<i64> = {
            let mut st = tx.prepare_cached("SELECT device_seq FROM outbox WHERE id = ?1")?;
            let rows = st.query_map([&id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for s in seqs {
            move_to_refused(tx, s, &problem, now)?;
        }
        let kids: Vec<String> = {
            let mut st = tx.prepare_cached("SELECT id FROM records WHERE parent_id = ?1")?;
            let rows = st.query_map([&id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        queue.extend(kids);
        removed += tx.execute("DELETE FROM records WHERE id = ?1", [&id])? as u64;
    }
    Ok(removed)
}
