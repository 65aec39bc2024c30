//! The sync client: the loop that pushes the outbox and pulls pages until the device is up to
//! date, over any `Transport` (HTTP, or in-process for simulations), and the file bundles that
//! carry the same exchange where no link ever appears.

pub mod digest;
mod http;

pub use http::{normalize_fingerprint, HttpTransport, Trust};

use crate::error::{CoreError, Result};
use crate::protocol::{
    Bundle, EnrollRequest, EnrollResponse, SyncRequest, SyncResponse, DEFAULT_PAGE,
    MAX_EDITS_PER_REQUEST,
};
use crate::store::{Enrollment, LocalStore};
use serde::Serialize;
use std::path::Path;

/// One exchange with a server. Implemented by the HTTP client and by in-process test transports.
pub trait Transport {
    fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse>;
    fn exchange(&self, token: &str, req: &SyncRequest) -> Result<SyncResponse>;
    /// A token for a device enrolled by file, asked for with a `Bundle::TokenRequest` signed
    /// by its key (`crate::seal`).
    fn token(&self, sealed: &[u8]) -> Result<String>;
    /// An extra certificate (PEM) this transport trusts, which enrolling remembers for later syncs.
    fn trusted_ca_pem(&self) -> Option<String> {
        None
    }
    /// The server certificate (SHA-256, hex) this transport pins, remembered the same way.
    fn tls_pin(&self) -> Option<String> {
        None
    }
    /// Plain HTTP to a host that is not this machine was allowed (`--insecure-http`).
    fn insecure_http(&self) -> bool {
        false
    }
}

/// What a sync did, as the CLI and the app report it.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SyncReport {
    pub pushed: u64,
    pub acknowledged: u64,
    pub pulled: u64,
    /// Own writes the server confirmed by sequence number instead of sending them back.
    pub confirmed: u64,
    pub removed: u64,
    pub conflicts: u64,
    pub refused: u64,
    pub requests: u64,
    pub clock_offset_ms: i64,
    pub clock_warning: bool,
    pub cursor: i64,
    pub complete: bool,
    /// The server's digest of this device's scope was compared with the replica.
    pub checked: bool,
    /// A comparison found the replica different from the server's copy (divergence).
    pub diverged: bool,
    /// The last comparison of this run found them equal (after any repair).
    pub in_sync: bool,
    /// Buckets and records replaced to repair a divergence (only what differed travels).
    pub repaired_buckets: u64,
    pub repaired_records: u64,
    /// Pending edits numbered again because the server had seen their numbers (`seq_reused`).
    pub renumbered: u64,
}

/// Options of one sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub page_limit: u32,
    /// Stop after this many exchanges (a partial pull resumes next time).
    pub max_requests: Option<u64>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            page_limit: DEFAULT_PAGE,
            max_requests: None,
        }
    }
}

/// Enroll this device: log in once, keep the token, then pull everything in scope.
pub fn enroll(
    store: &mut LocalStore,
    transport: &dyn Transport,
    server_url: &str,
    req: &EnrollRequest,
    progress: &mut dyn FnMut(&SyncReport),
) -> Result<(Enrollment, SyncReport)> {
    if let Some(e) = store.enrollment()? {
        return Err(CoreError::invalid(crate::Problem::new(
            "already_enrolled",
            None,
            format!(
                "Perangkat sudah terdaftar di {} sebagai {}",
                e.server_url, e.user
            ),
            format!("Device already enrolled at {} as {}", e.server_url, e.user),
        )));
    }
    let mut req = req.clone();
    req.device_key =
        Some(crate::seal::public_key(&store.device_key()?).map_err(CoreError::invalid)?);
    let r = transport.enroll(&req)?;
    let e = Enrollment {
        server_url: server_url.trim_end_matches('/').to_string(),
        device_id: r.device_id,
        token: r.token,
        role: r.role,
        user: r.user,
        puskesmas_id: r.puskesmas_id,
        posyandu_id: r.posyandu_id,
    };
    // The certificate first: a crash in between leaves no enrollment, and enrolling again
    // replaces it.
    store.set_server_ca(transport.trusted_ca_pem().as_deref())?;
    store.set_tls_pin(transport.tls_pin().as_deref())?;
    store.set_insecure_http(transport.insecure_http())?;
    if let Some(k) = &r.server_key {
        store.set_server_key(k)?;
    }
    store.set_enrollment(&e)?;
    let report = sync(store, transport, &SyncOptions::default(), progress)?;
    Ok((e, report))
}

