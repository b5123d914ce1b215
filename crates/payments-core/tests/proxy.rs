//! HTTPS proxies, against a real `CONNECT` proxy written here (a loopback TCP listener that reads
//! `CONNECT host:port`, answers, and pipes bytes) and a loopback TLS server: calls go through
//! the tunnel with TLS end to end, `NO_PROXY`-style exceptions and loopback targets of the
//! environment's proxies bypass it, credentials reach the proxy only, and a proxy that refuses
//! the tunnel or cannot be reached means nothing was sent.

use std::sync::{Arc, Mutex};

use payments_core::proxy::Proxy;
use payments_core::{ErrorKind, HttpClient, Operation, Request, RetryPolicy};
use payments_testkit::tls::{Alpn, ClientAuth, TestPki};
use payments_testkit::{answer, Scripted};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with a `CONNECT`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answers 200 and pipes bytes to 127.0.0.1 at the target's port.
    Tunnel,
    /// Answers 403 and closes.
    Refuse,
}

/// One `CONNECT` the proxy saw: its target, its `Proxy-Authorization`, and the first bytes the
/// client sent inside the tunnel.
#[derive(Clone, Debug, Default)]
struct Seen {
    target: String,
    authorization: Option<String>,
    first_bytes: Vec<u8>,
}

struct ConnectProxy {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    async fn start(mode: Mode) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(handle(client, mode, log.clone()));
            }
        });
        ConnectProxy { url, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(mut client: TcpStream, mode: Mode, log: Arc<Mutex<Vec<Seen>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8(head).unwrap();
    let mut lines = head.split("\r\n");
    let request_line: Vec<&str> = lines.next().unwrap().split(' ').collect();
    assert_eq!(request_line[0], "CONNECT", "{head}");
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.trim().to_owned());
    let mut seen = Seen {
        target: request_line[1].to_owned(),
        authorization,
        first_bytes: Vec::new(),
    };
    if mode == Mode::Refuse {
        log.lock().unwrap().push(seen);
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    }
    let port = seen.target.rsplit_once(':').unwrap().1;
    let mut upstream = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .unwrap();
    // The client's first bytes in the tunnel: what the proxy could read of the call.
    let mut first = vec![0u8; 4096];
    let n = client.read(&mut first).await.unwrap_or(0);
    first.truncate(n);
    upstream.write_all(&first).await.unwrap();
    seen.first_bytes = first;
    log.lock().unwrap().push(seen);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

const CREATE: Operation = Operation::not_idempotent("test", "create");

fn request(url: String) -> Request {
    let mut req = Request::new(http::Method::POST, url.parse().unwrap());
    req.headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static("Bearer call-s3cret"),
    );
    req.body = bytes::Bytes::from_static(b"{\"card\":\"4111\"}");
    req
}

async fn tls_server(pki: &TestPki, answers: usize) -> Scripted {
    let steps = (0..answers).map(|_| answer(200, &[], b"paid")).collect();
    Scripted::serve_tls(pki.server_config(Alpn::Http1, ClientAuth::None), steps).await
}

#[tokio::test]
async fn https_calls_go_through_a_connect_tunnel_with_tls_end_to_end() {
    let pki = TestPki::new("proxy-test");
    let server = tls_server(&pki, 1).await;
    let proxy = ConnectProxy::start(Mode::Tunnel).await;
    let with_user = proxy.url.replace("http://", "http://merchant:pr0xy-pass@");
    let builder = HttpClient::builder()
        .trust_only_ca_pem(pki.ca_pem().as_bytes())
        .proxy(Proxy::https(&with_user).unwrap());
    let shown = format!("{builder:?}");
    assert!(
        shown.contains(&proxy.url[7..]),
        "the proxy is shown: {shown}"
    );
    assert!(
        !shown.contains("pr0xy-pass") && !shown.contains("merchant"),
        "{shown}"
    );
    let client = builder.build().unwrap();
    let port = server.addr.port();
    let resp = client
        .execute(
            &CREATE,
            request(format!("https://localhost:{port}/pay?x=1")),
        )
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"paid");
    assert_eq!(server.requests(), 1);

    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "one CONNECT");
    assert_eq!(seen[0].target, format!("localhost:{port}"));
    // base64("merchant:pr0xy-pass")
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Basic bWVyY2hhbnQ6cHIweHktcGFzcw==")
    );
    // Inside the tunnel the proxy sees a TLS handshake record, never the call.
    let first = &seen[0].first_bytes;
    assert_eq!(first.first(), Some(&0x16), "a TLS handshake record");
    let text = String::from_utf8_lossy(first);
    for clear in ["/pay", "call-s3cret", "4111", "pr0xy-pass"] {
        assert!(!text.contains(clear), "the proxy read {clear:?}");
    }
    // The client shows no proxy credential.
    let shown = format!("{client:?}");
    assert!(!shown.contains("pr0xy-pass") && !shown.contains("bWVyY2hhbnQ6"));
}

