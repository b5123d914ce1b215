//! # smartpay
//!
//! A client for the Smart Pay / KD Pay cashier ("kassa") API: mutual TLS with the kassa's client
//! certificate, the `/v1/auth` cookie, purchases (commit the customer's QR code, release an
//! amount, poll, confirm or cancel, store the fiscal receipt) and refunds.
//!
//! ```
//! use std::time::Duration;
//! use smartpay::models::PurchaseStatus;
//! use smartpay::{Amount, Client, KassaIdGenerator, QrCode, Secret};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A local emulator of the service (TLS with client certificates) stands in for the test host.
//! let sandbox = payments_sandbox::smartpay::start(Default::default()).await?;
//! let certs = sandbox.certificates();
//! let (login, password) = sandbox.credentials();
//!
//! let client = Client::builder()
//!     .base_url(sandbox.base_url()) // default: smartpay::TEST_BASE_URL
//!     .client_identity_pem(certs.client_cert_pem.clone(), Secret::from(certs.client_key_pem.clone()))
//!     .ca_pem(certs.ca_pem.clone())
//!     .credentials(login, Secret::from(password))
//!     .build()?;
//!
//! // The scanned QR payload is validated before anything is sent.
//! let qr = QrCode::parse(r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDA=","sign":"c2ln"}"#)?;
//! let ids = KassaIdGenerator::new(); // unique, increasing kassa-local ids
//!
//! let committed = client.commit_code(&qr, &ids.next_id()).await?; // as soon as it is scanned
//! let mut released = committed.release(Amount::from_minor(125_050)).await?; // 1250.50 RUB
//! assert_eq!(released.wait_for_status(Duration::from_secs(30)).await?, PurchaseStatus::Success);
//! let paid = released.confirm().await?;
//! paid.send_fiscal("0000000001012345", "3522589123").await?;
//!
//! let mut refund = paid.refund(&ids.next_id(), Amount::from_minor(50_000)).await?;
//! refund.wait_for_status(Duration::from_secs(30)).await?;
//! refund.confirm().await?;
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
//! ### Assumptions where the guide is silent
//!
//! - Every call is `POST` with a JSON body, except `GET /v1/ping` and `GET /v1/error_answers`;
//!   status calls take the id in the body.
//! - `/v1/auth` takes `{"login", "password"}`; the client sends back whatever cookie it sets.
//! - A 401 means a missing or expired cookie and is answered before the call is acted on.
//! - Commit nests the QR (`{"qr": {..}, "kassa_purchase_id"}`); release, refund and receipts
//!   carry amounts as integer kopecks; every id is a string.
//! - Purchase statuses `committed`, `processing`, `success`, `declined`, `cancelled`, `expired`;
//!   refund statuses `processing`, `success`, `declined`, `cancelled`; kassa statuses `success`,
//!   `cancel`. Unknown values decode as `Unknown(..)` and are not final.
//! - Errors are any non-2xx status with `{"code", "message"}` ([`Error::Provider`]).
//! - Fiscal v1 is `{"purchase_id", "kassa_reg_number", "fiscal_sign"}`; fiscal v2 is
//!   `{"qr", "purchase_id"?, "receipt": {..}}` ([`models::Receipt`]).
//! - Kassa ids are unix **milliseconds**, bumped to stay unique ([`KassaIdGenerator`]).
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