/// Push every pending edit and pull every change, one exchange at a time. Each response is
/// applied in one transaction, so stopping anywhere (lost link, killed process) loses nothing.
pub fn sync(
    store: &mut LocalStore,
    transport: &dyn Transport,
    opts: &SyncOptions,
    progress: &mut dyn FnMut(&SyncReport),
) -> Result<SyncReport> {
    let token = token_for(store, transport)?;
    let mut report = SyncReport::default();
    let mut repair_asked = false;
    let mut renumbered = false;
    loop {
        let req = store.build_request(opts.page_limit, MAX_EDITS_PER_REQUEST, false)?;
        repair_asked |= req.repair.is_some();
        let resp = match transport.exchange(&token, &req) {
            // This store's numbers were used before (restored, copied, rolled back): its
            // pending edits get numbers after the server's and go again, once per run.
            Err(CoreError::SeqReused(last, _)) if !renumbered => {
                report.renumbered = store.renumber_outbox(last)?;
                renumbered = true;
                continue;
            }
            Err(CoreError::SeqReused(_, p)) => return Err(CoreError::Remote(p)),
            other => other?,
        };
        let applied = store.apply_response(&resp)?;
        note_check(&mut report, &applied);
        report.requests += 1;
        report.pushed += req.edits.len() as u64;
        report.acknowledged += applied.acknowledged;
        report.refused += applied.refused;
        report.pulled += applied.pulled;
        report.confirmed += applied.confirmed;
        report.removed += applied.removed;
        report.conflicts += resp.conflicts as u64;
        report.clock_offset_ms = resp.clock_offset_ms;
        report.clock_warning = resp.clock_warning;
        report.cursor = resp.cursor;
        progress(&report);
        let pushed_all = req.edits.len() < MAX_EDITS_PER_REQUEST;
        // A divergence found at the end is repaired at once, once per run.
        let repair_now = applied.diverged && !repair_asked;
        if !resp.more && pushed_all && !repair_now {
            report.complete = true;
            break;
        }
        if opts.max_requests.is_some_and(|m| report.requests >= m) {
            break;
        }
    }
    Ok(report)
}

fn note_check(report: &mut SyncReport, applied: &crate::store::Applied) {
    report.repaired_buckets += applied.repaired_buckets;
    report.repaired_records += applied.repaired_records;
    if applied.checked {
        report.checked = true;
        report.diverged |= applied.diverged;
        report.in_sync = !applied.diverged;
    }
}

/// The device's token; a device enrolled by file has none until it first reaches the server,
/// and then asks for one with its key.
fn token_for(store: &mut LocalStore, transport: &dyn Transport) -> Result<String> {
    let mut e = store.require_enrollment()?;
    if !e.token.is_empty() {
        return Ok(e.token);
    }
    let ask = Bundle::TokenRequest {
        device_id: e.device_id,
        made_ms: store.clock().now_ms(),
    };
    let sealed = crate::seal::seal(&store.device_key()?, &ask).map_err(CoreError::invalid)?;
    e.token = transport.token(&sealed)?;
    store.set_enrollment(&e)?;
    Ok(e.token)
}

/// Write the pending edits (and the cursor) to a file for the server to import, signed with
/// this device's key: the file holds no secret.
pub fn export_bundle(store: &LocalStore, out: &Path) -> Result<u64> {
    store.require_enrollment()?;
    let request = store.build_request(crate::protocol::MAX_PAGE, MAX_EDITS_PER_REQUEST, true)?;
    let n = request.edits.len() as u64;
    let id = crate::seal::new_secret()[..32].to_string();
    let bundle = Bundle::Request {
        request,
        id: Some(id.clone()),
    };
    let sealed = crate::seal::seal(&store.device_key()?, &bundle).map_err(CoreError::invalid)?;
    write_atomically(out, &sealed)?;
    store.note_exported(&id)?;
    Ok(n)
}

