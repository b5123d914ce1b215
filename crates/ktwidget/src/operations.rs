//! Every Ktpay call with its [`Operation`] (which says whether it may be sent again once it may
//! have reached Ktpay). The calls themselves are methods of [`crate::Client`].

use payments_core::Operation;

/// The provider name used in tracing spans and errors.
pub const PROVIDER: &str = "ktwidget";

/// `POST /payment`: creates a payment. Never re-sent once it may have arrived.
pub(crate) const CREATE: Operation = Operation::not_idempotent(PROVIDER, "create_payment");
/// `GET /payment/{hash}/acquirer-options`.
pub(crate) const ACQUIRER: Operation = Operation::idempotent(PROVIDER, "acquirer_options");
/// `GET /payment/{hash}/pdf`.
pub(crate) const PDF: Operation = Operation::idempotent(PROVIDER, "receipt_pdf");
/// Provisional: `GET /payment/{hash}`.
pub(crate) const STATUS: Operation = Operation::idempotent(PROVIDER, "payment_status");
/// Provisional: `POST /payment/{hash}/cancel`. Never re-sent once it may have arrived.
pub(crate) const CANCEL: Operation = Operation::not_idempotent(PROVIDER, "cancel_payment");
/// Provisional: `POST /payment/{hash}/refund`. Never re-sent once it may have arrived.
pub(crate) const REFUND: Operation = Operation::not_idempotent(PROVIDER, "refund_payment");

/// Every call of [`crate::Client`] with its [`Operation`], in the order of the endpoints table:
/// what a retry policy or a dashboard may key on (`payments.operation` in traces).
pub const OPERATIONS: [&Operation; 6] = [&CREATE, &ACQUIRER, &PDF, &STATUS, &CANCEL, &REFUND];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_are_idempotent() {
        let names: Vec<&str> = OPERATIONS.iter().map(|o| o.name).collect();
        assert_eq!(
            names,
            [
                "create_payment",
                "acquirer_options",
                "receipt_pdf",
                "payment_status",
                "cancel_payment",
                "refund_payment"
            ]
        );
        for op in OPERATIONS {
            assert_eq!(op.provider, PROVIDER);
            let read = matches!(
                op.name,
                "acquirer_options" | "receipt_pdf" | "payment_status"
            );
            assert_eq!(op.is_idempotent(), read, "{}", op.name);
        }
    }
}
