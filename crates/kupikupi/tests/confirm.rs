//! `reconcile` against a scripted `checkout` on 127.0.0.1: a final status ends the polling, a
//! refusal stops it at once, a transport failure is asked again until the deadline, and nothing
//! is credited at the deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use http::StatusCode;
use kupikupi::{
    reconcile, Client, Jitter, OrderId, PollPolicy, Reconciled, StoredTransfer, TransferAmount,
    TransferStatus, UnresolvedReason, DEFAULT_CONFIRM_POLICY,
};
use payments_core::{RetryPolicy, Secret, Timeouts};
use payments_sandbox::server::{serve, RunningServer};

/// A `checkout` that answers the `n`th question (1 for the first) with `script(n)`.
struct Checkout {
    server: RunningServer,
    asked: Arc<AtomicUsize>,
}

impl Checkout {
    async fn start(script: fn(usize) -> (StatusCode, &'static str)) -> Checkout {
        let asked = Arc::new(AtomicUsize::new(0));
        let a = Arc::clone(&asked);
        let router = Router::new().route(
            "/api/v1/transfer/checkout",
            post(move || {
                let n = a.fetch_add(1, Ordering::SeqCst) + 1;
                async move { script(n) }
            }),
        );
        let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
            .await
            .unwrap();
        Checkout { server, asked }
    }

    fn client(&self) -> Client {
        Client::builder()
            .platform_uid("M2hULcD58iYGkmS7")
            .secret_key(Secret::from("yIKirCvplm8N1D9g"))
            .base_url(format!("{}/api/v1/transfer", self.server.base_url()))
            .allow_plain_http_to_loopback()
            .timeouts(Timeouts::default().with_total(Duration::from_secs(10)))
            .retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .build()
            .unwrap()
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }

    /// Stops the server.
    async fn stop(self) {
        self.server.shutdown().await;
    }

    async fn reconcile(&self, policy: PollPolicy) -> Reconciled {
        let order = OrderId::new("r-1").unwrap();
        let stored = StoredTransfer::new(TransferAmount::from_minor(972).unwrap());
        reconcile(&self.client(), &order, &stored, policy).await
    }
}

const NEW: &str =
    r#"{"status":true,"errorCode":"0","transferStatus":"NEW","paymentId":7,"orderId":"r-1"}"#;
const CONFIRMED: &str =
    r#"{"status":true,"errorCode":"0","transferStatus":"CONFIRMED","paymentId":7,"orderId":"r-1"}"#;
const UNKNOWN_ORDER: &str = r#"{"status":false,"errorCode":"6","errorMessage":"Order not found"}"#;

/// Quick polling: 5 ms doubling up to 20 ms, no jitter, for `deadline`.
fn quick(deadline: Duration) -> PollPolicy {
    DEFAULT_CONFIRM_POLICY
        .to_builder()
        .interval(Duration::from_millis(5))
        .max_interval(Duration::from_millis(20))
        .jitter(Jitter::None)
        .deadline(deadline)
        .build()
        .unwrap()
}

#[tokio::test]
async fn transport_failures_are_asked_again_until_checkout_is_final() {
    let checkout = Checkout::start(|n| match n {
        1 | 2 => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        3 => (StatusCode::OK, NEW),
        _ => (StatusCode::OK, CONFIRMED),
    })
    .await;
    match checkout.reconcile(quick(Duration::from_secs(30))).await {
        Reconciled::Confirmed(t) => assert_eq!(t.payment_id().as_str(), "7"),
        other => panic!("{other:?}"),
    }
    assert_eq!(checkout.asked(), 4, "two failures, one NEW, then CONFIRMED");
    checkout.stop().await;
}

#[tokio::test]
async fn failures_until_the_deadline_credit_nothing() {
    let checkout = Checkout::start(|_| (StatusCode::SERVICE_UNAVAILABLE, "busy")).await;
    match checkout.reconcile(quick(Duration::from_millis(100))).await {
        Reconciled::Unresolved(u) => {
            assert!(
                matches!(u.reason(), UnresolvedReason::CheckoutFailed(_)),
                "{u}"
            );
            assert_eq!(u.notified(), None);
        }
        other => panic!("{other:?}"),
    }
    assert!(checkout.asked() > 2, "asked {}", checkout.asked());
    checkout.stop().await;
}

#[tokio::test]
async fn a_status_never_final_credits_nothing_at_the_deadline() {
    let checkout = Checkout::start(|_| (StatusCode::OK, NEW)).await;
    match checkout.reconcile(quick(Duration::from_millis(100))).await {
        Reconciled::Unresolved(u) => assert!(
            matches!(u.reason(), UnresolvedReason::NotFinal(TransferStatus::New)),
            "{u}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(checkout.asked() > 2, "asked {}", checkout.asked());
    checkout.stop().await;
}

#[tokio::test]
async fn a_refusal_stops_at_once() {
    let checkout = Checkout::start(|_| (StatusCode::OK, UNKNOWN_ORDER)).await;
    match checkout.reconcile(quick(Duration::from_secs(30))).await {
        Reconciled::Unresolved(u) => assert!(
            matches!(u.reason(), UnresolvedReason::Refused(p) if p.code.as_deref() == Some("6")),
            "{u}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(checkout.asked(), 1);
    checkout.stop().await;
}

/// A deadline or a wait too large to add to now never panics (it did: `Instant + Duration`).
#[tokio::test]
async fn huge_durations_never_panic() {
    let checkout = Checkout::start(|n| match n {
        1 => (StatusCode::OK, NEW),
        _ => (StatusCode::OK, CONFIRMED),
    })
    .await;
    let huge = DEFAULT_CONFIRM_POLICY
        .to_builder()
        .interval(Duration::from_millis(5))
        .max_interval(Duration::MAX)
        .growth_percent(u32::MAX)
        .deadline(Duration::MAX)
        .build()
        .unwrap();
    assert!(matches!(
        checkout.reconcile(huge).await,
        Reconciled::Confirmed(_)
    ));
    assert_eq!(checkout.asked(), 2);
    checkout.stop().await;
}

/// `reconcile` asks at once: the policy's first delay is the notification endpoint's.
#[tokio::test]
async fn reconcile_asks_at_once() {
    let checkout = Checkout::start(|_| (StatusCode::OK, CONFIRMED)).await;
    let started = std::time::Instant::now();
    // Honoured, this first delay would wait until the deadline, 30 s.
    let policy = quick(Duration::from_secs(30)).with_first_delay(Duration::from_secs(3600));
    assert!(matches!(
        checkout.reconcile(policy).await,
        Reconciled::Confirmed(_)
    ));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(checkout.asked(), 1);
    checkout.stop().await;
}
