//! The loopback HTTP(S) server every emulator runs on.
//!
//! [`serve`] binds an address (use port 0 for a free port), serves a `tower` service of HTTP
//! requests (such as an `axum::Router`) over
//! HTTP/1.1 and HTTP/2, optionally behind rustls (with or without client-certificate checks),
//! and returns a [`RunningServer`]. Dropping the handle, or calling
//! [`RunningServer::shutdown`], stops accepting and closes connections gracefully.
//!
//! The server survives hostile clients within its [`Limits`]:
//!
//! - a connection must deliver its first request head (after the TLS handshake, if any) within
//!   [`Limits::header_read_timeout`] (at most 30 s), or it is closed; so must every later
//!   HTTP/1 request head on a kept-alive connection (an idle kept-alive connection is closed
//!   after the same time), and an HTTP/2 connection whose peer stops answering pings is closed;
//! - at most [`Limits::max_connections`] connections are served at once; more wait in the
//!   listen backlog until one closes.
//!
//! Binding an address that is not loopback logs a warning: the emulators have no
//! authentication worth the name and are meant for this machine only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::fault::{FaultKind, Faults, Provider};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Limits that [`Limits::new`] refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidLimits {
    /// The request-head read timeout is zero or above [`Limits::MAX_HEADER_READ_TIMEOUT`].
    #[error("the request-head read timeout must be above 0 and at most 30 s, not {0:?}")]
    HeaderReadTimeout(Duration),
    /// The connection cap is zero or above [`Limits::MAX_CONNECTIONS`].
    #[error("the connection cap must be from 1 to {max}, not {0}", max = Limits::MAX_CONNECTIONS)]
    MaxConnections(usize),
}

/// What the server tolerates from its clients (see the [module docs](self)). Built by
/// [`Limits::new`], which checks the values once; [`Limits::default`] is 30 s and 1024
/// connections.
///
/// ```
/// use std::time::Duration;
/// use payments_sandbox::server::Limits;
///
/// let limits = Limits::new(Duration::from_secs(5), 64)?;
/// assert_eq!(limits.max_connections(), 64);
/// assert!(Limits::new(Duration::from_secs(31), 64).is_err());
/// # Ok::<(), payments_sandbox::server::InvalidLimits>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    header_read_timeout: Duration,
    max_connections: usize,
}

impl Limits {
    /// The longest request-head read timeout allowed: 30 s.
    pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// The largest connection cap allowed.
    pub const MAX_CONNECTIONS: usize = 1 << 20;

    /// Limits with a request-head read timeout (above 0, at most 30 s) and a cap on the
    /// connections served at once (at least 1).
    pub fn new(
        header_read_timeout: Duration,
        max_connections: usize,
    ) -> Result<Limits, InvalidLimits> {
        if header_read_timeout.is_zero() || header_read_timeout > Self::MAX_HEADER_READ_TIMEOUT {
            return Err(InvalidLimits::HeaderReadTimeout(header_read_timeout));
        }
        if max_connections == 0 || max_connections > Self::MAX_CONNECTIONS {
            return Err(InvalidLimits::MaxConnections(max_connections));
        }
        Ok(Limits {
            header_read_timeout,
            max_connections,
        })
    }

    /// How long a client may take to send a request head.
    pub fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// How many connections are served at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Self::MAX_HEADER_READ_TIMEOUT,
            max_connections: 1024,
        }
    }
}

/// A server that is running. Dropping it shuts it down.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (or `https://localhost:PORT` for TLS,
    /// since certificates name hosts).
    pub fn base_url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and waits for the end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `service` on `addr` (plain HTTP when `tls` is `None`) with the default [`Limits`].
///
/// `service` is any [`tower_service::Service`] of HTTP requests, such as an `axum::Router`
/// (which the sandbox uses, but does not require of you).
pub async fn serve<S, B>(
    addr: SocketAddr,
    service: S,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<RunningServer, ServeError>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_with_limits(addr, service, tls, Limits::default()).await
}

/// Serves `service` on `addr` (plain HTTP when `tls` is `None`) within `limits`.
pub async fn serve_with_limits<S, B>(
    addr: SocketAddr,
    service: S,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
) -> Result<RunningServer, ServeError>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_inner(addr, service, tls, limits, None).await
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;
type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

