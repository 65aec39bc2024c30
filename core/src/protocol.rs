//! What travels between a device and the server, over HTTP or in a bundle file: one request
//! (pushes, cursor, device clock) and one response (acknowledgement, a page of changes, server
//! clock). Bodies are compressed JSON: a device's requests brotli (the densest at a few kB, where
//! a 2G link spends a second per 5 kB), answers and bundle files gzip.

use crate::error::Problem;
use crate::model::{Fields, Kind};
use serde::{Deserialize, Serialize};
use std::io::Read;
use uuid::Uuid;

/// 2: the edits travel as a table (`edit_table`) and the answer confirms the device's own writes
/// instead of sending them back (`SyncResponse::own`). Requests of version 1 are still answered
/// (their edits as a list of objects, every change in the page).
pub const PROTOCOL_VERSION: u32 = 2;
/// The oldest request version the server still answers.
pub const MIN_PROTOCOL_VERSION: u32 = 1;
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
    #[serde(default, with = "edit_table")]
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

/// The edits of a request on the wire: a table rather than one object per edit.
///
/// `{"shapes": [[kind, field, field...], ...], "rows": [[shape, device_seq, id, made_ms,
/// base_seq, value, value...], ...]}`: each shape (a kind and its edit's field names, in order)
/// is written once, each row names its shape by index and carries the values in that order.
/// `device_seq`, `made_ms` and `base_seq` are differences from the previous row's (the first
/// row's from 0), in wrapping arithmetic, so every value round-trips exactly. A posyandu month
/// repeats a few shapes, consecutive numbers, nearby times and one cursor, so a row is little
/// more than its id and its values, and compresses to less than half the object form.
///
/// Reading also accepts the object form of protocol 1 (a list of `Edit` objects).
pub mod edit_table {
    use super::Edit;
    use crate::model::{Fields, Kind};
    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::Serializer;
    use serde::{Deserialize, Serialize};
    use serde_json::Value;
    use std::collections::HashMap;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        shapes: Vec<Vec<String>>,
        rows: Vec<Vec<Value>>,
    }

    pub fn serialize<S: Serializer>(edits: &[Edit], s: S) -> Result<S::Ok, S::Error> {
        let mut shapes: Vec<Vec<String>> = Vec::new();
        let mut index: HashMap<Vec<String>, usize> = HashMap::new();
        let mut rows = Vec::with_capacity(edits.len());
        let (mut seq, mut made, mut base) = (0u64, 0i64, 0i64);
        for e in edits {
            let mut shape = Vec::with_capacity(e.fields.len() + 1);
            shape.push(e.kind.as_str().to_string());
            shape.extend(e.fields.keys().cloned());
            let n = shapes.len();
            let i = *index.entry(shape).or_insert_with_key(|k| {
                shapes.push(k.clone());
                n
            });
            let mut row = Vec::with_capacity(e.fields.len() + 5);
            row.push(Value::from(i));
            row.push(Value::from(e.device_seq.wrapping_sub(seq)));
            row.push(Value::from(e.id.to_string()));
            row.push(Value::from(e.made_ms.wrapping_sub(made)));
            row.push(Value::from(e.base_seq.wrapping_sub(base)));
            row.extend(e.fields.values().cloned());
            (seq, made, base) = (e.device_seq, e.made_ms, e.base_seq);
            rows.push(row);
        }
        Table { shapes, rows }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Edit>, D::Error> {
        d.deserialize_any(EditsVisitor)
    }

    struct EditsVisitor;

    impl<'de> Visitor<'de> for EditsVisitor {
        type Value = Vec<Edit>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an edit table (or a list of edits)")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Edit>, A::Error> {
            let mut out = Vec::new();
            while let Some(e) = seq.next_element::<Edit>()? {
                out.push(e);
            }
            Ok(out)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<Edit>, A::Error> {
            let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
            from_table(t).map_err(de::Error::custom)
        }
    }

    fn from_table(t: Table) -> Result<Vec<Edit>, String> {
        let mut shapes = Vec::with_capacity(t.shapes.len());
        for (i, shape) in t.shapes.into_iter().enumerate() {
            let mut names = shape.into_iter();
            let kind: Kind = names
                .next()
                .ok_or(format!("shape {i} has no kind"))?
                .parse()
                .map_err(|e| format!("shape {i}: {e}"))?;
            let names: Vec<String> = names.collect();
            let mut sorted: Vec<&String> = names.iter().collect();
            sorted.sort();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("shape {i} names a field twice"));
            }
            shapes.push((kind, names));
        }
        let mut edits = Vec::with_capacity(t.rows.len());
        let (mut seq, mut made, mut base) = (0u64, 0i64, 0i64);
        for (r, row) in t.rows.into_iter().enumerate() {
            let bad = |what: &str| format!("edit row {r}: {what}");
            let mut cells = row.into_iter();
            let mut next = || cells.next().ok_or_else(|| bad("too short"));
            let (kind, names) = next()?
                .as_u64()
                .and_then(|i| shapes.get(usize::try_from(i).ok()?))
                .ok_or_else(|| bad("no such shape"))?;
            seq = seq.wrapping_add(next()?.as_u64().ok_or_else(|| bad("bad device_seq"))?);
            let id = next()?
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| bad("bad id"))?;
            made = made.wrapping_add(next()?.as_i64().ok_or_else(|| bad("bad made_ms"))?);
            base = base.wrapping_add(next()?.as_i64().ok_or_else(|| bad("bad base_seq"))?);
            let mut fields = Fields::new();
            for name in names {
                fields.insert(name.clone(), next()?);
            }
            if cells.next().is_some() {
                return Err(bad("more values than its shape has fields"));
            }
            edits.push(Edit {
                device_seq: seq,
                kind: *kind,
                id,
                made_ms: made,
                base_seq: base,
                fields,
            });
        }
        Ok(edits)
    }
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
    /// Versions in this page that are exactly what the device already holds: its own edits of
    /// this request, applied as sent on top of the version it had seen. They are left out of
    /// `changes` (the page's cursor still covers them) and confirmed here by sequence number
    /// instead, so a month made offline is not sent back to the phone that made it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own: Vec<OwnRun>,
}

