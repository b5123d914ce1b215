//! End-to-end tests of the client against the sandbox emulator (an independent implementation of
//! Ktpay's wire format), with a merchant callback endpoint built on `CallbackReceiver` and core's
//! `InboundService`. Callbacks are tagged, as in the safe default flow.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use ktwidget::{
    Amount, CallbackReceiver, CallbackSecret, CallbackStore, CallbackTagger, Client, Code,
    ConfirmedStatus, Environment, ErrorType, Evidence, Keypair, Order, OrderId, Status,
    StoredOrder, TransactionHash, User,
};
use payments_core::inbound::InboundService;
use payments_core::{HttpClient, Operation, Request};
use payments_sandbox::ktwidget::{
    self as emulator, AttemptOutcome, Config, Delivery, Emulator, EnvelopeStyle, CARD_DECLINE,
    CARD_DENIED, CARD_FAIL_AFTER_SUCCESS, CARD_SUCCESS,
};
use payments_sandbox::server::{serve, RunningServer};

const WAIT: Duration = Duration::from_secs(30);

/// The shop's order book: what the callback receiver reads and writes.
#[derive(Default)]
struct Shop {
    orders: Mutex<HashMap<OrderId, StoredOrder>>,
    recorded: Mutex<Vec<ConfirmedStatus>>,
    fail_first: AtomicUsize,
    hits: AtomicUsize,
}

impl CallbackStore for Shop {
    type Error = std::convert::Infallible;

    async fn stored_order(&self, id: &OrderId) -> Result<Option<StoredOrder>, Self::Error> {
        Ok(self.orders.lock().unwrap().get(id).cloned())
    }

    async fn record(&self, confirmed: ConfirmedStatus) -> Result<(), Self::Error> {
        let mut orders = self.orders.lock().unwrap();
        if let Some(o) = orders.get_mut(confirmed.order_id()) {
            // The store applies the transition rule atomically with its write.
            if confirmed.transition_from(o.status.as_ref()).applies() {
                o.status = Some(confirmed.status().clone());
                self.recorded.lock().unwrap().push(confirmed);
            }
        }
        Ok(())
    }
}

impl Shop {
    fn store(&self, order: &Order, hash: Option<&TransactionHash>) {
        let mut s = StoredOrder::of(order);
        if let Some(h) = hash {
            s = s.with_transaction_hash(h.clone());
        }
        self.orders
            .lock()
            .unwrap()
            .insert(order.order_id().clone(), s);
    }

    fn recorded_for(&self, order_id: &str) -> Vec<ConfirmedStatus> {
        self.recorded
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.order_id().as_str() == order_id)
            .cloned()
            .collect()
    }

    fn status_of(&self, order_id: &str) -> Option<Status> {
        let id = OrderId::new(order_id).unwrap();
        self.orders.lock().unwrap().get(&id)?.status.clone()
    }
}

type Endpoint = InboundService<CallbackReceiver<Arc<Shop>>>;

/// The merchant's route: a maintenance switch in front of the SDK's endpoint.
async fn callback(
    State((shop, endpoint)): State<(Arc<Shop>, Endpoint)>,
    req: axum::extract::Request,
) -> axum::response::Response {
    shop.hits.fetch_add(1, Ordering::SeqCst);
    let failing = shop
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
    endpoint.handle(req).await.into_response()
}

async fn merchant_server(shop: Arc<Shop>, endpoint: Endpoint, route: &str) -> RunningServer {
    let router = Router::new()
        .route(route, post(callback))
        .with_state((shop, endpoint));
    serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap()
}

fn tagger() -> CallbackTagger {
    CallbackTagger::new(CallbackSecret::generate())
}

fn client_for(emu: &Emulator) -> ktwidget::ClientBuilder {
    Client::builder()
        .app_id(emu.app_id())
        .app_key_base64(&emu.app_key_base64())
        .environment(Environment::Custom(emu.base_url().parse().unwrap()))
        .allow_plain_http_to_loopback()
}

