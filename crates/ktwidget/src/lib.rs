//! # ktwidget
//!
//! A client for the Ktpay (KTWidget) merchant widget API: payment creation with libsodium
//! sealed-box requests, the three answer envelopes, typed provider errors, the merchant's key
//! pair, and callbacks. It builds on [`payments_core`] (transport, retries, timeouts, `Secret`,
//! `Amount`).
//!
//! ```
//! use ktwidget::{Client, Environment, Order, Status};
//! use payments_sandbox::ktwidget::{self as sandbox, Config, CARD_SUCCESS};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A loopback emulator of Ktpay stands in for https://fintech.test.nplus.tech here.
//! let ktpay = sandbox::start(Config::default()).await?;
//!
//! // app_id and app_key come from your Ktpay manager.
//! let client = Client::builder()
//!     .app_id(ktpay.app_id())
//!     .app_key_base64(&ktpay.app_key_base64()) // any of the four base64 forms
//!     .environment(Environment::custom(&ktpay.base_url(), &ktpay.base_url())?)
//!     // or .environment(Environment::Production) / Environment::Test
//!     .build()?;
//!
//! let order = Order::builder("order-1", "1000.50".parse()?)
//!     .description("Order 1")
//!     .callback_post_url("https://shop.example/ktpay/callback")
//!     .build()?; // validated before anything is sent
//! let created = client.create_payment(&order).await?;
//! // Store created.transaction_hash with the order, then send the customer to the widget.
//! assert!(created.widget_url.as_str().ends_with(&format!("/payment-card?hash={}", created.transaction_hash)));
//!
//! // (The customer pays on the widget page; the sandbox can do it for the example.)
//! ktpay.pay(created.transaction_hash.as_str(), CARD_SUCCESS)?;
//! let status = client.payment_status(&created.transaction_hash).await?; // provisional endpoint
//! assert_eq!(status.status.status, Status::Completed);
//! let pdf = client.receipt_pdf(&created.transaction_hash).await?;
//! assert!(pdf.starts_with(b"%PDF-"));
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
//! See [`callback`]: parse → look up the stored order → verify (`order_id`, `amount`, and the
//! hash once known; callbacks are unsigned) → persist → acknowledge with HTTP 200,
//! `application/json`, `{"status":"ok"}`. [`CallbackHandler`] does it on bytes or on an
//! `http::Request` (hyper, axum). Opening a non-JSON callback body as a sealed box with the
//! merchant's [`Keypair`] is an opt-in **guess**.
//!
//! ## Choices made where Ktpay is silent
//!
//! The integration guide (`docs/providers/ktwidget.md`) lists the same choices.
//!
//! - The default environment is [`Environment::Test`], so nothing reaches production by accident.
//! - Request bodies use standard padded base64; keys and sealed boxes are read in any base64 form.
//! - Amounts are written as the shortest exact decimal (`1000.5`, `12`), never through `f64`;
//!   answers may carry numbers or strings.
//! - `show_close_button` is sent only when set; an answer without it means `true`.
//! - The widget URL is built from the widget base and the hash (query-encoded), not read from the
//!   answer.
//! - Status, cancel and refund use provisional paths with `Auth-Identifier`; cancel has no body;
//!   refund's body is the sealed `{"amount"}`; the status and cancel answers are read in the
//!   callback's shape; the refund answer's fields are all optional.
//! - `acquirer_options` and `receipt_pdf` also send `Auth-Identifier`, although the examples show
//!   none.
//! - A refusal with a `500xxxx` code counts as retryable ([`Error::is_retryable`]), but no
//!   non-idempotent call (create, cancel, refund) is re-sent automatically once it may have
//!   arrived.
//! - Lenient reading: ids as numbers or strings; `error.code` as a number or a string; `success`
//!   as a boolean, `0`/`1` or `"true"`/`"false"`; timestamps with a space instead of `T`.
//! - A refused callback is answered HTTP 400 `{"status":"error"}`, so Ktpay delivers it again;
//!   [`CallbackHandler::receive_http`] caps bodies at 64 KiB.
//! - Order validation adds conservative limits: ids ≤ 255 characters, description ≤ 1000.
//!
//! ## Features
//!
//! `ring` (default) or `aws-lc-rs`, and `webpki-roots` (default) or `native-roots`, forwarded to
//! [`payments_core`].

pub mod callback;
pub mod client;
pub mod error;
pub mod keys;
pub mod order;
mod transformers;

pub use callback::{
    CallbackError, CallbackHandler, ErrorType, ExpectedOrder, Notification, Status, StatusInfo,
    TransactionError,
};
pub use client::{Client, ClientBuilder, Environment, Paths, PaymentCreated, Refund, Sealer};
pub use error::{Error, ProviderError};
pub use keys::{AppKey, KeyError, Keypair};
pub use order::{
    CallbackUrl, CallbackUrls, ContractValue, Order, OrderBuilder, OrderId, PaymentKind, ServiceId,
    TransactionHash, User, ValidationError,
};
pub use payments_core::{Amount, RetryPolicy, Secret, Timeouts};
