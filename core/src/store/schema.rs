//! Versioned migrations of the device store. Append new steps; never edit a shipped one.

use rusqlite_migration::{Migrations, M};
use std::sync::LazyLock;

pub static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![M::up(
        r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Every record this device holds, in the shape the server sends: the current fields as JSON.
-- posyandu_id is the record's scope (own field, or its parent's); seq is the server sequence
-- of the version last pulled (0 = made here, not yet seen back). `fields` is what the device
-- shows: `base` (the last pulled server version, NULL if never pulled) with the pending edits
-- of the outbox applied on top.
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    posyandu_id TEXT,
    parent_id TEXT,
    fields TEXT NOT NULL,
    base TEXT,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX records_kind ON records(kind);
CREATE INDEX records_parent ON records(parent_id);
-- The transactional outbox: written in the same transaction as the record change.
CREATE TABLE outbox (
    device_seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL REFERENCES records(id),
    base_seq INTEGER NOT NULL,
    fields TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX outbox_id ON outbox(id);
-- Edits the server refused, kept with the reason until a person has seen them.
CREATE TABLE refused (
    device_seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    fields TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    message_en TEXT NOT NULL,
    refused_ms INTEGER NOT NULL
);
"#,
    )])
});

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::MIGRATIONS.validate().unwrap();
    }
}
