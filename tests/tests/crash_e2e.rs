//! Crash drills with real processes: `sinergi-server` killed with SIGKILL 100 times while devices
//! keep pushing, and `sinergi` clients killed mid-edit and mid-pull. Afterwards what each device
//! believes was acknowledged is compared with what the master copy holds (nothing lost, nothing
//! doubled), and a device's outbox, rows and cursor with each other and with the server.
//!
//! Timing is random; the seed is printed and `SINERGI_CRASH_SEED=N` replays the same choices
//! (process timing itself still varies). `SINERGI_SLOW_COMMIT_MS` makes the client wait just
//! before each local commit, so a kill lands inside the transaction; it only slows.

use serde_json::{Map, Value};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::store::LocalStore;
use sinergi_e2e::{find, Client, Puskesmas, PASSWORD};
use sinergi_server::storage::{open_store, MasterRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A small xorshift generator: the drills need replayable choices, not quality randomness.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn ms(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from + 1))
    }
}

fn seed(test: &str) -> u64 {
    let seed = std::env::var("SINERGI_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("{test}: seed {seed} (replay with SINERGI_CRASH_SEED={seed})");
    seed
}

fn kill9(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Wait up to `d` for the process; Some(success) if it ended.
fn wait_for(child: &mut Child, d: Duration) -> Option<bool> {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.success());
        }
        if t.elapsed() >= d {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// --- the device's own files, read directly ---

/// One record row on a device.
#[derive(Debug, Clone)]
struct DeviceRow {
    kind: String,
    fields: Map<String, Value>,
    /// The server's version last pulled (None: made here, never pulled).
    base: Option<Map<String, Value>>,
    seq: i64,
}

/// What a device holds: rows by id, outbox (device_seq, id, fields) in order, refused count,
/// cursor and the next edit number.
struct DeviceState {
    rows: BTreeMap<String, DeviceRow>,
    outbox: Vec<(i64, String, String, Map<String, Value>)>,
    refused: i64,
    cursor: i64,
    next_seq: i64,
}

fn parse_map(s: &str) -> Map<String, Value> {
    serde_json::from_str(s).expect("fields are a JSON object")
}

fn device_state(c: &Client) -> DeviceState {
    let store = LocalStore::open(c.dir.path()).unwrap();
    let conn = store.conn();
    // One read transaction, so rows, outbox and cursor are one snapshot.
    conn.execute_batch("BEGIN").unwrap();
    let mut rows = BTreeMap::new();
    let mut st = conn
        .prepare("SELECT id, kind, fields, base, seq FROM records")
        .unwrap();
    let mut q = st.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let base: Option<String> = r.get(3).unwrap();
        rows.insert(
            r.get::<_, String>(0).unwrap(),
            DeviceRow {
                kind: r.get(1).unwrap(),
                fields: parse_map(&r.get::<_, String>(2).unwrap()),
                base: base.as_deref().map(parse_map),
                seq: r.get(4).unwrap(),
            },
        );
    }
    drop(q);
    let mut st = conn
        .prepare("SELECT device_seq, kind, id, fields FROM outbox ORDER BY device_seq")
        .unwrap();
    let outbox = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                parse_map(&r.get::<_, String>(3)?),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let meta = |k: &str| -> i64 {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| {
            r.get::<_, String>(0)
        })
        .map(|v| v.parse().unwrap())
        .unwrap_or(0)
    };
    let refused = conn
        .query_row("SELECT COUNT(*) FROM refused", [], |r| r.get(0))
        .unwrap();
    let s = DeviceState {
        rows,
        outbox,
        refused,
        cursor: meta("cursor"),
        next_seq: meta("next_device_seq").max(1),
    };
    conn.execute_batch("COMMIT").unwrap();
    s
}