struct World {
    emu: Emulator,
    client: Client,
    shop: Arc<Shop>,
    merchant_server: RunningServer,
    http: HttpClient,
}

impl World {
    async fn new(config: Config) -> World {
        let shop = Arc::new(Shop::default());
        let tagger = tagger();
        let endpoint = CallbackReceiver::tagged(tagger.clone(), shop.clone())
            .merchant_id(config.merchant_id())
            .into_service();
        let merchant_server = merchant_server(shop.clone(), endpoint, "/ktpay/callback").await;
        let emu = emulator::start(config.with_time_scale(0.001))
            .await
            .unwrap();
        let client = client_for(&emu).tag_callbacks(tagger).build().unwrap();
        World {
            emu,
            client,
            shop,
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

    async fn send(&self, req: Request) -> (u16, String) {
        let resp = self
            .http
            .execute(&Operation::not_idempotent("test", "send"), req)
            .await
            .unwrap();
        (
            resp.status.as_u16(),
            String::from_utf8_lossy(&resp.body).into_owned(),
        )
    }

    async fn get(&self, url: &str) -> (u16, String) {
        self.send(Request::new(http::Method::GET, url.parse().unwrap()))
            .await
    }

    /// POSTs a JSON body, as anyone on the internet (the customer's browser) can.
    async fn post_json(&self, url: &str, body: String) -> (u16, String) {
        let req = Request::new(http::Method::POST, url.parse().unwrap())
            .with_header(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            )
            .with_body(body);
        self.send(req).await
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
        self.send(req).await
    }

    async fn create(&self, order: &Order) -> ktwidget::PaymentCreated {
        self.shop.store(order, None);
        let created = self.client.create_payment(order).await.unwrap();
        self.shop.store(order, Some(&created.transaction_hash));
        created
    }
}

#[tokio::test]
async fn ecom_payment_to_completed_with_a_tagged_callback() {
    let w = World::new(Config::default()).await;
    let order = w
        .order("ecom-1", "1000.5")
        .description("Тестовая оплата")
        .callback_success_url("https://shop.example/ok")
        .user(
            User::with_id("user1")
                .phone("+7 777 888 99 00")
                .email("a@b.kz"),
        )
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
    // The emulator opened the sealed body and holds the exact order, with the tagged callback
    // URL the client sent (the merchant's Order is unchanged).
    let p = w.emu.payment(created.transaction_hash.as_str()).unwrap();
    assert_eq!(p.amount.minor(), 100_050);
    assert_eq!(p.status, "pending");
    assert_eq!(p.description.as_deref(), Some("Тестовая оплата"));
    assert_eq!(p.user.as_ref().unwrap()["phone"], "+77778889900");
    let sent_url = &p.urls["callback_post_url"];
    assert!(
        sent_url.starts_with(&format!("{}?ktwidget_tag=", w.callback_url())),
        "{sent_url}"
    );
    assert_eq!(
        order.callbacks().post.as_ref().unwrap().as_str(),
        w.callback_url()
    );

    // The widget page is a real form with the test cards; the acquirer page is served too.
    let (status, html) = w.get(created.widget_url.as_str()).await;
    assert_eq!(status, 200);
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(
        !html.contains("ktwidget_tag"),
        "the customer's page shows the tag"
    );
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
    assert_eq!(err.provider().unwrap().code, Some(Code(5_000_109)));

    let (status, html) = w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    assert_eq!(status, 200);
    assert!(html.contains("https://shop.example/ok"), "{html}");

    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.history, ["pending", "authorized", "success", "completed"]);
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert_eq!(p.attempts.len(), 1);
    // Ktpay (here: its emulator) POSTed to the URL as given, query string included.
    assert_eq!(&p.attempts[0].url, sent_url);

    let got = w.shop.recorded_for("ecom-1");
    assert_eq!(got.len(), 1);
    let c = &got[0];
    assert!(c.is_paid());
    assert_eq!(c.evidence(), Evidence::TaggedCallback);
    assert_eq!(c.amount(), order.amount());
    assert_eq!(c.transaction_hash(), &created.transaction_hash);
    let created_at = c.transaction().created_at.offset_date_time().unwrap();
    assert_eq!(created_at.offset().whole_hours(), 6);

    // The provisional status endpoint agrees, through the reconciliation call too.
    let s = w
        .client
        .payment_status(&created.transaction_hash)
        .await
        .unwrap();
    assert_eq!(s.status.status, Status::Completed);
    let stored = w.shop.orders.lock().unwrap()[order.order_id()].clone();
    let confirmed = w.client.confirm_status(&stored).await.unwrap();
    assert_eq!(confirmed.evidence(), Evidence::StatusCall);
    assert!(confirmed.is_paid());
    let pdf = w
        .client
        .receipt_pdf(&created.transaction_hash)
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-1."));
    assert!(String::from_utf8_lossy(&pdf).contains("Order: ecom-1"));
}

/// Issue 11: the customer knows the order id, the amount and the hash (it is in the widget URL
/// their browser opens), and the merchant's callback route. A `completed` callback made of
/// those passes every check against the stored order, and is still refused.
#[tokio::test]
async fn a_callback_forged_from_what_the_customer_knows_is_refused() {
    let w = World::new(Config::default()).await;
    let order = w.order("forge-1", "250").build().unwrap();
    let created = w.create(&order).await;
    let hash = created
        .widget_url
        .query_pairs()
        .find(|(k, _)| k == "hash")
        .unwrap()
        .1;
    let forged = serde_json::json!({
        "merchant_id": 1, "order_id": "forge-1", "description": null, "amount": 250,
        "transaction_hash": hash, "created_at": "2026-12-01T10:00:00+05:00", "updated_at": null,
        "status": {"status": "completed", "created_at": "2026-12-01T10:01:00+05:00",
                   "updated_at": null, "error": null}
    })
    .to_string();
    for url in [
        w.callback_url(),
        format!("{}?ktwidget_tag={}", w.callback_url(), "0".repeat(64)),
    ] {
        let (status, body) = w.post_json(&url, forged.clone()).await;
        assert_eq!((status, body.as_str()), (403, r#"{"status":"error"}"#));
    }
    assert!(w.shop.recorded_for("forge-1").is_empty());
    assert_eq!(w.shop.status_of("forge-1"), None);
    assert_eq!(
        w.client
            .payment_status(&created.transaction_hash)
            .await
            .unwrap()
            .status
            .status,
        Status::Pending
    );
    // The real callback, when the customer really pays, is taken.
    w.submit_card(&created.transaction_hash, CARD_DECLINE).await;
    w.emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(w.shop.status_of("forge-1"), Some(Status::Error));
}

#[tokio::test]
async fn service_payment_runs_the_accrual_step() {
    let w = World::new(Config::default()).await;
    let order = w
        .order("svc-1", "2500")
        .service("7", "+77001234567") // the reference's string form
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
    assert!(w.shop.recorded_for("svc-1")[0].is_paid());

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
    let c = &w.shop.recorded_for("svc-2")[0];
    assert_eq!(c.status(), &Status::Denied);
    assert!(!c.is_paid());
    assert_eq!(c.error().unwrap().error_type, Some(ErrorType::System));
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
    // The decline redirects at once to the force-failed URL.
    let (status, _) = w.submit_card(&created.transaction_hash, CARD_DECLINE).await;
    assert_eq!(status, 303);
    w.emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    let c = &w.shop.recorded_for("dec-1")[0];
    assert_eq!(c.status(), &Status::Error);
    let e = c.error().unwrap();
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
    assert!(w.shop.recorded_for("den-1")[0].status().is_failed());
}

#[tokio::test]
async fn callbacks_are_redelivered_until_acknowledged() {
    let w = World::new(Config::default()).await;
    w.shop.fail_first.store(3, Ordering::SeqCst);
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
            matches!(a.outcome, AttemptOutcome::Refused { status: 503, .. }),
            "{a:?}"
        );
    }
    assert_eq!(p.attempts[3].outcome, AttemptOutcome::Acknowledged);
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
    assert_eq!(w.shop.hits.load(Ordering::SeqCst), 4);
    assert_eq!(w.shop.recorded_for("retry-1").len(), 1);
}

#[tokio::test]
async fn callbacks_give_up_after_the_schedule_and_mismatches_are_refused() {
    let w = World::new(
        Config::default()
            .with_callback_schedule(vec![Duration::from_secs(1), Duration::from_secs(2)]),
    )
    .await;
    // The merchant stored a different amount: the (tagged) callback is refused every time.
    let order = w.order("mismatch-1", "10").build().unwrap();
    let created = w.client.create_payment(&order).await.unwrap();
    let wrong = Order::builder("mismatch-1", "11".parse().unwrap())
        .build()
        .unwrap();
    w.shop.store(&wrong, Some(&created.transaction_hash));
    w.submit_card(&created.transaction_hash, CARD_SUCCESS).await;
    let p = w
        .emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::GaveUp);
    assert_eq!(p.attempts.len(), 3);
    for a in &p.attempts {
        assert!(
            matches!(a.outcome, AttemptOutcome::Refused { status: 400, .. }),
            "{a:?}"
        );
    }
    assert!(w.shop.recorded_for("mismatch-1").is_empty());
    // The callback is lost: reconciliation with the status call is what settles the order,
    // and it too refuses an answer that does not match the stored order.
    let stored = w.shop.orders.lock().unwrap()[order.order_id()].clone();
    let e = w.client.confirm_status(&stored).await.unwrap_err();
    assert!(
        matches!(e, ktwidget::Error::Mismatch { field: "amount" }),
        "{e}"
    );
    let right = StoredOrder::of(&order).with_transaction_hash(created.transaction_hash.clone());
    assert!(w.client.confirm_status(&right).await.unwrap().is_paid());
}

