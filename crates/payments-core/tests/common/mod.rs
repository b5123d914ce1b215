//! A scripted raw TCP server on 127.0.0.1 for fault tests: it can answer, reset, stall, truncate
//! or flood, per connection, and it counts the requests that reached it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with one connection.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Read the request, write these raw bytes, keep the connection open for the next request.
    Respond(Vec<u8>),
    /// Read the request, then reset the connection (SO_LINGER 0).
    ResetAfterRequest,
    /// Reset as soon as the connection is accepted, before reading anything.
    ResetOnAccept,
    /// Read the request and never answer.
    StallHeaders,
    /// Read the request, send headers and part of the body, then never finish.
    StallBody,
    /// Read the request, send headers with a Content-Length larger than the body, then close.
    Truncate,
    /// Read the request, send headers and part of the body, then reset the connection.
    ResetMidResponse,
}

/// An HTTP/1.1 answer with a body.
pub fn http(status: u16, extra_headers: &[(&str, &str)], body: &[u8]) -> Behaviour {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in extra_headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Behaviour::Respond(bytes)
}

/// A scripted server. Requests are answered by `script[i]` for the i-th request received (the
/// last entry repeats).
pub struct Scripted {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Scripted {
    pub async fn start(script: Vec<Behaviour>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (r, b, c) = (requests.clone(), bodies.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (script, r, b, e) = (script.clone(), r.clone(), b.clone(), events.clone());
                tokio::spawn(async move { handle(tcp, &script, &e, &r, &b).await });
            }
        });
        Scripted {
            addr,
            requests,
            connections,
            bodies,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// How many whole requests reached the server.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The bodies received, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    mut tcp: TcpStream,
    script: &[Behaviour],
    events: &AtomicUsize,
    count: &AtomicUsize,
    bodies: &Mutex<Vec<Vec<u8>>>,
) {
    loop {
        let idx = events.load(Ordering::SeqCst);
        let behaviour = script.get(idx).or(script.last()).cloned();
        if let Some(Behaviour::ResetOnAccept) = behaviour {
            events.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.set_zero_linger();
            return;
        }
        let Some(body) = read_request(&mut tcp).await else {
            return;
        };
        let n = events.fetch_add(1, Ordering::SeqCst);
        count.fetch_add(1, Ordering::SeqCst);
        bodies.lock().unwrap().push(body);
        let behaviour = script.get(n).or(script.last()).cloned();
        match behaviour {
            None | Some(Behaviour::ResetOnAccept) => return,
            Some(Behaviour::Respond(bytes)) => {
                if tcp.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Some(Behaviour::ResetAfterRequest) => {
                let _ = tcp.set_zero_linger();
                return;
            }
            Some(Behaviour::StallHeaders) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(Behaviour::StallBody) => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
                    .await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(Behaviour::ResetMidResponse) => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"half\":")
                    .await;
                let _ = tcp.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tcp.set_zero_linger();
                return;
            }
            Some(Behaviour::Truncate) => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\":")
                    .await;
                let _ = tcp.shutdown().await;
                return;
            }
        }
    }
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body). `None` at EOF.
async fn read_request(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
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
pub fn refused_addr() -> (SocketAddr, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    (socket.local_addr().unwrap(), socket)
}

/// A listener whose accept queue is full, so that a further connect stalls in the handshake.
/// Keep the returned value alive for as long as the stall is needed.
pub struct Blackhole {
    pub addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<TcpStream>,
}

pub async fn blackhole() -> Blackhole {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(0).unwrap();
    let mut fillers = Vec::new();
    // Fill the accept queue; with backlog 0, Linux keeps one or two; further SYNs are dropped.
    for _ in 0..8 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    Blackhole {
        addr,
        _listener: listener,
        _fillers: fillers,
    }
}
