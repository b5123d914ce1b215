//! The fact: what `checkout` says about a notified transfer, polled with backoff until it is
//! final or a deadline passes. Only this module builds a [`ConfirmedTransfer`].

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ProviderError};
use crate::model::{Checkout, OrderId, PaymentId, TransferAmount, TransferStatus};
use crate::Client;

/// How a transfer is confirmed with `checkout`: when to ask first, how the wait between two
/// questions grows, and when to give up.
///
/// The defaults: first ask 1 s after the `OK` (the service counts the transfer as CONFIRMED
/// only once it has the `OK`), then after 1 s, 2 s, 4 s... at most 30 s apart (each wait
/// shortened by a random part of up to half, so that many confirmations do not ask at the same
/// moment), and give up 10 minutes after the start. Giving up credits nothing: the order stays
/// "notified" for [`reconcile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfirmPolicy {
    /// How long after the `OK` the receiver asks first. Default 1 s. ([`reconcile`] asks at
    /// once.)
    pub first_check_after: Duration,
    /// The wait after the first question; it doubles after each one. Default 1 s; at least
    /// 1 ms.
    pub interval: Duration,
    /// The longest wait between two questions. Default 30 s.
    pub max_interval: Duration,
    /// How long after the start to stop asking. Default 10 min.
    pub deadline: Duration,
}

impl Default for ConfirmPolicy {
    fn default() -> Self {
        ConfirmPolicy {
            first_check_after: Duration::from_secs(1),
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
        }
    }
}

impl ConfirmPolicy {
    /// Sets [`ConfirmPolicy::first_check_after`].
    pub fn with_first_check_after(mut self, delay: Duration) -> Self {
        self.first_check_after = delay;
        self
    }

    /// Sets [`ConfirmPolicy::interval`] and [`ConfirmPolicy::max_interval`].
    pub fn with_interval(mut self, initial: Duration, max: Duration) -> Self {
        self.interval = initial;
        self.max_interval = max;
        self
    }

    /// Sets [`ConfirmPolicy::deadline`].
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

/// What the merchant stored for an order when it called `init`: what `checkout` needs (the
/// amount) and, optionally, the transfer's id to compare with `checkout`'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTransfer {
    amount: TransferAmount,
    payment_id: Option<PaymentId>,
}

impl StoredTransfer {
    /// A stored order of `amount`.
    pub fn new(amount: TransferAmount) -> Self {
        StoredTransfer {
            amount,
            payment_id: None,
        }
    }

    /// Also checks that `checkout` names this transfer id (the one `init` returned).
    pub fn with_payment_id(mut self, payment_id: PaymentId) -> Self {
        self.payment_id = Some(payment_id);
        self
    }

    /// The amount.
    pub fn amount(&self) -> TransferAmount {
        self.amount
    }

    /// The transfer id, if stored.
    pub fn payment_id(&self) -> Option<&PaymentId> {
        self.payment_id.as_ref()
    }
}

/// A transfer the service's `checkout` says is CONFIRMED: the points reached the merchant.
///
/// The only value of this crate that may mark an order paid. It has no public constructor and
/// no `Deserialize`: only `checkout`'s answer to the merchant's own signed call builds one
/// ([`reconcile`], [`crate::NotificationReceiver`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedTransfer {
    order_id: OrderId,
    amount: TransferAmount,
    payment_id: PaymentId,
}

impl ConfirmedTransfer {
    /// The order id.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// The amount: the stored order's, which `checkout` was asked about.
    pub fn amount(&self) -> TransferAmount {
        self.amount
    }

    /// The transfer's id, as `checkout` gave it.
    pub fn payment_id(&self) -> &PaymentId {
        &self.payment_id
    }
}

/// A transfer `checkout` says failed for good: `REJECTED` or `CANCELED`. Mark the order failed
/// (or offer another way to pay); nothing was credited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedTransfer {
    order_id: OrderId,
    amount: TransferAmount,
    payment_id: PaymentId,
    status: TransferStatus,
    notified: Option<TransferStatus>,
}

impl FailedTransfer {
    /// The order id.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// The stored order's amount.
    pub fn amount(&self) -> TransferAmount {
        self.amount
    }

