//! [`HttpClient`]: a [`Transport`] with timeouts, retries and tracing around it.
//!
//! This is the outbound path every provider crate shares: the provider builds and signs a
//! [`Request`], then [`HttpClient::execute`] sends it, classifies the outcome, retries when the
//! policy allows, and hands back the [`Response`] for the provider to decode.
//!
//! # Never twice
//!
//! One guard stands between the classifier and every retry: a call whose [`Operation`] is not
//! idempotent is sent again only when its last outcome proves that it was not acted on, that
//! is an error with [`Error::may_have_been_sent`] `false`, or an answer whose status the
//! operation declares as given before acting ([`NotActedOn`]). Any other answer, a transient
//! status included, means the call was sent. The guard holds whatever the
//! [`RetryClassifier`](crate::RetryClassifier) says.
//!
//! Across calls, the one way to send such an operation again after an answer is
//! [`HttpClient::resend`], which takes the [`NotActedOn`] proof built from that answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::header::USER_AGENT;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

use crate::endpoint::{BaseUrl, PlainHttp};
use crate::error::{Error, ErrorKind};
use crate::invalid::Invalid;
use crate::proxy::Proxy;
use crate::retry::{NotActedOn, Operation, RetryDecision, RetryPolicy};
use crate::timeouts::{TimeoutKind, Timeouts};
use crate::transport::{
    status_error, ClientIdentity, HttpTransport, Request, Response, Transport, TransportBuilder,
};

/// Builds an [`HttpClient`] with everything a provider client needs, checked in one place:
/// the [`Timeouts`] (the connect timeout included: it is applied to the transport built
/// here), a [`RetryPolicy`], a checked [`BaseUrl`] and its [`PlainHttp`] choice, the TLS
/// settings (a client certificate, extra or only-these roots), a cap on an answer's body,
/// default headers and a `User-Agent`.
///
/// The proxies of the environment are honoured unless [`HttpClientBuilder::proxy`] or
/// [`HttpClientBuilder::no_proxy`] says otherwise (see [`crate::proxy`]).
///
/// A provider crate's builder only adds credentials. `build` validates: a plain `http://` base
/// URL needs [`HttpClientBuilder::allow_plain_http_to_loopback`] and never goes with a client
/// certificate; TLS settings cannot be combined with a transport you built yourself; timeouts
/// must be non-zero (an attempt never outlasts what is left of the total).
///
/// ```
/// use std::time::Duration;
/// use payments_core::{BaseUrl, HttpClient, Timeouts};
///
/// let client = HttpClient::builder()
///     .product(concat!("my-provider/", "1.0.0"))
///     .base_url("https://kassa.example/api".parse::<BaseUrl>()?)
///     .timeouts(Timeouts::default().with_total(Duration::from_secs(20)))
///     .build()?;
/// assert_eq!(client.base_url().map(|b| b.as_str()), Some("https://kassa.example/api"));
/// assert_eq!(client.timeouts().total, Duration::from_secs(20));
///
/// // Credentials never travel in clear: plain http must be named, and only to loopback.
/// let refused = HttpClient::builder().base_url("http://kassa.example".parse()?).build();
/// assert!(refused.unwrap_err().is_about("base_url"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct HttpClientBuilder {
    product: HeaderValue,
    user_agent: Option<HeaderValue>,
    base_url: Option<BaseUrl>,
    plain_http: PlainHttp,
    timeouts: Timeouts,
    retry: RetryPolicy,
    transport: Option<Arc<dyn Transport>>,
    tls: TransportBuilder,
    tls_settings: Vec<&'static str>,
    has_identity: bool,
    default_headers: HeaderMap,
    problems: Option<Invalid>,
}

/// The `User-Agent` sent when neither the provider crate nor the caller names one.
const CORE_PRODUCT: &str = concat!("payments-core/", env!("CARGO_PKG_VERSION"));

impl Default for HttpClientBuilder {
    fn default() -> Self {
        HttpClientBuilder {
            product: HeaderValue::from_static(CORE_PRODUCT),
            user_agent: None,
            base_url: None,
            plain_http: PlainHttp::Refused,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            transport: None,
            tls: TransportBuilder::default(),
            tls_settings: Vec::new(),
            has_identity: false,
            default_headers: HeaderMap::new(),
            problems: None,
        }
    }
}