/// Open a file signed by this device's server (a reply), refusing one signed by anyone else.
fn open_from_server(store: &LocalStore, bytes: &[u8]) -> Result<Bundle> {
    let opened = crate::seal::open(bytes).map_err(CoreError::invalid)?;
    match store.server_key()? {
        Some(k) if k == opened.key => Ok(opened.bundle),
        Some(_) => Err(CoreError::invalid(crate::Problem::new(
            "bundle_wrong_signer",
            None,
            "Berkas ini tidak ditandatangani oleh server puskesmas perangkat ini; berkas ditolak, \
             tidak ada yang berubah"
                .into(),
            "This file was not signed by this device's puskesmas server; it is refused and \
             nothing changed"
                .into(),
        ))),
        None => Err(CoreError::invalid(crate::Problem::new(
            "server_key_unknown",
            None,
            "Perangkat ini belum mengenal kunci server (didaftarkan dengan versi lama); \
             daftarkan ulang perangkat untuk memakai berkas balasan"
                .into(),
            "This device does not know its server's key (enrolled by an old version); enroll \
             it again to use reply files"
                .into(),
        ))),
    }
}

/// Apply a reply bundle written by the server.
pub fn import_reply(store: &mut LocalStore, file: &Path) -> Result<SyncReport> {
    let e = store.require_enrollment()?;
    let bytes = std::fs::read(file)?;
    let bundle = open_from_server(store, &bytes)?;
    if let Bundle::Renumber {
        device_id,
        last_applied,
    } = bundle
    {
        check_device(&e, device_id)?;
        // The pending edits get numbers after the server's; the next file carries them.
        return Ok(SyncReport {
            renumbered: store.renumber_outbox(last_applied)?,
            ..SyncReport::default()
        });
    }
    let Bundle::Reply {
        device_id,
        mut response,
        for_request,
    } = bundle
    else {
        return Err(CoreError::invalid(crate::Problem::new(
            "wrong_bundle_type",
            None,
            "Berkas ini bukan balasan server".into(),
            "This file is not a server reply".into(),
        )));
    };
    check_device(&e, device_id)?;
    if let Some(id) = for_request {
        if !store.exported(&id)? {
            // Not a file this store wrote (it was restored from an older copy, or the reply is
            // another copy's): its records are news, its acknowledgements are not ours, and
            // the cursor stays, so what it confirmed instead of sending comes with the next.
            response.acked_through = 0;
            response.refused.clear();
            response.own.clear();
            response.cursor = response.cursor.min(store.sync_state()?.cursor);
            response.digest = None;
            response.more = true;
        }
    }
    let applied = store.apply_response(&response)?;
    let mut report = SyncReport {
        pushed: 0,
        acknowledged: applied.acknowledged,
        pulled: applied.pulled,
        confirmed: applied.confirmed,
        removed: applied.removed,
        conflicts: response.conflicts as u64,
        refused: applied.refused,
        requests: 0,
        clock_offset_ms: response.clock_offset_ms,
        clock_warning: response.clock_warning,
        cursor: response.cursor,
        complete: !response.more,
        ..SyncReport::default()
    };
    note_check(&mut report, &applied);
    Ok(report)
}

/// What an enrollment file says, shown to the person before the device opens it: which server
/// it points to, for whom, and the server key it will trust from then on.
#[derive(Debug, Clone, Serialize)]
pub struct EnrollmentPreview {
    pub server_url: Option<String>,
    pub user: String,
    pub role: crate::protocol::Role,
    pub device_id: uuid::Uuid,
    pub puskesmas_id: uuid::Uuid,
    pub posyandu_id: Option<uuid::Uuid>,
    /// The server key (hex) that signed the file, which the device will pin.
    pub server_key: String,
    /// SHA-256 (hex) of the HTTPS certificate the device will trust for the server.
    pub tls_fingerprint: Option<String>,
    /// Records the file brings.
    pub records: u64,
}

struct EnrollmentFile {
    preview: EnrollmentPreview,
    enrollment: EnrollResponse,
    response: SyncResponse,
}

