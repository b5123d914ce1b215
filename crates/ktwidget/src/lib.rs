#![doc = include_str!("../README.md")]

mod client;
mod error;
mod inbound;
mod model;
mod operations;
mod wire;

pub use client::keys::{
    decode_base64_any, encode_base64, seal, AppKey, KeyError, Keypair, KEY_LEN, SEAL_OVERHEAD,
};
pub use client::tag::{
    CallbackSecret, CallbackTagger, TagPlacement, DEFAULT_TAG_PARAMETER, TAG_LEN,
};
pub use client::{
    Client, ClientBuilder, Environment, Paths, Sealer, AUTH_IDENTIFIER, PRODUCTION_API,
    PRODUCTION_WIDGET, TEST_API, TEST_WIDGET,
};
pub use error::{Code, Error, ProviderError};
pub use inbound::{
    acknowledgement, CallbackError, CallbackHint, CallbackReceiver, CallbackStore, ConfirmedStatus,
    Evidence, StoredOrder,
};
pub use model::{
    normalise_phone, CallbackUrls, ContractValue, DateTime, ErrorType, OffsetDateTime, Order,
    OrderBuilder, OrderId, PaymentCreated, PaymentKind, Refund, ServiceId, Status, StatusInfo,
    Timestamp, TimestampError, Transaction, TransactionError, TransactionHash, Transition, User,
    UtcOffset, ValidationError, WebUrl,
};
pub use operations::{OPERATIONS, PROVIDER};
pub use payments_core::{
    Amount, BaseUrl, Invalid, Operation, Problem, Proxy, RetryPolicy, Secret, Timeouts, Transport,
};
/// What [`Error::Transport`] holds: core's transport error, with its kind
/// ([`TransportErrorKind`]) and the [`TimeoutKind`] of a timeout.
pub use payments_core::{Error as TransportError, ErrorKind as TransportErrorKind, TimeoutKind};