impl HttpClientBuilder {
    fn problem(&mut self, field: &'static str, message: impl Into<std::borrow::Cow<'static, str>>) {
        match &mut self.problems {
            Some(p) => p.push(field, message),
            None => self.problems = Some(Invalid::new(field, message)),
        }
    }

    /// The default `User-Agent` (`<crate>/<version>`), set by a provider crate; the caller's
    /// [`HttpClientBuilder::user_agent`] wins over it.
    pub fn product(mut self, product: &'static str) -> Self {
        match HeaderValue::from_str(product) {
            Ok(v) => self.product = v,
            Err(_) => self.problem("product", "must be visible ASCII"),
        }
        self
    }

    /// The `User-Agent` sent with every call, instead of the provider crate's `<crate>/<version>`.
    pub fn user_agent(mut self, user_agent: impl AsRef<str>) -> Self {
        match HeaderValue::from_str(user_agent.as_ref()) {
            Ok(v) => self.user_agent = Some(v),
            Err(_) => self.problem("user_agent", "must be visible ASCII"),
        }
        self
    }

    /// The provider's base URL.
    pub fn base_url(mut self, base_url: BaseUrl) -> Self {
        self.base_url = Some(base_url);
        self
    }

    /// Allows a plain `http://` base URL, to a loopback host only: for tests against a local
    /// emulator such as `payments-sandbox`. Never with a client certificate.
    pub fn allow_plain_http_to_loopback(mut self) -> Self {
        self.plain_http = PlainHttp::LoopbackOnly;
        self
    }

    /// The plain-http policy (the default refuses plain `http://`).
    pub fn plain_http(mut self, plain_http: PlainHttp) -> Self {
        self.plain_http = plain_http;
        self
    }

