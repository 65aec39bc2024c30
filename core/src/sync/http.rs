//! The HTTP transport: compressed JSON (brotli up, gzip down) over one POST per exchange, over plain HTTP or HTTPS
//! (rustls, trusting the system roots plus, optionally, one extra certificate given at
//! enrollment: a puskesmas's own CA or its server's self-signed certificate).

use super::Transport;
use crate::error::{CoreError, Problem, Result};
use crate::protocol::{self, EnrollRequest, EnrollResponse, ErrorBody, SyncRequest, SyncResponse};
use crate::store::LocalStore;
use std::time::Duration;

pub struct HttpTransport {
    base: String,
    client: reqwest::blocking::Client,
    ca_pem: Option<String>,
}

fn bad_ca(en: &str) -> CoreError {
    CoreError::invalid(Problem::new(
        "invalid_ca_cert",
        Some("ca_cert"),
        format!("Berkas sertifikat CA tidak dapat dipakai: {en}"),
        format!("The CA certificate file cannot be used: {en}"),
    ))
}

impl HttpTransport {
    /// Trusting the system roots only.
    pub fn new(base: &str) -> Result<Self> {
        Self::with_ca(base, None)
    }

    /// Trusting the system roots and the certificates in `ca_pem` (PEM, one or more).
    pub fn with_ca(base: &str, ca_pem: Option<&str>) -> Result<Self> {
        if base.trim().is_empty() {
            // A device opened from an enrollment file that named no server.
            return Err(CoreError::invalid(Problem::new(
                "no_server_url",
                None,
                "Perangkat ini tidak punya alamat server: sinkronkan dengan berkas bundel".into(),
                "This device has no server address: sync with bundle files".into(),
            )));
        }
        let mut builder = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(300));
        if let Some(pem) = ca_pem {
            if !base
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("https://")
            {
                return Err(CoreError::invalid(Problem::new(
                    "ca_cert_needs_https",
                    Some("server"),
                    "Sertifikat CA hanya berguna untuk alamat https://".into(),
                    "A CA certificate is only used with an https:// server address".into(),
                )));
            }
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| bad_ca(&e.to_string()))?;
            if certs.is_empty() {
                return Err(bad_ca("no PEM CERTIFICATE in it"));
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder.build().map_err(|e| match ca_pem {
            Some(_) => bad_ca(&error_chain(&e)),
            None => CoreError::Network(error_chain(&e)),
        })?;
        Ok(HttpTransport {
            base: base.trim_end_matches('/').to_string(),
            client,
            ca_pem: ca_pem.map(str::to_string),
        })
    }

    /// For an enrolled device: its server and the certificate it was enrolled with.
    pub fn for_store(store: &LocalStore) -> Result<Self> {
        let e = store.require_enrollment()?;
        Self::with_ca(&e.server_url, store.server_ca()?.as_deref())
    }

    fn post<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &T,
    ) -> Result<R> {
        let body = protocol::encode_request(body);
        self.post_bytes(path, token, protocol::Encoding::Brotli, body)
    }

    fn post_bytes<R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        encoding: protocol::Encoding,
        body: Vec<u8>,
    ) -> Result<R> {
        let mut rb = self
            .client
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .header("content-encoding", encoding.header())
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().map_err(transport_error)?;
        let status = resp.status();
        let bytes = resp.bytes().map_err(transport_error)?;
        if !status.is_success() {
            let Ok(body) = serde_json::from_slice::<ErrorBody>(&bytes) else {
                return Err(CoreError::Remote(Problem::new(
                    "http_error",
                    None,
                    format!("Server menjawab {status}"),
                    format!("Server answered {status}"),
                )));
            };
            return Err(match body.last_applied {
                Some(n) if body.error.code == "seq_reused" => CoreError::SeqReused(n, body.error),
                _ => CoreError::Remote(body.error),
            });
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

    fn token(&self, sealed: &[u8]) -> Result<String> {
        // A sealed file is gzip-compressed JSON: it travels as it is.
        let r: protocol::TokenResponse = self.post_bytes(
            "/api/v1/token",
            None,
            protocol::Encoding::Gzip,
            sealed.to_vec(),
        )?;
        Ok(r.token)
    }

    fn trusted_ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }
}

/// The error and its causes on one line (reqwest's own message is only the outermost).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// A TLS failure is told apart from an unreachable server: the user must not simply retry,
/// and must never be told to "just accept" the certificate.
fn transport_error(e: reqwest::Error) -> CoreError {
    match tls_problem(&e) {
        Some(p) => CoreError::Tls(p),
        None => CoreError::Network(error_chain(&e)),
    }
}

fn tls_problem(e: &(dyn std::error::Error + 'static)) -> Option<Problem> {
    find_rustls(e).map(classify)
}

/// The rustls error behind a failed request, however deep: hyper and tokio-rustls wrap it in
/// io::Errors, and io::Error's `source` skips the error it wraps.
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if let Some(r) = find_rustls(inner as &(dyn std::error::Error + 'static)) {
            return Some(r);
        }
    }
    e.source().and_then(find_rustls)
}

fn classify(e: &rustls::Error) -> Problem {
    use rustls::CertificateError as C;
    let detail = e.to_string();
    let (code, id, en) = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::NotValidForName | C::NotValidForNameContext { .. } => (
                "tls_wrong_name",
                "Sertifikat HTTPS server bukan untuk alamat ini",
                "The server's HTTPS certificate is not for this address",
            ),
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => (
                "tls_expired",
                "Sertifikat HTTPS server kedaluwarsa atau belum berlaku (periksa juga tanggal perangkat)",
                "The server's HTTPS certificate has expired or is not valid yet (check the device's date too)",
            ),
            _ => (
                "tls_untrusted",
                "Sertifikat HTTPS server tidak dipercaya; daftarkan dengan --ca-cert berkas sertifikat puskesmas",
                "The server's HTTPS certificate is not trusted; enroll with --ca-cert and the puskesmas's certificate",
            ),
        },
        _ => (
            "tls_error",
            "Sambungan HTTPS ke server gagal (apakah alamatnya https:// yang benar?)",
            "The HTTPS connection to the server failed (is it the right https:// address?)",
        ),
    };
    Problem::new(
        code,
        None,
        format!("{id} ({detail})"),
        format!("{en} ({detail})"),
    )
}
