//! Retry timing under tokio's paused clock with a scripted in-memory transport: with a seeded
//! jitter, the delays are exactly reproducible. Also property tests for `Amount` and `Secret`,
//! and a check that tracing at TRACE level never records a secret or a body.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use payments_core::{
    Amount, BoxFuture, Error, ErrorKind, HttpClient, Operation, Request, Response, RetryPolicy,
    Secret, TimeoutKind, Timeouts, Transport,
};
use proptest::prelude::*;

/// A transport that answers from a script and records when each attempt started.
struct ScriptTransport {
    answers: Mutex<VecDeque<Result<Response, Error>>>,
    started: Mutex<Vec<tokio::time::Instant>>,
}

impl ScriptTransport {
    fn new(answers: Vec<Result<Response, Error>>) -> Arc<Self> {
        Arc::new(ScriptTransport {
            answers: Mutex::new(answers.into()),
            started: Mutex::new(Vec::new()),
        })
    }
}

impl Transport for ScriptTransport {
    fn send(&self, _request: Request) -> BoxFuture<Result<Response, Error>> {
        self.started
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        let next = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Io)));
        Box::pin(async move { next })
    }
}

fn status(code: u16) -> Response {
    Response {
        status: StatusCode::from_u16(code).unwrap(),
        headers: HeaderMap::new(),
        body: Bytes::new(),
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_backoff(Duration::from_millis(100), Duration::from_secs(1))
        .with_jitter_seed(2024)
}

const IDEM: Operation = Operation::idempotent("test", "status");

fn req() -> Request {
    Request::new(http::Method::GET, "http://127.0.0.1:1/".parse().unwrap())
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_are_reproducible_under_a_paused_clock() {
    let transport = ScriptTransport::new(vec![Ok(status(503)), Ok(status(502)), Ok(status(200))]);
    let client = HttpClient::with_transport(transport.clone()).with_retry_policy(policy());
    let t0 = tokio::time::Instant::now();
    let resp = client.execute(&IDEM, req()).await.unwrap();
    assert_eq!(resp.status, 200);

    let reference = policy();
    let d1 = reference.delay(1, None);
    let d2 = reference.delay(2, None);
    assert!(d1 <= Duration::from_millis(100));
    assert!(d2 <= Duration::from_millis(200));
    let started = transport.started.lock().unwrap().clone();
    assert_eq!(started.len(), 3);
    assert_eq!(started[0] - t0, Duration::ZERO);
    assert_eq!(started[1] - started[0], d1);
    assert_eq!(started[2] - started[1], d2);
}

#[tokio::test(start_paused = true)]
async fn a_server_hint_replaces_the_backoff_and_is_clamped() {
    let mut busy = status(429);
    busy.headers
        .insert(http::header::RETRY_AFTER, "120".parse().unwrap());
    let transport = ScriptTransport::new(vec![Ok(busy), Ok(status(200))]);
    let client = HttpClient::with_transport(transport.clone())
        .with_retry_policy(policy().with_max_retry_after(Duration::from_secs(7)))
        .with_timeouts(Timeouts::default().with_total(Duration::from_secs(60)));
    client.execute(&IDEM, req()).await.unwrap();
    let started = transport.started.lock().unwrap().clone();
    assert_eq!(started[1] - started[0], Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn a_backoff_past_the_total_deadline_gives_up_with_the_last_error() {
    let mut busy = status(503);
    busy.headers
        .insert(http::header::RETRY_AFTER, "30".parse().unwrap());
    let transport = ScriptTransport::new(vec![Ok(busy), Ok(status(200))]);
    let client = HttpClient::with_transport(transport.clone())
        .with_retry_policy(policy().with_max_retry_after(Duration::from_secs(60)))
        .with_timeouts(Timeouts::default().with_total(Duration::from_secs(10)));
    let t0 = tokio::time::Instant::now();
    let err = client.execute(&IDEM, req()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(err.attempts(), 1);
    assert_eq!(tokio::time::Instant::now() - t0, Duration::ZERO);
}

/// A transport that never answers.
struct Silent;
impl Transport for Silent {
    fn send(&self, _request: Request) -> BoxFuture<Result<Response, Error>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn attempt_and_total_timeouts_are_exact_under_a_paused_clock() {
    let client = HttpClient::with_transport(Arc::new(Silent))
        .with_retry_policy(RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO))
        .with_timeouts(
            Timeouts::default()
                .with_attempt(Duration::from_secs(4))
                .with_total(Duration::from_secs(10)),
        );
    let t0 = tokio::time::Instant::now();
    let err = client.execute(&IDEM, req()).await.unwrap_err();
    // Two whole attempts of 4 s, then the third is cut at the 10 s deadline.
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Total));
    assert_eq!(err.attempts(), 3);
    assert_eq!(tokio::time::Instant::now() - t0, Duration::from_secs(10));

    let once = Operation::not_idempotent("test", "create");
    let t0 = tokio::time::Instant::now();
    let err = client.execute(&once, req()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Attempt));
    assert_eq!(err.attempts(), 1);
    assert_eq!(tokio::time::Instant::now() - t0, Duration::from_secs(4));
}

/// A writer that keeps everything tracing prints.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);
impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn trace_logs_never_hold_a_secret_or_a_body() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let secret = Secret::from("sup3r-s3cret-cookie");
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let (mut tcp, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(
                        b"HTTP/1.1 503 X\r\ncontent-length: 31\r\n\r\n{\"token\":\"answer-t0ken-secret\"}",
                    )
                    .await;
            });
            let transport = payments_core::HttpTransport::builder().build().unwrap();
            let client = HttpClient::with_transport(Arc::new(transport))
                .with_retry_policy(RetryPolicy::never());
            let request = Request::new(
                http::Method::POST,
                format!("http://{addr}/pay").parse().unwrap(),
            )
            .with_header(
                http::header::COOKIE,
                http::HeaderValue::from_str(secret.expose_str().unwrap()).unwrap(),
            )
            .with_body("card=4111111111111111");
            let err = client.execute(&IDEM, request).await.unwrap_err();
            assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
            tracing::error!(error = %err, debug = ?err, "call failed");
            server.await.unwrap();
        });
    });
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("payments.call"), "the call span was logged");
    assert!(logs.contains("provider=\"test\"") || logs.contains("provider=test"));
    assert!(!logs.contains("sup3r-s3cret-cookie"), "{logs}");
    assert!(!logs.contains("4111111111111111"), "{logs}");
    assert!(!logs.contains("answer-t0ken-secret"), "{logs}");
}

