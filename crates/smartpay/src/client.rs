//! [`Client`]: mutual TLS, the auth cookie, and one typed method per operation.

use std::sync::Arc;
use std::time::Duration;

use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderValue, Method, StatusCode};
use payments_core::{
    ClientIdentity, HttpClient, HttpTransport, Operation, Request, RequestSigner, RetryPolicy,
    Secret, SignedRequest, Timeouts, Transport,
};

use crate::error::Error;
use crate::generated::models::{
    AuthRequest, AuthResponse, CommitCodeRequest, CommitCodeResponse, ErrorAnswersResponse,
    ErrorResponse, FiscalResponse, FiscalV1Request, FiscalV2Request, PingResponse,
    PurchaseKassaStatusRequest, PurchaseKassaStatusResponse, PurchaseStatusRequest,
    PurchaseStatusResponse, RefundKassaStatusRequest, RefundKassaStatusResponse, RefundRequest,
    RefundResponse, RefundStatusRequest, RefundStatusResponse, ReleaseRequest, ReleaseResponse,
};
use crate::generated::operations::{self as ops, ApiOperation};

/// The provider's test host, the default base URL.
pub const TEST_BASE_URL: &str = "http://kassa-api.test.r-proc.net";

/// The provider name used in tracing and errors.
pub const PROVIDER: &str = "smartpay";

/// How the flow helpers poll for a final status: the first delay, growing by half each time up
/// to the maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollPolicy {
    /// The first delay. Default 250 ms.
    pub initial: Duration,
    /// The largest delay. Default 2 s.
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(2),
        }
    }
}

impl PollPolicy {
    /// The delay after `delay`.
    pub fn next(&self, delay: Duration) -> Duration {
        (delay + delay / 2).min(self.max)
    }
}

/// Builds a [`Client`].
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    base_url: Option<String>,
    identity: Option<(Vec<u8>, Secret)>,
    ca_pem: Option<Vec<u8>>,
    only_custom_ca: bool,
    login: Option<String>,
    password: Option<Secret>,
    timeouts: Option<Timeouts>,
    retry: Option<RetryPolicy>,
    poll: PollPolicy,
    transport: Option<Arc<dyn Transport>>,
}

impl ClientBuilder {
    /// The base URL (default [`TEST_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The kassa's client certificate chain (PEM, leaf first) and private key (PEM).
    pub fn client_identity_pem(mut self, chain_pem: impl Into<Vec<u8>>, key_pem: Secret) -> Self {
        self.identity = Some((chain_pem.into(), key_pem));
        self
    }

    /// Trusts a custom CA (PEM) for the server certificate, in addition to the default roots.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Trusts only the CA given with [`ClientBuilder::ca_pem`] (not the default roots).
    pub fn only_custom_ca(mut self, only: bool) -> Self {
        self.only_custom_ca = only;
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

    /// Core's retry policy. Release and refund are never re-sent once they may have been
    /// received, whatever the policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// How the flow helpers poll for final statuses.
    pub fn poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Replaces the transport (the identity and CA settings are then ignored).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Builds the client. Fails on an unreadable certificate, key or CA, or a bad base URL.
    pub fn build(self) -> Result<Client, Error> {
        let base = self
            .base_url
            .unwrap_or_else(|| TEST_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let parsed: http::Uri = base
            .parse()
            .map_err(|_| Error::InvalidArgument(format!("base URL {base:?} is not a URL")))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(Error::InvalidArgument(format!(
                "base URL {base:?} must be http:// or https:// with a host"
            )));
        }
        let timeouts = self.timeouts.unwrap_or_default();
        let http = match self.transport {
            Some(t) => HttpClient::with_transport(t),
            None => {
                let mut b = HttpTransport::builder().connect_timeout(timeouts.connect);
                if let Some((chain, key)) = &self.identity {
                    b = b.client_identity(ClientIdentity::from_pem(chain, key)?);
                }
                if let Some(ca) = &self.ca_pem {
                    b = b.add_root_pem(ca)?;
                    if self.only_custom_ca {
                        b = b.only_added_roots();
                    }
                }
                HttpClient::from(b.build()?)
            }
        };
        // Every call accepts JSON: a default header, set once, not on each request.
        let mut fixed = http::HeaderMap::new();
        fixed.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let http = http
            .default_headers(fixed)
            .timeouts(timeouts)
            .retry_policy(self.retry.unwrap_or_default());
        let credentials = match (self.login, self.password) {
            (Some(login), Some(password)) => Some((login, password)),
            _ => None,
        };
        let parts = parsed.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(Error::InvalidArgument(format!(
                "base URL {base:?} must be http:// or https:// with a host"
            )));
        };
        let prefix = match parts.path_and_query {
            Some(pq) if pq.query().is_some() => {
                return Err(Error::InvalidArgument(format!(
                    "base URL {base:?} must not have a query"
                )))
            }
            Some(pq) if pq.path() != "/" => Some(pq.path().to_owned()),
            _ => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                endpoint: Endpoint {
                    scheme,
                    authority,
                    prefix,
                },
                credentials,
                poll: self.poll,
                auth_gate: tokio::sync::Mutex::new(()),
                session: std::sync::Mutex::new(Session::default()),
            }),
        })
    }
}

