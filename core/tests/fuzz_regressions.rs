//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every input that once crashed a fuzz
//! target (`fuzz/regressions/<target>/`) through the targets' own entry points, so CI checks
//! them on every `cargo test --workspace` without running the fuzzer. The seed corpus comes
//! from the real encoders: `cargo test -p sinergi-core --test fuzz_regressions -- --ignored
//! write_seed_corpus` writes it again.

#[path = "../../fuzz/src/entry.rs"]
#[allow(dead_code)]
mod entry;

use std::path::{Path, PathBuf};

use sinergi_core::protocol::{
    self, Bundle, Change, Exit, Refusal, SyncRequest, SyncResponse, MAX_EDITS_PER_REQUEST,
};
use sinergi_core::Problem;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn corpus_and_past_crashes_replay_cleanly() {
    let mut failures = Vec::new();
    for (target, run) in entry::TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(target));
        assert!(!corpus.is_empty(), "no seed corpus for {target}");
        let crashes = files(&fuzz_dir().join("regressions").join(target));
        for path in corpus.iter().chain(&crashes) {
            let data = std::fs::read(path).expect("read corpus file");
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
}

/// The committed seeds still are what the real encoders write (and decode as such): a
/// protocol change that breaks old files shows here.
#[test]
fn seed_corpus_is_real() {
    let dir = fuzz_dir().join("corpus");
    let req = std::fs::read(dir.join("sync_request/real-request.gz")).unwrap();
    let req: SyncRequest = protocol::decode(&req, true).expect("real request decodes");
    assert_eq!(req.device_id, entry::DEVICE_ID);
    assert_eq!(req.edits.len(), 5);
    let bundle = std::fs::read(dir.join("bundle/real-request-bundle.sinergi")).unwrap();
    let Bundle::Request { request, .. } = sinergi_core::seal::open(&bundle).unwrap().bundle else {
        panic!("request bundle")
    };
    assert_eq!(request.edits.len(), 5);
    // The reply applies to the device the fuzzer starts from, once it has sent its edits.
    let reply = dir.join("bundle/real-reply-bundle.sinergi");
    let tmp = tempfile::tempdir().unwrap();
    let mut store = entry::make_device(tmp.path());
    sinergi_core::sync::export_bundle(&store, &tmp.path().join("kirim.sinergi")).unwrap();
    let report = sinergi_core::sync::import_reply(&mut store, &reply).expect("reply applies");
    assert_eq!((report.acknowledged, report.refused), (4, 1));
}

/// Not a test: writes the seed corpus from the real encoders.
#[test]
#[ignore]
fn write_seed_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let store = entry::make_device(tmp.path());
    let corpus = fuzz_dir().join("corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };

    // A sync request as the device sends it (gzip), and its JSON.
    let req = store
        .build_request(protocol::DEFAULT_PAGE, MAX_EDITS_PER_REQUEST, false)
        .unwrap();
    let body = protocol::encode(&req);
    write("sync_request", "real-request.gz", &body);
    write(
        "sync_request",
        "real-request.json",
        &protocol::gunzip(&body, protocol::MAX_BODY_BYTES).unwrap(),
    );
    let empty = SyncRequest {
        edits: vec![],
        ..req.clone()
    };
    write(
        "sync_request",
        "pull-only.json",
        &serde_json::to_vec(&empty).unwrap(),
    );

    // A request bundle as `bundle export` writes it.
    let out = tmp.path().join("kirim.sinergi");
    sinergi_core::sync::export_bundle(&store, &out).unwrap();
    let bundle = std::fs::read(&out).unwrap();
    write("bundle", "real-request-bundle.sinergi", &bundle);
    write(
        "bundle",
        "real-request-bundle.json",
        &protocol::gunzip(&bundle, protocol::MAX_BODY_BYTES).unwrap(),
    );

    // A reply bundle for that device: four edits acknowledged, one refused, the server's
    // versions of its records, and a record that left the posyandu.
    let records = store.list(sinergi_core::model::Kind::Child).unwrap();
    let mut changes: Vec<Change> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Change {
            kind: r.kind,
            id: r.id,
            seq: 10 + i as i64,
            posyandu_id: Some(entry::POSYANDU_ID),
            fields: r.fields.clone(),
        })
        .collect();
    for r in store.list(sinergi_core::model::Kind::Measurement).unwrap() {
        changes.push(Change {
            kind: r.kind,
            id: r.id,
            seq: 20 + changes.len() as i64,
            posyandu_id: Some(entry::POSYANDU_ID),
            fields: r.fields.clone(),
        });
    }
    let response = SyncResponse {
        acked_through: 5,
        refused: vec![Refusal {
            device_seq: 5,
            kind: req.edits[4].kind,
            id: req.edits[4].id,
            problem: Problem::new(
                "invalid_value",
                Some("rt_rw"),
                "rt_rw tidak sah".into(),
                "rt_rw is invalid".into(),
            ),
        }],
        conflicts: 0,
        changes,
        exits: vec![Exit {
            kind: sinergi_core::model::Kind::Child,
            id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_e001),
            seq: 40,
        }],
        cursor: 40,
        more: false,
        server_clock_ms: entry::NOW_MS + 1_000,
        clock_offset_ms: 1_000,
        clock_warning: false,
        digest: None,
        repair: None,
        own: Vec::new(),
    };
    let reply = sinergi_core::seal::seal(
        entry::SERVER_SECRET,
        &Bundle::Reply {
            device_id: entry::DEVICE_ID,
            response,
            for_request: None,
        },
    )
    .unwrap();
    write("bundle", "real-reply-bundle.sinergi", &reply);
    write(
        "bundle",
        "real-reply-bundle.json",
        &protocol::gunzip(&reply, protocol::MAX_BODY_BYTES).unwrap(),
    );

    // Structured requests: a few byte strings (the fuzzer grows them).
    write("sync_request_structured", "zeros", &[0u8; 64]);
    let ramp: Vec<u8> = (0..=255u8).collect();
    write("sync_request_structured", "ramp", &ramp);
    write("sync_request_structured", "request-json", &body);

    // CSV files as people export them for `growth batch`.
    let csvs: [(&str, &str); 6] = [
        (
            "age-days.csv",
            "no,nama,sex,age_days,weight_kg,lenhei_cm,measure,head_cm,muac_cm,oedema\n\
             1,Siti,P,256,8.4,70.5,l,43.1,14.2,n\n\
             2,Budi,L,511,10.9,79.0,L,,,\n\
             3,Ani,2,900,11.2,85.3,h,,13.1,y\n\
             4,Dedi,1,-3,7,60,l,,,n\n",
        ),
        (
            "dates-semicolon.csv",
            "\u{feff}nama;sex;birth_date;visit_date;weight_kg;lenhei_cm;measure\n\
             Siti;P;2025-03-14;2026-11-25;8,4;74,5;l\n\
             Budi;L;2024-07-02;2026-11-25;10,9;83;h\n\
             Rina;P;2026-12-01;2026-11-25;3,1;;\n\
             ;;;;;;\n",
        ),
        (
            "tabs.tsv",
            "sex\tage_days\tweight_kg\tlenhei_cm\tmeasure\n1\t30\t4,2\t54\tl\n2\t1830\t15\t100\th\n",
        ),
        (
            "quoted.csv",
            "id,catatan,sex,age_days,weight_kg\n\
             1,\"rujuk, demam\",P,400,9.1\n\
             2,\"dua\nbaris\",L,NA,8\n\
             3,\"\"\"kutip\"\"\",X,200,abc\n",
        ),
        (
            "bad-rows.csv",
            "sex,age_days,weight_kg,lenhei_cm,measure,oedema\n\
             L,100,0,60,l,n\n\
             P,100,5,60,q,z\n\
             L,100\n\
             P,100,5,60,l,n,extra\n\
             L,1e2,6.0E0,6e1,l,N\n",
        ),
        ("missing-column.csv", "nama,weight_kg\nSiti,8.4\n"),
    ];
    for (name, text) in csvs {
        write("growth_batch", name, text.as_bytes());
    }
}

