//! # ktwidget
//!
//! A client for the Ktpay (KTWidget) merchant widget API: payment creation with libsodium
//! sealed-box requests, the three answer envelopes, typed provider errors, the merchant's key
//! pair, and callbacks that a customer cannot forge. It builds on [`payments_core`] (transport,
//! retries, timeouts, `Secret`, `Amount`, the inbound endpoint).
//!
//! The whole safe flow: the client tags each order's callback URL, the receiver takes only
//! callbacks with the right tag, and the merchant records a [`ConfirmedStatus`], never a body.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//! use ktwidget::{
//!     CallbackReceiver, CallbackSecret, CallbackStore, CallbackTagger, Client, ConfirmedStatus,
//!     Environment, Order, OrderId, StoredOrder,
//! };
//! use payments_sandbox::ktwidget::{self as sandbox, Config, CARD_SUCCESS};
//!
//! /// The shop's orders (a database in real life).
//! #[derive(Default)]
//! struct Shop(Mutex<HashMap<OrderId, StoredOrder>>);
//!
//! impl CallbackStore for Shop {
//!     type Error = std::convert::Infallible;
//!     async fn stored_order(&self, id: &OrderId) -> Result<Option<StoredOrder>, Self::Error> {
//!         Ok(self.0.lock().unwrap().get(id).cloned())
//!     }
//!     async fn record(&self, confirmed: ConfirmedStatus) -> Result<(), Self::Error> {
//!         // Called only for an allowed transition (a final status is never replaced).
//!         if let Some(o) = self.0.lock().unwrap().get_mut(confirmed.order_id()) {
//!             o.status = Some(confirmed.status().clone());
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A loopback emulator of Ktpay stands in for https://fintech.test.nplus.tech here.
//! let ktpay = sandbox::start(Config::default().with_time_scale(0.001)).await?;
//!
//! // One secret of at least 32 bytes, from your secret store (here: a fresh one).
//! let tagger = CallbackTagger::new(CallbackSecret::generate());
//!
//! // The callback endpoint: a tower/hyper Service (axum: `route_service`).
//! let shop = Arc::new(Shop::default());
//! let endpoint = CallbackReceiver::tagged(tagger.clone(), shop.clone()).into_service();
//! let router = axum::Router::new().route_service("/ktpay/callback", endpoint);
//! let merchant = payments_sandbox::serve("127.0.0.1:0".parse()?, router, None).await?;
//!
//! // app_id and app_key come from your Ktpay manager.
//! let client = Client::builder()
//!     .app_id(ktpay.app_id())
//!     .app_key_base64(&ktpay.app_key_base64()) // any of the four base64 forms
//!     .environment(Environment::custom(&ktpay.base_url(), &ktpay.base_url())?)
//!     // or .environment(Environment::Production) / Environment::Test, both https
//!     .allow_plain_http_to_loopback() // only for the local emulator
//!     .tag_callbacks(tagger)
//!     .build()?;
//!
//! let order = Order::builder("order-1", "1000.50".parse()?)
//!     .description("Order 1")
//!     .callback_post_url(format!("{}/ktpay/callback", merchant.base_url()))
//!     .build()?; // validated before anything is sent
//! // Store the order before creating the payment, and the hash once Ktpay answers.
//! shop.0.lock().unwrap().insert(order.order_id().clone(), StoredOrder::of(&order));
//! let created = client.create_payment(&order).await?;
//! if let Some(o) = shop.0.lock().unwrap().get_mut(order.order_id()) {
//!     o.transaction_hash = Some(created.transaction_hash.clone());
//! }
//! // Send the customer to created.widget_url. (The sandbox can pay for the example.)
//! ktpay.pay(created.transaction_hash.as_str(), CARD_SUCCESS)?;
//! # ktpay.wait_for_delivery(created.transaction_hash.as_str(), std::time::Duration::from_secs(10))
//! #     .await.ok_or("no callback")?;
//! let stored = shop.0.lock().unwrap()[order.order_id()].clone();
//! assert!(stored.status.as_ref().is_some_and(|s| s.is_completed()));
//!
//! // Reconciliation (for an order whose callback never came): Ktpay's own answer.
//! let confirmed = client.confirm_status(&stored).await?; // provisional endpoint
//! assert!(confirmed.is_paid());
//! # merchant.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Requests
//!
//! A request body is `base64(crypto_box_seal(json, app_key))`: libsodium's anonymous sealed box
//! (made by the `crypto_box` crate and tested against a box made by libsodium 1.0.18), in
//! **standard padded** base64, with the headers `Auth-Identifier: <app_id>` and
//! `Content-Type: text/plain`. The plaintext is zeroised after sealing; neither it nor the key is
//! ever logged. The `app_key` is accepted in any of the four base64 forms, because the seed
//! documentation's JS snippet (`sodium.from_base64(key)`) defaults to URL-safe without padding
//! and throws on the documented padded key.
//!
//! The API and widget base URLs must be `https://`; plain `http://` is allowed only to a
//! loopback host, with [`ClientBuilder::allow_plain_http_to_loopback`].
//!
//! ## Answers
//!
//! All three envelopes are read into one result: `{"success", "payload"|"error"}` (the API
//! reference), `{"error": [], "response": {"success", "data"}}` (live examples) and
//! `{"success": false, "data": [], "error": {"code", "messages", "hint"}}` (the PHP SDK and the JS
//! README). A refusal is a [`ProviderError`] with `code`, `messages` (from `message` or
//! `messages`, a map or a list), the `validation` map and `hint`, and helpers
//! [`ProviderError::is_validation`] (code starts with `422`), [`ProviderError::is_unknown_app`]
//! (4010103) and [`ProviderError::is_key_expired`] (4220104). Any other shape is a decode error
//! ([`Error::is_decode`]) quoting a short, redacted excerpt. Transport failures stay in
//! [`Error::Transport`], apart from Ktpay's refusals.
//!
//! ## Endpoints
//!
//! | Method | Path (overridable, [`Paths`]) | Notes |
//! |---|---|---|
//! | [`Client::create_payment`] | `POST /api/v1/merchant-widget/payment` | sealed order; never re-sent once it may have arrived |
//! | [`Client::acquirer_options`] | `GET .../payment/{hash}/acquirer-options` | `payment_page` |
//! | [`Client::receipt_pdf`] | `GET .../payment/{hash}/pdf` | checked to start with `%PDF-` |
//! | [`Client::payment_status`] | `GET .../payment/{hash}` | **provisional** |
//! | [`Client::confirm_status`] | the status call, checked against a [`StoredOrder`] | **provisional** |
//! | [`Client::cancel_payment`] | `POST .../payment/{hash}/cancel` | **provisional** |
//! | [`Client::refund_payment`] | `POST .../payment/{hash}/refund` | **provisional**, sealed `{"amount"}` |
//!
//! Ktpay never published status, cancel and refund (their sections are empty in every version of
//! the reference). The SDK offers them in the published endpoints' REST shape, sends
//! `Auth-Identifier` on them, and assumes the status answer has the callback's shape; override
//! the paths with [`ClientBuilder::paths`] once Ktpay confirms the real ones.
//!
//! ## Callbacks
//!
//! A callback body is a [`CallbackHint`]: the customer knows everything in it. The tag
//! ([`CallbackTagger`]) that the client puts in the sealed `callback_post_url` is what tells
//! Ktpay's callbacks from forgeries; [`CallbackReceiver`] checks it in constant time, checks the
//! callback against the [`StoredOrder`], never replaces a stored final status
//! ([`Transition`]), records a [`ConfirmedStatus`] through your [`CallbackStore`], and answers
//! HTTP 200, `application/json`, `{"status":"ok"}`, all inside core's
//! [`payments_core::inbound::InboundService`]. A merchant who cannot tag opts in by name to
//! [`CallbackReceiver::confirm_untagged_callbacks_with_status_call`]. Opening a non-JSON
//! callback body as a sealed box with the merchant's [`Keypair`] is an opt-in **guess**
//! ([`CallbackReceiver::open_sealed_bodies_with`]).
//!
//! ## Choices made where Ktpay is silent
//!
//! The integration guide (`docs/providers/ktwidget.md`, section 9) lists every choice, with how
//! to override each: the environment, the base64 forms, amounts, the provisional endpoints, the
//! lenient reading of answers and callbacks, the callback tag and where it travels, the answers
//! to refused callbacks, phones and `service_id`.
//!
//! ## Features
//!
//! `ring` (default) or `aws-lc-rs`, and `webpki-roots` (default) or `native-roots`, forwarded to
//! [`payments_core`].

