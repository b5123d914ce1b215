//! The fact: what `checkout` says about a notified transfer, polled with backoff until it is
//! final or a deadline passes. Only this module builds a [`ConfirmedTransfer`].

use std::fmt;
use std::time::Duration;

use payments_core::{poll_until, Jitter, PollOutcome, PollPolicy, PollStep};

use crate::error::{Error, ProviderError};
use crate::model::{Checkout, OrderId, PaymentId, TransferAmount, TransferStatus};
use crate::Client;

/// How a transfer is confirmed with `checkout`, unless
/// [`NotificationReceiver::confirm_policy`](crate::NotificationReceiver::confirm_policy) or the
/// policy given to [`reconcile`] says otherwise: first ask 1 s after the `OK` (the service
/// counts the transfer as CONFIRMED only once it has the `OK`; [`reconcile`] asks at once),
/// then after 1 s, 2 s, 4 s... at most 30 s apart, each wait shortened by a random part of up
/// to half (so that many confirmations do not ask at the same moment), and give up 10 minutes
/// after the start. Giving up credits nothing: the order stays "notified" for [`reconcile`].
///
/// Change it with [`PollPolicy::to_builder`] or [`PollPolicy::with_deadline`]:
///
/// ```
/// use std::time::Duration;
/// use kupikupi::DEFAULT_CONFIRM_POLICY;
///
/// let patient = DEFAULT_CONFIRM_POLICY.with_deadline(Duration::from_secs(900));
/// let steady = DEFAULT_CONFIRM_POLICY
///     .to_builder()
///     .interval(Duration::from_secs(5))
///     .growth_percent(100)
///     .max_interval(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(steady.nominal_wait(10), Duration::from_secs(5));
/// # Ok::<(), kupikupi::PollPolicyError>(())
/// ```
pub const DEFAULT_CONFIRM_POLICY: PollPolicy = match PollPolicy::builder()
    .first_delay(Duration::from_secs(1))
    .interval(Duration::from_secs(1))
    .growth_percent(200)
    .max_interval(Duration::from_secs(30))
    .jitter(Jitter::Bounded { percent: 50 })
    .deadline(Duration::from_secs(600))
    .build()
{
    Ok(policy) => policy,
    Err(_) => panic!("the default confirmation policy is valid"),
};

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

/// Asks `checkout` about the transfer of `order_id` until its status is final or the
/// policy's deadline passes: at once (the policy's first delay is for the
/// [`crate::NotificationReceiver`], which asks after its `OK`), then on the policy's schedule
/// ([`DEFAULT_CONFIRM_POLICY`]: after 1 s, doubling up to 30 s, each wait shortened by a random
/// part of up to half, for 10 minutes).
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
/// deadline. A policy without a deadline asks until `checkout` gives a final status.
pub async fn reconcile(
    client: &Client,
    order_id: &OrderId,
    stored: &StoredTransfer,
    policy: PollPolicy,
) -> Reconciled {
    confirm(
        client,
        order_id,
        stored,
        policy.with_first_delay(Duration::ZERO),
        None,
    )
    .await
}

/// The last thing `checkout` said, while its status was not final.
enum Last {
    Status(TransferStatus),
    Failed(Error),
}

/// [`reconcile`], on `policy` as it is (its first delay included), remembering what a
/// notification said.
pub(crate) async fn confirm(
    client: &Client,
    order_id: &OrderId,
    stored: &StoredTransfer,
    policy: PollPolicy,
    notified: Option<TransferStatus>,
) -> Reconciled {
    let outcome = poll_until(&policy, || {
        let answer = client.checkout(order_id, stored.amount);
        async move { read(order_id, stored, answer.await) }
    })
    .await;
    let unresolved = |reason| {
        Reconciled::Unresolved(Unresolved {
            order_id: order_id.clone(),
            notified: notified.clone(),
            reason,
        })
    };
    match outcome {
        PollOutcome::Final(Ok(c)) if c.transfer_status == TransferStatus::Confirmed => {
            Reconciled::Confirmed(ConfirmedTransfer {
                order_id: order_id.clone(),
                amount: stored.amount,
                payment_id: c.payment_id,
            })
        }
        PollOutcome::Final(Ok(c)) => Reconciled::Failed(FailedTransfer {
            order_id: order_id.clone(),
            amount: stored.amount,
            payment_id: c.payment_id,
            status: c.transfer_status,
            notified,
        }),
        PollOutcome::Final(Err(reason)) => unresolved(reason),
        PollOutcome::DeadlinePassed(Last::Status(s)) => unresolved(UnresolvedReason::NotFinal(s)),
        PollOutcome::DeadlinePassed(Last::Failed(e)) => {
            unresolved(UnresolvedReason::CheckoutFailed(e))
        }
    }
}

/// What one `checkout` answer means: a final status about the stored transfer (CONFIRMED,
/// REJECTED or CANCELED), a reason to stop without one, or a status or failure to ask again
/// about.
fn read(
    order_id: &OrderId,
    stored: &StoredTransfer,
    answer: Result<Checkout, Error>,
) -> PollStep<Result<Checkout, UnresolvedReason>, Last> {
    match answer {
        Ok(c) => {
            let other_order = c.order_id.as_ref().is_some_and(|o| o != order_id);
            let other_transfer = stored
                .payment_id
                .as_ref()
                .is_some_and(|p| *p != c.payment_id);
            if other_order || other_transfer {
                return PollStep::Final(Err(UnresolvedReason::Mismatch(c)));
            }
            match c.transfer_status {
                TransferStatus::Confirmed | TransferStatus::Rejected | TransferStatus::Canceled => {
                    PollStep::Final(Ok(c))
                }
                other => PollStep::Pending(Last::Status(other)),
            }
        }
        Err(Error::Provider(refusal)) => PollStep::Final(Err(UnresolvedReason::Refused(refusal))),
        // Nothing was sent: asking again gives the same error.
        Err(e @ Error::Invalid(_)) => PollStep::Final(Err(UnresolvedReason::CheckoutFailed(e))),
        Err(e) => PollStep::Pending(Last::Failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_waits_1s_then_doubles_to_30s_with_jitter_for_10_minutes() {
        let p = DEFAULT_CONFIRM_POLICY;
        assert_eq!(p.first_delay(), Duration::from_secs(1));
        assert_eq!(p.deadline(), Some(Duration::from_secs(600)));
        assert_eq!(p.jitter(), Jitter::Bounded { percent: 50 });
        let nominal: Vec<_> = (1..=7).map(|n| p.nominal_wait(n).as_secs()).collect();
        assert_eq!(nominal, [1, 2, 4, 8, 16, 30, 30]);
        for (n, wait) in (1..).zip(p.with_jitter_seed(3).schedule().take(1_000)) {
            let nominal = p.nominal_wait(n);
            assert!(wait <= nominal && wait >= nominal / 2, "{n}: {wait:?}");
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