#[derive(Default)]
struct Session {
    /// The `Cookie` header (`name=value` of the auth cookie), marked sensitive, made once per
    /// authentication (its `Debug` shows `Sensitive`).
    cookie: Option<HeaderValue>,
    /// Bumped on every successful `/v1/auth`.
    generation: u64,
}

/// The parts of the base URL, so that an operation's URL is assembled without parsing it
/// again.
struct Endpoint {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
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
    /// Held while authenticating, so that concurrent callers authenticate once.
    auth_gate: tokio::sync::Mutex<()>,
    /// The current cookie; held only to read or replace it, never across an `await`.
    session: std::sync::Mutex<Session>,
}

impl Inner {
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic elsewhere while holding the lock leaves a valid session behind.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The Smart Pay cashier API client. Cheap to clone; clones share the connection pool and the
/// auth cookie.
///
/// Every authenticated call sends the cookie from `/v1/auth`, authenticating first when there is
/// none. A 401 answer triggers one re-authentication and one retry. Authentication is
/// single-flight: concurrent callers that need it wait for one `/v1/auth` call.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field(
                "credentials",
                &self.inner.credentials.as_ref().map(|(l, _)| l),
            )
            .finish_non_exhaustive()
    }
}

fn operation<O: ApiOperation>() -> Operation {
    if O::INFO.idempotent {
        Operation::idempotent(PROVIDER, O::INFO.id)
    } else {
        Operation::not_idempotent(PROVIDER, O::INFO.id)
    }
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

    /// Calls `/v1/auth` now and keeps the cookie (normally not needed: calls authenticate on
    /// demand).
    pub async fn auth(&self) -> Result<AuthResponse, Error> {
        let seen = self.inner.session().generation;
        self.reauth(seen)
            .await
            .map(|(_, _, resp)| resp.unwrap_or_else(empty_auth))
    }

    /// Authenticates unless another caller already did after generation `seen`; returns the
    /// cookie and its generation.
    async fn reauth(&self, seen: u64) -> Result<(HeaderValue, u64, Option<AuthResponse>), Error> {
        let _gate = self.inner.auth_gate.lock().await;
        {
            let session = self.inner.session();
            if session.generation != seen {
                if let Some(cookie) = &session.cookie {
                    return Ok((cookie.clone(), session.generation, None));
                }
            }
        }
        let (login, password) = self
            .inner
            .credentials
            .as_ref()
            .ok_or(Error::NoCredentials)?;
        let body = AuthRequest {
            login: login.clone(),
            password: password.clone(),
        };
        let resp = self.send::<ops::AuthOp>(Some(&body), None).await?;
        if resp.status == StatusCode::UNAUTHORIZED {
            return Err(Error::Unauthorized);
        }
        let cookie = auth_cookie(&resp.headers).ok_or(Error::NoAuthCookie);
        let parsed = decode::<ops::AuthOp>(resp)?;
        let cookie = cookie_header(&cookie?)?;
        let generation = {
            let mut session = self.inner.session();
            session.cookie = Some(cookie.clone());
            session.generation += 1;
            session.generation
        };
        tracing::debug!(generation, "smartpay: authenticated");
        Ok((cookie, generation, Some(parsed)))
    }

    async fn send<O: ApiOperation>(
        &self,
        body: Option<&O::Request>,
        cookie: Option<&HeaderValue>,
    ) -> Result<payments_core::Response, Error> {
        let uri = self.inner.endpoint.uri(O::INFO.path)?;
        let method = Method::from_bytes(O::INFO.method.as_bytes())
            .map_err(|_| Error::InvalidArgument("bad method in the operation table".into()))?;
        let signer = CookieSigner { cookie };
        let signed = match body {
            Some(body) => signer.sign(body)?,
            None => signer.headers_only()?,
        };
        let mut req = Request::new(method, uri).with_body(signed.body);
        req.headers = signed.headers;
        Ok(self.inner.http.execute(&operation::<O>(), req).await?)
    }

    /// Calls any operation of the table: sends the cookie when the operation needs it,
    /// re-authenticates once on a 401, and decodes the answer.
    pub async fn call<O: ApiOperation>(
        &self,
        body: Option<&O::Request>,
    ) -> Result<O::Response, Error> {
        if !O::INFO.authenticated {
            let resp = self.send::<O>(body, None).await?;
            return decode::<O>(resp);
        }
        let (cookie, generation) = {
            let s = self.inner.session();
            (s.cookie.clone(), s.generation)
        };
        let (cookie, generation) = match cookie {
            Some(c) => (c, generation),
            None => {
                let (c, g, _) = self.reauth(generation).await?;
                (c, g)
            }
        };
        let resp = self.send::<O>(body, Some(&cookie)).await?;
        if resp.status != StatusCode::UNAUTHORIZED {
            return decode::<O>(resp);
        }
        // The cookie expired or was revoked. A 401 is answered before the call is acted on, so
        // even a release or a refund is safe to send once more.
        tracing::debug!(operation = O::INFO.id, "smartpay: 401, re-authenticating");
        let (cookie, _, _) = self.reauth(generation).await?;
        let resp = self.send::<O>(body, Some(&cookie)).await?;
        if resp.status == StatusCode::UNAUTHORIZED {
            return Err(Error::Unauthorized);
        }
        decode::<O>(resp)
    }

    /// `GET /v1/ping`.
    pub async fn ping(&self) -> Result<PingResponse, Error> {
        self.call::<ops::PingOp>(None).await
    }

    /// `GET /v1/error_answers`.
    pub async fn error_answers(&self) -> Result<ErrorAnswersResponse, Error> {
        self.call::<ops::ErrorAnswersOp>(None).await
    }

    /// `POST /v1/purchase/code/commit` (see also the flow helper [`Client::commit_code`]).
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
        let body = PurchaseStatusRequest {
            purchase_id: purchase_id.to_owned(),
        };
        self.call::<ops::PurchaseStatusOp>(Some(&body)).await
    }

    /// `POST /v1/purchase/kassa/status`.
    pub async fn purchase_kassa_status(
        &self,
        request: &PurchaseKassaStatusRequest,
    ) -> Result<PurchaseKassaStatusResponse, Error> {
        self.call::<ops::PurchaseKassaStatusOp>(Some(request)).await
    }

    /// `POST /v1/purchase/fiscal`.
    pub async fn fiscal_v1(&self, request: &FiscalV1Request) -> Result<FiscalResponse, Error> {
        self.call::<ops::FiscalV1Op>(Some(request)).await
    }

    /// `POST /v2/purchase/fiscal`. May be sent for a purchase paid any way.
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
        let body = RefundStatusRequest {
            refund_id: refund_id.to_owned(),
        };
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