/// A run of confirmed own writes: the edits numbered `device_seq`, `device_seq + 1`, ... (`count`
/// of them) produced the record versions `seq`, `seq + 1`, ..., all in `posyandu` (the record's
/// scope, as a `Change` carries it). Each edit named is the last of this request to its record,
/// and the version's values are the ones the device holds once it applies its acknowledged edits
/// on top of the version it had pulled. Sent as `[device_seq, seq, count, posyandu]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnRun(pub u64, pub i64, pub u32, pub Option<Uuid>);

impl OwnRun {
    /// Runs from (device_seq, seq, posyandu) in the order given, joining consecutive ones.
    pub fn runs(confirmed: impl IntoIterator<Item = (u64, i64, Option<Uuid>)>) -> Vec<OwnRun> {
        let mut out: Vec<OwnRun> = Vec::new();
        for (d, s, p) in confirmed {
            match out.last_mut() {
                Some(OwnRun(d0, s0, n, p0))
                    if *p0 == p
                        && d0.checked_add(u64::from(*n)) == Some(d)
                        && s0.checked_add(i64::from(*n)) == Some(s)
                        && *n < u32::MAX =>
                {
                    *n += 1
                }
                _ => out.push(OwnRun(d, s, 1, p)),
            }
        }
        out
    }
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
    /// The public half (hex) of the key the device made for itself: its bundle files are
    /// signed with it. Older apps send none; their first signed file binds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
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
    /// Empty in an enrollment file: the device asks for one with its key (`TokenRequest`).
    pub token: String,
    /// The server's public key (hex), which signs its reply and enrollment files; the device
    /// keeps it and trusts no file signed by another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
    pub role: Role,
    pub user: String,
    pub puskesmas_id: Uuid,
    pub posyandu_id: Option<Uuid>,
    pub server_clock_ms: i64,
}

/// The answer to a signed `Bundle::TokenRequest` (`POST /api/v1/token`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: String,
}

