//! Errors: a caller's bad input, an integration failure (transport or decode), or the
//! provider's refusal — three different things, kept apart.

use payments_core::AmountError;

use crate::model::{OrderId, PaymentId, TransferAmount, TransferStatus};
use crate::token::TokenError;

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

/// What an `init` answer echoed for one field, when it is not what was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Echo {
    /// The answer has no such field (the guide marks it as required).
    Missing,
    /// The answer has another value: its JSON text, cut to 64 characters. For the amount this
    /// includes a value that is not a whole number of kopecks (`250.5`, `"250,00"`, `-1`).
    Other(String),
}

impl std::fmt::Display for Echo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Echo::Missing => f.write_str("missing"),
            Echo::Other(text) => write!(f, "{text}"),
        }
    }
}

/// `init` created (or found) a transfer, but its answer does not echo the request: the order
/// id or the amount is missing or differs. The transfer exists, so its identity is kept.
///
/// A different amount or order id means the transfer is not the one you asked for (for
/// example, a transfer made earlier under the same order id with another amount). Do not send
/// the customer to [`InitMismatch::transfer_url`] until you know why; [`crate::Client::checkout`]
/// with your order id and amount tells you what the service holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitMismatch {
    /// The transfer's id, as the answer gave it.
    pub payment_id: PaymentId,
    /// The transfer form, as the answer gave it.
    pub transfer_url: http::Uri,
    /// The order id that was sent.
    pub sent_order_id: OrderId,
    /// The amount that was sent.
    pub sent_amount: TransferAmount,
    /// What the answer echoed as `orderId`, when it is not the order id sent (`None`: it is).
    pub order_id: Option<Echo>,
    /// What the answer echoed as `amount`, when it is not the amount sent (`None`: it is).
    pub amount: Option<Echo>,
}

impl std::fmt::Display for InitMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Kupi-Kupi's init answer for transfer {} does not echo the request:",
            self.payment_id
        )?;
        if let Some(echo) = &self.order_id {
            write!(f, " orderId sent {}, echoed {echo};", self.sent_order_id)?;
        }
        if let Some(echo) = &self.amount {
            write!(
                f,
                " amount sent {} kopecks, echoed {echo};",
                self.sent_amount.minor()
            )?;
        }
        f.write_str(" the transfer exists: check it with checkout before using it")
    }
}

impl std::error::Error for InitMismatch {}

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
    /// `init`'s answer does not echo the order id or the amount sent; the transfer it names
    /// exists, and its id and URL are kept.
    #[error(transparent)]
    InitMismatch(Box<InitMismatch>),
}

impl Error {
    /// Whether the failure is transient (see [`payments_core::Error::is_retryable`]). A
    /// validation error or a provider refusal never is.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_retryable(),
            Error::Validation(_) | Error::Provider(_) | Error::InitMismatch(_) => false,
        }
    }

    /// Whether the request may have reached the provider. When `true` after `init`, do not
    /// invent a new order id: ask `checkout` about the same one (see the crate docs).
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_been_sent(),
            Error::Validation(_) => false,
            Error::Provider(_) | Error::InitMismatch(_) => true,
        }
    }

    /// The transfer an `init` answer named without echoing the request, if this is that error.
    pub fn init_mismatch(&self) -> Option<&InitMismatch> {
        match self {
            Error::InitMismatch(m) => Some(m),
            _ => None,
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
