//! The end-to-end harness: real `sinergi-server` and `sinergi` processes on loopback, temporary
//! data directories, and a TCP proxy that can cut a response to simulate a lost link.

pub mod proxy;

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const PASSWORD: &str = "rahasia-123";

/// A binary of this workspace, built next to the test executable (`cargo build --bins`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn check(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_with_stdin(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// `POST /api/v1/enroll` from `http`: status, body, and `Retry-After` in seconds.
pub fn login_from(
    http: &reqwest::blocking::Client,
    url: &str,
    user: &str,
    password: &str,
) -> (u16, Value, Option<u64>) {
    let resp = http
        .post(format!("{url}/api/v1/enroll"))
        .json(&serde_json::json!({"user": user, "password": password, "device_name": "hp-uji"}))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, resp.json().unwrap_or(Value::Null), retry)
}

/// `POST /api/v1/enroll` from the default address.
pub fn login(url: &str, user: &str, password: &str) -> (u16, Value, Option<u64>) {
    login_from(&reqwest::blocking::Client::new(), url, user, password)
}

/// The stable code of a JSON error body (`""` when it is not one).
pub fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// The master store the e2e servers use: `SINERGI_E2E_DATABASE=postgres` gives each puskesmas
/// its own fresh PostgreSQL database (from the standard `PG*` variables, as `pg_virtualenv`
/// exports them); unset or `sqlite`, the SQLite file in its data directory.
pub fn e2e_database() -> Option<String> {
    match std::env::var("SINERGI_E2E_DATABASE").ok().as_deref() {
        None | Some("") | Some("sqlite") => None,
        Some("postgres") => Some(
            sinergi_server::storage::postgres::fresh_database("sinergi_e2e").unwrap_or_else(|e| {
                panic!("SINERGI_E2E_DATABASE=postgres, but PostgreSQL is unusable: {e}")
            }),
        ),
        Some(other) => panic!("SINERGI_E2E_DATABASE={other}: use sqlite or postgres"),
    }
}

/// A puskesmas master store with two posyandu and users for each role.
pub struct Puskesmas {
    pub dir: TempDir,
    /// `--database` for every `sinergi-server` command (None: the SQLite file in `dir`).
    pub database: Option<String>,
    pub puskesmas: String,
    pub desa: String,
    pub posyandu_a: String,
    pub posyandu_b: String,
}

impl Puskesmas {
    /// On the store `SINERGI_E2E_DATABASE` chooses (see `e2e_database`).
    pub fn new() -> Self {
        Self::with_database(e2e_database())
    }

    /// On this store (`--database` value; None: the SQLite file in the data directory).
    pub fn with_database(database: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Puskesmas {
            dir,
            database,
            puskesmas: String::new(),
            desa: String::new(),
            posyandu_a: String::new(),
            posyandu_b: String::new(),
        };
        p.puskesmas = p.admin_ok(&["init", "--puskesmas", "Puskesmas Uji"]);
        p.desa = p.admin_ok(&["desa", "add", "--name", "Desa Uji"]);
        p.posyandu_a = p.admin_ok(&[
            "posyandu",
            "add",
            "--desa",
            &p.desa.clone(),
            "--name",
            "Posyandu A",
        ]);
        p.posyandu_b = p.admin_ok(&[
            "posyandu",
            "add",
            "--desa",
            &p.desa.clone(),
            "--name",
            "Posyandu B",
        ]);
        let (a, b) = (p.posyandu_a.clone(), p.posyandu_b.clone());
        p.add_user("bidan", "bidan", None);
        p.add_user("koordinator", "coordinator", None);
        p.add_user("kader_a", "kader", Some(&a));
        p.add_user("kader_a2", "kader", Some(&a));
        p.add_user("kader_b", "kader", Some(&b));
        p
    }

    pub fn add_user(&self, name: &str, role: &str, posyandu: Option<&str>) {
        let mut args = vec![
            "user",
            "add",
            "--name",
            name,
            "--role",
            role,
            "--password-stdin",
        ];
        if let Some(p) = posyandu {
            args.extend(["--posyandu", p]);
        }
        let mut cmd = self.server_command();
        cmd.args(&args);
        check(run_with_stdin(cmd, Some(PASSWORD)), "user add");
    }

    /// `sinergi-server --data-dir DIR [--database URL]`.
    pub fn server_command(&self) -> Command {
        let mut cmd = Command::new(bin("sinergi-server"));
        cmd.arg("--data-dir").arg(self.dir.path());
        if let Some(db) = &self.database {
            cmd.arg("--database").arg(db);
        }
        cmd
    }

