//! Callbacks: the notification Ktpay POSTs to `callback_post_url` on a final status.
//!
//! Flow: parse → look up the stored order → verify → persist → acknowledge.
//!
//! - **Parse** raw bytes into a [`Notification`]. Bad input is a typed [`CallbackError`], never a
//!   panic. `status` and `error.error_type` are open enums; timestamps keep their offsets
//!   (`+06:00`); `updated_at` may be null.
//! - **Verify.** Callbacks are unsigned, so they are unauthenticated input: check them against
//!   the order the merchant stored ([`ExpectedOrder`]: `order_id`, `amount`, and
//!   `transaction_hash` once known). A mismatch is [`CallbackError::Mismatch`].
//! - **Acknowledge** with HTTP 200, `Content-Type: application/json`, `{"status":"ok"}`
//!   ([`acknowledgement`]). Anything else makes Ktpay deliver the callback again after 15 s,
//!   60 s, 3 min, 10 min, 30 min and 60 min, so persist the state change first, and make
//!   handling idempotent (the same callback may arrive more than once).
//!
//! [`CallbackHandler`] wraps the flow, framework-neutral ([`CallbackHandler::receive`] on bytes)
//! or hyper/axum-ready ([`CallbackHandler::receive_http`] on an `http::Request`).
//!
//! ## Sealed callback bodies (opt-in, a guess)
//!
//! Ktpay asks each merchant for the public half of a sodium key pair, but no public source says
//! what it is used for; the PHP SDK carries an unused sealed-box *open* helper. With
//! [`CallbackHandler::with_merchant_keypair`], a body that is not JSON is tried as a base64
//! sealed box (any base64 form) opened with the merchant's pair. This is a guess, off by default.

use std::fmt;

use bytes::Bytes;
use http::StatusCode;
use payments_core::inbound::{Acknowledgement, InboundNotification, Received};
use payments_core::Amount;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::keys::{KeyError, Keypair};
use crate::order::{OrderId, TransactionHash};
use crate::transformers::NotificationWire;

macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// Reads the wire value; unknown values are kept in [`Self::Unknown`].
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(s) => s,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::from_wire(&s))
            }
        }
    };
}

open_enum!(
    /// A transaction's status (`status.status`).
    ///
    /// ```
    /// use ktwidget::Status;
    /// assert!(Status::from_wire("completed").is_final());
    /// assert!(!Status::from_wire("authorized").is_final());
    /// let s = Status::from_wire("refunded");
    /// assert_eq!(s, Status::Unknown("refunded".into()));
    /// assert_eq!(serde_json::to_string(&s).unwrap(), "\"refunded\"");
    /// ```
    Status {
        /// The customer has not entered card data yet.
        Pending => "pending",
        /// The money is held on the card; processing continues.
        Authorized => "authorized",
        /// Successful, but the card's clearing is not finished.
        Success => "success",
        /// Final: an error during the transaction; it failed.
        Error => "error",
        /// Final: refused by the acquirer, the service gateway or Ktpay; it failed.
        Denied => "denied",
        /// Final: successful and cleared.
        Completed => "completed",
    }
);

impl Status {
    /// Whether the status is final (`completed`, `error`, `denied`). Unknown statuses are not.
    pub fn is_final(&self) -> bool {
        matches!(self, Status::Completed | Status::Error | Status::Denied)
    }

    /// Whether the payment went through (`completed`).
    pub fn is_completed(&self) -> bool {
        matches!(self, Status::Completed)
    }

    /// Whether the payment failed (`error` or `denied`).
    pub fn is_failed(&self) -> bool {
        matches!(self, Status::Error | Status::Denied)
    }
}

open_enum!(
    /// The kind of failure (`status.error.error_type`).
    ErrorType {
        /// `ERROR_PAYMENT`: while executing the payment.
        Payment => "ERROR_PAYMENT",
        /// `ERROR_INPUT`: while the card data was entered.
        Input => "ERROR_INPUT",
        /// `ERROR_SYSTEM`: inside Ktpay.
        System => "ERROR_SYSTEM",
    }
);

