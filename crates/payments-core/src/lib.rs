//! # payments-core
//!
//! The shared foundation of the `payments-rs` provider SDKs ([`ktwidget`], [`smartpay`],
//! [`kupikupi`]): an HTTP transport (hyper 1, hyper-util, hyper-rustls, rustls, optional mutual
//! TLS), retries and timeouts, the error model, signing seams, and the [`Secret`] and [`Amount`]
//! types. It knows nothing of any provider.
//!
//! [`ktwidget`]: https://docs.rs/ktwidget
//! [`smartpay`]: https://docs.rs/smartpay
//! [`kupikupi`]: https://docs.rs/kupikupi
//!
//! ```
//! use std::time::Duration;
//! use payments_core::{Amount, HttpClient, HttpTransport, Operation, Request, RetryPolicy, Timeouts};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Money is integer minor units, parsed and printed exactly.
//! let amount: Amount = "250.5".parse()?;
//! assert_eq!(amount.minor(), 25_050);
//!
//! // One pooled transport; timeouts and retries around it.
//! let timeouts = Timeouts::default().with_total(Duration::from_secs(20));
//! let transport = HttpTransport::builder().connect_timeout(timeouts.connect).build()?;
//! let client = HttpClient::with_transport(std::sync::Arc::new(transport))
//!     .timeouts(timeouts)
//!     .retry_policy(RetryPolicy::default().with_max_attempts(3));
//!
//! // An operation says whether it may be re-sent after it may have reached the server.
//! const STATUS: Operation = Operation::idempotent("example", "status");
//! let request = Request::new(http::Method::GET, "http://127.0.0.1:9/status".parse()?);
//! # let _ = (client, request, STATUS);
//! // let response = client.execute(&STATUS, request).await?;
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
//! parse → verify → acknowledge ([`InboundNotification`], [`receive`]).
//!
//! ## Features
//!
//! - `ring` (default) or `aws-lc-rs`: the rustls crypto provider. One is required.
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
pub mod error;
pub mod money;
pub mod redact;
pub mod retry;
pub mod secret;
pub mod signing;
pub mod transport;

pub use client::{HttpClient, Timeouts};
pub use error::{Error, ErrorKind, TimeoutKind};
pub use money::{Amount, AmountError};
pub use retry::{
    DefaultClassifier, Idempotency, Operation, RetryBudget, RetryClassifier, RetryDecision,
    RetryPolicy,
};
pub use secret::Secret;
pub use signing::{
    receive, Acknowledgement, InboundNotification, Received, RequestSigner, SignedRequest,
};
pub use transport::{
    crypto_provider, BoxFuture, ClientIdentity, HttpTransport, Request, Response, Transport,
    TransportBuilder,
};

/// Re-exports of the `http`, `bytes` crates used in this crate's public API.
pub use bytes;
pub use http;
