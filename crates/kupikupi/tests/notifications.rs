//! Notifications end to end: the emulator POSTs them to a merchant endpoint built from
//! `kupikupi::NotificationReceiver` on axum. A notification is a hint: the endpoint answers
//! `OK`, the emulator then marks the transfer CONFIRMED, the endpoint's `checkout` sees it,
//! and only then does the merchant's `confirmed` hook run.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use kupikupi::{
    reconcile, Client, ConfirmedTransfer, FailedTransfer, Notification, NotificationReceiver,
    OrderId, PaymentId, Phone, PollPolicy, Reconciled, StoredTransfer, TransferAmount,
    TransferStatus, TransferStore, Unresolved, UnresolvedReason, DEFAULT_CONFIRM_POLICY,
};
use payments_core::{HttpClient, Operation, Request};
use payments_sandbox::kupikupi::{Config, Emulator, Status};
use tokio::sync::Notify;

const WAIT: Duration = Duration::from_secs(20);

/// What the merchant's store saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    /// `notified`: what the notification said, and the provider's status at that moment.
    Notified {
        order: String,
        said: TransferStatus,
        provider: Option<Status>,
    },
    /// `confirmed`: the provider's status and whether it had the `OK` at that moment.
    Confirmed {
        order: String,
        provider: Option<Status>,
        acknowledged: bool,
    },
    /// `failed`.
    Failed {
        order: String,
        status: TransferStatus,
        contradicts: bool,
    },
    /// `unresolved`.
    Unresolved { order: String, reason: String },
}

impl Event {
    fn order(&self) -> &str {
        match self {
            Event::Notified { order, .. }
            | Event::Confirmed { order, .. }
            | Event::Failed { order, .. }
            | Event::Unresolved { order, .. } => order,
        }
    }
}

/// The merchant's store: the orders, the credited ones, and every event.
#[derive(Default)]
struct Inner {
    orders: Mutex<HashMap<String, StoredTransfer>>,
    credited: Mutex<HashMap<String, u32>>,
    events: Mutex<Vec<Event>>,
    changed: Notify,
    fail_notified: AtomicU32,
    emulator: Mutex<Option<Arc<Emulator>>>,
}

#[derive(Clone, Default)]
struct Store(Arc<Inner>);

impl Store {
    fn expect(&self, order: &str, kopecks: u64) {
        self.expect_stored(order, StoredTransfer::new(amount(kopecks)));
    }

    fn expect_stored(&self, order: &str, stored: StoredTransfer) {
        self.0
            .orders
            .lock()
            .unwrap()
            .insert(order.to_owned(), stored);
    }

    fn provider(&self, order: &str) -> Option<payments_sandbox::kupikupi::TransferState> {
        self.0
            .emulator
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|e| e.transfer(order))
    }

    fn push(&self, e: Event) {
        self.0.events.lock().unwrap().push(e);
        self.0.changed.notify_waiters();
    }

    fn events(&self, order: &str) -> Vec<Event> {
        self.0
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.order() == order)
            .cloned()
            .collect()
    }

    fn credited(&self, order: &str) -> u32 {
        self.0
            .credited
            .lock()
            .unwrap()
            .get(order)
            .copied()
            .unwrap_or(0)
    }

    /// Waits until the events of `order` satisfy `f`.
    async fn wait(&self, order: &str, f: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.0.changed.notified();
            let events = self.events(order);
            if f(&events) {
                return events;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.events(order);
            }
        }
    }

    /// Waits until the confirmation of `order` has ended (a hook other than `notified`).
    async fn settled(&self, order: &str) -> Vec<Event> {
        self.wait(order, |e| {
            e.iter().any(|e| !matches!(e, Event::Notified { .. }))
        })
        .await
    }
}

impl TransferStore for Store {
    type Error = &'static str;

