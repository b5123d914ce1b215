//! The Ktpay emulator on the wire, with raw requests sealed here (not through the client crate).
#![cfg(feature = "ktwidget")]

use std::time::Duration;

use base64::Engine as _;
use crypto_box::aead::OsRng;
use crypto_box::PublicKey;
use payments_core::{HttpClient, Operation, Request};
use payments_sandbox::ktwidget::{self, Config, Emulator, EnvelopeStyle, CARD_SUCCESS};
use serde_json::{json, Value};

const CREATE: &str = "/api/v1/merchant-widget/payment";

fn seal(emu: &Emulator, plaintext: &[u8]) -> String {
    let pk = base64::engine::general_purpose::STANDARD
        .decode(emu.app_key_base64())
        .unwrap();
    let pk = PublicKey::from_slice(&pk).unwrap();
    let sealed = pk.seal(&mut OsRng, plaintext).unwrap();
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

async fn send(
    emu: &Emulator,
    method: http::Method,
    path: &str,
    app_id: Option<&str>,
    body: String,
) -> (u16, Value, http::HeaderMap) {
    let mut req = Request::new(method, format!("{}{path}", emu.base_url()).parse().unwrap())
        .with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        )
        .with_body(body);
    if let Some(id) = app_id {
        req = req.with_header(
            http::HeaderName::from_static("auth-identifier"),
            id.parse().unwrap(),
        );
    }
    let resp = HttpClient::new()
        .unwrap()
        .execute(&Operation::not_idempotent("test", "raw"), req)
        .await
        .unwrap();
    let v = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status.as_u16(), v, resp.headers)
}

async fn create(emu: &Emulator, order: Value) -> (u16, Value) {
    let body = seal(emu, json!({ "order": order }).to_string().as_bytes());
    let (s, v, _) = send(emu, http::Method::POST, CREATE, Some(emu.app_id()), body).await;
    (s, v)
}

