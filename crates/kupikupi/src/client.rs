//! The client: one [`Client`] per platform, built with [`ClientBuilder`].

use std::sync::Arc;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use payments_core::{
    Amount, BaseUrl, HttpClient, HttpClientBuilder, Invalid, Operation, Proxy, Request,
    RequestSigner, RetryPolicy, Secret, SignedRequest, Timeouts, Transport,
};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::model::{
    Checkout, Confirmation, ConfirmationCode, OrderId, Phone, Receipt, ReceiptAccepted, Transfer,
    TransferAmount,
};
use crate::operations;
use crate::wire;
use crate::wire::token::{sign_map, TOKEN_FIELD};

/// The production API base.
pub const PRODUCTION_BASE_URL: &str = "https://payapi.kupi-kupi.shop/api/v1/transfer";
/// The test API base (use the `DevSecretKey` with it).
pub const TEST_BASE_URL: &str = "https://devpayapi.kupi-kupi.shop/api/v1/transfer";

/// Where the client sends its calls: `POST {base}/{method}`. Default: [`Environment::Production`];
/// the test host is chosen by name ([`Environment::Test`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://payapi.kupi-kupi.shop/api/v1/transfer`, with the production `SecretKey`.
    #[default]
    Production,
    /// `https://devpayapi.kupi-kupi.shop/api/v1/transfer`, with the `DevSecretKey`.
    Test,
    /// Any base URL (a proxy, the sandbox emulator), with the production `SecretKey` slot
    /// ([`ClientBuilder::secret_key`]). It must be `https://`, unless the builder opts in to
    /// plain `http://` to a loopback host ([`ClientBuilder::allow_plain_http_to_loopback`]).
    Custom(BaseUrl),
}

impl Environment {
    /// The base URL.
    fn base_url(&self) -> Result<BaseUrl, Invalid> {
        match self {
            Environment::Production => PRODUCTION_BASE_URL.parse(),
            Environment::Test => TEST_BASE_URL.parse(),
            Environment::Custom(url) => Ok(url.clone()),
        }
    }
}

const PROVIDER: &str = "kupikupi";

/// Signs a parameter map: adds `token` and produces the JSON body and the headers
/// (`Content-Type: application/json`, `X-Requested-With: XMLHttpRequest`).
///
/// The map must already hold every parameter that is sent, the platform id included.
#[derive(Clone, Debug)]
pub struct TokenSigner {
    secret: Secret,
    headers: HeaderMap,
}

impl TokenSigner {
    /// A signer with the secret key.
    pub fn new(secret: Secret) -> Self {
        // Room for the headers hyper adds (`content-length`, `host`) without growing.
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("x-requested-with"),
            HeaderValue::from_static("XMLHttpRequest"),
        );
        TokenSigner { secret, headers }
    }

    /// Signs a map the caller no longer needs (no copy of it is made).
    pub(crate) fn sign_owned(
        &self,
        mut params: Map<String, Value>,
    ) -> Result<SignedRequest, Error> {
        params.remove(TOKEN_FIELD);
        let t = sign_map(&params, &self.secret)?;
        params.insert(TOKEN_FIELD.to_owned(), Value::String(t.into_string()));
        let body = serde_json::to_vec(&params).map_err(|e| {
            Error::from(payments_core::Error::config("cannot serialise the request").with_source(e))
        })?;
        Ok(SignedRequest {
            body: body.into(),
            headers: self.headers.clone(),
        })
    }

    /// Signs the client's own typed parameters: the token streamed from the sorted pairs and
    /// the body written in one pass (the same token and bytes as [`TokenSigner::sign`] gives
    /// for the same parameters as a map). Returns the body alone: the client sends
    /// [`TokenSigner::headers`] as its `HttpClient`'s default headers.
    pub(crate) fn sign_params<const N: usize>(
        &self,
        params: &wire::Params<'_, N>,
    ) -> Result<bytes::Bytes, Error> {
        let t = params.token(&self.secret)?;
        let body = params.body(t.as_str()).map_err(|e| {
            Error::from(payments_core::Error::config("cannot serialise the request").with_source(e))
        })?;
        Ok(body.into())
    }

    /// The headers every signed request carries.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl RequestSigner<Map<String, Value>> for TokenSigner {
    type Error = Error;

    fn sign(&self, params: &Map<String, Value>) -> Result<SignedRequest, Error> {
        self.sign_owned(params.clone())
    }
}