    async fn notified(&self, n: &Notification) -> Result<Option<StoredTransfer>, &'static str> {
        let failing = self
            .0
            .fail_notified
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err("database unavailable");
        }
        let stored = self
            .0
            .orders
            .lock()
            .unwrap()
            .get(n.order_id.as_str())
            .cloned();
        if stored.is_some() {
            self.push(Event::Notified {
                order: n.order_id.to_string(),
                said: n.transfer_status.clone(),
                provider: self.provider(n.order_id.as_str()).map(|t| t.status),
            });
        }
        Ok(stored)
    }

    async fn confirmed(&self, t: ConfirmedTransfer) -> Result<(), &'static str> {
        let order = t.order_id().to_string();
        let snapshot = self.provider(&order);
        *self
            .0
            .credited
            .lock()
            .unwrap()
            .entry(order.clone())
            .or_default() += 1;
        self.push(Event::Confirmed {
            order,
            provider: snapshot.as_ref().map(|s| s.status),
            acknowledged: snapshot.is_some_and(|s| s.acknowledged),
        });
        Ok(())
    }

    async fn failed(&self, t: FailedTransfer) -> Result<(), &'static str> {
        self.push(Event::Failed {
            order: t.order_id().to_string(),
            status: t.status().clone(),
            contradicts: t.contradicts_notification(),
        });
        Ok(())
    }

    async fn unresolved(&self, u: Unresolved) {
        let reason = match u.reason() {
            UnresolvedReason::NotFinal(s) => format!("not final: {s}"),
            UnresolvedReason::Refused(p) => format!("refused: {}", p.code.as_deref().unwrap_or("")),
            UnresolvedReason::Mismatch(_) => "mismatch".to_owned(),
            UnresolvedReason::Busy => "busy".to_owned(),
            other => other.to_string(),
        };
        self.push(Event::Unresolved {
            order: u.order_id().to_string(),
            reason,
        });
    }
}

/// Quick polling for tests: a forged notification ends "unresolved" after `deadline`.
fn policy(deadline: Duration) -> PollPolicy {
    DEFAULT_CONFIRM_POLICY
        .to_builder()
        .first_delay(Duration::from_millis(5))
        .interval(Duration::from_millis(5))
        .max_interval(Duration::from_millis(40))
        .deadline(deadline)
        .build()
        .unwrap()
}

fn amount(k: u64) -> TransferAmount {
    TransferAmount::from_minor(k).unwrap()
}

