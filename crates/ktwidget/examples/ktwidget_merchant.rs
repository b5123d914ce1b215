//! A merchant server for Ktpay, the safe way: each order's `callback_post_url` carries a tag only
//! Ktpay sees (it travels inside the sealed order), the callback endpoint records a status only
//! for a callback with the right tag, and a paid order is finally confirmed by Ktpay's own answer
//! to the merchant's status call.
//!
//! Run it against the sandbox (see the crate README):
//!
//! ```sh
//! cargo run -p payments-cli -- sandbox --json > sandbox.json &   # the Ktpay emulator
//! SANDBOX_INFO=sandbox.json MERCHANT_ONCE=1 cargo run -p ktwidget --example ktwidget_merchant
//! ```
//!
//! Without `SANDBOX_INFO`, it reads `KTWIDGET_API_BASE`, `KTWIDGET_APP_ID`, `KTWIDGET_APP_KEY` and
//! optionally `KTWIDGET_WIDGET_BASE`. With `MERCHANT_ONCE=1` it makes one payment end to end
//! (creating it, paying it as the customer through the sandbox's card form, receiving the tagged
//! callback and confirming with the status call) and exits 0 only when Ktpay's answer says paid.
//! Without it, it serves `GET /pay?amount=1000.50`, which creates a payment and redirects the
//! browser to the widget, until Ctrl-C.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use ktwidget::{
    Amount, BaseUrl, CallbackReceiver, CallbackSecret, CallbackStore, CallbackTagger, Client,
    ConfirmedStatus, Environment, Order, OrderId, StoredOrder, TransactionHash,
};

/// The shop's orders (a database in real life).
#[derive(Default)]
struct Shop(Mutex<HashMap<OrderId, StoredOrder>>);

impl CallbackStore for Shop {
    type Error = std::convert::Infallible;

    async fn stored_order(&self, id: &OrderId) -> Result<Option<StoredOrder>, Self::Error> {
        Ok(self.0.lock().expect("shop lock").get(id).cloned())
    }

    async fn record(&self, confirmed: ConfirmedStatus) -> Result<(), Self::Error> {
        println!(
            "callback: order {} is now {} (tag checked, stored order matched)",
            confirmed.order_id(),
            confirmed.status()
        );
        if let Some(o) = self
            .0
            .lock()
            .expect("shop lock")
            .get_mut(confirmed.order_id())
        {
            o.status = Some(confirmed.status().clone());
        }
        Ok(())
    }
}

struct App {
    client: Client,
    shop: Arc<Shop>,
    callback_url: String,
}

impl App {
    /// Stores the order, creates the payment, stores the hash.
    async fn create(&self, amount: Amount) -> Result<ktwidget::PaymentCreated, ktwidget::Error> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let order = Order::builder(format!("merchant-{nanos}"), amount)
            .description("Example order")
            .callback_post_url(&self.callback_url)
            .build()?;
        let id = order.order_id().clone();
        self.shop
            .0
            .lock()
            .expect("shop lock")
            .insert(id.clone(), StoredOrder::of(&order));
        let created = self.client.create_payment(&order).await?;
        if let Some(o) = self.shop.0.lock().expect("shop lock").get_mut(&id) {
            o.transaction_hash = Some(created.transaction_hash.clone());
        }
        println!(
            "created: order {id}, transaction {}, widget {}",
            created.transaction_hash, created.widget_url
        );
        Ok(created)
    }
}

