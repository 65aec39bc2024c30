//! Enrollment, sync, status and bundle commands.

use crate::output;
use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sinergi_core::protocol::EnrollRequest;
use sinergi_core::store::LocalStore;
use sinergi_core::sync::{self as core_sync, HttpTransport, SyncOptions, SyncReport};
use std::io::Read;
use std::path::PathBuf;

#[derive(Args)]
pub struct EnrollArgs {
    #[arg(long)]
    server: String,
    #[arg(long)]
    user: String,
    /// Read the password from standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
    #[arg(long)]
    device_name: String,
    /// An extra certificate (PEM) to trust for an https:// server: the puskesmas's own CA or
    /// its server's self-signed certificate. Remembered for every later sync.
    #[arg(long)]
    ca_cert: Option<std::path::PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (the server's own:
    /// `sinergi-server tls fingerprint` at the puskesmas; a refused enrollment shows the one the
    /// server presents). Remembered for every later sync.
    #[arg(long)]
    tls_fingerprint: Option<String>,
    /// Allow a plain http:// address on another machine (passwords and data travel in clear).
    #[arg(long)]
    insecure_http: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SyncArgs {
    #[arg(long)]
    json: bool,
    /// Records per page.
    #[arg(long, default_value_t = sinergi_core::protocol::DEFAULT_PAGE)]
    page_size: u32,
    /// Stop after this many requests (the rest follows next time).
    #[arg(long)]
    max_requests: Option<u64>,
}

#[derive(Subcommand)]
pub enum BundleCmd {
    /// Write pending edits to a file for the puskesmas.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Apply the reply file the puskesmas sent back.
    Import { file: PathBuf },
    /// Show what an enrollment file says (its server, user and key) without opening it.
    Show { file: PathBuf },
    /// First run without a link: open the enrollment file the puskesmas made for this device.
    Open { file: PathBuf },
}

fn print_preview(p: &core_sync::EnrollmentPreview) {
    println!(
        "Server: {}",
        p.server_url
            .as_deref()
            .unwrap_or("(tidak ada: hanya berkas bundel)")
    );
    println!("Pengguna: {} ({})", p.user, p.role.as_str());
    println!("Perangkat: {}", p.device_id);
    println!("Kunci server: {}", p.server_key);
    if let Some(fp) = &p.tls_fingerprint {
        println!("Sidik jari sertifikat HTTPS: {fp}");
    }
    println!("Data: {}", p.records);
}

/// A progress bar on stderr, shown only for syncs that take more than one exchange.
fn progress_bar(quiet: bool) -> (ProgressBar, impl FnMut(&SyncReport)) {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
    let b = bar.clone();
    (bar, move |r: &SyncReport| {
        b.set_message(format!(
            "{} permintaan, {} data diterima, {} dikirim",
            r.requests, r.pulled, r.pushed
        ));
        b.tick();
    })
}

fn print_report(r: &SyncReport) {
    println!("Dikirim:        {}", r.pushed);
    println!("Diterima server:{}", r.acknowledged);
    println!("Diambil:        {}", r.pulled);
    println!("Konflik baru:   {}", r.conflicts);
    println!("Ditolak:        {}", r.refused);
    println!("Selisih jam:    {} detik", r.clock_offset_ms / 1000);
    if r.clock_warning {
        println!("PERINGATAN: jam perangkat ini salah; setel tanggal dan jam perangkat.");
    }
    if r.diverged {
        println!(
            "Data perangkat berbeda dari server: {} bagian ({} data) diambil ulang.",
            r.repaired_buckets, r.repaired_records
        );
    }
    if r.renumbered > 0 {
        println!(
            "Data perangkat ini dipulihkan atau disalin: {} perubahan diberi nomor baru dan dikirim.",
            r.renumbered
        );
    }
    if !r.complete {
        println!("Belum selesai: jalankan sync lagi untuk melanjutkan.");
    }
}

pub fn enroll(store: &mut LocalStore, a: EnrollArgs) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("cannot read the password from stdin")?;
    let req = EnrollRequest {
        user: a.user,
        password: password.trim_end_matches(['\n', '\r']).to_string(),
        device_name: a.device_name,
        device_key: None,
    };
    let ca = match &a.ca_cert {
        None => None,
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            sinergi_core::CoreError::invalid(sinergi_core::Problem::new(
                "invalid_ca_cert",
                Some("ca_cert"),
                format!(
                    "Berkas sertifikat {} tidak dapat dibaca: {e}",
                    path.display()
                ),
                format!("Cannot read the certificate file {}: {e}", path.display()),
            ))
        })?),
    };
    let transport = HttpTransport::with_trust(
        &a.server,
        core_sync::Trust {
            ca_pem: ca,
            pin: a.tls_fingerprint,
            insecure_http: a.insecure_http,
        },
    )?;
    let (bar, mut tick) = progress_bar(a.json);
    let (e, report) = core_sync::enroll(store, &transport, &a.server, &req, &mut tick)?;
    bar.finish_and_clear();
    if a.json {
        return output::json(&json!({
            "device_id": e.device_id, "role": e.role, "user": e.user,
            "puskesmas_id": e.puskesmas_id, "posyandu_id": e.posyandu_id, "sync": report,
        }));
    }
    println!(
        "Perangkat terdaftar: {} ({}), id {}",
        e.user,
        e.role.as_str(),
        e.device_id
    );
    if let Some(p) = e.posyandu_id {
        println!("Posyandu: {p}");
    }
    println!(
        "Data diambil: {} dalam {} permintaan.",
        report.pulled, report.requests
    );
    Ok(())
}

