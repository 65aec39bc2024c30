//! Record commands: children, measurements, any record kind, conflicts and duplicates.

use crate::output;
use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};
use sinergi_core::model::{parse_field_value, Fields, Kind};
use sinergi_core::store::{Choice, LocalStore, Record};
use sinergi_core::{CoreError, Problem};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum ChildCmd {
    /// Register a child; prints its new id.
    Add {
        #[arg(long)]
        posyandu: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        sex: String,
        #[arg(long)]
        birth_date: String,
        #[arg(long)]
        nik: Option<String>,
        #[arg(long)]
        mother_id: Option<String>,
        #[arg(long)]
        mother_name: Option<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change fields: `child set ID name="Siti Aminah" dusun=Krajan`.
    Set {
        id: String,
        #[arg(required = true)]
        assignments: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum MeasureCmd {
    /// Record a measurement; prints its new id, then the growth assessment.
    Add {
        #[arg(long)]
        child: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        weight_kg: Option<String>,
        #[arg(long)]
        length_cm: Option<String>,
        #[arg(long, requires = "length_cm")]
        position: Option<String>,
        #[arg(long)]
        head_cm: Option<String>,
        #[arg(long)]
        muac_cm: Option<String>,
        #[arg(long)]
        oedema: bool,
        #[arg(long)]
        json: bool,
    },
    /// Measurements of one child.
    List {
        #[arg(long)]
        child: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum RecordCmd {
    /// `record add KIND FIELD=VALUE...`; prints the new id.
    Add {
        kind: String,
        #[arg(required = true)]
        assignments: Vec<String>,
    },
    Set {
        kind: String,
        id: String,
        #[arg(required = true)]
        assignments: Vec<String>,
    },
    List {
        kind: String,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ConflictCmd {
    List {
        #[arg(long)]
        json: bool,
        /// Include resolved ones.
        #[arg(long)]
        all: bool,
    },
    /// Choose the value to keep: `winning`, `losing`, or `value=V`.
    Resolve { id: String, choice: String },
}

#[derive(Subcommand)]
pub enum DuplicateCmd {
    List {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        all: bool,
    },
    /// Merge the pair, keeping one child (its measurements follow on every device).
    Merge {
        id: String,
        #[arg(long)]
        keep: String,
    },
}

fn invalid(code: &str, field: Option<&str>, id: String, en: String) -> anyhow::Error {
    CoreError::invalid(Problem::new(code, field, id, en)).into()
}

fn parse_id(s: &str, what: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        invalid(
            "invalid_id",
            Some(what),
            format!("'{s}' bukan ID yang sah untuk {what}"),
            format!("'{s}' is not a valid id for {what}"),
        )
    })
}

fn parse_kind(s: &str) -> anyhow::Result<Kind> {
    s.parse().map_err(|_| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        invalid(
            "unknown_kind",
            None,
            format!("Jenis data '{s}' tidak dikenal (pilih: {})", all.join(", ")),
            format!("Unknown record kind '{s}'"),
        )
    })
}

/// `FIELD=VALUE` pairs into typed fields.
fn assignments(kind: Kind, items: &[String]) -> anyhow::Result<Fields> {
    let mut f = Fields::new();
    for a in items {
        let (k, v) = a.split_once('=').ok_or_else(|| {
            invalid(
                "invalid_assignment",
                None,
                format!("'{a}' harus berbentuk KOLOM=NILAI"),
                format!("'{a}' must be FIELD=VALUE"),
            )
        })?;
        let v = parse_field_value(kind, k.trim(), v).map_err(CoreError::invalid)?;
        f.insert(k.trim().to_string(), v);
    }
    Ok(f)
}

fn typed(kind: Kind, pairs: &[(&str, Option<&str>)]) -> anyhow::Result<Fields> {
    let mut f = Fields::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            let v = parse_field_value(kind, k, v).map_err(CoreError::invalid)?;
            if !v.is_null() {
                f.insert(k.to_string(), v);
            }
        }
    }
    Ok(f)
}

fn record_json(r: &Record) -> Value {
    let mut v = r.fields.clone();
    v.insert("id".into(), json!(r.id.to_string()));
    v.insert("kind".into(), json!(r.kind.as_str()));
    v.insert("pending_edits".into(), json!(r.pending));
    Value::Object(v)
}

fn get_kind(store: &LocalStore, id: Uuid, kind: Option<Kind>) -> anyhow::Result<Record> {
    store
        .get(id)?
        .filter(|r| kind.is_none_or(|k| r.kind == k))
        .ok_or_else(|| {
            CoreError::NotFound(format!(
                "{} {id}",
                kind.map(|k| k.as_str()).unwrap_or("data")
            ))
            .into()
        })
}

fn warn(w: &[sinergi_core::model::Warning]) {
    for w in w {
        eprintln!("peringatan [{}]: {}", w.code, w.message);
    }
}

fn text(f: &Fields, k: &str) -> String {
    match f.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    }
}

pub fn child(store: &mut LocalStore, cmd: ChildCmd) -> anyhow::Result<()> {
    match cmd {
        ChildCmd::Add {
            posyandu,
            name,
            sex,
            birth_date,
            nik,
            mother_id,
            mother_name,
        } => {
            let mut f = typed(
                Kind::Child,
                &[
                    ("posyandu_id", Some(&posyandu)),
                    ("name", Some(&name)),
                    ("sex", Some(&sex.to_uppercase())),
                    ("birth_date", Some(&birth_date)),
                    ("nik", nik.as_deref()),
                    ("mother_id", mother_id.as_deref()),
                    ("mother_name", mother_name.as_deref()),
                ],
            )?;
            f.insert("status".into(), json!("aktif"));
            f.insert("has_kms".into(), json!(true));
            let out = store.create(Kind::Child, f)?;
            warn(&out.warnings);
            println!("{}", out.id);
        }
        ChildCmd::List { json } => {
            let list = store.list(Kind::Child)?;
            if json {
                output::json(&list.iter().map(record_json).collect::<Vec<_>>())?;
            } else if list.is_empty() {
                println!("Belum ada anak.");
            } else {
                println!(
                    "{:<36}  {:<24} {:<2} {:<10} Status",
                    "ID", "Nama", "JK", "Lahir"
                );
                for r in list {
                    let f = &r.fields;
                    println!(
                        "{}  {:<24} {:<2} {:<10} {}",
                        r.id,
                        text(f, "name"),
                        text(f, "sex"),
                        text(f, "birth_date"),
                        text(f, "status")
                    );
                }
            }
        }
        ChildCmd::Show { id, json } => {
            let id = parse_id(&id, "child")?;
            let r = get_kind(store, id, Some(Kind::Child))?;
            let ms = store.children_of(id, Kind::Measurement)?;
            if json {
                let mut v = record_json(&r);
                v["measurements"] = Value::Array(ms.iter().map(record_json).collect());
                output::json(&v)?;
            } else {
                for (k, v) in &r.fields {
                    println!("{k:<16} {}", text(&r.fields, k).replace('"', ""));
                    let _ = v;
                }
                println!("Penimbangan: {}", ms.len());
                for m in ms {
                    println!(
                        "  {}  BB {} kg  PB/TB {} cm",
                        text(&m.fields, "date"),
                        text(&m.fields, "weight_kg"),
                        text(&m.fields, "length_cm")
                    );
                }
            }
        }
        ChildCmd::Set { id, assignments: a } => {
            let id = parse_id(&id, "child")?;
            get_kind(store, id, Some(Kind::Child))?;
            let out = store.update(Kind::Child, id, assignments(Kind::Child, &a)?)?;
            warn(&out.warnings);
            println!(
                "Tersimpan (perubahan #{} menunggu sinkronisasi).",
                out.device_seq
            );
        }
    }
    Ok(())
}

pub fn measure(store: &mut LocalStore, cmd: MeasureCmd) -> anyhow::Result<()> {
    match cmd {
        MeasureCmd::Add {
            child,
            date,
            weight_kg,
            length_cm,
            position,
            head_cm,
            muac_cm,
            oedema,
            json,
        } => {
            let child = parse_id(&child, "child")?;
            let mut f = typed(
                Kind::Measurement,
                &[
                    ("date", Some(&date)),
                    ("weight_kg", weight_kg.as_deref()),
                    ("length_cm", length_cm.as_deref()),
                    ("position", position.as_deref()),
                    ("head_cm", head_cm.as_deref()),
                    ("muac_cm", muac_cm.as_deref()),
                ],
            )?;
            f.insert("child_id".into(), json!(child.to_string()));
            if oedema {
                f.insert("oedema".into(), json!(true));
            }
            let out = store.create(Kind::Measurement, f)?;
            warn(&out.warnings);
            let assessment = store.assess_measurement(out.id);
            if json {
                output::json(&json!({
                    "id": out.id,
                    "assessment": assessment.as_ref().ok(),
                    "assessment_error": assessment.as_ref().err().map(|e| e.to_string()),
                }))?;
            } else {
                println!("{}", out.id);
                match assessment {
                    Ok(a) => print_assessment(&serde_json::to_value(&a)?),
                    Err(e) => eprintln!("penilaian tidak dapat dihitung: {e}"),
                }
            }
        }
        MeasureCmd::List { child, json } => {
            let child = parse_id(&child, "child")?;
            let ms = store.children_of(child, Kind::Measurement)?;
            if json {
                output::json(&ms.iter().map(record_json).collect::<Vec<_>>())?;
            } else {
                for m in ms {
                    println!(
                        "{}  {}  BB {}  PB/TB {}",
                        m.id,
                        text(&m.fields, "date"),
                        text(&m.fields, "weight_kg"),
                        text(&m.fields, "length_cm")
                    );
                }
            }
        }
    }
    Ok(())
}

/// The verdict in plain words (from the assessment's JSON, so every field it has is shown).
fn print_assessment(a: &Value) {
    let z = &a["z"];
    let show = |k: &str| {
        z.get(k)
            .and_then(Value::as_f64)
            .map(|v| format!("{v:.2}"))
            .unwrap_or("-".into())
    };
    println!(
        "Z-skor: BB/U {}  PB/U {}  BB/PB {}  IMT/U {}",
        show("waz"),
        show("laz"),
        show("wlz"),
        show("baz")
    );
    for (k, label) in [
        ("bb_u", "BB/U"),
        ("pb_u", "PB/U atau TB/U"),
        ("bb_pb", "BB/PB atau BB/TB"),
        ("imt_u", "IMT/U"),
    ] {
        if let Some(l) = a
            .get(k)
            .and_then(|c| c.get("label_id"))
            .and_then(Value::as_str)
        {
            println!("  {label}: {l}");
        }
    }
    for (k, label) in [
        ("trend", "Naik/Tidak naik"),
        ("two_t", "2T"),
        ("bgm", "BGM"),
        ("refer", "Rujuk"),
    ] {
        match a.get(k) {
            Some(Value::String(v)) => println!("{label}: {v}"),
            Some(Value::Bool(v)) => println!("{label}: {}", if *v { "ya" } else { "tidak" }),
            _ => {}
        }
    }
}

pub fn record(store: &mut LocalStore, cmd: RecordCmd) -> anyhow::Result<()> {
    match cmd {
        RecordCmd::Add {
            kind,
            assignments: a,
        } => {
            let kind = parse_kind(&kind)?;
            let out = store.create(kind, assignments(kind, &a)?)?;
            warn(&out.warnings);
            println!("{}", out.id);
        }
        RecordCmd::Set {
            kind,
            id,
            assignments: a,
        } => {
            let kind = parse_kind(&kind)?;
            let id = parse_id(&id, kind.as_str())?;
            get_kind(store, id, Some(kind))?;
            let out = store.update(kind, id, assignments(kind, &a)?)?;
            warn(&out.warnings);
            println!(
                "Tersimpan (perubahan #{} menunggu sinkronisasi).",
                out.device_seq
            );
        }
        RecordCmd::List { kind, json } => {
            let list = store.list(parse_kind(&kind)?)?;
            if json {
                output::json(&list.iter().map(record_json).collect::<Vec<_>>())?;
            } else {
                for r in &list {
                    println!("{}  {}", r.id, Value::Object(r.fields.clone()));
                }
                println!("{} data.", list.len());
            }
        }
        RecordCmd::Show { id, json } => {
            let id = parse_id(&id, "record")?;
            let r = get_kind(store, id, None)?;
            if json {
                output::json(&record_json(&r))?;
            } else {
                println!("{} {}", r.kind, r.id);
                for k in r.fields.keys() {
                    println!("  {k:<16} {}", text(&r.fields, k));
                }
            }
        }
    }
    Ok(())
}

fn review_list(
    store: &LocalStore,
    kind: Kind,
    json: bool,
    all: bool,
    empty: &str,
) -> anyhow::Result<()> {
    let list: Vec<Record> = store
        .list(kind)?
        .into_iter()
        .filter(|r| all || r.fields.get("status").and_then(Value::as_str) == Some("terbuka"))
        .collect();
    if json {
        return output::json(&list.iter().map(record_json).collect::<Vec<_>>());
    }
    if list.is_empty() {
        println!("{empty}");
    }
    for r in list {
        println!("{}  {}", r.id, Value::Object(r.fields));
    }
    Ok(())
}

pub fn conflicts(store: &mut LocalStore, cmd: ConflictCmd) -> anyhow::Result<()> {
    match cmd {
        ConflictCmd::List { json, all } => {
            review_list(store, Kind::Conflict, json, all, "Tidak ada konflik.")
        }
        ConflictCmd::Resolve { id, choice } => {
            let id = parse_id(&id, "conflict")?;
            let choice = match choice.as_str() {
                "winning" | "menang" => Choice::Winning,
                "losing" | "kalah" => Choice::Losing,
                other => match other.strip_prefix("value=") {
                    Some(v) => {
                        Choice::Value(serde_json::from_str(v).unwrap_or_else(|_| Value::from(v)))
                    }
                    None => {
                        return Err(invalid(
                            "invalid_choice",
                            None,
                            "Pilih 'winning', 'losing' atau 'value=NILAI'".into(),
                            "Choose 'winning', 'losing' or 'value=VALUE'".into(),
                        ))
                    }
                },
            };
            store.resolve_conflict(id, choice)?;
            println!("Konflik diselesaikan; pilihan akan tersebar saat sinkronisasi.");
            Ok(())
        }
    }
}

pub fn duplicates(store: &mut LocalStore, cmd: DuplicateCmd) -> anyhow::Result<()> {
    match cmd {
        DuplicateCmd::List { json, all } => review_list(
            store,
            Kind::Duplicate,
            json,
            all,
            "Tidak ada kemungkinan duplikat.",
        ),
        DuplicateCmd::Merge { id, keep } => {
            let id = parse_id(&id, "duplicate")?;
            let keep = parse_id(&keep, "keep")?;
            store.merge_duplicate(id, keep).context("merge")?;
            println!("Digabung; penimbangan mengikuti anak {keep} setelah sinkronisasi.");
            Ok(())
        }
    }
}