async fn pay(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let amount = q.get("amount").map(String::as_str).unwrap_or("1000.50");
    let Ok(amount) = amount.parse::<Amount>() else {
        return (axum::http::StatusCode::BAD_REQUEST, "bad amount").into_response();
    };
    match app.create(amount).await {
        Ok(created) => Redirect::to(created.widget_url.as_str()).into_response(),
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The sandbox's connection details.
struct Sandbox {
    api: BaseUrl,
    widget: BaseUrl,
    app_id: String,
    app_key: String,
}

fn sandbox() -> Result<Sandbox, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    if let Ok(path) = std::env::var("SANDBOX_INFO") {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let info: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or(""))?;
        let kt = &info["ktwidget"];
        let field = |k: &str| {
            kt[k]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{path}: no ktwidget.{k}"))
        };
        return Ok(Sandbox {
            api: field("api_base")?.parse()?,
            widget: field("widget_base")?.parse()?,
            app_id: field("app_id")?,
            app_key: field("app_key")?,
        });
    }
    let api: BaseUrl = var("KTWIDGET_API_BASE")?.parse()?;
    let widget = match std::env::var("KTWIDGET_WIDGET_BASE") {
        Ok(w) => w.parse()?,
        Err(_) => api.clone(),
    };
    Ok(Sandbox {
        api,
        widget,
        app_id: var("KTWIDGET_APP_ID")?,
        app_key: var("KTWIDGET_APP_KEY")?,
    })
}

/// Pays as the customer would, through the sandbox's card form (`POST /payment-card`).
async fn pay_as_customer(
    widget: &BaseUrl,
    hash: &TransactionHash,
) -> Result<(), Box<dyn std::error::Error>> {
    let http = payments_core::HttpClient::builder()
        .allow_plain_http_to_loopback()
        .build()?;
    let form = format!(
        "hash={}&card_number=4111111111111111&expiry=12%2F30&cvc=123",
        hash.as_str()
    );
    let request = payments_core::Request::new(http::Method::POST, widget.join("/payment-card")?)
        .with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .with_body(form);
    let op = payments_core::Operation::not_idempotent("example", "customer_pays");
    let answer = http.execute(&op, request).await?;
    println!(
        "customer: paid with the test card 4111 1111 1111 1111 (HTTP {})",
        answer.status
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = sandbox()?;
    let once = std::env::var("MERCHANT_ONCE").is_ok_and(|v| v == "1");
    let addr = std::env::var("MERCHANT_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());

    // One callback secret (≥ 32 bytes, from your secret store) for the client and the endpoint.
    let tagger = CallbackTagger::new(CallbackSecret::generate());
    let shop = Arc::new(Shop::default());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);

    let client = Client::builder()
        .app_id(sandbox.app_id.as_str())
        .app_key_base64(&sandbox.app_key)
        .environment(Environment::Custom(sandbox.api.clone()))
        .widget_url(sandbox.widget.clone())
        .allow_plain_http_to_loopback() // the sandbox and this server run on loopback
        .tag_callbacks(tagger.clone())
        .build()?;
    let app = Arc::new(App {
        client: client.clone(),
        shop: shop.clone(),
        callback_url: format!("{base}/ktpay/callback"),
    });
    let endpoint = CallbackReceiver::tagged(tagger, shop.clone()).into_service();
    let router = Router::new()
        .route("/pay", get(pay))
        .route_service("/ktpay/callback", endpoint)
        .with_state(app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    println!("merchant: listening on {base} (callbacks at {base}/ktpay/callback)");

    if !once {
        println!("merchant: open {base}/pay?amount=1000.50 in a browser; Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }

    let created = app.create("1000.50".parse()?).await?;
    pay_as_customer(&sandbox.widget, &created.transaction_hash).await?;

    // Wait for the tagged callback (the sandbox delivers it once the payment is final).
    let id = shop
        .0
        .lock()
        .expect("shop lock")
        .values()
        .find(|o| o.transaction_hash.as_ref() == Some(&created.transaction_hash))
        .map(|o| o.order_id.clone())
        .ok_or("the order is not stored")?;
    let mut stored = None;
    for _ in 0..600 {
        let now = shop.0.lock().expect("shop lock")[&id].clone();
        if now.status.as_ref().is_some_and(|s| s.is_final()) {
            stored = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = stored.ok_or("no final callback within 60 s")?;

    // The callback was a hint with the right tag; Ktpay's answer to our own call is the fact.
    let confirmed = client.confirm_status(&stored).await?;
    println!(
        "confirmed by Ktpay's status answer: order {} is {}",
        confirmed.order_id(),
        confirmed.status()
    );
    server.abort();
    if confirmed.is_paid() {
        println!("merchant: PAID");
        Ok(())
    } else {
        Err(format!("not paid: {}", confirmed.status()).into())
    }
}
