//! A record's field clocks as the master stores them: beside the values' JSON (what devices
//! pull and reports read), each field's name, clock and sequence in a compact binary form
//! (postcard), the writing devices' ids once per record. The JSON form it replaced repeated
//! every value and spelled every clock as text: four times the bytes, and most of a merge's
//! time went into writing and reading it.

use super::{MasterField, Result};
use crate::error::ServerError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sinergi_core::hlc::Hlc;
use sinergi_core::merge::FieldState;
use sinergi_core::model::Fields;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The first byte of every stored form: a later form can be told from this one.
const FORMAT: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    nodes: Vec<Uuid>,
    #[serde(borrow)]
    fields: Vec<Clock<'a>>,
}

#[derive(Serialize, Deserialize)]
struct Clock<'a> {
    name: &'a str,
    millis: i64,
    counter: u32,
    /// Index in `nodes`.
    node: u32,
    seq: i64,
}

/// The stored form of a record's fields' clocks (their values are stored as JSON beside it).
pub fn encode(fields: &BTreeMap<String, MasterField>) -> Vec<u8> {
    let mut nodes: Vec<Uuid> = Vec::new();
    let fields = fields
        .iter()
        .map(|(name, f)| {
            let node = match nodes.iter().position(|n| *n == f.state.hlc.node) {
                Some(i) => i,
                None => {
                    nodes.push(f.state.hlc.node);
                    nodes.len() - 1
                }
            };
            Clock {
                name,
                millis: f.state.hlc.millis,
                counter: f.state.hlc.counter,
                node: node as u32,
                seq: f.seq,
            }
        })
        .collect();
    let mut out = vec![FORMAT];
    out.extend(postcard::to_allocvec(&Stored { nodes, fields }).expect("clocks always encode"));
    out
}

/// A record's fields from its values' JSON and its stored clocks (a field without a value was
/// cleared: its value is null).
pub fn decode(values: &str, clocks: &[u8]) -> Result<BTreeMap<String, MasterField>> {
    let bad = |what: String| ServerError::Data(format!("stored clocks: {what}"));
    let (format, body) = clocks.split_first().ok_or_else(|| bad("empty".into()))?;
    if *format != FORMAT {
        return Err(bad(format!("unknown form {format}")));
    }
    let stored: Stored = postcard::from_bytes(body).map_err(|e| bad(e.to_string()))?;
    let mut values: Fields = serde_json::from_str(values)?;
    let mut out = BTreeMap::new();
    for c in stored.fields {
        let node = *stored
            .nodes
            .get(c.node as usize)
            .ok_or_else(|| bad(format!("node {} of {}", c.node, stored.nodes.len())))?;
        let value = values.remove(c.name).unwrap_or(Value::Null);
        out.insert(
            c.name.to_string(),
            MasterField {
                state: FieldState {
                    value,
                    hlc: Hlc {
                        millis: c.millis,
                        counter: c.counter,
                        node,
                    },
                },
                seq: c.seq,
            },
        );
    }
    if let Some(name) = values.keys().next() {
        return Err(bad(format!("value of {name:?} has no clock")));
    }
    Ok(out)
}

/// The stored clocks of a row written in the JSON form this one replaced (migrations).
pub fn from_json_meta(meta: &str) -> Result<Vec<u8>> {
    Ok(encode(&serde_json::from_str(meta)?))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::storage::MasterRecord;
    use sinergi_core::model::Kind;

    fn field(value: Value, millis: i64, node: u128, seq: i64) -> MasterField {
        MasterField {
            state: FieldState {
                value,
                hlc: Hlc {
                    millis,
                    counter: 3,
                    node: Uuid::from_u128(node),
                },
            },
            seq,
        }
    }

    /// A child with a cleared field and clocks of two devices (also the migrations' tests).
    pub fn sample_record() -> MasterRecord {
        let mut fields = BTreeMap::new();
        let name = field("Siti".into(), 1_765_000_000_000, 1, 40);
        fields.insert("name".into(), name);
        fields.insert("nik".into(), field(Value::Null, 1_765_000_000_001, 2, 41));
        fields.insert("weight_kg".into(), field(8.5.into(), 5, 1, 42));
        MasterRecord {
            kind: Kind::Child,
            id: Uuid::from_u128(9),
            posyandu_id: Some(Uuid::from_u128(3)),
            puskesmas_id: None,
            parent_id: None,
            fields,
            seq: 42,
        }
    }

    #[test]
    fn clocks_and_values_come_back_as_they_were_written() {
        let rec = sample_record();
        let fields = rec.fields.clone();
        let values = serde_json::to_string(&rec.values()).unwrap();
        let clocks = encode(&fields);
        assert_eq!(decode(&values, &clocks).unwrap(), fields);
        let json = serde_json::to_string(&fields).unwrap();
        assert_eq!(from_json_meta(&json).unwrap(), clocks);
        assert!(
            clocks.len() * 3 < json.len(),
            "{} vs {}",
            clocks.len(),
            json.len()
        );
    }

    #[test]
    fn a_damaged_row_is_an_error_not_a_guess() {
        let mut fields = BTreeMap::new();
        fields.insert("name".into(), field("Siti".into(), 1, 1, 1));
        let clocks = encode(&fields);
        assert!(decode(r#"{"name":"Siti","dusun":"A"}"#, &clocks).is_err());
        assert!(decode(r#"{"name":"Siti"}"#, &clocks[..clocks.len() - 2]).is_err());
        assert!(decode(r#"{"name":"Siti"}"#, &[9]).is_err());
        assert!(decode(r#"{"name":"Siti"}"#, &[]).is_err());
    }
}
