//! # payments-testkit
//!
//! Test support shared by the workspace's fault-injection suites (`payments-core`'s and the
//! cross-crate one in `tests/`): [`Scripted`], a raw-TCP HTTP/1.1 server on 127.0.0.1, plain or
//! over TLS ([`Scripted::start_tls`], certificates from [`tls::TestPki`]), that answers, resets,
//! stalls, truncates or corrupts a TLS record on cue and counts on its side every request that
//! reached it; [`refused_addr`], a port where connections are refused; and [`blackhole`], a
//! listener where they stall in the handshake. Not published.
//!
//! ```
//! use payments_testkit::{answer, Scripted, Step};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // The first request is reset after it is read; the next ones are answered 200.
//! let server = Scripted::serve(vec![Step::ResetAfterRead, answer(200, &[], b"ok")]).await;
//! for expected in [None, Some("ok")] {
//!     let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
//!     tcp.write_all(b"POST /pay HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}").await.unwrap();
//!     tcp.shutdown().await.unwrap(); // no further request: the server closes after answering
//!     let mut got = Vec::new();
//!     let read = tcp.read_to_end(&mut got).await;
//!     let text = String::from_utf8_lossy(&got);
//!     match expected {
//!         None => assert!(read.is_err() || got.is_empty()),
//!         Some(body) => assert!(text.ends_with(body), "{text}"),
//!     }
//! }
//! assert_eq!(server.requests(), 2);
//! assert_eq!(server.bodies(), [b"{}".to_vec(), b"{}".to_vec()]);
//! # }
//! ```

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub mod tls;

/// A TLS 1.2/1.3 application-data record header (type 23, legacy version 3.3, 32 bytes) and 32
/// bytes that no key decrypts: what [`Step::CorruptRecordAfterRead`] writes.
pub const JUNK_TLS_RECORD: [u8; 37] = {
    let mut record = [0x5a; 37];
    record[0] = 0x17;
    record[1] = 0x03;
    record[2] = 0x03;
    record[3] = 0x00;
    record[4] = 0x20;
    record
};

/// What the server does with one request (or, for [`Step::ResetBeforeRead`], one connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer these raw bytes and keep the connection open for the next request.
    Respond(Vec<u8>),
    /// Reset the connection as soon as it is accepted, before reading anything.
    ResetBeforeRead,
    /// Read the whole request, then reset the connection (`SO_LINGER` 0).
    ResetAfterRead,
    /// Read the request and never answer.
    StallHeaders,
    /// Read the request, send the headers and part of the body, then never finish.
    StallBody,
    /// Read the request, send headers promising 100 bytes, send fewer, then close.
    Truncate,
    /// Read the request, send the headers and part of the body, then reset the connection.
    ResetMidResponse,
    /// Read the request, then write [`JUNK_TLS_RECORD`] on the raw TCP stream, under the TLS
    /// layer: the client cannot decrypt it (a corrupted record while it waits for the answer).
    /// Then the connection is held open. Meant for a [`Scripted::start_tls`] server.
    CorruptRecordAfterRead,
}

/// How the listener behaves once the preamble (if any) is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Accept connections and follow the steps.
    Serve,
    /// Close the listening socket: connections are refused.
    Refuse,
    /// Stop accepting, with a full accept queue: connections stall in the handshake.
    Blackhole,
}

/// An HTTP/1.1 answer with a `content-length` and the given extra headers.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Step {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Step::Respond(bytes)
}

/// A running scripted server: the i-th request it reads is answered by `steps[i]` (the last
/// step repeats), whatever connection it comes on. Stops when dropped.
pub struct Scripted {
    /// Where it listens (or refuses, or stalls).
    pub addr: SocketAddr,
    tls: bool,
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    connections: AtomicUsize,
    preamble: AtomicUsize,
    refused_handshakes: AtomicUsize,
    bodies: Mutex<Vec<Vec<u8>>>,
}

/// One accepted connection, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Conn {
    /// The TCP stream under any TLS layer.
    fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => tls.get_mut().0,
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Completes the TLS handshake of an accepted connection, or counts it as refused. A refused
/// handshake's connection is drained until the client closes it (at most a second), so that the
/// server's alert reaches the client ahead of a FIN, not lost to a reset for unread data.
async fn accept(tcp: TcpStream, tls: Option<&TlsAcceptor>, counts: &Counts) -> Option<Conn> {
    let Some(acceptor) = tls else {
        return Some(Conn::Plain(tcp));
    };
    match acceptor.accept(tcp).into_fallible().await {
        Ok(stream) => Some(Conn::Tls(Box::new(stream))),
        Err((_, mut tcp)) => {
            counts.refused_handshakes.fetch_add(1, Ordering::SeqCst);
            let mut sink = [0u8; 4096];
            let drain = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
            None
        }
    }
}

