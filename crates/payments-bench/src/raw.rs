//! The hand-written baselines: what an integrator writes without the SDK.
//!
//! The same code runs on two HTTP stacks through [`Wire`]: a bare hyper-util client
//! ([`HyperWire`], "raw hyper") and reqwest with rustls ([`ReqwestWire`], "reqwest"). It does the
//! same wire work as the SDK — the Ktpay sealed box in base64, the Kupi-Kupi token, the Smart
//! Pay cookie, JSON in and out — and nothing else: no timeout, no retry, no tracing, and only the
//! checks a careful integrator would write (the envelope's success flag, the fields used).

use std::future::Future;
use std::pin::Pin;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Any error of a baseline.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future (the load harness calls every contender through one).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A whole answer.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// One HTTP stack: sends a POST and reads the whole answer.
pub trait Wire: Clone + Send + Sync + 'static {
    /// Sends `body` to `url` with `headers`.
    fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> BoxFut<'_, Result<RawResponse, BoxError>>;
}

/// A bare hyper-util client (HTTP/1.1, plain TCP with `TCP_NODELAY`, the default pool).
#[derive(Clone)]
pub struct HyperWire {
    client: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Default for HyperWire {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        HyperWire {
            client: HyperClient::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl Wire for HyperWire {
    fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> BoxFut<'_, Result<RawResponse, BoxError>> {
        let uri = url.parse::<http::Uri>();
        Box::pin(async move {
            let mut req = http::Request::post(uri?).body(Full::new(body))?;
            *req.headers_mut() = headers;
            let resp = self.client.request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(RawResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        })
    }
}

/// reqwest with rustls, as a user would build it (`Client::new()` defaults but with
/// `TCP_NODELAY`, which reqwest sets by default too).
#[derive(Clone)]
pub struct ReqwestWire {
    client: reqwest::Client,
}

impl Default for ReqwestWire {
    fn default() -> Self {
        ReqwestWire {
            client: reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .expect("a reqwest client"),
        }
    }
}

impl Wire for ReqwestWire {
    fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> BoxFut<'_, Result<RawResponse, BoxError>> {
        let req = self.client.post(url).headers(headers).body(body);
        Box::pin(async move {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await?;
            Ok(RawResponse {
                status,
                headers,
                body,
            })
        })
    }
}

/// Diagnostics: the hand-written code over payments-core's transport alone (no retries, no
/// timeouts), to tell the transport's cost from the rest of the SDK's.
#[derive(Clone)]
pub struct CoreTransportWire(pub std::sync::Arc<payments_core::HttpTransport>);

impl Wire for CoreTransportWire {
    fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> BoxFut<'_, Result<RawResponse, BoxError>> {
        use payments_core::Transport as _;
        let req = core_request(url, headers, body);
        Box::pin(async move { Ok(self.0.send(req?).await?.into()) })
    }
}

/// Diagnostics: the hand-written code over payments-core's `HttpClient` (retries, timeouts,
/// tracing span), as a non-idempotent operation.
#[derive(Clone)]
pub struct CoreClientWire(pub payments_core::HttpClient);

const DIAG_OP: payments_core::Operation = payments_core::Operation::not_idempotent("bench", "call");

impl Wire for CoreClientWire {
    fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> BoxFut<'_, Result<RawResponse, BoxError>> {
        let req = core_request(url, headers, body);
        Box::pin(async move { Ok(self.0.execute(&DIAG_OP, req?).await?.into()) })
    }
}

