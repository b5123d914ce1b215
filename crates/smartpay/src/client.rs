//! [`Client`]: mutual TLS, the session cookies, and one typed method per operation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{ACCEPT, CONTENT_TYPE, COOKIE};
use http::HeaderValue;
use payments_core::{
    ClientIdentity, HttpClient, HttpTransport, NotActedOn, PlainHttp, PollPolicy, Request,
    RequestSigner, Response, RetryPolicy, Secret, SignedRequest, Timeouts, Transport,
};

use crate::answer::{decode, decode_body, is_unauthorized, refusal};
use crate::cookies::CookieJar;
use crate::error::Error;
use crate::generated::models::{
    AuthRequest, AuthResponse, CommitCodeRequest, CommitCodeResponse, ErrorAnswersResponse,
    FiscalResponse, FiscalV1Request, FiscalV2Request, PingResponse, PurchaseKassaStatusRequest,
    PurchaseKassaStatusResponse, PurchaseStatusRequest, PurchaseStatusResponse,
    RefundKassaStatusRequest, RefundKassaStatusResponse, RefundRequest, RefundResponse,
    RefundStatusRequest, RefundStatusResponse, ReleaseRequest, ReleaseResponse,
};
use crate::generated::operations::{self as ops, ApiOperation};

/// The provider's test host, the default base URL.
///
/// The guide writes it `http://kassa-api.test.r-proc.net`, and says in the next sentence that the
/// kassa authorises with a client certificate, which only TLS can carry: over `http://` the
/// certificate would never be presented and the password and the session cookie would travel in
/// clear. So the client defaults to `https://` and refuses plain http (see
/// [`ClientBuilder::allow_plain_http_to_loopback`]).
pub const TEST_BASE_URL: &str = "https://kassa-api.test.r-proc.net";

/// How the flow helpers ([`crate::ReleasedPurchase::wait_for_status`],
/// [`crate::PendingRefund::wait_for_status`]) poll for a final status, unless
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
/// connection is made.
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    base_url: Option<String>,
    plain_http: PlainHttp,
    identity: Option<(Vec<u8>, Secret)>,
    trust: Trust,
    login: Option<String>,
    password: Option<Secret>,
    timeouts: Option<Timeouts>,
    retry: Option<RetryPolicy>,
    poll: Option<PollPolicy>,
    transport: Option<Arc<dyn Transport>>,
}

impl ClientBuilder {
    /// The base URL (default [`TEST_BASE_URL`]). It must be `https://`, unless
    /// [`ClientBuilder::allow_plain_http_to_loopback`] is set and it names a loopback host.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Allows a plain `http://` base URL to a loopback host (`127.0.0.0/8`, `::1`,
    /// `localhost`), for tests against a local emulator. Never to another host; and never with a
    /// client certificate, which only TLS can present. The default refuses plain http.
    pub fn allow_plain_http_to_loopback(mut self) -> Self {
        self.plain_http = PlainHttp::LoopbackOnly;
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
        self.timeouts = Some(timeouts);
        self
    }

    /// Core's retry policy. Release, refund, commit and the fiscal calls are never re-sent once
    /// they may have been received, whatever the policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
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

