//! The Ktpay client: one [`Client`], built once and shared (it is cheap to clone).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};
use payments_core::{
    Amount, HttpClient, HttpTransport, Operation, Request, RequestSigner, Response, RetryPolicy,
    SignedRequest, Timeouts, Transport,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;
use zeroize::Zeroizing;

use crate::callback::{Notification, Status};
use crate::error::Error;
use crate::keys::{AppKey, KeyError};
use crate::order::{Order, TransactionHash, ValidationError};
use crate::transformers::{
    read_envelope, AcquirerWire, CreatePaymentWire, Created, CreatedWire, Envelope,
    NotificationWire, RefundAnswerWire, RefundWire,
};

/// The provider name used in tracing spans and errors.
pub const PROVIDER: &str = "ktwidget";

/// The header that carries the `app_id`.
pub const AUTH_IDENTIFIER: &str = "Auth-Identifier";

/// Production API host.
pub const PRODUCTION_API: &str = "https://fintech.nplus.tech";
/// Production widget host.
pub const PRODUCTION_WIDGET: &str = "https://widget.nplus.tech";
/// Test API host.
pub const TEST_API: &str = "https://fintech.test.nplus.tech";
/// Test widget host.
pub const TEST_WIDGET: &str = "https://widget.test.nplus.tech";

const CREATE: Operation = Operation::not_idempotent(PROVIDER, "create_payment");
const ACQUIRER: Operation = Operation::idempotent(PROVIDER, "acquirer_options");
const PDF: Operation = Operation::idempotent(PROVIDER, "receipt_pdf");
const STATUS: Operation = Operation::idempotent(PROVIDER, "payment_status");
const CANCEL: Operation = Operation::not_idempotent(PROVIDER, "cancel_payment");
const REFUND: Operation = Operation::not_idempotent(PROVIDER, "refund_payment");

/// Where the API and the widget live.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://fintech.nplus.tech` and `https://widget.nplus.tech`.
    Production,
    /// `https://fintech.test.nplus.tech` and `https://widget.test.nplus.tech`.
    Test,
    /// Your own base URLs (a proxy, the older `https://ktpay.kz` / `https://card.test.nplus.tech`
    /// hosts, or the sandbox emulator).
    Custom {
        /// The API base URL.
        api: Url,
        /// The widget base URL.
        widget: Url,
    },
}

impl Environment {
    /// Custom base URLs, checked to be absolute `http(s)` URLs.
    pub fn custom(api: &str, widget: &str) -> Result<Self, Error> {
        let parse = |what: &str, s: &str| -> Result<Url, Error> {
            let u = Url::parse(s).map_err(|e| {
                payments_core::Error::config(format!("the {what} base URL {s:?} is invalid: {e}"))
            })?;
            if !matches!(u.scheme(), "http" | "https") || u.cannot_be_a_base() {
                return Err(payments_core::Error::config(format!(
                    "the {what} base URL {s:?} must be an absolute http(s) URL"
                ))
                .into());
            }
            Ok(u)
        };
        Ok(Environment::Custom {
            api: parse("API", api)?,
            widget: parse("widget", widget)?,
        })
    }

    /// The API base URL.
    pub fn api_base(&self) -> Url {
        match self {
            Environment::Production => constant_url(PRODUCTION_API),
            Environment::Test => constant_url(TEST_API),
            Environment::Custom { api, .. } => api.clone(),
        }
    }

    /// The widget base URL.
    pub fn widget_base(&self) -> Url {
        match self {
            Environment::Production => constant_url(PRODUCTION_WIDGET),
            Environment::Test => constant_url(TEST_WIDGET),
            Environment::Custom { widget, .. } => widget.clone(),
        }
    }
}

fn constant_url(s: &'static str) -> Url {
    // The four host constants above are valid URLs (checked by a unit test).
    Url::parse(s).expect("constant host URL")
}

