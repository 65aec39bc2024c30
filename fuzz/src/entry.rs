//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the regression test
//! (`core/tests/fuzz_regressions.rs`, which includes this file with `#[path]`). Each takes raw
//! bytes, must never panic, and checks the properties written next to it: a decoder answers
//! Ok or an error with a known code, and refused input changes nothing.
//!
//! Only crates that sinergi-core's tests can use too: sinergi-core, serde, serde_json, uuid, chrono,
//! tempfile, flate2, csv, rusqlite, arbitrary.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use serde_json::Value;
use sinergi_core::growth::batch::{self, BatchOptions};
use sinergi_core::hlc::{Hlc, ManualClock};
use sinergi_core::merge::{apply_edit, RecordState};
use sinergi_core::model::{check_field, validate_record, Fields, Kind, Lookup};
use sinergi_core::protocol::{self, Bundle, Change, Edit, SyncRequest, SyncResponse};
use sinergi_core::store::{Enrollment, LocalStore};
use sinergi_core::{CoreError, Problem};
use uuid::Uuid;

/// One fuzz target: raw bytes in, a panic on failure.
pub type Entry = fn(&[u8]);

/// The targets, by the name of their corpus folder.
pub const TARGETS: [(&str, Entry); 4] = [
    ("sync_request", sync_request),
    ("sync_request_structured", sync_request_structured),
    ("bundle", bundle),
    ("growth_batch", growth_batch),
];

/// Codes a body decoder may answer with (README, "HTTP").
const DECODE_CODES: [&str; 3] = ["malformed_body", "invalid_request", "body_too_large"];

fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

fn decode_code<T>(r: &Result<T, Problem>) -> Option<&str> {
    match r {
        Ok(_) => None,
        Err(p) => {
            assert!(
                DECODE_CODES.contains(&p.code.as_str()),
                "unexpected decode code {}",
                p.code
            );
            Some(p.code.as_str())
        }
    }
}

/// Decode both as the body itself (gzip when it starts like gzip, else identity) and, for a
/// plain body, gzipped by the real encoder: gzip must change nothing about the answer.
fn decode_both<T: serde::de::DeserializeOwned>(data: &[u8]) -> Result<T, Problem> {
    if is_gzip(data) {
        let r = protocol::decode::<T>(data, true);
        decode_code(&r);
        return r;
    }
    let plain = protocol::decode::<T>(data, false);
    let zipped = protocol::decode::<T>(&protocol::gzip(data), true);
    assert_eq!(
        decode_code(&plain),
        decode_code(&zipped),
        "gzip changed the answer"
    );
    // The same bytes as a brotli body (`Content-Encoding: br`, what devices send): a hostile
    // stream must end in one of the decode codes, never a panic or an unbounded allocation.
    decode_code(&protocol::decode_with::<T>(
        data,
        protocol::Encoding::Brotli,
    ));
    plain
}

// ---------------------------------------------------------------------------------------------
// Sync request: what the server decodes from every POST /api/v1/sync.

/// Raw request body: decode (gzip, brotli or identity), then validate every edit the way the store
/// would, so the fuzzer reaches past the JSON parser.
pub fn sync_request(data: &[u8]) {
    if let Ok(req) = decode_both::<SyncRequest>(data) {
        // What decodes must encode and decode again to the same request.
        let again: SyncRequest =
            protocol::decode(&protocol::encode(&req), true).expect("re-encoded request decodes");
        assert_eq!(again, req, "request changed through encode/decode");
        // And through the device's own encoder (brotli, the edit table).
        let sent: SyncRequest =
            protocol::decode_with(&protocol::encode_request(&req), protocol::Encoding::Brotli)
                .expect("request as a device sends it decodes");
        assert_eq!(sent, req, "request changed through the device's encoder");
        validate_edits(&req.edits);
    }
}

/// Records named in one request, for reference checks (a measurement's child made in the same
/// request, as a device that registers a child and weighs it at once sends).
struct RequestLookup(HashMap<(Kind, Uuid), Fields>);

impl Lookup for RequestLookup {
    fn fields_of(&self, kind: Kind, id: Uuid) -> Option<Fields> {
        self.0.get(&(kind, id)).cloned()
    }
}