/// A file bundle: what the device would have sent, or what the server answered. Every file is
/// signed (`crate::seal`) and none holds a token: a request by its device's key, the others by
/// the server's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Bundle {
    Request {
        request: SyncRequest,
        /// A number the device made for this file; its reply names it (`for_request`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    Reply {
        device_id: Uuid,
        response: SyncResponse,
        /// The request file this answers (`Request::id`): a device takes acknowledgements and
        /// refusals only from replies to files it wrote itself. A store restored from an older
        /// copy did not write later files, and their numbers may now be other edits'.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_request: Option<String>,
    },
    /// A new device made at the puskesmas for a user, with everything in its scope: opening it
    /// on a device that never had a link enrolls it (later exchanges go by file or by HTTP).
    Enrollment {
        /// Where the device may sync over HTTP later, when the puskesmas knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_url: Option<String>,
        /// SHA-256 (hex) of the HTTPS certificate the device will trust for `server_url`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls_fingerprint: Option<String>,
        enrollment: EnrollResponse,
        response: SyncResponse,
    },
    /// The answer to a request file whose edit numbers the server had already applied with
    /// other edits (a restored or copied store): the device numbers its pending edits after
    /// `last_applied` and sends them again in its next file (`seq_reused` over HTTP).
    Renumber { device_id: Uuid, last_applied: u64 },
    /// A device enrolled by file asks for a token to sync over HTTP (sent over HTTP only,
    /// signed by the device's key; `made_ms` keeps an old one from being replayed).
    TokenRequest { device_id: Uuid, made_ms: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: Problem,
    /// With `seq_reused`: the highest edit number the server has applied for this device (the
    /// device numbers its pending edits again from the next one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<u64>,
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
    read_bounded(flate2::read::GzDecoder::new(bytes), limit, "gzip")
}

/// Read a decoder to its end, refusing more than `limit` bytes of output (a compression bomb)
/// and naming the format when the stream is broken.
fn read_bounded(dec: impl Read, limit: usize, format: &str) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::new();
    dec.take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Problem::new(
                "malformed_body",
                None,
                format!("Isi permintaan rusak ({format}): {e}"),
                format!("Malformed body ({format}): {e}"),
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

/// Brotli at quality 9, with a window no larger than the body so that a small one allocates
/// little. Measured on sync requests: a month of edits (47 kB of JSON) takes 10 ms for 4.3 kB at
/// 9 against 113 ms for 3.4 kB at 11 (on a phone several times that, longer than the 900 bytes
/// take at 40 kbit/s); a day's request (2.4 kB) 1.5 ms at 9 against 6 ms at 11, and 300 such
/// requests at once kept the load benchmark's p99 under 500 ms at 9, not at 11 (nor at 4).
pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let lgwin = (usize::BITS - bytes.len().leading_zeros()).clamp(10, 22);
    let mut out = Vec::with_capacity(bytes.len() / 4);
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 4096, 9, lgwin);
        w.write_all(bytes).expect("writing to a Vec cannot fail");
    }
    out
}

/// Undo brotli with a ceiling, as `gunzip`.
pub fn unbrotli(bytes: &[u8], limit: usize) -> Result<Vec<u8>, Problem> {
    read_bounded(::brotli::Decompressor::new(bytes, 4096), limit, "brotli")
}

/// How a body is compressed (HTTP `Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value, or None for an encoding this protocol does not read.
    pub fn parse(header: &str) -> Option<Encoding> {
        match header.trim().to_ascii_lowercase().as_str() {
            "identity" => Some(Encoding::Identity),
            "gzip" => Some(Encoding::Gzip),
            "br" => Some(Encoding::Brotli),
            _ => None,
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }
}

/// Encode a message as gzip-compressed JSON (bundle files).
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    gzip(&serde_json::to_vec(msg).expect("protocol types always serialize"))
}

/// Encode a request body as brotli-compressed JSON (`Content-Encoding: br`).
pub fn encode_request<T: Serialize>(msg: &T) -> Vec<u8> {
    brotli(&serde_json::to_vec(msg).expect("protocol types always serialize"))
}

/// Decode JSON (gzip-compressed when `gzipped`), telling malformed JSON from the wrong shape.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], gzipped: bool) -> Result<T, Problem> {
    let encoding = if gzipped {
        Encoding::Gzip
    } else {
        Encoding::Identity
    };
    decode_with(bytes, encoding)
}

