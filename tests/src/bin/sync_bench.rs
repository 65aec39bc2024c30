//! Sync benchmark: prints server merge throughput, bytes on the wire per record, requests per
//! incremental sync, and the time and peak memory of a first enrollment that pulls everything.
//! Run with `scripts/bench-sync.sh [RECORDS] [--database sqlite|postgres|both]` (release build;
//! default 100,000 records on SQLite) or `scripts/bench-sync.sh --district [CHILDREN]` (a district
//! on PostgreSQL: 100,000 children with 12 months of measurements by default). PostgreSQL is the
//! server the `PG*` variables name; the script runs under `pg_virtualenv` when none is set.
//!
//! `--rounds R` runs the whole benchmark R times per backend (default 1). `--json` prints, for
//! each round, one JSON line of the figures on stdout (push and first enrollment over HTTP, the
//! merge in process, the backend's durability settings) and the usual lines on stderr; it is
//! what `scripts/bench-peers.sh` reads. With more than one round, the enrollment's max RSS is
//! exact in the first only (a child's max RSS starts from the size of the process that forked it,
//! which the merge of the round before has grown).

use sinergi_core::hlc::SystemClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::store::LocalStore;
use sinergi_e2e::proxy::Proxy;
use sinergi_e2e::{bin, Client, Puskesmas, PASSWORD};

/// The same allocator as `sinergi-server`, so the in-process merge measures what the server does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use sinergi_core::protocol::{DEFAULT_PAGE, MAX_EDITS_PER_REQUEST};
use sinergi_server::auth::token_hash;
use sinergi_server::service::Service;
use sinergi_server::storage::open_store;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// `--json`: the figures as one JSON line on stdout, the prose on stderr.
static JSON: AtomicBool = AtomicBool::new(false);

/// A line of the report: on stdout, or on stderr when stdout carries the JSON figures.
macro_rules! say {
    ($($arg:tt)*) => {
        if JSON.load(Ordering::Relaxed) {
            eprintln!($($arg)*)
        } else {
            println!($($arg)*)
        }
    };
}

fn child_fields(posyandu: &str, i: usize) -> Fields {
    let mut f = Fields::new();
    f.insert("posyandu_id".into(), posyandu.into());
    f.insert("name".into(), format!("Anak Nomor {i}").into());
    f.insert(
        "sex".into(),
        if i.is_multiple_of(2) { "L" } else { "P" }.into(),
    );
    f.insert(
        "birth_date".into(),
        format!("2023-{:02}-{:02}", 1 + i % 12, 1 + i % 28).into(),
    );
    f.insert("mother_name".into(), format!("Ibu {}", i / 2).into());
    f.insert("dusun".into(), format!("Dusun {}", i % 7).into());
    f.insert("status".into(), "aktif".into());
    f
}

/// Run a command and return (seconds, peak RSS in MiB, stdout) of that child process. The peak
/// is its own high-water mark (VmHWM), read while it runs: `wait4`'s max RSS of a child starts
/// from the size of the process that forked it, which is large once this one has merged.
#[allow(clippy::zombie_processes)]
fn timed_child(mut cmd: Command, stdin: &str) -> (f64, f64, String) {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let t = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let pid = child.id() as i32;
    let peak_kib = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher = {
        let peak_kib = peak_kib.clone();
        std::thread::spawn(move || {
            // Until it exits (a zombie has no memory lines left).
            while let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                })
            {
                peak_kib.fetch_max(kib, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    watcher.join().unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = t.elapsed().as_secs_f64();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {stdout}"
    );
    (
        secs,
        peak_kib.load(Ordering::Relaxed) as f64 / 1024.0,
        stdout,
    )
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1)
}

fn fresh_postgres() -> String {
    sinergi_server::storage::postgres::fresh_database("sinergi_bench")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    if let Some(i) = args.iter().position(|a| a == "--district") {
        district(number(i + 1).unwrap_or(100_000), &DISTRICT, None);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--puskesmas") {
        // On the embedded SQLite file unless `--database postgres` is given.
        let sqlite = !args.iter().any(|a| a == "postgres");
        let dir = tempfile::tempdir().unwrap();
        let file = sqlite.then(|| dir.path().join("master.db").display().to_string());
        district(number(i + 1).unwrap_or(5_500), &PUSKESMAS, file);
        return;
    }
    JSON.store(args.iter().any(|a| a == "--json"), Ordering::Relaxed);
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .map(|i| number(i + 1).expect("--rounds R"))
        .unwrap_or(1);
    let n = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || args[i - 1] != "--rounds")
        .find_map(|(_, a)| a.parse().ok())
        .unwrap_or(100_000);
    let which = args
        .iter()
        .position(|a| a == "--database")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "sqlite".into());
    let backends: &[&str] = match which.as_str() {
        "sqlite" => &["sqlite"],
        "postgres" => &["postgres"],
        "both" => &["sqlite", "postgres"],
        other => panic!("--database {other}: use sqlite, postgres or both"),
    };
    for backend in backends {
        for _ in 0..rounds {
            let figures = bench(n, backend);
            if JSON.load(Ordering::Relaxed) {
                println!("{figures}");
            }
        }
    }
}

