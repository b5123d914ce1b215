//! End-to-end tests of the client against the sandbox emulator (an independent implementation of
//! Ktpay's wire format), with a merchant callback receiver built on `CallbackHandler`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use ktwidget::callback::CallbackHandler;
use ktwidget::{
    Amount, Client, Environment, ErrorType, ExpectedOrder, Keypair, Notification, Order, Status,
    TransactionHash, User,
};
use payments_core::{HttpClient, Operation, Request};
use payments_sandbox::ktwidget::{
    self as emulator, Config, Delivery, Emulator, EnvelopeStyle, CARD_DECLINE, CARD_DENIED,
    CARD_FAIL_AFTER_SUCCESS, CARD_SUCCESS,
};
use payments_sandbox::server::{serve, RunningServer};

const WAIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Merchant {
    orders: Mutex<HashMap<String, ExpectedOrder>>,
    received: Mutex<Vec<Notification>>,
    refused: Mutex<Vec<String>>,
    fail_first: AtomicUsize,
    hits: AtomicUsize,
}

impl Merchant {
    fn store(&self, order: &Order, hash: Option<&TransactionHash>) {
        let mut e = ExpectedOrder::new(order.order_id().clone(), order.amount());
        if let Some(h) = hash {
            e = e.with_transaction_hash(h.clone());
        }
        self.orders
            .lock()
            .unwrap()
            .insert(order.order_id().to_string(), e);
    }

    fn received_for(&self, order_id: &str) -> Vec<Notification> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.order_id.as_str() == order_id)
            .cloned()
            .collect()
    }
}

async fn callback(
    State(m): State<Arc<Merchant>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    m.hits.fetch_add(1, Ordering::SeqCst);
    let failing = m
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return (
            http::StatusCode::SERVICE_UNAVAILABLE,
            "down for maintenance",
        )
            .into_response();
    }
    let handler = CallbackHandler::new();
    let received = handler
        .receive_http(req, |n| {
            m.orders.lock().unwrap().get(n.order_id.as_str()).cloned()
        })
        .await;
    match &received.outcome {
        Ok(n) => m.received.lock().unwrap().push(n.clone()),
        Err(e) => m.refused.lock().unwrap().push(e.to_string()),
    }
    received.ack.into_http_response().into_response()
}

struct World {
    emu: Emulator,
    client: Client,
    merchant: Arc<Merchant>,
    merchant_server: RunningServer,
    http: HttpClient,
}

impl World {
    async fn new(config: Config) -> World {
        let merchant = Arc::new(Merchant::default());
        let router = Router::new()
            .route("/ktpay/callback", post(callback))
            .with_state(merchant.clone());
        let merchant_server = serve("127.0.0.1:0".parse().unwrap(), router, None)
            .await
            .unwrap();
        let emu = emulator::start(config.with_time_scale(0.001))
            .await
            .unwrap();
        let client = Client::builder()
            .app_id(emu.app_id())
            .app_key_base64(&emu.app_key_base64())
            .environment(Environment::custom(&emu.base_url(), &emu.base_url()).unwrap())
            .build()
            .unwrap();
        World {
            emu,
            client,
            merchant,
            merchant_server,
            http: HttpClient::new().unwrap(),
        }
    }

    fn callback_url(&self) -> String {
        format!("{}/ktpay/callback", self.merchant_server.base_url())
    }

    fn order(&self, id: &str, amount: &str) -> ktwidget::OrderBuilder {
        Order::builder(id, amount.parse().unwrap()).callback_post_url(self.callback_url())
    }

    async fn get(&self, url: &str) -> (u16, String) {
        let req = Request::new(http::Method::GET, url.parse().unwrap());
        let resp = self
            .http
            .execute(&Operation::idempotent("test", "get"), req)
            .await
            .unwrap();
        (
            resp.status.as_u16(),
            String::from_utf8_lossy(&resp.body).into_owned(),
        )
    }

