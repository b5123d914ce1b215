//! Inbound notifications: what Kupi-Kupi POSTs to the merchant's NotificationURL when a transfer
//! reaches a final status.
//!
//! The flow is parse → verify → persist → acknowledge:
//!
//! 1. [`Notification::parse`] reads the raw bytes (JSON) into a typed [`Notification`]. The
//!    platform id is read under `uidPlatform` (the seed) or `platformUid` (the PHP class);
//!    unknown fields are tolerated.
//! 2. [`Notification::verify`] checks that the platform id is yours and, if the body carries a
//!    `token`, that it is the token of the other fields with your secret key (in constant
//!    time). The provider documents no token, so an unsigned notification is accepted unless
//!    [`NotificationVerifier::require_token`] is set. Either way, check it against your stored
//!    order and ask [`crate::Client::checkout`] before you hand over goods.
//! 3. Persist the state change.
//! 4. Only then answer HTTP 200 with the body `OK` ([`Notification::acknowledgement`]). The
//!    provider counts the transfer as CONFIRMED only after it receives `OK`, and delivers the
//!    notification again until it does. Notifications may therefore arrive more than once:
//!    handle them idempotently (by order id).
//!
//! ```
//! use kupikupi::notification::{Notification, NotificationVerifier};
//! use payments_core::inbound::receive;
//! use payments_core::Secret;
//!
//! let verifier = NotificationVerifier::new("M2hULcD58iYGkmS7", Secret::from("yIKirCvplm8N1D9g"));
//! let body = br#"{"status":true,"transferStatus":"CONFIRMED","errorCode":"0",
//!                 "uidPlatform":"M2hULcD58iYGkmS7","orderId":"1234"}"#;
//! let received = receive::<Notification>(body, &verifier);
//! let n = received.outcome?;
//! assert!(n.transfer_status.is_confirmed());
//! // ... persist the change, then answer:
//! assert_eq!(received.ack.status, 200);
//! assert_eq!(&received.ack.body[..], b"OK");
//! assert_eq!(received.ack.content_type, "text/plain; charset=utf-8");
//! # Ok::<(), kupikupi::notification::NotificationError>(())
//! ```

use http::StatusCode;
use payments_core::inbound::{Acknowledgement, InboundNotification};
use payments_core::Secret;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::token::{token, TOKEN_FIELD};
use crate::transformers::PLATFORM_UID;
use crate::types::{short, OrderId, TransferStatus};

/// The platform id field of the seed's tables and of notifications.
pub const UID_PLATFORM: &str = "uidPlatform";

/// A notification, parsed and typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Whether the operation succeeded.
    pub status: bool,
    /// The transfer's status.
    pub transfer_status: TransferStatus,
    /// The error code (`"0"` on success).
    pub error_code: String,
    /// The provider's message, if any.
    pub message: Option<String>,
    /// The platform id (from `uidPlatform` or `platformUid`).
    pub platform_uid: String,
    /// The merchant's order id.
    pub order_id: OrderId,
    signed: Option<Signed>,
}

/// What a token check needs: the token and every other field.
#[derive(Clone, PartialEq, Eq)]
struct Signed {
    token: String,
    fields: Map<String, Value>,
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signed { token: [REDACTED], .. }")
    }
}

/// Why a notification was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The body is not a JSON object.
    #[error("the notification is not a JSON object: {0}")]
    NotJson(String),
    /// A required field is missing.
    #[error("the notification has no `{0}`")]
    Missing(&'static str),
    /// A field has the wrong type or value.
    #[error("the notification's `{field}` is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// `uidPlatform` and `platformUid` are both present and differ.
    #[error("the notification carries two different platform ids")]
    ConflictingPlatform,
    /// The platform id is not ours.
    #[error("the notification is for another platform")]
    WrongPlatform,
    /// The token does not match.
    #[error("the notification's token does not match")]
    WrongToken,
    /// No token, and the verifier requires one.
    #[error("the notification has no token")]
    MissingToken,
}

/// What [`Notification::verify`] checks against.
#[derive(Clone, Debug)]
pub struct NotificationVerifier {
    platform_uid: String,
    secret: Secret,
    require_token: bool,
}