    /// The `--database` value naming this puskesmas's store (for opening it in process).
    pub fn database_spec(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.dir.path().join("master.db").display()))
    }

    pub fn admin(&self, args: &[&str]) -> Output {
        self.admin_stdin(args, None)
    }

    /// An admin command with this on its standard input (e.g. `--password-stdin`).
    pub fn admin_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.server_command();
        cmd.args(args);
        run_with_stdin(cmd, stdin)
    }

    /// How many devices the server knows (revoked ones included).
    pub fn device_count(&self) -> usize {
        self.admin_json(&["device", "list", "--json"])
            .as_array()
            .unwrap()
            .len()
    }

    /// Run an admin command that must succeed; its trimmed stdout.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        check(self.admin(args), &format!("sinergi-server {args:?}"))
            .trim()
            .to_string()
    }

    pub fn admin_json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.admin_ok(args)).expect("json")
    }

    /// `bundle enroll`: an enrollment file for a new device of `user` (naming `server_url`).
    pub fn enroll_file(&self, user: &str, server_url: Option<&str>, out: &Path) -> Output {
        let mut args = vec![
            "bundle",
            "enroll",
            "--user",
            user,
            "--device-name",
            "hp-berkas",
        ];
        if let Some(u) = server_url {
            args.extend(["--server-url", u]);
        }
        let out = out.to_str().unwrap();
        args.extend(["--out", out]);
        self.admin(&args)
    }

    /// `bundle import`: answer a device's request file with a reply file.
    pub fn import_bundle(&self, request: &Path, reply: &Path) -> Output {
        self.admin(&[
            "bundle",
            "import",
            request.to_str().unwrap(),
            "--reply",
            reply.to_str().unwrap(),
        ])
    }

    /// Records of a kind in the master copy.
    pub fn records(&self, kind: &str) -> Vec<Value> {
        let v = self.admin_json(&["records", "list", "--kind", kind, "--json"]);
        v.as_array().unwrap().clone()
    }

    pub fn start(&self) -> Server {
        Server::start_with(self.dir.path(), self.database.clone(), free_port())
    }

    /// Start with extra `serve` arguments (e.g. `--tls-cert`, `--login-free-failures`).
    pub fn start_args(&self, args: &[&str]) -> Server {
        Server::start_with_args(
            self.dir.path(),
            self.database.clone(),
            free_port(),
            args.iter().map(|a| a.to_string()).collect(),
        )
    }
}

impl Default for Puskesmas {
    fn default() -> Self {
        Self::new()
    }
}

/// A running `sinergi-server serve`.
pub struct Server {
    child: Child,
    pub port: u16,
    pub url: String,
    dir: PathBuf,
    database: Option<String>,
    args: Vec<String>,
}

impl Server {
    /// Serve the SQLite store in `dir`.
    pub fn start(dir: &Path, port: u16) -> Server {
        Server::start_with(dir, None, port)
    }

    /// Serve the store `database` names (None: the SQLite store in `dir`).
    pub fn start_with(dir: &Path, database: Option<String>, port: u16) -> Server {
        Server::start_with_args(dir, database, port, Vec::new())
    }

