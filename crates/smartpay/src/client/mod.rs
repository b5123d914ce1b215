//! [`Client`]: the [`Environment`], mutual TLS, the session cookies, and one typed method per
//! operation; the purchase and refund flows (`flow`), the cookie jar (`cookies`) and how answers
//! are read (`answer`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{ACCEPT, CONTENT_TYPE, COOKIE};
use http::{HeaderValue, StatusCode};
use payments_core::{
    BaseUrl, ClientIdentity, HttpClient, HttpClientBuilder, Invalid, NotActedOn, PollPolicy, Proxy,
    Request, RequestSigner, Response, RetryPolicy, Secret, SignedRequest, Timeouts, Transport,
};

mod answer;
mod cookies;
mod flow;

pub use flow::{CommittedPurchase, ConfirmedPurchase, PendingRefund, ReleasedPurchase};

use crate::error::{Error, ProviderError};
use crate::model::{
    AuthRequest, AuthResponse, CommitCodeRequest, CommitCodeResponse, ErrorAnswersResponse,
    FiscalResponse, FiscalV1Request, FiscalV2Request, PingResponse, PurchaseKassaStatusRequest,
    PurchaseKassaStatusResponse, PurchaseStatusRequest, PurchaseStatusResponse,
    RefundKassaStatusRequest, RefundKassaStatusResponse, RefundRequest, RefundResponse,
    RefundStatusRequest, RefundStatusResponse, ReleaseRequest, ReleaseResponse,
};
use crate::operations::{self as ops, ApiOperation};
use crate::wire::PROVIDER_NAME;
use answer::{decode, decode_body, is_unauthorized, refusal, shape};
use cookies::CookieJar;

/// Where the client sends its calls. The default is [`Environment::Production`]; a test host is
/// chosen by name.
///
/// The guide writes its hosts with `http://`, and says in the next sentence that the kassa
/// authorises with a client certificate, which only TLS can carry: over `http://` the
/// certificate would never be presented and the password and the session cookie would travel in
/// clear. So both named hosts are `https://`, and plain http is refused unless
/// [`ClientBuilder::allow_plain_http_to_loopback`] is named (for a local emulator).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://kassa-api.r-proc.net`: an assumption. The guide does not publish the production
    /// host; it serves its API description from `kassa-api.r-proc.net`, and the test host is its
    /// `test.` sibling. Use [`Environment::Custom`] if the provider gives you another.
    #[default]
    Production,
    /// The provider's test host, `https://kassa-api.test.r-proc.net`.
    Test,
    /// Another base URL (a path is kept: `https://host/kassa` calls `https://host/kassa/v1/...`).
    Custom(BaseUrl),
}

impl Environment {
    /// The production host (an assumption: see [`Environment::Production`]).
    pub const PRODUCTION_URL: &'static str = "https://kassa-api.r-proc.net";
    /// The test host.
    pub const TEST_URL: &'static str = "https://kassa-api.test.r-proc.net";

    /// The base URL.
    pub fn base_url(&self) -> BaseUrl {
        match self {
            Environment::Production => known(Self::PRODUCTION_URL),
            Environment::Test => known(Self::TEST_URL),
            Environment::Custom(url) => url.clone(),
        }
    }
}

fn known(url: &str) -> BaseUrl {
    // Both constants are valid base URLs (a unit test parses them); a failure here cannot be
    // reached, and a panic is avoided by falling back to the test host's parse error path.
    BaseUrl::parse(url).unwrap_or_else(|_| unreachable!("the named hosts are valid base URLs"))
}

/// How the flow helpers ([`ReleasedPurchase::wait_for_status`],
/// [`PendingRefund::wait_for_status`]) poll for a final status, unless
/// [`ClientBuilder::poll_policy`] sets another: at once, then after 250 ms, growing by half
/// each time (375 ms, 562.5 ms...) up to 2 s, without jitter, and without a deadline of its
/// own: the `timeout` given to `wait_for_status` is the deadline.
pub const DEFAULT_POLL_POLICY: PollPolicy = match PollPolicy::builder()
    .interval(Duration::from_millis(250))
    .growth_percent(150)
    .max_interval(Duration::from_secs(2))
    .build()
{
    Ok(policy) => policy,
    Err(_) => panic!("the default poll policy is valid"),
};