#[tokio::test]
async fn the_tag_may_travel_in_the_path() {
    let shop = Arc::new(Shop::default());
    let tagger = tagger().in_last_path_segment();
    let endpoint = CallbackReceiver::tagged(tagger.clone(), shop.clone()).into_service();
    let server = merchant_server(shop.clone(), endpoint, "/ktpay/callback/{tag}").await;
    let emu = emulator::start(Config::default().with_time_scale(0.001))
        .await
        .unwrap();
    let client = client_for(&emu).tag_callbacks(tagger).build().unwrap();
    let order = Order::builder("path-1", "42".parse().unwrap())
        .callback_post_url(format!("{}/ktpay/callback", server.base_url()))
        .build()
        .unwrap();
    shop.store(&order, None);
    let created = client.create_payment(&order).await.unwrap();
    let p = emu.payment(created.transaction_hash.as_str()).unwrap();
    let sent = &p.urls["callback_post_url"];
    assert!(!sent.contains('?'), "{sent}");
    assert_eq!(sent.rsplit('/').next().unwrap().len(), 64, "{sent}");
    emu.pay(created.transaction_hash.as_str(), CARD_SUCCESS)
        .unwrap();
    let p = emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert!(shop.recorded_for("path-1")[0].is_paid());
}

/// The opt-in for a merchant who cannot tag: the body is a hint; Ktpay's answer to the status
/// call is what is recorded. Also the merchant's default callback URL (set at Ktpay, untagged).
#[tokio::test]
async fn untagged_callbacks_confirmed_with_the_status_call() {
    let shop = Arc::new(Shop::default());
    // The server starts first so that the emulator can be given its URL as the default; the
    // endpoint, which needs the client, is set once the emulator runs.
    let endpoint_cell = Arc::new(tokio::sync::OnceCell::<Endpoint>::new());
    let cell = endpoint_cell.clone();
    let router = Router::new().route(
        "/ktpay/callback",
        post(move |req: axum::extract::Request| {
            let cell = cell.clone();
            async move {
                let endpoint = cell.get().expect("endpoint ready");
                endpoint.handle(req).await.into_response()
            }
        }),
    );
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
    let client = client_for(&emu).build().unwrap();
    let endpoint =
        CallbackReceiver::confirming_every_callback_with_status_call(client.clone(), shop.clone())
            .into_service();
    assert!(endpoint_cell.set(endpoint).is_ok());

    let order = Order::builder("dflt-1", "1".parse().unwrap())
        .build()
        .unwrap();
    shop.store(&order, None);
    let created = client.create_payment(&order).await.unwrap();
    shop.store(&order, Some(&created.transaction_hash));

    // While it is pending, a forged `completed` is refused: Ktpay does not confirm it.
    let forged = serde_json::json!({
        "merchant_id": 1, "order_id": "dflt-1", "amount": 1,
        "transaction_hash": created.transaction_hash.as_str(),
        "created_at": "2026-12-01 10:00:00", "status": {"status": "completed"}
    })
    .to_string();
    let http = HttpClient::new().unwrap();
    let req = Request::new(
        http::Method::POST,
        format!("{}/ktpay/callback", server.base_url())
            .parse()
            .unwrap(),
    )
    .with_body(forged);
    let resp = http
        .execute(&Operation::not_idempotent("test", "forge"), req)
        .await
        .unwrap();
    assert_eq!(resp.status, 403);
    assert!(shop.recorded_for("dflt-1").is_empty());

    emu.pay(created.transaction_hash.as_str(), CARD_SUCCESS)
        .unwrap();
    let p = emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::Acknowledged);
    let got = shop.recorded_for("dflt-1");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].evidence(), Evidence::StatusCall);
    assert!(got[0].is_paid());
}

