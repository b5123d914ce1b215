//! Fault tests against scripted servers on 127.0.0.1: each asserts the error kind, the number
//! of attempts, the elapsed bound and, for requests that may have reached the server, how many
//! times the server saw them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payments_core::{
    ErrorKind, HttpClient, HttpTransport, Operation, Request, RetryBudget, RetryPolicy,
    TimeoutKind, Timeouts,
};
use payments_testkit::{answer, blackhole, refused_addr, Scripted, Step};

const IDEM: Operation = Operation::idempotent("test", "status");
const ONCE: Operation = Operation::not_idempotent("test", "create");

fn client_with(timeouts: Timeouts, max_body: usize) -> HttpClient {
    let transport = HttpTransport::builder()
        .connect_timeout(timeouts.connect)
        .max_body_bytes(max_body)
        .build()
        .unwrap();
    HttpClient::with_transport(Arc::new(transport))
        .with_timeouts(timeouts)
        .with_retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_retry_after(Duration::from_secs(2))
                .with_jitter_seed(42),
        )
}

fn client() -> HttpClient {
    client_with(
        Timeouts::default()
            .with_connect(Duration::from_secs(2))
            .with_attempt(Duration::from_secs(2))
            .with_total(Duration::from_secs(10)),
        64 * 1024,
    )
}

fn post(url: &str) -> Request {
    Request::new(http::Method::POST, url.parse().unwrap()).with_body(&b"{\"order\":1}"[..])
}

#[tokio::test]
async fn connection_refused_is_retried_because_nothing_was_sent() {
    let (addr, _held) = refused_addr();
    let started = Instant::now();
    let err = client()
        .execute(&ONCE, post(&format!("http://{addr}/x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Connect);
    assert_eq!(err.attempts(), 3);
    assert!(!err.may_have_been_sent());
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(err.operation(), Some("create"));
    assert!(err
        .to_string()
        .starts_with("test create: could not connect"));
    // The cause is kept as a source chain, not flattened.
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn reset_after_the_request_is_never_resent_when_not_idempotent() {
    let server = Scripted::serve(vec![Step::ResetAfterRead, answer(200, &[], b"{}")]).await;
    let started = Instant::now();
    let err = client()
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert_eq!(err.attempts(), 1);
    assert!(err.may_have_been_sent());
    assert_eq!(
        server.requests(),
        1,
        "a non-idempotent request was sent twice"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn reset_after_the_request_is_retried_when_idempotent() {
    let server = Scripted::serve(vec![
        Step::ResetAfterRead,
        Step::ResetAfterRead,
        answer(200, &[], b"done"),
    ])
    .await;
    let resp = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], b"done");
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn reset_before_the_request_is_read() {
    let server = Scripted::serve(vec![
        Step::ResetBeforeRead,
        Step::ResetBeforeRead,
        answer(200, &[], b"ok"),
    ])
    .await;
    let resp = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"ok");
    assert_eq!(server.requests(), 1);
    assert_eq!(server.connections(), 3);

    // Always reset: the last error is an I/O (or connect) failure after 3 attempts.
    let server = Scripted::serve(vec![Step::ResetBeforeRead]).await;
    let err = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Io | ErrorKind::Connect),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn stalled_headers_fire_the_attempt_timeout() {
    let server = Scripted::serve(vec![Step::StallHeaders]).await;
    let timeouts = Timeouts::default()
        .with_attempt(Duration::from_millis(200))
        .with_total(Duration::from_secs(10));
    let started = Instant::now();
    let err = client_with(timeouts, 1024)
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Attempt));
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests(), 3);
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");

    // Not idempotent: the request may have been acted on, so it is not sent again.
    let server = Scripted::serve(vec![Step::StallHeaders]).await;
    let err = client_with(timeouts, 1024)
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Attempt));
    assert_eq!(err.attempts(), 1);
    assert!(err.may_have_been_sent());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_stalled_body_fires_the_attempt_timeout() {
    let server = Scripted::serve(vec![Step::StallBody]).await;
    let timeouts = Timeouts::default()
        .with_attempt(Duration::from_millis(200))
        .with_total(Duration::from_secs(10));
    let started = Instant::now();
    let err = client_with(timeouts, 1024)
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Attempt));
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_total_timeout_spans_all_attempts() {
    let server = Scripted::serve(vec![Step::StallHeaders]).await;
    let timeouts = Timeouts::default()
        .with_attempt(Duration::from_millis(300))
        .with_total(Duration::from_millis(500));
    let started = Instant::now();
    let err = client_with(timeouts, 1024)
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Total));
    assert_eq!(err.attempts(), 2);
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

