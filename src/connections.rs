//! Serving HTTP/1.1 connections with limits, so that slow or idle clients cannot hold a server's
//! connections (and file descriptors) for ever:
//!
//! - **header timeout**: once a request's first byte has arrived, its headers must be complete
//!   within [`ConnectionLimits::header_timeout`] (a client sending headers a byte a second is cut
//!   off);
//! - **body timeout**: a request's body must have arrived in full within
//!   [`ConnectionLimits::body_timeout`] of its headers, however steadily it trickles in; the
//!   handler reading it gets [`BodyTimedOut`] (the API answers 408) and the connection closes;
//! - **idle timeout**: a connection on which no request is being handled, and nothing has been
//!   read or written for [`ConnectionLimits::idle_timeout`], is closed: a connection opened and
//!   left silent, a keep-alive connection between requests, or a client that stopped reading its
//!   answer;
//! - **connection cap**: at most [`ConnectionLimits::max_connections`] connections are served at
//!   once; further ones wait in the operating system's listen queue, unanswered, until one
//!   closes (they are not refused, so a burst is served late rather than failed).
//!
//! A graceful shutdown stops accepting, closes idle connections at once and lets requests in
//! flight finish (within the limits above). axum's `serve` has none of these knobs, so this
//! module runs hyper's HTTP/1 connections itself.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::Router;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The limits every connection is served under (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// 20 s for headers: far more than any client on a working network needs.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
    /// 60 s for a body: a full 1 MiB body needs only 17 KiB/s.
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
    /// 75 s idle: longer than the 60 s a proxy in front keeps its idle connections to a server
    /// by default, so that the server never closes one the proxy is about to reuse.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
    /// 512 connections: well inside the usual limit of 1,024 open files, with room for the
    /// database pool and the log.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on the connections `listener` accepts, under `limits`, until `shutdown`
/// completes; then stops accepting and waits for the connections' requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: past the cap, connections wait in the listen queue, not in memory.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        let connection = serve_connection(stream, app.clone(), limits, &graceful);
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accept that failed: a connection reset before it was accepted is nothing; running out of
/// file descriptors (or memory) is waited out, as axum does, rather than spun on.
async fn accept_failed(error: io::Error) {
    let transient = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    );
    if !transient {
        tracing::error!(%error, "could not accept a connection; trying again in a second");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One connection, served until it ends, is closed by its watchdog, or the shutdown has
/// finished its requests.
fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    graceful: &GracefulShutdown,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    // The client's address, for the rate limits.
    let peer = stream.peer_addr().ok().map(axum::extract::ConnectInfo);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        activity: activity.clone(),
    });
    let handling = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let app = app.clone();
        let guard = Handling::begin(handling.clone());
        let mut request = request.map(|body| DeadlineBody::new(body, limits.body_timeout));
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        async move {
            let response = app.oneshot(request).await;
            drop(guard);
            response
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let connection = graceful.watch(connection);
    async move {
        tokio::select! {
            served = connection => {
                if let Err(error) = served {
                    tracing::debug!(%error, "a connection ended with an error");
                }
            }
            reason = watchdog(activity, limits) => {
                tracing::debug!(reason, "closed a connection");
            }
        }
    }
}

/// What a connection's watchdog needs to know about it, updated by its reads and writes and by
/// the requests it handles. Instants are milliseconds since the connection was accepted.
struct Activity {
    accepted: Instant,
    /// When the connection last read or wrote a byte (or a handler finished).
    last_io: AtomicU64,
    /// When the first byte of the request being read arrived, plus one (0: none is being read).
    head_started: AtomicU64,
    /// Requests whose handler has not answered yet.
    in_flight: AtomicUsize,
    /// Pokes the watchdog when its deadline may have come nearer.
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            accepted: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        // Bytes read while no request is being handled begin the next request's headers.
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .head_started
                .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    /// When the watchdog must close the connection, and why; `None` while a request is handled.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let millis = |d: Duration| d.as_millis() as u64;
        match self.head_started.load(Ordering::Acquire) {
            0 => Some((
                self.last_io.load(Ordering::Relaxed) + millis(limits.idle_timeout),
                "idle",
            )),
            started => Some((
                started - 1 + millis(limits.header_timeout),
                "headers too slow",
            )),
        }
    }
}

/// A request being handled: its headers are complete; when it is answered the connection is
/// idle again (or reading the next request).
struct Handling(Arc<Activity>);

impl Handling {
    fn begin(activity: Arc<Activity>) -> Handling {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_started.store(0, Ordering::Release);
        activity.changed.notify_one();
        Handling(activity)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.wrote();
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
        activity.changed.notify_one();
    }
}

/// Completes, with the reason, when the connection has broken a limit.
async fn watchdog(activity: Arc<Activity>, limits: ConnectionLimits) -> &'static str {
    loop {
        let changed = activity.changed.notified();
        match activity.deadline(&limits) {
            None => changed.await,
            Some((at, reason)) => {
                let now = activity.now();
                if now >= at {
                    return reason;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(at - now)) => {}
                    () = changed => {}
                }
            }
        }
    }
}

/// A connection's stream, telling its [`Activity`] of every byte read and written.
struct WatchedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a request body stopped: it had not arrived in full within the body timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

/// A request body that must arrive in full by a deadline, set when its headers arrived.
struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    timed_out: bool,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> DeadlineBody {
        DeadlineBody {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timed_out: false,
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.timed_out {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error`, met reading a request body, is a [`BodyTimedOut`].
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<BodyTimedOut>() {
            return true;
        }
        source = error.source();
    }
    false
}