/// Migration: a tagged endpoint that also confirms untagged callbacks (orders created before
/// tagging was turned on) with the status call.
#[tokio::test]
async fn a_tagged_endpoint_can_confirm_older_untagged_orders_with_the_status_call() {
    let shop = Arc::new(Shop::default());
    let tagger = tagger();
    let emu = emulator::start(Config::default().with_time_scale(0.001))
        .await
        .unwrap();
    let plain = client_for(&emu).build().unwrap();
    let tagging = client_for(&emu)
        .tag_callbacks(tagger.clone())
        .build()
        .unwrap();
    let endpoint = CallbackReceiver::tagged(tagger, shop.clone())
        .confirm_untagged_callbacks_with_status_call(plain.clone())
        .into_service();
    let server = merchant_server(shop.clone(), endpoint, "/ktpay/callback").await;
    let url = format!("{}/ktpay/callback", server.base_url());
    for (id, client, evidence) in [
        ("old-1", &plain, Evidence::StatusCall),
        ("new-1", &tagging, Evidence::TaggedCallback),
    ] {
        let order = Order::builder(id, "77".parse().unwrap())
            .callback_post_url(url.as_str())
            .build()
            .unwrap();
        shop.store(&order, None);
        let created = client.create_payment(&order).await.unwrap();
        emu.pay(created.transaction_hash.as_str(), CARD_SUCCESS)
            .unwrap();
        let p = emu
            .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
            .await
            .unwrap();
        assert_eq!(p.delivery, Delivery::Acknowledged, "{id}");
        let got = shop.recorded_for(id);
        assert_eq!(got.len(), 1, "{id}");
        assert_eq!(got[0].evidence(), evidence, "{id}");
        assert!(got[0].is_paid(), "{id}");
    }
}

