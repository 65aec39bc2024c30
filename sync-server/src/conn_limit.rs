//! Limits on connections, so that strangers cost nothing (DESIGN.md guarantee 12): at most
//! `MAX_CONNECTIONS` open at once (one more is closed at once, never queued), request heads read
//! within `HEAD_TIMEOUT`, bodies within `BODY_TIMEOUT` (see `http`).

use axum_server::accept::Accept;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Open connections at most (a puskesmas has a few hundred devices, each with one connection
/// while it syncs).
pub const MAX_CONNECTIONS: usize = 1024;
/// A request's head (and a new connection's first request) must arrive within this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A request's body must arrive within this.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Wraps another acceptor: takes a slot for every connection, closes it when none is free.
#[derive(Clone)]
pub struct LimitAcceptor<A> {
    inner: A,
    slots: Arc<Semaphore>,
}

impl<A> LimitAcceptor<A> {
    pub fn new(inner: A, max: usize) -> Self {
        LimitAcceptor {
            inner,
            slots: Arc::new(Semaphore::new(max)),
        }
    }
}

impl<A, I, S> Accept<I, S> for LimitAcceptor<A>
where
    A: Accept<Limited<I>, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => Box::pin(self.inner.accept(
                Limited {
                    io: stream,
                    _permit: permit,
                },
                service,
            )),
            Err(_) => {
                drop(stream);
                Box::pin(std::future::ready(Err(io::Error::other(
                    "connection limit reached",
                ))))
            }
        }
    }
}

/// A connection holding its slot until it closes.
pub struct Limited<I> {
    io: I,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Limited<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Limited<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
