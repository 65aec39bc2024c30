//! sinergi-server: the puskesmas master copy. A thin front (HTTP, bundle files, admin commands)
//! over sinergi-core's model and merge rule, with storage behind one trait.

pub mod auth;
pub mod conn_limit;
pub mod demo;
pub mod error;
pub mod http;
pub mod report;
pub mod service;
pub mod storage;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// How `serve_with` listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// Certificate chain and private key: HTTPS instead of plain HTTP.
    pub tls: Option<TlsIdentity>,
    pub login: auth::LoginLimits,
}

impl ServeOptions {
    pub fn http(bind: SocketAddr) -> Self {
        ServeOptions {
            bind,
            tls: None,
            login: auth::LoginLimits::default(),
        }
    }
}

/// A certificate chain (PEM, leaf first) and its private key (PEM), with where they came from
/// (for error messages).
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub cert_from: String,
    pub key_from: String,
}

impl TlsIdentity {
    /// From PEM files given by the admin.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, String> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        Ok(TlsIdentity {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            cert_from: cert.display().to_string(),
            key_from: key.display().to_string(),
        })
    }

    /// SHA-256 of the leaf certificate (hex): what devices pin.
    pub fn fingerprint(&self) -> Result<String, String> {
        use rustls::pki_types::pem::PemObject;
        use sha2::{Digest, Sha256};
        let leaf = rustls::pki_types::CertificateDer::pem_slice_iter(&self.cert_pem)
            .next()
            .ok_or_else(|| format!("{}: no CERTIFICATE in the file", self.cert_from))?
            .map_err(|e| format!("{}: not a PEM certificate ({e:?})", self.cert_from))?;
        Ok(hex::encode(Sha256::digest(leaf.as_ref())))
    }
}

/// The rustls configuration from PEM: the certificate chain (leaf first) and its private key
/// (PKCS#8, PKCS#1 or SEC1). Errors name the file and what is wrong with it.
pub fn tls_config(id: &TlsIdentity) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = (&id.cert_from, &id.key_from);
    let certs = CertificateDer::pem_slice_iter(&id.cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{cert}: not a PEM certificate chain ({e:?})"))?;
    if certs.is_empty() {
        return Err(format!("{cert}: no CERTIFICATE in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&id.key_pem)
        .map_err(|e| format!("{key}: no usable PEM private key ({e:?})"))?;
    // ring, explicitly: the one provider this workspace builds (the client uses it too).
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| format!("{cert} and {key}: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Serve plain HTTP until Ctrl-C / SIGTERM. Calls `ready` with the bound address (port 0 picks one).
pub async fn serve(
    service: Arc<service::Service>,
    bind: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    serve_with(service, ServeOptions::http(bind), ready).await
}

/// Serve HTTP or HTTPS until Ctrl-C / SIGTERM. Calls `ready` with the bound address.
pub async fn serve_with(
    service: Arc<service::Service>,
    opts: ServeOptions,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let app =
        http::router_with(service, opts.login).into_make_service_with_connect_info::<SocketAddr>();
    let listener = std::net::TcpListener::bind(opts.bind)?;
    listener.set_nonblocking(true)?;
    ready(listener.local_addr()?);
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let limit = conn_limit::LimitAcceptor::new(
        axum_server::accept::DefaultAcceptor::new(),
        conn_limit::MAX_CONNECTIONS,
    );
    let mut server = axum_server::from_tcp(listener)?
        .handle(handle)
        .first_request_timeout(conn_limit::HEAD_TIMEOUT);
    server
        .http_builder()
        .http1()
        .header_read_timeout(conn_limit::HEAD_TIMEOUT);
    match opts.tls {
        None => server.acceptor(limit).serve(app).await,
        Some(tls) => {
            let config = tls_config(&tls).map_err(std::io::Error::other)?;
            let tls = axum_server::tls_rustls::RustlsAcceptor::new(
                axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
            )
            .acceptor(limit);
            server.acceptor(tls).serve(app).await
        }
    }
}
