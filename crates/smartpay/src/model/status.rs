//! What the status values mean, and how waiting for one ended.

use super::{PurchaseStatus, RefundStatus};

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

/// How waiting for a purchase ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PurchaseOutcome {
    /// `success`: the customer paid. Confirm it ([`ReleasedPurchase::confirm`](crate::ReleasedPurchase::confirm)) and hand over
    /// the goods.
    Paid,
    /// A final status in which nothing was paid: `declined`, `cancelled` or `expired`.
    NotPaid {
        /// The final status.
        status: PurchaseStatus,
        /// The service's reason, if it gave one.
        reason: Option<String>,
    },
    /// A status value the SDK does not know, returned at once. It is not known whether the
    /// customer paid: do not hand over the goods, and do not cancel (the purchase may be paid);
    /// ask the provider (poll again later, or its support) before deciding.
    Unrecognised(String),
}

/// How waiting for a refund ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// `success`: the money went back. Confirm it ([`PendingRefund::confirm`](crate::PendingRefund::confirm)).
    Refunded,
    /// A final status in which nothing was refunded: `declined` or `cancelled`.
    NotRefunded {
        /// The final status.
        status: RefundStatus,
        /// The service's reason, if it gave one.
        reason: Option<String>,
    },
    /// A status value the SDK does not know, returned at once. It is not known whether the money
    /// went back: ask the provider before deciding.
    Unrecognised(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_matched_without_regard_to_case_and_unknown_ones_are_neither() {
        let s: PurchaseStatus = serde_json::from_str("\"on_hold\"").unwrap();
        assert_eq!(s, PurchaseStatus::Unknown("on_hold".into()));
        assert!(!s.is_final() && !s.is_pending());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"on_hold\"");
        let s: PurchaseStatus = serde_json::from_str("\"SUCCESS\"").unwrap();
        assert_eq!(s, PurchaseStatus::Success);
        assert_eq!(
            PurchaseStatus::from_wire("Processing"),
            PurchaseStatus::Processing
        );
        assert!(PurchaseStatus::Expired.is_final());
        assert!(PurchaseStatus::Committed.is_pending());
        assert!(RefundStatus::Declined.is_final());
        assert!(RefundStatus::Processing.is_pending());
        assert_eq!(RefundStatus::from_wire("Success"), RefundStatus::Success);
        assert!(!RefundStatus::Unknown("queued".into()).is_pending());
    }
}