/// The shop: the emulator, its client, the store, and the endpoint on 127.0.0.1.
struct Shop {
    emu: Arc<Emulator>,
    client: Client,
    store: Store,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Shop {
    async fn start(
        config: impl FnOnce(Config) -> Config,
        receiver: impl FnOnce(NotificationReceiver<Store>) -> NotificationReceiver<Store>,
    ) -> Shop {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/kupikupi/notify", listener.local_addr().unwrap());
        let emu = Arc::new(
            emulator(config(
                Config::default()
                    .with_notification_url(&url)
                    .with_time_scale(0.001),
            ))
            .await,
        );
        let client = client_for(&emu);
        let store = Store::default();
        *store.0.emulator.lock().unwrap() = Some(Arc::clone(&emu));
        let service = receiver(
            NotificationReceiver::new(client.clone(), store.clone()).confirm_policy(policy(WAIT)),
        )
        .into_service();
        let app = axum::Router::new().route_service("/kupikupi/notify", service);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Shop {
            emu,
            client,
            store,
            url,
            server,
        }
    }

    /// Stores the order, inits the transfer; returns its URL.
    async fn init(&self, phone: &str, order: &str, kopecks: u64) -> String {
        self.store.expect(order, kopecks);
        let t = self
            .client
            .init(
                &Phone::new(phone).unwrap(),
                &OrderId::new(order).unwrap(),
                amount(kopecks),
            )
            .await
            .unwrap();
        t.transfer_url.to_string()
    }

    /// Stores the order, inits the transfer, opens the form and enters the code.
    async fn pay(&self, phone: &str, order: &str, kopecks: u64) {
        let url = self.init(phone, order, kopecks).await;
        let browser = browser();
        assert_eq!(open_form(&browser, &url).await.0, 200);
        let (status, _) = submit_code(&browser, &url, self.emu.confirmation_code()).await;
        assert_eq!(status, 200);
    }

    /// POSTs a body to the endpoint as anyone could; returns (status, body).
    async fn post(&self, body: &str) -> (u16, String) {
        post_to(&browser(), &self.url, body).await
    }

    async fn stop(self) {
        self.server.abort();
        self.store.0.emulator.lock().unwrap().take();
        match Arc::try_unwrap(self.emu) {
            Ok(emu) => emu.shutdown().await,
            Err(emu) => drop(emu),
        }
    }
}

const BROWSE: Operation = Operation::not_idempotent("test", "post");

async fn post_to(http: &HttpClient, url: &str, body: &str) -> (u16, String) {
    let req = Request::new(http::Method::POST, url.parse().unwrap())
        .with_body(body.to_owned())
        .with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    let resp = http.execute(&BROWSE, req).await.unwrap();
    (
        resp.status.as_u16(),
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn forged(order: &str, status: &str) -> String {
    serde_json::json!({"status": status == "CONFIRMED", "transferStatus": status,
                       "errorCode": "0", "uidPlatform": "M2hULcD58iYGkmS7", "orderId": order})
    .to_string()
}

/// The rule of issue 11 §3, end to end: the endpoint answers OK while the transfer is still
/// not confirmed at the service; the service confirms it on the OK; `checkout` sees that; and
/// only then does the merchant's `confirmed` hook run.
#[tokio::test]
async fn ok_first_then_the_service_confirms_then_checkout_then_the_confirmed_hook() {
    let shop = Shop::start(|c| c, |r| r).await;
    shop.pay(CONFIRMED_PHONE, "e2e-1", 25_000).await;
    let events = shop.store.settled("e2e-1").await;
    assert_eq!(
        events,
        [
            // When the notification arrived, the service had not confirmed the transfer:
            // `checkout` would have said FORM_SHOWED.
            Event::Notified {
                order: "e2e-1".into(),
                said: TransferStatus::Confirmed,
                provider: Some(Status::FormShowed),
            },
            // When the hook ran, the service had the OK and the transfer was CONFIRMED.
            Event::Confirmed {
                order: "e2e-1".into(),
                provider: Some(Status::Confirmed),
                acknowledged: true,
            },
        ]
    );
    assert_eq!(shop.store.credited("e2e-1"), 1);
    let t = shop.emu.transfer("e2e-1").unwrap();
    assert_eq!(t.deliveries.len(), 1);
    assert_eq!(t.deliveries[0].http_status, Some(200));
    assert!(t.deliveries[0].acknowledged);
    shop.stop().await;
}

#[tokio::test]
async fn each_test_phone_ends_in_the_hook_checkout_chose() {
    let shop = Shop::start(|c| c, |r| r).await;
    for (phone, want) in [
        (CONFIRMED_PHONE, None),
        (REJECTED_PHONE, Some(TransferStatus::Rejected)),
        (CANCELED_PHONE, Some(TransferStatus::Canceled)),
    ] {
        let order = format!("o-{phone}");
        shop.pay(phone, &order, 1_000).await;
        let events = shop.store.settled(&order).await;
        let last = events.last().unwrap().clone();
        match want {
            None => assert!(matches!(last, Event::Confirmed { .. }), "{events:?}"),
            Some(status) => {
                assert_eq!(
                    last,
                    Event::Failed {
                        order: order.clone(),
                        status,
                        contradicts: false
                    }
                );
                assert_eq!(shop.store.credited(&order), 0);
            }
        }
        assert!(shop.emu.transfer(&order).unwrap().acknowledged);
    }
    shop.stop().await;
}

/// Issue 11 §7: a CONFIRMED notification for a transfer whose code was never entered is
/// answered (it looks like any other) but never credited: `checkout` never says CONFIRMED.
#[tokio::test]
async fn a_forged_notification_for_a_transfer_never_paid_is_not_credited() {
    let shop = Shop::start(
        |c| c,
        |r| r.confirm_policy(policy(Duration::from_millis(300))),
    )
    .await;
    shop.init(CONFIRMED_PHONE, "forged-1", 500).await;
    let (status, body) = shop.post(&forged("forged-1", "CONFIRMED")).await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    let events = shop.store.settled("forged-1").await;
    assert_eq!(
        events.last().unwrap(),
        &Event::Unresolved {
            order: "forged-1".into(),
            reason: "not final: NEW".into()
        },
        "{events:?}"
    );
    assert_eq!(shop.store.credited("forged-1"), 0);
    // Our OK went to the forger: the service's transfer is untouched.
    let t = shop.emu.transfer("forged-1").unwrap();
    assert_eq!(
        (t.status, t.pending, t.acknowledged),
        (Status::New, None, false)
    );
    shop.stop().await;
}

/// A notification says CONFIRMED, `checkout` says REJECTED: checkout wins, and the merchant is
/// told that the two disagree.
#[tokio::test]
async fn checkout_wins_over_a_notification_and_the_merchant_is_told() {
    // Without a NotificationURL the emulator finishes the transfer itself.
    let shop = Shop::start(|c| c.without_notification_url(), |r| r).await;
    shop.pay(REJECTED_PHONE, "contra-1", 700).await;
    assert_eq!(
        shop.emu.transfer("contra-1").unwrap().status,
        Status::Rejected
    );
    let (status, _) = shop.post(&forged("contra-1", "CONFIRMED")).await;
    assert_eq!(status, 200);
    let events = shop.store.settled("contra-1").await;
    assert_eq!(
        events.last().unwrap(),
        &Event::Failed {
            order: "contra-1".into(),
            status: TransferStatus::Rejected,
            contradicts: true
        }
    );
    assert_eq!(shop.store.credited("contra-1"), 0);
    shop.stop().await;
}

#[tokio::test]
async fn an_unknown_order_is_refused_and_nothing_is_asked() {
    let shop = Shop::start(|c| c, |r| r).await;
    let (status, body) = shop.post(&forged("nobody-ordered-this", "CONFIRMED")).await;
    assert_eq!(status, 400);
    assert_ne!(body, "OK");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(shop.store.events("nobody-ordered-this").is_empty());
    assert_eq!(shop.emu.rejected_requests(), 0, "no checkout was sent");
    shop.stop().await;
}

/// A failed persist answers 500, never OK; the emulator's next attempt is taken.
#[tokio::test]
async fn a_failed_persist_answers_500_and_the_next_delivery_is_taken() {
    let shop = Shop::start(|c| c, |r| r).await;
    shop.store.0.fail_notified.store(3, Ordering::SeqCst);
    shop.pay(CONFIRMED_PHONE, "flaky-1", 2_500).await;
    let events = shop.store.settled("flaky-1").await;
    assert!(
        matches!(events.last(), Some(Event::Confirmed { .. })),
        "{events:?}"
    );
    let t = shop.emu.transfer("flaky-1").unwrap();
    let statuses: Vec<Option<u16>> = t.deliveries.iter().map(|d| d.http_status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(500), Some(200)]);
    assert_eq!(shop.store.credited("flaky-1"), 1);
    shop.stop().await;
}

#[tokio::test]
async fn another_platform_and_bad_tokens_are_refused_with_403() {
    let shop = Shop::start(|c| c, |r| r).await;
    shop.store.expect("other-1", 100);
    let body = forged("other-1", "CONFIRMED").replace("M2hULcD58iYGkmS7", "SomeoneElse");
    assert_eq!(shop.post(&body).await.0, 403);
    let mut signed: serde_json::Value =
        serde_json::from_str(&forged("other-1", "CONFIRMED")).unwrap();
    signed["token"] = serde_json::json!("0".repeat(64));
    assert_eq!(shop.post(&signed.to_string()).await.0, 403);
    assert!(shop.store.events("other-1").is_empty());
    shop.stop().await;
}

#[tokio::test]
async fn signed_notifications_verify_and_a_wrong_key_is_refused() {
    let shop = Shop::start(|c| c.with_signed_notifications(), |r| r.require_token(true)).await;
    shop.pay(CONFIRMED_PHONE, "signed-1", 100).await;
    let events = shop.store.settled("signed-1").await;
    assert!(
        matches!(events.last(), Some(Event::Confirmed { .. })),
        "{events:?}"
    );
    // Unsigned: refused when a token is required.
    shop.store.expect("unsigned-1", 100);
    assert_eq!(shop.post(&forged("unsigned-1", "CONFIRMED")).await.0, 403);
    shop.stop().await;

    // Signed with another key: refused with 403, retried, never recorded.
    let shop = Shop::start(|c| c, |r| r).await;
    // The client signs its own calls with the right key; the emulator's notifications use
    // another one (as a forger would).
    let config = Config::default()
        .with_notification_url(&shop.url)
        .with_time_scale(0.001)
        .with_signed_notifications()
        .with_max_attempts(3)
        .with_credentials("M2hULcD58iYGkmS7", "another-secret-key");
    let forger = emulator(config).await;
    let forger_client = client_for(&forger);
    shop.store.expect("forged-signed-1", 100);
    let t = forger_client
        .init(
            &Phone::new(CONFIRMED_PHONE).unwrap(),
            &OrderId::new("forged-signed-1").unwrap(),
            amount(100),
        )
        .await
        .unwrap();
    let url = t.transfer_url.to_string();
    let b = browser();
    open_form(&b, &url).await;
    submit_code(&b, &url, forger.confirmation_code()).await;
    let t = forger
        .wait_for("forged-signed-1", WAIT, |t| t.deliveries.len() == 3)
        .await
        .unwrap();
    assert!(t
        .deliveries
        .iter()
        .all(|d| d.http_status == Some(403) && !d.acknowledged));
    assert!(shop.store.events("forged-signed-1").is_empty());
    forger.shutdown().await;
    shop.stop().await;
}

/// Duplicates: a redelivered notification is recorded again and confirmed again; the store is
/// idempotent, so the order is in one state. Concurrent duplicates join one confirmation.
#[tokio::test]
async fn duplicates_are_harmless() {
    let shop = Shop::start(|c| c, |r| r).await;
    shop.pay(REJECTED_PHONE, "dup-1", 300).await;
    shop.store.settled("dup-1").await;
    assert!(shop.emu.redeliver("dup-1"));
    let events = shop
        .store
        .wait("dup-1", |e| {
            e.iter()
                .filter(|e| matches!(e, Event::Failed { .. }))
                .count()
                == 2
        })
        .await;
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Failed { .. }))
            .count(),
        2,
        "{events:?}"
    );
    assert_eq!(shop.store.credited("dup-1"), 0);

    // Five copies of a forgery at once: one confirmation, not five.
    let shop2 = Shop::start(
        |c| c,
        |r| r.confirm_policy(policy(Duration::from_millis(300))),
    )
    .await;
    shop2.init(CONFIRMED_PHONE, "dup-forged", 100).await;
    let http = browser();
    let body = forged("dup-forged", "CONFIRMED");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (http, url, body) = (http.clone(), shop2.url.clone(), body.clone());
        set.spawn(async move { post_to(&http, &url, &body).await });
    }
    let mut answers = Vec::new();
    while let Some(r) = set.join_next().await {
        answers.push(r.unwrap());
    }
    assert!(
        answers.iter().all(|(s, b)| *s == 200 && b == "OK"),
        "{answers:?}"
    );
    shop2.store.settled("dup-forged").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let events = shop2.store.events("dup-forged");
    let notified = events
        .iter()
        .filter(|e| matches!(e, Event::Notified { .. }))
        .count();
    let settled = events.len() - notified;
    assert_eq!((notified, settled), (5, 1), "{events:?}");
    shop.stop().await;
    shop2.stop().await;
}

