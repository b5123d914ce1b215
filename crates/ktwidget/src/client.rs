//! The Ktpay client: one [`Client`], built once and shared (it is cheap to clone), its builder,
//! its environment and its paths. The calls themselves are in `operations`.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};
use payments_core::{
    BaseUrl, HttpClient, Invalid, Operation, PlainHttp, Proxy, Request, RequestSigner, Response,
    RetryPolicy, SignedRequest, Timeouts, Transport,
};
use serde::Serialize;
use zeroize::Zeroizing;

mod calls;
pub(crate) mod keys;
pub(crate) mod tag;

use crate::error::Error;
use crate::model::{encode_path_segment, form_encode, TransactionHash, ValidationError, WebUrl};
use keys::{AppKey, KeyError};
use tag::CallbackTagger;

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

/// Where the API lives. The default is [`Environment::Production`]; a test environment is
/// chosen by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://fintech.nplus.tech`, with the widget at `https://widget.nplus.tech`.
    #[default]
    Production,
    /// `https://fintech.test.nplus.tech`, with the widget at `https://widget.test.nplus.tech`.
    Test,
    /// Your own API base URL (a proxy, the older `https://ktpay.kz`, or the sandbox emulator).
    /// The widget page is then served from the same base URL, unless
    /// [`ClientBuilder::widget_url`] names another one (e.g. `https://card.test.nplus.tech`).
    Custom(BaseUrl),
}

impl Environment {
    /// The API base URL.
    pub fn api_base(&self) -> BaseUrl {
        match self {
            Environment::Production => constant_url(PRODUCTION_API),
            Environment::Test => constant_url(TEST_API),
            Environment::Custom(api) => api.clone(),
        }
    }

    /// The widget base URL: Ktpay's for [`Environment::Production`] and [`Environment::Test`],
    /// the API's own for [`Environment::Custom`] (override with [`ClientBuilder::widget_url`]).
    pub fn widget_base(&self) -> BaseUrl {
        match self {
            Environment::Production => constant_url(PRODUCTION_WIDGET),
            Environment::Test => constant_url(TEST_WIDGET),
            Environment::Custom(api) => api.clone(),
        }
    }
}

fn constant_url(s: &'static str) -> BaseUrl {
    // The four host constants above are valid base URLs (checked by a unit test).
    BaseUrl::parse(s).expect("constant host URL")
}

