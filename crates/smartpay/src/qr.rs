//! [`QrCode`]: the customer's QR payload, validated.

use serde_json::Value;

/// The largest QR payload accepted, in bytes (a QR code holds at most 2953 bytes).
pub const MAX_QR_LEN: usize = 4096;

/// Why a QR payload was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
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
    /// A field is empty.
    #[error("QR field `{0}` is empty")]
    Empty(&'static str),
    /// A base64 field does not decode.
    #[error("QR field `{0}` is not valid base64")]
    InvalidBase64(&'static str),
}

/// A customer's QR code: `{"id_loyalty", "encrypted", "sign"}`.
///
/// `encrypted` and `sign` are base64 (standard or URL-safe, padded or not, all accepted) of the
/// encrypted one-time password and of its signature. They are kept normalised to standard padded
/// base64, and are not shown by `Debug` (they are a one-time payment credential).
///
/// ```
/// use smartpay::QrCode;
///
/// let qr = QrCode::parse(r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDA","sign":"c2ln"}"#)?;
/// assert_eq!(qr.id_loyalty(), "7000123");
/// assert_eq!(qr.encrypted(), "b3RwLjE3MDA=");
/// assert_eq!(qr.sign_bytes(), b"sig");
/// assert!(QrCode::parse(r#"{"id_loyalty":"1","encrypted":"!!","sign":"c2ln"}"#).is_err());
/// # Ok::<(), smartpay::QrError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct QrCode {
    id_loyalty: String,
    encrypted: Vec<u8>,
    sign: Vec<u8>,
}

impl std::fmt::Debug for QrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrCode")
            .field("id_loyalty", &self.id_loyalty)
            .field("encrypted", &payments_core::secret::REDACTED)
            .field("sign", &payments_core::secret::REDACTED)
            .finish()
    }
}

fn decode_b64(field: &'static str, text: &str) -> Result<Vec<u8>, QrError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QrError::Empty(field));
    }
    match payments_core::encoding::decode_base64_any(text) {
        Ok(bytes) if bytes.is_empty() => Err(QrError::Empty(field)),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(QrError::InvalidBase64(field)),
    }
}

impl QrCode {
    /// Parses and validates a scanned QR payload.
    pub fn parse(payload: &str) -> Result<QrCode, QrError> {
        if payload.len() > MAX_QR_LEN {
            return Err(QrError::TooLong { len: payload.len() });
        }
        let value: Value =
            serde_json::from_str(payload.trim()).map_err(|e| QrError::NotJson(e.to_string()))?;
        let obj = value.as_object().ok_or(QrError::NotAnObject)?;
        // The loyalty id's format belongs to the mobile app; a number is accepted as its text.
        let id_loyalty = match obj.get("id_loyalty") {
            None | Some(Value::Null) => return Err(QrError::MissingField("id_loyalty")),
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(QrError::NotAString("id_loyalty")),
        };
        if id_loyalty.is_empty() {
            return Err(QrError::Empty("id_loyalty"));
        }
        let text = |field: &'static str| match obj.get(field) {
            None | Some(Value::Null) => Err(QrError::MissingField(field)),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(QrError::NotAString(field)),
        };
        let encrypted = decode_b64("encrypted", text("encrypted")?)?;
        let sign = decode_b64("sign", text("sign")?)?;
        Ok(QrCode {
            id_loyalty,
            encrypted,
            sign,
        })
    }

    /// Builds a QR code from its parts (the base64 fields are validated as by [`QrCode::parse`]).
    pub fn from_parts(id_loyalty: &str, encrypted: &str, sign: &str) -> Result<QrCode, QrError> {
        let id_loyalty = id_loyalty.trim();
        if id_loyalty.is_empty() {
            return Err(QrError::Empty("id_loyalty"));
        }
        Ok(QrCode {
            id_loyalty: id_loyalty.to_owned(),
            encrypted: decode_b64("encrypted", encrypted)?,
            sign: decode_b64("sign", sign)?,
        })
    }

    /// The customer's loyalty id.
    pub fn id_loyalty(&self) -> &str {
        &self.id_loyalty
    }

    /// `encrypted`, as standard padded base64.
    pub fn encrypted(&self) -> String {
        payments_core::encoding::encode_base64(&self.encrypted)
    }

    /// `sign`, as standard padded base64.
    pub fn sign(&self) -> String {
        payments_core::encoding::encode_base64(&self.sign)
    }

    /// The decoded encrypted one-time password.
    pub fn encrypted_bytes(&self) -> &[u8] {
        &self.encrypted
    }

    /// The decoded signature.
    pub fn sign_bytes(&self) -> &[u8] {
        &self.sign
    }

    /// The normalised JSON payload: `{"id_loyalty","encrypted","sign"}` with standard padded
    /// base64.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "id_loyalty": self.id_loyalty,
            "encrypted": self.encrypted(),
            "sign": self.sign(),
        })
        .to_string()
    }
}