/// Which roots the client trusts for the service's certificate.
#[derive(Clone, Debug, Default)]
enum Trust {
    /// The default roots (the `webpki-roots` or `native-roots` feature).
    #[default]
    DefaultRoots,
    /// The default roots and a CA (PEM).
    DefaultRootsAnd(Vec<u8>),
    /// Only a CA (PEM).
    Only(Vec<u8>),
}

/// Builds a [`Client`]. Every setting is checked in [`ClientBuilder::build`], before any
/// connection is made; the HTTP settings are core's
/// ([`payments_core::HttpClientBuilder`]), and this builder adds the kassa's credentials.
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    environment: Environment,
    identity: Option<(Vec<u8>, Secret)>,
    trust: Trust,
    login: Option<String>,
    password: Option<Secret>,
    poll: Option<PollPolicy>,
    http: HttpClientBuilder,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            environment: Environment::default(),
            identity: None,
            trust: Trust::default(),
            login: None,
            password: None,
            poll: None,
            http: HttpClient::builder()
                .product(concat!(
                    env!("CARGO_PKG_NAME"),
                    "/",
                    env!("CARGO_PKG_VERSION")
                ))
                // Every call accepts JSON: a default header, set once, not on each request.
                .default_header(ACCEPT, HeaderValue::from_static("application/json")),
        }
    }
}

impl ClientBuilder {
    /// Where to send the calls (default [`Environment::Production`]).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Allows a plain `http://` base URL to a loopback host (`127.0.0.0/8`, `::1`,
    /// `localhost`), for tests against a local emulator. Never to another host; and never with a
    /// client certificate, which only TLS can present. The default refuses plain http.
    pub fn allow_plain_http_to_loopback(mut self) -> Self {
        self.http = self.http.allow_plain_http_to_loopback();
        self
    }

    /// The kassa's client certificate chain (PEM, leaf first) and private key (PEM).
    pub fn client_identity_pem(mut self, chain_pem: impl Into<Vec<u8>>, key_pem: Secret) -> Self {
        self.identity = Some((chain_pem.into(), key_pem));
        self
    }

