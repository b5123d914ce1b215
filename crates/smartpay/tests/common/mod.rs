//! A scripted HTTP/1.1 server on 127.0.0.1 for the wire tests: it answers each request with
//! what a handler says (or resets the connection after reading it), records every request with
//! its headers (read by `payments_testkit::read_request`), and counts the connections it
//! accepted. Stopped when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smartpay::{Client, ClientBuilder, Secret};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

pub use payments_testkit::Recorded;

/// A recorded request's body as JSON.
pub fn body_json(request: &Recorded) -> serde_json::Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// What the server does with one request.
pub enum Reply {
    /// An answer: status, extra headers, body.
    Answer(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Reset the connection once the request is read (it may have been acted on).
    Reset,
}

/// A JSON answer.
pub fn json(status: u16, body: &str) -> Reply {
    Reply::Answer(
        status,
        vec![("content-type", "application/json".into())],
        body.as_bytes().to_vec(),
    )
}

/// A JSON answer that sets cookies.
pub fn json_with_cookies(status: u16, body: &str, cookies: &[&str]) -> Reply {
    let mut headers = vec![("content-type", "application/json".to_owned())];
    headers.extend(cookies.iter().map(|c| ("set-cookie", (*c).to_owned())));
    Reply::Answer(status, headers, body.as_bytes().to_vec())
}

/// The handler: the request, and how many requests to its path came so far (1 for the first).
type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Starts a server on 127.0.0.1:0.
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let (a, r) = (accepts.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let (r, h, c) = (r.clone(), handler.clone(), counts.clone());
                tokio::spawn(serve(tcp, r, h, c));
            }
        });
        Server {
            addr,
            accepts,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The connections accepted.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Every request read, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// A client of this server: plain http to loopback by the named opt-in, fast retries.
    pub fn client(&self) -> Client {
        self.builder().build().expect("client")
    }

    /// The builder of [`Server::client`].
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .environment(smartpay::Environment::Custom(self.base().parse().unwrap()))
            .allow_plain_http_to_loopback()
            .credentials("kassa-0001", Secret::from("kassa-password-1"))
            .retry_policy(
                payments_core::RetryPolicy::default()
                    .with_max_attempts(3)
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            )
            .poll_policy(
                smartpay::DEFAULT_POLL_POLICY
                    .to_builder()
                    .interval(Duration::from_millis(5))
                    .max_interval(Duration::from_millis(10))
                    .build()
                    .expect("poll policy"),
            )
    }
}

async fn serve(
    mut tcp: TcpStream,
    log: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Handler>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
) {
    while let Some(req) = payments_testkit::read_request(&mut tcp).await {
        let n = {
            let mut c = counts.lock().unwrap();
            let n = c.entry(req.path.clone()).or_insert(0);
            *n += 1;
            *n
        };
        log.lock().unwrap().push(req.clone());
        match handler(&req, n) {
            Reply::Reset => {
                let _ = tcp.set_zero_linger();
                return;
            }
            Reply::Answer(status, headers, body) => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                bytes.extend_from_slice(&body);
                if tcp.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}