/// Builds a [`Client`]: the credentials on top of `payments-core`'s HTTP client settings,
/// everything checked in [`ClientBuilder::build`].
///
/// ```
/// use kupikupi::{Client, Environment, RetryPolicy, Secret, Timeouts};
/// use std::time::Duration;
///
/// let client = Client::builder()
///     .platform_uid("M2hULcD58iYGkmS7")
///     .dev_secret_key(Secret::from("yIKirCvplm8N1D9g"))
///     .environment(Environment::Test)
///     .timeouts(Timeouts::default().with_total(Duration::from_secs(20)))
///     .retry_policy(RetryPolicy::default())
///     .build()?;
/// assert_eq!(client.base_url(), "https://devpayapi.kupi-kupi.shop/api/v1/transfer");
///
/// // Credentials never travel in clear: plain http is refused...
/// let plain = Client::builder()
///     .platform_uid("M2hULcD58iYGkmS7")
///     .secret_key(Secret::from("yIKirCvplm8N1D9g"))
///     .base_url("http://127.0.0.1:8080/api/v1/transfer")
///     .build();
/// assert!(plain.unwrap_err().invalid().unwrap().is_about("base_url"));
/// // ...unless the builder opts in, and then only to a loopback host (a local emulator).
/// let local = Client::builder()
///     .platform_uid("M2hULcD58iYGkmS7")
///     .secret_key(Secret::from("yIKirCvplm8N1D9g"))
///     .base_url("http://127.0.0.1:8080/api/v1/transfer")
///     .allow_plain_http_to_loopback()
///     .build()?;
/// # let _ = local;
/// # Ok::<(), kupikupi::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    platform_uid: Option<String>,
    secret_key: Option<Secret>,
    dev_secret_key: Option<Secret>,
    environment: Environment,
    plain_http_opt_in: bool,
    http: HttpClientBuilder,
    problems: Option<Invalid>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            platform_uid: None,
            secret_key: None,
            dev_secret_key: None,
            environment: Environment::default(),
            plain_http_opt_in: false,
            http: HttpClient::builder().product(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            )),
            problems: None,
        }
    }
}

impl ClientBuilder {
    fn problem(&mut self, problem: Invalid) {
        self.problems = Some(match self.problems.take() {
            Some(before) => before.merge(problem),
            None => problem,
        });
    }

    /// The platform uid (`UidPlatform`), the same in both environments. Required.
    pub fn platform_uid(mut self, uid: impl Into<String>) -> Self {
        self.platform_uid = Some(uid.into());
        self
    }

    /// The production `SecretKey` (also used for [`Environment::Custom`]).
    pub fn secret_key(mut self, key: Secret) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// The test `DevSecretKey`, used with [`Environment::Test`].
    pub fn dev_secret_key(mut self, key: Secret) -> Self {
        self.dev_secret_key = Some(key);
        self
    }

    /// The environment. Default: [`Environment::Production`].
    pub fn environment(mut self, env: Environment) -> Self {
        self.environment = env;
        self
    }