fn read_enrollment_file(file: &Path) -> Result<EnrollmentFile> {
    let bytes = std::fs::read(file).map_err(|e| {
        CoreError::invalid(crate::Problem::new(
            "file_unreadable",
            Some("file"),
            format!("Berkas {} tidak bisa dibaca: {e}", file.display()),
            format!("Cannot read {}: {e}", file.display()),
        ))
    })?;
    // Nothing is pinned yet: the file is checked against the key that signed it (so it was
    // not changed since), and that key is the one shown and then trusted.
    let opened = crate::seal::open(&bytes).map_err(CoreError::invalid)?;
    let Bundle::Enrollment {
        server_url,
        tls_fingerprint,
        enrollment,
        response,
    } = opened.bundle
    else {
        return Err(CoreError::invalid(crate::Problem::new(
            "wrong_bundle_type",
            None,
            "Berkas ini bukan berkas pendaftaran perangkat".into(),
            "This file is not a device enrollment file".into(),
        )));
    };
    if enrollment
        .server_key
        .as_deref()
        .is_some_and(|k| k != opened.key)
    {
        return Err(CoreError::invalid(crate::seal::altered()));
    }
    Ok(EnrollmentFile {
        preview: EnrollmentPreview {
            server_url: server_url.filter(|u| !u.trim().is_empty()),
            user: enrollment.user.clone(),
            role: enrollment.role.clone(),
            device_id: enrollment.device_id,
            puskesmas_id: enrollment.puskesmas_id,
            posyandu_id: enrollment.posyandu_id,
            server_key: opened.key,
            tls_fingerprint,
            records: response.changes.len() as u64,
        },
        enrollment,
        response,
    })
}

/// Read an enrollment file without opening it: what the device shows before it asks "open?".
pub fn preview_bundle(file: &Path) -> Result<EnrollmentPreview> {
    Ok(read_enrollment_file(file)?.preview)
}

fn check_device(e: &Enrollment, device_id: uuid::Uuid) -> Result<()> {
    if device_id != e.device_id {
        return Err(CoreError::invalid(crate::Problem::new(
            "wrong_device",
            None,
            "Balasan ini untuk perangkat lain".into(),
            "This reply is for another device".into(),
        )));
    }
    Ok(())
}

/// First run without a link: open an enrollment file the puskesmas made for this device
/// (`sinergi-server bundle enroll`). The device becomes enrolled with everything in its scope,
/// trusts the server key that signed the file, and makes its own key; it syncs later by bundle
/// files, or over HTTP when the file names a server. The file holds no token: an enrollment
/// file opened on a second phone makes nothing the server will take from it (its first signed
/// request binds the device's key, and the other phone's are refused). Also returns what the
/// file said (`preview_bundle`), read once.
pub fn open_bundle(
    store: &mut LocalStore,
    file: &Path,
) -> Result<(Enrollment, SyncReport, EnrollmentPreview)> {
    if let Some(e) = store.enrollment()? {
        return Err(CoreError::invalid(crate::Problem::new(
            "already_enrolled",
            None,
            format!(
                "Perangkat sudah terdaftar sebagai {} ({})",
                e.user, e.device_id
            ),
            format!("Device already enrolled as {} ({})", e.user, e.device_id),
        )));
    }
    let EnrollmentFile {
        preview,
        enrollment: r,
        response,
    } = read_enrollment_file(file)?;
    let e = Enrollment {
        server_url: preview
            .server_url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string(),
        device_id: r.device_id,
        token: String::new(),
        role: r.role,
        user: r.user,
        puskesmas_id: r.puskesmas_id,
        posyandu_id: r.posyandu_id,
    };
    store.device_key()?;
    store.set_server_key(&preview.server_key)?;
    store.set_tls_pin(preview.tls_fingerprint.as_deref())?;
    store.set_enrollment(&e)?;
    match store.apply_response(&response) {
        Ok(applied) => Ok((
            e,
            SyncReport {
                pulled: applied.pulled,
                cursor: response.cursor,
                complete: !response.more,
                clock_offset_ms: response.clock_offset_ms,
                clock_warning: response.clock_warning,
                ..SyncReport::default()
            },
            preview,
        )),
        Err(err) => {
            // Nothing half-done: the device stays unenrolled and can try again.
            store.clear_enrollment()?;
            Err(err)
        }
    }
}

/// Write to a temporary file then rename, so a crash never leaves half a bundle.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