    /// The same with extra `serve` arguments; `url` is the address the server announces
    /// (`https://` when it serves TLS).
    pub fn start_with_args(
        dir: &Path,
        database: Option<String>,
        port: u16,
        args: Vec<String>,
    ) -> Server {
        let mut cmd = Command::new(bin("sinergi-server"));
        cmd.arg("--data-dir").arg(dir);
        if let Some(db) = &database {
            cmd.arg("--database").arg(db);
        }
        let mut child = cmd
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.contains("mendengarkan"),
            "server did not start: {line}"
        );
        let url = line
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .replace("0.0.0.0", "127.0.0.1");
        Server {
            child,
            port,
            url,
            dir: dir.to_path_buf(),
            database,
            args,
        }
    }

    /// Stop (SIGTERM) and wait.
    pub fn stop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's process id (for /proc figures).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kill -9 (SIGKILL): no shutdown, no flush; whatever was in flight is cut.
    pub fn kill9(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// Start again from the same data (after `stop` or `kill9`), on the same port.
    pub fn start_again(&mut self) {
        *self = Server::start_with(&self.dir.clone(), self.database.clone(), self.port);
    }

    /// Start again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        *self = Server::start_with_args(
            &self.dir.clone(),
            self.database.clone(),
            self.port,
            self.args.clone(),
        );
    }

    pub fn health(&self) -> bool {
        reqwest::blocking::get(format!("{}/api/v1/health", self.url))
            .is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A device running the `sinergi` client on its own data directory.
pub struct Client {
    pub dir: TempDir,
    pub clock_offset_ms: i64,
    /// The PIN of an encrypted store (`SINERGI_PIN`), if this device has one.
    pub pin: Option<String>,
}

impl Client {
    pub fn new() -> Self {
        Client {
            dir: tempfile::tempdir().unwrap(),
            clock_offset_ms: 0,
            pin: None,
        }
    }

    /// A device whose store is encrypted under `pin` from its first command on.
    pub fn with_pin(pin: &str) -> Self {
        Client {
            pin: Some(pin.to_string()),
            ..Self::new()
        }
    }

    pub fn with_clock_offset(ms: i64) -> Self {
        Client {
            dir: tempfile::tempdir().unwrap(),
            clock_offset_ms: ms,
            pin: None,
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(bin("sinergi"));
        cmd.arg("--data-dir").arg(self.dir.path()).args(args);
        if self.clock_offset_ms != 0 {
            cmd.env("SINERGI_CLOCK_OFFSET_MS", self.clock_offset_ms.to_string());
        }
        if let Some(pin) = &self.pin {
            cmd.env("SINERGI_PIN", pin);
        }
        run_with_stdin(cmd, stdin)
    }

    /// Start `sinergi ARGS` without waiting (crash drills kill it), output discarded; `stdin`
    /// is written and closed (e.g. a password).
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Child {
        let mut cmd = Command::new(bin("sinergi"));
        cmd.arg("--data-dir").arg(self.dir.path()).args(args);
        if self.clock_offset_ms != 0 {
            cmd.env("SINERGI_CLOCK_OFFSET_MS", self.clock_offset_ms.to_string());
        }
        if let Some(pin) = &self.pin {
            cmd.env("SINERGI_PIN", pin);
        }
        cmd.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn sinergi");
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            let _ = input.write_all(s.as_bytes());
        }
        drop(input);
        child
    }

    pub fn ok(&self, args: &[&str]) -> String {
        check(self.run(args), &format!("sinergi {args:?}"))
            .trim()
            .to_string()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }

    pub fn enroll(&self, url: &str, user: &str) -> Value {
        let out = self.enroll_with(url, user, PASSWORD, &format!("hp-{user}"));
        serde_json::from_str(&check(out, "enroll")).unwrap()
    }

    /// `sinergi enroll --json` with this password, whatever its outcome.
    pub fn enroll_with(&self, url: &str, user: &str, password: &str, device_name: &str) -> Output {
        self.enroll_args(url, user, password, device_name, &[])
    }

    /// `sinergi enroll --json` with the test password and these extra arguments (how to trust
    /// the server: `--ca-cert`, `--tls-fingerprint`, `--insecure-http`), whatever its outcome.
    pub fn enroll_trusting(&self, url: &str, user: &str, extra: &[&str]) -> Output {
        self.enroll_args(url, user, PASSWORD, &format!("hp-{user}"), extra)
    }

    fn enroll_args(
        &self,
        url: &str,
        user: &str,
        password: &str,
        device_name: &str,
        extra: &[&str],
    ) -> Output {
        let mut args = vec![
            "enroll",
            "--server",
            url,
            "--user",
            user,
            "--password-stdin",
            "--device-name",
            device_name,
            "--json",
        ];
        args.extend(extra);
        self.run_stdin(&args, Some(password))
    }

    pub fn sync(&self) -> Value {
        self.json(&["sync", "--json"])
    }

    pub fn status(&self) -> Value {
        self.json(&["status", "--json"])
    }

    pub fn add_child(&self, posyandu: &str, name: &str) -> String {
        self.ok(&[
            "child",
            "add",
            "--posyandu",
            posyandu,
            "--name",
            name,
            "--sex",
            "L",
            "--birth-date",
            "2025-03-14",
        ])
    }

    pub fn children(&self) -> Vec<Value> {
        self.json(&["child", "list", "--json"])
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn child(&self, id: &str) -> Value {
        self.json(&["child", "show", id, "--json"])
    }

    /// The device's enrollment token (tests that speak raw HTTP use it).
    pub fn token(&self) -> String {
        let store = sinergi_core::store::LocalStore::open_with_pin(
            self.dir.path(),
            self.pin.as_deref(),
            std::sync::Arc::new(sinergi_core::hlc::SystemClock),
        )
        .unwrap();
        store.require_enrollment().unwrap().token
    }

    pub fn device_id(&self) -> String {
        self.status()["device_id"].as_str().unwrap().to_string()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// Find a record by id in a JSON list.
pub fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|v| v["id"] == id)
}