    /// Trusts a CA (PEM) for the service's certificate, in addition to the default roots.
    /// Replaces an earlier [`ClientBuilder::ca_pem`] or [`ClientBuilder::trust_only_ca_pem`].
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.trust = Trust::DefaultRootsAnd(pem.into());
        self
    }

    /// Trusts only this CA (PEM) for the service's certificate, not the default roots: for a
    /// private CA or a local emulator. Replaces an earlier [`ClientBuilder::ca_pem`] or
    /// [`ClientBuilder::trust_only_ca_pem`].
    pub fn trust_only_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.trust = Trust::Only(pem.into());
        self
    }

    /// The credentials sent to `/v1/auth`.
    pub fn credentials(mut self, login: impl Into<String>, password: Secret) -> Self {
        self.login = Some(login.into());
        self.password = Some(password);
        self
    }

    /// Core's timeouts (connect, per attempt, total).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.http = self.http.timeouts(timeouts);
        self
    }

    /// Core's retry policy. Release, refund, commit and the fiscal calls are never re-sent once
    /// they may have been received, whatever the policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.http = self.http.retry_policy(policy);
        self
    }

    /// How the flow helpers poll for final statuses (default [`DEFAULT_POLL_POLICY`]). The
    /// `timeout` given to `wait_for_status` is the deadline; a policy's own deadline, if it has
    /// one, shortens it. A status the SDK does not know ends the polling at once, whatever the
    /// policy.
    pub fn poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = Some(poll);
        self
    }

    /// A transport of your own (a test double, a shared pool). The TLS settings (client
    /// certificate, CAs) and the body cap then belong to it: setting them here as well is
    /// refused by [`ClientBuilder::build`]. The base URL is still checked.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.http = self.http.transport(transport);
        self
    }

    /// Caps an answer's body, in bytes (core's default: 8 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.http = self.http.max_body_bytes(bytes);
        self
    }

    /// Sends every call through this proxy (a CONNECT tunnel: TLS, the client certificate
    /// included, stays end to end with the kassa), instead of the default, which honours
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`. Not with [`ClientBuilder::transport`].
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

    /// The `User-Agent` sent with every call (default `smartpay/<version>`).
    pub fn user_agent(mut self, user_agent: impl AsRef<str>) -> Self {
        self.http = self.http.user_agent(user_agent);
        self
    }

    /// Builds the client. Refuses, with [`Error::Invalid`] naming every problem and before any
    /// connection: a base URL that is not `https://` (plain `http://` only to loopback, and only
    /// with [`ClientBuilder::allow_plain_http_to_loopback`]), a client certificate with plain
    /// http, an unreadable certificate, key or CA, TLS settings together with a transport of
    /// your own, and zero timeouts or body cap.
    pub fn build(self) -> Result<Client, Error> {
        let base = self.environment.base_url();
        let mut http = self.http.base_url(base.clone());
        let mut problems = None::<Invalid>;
        if self.identity.is_some() && !base.is_https() {
            // Checked before the PEM is read: over plain http it would never be presented.
            problems = Some(Invalid::new(
                "client_identity",
                "a client certificate is only presented over https://",
            ));
        } else if let Some((chain, key)) = &self.identity {
            match ClientIdentity::from_pem(chain, key) {
                Ok(identity) => http = http.client_identity(identity),
                Err(e) => problems = Some(Invalid::from_config("client_identity", &e)),
            }
        }
        http = match &self.trust {
            Trust::DefaultRoots => http,
            Trust::DefaultRootsAnd(ca) => http.add_root_pem(ca),
            Trust::Only(ca) => http.trust_only_ca_pem(ca),
        };
        let http = match (http.build(), problems) {
            (Ok(http), None) => http,
            (Ok(_), Some(p)) => return Err(Error::Invalid(p)),
            (Err(e), None) => return Err(Error::Invalid(e)),
            (Err(e), Some(p)) => return Err(Error::Invalid(p.merge(e))),
        };
        let credentials = match (self.login, self.password) {
            (Some(login), Some(password)) => Some((login, password)),
            _ => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                credentials,
                poll: self.poll.unwrap_or(DEFAULT_POLL_POLICY),
                login_gate: tokio::sync::Mutex::new(()),
                session: std::sync::Mutex::new(Session::default()),
            }),
        })
    }
}

/// What the client keeps between calls.
#[derive(Debug, Default)]
struct Session {
    /// Every cookie the service set.
    jar: CookieJar,
    /// Bumped on every successful `/v1/auth`; 0 until the first.
    logins: u64,
}

struct Inner {
    http: HttpClient,
    base: BaseUrl,
    credentials: Option<(String, Secret)>,
    poll: PollPolicy,
    /// Held while logging in, so that concurrent callers log in once.
    login_gate: tokio::sync::Mutex<()>,
    /// The cookies and the login count; held only to read or update them, never across an
    /// `await`.
    session: std::sync::Mutex<Session>,
}

impl Inner {
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic elsewhere while holding the lock leaves a valid session behind.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The Smart Pay cashier API client. Cheap to clone; clones share the connection pool and the
/// cookies.
///
/// The client keeps every cookie the service sets, on any answer, and sends them all back on
/// every call (`/v1/ping` and `/v1/error_answers` included). Calls that need the session log in
/// first when the client has not; a 401 to such a call causes one new login and one resend.
/// Logging in is single-flight: concurrent callers that need it wait for one `/v1/auth` call.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("login", &self.inner.credentials.as_ref().map(|(l, _)| l))
            .field("cookies", &self.inner.session().jar)
            .finish_non_exhaustive()
    }
}