fn overlay(base: &Map<String, Value>, edit: &Map<String, Value>) -> Map<String, Value> {
    let mut out = base.clone();
    for (k, v) in edit {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Guarantee 1 seen from outside: every outbox entry has its row, numbers are below the next
/// one, and every row shows exactly the server's version with the pending edits on top (a row
/// never pulled is made of its pending edits alone). Holds whenever no sync was cut between
/// its acknowledgement and the page that brings the device's own edits back.
fn assert_outbox_and_rows_agree(s: &DeviceState, when: &str) {
    let mut pending: HashMap<&str, Vec<&Map<String, Value>>> = HashMap::new();
    for (seq, kind, id, fields) in &s.outbox {
        assert!(*seq < s.next_seq, "{when}: outbox #{seq} >= next number");
        let row = s
            .rows
            .get(id)
            .unwrap_or_else(|| panic!("{when}: outbox #{seq} has no row {id}"));
        assert_eq!(&row.kind, kind, "{when}: outbox #{seq} kind");
        pending.entry(id.as_str()).or_default().push(fields);
    }
    for (id, row) in &s.rows {
        let edits = pending.get(id.as_str()).cloned().unwrap_or_default();
        assert!(
            row.base.is_some() || !edits.is_empty(),
            "{when}: row {id} was neither pulled nor has a pending edit"
        );
        let shown = edits
            .iter()
            .fold(row.base.clone().unwrap_or_default(), |f, e| overlay(&f, e));
        assert_eq!(
            row.fields, shown,
            "{when}: row {id} is not its base plus its pending edits"
        );
    }
}

// --- the master copy, read in process (SQLite file or PostgreSQL database) ---

fn server_records(p: &Puskesmas) -> BTreeMap<Uuid, MasterRecord> {
    let store = open_store(&p.database_spec()).unwrap();
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        for r in store.list(kind).unwrap() {
            assert!(out.insert(r.id, r).is_none(), "a record listed twice");
        }
    }
    out
}

fn last_applied(p: &Puskesmas) -> HashMap<String, u64> {
    let store = open_store(&p.database_spec()).unwrap();
    store
        .devices()
        .unwrap()
        .into_iter()
        .map(|d| (d.id.to_string(), d.last_applied))
        .collect()
}

/// The records a device with this enrollment receives (the server's scope rule, DESIGN.md 9).
fn in_scope(r: &MasterRecord, posyandu: Option<&str>, puskesmas: &str) -> bool {
    let p = r.posyandu_id.map(|u| u.to_string());
    let q = r.puskesmas_id.map(|u| u.to_string());
    match posyandu {
        Some(mine) => {
            (p.as_deref() == Some(mine) && !matches!(r.kind, Kind::Conflict | Kind::Duplicate))
                || (p.is_none() && q.as_deref() == Some(puskesmas))
        }
        None => q.as_deref() == Some(puskesmas),
    }
}

fn values(r: &MasterRecord) -> Map<String, Value> {
    r.values().into_iter().collect()
}

/// After a complete sync: the device holds exactly the server's records in its scope, with the
/// server's values, and nothing pending.
fn assert_device_equals_server(c: &Client, p: &Puskesmas, posyandu: Option<&str>, who: &str) {
    let s = device_state(c);
    assert!(s.outbox.is_empty(), "{who}: outbox not empty after sync");
    assert_eq!(s.refused, 0, "{who}: refused edits");
    let server = server_records(p);
    let expected: BTreeMap<String, Map<String, Value>> = server
        .values()
        .filter(|r| in_scope(r, posyandu, &p.puskesmas))
        .map(|r| (r.id.to_string(), values(r)))
        .collect();
    let held: BTreeMap<String, Map<String, Value>> = s
        .rows
        .iter()
        .map(|(id, r)| (id.clone(), r.fields.clone()))
        .collect();
    let missing: Vec<_> = expected.keys().filter(|k| !held.contains_key(*k)).collect();
    let extra: Vec<_> = held.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{who}: {} missing, {} extra (e.g. {:?} {:?})",
        missing.len(),
        extra.len(),
        missing.first(),
        extra.first()
    );
    for (id, v) in &expected {
        assert_eq!(&held[id], v, "{who}: record {id} differs from the server");
    }
}

// --- server killed during pushes ---

/// One edit a device made, as it made it.
#[derive(Clone)]
struct Made {
    seq: u64,
    kind: Kind,
    id: Uuid,
    fields: Fields,
}