/// Type checks, whole-record validation and the merge rule over decoded edits.
pub fn validate_edits(edits: &[Edit]) {
    let mut records: HashMap<(Kind, Uuid), Fields> = HashMap::new();
    let mut states: HashMap<Uuid, RecordState> = HashMap::new();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    for e in edits {
        for (name, v) in &e.fields {
            let _ = check_field(e.kind, name, v);
        }
        let whole = records.entry((e.kind, e.id)).or_default();
        for (k, v) in &e.fields {
            if v.is_null() {
                whole.remove(k);
            } else {
                whole.insert(k.clone(), v.clone());
            }
        }
        let hlc = Hlc {
            millis: e.made_ms,
            counter: 0,
            node: e.id,
        };
        let state = states.entry(e.id).or_default();
        apply_edit(state, hlc, &e.fields);
        let _ = hlc.tick(e.made_ms, e.id);
        let _ = hlc.to_string().parse::<Hlc>();
    }
    let lookup = RequestLookup(records);
    for ((kind, _), fields) in &lookup.0 {
        match validate_record(*kind, fields, &lookup, today) {
            Ok(_) => {}
            Err(problems) => assert!(!problems.is_empty(), "refused without a problem"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Structure-aware sync request: well-formed requests with hostile values, through the real
// encoder, so every input reaches validation.

#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    protocol: u8,
    device: u128,
    device_clock_ms: i64,
    cursor: i64,
    page_limit: u32,
    bundle: bool,
    edits: Vec<FuzzEdit>,
}

#[derive(Debug, Arbitrary)]
struct FuzzEdit {
    device_seq: u64,
    kind: u8,
    /// Small ids so that edits of one request point at each other.
    id: u8,
    made_ms: i64,
    base_seq: i64,
    fields: Vec<(FuzzName, FuzzValue)>,
}

#[derive(Debug, Arbitrary)]
enum FuzzName {
    /// A field the kind has (index into its schema).
    Known(u8),
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum FuzzValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// A date string, possibly impossible (month 13, year 0).
    Date(i16, u8, u8),
    /// An id of another record in the request.
    Ref(u8),
    /// 16 characters that are mostly digits, as a NIK.
    Nik(u64, u8),
    Array(Vec<FuzzLeaf>),
    Object(Vec<(String, FuzzLeaf)>),
}

#[derive(Debug, Arbitrary)]
enum FuzzLeaf {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

fn small_id(n: u8) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n as u128)
}

fn leaf(l: FuzzLeaf) -> Value {
    match l {
        FuzzLeaf::Null => Value::Null,
        FuzzLeaf::Int(i) => i.into(),
        FuzzLeaf::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        FuzzLeaf::Text(s) => s.into(),
    }
}

fn value(v: FuzzValue) -> Value {
    match v {
        FuzzValue::Null => Value::Null,
        FuzzValue::Bool(b) => b.into(),
        FuzzValue::Int(i) => i.into(),
        FuzzValue::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        FuzzValue::Text(s) => s.into(),
        FuzzValue::Date(y, m, d) => format!("{y:04}-{m:02}-{d:02}").into(),
        FuzzValue::Ref(n) => small_id(n).to_string().into(),
        FuzzValue::Nik(n, junk) => {
            let mut s = format!("{:016}", n % 10_000_000_000_000_000);
            if junk % 4 == 0 {
                s.replace_range(..1, "x");
            }
            s.into()
        }
        FuzzValue::Array(a) => Value::Array(a.into_iter().map(leaf).collect()),
        FuzzValue::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, leaf(v))).collect()),
    }
}

impl FuzzRequest {
    pub fn into_request(self) -> SyncRequest {
        let edits = self
            .edits
            .into_iter()
            .map(|e| {
                let kind = Kind::ALL[e.kind as usize % Kind::ALL.len()];
                let specs = kind.fields();
                let fields = e
                    .fields
                    .into_iter()
                    .map(|(n, v)| {
                        let name = match n {
                            FuzzName::Known(i) if !specs.is_empty() => {
                                specs[i as usize % specs.len()].name.to_string()
                            }
                            FuzzName::Known(_) => String::new(),
                            FuzzName::Other(s) => s,
                        };
                        (name, value(v))
                    })
                    .collect();
                Edit {
                    device_seq: e.device_seq,
                    kind,
                    id: small_id(e.id),
                    made_ms: e.made_ms,
                    base_seq: e.base_seq,
                    fields,
                }
            })
            .collect();
        SyncRequest {
            protocol: if self.protocol < 200 {
                protocol::PROTOCOL_VERSION
            } else {
                self.protocol as u32
            },
            device_id: Uuid::from_u128(self.device),
            device_clock_ms: self.device_clock_ms,
            cursor: self.cursor,
            edits,
            page_limit: self.page_limit,
            bundle: self.bundle,
            want_digest: false,
            repair: None,
        }
    }
}

/// Whatever the device's encoder writes, the server's decoder must read back unchanged.
pub fn sync_request_structured(data: &[u8]) {
    let Ok(fuzz) = FuzzRequest::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let req = fuzz.into_request();
    let body = protocol::encode(&req);
    let back: SyncRequest = match protocol::decode(&body, true) {
        Ok(r) => r,
        Err(p) => panic!("the encoder wrote a body the decoder refuses: {p}"),
    };
    assert_eq!(back, req, "request changed through encode/decode");
    validate_edits(&back.edits);
    sync_request(&body);
}