pub fn sync(store: &mut LocalStore, a: SyncArgs) -> anyhow::Result<()> {
    let transport = HttpTransport::for_store(store)?;
    let opts = SyncOptions {
        page_limit: a.page_size,
        max_requests: a.max_requests,
    };
    let (bar, mut tick) = progress_bar(a.json);
    let report = core_sync::sync(store, &transport, &opts, &mut tick)?;
    bar.finish_and_clear();
    if a.json {
        output::json(&report)
    } else {
        print_report(&report);
        Ok(())
    }
}

pub fn status(store: &LocalStore, json: bool) -> anyhow::Result<()> {
    let s = store.sync_state()?;
    let refused = store.refused()?;
    let enrollment = store.enrollment()?;
    if json {
        return output::json(&json!({
            "enrolled": enrollment.is_some(),
            "server": enrollment.as_ref().map(|e| &e.server_url),
            "device_id": enrollment.as_ref().map(|e| e.device_id),
            "insecure_http": store.insecure_http()?,
            "tls_fingerprint": store.tls_pin()?,
            "pending_edits": s.pending_edits,
            "cursor": s.cursor,
            "last_sync_ms": s.last_sync_ms,
            "clock_offset_ms": s.clock_offset_ms,
            "clock_warning": s.clock_warning,
            "diverged": s.diverged,
            "refused_edits": refused,
        }));
    }
    match &enrollment {
        Some(e) => println!(
            "Terdaftar di {} sebagai {} ({})",
            e.server_url,
            e.user,
            e.role.as_str()
        ),
        None => println!("Belum terdaftar ke server."),
    }
    if store.insecure_http()? {
        println!("PERINGATAN: server lewat http:// tanpa enkripsi (--insecure-http).");
    }
    println!("Perubahan menunggu: {}", s.pending_edits);
    println!("Kursor:             {}", s.cursor);
    match s
        .last_sync_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        Some(t) => println!("Sinkron terakhir:   {} UTC", t.format("%Y-%m-%d %H:%M")),
        None => println!("Sinkron terakhir:   belum pernah"),
    }
    if s.clock_warning {
        println!(
            "PERINGATAN: jam perangkat selisih {} menit dari server.",
            s.clock_offset_ms / 60_000
        );
    }
    if s.diverged {
        println!("PERINGATAN: data di perangkat ini berbeda dari server; sync berikutnya memperbaikinya.");
    }
    if !refused.is_empty() {
        println!("Perubahan ditolak server ({}):", refused.len());
        for r in refused {
            println!(
                "  #{} {} {}: [{}] {}",
                r.device_seq, r.kind, r.id, r.code, r.message
            );
        }
    }
    Ok(())
}

pub fn bundle(store: &mut LocalStore, cmd: BundleCmd) -> anyhow::Result<()> {
    match cmd {
        BundleCmd::Export { out } => {
            let n = core_sync::export_bundle(store, &out)?;
            println!("{n} perubahan ditulis ke {}", out.display());
        }
        BundleCmd::Import { file } => {
            let r = core_sync::import_reply(store, &file)?;
            print_report(&r);
        }
        BundleCmd::Show { file } => print_preview(&core_sync::preview_bundle(&file)?),
        BundleCmd::Open { file } => {
            let (e, r, preview) = core_sync::open_bundle(store, &file)?;
            print_preview(&preview);
            println!(
                "Perangkat dibuka sebagai {} ({:?}) dari {}",
                e.user,
                e.role,
                file.display()
            );
            print_report(&r);
        }
    }
    Ok(())
}