    /// A custom base URL (shortcut for [`Environment::Custom`] with a parsed [`BaseUrl`]; a URL
    /// that does not parse is reported by [`ClientBuilder::build`] as invalid `base_url`). It
    /// must be `https://`, unless [`ClientBuilder::allow_plain_http_to_loopback`] is called.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        match url.as_ref().parse::<BaseUrl>() {
            Ok(base) => self.environment = Environment::Custom(base),
            Err(e) => self.problem(e),
        }
        self
    }

    /// Allows a plain `http://` base URL to a loopback host (`127.0.0.0/8`, `::1`,
    /// `localhost`), for tests against a local emulator such as `payments-sandbox`. Without it,
    /// [`ClientBuilder::build`] refuses any base URL that is not `https://`, since every request
    /// carries the platform uid and a token made with the secret key. Plain `http://` to any
    /// other host is refused either way.
    pub fn allow_plain_http_to_loopback(mut self) -> Self {
        self.plain_http_opt_in = true;
        self.http = self.http.allow_plain_http_to_loopback();
        self
    }

    /// The timeouts (connect, attempt, total). Default: [`Timeouts::default`].
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.http = self.http.timeouts(timeouts);
        self
    }

    /// The retry policy. Default: [`RetryPolicy::default`]. Whatever the policy, calls are
    /// retried only when the request provably never reached the server.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.http = self.http.retry_policy(policy);
        self
    }

    /// A transport of your own (a shared pool, a test double). Its own TLS and body cap apply.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.http = self.http.transport(transport);
        self
    }

    /// Caps an answer's body, in bytes (default 8 MiB).
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

    /// The `User-Agent` sent with every call. Default: `kupikupi/<version>`.
    pub fn user_agent(mut self, user_agent: impl AsRef<str>) -> Self {
        self.http = self.http.user_agent(user_agent);
        self
    }

    /// Checks everything and builds the client. Every refusal is [`Error::Invalid`], naming
    /// the fields (`platform_uid`, `secret_key`, `dev_secret_key`, `base_url`, `timeouts.*`,
    /// ...), never a secret.
    pub fn build(self) -> Result<Client, Error> {
        let ClientBuilder {
            platform_uid,
            secret_key,
            dev_secret_key,
            environment,
            plain_http_opt_in,
            http,
            mut problems,
        } = self;
        let mut problem = |field: &'static str, message: &'static str| {
            let p = Invalid::new(field, message);
            problems = Some(match problems.take() {
                Some(before) => before.merge(p),
                None => p,
            });
        };
        match platform_uid.as_deref() {
            None => problem("platform_uid", "the platform uid is required"),
            Some(uid) if uid.is_empty() || uid.chars().count() > 20 => problem(
                "platform_uid",
                "the platform uid must be 1 to 20 characters",
            ),
            Some(_) => {}
        }
        let secret = match environment {
            Environment::Test => {
                if dev_secret_key.is_none() {
                    problem(
                        "dev_secret_key",
                        "the Test environment needs the DevSecretKey (dev_secret_key)",
                    );
                }
                dev_secret_key
            }
            _ => {
                if secret_key.is_none() {
                    problem("secret_key", "the SecretKey is required (secret_key)");
                }
                secret_key
            }
        };
        if secret.as_ref().is_some_and(|s| s.is_empty()) {
            problem("secret_key", "the secret key is empty");
        }
        let base = match environment.base_url() {
            Ok(base) => Some(base),
            Err(e) => {
                problems = Some(match problems.take() {
                    Some(before) => before.merge(e),
                    None => e,
                });
                None
            }
        };
        if let Some(b) = &base {
            if !b.is_https() && !plain_http_opt_in {
                let p = Invalid::new(
                    "base_url",
                    "plain http:// needs ClientBuilder::allow_plain_http_to_loopback \
                     (and a loopback host)",
                );
                problems = Some(match problems.take() {
                    Some(before) => before.merge(p),
                    None => p,
                });
            }
        }
        let signer = secret.map(TokenSigner::new);
        // The fixed headers are sent as defaults, so no call builds or clones a header map.
        let mut http = http;
        if let Some(signer) = &signer {
            for (name, value) in signer.headers() {
                http = http.default_header(name.clone(), value.clone());
            }
        }
        if let Some(b) = &base {
            http = http.base_url(b.clone());
        }
        let http = match http.build() {
            Ok(h) => Some(h),
            Err(e) => {
                problems = Some(match problems.take() {
                    Some(before) => before.merge(e),
                    None => e,
                });
                None
            }
        };
        let endpoints = base.as_ref().map(|base| {
            let endpoint = |method: &str| base.join(&format!("/{method}"));
            Ok::<_, Invalid>(Endpoints {
                balance: endpoint("balance")?,
                init: endpoint("init")?,
                checkout: endpoint("checkout")?,
                confirmation: endpoint("confirmation")?,
                receipt: endpoint("receipt")?,
            })
        });
        let endpoints = match endpoints {
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                problems = Some(match problems.take() {
                    Some(before) => before.merge(e),
                    None => e,
                });
                None
            }
            None => None,
        };
        if let Some(p) = problems {
            return Err(Error::Invalid(p));
        }
        match (http, base, endpoints, platform_uid, signer) {
            (Some(http), Some(base), Some(endpoints), Some(platform_uid), Some(signer)) => {
                Ok(Client {
                    inner: Arc::new(Inner {
                        http,
                        base,
                        endpoints,
                        platform_uid,
                        signer,
                    }),
                })
            }
            // Every missing piece was reported as a problem above.
            _ => Err(Error::Invalid(Invalid::new(
                "client",
                "the configuration is incomplete",
            ))),
        }
    }
}