#[tokio::test]
async fn a_stalled_connect_fires_the_connect_timeout() {
    let hole = blackhole().await;
    let timeouts = Timeouts::default()
        .with_connect(Duration::from_millis(200))
        .with_attempt(Duration::from_secs(5))
        .with_total(Duration::from_secs(10));
    let started = Instant::now();
    let err = client_with(timeouts, 1024)
        .execute(&ONCE, post(&format!("http://{}/create", hole.addr)))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), &ErrorKind::Timeout(TimeoutKind::Connect));
    assert!(!err.may_have_been_sent());
    // Nothing was sent, so even a non-idempotent call is retried.
    assert_eq!(err.attempts(), 3);
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn service_unavailable_honours_retry_after() {
    let server = Scripted::serve(vec![
        answer(503, &[("retry-after", "1")], b"busy"),
        answer(200, &[], b"ok"),
    ])
    .await;
    let started = Instant::now();
    let resp = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(resp.status, 200);
    assert_eq!(server.requests(), 2);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_is_clamped() {
    let server = Scripted::serve(vec![
        answer(503, &[("retry-after", "3600")], b""),
        answer(200, &[], b"ok"),
    ])
    .await;
    let client = client()
        .with_retry_policy(RetryPolicy::default().with_max_retry_after(Duration::from_millis(100)));
    let started = Instant::now();
    let resp = client
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn too_many_requests_is_retried_only_when_idempotent() {
    let server = Scripted::serve(vec![
        answer(429, &[("retry-after", "0")], b""),
        answer(200, &[], b"ok"),
    ])
    .await;
    let resp = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(server.requests(), 2);

    let server = Scripted::serve(vec![answer(429, &[("retry-after", "0")], b"slow down")]).await;
    let resp = client()
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap();
    assert_eq!(resp.status, 429, "the answer is handed back, not re-sent");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_persistent_503_becomes_a_status_error() {
    let server = Scripted::serve(vec![answer(
        503,
        &[("retry-after", "0")],
        br#"{"error":"down","token":"s3cr3t"}"#,
    )])
    .await;
    let started = Instant::now();
    let err = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests(), 3);
    assert!(err.is_retryable());
    match err.kind() {
        ErrorKind::Status {
            excerpt,
            retry_after,
            ..
        } => {
            assert!(excerpt.contains("down"));
            assert!(!excerpt.contains("s3cr3t"), "the excerpt is redacted");
            assert_eq!(*retry_after, Some(Duration::ZERO));
        }
        other => panic!("unexpected kind {other:?}"),
    }
    assert!(!err.to_string().contains("s3cr3t"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error() {
    let server = Scripted::serve(vec![answer(200, &[], b"<html>oops</html>")]).await;
    let resp = client()
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap();
    let err = resp.json::<serde_json::Value>("a JSON object").unwrap_err();
    match err.kind() {
        ErrorKind::Decode { expected, excerpt } => {
            assert_eq!(expected, "a JSON object");
            assert_eq!(excerpt, "<html>oops</html>");
        }
        other => panic!("unexpected kind {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_truncated_body_is_an_io_error_and_not_resent() {
    let server = Scripted::serve(vec![Step::Truncate]).await;
    let err = client()
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert!(err.may_have_been_sent());
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_reset_mid_response_is_an_io_error() {
    let server = Scripted::serve(vec![Step::ResetMidResponse]).await;
    let err = client()
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert!(err.may_have_been_sent());
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests(), 1);

    // Idempotent: retried, and each attempt reached the server.
    let server = Scripted::serve(vec![Step::ResetMidResponse, answer(200, &[], b"whole")]).await;
    let resp = client()
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"whole");
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused() {
    let big = vec![b'a'; 4096];
    let server = Scripted::serve(vec![answer(200, &[], &big)]).await;
    let err = client_with(Timeouts::default(), 1024)
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BodyTooLarge { limit: 1024 });
    assert_eq!(err.attempts(), 1);

    // Chunked, with no Content-Length to reject early: the cap still holds while reading.
    let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..8 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'b'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let server = Scripted::serve(vec![Step::Respond(chunked)]).await;
    let err = client_with(Timeouts::default(), 1024)
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BodyTooLarge { limit: 1024 });
}

#[tokio::test]
async fn the_retry_budget_stops_a_retry_storm() {
    let server = Scripted::serve(vec![answer(503, &[("retry-after", "0")], b"")]).await;
    let budget = Arc::new(RetryBudget::with_costs(5, 5, 10, 1));
    let client = client().with_retry_policy(RetryPolicy::default().with_budget(budget.clone()));
    let err = client
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 2, "one retry paid for, the next refused");
    assert_eq!(budget.available(), 0);
    let err = client
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 1, "an empty budget means no retry");
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn a_kept_alive_connection_is_reused() {
    let server = Scripted::serve(vec![answer(200, &[], b"ok")]).await;
    let client = client();
    for _ in 0..5 {
        let resp = client
            .execute(&IDEM, post(&server.url("/status")))
            .await
            .unwrap();
        assert_eq!(resp.status, 200);
    }
    assert_eq!(server.requests(), 5);
    assert_eq!(server.connections(), 1);
    assert_eq!(server.bodies()[0], b"{\"order\":1}");
}