    /// The timeouts. The connect timeout applies to the transport built here; a transport of
    /// your own ([`HttpClientBuilder::transport`]) applies its own.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// A transport of your own (a test double, a shared pool). TLS, proxy and body-cap settings
    /// then belong to it: setting them here as well is refused by `build`.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Caps an answer's body, in bytes (default 8 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        if bytes == 0 {
            self.problem("max_body_bytes", "must be at least 1");
        }
        self.tls = self.tls.max_body_bytes(bytes);
        self.tls_settings.push("max_body_bytes");
        self
    }

    /// Presents a client certificate (mutual TLS).
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.tls = self.tls.client_identity(identity);
        self.tls_settings.push("client_identity");
        self.has_identity = true;
        self
    }

    /// Trusts the certificates of a PEM bundle as well as the default roots.
    pub fn add_root_pem(mut self, pem: &[u8]) -> Self {
        match self.tls.clone().add_root_pem(pem) {
            Ok(tls) => self.tls = tls,
            Err(e) => self.problems_from("root_ca", &e),
        }
        self.tls_settings.push("add_root_pem");
        self
    }

    /// Trusts only the certificates of this PEM bundle (a private CA or a sandbox's), not the
    /// default roots. The bundle must hold at least one certificate.
    pub fn trust_only_ca_pem(mut self, pem: &[u8]) -> Self {
        match self.tls.clone().add_root_pem(pem) {
            Ok(tls) => self.tls = tls.only_added_roots(),
            Err(e) => self.problems_from("root_ca", &e),
        }
        self.tls_settings.push("trust_only_ca_pem");
        self
    }

    /// Whether HTTP/2 is offered through ALPN (default: yes when the `http2` feature is on).
    /// Without that feature, `http2(true)` makes `build()` fail with a configuration error.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.tls = self.tls.http2(enabled);
        self.tls_settings.push("http2");
        self
    }

    /// Sends calls through this proxy (see [`crate::proxy`] for the rules) instead of the
    /// proxies of the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`), which are honoured
    /// by default.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.tls = self.tls.proxy(proxy);
        self.tls_settings.push("proxy");
        self
    }

    /// Reaches the provider directly, whatever `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` say.
    pub fn no_proxy(mut self) -> Self {
        self.tls = self.tls.no_proxy();
        self.tls_settings.push("no_proxy");
        self
    }

    /// Adds a header sent with every call (a provider's fixed `Accept`); a later one of the
    /// same name replaces it, and a request's own header replaces it for that request.
    pub fn default_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.default_headers.insert(name, value);
        self
    }

    fn problems_from(&mut self, field: &'static str, error: &Error) {
        let p = Invalid::from_config(field, error);
        self.problems = Some(match self.problems.take() {
            Some(before) => before.merge(p),
            None => p,
        });
    }

    /// Checks everything and builds the client. Must be called within a Tokio runtime only
    /// when sending.
    pub fn build(mut self) -> Result<HttpClient, Invalid> {
        let t = self.timeouts;
        if t.connect.is_zero() {
            self.problem("timeouts.connect", "must be more than zero");
        }
        if t.attempt.is_zero() {
            self.problem("timeouts.attempt", "must be more than zero");
        }
        if t.total.is_zero() {
            self.problem("timeouts.total", "must be more than zero");
        }
        if let Some(base) = &self.base_url {
            if let Err(e) = base.check(self.plain_http) {
                self.problems = Some(match self.problems.take() {
                    Some(before) => before.merge(e),
                    None => e,
                });
            }
            if self.has_identity && !base.is_https() {
                self.problem(
                    "client_identity",
                    "a client certificate is only presented over https://",
                );
            }
        }
        if self.transport.is_some() && !self.tls_settings.is_empty() {
            let names = self.tls_settings.join(", ");
            self.problem(
                "transport",
                format!("{names} must be set on the transport you gave, not here"),
            );
        }
        if let Some(p) = self.problems {
            return Err(p);
        }
        let backend = match self.transport {
            Some(custom) => Backend::Custom(custom),
            None => Backend::Http(
                self.tls
                    .connect_timeout(t.connect)
                    .build()
                    .map_err(|e| Invalid::from_config("tls", &e))?,
            ),
        };
        let mut default_headers = HeaderMap::with_capacity(self.default_headers.len() + 5);
        default_headers.insert(USER_AGENT, self.user_agent.unwrap_or(self.product));
        overlay(&mut default_headers, &self.default_headers);
        Ok(HttpClient {
            transport: backend,
            retry: self.retry,
            timeouts: t,
            default_headers,
            base_url: self.base_url,
        })
    }
}

/// A transport with a retry policy and timeouts. Cheap to clone; clones share the connection
/// pool and the retry budget.
#[derive(Clone, Debug)]
pub struct HttpClient {
    transport: Backend,
    retry: RetryPolicy,
    timeouts: Timeouts,
    default_headers: HeaderMap,
    base_url: Option<BaseUrl>,
}

/// The transport: the default one is called directly (no boxed future per attempt), any other
/// through the [`Transport`] trait object.
// One per client, built once and never moved per call: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Backend {
    Http(HttpTransport),
    Custom(Arc<dyn Transport>),
}

impl std::fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transport")
    }
}

impl HttpClient {
    /// A client over the default [`HttpTransport`] with default settings.
    pub fn new() -> Result<Self, Error> {
        let timeouts = Timeouts::default();
        let transport = HttpTransport::builder()
            .connect_timeout(timeouts.connect)
            .build()?;
        Ok(HttpClient::from(transport))
    }

    /// A client over any transport, with the default policy and timeouts.
    ///
    /// For an [`HttpTransport`], prefer [`HttpClient::from`]: it is called directly, without
    /// boxing each attempt's future.
    pub fn with_transport(transport: Arc<dyn Transport>) -> Self {
        HttpClient::over(Backend::Custom(transport))
    }

    fn over(transport: Backend) -> Self {
        HttpClient {
            transport,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            default_headers: HeaderMap::new(),
            base_url: None,
        }
    }

