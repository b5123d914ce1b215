//! A minimal loopback server that answers the canned provider answers, on its own runtime
//! thread (one worker), so that every client is measured against the same server.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::canned;

/// A running loopback server. Stops when dropped.
pub struct LoopbackServer {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LoopbackServer {
    /// Starts the server on 127.0.0.1:0 in a thread with its own one-worker runtime.
    pub fn start() -> std::io::Result<LoopbackServer> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let thread = std::thread::Builder::new()
            .name("loopback-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async move {
                    let listener = match TcpListener::bind("127.0.0.1:0").await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = addr_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = addr_tx.send(listener.local_addr());
                    let serve = async {
                        loop {
                            let Ok((tcp, _)) = listener.accept().await else {
                                continue;
                            };
                            let _ = tcp.set_nodelay(true);
                            let counter = counter.clone();
                            tokio::spawn(async move {
                                let svc = service_fn(move |req| {
                                    counter.fetch_add(1, Ordering::Relaxed);
                                    answer(req)
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(tcp), svc)
                                    .await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = stop_rx => {}
                    }
                });
            })?;
        let addr = addr_rx
            .recv()
            .map_err(|_| std::io::Error::other("the server thread died"))??;
        Ok(LoopbackServer {
            addr,
            requests,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests it answered.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn json(body: &'static [u8]) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    // Read the whole request, as a real server does before answering.
    let _ = req.into_body().collect().await;
    Ok(match path.as_str() {
        canned::KTPAY_CREATE_PATH => json(canned::KTPAY_CREATED),
        "/api/v1/transfer/init" => json(canned::KUPI_INIT_ANSWER),
        "/v1/auth" => {
            let mut r = json(canned::SMARTPAY_AUTH_ANSWER);
            r.headers_mut().insert(
                SET_COOKIE,
                HeaderValue::from_static(canned::SMARTPAY_SET_COOKIE),
            );
            r
        }
        "/v1/purchase/status" => json(canned::SMARTPAY_STATUS_ANSWER),
        _ => {
            let mut r = json(br#"{"code":"not_found","message":"no such path"}"#);
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    })
}