/// The diagnostics' POST as a payments-core request.
fn core_request(
    url: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<payments_core::Request, http::uri::InvalidUri> {
    let mut req = payments_core::Request::new(http::Method::POST, url.parse()?).with_body(body);
    req.headers = headers;
    Ok(req)
}

impl From<payments_core::Response> for RawResponse {
    fn from(r: payments_core::Response) -> Self {
        RawResponse {
            status: r.status.as_u16(),
            headers: r.headers,
            body: r.body,
        }
    }
}

fn fail(what: &str) -> BoxError {
    what.to_owned().into()
}

// --- Ktpay -------------------------------------------------------------------------------

/// The order JSON a hand-written Ktpay integration sends.
#[derive(Serialize)]
pub struct KtpayRequest {
    /// `order`.
    pub order: KtpayOrder,
    /// `user`.
    pub user: KtpayUser,
}

/// `order`.
#[derive(Serialize)]
pub struct KtpayOrder {
    /// `order_id`.
    pub order_id: String,
    /// `amount`, a decimal written by hand from kopecks.
    pub amount: serde_json::Number,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `description`.
    pub description: String,
    /// `callback_post_url`.
    pub callback_post_url: String,
    /// `callback_back_url`.
    pub callback_back_url: String,
    /// `callback_success_url`.
    pub callback_success_url: String,
    /// `callback_failed_url`.
    pub callback_failed_url: String,
}

/// `user`.
#[derive(Serialize)]
pub struct KtpayUser {
    /// `merchant_user_id`.
    pub merchant_user_id: String,
    /// `phone`.
    pub phone: String,
    /// `email`.
    pub email: String,
}

/// The same order as [`crate::canned::ktpay_order_1kb`], hand-built.
pub fn ktpay_request_1kb() -> KtpayRequest {
    KtpayRequest {
        order: KtpayOrder {
            order_id: "order-000000000001".into(),
            amount: serde_json::from_str("1000.5").expect("a number"),
            kind: "ecom",
            description: "Order of 3 items: ".to_owned() + &"x".repeat(640),
            callback_post_url: "https://shop.example/ktpay/callback".into(),
            callback_back_url: "https://shop.example/cart".into(),
            callback_success_url: "https://shop.example/ktpay/success".into(),
            callback_failed_url: "https://shop.example/ktpay/failed".into(),
        },
        user: KtpayUser {
            merchant_user_id: "customer-0001".into(),
            phone: "77001234567".into(),
            email: "customer@example.com".into(),
        },
    }
}

#[derive(Deserialize)]
struct KtpayAnswer {
    success: bool,
    payload: Option<KtpayPayload>,
}

#[derive(Deserialize)]
struct KtpayPayload {
    transaction_hash: String,
}

/// A hand-written Ktpay client: seal, POST, read the hash, build the widget URL.
#[derive(Clone)]
pub struct RawKtpay<W> {
    wire: W,
    url: String,
    widget: String,
    app_id: HeaderValue,
    key: crypto_box::PublicKey,
}

impl<W: Wire> RawKtpay<W> {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:1234`).
    pub fn new(wire: W, base: &str, app_id: &str, app_key_b64: &str) -> Result<Self, BoxError> {
        let key: [u8; 32] = STANDARD
            .decode(app_key_b64)?
            .try_into()
            .map_err(|_| fail("app_key is not 32 bytes"))?;
        Ok(RawKtpay {
            wire,
            url: format!("{base}{}", crate::canned::KTPAY_CREATE_PATH),
            widget: "https://widget.test.nplus.tech/payment-card?hash=".into(),
            app_id: HeaderValue::from_str(app_id)?,
            key: crypto_box::PublicKey::from(key),
        })
    }

    /// Creates a payment; returns the widget URL.
    pub async fn create(&self, request: &KtpayRequest) -> Result<String, BoxError> {
        let json = serde_json::to_vec(request)?;
        let sealed = self
            .key
            .seal(&mut crypto_box::aead::OsRng, &json)
            .map_err(|_| fail("seal"))?;
        let body = STANDARD.encode(sealed);
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("auth-identifier"),
            self.app_id.clone(),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let resp = self.wire.post(&self.url, headers, body.into()).await?;
        let answer: KtpayAnswer = serde_json::from_slice(&resp.body)?;
        match answer.payload {
            Some(p) if answer.success && resp.status == 200 => {
                Ok(format!("{}{}", self.widget, p.transaction_hash))
            }
            _ => Err(fail("Ktpay refused the payment")),
        }
    }
}

// --- Kupi-Kupi -----------------------------------------------------------------------------

/// The hand-written Kupi-Kupi token of `init`: SHA-256 (hex) of the values sorted by key —
/// `amount`, `orderId`, `phone`, `platformUid`, then the secret (its key `secretKey` sorts last).
pub fn kupi_init_token(
    platform_uid: &str,
    secret: &str,
    phone: u64,
    order_id: &str,
    amount: u64,
) -> String {
    let mut h = Sha256::new();
    h.update(amount.to_string());
    h.update(order_id);
    h.update(phone.to_string());
    h.update(platform_uid);
    h.update(secret);
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KupiInit<'a> {
    platform_uid: &'a str,
    phone: u64,
    order_id: &'a str,
    amount: u64,
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KupiAnswer {
    status: bool,
    error_code: String,
    payment_id: serde_json::Value,
    #[serde(rename = "transferURL")]
    transfer_url: String,
}

/// A hand-written Kupi-Kupi client.
#[derive(Clone)]
pub struct RawKupi<W> {
    wire: W,
    url: String,
    platform_uid: String,
    secret: String,
}

impl<W: Wire> RawKupi<W> {
    /// A client for the API base (`.../api/v1/transfer`).
    pub fn new(wire: W, base: &str, platform_uid: &str, secret: &str) -> Self {
        RawKupi {
            wire,
            url: format!("{base}/init"),
            platform_uid: platform_uid.into(),
            secret: secret.into(),
        }
    }

    /// `init`: returns the payment id and the transfer URL.
    pub async fn init(
        &self,
        phone: u64,
        order_id: &str,
        amount: u64,
    ) -> Result<(String, String), BoxError> {
        let token = kupi_init_token(&self.platform_uid, &self.secret, phone, order_id, amount);
        let body = serde_json::to_vec(&KupiInit {
            platform_uid: &self.platform_uid,
            phone,
            order_id,
            amount,
            token,
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            HeaderName::from_static("x-requested-with"),
            HeaderValue::from_static("XMLHttpRequest"),
        );
        let resp = self.wire.post(&self.url, headers, body.into()).await?;
        let a: KupiAnswer = serde_json::from_slice(&resp.body)?;
        if !a.status || a.error_code != "0" {
            return Err(fail("Kupi-Kupi refused the transfer"));
        }
        Ok((a.payment_id.to_string(), a.transfer_url))
    }
}

// --- Smart Pay -----------------------------------------------------------------------------

#[derive(Serialize)]
struct SmartpayAuth<'a> {
    login: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct SmartpayStatusRequest<'a> {
    purchase_id: &'a str,
}

/// The fields of the status answer a hand-written integration reads.
#[derive(Deserialize, Debug)]
pub struct SmartpayStatus {
    /// `purchase_id`.
    pub purchase_id: String,
    /// `status`.
    pub status: String,
    /// `amount` in kopecks.
    pub amount: Option<u64>,
}

/// A hand-written Smart Pay client: authenticates once, then sends the cookie.
#[derive(Clone)]
pub struct RawSmartpay<W> {
    wire: W,
    status_url: String,
    cookie: HeaderValue,
}

impl<W: Wire> RawSmartpay<W> {
    /// Authenticates at `base` and keeps the cookie.
    pub async fn connect(
        wire: W,
        base: &str,
        login: &str,
        password: &str,
    ) -> Result<Self, BoxError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let body = serde_json::to_vec(&SmartpayAuth { login, password })?;
        let resp = wire
            .post(&format!("{base}/v1/auth"), headers, body.into())
            .await?;
        let set = resp
            .headers
            .get(SET_COOKIE)
            .ok_or_else(|| fail("no cookie"))?
            .to_str()?;
        let pair = set.split(';').next().unwrap_or_default().trim();
        let mut cookie = HeaderValue::from_str(pair)?;
        cookie.set_sensitive(true);
        Ok(RawSmartpay {
            wire,
            status_url: format!("{base}/v1/purchase/status"),
            cookie,
        })
    }

    /// `POST /v1/purchase/status`.
    pub async fn status(&self, purchase_id: &str) -> Result<SmartpayStatus, BoxError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(COOKIE, self.cookie.clone());
        let body = serde_json::to_vec(&SmartpayStatusRequest { purchase_id })?;
        let resp = self
            .wire
            .post(&self.status_url, headers, body.into())
            .await?;
        if resp.status != 200 {
            return Err(fail("Smart Pay refused the status call"));
        }
        Ok(serde_json::from_slice(&resp.body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_token_is_the_sdks() {
        let params = serde_json::json!({
            "platformUid": "M2hULcD58iYGkmS7", "phone": 79000000000u64, "orderId": "1234", "amount": 25000
        });
        let sdk =
            kupikupi::token_of_value(&params, &payments_core::Secret::from("yIKirCvplm8N1D9g"))
                .unwrap();
        let raw = kupi_init_token(
            "M2hULcD58iYGkmS7",
            "yIKirCvplm8N1D9g",
            79000000000,
            "1234",
            25000,
        );
        assert_eq!(sdk.as_str(), raw);
    }

    #[test]
    fn the_hand_written_order_is_about_1_kb() {
        let len = serde_json::to_vec(&ktpay_request_1kb()).unwrap().len();
        assert!((900..1100).contains(&len), "about 1 KB: {len}");
    }
}
