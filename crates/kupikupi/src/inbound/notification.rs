//! The notification body: parsed into a typed [`Notification`] and checked against the
//! merchant's platform uid (and a token, if the sender adds one). What comes out is a **hint**.

use std::fmt;

use http::StatusCode;
use payments_core::inbound::{Acknowledgement, Refusal};
use payments_core::Secret;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{OrderId, TransferStatus};
use crate::wire::token::{sign_map, TOKEN_FIELD};
use crate::wire::PLATFORM_UID;

/// The platform id field of the guide's tables and of notifications.
pub(crate) const UID_PLATFORM: &str = "uidPlatform";

/// The fields the guide documents for a notification (`platformUid` is the PHP class's name of
/// `uidPlatform`). A token, when a sender adds one, is checked over these fields only.
pub(crate) const DOCUMENTED_FIELDS: [&str; 7] = [
    "errorCode",
    "message",
    "orderId",
    PLATFORM_UID,
    "status",
    "transferStatus",
    UID_PLATFORM,
];

/// A notification: what the service POSTs to the merchant's NotificationURL after the customer
/// entered the transfer code.
///
/// **It is a hint, never proof.** The guide documents no signature, and the platform uid it
/// carries is no secret (it travels in every request), so anyone who knows the URL can POST a
/// notification saying `CONFIRMED` for any order. Nothing here can mark an order paid: only
/// [`crate::ConfirmedTransfer`], which only `checkout` builds, can (see [`crate::reconcile`] and
/// [`crate::NotificationReceiver`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// Whether the operation succeeded, as the sender says.
    pub status: bool,
    /// The transfer's status, as the sender says.
    pub transfer_status: TransferStatus,
    /// The error code (`"0"` on success).
    pub error_code: String,
    /// The sender's message, if any.
    pub message: Option<String>,
    /// The platform id (from `uidPlatform` or `platformUid`).
    pub platform_uid: String,
    /// The merchant's order id the notification is about.
    pub order_id: OrderId,
    signed: Option<Signed>,
}

/// What a token check needs: the token, and the documented fields it covers.
#[derive(Clone, PartialEq, Eq)]
struct Signed {
    token: String,
    fields: Map<String, Value>,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signed { token: [REDACTED], .. }")
    }
}

/// Why a notification was refused. No variant quotes a value from the body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The body is not JSON: the kind of error and where the parser stopped
    /// ([`payments_core::decode::JsonError`]), never the text around it.
    #[error("the notification is not JSON ({0})")]
    NotJson(payments_core::decode::JsonError),
    /// The body is JSON, but not an object.
    #[error("the notification is not a JSON object")]
    NotAnObject,
    /// A required field is missing.
    #[error("the notification has no `{0}`")]
    Missing(&'static str),
    /// A field has the wrong type or value.
    #[error("the notification's `{field}` is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why (never the value).
        reason: &'static str,
    },
    /// `uidPlatform` and `platformUid` are both present and differ.
    #[error("the notification carries two different platform ids")]
    ConflictingPlatform,
    /// The platform id is not ours.
    #[error("the notification is for another platform")]
    WrongPlatform,
    /// The token does not match the documented fields.
    #[error("the notification's token does not match")]
    WrongToken,
    /// No token, and the verifier requires one.
    #[error("the notification has no token")]
    MissingToken,
    /// The notification carries a token and a scalar field outside the documented set: a token
    /// cannot vouch for fields it may not cover.
    #[error("the signed notification carries a field outside the documented set")]
    UnsignedField,
}

impl NotificationError {
    /// The refusal for [`payments_core::inbound`]: 403 when the notification is not provably
    /// for this merchant (another platform, a wrong, missing or partial token), 400 otherwise.
    pub fn refusal(&self) -> Refusal {
        match self {
            NotificationError::WrongPlatform
            | NotificationError::WrongToken
            | NotificationError::MissingToken
            | NotificationError::UnsignedField => Refusal::unauthenticated(self.to_string()),
            _ => Refusal::malformed(self.to_string()),
        }
    }
}

