//! [`HttpClient`]: a [`Transport`] with timeouts, retries and tracing around it.
//!
//! This is the outbound path every provider crate shares: the provider builds and signs a
//! [`Request`], then [`HttpClient::execute`] sends it, classifies the outcome, retries when the
//! policy allows, and hands back the [`Response`] for the provider to decode.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::retry::{Operation, RetryDecision, RetryPolicy};
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
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    timeouts: Timeouts,
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
        Ok(HttpClient::with_transport(Arc::new(transport)))
    }

    /// A client over any transport, with the default policy and timeouts.
    pub fn with_transport(transport: Arc<dyn Transport>) -> Self {
        HttpClient {
            transport,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
        }
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
    pub async fn execute(
        &self,
        operation: &Operation,
        request: Request,
    ) -> Result<Response, Error> {
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
        self.run(operation, request)
            .instrument(span)
            .await
            .map_err(|e| e.with_operation(operation.provider, operation.name))
    }

    async fn run(&self, op: &Operation, request: Request) -> Result<Response, Error> {
        let span = tracing::Span::current();
        let started = Instant::now();
        let deadline = started + self.timeouts.total;
        let max = self.retry.max_attempts();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let now = Instant::now();
            let remaining = deadline.saturating_duration_since(now);
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
            let req = request.clone();
            let outcome = match tokio::time::timeout(limit, self.transport.send(req)).await {
                Ok(r) => r,
                Err(_) => Err(Error::new(ErrorKind::Timeout(which))),
            };
            let latency = started.elapsed();
            span.record("latency_ms", latency.as_millis() as u64);
            if let Ok(resp) = &outcome {
                span.record("status", resp.status.as_u16());
            }

            let decision = self.retry.classifier().classify(op, outcome.as_ref());
            let retry = match decision {
                RetryDecision::Final => None,
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
            if Instant::now() + delay >= deadline {
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