/// `status.error`: present for `error` and `denied`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransactionError {
    /// `error_type`.
    pub error_type: Option<ErrorType>,
    /// `error_message`, e.g. `KKB rejected payment`.
    pub error_message: Option<String>,
}

/// The `status` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusInfo {
    /// `status.status`.
    pub status: Status,
    /// `status.created_at`, with its offset.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// `status.updated_at`, with its offset (often null).
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// `status.error`.
    pub error: Option<TransactionError>,
}

/// The documented callback body (also the assumed shape of the provisional status answer).
///
/// Its `Serialize` gives the normalised JSON (amount as an exact decimal number, timestamps in
/// RFC 3339 with their original offsets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// `merchant_id`: the merchant's id at Ktpay.
    pub merchant_id: Option<u64>,
    /// `order_id`: the merchant's order id.
    pub order_id: OrderId,
    /// `description`.
    pub description: Option<String>,
    /// `amount`, exact.
    #[serde(with = "payments_core::money::decimal")]
    pub amount: Amount,
    /// `transaction_hash`: Ktpay's id of the transaction.
    pub transaction_hash: TransactionHash,
    /// `created_at`, with its offset.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// `updated_at`, with its offset; may be null.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// `status`.
    pub status: StatusInfo,
}

impl Notification {
    /// Parses a plain JSON callback body (use [`CallbackHandler::parse`] for the sealed opt-in).
    ///
    /// ```
    /// use ktwidget::{Notification, Status};
    /// let body = br#"{"merchant_id":1,"order_id":"1","description":"Description of transactions",
    ///   "amount":1000,"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf",
    ///   "created_at":"2019-02-05T14:22:53+06:00","updated_at":null,
    ///   "status":{"status":"error","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,
    ///   "error":{"error_type":"ERROR_PAYMENT","error_message":"KKB rejected payment"}}}"#;
    /// let n = Notification::from_json(body)?;
    /// assert_eq!(n.status.status, Status::Error);
    /// assert_eq!(n.created_at.offset().whole_hours(), 6);
    /// assert_eq!(n.amount.minor(), 100_000);
    /// # Ok::<(), ktwidget::CallbackError>(())
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, CallbackError> {
        let wire: NotificationWire =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed {
                reason: e.to_string(),
                excerpt: payments_core::redact::excerpt(body),
            })?;
        Notification::try_from(wire)
            .map_err(|(field, reason)| CallbackError::InvalidField { field, reason })
    }

    /// The normalised JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a callback was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The body is not a JSON object of the documented shape.
    #[error(
        "the callback body is not valid JSON of the documented shape: {reason} (body: {excerpt:?})"
    )]
    Malformed {
        /// What the parser said.
        reason: String,
        /// A short, redacted excerpt of the body.
        excerpt: String,
    },
    /// A field is missing or has a bad value.
    #[error("callback field {field}: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The body was not JSON, and did not open as a sealed box with the merchant's key pair.
    #[error("the callback body is neither JSON nor a sealed box for this key pair: {0}")]
    Sealed(KeyError),
    /// No stored order matches the callback's `order_id`.
    #[error("no stored order with order_id {order_id:?}")]
    UnknownOrder {
        /// The callback's `order_id`.
        order_id: String,
    },
    /// The callback disagrees with the stored order: do not trust it; ask Ktpay for the status.
    #[error("callback {field} mismatch: stored {expected:?}, received {received:?}")]
    Mismatch {
        /// `order_id`, `amount` or `transaction_hash`.
        field: &'static str,
        /// The stored value.
        expected: String,
        /// The callback's value.
        received: String,
    },
    /// The HTTP request could not be read (wrong method, body too large, I/O).
    #[error("the callback request could not be read: {0}")]
    Request(String),
}