    /// Submits the widget's HTML form, as a browser would.
    async fn submit_card(&self, hash: &TransactionHash, card: &str) -> (u16, String) {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hash", hash.as_str())
            .append_pair("card_number", card)
            .append_pair("expiry", "12/30")
            .append_pair("cvc", "123")
            .finish();
        let req = Request::new(
            http::Method::POST,
            format!("{}/payment-card", self.emu.base_url())
                .parse()
                .unwrap(),
        )
        .with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .with_body(form);
        let resp = self
            .http
            .execute(&Operation::not_idempotent("test", "pay"), req)
            .await
            .unwrap();
        (
            resp.status.as_u16(),
            String::from_utf8_lossy(&resp.body).into_owned(),
        )
    }

    async fn create(&self, order: &Order) -> ktwidget::PaymentCreated {
        self.merchant.store(order, None);
        let created = self.client.create_payment(order).await.unwrap();
        self.merchant.store(order, Some(&created.transaction_hash));
        created
    }
}

#[tokio::test]
async fn ecom_payment_to_completed_with_acknowledged_callback() {
    let w = World::new(Config::default()).await;
    let order = w
        .order("ecom-1", "1000.5")
        .description("Тестовая оплата")
        .callback_success_url("https://shop.example/ok")
        .user(User::with_id("user1").phone("+77778889900").email("a@b.kz"))
        .build()
        .unwrap();
    let created = w.create(&order).await;
    assert!(created.show_close_button);
    assert_eq!(
        created.widget_url.as_str(),
        format!(
            "{}/payment-card?hash={}",
            w.emu.base_url(),
            created.transaction_hash
        )
    );
    // The emulator opened the sealed body and holds the exact order.
    let p = w.emu.payment(created.transaction_hash.as_str()).unwrap();
    assert_eq!(p.amount.minor(), 100_050);
    assert_eq!(p.status, "pending");
    assert_eq!(p.description.as_deref(), Some("Тестовая оплата"));
    assert_eq!(p.user.as_ref().unwrap()["phone"], "+77778889900");

    // The widget page is a real form with the test cards.
    let (status, html) = w.get(created.widget_url.as_str()).await;
    assert_eq!(status, 200);
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(
        html.contains(CARD_SUCCESS) && html.contains(CARD_DECLINE) && html.contains(CARD_DENIED)
    );

    // The acquirer page is served too.
    let page = w
        .client
        .acquirer_options(&created.transaction_hash)
        .await
        .unwrap();
    let (status, html) = w.get(page.as_str()).await;
    assert_eq!(status, 200);
    assert!(html.contains("card_number"));

    // No receipt before payment.
    let err = w
        .client
        .receipt_pdf(&created.transaction_hash)
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code, Some(5_000_109));

    let (status, html) = w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("https://shop.example/ok"),
        "continue link: {html}"
    );

    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.status, "completed");
    assert_eq!(p.history, ["pending", "authorized", "success", "completed"]);
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert_eq!(p.attempts.len(), 1);

    let got = w.merchant.received_for("ecom-1");
    assert_eq!(got.len(), 1);
    let n = &got[0];
    assert_eq!(n.status.status, Status::Completed);
    assert!(n.status.status.is_final());
    assert_eq!(n.amount, order.amount());
    assert_eq!(n.transaction_hash, created.transaction_hash);
    assert_eq!(n.created_at.offset().whole_hours(), 6);
    assert!(n.status.error.is_none());

    // The provisional status endpoint agrees; the receipt is a PDF.
    let s = w
        .client
        .payment_status(&created.transaction_hash)
        .await
        .unwrap();
    assert_eq!(s.status.status, Status::Completed);
    let pdf = w
        .client
        .receipt_pdf(&created.transaction_hash)
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-1."));
    assert!(pdf.ends_with(b"%%EOF\n"));
    assert!(String::from_utf8_lossy(&pdf).contains("Order: ecom-1"));
}

