//! Conversions between the generated wire models and the crate's domain types, and what the
//! status values mean. Generated structs are made only through their constructors, never with a
//! struct literal, so that a property added to the spec breaks nothing here.

use crate::generated::models;
use crate::generated::models::{PurchaseStatus, RefundStatus};
use crate::qr::{QrCode, QrError};

impl From<&QrCode> for models::QrCode {
    /// The code as it was read: every field with its scanned value.
    fn from(qr: &QrCode) -> Self {
        let mut wire = models::QrCode::new(qr.encrypted(), qr.id_loyalty_json().clone(), qr.sign());
        wire.additional_properties = qr.other_fields().clone();
        wire
    }
}

impl TryFrom<&models::QrCode> for QrCode {
    type Error = QrError;
    fn try_from(wire: &models::QrCode) -> Result<Self, QrError> {
        let mut fields = wire.additional_properties.clone();
        fields.insert("id_loyalty".into(), wire.id_loyalty.clone());
        fields.insert("encrypted".into(), wire.encrypted.as_str().into());
        fields.insert("sign".into(), wire.sign.as_str().into());
        QrCode::from_fields(fields)
    }
}

impl PurchaseStatus {
    /// Whether the purchase is known to be still under way (`committed`, `processing`): the
    /// only statuses worth polling again.
    pub fn is_pending(&self) -> bool {
        matches!(self, PurchaseStatus::Committed | PurchaseStatus::Processing)
    }

    /// Whether the status is a known final one (`success`, `declined`, `cancelled`,
    /// `expired`). An unknown status is neither final nor pending: it is not known what became
    /// of the purchase.
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
    /// Whether the refund is known to be still under way (`processing`).
    pub fn is_pending(&self) -> bool {
        matches!(self, RefundStatus::Processing)
    }

    /// Whether the status is a known final one (`success`, `declined`, `cancelled`). An unknown
    /// status is neither final nor pending.
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
    fn qr_round_trips_through_the_wire_model_as_scanned() {
        let qr =
            QrCode::parse(r#"{"id_loyalty":7001,"encrypted":"AA\nE","sign":"-_8","v":2}"#).unwrap();
        let wire = models::QrCode::from(&qr);
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
    fn statuses_are_matched_without_regard_to_case_and_unknown_ones_are_neither() {
        let s: PurchaseStatus = serde_json::from_str("\"on_hold\"").unwrap();
        assert_eq!(s, PurchaseStatus::Unknown("on_hold".into()));
        assert!(!s.is_final() && !s.is_pending());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"on_hold\"");
        let s: PurchaseStatus = serde_json::from_str("\"SUCCESS\"").unwrap();
        assert_eq!(s, PurchaseStatus::Success);
        assert_eq!(
            PurchaseStatus::from("Processing"),
            PurchaseStatus::Processing
        );
        assert!(PurchaseStatus::Expired.is_final());
        assert!(PurchaseStatus::Committed.is_pending());
        assert!(RefundStatus::Declined.is_final());
        assert!(RefundStatus::Processing.is_pending());
        assert_eq!(RefundStatus::from("Success"), RefundStatus::Success);
        assert!(!RefundStatus::Unknown("queued".into()).is_pending());
    }
}