    /// Adds headers sent with every request (a provider's fixed `Content-Type` or `Accept`, a
    /// `User-Agent`). A name given here replaces the same name given before; a request's own
    /// header of the same name replaces the default for that request.
    ///
    /// This pays when requests carry no headers of their own (Kupi-Kupi's): each attempt then
    /// copies the defaults alone, and no call builds a header map. When requests carry their
    /// own (a per-call cookie), merging them into the defaults costs a lookup per header, which
    /// measured more than leaving the fixed headers on the request.
    pub fn with_default_headers(mut self, headers: HeaderMap) -> Self {
        if self.default_headers.is_empty() {
            // Room for a few request headers and those hyper adds, without growing.
            self.default_headers.reserve(headers.len() + 4);
        }
        overlay(&mut self.default_headers, &headers);
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Replaces the timeouts. The connect timeout only applies to a transport built with it
    /// (see [`crate::TransportBuilder::connect_timeout`]; [`HttpClient::builder`] does that).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The headers added to every request.
    pub fn default_headers(&self) -> &HeaderMap {
        &self.default_headers
    }

    /// A builder: timeouts, retries, base URL, TLS, headers, checked in `build`.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// The base URL given to the builder, if any.
    pub fn base_url(&self) -> Option<&BaseUrl> {
        self.base_url.as_ref()
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Sends `request` for `operation`, retrying as the policy allows, within the timeouts.
    ///
    /// Returns the final [`Response`] whatever its status, except for a transient status (408,
    /// 429, 502, 503, 504) that is still transient after the last attempt: that becomes an
    /// [`ErrorKind::Status`] error. Errors carry the operation and the number of attempts.
    ///
    /// An operation that is not idempotent is sent again only after an outcome that proves it
    /// was not acted on (an error with [`Error::may_have_been_sent`] `false`, or an answer that
    /// [`NotActedOn::from_answer`] accepts), whatever the classifier says: the guard turns any
    /// other `Retry` into `Final`, and the outcome is returned as it came.
    ///
    /// The returned future holds the request and one attempt at a time; it is `Send`.
    pub fn execute<'a>(
        &'a self,
        operation: &'a Operation,
        request: Request,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'a {
        self.call(operation, request)
    }

    /// Sends `operation` once more after an answer that proved it was not acted on, with the
    /// same retries and guard as [`HttpClient::execute`].
    ///
    /// This is the one way to send an operation that is not idempotent again after it was
    /// answered. `proof` must come from [`NotActedOn::from_answer`] for this very `operation`;
    /// otherwise nothing is sent and the call fails with an [`ErrorKind::Config`] error that was
    /// never sent (0 attempts).
    ///
    /// ```
    /// use payments_core::http::{Method, StatusCode};
    /// use payments_core::{HttpClient, NotActedOn, Operation, Request};
    ///
    /// // The provider's contract: a 401 is answered before the refund is looked at.
    /// const REFUND: Operation = Operation::not_idempotent("example", "refund")
    ///     .not_acted_on_when(&[StatusCode::UNAUTHORIZED]);
    ///
    /// async fn refund(client: &HttpClient, build: impl Fn() -> Request)
    ///     -> Result<payments_core::Response, payments_core::Error>
    /// {
    ///     let answer = client.execute(&REFUND, build()).await?;
    ///     let Some(proof) = NotActedOn::from_answer(&REFUND, &answer) else {
    ///         return Ok(answer); // acted on, or refused for another reason: never re-sent
    ///     };
    ///     // ... log in again here, then send the refund once more with the fresh session:
    ///     client.resend(&REFUND, proof, build()).await
    /// }
    /// ```
    pub fn resend<'a>(
        &'a self,
        operation: &'a Operation,
        proof: NotActedOn,
        request: Request,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'a {
        let refused = (!proof.proves(operation)).then(|| {
            let for_op = proof.operation();
            Error::config(format!(
                "a proof that {} {} was not acted on (status {}) cannot re-send {} {}",
                for_op.provider,
                for_op.name,
                proof.status(),
                operation.provider,
                operation.name
            ))
            .with_sent(false)
            .with_operation(operation.provider, operation.name)
        });
        let call = self.call(operation, request);
        async move {
            match refused {
                Some(err) => Err(err),
                None => call.await,
            }
        }
    }

