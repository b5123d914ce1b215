//! # smartpay
//!
//! A client for the Smart Pay / KD Pay cashier ("kassa") API: mutual TLS with the kassa's client
//! certificate, the `/v1/auth` session cookie, purchases (commit the customer's QR code, release
//! an amount, poll its status, confirm or cancel at the kassa, store the fiscal receipt) and
//! refunds.
//!
//! ```
//! use std::time::Duration;
//! use smartpay::{Amount, Client, KassaIdGenerator, PurchaseOutcome, QrCode, RefundOutcome, Secret};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A local emulator of the service (TLS with client certificates) stands in for the test host.
//! let sandbox = payments_sandbox::smartpay::start(Default::default()).await?;
//! let certs = sandbox.certificates();
//! let (login, password) = sandbox.credentials();
//!
//! let client = Client::builder()
//!     .base_url(sandbox.base_url()) // default: smartpay::TEST_BASE_URL (https only)
//!     .client_identity_pem(certs.client_cert_pem.clone(), Secret::from(certs.client_key_pem.clone()))
//!     .trust_only_ca_pem(certs.ca_pem.clone()) // the emulator's own CA
//!     .credentials(login, Secret::from(password))
//!     .build()?;
//!
//! // The scanned QR payload is validated before anything is sent, and sent as it was read.
//! let qr = QrCode::parse(r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDA=","sign":"c2ln"}"#)?;
//! let ids = KassaIdGenerator::new(); // unique, increasing kassa-local ids
//!
//! let committed = client.commit_code(&qr, &ids.next_id()).await?; // as soon as it is scanned
//! let mut released = committed.release(Amount::from_minor(125_050)).await?; // 1250.50 RUB
//! match released.wait_for_status(Duration::from_secs(30)).await? {
//!     PurchaseOutcome::Paid => {
//!         let paid = released.confirm().await?;
//!         paid.send_fiscal("0000000001012345", "3522589123").await?;
//!
//!         let mut refund = paid.refund(&ids.next_id(), Amount::from_minor(50_000)).await?;
//!         if refund.wait_for_status(Duration::from_secs(30)).await? == RefundOutcome::Refunded {
//!             refund.confirm().await?;
//!         }
//!     }
//!     // Final, and nothing was paid: offer another way to pay.
//!     PurchaseOutcome::NotPaid { status, .. } => return Err(format!("not paid: {status}").into()),
//!     // A status the SDK does not know: the customer may have paid. Neither hand over the goods
//!     // nor cancel; ask the provider.
//!     PurchaseOutcome::Unrecognised(status) => return Err(format!("ask: {status}").into()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## The spec and the generated code
//!
//! The guide is a scenario outline: it names the paths and the QR code's fields, and says that
//! the provider's OpenAPI 3.0 document, which is not public, wins. `spec/openapi.yaml` is our
//! reconstruction; [`models`] and [`operations`] are generated from it by `cargo xtask codegen`.
//! Every choice it makes where the guide is silent is listed in the assumptions table of
//! `docs/providers/smartpay.md`; a wrong guess fails loudly (a typed error or outcome), never as
//! "still waiting".
//!
//! ## Safe by default
//!
//! - **https only.** The default base URL is [`TEST_BASE_URL`] over `https://`; plain `http://`
//!   is refused by [`ClientBuilder::build`] before any connection, unless
//!   [`ClientBuilder::allow_plain_http_to_loopback`] is named (for a local emulator), and even
//!   then never with a client certificate.
//! - **Cookies.** Every cookie the service sets, on any answer, is kept (as a
//!   [`payments_core::Secret`]) and sent back on every call, `/v1/ping` and `/v1/error_answers`
//!   included. A call that needs the session logs in first; a 401 to it causes one new login
//!   (single-flight across concurrent callers) and one resend.
//! - **No re-send after it may have arrived.** Commit, release, refund and the fiscal calls are
//!   not idempotent: they are never re-sent once they may have reached the service (a repeated
//!   receipt would show twice in the customer's history). When one fails with
//!   [`Error::may_have_been_sent`], poll the status instead.
//! - **Unknown statuses end waiting.** [`ReleasedPurchase::wait_for_status`] returns
//!   [`PurchaseOutcome::Unrecognised`] at once for a status the SDK does not know; known values
//!   are matched without regard to case. While a status is pending it is polled on core's
//!   [`PollPolicy`] ([`DEFAULT_POLL_POLICY`]: 250 ms growing by half up to 2 s; set another with
//!   [`ClientBuilder::poll_policy`]), and the caller's timeout is the deadline.
//! - **No secret in errors.** Errors and `Debug` never show the password, the key, a cookie, the
//!   QR's one-time password or a value of an answer's body (a decode error describes the body's
//!   shape).

mod answer;
mod client;
mod cookies;
mod error;
mod flow;
mod generated;
mod ids;
mod qr;
mod transformers;

pub use client::{Client, ClientBuilder, DEFAULT_POLL_POLICY, TEST_BASE_URL};
pub use error::Error;
pub use flow::{
    CommittedPurchase, ConfirmedPurchase, PendingRefund, PurchaseOutcome, RefundOutcome,
    ReleasedPurchase,
};
pub use generated::{models, operations};
pub use ids::{KassaId, KassaIdGenerator};
pub use qr::{QrCode, QrError, MAX_QR_LEN};

pub use payments_core::{
    Amount, Jitter, PollPolicy, PollPolicyBuilder, PollPolicyError, PollSchedule, Secret,
};