/// What makes a commit durable on this backend, read back from the database where it can be:
/// PostgreSQL's settings from the server, SQLite's journal mode from the master file (the
/// server sets `synchronous=FULL` on every connection it opens; its storage tests check it).
fn durability(p: &Puskesmas) -> serde_json::Value {
    match &p.database {
        Some(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let mut show = |name: &str| -> String {
                c.query_one(&format!("SHOW {name}"), &[]).unwrap().get(0)
            };
            serde_json::json!({
                "fsync": show("fsync"),
                "synchronous_commit": show("synchronous_commit"),
                "full_page_writes": show("full_page_writes"),
                "wal_sync_method": show("wal_sync_method"),
            })
        }
        None => {
            let db = rusqlite::Connection::open(p.dir.path().join("master.db")).unwrap();
            let mode: String = db
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            serde_json::json!({"journal_mode": mode, "synchronous": "FULL"})
        }
    }
}

/// One round on one backend; returns its figures (records/s and seconds) as JSON.
fn bench(n: usize, backend: &str) -> serde_json::Value {
    let database = || (backend == "postgres").then(fresh_postgres);
    say!(
        "Sinergi sync benchmark on {backend}: {n} records (children), release build, {} cores",
        cores()
    );
    let p = Puskesmas::with_database(database());
    let server = p.start();
    let proxy = Proxy::start(server.port);

    // A kader device makes n records offline (the same core code the CLI and app call).
    let a = Client::new();
    a.enroll(&proxy.url, "kader_a");
    let t = Instant::now();
    {
        let mut store = LocalStore::open(a.dir.path()).unwrap();
        for i in 0..n {
            store
                .create(Kind::Child, child_fields(&p.posyandu_a, i))
                .unwrap();
        }
    }
    let local = t.elapsed().as_secs_f64();
    say!(
        "local edits (validated, with outbox):   {:>10.0} records/s",
        n as f64 / local
    );

    // Push them all over HTTP: the server merges (validates, stamps, scopes, checks duplicates).
    let up0 = proxy.up.load(Ordering::Relaxed);
    let t = Instant::now();
    let r = a.sync();
    let push = t.elapsed().as_secs_f64();
    assert_eq!(r["acknowledged"].as_u64().unwrap() as usize, n);
    let up = proxy.up.load(Ordering::Relaxed) - up0;
    say!("push over HTTP incl. pulling the echo:  {:>10.0} records/s  ({:.2} s for {n}, {} requests)", n as f64 / push, push, r["requests"]);
    say!(
        "bytes on the wire per record, push:      {:>10.1} B (gzip JSON)",
        up as f64 / n as f64
    );

    // First enrollment of a second device: pulls everything, in pages.
    let b = Client::new();
    let down0 = proxy.down.load(Ordering::Relaxed);
    let mut cmd = Command::new(bin("sinergi"));
    cmd.arg("--data-dir").arg(b.dir.path()).args([
        "enroll",
        "--server",
        &proxy.url,
        "--user",
        "kader_a2",
        "--password-stdin",
        "--device-name",
        "bench",
        "--json",
    ]);
    let (secs, rss, out) = timed_child(cmd, PASSWORD);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pulled = v["sync"]["pulled"].as_u64().unwrap();
    let down = proxy.down.load(Ordering::Relaxed) - down0;
    say!(
        "first enrollment: pulled {pulled} records in {} requests",
        v["sync"]["requests"]
    );
    say!("first enrollment time:                   {:>10.2} s", secs);
    say!(
        "first enrollment peak client memory:     {:>10.1} MiB (max RSS)",
        rss
    );
    say!(
        "bytes on the wire per record, pull:      {:>10.1} B (gzip JSON)",
        down as f64 / pulled as f64
    );

    // An incremental sync with a little to say: one edit each way.
    let id = a.add_child(&p.posyandu_a, "Anak Baru");
    a.sync();
    b.sync();
    b.ok(&["child", "set", &id, "dusun=Dusun Kecil"]);
    let inc = b.sync();
    say!(
        "requests per incremental sync:           {:>10} (pushed {}, pulled {})",
        inc["requests"],
        inc["pushed"],
        inc["pulled"]
    );

    let durable = durability(&p);

    // Last, because it grows this process, and on Linux a child's max RSS starts from the size
    // of the process that forked it (the enrollment above is measured while this one is small).
    let merge = merge_in_process(n, database(), false);
    let merge_dup = merge_in_process(n, database(), true);
    say!(
        "  with half of them possible duplicates: {:.2}x the time",
        merge / merge_dup
    );
    serde_json::json!({
        "system": format!("sinergi-{backend}"),
        "records": n,
        "push_s": push,
        "push_rps": n as f64 / push,
        "pull_s": secs,
        "pull_rps": pulled as f64 / secs,
        "pull_records": pulled,
        "merge_rps": merge,
        "merge_half_duplicates_rps": merge_dup,
        "durability": durable,
    })
}