/// Past the cap on running confirmations, a notification is still answered OK and recorded,
/// and the store hears it waits for a reconciliation.
#[tokio::test]
async fn too_many_confirmations_wait_for_a_reconciliation() {
    let shop = Shop::start(
        |c| c,
        |r| {
            r.max_confirmations(1)
                .confirm_policy(policy(Duration::from_millis(300)))
        },
    )
    .await;
    shop.init(CONFIRMED_PHONE, "busy-1", 100).await;
    shop.init(CONFIRMED_PHONE, "busy-2", 100).await;
    assert_eq!(shop.post(&forged("busy-1", "CONFIRMED")).await.0, 200);
    assert_eq!(shop.post(&forged("busy-2", "CONFIRMED")).await.0, 200);
    let events = shop.store.settled("busy-2").await;
    assert_eq!(
        events.last().unwrap(),
        &Event::Unresolved {
            order: "busy-2".into(),
            reason: "busy".into()
        }
    );
    let events = shop.store.settled("busy-1").await;
    assert!(
        matches!(events.last(), Some(Event::Unresolved { reason, .. }) if reason == "not final: NEW")
    );
    shop.stop().await;
}

/// `checkout` must name the stored transfer: another transfer id is not credited.
#[tokio::test]
async fn checkout_about_another_transfer_is_not_credited() {
    let shop = Shop::start(|c| c, |r| r).await;
    shop.pay(CONFIRMED_PHONE, "mismatch-1", 100).await;
    shop.store.expect_stored(
        "mismatch-1",
        StoredTransfer::new(amount(100)).with_payment_id(PaymentId::new("1").unwrap()),
    );
    // The real notification raced the change above; settle on a redelivery.
    shop.store.settled("mismatch-1").await;
    let before = shop.store.credited("mismatch-1");
    assert!(shop.emu.redeliver("mismatch-1"));
    let events = shop
        .store
        .wait("mismatch-1", |e| {
            e.iter()
                .any(|e| matches!(e, Event::Unresolved { reason, .. } if reason == "mismatch"))
        })
        .await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Unresolved { reason, .. } if reason == "mismatch")),
        "{events:?}"
    );
    assert_eq!(shop.store.credited("mismatch-1"), before);
    shop.stop().await;
}

