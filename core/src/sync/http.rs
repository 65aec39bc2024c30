//! The HTTP transport: gzip-compressed JSON over one POST per exchange.

use super::Transport;
use crate::error::{CoreError, Problem, Result};
use crate::protocol::{self, EnrollRequest, EnrollResponse, ErrorBody, SyncRequest, SyncResponse};
use std::time::Duration;

pub struct HttpTransport {
    base: String,
    client: reqwest::blocking::Client,
}

impl HttpTransport {
    pub fn new(base: &str) -> Result<Self> {
        if base.trim().is_empty() {
            // A device opened from an enrollment file that named no server.
            return Err(CoreError::invalid(Problem::new(
                "no_server_url",
                None,
                "Perangkat ini tidak punya alamat server: sinkronkan dengan berkas bundel".into(),
                "This device has no server address: sync with bundle files".into(),
            )));
        }
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| CoreError::Network(e.to_string()))?;
        Ok(HttpTransport {
            base: base.trim_end_matches('/').to_string(),
            client,
        })
    }

    fn post<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &T,
    ) -> Result<R> {
        let mut rb = self
            .client
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(protocol::encode(body));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().map_err(|e| CoreError::Network(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .map_err(|e| CoreError::Network(e.to_string()))?;
        if !status.is_success() {
            let problem = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|b| b.error)
                .unwrap_or_else(|_| {
                    Problem::new(
                        "http_error",
                        None,
                        format!("Server menjawab {status}"),
                        format!("Server answered {status}"),
                    )
                });
            return Err(CoreError::Remote(problem));
        }
        // reqwest has already undone the response's Content-Encoding.
        protocol::decode(&bytes, false).map_err(CoreError::Remote)
    }
}

impl Transport for HttpTransport {
    fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        self.post("/api/v1/enroll", None, req)
    }

    fn exchange(&self, token: &str, req: &SyncRequest) -> Result<SyncResponse> {
        self.post("/api/v1/sync", Some(token), req)
    }
}
