//! Sync benchmark: prints server merge throughput, bytes on the wire per record, requests per
//! incremental sync, and the time and peak memory of a first enrollment that pulls everything.
//! Run with `scripts/bench-sync.sh [RECORDS]` (release build; default 100,000 records).

use sinergi_core::hlc::SystemClock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::store::LocalStore;
use sinergi_e2e::proxy::Proxy;
use sinergi_e2e::{bin, Client, Puskesmas, PASSWORD};

/// The same allocator as `sinergi-server`, so the in-process merge measures what the server does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use sinergi_core::protocol::MAX_EDITS_PER_REQUEST;
use sinergi_server::auth::token_hash;
use sinergi_server::service::Service;
use sinergi_server::storage::sqlite::SqliteStore;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

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

/// Run a command and return (seconds, peak RSS in MiB, stdout) of that child process. It is
/// reaped with `wait4`, which also gives its resource usage.
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
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = t.elapsed().as_secs_f64();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {stdout}"
    );
    (secs, usage.ru_maxrss as f64 / 1024.0, stdout)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    println!(
        "Sinergi sync benchmark: {n} records (children), release build, {} cores",
        std::thread::available_parallelism()
            .map(|c| c.get())
            .unwrap_or(1)
    );
    let p = Puskesmas::new();
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
    println!(
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
    println!("push over HTTP incl. pulling the echo:  {:>10.0} records/s  ({:.2} s for {n}, {} requests)", n as f64 / push, push, r["requests"]);
    println!(
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
    println!(
        "first enrollment: pulled {pulled} records in {} requests",
        v["sync"]["requests"]
    );
    println!("first enrollment time:                   {:>10.2} s", secs);
    println!(
        "first enrollment peak client memory:     {:>10.1} MiB (max RSS)",
        rss
    );
    println!(
        "bytes on the wire per record, pull:      {:>10.1} B (gzip JSON)",
        down as f64 / pulled as f64
    );

    // An incremental sync with a little to say: one edit each way.
    let id = a.add_child(&p.posyandu_a, "Anak Baru");
    a.sync();
    b.sync();
    b.ok(&["child", "set", &id, "dusun=Dusun Kecil"]);
    let inc = b.sync();
    println!(
        "requests per incremental sync:           {:>10} (pushed {}, pulled {})",
        inc["requests"], inc["pushed"], inc["pulled"]
    );

    // Last, because it grows this process, and on Linux a child's max RSS starts from the size
    // of the process that forked it (the enrollment above is measured while this one is small).
    merge_in_process(n);
}

/// The server's merge alone: the same requests a device sends, applied by the server's own
/// service and store in this process (no HTTP, no pull beyond one record).
fn merge_in_process(n: usize) {
    let p = Puskesmas::new();
    let c = Client::new();
    {
        let server = p.start();
        c.enroll(&server.url, "kader_a");
    }
    let token = c.token();
    let mut store = LocalStore::open(c.dir.path()).unwrap();
    for i in 0..n {
        store
            .create(Kind::Child, child_fields(&p.posyandu_a, i))
            .unwrap();
    }
    let master = SqliteStore::open(&p.dir.path().join("master.db")).unwrap();
    let svc = Service::new(Box::new(master), Arc::new(SystemClock));
    let hash = token_hash(&token);
    let mut merged = 0;
    let mut busy = 0.0;
    let mut requests = Vec::new();
    loop {
        let mut req = store
            .build_request(1, MAX_EDITS_PER_REQUEST, false)
            .unwrap();
        if req.edits.is_empty() {
            break;
        }
        req.page_limit = 1;
        let t = Instant::now();
        let resp = svc.sync(&hash, &req).unwrap();
        busy += t.elapsed().as_secs_f64();
        merged += req.edits.len();
        assert!(resp.refused.is_empty());
        requests.push(req.edits.len());
        store.apply_response(&resp).unwrap();
    }
    println!(
        "server merge throughput (in process):    {:>10.0} records/s  ({merged} records in {} requests, {:.2} s)",
        merged as f64 / busy,
        requests.len(),
        busy
    );
}
