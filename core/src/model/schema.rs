//! The fields of each record kind (DOMAIN.md) and their types. This table is the one place that
//! says what a record may hold; the store, the CLI and the server all read it.

use super::Kind;
use crate::error::Problem;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldType {
    Text,
    Date,
    Number,
    Integer,
    Bool,
    Id,
    /// Free JSON (conflict values).
    Any,
    Enum(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
}

const fn f(name: &'static str, ty: FieldType, required: bool) -> FieldSpec {
    FieldSpec { name, ty, required }
}

use FieldType::*;

const SEX: FieldType = Enum(&["L", "P"]);
const PERSON_STATUS: FieldType = Enum(&["aktif", "pindah", "meninggal", "digabung"]);

const PUSKESMAS: &[FieldSpec] = &[f("name", Text, true), f("code", Text, false)];
const DESA: &[FieldSpec] = &[f("puskesmas_id", Id, true), f("name", Text, true)];
const POSYANDU: &[FieldSpec] = &[
    f("desa_id", Id, true),
    f("puskesmas_id", Id, true),
    f("name", Text, true),
];
const CHILD: &[FieldSpec] = &[
    f("posyandu_id", Id, true),
    f("name", Text, true),
    f("sex", SEX, true),
    f("birth_date", Date, true),
    f("birth_weight_kg", Number, false),
    f("birth_length_cm", Number, false),
    f("nik", Text, false),
    f("no_kk", Text, false),
    f("mother_id", Id, false),
    f("mother_name", Text, false),
    f("father_name", Text, false),
    f("dusun", Text, false),
    f("rt_rw", Text, false),
    f("has_kms", Bool, false),
    f("status", PERSON_STATUS, false),
    f("status_date", Date, false),
    f("merged_into", Id, false),
];
const WOMAN: &[FieldSpec] = &[
    f("posyandu_id", Id, true),
    f("name", Text, true),
    f("birth_date", Date, false),
    f("nik", Text, false),
    f("no_kk", Text, false),
    f("husband_name", Text, false),
    f("dusun", Text, false),
    f("rt_rw", Text, false),
    f("status", PERSON_STATUS, false),
    f("status_date", Date, false),
];
const PREGNANCY: &[FieldSpec] = &[
    f("woman_id", Id, true),
    f("hpht", Date, false),
    f("due_date", Date, false),
    f("gravida", Integer, false),
    f("para", Integer, false),
    f("abortus", Integer, false),
    f(
        "td_status",
        Enum(&["T0", "T1", "T2", "T3", "T4", "T5"]),
        false,
    ),
    f(
        "outcome",
        Enum(&[
            "hamil",
            "lahir_hidup",
            "lahir_mati",
            "keguguran",
            "ibu_meninggal",
        ]),
        false,
    ),
    f("outcome_date", Date, false),
];
const PREGNANCY_VISIT: &[FieldSpec] = &[
    f("pregnancy_id", Id, true),
    f("date", Date, true),
    f("weight_kg", Number, false),
    f("muac_cm", Number, false),
    f("hb_g_dl", Number, false),
    f("td_given", Enum(&["T1", "T2", "T3", "T4", "T5"]), false),
    f("iron_tablets", Integer, false),
    f(
        "contact",
        Enum(&["K1", "K2", "K3", "K4", "K5", "K6"]),
        false,
    ),
];
const MEASUREMENT: &[FieldSpec] = &[
    f("child_id", Id, true),
    f("date", Date, true),
    f("weight_kg", Number, false),
    f("length_cm", Number, false),
    f("position", Enum(&["lying", "standing"]), false),
    f("head_cm", Number, false),
    f("muac_cm", Number, false),
    f("oedema", Bool, false),
    f("exclusive_bf", Bool, false),
    f("place", Enum(&["posyandu", "kunjungan_rumah"]), false),
    f("measured_by", Text, false),
];
/// Vaccine codes of the national schedule (`data/schedule.json`; a test keeps the two equal).
pub const VACCINES: &[&str] = &[
    "HB0",
    "BCG",
    "OPV1",
    "OPV2",
    "OPV3",
    "OPV4",
    "DPT_HB_HIB1",
    "DPT_HB_HIB2",
    "DPT_HB_HIB3",
    "DPT_HB_HIB4",
    "PCV1",
    "PCV2",
    "PCV3",
    "IPV",
    "MR1",
    "MR2",
    "ROTA1",
    "ROTA2",
    "ROTA3",
    "JE",
];
const IMMUNIZATION: &[FieldSpec] = &[
    f("child_id", Id, true),
    f("vaccine", Enum(VACCINES), true),
    f("date", Date, true),
];
const VITAMIN_A: &[FieldSpec] = &[
    f("child_id", Id, true),
    f("date", Date, true),
    f("capsule", Enum(&["biru", "merah"]), true),
];
const REFERRAL: &[FieldSpec] = &[
    f("child_id", Id, false),
    f("woman_id", Id, false),
    f("date", Date, true),
    f(
        "reason",
        Enum(&[
            "2t",
            "bgm",
            "gizi_buruk",
            "kek",
            "anemia",
            "tanda_bahaya",
            "lainnya",
        ]),
        true,
    ),
    f("note", Text, false),
    f("destination", Text, false),
    f("status", Enum(&["menunggu", "dijawab", "selesai"]), false),
    f("answer_date", Date, false),
    f("seen", Bool, false),
    f("diagnosis", Text, false),
    f("action", Text, false),
    f("advice", Text, false),
];
const EVENT: &[FieldSpec] = &[
    f("posyandu_id", Id, true),
    f("type", Enum(&["lahir", "meninggal"]), true),
    f("subject", Enum(&["ibu", "bayi", "balita"]), true),
    f("date", Date, true),
    f("child_id", Id, false),
    f("woman_id", Id, false),
    f("note", Text, false),
];
const CONFLICT: &[FieldSpec] = &[
    f("record_kind", Text, true),
    f("record_id", Id, true),
    f("field", Text, true),
    f("winning_value", Any, false),
    f("losing_value", Any, false),
    f("losing_device", Text, false),
    f("status", Enum(&["terbuka", "selesai"]), true),
    f("chosen_value", Any, false),
];
const DUPLICATE: &[FieldSpec] = &[
    f("child_a", Id, true),
    f("child_b", Id, true),
    f("reason", Enum(&["nik", "nama_lahir_ibu"]), true),
    f(
        "status",
        Enum(&["terbuka", "digabung", "bukan_duplikat"]),
        true,
    ),
    f("kept_id", Id, false),
];

/// Which field of a dependent record names the record whose posyandu it belongs to,
/// in order of preference.
pub const PARENT_FIELDS: &[(Kind, &[&str])] = &[
    (Kind::Pregnancy, &["woman_id"]),
    (Kind::PregnancyVisit, &["pregnancy_id"]),
    (Kind::Measurement, &["child_id"]),
    (Kind::Immunization, &["child_id"]),
    (Kind::VitaminA, &["child_id"]),
    (Kind::Referral, &["child_id", "woman_id"]),
    (Kind::Conflict, &["record_id"]),
    (Kind::Duplicate, &["child_a"]),
];

/// The fields that point at another record (other than the posyandu, desa and puskesmas a record
/// belongs to), and the kind they point at (`None`: any kind). Every one must point inside the
/// writer's scope; the server checks it on every edit.
pub const REFERENCES: &[(Kind, &str, Option<Kind>)] = &[
    (Kind::Child, "mother_id", Some(Kind::Woman)),
    (Kind::Child, "merged_into", Some(Kind::Child)),
    (Kind::Pregnancy, "woman_id", Some(Kind::Woman)),
    (Kind::PregnancyVisit, "pregnancy_id", Some(Kind::Pregnancy)),
    (Kind::Measurement, "child_id", Some(Kind::Child)),
    (Kind::Immunization, "child_id", Some(Kind::Child)),
    (Kind::VitaminA, "child_id", Some(Kind::Child)),
    (Kind::Referral, "child_id", Some(Kind::Child)),
    (Kind::Referral, "woman_id", Some(Kind::Woman)),
    (Kind::Event, "child_id", Some(Kind::Child)),
    (Kind::Event, "woman_id", Some(Kind::Woman)),
    (Kind::Conflict, "record_id", None),
    (Kind::Duplicate, "child_a", Some(Kind::Child)),
    (Kind::Duplicate, "child_b", Some(Kind::Child)),
    (Kind::Duplicate, "kept_id", Some(Kind::Child)),
];

/// The longest text a short field (a name, a code) may hold, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// The longest text of a free-text field (a note, a diagnosis, advice), in characters.
pub const MAX_LONG_TEXT_CHARS: usize = 2000;
/// Free-text fields: they get `MAX_LONG_TEXT_CHARS`, every other text `MAX_TEXT_CHARS`.
const LONG_TEXT: &[&str] = &["note", "diagnosis", "action", "advice"];
/// The largest free JSON value (a conflict's two values), in bytes once serialized.
pub const MAX_ANY_BYTES: usize = 4096;

impl Kind {
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Kind::Puskesmas => PUSKESMAS,
            Kind::Desa => DESA,
            Kind::Posyandu => POSYANDU,
            Kind::Child => CHILD,
            Kind::Woman => WOMAN,
            Kind::Pregnancy => PREGNANCY,
            Kind::PregnancyVisit => PREGNANCY_VISIT,
            Kind::Measurement => MEASUREMENT,
            Kind::Immunization => IMMUNIZATION,
            Kind::VitaminA => VITAMIN_A,
            Kind::Referral => REFERRAL,
            Kind::Event => EVENT,
            Kind::Conflict => CONFLICT,
            Kind::Duplicate => DUPLICATE,
        }
    }

    /// The fields naming this record's parent (empty for records that carry `posyandu_id`).
    pub fn parent_fields(self) -> &'static [&'static str] {
        PARENT_FIELDS
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, f)| *f)
            .unwrap_or(&[])
    }
}