/// Where an emulator's server looks up its faults.
#[derive(Clone, Debug)]
pub(crate) struct FaultPoint {
    pub(crate) faults: Faults,
    pub(crate) provider: Provider,
}

/// The hyper service of one connection: tells the connection's guard when the first request
/// head has arrived, and applies the injected faults.
#[derive(Clone)]
struct ConnService<S> {
    inner: S,
    ctl: Arc<ConnCtl>,
    faults: Option<Arc<FaultPoint>>,
}

/// What the service of one connection tells the task that serves it.
struct ConnCtl {
    /// The first request head has arrived.
    seen: Notify,
    /// A reset fault fired: drop the connection (its socket already lingers 0).
    reset: Notify,
    /// A truncated answer is on its way: close the connection after its next flush.
    cut_armed: AtomicBool,
    /// That flush happened.
    cut: Notify,
    /// A second handle on the TCP socket (with faults only), to make its close a RST.
    socket: Option<socket2::Socket>,
}

impl ConnCtl {
    fn reset_now(&self) {
        // Linger 0: closing the socket sends a RST instead of a FIN.
        if let Some(socket) = &self.socket {
            let _ = socket.set_linger(Some(Duration::ZERO));
        }
        self.reset.notify_one();
    }
}

/// The connection's IO: tells [`ConnCtl`] when a flush has sent a truncated answer's bytes.
struct CtlIo<I> {
    inner: I,
    ctl: Arc<ConnCtl>,
}

impl<I: AsyncRead + Unpin> AsyncRead for CtlIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for CtlIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let done = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(done, std::task::Poll::Ready(Ok(())))
            && self.ctl.cut_armed.swap(false, Ordering::SeqCst)
        {
            self.ctl.cut.notify_one();
        }
        done
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for ConnService<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture;

    fn call(&self, req: Request<Incoming>) -> BoxFuture {
        self.ctl.seen.notify_one();
        let fault = self
            .faults
            .as_ref()
            .and_then(|f| f.faults.take(f.provider, req.uri().path()));
        let inner = self.inner.clone();
        let ctl = self.ctl.clone();
        Box::pin(async move {
            match fault {
                None => forward(inner, req).await,
                Some(FaultKind::Status(code)) => {
                    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
                    let body = format!("sandbox fault: status {code}\n");
                    let mut resp = Response::new(full(Bytes::from(body)));
                    *resp.status_mut() = status;
                    resp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    Ok(resp)
                }
                Some(FaultKind::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    forward(inner, req).await
                }
                Some(FaultKind::Reset) => {
                    ctl.reset_now();
                    Err("sandbox fault: connection reset".into())
                }
                Some(FaultKind::Truncate) => {
                    let resp = forward(inner, req).await?;
                    let (mut parts, body) = resp.into_parts();
                    let bytes = body.collect().await?.to_bytes();
                    let half = bytes.slice(..bytes.len() / 2);
                    parts.headers.insert(
                        http::header::CONTENT_LENGTH,
                        http::HeaderValue::from(bytes.len()),
                    );
                    // The head and the half go out in one flush, after which the
                    // connection is closed (the body never ends).
                    ctl.cut_armed.store(true, Ordering::SeqCst);
                    let cut = Truncated(Some(half)).boxed_unsync();
                    Ok(Response::from_parts(parts, cut))
                }
            }
        })
    }
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body that yields `half` and then never ends: the connection is closed under it once
/// the half has been flushed, before the declared length has been sent.
struct Truncated(Option<Bytes>);

impl http_body::Body for Truncated {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.0.take() {
            Some(half) => std::task::Poll::Ready(Some(Ok(Frame::data(half)))),
            None => std::task::Poll::Pending,
        }
    }
}

async fn forward<S, B>(mut inner: S, req: Request<Incoming>) -> Result<Response<Body>, BoxError>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    std::future::poll_fn(|cx| inner.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    let resp = inner.call(req).await.map_err(Into::into)?;
    Ok(resp.map(|b| b.map_err(Into::into).boxed_unsync()))
}