/// Decode JSON compressed as `encoding`, telling a broken body (`malformed_body`) from the
/// wrong shape (`invalid_request`) and from one too large (`body_too_large`).
pub fn decode_with<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<T, Problem> {
    let owned;
    let json = match encoding {
        Encoding::Gzip => {
            owned = gunzip(bytes, MAX_BODY_BYTES)?;
            &owned[..]
        }
        Encoding::Brotli => {
            owned = unbrotli(bytes, MAX_BODY_BYTES)?;
            &owned[..]
        }
        Encoding::Identity => {
            if bytes.len() > MAX_BODY_BYTES {
                return Err(too_large(MAX_BODY_BYTES));
            }
            bytes
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn edit(device_seq: u64, kind: Kind, made_ms: i64, base_seq: i64, fields: Value) -> Edit {
        Edit {
            device_seq,
            kind,
            id: Uuid::now_v7(),
            made_ms,
            base_seq,
            fields: fields.as_object().unwrap().clone(),
        }
    }

    fn request(edits: Vec<Edit>) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: Uuid::now_v7(),
            device_clock_ms: 1_700_000_000_000,
            cursor: 42,
            edits,
            page_limit: DEFAULT_PAGE,
            bundle: false,
            want_digest: true,
            repair: None,
        }
    }

    #[test]
    fn the_edit_table_round_trips_every_value() {
        let req = request(vec![
            edit(
                3,
                Kind::Child,
                1_700_000_000_000,
                42,
                json!({"has_kms": true}),
            ),
            edit(
                4,
                Kind::Child,
                1_699_999_999_000,
                40,
                json!({"has_kms": false, "dusun": null}),
            ),
            edit(
                9,
                Kind::VitaminA,
                i64::MIN,
                i64::MAX,
                json!({"capsule": "merah", "date": "2025-02-01"}),
            ),
            edit(
                u64::MAX,
                Kind::Child,
                0,
                -1,
                json!({"weight_kg": 8.1, "x": [1, {"a": 2}]}),
            ),
            edit(1, Kind::Child, 5, 0, json!({"has_kms": true})),
        ]);
        let text = serde_json::to_string(&req).unwrap();
        assert!(
            text.contains(r#""shapes":[["child","has_kms"],["child","dusun","has_kms"]"#),
            "{text}"
        );
        for body in [encode(&req), encode_request(&req)] {
            let enc = if body == encode(&req) {
                Encoding::Gzip
            } else {
                Encoding::Brotli
            };
            let back: SyncRequest = decode_with(&body, enc).unwrap();
            assert_eq!(back, req);
        }
    }

    #[test]
    fn the_object_form_of_protocol_1_is_still_read() {
        let e = edit(1, Kind::Child, 5, 0, json!({"has_kms": true}));
        let mut v = serde_json::to_value(request(vec![e.clone()])).unwrap();
        v["protocol"] = 1.into();
        v["edits"] = json!([serde_json::to_value(&e).unwrap()]);
        let back: SyncRequest = decode(v.to_string().as_bytes(), false).unwrap();
        assert_eq!(back.edits, vec![e]);
    }

    #[test]
    fn a_broken_edit_table_is_the_wrong_shape() {
        let id = Uuid::now_v7();
        for edits in [
            json!({"shapes": [["child", "has_kms"]], "rows": [[1, 1, id, 0, 0, true]]}),
            json!({"shapes": [["child", "has_kms"]], "rows": [[0, 1, id, 0, 0]]}),
            json!({"shapes": [["child", "has_kms"]], "rows": [[0, 1, id, 0, 0, true, 1]]}),
            json!({"shapes": [["child", "a", "a"]], "rows": []}),
            json!({"shapes": [["spaceship", "a"]], "rows": []}),
            json!({"shapes": [[]], "rows": []}),
            json!({"shapes": [["child", "has_kms"]], "rows": [[0, -1, id, 0, 0, true]]}),
            json!({"shapes": [["child", "has_kms"]], "rows": [[0, 1, "not-an-id", 0, 0, true]]}),
            json!({"shapes": [], "rows": [], "extra": 1}),
        ] {
            let body = json!({"protocol": 2, "device_id": id, "device_clock_ms": 0, "cursor": 0,
                              "edits": edits});
            let err = decode::<SyncRequest>(body.to_string().as_bytes(), false).unwrap_err();
            assert_eq!(err.code, "invalid_request", "{edits}: {err:?}");
        }
    }

    #[test]
    fn own_runs_join_consecutive_pairs() {
        let p = Some(Uuid::from_u128(7));
        let runs = OwnRun::runs([
            (1, 10, p),
            (2, 11, p),
            (3, 12, p),
            (4, 13, None),
            (6, 14, None),
            (7, 16, None),
            (8, 17, None),
        ]);
        assert_eq!(
            runs,
            vec![
                OwnRun(1, 10, 3, p),
                OwnRun(4, 13, 1, None),
                OwnRun(6, 14, 1, None),
                OwnRun(7, 16, 2, None)
            ]
        );
        assert_eq!(
            serde_json::to_string(&runs[0]).unwrap(),
            r#"[1,10,3,"00000000-0000-0000-0000-000000000007"]"#
        );
    }
}
