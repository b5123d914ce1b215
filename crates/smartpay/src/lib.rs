#![doc = include_str!("../README.md")]

mod client;
mod error;
mod model;
#[path = "generated/operations.rs"]
mod operations;
mod wire;

pub use client::{
    Client, ClientBuilder, CommittedPurchase, ConfirmedPurchase, Environment, PendingRefund,
    ReleasedPurchase, DEFAULT_POLL_POLICY,
};
pub use error::{Error, ProviderError};
pub use model::*;
pub use operations::*;

pub use payments_core::{
    Amount, BaseUrl, Invalid, Jitter, Operation, PollPolicy, PollPolicyBuilder, PollPolicyError,
    PollSchedule, Problem, Proxy, RetryPolicy, Secret, Timeouts, Transport,
};
/// What [`Error::Transport`] holds: core's transport error, with its kind
/// ([`TransportErrorKind`]) and the [`TimeoutKind`] of a timeout.
pub use payments_core::{Error as TransportError, ErrorKind as TransportErrorKind, TimeoutKind};