#[tokio::test]
async fn service_payment_runs_the_accrual_step() {
    let w = World::new(Config::default()).await;
    let order = w
        .order("svc-1", "2500")
        .service(7, "+77001234567")
        .show_close_button(false)
        .build()
        .unwrap();
    let created = w.create(&order).await;
    assert!(!created.show_close_button);
    let (status, _) = w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    assert_eq!(status, 200);
    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(
        p.history,
        ["pending", "authorized", "success", "accrual", "completed"]
    );
    assert_eq!(
        p.kind,
        emulator::Kind::Service {
            service_id: 7,
            contract_value: "+77001234567".into()
        }
    );
    let got = w.merchant.received_for("svc-1");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status.status, Status::Completed);

    // A service whose accrual fails is denied at that step.
    let order = w
        .order("svc-2", "10")
        .service(7, "+77001234567")
        .build()
        .unwrap();
    let created = w.create(&order).await;
    w.submit_card(&created.transaction_hash, CARD_FAIL_AFTER_SUCCESS)
        .await;
    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(
        p.history,
        ["pending", "authorized", "success", "accrual", "denied"]
    );
    let n = &w.merchant.received_for("svc-2")[0];
    assert_eq!(n.status.status, Status::Denied);
    assert_eq!(
        n.status.error.as_ref().unwrap().error_type,
        Some(ErrorType::System)
    );
}

#[tokio::test]
async fn declined_and_denied_cards() {
    let w = World::new(Config::default()).await;
    let order = w
        .order("dec-1", "99.99")
        .callback_force_failed_url("https://shop.example/failed")
        .build()
        .unwrap();
    let created = w.create(&order).await;
    // An unknown card is refused and the form is shown again; the payment stays pending.
    let (status, html) = w.submit_card(&created.transaction_hash, "1234").await;
    assert_eq!(status, 422);
    assert!(html.contains("Invalid card data"));
    assert_eq!(
        w.emu
            .payment(created.transaction_hash.as_str())
            .unwrap()
            .status,
        "pending"
    );
    // The decline redirects at once to the force-failed URL.
    let (status, _) = w.submit_card(&created.transaction_hash, CARD_DECLINE).await;
    assert_eq!(status, 303);
    w.emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    let n = &w.merchant.received_for("dec-1")[0];
    assert_eq!(n.status.status, Status::Error);
    let e = n.status.error.as_ref().unwrap();
    assert_eq!(e.error_type, Some(ErrorType::Payment));
    assert_eq!(e.error_message.as_deref(), Some("KKB rejected payment"));
    // Paying twice is refused.
    let (status, _) = w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    assert_eq!(status, 409);

    let order = w.order("den-1", "5").build().unwrap();
    let created = w.create(&order).await;
    w.submit_card(&created.transaction_hash, CARD_DENIED).await;
    w.emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    let n = &w.merchant.received_for("den-1")[0];
    assert_eq!(n.status.status, Status::Denied);
    assert!(n.status.status.is_failed());
}

#[tokio::test]
async fn callbacks_are_redelivered_until_acknowledged() {
    let w = World::new(Config::default()).await;
    w.merchant.fail_first.store(3, Ordering::SeqCst);
    let order = w.order("retry-1", "150").build().unwrap();
    let created = w.create(&order).await;
    w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert_eq!(p.attempts.len(), 4);
    for a in &p.attempts[..3] {
        assert!(
            matches!(
                a.outcome,
                emulator::AttemptOutcome::Refused { status: 503, .. }
            ),
            "{a:?}"
        );
    }
    assert_eq!(
        p.attempts[3].outcome,
        emulator::AttemptOutcome::Acknowledged
    );
    // The documented schedule, scaled by 0.001: 0, 15 ms, 60 ms, 180 ms.
    let delays: Vec<_> = p.attempts.iter().map(|a| a.delay).collect();
    assert_eq!(
        delays,
        [
            Duration::ZERO,
            Duration::from_millis(15),
            Duration::from_millis(60),
            Duration::from_millis(180)
        ]
    );
    assert_eq!(w.merchant.hits.load(Ordering::SeqCst), 4);
    assert_eq!(w.merchant.received_for("retry-1").len(), 1);
}