impl Scripted {
    /// A server that accepts every connection and follows `steps`.
    pub async fn serve(steps: Vec<Step>) -> Scripted {
        Scripted::start(Listen::Serve, None, steps).await
    }

    /// Starts a server. With a `preamble`, the first connection is answered with those raw
    /// bytes (its request is read first, and counted apart, see [`Scripted::preamble_requests`])
    /// before the listener starts to behave as `listen` says: a login, say, that must succeed
    /// so that the fault hits the call under test.
    ///
    /// # Panics
    ///
    /// If no socket can be bound on 127.0.0.1 (this is test support).
    pub async fn start(
        listen: Listen,
        preamble: Option<&'static [u8]>,
        steps: Vec<Step>,
    ) -> Scripted {
        Scripted::launch(None, listen, preamble, steps).await
    }

    /// A server that accepts every connection over TLS and follows `steps`.
    pub async fn serve_tls(config: Arc<rustls::ServerConfig>, steps: Vec<Step>) -> Scripted {
        Scripted::start_tls(config, Listen::Serve, None, steps).await
    }

    /// [`Scripted::start`] over TLS: every connection (the preamble's too) is accepted with
    /// `config` (see [`tls::TestPki::server_config`]) before its request is read. A connection
    /// whose handshake fails is counted apart ([`Scripted::refused_handshakes`]) and never
    /// reaches the steps. [`Scripted::base`] is then `https://127.0.0.1:port`.
    ///
    /// # Panics
    ///
    /// If no socket can be bound on 127.0.0.1 (this is test support).
    pub async fn start_tls(
        config: Arc<rustls::ServerConfig>,
        listen: Listen,
        preamble: Option<&'static [u8]>,
        steps: Vec<Step>,
    ) -> Scripted {
        Scripted::launch(Some(TlsAcceptor::from(config)), listen, preamble, steps).await
    }

    async fn launch(
        tls: Option<TlsAcceptor>,
        listen: Listen,
        preamble: Option<&'static [u8]>,
        steps: Vec<Step>,
    ) -> Scripted {
        let is_tls = tls.is_some();
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        let addr = socket.local_addr().expect("addr");
        let counts = Arc::new(Counts::default());
        if listen == Listen::Refuse && preamble.is_none() {
            // Bound but never listening: every connection is refused, and the port stays ours
            // for as long as the server lives, so no concurrent test's server can take it.
            let task = tokio::spawn(async move {
                let _hold = socket;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
            return Scripted {
                addr,
                tls: is_tls,
                counts,
                task,
            };
        }
        let backlog = if listen == Listen::Blackhole { 0 } else { 1024 };
        let listener = socket.listen(backlog).expect("listen");
        let steps = Arc::new(steps);
        let c = counts.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut first = None;
            if preamble.is_some() {
                let _ = ready.take().map(|tx| tx.send(()));
                match listener.accept().await {
                    Ok((tcp, _)) => first = Some(tcp),
                    Err(_) => return,
                }
            }
            let mut fillers = Vec::new();
            let mut holder = None;
            let listener = match listen {
                Listen::Serve => Some(listener),
                Listen::Refuse => {
                    drop(listener);
                    // Hold the port (best effort: the preamble's connection may linger in
                    // TIME_WAIT) so that a concurrent test's server cannot take it.
                    holder = TcpSocket::new_v4()
                        .ok()
                        .filter(|h| h.set_reuseaddr(true).is_ok() && h.bind(addr).is_ok());
                    None
                }
                Listen::Blackhole => {
                    fillers = fill_accept_queue(addr).await;
                    Some(listener)
                }
            };
            if let (Some(tcp), Some(bytes)) = (first, preamble) {
                if let Some(conn) = accept(tcp, tls.as_ref(), &c).await {
                    answer_preamble(conn, bytes, &c.preamble).await;
                }
            }
            let _ = ready.take().map(|tx| tx.send(()));
            match (listen, listener) {
                (Listen::Serve, Some(listener)) => {
                    let events = Arc::new(AtomicUsize::new(0));
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            return;
                        };
                        c.connections.fetch_add(1, Ordering::SeqCst);
                        let (steps, c, e) = (steps.clone(), c.clone(), events.clone());
                        let tls = tls.clone();
                        tokio::spawn(async move {
                            if let Some(conn) = accept(tcp, tls.as_ref(), &c).await {
                                handle(conn, &steps, &e, &c).await;
                            }
                        });
                    }
                }
                (_, listener) => {
                    // Keep the black hole (the listener and its queue) or the held port.
                    let _keep = (listener, fillers, holder);
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        });
        let _ = ready_rx.await;
        Scripted {
            addr,
            tls: is_tls,
            counts,
            task,
        }
    }

