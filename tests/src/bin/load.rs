//! Load benchmark: N simulated devices (default 300, the monthly meeting where every kader syncs at
//! once) against a real release `sinergi-server` over real HTTP on loopback. Each device is the
//! real client (sinergi-core's store in its own SQLite file and its HTTP sync loop). Setup first:
//! a generated puskesmas (5 kaders per posyandu, 40 children each with a mother and three months
//! of weighings), then every device enrolls (argon2 login, first pull) a few at a time and makes
//! its posyandu-day edits offline (weighings of its 8 children, a vitamin A, a child's change).
//! Then all devices sync at the same moment (push and pull), and once more (pulling what the
//! others pushed). Prints latency per exchange (p50/p99/max), errors, and the server's peak
//! memory (VmHWM, reset after setup through /proc/PID/clear_refs).
//!
//! `scripts/bench-load.sh [--devices N] [--database postgres://...]`

use serde_json::json;
use sinergi_core::error::Result as CoreResult;
use sinergi_core::hlc::SystemClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{EnrollRequest, EnrollResponse, Role, SyncRequest, SyncResponse};
use sinergi_core::store::LocalStore;
use sinergi_core::sync::{self, HttpTransport, SyncOptions, Transport};
use sinergi_e2e::{free_port, Server};
use sinergi_server::auth;
use sinergi_server::service::Service;
use sinergi_server::storage::{open_store, User};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const PASSWORD: &str = "beban-uji-123";
const KADERS_PER_POSYANDU: usize = 5;
const CHILDREN_PER_POSYANDU: usize = 40;

fn obj(v: serde_json::Value) -> Fields {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Fields::new(),
    }
}

/// The HTTP transport, timing each exchange.
struct Timed<'a> {
    inner: &'a HttpTransport,
    latencies: &'a Mutex<Vec<f64>>,
}

impl Transport for Timed<'_> {
    fn enroll(&self, req: &EnrollRequest) -> CoreResult<EnrollResponse> {
        self.inner.enroll(req)
    }
    fn token(&self, sealed: &[u8]) -> CoreResult<String> {
        self.inner.token(sealed)
    }
    fn exchange(&self, token: &str, req: &SyncRequest) -> CoreResult<SyncResponse> {
        let t = Instant::now();
        let r = self.inner.exchange(token, req);
        self.latencies
            .lock()
            .unwrap()
            .push(t.elapsed().as_secs_f64() * 1000.0);
        r
    }
}