    /// The transfer's id, as `checkout` gave it.
    pub fn payment_id(&self) -> &PaymentId {
        &self.payment_id
    }

    /// The final status `checkout` gave: `REJECTED` or `CANCELED`.
    pub fn status(&self) -> &TransferStatus {
        &self.status
    }

    /// What the notification said, when a notification started the check.
    pub fn notified(&self) -> Option<&TransferStatus> {
        self.notified.as_ref()
    }

    /// Whether a notification said `CONFIRMED` and `checkout` contradicts it: a forged
    /// notification, or a provider error worth a look. `checkout` wins.
    pub fn contradicts_notification(&self) -> bool {
        self.notified == Some(TransferStatus::Confirmed)
    }
}

/// Why a confirmation ended without a final answer. Nothing was credited; the order stays
/// "notified": check it again later with [`reconcile`].
#[derive(Debug)]
#[non_exhaustive]
pub enum UnresolvedReason {
    /// `checkout` still gave a status that is not final (`NEW`, `FORM_SHOWED`, one this SDK
    /// does not know) when the deadline passed: for example a forged notification for a
    /// transfer whose code was never entered.
    NotFinal(TransferStatus),
    /// `checkout` could not be asked (its last error when the deadline passed).
    CheckoutFailed(Error),
    /// The service refused the `checkout` (an unknown order, another amount...).
    Refused(ProviderError),
    /// `checkout` answered about another transfer: its order id or transfer id is not the
    /// stored one.
    Mismatch(Checkout),
    /// Too many confirmations were already running: this one was not started.
    Busy,
}

impl fmt::Display for UnresolvedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnresolvedReason::NotFinal(s) => {
                write!(f, "checkout still said {s} at the deadline")
            }
            UnresolvedReason::CheckoutFailed(e) => write!(f, "checkout failed: {e}"),
            UnresolvedReason::Refused(e) => write!(f, "checkout was refused: {e}"),
            UnresolvedReason::Mismatch(c) => write!(
                f,
                "checkout answered about another transfer ({}, order {})",
                c.payment_id,
                c.order_id.as_ref().map_or("not echoed", OrderId::as_str)
            ),
            UnresolvedReason::Busy => f.write_str("too many confirmations were running"),
        }
    }
}

/// A confirmation that ended without a final answer from `checkout`.
#[derive(Debug)]
pub struct Unresolved {
    order_id: OrderId,
    notified: Option<TransferStatus>,
    reason: UnresolvedReason,
}

impl Unresolved {
    pub(crate) fn busy(order_id: OrderId, notified: TransferStatus) -> Self {
        Unresolved {
            order_id,
            notified: Some(notified),
            reason: UnresolvedReason::Busy,
        }
    }

    /// The order id.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// What the notification said, when a notification started the check.
    pub fn notified(&self) -> Option<&TransferStatus> {
        self.notified.as_ref()
    }

    /// Why.
    pub fn reason(&self) -> &UnresolvedReason {
        &self.reason
    }
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "order {} is not resolved: {}",
            self.order_id, self.reason
        )
    }
}

/// What `checkout` says about a transfer, in the end.
#[derive(Debug)]
#[non_exhaustive]
pub enum Reconciled {
    /// CONFIRMED: credit the order (idempotently: it may already be credited).
    Confirmed(ConfirmedTransfer),
    /// REJECTED or CANCELED: the order is not paid.
    Failed(FailedTransfer),
    /// No final answer: nothing is credited, ask again later.
    Unresolved(Unresolved),
}