/// What the merchant stored when creating the payment; a callback must agree with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedOrder {
    /// The order id sent.
    pub order_id: OrderId,
    /// The amount sent.
    pub amount: Amount,
    /// The hash Ktpay returned, once known (checked when set).
    pub transaction_hash: Option<TransactionHash>,
}

impl ExpectedOrder {
    /// The stored order id and amount.
    pub fn new(order_id: OrderId, amount: Amount) -> Self {
        ExpectedOrder {
            order_id,
            amount,
            transaction_hash: None,
        }
    }

    /// Also checks the transaction hash.
    pub fn with_transaction_hash(mut self, hash: TransactionHash) -> Self {
        self.transaction_hash = Some(hash);
        self
    }

    /// Checks `n` against the stored order.
    pub fn check(&self, n: &Notification) -> Result<(), CallbackError> {
        if !payments_core::secret::ct_eq(
            self.order_id.as_str().as_bytes(),
            n.order_id.as_str().as_bytes(),
        ) {
            return Err(CallbackError::Mismatch {
                field: "order_id",
                expected: self.order_id.to_string(),
                received: n.order_id.to_string(),
            });
        }
        if self.amount != n.amount {
            return Err(CallbackError::Mismatch {
                field: "amount",
                expected: self.amount.to_compact_string(),
                received: n.amount.to_compact_string(),
            });
        }
        if let Some(h) = &self.transaction_hash {
            if !payments_core::secret::ct_eq(
                h.as_str().as_bytes(),
                n.transaction_hash.as_str().as_bytes(),
            ) {
                return Err(CallbackError::Mismatch {
                    field: "transaction_hash",
                    expected: h.to_string(),
                    received: n.transaction_hash.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// The answer Ktpay expects: HTTP 200, `application/json`, `{"status":"ok"}`.
pub fn acknowledgement() -> Acknowledgement {
    Acknowledgement::json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// The answer to a refused callback: HTTP 400, `{"status":"error"}`. Ktpay will deliver it
/// again on its schedule.
pub fn rejection() -> Acknowledgement {
    Acknowledgement::json(StatusCode::BAD_REQUEST, r#"{"status":"error"}"#)
}

impl InboundNotification for Notification {
    type Verifier = ExpectedOrder;
    type Error = CallbackError;

    fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        Notification::from_json(body)
    }

    fn verify(&self, expected: &ExpectedOrder) -> Result<(), CallbackError> {
        expected.check(self)
    }

    fn acknowledgement(&self) -> Acknowledgement {
        acknowledgement()
    }

    fn rejection(_: &CallbackError) -> Acknowledgement {
        rejection()
    }
}

/// The default cap on a callback body: 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Receives callbacks: parse (optionally opening sealed bodies), look up, verify, answer.
///
/// ```
/// use ktwidget::callback::{CallbackHandler, ExpectedOrder};
/// use ktwidget::OrderId;
///
/// let body = br#"{"merchant_id":1,"order_id":"A-1","amount":"250.50","transaction_hash":"h",
///   "created_at":"2024-05-01T10:00:00+05:00","updated_at":null,
///   "status":{"status":"completed","created_at":"2024-05-01T10:01:00+05:00","updated_at":null,"error":null}}"#;
/// let handler = CallbackHandler::new();
/// let received = handler.receive(body, |n| {
///     // Look the order up in your store by n.order_id.
///     Some(ExpectedOrder::new(OrderId::new("A-1").unwrap(), "250.5".parse().unwrap()))
/// });
/// let n = received.outcome.expect("verified");
/// assert!(n.status.status.is_completed());
/// // Persist the state change, then answer:
/// assert_eq!(&received.ack.body[..], br#"{"status":"ok"}"#);
/// assert_eq!(received.ack.content_type, "application/json");
/// ```
#[derive(Clone, Debug)]
pub struct CallbackHandler {
    keypair: Option<Keypair>,
    max_body: usize,
}

impl Default for CallbackHandler {
    fn default() -> Self {
        CallbackHandler::new()
    }
}

impl CallbackHandler {
    /// A handler for plain JSON callbacks.
    pub fn new() -> Self {
        CallbackHandler {
            keypair: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Opt-in (a guess, see the module docs): a body that is not JSON is opened as a base64
    /// sealed box with the merchant's key pair.
    pub fn with_merchant_keypair(mut self, keypair: Keypair) -> Self {
        self.keypair = Some(keypair);
        self
    }

    /// Caps the body read by [`CallbackHandler::receive_http`] (default 64 KiB).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Parses a body: JSON, or (opt-in) a base64 sealed box holding JSON.
    pub fn parse(&self, body: &[u8]) -> Result<Notification, CallbackError> {
        let trimmed = body.trim_ascii();
        if trimmed.first() == Some(&b'{') {
            return Notification::from_json(trimmed);
        }
        match &self.keypair {
            None => Notification::from_json(trimmed),
            Some(kp) => {
                let text = std::str::from_utf8(trimmed)
                    .map_err(|_| CallbackError::Sealed(KeyError::NotBase64 { what: "body" }))?;
                let text = text.trim_matches('"');
                let plain = kp.open_base64(text).map_err(CallbackError::Sealed)?;
                Notification::from_json(&plain)
            }
        }
    }

    /// Parses, looks the stored order up with `lookup` (by `order_id`), verifies, and chooses
    /// the answer. Persist the state change before sending `ack` when `outcome` is `Ok`.
    pub fn receive<F>(&self, body: &[u8], lookup: F) -> Received<Notification>
    where
        F: FnOnce(&Notification) -> Option<ExpectedOrder>,
    {
        let outcome = self.parse(body).and_then(|n| match lookup(&n) {
            None => Err(CallbackError::UnknownOrder {
                order_id: n.order_id.to_string(),
            }),
            Some(expected) => expected.check(&n).map(|()| n),
        });
        let ack = match &outcome {
            Ok(_) => acknowledgement(),
            Err(_) => rejection(),
        };
        Received { outcome, ack }
    }

    /// Reads an `http::Request` (hyper's `Request<Incoming>`, axum's `Request`), then does what
    /// [`CallbackHandler::receive`] does. Only `POST` is accepted; the body is capped.
    ///
    /// Answer with `received.ack.into_http_response()` after persisting.
    pub async fn receive_http<B, F>(
        &self,
        request: http::Request<B>,
        lookup: F,
    ) -> Received<Notification>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        F: FnOnce(&Notification) -> Option<ExpectedOrder>,
    {
        match self.read_body(request).await {
            Ok(body) => self.receive(&body, lookup),
            Err(e) => Received {
                outcome: Err(e),
                ack: rejection(),
            },
        }
    }

    /// Reads the body of a callback request (POST only, capped).
    pub async fn read_body<B>(&self, request: http::Request<B>) -> Result<Bytes, CallbackError>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        use http_body_util::BodyExt;
        if request.method() != http::Method::POST {
            return Err(CallbackError::Request(format!(
                "method {} (expected POST)",
                request.method()
            )));
        }
        let limited = http_body_util::Limited::new(request.into_body(), self.max_body);
        limited
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| CallbackError::Request(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"merchant_id":1,"order_id":"1","description":"Description of transactions","amount":1000,"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","created_at":"2019-02-05T14:22:53+06:00","updated_at":null,"status":{"status":"completed","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,"error":null}}"#;

    fn expected() -> ExpectedOrder {
        ExpectedOrder::new(OrderId::new("1").unwrap(), Amount::from_minor(100_000))
    }

    #[test]
    fn documented_success_body() {
        let n = Notification::from_json(OK.as_bytes()).unwrap();
        assert_eq!(n.merchant_id, Some(1));
        assert_eq!(n.status.status, Status::Completed);
        assert!(n.status.status.is_final());
        assert!(n.updated_at.is_none());
        assert!(n.status.error.is_none());
        assert_eq!(n.created_at.offset().whole_hours(), 6);
        assert_eq!(n.created_at.hour(), 14);
        let json = n.to_json();
        assert!(
            json.contains(r#""created_at":"2019-02-05T14:22:53+06:00""#),
            "{json}"
        );
        assert!(json.contains(r#""amount":1000"#), "{json}");
        // The normalised JSON parses back to the same notification.
        assert_eq!(Notification::from_json(json.as_bytes()).unwrap(), n);
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        let body = OK
            .replace(r#""status":"completed""#, r#""status":"refunded""#)
            .replace(
                r#""error":null"#,
                r#""error":{"error_type":"ERROR_NEW","error_message":"x"}"#,
            );
        let n = Notification::from_json(body.as_bytes()).unwrap();
        assert_eq!(n.status.status, Status::Unknown("refunded".into()));
        assert!(!n.status.status.is_final());
        let err = n.status.error.as_ref().unwrap();
        assert_eq!(err.error_type, Some(ErrorType::Unknown("ERROR_NEW".into())));
        assert!(n.to_json().contains(r#""error_type":"ERROR_NEW""#));
        assert_eq!(ErrorType::from_wire("ERROR_INPUT"), ErrorType::Input);
        // Serde round-trips known and unknown values alike.
        for s in [
            "pending",
            "authorized",
            "success",
            "error",
            "denied",
            "completed",
            "new",
        ] {
            let st: Status = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(st.as_str(), s);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
            assert_eq!(st.is_final(), matches!(s, "error" | "denied" | "completed"));
        }
        let t: ErrorType = serde_json::from_str("\"ERROR_SYSTEM\"").unwrap();
        assert_eq!(t, ErrorType::System);
        assert_eq!(t.to_string(), "ERROR_SYSTEM");
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        for (body, field) in [
            (
                OK.replace(r#""amount":1000"#, r#""amount":10.001"#),
                "amount",
            ),
            (OK.replace(r#""amount":1000"#, r#""amount":-1"#), "amount"),
            (
                OK.replace(r#""order_id":"1""#, r#""order_id":"""#),
                "order_id",
            ),
            (
                OK.replace(
                    r#""created_at":"2019-02-05T14:22:53+06:00""#,
                    r#""created_at":"yesterday""#,
                ),
                "created_at",
            ),
            (
                OK.replace(
                    r#""created_at":"2019-02-05T14:22:53+06:00""#,
                    r#""created_at":"2019-02-05T14:22:53""#,
                ),
                "created_at",
            ),
            (OK.replace(r#""status":"completed","#, ""), "status.status"),
            (
                OK.replace(
                    r#""transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","#,
                    "",
                ),
                "transaction_hash",
            ),
        ] {
            match Notification::from_json(body.as_bytes()) {
                Err(CallbackError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        for body in ["", "null", "[1]", "{", "\u{0}", r#"{"amount": {"x": 1}}"#] {
            assert!(Notification::from_json(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn lenient_about_types_and_space_separated_times() {
        let body = OK
            .replace(r#""order_id":"1""#, r#""order_id":1"#)
            .replace(r#""merchant_id":1"#, r#""merchant_id":"1""#)
            .replace(r#""amount":1000"#, r#""amount":"1000.00""#)
            .replace("2019-02-05T14:23:09+06:00", "2019-02-05 14:23:09+06:00");
        let n = Notification::from_json(body.as_bytes()).unwrap();
        assert_eq!(n.order_id.as_str(), "1");
        assert!(expected().check(&n).is_ok());
    }

    #[test]
    fn verification_against_the_stored_order() {
        let n = Notification::from_json(OK.as_bytes()).unwrap();
        assert!(expected().check(&n).is_ok());
        let hash = TransactionHash::new("af7ed500aa9f2132fae4b63e936af641bcc4ebaf").unwrap();
        assert!(expected().with_transaction_hash(hash).check(&n).is_ok());
        let wrong_amount =
            ExpectedOrder::new(OrderId::new("1").unwrap(), Amount::from_minor(99_999));
        assert!(matches!(
            wrong_amount.check(&n),
            Err(CallbackError::Mismatch {
                field: "amount",
                ..
            })
        ));
        let wrong_id = ExpectedOrder::new(OrderId::new("2").unwrap(), Amount::from_minor(100_000));
        assert!(matches!(
            wrong_id.check(&n),
            Err(CallbackError::Mismatch {
                field: "order_id",
                ..
            })
        ));
        let wrong_hash = expected().with_transaction_hash(TransactionHash::new("af7e").unwrap());
        assert!(matches!(
            wrong_hash.check(&n),
            Err(CallbackError::Mismatch {
                field: "transaction_hash",
                ..
            })
        ));
    }

    #[test]
    fn receive_answers_ok_or_error() {
        let h = CallbackHandler::new();
        let r = h.receive(OK.as_bytes(), |_| Some(expected()));
        assert!(r.outcome.is_ok());
        assert_eq!(r.ack.status, StatusCode::OK);
        assert_eq!(&r.ack.body[..], br#"{"status":"ok"}"#);
        let resp = r.ack.into_http_response();
        assert_eq!(
            resp.headers()[http::header::CONTENT_TYPE],
            "application/json"
        );
        let r = h.receive(OK.as_bytes(), |_| None);
        assert!(matches!(r.outcome, Err(CallbackError::UnknownOrder { .. })));
        assert_eq!(r.ack.status, StatusCode::BAD_REQUEST);
        let r = payments_core::inbound::receive::<Notification>(OK.as_bytes(), &expected());
        assert!(r.outcome.is_ok());
    }

    #[test]
    fn sealed_bodies_only_when_opted_in() {
        let kp = Keypair::generate();
        let sealed = kp.app_key().seal_base64(OK.as_bytes()).unwrap();
        assert!(matches!(
            CallbackHandler::new().parse(sealed.as_bytes()),
            Err(CallbackError::Malformed { .. })
        ));
        let h = CallbackHandler::new().with_merchant_keypair(kp);
        assert_eq!(h.parse(sealed.as_bytes()).unwrap().order_id.as_str(), "1");
        // Plain JSON still works with the opt-in.
        assert!(h.parse(OK.as_bytes()).is_ok());
        let other = Keypair::generate()
            .app_key()
            .seal_base64(OK.as_bytes())
            .unwrap();
        assert_eq!(
            h.parse(other.as_bytes()).unwrap_err(),
            CallbackError::Sealed(KeyError::Open)
        );
        assert!(matches!(
            h.parse(b"%%%"),
            Err(CallbackError::Sealed(KeyError::NotBase64 { .. }))
        ));
    }

    #[tokio::test]
    async fn receive_http_reads_post_bodies_with_a_cap() {
        use http_body_util::Full;
        let h = CallbackHandler::new();
        let req = http::Request::post("/cb")
            .body(Full::new(Bytes::from(OK)))
            .unwrap();
        let r = h.receive_http(req, |_| Some(expected())).await;
        assert!(r.outcome.is_ok());
        let req = http::Request::get("/cb")
            .body(Full::new(Bytes::from(OK)))
            .unwrap();
        let r = h.receive_http(req, |_| Some(expected())).await;
        assert!(matches!(r.outcome, Err(CallbackError::Request(_))));
        let small = CallbackHandler::new().max_body(10);
        let req = http::Request::post("/cb")
            .body(Full::new(Bytes::from(OK)))
            .unwrap();
        let r = small.receive_http(req, |_| Some(expected())).await;
        assert!(matches!(r.outcome, Err(CallbackError::Request(_))));
        assert_eq!(r.ack.status, StatusCode::BAD_REQUEST);
    }
}