/// What [`Notification::verify`] checks against: the platform uid and, for a notification
/// that carries a token, the secret key.
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

    /// The platform uid and secret key of a client.
    pub(crate) fn for_client(client: &crate::Client) -> Self {
        NotificationVerifier::new(client.platform_uid(), client.secret().clone())
    }

    /// Refuses notifications without a `token` (the guide documents none, so by default an
    /// unsigned notification passes this check; it is a hint either way).
    pub fn require_token(mut self, required: bool) -> Self {
        self.require_token = required;
        self
    }
}

fn invalid(field: &'static str, reason: &'static str) -> NotificationError {
    NotificationError::Invalid { field, reason }
}

/// A string, or an integer as its decimal text.
fn text_field(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

impl Notification {
    /// Parses raw bytes. Never panics; bad input is a [`NotificationError`] that quotes none of
    /// it. Unknown fields are tolerated, except a scalar one beside a `token`.
    pub fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        let mut fields = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(NotificationError::NotAnObject),
            Err(e) => {
                return Err(NotificationError::NotJson(
                    payments_core::decode::JsonError::new(&e),
                ))
            }
        };
        let get = |k: &'static str| fields.get(k).filter(|v| !v.is_null());
        let status = get("status")
            .ok_or(NotificationError::Missing("status"))
            .and_then(|v| {
                payments_core::wire::lenient_bool(v)
                    .ok_or_else(|| invalid("status", "not a boolean"))
            })?;
        let transfer_status = match get("transferStatus") {
            Some(Value::String(s)) if !s.is_empty() => TransferStatus::from_wire(s),
            Some(_) => return Err(invalid("transferStatus", "not a non-empty string")),
            None => return Err(NotificationError::Missing("transferStatus")),
        };
        let error_code = get("errorCode")
            .ok_or(NotificationError::Missing("errorCode"))
            .and_then(|v| {
                text_field(v).ok_or_else(|| invalid("errorCode", "not a string or an integer"))
            })?;
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
            .and_then(|v| {
                text_field(v).ok_or_else(|| invalid("orderId", "not a string or an integer"))
            })
            .and_then(|s| {
                OrderId::new(s).map_err(|_| {
                    invalid(
                        "orderId",
                        "not 1 to 36 characters without control characters",
                    )
                })
            })?;
        let signed = match fields.remove(TOKEN_FIELD) {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => {
                // The token is checked over the documented fields only. A scalar field
                // outside them may or may not be covered by the sender's token, and the PHP
                // rule concatenates values without keys (so text can move between fields):
                // a signed notification cannot carry one. Arrays and objects are never part of
                // a token, so what is left is exactly the documented fields.
                let unsigned_scalar = fields.iter().any(|(k, v)| {
                    !DOCUMENTED_FIELDS.contains(&k.as_str()) && !v.is_array() && !v.is_object()
                });
                if unsigned_scalar {
                    return Err(NotificationError::UnsignedField);
                }
                Some(Signed { token, fields })
            }
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

    /// Checks the platform id and, if present, the token over the documented fields (both in
    /// constant time). Passing proves only that the sender knows your platform uid (no
    /// secret) or, with a token, that it was made with your secret key; the notification stays
    /// a hint either way.
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
                let expected = sign_map(&signed.fields, &verifier.secret)
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

    /// The normalised JSON: `status`, `transferStatus`, `errorCode`, `message` (if any),
    /// `uidPlatform`, `orderId`, and `signed`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The answer that takes a notification: HTTP 200, `text/plain`, body `OK`. The service counts
/// the transfer as CONFIRMED only once it has received it.
pub(crate) fn ok_ack() -> Acknowledgement {
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

#[cfg(test)]
mod tests {
    use super::*;
    use payments_core::inbound::RefusalKind;
    use proptest::prelude::*;
    use serde_json::json;

    const UID: &str = "M2hULcD58iYGkmS7";
    const KEY: &str = "yIKirCvplm8N1D9g";

    fn verifier() -> NotificationVerifier {
        NotificationVerifier::new(UID, Secret::from(KEY))
    }

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn base() -> Value {
        json!({"status": true, "transferStatus": "CONFIRMED", "errorCode": "0",
               "uidPlatform": UID, "orderId": "1234"})
    }

    fn check(v: Value) -> Result<Notification, NotificationError> {
        let n = Notification::parse(&body(v))?;
        n.verify(&verifier())?;
        Ok(n)
    }

    fn signed(mut v: Value) -> Value {
        let t = crate::token(v.as_object().unwrap(), &Secret::from(KEY)).unwrap();
        v["token"] = json!(t.as_str());
        v
    }

    #[test]
    fn parses_either_platform_field_and_tolerates_extras() {
        let n = check(base()).unwrap();
        assert!(n.status);
        assert_eq!(n.transfer_status, TransferStatus::Confirmed);
        assert_eq!(n.order_id.as_str(), "1234");
        let v = json!({"status": "false", "transferStatus": "REJECTED", "errorCode": 11,
                       "message": "not enough points", "platformUid": UID,
                       "orderId": 1234, "extra": {"a": [1]}, "more": 5});
        let n = check(v).unwrap();
        assert!(!n.status);
        assert_eq!(n.error_code, "11");
        assert_eq!(n.message.as_deref(), Some("not enough points"));
        assert_eq!(
            n.to_json(),
            json!({"status": false, "transferStatus": "REJECTED", "errorCode": "11",
                   "message": "not enough points", "uidPlatform": UID,
                   "orderId": "1234", "signed": false})
        );
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            Notification::parse(b""),
            Err(NotificationError::NotJson(e))
                if e.category() == payments_core::decode::JsonCategory::Eof
        ));
        assert_eq!(
            Notification::parse(b"[]"),
            Err(NotificationError::NotAnObject)
        );
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
        for (field, value) in [
            ("status", json!("maybe")),
            ("orderId", json!("x".repeat(37))),
            ("orderId", json!(1.5)),
            ("orderId", json!(-1.5)),
            ("transferStatus", json!("")),
            ("errorCode", json!([0])),
        ] {
            let mut v = base();
            v[field] = value;
            assert!(
                matches!(
                    Notification::parse(&body(v)),
                    Err(NotificationError::Invalid { field: f, .. }) if f == field
                ),
                "{field}"
            );
        }
        let mut v = base();
        v["platformUid"] = json!("other");
        assert_eq!(
            Notification::parse(&body(v)),
            Err(NotificationError::ConflictingPlatform)
        );
    }

    /// Issue 11 §5: a parse error never quotes the body (serde's own messages do).
    #[test]
    fn parse_errors_quote_no_value_from_the_body() {
        let secretish = "s3cr3t-VALUE-in-the-body";
        for raw in [
            format!("{{\"status\": {secretish}}}"),
            format!("{{\"status\": true, \"orderId\": \"{secretish}{}\"", "x".repeat(40)),
            format!("\"{secretish}\""),
            format!("{{\"{secretish}\" 1}}"),
            format!(
                "{{\"status\":\"{secretish}\",\"transferStatus\":\"NEW\",\"errorCode\":\"0\",\"uidPlatform\":\"u\",\"orderId\":\"o\"}}"
            ),
            format!(
                "{{\"status\":true,\"transferStatus\":\"NEW\",\"errorCode\":\"0\",\"uidPlatform\":\"u\",\"orderId\":\"{secretish}{}\"}}",
                "y".repeat(40)
            ),
        ] {
            let err = Notification::parse(raw.as_bytes()).unwrap_err();
            let shown = format!("{err} {err:?} {}", err.refusal());
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn platform_checks() {
        let mut v = base();
        v["uidPlatform"] = json!("someone-else");
        assert_eq!(check(v).unwrap_err(), NotificationError::WrongPlatform);
        let mut v = base();
        v["uidPlatform"] = json!(&UID[..10]);
        assert_eq!(check(v).unwrap_err(), NotificationError::WrongPlatform);
    }

    #[test]
    fn token_checks() {
        let s = signed(base());
        let n = Notification::parse(&body(s.clone())).unwrap();
        assert!(n.is_signed());
        n.verify(&verifier()).unwrap();
        n.verify(&verifier().require_token(true)).unwrap();
        let t = s["token"].as_str().unwrap().to_owned();
        assert!(!format!("{n:?}").contains(&t));

        for bad in ["", &t[..10], &t.to_uppercase(), "0"] {
            let mut v = s.clone();
            v["token"] = json!(bad);
            assert_eq!(
                check(v).unwrap_err(),
                NotificationError::WrongToken,
                "{bad}"
            );
        }
        // A changed field breaks the token.
        let mut v = s.clone();
        v["transferStatus"] = json!("REJECTED");
        assert_eq!(check(v).unwrap_err(), NotificationError::WrongToken);
        // Another key.
        let n = Notification::parse(&body(s.clone())).unwrap();
        let other = NotificationVerifier::new(UID, Secret::from("another-key"));
        assert_eq!(n.verify(&other), Err(NotificationError::WrongToken));

        let n = Notification::parse(&body(base())).unwrap();
        assert_eq!(
            n.verify(&verifier().require_token(true)),
            Err(NotificationError::MissingToken)
        );
    }

    /// Issue 11 §3: a token is checked over the documented fields only, and a signed
    /// notification with a scalar field outside them is refused.
    #[test]
    fn a_token_covers_the_documented_fields_only() {
        // The PHP rule concatenates values without keys: a token over {errorCode: "0", x: "1"}
        // is also the token over {errorCode: "01"}. A token made over an extra field must not
        // make the documented fields it shifts text between pass.
        let mut with_extra = base();
        with_extra["errorCode"] = json!("0");
        with_extra["aExtra"] = json!("1");
        let s = signed(with_extra);
        assert_eq!(
            Notification::parse(&body(s)),
            Err(NotificationError::UnsignedField)
        );
        // Arrays and objects are never signed: tolerated, and ignored by the check.
        let mut v = signed(base());
        v["list"] = json!([1, 2]);
        v["obj"] = json!({"k": "v"});
        check(v).unwrap();
        // Without a token, extras are tolerated as before.
        let mut v = base();
        v["extra"] = json!("x");
        check(v).unwrap();
        // The documented fields are all covered: the message too.
        let mut v = base();
        v["message"] = json!("hello");
        let mut s = signed(v);
        check(s.clone()).unwrap();
        s["message"] = json!("hullo");
        assert_eq!(check(s).unwrap_err(), NotificationError::WrongToken);
        assert_eq!(
            NotificationError::UnsignedField.refusal().kind(),
            RefusalKind::Unauthenticated
        );
    }

    #[test]
    fn refusals_map_to_one_status_each() {
        for (e, kind) in [
            (
                NotificationError::WrongPlatform,
                RefusalKind::Unauthenticated,
            ),
            (NotificationError::WrongToken, RefusalKind::Unauthenticated),
            (
                NotificationError::MissingToken,
                RefusalKind::Unauthenticated,
            ),
            (NotificationError::NotAnObject, RefusalKind::Malformed),
            (
                NotificationError::Missing("orderId"),
                RefusalKind::Malformed,
            ),
        ] {
            assert_eq!(e.refusal().kind(), kind, "{e}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in any::<Vec<u8>>()) {
            if let Ok(n) = Notification::parse(&bytes) {
                let _ = n.verify(&verifier());
            }
        }

        #[test]
        fn never_panics_on_json_shapes(
            status in prop_oneof![Just(json!(true)), Just(json!("x")), Just(json!(null)), Just(json!([1]))],
            order in prop_oneof![Just(json!("a")), Just(json!(1)), Just(json!(-1.5)), Just(json!({}))],
            code in prop_oneof![Just(json!("0")), Just(json!(0)), Just(json!(false))],
        ) {
            let v = json!({"status": status, "transferStatus": "NEW", "errorCode": code,
                           "uidPlatform": UID, "orderId": order, "token": "t"});
            if let Ok(n) = Notification::parse(&body(v)) {
                prop_assert!(n.verify(&verifier()).is_err());
            }
        }
    }
}
