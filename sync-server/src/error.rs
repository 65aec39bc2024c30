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
    /// A request reused an edit number the server had applied to a different edit (a store
    /// restored from a backup, copied, or rolled back); the highest number applied.
    #[error("seq_reused: edit numbers up to {0} were already used")]
    SeqReused(u64),
}

impl ServerError {
    pub fn status(&self) -> u16 {
        match self {
            ServerError::Request(s, _) => *s,
            ServerError::SeqReused(_) => 409,
            _ => 500,
        }
    }

    pub fn problem(&self) -> Problem {
        match self {
            ServerError::Request(_, p) => p.clone(),
            ServerError::SeqReused(_) => seq_reused(),
            other => Problem::new(
                "internal",
                None,
                format!("Kesalahan di server: {other}"),
                format!("Server error: {other}"),
            ),
        }
    }

    /// What a client is told: a request problem as it is; anything else only as `internal` with
    /// an incident id, while the detail goes to the server's log under that id (a client never
    /// sees the server's internals).
    pub fn public_problem(&self) -> Problem {
        if matches!(self, ServerError::Request(..) | ServerError::SeqReused(_)) {
            return self.problem();
        }
        let incident = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
        eprintln!("incident {incident}: {self}");
        Problem::new(
            "internal",
            None,
            format!("Terjadi kesalahan di server (insiden {incident}). Coba lagi nanti; bila berulang, sampaikan kode insiden ini kepada admin puskesmas."),
            format!("Server error (incident {incident}). Try again later; if it repeats, give this incident code to the puskesmas admin."),
        )
    }

    pub fn bad_request(status: u16, code: &str, id: String, en: String) -> Self {
        ServerError::Request(status, Problem::new(code, None, id, en))
    }
}

fn seq_reused() -> Problem {
    Problem::new(
        "seq_reused",
        None,
        "Nomor perubahan dari perangkat ini sudah dipakai untuk perubahan lain (data perangkat dipulihkan dari cadangan atau disalin); perangkat menomori ulang perubahannya lalu mengirim lagi, tidak ada yang hilang".into(),
        "This device's edit numbers were already used for other edits (its data was restored from a backup or copied); the device numbers its edits again and resends them, nothing is lost".into(),
    )
}

impl From<serde_json::Error> for ServerError {
    fn from(e: serde_json::Error) -> Self {
        ServerError::Data(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_reach_clients_as_a_code_and_an_incident_only() {
        let e = ServerError::Data("table records has no column secret_detail".into());
        let p = e.public_problem();
        assert_eq!(p.code, "internal");
        let incident = p.message_en.split("incident ").nth(1).unwrap()[..12].to_string();
        assert!(
            incident.bytes().all(|b| b.is_ascii_hexdigit()),
            "{incident}"
        );
        assert!(p.message.contains(&incident));
        assert!(!p.message.contains("secret_detail") && !p.message_en.contains("secret_detail"));
        let req = ServerError::bad_request(422, "x", "a".into(), "b".into());
        assert_eq!(req.public_problem().code, "x");
    }
}