    fn call<'a>(
        &'a self,
        operation: &'a Operation,
        request: Request,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'a {
        // OpenTelemetry's HTTP client names; `url.path` never carries the query.
        let span = tracing::info_span!(
            "payments.call",
            payments.provider = operation.provider,
            payments.operation = operation.name,
            http.request.method = %request.method,
            server.address = request.uri.host().unwrap_or(""),
            url.path = request.uri.path(),
            http.response.status_code = Empty,
            payments.attempts = Empty,
            payments.latency_ms = Empty,
        ); // Not an `async fn`: its future would keep a second copy of `request` beside `run`'s.
        self.run(operation, request, span.clone()).instrument(span)
    }

    /// One attempt's copy of the request, with the default headers.
    fn attempt(&self, request: &Request) -> Request {
        let headers = if self.default_headers.is_empty() {
            request.headers.clone()
        } else {
            let mut headers = self.default_headers.clone();
            overlay(&mut headers, &request.headers);
            headers
        };
        Request {
            method: request.method.clone(),
            uri: request.uri.clone(),
            headers,
            body: request.body.clone(),
        }
    }

    async fn run(
        &self,
        op: &Operation,
        request: Request,
        span: tracing::Span,
    ) -> Result<Response, Error> {
        self.attempts(op, &request, &span)
            .await
            .map_err(|e| e.with_operation(op.provider, op.name))
    }

    async fn attempts(
        &self,
        op: &Operation,
        request: &Request,
        span: &tracing::Span,
    ) -> Result<Response, Error> {
        // Recording into a disabled span still looks its field up by name: skip it.
        let recording = !span.is_disabled();
        let started = Instant::now();
        // A total too large to add (`Duration::MAX`) means no total deadline, never a panic.
        let deadline = started.checked_add(self.timeouts.total);
        let max = self.retry.max_attempts();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if recording {
                span.record("payments.attempts", attempt);
            }
            let now = Instant::now();
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
            if remaining.is_zero() {
                return Err(Error::new(ErrorKind::Timeout(TimeoutKind::Total))
                    .with_sent(attempt > 1)
                    .with_attempts(attempt - 1));
            }
            let (limit, which) = if self.timeouts.attempt < remaining {
                (self.timeouts.attempt, TimeoutKind::Attempt)
            } else {
                (remaining, TimeoutKind::Total)
            };
            let req = self.attempt(request);
            let outcome = match &self.transport {
                Backend::Http(t) => tokio::time::timeout(limit, t.dispatch(req)).await,
                Backend::Custom(t) => tokio::time::timeout(limit, t.send(req)).await,
            };
            let outcome = outcome.unwrap_or_else(|_| Err(Error::new(ErrorKind::Timeout(which))));
            if recording {
                span.record("payments.latency_ms", started.elapsed().as_millis() as u64);
                if let Ok(resp) = &outcome {
                    span.record("http.response.status_code", resp.status.as_u16());
                }
            }

            let decision = self.retry.classifier().classify(op, outcome.as_ref());
            let retry = match decision {
                RetryDecision::Final => None,
                RetryDecision::Retry { .. } if !may_send_again(op, &outcome) => {
                    tracing::debug!(attempt, "not idempotent and may have been acted on");
                    None
                }
                RetryDecision::Retry {
                    server_hint,
                    timeout,
                } => Some((server_hint, timeout)),
            };
            let Some((server_hint, after_timeout)) = retry else {
                if outcome.is_ok() {
                    if let Some(b) = self.retry.budget() {
                        b.record_success();
                    }
                    tracing::debug!(attempt, "call finished");
                }
                return outcome.map_err(|e| e.with_attempts(attempt));
            };

            let give_up = |outcome: Result<Response, Error>, why: &'static str| {
                tracing::debug!(attempt, why, "not retrying");
                match outcome {
                    Ok(resp) => Err(status_error(&resp).with_attempts(attempt)),
                    Err(e) => Err(e.with_attempts(attempt)),
                }
            };
            if attempt >= max {
                return give_up(outcome, "attempts exhausted");
            }
            let delay = self.retry.delay(attempt, server_hint);
            let resume = Instant::now().checked_add(delay);
            if deadline.is_some_and(|d| resume.is_none_or(|r| r >= d)) {
                return give_up(outcome, "the backoff would pass the total deadline");
            }
            if let Some(b) = self.retry.budget() {
                if !b.try_acquire(after_timeout) {
                    return give_up(outcome, "retry budget exhausted");
                }
            }
            match &outcome {
                Ok(resp) => tracing::debug!(
                    attempt,
                    status = resp.status.as_u16(),
                    delay_ms = delay.as_millis() as u64,
                    "transient status, retrying"
                ),
                Err(e) => tracing::debug!(
                    attempt,
                    error = %e,
                    delay_ms = delay.as_millis() as u64,
                    "attempt failed, retrying"
                ),
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// The guard: whether `op` may be sent again after `outcome`. An idempotent operation may; one
/// that is not only when the outcome proves it was not acted on: an error that was not sent,
/// or an answer whose status the operation declares as given before acting. Any other answer
/// (a transient status too) was sent.
fn may_send_again(op: &Operation, outcome: &Result<Response, Error>) -> bool {
    op.is_idempotent()
        || match outcome {
            Err(e) => !e.may_have_been_sent(),
            Ok(resp) => NotActedOn::from_answer(op, resp).is_some(),
        }
}

/// Puts `top`'s headers over `base`: a name in `top` replaces all of `base`'s values for it.
fn overlay(base: &mut HeaderMap, top: &HeaderMap) {
    for name in top.keys() {
        base.remove(name);
    }
    for (name, value) in top {
        base.append(name, value.clone());
    }
}

impl From<HttpTransport> for HttpClient {
    /// A client over the default transport, with the default policy and timeouts. The
    /// transport is called directly, without boxing each attempt's future.
    fn from(transport: HttpTransport) -> Self {
        HttpClient::over(Backend::Http(transport))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
    use http::{HeaderValue, Method, StatusCode};
    use std::sync::Mutex;

    /// Records the headers of every request it is given, and answers 200.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<HeaderMap>>);

    impl Transport for Recorder {
        fn send(&self, request: Request) -> crate::transport::BoxFuture<Result<Response, Error>> {
            self.0.lock().unwrap().push(request.headers);
            Box::pin(async {
                Ok(Response {
                    status: StatusCode::OK,
                    headers: HeaderMap::new(),
                    body: bytes::Bytes::new(),
                })
            })
        }
    }

    #[tokio::test]
    async fn the_builder_sends_the_crate_user_agent_unless_the_caller_names_one() {
        let op = Operation::idempotent("test", "op");
        let uri: http::Uri = "http://127.0.0.1:9/".parse().unwrap();
        let mut seen = Vec::new();
        for (product, user_agent) in [
            (None, None),
            (Some("kupikupi/9.9.9"), None),
            (Some("kupikupi/9.9.9"), Some("merchant-app/2")),
        ] {
            let recorder = Arc::new(Recorder::default());
            let mut b = HttpClient::builder().transport(recorder.clone());
            if let Some(p) = product {
                b = b.product(p);
            }
            if let Some(u) = user_agent {
                b = b.user_agent(u);
            }
            let client = b.build().unwrap();
            client
                .execute(&op, Request::new(Method::GET, uri.clone()))
                .await
                .unwrap();
            let headers = recorder.0.lock().unwrap().pop().unwrap();
            seen.push(headers[USER_AGENT].to_str().unwrap().to_owned());
        }
        assert_eq!(
            seen,
            [
                concat!("payments-core/", env!("CARGO_PKG_VERSION")),
                "kupikupi/9.9.9",
                "merchant-app/2"
            ]
        );
    }

    #[test]
    fn the_builder_refuses_what_cannot_work_and_lists_every_problem() {
        let e = HttpClient::builder()
            .timeouts(Timeouts::default().with_connect(Duration::ZERO))
            .transport(Arc::new(Recorder::default()))
            .max_body_bytes(1024)
            .user_agent("bad\nvalue")
            .build()
            .unwrap_err();
        for field in ["timeouts.connect", "transport", "user_agent"] {
            assert!(e.is_about(field), "{field}: {e}");
        }
        assert!(
            e.to_string()
                .contains("max_body_bytes must be set on the transport"),
            "{e}"
        );

        // A plain-http base needs the opt-in, and then only to loopback.
        let remote = BaseUrl::parse("http://kassa.example").unwrap();
        let local = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert!(HttpClient::builder()
            .base_url(local.clone())
            .build()
            .is_err());
        assert!(HttpClient::builder()
            .base_url(remote)
            .allow_plain_http_to_loopback()
            .build()
            .is_err());
        // With a root store to trust (without one, build() refuses for that reason).
        #[cfg(any(feature = "webpki-roots", feature = "native-roots"))]
        {
            let ok = HttpClient::builder()
                .base_url(local)
                .allow_plain_http_to_loopback()
                .build()
                .unwrap();
            assert_eq!(ok.base_url().unwrap().as_str(), "http://127.0.0.1:8080");
        }

        // A CA bundle without a certificate is named, not ignored.
        let e = HttpClient::builder()
            .trust_only_ca_pem(b"not a pem")
            .build()
            .unwrap_err();
        assert!(e.is_about("root_ca") || e.is_about("tls"), "{e}");
    }

    #[tokio::test]
    async fn a_total_or_a_backoff_too_large_to_add_never_panics() {
        let recorder = Arc::new(Recorder::default());
        let client = HttpClient::with_transport(recorder.clone())
            .with_timeouts(Timeouts::default().with_total(Duration::MAX))
            .with_retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::MAX, Duration::MAX)
                    .with_max_retry_after(Duration::MAX),
            );
        let op = Operation::idempotent("test", "op");
        let uri: http::Uri = "http://127.0.0.1:9/".parse().unwrap();
        let resp = client
            .execute(&op, Request::new(Method::GET, uri))
            .await
            .unwrap();
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(recorder.0.lock().unwrap().len(), 1);

        // A backoff too large to add to now ends the call with the last answer.
        struct Busy;
        impl Transport for Busy {
            fn send(&self, _: Request) -> crate::transport::BoxFuture<Result<Response, Error>> {
                Box::pin(async {
                    Ok(Response {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        headers: HeaderMap::new(),
                        body: bytes::Bytes::new(),
                    })
                })
            }
        }
        let client = HttpClient::with_transport(Arc::new(Busy))
            .with_timeouts(Timeouts::default().with_total(Duration::from_secs(10)))
            .with_retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::MAX, Duration::MAX)
                    .with_jitter_seed(1),
            );
        let uri: http::Uri = "http://127.0.0.1:9/".parse().unwrap();
        let err = client
            .execute(&op, Request::new(Method::GET, uri))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(err.attempts(), 1);
    }

    #[tokio::test]
    async fn default_headers_are_sent_and_a_request_header_wins() {
        let recorder = Arc::new(Recorder::default());
        let mut defaults = HeaderMap::new();
        defaults.insert(ACCEPT, HeaderValue::from_static("text/plain"));
        defaults.insert(USER_AGENT, HeaderValue::from_static("first"));
        let mut more = HeaderMap::new();
        more.insert(USER_AGENT, HeaderValue::from_static("second"));
        more.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let client = HttpClient::with_transport(recorder.clone())
            .with_default_headers(defaults)
            .with_default_headers(more);
        assert_eq!(client.default_headers().len(), 3);

        let op = Operation::idempotent("test", "op");
        let uri: http::Uri = "http://127.0.0.1:9/".parse().unwrap();
        client
            .execute(&op, Request::new(Method::GET, uri.clone()))
            .await
            .unwrap();
        let own = Request::new(Method::GET, uri)
            .with_header(ACCEPT, HeaderValue::from_static("application/json"))
            .with_header(ACCEPT, HeaderValue::from_static("text/html"));
        client.execute(&op, own).await.unwrap();

        let seen = recorder.0.lock().unwrap();
        assert_eq!(seen[0][ACCEPT], "text/plain");
        assert_eq!(seen[0][USER_AGENT], "second");
        assert_eq!(seen[0][CONTENT_TYPE], "application/json");
        let accept: Vec<_> = seen[1].get_all(ACCEPT).iter().collect();
        assert_eq!(accept, ["application/json", "text/html"]);
        assert_eq!(seen[1][USER_AGENT], "second");
    }
}
