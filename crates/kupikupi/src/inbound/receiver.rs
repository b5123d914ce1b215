//! The notification endpoint: a [`payments_core::inbound::Receiver`] that takes a notification
//! as a hint, answers `OK`, and then asks `checkout` for the fact.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use payments_core::inbound::{Accepted, InboundService, Receiver, Refusal};
use payments_core::PollPolicy;

use super::confirm::{
    confirm, ConfirmedTransfer, FailedTransfer, Reconciled, StoredTransfer, Unresolved,
    DEFAULT_CONFIRM_POLICY,
};
use super::notification::{ok_ack, Notification, NotificationVerifier};
use crate::model::OrderId;
use crate::Client;

/// The merchant's record of its Kupi-Kupi orders, as the notification endpoint needs it.
///
/// The endpoint calls [`TransferStore::notified`] before it answers (a failure there answers
/// HTTP 500, not `OK`), then, once `checkout` has spoken, exactly one of
/// [`TransferStore::confirmed`], [`TransferStore::failed`] or [`TransferStore::unresolved`].
/// Every method must be idempotent: the same notification may arrive more than once, and a
/// reconciliation may repeat what a confirmation already did.
pub trait TransferStore: Send + Sync + 'static {
    /// Why the store failed (logged, never sent to the provider).
    type Error: fmt::Display + Send;

    /// Looks up the order a notification names and records that it was notified (so that a
    /// reconciliation finds it if the confirmation does not end). Returns what `checkout`
    /// needs, or `None` for an order you do not know: that notification is refused (HTTP 400).
    ///
    /// Do not mark anything paid here: the notification is a hint.
    fn notified(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<Option<StoredTransfer>, Self::Error>> + Send;

    /// `checkout` says the transfer is CONFIRMED: credit the order. If this fails, the order
    /// stays "notified", and a reconciliation ([`crate::reconcile`]) will bring it back.
    fn confirmed(
        &self,
        transfer: ConfirmedTransfer,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// `checkout` says the transfer is REJECTED or CANCELED: the order is not paid.
    /// [`FailedTransfer::contradicts_notification`] tells a notification that said CONFIRMED.
    fn failed(
        &self,
        transfer: FailedTransfer,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The confirmation ended without a final answer (see [`Unresolved::reason`]): nothing is
    /// credited, and the order stays "notified" for a reconciliation. The default does
    /// nothing (the endpoint logs it).
    fn unresolved(&self, unresolved: Unresolved) -> impl Future<Output = ()> + Send {
        let _ = unresolved;
        std::future::ready(())
    }
}

/// The largest number of confirmations running at once by default.
pub const DEFAULT_MAX_CONFIRMATIONS: usize = 1024;

/// The Kupi-Kupi notification endpoint, safe by default.
///
/// For each POST (read by [`payments_core::inbound::InboundService`]: POST only, capped in
/// size and time):
///
/// 1. parse the body and check the platform uid, and the token if the sender added one (400
///    or 403 otherwise);
/// 2. [`TransferStore::notified`]: the stored order, recorded as notified (400 for an unknown
///    order, 500 if the store fails);
/// 3. answer `200 OK` with the body `OK`: the service counts the transfer as CONFIRMED only
///    once it has it;
/// 4. then, after the answer, ask `checkout` (as [`crate::reconcile`] does, on the
///    [`PollPolicy`] of [`NotificationReceiver::confirm_policy`]) and hand the store a [`ConfirmedTransfer`], a [`FailedTransfer`] or an
///    [`Unresolved`].
///
/// One confirmation runs per order at a time (a duplicate notification is answered `OK` and
/// joins the running one), and at most [`NotificationReceiver::max_confirmations`] at once.
///
/// Serve it with [`NotificationReceiver::into_service`]: a `tower::Service` (axum's
/// `Router::route_service`) and a `hyper::service::Service`.
pub struct NotificationReceiver<S> {
    client: Client,
    verifier: NotificationVerifier,
    store: Arc<S>,
    policy: PollPolicy,
    max_confirmations: usize,
    running: Arc<Mutex<HashSet<OrderId>>>,
}

/// The endpoint as a service: [`InboundService`] around a [`NotificationReceiver`].
pub type NotificationService<S> = InboundService<NotificationReceiver<S>>;

impl<S> fmt::Debug for NotificationReceiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationReceiver")
            .field("platform_uid", &self.client.platform_uid())
            .field("policy", &self.policy)
            .field("max_confirmations", &self.max_confirmations)
            .finish_non_exhaustive()
    }
}

impl<S: TransferStore> NotificationReceiver<S> {
    /// An endpoint that checks notifications against `client`'s platform uid (and secret key,
    /// for a token), confirms them with `client.checkout`, and records them in `store`.
    pub fn new(client: Client, store: S) -> Self {
        NotificationReceiver {
            verifier: NotificationVerifier::for_client(&client),
            client,
            store: Arc::new(store),
            policy: DEFAULT_CONFIRM_POLICY,
            max_confirmations: DEFAULT_MAX_CONFIRMATIONS,
            running: Arc::default(),
        }
    }

    /// Refuses (403) a notification without a `token`. The guide documents none, so this is
    /// off by default; turn it on if your sender signs its notifications. Either way the
    /// notification is only a hint, confirmed with `checkout`.
    pub fn require_token(mut self, required: bool) -> Self {
        self.verifier = self.verifier.require_token(required);
        self
    }