fn code(v: &Value) -> u64 {
    v["error"]["code"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn creates_in_the_live_envelope() {
    let emu = ktwidget::start(Config::default()).await.unwrap();
    let (s, v) = create(
        &emu,
        json!({"order_id": 17, "amount": "1000.5", "type": "service",
               "service": {"service_id": "1", "contract_value": 17025022}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["error"], json!([]));
    assert_eq!(v["response"]["success"], true);
    let hash = v["response"]["data"]["transaction_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 40);
    assert_eq!(v["response"]["data"]["show_close_button"], true);
    let p = emu.payment(hash).unwrap();
    assert_eq!(p.order_id, "17");
    assert_eq!(p.amount.minor(), 100_050);
    assert_eq!(emu.payment_by_order("17").unwrap().transaction_hash, hash);
}

#[tokio::test]
async fn refuses_with_the_documented_codes() {
    let emu = ktwidget::start(Config::default()).await.unwrap();
    let good = json!({"order": {"order_id": "a", "amount": 1, "type": "ecom"}}).to_string();

    // Unknown and missing Auth-Identifier.
    let (s, v, _) = send(
        &emu,
        http::Method::POST,
        CREATE,
        Some("nope"),
        seal(&emu, good.as_bytes()),
    )
    .await;
    assert_eq!((s, code(&v)), (401, 4_010_103), "{v}");
    assert_eq!(v["success"], false);
    assert_eq!(v["data"], json!([]));
    assert!(v["error"]["messages"]["error"].is_string());
    let (s, v, _) = send(
        &emu,
        http::Method::POST,
        CREATE,
        None,
        seal(&emu, good.as_bytes()),
    )
    .await;
    assert_eq!((s, code(&v)), (422, 4_220_103));
    assert!(v["error"]["validation"]["app_id"].is_array());

    // Bodies that do not open: plaintext, another key, URL-safe base64.
    let id = Some(emu.app_id());
    let (_, v, _) = send(&emu, http::Method::POST, CREATE, id, good.clone()).await;
    assert_eq!(code(&v), 4_220_102);
    let other = crypto_box::SecretKey::generate(&mut OsRng).public_key();
    let foreign = base64::engine::general_purpose::STANDARD
        .encode(other.seal(&mut OsRng, good.as_bytes()).unwrap());
    let (_, v, _) = send(&emu, http::Method::POST, CREATE, id, foreign).await;
    assert_eq!(code(&v), 4_220_102);
    let sealed = seal(&emu, good.as_bytes());
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&sealed)
        .unwrap();
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    if url_safe.contains(['-', '_']) {
        let (_, v, _) = send(&emu, http::Method::POST, CREATE, id, url_safe).await;
        assert_eq!(code(&v), 4_220_102);
    }

    // Opens, but not JSON / no order.
    let (_, v, _) = send(
        &emu,
        http::Method::POST,
        CREATE,
        id,
        seal(&emu, b"not json"),
    )
    .await;
    assert_eq!(code(&v), 4_220_101);
    let (_, v, _) = send(
        &emu,
        http::Method::POST,
        CREATE,
        id,
        seal(&emu, b"{\"user\":{}}"),
    )
    .await;
    assert_eq!(code(&v), 4_220_101);
}

#[tokio::test]
async fn validation_map() {
    let emu = ktwidget::start(Config::default()).await.unwrap();
    let cases = [
        (json!({"amount": 1, "type": "ecom"}), "order.order_id"),
        (json!({"order_id": "x", "type": "ecom"}), "order.amount"),
        (
            json!({"order_id": "x", "amount": 0, "type": "ecom"}),
            "order.amount",
        ),
        (
            json!({"order_id": "x", "amount": -5, "type": "ecom"}),
            "order.amount",
        ),
        (
            json!({"order_id": "x", "amount": 1.005, "type": "ecom"}),
            "order.amount",
        ),
        (json!({"order_id": "x", "amount": 1}), "order.type"),
        (
            json!({"order_id": "x", "amount": 1, "type": "card"}),
            "order.type",
        ),
        (
            json!({"order_id": "x", "amount": 1, "type": "service"}),
            "order.service",
        ),
        (
            json!({"order_id": "x", "amount": 1, "type": "service", "service": {"contract_value": "1"}}),
            "order.service.service_id",
        ),
        (
            json!({"order_id": "x", "amount": 1, "type": "ecom", "callback_post_url": "ftp://x"}),
            "order.callback_post_url",
        ),
    ];
    for (order, field) in cases {
        let (s, v) = create(&emu, order.clone()).await;
        assert_eq!(s, 422, "{order}");
        assert_eq!(code(&v), 4_220_002, "{order}: {v}");
        assert!(v["error"]["validation"][field].is_array(), "{order}: {v}");
        assert!(v["error"]["hint"].is_string());
    }
    let ok = json!({"order_id": "dup", "amount": 1, "type": "ecom"});
    assert_eq!(create(&emu, ok.clone()).await.0, 200);
    let (s, v) = create(&emu, ok).await;
    assert_eq!(s, 422);
    assert_eq!(
        v["error"]["validation"]["order.order_id"][0],
        "The order id has already been taken."
    );
    assert!(emu.payment_by_order("x").is_none());
}

#[tokio::test]
async fn reference_envelope_style() {
    let emu = ktwidget::start(Config::default().with_envelope(EnvelopeStyle::Reference))
        .await
        .unwrap();
    let (s, v) = create(&emu, json!({"order_id": "r", "amount": 2, "type": "ecom"})).await;
    assert_eq!(s, 200);
    assert_eq!(v["success"], true);
    assert!(v["payload"]["transaction_hash"].is_string());
    let (_, v) = create(&emu, json!({"order_id": "r", "amount": 2, "type": "ecom"})).await;
    assert_eq!(v["success"], false);
    assert_eq!(v["error"]["message"], "Ошибка валидации");
}

#[tokio::test]
async fn receipt_is_a_pdf_and_status_is_in_the_callback_shape() {
    let emu = ktwidget::start(Config::default()).await.unwrap();
    let (_, v) = create(
        &emu,
        json!({"order_id": "pdf-(1)", "amount": 12.5, "type": "ecom", "description": "Чек"}),
    )
    .await;
    let hash = v["response"]["data"]["transaction_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(emu.pay(&hash, "4111 1111 1111 1111").unwrap(), "completed");
    assert!(emu.pay(&hash, CARD_SUCCESS).is_err());

    let path = format!("{CREATE}/{hash}/pdf");
    let req = Request::new(
        http::Method::GET,
        format!("{}{path}", emu.base_url()).parse().unwrap(),
    );
    let resp = HttpClient::new()
        .unwrap()
        .execute(&Operation::idempotent("test", "pdf"), req)
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers[http::header::CONTENT_TYPE], "application/pdf");
    let pdf = String::from_utf8(resp.body.to_vec()).unwrap();
    assert!(pdf.starts_with("%PDF-1.4\n"));
    assert!(pdf.contains("(Order: pdf-\\(1\\)) Tj"));
    // The cross-reference table points at each object.
    let xref_at: usize = pdf
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pdf[xref_at..].starts_with("xref\n0 6\n"));
    for (i, line) in pdf[xref_at..].lines().skip(3).take(5).enumerate() {
        let off: usize = line[..10].parse().unwrap();
        assert!(
            pdf[off..].starts_with(&format!("{} 0 obj", i + 1)),
            "{line}"
        );
    }

    let (s, v, _) = send(
        &emu,
        http::Method::GET,
        &format!("{CREATE}/{hash}"),
        Some(emu.app_id()),
        String::new(),
    )
    .await;
    assert_eq!(s, 200);
    let data = &v["response"]["data"];
    assert_eq!(data["order_id"], "pdf-(1)");
    assert_eq!(data["amount"], json!(12.5));
    assert_eq!(data["status"]["status"], "completed");
    assert!(data["created_at"].as_str().unwrap().ends_with("+06:00"));
    assert_eq!(data["status"]["error"], Value::Null);
    assert_eq!(data["merchant_id"], 1);
}

#[tokio::test]
async fn callbacks_without_a_url_and_to_a_dead_merchant() {
    let emu = ktwidget::start(
        Config::default()
            .with_callback_schedule(vec![Duration::from_secs(10)])
            .with_time_scale(0.001),
    )
    .await
    .unwrap();
    let (_, v) = create(&emu, json!({"order_id": "n", "amount": 1, "type": "ecom"})).await;
    let hash = v["response"]["data"]["transaction_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.pay(&hash, CARD_SUCCESS).unwrap();
    let p = emu
        .wait_for_delivery(&hash, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(p.delivery, ktwidget::Delivery::NoUrl);

    // Nothing listens on port 9 of 127.0.0.1 (discard): every attempt fails, then it gives up.
    let (_, v) = create(
        &emu,
        json!({"order_id": "d", "amount": 1, "type": "ecom", "callback_post_url": "http://127.0.0.1:9/cb"}),
    )
    .await;
    let hash = v["response"]["data"]["transaction_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.pay(&hash, CARD_SUCCESS).unwrap();
    let p = emu
        .wait_for_delivery(&hash, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(p.delivery, ktwidget::Delivery::GaveUp);
    assert_eq!(p.attempts.len(), 2);
    assert!(matches!(
        p.attempts[0].outcome,
        ktwidget::AttemptOutcome::Failed(_)
    ));
}

#[tokio::test]
async fn service_accrual_takes_scaled_time() {
    let emu = ktwidget::start(
        Config::default()
            .with_accrual_delay(Duration::from_secs(20))
            .with_time_scale(0.001),
    )
    .await
    .unwrap();
    let (_, v) = create(
        &emu,
        json!({"order_id": "acc", "amount": 5, "type": "service",
               "service": {"service_id": 2, "contract_value": "87001112233"}}),
    )
    .await;
    let hash = v["response"]["data"]["transaction_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    // The card is charged; the accrual runs in the background for 20 ms.
    assert_eq!(emu.pay(&hash, CARD_SUCCESS).unwrap(), "success");
    let p = emu
        .wait_for(&hash, Duration::from_secs(10), |p| p.status == "completed")
        .await
        .unwrap();
    assert_eq!(
        p.history,
        ["pending", "authorized", "success", "accrual", "completed"]
    );
    assert_eq!(p.delivery, ktwidget::Delivery::NoUrl);
}

/// A merchant that records each callback's request target and answers `{"status":"ok"}`.
async fn recording_merchant() -> (
    payments_sandbox::RunningServer,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(req.uri().to_string());
            axum::Json(json!({"status": "ok"}))
        }
    });
    let server = payments_sandbox::serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    (server, seen)
}

async fn paid_order(emu: &Emulator, order: Value) -> String {
    let (s, v) = create(emu, order).await;
    assert_eq!(s, 200, "{v}");
    let hash = v["response"]["data"]["transaction_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.pay(&hash, CARD_SUCCESS).unwrap();
    hash
}

#[tokio::test]
async fn the_callback_goes_to_callback_post_url_exactly_query_included() {
    let (merchant, seen) = recording_merchant().await;
    let emu = ktwidget::start(Config::default()).await.unwrap();
    // A per-order secret tag in the path and in the query, with escapes kept as sent.
    let target = "/ktpay/cb/tag-7f3a?order=q-1&tag=s3cr%2Ft&empty=";
    let url = format!("{}{target}", merchant.base_url());
    let hash = paid_order(
        &emu,
        json!({"order_id": "q-1", "amount": 5, "type": "ecom", "callback_post_url": url}),
    )
    .await;
    let p = emu
        .wait_for_delivery(&hash, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(p.delivery, ktwidget::Delivery::Acknowledged);
    assert_eq!(p.attempts[0].url, url);
    assert_eq!(seen.lock().unwrap().as_slice(), [target]);
    merchant.shutdown().await;
}

#[tokio::test]
async fn callbacks_go_only_to_loopback_unless_allowed() {
    let (merchant, seen) = recording_merchant().await;
    let port = merchant.addr().port();
    // 0.0.0.0 reaches this machine on Linux, yet it is not a loopback address: refused.
    let emu = ktwidget::start(Config::default()).await.unwrap();
    for (i, url) in [
        format!("http://0.0.0.0:{port}/cb"),
        "http://example.com/cb?tag=s3cret".to_owned(),
        "http://127.0.0.1.nip.io/cb".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        let hash = paid_order(
            &emu,
            json!({"order_id": format!("far-{i}"), "amount": 1, "type": "ecom", "callback_post_url": url}),
        )
        .await;
        let p = emu
            .wait_for_delivery(&hash, Duration::from_secs(20))
            .await
            .unwrap();
        let ktwidget::Delivery::Refused(reason) = &p.delivery else {
            panic!("{url}: {:?}", p.delivery);
        };
        assert!(reason.to_string().contains("not loopback"), "{reason}");
        assert!(p.attempts.is_empty(), "{url}: {:?}", p.attempts);
    }
    assert!(seen.lock().unwrap().is_empty());
    emu.shutdown().await;

    // The named opt-in lets the same callback through.
    let emu = ktwidget::start(Config::default().allow_non_loopback_delivery())
        .await
        .unwrap();
    let hash = paid_order(
        &emu,
        json!({"order_id": "far-ok", "amount": 1, "type": "ecom",
               "callback_post_url": format!("http://0.0.0.0:{port}/cb")}),
    )
    .await;
    let p = emu
        .wait_for_delivery(&hash, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(p.delivery, ktwidget::Delivery::Acknowledged);
    assert_eq!(seen.lock().unwrap().as_slice(), ["/cb"]);

    // A merchant default URL that is not loopback is refused at start.
    let err = ktwidget::start(Config::default().with_default_callback_url("http://10.1.2.3/cb"))
        .await
        .unwrap_err();
    assert!(matches!(err, ktwidget::StartError::CallbackUrl(_)), "{err}");
    assert!(ktwidget::start(
        Config::default()
            .with_default_callback_url("http://10.1.2.3/cb")
            .allow_non_loopback_delivery()
    )
    .await
    .is_ok());
    merchant.shutdown().await;
}

#[tokio::test]
async fn the_oldest_finished_payments_are_forgotten_past_the_limit() {
    let emu = ktwidget::start(Config::default().with_max_finished(2))
        .await
        .unwrap();
    let open = create(
        &emu,
        json!({"order_id": "open", "amount": 1, "type": "ecom"}),
    )
    .await;
    let open = open.1["response"]["data"]["transaction_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut hashes = Vec::new();
    for i in 0..3 {
        let hash = paid_order(
            &emu,
            json!({"order_id": format!("done-{i}"), "amount": 1, "type": "ecom"}),
        )
        .await;
        // No callback URL: finished as soon as it is final.
        assert_eq!(
            emu.wait_for_delivery(&hash, Duration::from_secs(10))
                .await
                .map(|p| p.delivery),
            Some(ktwidget::Delivery::NoUrl)
        );
        hashes.push(hash);
    }
    assert!(
        emu.payment(&hashes[0]).is_none(),
        "the oldest finished is gone"
    );
    assert!(emu.payment_by_order("done-0").is_none());
    assert!(emu.payment(&hashes[1]).is_some() && emu.payment(&hashes[2]).is_some());
    assert_eq!(emu.payments().len(), 3, "two finished and the open one");
    // The open payment is never evicted, and can still be paid.
    assert_eq!(emu.pay(&open, CARD_SUCCESS).unwrap(), "completed");
    assert!(emu.payment(&hashes[1]).is_none());
    assert_eq!(emu.payments().len(), 2);
}

#[tokio::test]
async fn settings_that_would_panic_later_are_refused_at_start() {
    for scale in [f64::NAN, -1.0, f64::INFINITY, 1e6] {
        let err = ktwidget::start(Config::default().with_time_scale(scale))
            .await
            .unwrap_err();
        assert!(matches!(err, ktwidget::StartError::TimeScale(_)), "{err}");
        assert!(err.to_string().contains("time scale"), "{err}");
    }
    for timeout in [Duration::ZERO, Duration::MAX] {
        let err = ktwidget::start(Config::default().with_callback_timeout(timeout))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("callback_timeout"), "{err}");
    }
    // The largest scale with the longest delays: scaling saturates instead of panicking.
    let emu = ktwidget::start(
        Config::default()
            .with_time_scale(100.0)
            .with_accrual_delay(Duration::MAX)
            .with_callback_schedule(vec![Duration::MAX]),
    )
    .await
    .unwrap();
    let (_, v) = create(
        &emu,
        json!({"order_id": "slow", "amount": 5, "type": "service",
               "service": {"service_id": 2, "contract_value": "1"}}),
    )
    .await;
    let hash = v["response"]["data"]["transaction_hash"].as_str().unwrap();
    assert_eq!(emu.pay(hash, CARD_SUCCESS).unwrap(), "success");
    emu.shutdown().await;
}