/// The merchant's reconciliation: the same polling, asked at once.
#[tokio::test]
async fn reconcile_gives_the_fact_for_a_pending_order() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    let quick = policy(Duration::from_millis(200));
    // Without a NotificationURL the emulator confirms at once, as if the process had died
    // after answering OK.
    let browser = browser();
    for (phone, order) in [(CONFIRMED_PHONE, "rec-1"), (REJECTED_PHONE, "rec-2")] {
        let t = client
            .init(
                &Phone::new(phone).unwrap(),
                &OrderId::new(order).unwrap(),
                amount(100),
            )
            .await
            .unwrap();
        let url = t.transfer_url.to_string();
        open_form(&browser, &url).await;
        submit_code(&browser, &url, emu.confirmation_code()).await;
    }
    let stored = StoredTransfer::new(amount(100));
    match reconcile(&client, &OrderId::new("rec-1").unwrap(), &stored, quick).await {
        Reconciled::Confirmed(t) => {
            assert_eq!(t.order_id().as_str(), "rec-1");
            assert_eq!(t.amount(), amount(100));
            assert_eq!(
                t.payment_id().as_str(),
                emu.transfer("rec-1").unwrap().payment_id.to_string()
            );
        }
        other => panic!("{other:?}"),
    }
    match reconcile(&client, &OrderId::new("rec-2").unwrap(), &stored, quick).await {
        Reconciled::Failed(t) => {
            assert_eq!(t.status(), &TransferStatus::Rejected);
            assert!(!t.contradicts_notification());
            assert_eq!(t.notified(), None);
        }
        other => panic!("{other:?}"),
    }
    // Not paid yet: not final at the deadline.
    client
        .init(
            &Phone::new(CONFIRMED_PHONE).unwrap(),
            &OrderId::new("rec-3").unwrap(),
            amount(100),
        )
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    match reconcile(&client, &OrderId::new("rec-3").unwrap(), &stored, quick).await {
        Reconciled::Unresolved(u) => {
            assert!(
                matches!(u.reason(), UnresolvedReason::NotFinal(TransferStatus::New)),
                "{u}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    // An order the service does not know: refused at once, not polled to the deadline.
    let started = tokio::time::Instant::now();
    match reconcile(
        &client,
        &OrderId::new("rec-unknown").unwrap(),
        &stored,
        policy(WAIT),
    )
    .await
    {
        Reconciled::Unresolved(u) => {
            assert!(
                matches!(u.reason(), UnresolvedReason::Refused(p) if p.code.as_deref() == Some("6")),
                "{u}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_transfers_lose_nothing() {
    const N: usize = 300;
    let shop = Arc::new(Shop::start(|c| c, |r| r).await);
    let phones = [CONFIRMED_PHONE, REJECTED_PHONE, CANCELED_PHONE];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let shop = Arc::clone(&shop);
        tasks.spawn(async move {
            shop.pay(phones[i % 3], &format!("bulk-{i}"), 100 + i as u64)
                .await;
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    for i in 0..N {
        let order = format!("bulk-{i}");
        let events = shop.store.settled(&order).await;
        let last = events.last().unwrap();
        match i % 3 {
            0 => assert!(
                matches!(
                    last,
                    Event::Confirmed {
                        acknowledged: true,
                        ..
                    }
                ),
                "{events:?}"
            ),
            1 => assert!(
                matches!(
                    last,
                    Event::Failed {
                        status: TransferStatus::Rejected,
                        ..
                    }
                ),
                "{events:?}"
            ),
            _ => assert!(
                matches!(
                    last,
                    Event::Failed {
                        status: TransferStatus::Canceled,
                        ..
                    }
                ),
                "{events:?}"
            ),
        }
        assert_eq!(shop.store.credited(&order), u32::from(i % 3 == 0));
    }
    match Arc::try_unwrap(shop) {
        Ok(shop) => shop.stop().await,
        Err(_) => panic!("the shop is still shared"),
    }
}

#[tokio::test]
async fn the_service_is_a_hyper_service_too() {
    use hyper::service::Service as _;
    let emu = emulator(Config::default()).await;
    let store = Store::default();
    store.expect("h-1", 100);
    let service = NotificationReceiver::new(client_for(&emu), store.clone())
        .confirm_policy(policy(Duration::from_millis(50)))
        .into_service();
    let body = forged("h-1", "CONFIRMED");
    let req = http::Request::post("/n")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let resp = service.call(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()[http::header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "OK");

    let req = http::Request::get("/n")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(service.call(req).await.unwrap().status(), 405);
    let req = http::Request::post("/n")
        .body(Full::new(Bytes::from_static(b"{not json")))
        .unwrap();
    let resp = service.call(req).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_ne!(resp.into_body().collect().await.unwrap().to_bytes(), "OK");
    let small = service
        .clone()
        .with_limits(kupikupi::BodyLimits::default().with_max_bytes(8));
    let req = http::Request::post("/n")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    assert_eq!(small.call(req).await.unwrap().status(), 413);
    emu.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_pending_redeliveries() {
    // Real-time schedule: the second attempt would come 15 s after the first.
    let shop = Shop::start(|c| c.with_time_scale(1.0), |r| r).await;
    shop.store.0.fail_notified.store(u32::MAX, Ordering::SeqCst);
    shop.pay(CONFIRMED_PHONE, "pending-1", 10).await;
    let t = shop
        .emu
        .wait_for("pending-1", WAIT, |t| !t.deliveries.is_empty())
        .await
        .unwrap();
    assert_eq!(t.deliveries.len(), 1);
    assert_eq!(t.deliveries[0].http_status, Some(500));
    let root = shop.emu.root_url().to_owned();
    // Shutdown does not wait for the 15 s backoff.
    tokio::time::timeout(Duration::from_secs(10), shop.stop())
        .await
        .expect("shutdown finishes while a redelivery is pending");
    let addr = root.trim_start_matches("http://").to_owned();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
