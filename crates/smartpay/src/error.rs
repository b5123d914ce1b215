//! The crate's [`Error`].

use http::StatusCode;

use crate::generated::models::{MissingField, PurchaseStatus, RefundStatus};
use crate::qr::QrError;

/// Everything a Smart Pay call can fail with.
///
/// Integration failures (transport, TLS, timeouts, undecodable answers) are
/// [`Error::Transport`]; refusals by the service are [`Error::Provider`]; outcomes of the payment
/// flow are [`Error::PurchaseNotSuccessful`] and [`Error::RefundNotSuccessful`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call failed below the API: connect, TLS (e.g. the client certificate was refused),
    /// I/O, a timeout, a transient status after the last attempt, or an undecodable answer.
    #[error(transparent)]
    Transport(#[from] payments_core::Error),
    /// The service answered with an error (any non-2xx status with the common error body).
    #[error("smart pay refused the call ({status}): {code}: {message}")]
    Provider {
        /// The HTTP status.
        status: StatusCode,
        /// The service's error code (see `/v1/error_answers`).
        code: String,
        /// The service's message.
        message: String,
    },
    /// The service still answered 401 after one fresh authentication.
    #[error("smart pay refused the credentials or the auth cookie (401 after re-authentication)")]
    Unauthorized,
    /// `/v1/auth` answered without setting a cookie.
    #[error("smart pay /v1/auth answered without a Set-Cookie header")]
    NoAuthCookie,
    /// The client has no credentials for `/v1/auth`.
    #[error("no credentials configured: call ClientBuilder::credentials")]
    NoCredentials,
    /// A QR code was malformed.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// A request builder was missing a required field.
    #[error("invalid request: {0}")]
    MissingField(#[from] MissingField),
    /// A caller-supplied value was invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The purchase ended in a status other than success.
    #[error("purchase {purchase_id} ended as {status}")]
    PurchaseNotSuccessful {
        /// The service's purchase id.
        purchase_id: String,
        /// The final status.
        status: PurchaseStatus,
        /// The service's reason, if it gave one.
        reason: Option<String>,
    },
    /// The refund ended in a status other than success.
    #[error("refund {refund_id} ended as {status}")]
    RefundNotSuccessful {
        /// The service's refund id.
        refund_id: String,
        /// The final status.
        status: RefundStatus,
        /// The service's reason, if it gave one.
        reason: Option<String>,
    },
    /// Polling reached its deadline before a final status.
    #[error("no final status before the deadline (last status: {last_status})")]
    DeadlineElapsed {
        /// The last status seen.
        last_status: String,
    },
}

impl Error {
    /// Whether the failure is transient (a retry of the same call could succeed).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_retryable(),
            Error::Provider { status, .. } => payments_core::error::is_retryable_status(*status),
            Error::DeadlineElapsed { .. } => true,
            _ => false,
        }
    }

    /// Whether the request may have reached the service. When it may have, do not re-send a
    /// release or a refund: ask for its status instead.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_been_sent(),
            Error::Provider { .. }
            | Error::Unauthorized
            | Error::NoAuthCookie
            | Error::PurchaseNotSuccessful { .. }
            | Error::RefundNotSuccessful { .. }
            | Error::DeadlineElapsed { .. } => true,
            Error::NoCredentials
            | Error::Qr(_)
            | Error::MissingField(_)
            | Error::InvalidArgument(_) => false,
        }
    }

    /// The service's error code, for [`Error::Provider`].
    pub fn provider_code(&self) -> Option<&str> {
        match self {
            Error::Provider { code, .. } => Some(code),
            _ => None,
        }
    }
}
