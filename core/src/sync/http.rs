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
    trust: Trust,
}

/// How a transport trusts its server, beyond the system's roots.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Extra certificates (PEM): a puskesmas's own CA, or its server's certificate.
    pub ca_pem: Option<String>,
    /// The SHA-256 (hex) of the one server certificate to accept (the server's own, pinned at
    /// enrollment): with it, nothing else is trusted.
    pub pin: Option<String>,
    /// Plain `http://` to another machine is allowed (`--insecure-http`).
    pub insecure_http: bool,
}

/// A fingerprint as people copy it (`AB:CD ...` or hex), as 64 lowercase hex digits.
pub fn normalize_fingerprint(s: &str) -> Result<String> {
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CoreError::invalid(Problem::new(
            "invalid_fingerprint",
            Some("tls_fingerprint"),
            "Sidik jari sertifikat harus 64 digit heksadesimal (SHA-256)".into(),
            "A certificate fingerprint is 64 hexadecimal digits (SHA-256)".into(),
        )));
    }
    Ok(hex)
}

/// Is this the address of this very machine (nothing travels over a network)?
fn is_loopback(base: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base) else {
        return false;
    };
    match url.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
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
        Self::with_trust(
            base,
            Trust {
                ca_pem: ca_pem.map(str::to_string),
                ..Trust::default()
            },
        )
    }

    /// Trusting the server as `trust` says. Plain `http://` is refused for any host but this
    /// machine unless `trust.insecure_http`; a pin needs `https://`.
    pub fn with_trust(base: &str, mut trust: Trust) -> Result<Self> {
        trust.pin = trust
            .pin
            .as_deref()
            .map(normalize_fingerprint)
            .transpose()?;
        let ca_pem = trust.ca_pem.as_deref();
        if base.trim().is_empty() {
            // A device opened from an enrollment file that named no server.
            return Err(CoreError::invalid(Problem::new(
                "no_server_url",
                None,
                "Perangkat ini tidak punya alamat server: sinkronkan dengan berkas bundel".into(),
                "This device has no server address: sync with bundle files".into(),
            )));
        }
        let https = base
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("https://");
        if !https && !trust.insecure_http && !is_loopback(base.trim()) {
            return Err(CoreError::invalid(Problem::new(
                "insecure_http",
                Some("server"),
                "Alamat http:// ke komputer lain tidak terenkripsi (kata sandi dan data terbaca \
                 di jaringan): pakai https://, atau --insecure-http bila memang disengaja"
                    .into(),
                "An http:// address on another machine is not encrypted (passwords and data can \
                 be read on the network): use https://, or --insecure-http if you mean it"
                    .into(),
            )));
        }
        let mut builder = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(300));
        if trust.pin.is_some() && !https {
            return Err(CoreError::invalid(Problem::new(
                "fingerprint_needs_https",
                Some("server"),
                "Sidik jari sertifikat hanya berguna untuk alamat https://".into(),
                "A certificate fingerprint is only used with an https:// server address".into(),
            )));
        }
        if let Some(pin) = &trust.pin {
            builder = builder.use_preconfigured_tls(pinned::config(Some(pin.clone())));
        }
        if let Some(pem) = ca_pem {
            if !https {
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
            trust,
        })
    }

    /// The SHA-256 of the certificate the server presents, read without trusting it (only the
    /// handshake and a health check travel): shown so a person can compare it with the one the
    /// puskesmas gives (`sinergi-server tls fingerprint`).
    pub fn probe_fingerprint(&self) -> Option<String> {
        let (config, seen) = pinned::recorder();
        let client = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(Duration::from_secs(10))
            .build()
            .ok()?;
        let _ = client.get(format!("{}/api/v1/health", self.base)).send();
        let fp = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        fp
    }

    /// A TLS failure explained: for a pinned server, that the certificate changed; otherwise the
    /// fingerprint the server showed, to compare and pin.
    fn explain_tls(&self, p: Problem) -> Problem {
        if let Some(pin) = &self.trust.pin {
            return Problem::new(
                "tls_pin_mismatch",
                None,
                format!(
                    "Sertifikat server berbeda dari yang dipercaya perangkat ini (sidik jari \
                     {pin}); jangan lanjutkan kecuali admin puskesmas memang menggantinya, lalu \
                     daftarkan ulang perangkat"
                ),
                format!(
                    "The server's certificate is not the one this device trusts (fingerprint \
                     {pin}); do not go on unless the puskesmas admin replaced it, then enroll \
                     the device again"
                ),
            );
        }
        match self.probe_fingerprint() {
            Some(fp) if p.code == "tls_untrusted" || p.code == "tls_wrong_name" => Problem::new(
                &p.code,
                Some("tls_fingerprint"),
                format!(
                    "{} Sidik jari sertifikat server: {fp}. Bila sama dengan yang diberikan \
                     admin puskesmas (sinergi-server tls fingerprint), daftarkan dengan \
                     --tls-fingerprint {fp}",
                    p.message
                ),
                format!(
                    "{} The server's certificate fingerprint: {fp}. If it is the one the \
                     puskesmas admin gives (sinergi-server tls fingerprint), enroll with \
                     --tls-fingerprint {fp}",
                    p.message_en
                ),
            ),
            _ => p,
        }
    }

    /// For an enrolled device: its server and the certificate it was enrolled with.
    pub fn for_store(store: &LocalStore) -> Result<Self> {
        let e = store.require_enrollment()?;
        Self::with_trust(
            &e.server_url,
            Trust {
                ca_pem: store.server_ca()?,
                pin: store.tls_pin()?,
                insecure_http: store.insecure_http()?,
            },
        )
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
        let resp = rb.send().map_err(|e| match transport_error(e) {
            CoreError::Tls(p) => CoreError::Tls(self.explain_tls(p)),
            other => other,
        })?;
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
        self.trust.ca_pem.clone()
    }

    fn tls_pin(&self) -> Option<String> {
        self.trust.pin.clone()
    }

    fn insecure_http(&self) -> bool {
        self.trust.insecure_http && !self.base.to_ascii_lowercase().starts_with("https://")
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

/// A certificate check by fingerprint alone: the server's own self-signed certificate, pinned at
/// enrollment, is the one accepted (its name and issuer do not matter; its key must still sign
/// the handshake).
mod pinned {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use sha2::{Digest, Sha256};
    use std::sync::{Arc, Mutex};

    #[derive(Debug)]
    struct Pinned {
        /// None: accept any certificate and only note its fingerprint (`probe_fingerprint`).
        pin: Option<String>,
        seen: Arc<Mutex<Option<String>>>,
        provider: Arc<CryptoProvider>,
    }

    fn build(pin: Option<String>) -> (rustls::ClientConfig, Arc<Mutex<Option<String>>>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let seen = Arc::new(Mutex::new(None));
        let verifier = Pinned {
            pin,
            seen: seen.clone(),
            provider: provider.clone(),
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        (config, seen)
    }

    /// Accept only the certificate with this fingerprint.
    pub(super) fn config(pin: Option<String>) -> rustls::ClientConfig {
        build(pin).0
    }

    /// Accept any certificate and keep its fingerprint (for showing, never for trusting).
    pub(super) fn recorder() -> (rustls::ClientConfig, Arc<Mutex<Option<String>>>) {
        build(None)
    }

    impl ServerCertVerifier for Pinned {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let fp = hex::encode(Sha256::digest(end_entity.as_ref()));
            let ok = self.pin.as_deref().is_none_or(|p| p == fp);
            *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(fp);
            if ok {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}
