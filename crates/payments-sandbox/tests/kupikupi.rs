//! The Kupi-Kupi emulator on the wire, with raw requests signed here (not through the client
//! crate): a transfer is CONFIRMED only after the merchant's `OK`, notifications go only to
//! loopback, state is bounded, and bad settings are refused at start.
#![cfg(feature = "kupikupi")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use payments_core::{HttpClient, HttpTransport, Operation, Request, RetryPolicy};
use payments_sandbox::kupikupi::{self, token, Config, Emulator, Status};
use payments_sandbox::RunningServer;
use serde_json::{json, Map, Value};

const CONFIRMING: u64 = 79_000_000_001;
const REJECTING: u64 = 79_000_000_002;
const WAIT: Duration = Duration::from_secs(20);
const RAW: Operation = Operation::not_idempotent("test", "raw");

fn http() -> HttpClient {
    HttpClient::with_transport(Arc::new(HttpTransport::builder().build().unwrap()))
        .with_retry_policy(RetryPolicy::never())
}

/// Calls an API method with `fields`, adding the platform uid and the token.
async fn call(root: &str, method: &str, fields: Value) -> Value {
    let mut m: Map<String, Value> = fields.as_object().unwrap().clone();
    m.insert("platformUid".into(), json!("M2hULcD58iYGkmS7"));
    let t = token(&m, "yIKirCvplm8N1D9g");
    m.insert("token".into(), json!(t));
    let req = Request::new(
        http::Method::POST,
        format!("{root}/api/v1/transfer/{method}").parse().unwrap(),
    )
    .with_header(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    )
    .with_body(Value::Object(m).to_string());
    let resp = http().execute(&RAW, req).await.unwrap();
    serde_json::from_slice(&resp.body).unwrap()
}

async fn checkout_status(root: &str, order: &str) -> String {
    let v = call(root, "checkout", json!({"orderId": order, "amount": 100})).await;
    v["transferStatus"].as_str().unwrap_or_default().to_owned()
}