/// The Kupi-Kupi client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    base: BaseUrl,
    /// The method URLs, parsed once.
    endpoints: Endpoints,
    platform_uid: String,
    signer: TokenSigner,
}

#[derive(Debug)]
struct Endpoints {
    balance: Uri,
    init: Uri,
    checkout: Uri,
    confirmation: Uri,
    receipt: Uri,
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// The platform uid.
    pub fn platform_uid(&self) -> &str {
        &self.inner.platform_uid
    }

    /// The secret key the requests are signed with (also the key a signed notification's
    /// token is checked with).
    pub(crate) fn secret(&self) -> &Secret {
        &self.inner.signer.secret
    }

    /// Signs a request: its body, token included.
    fn sign<const N: usize>(&self, params: wire::Params<'_, N>) -> Result<bytes::Bytes, Error> {
        self.inner.signer.sign_params(&params)
    }

    /// Sends a signed body; returns the answer of any status, for [`Client::answer`].
    ///
    /// It takes the body, not the parameters, so that the call's future does not hold them.
    async fn call(
        &self,
        op: &Operation,
        uri: &Uri,
        body: bytes::Bytes,
    ) -> Result<payments_core::Response, Error> {
        let request = Request::new(Method::POST, uri.clone()).with_body(body);
        Ok(self.inner.http.execute(op, request).await?)
    }