/// The endpoint paths, relative to the API (or widget) base URL. A whole path segment
/// `{hash}` is replaced by the transaction hash (percent-encoded).
///
/// `payment_status`, `cancel_payment` and `refund_payment` are **provisional**: Ktpay never
/// published them. The defaults follow the published endpoints' REST shape; override them when
/// Ktpay tells you the real ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Create a payment (`POST`, sealed body).
    pub create: String,
    /// The acquirer's payment page (`GET`).
    pub acquirer_options: String,
    /// The receipt PDF (`GET`).
    pub receipt_pdf: String,
    /// Provisional: the status (`GET`).
    pub status: String,
    /// Provisional: cancel (`POST`).
    pub cancel: String,
    /// Provisional: refund (`POST`, sealed `{"amount": ...}`).
    pub refund: String,
    /// The widget page, relative to the widget base URL; `?hash=` is appended.
    pub widget_page: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            create: "/api/v1/merchant-widget/payment".into(),
            acquirer_options: "/api/v1/merchant-widget/payment/{hash}/acquirer-options".into(),
            receipt_pdf: "/api/v1/merchant-widget/payment/{hash}/pdf".into(),
            status: "/api/v1/merchant-widget/payment/{hash}".into(),
            cancel: "/api/v1/merchant-widget/payment/{hash}/cancel".into(),
            refund: "/api/v1/merchant-widget/payment/{hash}/refund".into(),
            widget_page: "/payment-card".into(),
        }
    }
}

/// Seals a JSON request for Ktpay: `base64(crypto_box_seal(json, app_key))` in standard padded
/// base64, with `Auth-Identifier: <app_id>` and `Content-Type: text/plain`. The plaintext is
/// zeroised after sealing and never logged.
#[derive(Clone)]
pub struct Sealer {
    app_id: HeaderValue,
    key: AppKey,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("app_id", &self.app_id)
            .field("key", &self.key)
            .finish()
    }
}

impl Sealer {
    /// A sealer for `app_id` and its `app_key`. The id must be a non-empty visible-ASCII header
    /// value.
    pub fn new(app_id: &str, key: AppKey) -> Result<Self, Error> {
        let app_id = app_id.trim();
        if app_id.is_empty() || !app_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::single(
                "app_id",
                "must be non-empty visible ASCII without spaces",
            )
            .into());
        }
        let mut value = HeaderValue::from_str(app_id)
            .map_err(|_| ValidationError::single("app_id", "is not a valid header value"))?;
        value.set_sensitive(true);
        Ok(Sealer { app_id: value, key })
    }

    /// The identity headers alone (`Auth-Identifier`), for calls without a body.
    pub fn identity_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTH_IDENTIFIER, self.app_id.clone());
        h
    }
}

impl<R: Serialize + ?Sized> RequestSigner<R> for Sealer {
    type Error = Error;

    fn sign(&self, request: &R) -> Result<SignedRequest, Error> {
        let json = Zeroizing::new(serde_json::to_vec(request).map_err(|e| {
            payments_core::Error::config("the request could not be serialised").with_source(e)
        })?);
        let body = self.key.seal_base64(&json)?;
        let mut headers = self.identity_headers();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Ok(SignedRequest {
            body: Bytes::from(body),
            headers,
        })
    }
}

/// What [`Client::create_payment`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentCreated {
    /// Ktpay's id of the transaction. Store it with the order.
    pub transaction_hash: TransactionHash,
    /// Whether the widget shows its close button.
    pub show_close_button: bool,
    /// The widget page to send the customer to: `{widget}/payment-card?hash=<hash>`.
    pub widget_url: Url,
}

/// What the provisional [`Client::refund_payment`] returns. Every field is optional because the
/// answer's shape was never published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    /// The transaction refunded.
    pub transaction_hash: Option<TransactionHash>,
    /// The amount of this refund.
    pub amount: Option<Amount>,
    /// All refunds of the transaction so far.
    pub refunded_total: Option<Amount>,
    /// The transaction's status after the refund.
    pub status: Option<Status>,
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    app_id: Option<String>,
    app_key: Option<Result<AppKey, KeyError>>,
    environment: Environment,
    paths: Paths,
    timeouts: Timeouts,
    retry: RetryPolicy,
    transport: Option<Arc<dyn Transport>>,
    max_body: Option<usize>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("app_id", &self.app_id)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// `app_id`, sent as `Auth-Identifier`. Required.
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// `app_key`, Ktpay's public key for the app. Required (this or
    /// [`ClientBuilder::app_key_base64`]).
    pub fn app_key(mut self, key: AppKey) -> Self {
        self.app_key = Some(Ok(key));
        self
    }

    /// `app_key` in base64, any of the four forms; checked in [`ClientBuilder::build`].
    pub fn app_key_base64(mut self, key: &str) -> Self {
        self.app_key = Some(AppKey::from_base64(key));
        self
    }

    /// The environment (default [`Environment::Test`], so nothing reaches production by
    /// accident).
    pub fn environment(mut self, env: Environment) -> Self {
        self.environment = env;
        self
    }

    /// Overrides endpoint paths.
    pub fn paths(mut self, paths: Paths) -> Self {
        self.paths = paths;
        self
    }

    /// Timeouts (core's defaults: connect 10 s, attempt 30 s, total 60 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The retry policy (core's default: at most 3 attempts; payment creation, cancel and
    /// refund are retried only when they provably never left).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the transport (a recorder, a fake, a shared pool). The connect timeout then
    /// belongs to that transport.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Caps answer bodies (default: core's transport default).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let app_id = self
            .app_id
            .ok_or_else(|| ValidationError::single("app_id", "is required"))?;
        let key = self
            .app_key
            .ok_or_else(|| ValidationError::single("app_key", "is required"))??;
        let sealer = Sealer::new(&app_id, key)?;
        let http = match self.transport {
            Some(t) => HttpClient::with_transport(t),
            None => {
                let mut b = HttpTransport::builder().connect_timeout(self.timeouts.connect);
                if let Some(max) = self.max_body {
                    b = b.max_body_bytes(max);
                }
                HttpClient::from(b.build()?)
            }
        };
        let http = http.timeouts(self.timeouts).retry_policy(self.retry);
        let api = self.environment.api_base();
        let widget = self.environment.widget_base();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                sealer,
                api,
                widget,
                paths: self.paths,
            }),
        })
    }
}

