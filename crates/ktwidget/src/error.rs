//! Errors: integration failures (transport, decode) are kept apart from Ktpay's refusals
//! ([`ProviderError`]) and from the caller's own mistakes ([`ValidationError`], [`KeyError`]).

use std::collections::BTreeMap;
use std::fmt;

use http::StatusCode;

use crate::keys::KeyError;
use crate::model::ValidationError;

/// Known Ktpay error codes.
pub mod codes {
    /// Unknown `app_id` (`Auth-Identifier`).
    pub const UNKNOWN_APP: u64 = 4_010_103;
    /// Validation or data format.
    pub const VALIDATION: u64 = 4_220_002;
    /// Validation or data format.
    pub const DATA_FORMAT: u64 = 4_220_101;
    /// Wrong encryption type: the body did not open with the app's key.
    pub const WRONG_ENCRYPTION: u64 = 4_220_102;
    /// Validation, with `validation.app_id`.
    pub const APP_ID_VALIDATION: u64 = 4_220_103;
    /// The crypto key has expired.
    pub const KEY_EXPIRED: u64 = 4_220_104;
    /// Internal error.
    pub const INTERNAL: u64 = 5_000_001;
    /// Creating the transaction failed.
    pub const CREATE_TRANSACTION_FAILED: u64 = 5_000_105;
    /// Authorisation data failed.
    pub const AUTHORIZATION_DATA_FAILED: u64 = 5_000_106;
    /// Transaction info failed.
    pub const TRANSACTION_INFO_FAILED: u64 = 5_000_107;
    /// Receipt generation failed.
    pub const RECEIPT_FAILED: u64 = 5_000_109;
    /// Receipt generation failed.
    pub const RECEIPT_FAILED_2: u64 = 5_000_110;
}

/// Ktpay understood the request and refused it (`success: false`).
///
/// Built from any of the three error envelopes: `error.message` (a string) or `error.messages`
/// (a map or a list) become [`ProviderError::messages`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    /// `error.code` (e.g. `4220103`), when Ktpay sent one.
    pub code: Option<u64>,
    /// The messages, from `message` or `messages` (map values in key order, or list items).
    pub messages: Vec<String>,
    /// `error.validation`: field → messages.
    pub validation: BTreeMap<String, Vec<String>>,
    /// `error.hint`.
    pub hint: Option<String>,
    /// The HTTP status of the answer.
    pub http_status: StatusCode,
}

impl ProviderError {
    /// The first message, or an empty string.
    pub fn message(&self) -> &str {
        self.messages.first().map(String::as_str).unwrap_or("")
    }

    /// A validation error: the code's first three digits are `422`.
    pub fn is_validation(&self) -> bool {
        self.code.is_some_and(|c| c.to_string().starts_with("422"))
    }

    /// Unknown `app_id` (4010103).
    pub fn is_unknown_app(&self) -> bool {
        self.code == Some(codes::UNKNOWN_APP)
    }

    /// The app's crypto key has expired (4220104): ask Ktpay for a new `app_key`.
    pub fn is_key_expired(&self) -> bool {
        self.code == Some(codes::KEY_EXPIRED)
    }

    /// The body did not open with the app's key (4220102): a wrong `app_key` or base64 form.
    pub fn is_wrong_encryption(&self) -> bool {
        self.code == Some(codes::WRONG_ENCRYPTION)
    }

    /// A server-side failure (a `500xxxx` code).
    pub fn is_internal(&self) -> bool {
        self.code.is_some_and(|c| c.to_string().starts_with("500"))
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ktpay refused the request")?;
        if let Some(c) = self.code {
            write!(f, " [{c}]")?;
        }
        if !self.messages.is_empty() {
            write!(f, ": {}", self.messages.join("; "))?;
        }
        if !self.validation.is_empty() {
            let v: Vec<String> = self
                .validation
                .iter()
                .map(|(k, m)| format!("{k}: {}", m.join("; ")))
                .collect();
            write!(f, " ({})", v.join(", "))?;
        }
        if let Some(h) = &self.hint {
            write!(f, " hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

/// The error of every call of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An integration failure: connect, TLS, I/O, timeout, an unexpected status, an answer of
    /// an unknown shape (a decode error quoting a short excerpt), or a bad configuration.
    #[error(transparent)]
    Transport(#[from] payments_core::Error),
    /// Ktpay refused the request.
    #[error(transparent)]
    Provider(Box<ProviderError>),
    /// The configuration (a base URL, a timeout, a header value) is invalid; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] payments_core::Invalid),
    /// The order (or an argument) is invalid; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A key or sealed box is invalid; nothing was sent.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Ktpay's answer is about another order: its `field` (`order_id`, `amount` or
    /// `transaction_hash`) is not the stored order's. Nothing was recorded.
    #[error("Ktpay's answer does not match the stored order: its {field} differs")]
    Mismatch {
        /// The field that differs.
        field: &'static str,
    },
}

impl From<ProviderError> for Error {
    fn from(value: ProviderError) -> Self {
        Error::Provider(Box::new(value))
    }
}

impl Error {
    /// Ktpay's refusal, if this is one.
    pub fn provider(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider(p) => Some(p),
            _ => None,
        }
    }

    /// The transport error, if this is one.
    pub fn transport(&self) -> Option<&payments_core::Error> {
        match self {
            Error::Transport(t) => Some(t),
            _ => None,
        }
    }

    /// The configuration problems, if this is one.
    pub fn invalid(&self) -> Option<&payments_core::Invalid> {
        match self {
            Error::Invalid(i) => Some(i),
            _ => None,
        }
    }

    /// Whether this is a decode error (an answer of an unknown shape).
    pub fn is_decode(&self) -> bool {
        matches!(
            self.transport().map(|t| t.kind()),
            Some(payments_core::ErrorKind::Decode { .. })
        )
    }

    /// Whether the same request could succeed later (transport failures only; see
    /// [`payments_core::Error::is_retryable`]). Ktpay's `500xxxx` refusals also count.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(t) => t.is_retryable(),
            Error::Provider(p) => p.is_internal(),
            Error::Invalid(_) | Error::Validation(_) | Error::Key(_) | Error::Mismatch { .. } => {
                false
            }
        }
    }

    /// Whether the request may have reached Ktpay. `false` for validation and key errors, which
    /// are raised before sending. For a payment creation that may have been sent, do not re-send
    /// with the same `order_id` blindly; check the status first.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(t) => t.may_have_been_sent(),
            Error::Provider(_) | Error::Mismatch { .. } => true,
            Error::Invalid(_) | Error::Validation(_) | Error::Key(_) => false,
        }
    }
}
