//! The crate's [`Error`], on the template every provider crate shares.

use crate::model::{PurchaseStatus, RefundStatus};

/// A refusal by Smart Pay: core's [`payments_core::ProviderError`] with the service's error code
/// (a text, see `/v1/error_answers`) as its code.
pub type ProviderError = payments_core::ProviderError<String>;

/// Everything a Smart Pay call can fail with.
///
/// - [`Error::Invalid`]: a refused configuration or argument (the builder's settings, a QR
///   payload, a kassa id, a request without a required field, a call that needs credentials
///   on a client without them). Nothing was sent.
/// - [`Error::Transport`]: the call failed below the API (connect, TLS, e.g. a refused client
///   certificate, I/O, a timeout, a transient status after the last attempt, an undecodable
///   answer, a `/v1/auth` answer that set no cookie).
/// - [`Error::Provider`]: the service refused the call (any non-2xx answer with the common error
///   body, and a 401 that persists after one fresh login).
/// - Three outcomes that carry money state the caller must act on:
///   [`Error::PurchaseNotSuccessful`], [`Error::RefundNotSuccessful`] (a confirmation refused
///   by the SDK, nothing sent) and [`Error::DeadlineElapsed`] (still pending: poll again later).
///
/// No variant quotes a secret or a value of an answer's body: a decode error describes the
/// body's shape (its field names and value types), never its values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call failed below the API: connect, TLS, I/O, a timeout, a transient status after the
    /// last attempt, or an undecodable answer.
    #[error(transparent)]
    Transport(#[from] payments_core::Error),
    /// The service refused the call: its status, code and message. A 401 that persists after one
    /// fresh login (the credentials or the client certificate's kassa are refused) is one too,
    /// without a code.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A configuration or an argument was refused before anything was sent.
    #[error(transparent)]
    Invalid(#[from] payments_core::Invalid),
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
    /// Whether the failure is transient (the same call could succeed later): core's answer for
    /// a transport failure, a transient HTTP status (408, 429, 502, 503, 504) for a refusal
    /// (Smart Pay documents no transient error codes), and a deadline that passed while still
    /// pending. Never for [`Error::Invalid`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_retryable(),
            Error::Provider(e) => e.is_transient_status(),
            Error::DeadlineElapsed { .. } => true,
            Error::Invalid(_)
            | Error::PurchaseNotSuccessful { .. }
            | Error::RefundNotSuccessful { .. } => false,
        }
    }

    /// Whether the request may have reached the service. When it may have, do not re-send a
    /// commit, a release, a refund or a receipt: ask for its status instead.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_been_sent(),
            Error::Provider(_) | Error::DeadlineElapsed { .. } => true,
            // Refused before any call.
            Error::Invalid(_)
            | Error::PurchaseNotSuccessful { .. }
            | Error::RefundNotSuccessful { .. } => false,
        }
    }

    /// The service's refusal, for [`Error::Provider`].
    pub fn provider(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider(e) => Some(e),
            _ => None,
        }
    }

    /// The transport failure, for [`Error::Transport`].
    pub fn transport(&self) -> Option<&payments_core::Error> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// The refused configuration or argument, for [`Error::Invalid`].
    pub fn invalid(&self) -> Option<&payments_core::Invalid> {
        match self {
            Error::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn the_template_answers_the_same_questions_as_every_provider_crate() {
        let refused = Error::from(
            ProviderError::new("Smart Pay", StatusCode::CONFLICT)
                .with_code("already_released".to_owned())
                .with_message("released twice"),
        );
        assert!(refused.may_have_been_sent() && !refused.is_retryable());
        assert_eq!(
            refused
                .provider()
                .and_then(|p| p.code())
                .map(String::as_str),
            Some("already_released")
        );
        assert!(refused.transport().is_none() && refused.invalid().is_none());

        let busy = Error::from(ProviderError::new(
            "Smart Pay",
            StatusCode::SERVICE_UNAVAILABLE,
        ));
        assert!(busy.is_retryable() && busy.may_have_been_sent());

        let invalid = Error::from(payments_core::Invalid::new("kassa_id", "is empty"));
        assert!(!invalid.is_retryable() && !invalid.may_have_been_sent());
        assert!(invalid.invalid().unwrap().is_about("kassa_id"));

        let late = Error::DeadlineElapsed {
            last_status: "processing".into(),
        };
        assert!(late.is_retryable() && late.may_have_been_sent());
        let refused_by_us = Error::PurchaseNotSuccessful {
            purchase_id: "p-1".into(),
            status: Some(PurchaseStatus::Declined),
            reason: None,
        };
        assert!(!refused_by_us.is_retryable() && !refused_by_us.may_have_been_sent());
    }
}
