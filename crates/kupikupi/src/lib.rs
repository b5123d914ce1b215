//! # kupikupi
//!
//! A client for the Kupi-Kupi cashback service's points transfer API: the request token,
//! typed calls (`balance`, `init`, `checkout`, `confirmation`, `receipt`), typed errors, and
//! the inbound notification with its `OK` acknowledgement.
//!
//! ```
//! use kupikupi::{Client, Notification, NotificationVerifier, OrderId, Phone, TransferAmount, TransferStatus};
//! use payments_core::Secret;
//! use payments_sandbox::kupikupi as sandbox;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A local emulator of the service on 127.0.0.1 (use Environment::Production or Test for real).
//! let emulator = sandbox::start(sandbox::Config::default()).await?;
//!
//! let client = Client::builder()
//!     .platform_uid(emulator.platform_uid())
//!     .secret_key(Secret::from(emulator.secret_key()))
//!     .base_url(emulator.base_url())
//!     .build()?;
//!
//! let phone = Phone::new("79000000001")?;
//! let balance = client.balance(&phone).await?;
//! assert_eq!(balance.to_string(), "1000000.00");
//!
//! let order = OrderId::new("order-42")?;
//! let amount = TransferAmount::from_minor(25_000)?; // 250.00
//! let transfer = client.init(&phone, &order, amount).await?;
//! // Redirect the customer to transfer.transfer_url, then wait for the notification.
//! assert_eq!(client.checkout(&order, amount).await?.transfer_status, TransferStatus::New);
//! # let _ = transfer;
//!
//! // The notification handler: parse, verify, persist, then answer `OK`.
//! let verifier = NotificationVerifier::new(emulator.platform_uid(), Secret::from(emulator.secret_key()));
//! let body = br#"{"status":true,"transferStatus":"CONFIRMED","errorCode":"0",
//!                 "uidPlatform":"M2hULcD58iYGkmS7","orderId":"order-42"}"#;
//! let received = verifier.receive(body);
//! let notification: Notification = received.outcome?;
//! assert!(notification.transfer_status.is_final());
//! assert_eq!(&received.ack.body[..], b"OK");
//!
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## The flow
//!
//! 1. Optionally, [`Client::balance`] to decide whether to offer "pay with Kupi-Kupi points".
//! 2. [`Client::init`] with your order id: redirect the customer to
//!    [`Transfer::transfer_url`], where they enter the code the service sends them.
//! 3. The service POSTs a [`Notification`] to your NotificationURL. Verify it, persist the
//!    state change, and only then answer `200 OK` with the body `OK` (the transfer counts as
//!    CONFIRMED only after that). See [`notification`] and, for hyper or axum,
//!    [`service::NotificationService`].
//! 4. [`Client::checkout`] gives the status at any time; use it to confirm a notification and
//!    when a notification is late.
//!
//! ## Retrying safely
//!
//! No call is idempotent by contract. The client retries a call only when it provably never
//! reached the server (a refused connection, a connect timeout). After any other failure,
//! [`Error::may_have_been_sent`] is `true`: for `init`, keep the **same order id** — call
//! [`Client::checkout`] with it. If the transfer exists, it is yours: follow its status (the
//! provider does not document what a second `init` with the same order id does; the sandbox
//! returns the same transfer for the same phone and amount, and refuses other values). Only
//! when `checkout` says the order is unknown is it safe to `init` again, with the same order
//! id. Never invent a new order id for the
//! same purchase while the first may exist.
//!
//! ## Choices made where the provider is silent
//!
//! - The platform id is sent as `platformUid` (as the provider's PHP class does) and read from
//!   either `platformUid` or `uidPlatform`.
//! - `phone` and `amount` are sent as JSON numbers, `orderId` as a string; the token is the
//!   same either way. Fiscal numbers (`fn`, `fd`, `fp`) are sent as strings of digits, which
//!   keeps leading zeros; `receipt_type` and `discount` as numbers.
//! - The balance (`decimal(10,2)`) is read as major units with up to two decimals, exactly:
//!   `1000000` is 1 000 000.00 (100 000 000 minor units).
//! - An answer is a refusal when `status` is `false` or `errorCode` is not `"0"`, whatever the
//!   HTTP status; `status` and `errorCode` are read leniently (booleans, `"true"`, `1`;
//!   strings or numbers). Any other non-2xx answer is a transport error.
//! - `paymentId` is kept as its exact digits ([`PaymentId`]), since `Number(43)` fits no
//!   integer type.
//! - [`OrderId`] counts 1 to 36 characters (not bytes) and refuses control characters.
//! - [`ConfirmationCode`] is 1 to 18 digits, sent as a JSON number as the PHP class does (as a
//!   string when it starts with `0`, to keep the zero); `confirmation` and `receipt`
//!   answers are accepted with only `status`/`errorCode`, and any extra fields are kept.
//! - Fiscal fields follow Russian fiscal law: `fn` 16 digits, `fd` and `fp` 1 to 10 digits,
//!   `receipt_type` 1 to 4, `pay_date` as `d.m.Y H:i:s` in the receipt's local time.
//! - The token function refuses, instead of guessing, what PHP would turn into a float (a
//!   non-integer number or one outside `i64`) and keys that PHP treats as numbers.
//! - A notification's `token`, if present, is checked over every other field it carries;
//!   unsigned notifications are accepted unless [`NotificationVerifier::require_token`] is set.
//! - A refused notification is answered 400 (bad body) or 403 (other platform, bad token),
//!   never `OK`, so the provider delivers it again.
//!
//! ## Features
//!
//! - `ring` (default) or `aws-lc-rs`: the rustls crypto provider.
//! - `webpki-roots` (default) or `native-roots`: the trusted roots.
//! - `service` (default): [`service::NotificationService`], a hyper and tower `Service`. It
//!   adds `hyper` and `tower-service`, which the client's transport already builds.

mod client;
mod error;
pub mod notification;
mod params;
#[cfg(feature = "service")]
pub mod service;
pub mod token;
mod transformers;
mod types;

pub use client::{
    operations, Checkout, Client, ClientBuilder, Confirmation, Environment, ReceiptAccepted,
    TokenSigner, Transfer, PRODUCTION_BASE_URL, TEST_BASE_URL,
};
pub use error::{Error, ProviderError, ValidationError};
pub use notification::{Notification, NotificationError, NotificationVerifier};
pub use types::{
    ConfirmationCode, Discount, FiscalDocumentNumber, FiscalDriveNumber, FiscalSign, OrderId,
    PayDate, PaymentId, Phone, Receipt, ReceiptType, TransferAmount, TransferStatus,
    MAX_AMOUNT_MINOR,
};
