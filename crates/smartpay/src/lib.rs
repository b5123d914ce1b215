//! # smartpay
//!
//! A client for the Smart Pay / KD Pay cashier ("kassa") API: mutual TLS with the kassa's client
//! certificate, the `/v1/auth` cookie, purchases (commit the customer's QR code, release an
//! amount, poll, confirm or cancel, store the fiscal receipt) and refunds.
//!
//! ```
//! use smartpay::{Client, KassaIdGenerator, QrCode};
//! use payments_core::Secret;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The scanned QR payload is validated before anything is sent.
//! let qr = QrCode::parse(r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDA=","sign":"c2ln"}"#)?;
//! assert_eq!(qr.id_loyalty(), "7000123");
//!
//! // Kassa-local ids: unique and increasing (unix milliseconds).
//! let ids = KassaIdGenerator::new();
//! assert_ne!(ids.next_id(), ids.next_id());
//!
//! // The client defaults to the provider's test host.
//! let client = Client::builder()
//!     .credentials("kassa-0001", Secret::from("s3cret"))
//!     .build()?;
//! assert_eq!(client.base_url(), smartpay::TEST_BASE_URL);
//! // let purchase = client.commit_code(&qr, &ids.next_id()).await?;
//! // let mut released = purchase.release(Amount::from_minor(125_050)).await?;
//! // released.wait_for_status(Duration::from_secs(60)).await?;
//! // let paid = released.confirm().await?;
//! // paid.send_fiscal("0000000001012345", "3522589123").await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## The spec and the generated code
//!
//! The provider's OpenAPI document is not public. `spec/openapi.yaml` is reconstructed from the
//! integration guide; [`models`] and [`operations`] are generated from it by
//! `cargo xtask codegen`. Every choice the spec makes where the guide is silent is listed in
//! `docs/providers/smartpay.md` and in the spec's own descriptions.
//!
//! ## Authentication
//!
//! Each connection presents the kassa's client certificate
//! ([`ClientBuilder::client_identity_pem`]). Authenticated calls send the cookie from
//! `/v1/auth` (kept as a [`payments_core::Secret`]), authenticating on demand; a 401 causes one
//! re-authentication (single-flight across concurrent callers) and one retry.
//!
//! ## Safety of retries
//!
//! Release and refund are not idempotent: they are never re-sent once they may have reached the
//! service. When one fails with [`Error::may_have_been_sent`], poll the status instead.

mod client;
mod error;
mod flow;
mod generated;
mod ids;
mod qr;
mod transformers;

pub use client::{Client, ClientBuilder, PollPolicy, PROVIDER, TEST_BASE_URL};
pub use error::Error;
pub use flow::{CommittedPurchase, ConfirmedPurchase, PendingRefund, ReleasedPurchase};
pub use generated::{models, operations};
pub use ids::{KassaId, KassaIdGenerator};
pub use qr::{QrCode, QrError, MAX_QR_LEN};

pub use payments_core::{Amount, Secret};
