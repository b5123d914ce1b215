//! Retries: a [`RetryClassifier`] decides whether a failed attempt may be retried, and a
//! [`RetryPolicy`] decides when and how often.
//!
//! The defaults follow the smithy runtime: at most 3 attempts in all, capped exponential backoff
//! with full jitter (`random(0 ..= min(max_backoff, initial * 2^(n-1)))`), a server's
//! `Retry-After` honoured but clamped, and an optional [`RetryBudget`] (a token bucket shared by
//! every call of a client) that stops retry storms.
//!
//! A request is retried only when its [`Operation`] is [`Idempotency::Idempotent`], or when the
//! failure proves that the request was not acted on: an error with
//! [`Error::may_have_been_sent`] `false` (a refused connection, a TLS handshake that failed while
//! connecting, a connect timeout), or an answer whose status the operation declares as given
//! before acting ([`Operation::not_acted_on_when`], proved by a [`NotActedOn`]). A payment
//! creation that timed out after it was written is therefore never re-sent.
//!
//! The classifier proposes, [`crate::HttpClient`] disposes: its guard refuses a retry that the
//! rule above forbids, whatever a custom [`RetryClassifier`] says.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::error::{is_retryable_status, Error, ErrorKind};
use crate::timeouts::TimeoutKind;
use crate::transport::Response;

/// Whether an operation may safely be sent more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// Sending it twice has the same effect as sending it once (a status read, a ping).
    Idempotent,
    /// Sending it twice may act twice (a payment, a refund, a release).
    NotIdempotent,
}

/// A named provider operation: what tracing shows, whether it may be retried after it may
/// have reached the server, and which answers prove that it was not acted on.
///
/// Built with [`Operation::idempotent`] or [`Operation::not_idempotent`], usually as a
/// constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The provider, e.g. `"kupikupi"`.
    pub provider: &'static str,
    /// The operation, e.g. `"init"`.
    pub name: &'static str,
    /// Whether it is idempotent.
    pub idempotency: Idempotency,
    /// The statuses that by the provider's contract are answered before the call is acted on.
    not_acted_on: &'static [StatusCode],
}

impl Operation {
    /// An idempotent operation.
    pub const fn idempotent(provider: &'static str, name: &'static str) -> Self {
        Operation {
            provider,
            name,
            idempotency: Idempotency::Idempotent,
            not_acted_on: &[],
        }
    }

    /// An operation that must not be sent twice.
    pub const fn not_idempotent(provider: &'static str, name: &'static str) -> Self {
        Operation {
            provider,
            name,
            idempotency: Idempotency::NotIdempotent,
            not_acted_on: &[],
        }
    }

    /// Declares the statuses that, by the provider's contract, are answered **before** the call
    /// is acted on (Smart Pay answers 401 to a call whose session cookie expired, before it
    /// looks at the call). An answer with one of them is the only way to build a
    /// [`NotActedOn`] proof, and that proof the only way to send a call that is not idempotent
    /// again once it was answered ([`crate::HttpClient::resend`]).
    ///
    /// Declare only what the provider's contract promises: a status declared here lets a
    /// refund be sent twice.
    ///
    /// ```
    /// use payments_core::http::StatusCode;
    /// use payments_core::Operation;
    ///
    /// const REFUND: Operation = Operation::not_idempotent("smartpay", "refund")
    ///     .not_acted_on_when(&[StatusCode::UNAUTHORIZED]);
    /// assert!(REFUND.is_not_acted_on(StatusCode::UNAUTHORIZED));
    /// assert!(!REFUND.is_not_acted_on(StatusCode::FORBIDDEN));
    /// ```
    pub const fn not_acted_on_when(mut self, statuses: &'static [StatusCode]) -> Self {
        self.not_acted_on = statuses;
        self
    }

    /// The statuses declared with [`Operation::not_acted_on_when`].
    pub const fn not_acted_on_statuses(&self) -> &'static [StatusCode] {
        self.not_acted_on
    }

    /// Whether `status` is one the operation declares as answered before the call is acted on.
    pub fn is_not_acted_on(&self, status: StatusCode) -> bool {
        self.not_acted_on.contains(&status)
    }

    /// Whether the operation is idempotent.
    pub const fn is_idempotent(&self) -> bool {
        matches!(self.idempotency, Idempotency::Idempotent)
    }
}