mod client;
mod error;
mod inbound;
mod keys;
mod model;
mod operations;
mod tag;
mod wire;

pub use client::{
    Client, ClientBuilder, Environment, Paths, Sealer, AUTH_IDENTIFIER, PRODUCTION_API,
    PRODUCTION_WIDGET, PROVIDER, TEST_API, TEST_WIDGET,
};
pub use error::{codes, Error, ProviderError};
pub use inbound::{
    acknowledgement, CallbackError, CallbackHint, CallbackReceiver, CallbackStore, ConfirmedStatus,
    Evidence, StoredOrder,
};
pub use keys::{
    decode_base64_any, encode_base64, seal, AppKey, KeyError, Keypair, KEY_LEN, SEAL_OVERHEAD,
};
pub use model::{
    normalise_phone, CallbackUrl, CallbackUrls, ContractValue, ErrorType, Order, OrderBuilder,
    OrderId, PaymentCreated, PaymentKind, Refund, ServiceId, Status, StatusInfo, Timestamp,
    TimestampError, Transaction, TransactionError, TransactionHash, Transition, User,
    ValidationError,
};
pub use payments_core::{Amount, RetryPolicy, Secret, Timeouts};
pub use tag::{CallbackSecret, CallbackTagger, TagPlacement, DEFAULT_TAG_PARAMETER, TAG_LEN};
