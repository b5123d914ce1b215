//! # payments-core
//!
//! The shared foundation of the `payments-rs` provider SDKs ([`ktwidget`], [`smartpay`],
//! [`kupikupi`]): an HTTP transport (hyper 1, hyper-util, hyper-rustls, rustls, optional mutual
//! TLS), retries and timeouts, polling with backoff ([`PollPolicy`], [`poll_until`]), the error
//! model, signing seams, and the [`Secret`] and [`Amount`] types. It knows nothing of any
//! provider.
//!
//! [`ktwidget`]: https://docs.rs/ktwidget
//! [`smartpay`]: https://docs.rs/smartpay
//! [`kupikupi`]: https://docs.rs/kupikupi
//!
//! ```
//! use std::time::Duration;
//! use payments_core::{
//!     Amount, ErrorKind, HttpClient, HttpTransport, Operation, Request, RetryPolicy, Timeouts,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Money is integer minor units, parsed and printed exactly.
//! let amount: Amount = "250.5".parse()?;
//! assert_eq!(amount.minor(), 25_050);
//!
//! // One pooled transport; timeouts and retries around it.
//! let timeouts = Timeouts::default().with_total(Duration::from_secs(5));
//! let transport = HttpTransport::builder().connect_timeout(timeouts.connect).build()?;
//! let client = HttpClient::from(transport)
//!     .timeouts(timeouts)
//!     .retry_policy(RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20)));
//!
//! // An operation says whether it may be re-sent once it may have reached the server.
//! const CREATE: Operation = Operation::not_idempotent("example", "create");
//! // A port that is bound but never listens: every connection to it is refused.
//! let held = tokio::net::TcpSocket::new_v4()?;
//! held.bind("127.0.0.1:0".parse()?)?;
//! let port = held.local_addr()?.port();
//! let request = Request::new(http::Method::POST, format!("http://127.0.0.1:{port}/pay").parse()?);
//!
//! // A refused connection proves nothing was sent, so even a payment creation was retried.
//! let err = client.execute(&CREATE, request).await.unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::Connect);
//! assert!(!err.may_have_been_sent());
//! assert_eq!(err.attempts(), 3);
//! # Ok(())
//! # }
//! ```
//!
//! ## Outbound path
//!
//! build → sign ([`RequestSigner`]) → send ([`Transport`]) → classify ([`RetryClassifier`]) →
//! retry ([`RetryPolicy`]) → decode (the provider crate).
//!
//! ## Inbound path
//!
//! read (POST only, capped in size and time) → the provider's [`inbound::Receiver`] → answer as
//! data ([`inbound::Acknowledgement`]), served by [`inbound::InboundService`] (tower and hyper).
//! What a provider POSTs is a hint; only the provider's answer to the merchant's own
//! authenticated call, or a proof only the provider can make, is a fact.
//!
//! ## Features
//!
//! - `ring` (default) or `aws-lc-rs`: the rustls crypto provider. One is required.
//!   With both on, `aws-lc-rs` is used; a process-wide provider that the application installed
//!   (`rustls::crypto::CryptoProvider::install_default`) wins over both ([`crypto_provider`]).
//! - `webpki-roots` (default): trust the Mozilla roots bundled by `webpki-roots`.
//! - `native-roots`: trust the operating system's roots.
//!
//! ## Tracing
//!
//! Each call runs in one `payments.call` span with `provider`, `operation`, `method`, `host`,
//! `attempt`, `status` and `latency_ms`. No body, header value, key or token is ever recorded.

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