#[tokio::test]
async fn a_tagging_client_refuses_orders_whose_tag_could_not_be_delivered_safely() {
    let w = World::new(Config::default()).await;
    // No callback URL: Ktpay would post to the merchant's default one, without a tag.
    let order = Order::builder("no-url", "1".parse().unwrap())
        .build()
        .unwrap();
    let e = w.client.create_payment(&order).await.unwrap_err();
    assert!(
        matches!(e, ktwidget::Error::Invalid(ref v) if v.is_about("callback_post_url")),
        "{e}"
    );
    assert!(!e.may_have_been_sent());
    // Plain http to another host would carry the tag in clear.
    let order = Order::builder("clear-url", "1".parse().unwrap())
        .callback_post_url("http://shop.example/ktpay/callback")
        .build()
        .unwrap();
    let e = w.client.create_payment(&order).await.unwrap_err();
    assert!(e.to_string().contains("credential"), "{e}");
    assert!(!e.may_have_been_sent());
    assert!(w.emu.payments().is_empty(), "nothing was sent");
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
    assert!(e.provider().unwrap().code.is_some_and(Code::is_validation));

    w.emu.pay(hash.as_str(), CARD_SUCCESS).unwrap();
    // Above the paid amount: refused.
    let e = w
        .client
        .refund_payment(hash, Amount::from_minor(10_051))
        .await
        .unwrap_err();
    let p = e.provider().expect("provider error");
    assert!(
        p.detail("amount")
            .unwrap()
            .contains("exceeds the paid amount"),
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
    let r = w
        .client
        .refund_payment(hash, Amount::from_minor(5_050))
        .await
        .unwrap();
    assert_eq!(r.refunded_total, Some(order.amount()));
    // Zero is refused before sending.
    let e = w
        .client
        .refund_payment(hash, Amount::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(e, ktwidget::Error::Invalid(_)));
    assert!(!e.may_have_been_sent());

    // Cancel: a pending payment becomes denied (and is called back); a final one cannot be.
    let order = w.order("can-1", "3").build().unwrap();
    let created = w.create(&order).await;
    let t = w
        .client
        .cancel_payment(&created.transaction_hash)
        .await
        .unwrap();
    assert_eq!(t.status.status, Status::Denied);
    w.emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(w.shop.status_of("can-1"), Some(Status::Denied));
    let e = w
        .client
        .cancel_payment(&created.transaction_hash)
        .await
        .unwrap_err();
    assert!(e.provider().unwrap().code.is_some_and(Code::is_validation));
}

#[tokio::test]
async fn provider_errors_are_typed() {
    let w = World::new(Config::default()).await;
    let order = w.order("dup-1", "1").build().unwrap();
    w.create(&order).await;
    // Duplicate order_id.
    let e = w.client.create_payment(&order).await.unwrap_err();
    let p = e.provider().unwrap();
    assert!(p.code.is_some_and(Code::is_validation));
    assert_eq!(p.code, Some(Code(4_220_002)));
    assert!(p.detail("order.order_id").is_some(), "{p}");
    assert!(p.detail("hint").is_some());
    assert_eq!(p.http_status, 422);

    // Unknown app id.
    let other = client_for(&w.emu).app_id("not-our-app").build().unwrap();
    let order2 = w.order("x-1", "1").build().unwrap();
    let e = other.create_payment(&order2).await.unwrap_err();
    assert!(
        e.provider().unwrap().code.is_some_and(Code::is_unknown_app),
        "{e}"
    );
    // The wrong key: the body does not open.
    let wrong_key = client_for(&w.emu)
        .app_key(Keypair::generate().app_key())
        .build()
        .unwrap();
    let e = wrong_key.create_payment(&order2).await.unwrap_err();
    assert!(
        e.provider()
            .unwrap()
            .code
            .is_some_and(Code::is_wrong_encryption),
        "{e}"
    );
    // An unknown transaction.
    let ghost = TransactionHash::new("0000").unwrap();
    let e = w.client.acquirer_options(&ghost).await.unwrap_err();
    assert_eq!(e.provider().unwrap().code, Some(Code(5_000_107)));
    assert!(e.provider().unwrap().code.is_some_and(Code::is_internal));
    let e = w.client.payment_status(&ghost).await.unwrap_err();
    assert_eq!(e.provider().unwrap().code, Some(Code(5_000_107)));
}

#[tokio::test]
async fn the_reference_envelope_works_too() {
    let w = World::new(Config::default().with_envelope(EnvelopeStyle::Reference)).await;
    let order = w.order("refenv-1", "12.34").build().unwrap();
    let created = w.create(&order).await;
    let e = w.client.create_payment(&order).await.unwrap_err();
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
                axum::Json(serde_json::json!({"success": true, "payload": {"order_id": "1", "amount": {"secret_token": "s3cr3t"}}}))
            }),
        );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let client = Client::builder()
        .app_id("a")
        .app_key(Keypair::generate().app_key())
        .environment(Environment::Custom(server.base_url().parse().unwrap()))
        .allow_plain_http_to_loopback()
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
    // Neither the message nor its sources quote the secret-looking value.
    let mut chain = format!("{e} {e:?}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push_str(&s.to_string());
        source = s.source();
    }
    assert!(!chain.contains("s3cr3t"), "{chain}");
    // A non-envelope error status stays an HTTP status error.
    let e = client.acquirer_options(&h).await.unwrap_err();
    assert_eq!(
        e.transport().unwrap().status(),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
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
        assert_eq!(p.attempts.len(), 1, "{}", p.order_id);
    }
    let recorded = w.shop.recorded.lock().unwrap().clone();
    let ids: HashSet<String> = recorded.iter().map(|c| c.order_id().to_string()).collect();
    assert_eq!(ids.len(), N);
    assert_eq!(recorded.len(), N, "each callback recorded once");
    let errors = recorded
        .iter()
        .filter(|c| c.status() == &Status::Error)
        .count();
    assert_eq!(errors, N / 10);
}