    /// Replaces the transport (the identity and CA settings are then ignored; the base URL is
    /// still checked).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Builds the client. Refuses, with [`Error::Config`] and before any connection: a base URL
    /// that is not `https://` (plain `http://` only to loopback, and only with
    /// [`ClientBuilder::allow_plain_http_to_loopback`]), a client certificate with plain http, a
    /// URL with credentials or a query, and an unreadable certificate, key or CA.
    pub fn build(self) -> Result<Client, Error> {
        let config = |m: &str| Error::Config(payments_core::Error::config(m));
        let base = self
            .base_url
            .unwrap_or_else(|| TEST_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        // The messages name no part of the URL that could carry a secret.
        let parsed: http::Uri = base
            .parse()
            .map_err(|_| config("the base URL is not a URL"))?;
        self.plain_http.check(&parsed).map_err(Error::Config)?;
        let parts = parsed.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(config("the base URL needs a scheme and a host"));
        };
        if authority.as_str().contains('@') {
            return Err(config(
                "the base URL must not carry credentials: use ClientBuilder::credentials",
            ));
        }
        if scheme != http::uri::Scheme::HTTPS && self.identity.is_some() {
            return Err(config(
                "a client certificate is presented only over TLS: plain http:// would never \
                 send it (use https://)",
            ));
        }
        let prefix = match parts.path_and_query {
            Some(pq) if pq.query().is_some() => {
                return Err(config("the base URL must not have a query"))
            }
            Some(pq) if pq.path() != "/" => Some(pq.path().to_owned()),
            _ => None,
        };
        let timeouts = self.timeouts.unwrap_or_default();
        let http = match self.transport {
            Some(t) => HttpClient::with_transport(t),
            None => {
                let mut b = HttpTransport::builder().connect_timeout(timeouts.connect);
                if let Some((chain, key)) = &self.identity {
                    b = b.client_identity(
                        ClientIdentity::from_pem(chain, key).map_err(Error::Config)?,
                    );
                }
                b = match &self.trust {
                    Trust::DefaultRoots => b,
                    Trust::DefaultRootsAnd(ca) => b.add_root_pem(ca).map_err(Error::Config)?,
                    Trust::Only(ca) => b
                        .add_root_pem(ca)
                        .map_err(Error::Config)?
                        .only_added_roots(),
                };
                HttpClient::from(b.build().map_err(Error::Config)?)
            }
        };
        // Every call accepts JSON: a default header, set once, not on each request.
        let mut fixed = http::HeaderMap::new();
        fixed.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = http
            .default_headers(fixed)
            .timeouts(timeouts)
            .retry_policy(self.retry.unwrap_or_default());
        let credentials = match (self.login, self.password) {
            (Some(login), Some(password)) => Some((login, password)),
            _ => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint: Endpoint {
                    host: authority.host().to_owned(),
                    scheme,
                    authority,
                    prefix,
                },
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

/// The parts of the base URL, so that an operation's URL is assembled without parsing it
/// again.
struct Endpoint {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The host, which the cookie jar is scoped to.
    host: String,
    /// The base URL's path, if it has one (`https://host/kassa`), without the final `/`.
    prefix: Option<String>,
}

impl Endpoint {
    fn uri(&self, path: &'static str) -> Result<http::Uri, Error> {
        let bad = || Error::InvalidArgument(format!("path {path:?} does not make a URL"));
        let path_and_query = match &self.prefix {
            // No copy: the operation's path is static. A bad path (only possible for an
            // operation defined outside the generated table) is an error, not a panic.
            None => http::uri::PathAndQuery::from_maybe_shared(bytes::Bytes::from_static(
                path.as_bytes(),
            ))
            .map_err(|_| bad())?,
            Some(prefix) => format!("{prefix}{path}").parse().map_err(|_| bad())?,
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        http::Uri::from_parts(parts).map_err(|_| bad())
    }
}

struct Inner {
    http: HttpClient,
    base: String,
    endpoint: Endpoint,
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
    pub fn base_url(&self) -> &str {
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
        let (login, password) = self
            .inner
            .credentials
            .as_ref()
            .ok_or(Error::NoCredentials)?;
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
        let uri = self.inner.endpoint.uri(O::INFO.path)?;
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
        let cookies_set = self.inner.session().jar.store(
            &resp.headers,
            &self.inner.endpoint.host,
            Instant::now(),
        );
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
    /// and sends the call once more. A second 401 is [`Error::Unauthorized`].
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
            return Err(Error::Unauthorized);
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

/// Reads the answer to `/v1/auth`. A 2xx that set a cookie is a successful login, whatever its
/// body (an empty or non-JSON one gives an empty answer). A 2xx that set none is
/// [`Error::NoAuthCookie`], or a decode error when its body is not a login answer either.
fn read_login(answer: &Answer) -> Result<AuthResponse, Error> {
    let resp = &answer.resp;
    if is_unauthorized(resp) {
        return Err(Error::Unauthorized);
    }
    if !resp.status.is_success() {
        return Err(refusal::<ops::AuthOp>(resp));
    }
    if answer.cookies_set > 0 {
        return Ok(decode_body::<ops::AuthOp>(&resp.body).unwrap_or_default());
    }
    decode_body::<ops::AuthOp>(&resp.body)?;
    Err(Error::NoAuthCookie)
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
            .map_err(|e| Error::InvalidArgument(format!("request does not serialise: {e}")))?
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

    fn refused(builder: ClientBuilder) -> String {
        match builder.build() {
            Err(Error::Config(e)) => e.to_string(),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_is_the_test_host_over_https() {
        let c = Client::builder().build().unwrap();
        assert_eq!(c.base_url(), TEST_BASE_URL);
        assert!(TEST_BASE_URL.starts_with("https://"));
        let c = Client::builder()
            .credentials("kassa", Secret::from("pw-SECRET"))
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("pw-SECRET"));
    }

    #[test]
    fn plain_http_is_refused_unless_opted_in_for_loopback() {
        let e = refused(Client::builder().base_url("http://kassa-api.test.r-proc.net"));
        assert!(e.contains("in clear"), "{e}");
        let e = refused(
            Client::builder()
                .base_url("http://kassa-api.test.r-proc.net")
                .allow_plain_http_to_loopback(),
        );
        assert!(e.contains("only to a loopback host"), "{e}");
        refused(Client::builder().base_url("http://127.0.0.1:9"));
        assert!(Client::builder()
            .base_url("http://127.0.0.1:9")
            .allow_plain_http_to_loopback()
            .build()
            .is_ok());
        refused(Client::builder().base_url("ftp://x"));
        refused(Client::builder().base_url("not a url"));
        let e = refused(Client::builder().base_url("https://user:SECRET@kassa.example"));
        assert!(!e.contains("SECRET"), "{e}");
        refused(Client::builder().base_url("https://kassa.example/?x=1"));
    }

    #[test]
    fn a_client_certificate_needs_tls_even_with_the_opt_in() {
        let e = refused(
            Client::builder()
                .base_url("http://127.0.0.1:9")
                .allow_plain_http_to_loopback()
                .client_identity_pem("not checked yet", Secret::from("key")),
        );
        assert!(e.contains("only over TLS"), "{e}");
    }

    #[test]
    fn only_a_401_to_a_call_with_the_cookie_proves_it_was_not_acted_on() {
        use crate::generated::operations::OPERATIONS;
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
            .base_url("https://kassa.example:8443/api/")
            .build()
            .unwrap();
        assert_eq!(
            c.inner.endpoint.uri("/v1/ping").unwrap(),
            "https://kassa.example:8443/api/v1/ping"
        );
        assert_eq!(c.inner.endpoint.host, "kassa.example");
        assert!(c.inner.endpoint.uri("/bad path").is_err());
        assert_eq!(
            c.inner.http.default_header_map()[ACCEPT],
            "application/json"
        );
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