#[tokio::test]
async fn plain_http_targets_go_through_the_tunnel_of_an_http_proxy() {
    let server = Scripted::serve(vec![answer(200, &[], b"paid")]).await;
    let proxy = ConnectProxy::start(Mode::Tunnel).await;
    let client = HttpClient::builder()
        .proxy(Proxy::http(&proxy.url).unwrap())
        .build()
        .unwrap();
    let resp = client
        .execute(&CREATE, request(server.url("/pay")))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"paid");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, server.addr.to_string());
    assert_eq!(seen[0].authorization, None);
}

#[tokio::test]
async fn exceptions_and_loopback_targets_of_the_environment_bypass_the_proxy() {
    let pki = TestPki::new("proxy-test");
    let server = tls_server(&pki, 3).await;
    let proxy = ConnectProxy::start(Mode::Tunnel).await;
    let port = server.addr.port();

    // An explicit exception.
    let client = HttpClient::builder()
        .trust_only_ca_pem(pki.ca_pem().as_bytes())
        .proxy(
            Proxy::https(&proxy.url)
                .unwrap()
                .except("example.org, localhost"),
        )
        .build()
        .unwrap();
    client
        .execute(&CREATE, request(format!("https://localhost:{port}/pay")))
        .await
        .unwrap();

    // The environment's proxy (read from a map, not the process): loopback is never proxied,
    // whatever NO_PROXY says.
    let url = proxy.url.clone();
    let env = move |name: &str| (name == "HTTPS_PROXY").then(|| url.clone());
    let from_env = Proxy::from_vars(env).unwrap().unwrap();
    assert!(from_env
        .proxy_for(&"https://kassa.example/".parse().unwrap())
        .is_some());
    let client = HttpClient::builder()
        .trust_only_ca_pem(pki.ca_pem().as_bytes())
        .proxy(from_env)
        .build()
        .unwrap();
    for host in ["localhost", "127.0.0.1"] {
        client
            .execute(&CREATE, request(format!("https://{host}:{port}/pay")))
            .await
            .unwrap();
    }
    assert_eq!(server.requests(), 3, "every call reached the server");
    assert!(proxy.seen().is_empty(), "and none went through the proxy");
}

#[tokio::test]
async fn proxy_settings_are_refused_beside_a_transport_of_ones_own() {
    // `no_proxy()` is a transport setting: refused beside a transport of one's own, like TLS.
    let transport = payments_core::HttpTransport::builder()
        .no_proxy()
        .build()
        .unwrap();
    let refused = HttpClient::builder()
        .transport(Arc::new(transport))
        .proxy(Proxy::https("http://proxy:3128").unwrap())
        .build()
        .unwrap_err();
    assert!(refused.is_about("transport"), "{refused}");
}

#[tokio::test]
async fn a_proxy_that_refuses_the_tunnel_or_is_unreachable_sent_nothing() {
    let pki = TestPki::new("proxy-test");
    let server = tls_server(&pki, 1).await;
    let port = server.addr.port();
    let refusing = ConnectProxy::start(Mode::Refuse).await;
    let (unreachable, _held) = payments_testkit::refused_addr();

    for (proxy_url, through_refusing) in [
        (refusing.url.clone(), true),
        (format!("http://{unreachable}"), false),
    ] {
        let with_user = proxy_url.replace("http://", "http://merchant:pr0xy-pass@");
        let client = HttpClient::builder()
            .trust_only_ca_pem(pki.ca_pem().as_bytes())
            .proxy(Proxy::https(&with_user).unwrap())
            .retry_policy(RetryPolicy::default().with_backoff(
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(2),
            ))
            .build()
            .unwrap();
        let err = client
            .execute(&CREATE, request(format!("https://localhost:{port}/pay")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Connect, "{err:?}");
        assert!(!err.may_have_been_sent(), "{err:?}");
        // Nothing was sent, so even a non-idempotent call was tried again.
        assert_eq!(err.attempts(), 3);
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("pr0xy-pass") && !shown.contains("bWVyY2hhbnQ6"),
            "{shown}"
        );
        if through_refusing {
            assert_eq!(refusing.seen().len(), 3, "the proxy was asked each time");
        }
    }
    assert_eq!(server.requests(), 0, "the provider never saw the call");
}
