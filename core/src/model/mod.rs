//! The records Sinergi keeps: their kinds, fields and validation.

mod kind;
mod rights;
mod schema;
mod validate;

pub use kind::Kind;
pub use rights::{check_write, FieldRule, FIELD_RULES};
pub use schema::{
    check_type as check_field, field_spec, parse_field_value, FieldSpec, FieldType, MAX_ANY_BYTES,
    MAX_LONG_TEXT_CHARS, MAX_TEXT_CHARS, PARENT_FIELDS, REFERENCES,
};
pub use validate::{validate_record, Lookup, Warning};

/// A record's fields as stored and synced: field name -> JSON value.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// A record's values with an edit's changes on top: a changed field takes its new value, and a
/// null clears it (the rule every store and the server apply edits by).
pub fn apply_changes(values: &mut Fields, changes: &Fields) {
    for (k, v) in changes {
        if v.is_null() {
            values.remove(k);
        } else {
            values.insert(k.clone(), v.clone());
        }
    }
}
