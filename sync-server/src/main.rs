//! `sinergi-server`: admin commands and `serve`, thin over the service.

use anyhow::{bail, Context};

/// The merge allocates many small maps and strings; mimalloc handles that far better than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use sinergi_core::hlc::SystemClock;
use sinergi_core::model::Kind;
use sinergi_core::protocol::Role;
use sinergi_server::error::ServerError;
use sinergi_server::service::Service;
use sinergi_server::storage::sqlite::SqliteStore;
use sinergi_server::storage::{open_store, MasterStore};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "sinergi-server",
    version,
    about = "Server sinkronisasi Sinergi (salinan induk puskesmas)"
)]
struct Cli {
    /// Folder of the master store (created if missing).
    #[arg(long, global = true, default_value = "sinergi-server-data")]
    data_dir: PathBuf,
    /// The master store: `postgres://USER:PASSWORD@HOST:PORT/DB` for PostgreSQL, or
    /// `sqlite:PATH`. Default: the SQLite file `master.db` in --data-dir.
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the master store with its puskesmas.
    Init {
        #[arg(long)]
        puskesmas: String,
    },
    /// Desa (villages).
    Desa {
        #[command(subcommand)]
        cmd: DesaCmd,
    },
    /// Posyandu.
    Posyandu {
        #[command(subcommand)]
        cmd: PosyanduCmd,
    },
    /// Users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Enrolled devices.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Conflicts kept for the bidan.
    Conflicts {
        #[command(subcommand)]
        cmd: ListCmd,
    },
    /// Possible duplicate children.
    Duplicates {
        #[command(subcommand)]
        cmd: ListCmd,
    },
    /// Records of the master copy.
    Records {
        #[command(subcommand)]
        cmd: RecordsCmd,
    },
    /// Exchange by file.
    Bundle {
        #[command(subcommand)]
        cmd: BundleCmd,
    },
    /// Monthly reports of the master copy (SKDN and friends).
    Report {
        #[arg(long)]
        month: String,
        #[arg(long, conflicts_with_all = ["desa", "puskesmas"])]
        posyandu: Option<String>,
        #[arg(long, conflicts_with = "puskesmas")]
        desa: Option<String>,
        /// A puskesmas (its id; without one, the only puskesmas of this server).
        #[arg(long, num_args = 0..=1, default_missing_value = "")]
        puskesmas: Option<String>,
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Seed the demo puskesmas (if the store is empty).
    Demo,
    /// Serve the sync API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Seed the demo puskesmas first if the store is empty.
        #[arg(long)]
        demo: bool,
        /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve HTTPS with the server's own certificate even on a loopback address (on any
        /// other address it is the default).
        #[arg(long, conflicts_with_all = ["tls_cert", "insecure_http"])]
        https: bool,
        /// Serve plain HTTP on a non-loopback address: passwords and tokens travel in clear.
        /// Only behind a TLS proxy, or on a network you trust completely.
        #[arg(long, conflicts_with = "tls_cert")]
        insecure_http: bool,
        /// Failed logins of one user name from one client address that cost no wait; after
        /// that the pair waits --login-first-delay-secs, doubling with each further failure
        /// (`429 too_many_attempts` with Retry-After). A success clears the pair.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
        login_free_failures: u32,
        /// Failed logins from one client address, over all user names, before the address
        /// waits too (the same growing delays; a success does not clear them). Behind a
        /// reverse proxy every client has the proxy's address: raise it there.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        login_free_failures_per_ip: u32,
        /// The first delay, in seconds.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        login_first_delay_secs: u64,
        /// The longest delay, in seconds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        login_max_delay_secs: u64,
        /// A user name and address pair (or an address) with no failed login for this many
        /// seconds starts again from zero.
        #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
        login_forget_secs: u64,
    },
    /// Print a digest of the whole master copy.
    Digest,
    /// The server's HTTPS certificate.
    Tls {
        #[command(subcommand)]
        cmd: TlsCmd,
    },
    /// Copy a whole master copy into an empty store (e.g. a puskesmas's SQLite file into the
    /// district's PostgreSQL database) and check both by digest.
    MigrateStore {
        /// `sqlite:PATH` or `postgres://...`
        #[arg(long)]
        from: String,
        /// `postgres://...` or `sqlite:PATH`; must be empty.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum DesaCmd {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        puskesmas: Option<Uuid>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PosyanduCmd {
    Add {
        #[arg(long)]
        desa: Uuid,
        #[arg(long)]
        name: String,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user (the password is read from standard input).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["kader", "bidan", "coordinator", "admin"])]
        role: String,
        #[arg(long)]
        posyandu: Option<Uuid>,
        #[arg(long)]
        puskesmas: Option<Uuid>,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Every user: name, role, posyandu or puskesmas, enabled or disabled, active devices.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: every device of hers is refused from its next request on
    /// (`user_disabled`) and her password enrolls nothing, until `user enable`.
    Disable {
        #[arg(long)]
        name: String,
    },
    /// Enable a disabled user again: her devices sync as before.
    Enable {
        #[arg(long)]
        name: String,
    },
    /// Set a new password (one line read from standard input).
    Password {
        #[arg(long)]
        name: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum DeviceCmd {
    List {
        #[arg(long)]
        json: bool,
    },
    Revoke {
        id: Uuid,
    },
}

#[derive(Subcommand)]
enum ListCmd {
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RecordsCmd {
    List {
        #[arg(long)]
        kind: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BundleCmd {
    /// Answer a device's bundle file, writing the reply file for the device.
    Import {
        file: PathBuf,
        #[arg(long)]
        reply: PathBuf,
    },
    /// Make a new device for a user and write everything in its scope to a file: the device
    /// opens it on its first run instead of enrolling over a link.
    Enroll {
        #[arg(long)]
        user: String,
        #[arg(long)]
        device_name: String,
        /// The address the device may later sync with over HTTP, if any. An https:// address
        /// makes the device pin the server's certificate (its own, or --tls-cert's).
        #[arg(long)]
        server_url: Option<String>,
        /// The certificate `serve --tls-cert` uses, when it is not the server's own.
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum TlsCmd {
    /// Print the SHA-256 fingerprint of the certificate devices will see (the server's own, or
    /// the one given), to compare with what a device shows when it enrolls.
    Fingerprint {
        #[arg(long)]
        tls_cert: Option<PathBuf>,
    },
}

/// The fingerprint devices pin: of the certificate given, or of the server's own.
fn fingerprint(svc: &Service, cert: Option<&Path>) -> anyhow::Result<String> {
    let id = match cert {
        Some(c) => sinergi_server::TlsIdentity {
            cert_pem: std::fs::read(c).with_context(|| format!("cannot read {}", c.display()))?,
            key_pem: Vec::new(),
            cert_from: c.display().to_string(),
            key_from: String::new(),
        },
        None => svc.own_tls().map_err(explain)?,
    };
    id.fingerprint()
        .map_err(|e| anyhow::anyhow!("{e} [tls_config]"))
}

fn open(dir: &Path, database: Option<&str>) -> anyhow::Result<Service> {
    let store: Box<dyn MasterStore> = match database {
        Some(spec) => open_store(spec).map_err(explain)?,
        None => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Box::new(SqliteStore::open(&dir.join("master.db")).map_err(explain)?)
        }
    };
    Ok(Service::new(store, Arc::new(SystemClock)))
}

/// `migrate-store`: copy every row (records with their field clocks and sequence numbers, exits,
/// users, devices, refusals, counters) in one transaction on the target, then compare digests.
fn migrate_store(from: &str, to: &str) -> anyhow::Result<()> {
    if from
        .strip_prefix("sqlite:")
        .is_some_and(|p| !Path::new(p).exists())
    {
        bail!("{from} does not exist [not_found]");
    }
    let source = open_store(from).map_err(explain)?;
    let target = open_store(to).map_err(explain)?;
    if !target.is_empty().map_err(explain)? {
        bail!("the target store is not empty; migrate-store writes only into an empty store [target_not_empty]");
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    let copied = std::thread::scope(|s| -> anyhow::Result<u64> {
        let reader = s.spawn(|| {
            let out = source.export(&mut |row| {
                tx.send(Ok(row))
                    .map_err(|_| ServerError::Data("the target stopped reading".into()))
            });
            if let Err(e) = out {
                let _ = tx.send(Err(e));
            }
            drop(tx);
        });
        let mut n = 0u64;
        let mut rows = rx.iter().inspect(|_| n += 1);
        let written = target.import(&mut rows);
        drop(rows);
        drop(rx);
        reader.join().expect("export thread");
        written.map_err(explain)?;
        Ok(n)
    })?;
    let a = source.digest().map_err(explain)?;
    let b = target.digest().map_err(explain)?;
    println!("copied {copied} rows");
    println!("source digest: {a}");
    println!("target digest: {b}");
    if a != b {
        bail!("the digests differ: the copy is not equal [digest_mismatch]");
    }
    let (da, db) = (
        source.devices().map_err(explain)?,
        target.devices().map_err(explain)?,
    );
    let key = |d: &Vec<sinergi_server::storage::Device>| {
        d.iter().map(|d| (d.id, d.last_sync_ms)).collect::<Vec<_>>()
    };
    if key(&da) != key(&db) {
        bail!("the devices' last sync times differ [digest_mismatch]");
    }
    println!("equal: the target holds the same master copy");
    Ok(())
}

fn explain(e: ServerError) -> anyhow::Error {
    let p = e.problem();
    anyhow::anyhow!("{} [{}]", p.message, p.code)
}

/// One JSON document for `--json`; otherwise one line per record: id, then its name or a
/// short summary of its fields.
fn print_list(items: Vec<serde_json::Value>, json: bool, empty: &str) {
    if json {
        println!("{}", serde_json::Value::Array(items));
        return;
    }
    if items.is_empty() {
        println!("{empty}");
    }
    for i in &items {
        let id = i["id"].as_str().unwrap_or("-");
        let text = match i.get("name").and_then(|n| n.as_str()) {
            Some(name) => name.to_string(),
            None => i
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| !k.ends_with("id"))
                        .map(|(k, v)| {
                            format!(
                                "{k}={}",
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("  ")
                })
                .unwrap_or_default(),
        };
        println!("{id}  {text}");
    }
}

/// `user list`: a header and one aligned line per user.
fn print_users(users: &[sinergi_server::service::UserInfo]) {
    if users.is_empty() {
        println!("Belum ada pengguna.");
        return;
    }
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            [
                u.name.clone(),
                u.role.as_str().to_string(),
                u.place.clone(),
                if u.disabled { "NONAKTIF" } else { "aktif" }.to_string(),
                u.active_devices.to_string(),
            ]
        })
        .collect();
    let header = [
        "NAMA",
        "PERAN",
        "POSYANDU/PUSKESMAS",
        "STATUS",
        "PERANGKAT AKTIF",
    ]
    .map(String::from);
    let mut widths = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let line = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        println!("{}", line.trim_end());
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("galat: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Cmd::MigrateStore { from, to } = &cli.cmd {
        return migrate_store(from, to);
    }
    let svc = open(&cli.data_dir, cli.database.as_deref())?;
    let today = chrono::Local::now().date_naive();
    match cli.cmd {
        Cmd::Init { puskesmas } => {
            println!("{}", svc.init(&puskesmas).map_err(explain)?);
            // The keys are made now, so the fingerprint can be written down at once.
            svc.public_key().map_err(explain)?;
            let fp = svc.own_tls().map_err(explain)?.fingerprint();
            eprintln!(
                "Sidik jari sertifikat HTTPS server: {}",
                fp.map_err(|e| anyhow::anyhow!("{e} [tls_config]"))?
            );
        }
        Cmd::Tls {
            cmd: TlsCmd::Fingerprint { tls_cert },
        } => println!("{}", fingerprint(&svc, tls_cert.as_deref())?),
        Cmd::Desa {
            cmd: DesaCmd::Add { name, puskesmas },
        } => {
            println!("{}", svc.add_desa(&name, puskesmas).map_err(explain)?)
        }
        Cmd::Desa {
            cmd: DesaCmd::List { json },
        } => print_list(
            svc.list_json(Kind::Desa).map_err(explain)?,
            json,
            "Belum ada desa.",
        ),
        Cmd::Posyandu {
            cmd: PosyanduCmd::Add { desa, name },
        } => {
            println!("{}", svc.add_posyandu(desa, &name).map_err(explain)?)
        }
        Cmd::Posyandu {
            cmd: PosyanduCmd::List { json },
        } => print_list(
            svc.list_json(Kind::Posyandu).map_err(explain)?,
            json,
            "Belum ada posyandu.",
        ),
        Cmd::User {
            cmd:
                UserCmd::Add {
                    name,
                    role,
                    posyandu,
                    puskesmas,
                    password_stdin: _,
                },
        } => {
            let mut pw = String::new();
            std::io::stdin()
                .read_to_string(&mut pw)
                .context("cannot read the password from stdin")?;
            let pw = pw.trim_end_matches(['\n', '\r']);
            let role = Role::parse(&role).expect("clap checked the role");
            println!(
                "{}",
                svc.add_user(&name, role, posyandu, puskesmas, pw)
                    .map_err(explain)?
            );
        }
        Cmd::User {
            cmd: UserCmd::List { json },
        } => {
            let users = svc.users().map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string(&users)?);
            } else {
                print_users(&users);
            }
        }
        Cmd::User {
            cmd: UserCmd::Disable { name },
        } => {
            svc.set_user_disabled(&name, true).map_err(explain)?;
            println!(
                "Pengguna {} dinonaktifkan: perangkatnya ditolak mulai permintaan berikutnya, kata sandinya tidak mendaftarkan perangkat.",
                name.trim()
            );
        }
        Cmd::User {
            cmd: UserCmd::Enable { name },
        } => {
            svc.set_user_disabled(&name, false).map_err(explain)?;
            println!("Pengguna {} diaktifkan kembali.", name.trim());
        }
        Cmd::User {
            cmd:
                UserCmd::Password {
                    name,
                    password_stdin: _,
                },
        } => {
            let mut pw = String::new();
            std::io::stdin()
                .read_line(&mut pw)
                .context("cannot read the password from stdin")?;
            let pw = pw.trim_end_matches(['\n', '\r']);
            svc.set_password(&name, pw).map_err(explain)?;
            println!("Kata sandi {} diganti.", name.trim());
        }
        Cmd::Device {
            cmd: DeviceCmd::List { json },
        } => {
            let devices = svc.store.devices().map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string(&devices)?);
            } else if devices.is_empty() {
                println!("Belum ada perangkat terdaftar.");
            } else {
                for d in devices {
                    let state = if d.revoked_ms.is_some() {
                        "DICABUT"
                    } else {
                        "aktif"
                    };
                    println!(
                        "{}  {:<20} {:<12} {:<12} {}",
                        d.id,
                        d.name,
                        d.user,
                        d.role.as_str(),
                        state
                    );
                }
            }
        }
        Cmd::Device {
            cmd: DeviceCmd::Revoke { id },
        } => {
            if !svc
                .store
                .revoke_device(id, chrono::Utc::now().timestamp_millis())
                .map_err(explain)?
            {
                bail!("perangkat {id} tidak dikenal atau sudah dicabut [unknown_device]");
            }
            println!("Perangkat {id} dicabut.");
        }
        Cmd::Conflicts {
            cmd: ListCmd::List { json },
        } => print_list(
            svc.list_json(Kind::Conflict).map_err(explain)?,
            json,
            "Tidak ada konflik.",
        ),
        Cmd::Duplicates {
            cmd: ListCmd::List { json },
        } => print_list(
            svc.list_json(Kind::Duplicate).map_err(explain)?,
            json,
            "Tidak ada kemungkinan duplikat.",
        ),
        Cmd::Records {
            cmd: RecordsCmd::List { kind, json },
        } => {
            let kind: Kind = kind
                .parse()
                .map_err(|e: String| anyhow::anyhow!("{e} [unknown_kind]"))?;
            print_list(
                svc.list_json(kind).map_err(explain)?,
                json,
                "Tidak ada data.",
            )
        }
        Cmd::Bundle {
            cmd: BundleCmd::Import { file, reply },
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let answer = svc.import_bundle(&bytes).map_err(explain)?;
            sinergi_core::sync::write_atomically(&reply, &answer.file)?;
            if let sinergi_core::protocol::Bundle::Renumber { last_applied, .. } = &answer.bundle {
                println!(
                    "Nomor perubahan perangkat ini sudah dipakai untuk perubahan lain (data perangkat \
                     dipulihkan atau disalin): tidak ada yang diterapkan. Balasan {} memberi tahu \
                     perangkat untuk menomori ulang setelah #{last_applied} dan mengirim lagi.",
                    reply.display()
                );
            }
            if let sinergi_core::protocol::Bundle::Reply { response, .. } = &answer.bundle {
                println!(
                    "Diterima sampai perubahan #{}, ditolak {}, konflik {}, dikirim balik {} data. Balasan: {}",
                    response.acked_through,
                    response.refused.len(),
                    response.conflicts,
                    response.changes.len(),
                    reply.display()
                );
            }
        }
        Cmd::Bundle {
            cmd:
                BundleCmd::Enroll {
                    user,
                    device_name,
                    server_url,
                    tls_cert,
                    out,
                },
        } => {
            let https = server_url
                .as_deref()
                .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
            let pin = if https {
                Some(fingerprint(&svc, tls_cert.as_deref())?)
            } else {
                None
            };
            let bundle = svc
                .enroll_bundle(&user, &device_name, server_url, pin)
                .map_err(explain)?;
            sinergi_core::sync::write_atomically(&out, &bundle.file)?;
            if let sinergi_core::protocol::Bundle::Enrollment {
                enrollment,
                response,
                ..
            } = &bundle.bundle
            {
                println!(
                    "Perangkat {} untuk {} dibuat, {} data. Berkas pendaftaran: {}",
                    enrollment.device_id,
                    enrollment.user,
                    response.changes.len(),
                    out.display()
                );
            }
        }
        Cmd::Report {
            month,
            posyandu,
            desa,
            puskesmas,
            format,
            out,
        } => {
            let (month, level, format) = sinergi_server::report::parse_options(
                &month,
                posyandu.as_deref(),
                desa.as_deref(),
                puskesmas.as_deref(),
                &format,
            )
            .map_err(explain)?;
            let level = match level {
                Some(l) => l,
                None => sinergi_core::report::Level::Puskesmas(
                    svc.default_puskesmas(None).map_err(explain)?,
                ),
            };
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message("Menyusun laporan");
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let who = sinergi_server::storage::Principal::server();
            let r = svc.report(&who, month, level).map_err(explain)?;
            sinergi_core::report::write(&r, format, &out)?;
            bar.finish_and_clear();
            for w in &r.warnings {
                eprintln!("peringatan [{}]: {}", w.code, w.message);
            }
            let s = &r.skdn.total;
            println!(
                "Laporan {} {} ditulis ke {}",
                r.scope.describe(),
                month.name_id(),
                out.display()
            );
            println!(
                "SKDN: S {} K {} D {} N {} T {} O {} B {} 2T {} BGM {}",
                s.s, s.k, s.d, s.n, s.t, s.o, s.b, s.two_t, s.bgm
            );
        }
        Cmd::Demo => match sinergi_server::demo::seed(&svc, today).map_err(explain)? {
            Some(s) => println!("{}", serde_json::to_string_pretty(&s)?),
            None => println!("Server sudah berisi data; demo tidak ditambahkan."),
        },
        Cmd::Digest => println!("{}", svc.store.digest().map_err(explain)?),
        Cmd::MigrateStore { .. } => unreachable!("handled above"),
        Cmd::Serve {
            bind,
            demo,
            tls_cert,
            tls_key,
            https,
            insecure_http,
            login_free_failures,
            login_free_failures_per_ip,
            login_first_delay_secs,
            login_max_delay_secs,
            login_forget_secs,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(
                    sinergi_server::TlsIdentity::from_files(&cert, &key)
                        .map_err(|e| anyhow::anyhow!("{e} [tls_config]"))?,
                ),
                _ if insecure_http => None,
                // Plain HTTP only where nothing leaves this machine, unless asked for.
                _ if https || !bind.ip().is_loopback() => Some(svc.own_tls().map_err(explain)?),
                _ => None,
            };
            if let Some(id) = &tls {
                // Checked now, so a bad certificate stops the server before it says it listens.
                sinergi_server::tls_config(id).map_err(|e| anyhow::anyhow!("{e} [tls_config]"))?;
                let fp = id
                    .fingerprint()
                    .map_err(|e| anyhow::anyhow!("{e} [tls_config]"))?;
                // On stderr: the first line on stdout is the address (scripts read it).
                eprintln!("Sidik jari sertifikat HTTPS: {fp}");
            } else if !bind.ip().is_loopback() {
                eprintln!(
                    "PERINGATAN: HTTP tanpa enkripsi di {bind}: kata sandi dan token terbaca di \
                     jaringan (--insecure-http)"
                );
            }
            let scheme = if tls.is_some() { "https" } else { "http" };
            let opts = sinergi_server::ServeOptions {
                bind,
                tls,
                login: sinergi_server::auth::LoginLimits {
                    free_failures: login_free_failures,
                    free_failures_per_ip: login_free_failures_per_ip,
                    first_delay: std::time::Duration::from_secs(login_first_delay_secs),
                    max_delay: std::time::Duration::from_secs(
                        login_max_delay_secs.max(login_first_delay_secs),
                    ),
                    forget_after: std::time::Duration::from_secs(login_forget_secs),
                },
            };
            if demo {
                if let Some(s) = sinergi_server::demo::seed(&svc, today).map_err(explain)? {
                    println!(
                        "Puskesmas demo dibuat: {} anak, {} penimbangan. Pengguna (kata sandi '{}'):",
                        s.children,
                        s.measurements,
                        sinergi_server::demo::DEMO_PASSWORD
                    );
                    for (u, r) in &s.users {
                        println!("  {u:<12} {r}");
                    }
                }
            }
            let rt = tokio::runtime::Runtime::new()?;
            // The service (and its PostgreSQL connections, whose blocking client must not be
            // dropped inside the async runtime) is dropped here, after the runtime.
            let svc = Arc::new(svc);
            let served = rt.block_on(sinergi_server::serve_with(svc.clone(), opts, |addr| {
                println!("sinergi-server mendengarkan di {scheme}://{addr}");
            }));
            drop(rt);
            drop(svc);
            served?;
        }
    }
    Ok(())
}