impl NotificationVerifier {
    /// Your platform uid and the secret key of the environment that sends the notifications.
    pub fn new(platform_uid: impl Into<String>, secret: Secret) -> Self {
        NotificationVerifier {
            platform_uid: platform_uid.into(),
            secret,
            require_token: false,
        }
    }

    /// The framework-neutral handler: bytes in, the notification (or why it was refused) and
    /// the answer to send out. Persist an accepted notification before sending its answer.
    pub fn receive(&self, body: &[u8]) -> payments_core::inbound::Received<Notification> {
        payments_core::inbound::receive::<Notification>(body, self)
    }

    /// Refuses notifications without a `token` (the provider documents none, so the default
    /// is to accept them).
    pub fn require_token(mut self, required: bool) -> Self {
        self.require_token = required;
        self
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> NotificationError {
    NotificationError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn bool_field(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn text_field(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Notification {
    /// Parses raw bytes. Never panics; bad input is a [`NotificationError`].
    pub fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        let mut fields = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(NotificationError::NotJson("not an object".into())),
            Err(e) => return Err(NotificationError::NotJson(short(&e.to_string()))),
        };
        let get = |k: &'static str| fields.get(k).filter(|v| !v.is_null());
        let status = get("status")
            .ok_or(NotificationError::Missing("status"))
            .and_then(|v| bool_field(v).ok_or_else(|| invalid("status", "not a boolean")))?;
        let transfer_status = match get("transferStatus") {
            Some(Value::String(s)) if !s.is_empty() => TransferStatus::from(s.as_str()),
            Some(_) => return Err(invalid("transferStatus", "not a non-empty string")),
            None => return Err(NotificationError::Missing("transferStatus")),
        };
        let error_code = get("errorCode")
            .ok_or(NotificationError::Missing("errorCode"))
            .and_then(|v| text_field(v).ok_or_else(|| invalid("errorCode", "not a string")))?;
        let message = match get("message") {
            None => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(v) => Some(text_field(v).ok_or_else(|| invalid("message", "not a string"))?),
        };
        let uid = |k: &'static str| -> Result<Option<String>, NotificationError> {
            get(k)
                .map(|v| text_field(v).ok_or_else(|| invalid(k, "not a string")))
                .transpose()
        };
        let platform_uid = match (uid(UID_PLATFORM)?, uid(PLATFORM_UID)?) {
            (Some(a), Some(b)) if a != b => return Err(NotificationError::ConflictingPlatform),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Err(NotificationError::Missing("uidPlatform")),
        };
        let order_id = get("orderId")
            .ok_or(NotificationError::Missing("orderId"))
            .and_then(|v| text_field(v).ok_or_else(|| invalid("orderId", "not a string")))
            .and_then(|s| OrderId::new(s).map_err(|e| invalid("orderId", e.to_string())))?;
        let signed = match fields.remove(TOKEN_FIELD) {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(Signed { token, fields }),
            Some(_) => return Err(invalid("token", "not a string")),
        };
        Ok(Notification {
            status,
            transfer_status,
            error_code,
            message,
            platform_uid,
            order_id,
            signed,
        })
    }

    /// Whether the notification carried a `token`.
    pub fn is_signed(&self) -> bool {
        self.signed.is_some()
    }

    /// Checks the platform id and, if present, the token (in constant time).
    pub fn verify(&self, verifier: &NotificationVerifier) -> Result<(), NotificationError> {
        let platform_ok = payments_core::secret::ct_eq(
            self.platform_uid.as_bytes(),
            verifier.platform_uid.as_bytes(),
        );
        if !platform_ok {
            return Err(NotificationError::WrongPlatform);
        }
        match &self.signed {
            Some(signed) => {
                let expected = token(&signed.fields, &verifier.secret)
                    .map_err(|_| NotificationError::WrongToken)?;
                if expected.ct_eq(&signed.token) {
                    Ok(())
                } else {
                    Err(NotificationError::WrongToken)
                }
            }
            None if verifier.require_token => Err(NotificationError::MissingToken),
            None => Ok(()),
        }
    }

    /// The answer that acknowledges it: HTTP 200, `text/plain`, body `OK`. Send it only after
    /// the state change is persisted.
    pub fn acknowledgement(&self) -> Acknowledgement {
        ok_ack()
    }

    /// The normalised JSON: `status`, `transferStatus`, `errorCode`, `message` (if any),
    /// `uidPlatform`, `orderId`, and `signed`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// HTTP 200, `text/plain`, `OK`.
pub fn ok_ack() -> Acknowledgement {
    Acknowledgement::text(StatusCode::OK, "OK")
}

impl Serialize for Notification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("transferStatus", &self.transfer_status)?;
        m.serialize_entry("errorCode", &self.error_code)?;
        if let Some(msg) = &self.message {
            m.serialize_entry("message", msg)?;
        }
        m.serialize_entry(UID_PLATFORM, &self.platform_uid)?;
        m.serialize_entry("orderId", &self.order_id)?;
        m.serialize_entry("signed", &self.is_signed())?;
        m.end()
    }
}

impl InboundNotification for Notification {
    type Verifier = NotificationVerifier;
    type Error = NotificationError;

    fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        Notification::parse(body)
    }

    fn verify(&self, verifier: &NotificationVerifier) -> Result<(), NotificationError> {
        Notification::verify(self, verifier)
    }

    fn acknowledgement(&self) -> Acknowledgement {
        ok_ack()
    }

    /// HTTP 400 (403 for another platform or a bad token), `text/plain`: anything but `OK`
    /// makes the provider deliver the notification again.
    fn rejection(error: &NotificationError) -> Acknowledgement {
        match error {
            NotificationError::WrongPlatform
            | NotificationError::WrongToken
            | NotificationError::MissingToken => {
                Acknowledgement::text(StatusCode::FORBIDDEN, "refused")
            }
            _ => Acknowledgement::text(StatusCode::BAD_REQUEST, "invalid notification"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn verifier() -> NotificationVerifier {
        NotificationVerifier::new("M2hULcD58iYGkmS7", Secret::from("yIKirCvplm8N1D9g"))
    }

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn base() -> Value {
        json!({"status": true, "transferStatus": "CONFIRMED", "errorCode": "0",
               "uidPlatform": "M2hULcD58iYGkmS7", "orderId": "1234"})
    }

    #[test]
    fn parses_either_platform_field_and_tolerates_extras() {
        let n = Notification::parse(&body(base())).unwrap();
        assert!(n.status);
        assert_eq!(n.transfer_status, TransferStatus::Confirmed);
        assert_eq!(n.order_id.as_str(), "1234");
        n.verify(&verifier()).unwrap();
        let v = json!({"status": "false", "transferStatus": "REJECTED", "errorCode": 11,
                       "message": "not enough points", "platformUid": "M2hULcD58iYGkmS7",
                       "orderId": 1234, "extra": {"a": [1]}});
        let n = Notification::parse(&body(v)).unwrap();
        assert!(!n.status);
        assert_eq!(n.error_code, "11");
        assert_eq!(n.message.as_deref(), Some("not enough points"));
        n.verify(&verifier()).unwrap();
        assert_eq!(
            n.to_json(),
            json!({"status": false, "transferStatus": "REJECTED", "errorCode": "11",
                   "message": "not enough points", "uidPlatform": "M2hULcD58iYGkmS7",
                   "orderId": "1234", "signed": false})
        );
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            Notification::parse(b""),
            Err(NotificationError::NotJson(_))
        ));
        assert!(matches!(
            Notification::parse(b"[]"),
            Err(NotificationError::NotJson(_))
        ));
        assert!(matches!(
            Notification::parse(b"{\"status\":"),
            Err(NotificationError::NotJson(_))
        ));
        for (field, want) in [
            ("status", NotificationError::Missing("status")),
            (
                "transferStatus",
                NotificationError::Missing("transferStatus"),
            ),
            ("errorCode", NotificationError::Missing("errorCode")),
            ("uidPlatform", NotificationError::Missing("uidPlatform")),
            ("orderId", NotificationError::Missing("orderId")),
        ] {
            let mut v = base();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(Notification::parse(&body(v)), Err(want));
        }
        let mut v = base();
        v["status"] = json!("maybe");
        assert!(matches!(
            Notification::parse(&body(v)),
            Err(NotificationError::Invalid {
                field: "status",
                ..
            })
        ));
        let mut v = base();
        v["orderId"] = json!("x".repeat(37));
        assert!(matches!(
            Notification::parse(&body(v)),
            Err(NotificationError::Invalid {
                field: "orderId",
                ..
            })
        ));
        let mut v = base();
        v["platformUid"] = json!("other");
        assert_eq!(
            Notification::parse(&body(v)),
            Err(NotificationError::ConflictingPlatform)
        );
    }

    #[test]
    fn platform_and_token_checks() {
        let mut v = base();
        v["uidPlatform"] = json!("someone-else");
        let n = Notification::parse(&body(v)).unwrap();
        assert_eq!(n.verify(&verifier()), Err(NotificationError::WrongPlatform));

        let fields = base();
        let t = token(
            fields.as_object().unwrap(),
            &Secret::from("yIKirCvplm8N1D9g"),
        )
        .unwrap();
        let mut signed = base();
        signed["token"] = json!(t.as_str());
        let n = Notification::parse(&body(signed.clone())).unwrap();
        assert!(n.is_signed());
        n.verify(&verifier()).unwrap();
        n.verify(&verifier().require_token(true)).unwrap();
        assert!(!format!("{n:?}").contains(t.as_str()));

        for bad in ["", &t.as_str()[..10], &t.as_str().to_uppercase(), "0"] {
            let mut v = signed.clone();
            v["token"] = json!(bad);
            let n = Notification::parse(&body(v)).unwrap();
            assert_eq!(
                n.verify(&verifier()),
                Err(NotificationError::WrongToken),
                "{bad}"
            );
        }
        // A changed field breaks the token.
        let mut v = signed.clone();
        v["transferStatus"] = json!("REJECTED");
        let n = Notification::parse(&body(v)).unwrap();
        assert_eq!(n.verify(&verifier()), Err(NotificationError::WrongToken));

        let n = Notification::parse(&body(base())).unwrap();
        assert_eq!(
            n.verify(&verifier().require_token(true)),
            Err(NotificationError::MissingToken)
        );
    }

    #[test]
    fn answers() {
        let r = payments_core::inbound::receive::<Notification>(&body(base()), &verifier());
        assert!(r.outcome.is_ok());
        assert_eq!(r.ack.status, StatusCode::OK);
        assert_eq!(&r.ack.body[..], b"OK");
        let r = payments_core::inbound::receive::<Notification>(b"nope", &verifier());
        assert!(r.outcome.is_err());
        assert_eq!(r.ack.status, StatusCode::BAD_REQUEST);
        assert_ne!(&r.ack.body[..], b"OK");
        let mut v = base();
        v["uidPlatform"] = json!("x");
        let r = payments_core::inbound::receive::<Notification>(&body(v), &verifier());
        assert_eq!(r.ack.status, StatusCode::FORBIDDEN);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in any::<Vec<u8>>()) {
            let _ = payments_core::inbound::receive::<Notification>(&bytes, &verifier());
        }

        #[test]
        fn never_panics_on_json_shapes(
            status in prop_oneof![Just(json!(true)), Just(json!("x")), Just(json!(null)), Just(json!([1]))],
            order in prop_oneof![Just(json!("a")), Just(json!(1)), Just(json!(-1.5)), Just(json!({}))],
            code in prop_oneof![Just(json!("0")), Just(json!(0)), Just(json!(false))],
        ) {
            let v = json!({"status": status, "transferStatus": "NEW", "errorCode": code,
                           "uidPlatform": "M2hULcD58iYGkmS7", "orderId": order, "token": "t"});
            let r = payments_core::inbound::receive::<Notification>(&body(v), &verifier());
            prop_assert!(r.outcome.is_err() || r.ack.status == StatusCode::OK);
        }
    }
}
