//! Errors: integration failures (transport, decode) are kept apart from Ktpay's refusals
//! ([`ProviderError`]) and from the caller's own mistakes ([`Invalid`], into which
//! [`ValidationError`] and `KeyError` convert).

use std::fmt;

use payments_core::Invalid;

use crate::model::ValidationError;

/// A Ktpay error code (`error.code`, e.g. `4220103`), with the known ones as constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub u64);

impl Code {
    /// Unknown `app_id` (`Auth-Identifier`).
    pub const UNKNOWN_APP: Code = Code(4_010_103);
    /// Validation or data format.
    pub const VALIDATION: Code = Code(4_220_002);
    /// Validation or data format.
    pub const DATA_FORMAT: Code = Code(4_220_101);
    /// Wrong encryption type: the body did not open with the app's key.
    pub const WRONG_ENCRYPTION: Code = Code(4_220_102);
    /// Validation, with `validation.app_id`.
    pub const APP_ID_VALIDATION: Code = Code(4_220_103);
    /// The crypto key has expired.
    pub const KEY_EXPIRED: Code = Code(4_220_104);
    /// Internal error.
    pub const INTERNAL: Code = Code(5_000_001);
    /// Creating the transaction failed.
    pub const CREATE_TRANSACTION_FAILED: Code = Code(5_000_105);
    /// Authorisation data failed.
    pub const AUTHORIZATION_DATA_FAILED: Code = Code(5_000_106);
    /// Transaction info failed.
    pub const TRANSACTION_INFO_FAILED: Code = Code(5_000_107);
    /// Receipt generation failed.
    pub const RECEIPT_FAILED: Code = Code(5_000_109);
    /// Receipt generation failed.
    pub const RECEIPT_FAILED_2: Code = Code(5_000_110);

    /// The number.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// A validation error: the code's first three digits are `422`.
    pub fn is_validation(self) -> bool {
        self.0.to_string().starts_with("422")
    }

    /// Unknown `app_id` (4010103).
    pub fn is_unknown_app(self) -> bool {
        self == Code::UNKNOWN_APP
    }

    /// The app's crypto key has expired (4220104): ask Ktpay for a new `app_key`.
    pub fn is_key_expired(self) -> bool {
        self == Code::KEY_EXPIRED
    }

    /// The body did not open with the app's key (4220102): a wrong `app_key` or base64 form.
    pub fn is_wrong_encryption(self) -> bool {
        self == Code::WRONG_ENCRYPTION
    }

    /// A server-side failure (a `500xxxx` code): retryable.
    pub fn is_internal(self) -> bool {
        self.0.to_string().starts_with("500")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Ktpay understood the request and refused it (`success: false`): core's provider error with
/// Ktpay's [`Code`].
///
/// Built from any of the three error envelopes: `error.message` (a string) or `error.messages`
/// (a map or a list) become `messages`; each message of the `error.validation` map is a detail
/// `field → message`, and `error.hint` is the detail `hint`.
pub type ProviderError = payments_core::ProviderError<Code>;

/// The name Ktpay's refusals carry.
pub(crate) const PROVIDER_NAME: &str = "Ktpay";

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
    /// The configuration, the order or an argument is invalid (field → message); nothing was
    /// sent. Never quotes a secret.
    #[error(transparent)]
    Invalid(Invalid),
    /// Ktpay's answer is about another order: its `field` (`order_id`, `amount` or
    /// `transaction_hash`) is not the stored order's. Nothing was recorded.
    #[error("Ktpay's answer does not match the stored order: its {field} differs")]
    Mismatch {
        /// The field that differs.
        field: &'static str,
    },
}

impl From<Invalid> for Error {
    fn from(value: Invalid) -> Self {
        Error::Invalid(value)
    }
}

impl From<ValidationError> for Error {
    fn from(value: ValidationError) -> Self {
        Error::Invalid(value.into())
    }
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
    pub fn invalid(&self) -> Option<&Invalid> {
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

    /// Whether the same request could succeed later: a transport failure that core calls
    /// retryable ([`payments_core::Error::is_retryable`]), or a refusal with a `500xxxx` code or
    /// a transient HTTP status ([`payments_core::ProviderError::is_transient_status`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(t) => t.is_retryable(),
            Error::Provider(p) => {
                p.code().is_some_and(|c| c.is_internal()) || p.is_transient_status()
            }
            Error::Invalid(_) | Error::Mismatch { .. } => false,
        }
    }

    /// Whether the request may have reached Ktpay. `false` for [`Error::Invalid`], raised before
    /// sending. For a payment creation that may have been sent, do not re-send
    /// with the same `order_id` blindly; check the status first.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(t) => t.may_have_been_sent(),
            Error::Provider(_) | Error::Mismatch { .. } => true,
            Error::Invalid(_) => false,
        }
    }
}
