//! Conversions between the generated wire models and the crate's domain types.

use crate::generated::models;
use crate::generated::models::{PurchaseStatus, RefundStatus};
use crate::qr::{QrCode, QrError};

impl From<&QrCode> for models::QrCode {
    fn from(qr: &QrCode) -> Self {
        models::QrCode {
            id_loyalty: qr.id_loyalty().to_owned(),
            encrypted: qr.encrypted(),
            sign: qr.sign(),
        }
    }
}

impl TryFrom<&models::QrCode> for QrCode {
    type Error = QrError;
    fn try_from(wire: &models::QrCode) -> Result<Self, QrError> {
        QrCode::from_parts(&wire.id_loyalty, &wire.encrypted, &wire.sign)
    }
}

impl PurchaseStatus {
    /// Whether the status is final (`success`, `declined`, `cancelled`, `expired`). An unknown
    /// status is not final: keep polling until the deadline.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            PurchaseStatus::Success
                | PurchaseStatus::Declined
                | PurchaseStatus::Cancelled
                | PurchaseStatus::Expired
        )
    }
}

impl RefundStatus {
    /// Whether the status is final (`success`, `declined`, `cancelled`). An unknown status is not
    /// final.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            RefundStatus::Success | RefundStatus::Declined | RefundStatus::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_round_trips_through_the_wire_model() {
        let qr = QrCode::parse(r#"{"id_loyalty":"1","encrypted":"AAE","sign":"-_8"}"#).unwrap();
        let wire = models::QrCode::from(&qr);
        assert_eq!(wire.encrypted, "AAE=");
        assert_eq!(wire.sign, "+/8=");
        assert_eq!(QrCode::try_from(&wire).unwrap(), qr);
    }

    #[test]
    fn unknown_statuses_round_trip_and_are_not_final() {
        let s: PurchaseStatus = serde_json::from_str("\"on_hold\"").unwrap();
        assert_eq!(s, PurchaseStatus::Unknown("on_hold".into()));
        assert!(!s.is_final());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"on_hold\"");
        assert!(PurchaseStatus::Expired.is_final());
        assert!(RefundStatus::Declined.is_final());
        assert!(!RefundStatus::Processing.is_final());
    }
}