    /// Decodes an answer (a refusal becomes an error), borrowing from its body.
    fn answer<'r>(
        op: &Operation,
        resp: &'r payments_core::Response,
    ) -> Result<wire::Answer<'r>, Error> {
        wire::decode(resp).map_err(|e| match e {
            Error::Transport(t) => Error::Transport(t.with_operation(PROVIDER, op.name)),
            other => other,
        })
    }

    /// The customer's balance of points, exact (the answer is `decimal(10,2)`, read here as
    /// major units with up to two decimals).
    pub async fn balance(&self, phone: &Phone) -> Result<Amount, Error> {
        let op = &operations::BALANCE;
        let body = self.sign(wire::BalanceRequest { phone }.params(&self.inner.platform_uid))?;
        let resp = self.call(op, &self.inner.endpoints.balance, body).await?;
        Amount::try_from(&Self::answer(op, &resp)?)
    }

    /// Registers a transfer and returns the form to redirect the customer to.
    ///
    /// The answer must echo `order_id` and `amount`: if it does not (another value, a missing
    /// one, or an amount that is not a whole number of kopecks), the call fails with
    /// [`Error::InitMismatch`], which still carries the transfer's `paymentId` and URL. Do not
    /// send the customer there before you have understood the difference.
    ///
    /// Not idempotent. If it fails with [`Error::may_have_been_sent`], keep the same
    /// `order_id`: call [`Client::checkout`] with it (or `init` again with the same order id and
    /// amount) — never a new order id for the same purchase.
    pub async fn init(
        &self,
        phone: &Phone,
        order_id: &OrderId,
        amount: TransferAmount,
    ) -> Result<Transfer, Error> {
        let op = &operations::INIT;
        let body = self.sign(
            wire::InitRequest {
                phone,
                order_id,
                amount: amount.minor(),
            }
            .params(&self.inner.platform_uid),
        )?;
        let resp = self.call(op, &self.inner.endpoints.init, body).await?;
        Transfer::try_from((&Self::answer(op, &resp)?, order_id, amount))
    }

    /// The current state of the transfer of `order_id`: the provider's answer to your own
    /// signed call, and so the fact a notification is checked against.
    pub async fn checkout(
        &self,
        order_id: &OrderId,
        amount: TransferAmount,
    ) -> Result<Checkout, Error> {
        let op = &operations::CHECKOUT;
        let body = self.sign(
            wire::CheckoutRequest {
                order_id,
                amount: amount.minor(),
            }
            .params(&self.inner.platform_uid),
        )?;
        let resp = self.call(op, &self.inner.endpoints.checkout, body).await?;
        Checkout::try_from(&Self::answer(op, &resp)?)
    }

    /// Confirms a transfer with the code the customer received (2023 method).
    pub async fn confirmation(
        &self,
        phone: &Phone,
        code: &ConfirmationCode,
    ) -> Result<Confirmation, Error> {
        let op = &operations::CONFIRMATION;
        let body = self.sign(
            wire::ConfirmationRequest {
                phone,
                code: wire::code_scalar(code),
            }
            .params(&self.inner.platform_uid),
        )?;
        let resp = self
            .call(op, &self.inner.endpoints.confirmation, body)
            .await?;
        Confirmation::try_from(&Self::answer(op, &resp)?)
    }

    /// Registers a customer's fiscal receipt (2023 method).
    pub async fn receipt(&self, receipt: &Receipt) -> Result<ReceiptAccepted, Error> {
        let op = &operations::RECEIPT;
        let body =
            self.sign(wire::ReceiptRequest::from(receipt).params(&self.inner.platform_uid))?;
        let resp = self.call(op, &self.inner.endpoints.receipt, body).await?;
        Ok(ReceiptAccepted::from(&Self::answer(op, &resp)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks() {
        let err = Client::builder().build().unwrap_err();
        assert!(err.to_string().contains("platform uid"));
        let err = Client::builder()
            .platform_uid("u")
            .environment(Environment::Test)
            .secret_key(Secret::from("s"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("DevSecretKey"));
        let err = Client::builder()
            .platform_uid("u")
            .secret_key(Secret::from("s"))
            .base_url("ftp://x")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let c = Client::builder()
            .platform_uid("u")
            .secret_key(Secret::from("s"))
            .build()
            .unwrap();
        assert_eq!(c.base_url(), PRODUCTION_BASE_URL);
        assert!(!format!("{c:?}").contains("\"s\""));
    }

    /// Issue 11 §4: credentials never travel in clear. Plain http needs the named opt-in, and
    /// even then only to a loopback host.
    #[test]
    fn plain_http_needs_the_opt_in_and_loopback() {
        let build = |url: &str, opt_in: bool| {
            let b = Client::builder()
                .platform_uid("u")
                .secret_key(Secret::from("s"))
                .base_url(url);
            if opt_in {
                b.allow_plain_http_to_loopback().build()
            } else {
                b.build()
            }
        };
        for local in [
            "http://127.0.0.1:8080/api/v1/transfer",
            "http://localhost/api",
            "http://[::1]:9/x",
        ] {
            let err = build(local, false).unwrap_err();
            assert!(
                matches!(&err, Error::Invalid(i) if i.is_about("base_url")),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("allow_plain_http_to_loopback"),
                "{err}"
            );
            assert!(!err.may_have_been_sent());
            let c = build(local, true).unwrap();
            assert_eq!(c.base_url(), local.trim_end_matches('/'));
        }
        for remote in [
            "http://payapi.kupi-kupi.shop/api/v1/transfer",
            "http://10.0.0.1/api",
            "http://localhost.example/api",
        ] {
            assert!(build(remote, false).is_err(), "{remote}");
            assert!(build(remote, true).is_err(), "{remote}");
        }
        for https in [
            "https://proxy.example/api/v1/transfer",
            "https://127.0.0.1:1",
        ] {
            assert!(build(https, false).is_ok(), "{https}");
            assert!(build(https, true).is_ok(), "{https}");
        }
        // The refusal names the host, never the path or query.
        let err = build("http://kassa.example/p?token=s3cr3t", false).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn signer_adds_token_and_headers() {
        let signer = TokenSigner::new(Secret::from("yIKirCvplm8N1D9g"));
        let params = serde_json::json!({
            "platformUid": "M2hULcD58iYGkmS7", "phone": 79000000000u64, "orderId": "1234", "amount": 25000,
            "token": "stale"
        });
        let signed = signer.sign(params.as_object().unwrap()).unwrap();
        let body: Value = serde_json::from_slice(&signed.body).unwrap();
        assert_eq!(
            body["token"],
            "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea"
        );
        assert!(body.get("secretKey").is_none());
        assert!(!String::from_utf8_lossy(&signed.body).contains("yIKirCvplm8N1D9g"));
        assert_eq!(signed.headers[CONTENT_TYPE], "application/json");
        assert_eq!(signed.headers["x-requested-with"], "XMLHttpRequest");
        assert_eq!(body[wire::PLATFORM_UID], "M2hULcD58iYGkmS7");
    }

    /// The typed path the client uses gives the same body, byte for byte (and so the same
    /// token), as the general map-based signer, for every request it sends.
    #[test]
    fn typed_params_sign_like_the_map() {
        use crate::model::{
            Discount, FiscalDocumentNumber, FiscalDriveNumber, FiscalSign, PayDate, ReceiptType,
            TransferAmount,
        };
        let signer = TokenSigner::new(Secret::from("yIKirCvplm8N1D9g"));
        let uid = "M2hULcD58iYGkmS7";
        let phone = Phone::new("79000000001").unwrap();
        let order = OrderId::new("заказ \"42\" \\ ok").unwrap();
        let same = |typed: bytes::Bytes, map: Map<String, Value>| {
            let general = signer.sign(&map).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&typed),
                String::from_utf8_lossy(&general.body)
            );
            assert_eq!(signer.headers(), &general.headers);
        };
        let r = wire::BalanceRequest { phone: &phone };
        same(
            signer.sign_params(&r.params(uid)).unwrap(),
            wire::params(&r, uid).unwrap(),
        );
        let r = wire::InitRequest {
            phone: &phone,
            order_id: &order,
            amount: crate::model::MAX_AMOUNT_MINOR,
        };
        same(
            signer.sign_params(&r.params(uid)).unwrap(),
            wire::params(&r, uid).unwrap(),
        );
        let r = wire::CheckoutRequest {
            order_id: &order,
            amount: 1,
        };
        same(
            signer.sign_params(&r.params(uid)).unwrap(),
            wire::params(&r, uid).unwrap(),
        );
        for code in ["123456", "0123", "0", "999999999999999999"] {
            let code = ConfirmationCode::new(code).unwrap();
            let r = wire::ConfirmationRequest {
                phone: &phone,
                code: wire::code_scalar(&code),
            };
            same(
                signer.sign_params(&r.params(uid)).unwrap(),
                wire::params(&r, uid).unwrap(),
            );
        }
        let receipt = Receipt {
            phone,
            amount: TransferAmount::from_minor(100).unwrap(),
            fiscal_drive: FiscalDriveNumber::new("0999078900012345").unwrap(),
            fiscal_document: FiscalDocumentNumber::new("42").unwrap(),
            fiscal_sign: FiscalSign::new("0123456789").unwrap(),
            pay_date: PayDate::new(2023, 3, 5, 14, 7, 9).unwrap(),
            receipt_type: ReceiptType::Income,
            discount: Discount::NONE,
        };
        let r = wire::ReceiptRequest::from(&receipt);
        same(
            signer.sign_params(&r.params(uid)).unwrap(),
            wire::params(&r, uid).unwrap(),
        );
    }

    #[test]
    fn the_typed_init_token_is_the_provider_vector() {
        let signer = TokenSigner::new(Secret::from("yIKirCvplm8N1D9g"));
        let phone = Phone::new("79000000000").unwrap();
        let order = OrderId::new("1234").unwrap();
        let r = wire::InitRequest {
            phone: &phone,
            order_id: &order,
            amount: 25000,
        };
        let signed = signer.sign_params(&r.params("M2hULcD58iYGkmS7")).unwrap();
        let body: Value = serde_json::from_slice(&signed).unwrap();
        assert_eq!(
            body["token"],
            "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea"
        );
    }
}