/// Found by reading the decoder while fuzzing (libFuzzer's 4 KB inputs cannot reach it): a
/// 580 KB gzip body of `[0,0,0,...]` inflates to 60 MB of JSON and took about 1 GB to parse,
/// before the token was even checked. It is refused before parsing, with the size code.
#[test]
fn a_body_of_tiny_values_is_refused_before_parsing() {
    let mut json = String::from(
        r#"{"protocol":1,"device_id":"0190a000-0000-7000-8000-000000000001","device_clock_ms":0,"cursor":0,"edits":[{"device_seq":1,"kind":"child","id":"0190a000-0000-7000-8000-000000000002","made_ms":0,"base_seq":0,"fields":{"x":["#,
    );
    json.push_str(&"0,".repeat(protocol::MAX_BODY_VALUES));
    json.push_str("0]}}]}");
    let body = protocol::gzip(json.as_bytes());
    let err = protocol::decode::<SyncRequest>(&body, true).unwrap_err();
    assert_eq!(err.code, "body_too_large");
    let err = protocol::decode::<Bundle>(json.as_bytes(), false).unwrap_err();
    assert_eq!(err.code, "body_too_large");
    // The same shape with commas inside a string is one value, and decodes.
    let text = format!(
        r#"{{"protocol":1,"device_id":"0190a000-0000-7000-8000-000000000001","device_clock_ms":0,"cursor":0,"edits":[{{"device_seq":1,"kind":"child","id":"0190a000-0000-7000-8000-000000000002","made_ms":0,"base_seq":0,"fields":{{"x":"{}"}}}}]}}"#,
        "0,\\\",".repeat(protocol::MAX_BODY_VALUES / 2)
    );
    let req: SyncRequest = protocol::decode(text.as_bytes(), false).expect("one long string");
    assert_eq!(req.edits.len(), 1);
}

/// Found by `sync_request_structured`: serde_json's default parser read 3.6662775143630827e146
/// back as 3.666277514363083e146, so a value could change between device and server. Every
/// finite number now travels exactly.
#[test]
fn numbers_travel_exactly() {
    for x in [
        3.6662775143630827e146,
        8.4,
        0.1 + 0.2,
        f64::MIN_POSITIVE,
        f64::MAX,
        -1.7976931348623155e308,
        5e-324,
    ] {
        let body = protocol::encode(&serde_json::json!({ "weight_kg": x }));
        let back: serde_json::Value = protocol::decode(&body, true).unwrap();
        assert_eq!(
            back["weight_kg"].as_f64().unwrap().to_bits(),
            x.to_bits(),
            "{x:e}"
        );
    }
}
