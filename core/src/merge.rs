//! The merge rule, pure: per field, last writer wins by hybrid logical clock. Everything that
//! merges (server store, simulations, property tests) goes through these functions.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One field's value with the timestamp of the edit that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    pub value: Value,
    pub hlc: Hlc,
}

/// A record's fields with their timestamps.
pub type RecordState = BTreeMap<String, FieldState>;

/// The winner of two versions of one field. Equal timestamps can only come from the same edit,
/// but a deterministic tie-break on the value keeps the rule total even for forged input.
pub fn merge_field(a: &FieldState, b: &FieldState) -> FieldState {
    use std::cmp::Ordering::*;
    match a.hlc.cmp(&b.hlc) {
        Greater => a.clone(),
        Less => b.clone(),
        Equal => {
            let (sa, sb) = (a.value.to_string(), b.value.to_string());
            if sa >= sb {
                a.clone()
            } else {
                b.clone()
            }
        }
    }
}

/// Does `incoming` beat `current`? (The same rule as `merge_field`, without cloning.)
pub fn wins(incoming: &FieldState, current: &FieldState) -> bool {
    merge_field(incoming, current) == *incoming && incoming != current
}

/// Merge two versions of a record, field by field.
pub fn merge_records(a: &RecordState, b: &RecordState) -> RecordState {
    let mut out = a.clone();
    for (k, fb) in b {
        let merged = match out.get(k) {
            Some(fa) => merge_field(fa, fb),
            None => fb.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

/// Apply one edit (fields written at one timestamp) to a record state.
pub fn apply_edit(state: &mut RecordState, hlc: Hlc, fields: &serde_json::Map<String, Value>) {
    for (k, v) in fields {
        let incoming = FieldState {
            value: v.clone(),
            hlc,
        };
        let merged = match state.get(k) {
            Some(cur) => merge_field(cur, &incoming),
            None => incoming,
        };
        state.insert(k.clone(), merged);
    }
}
