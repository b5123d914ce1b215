//! No Kupi-Kupi call is idempotent: a call is retried only when the request provably never
//! reached the server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use kupikupi::{Client, Error, OrderId, Phone, TransferAmount};
use payments_core::{ErrorKind, RetryPolicy, Secret, Timeouts};
use payments_sandbox::server::serve;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(base: String) -> Client {
    Client::builder()
        .platform_uid("M2hULcD58iYGkmS7")
        .secret_key(Secret::from("yIKirCvplm8N1D9g"))
        .base_url(base)
        .allow_plain_http_to_loopback()
        .timeouts(Timeouts::default().with_total(Duration::from_secs(10)))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

async fn init(c: &Client) -> Result<kupikupi::Transfer, Error> {
    c.init(
        &Phone::new("79000000001").unwrap(),
        &OrderId::new("r-1").unwrap(),
        TransferAmount::from_minor(100).unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_503_is_not_retried_and_may_have_been_sent() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = Arc::clone(&hits);
    let router = Router::new().route(
        "/api/v1/transfer/init",
        post(move || {
            let h = Arc::clone(&h);
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                (http::StatusCode::SERVICE_UNAVAILABLE, "busy")
            }
        }),
    );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let c = client(format!("{}/api/v1/transfer", server.base_url()));
    let err = init(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.status() == Some(http::StatusCode::SERVICE_UNAVAILABLE)),
        "{err:?}"
    );
    assert!(err.may_have_been_sent());
    assert!(err.is_retryable());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_connection_dropped_after_the_request_is_not_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU32::new(0));
    let a = Arc::clone(&accepted);
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            // Close without answering.
            let _ = tcp.shutdown().await;
        }
    });
    let c = client(format!("http://{addr}/api/v1/transfer"));
    let err = init(&c).await.unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(t.kind(), ErrorKind::Io), "{t:?}");
    assert!(err.may_have_been_sent());
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert_eq!(t.attempts(), 1);
    task.abort();
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client(format!("http://{addr}/api/v1/transfer"));
    let err = init(&c).await.unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(t.kind(), ErrorKind::Connect), "{t:?}");
    assert_eq!(t.attempts(), 3);
    assert!(!err.may_have_been_sent());
}

#[tokio::test]
async fn the_wire_format() {
    type Seen = Arc<std::sync::Mutex<Vec<(String, http::HeaderMap, Bytes)>>>;
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let router = Router::new().route(
        "/api/v1/transfer/{method}",
        post(
            move |axum::extract::Path(method): axum::extract::Path<String>,
                  headers: http::HeaderMap,
                  body: Bytes| {
                let s = Arc::clone(&s);
                async move {
                    s.lock().unwrap().push((method, headers, body));
                    r#"{"status":true,"errorCode":"0","transferStatus":"NEW","paymentId":7,"orderId":"r-1"}"#
                }
            },
        ),
    );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let c = client(format!("{}/api/v1/transfer/", server.base_url()));
    let checkout = c
        .checkout(
            &OrderId::new("r-1").unwrap(),
            TransferAmount::from_minor(972).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(checkout.payment_id.as_str(), "7");
    let code = kupikupi::ConfirmationCode::new("1111").unwrap();
    c.confirmation(&Phone::new("79000000001").unwrap(), &code)
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (method, headers, body) = &seen[0];
    assert_eq!(method, "checkout");
    assert_eq!(headers[http::header::CONTENT_TYPE], "application/json");
    assert_eq!(headers["x-requested-with"], "XMLHttpRequest");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    let expected = kupikupi::token(
        serde_json::json!({"platformUid": "M2hULcD58iYGkmS7", "orderId": "r-1", "amount": 972})
            .as_object()
            .unwrap(),
        &Secret::from("yIKirCvplm8N1D9g"),
    )
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"platformUid": "M2hULcD58iYGkmS7", "orderId": "r-1", "amount": 972,
                           "token": expected.as_str()})
    );
    assert!(!String::from_utf8_lossy(body).contains("yIKirCvplm8N1D9g"));
    let (method, _, body) = &seen[1];
    assert_eq!(method, "confirmation");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["code"], 1111);
    assert_eq!(json["phone"], 79_000_000_001u64);
    server.shutdown().await;
}

/// Issue 12: an `init` answer whose echoed amount is not the one sent (here a transfer made
/// earlier under the same order id, with a non-integer amount) is not a decode error: the
/// caller gets the transfer's id and URL back in `Error::InitMismatch`.
#[tokio::test]
async fn an_init_answer_that_does_not_echo_the_request_keeps_the_transfer() {
    let router = Router::new().route(
        "/api/v1/transfer/init",
        post(|| async {
            r#"{"status":true,"errorCode":"0","paymentId":"4242","orderId":"r-1","amount":99.5,"transferURL":"https://pay.example/form/4242"}"#
        }),
    );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let c = client(format!("{}/api/v1/transfer", server.base_url()));
    let err = init(&c).await.unwrap_err();
    let m = err.init_mismatch().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(m.payment_id.as_str(), "4242");
    assert_eq!(m.transfer_url.to_string(), "https://pay.example/form/4242");
    assert_eq!(m.order_id, None);
    assert_eq!(m.amount, Some(kupikupi::Echo::Other("99.5".into())));
    assert_eq!(m.sent_amount.minor(), 100);
    assert!(err.may_have_been_sent());
    server.shutdown().await;
}
