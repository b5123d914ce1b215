//! Notifications end to end: the emulator POSTs them to a merchant endpoint built from
//! `kupikupi::service::NotificationService` on axum, retrying until it answers `OK`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use kupikupi::notification::{Notification, NotificationVerifier};
use kupikupi::service::NotificationService;
use kupikupi::{OrderId, Phone, TransferAmount, TransferStatus};
use payments_core::Secret;
use payments_sandbox::kupikupi::{Config, Emulator, Status};
use payments_sandbox::server::{serve, RunningServer};

const WAIT: Duration = Duration::from_secs(20);

/// The merchant's store: the latest status per order, and every persisted delivery.
#[derive(Default)]
struct Store {
    status: Mutex<HashMap<String, TransferStatus>>,
    persisted: Mutex<Vec<Notification>>,
    fail_next: AtomicU32,
    calls: AtomicU32,
}

struct Merchant {
    store: Arc<Store>,
    server: RunningServer,
}

impl Merchant {
    fn url(&self) -> String {
        format!("{}/kupikupi/notify", self.server.base_url())
    }
}

async fn merchant(verifier: NotificationVerifier) -> Merchant {
    let store = Arc::new(Store::default());
    let s = Arc::clone(&store);
    let service = NotificationService::new(verifier, move |n: Notification| {
        let s = Arc::clone(&s);
        async move {
            s.calls.fetch_add(1, Ordering::SeqCst);
            // Simulate a database that is down for the next `fail_next` deliveries.
            let failing = s
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err("database unavailable");
            }
            // Idempotent by order id: a duplicate writes the same state again.
            s.status
                .lock()
                .unwrap()
                .insert(n.order_id.as_str().to_owned(), n.transfer_status.clone());
            s.persisted.lock().unwrap().push(n);
            Ok(())
        }
    });
    let router = Router::new().route_service("/kupikupi/notify", service);
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    Merchant { store, server }
}

fn our_verifier() -> NotificationVerifier {
    NotificationVerifier::new("M2hULcD58iYGkmS7", Secret::from("yIKirCvplm8N1D9g"))
}

fn fast(config: Config) -> Config {
    config.time_scale(0.001)
}