struct Pusher {
    client: Client,
    user: &'static str,
    posyandu: String,
    device_id: String,
    log: Mutex<Vec<Made>>,
}

fn child_fields(posyandu: &str, name: &str, i: u64) -> Fields {
    let mut f = Fields::new();
    f.insert("posyandu_id".into(), posyandu.into());
    f.insert("name".into(), name.into());
    f.insert(
        "sex".into(),
        if i.is_multiple_of(2) { "L" } else { "P" }.into(),
    );
    f.insert("birth_date".into(), "2024-05-17".into());
    f
}

/// Make a batch of edits on the device (the same core calls the CLI makes): new children,
/// weighings of its children, changes to a child.
fn make_edits(d: &Pusher, rng: &mut Rng, children: &mut Vec<Uuid>, counter: &mut u64) {
    let mut store = LocalStore::open(d.client.dir.path()).unwrap();
    for _ in 0..1 + rng.below(12) {
        *counter += 1;
        let n = *counter;
        let choice = rng.below(10);
        let (kind, id, fields, out) = if children.is_empty() || choice < 3 {
            let f = child_fields(&d.posyandu, &format!("Anak {} {n}", d.user), n);
            let out = store.create(Kind::Child, f.clone()).unwrap();
            children.push(out.id);
            (Kind::Child, out.id, f, out)
        } else if choice < 8 {
            let child = children[rng.below(children.len() as u64) as usize];
            let mut f = Fields::new();
            f.insert("child_id".into(), child.to_string().into());
            f.insert(
                "date".into(),
                format!("2026-{:02}-{:02}", 1 + rng.below(10), 1 + rng.below(28)).into(),
            );
            f.insert(
                "weight_kg".into(),
                Value::from((60 + rng.below(90)) as f64 / 10.0),
            );
            let out = store.create(Kind::Measurement, f.clone()).unwrap();
            (Kind::Measurement, out.id, f, out)
        } else {
            let child = children[rng.below(children.len() as u64) as usize];
            let mut f = Fields::new();
            f.insert("dusun".into(), format!("Dusun {n}").into());
            let out = store.update(Kind::Child, child, f.clone()).unwrap();
            (Kind::Child, child, f, out)
        };
        d.log.lock().unwrap().push(Made {
            seq: out.device_seq,
            kind,
            id,
            fields,
        });
    }
}

