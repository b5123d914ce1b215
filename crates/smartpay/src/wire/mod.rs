//! The wire's conversions to and from the domain types: the QR payload as it was scanned, and
//! the service's error body as core's [`ProviderError`].

use http::StatusCode;

use crate::error::ProviderError;
use crate::model::{ErrorResponse, QrCode, QrPayload};

/// The provider's name in errors.
pub(crate) const PROVIDER_NAME: &str = "Smart Pay";

impl From<&QrCode> for QrPayload {
    /// The code as it was read: every field with its scanned value.
    fn from(qr: &QrCode) -> Self {
        let mut wire = QrPayload::new(qr.encrypted(), qr.id_loyalty_json().clone(), qr.sign());
        wire.additional_properties = qr.other_fields().clone();
        wire
    }
}

impl TryFrom<&QrPayload> for QrCode {
    type Error = payments_core::Invalid;
    fn try_from(wire: &QrPayload) -> Result<Self, payments_core::Invalid> {
        let mut fields = wire.additional_properties.clone();
        fields.insert("id_loyalty".into(), wire.id_loyalty.clone());
        fields.insert("encrypted".into(), wire.encrypted.as_str().into());
        fields.insert("sign".into(), wire.sign.as_str().into());
        QrCode::from_fields(fields).map_err(Into::into)
    }
}

/// The service's common error body, as core's [`ProviderError`] with its code.
pub(crate) fn provider_error(status: StatusCode, body: ErrorResponse) -> ProviderError {
    ProviderError::new(PROVIDER_NAME, status)
        .with_code(body.code)
        .with_message(body.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_round_trips_through_the_wire_model_as_scanned() {
        let qr =
            QrCode::parse(r#"{"id_loyalty":7001,"encrypted":"AA\nE","sign":"-_8","v":2}"#).unwrap();
        let wire = QrPayload::from(&qr);
        assert_eq!(wire.encrypted, "AA\nE");
        assert_eq!(wire.sign, "-_8");
        assert_eq!(wire.id_loyalty, serde_json::json!(7001));
        assert_eq!(wire.additional_properties["v"], 2);
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            serde_json::json!({"id_loyalty": 7001, "encrypted": "AA\nE", "sign": "-_8", "v": 2})
        );
        assert_eq!(QrCode::try_from(&wire).unwrap(), qr);
    }

    #[test]
    fn the_error_body_is_a_provider_error_with_its_code() {
        let body: ErrorResponse =
            serde_json::from_str(r#"{"code":"purchase_not_found","message":"no such purchase"}"#)
                .unwrap();
        let e = provider_error(StatusCode::NOT_FOUND, body);
        assert_eq!(e.code().map(String::as_str), Some("purchase_not_found"));
        assert_eq!(e.message(), "no such purchase");
        assert_eq!(e.http_status, StatusCode::NOT_FOUND);
        assert!(!e.is_transient_status());
    }
}
