//! A merchant's till server for Smart Pay, the safe way: Smart Pay sends no callbacks, so the
//! only fact about a payment is the service's answer to our own status call. `POST /pay` takes
//! the customer's scanned QR code and an amount, commits the code, releases the amount, polls
//! the purchase to a final status, and confirms it at the kassa only when the service said
//! `success`.
//!
//! Against `payments sandbox` (in another terminal: `cargo run -p payments-cli -- sandbox`),
//! give its Smart Pay settings:
//!
//! ```text
//! SMARTPAY_BASE_URL=https://localhost:PORT SMARTPAY_CA=/path/ca.pem \
//! SMARTPAY_CLIENT_CERT=/path/client.pem SMARTPAY_CLIENT_KEY_FILE=/path/client.key \
//! SMARTPAY_LOGIN=kassa-0001 SMARTPAY_PASSWORD=kassa-password-1 \
//!   cargo run -p smartpay --example smartpay_merchant
//! curl -s localhost:3000/pay -d '{"qr":"{\"id_loyalty\":\"7000123\",\"encrypted\":\"b3RwLjE3MDA=\",\"sign\":\"c2ln\"}","amount_kopecks":125050}' \
//!   -H 'content-type: application/json'
//! ```
//!
//! Without `SMARTPAY_BASE_URL` it starts the same emulator in-process. With `MERCHANT_ONCE=1` it
//! plays the customer once: it shows the till a QR code (a POST to its own `/pay`, as the
//! cashier's scanner would), and exits 0 only when the service's answer confirmed the payment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use smartpay::{
    Amount, Client, Environment, Error, KassaIdGenerator, PurchaseOutcome, QrCode, Secret,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Till {
    client: Client,
    ids: KassaIdGenerator,
}

#[derive(Deserialize)]
struct Pay {
    /// The scanned QR payload, as text.
    qr: String,
    amount_kopecks: u64,
}

async fn pay(State(till): State<Arc<Till>>, Json(req): Json<Pay>) -> Json<Value> {
    match run_payment(&till, &req).await {
        Ok(answer) => Json(answer),
        Err(e) => {
            println!("merchant: failed: {e}");
            Json(json!({ "paid": false, "error": e.to_string(),
                         "may_have_been_sent": e.may_have_been_sent() }))
        }
    }
}

async fn run_payment(till: &Till, req: &Pay) -> Result<Value, Error> {
    let qr = QrCode::parse(&req.qr)?;
    let committed = till.client.commit_code(&qr, &till.ids.next_id()).await?;
    println!(
        "merchant: committed the QR code: purchase {}",
        committed.purchase_id()
    );
    let mut released = committed
        .release(Amount::from_minor(req.amount_kopecks))
        .await?;
    println!(
        "merchant: released {} kopecks; polling the status",
        req.amount_kopecks
    );
    let outcome = released.wait_for_status(Duration::from_secs(60)).await?;
    let purchase_id = released.purchase_id().to_owned();
    Ok(match outcome {
        PurchaseOutcome::Paid => {
            // The service's own answer said success: confirm at the kassa, hand over the goods.
            released.confirm().await?;
            println!("merchant: purchase {purchase_id} paid and confirmed");
            json!({ "paid": true, "purchase_id": purchase_id })
        }
        PurchaseOutcome::NotPaid { status, .. } => {
            println!("merchant: purchase {purchase_id} not paid ({status})");
            json!({ "paid": false, "purchase_id": purchase_id, "status": status.as_str() })
        }
        PurchaseOutcome::Unrecognised(status) => {
            // Neither hand over the goods nor cancel: ask the provider.
            println!("merchant: purchase {purchase_id} has a status we do not know ({status})");
            json!({ "paid": false, "purchase_id": purchase_id, "unknown_status": status })
        }
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    env(name).ok_or_else(|| format!("{name} is not set").into())
}

/// The client, for the sandbox named by the environment, or for an in-process emulator.
async fn client() -> Result<(Client, Option<Box<dyn std::any::Any>>), Box<dyn std::error::Error>> {
    if let Some(base) = env("SMARTPAY_BASE_URL") {
        let client = Client::builder()
            .environment(Environment::Custom(base.parse()?))
            .client_identity_pem(
                std::fs::read(required("SMARTPAY_CLIENT_CERT")?)?,
                Secret::from(std::fs::read(required("SMARTPAY_CLIENT_KEY_FILE")?)?),
            )
            .trust_only_ca_pem(std::fs::read(required("SMARTPAY_CA")?)?)
            .credentials(
                env("SMARTPAY_LOGIN").unwrap_or_else(|| "kassa-0001".into()),
                Secret::from(required("SMARTPAY_PASSWORD")?),
            )
            .build()?;
        println!("merchant: Smart Pay at {base}");
        return Ok((client, None));
    }
    let emulator = payments_sandbox::smartpay::start(Default::default()).await?;
    let certs = emulator.certificates();
    let (login, password) = emulator.credentials();
    let client = Client::builder()
        .environment(Environment::Custom(emulator.base_url().parse()?))
        .client_identity_pem(
            certs.client_cert_pem.clone(),
            Secret::from(certs.client_key_pem.clone()),
        )
        .trust_only_ca_pem(certs.ca_pem.clone())
        .credentials(login, Secret::from(password))
        .build()?;
    println!(
        "merchant: no SMARTPAY_BASE_URL: using an in-process Smart Pay emulator at {}",
        emulator.base_url()
    );
    Ok((client, Some(Box::new(emulator))))
}

/// The customer at the till: the cashier's scanner posts the customer's QR code to `/pay`.
async fn customer_pays(addr: SocketAddr) -> Result<Value, Box<dyn std::error::Error>> {
    let qr = r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDA=","sign":"c2ln"}"#;
    let body = json!({ "qr": qr, "amount_kopecks": 125_050 }).to_string();
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST /pay HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    let text = String::from_utf8(answer)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the till's answer has no body")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("the till answered {head}").into());
    }
    Ok(serde_json::from_str(body)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _emulator) = client().await?;
    let till = Arc::new(Till {
        client,
        ids: KassaIdGenerator::new(),
    });
    let app = Router::new().route("/pay", post(pay)).with_state(till);
    let once = env("MERCHANT_ONCE").is_some_and(|v| v != "0");
    let listen = if once {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    };
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    println!("merchant: the till listens on http://{addr} (POST /pay)");
    if !once {
        axum::serve(listener, app).await?;
        return Ok(());
    }
    tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = customer_pays(addr).await?;
    println!("merchant: the till answered {answer}");
    if answer["paid"] == true {
        println!("merchant: one payment end to end: confirmed by the service's answer");
        Ok(())
    } else {
        Err("the payment was not confirmed".into())
    }
}