proptest! {
    #[test]
    fn amount_text_round_trips(minor in any::<u64>()) {
        let a = Amount::from_minor(minor);
        prop_assert_eq!(a.to_string().parse::<Amount>().unwrap(), a);
        prop_assert_eq!(a.to_compact_string().parse::<Amount>().unwrap(), a);
    }

    #[test]
    fn amount_accepts_exactly_the_decimal_forms(major in 0u64..1_000_000_000, frac in "[0-9]{0,2}") {
        let text = if frac.is_empty() { major.to_string() } else { format!("{major}.{frac}") };
        let a: Amount = text.parse().unwrap();
        let scale = match frac.len() { 0 => 0, 1 => frac.parse::<u64>().unwrap() * 10, _ => frac.parse::<u64>().unwrap() };
        prop_assert_eq!(a.minor(), major * 100 + scale);
    }

    #[test]
    fn amount_parsing_never_panics(text in ".{0,40}") {
        let _ = text.parse::<Amount>();
    }

    #[test]
    fn amount_refuses_three_decimals(major in 0u64..1_000_000, frac in "[0-9]{3,6}") {
        let text = format!("{major}.{frac}");
        prop_assert!(text.parse::<Amount>().is_err());
    }

    #[test]
    fn secret_never_leaks_in_debug_or_display(value in "[a-zA-Z0-9]{4,64}") {
        let s = Secret::from(value.clone());
        let shown = format!("{s:?} {s} {s:#?}");
        prop_assert!(!shown.contains(&value));
        prop_assert!(s.ct_eq_bytes(value.as_bytes()));
        let wrapped = Some(vec![s]);
        let shown = format!("{wrapped:?}");
        prop_assert!(!shown.contains(&value));
    }
}
