//! Benchmark (prints figures, asserts nothing about speed): cold start of the real app to its
//! first usable screen, and searching among 5,000 children. Run by tests/app/bench.sh:
//!
//! ```sh
//! SINERGI_APP_BENCH=1 xvfb-run -a cargo test --release -p sinergi-app \
//!   --features tauri/custom-protocol --test bench -- --nocapture
//! ```

use fantoccini::ClientBuilder;
use serde_json::{json, Value};
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::EnrollRequest;
use sinergi_core::store::LocalStore;
use sinergi_core::sync::{self as core_sync, HttpTransport};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILDREN: usize = 5000;
const NAMES: &[&str] = &[
    "Siti", "Budi", "Ayu", "Dewi", "Agus", "Rina", "Putri", "Bagus", "Intan", "Rizki", "Nur",
    "Fajar", "Wulan", "Dimas", "Sari", "Yoga",
];
const FAMILY: &[&str] = &[
    "Lestari", "Santoso", "Rahayu", "Wibowo", "Pratama", "Hidayat", "Kusuma", "Saputra", "Wijaya",
    "Utami", "Nugroho", "Permata",
];

fn port_free() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A kader's device (enrolled to a demo server, which is then stopped) holding 5,000 more
/// children of its posyandu, half of them weighed this month.
fn seed(dir: &std::path::Path) {
    let bin = std::env::var_os("SINERGI_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug"));
    let server_dir = dir.join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let port = port_free();
    let mut server = Command::new(bin.join("sinergi-server"))
        .arg("--data-dir")
        .arg(&server_dir)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--demo"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sinergi-server (SINERGI_BIN_DIR)");
    wait_port(port);
    let device = dir.join("device");
    let mut s = LocalStore::open(&device).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let transport = HttpTransport::new(&url).unwrap();
    let req = EnrollRequest {
        user: "kader1".into(),
        password: "sinergi-demo".into(),
        device_name: "bench".into(),
        device_key: None,
    };
    let (e, _) = core_sync::enroll(&mut s, &transport, &url, &req, &mut |_| {}).unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let posyandu = e.posyandu_id.expect("kader1 has a posyandu");
    let today = s.today();
    for i in 0..CHILDREN {
        let mut f = Fields::new();
        let name = format!(
            "{} {} {}",
            NAMES[i % NAMES.len()],
            FAMILY[(i / NAMES.len()) % FAMILY.len()],
            i
        );
        f.insert("posyandu_id".into(), json!(posyandu.to_string()));
        f.insert("name".into(), json!(name));
        f.insert("sex".into(), json!(if i % 2 == 0 { "L" } else { "P" }));
        let birth = today - chrono::Days::new(30 + (i as u64 * 7) % 1700);
        f.insert("birth_date".into(), json!(birth.to_string()));
        f.insert(
            "mother_name".into(),
            json!(format!("Ibu {}", FAMILY[i % FAMILY.len()])),
        );
        f.insert(
            "nik".into(),
            json!(format!("{}", 3301000000000000u64 + i as u64)),
        );
        f.insert("status".into(), json!("aktif"));
        let id = s.create(Kind::Child, f).unwrap().id;
        if i % 2 == 0 {
            let mut m = Fields::new();
            m.insert("child_id".into(), json!(id.to_string()));
            m.insert("date".into(), json!(today.to_string()));
            m.insert("weight_kg".into(), json!(9.5));
            s.create(Kind::Measurement, m).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_and_search_among_5000_children() {
    if std::env::var("SINERGI_APP_BENCH").as_deref() != Ok("1") {
        eprintln!("skipped: set SINERGI_APP_BENCH=1");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    seed(tmp.path());
    println!(
        "seeded {CHILDREN} children in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let port = port_free();
    let native = port_free();
    let driver_bin = std::env::var_os("TAURI_DRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo/bin/tauri-driver")
        });
    let mut driver = Command::new(driver_bin)
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("SINERGI_DATA_DIR", tmp.path().join("device"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(port);
    wait_port(native);

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": env!("CARGO_BIN_EXE_sinergi-app") }),
    );
    let url = format!("http://127.0.0.1:{port}");
    // Cold starts: each launches the app afresh (a new WebDriver session) and ends it.
    let runs: usize = std::env::var("SINERGI_BENCH_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut starts = Vec::new();
    for run in 1..=runs {
        let (client, start) = cold_start(&url, caps.clone()).await;
        println!(
            "  start {run}: {:.0} ms to the list (WebDriver session ready {:.0} ms; page from navigation start {:.0} ms: {})",
            start.usable_ms, start.launched_ms, start.in_page_ms, start.marks
        );
        starts.push(start.usable_ms);
        if run < runs {
            let _ = client.close().await;
        } else {
            search_figures(&client).await;
            let _ = client.close().await;
        }
    }
    starts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "cold start to first usable screen ({CHILDREN} children listed), {runs} launches: median {:.0} ms, best {:.0} ms, worst {:.0} ms",
        starts[starts.len() / 2],
        starts[0],
        starts[starts.len() - 1]
    );
    let _ = Command::new("kill")
        .args(["-TERM", &driver.id().to_string()])
        .status();
    let _ = driver.wait();
}

struct ColdStart {
    /// From asking WebDriver for the app to the day list on screen with every child in it.
    usable_ms: f64,
    launched_ms: f64,
    in_page_ms: f64,
    /// The page's own marks (ms since navigation start).
    marks: String,
}

async fn cold_start(
    url: &str,
    caps: serde_json::Map<String, Value>,
) -> (fantoccini::Client, ColdStart) {
    let wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            * 1000.0
    };
    let t0 = Instant::now();
    let t0_wall = wall();
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(url)
        .await
        .unwrap();
    let launched_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let count_js = "const l = document.querySelector('[data-testid=\"child-list\"]'); \
                    return l ? Number(l.dataset.count) : 0;";
    loop {
        let n = client.execute(count_js, vec![]).await.unwrap();
        if n.as_u64().unwrap_or(0) >= CHILDREN as u64 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "list never filled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // When the list was on screen, by the page's clock (the same system clock as t0_wall):
    // polling alone would add up to a WebDriver round trip.
    let r: Value = client
        .execute(
            "const n = performance.getEntriesByType('navigation')[0]; \
             const marks = [['html', n ? n.responseEnd : NaN]]; \
             for (const m of performance.getEntriesByType('mark')) marks.push([m.name, m.startTime]); \
             const shown = performance.getEntriesByName('day:shown')[0]; \
             return [performance.timeOrigin, shown ? shown.startTime : NaN, marks];",
            vec![],
        )
        .await
        .unwrap();
    let origin = r[0].as_f64().unwrap_or(f64::NAN);
    let in_page_ms = r[1].as_f64().unwrap_or(f64::NAN);
    let marks = r[2]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "{} {:.0}",
                m[0].as_str().unwrap_or("?"),
                m[1].as_f64().unwrap_or(f64::NAN)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let start = ColdStart {
        usable_ms: origin + in_page_ms - t0_wall,
        launched_ms,
        in_page_ms,
        marks,
    };
    (client, start)
}

/// Type queries into the day list's search box; time until the filtered list is in the DOM.
async fn search_figures(client: &fantoccini::Client) {
    let script = r#"
        const [q] = arguments;
        const input = document.querySelector('[data-testid="day-search"]');
        const list = document.querySelector('[data-testid="child-list"]');
        const t0 = performance.now();
        input.value = q;
        input.dispatchEvent(new Event('input', { bubbles: true }));
        await new Promise((r) => setTimeout(r, 0));
        const ms = performance.now() - t0;
        return [ms, Number(list.dataset.count)];
    "#;
    let mut times = Vec::new();
    for q in [
        "siti",
        "lestari 4",
        "ibu wibowo",
        "33010000000012",
        "putri kusuma",
        "",
        "zzz",
        "nur",
    ] {
        let r: Value = client
            .execute(
                &format!("return (async () => {{ {script} }})();"),
                vec![json!(q)],
            )
            .await
            .unwrap();
        let ms = r[0].as_f64().unwrap();
        println!("  search {q:?}: {:.1} ms, {} children", ms, r[1]);
        times.push(ms);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "search among {CHILDREN} children (filter + render), {} queries: median {:.1} ms, max {:.1} ms",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
