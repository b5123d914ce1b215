//! Inbound: the notification the service POSTs to the merchant's NotificationURL, and how it
//! becomes a fact.
//!
//! **A notification is a hint; `checkout` is the truth.** The guide documents no signature for
//! the notification, and the platform uid it carries travels in every request, so it proves
//! nothing: anyone who knows the URL can POST `CONFIRMED` for any order. What the guide does
//! say is that the service counts the transfer as CONFIRMED only once it has received `OK`
//! from the NotificationURL. So the safe order is:
//!
//! 1. parse the body and check the platform uid (and a token, if the sender adds one);
//! 2. look the stored order up and record it as "notified";
//! 3. answer `200 OK` with the body `OK`;
//! 4. **then** ask `checkout` (with backoff, up to a deadline) and credit the order only when
//!    it says CONFIRMED.
//!
//! [`NotificationReceiver`] does exactly this, over the merchant's [`TransferStore`], and only
//! `checkout` builds the [`ConfirmedTransfer`] that the store's `confirmed` hook receives.
//! [`reconcile`] is the same polling for the merchant's own reconciliation job: run it for
//! every order still "notified" (the process stopped before the confirmation ended, or it
//! ended [`Reconciled::Unresolved`]) and for orders whose notification never came.
//!
//! The guide does not say whether a notification that is not answered `OK` is delivered
//! again. This crate assumes nothing either way: a refused notification (HTTP 400, 403, 500)
//! may be the last one, so reconcile pending orders with `checkout`.

mod confirm;
mod notification;
mod receiver;

pub use confirm::{
    reconcile, ConfirmedTransfer, FailedTransfer, Reconciled, StoredTransfer, Unresolved,
    UnresolvedReason, DEFAULT_CONFIRM_POLICY,
};
pub use notification::{Notification, NotificationError, NotificationVerifier};
pub use receiver::{
    NotificationReceiver, NotificationService, TransferStore, DEFAULT_MAX_CONFIRMATIONS,
};
