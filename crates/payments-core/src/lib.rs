#![doc = include_str!("../README.md")]
// docs.rs builds with `--cfg docsrs`: feature-gated items then show the feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "payments-core needs a rustls crypto provider: enable the `ring` feature (the default) or the `aws-lc-rs` feature"
);

pub mod client;
pub mod decode;
pub mod encoding;
pub mod endpoint;
pub mod error;
pub mod inbound;
pub mod invalid;
mod jitter;
pub mod money;
pub mod poll;
pub mod proxy;
pub mod redact;
pub mod retry;
pub mod secret;
pub mod signing;
pub mod timeouts;
pub mod transport;
pub mod wire;

pub use client::{HttpClient, HttpClientBuilder};
pub use decode::{JsonCategory, JsonError};
pub use endpoint::{BaseUrl, PlainHttp};
pub use error::{Error, ErrorKind, ProviderError};
pub use invalid::{Invalid, Problem};
pub use money::{Amount, AmountError};
pub use poll::{
    poll_until, Jitter, PollOutcome, PollPolicy, PollPolicyBuilder, PollPolicyError, PollSchedule,
    PollStep,
};
pub use proxy::Proxy;
pub use retry::NotActedOn;
pub use retry::{
    DefaultClassifier, Idempotency, Operation, RetryBudget, RetryClassifier, RetryDecision,
    RetryPolicy,
};
pub use secret::Secret;
pub use signing::{RequestSigner, SignedRequest};
pub use timeouts::{TimeoutKind, Timeouts};
pub use transport::{
    crypto_provider, BoxFuture, ClientIdentity, HttpTransport, Request, Response, Transport,
    TransportBuilder,
};

/// Re-exports of the `http`, `bytes` crates used in this crate's public API.
pub use bytes;
pub use http;

/// What the exported macros ([`open_enum!`], [`checked_newtype!`]) name; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
