//! The Smart Pay emulator over mTLS, with raw requests made here (not through the client
//! crate): no double payback, refunds and v1 receipts only for a confirmed purchase, replays
//! return the same object, unreleased commits expire, and hostile durations never panic.
#![cfg(feature = "smartpay")]

use std::sync::Arc;
use std::time::Duration;

use payments_core::{ClientIdentity, HttpClient, HttpTransport, Operation, Request, Secret};
use payments_sandbox::smartpay::{self, Config, Emulator, Outcome};
use serde_json::{json, Value};

const RAW: Operation = Operation::not_idempotent("test", "raw");
const WAIT: Duration = Duration::from_secs(20);

/// A kassa: an mTLS client with the emulator's certificates and a session cookie.
struct Kassa {
    http: HttpClient,
    base: String,
    cookie: String,
}

impl Kassa {
    async fn login(emu: &Emulator) -> Kassa {
        let certs = emu.certificates();
        let transport = HttpTransport::builder()
            .add_root_pem(certs.ca_pem.as_bytes())
            .unwrap()
            .only_added_roots()
            .client_identity(
                ClientIdentity::from_pem(
                    certs.client_cert_pem.as_bytes(),
                    &Secret::from(certs.client_key_pem.as_str()),
                )
                .unwrap(),
            )
            .build()
            .unwrap();
        let mut kassa = Kassa {
            http: HttpClient::with_transport(Arc::new(transport)),
            base: emu.base_url(),
            cookie: String::new(),
        };
        let (login, password) = emu.credentials();
        let req = kassa.request("/v1/auth", json!({"login": login, "password": password}));
        let resp = kassa.http.execute(&RAW, req).await.unwrap();
        assert_eq!(resp.status, 200);
        let set = resp.headers[http::header::SET_COOKIE].to_str().unwrap();
        kassa.cookie = set.split(';').next().unwrap().to_owned();
        kassa
    }

