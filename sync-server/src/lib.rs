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
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How `serve_with` listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// Certificate chain and private key (PEM files): HTTPS instead of plain HTTP.
    pub tls: Option<TlsFiles>,
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

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The rustls configuration from PEM files: the certificate chain (leaf first) and its private
/// key (PKCS#8, PKCS#1 or SEC1). Errors name the file and what is wrong with it.
pub fn tls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let cert_pem = read(cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain ({e:?})", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE in the file", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("{}: no usable PEM private key ({e:?})", key.display()))?;
    // ring, explicitly: the one provider this workspace builds (the client uses it too).
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
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
            let config = tls_config(&tls.cert, &tls.key).map_err(std::io::Error::other)?;
            let tls = axum_server::tls_rustls::RustlsAcceptor::new(
                axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
            )
            .acceptor(limit);
            server.acceptor(tls).serve(app).await
        }
    }
}