/// The crate's outbound [`RequestSigner`]: the request as JSON, with the auth cookie (marked
/// sensitive) when there is one.
pub(crate) struct CookieSigner<'a> {
    cookie: Option<&'a HeaderValue>,
}

/// The `Cookie` header of an auth cookie, marked sensitive.
fn cookie_header(cookie: &Secret) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_bytes(cookie.expose())
        .map_err(|_| Error::InvalidArgument("the auth cookie is not a header".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

impl CookieSigner<'_> {
    /// The headers alone, for a call without a body.
    fn headers_only(&self) -> Result<SignedRequest, Error> {
        let mut headers = http::HeaderMap::new();
        if let Some(cookie) = self.cookie {
            headers.insert(COOKIE, cookie.clone());
        }
        Ok(SignedRequest {
            body: Default::default(),
            headers,
        })
    }
}

impl<R: serde::Serialize + ?Sized> RequestSigner<R> for CookieSigner<'_> {
    type Error = Error;

    fn sign(&self, request: &R) -> Result<SignedRequest, Error> {
        let mut signed = self.headers_only()?;
        signed.body = serde_json::to_vec(request)
            .map_err(|e| Error::InvalidArgument(format!("request does not serialise: {e}")))?
            .into();
        signed
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(signed)
    }
}