/// One answer, and how many cookies it set.
struct Answer {
    resp: Response,
    cookies_set: usize,
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base
    }

    pub(crate) fn poll_policy(&self) -> PollPolicy {
        self.inner.poll
    }

    fn logins(&self) -> u64 {
        self.inner.session().logins
    }

    /// Calls `/v1/auth` now and keeps the cookies it sets (normally not needed: calls that need
    /// the session log in on demand).
    ///
    /// Any 2xx answer that sets a cookie is a successful login, whatever its body: an empty
    /// or non-JSON body gives an empty [`AuthResponse`].
    pub async fn auth(&self) -> Result<AuthResponse, Error> {
        let seen = self.logins();
        Ok(self.login_after(seen).await?.unwrap_or_default())
    }

    /// Logs in, unless another caller did since login number `seen`; returns the answer of
    /// this caller's login.
    async fn login_after(&self, seen: u64) -> Result<Option<AuthResponse>, Error> {
        let _gate = self.inner.login_gate.lock().await;
        if self.logins() != seen {
            return Ok(None);
        }
        let (login, password) = self.inner.credentials.as_ref().ok_or_else(|| {
            Invalid::new(
                "credentials",
                "are not configured: call ClientBuilder::credentials",
            )
        })?;
        let body = AuthRequest::new(login.as_str(), password.clone());
        // The cookies are kept (by `send`) before the body is read.
        let answer = self.send::<ops::AuthOp>(Some(&body)).await?;
        let parsed = read_login(&answer)?;
        let logins = {
            let mut session = self.inner.session();
            session.logins += 1;
            session.logins
        };
        tracing::debug!(logins, "smartpay: logged in");
        Ok(Some(parsed))
    }

    /// Sends one request with the cookies that apply to it, and keeps the cookies its answer
    /// sets, whatever the answer.
    async fn send<O: ApiOperation>(&self, body: Option<&O::Request>) -> Result<Answer, Error> {
        let req = self.request::<O>(body)?;
        let resp = self.inner.http.execute(&O::INFO.operation, req).await?;
        Ok(self.keep_cookies(resp))
    }

    /// The request of one call, with the cookies the jar holds now.
    fn request<O: ApiOperation>(&self, body: Option<&O::Request>) -> Result<Request, Error> {
        let uri = self.inner.base.join(O::INFO.path)?;
        let cookie = self
            .inner
            .session()
            .jar
            .header_for(uri.path(), Instant::now());
        let signer = CookieSigner {
            cookie: cookie.as_ref(),
        };
        let signed = match body {
            Some(body) => signer.sign(body)?,
            None => signer.headers_only(),
        };
        let mut req = Request::new(O::INFO.method, uri).with_body(signed.body);
        req.headers = signed.headers;
        Ok(req)
    }

    /// Keeps the cookies an answer sets.
    fn keep_cookies(&self, resp: Response) -> Answer {
        let cookies_set =
            self.inner
                .session()
                .jar
                .store(&resp.headers, self.inner.base.host(), Instant::now());
        Answer { resp, cookies_set }
    }

    /// Calls any operation of the table and decodes the answer. An operation that needs the
    /// session logs in first when the client has not; a 401 to it causes one new login and one
    /// resend (the only path on which the client sends a call again).
    pub async fn call<O: ApiOperation>(
        &self,
        body: Option<&O::Request>,
    ) -> Result<O::Response, Error> {
        // The first login and the 401 path are rare: boxed, so that every call's future is not
        // the size of three calls (measured: 3,096 bytes unboxed, moved and allocated per call).
        let mut logins = self.logins();
        if O::INFO.authenticated && logins == 0 {
            Box::pin(self.login_after(0)).await?;
            logins = self.logins();
        }
        let mut answer = self.send::<O>(body).await?;
        if O::INFO.authenticated {
            if let Some(proof) = NotActedOn::from_answer(&O::INFO.operation, &answer.resp) {
                answer = Box::pin(self.resend_after_401::<O>(body, logins, proof)).await?;
            }
        }
        decode::<O>(&answer.resp)
    }

    /// The one path on which a call is sent again: the service answered 401 (a missing or
    /// expired session), so the client logs in once more (unless another caller already did)
    /// and sends the call once more. A second 401 is [`Error::Provider`] (see [`unauthorized`]).
    ///
    /// The resend goes through core's guard: `proof` exists only because the operation declares
    /// 401 as answered before the call is acted on (the spec's `x-not-acted-on` on the auth
    /// cookie, an assumption listed in `docs/providers/smartpay.md`), and
    /// [`HttpClient::resend`] refuses a proof for another operation.
    async fn resend_after_401<O: ApiOperation>(
        &self,
        body: Option<&O::Request>,
        logins_before: u64,
        proof: NotActedOn,
    ) -> Result<Answer, Error> {
        tracing::debug!(operation = O::INFO.id, "smartpay: 401, logging in again");
        self.login_after(logins_before).await?;
        let req = self.request::<O>(body)?;
        let resp = self
            .inner
            .http
            .resend(&O::INFO.operation, proof, req)
            .await?;
        let answer = self.keep_cookies(resp);
        if is_unauthorized(&answer.resp) {
            return Err(unauthorized());
        }
        Ok(answer)
    }

    /// `GET /v1/ping`, with the cookies when the client has some.
    pub async fn ping(&self) -> Result<PingResponse, Error> {
        self.call::<ops::PingOp>(None).await
    }

    /// `GET /v1/error_answers`, with the cookies when the client has some.
    pub async fn error_answers(&self) -> Result<ErrorAnswersResponse, Error> {
        self.call::<ops::ErrorAnswersOp>(None).await
    }

    /// `POST /v1/purchase/code/commit` (see also the flow helper [`Client::commit_code`]). Not
    /// idempotent: never re-sent after it may have been received.
    pub async fn commit_code_raw(
        &self,
        request: &CommitCodeRequest,
    ) -> Result<CommitCodeResponse, Error> {
        self.call::<ops::CommitCodeOp>(Some(request)).await
    }

    /// `POST /v1/purchase/release`. Not idempotent: never re-sent after it may have been
    /// received.
    pub async fn release(&self, request: &ReleaseRequest) -> Result<ReleaseResponse, Error> {
        self.call::<ops::ReleaseOp>(Some(request)).await
    }

    /// `POST /v1/purchase/status`.
    pub async fn purchase_status(
        &self,
        purchase_id: &str,
    ) -> Result<PurchaseStatusResponse, Error> {
        let body = PurchaseStatusRequest::new(purchase_id);
        self.call::<ops::PurchaseStatusOp>(Some(&body)).await
    }

    /// `POST /v1/purchase/kassa/status`.
    pub async fn purchase_kassa_status(
        &self,
        request: &PurchaseKassaStatusRequest,
    ) -> Result<PurchaseKassaStatusResponse, Error> {
        self.call::<ops::PurchaseKassaStatusOp>(Some(request)).await
    }

    /// `POST /v1/purchase/fiscal`. Not idempotent (a repeated receipt would show twice in the
    /// customer's history): never re-sent after it may have been received.
    pub async fn fiscal_v1(&self, request: &FiscalV1Request) -> Result<FiscalResponse, Error> {
        self.call::<ops::FiscalV1Op>(Some(request)).await
    }

    /// `POST /v2/purchase/fiscal`. May be sent for a purchase paid any way. Not idempotent, as
    /// [`Client::fiscal_v1`].
    pub async fn fiscal_v2(&self, request: &FiscalV2Request) -> Result<FiscalResponse, Error> {
        self.call::<ops::FiscalV2Op>(Some(request)).await
    }

    /// `POST /v1/purchase/refund`. Not idempotent: never re-sent after it may have been
    /// received.
    pub async fn refund_raw(&self, request: &RefundRequest) -> Result<RefundResponse, Error> {
        self.call::<ops::RefundOp>(Some(request)).await
    }

    /// `POST /v1/purchase/refund/status`.
    pub async fn refund_status(&self, refund_id: &str) -> Result<RefundStatusResponse, Error> {
        let body = RefundStatusRequest::new(refund_id);
        self.call::<ops::RefundStatusOp>(Some(&body)).await
    }

    /// `POST /v1/purchase/refund/kassa/status`.
    pub async fn refund_kassa_status(
        &self,
        request: &RefundKassaStatusRequest,
    ) -> Result<RefundKassaStatusResponse, Error> {
        self.call::<ops::RefundKassaStatusOp>(Some(request)).await
    }
}