impl std::str::FromStr for QrCode {
    type Err = QrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QrCode::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_base64_form_and_normalises() {
        for (enc, sign) in [("+/8=", "AQI="), ("-_8", "AQI"), ("+/8", "-_8=")] {
            let qr = QrCode::parse(&format!(
                r#"{{"id_loyalty":" 42 ","encrypted":"{enc}","sign":"{sign}","extra":1}}"#
            ))
            .unwrap();
            assert_eq!(qr.id_loyalty(), "42");
            assert_eq!(qr.encrypted_bytes(), &[0xfb, 0xff]);
            assert!(qr.to_json().contains(r#""encrypted":"+/8=""#));
        }
        let qr = QrCode::parse(r#"{"id_loyalty":7000,"encrypted":"AA==","sign":"AA=="}"#).unwrap();
        assert_eq!(qr.id_loyalty(), "7000");
    }

    #[test]
    fn typed_errors() {
        let p = QrCode::parse;
        assert!(matches!(p("nope"), Err(QrError::NotJson(_))));
        assert_eq!(p("[1]"), Err(QrError::NotAnObject));
        assert_eq!(
            p(r#"{"encrypted":"AA==","sign":"AA=="}"#),
            Err(QrError::MissingField("id_loyalty"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"","encrypted":"AA==","sign":"AA=="}"#),
            Err(QrError::Empty("id_loyalty"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","sign":"AA=="}"#),
            Err(QrError::MissingField("encrypted"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","encrypted":5,"sign":"AA=="}"#),
            Err(QrError::NotAString("encrypted"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","encrypted":"AA==","sign":"a b"}"#),
            Err(QrError::InvalidBase64("sign"))
        );
        assert_eq!(
            p(r#"{"id_loyalty":"1","encrypted":"","sign":"AA=="}"#),
            Err(QrError::Empty("encrypted"))
        );
        let long = format!(r#"{{"id_loyalty":"{}"}}"#, "x".repeat(MAX_QR_LEN));
        assert!(matches!(p(&long), Err(QrError::TooLong { .. })));
    }

    #[test]
    fn debug_hides_the_otp() {
        let qr =
            QrCode::parse(r#"{"id_loyalty":"1","encrypted":"c2VjcmV0","sign":"c2ln"}"#).unwrap();
        let d = format!("{qr:?}");
        assert!(!d.contains("c2VjcmV0") && !d.contains("secret"), "{d}");
    }

    #[test]
    fn the_generated_wire_model_hides_the_otp_too() {
        use crate::generated::models;
        let wire: models::QrCode =
            serde_json::from_str(r#"{"id_loyalty":"7001","encrypted":"c2VjcmV0","sign":"c2ln"}"#)
                .unwrap();
        let d = format!("{wire:?}");
        assert!(!d.contains("c2VjcmV0") && !d.contains("c2ln"), "{d}");
        assert!(d.contains("7001") && d.contains("[REDACTED]"), "{d}");
        let builder = models::QrCode::builder()
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