/// The proof that an answer to an [`Operation`] was given before the call was acted on: its
/// status is one the operation declares so ([`Operation::not_acted_on_when`]).
///
/// Only [`NotActedOn::from_answer`] builds one, and [`crate::HttpClient::resend`] takes it by
/// value: one proof, one more sending of the same operation. It is neither `Clone` nor
/// `Copy`.
///
/// ```
/// use payments_core::http::{Method, StatusCode};
/// use payments_core::{bytes::Bytes, NotActedOn, Operation, Response};
///
/// const RELEASE: Operation = Operation::not_idempotent("smartpay", "release")
///     .not_acted_on_when(&[StatusCode::UNAUTHORIZED]);
/// const REFUND: Operation = Operation::not_idempotent("smartpay", "refund")
///     .not_acted_on_when(&[StatusCode::UNAUTHORIZED]);
///
/// let answer = |status| Response::new(status, Default::default(), Bytes::new());
/// let proof = NotActedOn::from_answer(&RELEASE, &answer(StatusCode::UNAUTHORIZED)).unwrap();
/// assert_eq!(proof.status(), StatusCode::UNAUTHORIZED);
/// assert!(proof.proves(&RELEASE));
/// assert!(!proof.proves(&REFUND), "a proof is for its own operation only");
/// // Any other answer may have been acted on: no proof.
/// assert!(NotActedOn::from_answer(&RELEASE, &answer(StatusCode::OK)).is_none());
/// assert!(NotActedOn::from_answer(&RELEASE, &answer(StatusCode::BAD_GATEWAY)).is_none());
/// ```
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a proof is only worth something when it is given to HttpClient::resend"]
pub struct NotActedOn {
    operation: Operation,
    status: StatusCode,
}

impl NotActedOn {
    /// The proof that `answer`, an answer to `operation`, was given before the call was acted
    /// on: `Some` only when `operation` declares the answer's status so.
    pub fn from_answer(operation: &Operation, answer: &Response) -> Option<NotActedOn> {
        operation
            .is_not_acted_on(answer.status)
            .then_some(NotActedOn {
                operation: *operation,
                status: answer.status,
            })
    }

    /// The status of the answer that proved it.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The operation it was built for.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// Whether it proves that a call of `operation` was not acted on: it was built for that
    /// very operation (same provider, name, idempotency and declared statuses), and the
    /// operation declares its status.
    pub fn proves(&self, operation: &Operation) -> bool {
        self.operation == *operation && operation.is_not_acted_on(self.status)
    }
}

/// The classifier's verdict on one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Keep the outcome: a success, or a failure that retrying will not fix or that is not safe
    /// to retry.
    Final,
    /// Retry, after the policy's backoff or after the server's hint (from `Retry-After`).
    Retry {
        /// The server's requested delay, if it gave one.
        server_hint: Option<Duration>,
        /// Whether the failure was a timeout (it costs more of the retry budget).
        timeout: bool,
    },
}

/// Decides whether one attempt's outcome may be retried. Replace it to change what is retried;
/// the policy still bounds how often and when.
///
/// A classifier cannot make [`crate::HttpClient`] send a call that is not idempotent again
/// once it may have been acted on: the client's guard turns such a `Retry` into `Final` (see
/// [`crate::HttpClient::execute`]).
pub trait RetryClassifier: Send + Sync + fmt::Debug {
    /// Classifies the outcome of one attempt of `operation`.
    fn classify(&self, operation: &Operation, outcome: Result<&Response, &Error>) -> RetryDecision;
}

/// The default classifier.
///
/// - A refused connection or a connect timeout: retry (nothing was sent).
/// - A TLS failure: final (a refused certificate does not heal; a corrupted record on an
///   established connection may have been acted on).
/// - An I/O failure or a per-attempt timeout: retry only if the operation is idempotent.
/// - 408, 429, 502, 503, 504: retry only if the operation is idempotent, honouring `Retry-After`.
/// - Anything else: final.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultClassifier;

