//! Errors: a caller's bad input, an integration failure (transport or decode), or the
//! provider's refusal — three different things, kept apart.

use payments_core::AmountError;

use crate::token::TokenError;
use crate::types::TransferStatus;

/// A value that breaks one of the provider's rules, found before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Not 11 digits starting with 7.
    #[error("phone must be 11 digits starting with 7, got {0:?}")]
    Phone(String),
    /// Empty, longer than 36 characters, or with control characters.
    #[error("order id must be 1 to 36 characters without control characters, got {0:?}")]
    OrderId(String),
    /// Zero, or more than `Number(10)` kopecks.
    #[error("invalid amount: {0}")]
    Amount(#[source] AmountError),
    /// Not 1 to 43 digits.
    #[error("payment id must be 1 to 43 digits, got {0:?}")]
    PaymentId(String),
    /// Not 1 to 18 digits. The code itself is never shown.
    #[error("confirmation code must be 1 to 18 digits")]
    ConfirmationCode,
    /// Not 16 digits.
    #[error("fiscal drive number (fn) must be 16 digits, got {0:?}")]
    FiscalDriveNumber(String),
    /// Not 1 to 10 digits.
    #[error("fiscal document number (fd) must be 1 to 10 digits, got {0:?}")]
    FiscalDocumentNumber(String),
    /// Not 1 to 10 digits.
    #[error("fiscal sign (fp) must be 1 to 10 digits, got {0:?}")]
    FiscalSign(String),
    /// Not a valid `d.m.Y H:i:s` date and time.
    #[error("pay date must be a valid \"d.m.Y H:i:s\" date and time, got {0:?}")]
    PayDate(String),
    /// Not one of the receipt types 1 to 4.
    #[error("receipt type must be 1, 2, 3 or 4, got {0}")]
    ReceiptType(String),
    /// The parameters cannot be signed.
    #[error("cannot sign the request: {0}")]
    Token(#[from] TokenError),
    /// The client was configured wrongly.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The provider understood the request and refused it: `status: false`, or an `errorCode`
/// other than `"0"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Kupi-Kupi refused the request: errorCode {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct ProviderError {
    /// The provider's `errorCode` (empty if it sent none).
    pub code: String,
    /// The provider's `message`, if any.
    pub message: Option<String>,
    /// The HTTP status of the answer.
    pub http_status: u16,
    /// The `transferStatus`, when the refusal carried one.
    pub transfer_status: Option<TransferStatus>,
}

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was not sent: an argument or the configuration is invalid.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The call failed on the way: connect, TLS, timeout, an unexpected HTTP status, or an
    /// answer that could not be decoded.
    #[error(transparent)]
    Transport(#[from] payments_core::Error),
    /// The provider refused the request.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl Error {
    /// Whether the failure is transient (see [`payments_core::Error::is_retryable`]). A
    /// validation error or a provider refusal never is.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_retryable(),
            Error::Validation(_) | Error::Provider(_) => false,
        }
    }

    /// Whether the request may have reached the provider. When `true` after `init`, do not
    /// invent a new order id: ask `checkout` about the same one (see the crate docs).
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_been_sent(),
            Error::Validation(_) => false,
            Error::Provider(_) => true,
        }
    }

    /// The provider's refusal, if this is one.
    pub fn provider(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider(p) => Some(p),
            _ => None,
        }
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::Validation(ValidationError::Token(e))
    }
}
