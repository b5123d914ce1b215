//! The operations of the API, for the retry classifier and the logs. None is idempotent by
//! contract: each is retried only when the failure proves the request never left (connection
//! refused, connect timeout).
//!
//! `checkout` only reads a transfer's status, so asking it again later is safe; the confirmation
//! of a notification ([`crate::reconcile`]) does so on purpose. What is never done is re-sending
//! one call after it may have reached the service.

use payments_core::Operation;

/// `balance`.
pub const BALANCE: Operation = Operation::not_idempotent("kupikupi", "balance");
/// `init`.
pub const INIT: Operation = Operation::not_idempotent("kupikupi", "init");
/// `checkout`.
pub const CHECKOUT: Operation = Operation::not_idempotent("kupikupi", "checkout");
/// `confirmation`.
pub const CONFIRMATION: Operation = Operation::not_idempotent("kupikupi", "confirmation");
/// `receipt`.
pub const RECEIPT: Operation = Operation::not_idempotent("kupikupi", "receipt");