#[tokio::test]
async fn callbacks_give_up_after_the_schedule_and_mismatches_are_refused() {
    let w = World::new(Config {
        callback_schedule: vec![Duration::from_secs(1), Duration::from_secs(2)],
        ..Config::default()
    })
    .await;
    // The merchant stored a different amount: the callback is refused every time.
    let order = w.order("mismatch-1", "10").build().unwrap();
    let created = w.client.create_payment(&order).await.unwrap();
    let wrong = Order::builder("mismatch-1", "11".parse().unwrap())
        .build()
        .unwrap();
    w.merchant.store(&wrong, Some(&created.transaction_hash));
    w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::GaveUp);
    assert_eq!(p.attempts.len(), 3);
    assert!(w.merchant.received_for("mismatch-1").is_empty());
    let refused = w.merchant.refused.lock().unwrap().clone();
    assert_eq!(refused.len(), 3);
    assert!(refused[0].contains("amount mismatch"), "{refused:?}");
}

#[tokio::test]
async fn default_merchant_callback_url_is_used() {
    let merchant = Arc::new(Merchant::default());
    let router = Router::new()
        .route("/ktpay/callback", post(callback))
        .with_state(merchant.clone());
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let emu = emulator::start(
        Config::default()
            .with_default_callback_url(format!("{}/ktpay/callback", server.base_url()))
            .with_time_scale(0.001),
    )
    .await
    .unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_key_base64(&emu.app_key_base64())
        .environment(Environment::custom(&emu.base_url(), &emu.base_url()).unwrap())
        .build()
        .unwrap();
    let order = Order::builder("dflt-1", "1".parse().unwrap())
        .build()
        .unwrap();
    merchant.store(&order, None);
    let created = client.create_payment(&order).await.unwrap();
    emu.pay(created.transaction_hash.as_str(), CARD_SUCCESS)
        .unwrap();
    let p = emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert_eq!(merchant.received_for("dflt-1").len(), 1);
}

#[tokio::test]
async fn refunds_and_cancels() {
    let w = World::new(Config::default()).await;
    let order = w.order("ref-1", "100.50").build().unwrap();
    let created = w.create(&order).await;
    let hash = &created.transaction_hash;

    // Not refundable before it is completed.
    let e = w
        .client
        .refund_payment(hash, Amount::from_minor(100))
        .await
        .unwrap_err();
    assert!(e.provider().unwrap().is_validation());
    assert!(e
        .provider()
        .unwrap()
        .validation
        .contains_key("transaction_hash"));

    w.emu.pay(hash.as_str(), CARD_SUCCESS).unwrap();
    // Above the paid amount: refused.
    let e = w
        .client
        .refund_payment(hash, Amount::from_minor(10_051))
        .await
        .unwrap_err();
    let p = e.provider().expect("provider error");
    assert!(p.is_validation(), "{p}");
    assert!(
        p.validation["amount"][0].contains("exceeds the paid amount"),
        "{p}"
    );
    // Partial refunds up to the amount.
    let r = w
        .client
        .refund_payment(hash, Amount::from_minor(5_000))
        .await
        .unwrap();
    assert_eq!(r.amount, Some(Amount::from_minor(5_000)));
    assert_eq!(r.refunded_total, Some(Amount::from_minor(5_000)));
    assert_eq!(r.status, Some(Status::Completed));
    let e = w
        .client
        .refund_payment(hash, Amount::from_minor(5_051))
        .await
        .unwrap_err();
    assert!(e.provider().unwrap().is_validation());
    let r = w
        .client
        .refund_payment(hash, Amount::from_minor(5_050))
        .await
        .unwrap();
    assert_eq!(r.refunded_total, Some(order.amount()));
    assert_eq!(
        w.emu.payment(hash.as_str()).unwrap().refunded,
        order.amount()
    );
    // Zero is refused before sending.
    let e = w
        .client
        .refund_payment(hash, Amount::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(e, ktwidget::Error::Validation(_)));
    assert!(!e.may_have_been_sent());

    // Cancel: a pending payment becomes denied (and is called back); a final one cannot be.
    let order = w.order("can-1", "3").build().unwrap();
    let created = w.create(&order).await;
    let n = w
        .client
        .cancel_payment(&created.transaction_hash)
        .await
        .unwrap();
    assert_eq!(n.status.status, Status::Denied);
    w.emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(w.merchant.received_for("can-1").len(), 1);
    let e = w
        .client
        .cancel_payment(&created.transaction_hash)
        .await
        .unwrap_err();
    assert!(e.provider().unwrap().is_validation());
}