    fn request(&self, path: &str, body: Value) -> Request {
        let mut req = Request::new(
            http::Method::POST,
            format!("{}{path}", self.base).parse().unwrap(),
        )
        .with_header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )
        .with_body(body.to_string());
        if !self.cookie.is_empty() {
            req = req.with_header(http::header::COOKIE, self.cookie.parse().unwrap());
        }
        req
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .execute(&RAW, self.request(path, body))
            .await
            .unwrap();
        let v = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        (resp.status.as_u16(), v)
    }

    async fn commit(&self, code: &str, kassa_purchase_id: &str) -> (u16, Value) {
        self.post(
            "/v1/purchase/code/commit",
            json!({"qr": {"id_loyalty": "7000", "encrypted": code, "sign": "c2lnbg=="},
                   "kassa_purchase_id": kassa_purchase_id}),
        )
        .await
    }

    async fn status(&self, id: &str) -> Value {
        self.post("/v1/purchase/status", json!({"purchase_id": id}))
            .await
            .1
    }

    async fn wait_status(&self, id: &str, want: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let v = self.status(id).await;
            if v["status"] == want || tokio::time::Instant::now() >= deadline {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Commit, release and wait for `success` (not confirmed by the kassa).
    async fn succeeded(&self, code: &str, amount: u64) -> String {
        let (s, v) = self.commit(code, &format!("k-{code}")).await;
        assert_eq!(s, 200, "{v}");
        let id = v["purchase_id"].as_str().unwrap().to_owned();
        let (s, v) = self
            .post(
                "/v1/purchase/release",
                json!({"purchase_id": id, "amount": amount}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(self.wait_status(&id, "success").await["status"], "success");
        id
    }

    async fn kassa_status(&self, id: &str, status: &str) -> (u16, Value) {
        self.post(
            "/v1/purchase/kassa/status",
            json!({"purchase_id": id, "status": status}),
        )
        .await
    }

    async fn refund(&self, id: &str, kassa_refund_id: &str, amount: u64) -> (u16, Value) {
        self.post(
            "/v1/purchase/refund",
            json!({"purchase_id": id, "kassa_refund_id": kassa_refund_id, "amount": amount}),
        )
        .await
    }
}

fn fast() -> Config {
    Config::default().with_processing(Duration::from_millis(5))
}

#[tokio::test]
async fn an_unconfirmed_success_is_never_paid_back_twice() {
    let emu = smartpay::start(fast()).await.unwrap();
    let kassa = Kassa::login(&emu).await;
    let id = kassa.succeeded("ZG91Ymxl", 10_000).await;
    emu.set_refund_outcome(Outcome::Slow);
    // A refund while the kassa has not confirmed, then a cancel: at most one may pay back.
    let (refund_status, refund) = kassa.refund(&id, "r-1", 10_000).await;
    let (cancel_status, cancel) = kassa.kassa_status(&id, "cancel").await;
    assert!(
        !(refund_status == 200 && cancel_status == 200),
        "both the refund ({refund}) and the cancel ({cancel}) were accepted"
    );
    assert_eq!(refund_status, 409);
    assert_eq!(refund["code"], "purchase_not_confirmed");
    assert_eq!(cancel_status, 200);
    assert_eq!(emu.purchase(&id).unwrap().status, "cancelled");
    assert!(emu.refunds().is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn refunds_and_v1_receipts_only_for_a_confirmed_purchase() {
    let emu = smartpay::start(fast()).await.unwrap();
    let kassa = Kassa::login(&emu).await;
    let id = kassa.succeeded("Y29uZmlybQ==", 5_000).await;
    let v1 = json!({"purchase_id": id, "kassa_reg_number": "0000000001012345",
                    "fiscal_sign": "3522589123"});
    let (s, v) = kassa.post("/v1/purchase/fiscal", v1.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("purchase_not_confirmed"))
    );
    let (s, v) = kassa.refund(&id, "r-1", 1_000).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("purchase_not_confirmed"))
    );
    // v2 takes a receipt however the purchase was paid.
    let v2 = json!({"qr": {"id_loyalty": "7000", "encrypted": "eA==", "sign": "eQ=="},
                    "purchase_id": id,
                    "receipt": {"kassa_reg_number": "1", "fiscal_sign": "2", "total": 5000,
                                "items": []}});
    assert_eq!(kassa.post("/v2/purchase/fiscal", v2).await.0, 200);
    // Confirmed: both are accepted.
    assert_eq!(kassa.kassa_status(&id, "success").await.0, 200);
    assert_eq!(kassa.post("/v1/purchase/fiscal", v1).await.0, 200);
    let (s, v) = kassa.refund(&id, "r-1", 1_000).await;
    assert_eq!(s, 200, "{v}");
    // A declined purchase: not successful at all.
    emu.set_outcome(Outcome::Decline);
    let (_, v) = kassa.commit("ZGVjbGluZWQ=", "k-declined").await;
    let declined = v["purchase_id"].as_str().unwrap().to_owned();
    kassa
        .post(
            "/v1/purchase/release",
            json!({"purchase_id": declined, "amount": 10}),
        )
        .await;
    assert_eq!(
        kassa.wait_status(&declined, "declined").await["status"],
        "declined"
    );
    let (s, v) = kassa.refund(&declined, "r-2", 1).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("purchase_not_successful"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_replayed_commit_or_refund_returns_the_same_object() {
    let emu = smartpay::start(fast()).await.unwrap();
    let kassa = Kassa::login(&emu).await;
    let first = kassa.commit("cmVwbGF5", "k-replay").await;
    assert_eq!(first.0, 200);
    assert_eq!(kassa.commit("cmVwbGF5", "k-replay").await, first);
    assert_eq!(emu.purchases().len(), 1);
    // The same kassa id with another code is not a replay.
    assert_eq!(kassa.commit("b3RoZXI=", "k-replay").await.0, 409);

    let id = kassa.succeeded("cGFpZA==", 3_000).await;
    assert_eq!(kassa.kassa_status(&id, "success").await.0, 200);
    emu.set_refund_outcome(Outcome::Slow);
    let refund = kassa.refund(&id, "r-replay", 3_000).await;
    assert_eq!(refund.0, 200, "{}", refund.1);
    // The whole amount is taken, yet the replay is the same refund, not a second one.
    assert_eq!(kassa.refund(&id, "r-replay", 3_000).await, refund);
    assert_eq!(emu.refunds().len(), 1);
    // The same kassa id with another amount is refused.
    let (s, v) = kassa.refund(&id, "r-replay", 2_000).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("duplicate_kassa_refund_id"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_commit_never_released_expires() {
    let emu = smartpay::start(fast().with_commit_ttl(Duration::from_millis(50)))
        .await
        .unwrap();
    let kassa = Kassa::login(&emu).await;
    let (_, v) = kassa.commit("ZXhwaXJlcw==", "k-exp").await;
    let id = v["purchase_id"].as_str().unwrap().to_owned();
    assert_eq!(v["status"], "committed");
    assert_eq!(kassa.wait_status(&id, "expired").await["status"], "expired");
    let (s, v) = kassa
        .post(
            "/v1/purchase/release",
            json!({"purchase_id": id, "amount": 100}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("purchase_expired")));
    let answers = kassa
        .http
        .execute(
            &RAW,
            Request::new(
                http::Method::GET,
                format!("{}/v1/error_answers", kassa.base).parse().unwrap(),
            ),
        )
        .await
        .unwrap();
    let answers: Value = serde_json::from_slice(&answers.body).unwrap();
    let codes: Vec<&str> = answers["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert!(codes.contains(&"purchase_expired") && codes.contains(&"purchase_not_confirmed"));
    emu.shutdown().await;
}

#[tokio::test]
async fn durations_too_large_to_add_never_panic() {
    let emu = smartpay::start(
        Config::default()
            .with_processing(Duration::MAX)
            .with_cookie_lifetime(Duration::MAX)
            .with_commit_ttl(Duration::MAX),
    )
    .await
    .unwrap();
    let kassa = Kassa::login(&emu).await;
    let (s, v) = kassa.commit("bWF4", "k-max").await;
    assert_eq!(s, 200, "{v}");
    let id = v["purchase_id"].as_str().unwrap().to_owned();
    let (s, _) = kassa
        .post(
            "/v1/purchase/release",
            json!({"purchase_id": id, "amount": 100}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(kassa.status(&id).await["status"], "processing");
    assert_eq!(emu.auth_calls(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_apply_over_mtls_and_http2() {
    use payments_sandbox::{Fault, Provider};
    let emu = smartpay::start(fast()).await.unwrap();
    let kassa = Kassa::login(&emu).await;
    let faults = emu.faults();
    faults
        .inject(
            Fault::status(503)
                .on(Provider::Smartpay, "/v1/purchase/status")
                .times(1),
        )
        .unwrap();
    let body = json!({"purchase_id": "nope"});
    assert_eq!(kassa.post("/v1/purchase/status", body.clone()).await.0, 503);
    let (s, v) = kassa.post("/v1/purchase/status", body).await;
    assert_ne!(s, 503, "expired after one call: {v}");

    // A reset: a transport error that may have reached the provider; the emulator saw nothing.
    faults
        .inject(Fault::reset().on(Provider::Smartpay, "/v1/auth").times(1))
        .unwrap();
    let (login, password) = emu.credentials();
    let auth = json!({"login": login, "password": password});
    let calls = emu.auth_calls();
    let err = kassa
        .http
        .execute(&RAW, kassa.request("/v1/auth", auth))
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent(), "{err}");
    assert_eq!(emu.auth_calls(), calls);

    // A truncated answer: the commit happened, the client cannot read its answer.
    faults
        .inject(
            Fault::truncate()
                .on(Provider::Smartpay, "/v1/purchase/code/commit")
                .times(1),
        )
        .unwrap();
    let commit = json!({"qr": {"id_loyalty": "7000", "encrypted": "dHJ1bmM=", "sign": "c2lnbg=="},
                        "kassa_purchase_id": "k-trunc"});
    let err = kassa
        .http
        .execute(&RAW, kassa.request("/v1/purchase/code/commit", commit))
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent(), "{err}");
    assert_eq!(emu.purchases().len(), 1);
    emu.shutdown().await;
}