/// What each device believes was acknowledged must be on the server: its edits that left the
/// outbox are applied (the server's count covers them, every record exists, every field holds
/// that edit's value or a later one of the same device), and the server holds no record the
/// devices did not make. Devices may keep running: their state is read before the server's.
fn assert_acknowledged_on_server(p: &Puskesmas, pushers: &[Pusher], when: &str) {
    let before: Vec<(Vec<Made>, DeviceState)> = pushers
        .iter()
        .map(|d| {
            let log = d.log.lock().unwrap().clone();
            (log, device_state(&d.client))
        })
        .collect();
    let server = server_records(p);
    let applied = last_applied(p);
    let mut made_ids = BTreeSet::new();
    for (d, (log, state)) in pushers.iter().zip(&before) {
        assert_eq!(state.refused, 0, "{when}: {} has refused edits", d.user);
        // Edits logged later than this check started may be on the server too.
        let later = d.log.lock().unwrap().clone();
        made_ids.extend(later.iter().map(|m| m.id));
        let pending: BTreeSet<i64> = state.outbox.iter().map(|o| o.0).collect();
        let acked: Vec<&Made> = log
            .iter()
            .filter(|m| !pending.contains(&(m.seq as i64)))
            .collect();
        let max_acked = acked.iter().map(|m| m.seq).max().unwrap_or(0);
        assert!(
            applied[&d.device_id] >= max_acked,
            "{when}: {} believes #{max_acked} was acknowledged, the server applied up to #{}",
            d.user,
            applied[&d.device_id]
        );
        // The last acknowledged edit of each (record, field).
        let mut last: BTreeMap<(Uuid, String), u64> = BTreeMap::new();
        for m in &acked {
            let rec = server.get(&m.id).unwrap_or_else(|| {
                panic!(
                    "{when}: {} edit #{} ({} {}) was acknowledged but the server lost it",
                    d.user, m.seq, m.kind, m.id
                )
            });
            assert_eq!(rec.kind, m.kind);
            for k in m.fields.keys() {
                last.insert((m.id, k.clone()), m.seq);
            }
        }
        for ((id, field), seq) in last {
            let have = values(&server[&id]).get(&field).cloned();
            let allowed: Vec<Option<Value>> = later
                .iter()
                .filter(|m| m.id == id && m.seq >= seq)
                .filter_map(|m| m.fields.get(&field).map(|v| Some(v.clone())))
                .collect();
            assert!(
                allowed.contains(&have),
                "{when}: {} field {field} of {id}: server has {have:?}, acknowledged {allowed:?}",
                d.user
            );
        }
    }
    for r in server.values() {
        match r.kind {
            Kind::Child | Kind::Measurement => assert!(
                made_ids.contains(&r.id),
                "{when}: the server holds {} {} that no device made",
                r.kind,
                r.id
            ),
            Kind::Conflict | Kind::Duplicate => {
                panic!("{when}: a retried push made a {} record", r.kind)
            }
            _ => {}
        }
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Regression (found by the drill below): a device overwriting its own value that it has not
/// pulled back yet (two offline edits of one field in one push, or after a lost response) made
/// the server keep its own older value as a conflict for the bidan.
#[test]
fn overwriting_its_own_unacknowledged_value_makes_no_conflict() {
    let p = Puskesmas::new();
    let server = p.start();
    let proxy = sinergi_e2e::proxy::Proxy::start(server.port);
    let a = Client::new();
    a.enroll(&proxy.url, "kader_a");
    let id = a.add_child(&p.posyandu_a, "Sekar");
    a.ok(&["child", "set", &id, "dusun=Dusun Satu"]);
    a.ok(&["child", "set", &id, "dusun=Dusun Dua"]);
    assert_eq!(a.sync()["conflicts"], 0, "two offline edits in one push");
    a.ok(&["child", "set", &id, "dusun=Dusun Tiga"]);
    proxy.cut_next_response_after(0);
    assert!(!a.run(&["sync"]).status.success(), "the answer is lost");
    a.ok(&["child", "set", &id, "dusun=Dusun Empat"]);
    assert_eq!(a.sync()["conflicts"], 0, "after a lost response");
    assert!(p.records("conflict").is_empty());
    assert_eq!(
        find(&p.records("child"), &id).unwrap()["dusun"],
        "Dusun Empat"
    );
    // A value written by another device that this one had not seen still makes a conflict.
    let b = Client::new();
    b.enroll(&server.url, "kader_a2");
    b.ok(&["child", "set", &id, "dusun=Dusun Lima"]);
    b.sync();
    a.ok(&["child", "set", &id, "dusun=Dusun Enam"]);
    assert_eq!(a.sync()["conflicts"], 1);
}

#[test]
fn server_killed_100_times_during_pushes_loses_nothing_and_doubles_nothing() {
    const KILLS: usize = 100;
    let seed = seed("server kill -9");
    let p = Puskesmas::new();
    let mut server = p.start();
    let url = server.url.clone();
    let pushers: Vec<Pusher> = [
        ("kader_a", &p.posyandu_a),
        ("kader_a2", &p.posyandu_a),
        ("kader_b", &p.posyandu_b),
    ]
    .into_iter()
    .map(|(user, posyandu)| {
        let client = Client::new();
        client.enroll(&url, user);
        let device_id = client.device_id();
        Pusher {
            client,
            user,
            posyandu: posyandu.clone(),
            device_id,
            log: Mutex::new(Vec::new()),
        }
    })
    .collect();
    let bidan = Client::new();
    bidan.enroll(&url, "bidan");

    let stop = AtomicBool::new(false);
    let in_flight = AtomicUsize::new(0);
    let (ok, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut cut_mid_push = 0;
    std::thread::scope(|s| {
        for (i, d) in pushers.iter().enumerate() {
            let (stop, in_flight, ok, failed) = (&stop, &in_flight, &ok, &failed);
            s.spawn(move || {
                let mut rng = Rng::new(seed ^ (i as u64 + 1));
                let (mut children, mut counter) = (Vec::new(), 0);
                while !stop.load(Ordering::SeqCst) {
                    make_edits(d, &mut rng, &mut children, &mut counter);
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let out = d.client.run(&["sync", "--json", "--page-size", "40"]);
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    if out.status.success() {
                        ok.fetch_add(1, Ordering::SeqCst);
                    } else {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::sleep(rng.ms(0, 15));
                }
            });
        }
        // The bidan's device keeps pulling the whole puskesmas through the kills.
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let _ = bidan.run(&["sync", "--page-size", "40"]);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        // Whatever happens here (a failed check panics), the devices stop, so the scope ends.
        let _stop = StopOnDrop(&stop);
        let mut rng = Rng::new(seed);
        for k in 0..KILLS {
            // Kill while a push is on its way or being merged.
            let t = Instant::now();
            while in_flight.load(Ordering::SeqCst) == 0 && t.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(rng.ms(0, 30));
            if in_flight.load(Ordering::SeqCst) > 0 {
                cut_mid_push += 1;
            }
            server.kill9();
            if k % 10 == 9 {
                assert_acknowledged_on_server(&p, &pushers, &format!("after kill {}", k + 1));
            }
            std::thread::sleep(rng.ms(0, 40));
            server.start_again();
            std::thread::sleep(rng.ms(40, 250));
        }
    });
    eprintln!(
        "{KILLS} kills, {cut_mid_push} with a sync process running; {} syncs completed, {} cut or refused",
        ok.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst)
    );
    assert_acknowledged_on_server(&p, &pushers, "after the last kill");

    // Back to normal: one sync each completes and leaves nothing behind.
    for d in &pushers {
        let r = d.client.json(&["sync", "--json", "--page-size", "40"]);
        assert_eq!(r["complete"], true);
        assert_eq!(r["refused"], 0);
    }
    bidan.json(&["sync", "--json"]);
    let server_recs = server_records(&p);
    let applied = last_applied(&p);
    let mut expected: BTreeMap<Uuid, (Kind, Fields)> = BTreeMap::new();
    for d in &pushers {
        let log = d.log.lock().unwrap();
        let state = device_state(&d.client);
        assert!(state.outbox.is_empty(), "{}: nothing pending", d.user);
        assert_eq!(
            applied[&d.device_id],
            log.last().map(|m| m.seq).unwrap_or(0),
            "{}: the server applied every edit once",
            d.user
        );
        assert_eq!(state.next_seq as u64, log.len() as u64 + 1);
        for m in log.iter() {
            let e = expected
                .entry(m.id)
                .or_insert_with(|| (m.kind, Fields::new()));
            e.1.extend(m.fields.clone());
        }
    }
    let made: usize = pushers.iter().map(|d| d.log.lock().unwrap().len()).sum();
    let on_server: BTreeMap<Uuid, (Kind, Fields)> = server_recs
        .values()
        .filter(|r| matches!(r.kind, Kind::Child | Kind::Measurement))
        .map(|r| (r.id, (r.kind, r.values())))
        .collect();
    assert_eq!(
        on_server.len(),
        expected.len(),
        "every record made is on the server, once"
    );
    assert!(
        on_server == expected,
        "the server's records are exactly the devices' edits"
    );
    assert!(
        !server_recs
            .values()
            .any(|r| matches!(r.kind, Kind::Conflict | Kind::Duplicate)),
        "no conflict or duplicate came from a retried push"
    );
    eprintln!(
        "{made} edits on {} records, all on the server once",
        expected.len()
    );
    for d in &pushers {
        assert_device_equals_server(&d.client, &p, Some(&d.posyandu), d.user);
    }
    assert_device_equals_server(&bidan, &p, None, "bidan");
}

// --- client killed mid-edit ---

#[test]
fn a_client_killed_mid_edit_keeps_outbox_and_rows_together() {
    const KILLS: usize = 24;
    let seed = seed("client kill -9 mid-edit");
    let mut rng = Rng::new(seed);
    let p = Puskesmas::new();
    let server = p.start();
    let a = Client::new();
    a.enroll(&server.url, "kader_a");
    let child = a.add_child(&p.posyandu_a, "Anak Dasar");
    a.sync();
    let (mut torn, mut whole) = (0, 0);
    for i in 0..KILLS {
        let before = device_state(&a);
        let name = format!("Anak Potong {i}");
        let dusun = format!("dusun=Dusun {i}");
        let date = format!("2026-{:02}-10", 1 + i % 10);
        let args: Vec<&str> = match i % 3 {
            0 => vec![
                "child",
                "add",
                "--posyandu",
                &p.posyandu_a,
                "--name",
                &name,
                "--sex",
                "P",
                "--birth-date",
                "2025-01-02",
            ],
            1 => vec![
                "measure",
                "add",
                "--child",
                &child,
                "--date",
                &date,
                "--weight-kg",
                "9.1",
            ],
            _ => vec!["child", "set", &child, &dusun],
        };
        // The edit waits 300 ms inside its transaction: most kills land there, some after.
        let mut proc_ = a.spawn(&args, &[("SINERGI_SLOW_COMMIT_MS", "300")], None);
        let ended = wait_for(&mut proc_, rng.ms(20, 450));
        if ended.is_none() {
            kill9(&mut proc_);
        }
        let after = device_state(&a);
        assert_outbox_and_rows_agree(&after, &format!("after kill {i}"));
        let new_rows = after.rows.len() - before.rows.len();
        let new_edits = after.outbox.len() - before.outbox.len();
        let creates = i % 3 != 2;
        match (new_edits, new_rows) {
            (0, 0) => torn += 1,
            (1, r) if r == creates as usize => whole += 1,
            other => panic!("kill {i}: edit half applied: (outbox, rows) grew by {other:?}"),
        }
        assert_eq!(after.next_seq - before.next_seq, new_edits as i64);
        if i % 6 == 5 {
            let r = a.sync();
            assert_eq!(r["complete"], true);
            assert_outbox_and_rows_agree(&device_state(&a), "after a sync");
        }
    }
    eprintln!("{KILLS} edits killed: {torn} rolled back whole, {whole} committed whole");
    assert!(torn > 0, "some kills landed before the commit");
    let r = a.sync();
    assert_eq!(r["complete"], true);
    assert_device_equals_server(&a, &p, Some(&p.posyandu_a), "kader_a");
    let s = device_state(&a);
    assert_eq!(
        last_applied(&p)[&a.device_id()],
        (s.next_seq - 1) as u64,
        "the server applied every edit the device kept"
    );
}

// --- client killed mid-pull ---

/// Device rows pulled from the server are exactly the server's records in scope up to the
/// cursor, each with the server's sequence and values (the server is still during the pull).
fn assert_cursor_consistent(c: &Client, p: &Puskesmas, posyandu: &str, when: &str) {
    let s = device_state(c);
    let server = server_records(p);
    let expected: BTreeMap<String, (i64, Map<String, Value>)> = server
        .values()
        .filter(|r| in_scope(r, Some(posyandu), &p.puskesmas) && r.seq <= s.cursor)
        .map(|r| (r.id.to_string(), (r.seq, values(r))))
        .collect();
    let pulled: BTreeMap<String, (i64, Map<String, Value>)> = s
        .rows
        .iter()
        .filter_map(|(id, r)| r.base.clone().map(|b| (id.clone(), (r.seq, b))))
        .collect();
    assert_eq!(
        pulled.len(),
        expected.len(),
        "{when}: {} rows pulled up to cursor {}, the server has {}",
        pulled.len(),
        s.cursor,
        expected.len()
    );
    assert!(
        pulled == expected,
        "{when}: pulled rows differ from the server"
    );
    // Rows never pulled are the device's own: pending, or acknowledged and still to come.
    let pending: BTreeSet<&str> = s.outbox.iter().map(|o| o.2.as_str()).collect();
    for (id, r) in &s.rows {
        if r.base.is_none() && !pending.contains(id.as_str()) {
            let on_server = server
                .get(&Uuid::parse_str(id).unwrap())
                .unwrap_or_else(|| panic!("{when}: {id} is neither pending nor on the server"));
            assert!(
                on_server.seq > s.cursor,
                "{when}: {id} should have been pulled"
            );
        }
    }
    for o in &s.outbox {
        assert!(s.rows.contains_key(&o.2), "{when}: outbox without row");
    }
}

/// Create `n` children straight in a device's store (the same core code the CLI calls).
fn bulk_children(c: &Client, posyandu: &str, from: u64, n: u64) {
    let mut store = LocalStore::open(c.dir.path()).unwrap();
    for i in from..from + n {
        store
            .create(
                Kind::Child,
                child_fields(posyandu, &format!("Anak Massal {i}"), i),
            )
            .unwrap();
    }
}

/// Sync in pages of 100, killing the process at random points until one run completes;
/// after every kill the rows and the cursor must agree with the server. Returns the kills.
fn pull_with_kills(d: &Client, p: &Puskesmas, rng: &mut Rng, what: &str) -> usize {
    for kills in 0..80 {
        let mut pull = d.spawn(
            &["sync", "--page-size", "100"],
            &[("SINERGI_SLOW_COMMIT_MS", "80")],
            None,
        );
        match wait_for(&mut pull, rng.ms(30, 500)) {
            Some(true) => return kills,
            Some(false) => panic!("{what}: sync failed without being killed"),
            None => kill9(&mut pull),
        }
        assert_cursor_consistent(d, p, &p.posyandu_a, &format!("{what}, kill {kills}"));
    }
    panic!("{what}: 80 kills and still not done")
}

#[test]
fn a_client_killed_mid_pull_resumes_with_a_consistent_cursor() {
    let seed = seed("client kill -9 mid-pull");
    let mut rng = Rng::new(seed);
    let p = Puskesmas::new();
    let server = p.start();
    let bulk = Client::new();
    bulk.enroll(&server.url, "kader_a");
    bulk_children(&bulk, &p.posyandu_a, 0, 3000);
    assert_eq!(bulk.sync()["acknowledged"], 3000);

    // A big first enrollment, killed part way.
    let d = Client::new();
    let enroll = [
        "enroll",
        "--server",
        &server.url,
        "--user",
        "kader_a2",
        "--password-stdin",
        "--device-name",
        "hp-d",
    ];
    let mut first = d.spawn(
        &enroll,
        &[("SINERGI_SLOW_COMMIT_MS", "400")],
        Some(PASSWORD),
    );
    if wait_for(&mut first, rng.ms(100, 1200)).is_none() {
        kill9(&mut first);
    }
    if d.status()["enrolled"] != true {
        // Killed before the token was kept: enroll again (the server keeps an unused device).
        assert!(d.run_stdin(&enroll, Some(PASSWORD)).status.success());
    }
    assert_cursor_consistent(&d, &p, &p.posyandu_a, "after the killed enrollment");

    // The first pull goes on in later syncs, each killed part way.
    let kills = pull_with_kills(&d, &p, &mut rng, "first pull");

    // Work of its own waiting to be pushed, and more on the server to pull.
    for i in 0..5 {
        d.add_child(&p.posyandu_a, &format!("Anak Sendiri {i}"));
    }
    bulk_children(&bulk, &p.posyandu_a, 3000, 2000);
    bulk.sync();
    let more = pull_with_kills(&d, &p, &mut rng, "push and pull");
    eprintln!("pulls of 3,000 and 2,000 records killed {kills} and {more} times");
    assert!(kills + more >= 3, "the pulls were killed part way");
    let r = d.sync();
    assert_eq!(r["complete"], true);
    assert_eq!(r["pulled"], 0, "nothing left, nothing pulled twice");
    assert_device_equals_server(&d, &p, Some(&p.posyandu_a), "kader_a2");
    assert_eq!(d.children().len(), 5005);
}
