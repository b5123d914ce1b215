//! Shared helpers of the end-to-end tests: an emulator, a client for it, and a "browser".
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use kupikupi::Client;
use payments_core::http::{header, HeaderValue, Method};
use payments_core::{HttpClient, HttpTransport, Operation, Request, RetryPolicy, Secret, Timeouts};
use payments_sandbox::kupikupi::{self as emu, Config, Emulator};

pub const CONFIRMED_PHONE: &str = "79000000001";
pub const REJECTED_PHONE: &str = "79000000002";
pub const CANCELED_PHONE: &str = "79000000003";

pub async fn emulator(config: Config) -> Emulator {
    emu::start(config).await.expect("emulator starts")
}

pub fn client_for(emulator: &Emulator) -> Client {
    client_with(emulator, emulator.platform_uid(), emulator.secret_key())
}

pub fn client_with(emulator: &Emulator, uid: &str, secret: &str) -> Client {
    Client::builder()
        .platform_uid(uid)
        .secret_key(Secret::from(secret))
        .base_url(emulator.base_url())
        .allow_plain_http_to_loopback()
        .timeouts(Timeouts::default().with_total(Duration::from_secs(20)))
        .build()
        .expect("client builds")
}

/// A plain HTTP client that plays the customer's browser.
pub fn browser() -> HttpClient {
    let transport = HttpTransport::builder().build().expect("transport");
    HttpClient::with_transport(Arc::new(transport)).with_retry_policy(RetryPolicy::never())
}

const BROWSE: Operation = Operation::not_idempotent("test", "browser");

/// GETs the transfer form; returns (status, body).
pub async fn open_form(browser: &HttpClient, url: &str) -> (u16, String) {
    let req = Request::new(Method::GET, url.parse().expect("url"));
    let resp = browser.execute(&BROWSE, req).await.expect("form answers");
    (
        resp.status.as_u16(),
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

/// Submits the code on the form; returns (status, body).
pub async fn submit_code(browser: &HttpClient, transfer_url: &str, code: &str) -> (u16, String) {
    let req = Request::new(
        Method::POST,
        format!("{transfer_url}/confirm").parse().expect("url"),
    )
    .with_body(format!("code={code}"))
    .with_header(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let resp = browser
        .execute(&BROWSE, req)
        .await
        .expect("confirm answers");
    (
        resp.status.as_u16(),
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

/// POSTs raw bytes to a path of the API; returns (status, JSON body).
pub async fn post_raw(
    browser: &HttpClient,
    url: &str,
    body: impl Into<payments_core::bytes::Bytes>,
) -> (u16, serde_json::Value) {
    let req = Request::new(Method::POST, url.parse().expect("url"))
        .with_body(body)
        .with_header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    let resp = browser.execute(&BROWSE, req).await.expect("api answers");
    let json = serde_json::from_slice(&resp.body).expect("a JSON answer");
    (resp.status.as_u16(), json)
}