fn proc_status(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A kader's user name, posyandu and the children she weighs (id, birth date).
type Kader = (String, Uuid, Vec<(Uuid, String)>);

struct Generated {
    kaders: Vec<Kader>,
    records: usize,
}

/// A puskesmas for `devices` kaders, written through the server's own service.
fn generate(svc: &Service, devices: usize) -> Generated {
    let pusk = svc.init("Puskesmas Beban").unwrap();
    let posyandu_n = devices.div_ceil(KADERS_PER_POSYANDU);
    // One argon2 hash for every kader: the same password, checked for real at each login.
    let hash = auth::hash_password(PASSWORD);
    let now = svc.clock.now_ms();
    let mut kaders = Vec::new();
    let mut records = 0;
    let mut desa = svc.add_desa("Desa 0", Some(pusk)).unwrap();
    for p in 0..posyandu_n {
        if p > 0 && p % 10 == 0 {
            desa = svc
                .add_desa(&format!("Desa {}", p / 10), Some(pusk))
                .unwrap();
        }
        let posyandu = svc.add_posyandu(desa, &format!("Posyandu {p}")).unwrap();
        let mut children = Vec::new();
        for c in 0..CHILDREN_PER_POSYANDU {
            let mother = Uuid::now_v7();
            svc.store
                .server_write(
                    Kind::Woman,
                    mother,
                    obj(json!({"posyandu_id": posyandu.to_string(), "name": format!("Ibu {p}-{c}"), "dusun": "Dusun Krajan"})),
                    now,
                )
                .unwrap();
            let child = Uuid::now_v7();
            let birth = format!("2024-{:02}-{:02}", 1 + c % 12, 1 + c % 28);
            svc.store
                .server_write(
                    Kind::Child,
                    child,
                    obj(json!({
                        "posyandu_id": posyandu.to_string(), "name": format!("Anak {p}-{c}"),
                        "sex": if c % 2 == 0 { "L" } else { "P" }, "birth_date": birth,
                        "mother_id": mother.to_string(), "mother_name": format!("Ibu {p}-{c}"),
                        "status": "aktif", "dusun": "Dusun Krajan"
                    })),
                    now,
                )
                .unwrap();
            for m in 8..=10 {
                svc.store
                    .server_write(
                        Kind::Measurement,
                        Uuid::now_v7(),
                        obj(
                            json!({"child_id": child.to_string(), "date": format!("2026-{m:02}-10"),
                                   "weight_kg": 8.0 + (c % 10) as f64 / 5.0 + m as f64 / 10.0,
                                   "place": "posyandu"}),
                        ),
                        now,
                    )
                    .unwrap();
            }
            records += 5;
            children.push((child, birth));
        }
        for k in 0..KADERS_PER_POSYANDU {
            if kaders.len() == devices {
                break;
            }
            let name = format!("kader{p}_{k}");
            svc.store
                .add_user(&User {
                    id: Uuid::now_v7(),
                    name: name.clone(),
                    role: Role::Kader,
                    puskesmas_id: pusk,
                    posyandu_id: Some(posyandu),
                    password_hash: hash.clone(),
                    disabled: false,
                })
                .unwrap();
            let per = CHILDREN_PER_POSYANDU / KADERS_PER_POSYANDU;
            let mine = children[k * per..(k + 1) * per].to_vec();
            kaders.push((name, posyandu, mine));
        }
    }
    Generated { kaders, records }
}

/// A kader's posyandu day, offline: a weighing for each of her children, a vitamin A capsule
/// for the first, and a correction to the second child's record.
fn posyandu_day(store: &mut LocalStore, children: &[(Uuid, String)]) -> usize {
    let mut n = 0;
    for (i, (child, _)) in children.iter().enumerate() {
        store
            .create(
                Kind::Measurement,
                obj(json!({"child_id": child.to_string(), "date": "2026-11-10",
                           "weight_kg": 9.0 + i as f64 / 10.0, "length_cm": 75.5 + i as f64,
                           "position": "lying", "place": "posyandu"})),
            )
            .unwrap();
        n += 1;
    }
    if let Some((child, _)) = children.first() {
        store
            .create(
                Kind::VitaminA,
                obj(
                    json!({"child_id": child.to_string(), "date": "2026-11-10", "capsule": "biru"}),
                ),
            )
            .map(|_| n += 1)
            .unwrap_or_else(|e| eprintln!("vitamin A not recorded: {e}"));
    }
    if let Some((child, _)) = children.get(1) {
        store
            .update(Kind::Child, *child, obj(json!({"dusun": "Dusun Kulon"})))
            .unwrap();
        n += 1;
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let devices: usize = opt("--devices").and_then(|v| v.parse().ok()).unwrap_or(300);
    let enroll_parallel: usize = opt("--enroll-parallel")
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let database = opt("--database");
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let dir = tempfile::tempdir().unwrap();
    // The devices' stores in memory when the machine has tmpfs: in the field each phone commits
    // (and fsyncs) to its own storage; here 300 of them would queue on the server's disk and
    // their fsyncs would be counted in the server's latency. The server stays on disk.
    let phones = std::path::Path::new("/dev/shm")
        .is_dir()
        .then(|| tempfile::tempdir_in("/dev/shm").ok())
        .flatten();
    let phones_dir = phones.as_ref().map_or(dir.path(), |p| p.path());
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();

    let t = Instant::now();
    let spec = database
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", server_dir.join("master.db").display()));
    let generated = {
        let svc = Service::new(open_store(&spec).unwrap(), Arc::new(SystemClock));
        generate(&svc, devices)
    };
    println!(
        "Sinergi load benchmark: {devices} devices at once against a release sinergi-server ({}), {cores} cores",
        if database.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    println!(
        "setup: {} posyandu, {} records generated in {:.1} s",
        devices.div_ceil(KADERS_PER_POSYANDU),
        generated.records,
        t.elapsed().as_secs_f64()
    );
    let server = Server::start_with(&server_dir, database.clone(), free_port());
    let pid = server.pid();
    let url = server.url.clone();

    // Enrollment (argon2 login and the first pull) is setup, a few at a time, not measured.
    let t = Instant::now();
    let next = AtomicUsize::new(0);
    let stores: Vec<Mutex<Option<(LocalStore, HttpTransport)>>> =
        (0..devices).map(|_| Mutex::new(None)).collect();
    let edits = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..enroll_parallel {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= devices {
                    break;
                }
                let (user, _, children) = &generated.kaders[i];
                let ddir = phones_dir.join(format!("device-{i}"));
                let mut store = LocalStore::open(Path::new(&ddir)).unwrap();
                let transport = HttpTransport::new(&url).unwrap();
                let req = EnrollRequest {
                    user: user.clone(),
                    password: PASSWORD.into(),
                    device_name: format!("hp-{user}"),
                    device_key: None,
                };
                sync::enroll(&mut store, &transport, &url, &req, &mut |_| {})
                    .unwrap_or_else(|e| panic!("enroll {user}: {e}"));
                edits.fetch_add(posyandu_day(&mut store, children), Ordering::SeqCst);
                *stores[i].lock().unwrap() = Some((store, transport));
            });
        }
    });
    let setup_hwm = proc_status(pid, "VmHWM:");
    println!(
        "setup: {devices} devices enrolled ({enroll_parallel} at a time) in {:.1} s; server peak memory so far {:.1} MiB",
        t.elapsed().as_secs_f64(),
        setup_hwm
    );
    println!(
        "each device: {} edits made offline (weighings, vitamin A, a child's change)",
        edits.load(Ordering::SeqCst) / devices
    );
    // Measure the meeting alone: reset the server's peak RSS (Linux >= 4.0).
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let rss_before = proc_status(pid, "VmRSS:");

    for round in 1..=2 {
        let latencies = Mutex::new(Vec::new());
        let errors = Mutex::new(Vec::new());
        let barrier = Barrier::new(devices);
        let (pushed, pulled, requests) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        let t = Instant::now();
        std::thread::scope(|s| {
            for slot in &stores {
                let (latencies, errors, barrier) = (&latencies, &errors, &barrier);
                let (pushed, pulled, requests) = (&pushed, &pulled, &requests);
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, move || {
                        let mut guard = slot.lock().unwrap();
                        let (store, transport) = guard.as_mut().unwrap();
                        let timed = Timed {
                            inner: transport,
                            latencies,
                        };
                        barrier.wait();
                        match sync::sync(store, &timed, &SyncOptions::default(), &mut |_| {}) {
                            Ok(r) if r.complete => {
                                pushed.fetch_add(r.pushed as usize, Ordering::SeqCst);
                                pulled.fetch_add(r.pulled as usize, Ordering::SeqCst);
                                requests.fetch_add(r.requests as usize, Ordering::SeqCst);
                            }
                            Ok(_) => errors.lock().unwrap().push("incomplete sync".to_string()),
                            Err(e) => errors.lock().unwrap().push(e.to_string()),
                        }
                    })
                    .unwrap();
            }
        });
        let wall = t.elapsed().as_secs_f64();
        let mut l = latencies.into_inner().unwrap();
        l.sort_by(f64::total_cmp);
        let errors = errors.into_inner().unwrap();
        println!(
            "round {round} ({}): {devices} devices, {} requests, {} edits pushed, {} records pulled, all done in {:.2} s",
            if round == 1 { "push the posyandu day and pull" } else { "pull what the others pushed" },
            requests.load(Ordering::SeqCst),
            pushed.load(Ordering::SeqCst),
            pulled.load(Ordering::SeqCst),
            wall
        );
        println!(
            "  latency per exchange: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; errors: {}",
            percentile(&l, 50.0),
            percentile(&l, 99.0),
            l.last().copied().unwrap_or(f64::NAN),
            errors.len()
        );
        for e in errors.iter().take(5) {
            println!("  error: {e}");
        }
    }
    let hwm = proc_status(pid, "VmHWM:");
    println!(
        "server memory: {:.1} MiB resident before the meeting, peak {:.1} MiB during it{}",
        rss_before,
        hwm,
        if reset {
            " (VmHWM reset after setup)"
        } else {
            " (VmHWM could not be reset: includes setup)"
        }
    );
    bogus_flood(&url, pid);
    // Keep the server alive until here, then stop it cleanly.
    let mut server = server;
    std::thread::sleep(Duration::from_millis(10));
    server.stop();
}