/// A 401 that persists after one fresh login, or a 401 to `/v1/auth` itself: the service
/// refuses the credentials (or the kassa of the client certificate).
fn unauthorized() -> Error {
    Error::Provider(
        ProviderError::new(PROVIDER_NAME, StatusCode::UNAUTHORIZED).with_message(
            "refused the credentials or the auth cookie (401 after re-authentication)",
        ),
    )
}

/// Reads the answer to `/v1/auth`. A 2xx that set a cookie is a successful login, whatever its
/// body (an empty or non-JSON one gives an empty answer). A 2xx that set none is a transport
/// decode error (the answer is not a login), whose excerpt is the body's shape.
fn read_login(answer: &Answer) -> Result<AuthResponse, Error> {
    let resp = &answer.resp;
    if is_unauthorized(resp) {
        // The service's error body (its code) when it sent one.
        return Err(match refusal::<ops::AuthOp>(resp) {
            refused @ Error::Provider(_) => refused,
            _ => unauthorized(),
        });
    }
    if !resp.status.is_success() {
        return Err(refusal::<ops::AuthOp>(resp));
    }
    if answer.cookies_set > 0 {
        return Ok(decode_body::<ops::AuthOp>(&resp.body).unwrap_or_default());
    }
    decode_body::<ops::AuthOp>(&resp.body)?;
    let kind = payments_core::ErrorKind::Decode {
        expected: "a /v1/auth answer that sets the auth cookie (it set none)".to_owned(),
        excerpt: shape(&resp.body),
    };
    Err(Error::Transport(
        payments_core::Error::new(kind)
            .with_sent(true)
            .with_operation(ops::PROVIDER, ops::AuthOp::INFO.id),
    ))
}

