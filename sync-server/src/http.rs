//! The HTTP front: enrollment and the one sync exchange, compressed JSON in (brotli or gzip)
//! and gzip JSON out, JSON errors with stable codes. All domain work happens in the store
//! (blocking, off the async threads).

use crate::auth;
use crate::auth::{LoginLimiter, LoginLimits};
use crate::conn_limit::BODY_TIMEOUT;
use crate::error::ServerError;
use crate::service::Service;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, FromRef, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sinergi_core::protocol::{self, EnrollRequest, ErrorBody, SyncRequest};
use sinergi_core::report::Level;
use sinergi_core::Problem;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Largest body on the wire (compressed); the decompressed limit is `MAX_BODY_BYTES`.
pub const MAX_WIRE_BYTES: usize = 16 * 1024 * 1024;
/// An enrollment is a user name, a password and a device name: it never needs more.
const MAX_ENROLL_WIRE_BYTES: usize = 64 * 1024;
/// A signed token request is a few hundred bytes.
const MAX_TOKEN_WIRE_BYTES: usize = 8 * 1024;

/// How many requests may be decoded, merged or checked (argon2) at once. The rest wait here,
/// as cheap async tasks, instead of each holding a blocking thread with its own heap and, for a
/// login, 19 MiB of argon2 memory: when every kader of a puskesmas syncs at the same moment the
/// server's memory stays flat, and the SQLite store serializes the writes anyway.
static BLOCKING_SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new((cores * 2).max(4))
    });

/// Wait for a slot: everything that costs memory or CPU (reading and decoding a body, a merge,
/// a report) runs while holding one.
async fn slot() -> Result<tokio::sync::SemaphorePermit<'static>, ServerError> {
    BLOCKING_SLOTS
        .acquire()
        .await
        .map_err(|e| ServerError::Data(e.to_string()))
}

/// Run blocking work on its own thread (the caller holds a slot).
async fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Data(e.to_string()))
}

/// Run blocking work once a slot is free.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServerError> {
    let _slot = slot().await?;
    on_thread(f).await
}

/// What the handlers share: the service, and the gate in front of password checks.
#[derive(Clone)]
pub struct AppState {
    service: Arc<Service>,
    login: Arc<LoginGate>,
}

/// Failed logins are limited before any password is hashed, and at most a few argon2
/// verifications (19 MiB and tens of ms each) run at once; the rest wait their turn.
struct LoginGate {
    limiter: LoginLimiter,
    hashing: tokio::sync::Semaphore,
}

impl FromRef<AppState> for Arc<Service> {
    fn from_ref(s: &AppState) -> Self {
        s.service.clone()
    }
}

/// The router with the default login limits.
pub fn router(service: Arc<Service>) -> Router {
    router_with(service, LoginLimits::default())
}

pub fn router_with(service: Arc<Service>, limits: LoginLimits) -> Router {
    let hashers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let state = AppState {
        service,
        login: Arc::new(LoginGate {
            limiter: LoginLimiter::new(limits),
            hashing: tokio::sync::Semaphore::new(hashers),
        }),
    };
    Router::new()
        .route("/api/v1/health", get(|| async { "ok" }))
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/sync", post(sync))
        .route("/api/v1/token", post(token))
        .route("/api/v1/report", get(report))
        .fallback(|| async {
            error_response(ServerError::bad_request(
                404,
                "not_found",
                "Alamat tidak dikenal".into(),
                "Unknown address".into(),
            ))
        })
        .with_state(state)
}

pub fn error_response(e: ServerError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let last_applied = match e {
        ServerError::SeqReused(n) => Some(n),
        _ => None,
    };
    let body = serde_json::to_vec(&ErrorBody {
        error: e.public_problem(),
        last_applied,
    })
    .unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json_response<T: serde::Serialize>(headers: &HeaderMap, msg: &T) -> Response {
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let json = serde_json::to_vec(msg).expect("protocol types always serialize");
    let mut resp = if gzip_ok {
        let mut r = Response::new(Body::from(protocol::gzip(&json)));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(Body::from(json))
    };
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Read and decode a body (the caller holds a slot): size limits, a time limit, brotli, gzip or
/// identity, JSON with the right shape.
async fn read_body<T: serde::de::DeserializeOwned + Send + 'static>(
    req: Request,
    max_wire: usize,
) -> Result<(HeaderMap, T), ServerError> {
    let (parts, body) = req.into_parts();
    let bytes = read_bytes(body, max_wire).await?;
    let encoding = match parts
        .headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().ok().and_then(protocol::Encoding::parse))
    {
        None => protocol::Encoding::Identity,
        Some(Some(e)) => e,
        Some(None) => {
            return Err(ServerError::bad_request(
                415,
                "unsupported_encoding",
                "Kompresi isi permintaan tidak didukung (pakai br atau gzip)".into(),
                "Unsupported content encoding (use br or gzip)".into(),
            ))
        }
    };
    let msg = on_thread(move || protocol::decode_with::<T>(&bytes, encoding))
        .await?
        .map_err(|p: Problem| {
            let status = match p.code.as_str() {
                "body_too_large" => 413,
                "invalid_request" => 422,
                _ => 400,
            };
            ServerError::Request(status, p)
        })?;
    Ok((parts.headers, msg))
}