/// The Ktpay widget API client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    sealer: Sealer,
    api: Url,
    widget: Url,
    paths: Paths,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.inner.api.as_str())
            .field("widget", &self.inner.widget.as_str())
            .field("sealer", &self.inner.sealer)
            .finish_non_exhaustive()
    }
}

fn join(base: &Url, template: &str, hash: Option<&TransactionHash>) -> Result<Url, Error> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut segs = url
            .path_segments_mut()
            .map_err(|()| payments_core::Error::config(format!("{base} cannot be a base URL")))?;
        segs.pop_if_empty();
        for seg in template.split('/').filter(|s| !s.is_empty()) {
            if seg == "{hash}" {
                let h = hash.ok_or_else(|| {
                    payments_core::Error::config(format!("path {template:?} needs a hash"))
                })?;
                segs.push(h.as_str());
            } else {
                segs.push(seg);
            }
        }
    }
    Ok(url)
}

fn to_uri(url: &Url) -> Result<Uri, Error> {
    url.as_str().parse::<Uri>().map_err(|e| {
        payments_core::Error::config(format!("{url} is not a valid request URI"))
            .with_source(e)
            .into()
    })
}

fn decode_error(op: &Operation, expected: &str, resp: &Response) -> Error {
    payments_core::Error::decode(expected, &resp.body)
        .with_operation(op.provider, op.name)
        .into()
}

/// Reads an answer's envelope into `W`, or into Ktpay's refusal.
fn decode<W: DeserializeOwned>(
    op: &Operation,
    expected: &str,
    resp: &Response,
) -> Result<W, Error> {
    match read_envelope(resp.status, &resp.body) {
        Some(Envelope::Success(Some(raw))) => serde_json::from_str::<W>(raw.get()).map_err(|e| {
            payments_core::Error::decode(expected, &resp.body)
                .with_operation(op.provider, op.name)
                .with_source(e)
                .into()
        }),
        Some(Envelope::Success(None)) => Err(decode_error(op, expected, resp)),
        Some(Envelope::Failure(p)) => Err(p.into()),
        None if !resp.status.is_success() => Err(payments_core::transport::status_error(resp)
            .with_operation(op.provider, op.name)
            .into()),
        None => Err(decode_error(op, expected, resp)),
    }
}