#[tokio::test]
async fn provider_errors_are_typed() {
    let w = World::new(Config::default()).await;
    let order = w.order("dup-1", "1").build().unwrap();
    w.create(&order).await;
    // Duplicate order_id.
    let e = w.client.create_payment(&order).await.unwrap_err();
    let p = e.provider().unwrap();
    assert!(p.is_validation());
    assert_eq!(p.code, Some(4_220_002));
    assert!(p.validation.contains_key("order.order_id"), "{p}");
    assert!(p.hint.is_some());
    assert_eq!(p.http_status, 422);

    // Unknown app id.
    let other = Client::builder()
        .app_id("not-our-app")
        .app_key_base64(&w.emu.app_key_base64())
        .environment(Environment::custom(&w.emu.base_url(), &w.emu.base_url()).unwrap())
        .build()
        .unwrap();
    let order2 = w.order("x-1", "1").build().unwrap();
    let e = other.create_payment(&order2).await.unwrap_err();
    assert!(e.provider().unwrap().is_unknown_app(), "{e}");
    // The wrong key: the body does not open.
    let wrong_key = Client::builder()
        .app_id(w.emu.app_id())
        .app_key(Keypair::generate().app_key())
        .environment(Environment::custom(&w.emu.base_url(), &w.emu.base_url()).unwrap())
        .build()
        .unwrap();
    let e = wrong_key.create_payment(&order2).await.unwrap_err();
    assert!(e.provider().unwrap().is_wrong_encryption(), "{e}");
    assert!(!e.provider().unwrap().is_key_expired());
    // An unknown transaction.
    let ghost = TransactionHash::new("0000").unwrap();
    let e = w.client.acquirer_options(&ghost).await.unwrap_err();
    assert_eq!(e.provider().unwrap().code, Some(5_000_107));
    assert!(e.provider().unwrap().is_internal());
    let e = w.client.payment_status(&ghost).await.unwrap_err();
    assert_eq!(e.provider().unwrap().code, Some(5_000_107));
}

#[tokio::test]
async fn the_reference_envelope_works_too() {
    let w = World::new(Config::default().with_envelope(EnvelopeStyle::Reference)).await;
    let order = w.order("refenv-1", "12.34").build().unwrap();
    let created = w.create(&order).await;
    let e = w.client.create_payment(&order).await.unwrap_err();
    assert!(e.provider().unwrap().is_validation());
    assert_eq!(e.provider().unwrap().message(), "Ошибка валидации");
    w.emu
        .pay(created.transaction_hash.as_str(), CARD_SUCCESS)
        .unwrap();
    let s = w
        .client
        .payment_status(&created.transaction_hash)
        .await
        .unwrap();
    assert_eq!(s.amount, Amount::from_minor(1234));
}

