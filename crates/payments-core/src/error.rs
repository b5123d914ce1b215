//! The error model shared by every provider crate.
//!
//! One [`Error`] type with an [`ErrorKind`]. Every error answers two questions a payment
//! integration has to ask after a failure:
//!
//! - [`Error::is_retryable`]: is the failure transient (a connect error, a timeout, 408, 429,
//!   502, 503, 504)?
//! - [`Error::may_have_been_sent`]: may the provider have received, and acted on, the request?
//!   When this is `true` for a call that is not idempotent (a payment creation, a refund), do not
//!   re-send it blindly: ask the provider for the status first.
//!
//! The `source()` chain is kept intact: the hyper, rustls or I/O error that caused a failure is
//! reachable through [`std::error::Error::source`]. The one exception is a JSON decode error:
//! serde_json's error quotes the value it could not use, so the chain holds a
//! [`crate::JsonError`] summary (where and why, no value) instead.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::timeouts::TimeoutKind;

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The TCP connection could not be established (refused, unreachable, DNS). Nothing was sent.
    Connect,
    /// TLS failed. [`Error::may_have_been_sent`] tells the two cases apart:
    ///
    /// - `false`: the handshake failed while connecting (an untrusted server certificate, no
    ///   common protocol), or the server refused our client certificate with one of the alerts
    ///   that TLS 1.3 sends before the server reads any request (`certificate_required`,
    ///   `bad_certificate`, `unknown_ca`, `access_denied`). Nothing was acted on.
    /// - `true`: any other TLS failure on an established connection (a corrupted record while
    ///   the answer was awaited, any other alert): the server may have acted on the request.
    ///
    /// An error built with [`Error::new`] defaults to `true`: only the transport, which saw the
    /// failure, can prove the request did not leave.
    Tls,
    /// The connection failed after it was established: a reset, an unexpected EOF, a protocol
    /// error, or under HTTP/2 a TLS error other than a client-certificate refusal (h2 keeps
    /// only an I/O error's text, not rustls' error). The request may have reached the server.
    Io,
    /// A timeout fired.
    Timeout(TimeoutKind),
    /// The server answered with a status that the operation does not accept.
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// A short excerpt of the body, with secret-looking fields redacted.
        excerpt: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The answer's body did not have the expected shape.
    Decode {
        /// What was expected, in words.
        expected: String,
        /// A short excerpt of what came, with secret-looking fields redacted.
        excerpt: String,
    },
    /// The answer's body was larger than the configured cap.
    BodyTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The client or the request was configured wrongly (a bad URL, an unreadable certificate).
    Config(String),
}

/// The error of every transport-level operation.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    may_have_been_sent: bool,
    attempts: u32,
    provider: Option<&'static str>,
    operation: Option<&'static str>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind`. Whether it may have been sent defaults from the kind: `Connect`,
    /// `Config` and a connect timeout were never sent; everything else, `Tls` included, may have
    /// been. When in doubt, "may have been sent" is true: a transport that can prove otherwise
    /// (a TLS handshake that failed while connecting) says so with [`Error::with_sent`].
    pub fn new(kind: ErrorKind) -> Self {
        let may_have_been_sent = !matches!(
            kind,
            ErrorKind::Connect | ErrorKind::Config(_) | ErrorKind::Timeout(TimeoutKind::Connect)
        );
        Error {
            inner: Box::new(Inner {
                kind,
                may_have_been_sent,
                attempts: 0,
                provider: None,
                operation: None,
                source: None,
            }),
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config(message.into()))
    }

    /// A decode error: `expected` says what was expected, `body` is what came (it is excerpted
    /// and redacted here).
    pub fn decode(expected: impl Into<String>, body: &[u8]) -> Self {
        Error::new(ErrorKind::Decode {
            expected: expected.into(),
            excerpt: crate::redact::excerpt(body),
        })
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Overrides whether the request may have reached the server.
    pub fn with_sent(mut self, may_have_been_sent: bool) -> Self {
        self.inner.may_have_been_sent = may_have_been_sent;
        self
    }

    /// Records the provider and operation the error belongs to (shown in `Display`).
    pub fn with_operation(mut self, provider: &'static str, operation: &'static str) -> Self {
        self.inner.provider = Some(provider);
        self.inner.operation = Some(operation);
        self
    }

    /// Records how many attempts were made.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// How many attempts were made before giving up (0 when no request was attempted).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The provider the failing call belonged to, if known.
    pub fn provider_name(&self) -> Option<&'static str> {
        self.inner.provider
    }

    /// The operation that failed, if known.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The HTTP status, for [`ErrorKind::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        match &self.inner.kind {
            ErrorKind::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Which timeout fired, for [`ErrorKind::Timeout`].
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        match &self.inner.kind {
            ErrorKind::Timeout(t) => Some(*t),
            _ => None,
        }
    }

    /// Whether the failure is transient, so that the same request could succeed later.
    ///
    /// This says nothing about safety: for a call that is not idempotent, also check
    /// [`Error::may_have_been_sent`].
    pub fn is_retryable(&self) -> bool {
        match &self.inner.kind {
            ErrorKind::Connect | ErrorKind::Io | ErrorKind::Timeout(_) => true,
            ErrorKind::Status { status, .. } => is_retryable_status(*status),
            ErrorKind::Tls
            | ErrorKind::Decode { .. }
            | ErrorKind::BodyTooLarge { .. }
            | ErrorKind::Config(_) => false,
        }
    }

    /// Whether the request may have reached the server. `false` only when the failure proves it
    /// did not (a refused connection, a TLS handshake that failed while connecting, a client
    /// certificate refused by a TLS 1.3 alert, a connect timeout, a bad config).
    ///
    /// [`crate::HttpClient`] never sends a call that is not idempotent again after a failure for
    /// which this is `true`, whatever its retry classifier says.
    pub fn may_have_been_sent(&self) -> bool {
        self.inner.may_have_been_sent
    }
}