// ---------------------------------------------------------------------------------------------
// Bundle files: the server reads request bundles, the device applies reply bundles.

pub const DEVICE_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_d001);
pub const PUSKESMAS_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_a001);
pub const DESA_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_a002);
pub const POSYANDU_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_a003);
/// 2026-11-25 12:00 UTC: a fixed clock so that a crash replays exactly.
pub const NOW_MS: i64 = 1_795_608_000_000;
/// The server key that signs the seed reply, and that the fuzzed device pins (a fixed one, so
/// the seed corpus is stable).
pub const SERVER_SECRET: &str = "5e41e1f0c0de5e41e1f0c0de5e41e1f0c0de5e41e1f0c0de5e41e1f0c0de5e41";

fn master(kind: Kind, id: Uuid, seq: i64, fields: Value) -> Change {
    let Value::Object(fields) = fields else {
        unreachable!()
    };
    Change {
        kind,
        id,
        seq,
        posyandu_id: (kind == Kind::Posyandu).then_some(id),
        fields,
    }
}

fn obj(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A kader's device as after enrollment and a morning of work: the puskesmas, desa and
/// posyandu pulled, two children registered, weighed and one of them corrected, all pending.
pub fn make_device(dir: &Path) -> LocalStore {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let mut store = LocalStore::open_with_clock(dir, clock).expect("open device store");
    store
        .set_enrollment(&Enrollment {
            server_url: "http://127.0.0.1:8080".into(),
            device_id: DEVICE_ID,
            token: "fuzz-token".into(),
            role: sinergi_core::protocol::Role::Kader,
            user: "kader1".into(),
            puskesmas_id: PUSKESMAS_ID,
            posyandu_id: Some(POSYANDU_ID),
        })
        .expect("enroll");
    store
        .set_server_key(&sinergi_core::seal::public_key(SERVER_SECRET).expect("fixed key"))
        .expect("pin the server key");
    let first = SyncResponse {
        acked_through: 0,
        refused: vec![],
        conflicts: 0,
        changes: vec![
            master(
                Kind::Puskesmas,
                PUSKESMAS_ID,
                1,
                serde_json::json!({"name": "Puskesmas Sukamaju"}),
            ),
            master(
                Kind::Desa,
                DESA_ID,
                2,
                serde_json::json!({"name": "Sukamaju", "puskesmas_id": PUSKESMAS_ID}),
            ),
            master(
                Kind::Posyandu,
                POSYANDU_ID,
                3,
                serde_json::json!({"name": "Melati 1", "desa_id": DESA_ID}),
            ),
        ],
        exits: vec![],
        cursor: 3,
        more: false,
        server_clock_ms: NOW_MS,
        clock_offset_ms: 0,
        clock_warning: false,
        digest: None,
        repair: None,
        own: Vec::new(),
    };
    store.apply_response(&first).expect("first pull");
    let siti = store
        .create(
            Kind::Child,
            obj(
                serde_json::json!({"posyandu_id": POSYANDU_ID, "name": "Siti Aminah",
                "sex": "P", "birth_date": "2025-03-14", "nik": "3201015403250001"}),
            ),
        )
        .expect("register child")
        .id;
    let budi = store
        .create(
            Kind::Child,
            obj(
                serde_json::json!({"posyandu_id": POSYANDU_ID, "name": "Budi Santoso",
                "sex": "L", "birth_date": "2024-07-02"}),
            ),
        )
        .expect("register child")
        .id;
    store
        .create(
            Kind::Measurement,
            obj(
                serde_json::json!({"child_id": siti, "date": "2026-11-25", "weight_kg": 8.4,
                "length_cm": 74.5, "position": "lying", "place": "posyandu"}),
            ),
        )
        .expect("weigh");
    store
        .create(
            Kind::Measurement,
            obj(
                serde_json::json!({"child_id": budi, "date": "2026-11-25", "weight_kg": 10.9,
                "length_cm": 83.0, "position": "standing", "oedema": false}),
            ),
        )
        .expect("weigh");
    store
        .update(
            Kind::Child,
            budi,
            obj(serde_json::json!({"dusun": "Krajan", "rt_rw": "002/003"})),
        )
        .expect("correct");
    store
}

/// The device store every bundle run starts from, built once per process.
fn template_db() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = scratch_dir().keep();
        drop(make_device(&dir));
        dir.join("sinergi.db")
    })
}

fn scratch_dir() -> tempfile::TempDir {
    // RAM when there is one: a bundle run copies a database and writes a file every time.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().expect("temporary directory")
}