#[tokio::test]
async fn unknown_shapes_are_decode_errors_with_an_excerpt() {
    use axum::routing::get;
    let router = Router::new()
        .route(
            "/api/v1/merchant-widget/payment",
            post(|| async { axum::Json(serde_json::json!({"unexpected": "shape"})) }),
        )
        .route(
            "/api/v1/merchant-widget/payment/{hash}/acquirer-options",
            get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "oops") }),
        )
        .route(
            "/api/v1/merchant-widget/payment/{hash}/pdf",
            get(|| async { "<html>not a pdf</html>" }),
        )
        .route(
            "/api/v1/merchant-widget/payment/{hash}",
            get(|| async {
                axum::Json(serde_json::json!({"success": true, "payload": {"order_id": "1"}}))
            }),
        );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let client = Client::builder()
        .app_id("a")
        .app_key(Keypair::generate().app_key())
        .environment(Environment::custom(&server.base_url(), &server.base_url()).unwrap())
        .build()
        .unwrap();
    let order = Order::builder("o", Amount::from_minor(1)).build().unwrap();
    let e = client.create_payment(&order).await.unwrap_err();
    assert!(e.is_decode(), "{e}");
    assert!(e.to_string().contains("unexpected"), "{e}");
    assert!(!e.is_retryable());
    let h = TransactionHash::new("h").unwrap();
    let e = client.receipt_pdf(&h).await.unwrap_err();
    assert!(e.is_decode(), "{e}");
    assert!(e.to_string().contains("not a pdf"), "{e}");
    let e = client.payment_status(&h).await.unwrap_err();
    assert!(e.is_decode(), "{e}");
    // A non-envelope error status stays an HTTP status error.
    let e = client.acquirer_options(&h).await.unwrap_err();
    assert_eq!(
        e.transport().unwrap().status(),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert!(e.to_string().contains("oops"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_payments_lose_no_callback() {
    const N: usize = 300;
    let w = Arc::new(World::new(Config::default()).await);
    let mut tasks = Vec::new();
    for i in 0..N {
        let w = w.clone();
        tasks.push(tokio::spawn(async move {
            let order = w
                .order(&format!("load-{i}"), &format!("{}.{:02}", 1 + i, i % 100))
                .build()
                .unwrap();
            let created = w.create(&order).await;
            let card = if i % 10 == 0 {
                CARD_DECLINE
            } else {
                CARD_SUCCESS
            };
            let (status, _) = w.submit_card(&created.transaction_hash, card).await;
            assert_eq!(status, 200);
            created.transaction_hash
        }));
    }
    let mut hashes = Vec::new();
    for t in tasks {
        hashes.push(t.await.unwrap());
    }
    for h in &hashes {
        let p = w.emu.wait_for_delivery(h.as_str(), WAIT).await.unwrap();
        assert_eq!(p.delivery, Delivery::Acknowledged, "{}", p.order_id);
    }
    let received = w.merchant.received.lock().unwrap().clone();
    let ids: HashSet<String> = received.iter().map(|n| n.order_id.to_string()).collect();
    assert_eq!(ids.len(), N);
    assert_eq!(received.len(), N, "each callback acknowledged once");
    let errors = received
        .iter()
        .filter(|n| n.status.status == Status::Error)
        .count();
    assert_eq!(errors, N / 10);
    assert!(w.merchant.refused.lock().unwrap().is_empty());
}

/// The handler also plugs straight into hyper (`Request<Incoming>` in, `Response<Full<Bytes>>`
/// out), here behind the emulator's callbacks, with the opt-in sealed-body support switched on
/// (plain JSON still works with it).
#[tokio::test]
async fn hyper_callback_receiver() {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let merchant = Arc::new(Merchant::default());
    let handler = Arc::new(CallbackHandler::new().with_merchant_keypair(Keypair::generate()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (m, h) = (merchant.clone(), handler.clone());
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (m, h) = (m.clone(), h.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (m, h) = (m.clone(), h.clone());
                    async move {
                        let received = h
                            .receive_http(req, |n| {
                                m.orders.lock().unwrap().get(n.order_id.as_str()).cloned()
                            })
                            .await;
                        if let Ok(n) = &received.outcome {
                            m.received.lock().unwrap().push(n.clone());
                        }
                        Ok::<_, std::convert::Infallible>(received.ack.into_http_response())
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });

    let emu = emulator::start(Config::default().with_time_scale(0.001))
        .await
        .unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_key_base64(&emu.app_key_base64())
        .environment(Environment::custom(&emu.base_url(), &emu.base_url()).unwrap())
        .build()
        .unwrap();
    let order = Order::builder("hyper-1", "42".parse().unwrap())
        .callback_post_url(format!("http://{addr}/callback"))
        .build()
        .unwrap();
    merchant.store(&order, None);
    let created = client.create_payment(&order).await.unwrap();
    emu.pay(created.transaction_hash.as_str(), CARD_SUCCESS)
        .unwrap();
    let p = emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert_eq!(merchant.received_for("hyper-1").len(), 1);
    server.abort();
}
