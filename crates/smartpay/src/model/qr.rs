//! [`QrCode`]: the customer's QR payload, validated and passed on exactly as it was read.

use payments_core::Invalid;
use serde_json::{Map, Value};

/// The largest QR payload accepted, in bytes (a QR code holds at most 2953 bytes).
pub const MAX_QR_LEN: usize = 4096;

/// Why a QR payload was rejected; public as an [`Invalid`] problem about the field `qr` (the
/// payload as a whole) or `qr.<field>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QrError {
    /// The payload is larger than [`MAX_QR_LEN`].
    #[error("QR payload is too long ({len} bytes, at most {MAX_QR_LEN})")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The payload is not JSON.
    #[error("QR payload is not JSON: {0}")]
    NotJson(String),
    /// The payload is JSON but not an object.
    #[error("QR payload is not a JSON object")]
    NotAnObject,
    /// A field is missing.
    #[error("QR payload lacks the field `{0}`")]
    MissingField(&'static str),
    /// A field is not a string.
    #[error("QR field `{0}` is not a string")]
    NotAString(&'static str),
    /// `id_loyalty` is neither a string nor an integer.
    #[error("QR field `id_loyalty` is neither a string nor an integer")]
    BadLoyaltyId,
    /// A field is empty (or only whitespace).
    #[error("QR field `{0}` is empty")]
    Empty(&'static str),
    /// A base64 field does not decode.
    #[error("QR field `{0}` is not valid base64")]
    InvalidBase64(&'static str),
}

/// A customer's QR code: `{"id_loyalty", "encrypted", "sign"}`, as the mobile app made it.
///
/// It is validated when read (JSON, the three fields, both base64 fields decode) and then passed
/// on **exactly as read**: `encrypted` and `sign` are sent as scanned (not decoded and
/// re-encoded), `id_loyalty` as scanned (neither trimmed nor converted: a string stays that
/// string, an integer that integer), and any field the guide does not name is kept and sent too.
///
/// Validation is lenient where the text is: base64 in the standard or URL-safe alphabet, padded
/// or not, and with line breaks (or other whitespace) anywhere, is accepted.
///
/// `encrypted` and `sign` are a one-time payment credential: `Debug` does not show them (nor the
/// values of fields the guide does not name).
///
/// ```
/// use smartpay::QrCode;
///
/// let qr = QrCode::parse(r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3\nMDA","sign":"c2ln"}"#)?;
/// assert_eq!(qr.id_loyalty(), "7000123");
/// assert_eq!(qr.encrypted(), "b3RwLjE3\nMDA"); // as scanned
/// assert_eq!(qr.encrypted_bytes(), b"otp.1700");
/// assert_eq!(qr.sign_bytes(), b"sig");
/// assert!(QrCode::parse(r#"{"id_loyalty":"1","encrypted":"!!","sign":"c2ln"}"#).is_err());
/// # Ok::<(), smartpay::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct QrCode {
    /// `id_loyalty` as read: a JSON string or integer.
    id_loyalty: Value,
    /// Its text (the string, or the integer's digits).
    id_loyalty_text: String,
    encrypted: String,
    sign: String,
    encrypted_bytes: Vec<u8>,
    sign_bytes: Vec<u8>,
    /// The fields the guide does not name, as read.
    other: Map<String, Value>,
}

impl std::fmt::Debug for QrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrCode")
            .field("id_loyalty", &self.id_loyalty_text)
            .field("encrypted", &payments_core::secret::REDACTED)
            .field("sign", &payments_core::secret::REDACTED)
            .field("other_fields", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Decodes a base64 field for validation; the text itself is kept as it is.
fn decode_b64(field: &'static str, text: &str) -> Result<Vec<u8>, QrError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(QrError::Empty(field));
    }
    match payments_core::encoding::decode_base64_any(&compact) {
        Ok(bytes) if bytes.is_empty() => Err(QrError::Empty(field)),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(QrError::InvalidBase64(field)),
    }
}

/// Validates `id_loyalty` as read; returns its text.
fn loyalty_id_text(value: &Value) -> Result<String, QrError> {
    let text = match value {
        Value::String(s) => s.clone(),
        // An integer's digits are exact (u64 or i64); a float would not survive a round trip.
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return Err(QrError::BadLoyaltyId),
    };
    if text.trim().is_empty() {
        return Err(QrError::Empty("id_loyalty"));
    }
    Ok(text)
}

impl QrCode {
    /// Parses and validates a scanned QR payload. A refusal is an [`Invalid`] problem about
    /// `qr` or `qr.<field>`; it never quotes the payload.
    pub fn parse(payload: &str) -> Result<QrCode, Invalid> {
        QrCode::read(payload).map_err(Into::into)
    }

    fn read(payload: &str) -> Result<QrCode, QrError> {
        if payload.len() > MAX_QR_LEN {
            return Err(QrError::TooLong { len: payload.len() });
        }
        // serde_json's syntax errors name a position, never the payload's text.
        let value: Value =
            serde_json::from_str(payload).map_err(|e| QrError::NotJson(e.to_string()))?;
        match value {
            Value::Object(fields) => QrCode::from_fields(fields),
            _ => Err(QrError::NotAnObject),
        }
    }

    /// Validates the fields of a QR object (as read, or from the wire model).
    pub(crate) fn from_fields(mut other: Map<String, Value>) -> Result<QrCode, QrError> {
        let id_loyalty = match other.remove("id_loyalty") {
            None | Some(Value::Null) => return Err(QrError::MissingField("id_loyalty")),
            Some(v) => v,
        };
        let id_loyalty_text = loyalty_id_text(&id_loyalty)?;
        let mut text = |field: &'static str| match other.remove(field) {
            None | Some(Value::Null) => Err(QrError::MissingField(field)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(QrError::NotAString(field)),
        };
        let encrypted = text("encrypted")?;
        let sign = text("sign")?;
        Ok(QrCode {
            encrypted_bytes: decode_b64("encrypted", &encrypted)?,
            sign_bytes: decode_b64("sign", &sign)?,
            id_loyalty,
            id_loyalty_text,
            encrypted,
            sign,
            other,
        })
    }

    /// Builds a QR code from its three fields, kept as given (the base64 fields are validated as
    /// by [`QrCode::parse`]).
    pub fn from_parts(id_loyalty: &str, encrypted: &str, sign: &str) -> Result<QrCode, Invalid> {
        let mut fields = Map::new();
        fields.insert("id_loyalty".into(), Value::from(id_loyalty));
        fields.insert("encrypted".into(), Value::from(encrypted));
        fields.insert("sign".into(), Value::from(sign));
        QrCode::from_fields(fields).map_err(Into::into)
    }

    /// The customer's loyalty id as text (a string as read, or an integer's digits).
    pub fn id_loyalty(&self) -> &str {
        &self.id_loyalty_text
    }

    /// `id_loyalty` as read: a JSON string or integer.
    pub fn id_loyalty_json(&self) -> &Value {
        &self.id_loyalty
    }

    /// `encrypted`, as scanned.
    pub fn encrypted(&self) -> &str {
        &self.encrypted
    }

    /// `sign`, as scanned.
    pub fn sign(&self) -> &str {
        &self.sign
    }

    /// The decoded encrypted one-time password.
    pub fn encrypted_bytes(&self) -> &[u8] {
        &self.encrypted_bytes
    }

    /// The decoded signature.
    pub fn sign_bytes(&self) -> &[u8] {
        &self.sign_bytes
    }

    /// The fields the guide does not name, as read (sent on with the code).
    pub fn other_fields(&self) -> &Map<String, Value> {
        &self.other
    }

    /// The payload as read, as compact JSON: every field with its scanned value.
    pub fn to_json(&self) -> String {
        Value::Object(self.to_fields()).to_string()
    }

    /// Every field with its scanned value.
    pub(crate) fn to_fields(&self) -> Map<String, Value> {
        let mut fields = self.other.clone();
        fields.insert("id_loyalty".into(), self.id_loyalty.clone());
        fields.insert("encrypted".into(), Value::from(self.encrypted.as_str()));
        fields.insert("sign".into(), Value::from(self.sign.as_str()));
        fields
    }
}

impl From<QrError> for Invalid {
    fn from(e: QrError) -> Invalid {
        let field = match &e {
            QrError::TooLong { .. } | QrError::NotJson(_) | QrError::NotAnObject => "qr",
            QrError::MissingField(f)
            | QrError::NotAString(f)
            | QrError::Empty(f)
            | QrError::InvalidBase64(f) => match *f {
                "id_loyalty" => "qr.id_loyalty",
                "encrypted" => "qr.encrypted",
                "sign" => "qr.sign",
                _ => "qr",
            },
            QrError::BadLoyaltyId => "qr.id_loyalty",
        };
        Invalid::new(field, e.to_string())
    }
}

impl std::str::FromStr for QrCode {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QrCode::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_base64_form_and_keeps_it_as_scanned() {
        for (enc, sign) in [
            ("+/8=", "AQI="),
            ("-_8", "AQI"),
            ("+/8", "-_8="),
            ("+/\n8=", "AQ\r\nI="),
        ] {
            let payload = serde_json::json!({
                "id_loyalty": " 42 ", "encrypted": enc, "sign": sign, "extra": 1
            })
            .to_string();
            let qr = QrCode::parse(&payload).unwrap();
            assert_eq!(qr.id_loyalty(), " 42 ", "neither trimmed");
            assert_eq!(qr.encrypted_bytes(), &[0xfb, 0xff]);
            assert_eq!(qr.encrypted(), enc);
            assert_eq!(qr.sign(), sign);
            let back: Value = serde_json::from_str(&qr.to_json()).unwrap();
            assert_eq!(back, serde_json::from_str::<Value>(&payload).unwrap());
        }
        let qr = QrCode::parse(r#"{"id_loyalty":7000,"encrypted":"AA==","sign":"AA=="}"#).unwrap();
        assert_eq!(qr.id_loyalty(), "7000");
        assert_eq!(
            qr.id_loyalty_json(),
            &serde_json::json!(7000),
            "nor converted"
        );
        assert!(qr.to_json().contains(r#""id_loyalty":7000"#));
    }

    #[test]
    fn typed_errors() {
        let p = QrCode::read;
        assert!(matches!(p("nope"), Err(QrError::NotJson(_))));
        assert_eq!(p("[1]"), Err(QrError::NotAnObject));
        assert_eq!(
            p(r#"{"encrypted":"AA==","sign":"AA=="}"#),
            Err(QrError::MissingField("id_loyalty"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"  ","encrypted":"AA==","sign":"AA=="}"#),
            Err(QrError::Empty("id_loyalty"))
        );
        for bad in ["1.5", "true", "[1]", "{}"] {
            assert_eq!(
                p(&format!(
                    r#"{{"id_loyalty":{bad},"encrypted":"AA==","sign":"AA=="}}"#
                )),
                Err(QrError::BadLoyaltyId),
                "{bad}"
            );
        }
        assert_eq!(
            p(r#"{"id_loyalty":"1","sign":"AA=="}"#),
            Err(QrError::MissingField("encrypted"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","encrypted":5,"sign":"AA=="}"#),
            Err(QrError::NotAString("encrypted"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","encrypted":"AA==","sign":"a%b"}"#),
            Err(QrError::InvalidBase64("sign"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","encrypted":" \n ","sign":"AA=="}"#),
            Err(QrError::Empty("encrypted"))
        );
        let long = format!(r#"{{"id_loyalty":"{}"}}"#, "x".repeat(MAX_QR_LEN));
        assert!(matches!(p(&long), Err(QrError::TooLong { .. })));
    }

    #[test]
    fn a_refused_payload_is_an_invalid_problem_about_its_field_without_the_payload() {
        let e = QrCode::parse("nope").unwrap_err();
        assert!(e.is_about("qr"), "{e}");
        let e =
            QrCode::parse(r#"{"id_loyalty":"1","encrypted":"c2VjcmV0","sign":"%%%"}"#).unwrap_err();
        assert!(e.is_about("qr.sign"), "{e}");
        assert!(!e.to_string().contains("%%%") && !e.to_string().contains("c2VjcmV0"));
        let e = QrCode::from_parts("", "c2VjcmV0", "c2ln").unwrap_err();
        assert!(e.is_about("qr.id_loyalty"), "{e}");
        assert!("[1]".parse::<QrCode>().unwrap_err().is_about("qr"));
    }

    #[test]
    fn debug_hides_the_otp_and_unnamed_values() {
        let qr = QrCode::parse(
            r#"{"id_loyalty":"1","encrypted":"c2VjcmV0","sign":"c2ln","nonce":"n0nc3"}"#,
        )
        .unwrap();
        let d = format!("{qr:?}");
        assert!(
            !d.contains("c2VjcmV0") && !d.contains("c2ln") && !d.contains("n0nc3"),
            "{d}"
        );
        assert!(d.contains("nonce"), "{d}");
    }

    #[test]
    fn the_generated_wire_model_hides_the_otp_too() {
        use crate::model as models;
        let wire: models::QrPayload =
            serde_json::from_str(r#"{"id_loyalty":"7001","encrypted":"c2VjcmV0","sign":"c2ln"}"#)
                .unwrap();
        let d = format!("{wire:?}");
        assert!(!d.contains("c2VjcmV0") && !d.contains("c2ln"), "{d}");
        assert!(d.contains("7001") && d.contains("[REDACTED]"), "{d}");
        let builder = models::QrPayload::builder()
            .id_loyalty("7001")
            .encrypted("c2VjcmV0");
        let d = format!("{builder:?}");
        assert!(
            !d.contains("c2VjcmV0")
                && d.contains("Some(\"[REDACTED]\")")
                && d.contains("sign: None"),
            "{d}"
        );
        assert_eq!(builder.sign("c2ln").build().unwrap(), wire);
    }
}
