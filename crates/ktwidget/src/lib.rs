//! # ktwidget
//!
//! A client for the Ktpay (KTWidget) merchant widget API.
//!
//! placeholder docs
#![doc(html_root_url = "https://docs.rs/ktwidget/0.1.0")]

pub mod callback;
pub mod client;
pub mod error;
pub mod keys;
pub mod order;
mod transformers;

pub use callback::{
    CallbackError, CallbackHandler, ErrorType, ExpectedOrder, Notification, Status, StatusInfo,
    TransactionError,
};
pub use client::{Client, ClientBuilder, Environment, Paths, PaymentCreated, Refund, Sealer};
pub use error::{Error, ProviderError};
pub use keys::{AppKey, KeyError, Keypair};
pub use order::{
    CallbackUrl, CallbackUrls, ContractValue, Order, OrderBuilder, OrderId, PaymentKind, ServiceId,
    TransactionHash, User, ValidationError,
};
pub use payments_core::{Amount, RetryPolicy, Secret, Timeouts};