/// `init`, open the form, enter the code (as the customer's browser does).
async fn pay(emu: &Emulator, phone: u64, order: &str) {
    let v = call(
        emu.root_url(),
        "init",
        json!({"phone": phone, "orderId": order, "amount": 100}),
    )
    .await;
    let url = v["transferURL"].as_str().unwrap().to_owned();
    let form = http()
        .execute(&RAW, Request::new(http::Method::GET, url.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(form.status, 200);
    let confirm = Request::new(
        http::Method::POST,
        format!("{url}/confirm").parse().unwrap(),
    )
    .with_header(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    )
    .with_body(format!("code={}", emu.confirmation_code()));
    let answer = http().execute(&RAW, confirm).await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// Where the merchant's `checkout` goes (set once the emulator runs).
#[derive(Clone, Default)]
struct Root(Arc<Mutex<String>>);

impl Root {
    fn set(&self, root: &str) {
        *self.0.lock().unwrap() = root.to_owned();
    }

    fn get(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

/// What the merchant saw in one notification: the status it announced, and what `checkout`
/// answered while the notification was still unanswered.
#[derive(Clone, Debug)]
struct Seen {
    notified: String,
    checkout_before_answer: String,
}

/// A merchant that, before answering each notification, asks the emulator's `checkout`, then
/// answers with `answer`.
async fn merchant(
    answer: (StatusCode, &'static str),
) -> (RunningServer, Root, Arc<Mutex<Vec<Seen>>>) {
    let emulator_root = Root::default();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (root, log) = (emulator_root.clone(), seen.clone());
    let router = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: Bytes| {
            let (root, log) = (root.clone(), log.clone());
            async move {
                let n: Value = serde_json::from_slice(&body).unwrap();
                let order = n["orderId"].as_str().unwrap().to_owned();
                let root = root.get();
                let checkout = checkout_status(&root, &order).await;
                log.lock().unwrap().push(Seen {
                    notified: n["transferStatus"].as_str().unwrap().to_owned(),
                    checkout_before_answer: checkout,
                });
                answer.into_response()
            }
        }),
    );
    let server = payments_sandbox::serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    (server, emulator_root, seen)
}

#[tokio::test]
async fn confirmed_only_after_the_merchant_answered_ok() {
    let (m, root, seen) = merchant((StatusCode::OK, "OK")).await;
    let emu = kupikupi::start(
        Config::default()
            .with_notification_url(format!("{}/notify", m.base_url()))
            .with_time_scale(0.001),
    )
    .await
    .unwrap();
    root.set(emu.root_url());
    pay(&emu, CONFIRMING, "ok-1").await;
    let t = emu
        .wait_for("ok-1", WAIT, |t| t.acknowledged)
        .await
        .unwrap();
    assert_eq!(t.status, Status::Confirmed);
    assert_eq!(t.pending, None);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    // The notification announced CONFIRMED, yet until its OK, checkout did not say so.
    assert_eq!(seen[0].notified, "CONFIRMED");
    assert_eq!(seen[0].checkout_before_answer, "FORM_SHOWED");
    assert_eq!(checkout_status(emu.root_url(), "ok-1").await, "CONFIRMED");
    emu.shutdown().await;
    m.shutdown().await;
}

#[tokio::test]
async fn never_confirmed_when_the_merchant_never_answers_ok() {
    let (m, root, seen) = merchant((StatusCode::INTERNAL_SERVER_ERROR, "database down")).await;
    for (order, unacknowledged) in [("no-ok-1", Status::Rejected), ("no-ok-2", Status::Canceled)] {
        let config = Config::default()
            .with_notification_url(format!("{}/notify", m.base_url()))
            .with_time_scale(0.001)
            .with_max_attempts(3)
            .with_unacknowledged_status(unacknowledged);
        let emu = kupikupi::start(config).await.unwrap();
        root.set(emu.root_url());
        pay(&emu, CONFIRMING, order).await;
        let mid = emu.transfer(order).unwrap();
        assert_eq!(mid.pending, Some(Status::Confirmed), "{mid:?}");
        assert_eq!(mid.status, Status::FormShowed);
        let t = emu
            .wait_for(order, WAIT, |t| t.deliveries.len() == 3)
            .await
            .unwrap();
        let t = emu
            .wait_for(order, WAIT, |t| t.status.is_final())
            .await
            .unwrap_or(t);
        assert_eq!(t.status, unacknowledged, "{t:?}");
        assert_eq!(t.pending, None);
        assert!(!t.acknowledged);
        assert!(t.deliveries.iter().all(|d| d.http_status == Some(500)));
        assert_eq!(
            checkout_status(emu.root_url(), order).await,
            unacknowledged.as_str()
        );
        emu.shutdown().await;
    }
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.notified == "CONFIRMED"), "{seen:?}");
    assert!(
        seen.iter().all(|s| s.checkout_before_answer != "CONFIRMED"),
        "{seen:?}"
    );
    m.shutdown().await;
}

#[tokio::test]
async fn rejected_takes_effect_at_once_and_without_a_url_confirmed_too() {
    // A merchant that never answers OK, on the real-time schedule: a REJECTED transfer is
    // REJECTED at once anyway (the notification reports a failure).
    let (m, _root, _seen) = merchant((StatusCode::SERVICE_UNAVAILABLE, "later")).await;
    let emu = kupikupi::start(
        Config::default().with_notification_url(format!("{}/notify", m.base_url())),
    )
    .await
    .unwrap();
    pay(&emu, REJECTING, "rej-1").await;
    let t = emu.transfer("rej-1").unwrap();
    assert_eq!((t.status, t.pending), (Status::Rejected, None));
    emu.shutdown().await;
    m.shutdown().await;

    // No NotificationURL: nobody can answer OK, so the code confirms at once.
    let emu = kupikupi::start(Config::default()).await.unwrap();
    pay(&emu, CONFIRMING, "alone-1").await;
    let t = emu.transfer("alone-1").unwrap();
    assert_eq!((t.status, t.pending), (Status::Confirmed, None));
    assert!(t.deliveries.is_empty());
    assert_eq!(
        checkout_status(emu.root_url(), "alone-1").await,
        "CONFIRMED"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_pending_transfer_takes_no_second_code() {
    let (m, root, _seen) = merchant((StatusCode::SERVICE_UNAVAILABLE, "later")).await;
    let emu = kupikupi::start(
        Config::default().with_notification_url(format!("{}/notify", m.base_url())),
    )
    .await
    .unwrap();
    root.set(emu.root_url());
    pay(&emu, CONFIRMING, "twice-1").await;
    let v = call(
        emu.root_url(),
        "confirmation",
        json!({"phone": CONFIRMING, "code": emu.confirmation_code()}),
    )
    .await;
    assert_eq!(v["errorCode"], "9", "{v}");
    let t = emu.transfer("twice-1").unwrap();
    assert_eq!(
        (t.status, t.pending),
        (Status::FormShowed, Some(Status::Confirmed))
    );
    emu.shutdown().await;
    m.shutdown().await;
}

#[tokio::test]
async fn notifications_go_only_to_loopback_unless_allowed() {
    for url in [
        "http://0.0.0.0:9/notify",
        "http://example.com/notify",
        "http://127.0.0.1.nip.io/notify",
        "not a url",
    ] {
        let err = kupikupi::start(Config::default().with_notification_url(url))
            .await
            .unwrap_err();
        assert!(
            matches!(err, kupikupi::StartError::NotificationUrl(_)),
            "{url}: {err}"
        );
    }
    // The named opt-in: the notification reaches a merchant through 0.0.0.0, which is this
    // machine on Linux but not a loopback address.
    let (m, root, seen) = merchant((StatusCode::OK, "OK")).await;
    let url = format!("http://0.0.0.0:{}/notify", m.addr().port());
    let emu = kupikupi::start(
        Config::default()
            .with_notification_url(url)
            .allow_non_loopback_delivery(),
    )
    .await
    .unwrap();
    root.set(emu.root_url());
    pay(&emu, CONFIRMING, "far-1").await;
    let t = emu
        .wait_for("far-1", WAIT, |t| t.acknowledged)
        .await
        .unwrap();
    assert_eq!(t.status, Status::Confirmed);
    assert_eq!(seen.lock().unwrap().len(), 1);
    emu.shutdown().await;
    m.shutdown().await;
}

#[tokio::test]
async fn the_oldest_finished_transfers_and_receipts_are_forgotten_past_the_limit() {
    let emu = kupikupi::start(Config::default().with_max_finished(2))
        .await
        .unwrap();
    let open = call(
        emu.root_url(),
        "init",
        json!({"phone": CONFIRMING, "orderId": "open", "amount": 100}),
    )
    .await;
    assert_eq!(open["errorCode"], "0");
    for i in 0..3 {
        pay(&emu, REJECTING, &format!("done-{i}")).await;
    }
    assert!(
        emu.transfer("done-0").is_none(),
        "the oldest finished is gone"
    );
    assert!(emu.transfer("done-1").is_some() && emu.transfer("done-2").is_some());
    assert_eq!(emu.transfer("open").unwrap().status, Status::New);
    assert_eq!(emu.transfers().len(), 3);
    let gone = call(
        emu.root_url(),
        "checkout",
        json!({"orderId": "done-0", "amount": 100}),
    )
    .await;
    assert_eq!(gone["errorCode"], "6", "{gone}");
    for i in 0..3 {
        let v = call(
            emu.root_url(),
            "receipt",
            json!({"phone": CONFIRMING, "amount": 100 + i, "fn": "9999078900004792",
                   "fd": "1", "fp": "1", "pay_date": "05.03.2023 14:07:09",
                   "receipt_type": 1, "discount": 0}),
        )
        .await;
        assert_eq!(v["errorCode"], "0", "{v}");
    }
    let amounts: Vec<u64> = emu.receipts().iter().map(|r| r.amount).collect();
    assert_eq!(amounts, [101, 102]);
    emu.shutdown().await;
}

#[tokio::test]
async fn settings_that_would_fail_later_are_refused_at_start() {
    for scale in [f64::NAN, -0.5, f64::INFINITY, 101.0] {
        let err = kupikupi::start(Config::default().with_time_scale(scale))
            .await
            .unwrap_err();
        assert!(matches!(err, kupikupi::StartError::TimeScale(_)), "{err}");
    }
    for timeout in [Duration::ZERO, Duration::MAX] {
        let err = kupikupi::start(Config::default().with_delivery_timeout(timeout))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("delivery_timeout"), "{err}");
    }
    for status in [Status::Confirmed, Status::New, Status::FormShowed] {
        let err = kupikupi::start(Config::default().with_unacknowledged_status(status))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unacknowledged_status"), "{err}");
    }
}