impl RetryClassifier for DefaultClassifier {
    fn classify(&self, op: &Operation, outcome: Result<&Response, &Error>) -> RetryDecision {
        match outcome {
            Ok(resp) => {
                if op.is_idempotent() && is_retryable_status(resp.status) {
                    RetryDecision::Retry {
                        server_hint: retry_after(&resp.headers, SystemTime::now()),
                        timeout: false,
                    }
                } else {
                    RetryDecision::Final
                }
            }
            Err(err) => {
                let timeout = matches!(err.kind(), ErrorKind::Timeout(_));
                let transient = match err.kind() {
                    ErrorKind::Connect | ErrorKind::Io => true,
                    ErrorKind::Timeout(TimeoutKind::Connect | TimeoutKind::Attempt) => true,
                    ErrorKind::Status { status, .. } => is_retryable_status(*status),
                    _ => false,
                };
                // A TLS failure is final: a certificate that was refused once will be refused
                // again.
                if transient && (op.is_idempotent() || !err.may_have_been_sent()) {
                    let server_hint = match err.kind() {
                        ErrorKind::Status { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    RetryDecision::Retry {
                        server_hint,
                        timeout,
                    }
                } else {
                    RetryDecision::Final
                }
            }
        }
    }
}

/// Reads `Retry-After` as delay-seconds or as an HTTP date (relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    crate::error::parse_retry_after(headers, now)
}

/// A token bucket shared by every call of a client. Each retry withdraws tokens; each success
/// puts one back. When the bucket is empty, failures are returned at once instead of retried,
/// which stops a struggling provider from being hammered.
#[derive(Debug)]
pub struct RetryBudget {
    tokens: AtomicU32,
    capacity: u32,
    retry_cost: u32,
    timeout_cost: u32,
    success_refill: u32,
}

impl RetryBudget {
    /// A budget of `capacity` tokens where a retry costs 5, a retry after a timeout costs 10, and
    /// a success refills 1 (smithy's standard values with `capacity = 500`).
    pub fn new(capacity: u32) -> Self {
        RetryBudget::with_costs(capacity, 5, 10, 1)
    }

    /// A budget with explicit costs.
    pub fn with_costs(capacity: u32, retry_cost: u32, timeout_cost: u32, refill: u32) -> Self {
        RetryBudget {
            tokens: AtomicU32::new(capacity),
            capacity,
            retry_cost,
            timeout_cost,
            success_refill: refill,
        }
    }

    /// The tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Relaxed)
    }

    /// Takes the cost of one retry, or returns `false` when the bucket cannot pay it.
    pub fn try_acquire(&self, after_timeout: bool) -> bool {
        let cost = if after_timeout {
            self.timeout_cost
        } else {
            self.retry_cost
        };
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Puts back the refill for a success.
    pub fn record_success(&self) {
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(self.success_refill).min(self.capacity))
            });
    }
}