pub fn field_spec(kind: Kind, field: &str) -> Option<&'static FieldSpec> {
    kind.fields().iter().find(|s| s.name == field)
}

fn unknown_field(kind: Kind, field: &str) -> Problem {
    // The name came from outside: never echo more of it than a person can read.
    let field: String = field.chars().take(64).collect();
    let field = field.as_str();
    Problem::new(
        "unknown_field",
        Some(field),
        format!("Kolom '{field}' tidak dikenal untuk {kind}"),
        format!("Unknown field '{field}' for {kind}"),
    )
}

fn bad_value(field: &str, want_id: &str, want_en: &str, got: &str) -> Problem {
    Problem::new(
        "invalid_value",
        Some(field),
        format!("Nilai '{got}' untuk '{field}' tidak sah: harus {want_id}"),
        format!("Value '{got}' for '{field}' is not valid: must be {want_en}"),
    )
}

/// Check that a JSON value has the type a field wants. `null` clears an optional field.
pub fn check_type(kind: Kind, field: &str, v: &Value) -> Result<(), Problem> {
    let spec = field_spec(kind, field).ok_or_else(|| unknown_field(kind, field))?;
    if v.is_null() {
        return Ok(());
    }
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    check_length(spec, field, v)?;
    let ok = match spec.ty {
        Text => v.as_str().is_some_and(|s| !s.trim().is_empty()),
        Date => v.as_str().is_some_and(|s| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
        }),
        Number => v.as_f64().is_some_and(f64::is_finite),
        Integer => v.as_i64().is_some(),
        Bool => v.is_boolean(),
        Id => v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        Any => true,
        Enum(opts) => v.as_str().is_some_and(|s| opts.contains(&s)),
    };
    if ok {
        return Ok(());
    }
    Err(match spec.ty {
        Text => bad_value(field, "teks yang tidak kosong", "non-empty text", &shown),
        Date => bad_value(field, "tanggal TTTT-BB-HH", "a date YYYY-MM-DD", &shown),
        Number => bad_value(field, "angka", "a number", &shown),
        Integer => bad_value(field, "bilangan bulat", "a whole number", &shown),
        Bool => bad_value(field, "ya/tidak (true/false)", "true/false", &shown),
        Id => bad_value(field, "ID (UUID)", "an id (UUID)", &shown),
        Any => unreachable!(),
        Enum(opts) => {
            let list = opts.join(", ");
            bad_value(
                field,
                &format!("salah satu dari {list}"),
                &format!("one of {list}"),
                &shown,
            )
        }
    })
}

