//! # kupikupi
//!
//! A client for the Kupi-Kupi cashback service's points transfer API: the request token, typed
//! calls (`balance`, `init`, `checkout`, `confirmation`, `receipt`), typed errors, and the
//! notification endpoint, which treats a notification as a hint and credits an order only when
//! `checkout` says CONFIRMED.
//!
//! ```
//! use std::collections::HashMap;
//! use std::convert::Infallible;
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! use kupikupi::{
//!     Client, ConfirmationCode, ConfirmedTransfer, FailedTransfer, Notification,
//!     NotificationReceiver, OrderId, Phone, Secret, StoredTransfer, TransferAmount,
//!     TransferStore,
//! };
//! use payments_sandbox::kupikupi as sandbox;
//!
//! /// The shop's orders: a database in real life.
//! #[derive(Clone, Default)]
//! struct Orders(Arc<Mutex<HashMap<OrderId, (TransferAmount, &'static str)>>>);
//!
//! impl TransferStore for Orders {
//!     type Error = Infallible;
//!
//!     // A notification is a hint: find the order, note "notified", never mark it paid here.
//!     async fn notified(&self, n: &Notification) -> Result<Option<StoredTransfer>, Infallible> {
//!         let mut orders = self.0.lock().unwrap();
//!         Ok(orders.get_mut(&n.order_id).map(|(amount, state)| {
//!             if *state == "pending" {
//!                 *state = "notified";
//!             }
//!             StoredTransfer::new(*amount)
//!         }))
//!     }
//!
//!     // Only `checkout` builds a ConfirmedTransfer: this is where the order is paid.
//!     async fn confirmed(&self, t: ConfirmedTransfer) -> Result<(), Infallible> {
//!         self.0.lock().unwrap().entry(t.order_id().clone()).and_modify(|o| o.1 = "paid");
//!         Ok(())
//!     }
//!
//!     async fn failed(&self, t: FailedTransfer) -> Result<(), Infallible> {
//!         self.0.lock().unwrap().entry(t.order_id().clone()).and_modify(|o| o.1 = "failed");
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The shop's NotificationURL, and a local emulator of the service that notifies it.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let notify_url = format!("http://{}/kupikupi/notify", listener.local_addr()?);
//! let emulator = sandbox::start(sandbox::Config::default().with_notification_url(notify_url)).await?;
//!
//! // Production by default (https only); the local emulator needs the plain-http opt-in.
//! let client = Client::builder()
//!     .platform_uid(emulator.platform_uid())
//!     .secret_key(Secret::from(emulator.secret_key()))
//!     .base_url(emulator.base_url())
//!     .allow_plain_http_to_loopback()
//!     .build()?;
//!
//! // The notification endpoint: answers OK, then confirms with checkout.
//! let orders = Orders::default();
//! let endpoint = NotificationReceiver::new(client.clone(), orders.clone()).into_service();
//! let app = axum::Router::new().route_service("/kupikupi/notify", endpoint);
//! tokio::spawn(async move { axum::serve(listener, app).await });
//!
//! // Pay: store the order, init the transfer, send the customer to its form.
//! let phone = Phone::new("79000000001")?;
//! let order = OrderId::new("order-42")?;
//! let amount = TransferAmount::from_minor(25_000)?; // 250.00
//! orders.0.lock().unwrap().insert(order.clone(), (amount, "pending"));
//! let transfer = client.init(&phone, &order, amount).await?;
//! assert_eq!(transfer.amount, amount);
//! // The customer enters the code on transfer.transfer_url (here: the `confirmation` method).
//! let code = ConfirmationCode::new(emulator.confirmation_code())?;
//! client.confirmation(&phone, &code).await?;
//!
//! // Notification → OK → the service confirms → checkout says CONFIRMED → paid.
//! for _ in 0..200 {
//!     if orders.0.lock().unwrap()[&order].1 == "paid" {
//!         break;
//!     }
//!     tokio::time::sleep(Duration::from_millis(50)).await;
//! }
//! assert_eq!(orders.0.lock().unwrap()[&order].1, "paid");
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## The flow
//!
//! 1. Optionally, [`Client::balance`] to decide whether to offer "pay with Kupi-Kupi points".
//! 2. Store the order, then [`Client::init`] with its id and amount; the answer must echo both
//!    ([`Error::InitMismatch`] otherwise, with the transfer's id and URL kept). Redirect the
//!    customer to [`Transfer::transfer_url`], where they enter the code the service sends
//!    them.
//! 3. The service POSTs a [`Notification`] to your NotificationURL. It is a **hint**: the guide
//!    documents no signature, and the platform uid it carries is no secret.
//!    [`NotificationReceiver`] checks it, has your [`TransferStore`] record the order as
//!    notified, answers `OK` (the service counts the transfer as CONFIRMED only once it has
//!    it), and **then** polls [`Client::checkout`]: your store's `confirmed` hook receives a
//!    [`ConfirmedTransfer`], which only `checkout` can build.
//! 4. [`reconcile`] runs the same polling for your reconciliation job: orders still
//!    "notified" (a confirmation that did not end), and orders whose notification never came.
//!    The guide does not say whether a notification that was not answered `OK` is sent again;
//!    do not count on it.
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
//! id. Never invent a new order id for the same purchase while the first may exist.
//! `checkout` itself only reads, so the confirmation asks it repeatedly on purpose.
//!
//! ## Choices made where the provider is silent
//!
//! Each one, with how to override it, is in the guide's assumptions table
//! (`docs/providers/kupikupi.md`, section 10). The ones that touch money:
//!
//! - a notification is never trusted: `checkout` decides, polled from 1 s after the `OK`, at
//!   most 30 s apart, for 10 minutes ([`DEFAULT_CONFIRM_POLICY`], a [`PollPolicy`] of
//!   `payments-core`);
//! - `checkout`'s CONFIRMED is taken to be about the transfer `init` made for that order id and
//!   amount: use one order id per transfer ([`StoredTransfer::with_payment_id`] also checks the
//!   transfer id);
//! - a notification's `token`, if present, is checked over the documented fields only, and a
//!   signed notification with another scalar field is refused;
//! - refused notifications are not assumed to be delivered again.
//!
//! ## Features
//!
//! - `ring` (default) or `aws-lc-rs`: the rustls crypto provider.
//! - `webpki-roots` (default) or `native-roots`: the trusted roots.

mod client;
mod error;
mod inbound;
mod model;
pub mod operations;
mod params;
pub mod token;
mod wire;

pub use client::{
    Client, ClientBuilder, Environment, TokenSigner, PRODUCTION_BASE_URL, TEST_BASE_URL,
};
pub use error::{Echo, Error, InitMismatch, ProviderError, ValidationError};
pub use inbound::{
    reconcile, ConfirmedTransfer, FailedTransfer, Notification, NotificationError,
    NotificationReceiver, NotificationService, NotificationVerifier, Reconciled, StoredTransfer,
    TransferStore, Unresolved, UnresolvedReason, DEFAULT_CONFIRM_POLICY, DEFAULT_MAX_CONFIRMATIONS,
};
pub use model::{
    Checkout, Confirmation, ConfirmationCode, Discount, FiscalDocumentNumber, FiscalDriveNumber,
    FiscalSign, OrderId, PayDate, PaymentId, Phone, Receipt, ReceiptAccepted, ReceiptType,
    Transfer, TransferAmount, TransferStatus, MAX_AMOUNT_MINOR,
};
pub use payments_core::inbound::BodyLimits;
pub use payments_core::{
    Amount, Jitter, PollPolicy, PollPolicyBuilder, PollPolicyError, PollSchedule, RetryPolicy,
    Secret, Timeouts,
};
