//! The crate's [`Error`].

use http::StatusCode;

use crate::generated::models::{MissingField, PurchaseStatus, RefundStatus};
use crate::qr::QrError;

/// Everything a Smart Pay call can fail with.
///
/// A refused configuration is [`Error::Config`] (nothing was sent); integration failures
/// (transport, TLS, timeouts, undecodable answers) are [`Error::Transport`]; refusals by the
/// service are [`Error::Provider`]; a flow step taken out of turn is
/// [`Error::PurchaseNotSuccessful`] or [`Error::RefundNotSuccessful`].
///
/// No variant quotes a secret or a value of an answer's body: a decode error describes the
/// body's shape (its field names and value types), never its values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// [`ClientBuilder::build`](crate::ClientBuilder::build) refused the configuration: plain
    /// `http://` without the opt-in, a client certificate over plain http, a bad base URL, an
    /// unreadable certificate, key or CA. Nothing was sent.
    #[error(transparent)]
    Config(payments_core::Error),
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
    /// `/v1/auth` answered 2xx without setting a cookie.
    #[error("smart pay /v1/auth answered without setting a cookie")]
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
    /// A purchase was to be confirmed, but polling did not see `success`; nothing was sent.
    #[error("purchase {purchase_id} is not known to be paid (last status seen: {})", seen(.status))]
    PurchaseNotSuccessful {
        /// The service's purchase id.
        purchase_id: String,
        /// The last status seen, if any.
        status: Option<PurchaseStatus>,
        /// The service's reason, if it gave one.
        reason: Option<String>,
    },
    /// A refund was to be confirmed, but polling did not see `success`; nothing was sent.
    #[error("refund {refund_id} is not known to be done (last status seen: {})", seen(.status))]
    RefundNotSuccessful {
        /// The service's refund id.
        refund_id: String,
        /// The last status seen, if any.
        status: Option<RefundStatus>,
        /// The service's reason, if it gave one.
        reason: Option<String>,
    },
    /// Polling reached its deadline while the status was still pending (`committed` or
    /// `processing`). The purchase or refund may still succeed: poll again later (see
    /// [`Client::resume_purchase`](crate::Client::resume_purchase)).
    #[error("still {last_status} when the deadline passed")]
    DeadlineElapsed {
        /// The last status seen.
        last_status: String,
    },
}

fn seen(status: &Option<impl std::fmt::Display>) -> String {
    status
        .as_ref()
        .map_or_else(|| "none".to_owned(), ToString::to_string)
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
            | Error::DeadlineElapsed { .. } => true,
            // Refused by the flow before any call.
            Error::PurchaseNotSuccessful { .. }
            | Error::RefundNotSuccessful { .. }
            | Error::Config(_)
            | Error::NoCredentials
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