impl Client {
    /// Starts a builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            app_id: None,
            app_key: None,
            environment: Environment::Test,
            paths: Paths::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            transport: None,
            max_body: None,
        }
    }

    /// The widget page for a transaction: `{widget}/payment-card?hash=<hash>` (query-encoded).
    pub fn widget_url(&self, hash: &TransactionHash) -> Result<Url, Error> {
        let mut url = join(
            &self.inner.widget,
            &self.inner.paths.widget_page,
            Some(hash),
        )?;
        url.query_pairs_mut().append_pair("hash", hash.as_str());
        Ok(url)
    }

    /// The sealer (to seal a request yourself, e.g. for a proxy).
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    async fn send(
        &self,
        op: &Operation,
        method: Method,
        url: &Url,
        signed: Option<SignedRequest>,
    ) -> Result<Response, Error> {
        let mut req = Request::new(method, to_uri(url)?);
        match signed {
            Some(s) => {
                req.headers = s.headers;
                req.body = s.body;
            }
            None => req.headers = self.inner.sealer.identity_headers(),
        }
        Ok(self.inner.http.execute(op, req).await?)
    }

    /// Creates a payment: seals the order, sends it, and returns the transaction hash and the
    /// widget URL to send the customer to.
    ///
    /// Not retried once it may have reached Ktpay. After an error with
    /// [`Error::may_have_been_sent`], do not re-send the same `order_id` blindly (Ktpay refuses
    /// a duplicate `order_id`); ask for the status, or wait for the callback.
    pub async fn create_payment(&self, order: &Order) -> Result<PaymentCreated, Error> {
        let signed = self.inner.sealer.sign(&CreatePaymentWire::from(order))?;
        let url = join(&self.inner.api, &self.inner.paths.create, None)?;
        let resp = self.send(&CREATE, Method::POST, &url, Some(signed)).await?;
        const EXPECTED: &str = "a payload with transaction_hash";
        let wire: CreatedWire = decode(&CREATE, EXPECTED, &resp)?;
        let created =
            Created::try_from(wire).map_err(|what| decode_error(&CREATE, &what, &resp))?;
        let widget_url = self.widget_url(&created.transaction_hash)?;
        Ok(PaymentCreated {
            transaction_hash: created.transaction_hash,
            show_close_button: created.show_close_button,
            widget_url,
        })
    }

    /// The acquirer's payment page (card form) for a transaction (`payment_page`).
    pub async fn acquirer_options(&self, hash: &TransactionHash) -> Result<Url, Error> {
        let url = join(
            &self.inner.api,
            &self.inner.paths.acquirer_options,
            Some(hash),
        )?;
        let resp = self.send(&ACQUIRER, Method::GET, &url, None).await?;
        const EXPECTED: &str = "a payload with an absolute payment_page URL";
        let wire: AcquirerWire = decode(&ACQUIRER, EXPECTED, &resp)?;
        wire.payment_page
            .as_deref()
            .and_then(|p| Url::parse(p).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| decode_error(&ACQUIRER, EXPECTED, &resp))
    }

    /// The receipt as PDF bytes, checked to start with `%PDF-`.
    pub async fn receipt_pdf(&self, hash: &TransactionHash) -> Result<Bytes, Error> {
        let url = join(&self.inner.api, &self.inner.paths.receipt_pdf, Some(hash))?;
        let resp = self.send(&PDF, Method::GET, &url, None).await?;
        if resp.status.is_success() && resp.body.starts_with(b"%PDF-") {
            return Ok(resp.body);
        }
        match read_envelope(resp.status, &resp.body) {
            Some(Envelope::Failure(p)) => Err(p.into()),
            _ if !resp.status.is_success() => Err(payments_core::transport::status_error(&resp)
                .with_operation(PDF.provider, PDF.name)
                .into()),
            _ => Err(decode_error(
                &PDF,
                "a PDF document (starting with %PDF-)",
                &resp,
            )),
        }
    }

    /// **Provisional** (never published by Ktpay): the transaction's status, assumed to have
    /// the callback's shape. `GET {api}/api/v1/merchant-widget/payment/{hash}` with
    /// `Auth-Identifier`.
    pub async fn payment_status(&self, hash: &TransactionHash) -> Result<Notification, Error> {
        let url = join(&self.inner.api, &self.inner.paths.status, Some(hash))?;
        let resp = self.send(&STATUS, Method::GET, &url, None).await?;
        self.notification(&STATUS, &resp)
    }

    /// **Provisional**: cancels a transaction that is not final yet. `POST .../{hash}/cancel`
    /// with `Auth-Identifier` and no body; the answer is assumed to have the callback's shape.
    pub async fn cancel_payment(&self, hash: &TransactionHash) -> Result<Notification, Error> {
        let url = join(&self.inner.api, &self.inner.paths.cancel, Some(hash))?;
        let resp = self.send(&CANCEL, Method::POST, &url, None).await?;
        self.notification(&CANCEL, &resp)
    }

    /// **Provisional**: refunds `amount` (positive) of a completed transaction. `POST
    /// .../{hash}/refund` with a sealed `{"amount": ...}` body.
    pub async fn refund_payment(
        &self,
        hash: &TransactionHash,
        amount: Amount,
    ) -> Result<Refund, Error> {
        if amount.is_zero() {
            return Err(ValidationError::single("amount", "must be greater than zero").into());
        }
        let signed = self.inner.sealer.sign(&RefundWire { amount })?;
        let url = join(&self.inner.api, &self.inner.paths.refund, Some(hash))?;
        let resp = self.send(&REFUND, Method::POST, &url, Some(signed)).await?;
        const EXPECTED: &str = "a refund payload";
        let wire: RefundAnswerWire = decode(&REFUND, EXPECTED, &resp)?;
        Refund::try_from(wire).map_err(|_| decode_error(&REFUND, EXPECTED, &resp))
    }

    fn notification(&self, op: &Operation, resp: &Response) -> Result<Notification, Error> {
        const EXPECTED: &str = "a transaction in the callback's shape";
        let wire: NotificationWire = decode(op, EXPECTED, resp)?;
        Notification::try_from(wire).map_err(|_| decode_error(op, EXPECTED, resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    fn client(env: Environment) -> Client {
        Client::builder()
            .app_id("app-1")
            .app_key(Keypair::generate().app_key())
            .environment(env)
            .build()
            .unwrap()
    }

    #[test]
    fn environments_and_widget_urls() {
        let h = TransactionHash::new("af7e d/?&=#x").unwrap();
        let c = client(Environment::Production);
        assert_eq!(
            c.widget_url(&TransactionHash::new("abc").unwrap())
                .unwrap()
                .as_str(),
            "https://widget.nplus.tech/payment-card?hash=abc"
        );
        assert_eq!(
            c.widget_url(&h).unwrap().as_str(),
            "https://widget.nplus.tech/payment-card?hash=af7e+d%2F%3F%26%3D%23x"
        );
        let u = c.widget_url(&h).unwrap();
        let (_, v) = u.query_pairs().next().unwrap();
        assert_eq!(v, "af7e d/?&=#x");
        let t = client(Environment::Test);
        assert!(t
            .widget_url(&h)
            .unwrap()
            .as_str()
            .starts_with("https://widget.test.nplus.tech/payment-card?hash="));
        assert_eq!(
            Environment::Test.api_base().as_str(),
            "https://fintech.test.nplus.tech/"
        );
        let custom =
            Environment::custom("http://127.0.0.1:9/base/", "http://127.0.0.1:9/w").unwrap();
        let c = client(custom);
        assert_eq!(
            c.widget_url(&TransactionHash::new("x").unwrap())
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/w/payment-card?hash=x"
        );
        assert!(Environment::custom("ftp://x", "http://y").is_err());
        assert!(Environment::custom("not a url", "http://y").is_err());
    }

    #[test]
    fn paths_encode_the_hash_as_one_segment() {
        let base = Url::parse("https://fintech.nplus.tech/prefix/").unwrap();
        let h = TransactionHash::new("a/b?c").unwrap();
        let u = join(&base, &Paths::default().acquirer_options, Some(&h)).unwrap();
        assert_eq!(
            u.as_str(),
            "https://fintech.nplus.tech/prefix/api/v1/merchant-widget/payment/a%2Fb%3Fc/acquirer-options"
        );
        assert!(join(&base, "/x/{hash}", None).is_err());
    }

    #[test]
    fn builder_checks_credentials() {
        let e = Client::builder()
            .app_key(Keypair::generate().app_key())
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.has("app_id")));
        let e = Client::builder().app_id("a").build().unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.has("app_key")));
        let e = Client::builder()
            .app_id("a")
            .app_key_base64("AAAA")
            .build()
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Key(KeyError::WrongLength { len: 3, .. })
        ));
        let e = Client::builder()
            .app_id("a b")
            .app_key(Keypair::generate().app_key())
            .build()
            .unwrap_err();
        assert!(!e.may_have_been_sent());
    }

    #[test]
    fn sealer_seals_json_with_the_headers() {
        let kp = Keypair::generate();
        let sealer = Sealer::new("e2d3d70d53c67bcd377266f74e98587c", kp.app_key()).unwrap();
        let signed = sealer
            .sign(&serde_json::json!({"order": {"amount": 1}}))
            .unwrap();
        assert_eq!(
            signed.headers[AUTH_IDENTIFIER],
            "e2d3d70d53c67bcd377266f74e98587c"
        );
        assert_eq!(signed.headers[CONTENT_TYPE], "text/plain");
        let text = std::str::from_utf8(&signed.body).unwrap();
        assert_eq!(text.len() % 4, 0, "padded");
        assert!(!text.contains(['-', '_']), "standard alphabet");
        assert_eq!(
            &kp.open_base64(text).unwrap()[..],
            br#"{"order":{"amount":1}}"#
        );
        assert!(!format!("{sealer:?}").contains(&kp.public_key_base64()));
    }
}