/// Every row of the device's tables, in order: equal digests = nothing changed.
pub fn device_digest(store: &LocalStore) -> String {
    let mut out = String::new();
    for (table, order) in [
        ("meta", "key"),
        ("records", "id"),
        ("outbox", "device_seq"),
        ("refused", "device_seq"),
    ] {
        let mut st = store
            .conn()
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .expect("digest query");
        let n = st.column_count();
        let mut rows = st.query([]).expect("digest rows");
        while let Some(r) = rows.next().expect("digest row") {
            out.push_str(table);
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i).expect("digest value");
                out.push('|');
                out.push_str(&format!("{v:?}"));
            }
            out.push('\n');
        }
    }
    out
}

/// A bundle file: the server's reading of a request bundle (decode, then the edits through
/// validation) and the device's import of a reply bundle (`sync::import_reply` on a real device
/// store): a refused file changes nothing on the device.
pub fn bundle(data: &[u8]) {
    // Bundle files are always gzip; plain JSON inputs are gzipped by the real encoder.
    let file = if is_gzip(data) {
        data.to_vec()
    } else {
        protocol::gzip(data)
    };
    if let Ok(Bundle::Request { request, .. }) = sinergi_core::seal::open(&file).map(|o| o.bundle) {
        validate_edits(&request.edits);
    }
    let dir = scratch_dir();
    std::fs::copy(template_db(), dir.path().join("sinergi.db")).expect("copy template");
    let clock = Arc::new(ManualClock::new(NOW_MS + 60_000));
    let mut store = LocalStore::open_with_clock(dir.path(), clock).expect("open device copy");
    let before = device_digest(&store);
    let path = dir.path().join("balasan.sinergi");
    std::fs::write(&path, &file).expect("write bundle");
    match sinergi_core::sync::import_reply(&mut store, &path) {
        Ok(_) => {}
        Err(e) => {
            assert!(
                matches!(e, CoreError::Invalid(_) | CoreError::BadData(_)),
                "a bad reply file is invalid input, not {e:?}"
            );
            assert_eq!(
                before,
                device_digest(&store),
                "a refused reply changed the device ({})",
                e.code()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Growth batch CSV.

/// A reader that hands out at most `n` bytes per read, so block and chunk boundaries fall
/// everywhere.
struct Trickle<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.n.min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

fn run_batch(
    input: impl Read,
    threads: usize,
    chunk_bytes: usize,
) -> Result<(Vec<u8>, u64, u64), String> {
    let mut out = Vec::new();
    let opts = BatchOptions {
        threads,
        chunk_bytes,
    };
    match batch::process(input, &mut out, &opts, &mut |_| {}) {
        Ok(s) => Ok((out, s.rows, s.rows_with_error)),
        Err(CoreError::Invalid(p)) => {
            assert!(out.is_empty(), "a refused file wrote output");
            Err(p[0].code.clone())
        }
        Err(e) => panic!("batch failed with {e:?} (only header problems may fail a batch)"),
    }
}

/// A CSV through `growth batch` three ways (one chunk; one record per chunk with a trickling
/// reader; two worker threads): the same output every time. Plus each line and cell through the
/// number parser, which must agree with `str::parse::<f64>`.
pub fn growth_batch(data: &[u8]) {
    let whole = run_batch(data, 1, 1 << 20);
    let step = data.len() % 7 + 1;
    let small = run_batch(Trickle { data, n: step }, 1, 1);
    assert_eq!(whole, small, "chunking changed the output");
    let threaded = run_batch(Trickle { data, n: step * 3 }, 2, 16);
    assert_eq!(whole, threaded, "threads changed the output");
    if let Ok((out, _, _)) = &whole {
        // The output fed back is refused, never computed twice: its columns exist already
        // (or, for a header whose quoting changes the detected delimiter, `sex` is not found).
        let again = run_batch(&out[..], 1, 1 << 20);
        assert!(again.is_err(), "output fed back was accepted: {again:?}");
    }
    for piece in data.split(|&c| matches!(c, b'\n' | b';' | b'\t' | b'\r')) {
        if piece.len() <= 64 {
            number(piece);
        }
    }
}

/// `parse_number` promises exactly `str::parse::<f64>` of the same number with a point.
fn number(cell: &[u8]) {
    let got = batch::parse_number(cell);
    let want = std::str::from_utf8(cell.trim_ascii()).ok().and_then(|s| {
        let s = s.replacen(',', ".", 1);
        if s.contains(',') || s.contains('_') {
            return None;
        }
        s.parse::<f64>().ok().filter(|x| x.is_finite())
    });
    assert_eq!(
        got.map(f64::to_bits),
        want.map(f64::to_bits),
        "parse_number({:?}) = {got:?}, str::parse says {want:?}",
        String::from_utf8_lossy(cell)
    );
}