/// init → open the form → enter the code; returns the order id.
async fn pay(emu: &Emulator, client: &kupikupi::Client, phone: &str, order: &str, kopecks: u64) {
    let browser = browser();
    let order = OrderId::new(order).unwrap();
    let t = client
        .init(
            &Phone::new(phone).unwrap(),
            &order,
            TransferAmount::from_minor(kopecks).unwrap(),
        )
        .await
        .unwrap();
    let url = t.transfer_url.to_string();
    assert_eq!(open_form(&browser, &url).await.0, 200);
    let (status, _) = submit_code(&browser, &url, emu.confirmation_code()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn each_test_phone_all_the_way_through_the_notification() {
    let m = merchant(our_verifier()).await;
    let emu = emulator(fast(Config::default().notification_url(m.url()))).await;
    let client = client_for(&emu);
    for (phone, want, ok) in [
        (CONFIRMED_PHONE, TransferStatus::Confirmed, true),
        (REJECTED_PHONE, TransferStatus::Rejected, false),
        (CANCELED_PHONE, TransferStatus::Canceled, false),
    ] {
        let order = format!("o-{phone}");
        pay(&emu, &client, phone, &order, 1_000).await;
        let t = emu
            .wait_for(&order, WAIT, |t| t.acknowledged)
            .await
            .unwrap();
        assert!(t.acknowledged, "{t:?}");
        assert_eq!(t.deliveries.len(), 1);
        assert_eq!(t.deliveries[0].http_status, Some(200));

        let persisted = m.store.persisted.lock().unwrap().clone();
        let n = persisted
            .iter()
            .find(|n| n.order_id.as_str() == order)
            .expect("the merchant persisted the notification");
        assert_eq!(n.transfer_status, want);
        assert_eq!(n.status, ok);
        assert_eq!(n.platform_uid, emu.platform_uid());
        assert!(!n.is_signed());
        if !ok {
            assert_ne!(n.error_code, "0");
            assert!(n.message.is_some());
        }
        // The merchant confirms with checkout, as the guide says.
        let c = client
            .checkout(
                &OrderId::new(order.clone()).unwrap(),
                TransferAmount::from_minor(1_000).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(c.transfer_status, want);
    }
    assert_eq!(m.store.persisted.lock().unwrap().len(), 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn signed_notifications_verify_and_a_wrong_token_is_refused() {
    // Right key: accepted and marked signed.
    let m = merchant(our_verifier().require_token(true)).await;
    let mut config = fast(Config::default().notification_url(m.url()));
    config.sign_notifications = true;
    let emu = emulator(config).await;
    let client = client_for(&emu);
    pay(&emu, &client, CONFIRMED_PHONE, "signed-1", 100).await;
    let t = emu
        .wait_for("signed-1", WAIT, |t| t.acknowledged)
        .await
        .unwrap();
    assert!(t.acknowledged);
    assert!(m.store.persisted.lock().unwrap()[0].is_signed());
    emu.shutdown().await;

    // Notifications signed with another key: refused with 403, retried, never persisted.
    let m = merchant(our_verifier()).await;
    let mut config = fast(Config::default().notification_url(m.url()));
    config.sign_notifications = true;
    config.secret_key = "another-secret-key".into();
    config.max_attempts = 3;
    let emu = emulator(config).await;
    let client = client_with(&emu, emu.platform_uid(), emu.secret_key());
    pay(&emu, &client, CONFIRMED_PHONE, "forged-1", 100).await;
    let t = emu
        .wait_for("forged-1", WAIT, |t| t.deliveries.len() == 3)
        .await
        .unwrap();
    assert_eq!(t.deliveries.len(), 3);
    assert!(t
        .deliveries
        .iter()
        .all(|d| d.http_status == Some(403) && !d.acknowledged));
    assert!(!t.acknowledged);
    assert!(m.store.persisted.lock().unwrap().is_empty());
    assert_eq!(m.store.calls.load(Ordering::SeqCst), 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn redelivered_while_not_ok_and_reaches_the_merchant_once_it_answers_ok() {
    let m = merchant(our_verifier()).await;
    m.store.fail_next.store(3, Ordering::SeqCst);
    let emu = emulator(fast(Config::default().notification_url(m.url()))).await;
    let client = client_for(&emu);
    pay(&emu, &client, CONFIRMED_PHONE, "flaky-1", 2_500).await;
    let t = emu
        .wait_for("flaky-1", WAIT, |t| t.acknowledged)
        .await
        .unwrap();
    assert!(t.acknowledged);
    let statuses: Vec<Option<u16>> = t.deliveries.iter().map(|d| d.http_status).collect();
    assert_eq!(statuses, vec![Some(500), Some(500), Some(500), Some(200)]);
    assert_eq!(
        t.deliveries.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(m.store.calls.load(Ordering::SeqCst), 4);
    let persisted = m.store.persisted.lock().unwrap().clone();
    assert_eq!(persisted.len(), 1);
    assert_eq!(persisted[0].transfer_status, TransferStatus::Confirmed);
    emu.shutdown().await;
}

#[tokio::test]
async fn redelivered_while_the_merchant_is_down() {
    // Reserve a port, then free it: the first deliveries are refused at connect.
    let placeholder = merchant(our_verifier()).await;
    let url = placeholder.url();
    let addr = placeholder.server.addr();
    placeholder.server.shutdown().await;
    let emu = emulator(fast(Config::default().notification_url(url))).await;
    let client = client_for(&emu);
    pay(&emu, &client, CONFIRMED_PHONE, "down-1", 10).await;
    let t = emu
        .wait_for("down-1", WAIT, |t| !t.deliveries.is_empty())
        .await
        .unwrap();
    assert_eq!(t.deliveries[0].http_status, None);
    assert!(!t.acknowledged);
    // The merchant comes back on the same port.
    let verifier = our_verifier();
    let store = Arc::new(Store::default());
    let s = Arc::clone(&store);
    let service = NotificationService::new(verifier, move |n: Notification| {
        let s = Arc::clone(&s);
        async move {
            s.persisted.lock().unwrap().push(n);
            Ok::<(), std::convert::Infallible>(())
        }
    });
    let router = Router::new().route_service("/kupikupi/notify", service);
    let Ok(server) = serve(addr, router, None).await else {
        // Another process took the port meanwhile; nothing more to check here.
        emu.shutdown().await;
        return;
    };
    let t = emu
        .wait_for("down-1", WAIT, |t| t.acknowledged)
        .await
        .unwrap();
    assert!(t.acknowledged);
    assert!(t.deliveries.len() >= 2);
    assert_eq!(store.persisted.lock().unwrap().len(), 1);
    emu.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn duplicate_notifications_are_harmless() {
    let m = merchant(our_verifier()).await;
    let emu = emulator(fast(Config::default().notification_url(m.url()))).await;
    let client = client_for(&emu);
    pay(&emu, &client, REJECTED_PHONE, "dup-1", 300).await;
    emu.wait_for("dup-1", WAIT, |t| t.acknowledged)
        .await
        .unwrap();
    assert!(emu.redeliver("dup-1"));
    assert!(emu.redeliver("dup-1"));
    let t = emu
        .wait_for("dup-1", WAIT, |t| {
            t.deliveries.iter().filter(|d| d.acknowledged).count() == 3
        })
        .await
        .unwrap();
    assert_eq!(t.deliveries.iter().filter(|d| d.acknowledged).count(), 3);
    // Three deliveries, one state.
    assert_eq!(m.store.persisted.lock().unwrap().len(), 3);
    let status = m.store.status.lock().unwrap().clone();
    assert_eq!(status.len(), 1);
    assert_eq!(status["dup-1"], TransferStatus::Rejected);
    assert_eq!(emu.transfer("dup-1").unwrap().status, Status::Rejected);
    // Not final, or unknown: nothing to redeliver.
    assert!(!emu.redeliver("nope"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_transfers_lose_nothing() {
    const N: usize = 300;
    let m = merchant(our_verifier()).await;
    let emu = Arc::new(emulator(fast(Config::default().notification_url(m.url()))).await);
    let client = client_for(&emu);
    let phones = [CONFIRMED_PHONE, REJECTED_PHONE, CANCELED_PHONE];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let emu = Arc::clone(&emu);
        let client = client.clone();
        let phone = phones[i % 3];
        tasks.spawn(async move {
            pay(&emu, &client, phone, &format!("bulk-{i}"), 100 + i as u64).await;
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    for i in 0..N {
        let t = emu
            .wait_for(&format!("bulk-{i}"), WAIT, |t| t.acknowledged)
            .await
            .unwrap();
        assert!(t.acknowledged, "{t:?}");
        assert_eq!(t.amount, 100 + i as u64);
    }
    let status = m.store.status.lock().unwrap().clone();
    assert_eq!(status.len(), N);
    for i in 0..N {
        let want = match i % 3 {
            0 => TransferStatus::Confirmed,
            1 => TransferStatus::Rejected,
            _ => TransferStatus::Canceled,
        };
        assert_eq!(status[&format!("bulk-{i}")], want, "bulk-{i}");
    }
    assert_eq!(emu.transfers().len(), N);
    let ids: std::collections::HashSet<u64> =
        emu.transfers().iter().map(|t| t.payment_id).collect();
    assert_eq!(ids.len(), N);
    match Arc::try_unwrap(emu) {
        Ok(emu) => emu.shutdown().await,
        Err(_) => panic!("the emulator is still shared"),
    }
}

#[tokio::test]
async fn the_service_is_a_hyper_service_too() {
    use hyper::service::Service as _;
    let store: Arc<Mutex<Vec<Notification>>> = Arc::default();
    let s = Arc::clone(&store);
    let service = NotificationService::new(our_verifier(), move |n: Notification| {
        let s = Arc::clone(&s);
        async move {
            s.lock().unwrap().push(n);
            Ok::<(), std::convert::Infallible>(())
        }
    });
    let body = r#"{"status":true,"transferStatus":"CONFIRMED","errorCode":"0","uidPlatform":"M2hULcD58iYGkmS7","orderId":"h-1"}"#;
    let req = http::Request::post("/n")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let resp = service.call(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()[http::header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "OK");
    assert_eq!(store.lock().unwrap().len(), 1);

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
    let fresh = NotificationService::new(our_verifier(), |_n: Notification| async {
        Ok::<(), std::convert::Infallible>(())
    })
    .max_body_bytes(8);
    let req = http::Request::post("/n")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    assert_eq!(fresh.call(req).await.unwrap().status(), 413);
    assert_eq!(store.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn shutdown_stops_pending_redeliveries() {
    let m = merchant(our_verifier()).await;
    m.store.fail_next.store(u32::MAX, Ordering::SeqCst);
    // Real-time schedule: the second attempt would come 15 s after the first.
    let emu = emulator(Config::default().notification_url(m.url())).await;
    let client = client_for(&emu);
    pay(&emu, &client, CONFIRMED_PHONE, "pending-1", 10).await;
    let t = emu
        .wait_for("pending-1", WAIT, |t| !t.deliveries.is_empty())
        .await
        .unwrap();
    assert_eq!(t.deliveries.len(), 1);
    assert!(!t.acknowledged);
    let root = emu.root_url().to_owned();
    // Shutdown does not wait for the 15 s backoff.
    tokio::time::timeout(Duration::from_secs(10), emu.shutdown())
        .await
        .expect("shutdown finishes while a redelivery is pending");
    assert_eq!(m.store.calls.load(Ordering::SeqCst), 1);
    let addr = root.trim_start_matches("http://").to_owned();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
