//! Errors: a caller's bad input or configuration ([`Invalid`]), an integration failure
//! (transport or decode), the provider's refusal ([`ProviderError`]), and the one outcome that
//! carries money state ([`InitMismatch`]) — kept apart.

use payments_core::Invalid;

use crate::model::{OrderId, PaymentId, TransferAmount, TransferStatus};

/// The provider understood the request and refused it: `status: false`, or an `errorCode`
/// other than `"0"`. The code is the provider's `errorCode` text (`None` if it sent none); the
/// `transferStatus` a refusal may carry is the detail [`TRANSFER_STATUS_DETAIL`], read typed
/// with [`Error::transfer_status`].
pub type ProviderError = payments_core::ProviderError<String>;

/// The [`ProviderError`] detail that holds the `transferStatus` a refusal carried.
pub const TRANSFER_STATUS_DETAIL: &str = "transferStatus";

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
/// the customer to [`InitMismatch::transfer_url`] until you know why; `Client::checkout`
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
    /// The call failed on the way: connect, TLS, timeout, an unexpected HTTP status, or an
    /// answer that could not be decoded.
    #[error(transparent)]
    Transport(#[from] payments_core::Error),
    /// The provider refused the request.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The request was not sent: an argument or the configuration is invalid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// `init`'s answer does not echo the order id or the amount sent; the transfer it names
    /// exists, and its id and URL are kept.
    #[error(transparent)]
    InitMismatch(Box<InitMismatch>),
}

impl Error {
    /// Whether the same call may succeed later: for a transport failure, core's answer
    /// ([`payments_core::Error::is_retryable`]); for a refusal, a transient HTTP status
    /// ([`ProviderError::is_transient_status`]: the provider documents no transient codes).
    /// Never for an invalid argument or an [`InitMismatch`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_retryable(),
            Error::Provider(p) => p.is_transient_status(),
            Error::Invalid(_) | Error::InitMismatch(_) => false,
        }
    }

    /// Whether the request may have reached the provider. When `true` after `init`, do not
    /// invent a new order id: ask `checkout` about the same one (see the crate docs).
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_been_sent(),
            Error::Invalid(_) => false,
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

    /// The transport failure, if this is one.
    pub fn transport(&self) -> Option<&payments_core::Error> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// The invalid argument or configuration, if this is one.
    pub fn invalid(&self) -> Option<&Invalid> {
        match self {
            Error::Invalid(e) => Some(e),
            _ => None,
        }
    }

    /// The `transferStatus` a refusal carried (the detail [`TRANSFER_STATUS_DETAIL`]).
    pub fn transfer_status(&self) -> Option<TransferStatus> {
        self.provider()?
            .detail(TRANSFER_STATUS_DETAIL)
            .map(TransferStatus::from_wire)
    }
}