/// The endpoint paths, relative to the API (or widget) base URL. A whole path segment
/// `{hash}` is replaced by the transaction hash (percent-encoded).
///
/// Start from `Paths::default()` and set the fields to change:
///
/// ```
/// let mut paths = ktwidget::Paths::default();
/// paths.status = "/api/v2/merchant-widget/payment/{hash}/status".into();
/// let builder = ktwidget::Client::builder().paths(paths);
/// # let _ = builder;
/// ```
///
/// `payment_status`, `cancel_payment` and `refund_payment` are **provisional**: Ktpay never
/// published them. The defaults follow the published endpoints' REST shape; override them when
/// Ktpay tells you the real ones.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    widget: Option<BaseUrl>,
    paths: Paths,
    plain_http: PlainHttp,
    http: payments_core::HttpClientBuilder,
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

    /// The environment (default [`Environment::Production`]; choose [`Environment::Test`] by
    /// name for Ktpay's test hosts).
    pub fn environment(mut self, env: Environment) -> Self {
        self.environment = env;
        self
    }

    /// The widget's base URL, instead of the environment's: Ktpay's widget host for
    /// [`Environment::Production`] and [`Environment::Test`], the API's base URL for
    /// [`Environment::Custom`]. The widget page takes the customer's card, so it must be
    /// `https://` (or plain `http://` to loopback with
    /// [`ClientBuilder::allow_plain_http_to_loopback`]).
    pub fn widget_url(mut self, widget: BaseUrl) -> Self {
        self.widget = Some(widget);
        self
    }

    /// Overrides endpoint paths.
    pub fn paths(mut self, paths: Paths) -> Self {
        self.paths = paths;
        self
    }

    /// Timeouts (core's defaults: connect 10 s, attempt 30 s, total 60 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.http = self.http.timeouts(timeouts);
        self
    }

    /// The retry policy (core's default: at most 3 attempts; payment creation, cancel and
    /// refund are retried only when they provably never left).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.http = self.http.retry_policy(retry);
        self
    }

    /// Replaces the transport (a recorder, a fake, a shared pool). The connect timeout then
    /// belongs to that transport.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.http = self.http.transport(transport);
        self
    }

    /// Caps answer bodies (default: core's, 8 MiB). Not with [`ClientBuilder::transport`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.http = self.http.max_body_bytes(bytes);
        self
    }

    /// Sends every call through this proxy (a CONNECT tunnel: TLS stays end to end with the
    /// provider), instead of the default, which honours `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    /// Not with [`ClientBuilder::transport`].
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.http = self.http.proxy(proxy);
        self
    }

    /// Ignores the proxy environment variables: every call connects directly.
    /// Not with [`ClientBuilder::transport`].
    pub fn no_proxy(mut self) -> Self {
        self.http = self.http.no_proxy();
        self
    }

    /// The `User-Agent` sent with every call (default `ktwidget/<version>`).
    pub fn user_agent(mut self, user_agent: impl AsRef<str>) -> Self {
        self.http = self.http.user_agent(user_agent);
        self
    }

    /// Allows plain `http://` base URLs, and tagged callback URLs, to a loopback host only
    /// (`127.0.0.0/8`, `::1`, `localhost`): for a local emulator such as `payments-sandbox`.
    /// Without it, every URL that credentials or callback tags travel to must be `https://`.
    pub fn allow_plain_http_to_loopback(mut self) -> Self {
        self.plain_http = PlainHttp::LoopbackOnly;
        self.http = self.http.allow_plain_http_to_loopback();
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
        let widget = self
            .widget
            .unwrap_or_else(|| self.environment.widget_base());
        // The API carries the Auth-Identifier (checked by core's builder); the widget page
        // takes the customer's card.
        let widget_check = widget.check(self.plain_http).map_err(|e| {
            let mut problems = e.problems().map(|p| p.message.clone());
            let first = problems.next().unwrap_or_else(|| "is refused".into());
            problems.fold(Invalid::new("widget_url", first), |w, m| {
                w.with("widget_url", m)
            })
        });
        let http = self.http.base_url(api.clone()).build();
        let http = match (http, widget_check) {
            (Ok(h), Ok(())) => h,
            (Err(a), Err(w)) => return Err(a.merge(w).into()),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
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
    pub(crate) api: BaseUrl,
    pub(crate) widget: BaseUrl,
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

/// `base` + `template`, with a whole `{hash}` segment replaced by the percent-encoded hash, and
/// an optional (already encoded) query.
pub(crate) fn join(
    base: &BaseUrl,
    template: &str,
    hash: Option<&TransactionHash>,
    query: Option<&str>,
) -> Result<Uri, Error> {
    let mut path = String::new();
    for seg in template.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        if seg == "{hash}" {
            let h =
                hash.ok_or_else(|| Invalid::new("paths", format!("{template:?} needs a hash")))?;
            path.push_str(&encode_path_segment(h.as_str()));
        } else {
            path.push_str(seg);
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    if let Some(q) = query {
        path.push('?');
        path.push_str(q);
    }
    Ok(base.join(&path)?)
}

impl Client {
    /// Starts a builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            app_id: None,
            app_key: None,
            environment: Environment::default(),
            widget: None,
            paths: Paths::default(),
            plain_http: PlainHttp::Refused,
            http: HttpClient::builder().product(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            )),
            tagger: None,
        }
    }

    /// The widget page for a transaction: `{widget}/payment-card?hash=<hash>` (query-encoded).
    pub fn widget_url(&self, hash: &TransactionHash) -> Result<WebUrl, Error> {
        let query = format!("hash={}", form_encode(hash.as_str()));
        let uri = join(
            &self.inner.widget,
            &self.inner.paths.widget_page,
            Some(hash),
            Some(&query),
        )?;
        Ok(WebUrl::from_uri_unchecked(uri))
    }

    /// The sealer (to seal a request yourself, e.g. for a proxy).
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    pub(crate) async fn send(
        &self,
        op: &Operation,
        method: Method,
        uri: Uri,
        signed: Option<SignedRequest>,
    ) -> Result<Response, Error> {
        let mut req = Request::new(method, uri);
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
    use super::keys::Keypair;
    use super::*;

    fn builder(env: Environment) -> ClientBuilder {
        Client::builder()
            .app_id("app-1")
            .app_key(Keypair::generate().app_key())
            .environment(env)
    }

    fn client(env: Environment) -> Client {
        builder(env).allow_plain_http_to_loopback().build().unwrap()
    }

    fn base(s: &str) -> BaseUrl {
        s.parse().unwrap()
    }

    #[test]
    fn plain_http_needs_the_named_opt_in_and_a_loopback_host() {
        let local = || Environment::Custom(base("http://127.0.0.1:9"));
        let e = builder(local()).build().unwrap_err();
        assert!(e.invalid().is_some_and(|i| i.is_about("base_url")), "{e}");
        assert!(e.to_string().contains("in clear"), "{e}");
        assert!(builder(local())
            .allow_plain_http_to_loopback()
            .build()
            .is_ok());
        // Never to another host, for the API or the widget (the card page).
        let remote_api = Environment::Custom(base("http://ktpay.example"));
        assert!(builder(remote_api)
            .allow_plain_http_to_loopback()
            .build()
            .is_err());
        let e = builder(Environment::Custom(base("https://ktpay.example")))
            .widget_url(base("http://w.example"))
            .allow_plain_http_to_loopback()
            .build()
            .unwrap_err();
        assert!(e.invalid().is_some_and(|i| i.is_about("widget_url")), "{e}");
        assert!(!e.may_have_been_sent());
        let e = builder(Environment::Production)
            .widget_url(base("http://127.0.0.1:9"))
            .build()
            .unwrap_err();
        assert!(e.invalid().is_some_and(|i| i.is_about("widget_url")), "{e}");
        for env in [Environment::Production, Environment::Test] {
            assert!(builder(env).build().is_ok());
        }
    }

    #[test]
    fn the_default_environment_is_production() {
        assert_eq!(Environment::default(), Environment::Production);
        let c = Client::builder()
            .app_id("app-1")
            .app_key(Keypair::generate().app_key())
            .build()
            .unwrap();
        assert_eq!(c.inner.api.as_str(), PRODUCTION_API);
        assert_eq!(c.inner.widget.as_str(), PRODUCTION_WIDGET);
        for s in [PRODUCTION_API, PRODUCTION_WIDGET, TEST_API, TEST_WIDGET] {
            assert_eq!(constant_url(s).as_str(), s);
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
            "https://fintech.test.nplus.tech"
        );
        // A custom environment serves the widget from its own base URL ...
        let c = client(Environment::Custom(base("http://127.0.0.1:9/base/")));
        assert_eq!(
            c.widget_url(&TransactionHash::new("x").unwrap())
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/base/payment-card?hash=x"
        );
        // ... unless the builder names another.
        let c = builder(Environment::Custom(base("http://127.0.0.1:9/base/")))
            .widget_url(base("http://127.0.0.1:9/w"))
            .allow_plain_http_to_loopback()
            .build()
            .unwrap();
        assert_eq!(
            c.widget_url(&TransactionHash::new("x").unwrap())
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/w/payment-card?hash=x"
        );
        assert!("ftp://x".parse::<BaseUrl>().is_err());
        assert!("not a url".parse::<BaseUrl>().is_err());
    }

    #[test]
    fn paths_encode_the_hash_as_one_segment() {
        let base = base("https://fintech.nplus.tech/prefix/");
        let h = TransactionHash::new("a/b?c").unwrap();
        let u = join(&base, &Paths::default().acquirer_options, Some(&h), None).unwrap();
        assert_eq!(
            u.to_string(),
            "https://fintech.nplus.tech/prefix/api/v1/merchant-widget/payment/a%2Fb%3Fc/acquirer-options"
        );
        assert!(join(&base, "/x/{hash}", None, None).is_err());
    }

    #[test]
    fn builder_checks_credentials() {
        let e = Client::builder()
            .app_key(Keypair::generate().app_key())
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Invalid(ref v) if v.is_about("app_id")));
        let e = Client::builder().app_id("a").build().unwrap_err();
        assert!(matches!(e, Error::Invalid(ref v) if v.is_about("app_key")));
        let e = Client::builder()
            .app_id("a")
            .app_key_base64("AAAA")
            .build()
            .unwrap_err();
        let i = e.invalid().expect("a key error is Invalid");
        assert!(i.is_about("app_key"), "{e}");
        assert!(e.to_string().contains("32 bytes, got 3"), "{e}");
        assert!(!e.may_have_been_sent() && !e.is_retryable());
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