/// When and how often to retry.
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    budget: Option<Arc<RetryBudget>>,
    classifier: Arc<dyn RetryClassifier>,
    rng: Arc<Mutex<crate::jitter::Rng>>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("budget", &self.budget)
            .field("classifier", &self.classifier)
            .finish()
    }
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff from 200 ms capped at 5 s with full jitter, `Retry-After` clamped to
    /// 20 s, no budget, the [`DefaultClassifier`].
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(20),
            budget: None,
            classifier: Arc::new(DefaultClassifier),
            rng: Arc::new(Mutex::new(crate::jitter::Rng::new())),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy::default().with_max_attempts(1)
    }

    /// Sets the number of attempts in all (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first backoff and its cap.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the longest `Retry-After` that is honoured; longer hints are clamped to it.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Shares a retry budget between calls.
    pub fn with_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Replaces the classifier.
    pub fn with_classifier(mut self, classifier: Arc<dyn RetryClassifier>) -> Self {
        self.classifier = classifier;
        self
    }

    /// Seeds the jitter, so that backoff delays are reproducible in tests.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.rng = Arc::new(Mutex::new(crate::jitter::Rng::with_seed(seed)));
        self
    }

    /// The number of attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The classifier.
    pub fn classifier(&self) -> &dyn RetryClassifier {
        &*self.classifier
    }

    /// The budget, if any.
    pub fn budget(&self) -> Option<&Arc<RetryBudget>> {
        self.budget.as_ref()
    }

    /// The ceiling of the backoff before retry number `retry` (1 for the first retry).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The delay before retry number `retry`: full jitter over [`RetryPolicy::backoff_cap`], or
    /// the server's hint clamped to the maximum `Retry-After`.
    pub fn delay(&self, retry: u32, server_hint: Option<Duration>) -> Duration {
        if let Some(hint) = server_hint {
            return hint.min(self.max_retry_after);
        }
        // Whole milliseconds: the resolution of tokio's timer, so a seeded delay is exact.
        let cap = self.backoff_cap(retry);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        let ms = match self.rng.lock() {
            Ok(mut rng) => rng.up_to(cap_ms),
            Err(poisoned) => poisoned.into_inner().up_to(cap_ms),
        };
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn resp(status: u16, retry_after: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(http::header::RETRY_AFTER, v.parse().unwrap());
        }
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::new(),
        }
    }

    const IDEM: Operation = Operation::idempotent("p", "status");
    const NONIDEM: Operation = Operation::not_idempotent("p", "create");

    #[test]
    fn classifier_respects_idempotency() {
        let c = DefaultClassifier;
        let r503 = resp(503, Some("2"));
        assert_eq!(
            c.classify(&IDEM, Ok(&r503)),
            RetryDecision::Retry {
                server_hint: Some(Duration::from_secs(2)),
                timeout: false
            }
        );
        assert_eq!(c.classify(&NONIDEM, Ok(&r503)), RetryDecision::Final);
        assert_eq!(
            c.classify(&IDEM, Ok(&resp(500, None))),
            RetryDecision::Final
        );
        assert_eq!(
            c.classify(&IDEM, Ok(&resp(200, None))),
            RetryDecision::Final
        );

        let refused = Error::new(ErrorKind::Connect);
        assert!(matches!(
            c.classify(&NONIDEM, Err(&refused)),
            RetryDecision::Retry { .. }
        ));
        let reset = Error::new(ErrorKind::Io);
        assert_eq!(c.classify(&NONIDEM, Err(&reset)), RetryDecision::Final);
        assert!(matches!(
            c.classify(&IDEM, Err(&reset)),
            RetryDecision::Retry { .. }
        ));
        let slow = Error::new(ErrorKind::Timeout(TimeoutKind::Attempt));
        assert_eq!(c.classify(&NONIDEM, Err(&slow)), RetryDecision::Final);
        let total = Error::new(ErrorKind::Timeout(TimeoutKind::Total));
        assert_eq!(c.classify(&IDEM, Err(&total)), RetryDecision::Final);
        let decode = Error::decode("json", b"x");
        assert_eq!(c.classify(&IDEM, Err(&decode)), RetryDecision::Final);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(http::header::RETRY_AFTER, later.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        h.insert(http::header::RETRY_AFTER, past.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn backoff_is_capped_jittered_and_seeded() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1000))
            .with_jitter_seed(7);
        assert_eq!(p.backoff_cap(1), Duration::from_millis(100));
        assert_eq!(p.backoff_cap(2), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(5), Duration::from_millis(1000));
        assert_eq!(p.backoff_cap(80), Duration::from_millis(1000));
        let a: Vec<_> = (1..6).map(|r| p.delay(r, None)).collect();
        let q = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1000))
            .with_jitter_seed(7);
        let b: Vec<_> = (1..6).map(|r| q.delay(r, None)).collect();
        assert_eq!(a, b);
        for (i, d) in a.iter().enumerate() {
            assert!(*d <= p.backoff_cap(i as u32 + 1));
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn budget_drains_and_refills() {
        let b = RetryBudget::with_costs(10, 5, 10, 1);
        assert!(b.try_acquire(false));
        assert!(b.try_acquire(false));
        assert!(!b.try_acquire(false));
        b.record_success();
        assert_eq!(b.available(), 1);
        for _ in 0..100 {
            b.record_success();
        }
        assert_eq!(b.available(), 10);
        assert!(b.try_acquire(true));
        assert!(!b.try_acquire(true));
    }
}