/// Asks `checkout` about the transfer of `order_id` until its status is final or
/// `policy.deadline` passes: at once, then after [`ConfirmPolicy::interval`], doubling up to
/// [`ConfirmPolicy::max_interval`] (each wait shortened by a random part of up to half).
///
/// This is the merchant's reconciliation: run it for every order still "notified" (a process
/// that stopped before its confirmation ended, a confirmation that was
/// [`Reconciled::Unresolved`]) and for an order whose notification never came. It is also what
/// [`crate::NotificationReceiver`] runs after it answered `OK`.
///
/// `checkout` only reads the transfer's status, so asking it several times is safe. Its
/// answer must name the stored order (and, when stored, the transfer id `init` returned);
/// otherwise the result is [`UnresolvedReason::Mismatch`]. A refusal by the service ends the
/// polling at once ([`UnresolvedReason::Refused`]); a transport failure is asked again until
/// the deadline. The last question may end up to the client's total timeout after the
/// deadline.
pub async fn reconcile(
    client: &Client,
    order_id: &OrderId,
    stored: &StoredTransfer,
    policy: ConfirmPolicy,
) -> Reconciled {
    confirm(client, order_id, stored, policy, Duration::ZERO, None).await
}

/// The last thing `checkout` said, while polling.
enum Last {
    Status(TransferStatus),
    Failed(Error),
}

/// [`reconcile`], waiting `first_wait` before the first question and remembering what a
/// notification said.
pub(crate) async fn confirm(
    client: &Client,
    order_id: &OrderId,
    stored: &StoredTransfer,
    policy: ConfirmPolicy,
    first_wait: Duration,
    notified: Option<TransferStatus>,
) -> Reconciled {
    let start = Instant::now();
    let deadline = start + policy.deadline;
    tokio::time::sleep_until((start + first_wait).min(deadline)).await;
    let mut interval = policy.interval.max(Duration::from_millis(1));
    let max_interval = policy.max_interval.max(interval);
    let mut last: Last;
    let unresolved = |reason| {
        Reconciled::Unresolved(Unresolved {
            order_id: order_id.clone(),
            notified: notified.clone(),
            reason,
        })
    };
    loop {
        match client.checkout(order_id, stored.amount).await {
            Ok(c) => {
                let other_order = c.order_id.as_ref().is_some_and(|o| o != order_id);
                let other_transfer = stored
                    .payment_id
                    .as_ref()
                    .is_some_and(|p| *p != c.payment_id);
                if other_order || other_transfer {
                    return unresolved(UnresolvedReason::Mismatch(c));
                }
                match c.transfer_status {
                    TransferStatus::Confirmed => {
                        return Reconciled::Confirmed(ConfirmedTransfer {
                            order_id: order_id.clone(),
                            amount: stored.amount,
                            payment_id: c.payment_id,
                        })
                    }
                    TransferStatus::Rejected | TransferStatus::Canceled => {
                        return Reconciled::Failed(FailedTransfer {
                            order_id: order_id.clone(),
                            amount: stored.amount,
                            payment_id: c.payment_id,
                            status: c.transfer_status,
                            notified,
                        })
                    }
                    other => last = Last::Status(other),
                }
            }
            Err(Error::Provider(refusal)) => return unresolved(UnresolvedReason::Refused(refusal)),
            // Nothing was sent: asking again gives the same error.
            Err(e @ Error::Validation(_)) => {
                return unresolved(UnresolvedReason::CheckoutFailed(e))
            }
            Err(e) => last = Last::Failed(e),
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let wait = jittered(interval).min(deadline - now);
        interval = interval.saturating_mul(2).min(max_interval);
        tokio::time::sleep(wait).await;
    }
    match last {
        Last::Status(s) => unresolved(UnresolvedReason::NotFinal(s)),
        Last::Failed(e) => unresolved(UnresolvedReason::CheckoutFailed(e)),
    }
}

/// `d` shortened by a random part of up to half.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(1.0 - fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half() {
        let d = Duration::from_millis(1000);
        for _ in 0..1000 {
            let j = jittered(d);
            assert!(j > Duration::from_millis(499) && j <= d, "{j:?}");
        }
    }

    #[test]
    fn a_failed_transfer_tells_a_contradicted_notification() {
        let f = |notified| FailedTransfer {
            order_id: OrderId::new("o").unwrap(),
            amount: TransferAmount::from_minor(1).unwrap(),
            payment_id: PaymentId::new("1").unwrap(),
            status: TransferStatus::Rejected,
            notified,
        };
        assert!(f(Some(TransferStatus::Confirmed)).contradicts_notification());
        assert!(!f(Some(TransferStatus::Rejected)).contradicts_notification());
        assert!(!f(None).contradicts_notification());
    }
}
