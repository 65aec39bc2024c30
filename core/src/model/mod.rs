//! The records Sinergi keeps: their kinds, fields and validation.

mod kind;
mod schema;
mod validate;

pub use kind::Kind;
pub use schema::{
    check_type as check_field, field_spec, parse_field_value, FieldSpec, FieldType, PARENT_FIELDS,
};
pub use validate::{validate_record, Lookup, Warning};

/// A record's fields as stored and synced: field name -> JSON value.
pub type Fields = serde_json::Map<String, serde_json::Value>;
