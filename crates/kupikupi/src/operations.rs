//! The operations of the API, for the retry classifier and the logs. None is idempotent by
//! contract: each is retried only when the failure proves the request never left (connection
//! refused, connect timeout).
//!
//! `checkout` only reads a transfer's status, so asking it again later is safe; the confirmation
//! of a notification (`reconcile`) does so on purpose. What is never done is re-sending
//! one call after it may have reached the service.

use payments_core::Operation;

/// `balance`.
pub(crate) const BALANCE: Operation = Operation::not_idempotent("kupikupi", "balance");
/// `init`.
pub(crate) const INIT: Operation = Operation::not_idempotent("kupikupi", "init");
/// `checkout`.
pub(crate) const CHECKOUT: Operation = Operation::not_idempotent("kupikupi", "checkout");
/// `confirmation`.
pub(crate) const CONFIRMATION: Operation = Operation::not_idempotent("kupikupi", "confirmation");
/// `receipt`.
pub(crate) const RECEIPT: Operation = Operation::not_idempotent("kupikupi", "receipt");

/// Every call of the API with its [`Operation`] (name and idempotency), in the guide's order.
pub const OPERATIONS: &[Operation] = &[BALANCE, INIT, CHECKOUT, CONFIRMATION, RECEIPT];