/// Strangers with a made-up token, all at once, each sending a small gzip body that would inflate
/// to megabytes: the server must answer each with 401 before reading a byte of it, so its memory
/// stays flat (before the token was checked first, one such body took it from 221 to 641 MB).
fn bogus_flood(url: &str, pid: u32) {
    const CLIENTS: usize = 64;
    const EACH: usize = 20;
    let json = vec![b' '; 16 * 1024 * 1024];
    let body = sinergi_core::protocol::gzip(&json);
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let before = proc_status(pid, "VmRSS:");
    let (answered, cut, other) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| {
                let client = reqwest::blocking::Client::new();
                for _ in 0..EACH {
                    let r = client
                        .post(format!("{url}/api/v1/sync"))
                        .bearer_auth("nonsense")
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(body.clone())
                        .send();
                    match r.map(|r| r.status().as_u16()) {
                        Ok(401) => answered.fetch_add(1, Ordering::SeqCst),
                        // The server answered 401 and closed the connection before the client
                        // finished sending the body it will never read.
                        Err(_) => cut.fetch_add(1, Ordering::SeqCst),
                        Ok(_) => other.fetch_add(1, Ordering::SeqCst),
                    };
                }
            });
        }
    });
    println!(
        "bogus-token flood: {} requests from {CLIENTS} clients ({} KB gzip bodies inflating to {} MB): {} answered 401, {} cut off unread (401 sent, connection closed), {} anything else, in {:.2} s; server memory {:.1} MiB before, peak {:.1} MiB, {:.1} MiB after",
        CLIENTS * EACH,
        body.len() / 1024,
        json.len() / (1024 * 1024),
        answered.load(Ordering::SeqCst),
        cut.load(Ordering::SeqCst),
        other.load(Ordering::SeqCst),
        t.elapsed().as_secs_f64(),
        before,
        proc_status(pid, "VmHWM:"),
        proc_status(pid, "VmRSS:"),
    );
}