    /// `http://127.0.0.1:port`, or `https://127.0.0.1:port` for a TLS server (its test
    /// certificate names the address). An address, not `localhost`: no name to resolve, and no
    /// `::1` tried first, which would eat into a short connect timeout.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// [`Scripted::base`] followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }

    /// The requests that reached the server and were read in full (the preamble's excepted).
    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }

    /// The connections accepted after the preamble.
    pub fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// The requests answered by the preamble.
    pub fn preamble_requests(&self) -> usize {
        self.counts.preamble.load(Ordering::SeqCst)
    }

    /// The TLS handshakes the server refused (a client certificate missing or from another
    /// CA, say). Their connections never reach a step, so their requests are never read.
    pub fn refused_handshakes(&self) -> usize {
        self.counts.refused_handshakes.load(Ordering::SeqCst)
    }

    /// The bodies of the requests read, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.counts
            .bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects to `addr` until a connection stalls: the accept queue is then full, and further
/// connects hang in the handshake (Linux drops their SYNs).
async fn fill_accept_queue(addr: SocketAddr) -> Vec<TcpStream> {
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    fillers
}

async fn answer_preamble(mut tcp: Conn, bytes: &[u8], count: &AtomicUsize) {
    if read_request(&mut tcp).await.is_some() {
        count.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.write_all(bytes).await;
        let _ = tcp.shutdown().await;
    }
}

async fn handle(mut tcp: Conn, steps: &[Step], events: &AtomicUsize, counts: &Counts) {
    loop {
        let next = events.load(Ordering::SeqCst);
        if let Some(Step::ResetBeforeRead) = steps.get(next).or(steps.last()) {
            events.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.tcp().set_zero_linger();
            return;
        }
        let Some(Recorded { body, .. }) = read_request(&mut tcp).await else {
            return;
        };
        let n = events.fetch_add(1, Ordering::SeqCst);
        counts.requests.fetch_add(1, Ordering::SeqCst);
        counts
            .bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(body);
        match steps.get(n).or(steps.last()).cloned() {
            None | Some(Step::ResetBeforeRead) | Some(Step::ResetAfterRead) => {
                let _ = tcp.tcp().set_zero_linger();
                return;
            }
            Some(Step::Respond(bytes)) => {
                if tcp.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Some(Step::StallHeaders) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(Step::StallBody) => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"part")
                    .await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(Step::ResetMidResponse) => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"half\":")
                    .await;
                let _ = tcp.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tcp.tcp().set_zero_linger();
                return;
            }
            Some(Step::CorruptRecordAfterRead) => {
                let _ = tcp.flush().await;
                let raw = tcp.tcp();
                let _ = raw.write_all(&JUNK_TLS_RECORD).await;
                let _ = raw.flush().await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(Step::Truncate) => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"partial\":")
                    .await;
                let _ = tcp.shutdown().await;
                return;
            }
        }
    }
}

/// One HTTP/1.1 request as a test server read it: method, target, headers (names lower-cased, in
/// order) and the body (`content-length` bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The method, as sent.
    pub method: String,
    /// The request target (path and query), as sent.
    pub path: String,
    /// Every header, its name lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of a header (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` pairs of the `Cookie` header, sorted.
    pub fn cookies(&self) -> Vec<String> {
        let mut pairs: Vec<String> = self
            .header("cookie")
            .map(|c| c.split(';').map(|p| p.trim().to_owned()).collect())
            .unwrap_or_default();
        pairs.sort();
        pairs
    }
}

/// Reads one HTTP/1.1 request (its head and a `content-length` body) from `io`: `None` at EOF,
/// on an I/O error or on a head that is not a request line. The one reader of this crate's
/// servers and of the provider crates' own test servers.
pub async fn read_request<R: AsyncRead + Unpin>(io: &mut R) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < end + len {
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body: buf[end..end + len].to_vec(),
    })
}

/// An address on 127.0.0.1 where nothing listens, held (bound, never listening) for as long
/// as the returned socket lives, so that no other test's server can take the port meanwhile.
///
/// # Panics
///
/// If no socket can be bound on 127.0.0.1 (this is test support).
pub fn refused_addr() -> (SocketAddr, TcpSocket) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    (socket.local_addr().expect("addr"), socket)
}

/// A listener whose accept queue is full, so that a further connect stalls in the handshake.
/// Keep it alive for as long as the stall is needed.
pub struct Blackhole {
    /// Where connections stall.
    pub addr: SocketAddr,
    _server: Scripted,
}

/// A [`Blackhole`].
pub async fn blackhole() -> Blackhole {
    let server = Scripted::start(Listen::Blackhole, None, Vec::new()).await;
    Blackhole {
        addr: server.addr,
        _server: server,
    }
}
