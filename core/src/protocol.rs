//! What travels between a device and the server, over HTTP or in a bundle file: one request
//! (pushes, cursor, device clock) and one response (acknowledgement, a page of changes, server
//! clock). Bodies are gzip-compressed JSON.

use crate::error::Problem;
use crate::model::{Fields, Kind};
use serde::{Deserialize, Serialize};
use std::io::Read;
use uuid::Uuid;

pub const PROTOCOL_VERSION: u32 = 1;
/// Largest decompressed body either side accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Most JSON values one body may hold (counted as `,` `:` `[` `{` outside strings). A parsed
/// value takes 32 bytes or more however short its text, so a 600 KB gzip body of `[0,0,0,...]`
/// (60 MB of JSON) took a gigabyte to decode. Real records count one per 10 bytes or more (a
/// full 64 MB body of them stays under 6.7 million), so a hostile body costs no more memory
/// than the largest honest one.
pub const MAX_BODY_VALUES: usize = 8_000_000;
/// Most edits in one request; a device with more sends several.
pub const MAX_EDITS_PER_REQUEST: usize = 20_000;
/// Default and largest page of changes.
pub const DEFAULT_PAGE: u32 = 5_000;
pub const MAX_PAGE: u32 = 50_000;

/// One edit made on a device: some fields of one record, written at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// Numbers a device's edits 1, 2, 3...; the server applies each number once.
    pub device_seq: u64,
    pub kind: Kind,
    pub id: Uuid,
    /// The device's wall clock when the edit was made (ms since the epoch). The server corrects
    /// it by the device's measured offset and clamps it (DESIGN.md guarantee 6): device time is
    /// data, never the merge authority.
    pub made_ms: i64,
    /// The device's cursor when it made the edit: which server changes it had seen.
    pub base_seq: i64,
    pub fields: Fields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub protocol: u32,
    pub device_id: Uuid,
    pub device_clock_ms: i64,
    pub cursor: i64,
    #[serde(default)]
    pub edits: Vec<Edit>,
    #[serde(default = "default_page")]
    pub page_limit: u32,
    /// Set when the request travels as a file: transit time is unknown, so no clock offset is
    /// measured, and the reply carries every page.
    #[serde(default)]
    pub bundle: bool,
    /// Ask for the digest of the device's scope with the last page, to check the replica
    /// (divergence detection). Optional: older devices leave it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub want_digest: bool,
    /// The device's digest of every bucket (`sync::digest`), sent after a mismatch: the server
    /// answers with every record of the buckets that differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<Vec<String>>,
}

fn default_page() -> u32 {
    DEFAULT_PAGE
}

/// The server's current version of a record in the device's scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: Kind,
    pub id: Uuid,
    pub seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posyandu_id: Option<Uuid>,
    pub fields: Fields,
}

/// A record that left the device's scope (moved to another posyandu).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exit {
    pub kind: Kind,
    pub id: Uuid,
    pub seq: i64,
}

/// An edit the server would not apply, with the reason, for the device to keep and show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub device_seq: u64,
    pub kind: Kind,
    pub id: Uuid,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Every edit numbered up to this has been handled (applied or refused).
    pub acked_through: u64,
    pub refused: Vec<Refusal>,
    /// Conflict records this push created (the losing values kept for the bidan).
    pub conflicts: u32,
    pub changes: Vec<Change>,
    pub exits: Vec<Exit>,
    /// Where the next pull starts.
    pub cursor: i64,
    /// More changes wait after `cursor`.
    pub more: bool,
    pub server_clock_ms: i64,
    /// Server clock minus device clock, when measured.
    pub clock_offset_ms: i64,
    /// The device clock is off by more than the tolerated skew: the app warns.
    pub clock_warning: bool,
    /// Root digest of the device's scope after this response (asked for, last page only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The records of the buckets whose digest differed (answer to `SyncRequest::repair`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<Repair>,
}

/// What a device replaces to repair a diverged replica: every record the server holds in its
/// scope within `buckets`; the device's other rows in those buckets are not in its scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repair {
    pub buckets: Vec<u16>,
    pub records: Vec<Change>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub user: String,
    pub password: String,
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Coordinator,
    Bidan,
    Kader,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Bidan => "bidan",
            Role::Kader => "kader",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "coordinator" => Some(Role::Coordinator),
            "bidan" => Some(Role::Bidan),
            "kader" => Some(Role::Kader),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: Uuid,
    pub token: String,
    pub role: Role,
    pub user: String,
    pub puskesmas_id: Uuid,
    pub posyandu_id: Option<Uuid>,
    pub server_clock_ms: i64,
}

/// A file bundle: what the device would have sent, or what the server answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Bundle {
    Request {
        token: String,
        request: SyncRequest,
    },
    Reply {
        device_id: Uuid,
        response: SyncResponse,
    },
    /// A new device made at the puskesmas for a user, with everything in its scope: opening it
    /// on a device that never had a link enrolls it (later exchanges go by file or by HTTP).
    Enrollment {
        /// Where the device may sync over HTTP later, when the puskesmas knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_url: Option<String>,
        enrollment: EnrollResponse,
        response: SyncResponse,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: Problem,
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Gunzip with a ceiling, so a small bomb cannot inflate into gigabytes.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(bytes).take(limit as u64 + 1);
    dec.read_to_end(&mut out).map_err(|e| {
        Problem::new(
            "malformed_body",
            None,
            format!("Isi permintaan rusak (gzip): {e}"),
            format!("Malformed body (gzip): {e}"),
        )
    })?;
    if out.len() > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

pub fn too_large(limit: usize) -> Problem {
    Problem::new(
        "body_too_large",
        None,
        format!(
            "Isi permintaan lebih besar dari {} MB",
            limit / (1024 * 1024)
        ),
        format!("Body larger than {} MB", limit / (1024 * 1024)),
    )
}

/// Encode a message as gzip-compressed JSON.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    gzip(&serde_json::to_vec(msg).expect("protocol types always serialize"))
}

/// Decode JSON (gzip-compressed when `gzipped`), telling malformed JSON from the wrong shape.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], gzipped: bool) -> Result<T, Problem> {
    let owned;
    let json = if gzipped {
        owned = gunzip(bytes, MAX_BODY_BYTES)?;
        &owned[..]
    } else {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(too_large(MAX_BODY_BYTES));
        }
        bytes
    };
    if count_values(json) > MAX_BODY_VALUES {
        return Err(Problem::new(
            "body_too_large",
            None,
            format!("Isi permintaan berisi lebih dari {MAX_BODY_VALUES} nilai"),
            format!("Body holds more than {MAX_BODY_VALUES} values"),
        ));
    }
    serde_json::from_slice(json).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Problem::new(
                "invalid_request",
                None,
                format!("Bentuk permintaan tidak sah: {e}"),
                format!("Request has the wrong shape: {e}"),
            ),
            _ => Problem::new(
                "malformed_body",
                None,
                format!("Isi permintaan bukan JSON yang utuh: {e}"),
                format!("Body is not complete JSON: {e}"),
            ),
        }
    })
}

/// An upper bound on the values a JSON text holds: one, plus one per `,` `:` `[` `{` outside
/// strings. One pass, no allocation, before the parser allocates anything.
fn count_values(json: &[u8]) -> usize {
    let (mut n, mut in_str, mut escaped) = (1usize, false, false);
    for &c in json {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b',' | b':' | b'[' | b'{' => n += 1,
                _ => {}
            }
        }
    }
    n
}