/// Reads `Retry-After` as delay-seconds or as an HTTP date (relative to `now`): the
/// `retry_after` of an [`ErrorKind::Status`]. Public as [`crate::retry::retry_after`].
pub(crate) fn parse_retry_after(
    headers: &http::HeaderMap,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The statuses that are worth retrying: 408, 429, 502, 503 and 504.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("may_have_been_sent", &self.inner.may_have_been_sent)
            .field("attempts", &self.inner.attempts);
        if let Some(p) = self.inner.provider {
            d.field("provider", &p);
        }
        if let Some(o) = self.inner.operation {
            d.field("operation", &o);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(p), Some(o)) = (self.inner.provider, self.inner.operation) {
            write!(f, "{p} {o}: ")?;
        }
        match &self.inner.kind {
            ErrorKind::Connect => f.write_str("could not connect to the server")?,
            ErrorKind::Tls if self.inner.may_have_been_sent => {
                f.write_str("TLS failed after the connection was established")?
            }
            ErrorKind::Tls => f.write_str("TLS handshake failed")?,
            ErrorKind::Io => f.write_str("connection failed after it was established")?,
            ErrorKind::Timeout(which) => write!(f, "{which} timeout elapsed")?,
            ErrorKind::Status {
                status, excerpt, ..
            } => {
                write!(f, "unexpected HTTP status {status}")?;
                if !excerpt.is_empty() {
                    write!(f, ": {excerpt}")?;
                }
            }
            ErrorKind::Decode { expected, excerpt } => write!(
                f,
                "could not decode the answer: expected {expected}, got {excerpt:?}"
            )?,
            ErrorKind::BodyTooLarge { limit } => {
                write!(f, "the answer's body is larger than the {limit}-byte cap")?
            }
            ErrorKind::Config(m) => write!(f, "invalid configuration: {m}")?,
        }
        if self.inner.attempts > 1 {
            write!(f, " (after {} attempts)", self.inner.attempts)?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// A provider understood the request and refused it: the same shape in every provider crate,
/// with the provider's code type `C` (a number for Ktpay, text for Kupi-Kupi and Smart Pay).
///
/// A refusal proves the request reached the provider. Nothing in it is a secret: it holds what
/// the provider said, never what was sent.
///
/// ```
/// use payments_core::ProviderError;
/// use http::StatusCode;
///
/// let e = ProviderError::new("Ktpay", StatusCode::UNPROCESSABLE_ENTITY)
///     .with_code(4_220_103_u64)
///     .with_message("validation failed")
///     .with_detail("app_id", "unknown");
/// assert_eq!(e.code(), Some(&4_220_103));
/// assert_eq!(e.message(), "validation failed");
/// assert_eq!(
///     e.to_string(),
///     "Ktpay refused the request (HTTP 422) [4220103]: validation failed (app_id: unknown)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderError<C> {
    /// The provider's name, for messages (`Ktpay`, `Kupi-Kupi`, `Smart Pay`).
    pub provider: &'static str,
    /// The HTTP status of the answer.
    pub http_status: StatusCode,
    /// The provider's error code, when it sent one.
    pub code: Option<C>,
    /// The provider's messages, in the order it gave them.
    pub messages: Vec<String>,
    /// Messages about named fields or extra facts (`field → message`), in the order given.
    pub details: Vec<(String, String)>,
}

impl<C> ProviderError<C> {
    /// A refusal by `provider` with an answer of `http_status`, without code or messages yet.
    pub fn new(provider: &'static str, http_status: StatusCode) -> Self {
        ProviderError {
            provider,
            http_status,
            code: None,
            messages: Vec::new(),
            details: Vec::new(),
        }
    }

    /// Sets the code.
    pub fn with_code(mut self, code: C) -> Self {
        self.code = Some(code);
        self
    }

    /// Adds a message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.messages.push(message.into());
        self
    }

    /// Adds a `field → message` detail.
    pub fn with_detail(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.details.push((field.into(), message.into()));
        self
    }

    /// The code, when the provider sent one.
    pub fn code(&self) -> Option<&C> {
        self.code.as_ref()
    }

    /// The first message, or `""`.
    pub fn message(&self) -> &str {
        self.messages.first().map(String::as_str).unwrap_or("")
    }

    /// The first detail about `field`.
    pub fn detail(&self, field: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether the same request could succeed later: the provider answered with a transient
    /// HTTP status (408, 429, 502, 503, 504). A provider crate may know more from its codes.
    pub fn is_transient_status(&self) -> bool {
        is_retryable_status(self.http_status)
    }
}

impl<C: fmt::Display> fmt::Display for ProviderError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} refused the request (HTTP {})",
            self.provider,
            self.http_status.as_u16()
        )?;
        if let Some(c) = &self.code {
            write!(f, " [{c}]")?;
        }
        if !self.messages.is_empty() {
            write!(f, ": {}", self.messages.join("; "))?;
        }
        if !self.details.is_empty() {
            f.write_str(" (")?;
            for (i, (field, message)) in self.details.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{field}: {message}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl<C: fmt::Debug + fmt::Display> StdError for ProviderError<C> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_defaults_follow_the_kind() {
        assert!(!Error::new(ErrorKind::Connect).may_have_been_sent());
        // When in doubt, it may have been sent: only the transport can prove a TLS failure
        // came before the request left.
        assert!(Error::new(ErrorKind::Tls).may_have_been_sent());
        assert!(!Error::new(ErrorKind::Tls)
            .with_sent(false)
            .may_have_been_sent());
        assert!(!Error::new(ErrorKind::Timeout(TimeoutKind::Connect)).may_have_been_sent());
        assert!(Error::new(ErrorKind::Io).may_have_been_sent());
        assert!(Error::new(ErrorKind::Timeout(TimeoutKind::Attempt)).may_have_been_sent());
        assert!(!Error::config("x").may_have_been_sent());
    }

    #[test]
    fn a_tls_error_says_whether_it_came_before_the_request() {
        assert_eq!(
            Error::new(ErrorKind::Tls).to_string(),
            "TLS failed after the connection was established"
        );
        assert_eq!(
            Error::new(ErrorKind::Tls).with_sent(false).to_string(),
            "TLS handshake failed"
        );
    }

    #[test]
    fn retryable_statuses() {
        for s in [408u16, 429, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [200u16, 400, 401, 404, 500, 501] {
            assert!(!is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
    }

    #[test]
    fn display_names_operation_and_timeout() {
        let e = Error::new(ErrorKind::Timeout(TimeoutKind::Total))
            .with_operation("kupikupi", "init")
            .with_attempts(3);
        assert_eq!(
            e.to_string(),
            "kupikupi init: total timeout elapsed (after 3 attempts)"
        );
        assert_eq!(e.timeout_kind(), Some(TimeoutKind::Total));
    }

    #[test]
    fn source_chain_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let e = Error::new(ErrorKind::Io).with_source(io);
        let src = e.source().expect("source");
        assert!(src.downcast_ref::<std::io::Error>().is_some());
    }
}