/// No value may grow so large that it burdens every device that syncs it (one 35 MB name once
/// blocked a whole puskesmas's sync).
fn check_length(spec: &FieldSpec, field: &str, v: &Value) -> Result<(), Problem> {
    let (len, max, unit_id, unit_en) = match (spec.ty, v) {
        (Text, Value::String(s)) => {
            let max = if LONG_TEXT.contains(&field) {
                MAX_LONG_TEXT_CHARS
            } else {
                MAX_TEXT_CHARS
            };
            (s.chars().count(), max, "huruf", "characters")
        }
        (Any, _) => (v.to_string().len(), MAX_ANY_BYTES, "byte", "bytes"),
        (_, Value::String(s)) => (s.chars().count(), MAX_TEXT_CHARS, "huruf", "characters"),
        _ => return Ok(()),
    };
    if len <= max {
        return Ok(());
    }
    Err(Problem::new(
        "text_too_long",
        Some(field),
        format!("Isian '{field}' terlalu panjang: {len} {unit_id}, paling banyak {max}"),
        format!("'{field}' is too long: {len} {unit_en}, at most {max}"),
    ))
}

/// Turn what a person typed (`FIELD=VALUE` on the command line, a form field) into the JSON
/// value the field wants. An empty string clears an optional field.
pub fn parse_field_value(kind: Kind, field: &str, raw: &str) -> Result<Value, Problem> {
    let spec = field_spec(kind, field).ok_or_else(|| unknown_field(kind, field))?;
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    let v = match spec.ty {
        Number => raw
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.into())),
        Integer => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.into())),
        Bool => match raw.to_lowercase().as_str() {
            "true" | "ya" | "y" | "1" => Value::Bool(true),
            "false" | "tidak" | "t" | "n" | "0" => Value::Bool(false),
            _ => Value::String(raw.into()),
        },
        Any => serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.into())),
        _ => Value::String(raw.into()),
    };
    check_type(kind, field, &v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vaccine_codes_match_the_schedule_data() {
        let mut in_schedule: Vec<&str> = crate::growth::schedule()
            .vaccines
            .iter()
            .map(|v| v.code.as_str())
            .collect();
        let mut here = VACCINES.to_vec();
        in_schedule.sort_unstable();
        here.sort_unstable();
        assert_eq!(here, in_schedule);
    }

    #[test]
    fn typed_values_from_what_people_type() {
        let v = parse_field_value(Kind::Measurement, "weight_kg", "8,5").unwrap();
        assert_eq!(v, serde_json::json!(8.5));
        assert_eq!(
            parse_field_value(Kind::Measurement, "oedema", "ya").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            parse_field_value(Kind::Child, "nik", "").unwrap(),
            Value::Null
        );
        let e = parse_field_value(Kind::Child, "sex", "X").unwrap_err();
        assert_eq!(e.code, "invalid_value");
        assert_eq!(
            parse_field_value(Kind::Child, "warna", "biru")
                .unwrap_err()
                .code,
            "unknown_field"
        );
    }
}