fn empty_auth() -> AuthResponse {
    AuthResponse {
        kassa_id: None,
        expires_in: None,
    }
}

/// The first `Set-Cookie`'s `name=value`.
fn auth_cookie(headers: &http::HeaderMap) -> Option<Secret> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let pair = v.as_bytes().split(|&b| b == b';').next()?;
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        (eq > 0 && eq + 1 < pair.len()).then(|| Secret::from(pair))
    })
}

fn decode<O: ApiOperation>(resp: payments_core::Response) -> Result<O::Response, Error> {
    if resp.status.is_success() {
        let body: &[u8] = if resp.body.is_empty() {
            b"null"
        } else {
            &resp.body
        };
        return serde_json::from_slice(body).map_err(|e| {
            Error::Transport(
                payments_core::Error::decode(
                    format!("a {} answer to {}", O::INFO.response, O::INFO.id),
                    &resp.body,
                )
                .with_source(e)
                .with_operation(PROVIDER, O::INFO.id),
            )
        });
    }
    match serde_json::from_slice::<ErrorResponse>(&resp.body) {
        Ok(e) => Err(Error::Provider {
            status: resp.status,
            code: e.code,
            message: e.message,
        }),
        Err(_) => Err(Error::Transport(
            payments_core::transport::status_error(&resp).with_operation(PROVIDER, O::INFO.id),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_the_first_name_value_pair() {
        let mut h = http::HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("broken"));
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("kassa_session=abc; Path=/; HttpOnly"),
        );
        assert_eq!(auth_cookie(&h).unwrap().expose(), b"kassa_session=abc");
        assert!(auth_cookie(&http::HeaderMap::new()).is_none());
    }

    #[test]
    fn builder_rejects_bad_urls_and_defaults_to_the_test_host() {
        let c = Client::builder().build().unwrap();
        assert_eq!(c.base_url(), TEST_BASE_URL);
        assert!(Client::builder().base_url("ftp://x").build().is_err());
        assert!(Client::builder().base_url("not a url").build().is_err());
        let c = Client::builder()
            .credentials("kassa", Secret::from("pw"))
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("pw\""));
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
        let c = Client::builder()
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        assert_eq!(
            c.inner.endpoint.uri("/v1/purchase/status").unwrap(),
            "http://127.0.0.1:9/v1/purchase/status"
        );
        assert!(c.inner.endpoint.uri("/bad path").is_err());
        assert_eq!(
            c.inner.http.default_header_map()[http::header::ACCEPT],
            "application/json"
        );
        assert!(Client::builder()
            .base_url("https://kassa.example/?x=1")
            .build()
            .is_err());
    }

    #[test]
    fn signer_sends_json_and_a_sensitive_cookie() {
        let cookie = cookie_header(&Secret::from("kassa_session=abc")).unwrap();
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
        let bare = CookieSigner { cookie: None }.headers_only().unwrap();
        assert!(bare.headers.is_empty() && bare.body.is_empty());
    }

    #[test]
    fn poll_backoff_grows_to_the_cap() {
        let p = PollPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(200),
        };
        assert_eq!(
            p.next(Duration::from_millis(100)),
            Duration::from_millis(150)
        );
        assert_eq!(
            p.next(Duration::from_millis(150)),
            Duration::from_millis(200)
        );
    }
}