    /// How `checkout` is polled after the `OK`, from its first delay to its deadline. Default:
    /// [`DEFAULT_CONFIRM_POLICY`] (first after 1 s, then 1 s doubling with jitter up to 30 s,
    /// for 10 minutes). Keep a deadline: without one, a confirmation of a forged notification
    /// asks until the order is paid or fails, and holds one of the
    /// [`NotificationReceiver::max_confirmations`] while it does.
    pub fn confirm_policy(mut self, policy: PollPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The most confirmations running at once (default [`DEFAULT_MAX_CONFIRMATIONS`], at
    /// least 1). Past it, a notification is still recorded and answered `OK`, but no
    /// confirmation starts: the store hears [`crate::UnresolvedReason::Busy`], and the order
    /// waits for a reconciliation. This bounds what a flood of notifications can make the
    /// endpoint ask the service.
    pub fn max_confirmations(mut self, max: usize) -> Self {
        self.max_confirmations = max.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The endpoint as a `tower::Service` and a `hyper::service::Service`, with the default
    /// [`payments_core::inbound::BodyLimits`] (replace them with
    /// [`InboundService::with_limits`]).
    pub fn into_service(self) -> NotificationService<S> {
        InboundService::new(self)
    }

    fn running(&self) -> MutexGuard<'_, HashSet<OrderId>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The work to run after the answer, if any.
    fn confirmation(&self, notification: Notification, stored: StoredTransfer) -> Option<Work> {
        let order_id = notification.order_id;
        {
            let mut running = self.running();
            if running.contains(&order_id) {
                tracing::debug!(order_id = %order_id, "kupikupi: a confirmation is already running");
                return None;
            }
            if running.len() >= self.max_confirmations {
                drop(running);
                let store = Arc::clone(&self.store);
                let unresolved = Unresolved::busy(order_id, notification.transfer_status);
                return Some(Box::pin(async move {
                    tracing::warn!(order_id = %unresolved.order_id(), "kupikupi: too many confirmations running; the order waits for a reconciliation");
                    store.unresolved(unresolved).await;
                }));
            }
            running.insert(order_id.clone());
        }
        let guard = Running {
            set: Arc::clone(&self.running),
            order_id: order_id.clone(),
        };
        let client = self.client.clone();
        let store = Arc::clone(&self.store);
        let policy = self.policy;
        let notified = notification.transfer_status;
        Some(Box::pin(async move {
            let _guard = guard;
            let outcome = confirm(&client, &order_id, &stored, policy, Some(notified)).await;
            settle(&*store, outcome).await;
        }))
    }
}

type Work = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Removes an order from the running set when its confirmation ends (or is dropped).
struct Running {
    set: Arc<Mutex<HashSet<OrderId>>>,
    order_id: OrderId,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.order_id);
    }
}

/// Hands the outcome of a confirmation to the store, and logs it.
async fn settle<S: TransferStore>(store: &S, outcome: Reconciled) {
    match outcome {
        Reconciled::Confirmed(t) => {
            let order_id = t.order_id().clone();
            tracing::info!(order_id = %order_id, "kupikupi: checkout confirms the transfer");
            if let Err(e) = store.confirmed(t).await {
                tracing::warn!(order_id = %order_id, error = %e, "kupikupi: the confirmed transfer was not recorded; the order stays notified for a reconciliation");
            }
        }
        Reconciled::Failed(t) => {
            let order_id = t.order_id().clone();
            if t.contradicts_notification() {
                tracing::warn!(order_id = %order_id, status = %t.status(), "kupikupi: a notification said CONFIRMED, checkout says otherwise; checkout wins");
            } else {
                tracing::info!(order_id = %order_id, status = %t.status(), "kupikupi: checkout says the transfer failed");
            }
            if let Err(e) = store.failed(t).await {
                tracing::warn!(order_id = %order_id, error = %e, "kupikupi: the failed transfer was not recorded; the order stays notified for a reconciliation");
            }
        }
        Reconciled::Unresolved(u) => {
            tracing::warn!(order_id = %u.order_id(), reason = %u.reason(), "kupikupi: no final answer from checkout; nothing credited, the order stays notified for a reconciliation");
            store.unresolved(u).await;
        }
    }
}

impl<S: TransferStore> Receiver for NotificationReceiver<S> {
    const PROVIDER: &'static str = "kupikupi";

    async fn receive(
        &self,
        _head: &http::request::Parts,
        body: Bytes,
    ) -> Result<Accepted, Refusal> {
        let notification = Notification::parse(&body)
            .and_then(|n| n.verify(&self.verifier).map(|()| n))
            .map_err(|e| e.refusal())?;
        let stored = match self.store.notified(&notification).await {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                return Err(Refusal::malformed(
                    "the notification names an order the merchant does not know",
                ))
            }
            Err(e) => {
                tracing::warn!(order_id = %notification.order_id, error = %e, "kupikupi: the notification was not recorded");
                return Err(Refusal::not_recorded(
                    "the merchant could not record the notification",
                ));
            }
        };
        let accepted = Accepted::new(ok_ack());
        Ok(match self.confirmation(notification, stored) {
            Some(work) => accepted.then(work),
            None => accepted,
        })
    }
}