/// Serves `service` on `addr`, applying the faults of `faults` when given.
pub(crate) async fn serve_inner<S, B>(
    addr: SocketAddr,
    service: S,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    faults: Option<FaultPoint>,
) -> Result<RunningServer, ServeError>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the sandbox listens on an address that is not loopback: other machines can reach it"
        );
    }
    let faults = faults.map(Arc::new);
    let (stop, mut stopped) = watch::channel(false);
    let is_tls = tls.is_some();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let head_timeout = limits.header_read_timeout;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(head_timeout)
        .keep_alive_timeout(head_timeout);
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            // A free slot first, then a connection: past the cap, clients wait in the backlog.
            let slot = tokio::select! {
                s = slots.clone().acquire_owned() => match s {
                    Ok(s) => s,
                    Err(_) => break,
                },
                _ = stopped.changed() => break,
            };
            let (tcp, _peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let deadline = Instant::now() + head_timeout;
            let _ = tcp.set_nodelay(true);
            // With faults, a second handle on the socket, to reset it (linger 0) on demand.
            let socket = if faults.is_some() {
                dup_socket(&tcp)
            } else {
                None
            };
            let ctl = Arc::new(ConnCtl {
                seen: Notify::new(),
                reset: Notify::new(),
                cut_armed: AtomicBool::new(false),
                cut: Notify::new(),
                socket,
            });
            let service = ConnService {
                inner: service.clone(),
                ctl: ctl.clone(),
                faults: faults.clone(),
            };
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match acceptor {
                    None => serve_connection(&builder, tcp, service, watcher, deadline).await,
                    Some(acceptor) => {
                        let tls =
                            match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake refused");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake not finished in time: closed");
                                    return;
                                }
                            };
                        serve_connection(&builder, tls, service, watcher, deadline).await;
                    }
                }
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    });
    Ok(RunningServer {
        addr,
        tls: is_tls,
        stop,
        task: Some(task),
    })
}

#[cfg(unix)]
fn dup_socket(tcp: &tokio::net::TcpStream) -> Option<socket2::Socket> {
    use std::os::fd::AsFd;
    tcp.as_fd()
        .try_clone_to_owned()
        .ok()
        .map(socket2::Socket::from)
}

#[cfg(windows)]
fn dup_socket(tcp: &tokio::net::TcpStream) -> Option<socket2::Socket> {
    use std::os::windows::io::AsSocket;
    tcp.as_socket()
        .try_clone_to_owned()
        .ok()
        .map(socket2::Socket::from)
}

#[cfg(not(any(unix, windows)))]
fn dup_socket(_tcp: &tokio::net::TcpStream) -> Option<socket2::Socket> {
    None
}

/// Serves one connection, closing it if no request head has arrived by `deadline`, resetting
/// it when a reset fault fires, and closing it once a truncated answer's half is flushed.
/// After the first request, hyper's own HTTP/1 header timeout and HTTP/2 keep-alive take over.
async fn serve_connection<I, S>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: ConnService<S>,
    watcher: Watcher,
    deadline: Instant,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    ConnService<S>: hyper::service::Service<
            Request<Incoming>,
            Response = Response<Body>,
            Error = BoxError,
            Future = BoxFuture,
        > + Send
        + 'static,
{
    let ctl = service.ctl.clone();
    let io = CtlIo {
        inner: io,
        ctl: ctl.clone(),
    };
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .into_owned();
    let conn = watcher.watch(conn);
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        _ = ctl.seen.notified() => {}
        _ = tokio::time::sleep_until(deadline) => {
            tracing::debug!("no request head in time: connection closed");
            return;
        }
    }
    tokio::select! {
        _ = &mut conn => {}
        _ = ctl.reset.notified() => tracing::debug!("sandbox fault: connection reset"),
        _ = ctl.cut.notified() => tracing::debug!("sandbox fault: answer truncated"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;

    #[tokio::test]
    async fn serves_and_shuts_down() {
        let router = Router::new().route("/ping", get(|| async { "pong" }));
        let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
            .await
            .unwrap();
        let addr = server.addr();
        assert_ne!(addr.port(), 0);
        assert!(server.base_url().starts_with("http://127.0.0.1:"));

        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tcp.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("pong"), "{out}");

        server.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