/// The crate's outbound [`RequestSigner`]: the request as JSON, with the cookies (marked
/// sensitive) when there are some.
pub(crate) struct CookieSigner<'a> {
    cookie: Option<&'a HeaderValue>,
}

impl CookieSigner<'_> {
    /// The headers alone, for a call without a body.
    fn headers_only(&self) -> SignedRequest {
        let mut headers = http::HeaderMap::new();
        if let Some(cookie) = self.cookie {
            headers.insert(COOKIE, cookie.clone());
        }
        SignedRequest {
            body: Default::default(),
            headers,
        }
    }
}

impl<R: serde::Serialize + ?Sized> RequestSigner<R> for CookieSigner<'_> {
    type Error = Error;

    fn sign(&self, request: &R) -> Result<SignedRequest, Error> {
        let mut signed = self.headers_only();
        // Our own types serialise; the one custom error ("a secret field is not UTF-8") quotes
        // no value.
        signed.body = serde_json::to_vec(request)
            .map_err(|e| Invalid::new("request", format!("does not serialise: {e}")))?
            .into();
        signed
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(builder: ClientBuilder) -> Invalid {
        match builder.build() {
            Err(Error::Invalid(e)) => e,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    /// A custom environment: its URL refused when parsed, or the client refused when built.
    fn refused_url(url: &str, opt_in: bool) -> String {
        let base = match BaseUrl::parse(url) {
            Err(e) => return e.to_string(),
            Ok(base) => base,
        };
        let mut b = Client::builder().environment(Environment::Custom(base));
        if opt_in {
            b = b.allow_plain_http_to_loopback();
        }
        refused(b).to_string()
    }

    fn custom(url: &str) -> Environment {
        Environment::Custom(BaseUrl::parse(url).unwrap())
    }

    #[test]
    fn the_default_is_production_over_https_and_the_test_host_is_named() {
        let c = Client::builder().build().unwrap();
        assert_eq!(c.base_url().as_str(), Environment::PRODUCTION_URL);
        assert_eq!(c.base_url().as_str(), "https://kassa-api.r-proc.net");
        assert_eq!(Environment::default(), Environment::Production);
        let t = Client::builder()
            .environment(Environment::Test)
            .build()
            .unwrap();
        assert_eq!(t.base_url().as_str(), "https://kassa-api.test.r-proc.net");
        assert!(Environment::Production.base_url().is_https());
        assert!(Environment::Test.base_url().is_https());
        let c = Client::builder()
            .credentials("kassa", Secret::from("pw-SECRET"))
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("pw-SECRET"));
    }

    #[test]
    fn plain_http_is_refused_unless_opted_in_for_loopback() {
        let e = refused_url("http://kassa-api.test.r-proc.net", false);
        assert!(e.contains("in clear"), "{e}");
        let e = refused_url("http://kassa-api.test.r-proc.net", true);
        assert!(e.contains("only to a loopback host"), "{e}");
        refused_url("http://127.0.0.1:9", false);
        assert!(Client::builder()
            .environment(custom("http://127.0.0.1:9"))
            .allow_plain_http_to_loopback()
            .build()
            .is_ok());
        refused_url("ftp://x", false);
        refused_url("not a url", false);
        let e = refused_url("https://user:SECRET@kassa.example", false);
        assert!(!e.contains("SECRET"), "{e}");
        refused_url("https://kassa.example/?x=1", false);
    }

    #[test]
    fn a_client_certificate_needs_tls_even_with_the_opt_in() {
        let e = refused(
            Client::builder()
                .environment(custom("http://127.0.0.1:9"))
                .allow_plain_http_to_loopback()
                .client_identity_pem("not checked yet", Secret::from("key")),
        );
        assert!(e.is_about("client_identity"), "{e}");
        assert!(
            e.to_string().contains("only presented over https://"),
            "{e}"
        );
        assert!(!e.to_string().contains("key\""), "{e}");
    }

    #[test]
    fn tls_settings_with_a_transport_of_your_own_are_refused() {
        let transport: Arc<dyn Transport> =
            Arc::new(payments_core::HttpTransport::builder().build().unwrap());
        let e = refused(
            Client::builder()
                .transport(transport)
                .max_body_bytes(1024)
                .ca_pem("not read"),
        );
        assert!(e.is_about("transport"), "{e}");
    }

    #[test]
    fn only_a_401_to_a_call_with_the_cookie_proves_it_was_not_acted_on() {
        use crate::operations::OPERATIONS;
        for info in OPERATIONS {
            let op = &info.operation;
            let sends_cookie = info.id != "auth";
            assert_eq!(
                op.is_not_acted_on(http::StatusCode::UNAUTHORIZED),
                sends_cookie,
                "{}",
                info.id
            );
            // Nothing else proves it: a 403 or a 500 may come after the call was acted on.
            for other in [403u16, 409, 500, 503] {
                assert!(!op.is_not_acted_on(http::StatusCode::from_u16(other).unwrap()));
            }
        }
    }

    #[test]
    fn operation_urls_keep_the_base_path() {
        let c = Client::builder()
            .environment(custom("https://kassa.example:8443/api/"))
            .build()
            .unwrap();
        assert_eq!(
            c.inner.base.join("/v1/ping").unwrap(),
            "https://kassa.example:8443/api/v1/ping"
        );
        assert_eq!(c.inner.base.host(), "kassa.example");
        assert!(c.inner.base.join("/bad path").is_err());
        assert_eq!(c.inner.http.default_headers()[ACCEPT], "application/json");
    }

    #[test]
    fn signer_sends_json_and_a_sensitive_cookie() {
        let mut cookie = HeaderValue::from_static("kassa_session=abc");
        cookie.set_sensitive(true);
        let signer = CookieSigner {
            cookie: Some(&cookie),
        };
        let signed = signer
            .sign(&serde_json::json!({"purchase_id": "p-1"}))
            .unwrap();
        assert_eq!(&signed.body[..], br#"{"purchase_id":"p-1"}"#);
        assert_eq!(signed.headers[CONTENT_TYPE], "application/json");
        assert!(signed.headers[COOKIE].is_sensitive());
        assert!(!format!("{:?}", signed.headers).contains("abc"));
        let bare = CookieSigner { cookie: None }.headers_only();
        assert!(bare.headers.is_empty() && bare.body.is_empty());
    }

    #[test]
    fn the_default_poll_grows_by_half_to_two_seconds_without_jitter_or_deadline() {
        let p = DEFAULT_POLL_POLICY;
        assert_eq!(p.first_delay(), Duration::ZERO);
        assert_eq!(p.deadline(), None, "the caller's timeout is the deadline");
        assert_eq!(p.jitter(), payments_core::Jitter::None);
        let waits: Vec<_> = p.schedule().take(8).collect();
        assert_eq!(
            waits,
            [
                Duration::from_millis(250),
                Duration::from_millis(375),
                Duration::from_micros(562_500),
                Duration::from_micros(843_750),
                Duration::from_nanos(1_265_625_000),
                Duration::from_nanos(1_898_437_500),
                Duration::from_secs(2),
                Duration::from_secs(2),
            ]
        );
        assert_eq!(Client::builder().build().unwrap().poll_policy(), p);
        let quick = p
            .to_builder()
            .interval(Duration::from_millis(5))
            .build()
            .unwrap();
        let c = Client::builder().poll_policy(quick).build().unwrap();
        assert_eq!(c.poll_policy(), quick);
    }
}