/// The endpoint is also a hyper `Service`: `serve_connection` takes it as it is.
#[tokio::test]
async fn hyper_serves_the_endpoint_directly() {
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let shop = Arc::new(Shop::default());
    let tagger = tagger();
    let endpoint = CallbackReceiver::tagged(tagger.clone(), shop.clone())
        .open_sealed_bodies_with(Keypair::generate())
        .into_service();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), endpoint)
                    .await;
            });
        }
    });

    let emu = emulator::start(Config::default().with_time_scale(0.001))
        .await
        .unwrap();
    let client = client_for(&emu).tag_callbacks(tagger).build().unwrap();
    let order = Order::builder("hyper-1", "42".parse().unwrap())
        .callback_post_url(format!("http://{addr}/callback"))
        .build()
        .unwrap();
    shop.store(&order, None);
    let created = client.create_payment(&order).await.unwrap();
    emu.pay(created.transaction_hash.as_str(), CARD_SUCCESS)
        .unwrap();
    let p = emu
        .wait_for_delivery(created.transaction_hash.as_str(), WAIT)
        .await
        .unwrap();
    assert_eq!(p.delivery, Delivery::Acknowledged);
    assert_eq!(shop.recorded_for("hyper-1").len(), 1);
    server.abort();
}

/// Every call says who it is: `ktwidget/<version>` by default, the caller's own when set.
#[tokio::test]
async fn the_user_agent_is_the_crate_and_version_unless_overridden() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let router = Router::new().route(
        "/api/v1/merchant-widget/payment/{hash}",
        axum::routing::get(move |headers: http::HeaderMap| {
            let record = record.clone();
            async move {
                let ua = headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                record.lock().unwrap().push(ua);
                (http::StatusCode::NOT_FOUND, "")
            }
        }),
    );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let build = |ua: Option<&str>| {
        let mut b = Client::builder()
            .app_id("a")
            .app_key(Keypair::generate().app_key())
            .environment(Environment::Custom(server.base_url().parse().unwrap()))
            .retry_policy(ktwidget::RetryPolicy::never())
            .allow_plain_http_to_loopback();
        if let Some(ua) = ua {
            b = b.user_agent(ua);
        }
        b.build().unwrap()
    };
    let h = TransactionHash::new("h").unwrap();
    let _ = build(None).payment_status(&h).await;
    let _ = build(Some("shop/2.0")).payment_status(&h).await;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            format!("ktwidget/{}", env!("CARGO_PKG_VERSION")),
            "shop/2.0".to_owned()
        ]
    );
    server.shutdown().await;
}
