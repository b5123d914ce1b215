//! The loopback HTTP(S) server every emulator runs on.
//!
//! [`serve`] binds an address (use port 0 for a free port), serves an axum [`Router`] over
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
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

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

/// Serves `router` on `addr` (plain HTTP when `tls` is `None`) with the default [`Limits`].
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<RunningServer, ServeError> {
    serve_with_limits(addr, router, tls, Limits::default()).await
}

/// A hyper service that tells the connection's guard when the first request head has arrived.
#[derive(Clone)]
struct FirstRequest<S> {
    inner: S,
    seen: Arc<Notify>,
}

impl<S, R> hyper::service::Service<R> for FirstRequest<S>
where
    S: hyper::service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, req: R) -> Self::Future {
        self.seen.notify_one();
        self.inner.call(req)
    }
}

/// Serves `router` on `addr` (plain HTTP when `tls` is `None`) within `limits`.
pub async fn serve_with_limits(
    addr: SocketAddr,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
) -> Result<RunningServer, ServeError> {
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
            let seen = Arc::new(Notify::new());
            let service = FirstRequest {
                inner: TowerToHyperService::new(router.clone()),
                seen: seen.clone(),
            };
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match acceptor {
                    None => {
                        serve_connection(&builder, tcp, service, watcher, &seen, deadline).await
                    }
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
                        serve_connection(&builder, tls, service, watcher, &seen, deadline).await;
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

/// Serves one connection, closing it if no request head has arrived by `deadline`. After the
/// first request, hyper's own HTTP/1 header timeout and HTTP/2 keep-alive take over.
async fn serve_connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: FirstRequest<TowerToHyperService<Router>>,
    watcher: Watcher,
    seen: &Notify,
    deadline: Instant,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .into_owned();
    let conn = watcher.watch(conn);
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        _ = seen.notified() => {}
        _ = tokio::time::sleep_until(deadline) => {
            tracing::debug!("no request head in time: connection closed");
            return;
        }
    }
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

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
