//! The Ktpay client: one [`Client`], built once and shared (it is cheap to clone), its builder,
//! its environment and its paths. The calls themselves are in `operations`.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};
use payments_core::{
    HttpClient, HttpTransport, Operation, PlainHttp, Request, RequestSigner, Response, RetryPolicy,
    SignedRequest, Timeouts, Transport,
};
use serde::Serialize;
use url::Url;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keys::{AppKey, KeyError};
use crate::model::{TransactionHash, ValidationError};
use crate::tag::CallbackTagger;

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
    /// Custom base URLs, checked to be absolute `http(s)` URLs. A plain `http://` URL is
    /// refused when the client is built, unless it names a loopback host and the builder opted
    /// in with [`ClientBuilder::allow_plain_http_to_loopback`] (a local emulator).
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
    plain_http: PlainHttp,
    tagger: Option<CallbackTagger>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("app_id", &self.app_id)
            .field("environment", &self.environment)
            .field("plain_http", &self.plain_http)
            .field("tagger", &self.tagger)
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

    /// Allows plain `http://` base URLs, and tagged callback URLs, to a loopback host only
    /// (`127.0.0.0/8`, `::1`, `localhost`): for a local emulator such as `payments-sandbox`.
    /// Without it, every URL that credentials or callback tags travel to must be `https://`.
    pub fn allow_plain_http_to_loopback(mut self) -> Self {
        self.plain_http = PlainHttp::LoopbackOnly;
        self
    }

    /// Tags every payment's `callback_post_url` with `tagger`, so that the callback receiver
    /// ([`crate::CallbackReceiver::tagged`], with the same tagger) can tell Ktpay's callbacks
    /// from forgeries. Every order then needs a `callback_post_url` (without one, Ktpay posts
    /// to the merchant's default URL, which carries no tag), and that URL must be `https://`
    /// (the tag is a credential), or plain `http://` to loopback with
    /// [`ClientBuilder::allow_plain_http_to_loopback`].
    pub fn tag_callbacks(mut self, tagger: CallbackTagger) -> Self {
        self.tagger = Some(tagger);
        self
    }

    /// Checks the settings and builds the client. The API and widget base URLs must be
    /// `https://` (see [`ClientBuilder::allow_plain_http_to_loopback`]).
    pub fn build(self) -> Result<Client, Error> {
        let app_id = self
            .app_id
            .ok_or_else(|| ValidationError::single("app_id", "is required"))?;
        let key = self
            .app_key
            .ok_or_else(|| ValidationError::single("app_key", "is required"))??;
        let sealer = Sealer::new(&app_id, key)?;
        let api = self.environment.api_base();
        let widget = self.environment.widget_base();
        // The API carries the Auth-Identifier; the widget page takes the customer's card.
        for base in [&api, &widget] {
            self.plain_http.check(&to_uri(base)?)?;
        }
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
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                sealer,
                api,
                widget,
                paths: self.paths,
                plain_http: self.plain_http,
                tagger: self.tagger,
            }),
        })
    }
}

/// The Ktpay widget API client.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) sealer: Sealer,
    pub(crate) api: Url,
    pub(crate) widget: Url,
    pub(crate) paths: Paths,
    pub(crate) plain_http: PlainHttp,
    pub(crate) tagger: Option<CallbackTagger>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.inner.api.as_str())
            .field("widget", &self.inner.widget.as_str())
            .field("sealer", &self.inner.sealer)
            .field("tagger", &self.inner.tagger)
            .finish_non_exhaustive()
    }
}

pub(crate) fn join(
    base: &Url,
    template: &str,
    hash: Option<&TransactionHash>,
) -> Result<Url, Error> {
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
            plain_http: PlainHttp::Refused,
            tagger: None,
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

    pub(crate) async fn send(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    fn builder(env: Environment) -> ClientBuilder {
        Client::builder()
            .app_id("app-1")
            .app_key(Keypair::generate().app_key())
            .environment(env)
    }

    fn client(env: Environment) -> Client {
        builder(env).allow_plain_http_to_loopback().build().unwrap()
    }

    #[test]
    fn plain_http_needs_the_named_opt_in_and_a_loopback_host() {
        let local = || Environment::custom("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap();
        let e = builder(local()).build().unwrap_err();
        assert!(
            matches!(
                e.transport().map(|t| t.kind()),
                Some(payments_core::ErrorKind::Config(_))
            ),
            "{e}"
        );
        assert!(e.to_string().contains("in clear"), "{e}");
        assert!(builder(local())
            .allow_plain_http_to_loopback()
            .build()
            .is_ok());
        // Never to another host, for the API or the widget (the card page).
        let remote_api = Environment::custom("http://ktpay.example", "https://w.example").unwrap();
        assert!(builder(remote_api)
            .allow_plain_http_to_loopback()
            .build()
            .is_err());
        let remote_widget =
            Environment::custom("https://ktpay.example", "http://w.example").unwrap();
        assert!(builder(remote_widget)
            .allow_plain_http_to_loopback()
            .build()
            .is_err());
        for env in [Environment::Production, Environment::Test] {
            assert!(builder(env).build().is_ok());
        }
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
