//! sinergi-server: the puskesmas master copy. A thin front (HTTP, bundle files, admin commands)
//! over sinergi-core's model and merge rule, with storage behind one trait.

pub mod auth;
pub mod demo;
pub mod error;
pub mod http;
pub mod report;
pub mod service;
pub mod storage;

use std::net::SocketAddr;
use std::sync::Arc;

/// Serve until Ctrl-C / SIGTERM. Calls `ready` with the bound address (port 0 picks one).
pub async fn serve(
    service: Arc<service::Service>,
    bind: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    ready(listener.local_addr()?);
    axum::serve(listener, http::router(service))
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("signal handler");
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
        })
        .await
}
