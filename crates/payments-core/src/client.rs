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

use http::HeaderMap;
use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::retry::{NotActedOn, Operation, RetryDecision, RetryPolicy};
use crate::transport::{status_error, HttpTransport, Request, Response, Transport};

/// The three timeouts. Each one that fires is named in the error
/// ([`ErrorKind::Timeout`] with a [`TimeoutKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP connection (applied by [`HttpTransport`]). Default 10 s.
    pub connect: Duration,
    /// One attempt: sending the request and reading the whole answer. Default 30 s.
    pub attempt: Duration,
    /// The whole call, across all attempts and backoff. Default 60 s.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(30),
            total: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    pub fn with_connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }
    /// Sets the per-attempt timeout.
    pub fn with_attempt(mut self, d: Duration) -> Self {
        self.attempt = d;
        self
    }
    /// Sets the total timeout.
    pub fn with_total(mut self, d: Duration) -> Self {
        self.total = d;
        self
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
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        if self.default_headers.is_empty() {
            // Room for a few request headers and those hyper adds, without growing.
            self.default_headers.reserve(headers.len() + 4);
        }
        overlay(&mut self.default_headers, &headers);
        self
    }

    /// The headers added to every request.
    pub fn default_header_map(&self) -> &HeaderMap {
        &self.default_headers
    }

    /// Replaces the retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Replaces the timeouts. The connect timeout only applies to a transport built with it
    /// (see [`crate::TransportBuilder::connect_timeout`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The timeouts.
    pub fn timeout_settings(&self) -> Timeouts {
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
        let span = tracing::info_span!(
            "payments.call",
            provider = operation.provider,
            operation = operation.name,
            method = %request.method,
            host = request.uri.host().unwrap_or(""),
            attempt = Empty,
            status = Empty,
            latency_ms = Empty,
        );
        // Not an `async fn`: its future would keep a second copy of `request` beside `run`'s.
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
                span.record("attempt", attempt);
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
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                if let Ok(resp) = &outcome {
                    span.record("status", resp.status.as_u16());
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
    async fn a_total_or_a_backoff_too_large_to_add_never_panics() {
        let recorder = Arc::new(Recorder::default());
        let client = HttpClient::with_transport(recorder.clone())
            .timeouts(Timeouts::default().with_total(Duration::MAX))
            .retry_policy(
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
            .timeouts(Timeouts::default().with_total(Duration::from_secs(10)))
            .retry_policy(
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
            .default_headers(defaults)
            .default_headers(more);
        assert_eq!(client.default_header_map().len(), 3);

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
