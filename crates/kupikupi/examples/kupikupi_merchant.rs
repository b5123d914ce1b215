//! A merchant server that takes Kupi-Kupi points the safe way, against `payments sandbox`.
//!
//! It creates a transfer (`init`) and sends the customer to its form; the service's
//! notification is received by [`NotificationReceiver`], which answers `OK` and then asks
//! `checkout`: the order is paid only when `checkout` says CONFIRMED.
//!
//! Run the sandbox with this server as the NotificationURL (Kupi-Kupi listens on port P+1):
//!
//! ```text
//! cargo run -p payments-cli -- sandbox --listen 127.0.0.1:8090 --time-scale 0.001 \
//!     --kupikupi-notification-url http://127.0.0.1:8081/kupikupi/notify
//! ```
//!
//! then, in another terminal:
//!
//! ```text
//! cargo run -p kupikupi --example kupikupi_merchant              # serves; open http://127.0.0.1:8081/pay
//! MERCHANT_ONCE=1 cargo run -p kupikupi --example kupikupi_merchant  # one payment end to end, then exit
//! ```
//!
//! With `MERCHANT_ONCE=1` it pays one order itself, as the customer would (it posts the code on
//! the sandbox's form), and exits 0 only when `checkout` confirmed the transfer.
//!
//! Settings (environment): `MERCHANT_ADDR` (default `127.0.0.1:8081`), `KUPIKUPI_BASE_URL`
//! (default `http://127.0.0.1:8091/api/v1/transfer`), `KUPIKUPI_PLATFORM_UID` and
//! `KUPIKUPI_SECRET_KEY` (default: the sandbox's well-known ones), `KUPIKUPI_CODE` (the sandbox's
//! form code, default `1111`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use kupikupi::{
    Client, ConfirmedTransfer, FailedTransfer, Notification, NotificationReceiver, OrderId, Phone,
    Secret, StoredTransfer, TransferAmount, TransferStore, Unresolved,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An order's state, as the merchant's database would hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State_ {
    Pending,
    Notified,
    Paid,
    Failed,
}

/// The merchant's orders (a database in real life).
#[derive(Clone, Default)]
struct Orders(Arc<Mutex<HashMap<OrderId, (TransferAmount, State_)>>>);

impl Orders {
    fn set(&self, order: &OrderId, state: State_) {
        if let Some(o) = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(order)
        {
            o.1 = state;
        }
    }
    fn state(&self, order: &OrderId) -> Option<State_> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(order)
            .map(|o| o.1)
    }
}

impl TransferStore for Orders {
    type Error = Infallible;

    // A hint: find the order and note it, never mark it paid here.
    async fn notified(&self, n: &Notification) -> Result<Option<StoredTransfer>, Infallible> {
        println!(
            "notification for {}: says {} (a hint; asking checkout)",
            n.order_id, n.transfer_status
        );
        let mut orders = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(orders.get_mut(&n.order_id).map(|(amount, state)| {
            if *state == State_::Pending {
                *state = State_::Notified;
            }
            StoredTransfer::new(*amount)
        }))
    }

    // Only checkout's answer builds a ConfirmedTransfer: the one place an order is paid.
    async fn confirmed(&self, t: ConfirmedTransfer) -> Result<(), Infallible> {
        println!(
            "checkout says CONFIRMED: order {} paid ({} kopecks)",
            t.order_id(),
            t.amount().minor()
        );
        self.set(t.order_id(), State_::Paid);
        Ok(())
    }

    async fn failed(&self, t: FailedTransfer) -> Result<(), Infallible> {
        println!(
            "checkout says {}: order {} not paid",
            t.status(),
            t.order_id()
        );
        self.set(t.order_id(), State_::Failed);
        Ok(())
    }

    async fn unresolved(&self, u: Unresolved) {
        println!("no final status yet: {u} (reconcile later)");
    }
}

#[derive(Clone)]
struct App {
    client: Client,
    orders: Orders,
    next: Arc<AtomicU64>,
}

impl App {
    /// Stores an order and creates its transfer; returns the form URL.
    async fn pay(&self, phone: &Phone) -> Result<(OrderId, String), kupikupi::Error> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let order = OrderId::new(format!("merchant-{}-{n}", std::process::id()))?;
        let amount = TransferAmount::from_minor(25_000)?;
        self.orders
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(order.clone(), (amount, State_::Pending));
        let transfer = self.client.init(phone, &order, amount).await?;
        println!(
            "init: order {order}, transfer {}, form {}",
            transfer.payment_id, transfer.transfer_url
        );
        Ok((order, transfer.transfer_url.to_string()))
    }
}

async fn pay_page(State(app): State<App>) -> axum::response::Response {
    let phone = match Phone::new("79000000001") {
        Ok(p) => p,
        Err(e) => return e.to_string().into_response(),
    };
    match app.pay(&phone).await {
        Ok((_, url)) => Redirect::to(&url).into_response(),
        Err(e) => (http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The customer enters the code on the sandbox's form: `POST {transfer_url}/confirm`, by hand
/// over a TCP stream (a browser does this in real life).
async fn customer_enters_code(
    transfer_url: &str,
    code: &str,
) -> Result<u16, Box<dyn std::error::Error>> {
    let uri: http::Uri = transfer_url.parse()?;
    let authority = uri.authority().ok_or("the form URL has no host")?.as_str();
    let path = format!("{}/confirm", uri.path());
    let body = format!("code={code}");
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    // Opening the form first moves the transfer to FORM_SHOWED, as a browser would.
    let get = format!(
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n",
        uri.path()
    );
    stream.write_all(get.as_bytes()).await?;
    let mut sink = Vec::new();
    stream.read_to_end(&mut sink).await?;
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let post = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(post.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status from the form")?;
    Ok(status)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env_or("MERCHANT_ADDR", "127.0.0.1:8081");
    let client = Client::builder()
        .platform_uid(env_or("KUPIKUPI_PLATFORM_UID", "M2hULcD58iYGkmS7"))
        .secret_key(Secret::from(env_or(
            "KUPIKUPI_SECRET_KEY",
            "yIKirCvplm8N1D9g",
        )))
        .base_url(env_or(
            "KUPIKUPI_BASE_URL",
            "http://127.0.0.1:8091/api/v1/transfer",
        ))
        .allow_plain_http_to_loopback() // the local sandbox; never for production
        .build()?;
    let app = App {
        client: client.clone(),
        orders: Orders::default(),
        next: Arc::new(AtomicU64::new(1)),
    };
    let notify = NotificationReceiver::new(client, app.orders.clone()).into_service();
    let router = axum::Router::new()
        .route("/pay", get(pay_page))
        .route_service("/kupikupi/notify", notify)
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "merchant on http://{}: /pay starts a payment, /kupikupi/notify takes notifications",
        listener.local_addr()?
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    if std::env::var_os("MERCHANT_ONCE").is_none() {
        server.await??;
        return Ok(());
    }

    // One payment end to end: init, the customer enters the code, the notification arrives,
    // checkout confirms.
    let (order, url) = app.pay(&Phone::new("79000000001")?).await?;
    let status = customer_enters_code(&url, &env_or("KUPIKUPI_CODE", "1111")).await?;
    println!("customer entered the code: the form answered HTTP {status}");
    for _ in 0..600 {
        match app.orders.state(&order) {
            Some(State_::Paid) => {
                println!("done: order {order} is paid, confirmed by checkout");
                return Ok(());
            }
            Some(State_::Failed) => break,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Err(format!(
        "order {order} was not confirmed: {:?}",
        app.orders.state(&order)
    )
    .into())
}
