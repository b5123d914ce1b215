//! A scripted raw-TCP HTTP/1.1 server on 127.0.0.1 for fault injection.
//!
//! It answers the i-th request of the call under test with `steps[i]` (the last step repeats),
//! can refuse or black-hole connections, and counts on its side every request that reached it.
//! An optional preamble answers Smart Pay's `/v1/auth` on the first connection (with
//! `Connection: close`), so that the fault hits the call under test and not the login.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with one request (or, for `ResetBeforeRead`, one connection).
#[derive(Clone, Debug)]
pub enum Step {
    /// Answer these raw bytes and keep the connection open.
    Respond(Vec<u8>),
    /// Reset the connection as soon as it is accepted, before reading anything.
    ResetBeforeRead,
    /// Read the whole request, then reset the connection (SO_LINGER 0).
    ResetAfterRead,
    /// Read the request and never answer.
    StallHeaders,
    /// Read the request, send the headers and part of the body, then never finish.
    StallBody,
    /// Read the request, send headers promising 100 bytes, send fewer, then close.
    Truncate,
}

/// How the listener behaves once the preamble (if any) is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Accept and follow the steps.
    Serve,
    /// Close the listening socket: connections are refused.
    Refuse,
    /// Stop accepting with a full accept queue: connections stall in the handshake.
    Blackhole,
}

/// An HTTP/1.1 answer.
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

/// A running scripted server. Stops when dropped.
pub struct Scripted {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    auth_requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

/// The Smart Pay auth answer of the preamble.
const AUTH_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nset-cookie: kassa_session=s3cr3t; Path=/; HttpOnly\r\nconnection: close\r\ncontent-length: 21\r\n\r\n{\"kassa_id\":\"k-0001\"}";

impl Scripted {
    /// Starts a server. With `auth_preamble`, the first connection is the Smart Pay login,
    /// answered normally (and not counted as a request of the call under test).
    pub async fn start(listen: Listen, auth_preamble: bool, steps: Vec<Step>) -> Scripted {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let addr = socket.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let auth_requests = Arc::new(AtomicUsize::new(0));
        if listen == Listen::Refuse && !auth_preamble {
            // Bound but never listening: every connection is refused, and the port stays ours
            // for the whole case, so no other server of a concurrent case can take it.
            let task = tokio::spawn(async move {
                let _hold = socket;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
            return Scripted {
                addr,
                requests,
                auth_requests,
                task,
            };
        }
        let backlog = if listen == Listen::Blackhole { 0 } else { 1024 };
        let listener = socket.listen(backlog).expect("listen");
        let steps = Arc::new(steps);
        let (r, a) = (requests.clone(), auth_requests.clone());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut preamble = None;
            if auth_preamble {
                let _ = ready.take().map(|tx| tx.send(()));
                match listener.accept().await {
                    Ok((tcp, _)) => preamble = Some(tcp),
                    Err(_) => return,
                }
            }
            let mut keep = Vec::new();
            let mut keep_refused = None;
            let listener = match listen {
                Listen::Serve => Some(listener),
                Listen::Refuse => {
                    drop(listener);
                    // Hold the port (best effort: the login's connection may linger in
                    // TIME_WAIT) so that a concurrent case's server cannot take it.
                    let holder = TcpSocket::new_v4()
                        .ok()
                        .filter(|h| h.set_reuseaddr(true).is_ok() && h.bind(addr).is_ok());
                    keep_refused = holder;
                    None
                }
                Listen::Blackhole => {
                    keep = fill_accept_queue(addr).await;
                    Some(listener)
                }
            };
            if let Some(tcp) = preamble {
                serve_auth(tcp, &a).await;
            }
            let _ = ready.take().map(|tx| tx.send(()));
            match (listen, listener) {
                (Listen::Serve, Some(listener)) => {
                    let events = Arc::new(AtomicUsize::new(0));
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            return;
                        };
                        let (steps, r, e) = (steps.clone(), r.clone(), events.clone());
                        tokio::spawn(async move { handle(tcp, &steps, &e, &r).await });
                    }
                }
                (_, listener) => {
                    // Keep the black hole (the listener and its queue) until the test ends.
                    let _keep = (listener, keep, keep_refused);
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        });
        let _ = ready_rx.await;
        Scripted {
            addr,
            requests,
            auth_requests,
            task,
        }
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests of the call under test that reached the server (read in full).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The login requests of the preamble.
    pub fn auth_requests(&self) -> usize {
        self.auth_requests.load(Ordering::SeqCst)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects to `addr` until a connection stalls: the accept queue is then full and further
/// connects hang in the handshake (Linux drops their SYNs).
async fn fill_accept_queue(addr: SocketAddr) -> Vec<TcpStream> {
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(50), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    fillers
}

async fn serve_auth(mut tcp: TcpStream, auth: &AtomicUsize) {
    if read_request(&mut tcp).await.is_some() {
        auth.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.write_all(AUTH_ANSWER).await;
        let _ = tcp.shutdown().await;
    }
}

async fn handle(mut tcp: TcpStream, steps: &[Step], events: &AtomicUsize, requests: &AtomicUsize) {
    loop {
        let next = events.load(Ordering::SeqCst);
        if let Some(Step::ResetBeforeRead) = steps.get(next).or(steps.last()) {
            events.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.set_zero_linger();
            return;
        }
        if read_request(&mut tcp).await.is_none() {
            return;
        }
        let n = events.fetch_add(1, Ordering::SeqCst);
        requests.fetch_add(1, Ordering::SeqCst);
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

/// Reads one request (headers and a Content-Length body); `None` at EOF or on error.
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