/// The server's merge alone: the same requests a device sends, applied by the server's own
/// service and store in this process (no HTTP). The answer is what a device gets: its own
/// writes confirmed (read back to be compared), and the scope digest. With `half_duplicates`,
/// every second child has the name, sex, birth date and mother of the one before it: each such
/// pair is flagged for the bidan (a duplicate record).
fn merge_in_process(n: usize, database: Option<String>, half_duplicates: bool) -> f64 {
    let p = Puskesmas::with_database(database);
    let c = Client::new();
    {
        let server = p.start();
        c.enroll(&server.url, "kader_a");
    }
    let token = c.token();
    let mut store = LocalStore::open(c.dir.path()).unwrap();
    for i in 0..n {
        let like = if half_duplicates { i - i % 2 } else { i };
        store
            .create(Kind::Child, child_fields(&p.posyandu_a, like))
            .unwrap();
    }
    let master = open_store(&p.database_spec()).unwrap();
    let svc = Service::new(master, Arc::new(SystemClock));
    let hash = token_hash(&token);
    let mut merged = 0;
    let mut busy = 0.0;
    let mut requests = Vec::new();
    loop {
        let req = store
            .build_request(DEFAULT_PAGE, MAX_EDITS_PER_REQUEST, false)
            .unwrap();
        if req.edits.is_empty() {
            break;
        }
        let t = Instant::now();
        let resp = svc.sync(&hash, &req).unwrap();
        busy += t.elapsed().as_secs_f64();
        merged += req.edits.len();
        assert!(resp.refused.is_empty());
        requests.push(req.edits.len());
        store.apply_response(&resp).unwrap();
    }
    let flagged = svc.store.count(Kind::Duplicate).unwrap();
    let what = if half_duplicates {
        "server merge, half possible duplicates:"
    } else {
        "server merge throughput (in process):   "
    };
    say!(
        "{what} {:>10.0} records/s  ({merged} records in {} requests, {:.2} s, {flagged} pairs flagged)",
        merged as f64 / busy,
        requests.len(),
        busy
    );
    merged as f64 / busy
}

/// The shape of the master copy `district` builds.
struct Area {
    name: &'static str,
    puskesmas: usize,
    posyandu: usize,
    /// Monthly weighings from January of `first_year` (the children are born in 2023).
    months: usize,
    first_year: i32,
}