/// The bytes of a body as they came (at most `max_wire`, within the body time limit).
async fn read_bytes(body: Body, max_wire: usize) -> Result<Bytes, ServerError> {
    tokio::time::timeout(BODY_TIMEOUT, to_bytes(body, max_wire))
        .await
        .map_err(|_| {
            ServerError::bad_request(
                408,
                "body_timeout",
                "Isi permintaan tidak selesai terkirim dalam 30 detik".into(),
                "The request body did not arrive within 30 seconds".into(),
            )
        })?
        .map_err(|_| ServerError::Request(413, protocol::too_large(max_wire)))
}

/// `POST /api/v1/token`: a device enrolled by file asks for a token with a request signed by
/// its key (the body is the signed file itself, `sinergi_core::seal`).
async fn token(State(st): State<AppState>, req: Request) -> Response {
    let result = async {
        let _slot = slot().await?;
        let (parts, body) = req.into_parts();
        let bytes = read_bytes(body, MAX_TOKEN_WIRE_BYTES).await?;
        let svc = st.service.clone();
        let token = on_thread(move || svc.token(&bytes)).await??;
        Ok::<_, ServerError>(json_response(
            &parts.headers,
            &protocol::TokenResponse { token },
        ))
    }
    .await;
    result.unwrap_or_else(error_response)
}

async fn enroll(State(st): State<AppState>, req: Request) -> Response {
    // The peer address, when the server was started with connect info (it always is by `serve`).
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let result = async {
        let (headers, body): (_, EnrollRequest) = {
            let _slot = slot().await?;
            read_body(req, MAX_ENROLL_WIRE_BYTES).await?
        };
        // Reserved before any password is hashed; if this request is dropped before it is
        // settled (the client went away), it counts as a wrong password.
        let attempt = match st.login.limiter.attempt(&body.user, ip, Instant::now()) {
            Ok(a) => a,
            Err(retry) => return Ok(too_many_attempts(retry)),
        };
        let _permit = st.login.hashing.acquire().await;
        let svc = st.service.clone();
        let done = blocking(move || {
            let r = svc.enroll(&body);
            // Give argon2's 19 MiB back to the system now: the allocator would otherwise keep it
            // on this (then idle) thread, and a morning of logins would stay resident.
            unsafe { libmimalloc_sys::mi_collect(true) };
            r
        })
        .await
        .and_then(|r| r);
        match &done {
            Ok(_) => attempt.succeeded(),
            Err(e) if e.problem().code == "bad_credentials" => attempt.failed(),
            // A store error, or a disabled user (whose password was right): not a guess.
            Err(_) => attempt.not_a_failure(),
        }
        Ok::<_, ServerError>(json_response(&headers, &done?))
    }
    .await;
    result.unwrap_or_else(error_response)
}

/// `429 too_many_attempts` with `Retry-After` in whole seconds.
fn too_many_attempts(retry: std::time::Duration) -> Response {
    let secs = retry.as_secs() + u64::from(retry.subsec_nanos() > 0);
    let mut resp = error_response(ServerError::bad_request(
        429,
        "too_many_attempts",
        format!("Terlalu banyak percobaan masuk yang gagal; coba lagi dalam {secs} detik"),
        format!("Too many failed login attempts; try again in {secs} seconds"),
    ));
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

fn bearer_hash(headers: &HeaderMap) -> Result<String, ServerError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(auth::token_hash)
        .ok_or_else(|| {
            ServerError::bad_request(
                401,
                "missing_token",
                "Permintaan tanpa token perangkat; daftarkan perangkat dulu".into(),
                "No device token; enroll the device first".into(),
            )
        })
}

/// `GET /api/v1/report?month=YYYY-MM&posyandu=ID|desa=ID|puskesmas=ID&format=xlsx|csv|pdf|json`:
/// the month's reports for an area the device's user may read (default: the user's puskesmas,
/// or a kader's posyandu).
async fn report(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let hash = bearer_hash(&headers)?;
        // A report reads much: it waits its turn like any merge.
        let _slot = slot().await?;
        let resp = tokio::task::spawn_blocking(move || {
            let who = svc.principal(&hash)?;
            let get = |k: &str| q.get(k).map(String::as_str);
            let (month, level, format) = crate::report::parse_options(
                get("month").unwrap_or(""),
                get("posyandu"),
                get("desa"),
                get("puskesmas"),
                get("format").unwrap_or("json"),
            )?;
            let level = level.unwrap_or(match (who.posyandu_id, who.puskesmas_id) {
                (Some(p), _) => Level::Posyandu(p),
                (None, Some(q)) => Level::Puskesmas(q),
                (None, None) => Level::All,
            });
            let (bytes, name) = svc.report_file(&who, month, level, format)?;
            Ok::<_, ServerError>((bytes, name, format.content_type()))
        })
        .await
        .map_err(|e| ServerError::Data(e.to_string()))??;
        let (bytes, name, content_type) = resp;
        Ok::<_, ServerError>(
            (
                [
                    (header::CONTENT_TYPE, content_type.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(error_response)
}

async fn sync(State(svc): State<Arc<Service>>, req: Request) -> Response {
    let result = async {
        let hash = bearer_hash(req.headers())?;
        let _slot = slot().await?;
        // Who is asking is known before a byte of the body is read: a stranger costs one
        // indexed lookup, never a buffer or a decompression.
        let s = svc.clone();
        let who = on_thread(move || s.principal(&hash)).await??;
        let (headers, body): (_, SyncRequest) = read_body(req, MAX_WIRE_BYTES).await?;
        let resp = on_thread(move || svc.sync_as(&who, &body)).await??;
        Ok::<_, ServerError>(json_response(&headers, &resp))
    }
    .await;
    result.unwrap_or_else(error_response)
}
