#![doc = include_str!("../README.md")]

mod client;
mod error;
mod inbound;
mod model;
mod operations;
mod wire;

pub use client::{
    Client, ClientBuilder, Environment, TokenSigner, PRODUCTION_BASE_URL, TEST_BASE_URL,
};
pub use error::{Echo, Error, InitMismatch, ProviderError, TRANSFER_STATUS_DETAIL};
pub use inbound::{
    reconcile, ConfirmedTransfer, FailedTransfer, Notification, NotificationError,
    NotificationReceiver, NotificationService, NotificationVerifier, Reconciled, StoredTransfer,
    TransferStore, Unresolved, UnresolvedReason, DEFAULT_CONFIRM_POLICY, DEFAULT_MAX_CONFIRMATIONS,
};
pub use model::{
    Checkout, Confirmation, ConfirmationCode, Discount, FiscalDocumentNumber, FiscalDriveNumber,
    FiscalSign, OrderId, PayDate, PaymentId, Phone, Receipt, ReceiptAccepted, ReceiptType,
    Transfer, TransferAmount, TransferStatus, MAX_AMOUNT_MINOR,
};
pub use operations::OPERATIONS;
pub use payments_core::inbound::BodyLimits;
pub use payments_core::{
    Amount, AmountError, BaseUrl, Invalid, Jitter, Operation, PollPolicy, PollPolicyBuilder,
    PollPolicyError, PollSchedule, Problem, Proxy, RetryPolicy, Secret, Timeouts, Transport,
};
/// What [`Error::Transport`] holds: core's transport error, with its kind
/// ([`TransportErrorKind`]) and the [`TimeoutKind`] of a timeout.
pub use payments_core::{Error as TransportError, ErrorKind as TransportErrorKind, TimeoutKind};

pub use wire::token::{
    signing_string, token, token_of_value, Token, SECRET_KEY_FIELD, TOKEN_FIELD,
};
