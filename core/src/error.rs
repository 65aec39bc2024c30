//! Errors with stable codes. The code is the contract (UI, CLI, HTTP); messages are for people,
//! Indonesian first with an English twin.

use serde::{Deserialize, Serialize};

/// One problem with one record or request, as shown to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Problem {
    /// Stable machine code, e.g. `weight_out_of_range`.
    pub code: String,
    /// The field concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Indonesian message.
    pub message: String,
    /// English message.
    pub message_en: String,
}

impl Problem {
    pub fn new(code: &str, field: Option<&str>, message: String, message_en: String) -> Self {
        Problem {
            code: code.to_string(),
            field: field.map(str::to_string),
            message,
            message_en,
        }
    }
}

/// Everything that can go wrong in core.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{}", .0.first().map(|p| p.to_string()).unwrap_or_default())]
    Invalid(Vec<Problem>),
    #[error("not_found: {0}")]
    NotFound(String),
    #[error("not_enrolled: perangkat belum terdaftar ke server (jalankan `enroll` dulu)")]
    NotEnrolled,
    #[error("{0}")]
    Remote(Problem),
    /// The server had applied other edits under this device's numbers up to `.0` (the store
    /// was restored, copied or rolled back): the sync numbers the outbox again and resends.
    #[error("{1}")]
    SeqReused(u64, Problem),
    #[error("network: server tidak dapat dihubungi: {0}")]
    Network(String),
    /// The server was reached but its HTTPS certificate is not to be trusted (or TLS failed):
    /// `tls_untrusted`, `tls_wrong_name`, `tls_expired`, `tls_error`.
    #[error("{}", .0.message)]
    Tls(Problem),
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad_data: {0}")]
    BadData(String),
}

impl CoreError {
    /// The stable code of this error.
    pub fn code(&self) -> &str {
        match self {
            CoreError::Invalid(p) => p.first().map(|p| p.code.as_str()).unwrap_or("invalid"),
            CoreError::NotFound(_) => "not_found",
            CoreError::NotEnrolled => "not_enrolled",
            CoreError::Remote(p) | CoreError::SeqReused(_, p) => &p.code,
            CoreError::Network(_) => "network",
            CoreError::Tls(p) => &p.code,
            CoreError::Store(_) | CoreError::Migration(_) => "store",
            CoreError::Io(_) => "io",
            CoreError::BadData(_) => "bad_data",
        }
    }

    pub fn invalid(p: Problem) -> Self {
        CoreError::Invalid(vec![p])
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::BadData(e.to_string())
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
