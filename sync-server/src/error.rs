//! Server errors: each has a stable code and an HTTP status.

use sinergi_core::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The request itself is wrong (4xx with this problem).
    #[error("{1}")]
    Request(u16, Problem),
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("data: {0}")]
    Data(String),
}

impl ServerError {
    pub fn status(&self) -> u16 {
        match self {
            ServerError::Request(s, _) => *s,
            _ => 500,
        }
    }

    pub fn problem(&self) -> Problem {
        match self {
            ServerError::Request(_, p) => p.clone(),
            other => Problem::new(
                "internal",
                None,
                format!("Kesalahan di server: {other}"),
                format!("Server error: {other}"),
            ),
        }
    }

    pub fn bad_request(status: u16, code: &str, id: String, en: String) -> Self {
        ServerError::Request(status, Problem::new(code, None, id, en))
    }
}

impl From<serde_json::Error> for ServerError {
    fn from(e: serde_json::Error) -> Self {
        ServerError::Data(e.to_string())
    }
}
