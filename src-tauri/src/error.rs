//! Errors as the UI receives them: the stable code of the core, the field concerned and the
//! message in both languages. Every command returns `Result<T, AppError>`.

use serde::Serialize;
use sinergi_core::{CoreError, Problem};
use ts_rs::TS;

/// An error crossing the IPC boundary. `code` is the contract the UI maps to its own texts;
/// `message`/`message_en` are the core's words, shown when the UI has no better text.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AppError {
    pub code: String,
    pub message: String,
    pub message_en: String,
    pub field: Option<String>,
    /// Every problem when the core found several (e.g. two invalid fields of one form).
    pub problems: Vec<ProblemDto>,
}

/// One problem with one field, as the core reports it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProblemDto {
    pub code: String,
    pub field: Option<String>,
    pub message: String,
    pub message_en: String,
}

impl From<&Problem> for ProblemDto {
    fn from(p: &Problem) -> Self {
        ProblemDto {
            code: p.code.clone(),
            field: p.field.clone(),
            message: p.message.clone(),
            message_en: p.message_en.clone(),
        }
    }
}

impl From<Problem> for AppError {
    fn from(p: Problem) -> Self {
        CoreError::invalid(p).into()
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        let code = e.code().to_string();
        match e {
            CoreError::Invalid(ps) => {
                let first = ps.first().cloned();
                AppError {
                    code,
                    message: first
                        .as_ref()
                        .map(|p| p.message.clone())
                        .unwrap_or_default(),
                    message_en: first
                        .as_ref()
                        .map(|p| p.message_en.clone())
                        .unwrap_or_default(),
                    field: first.and_then(|p| p.field),
                    problems: ps.iter().map(ProblemDto::from).collect(),
                }
            }
            CoreError::Remote(p) => AppError {
                code,
                message: p.message.clone(),
                message_en: p.message_en.clone(),
                field: p.field.clone(),
                problems: vec![ProblemDto::from(&p)],
            },
            CoreError::NotFound(what) => AppError::new(
                &code,
                format!("Data tidak ditemukan: {what}"),
                format!("Not found: {what}"),
            ),
            CoreError::NotEnrolled => AppError::new(
                &code,
                "Perangkat belum terdaftar ke server".into(),
                "This device is not enrolled yet".into(),
            ),
            CoreError::Network(m) => AppError::new(
                &code,
                format!("Server tidak dapat dihubungi: {m}"),
                format!("The server cannot be reached: {m}"),
            ),
            other => {
                let m = other.to_string();
                AppError::new(&code, m.clone(), m)
            }
        }
    }
}

impl From<sinergi_core::report::WriteError> for AppError {
    fn from(e: sinergi_core::report::WriteError) -> Self {
        let m = e.to_string();
        AppError::new("io", format!("Berkas tidak dapat ditulis: {m}"), m)
    }
}

impl AppError {
    pub fn new(code: &str, message: String, message_en: String) -> Self {
        AppError {
            code: code.to_string(),
            message,
            message_en,
            field: None,
            problems: Vec::new(),
        }
    }

    pub fn invalid(code: &str, field: &str, message: String, message_en: String) -> Self {
        Problem::new(code, Some(field), message, message_en).into()
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_problem_keeps_code_field_and_both_messages() {
        let e: AppError = CoreError::invalid(Problem::new(
            "weight_out_of_range",
            Some("weight_kg"),
            "Berat di luar batas".into(),
            "Weight out of range".into(),
        ))
        .into();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "weight_out_of_range");
        assert_eq!(v["field"], "weight_kg");
        assert_eq!(v["message"], "Berat di luar batas");
        assert_eq!(v["message_en"], "Weight out of range");
        assert_eq!(v["problems"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn network_and_not_enrolled_keep_their_codes() {
        let e: AppError = CoreError::Network("refused".into()).into();
        assert_eq!(e.code, "network");
        let e: AppError = CoreError::NotEnrolled.into();
        assert_eq!(e.code, "not_enrolled");
        assert!(e.field.is_none());
    }
}
