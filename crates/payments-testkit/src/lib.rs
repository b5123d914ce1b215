//! # payments-testkit
//!
//! Test support shared by the workspace's fault-injection suites (`payments-core`'s and the
//! cross-crate one in `tests/`): [`Scripted`], a raw-TCP HTTP/1.1 server on 127.0.0.1 that
//! answers, resets, stalls or truncates on cue and counts on its side every request that
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

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

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
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    connections: AtomicUsize,
    preamble: AtomicUsize,
    bodies: Mutex<Vec<Vec<u8>>>,
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
            return Scripted { addr, counts, task };
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
                answer_preamble(tcp, bytes, &c.preamble).await;
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
                        tokio::spawn(async move { handle(tcp, &steps, &e, &c).await });
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
        Scripted { addr, counts, task }
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
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

async fn answer_preamble(mut tcp: TcpStream, bytes: &[u8], count: &AtomicUsize) {
    if read_request(&mut tcp).await.is_some() {
        count.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.write_all(bytes).await;
        let _ = tcp.shutdown().await;
    }
}

async fn handle(mut tcp: TcpStream, steps: &[Step], events: &AtomicUsize, counts: &Counts) {
    loop {
        let next = events.load(Ordering::SeqCst);
        if let Some(Step::ResetBeforeRead) = steps.get(next).or(steps.last()) {
            events.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.set_zero_linger();
            return;
        }
        let Some(body) = read_request(&mut tcp).await else {
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
                let _ = tcp.set_zero_linger();
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
                let _ = tcp.set_zero_linger();
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

/// Reads one HTTP/1.1 request (headers and a `content-length` body); `None` at EOF or on error.
async fn read_request(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[header_end..header_end + len].to_vec())
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