/// 40 puskesmas of 25 posyandu, a weighing in each of 12 months.
const DISTRICT: Area = Area {
    name: "district",
    puskesmas: 40,
    posyandu: 25,
    months: 12,
    first_year: 2025,
};

/// One puskesmas of 25 posyandu, each child weighed monthly for 35 months (5,500 children make
/// about 200,000 records: what a bidan's first enrollment pulls).
const PUSKESMAS: Area = Area {
    name: "puskesmas",
    puskesmas: 1,
    posyandu: 25,
    months: 35,
    first_year: 2024,
};

/// A district on PostgreSQL (or one puskesmas, on SQLite when `sqlite_file` is given):
/// `children` children with their monthly weighings (about 1.3 million records for a district
/// of 100,000 children), merged by the server's own engine (one bidan device per puskesmas
/// pushing full requests), then the figures a server lives by: first enrollment of a kader and
/// of a bidan over HTTP, an incremental sync, and the size of the database.
fn district(children: usize, area: &Area, sqlite_file: Option<String>) {
    use serde_json::json;
    use sinergi_core::protocol::{Edit, EnrollRequest, Role, SyncRequest, PROTOCOL_VERSION};
    use uuid::Uuid;
    let backend = if sqlite_file.is_some() {
        "sqlite"
    } else {
        "postgres"
    };
    println!(
        "Sinergi {} benchmark on {backend}: {children} children x {} months, {} puskesmas, release build, {} cores",
        area.name,
        area.months,
        area.puskesmas,
        cores()
    );
    let url = sqlite_file.unwrap_or_else(fresh_postgres);
    let svc = Service::new(open_store(&url).unwrap(), Arc::new(SystemClock));
    let now = chrono::Utc::now().timestamp_millis();
    let obj = |v: serde_json::Value| -> Fields { v.as_object().unwrap().clone() };
    // Master data and one bidan and one kader per puskesmas.
    let first = svc.init("Puskesmas 0").unwrap();
    let mut posyandu: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
    for q in 0..area.puskesmas {
        let pusk = if q == 0 {
            first
        } else {
            let id = Uuid::now_v7();
            svc.store
                .server_write(
                    Kind::Puskesmas,
                    id,
                    obj(json!({"name": format!("Puskesmas {q}")})),
                    now,
                )
                .unwrap();
            id
        };
        let desa = svc.add_desa(&format!("Desa {q}"), Some(pusk)).unwrap();
        let ps: Vec<Uuid> = (0..area.posyandu)
            .map(|i| {
                svc.add_posyandu(desa, &format!("Posyandu {q}-{i}"))
                    .unwrap()
            })
            .collect();
        svc.add_user(
            &format!("bidan{q}"),
            Role::Bidan,
            None,
            Some(pusk),
            PASSWORD,
        )
        .unwrap();
        svc.add_user(
            &format!("kader{q}"),
            Role::Kader,
            Some(ps[0]),
            None,
            PASSWORD,
        )
        .unwrap();
        posyandu.push((pusk, ps));
    }
    // Each puskesmas's bidan pushes its children and their weighings, in full requests.
    let per_pusk = children.div_ceil(area.puskesmas);
    let t = Instant::now();
    let mut merged = 0usize;
    let mut child_no = 0usize;
    for (q, (_, ps)) in posyandu.iter().enumerate() {
        let e = svc
            .enroll(&EnrollRequest {
                user: format!("bidan{q}"),
                password: PASSWORD.into(),
                device_name: "laptop".into(),
                device_key: None,
            })
            .unwrap();
        let hash = token_hash(&e.token);
        let mut seq = 0u64;
        let mut edits: Vec<Edit> = Vec::new();
        let flush = |edits: &mut Vec<Edit>, merged: &mut usize| {
            if edits.is_empty() {
                return;
            }
            let req = SyncRequest {
                protocol: PROTOCOL_VERSION,
                device_id: e.device_id,
                device_clock_ms: chrono::Utc::now().timestamp_millis(),
                cursor: i64::MAX / 2,
                edits: std::mem::take(edits),
                page_limit: 1,
                bundle: false,
                want_digest: false,
                repair: None,
            };
            let r = svc.sync(&hash, &req).unwrap();
            assert!(r.refused.is_empty(), "refused: {:?}", r.refused.first());
            *merged += req.edits.len();
        };
        for c in 0..per_pusk.min(children - child_no) {
            let i = child_no + c;
            let p = ps[c % ps.len()];
            let birth =
                chrono::NaiveDate::from_ymd_opt(2023, 1 + (i % 12) as u32, 1 + (i % 28) as u32)
                    .unwrap();
            let id = Uuid::now_v7();
            seq += 1;
            edits.push(Edit {
                device_seq: seq,
                kind: Kind::Child,
                id,
                made_ms: now,
                base_seq: 0,
                fields: child_fields(&p.to_string(), i),
            });
            for m in 0..area.months {
                let (year, month) = (area.first_year + (m / 12) as i32, 1 + (m % 12) as u32);
                let date = chrono::NaiveDate::from_ymd_opt(year, month, 10).unwrap();
                let age_m = (date - birth).num_days() as f64 / 30.4375;
                let weight = ((9.5 + 0.2 * (age_m - 12.0)) * 10.0).round() / 10.0;
                let length = ((75.0 + 0.9 * (age_m - 12.0)) * 10.0).round() / 10.0;
                let position = if age_m < 24.0 { "lying" } else { "standing" };
                seq += 1;
                edits.push(Edit {
                    device_seq: seq,
                    kind: Kind::Measurement,
                    id: Uuid::now_v7(),
                    made_ms: now,
                    base_seq: 0,
                    fields: obj(json!({"child_id": id.to_string(), "date": date.to_string(),
                        "weight_kg": weight, "length_cm": length, "position": position,
                        "place": "posyandu"})),
                });
            }
            if edits.len() + area.months + 1 > MAX_EDITS_PER_REQUEST {
                flush(&mut edits, &mut merged);
            }
        }
        flush(&mut edits, &mut merged);
        child_no += per_pusk.min(children - child_no);
        if q % 10 == 9 || q + 1 == area.puskesmas {
            println!(
                "  {} puskesmas merged, {merged} records, {:.0} s",
                q + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} merge (in process, on {backend}): {:>10.0} records/s  ({merged} records in {secs:.0} s)",
        area.name,
        merged as f64 / secs
    );
    drop(svc);
    let size = if backend == "sqlite" {
        std::fs::metadata(&url).map(|m| m.len() as i64).unwrap_or(0)
    } else {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin
            .query_one("SELECT pg_database_size(current_database())", &[])
            .unwrap()
            .get(0)
    };
    println!(
        "database size:                            {:>10.0} MiB",
        size as f64 / 1_048_576.0
    );
    // First enrollment over HTTP through a real server process.
    let dir = tempfile::tempdir().unwrap();
    let server =
        sinergi_e2e::Server::start_with(dir.path(), Some(url.clone()), sinergi_e2e::free_port());
    for user in ["kader0", "bidan0"] {
        let c = Client::new();
        let mut cmd = Command::new(bin("sinergi"));
        cmd.arg("--data-dir").arg(c.dir.path()).args([
            "enroll",
            "--server",
            &server.url,
            "--user",
            user,
            "--password-stdin",
            "--device-name",
            "bench",
            "--json",
        ]);
        let (secs, rss, out) = timed_child(cmd, PASSWORD);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        println!(
            "first enrollment of {user:<7}: {:>8} records in {:>3} requests, {secs:>6.2} s, {rss:.0} MiB max RSS",
            v["sync"]["pulled"], v["sync"]["requests"]
        );
        if user == "kader0" {
            let id = c.add_child(&posyandu[0].1[0].to_string(), "Anak Baru");
            let t = Instant::now();
            let r = c.sync();
            println!(
                "incremental sync (1 edit up):            {:>10.3} s, {} requests (pushed {}, pulled {})",
                t.elapsed().as_secs_f64(),
                r["requests"],
                r["pushed"],
                r["pulled"]
            );
            let _ = id;
        }
    }
}
