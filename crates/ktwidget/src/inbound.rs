//! Callbacks: what Ktpay POSTs to `callback_post_url` on a final status, told apart from
//! forgeries, recorded, and answered as data.
//!
//! **A callback body is a hint.** Ktpay signs nothing, and everything in the body (order id,
//! amount, transaction hash) is known to the paying customer, who can POST a `completed`
//! callback from their own browser. So the parsed body is a [`CallbackHint`], which never
//! becomes anything more. What the merchant records is a [`ConfirmedStatus`], made only from
//!
//! - a callback whose **tag** checked out ([`crate::CallbackTagger`]: an HMAC of the order id
//!   and amount under the merchant's secret, inside the sealed `callback_post_url`, which the
//!   customer never sees) and which matches the stored order; or
//! - the answer to the merchant's own **status call** ([`Client::confirm_status`]), checked
//!   against the stored order.
//!
//! [`CallbackReceiver`] does it for a [`CallbackStore`] of yours and is served by
//! [`payments_core::inbound::InboundService`] (a tower and a hyper `Service`):
//!
//! 1. read the body (`POST` only, capped in size and time: core's [`BodyLimits`]);
//! 2. parse it (a bad body is `400`);
//! 3. check the tag in constant time (a missing or wrong tag is `403`), unless the merchant opted
//!    into [`CallbackReceiver::confirm_untagged_callbacks_with_status_call`];
//! 4. look up the stored order and check the callback against it (a mismatch is `400`);
//! 5. apply [`Transition::between`] (a stored final status is never replaced) and
//!    [`CallbackStore::record`] (a store failure is `500`);
//! 6. answer `200`, `application/json`, `{"status":"ok"}`.
//!
//! Any answer but the last makes Ktpay deliver the callback again after 15 s, 60 s, 3 min,
//! 10 min, 30 min and 60 min, and then never again: **reconcile** every order that is not final
//! some time after its payment was created, with [`Client::confirm_status`].
//!
//! ## Sealed callback bodies (opt-in, a guess)
//!
//! Ktpay asks each merchant for the public half of a sodium key pair, but no public source says
//! what it is used for; the PHP SDK carries an unused sealed-box *open* helper. With
//! [`CallbackReceiver::open_sealed_bodies_with`], a body that is not JSON is tried as a base64
//! sealed box opened with the merchant's pair. A sealed body proves nothing by itself (anyone
//! can seal to a public key): the tag is still checked.
//!
//! [`BodyLimits`]: payments_core::inbound::BodyLimits

use std::fmt;
use std::future::Future;

use bytes::Bytes;
use http::StatusCode;
use payments_core::inbound::{Accepted, Acknowledgement, InboundService, Receiver, Refusal};
use payments_core::Amount;

use crate::client::keys::{KeyError, Keypair};
use crate::client::tag::{CallbackTagger, TagChecked};
use crate::client::Client;
use crate::error::Error;
use crate::model::{
    Order, OrderId, Status, StatusInfo, Timestamp, Transaction, TransactionError, TransactionHash,
    Transition,
};
use crate::wire::{read_transaction, TransactionProblem};

/// The answer Ktpay expects: HTTP 200, `application/json`, `{"status":"ok"}`.
pub fn acknowledgement() -> Acknowledgement {
    Acknowledgement::json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// Why a callback body could not be read. It never quotes the body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The body is not a JSON object of the documented shape.
    #[error("the callback body is {reason}")]
    Malformed {
        /// What is wrong, and where (never a value from the body).
        reason: String,
    },
    /// A field is missing or has a bad value.
    #[error("callback field {field}: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong (never the value).
        reason: &'static str,
    },
    /// The body was not JSON, and did not open as a sealed box with the merchant's key pair.
    #[error("the callback body is neither JSON nor a sealed box for this key pair: {0}")]
    Sealed(KeyError),
}

impl From<TransactionProblem> for CallbackError {
    fn from(p: TransactionProblem) -> Self {
        match p {
            TransactionProblem::Json(reason) => CallbackError::Malformed { reason },
            TransactionProblem::Field(field, reason) => {
                CallbackError::InvalidField { field, reason }
            }
        }
    }
}

/// A parsed callback body: what the sender *says* about a transaction. Anyone can send one, so
/// nothing in it is a fact, and it never becomes one: the receiver uses it only to find the
/// order and the tag to check, or the transaction to ask Ktpay about.
///
/// ```
/// use ktwidget::{CallbackHint, Status};
/// let body = br#"{"merchant_id":1,"order_id":"1","description":"Description of transactions",
///   "amount":1000,"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf",
///   "created_at":"2019-02-05 14:22:53","updated_at":null,
///   "status":{"status":"error","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,
///   "error":{"error_type":"ERROR_PAYMENT","error_message":"KKB rejected payment"}}}"#;
/// let hint = CallbackHint::parse(body)?;
/// assert_eq!(hint.status(), &Status::Error);
/// assert_eq!(hint.amount().minor(), 100_000);
/// assert!(hint.created_at().offset_date_time().is_none()); // sent without an offset: kept so
/// # Ok::<(), ktwidget::CallbackError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackHint {
    // Private: a hint's content is readable, but it never becomes a `Transaction` outside.
    said: Transaction,
}

impl CallbackHint {
    /// Parses a plain JSON callback body.
    pub fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        Ok(CallbackHint {
            said: read_transaction(body.trim_ascii())?,
        })
    }

    /// Parses a body that is JSON, or else (the sealed-body guess) a base64 sealed box holding
    /// JSON, opened with `keypair`.
    pub fn open_and_parse(body: &[u8], keypair: &Keypair) -> Result<Self, CallbackError> {
        let trimmed = body.trim_ascii();
        if trimmed.first() == Some(&b'{') {
            return CallbackHint::parse(trimmed);
        }
        let text = std::str::from_utf8(trimmed)
            .map_err(|_| CallbackError::Sealed(KeyError::NotBase64 { what: "body" }))?;
        let plain = keypair
            .open_base64(text.trim_matches('"'))
            .map_err(CallbackError::Sealed)?;
        CallbackHint::parse(&plain)
    }

    /// `order_id`.
    pub fn order_id(&self) -> &OrderId {
        &self.said.order_id
    }

    /// `amount`.
    pub fn amount(&self) -> Amount {
        self.said.amount
    }

    /// `transaction_hash`.
    pub fn transaction_hash(&self) -> &TransactionHash {
        &self.said.transaction_hash
    }

    /// `merchant_id`.
    pub fn merchant_id(&self) -> Option<u64> {
        self.said.merchant_id
    }

    /// `description`.
    pub fn description(&self) -> Option<&str> {
        self.said.description.as_deref()
    }

    /// `status.status`.
    pub fn status(&self) -> &Status {
        &self.said.status.status
    }

    /// The whole `status` object.
    pub fn status_info(&self) -> &StatusInfo {
        &self.said.status
    }

    /// `created_at`, as sent (see [`Timestamp`]).
    pub fn created_at(&self) -> &Timestamp {
        &self.said.created_at
    }

    /// `updated_at`, as sent.
    pub fn updated_at(&self) -> Option<&Timestamp> {
        self.said.updated_at.as_ref()
    }

    /// The normalised JSON of what was said.
    pub fn to_json(&self) -> String {
        self.said.to_json()
    }
}

/// What the merchant stored about an order when it created the payment: what a callback, or
/// Ktpay's status answer, must agree with. Store the order id and amount before calling
/// [`Client::create_payment`], and the transaction hash once it answers.
///
/// ```
/// use ktwidget::{Order, Status, StoredOrder, TransactionHash};
/// let order = Order::builder("order-42", "1000.50".parse()?).build()?;
/// let stored = StoredOrder::of(&order)
///     .with_transaction_hash(TransactionHash::new("af7e")?)
///     .with_status(Status::Pending);
/// assert_eq!(stored.amount, order.amount());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredOrder {
    /// The order id sent.
    pub order_id: OrderId,
    /// The amount sent.
    pub amount: Amount,
    /// The hash Ktpay returned, once known: checked when set, and used for the status call.
    pub transaction_hash: Option<TransactionHash>,
    /// The status recorded so far (`None`: nothing yet), for [`Transition::between`].
    pub status: Option<Status>,
}

impl StoredOrder {
    /// The stored order id and amount.
    pub fn new(order_id: OrderId, amount: Amount) -> Self {
        StoredOrder {
            order_id,
            amount,
            transaction_hash: None,
            status: None,
        }
    }

    /// The order id and amount of `order`.
    pub fn of(order: &Order) -> Self {
        StoredOrder::new(order.order_id().clone(), order.amount())
    }

    /// Sets the transaction hash Ktpay returned.
    pub fn with_transaction_hash(mut self, hash: TransactionHash) -> Self {
        self.transaction_hash = Some(hash);
        self
    }

    /// Sets the status recorded so far.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Which field of `tx` disagrees with the stored order, if any. Nothing the customer can
    /// see proves anything, so this check only rules out a fact about *another* order.
    fn mismatch(&self, tx: &Transaction) -> Option<&'static str> {
        if self.order_id != tx.order_id {
            return Some("order_id");
        }
        if self.amount != tx.amount {
            return Some("amount");
        }
        match &self.transaction_hash {
            Some(h) if *h != tx.transaction_hash => Some("transaction_hash"),
            _ => None,
        }
    }
}

/// How a [`ConfirmedStatus`] was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Evidence {
    /// A callback whose tag (in `callback_post_url`, which only Ktpay sees) checked out.
    TaggedCallback,
    /// Ktpay's answer to the merchant's own status call (provisional endpoint).
    StatusCall,
}

/// A transaction's status as Ktpay itself states it, checked against the stored order: the only
/// type that can mark an order paid ([`ConfirmedStatus::is_paid`]).
///
/// It has no public constructor. The SDK makes one from a callback whose tag checked out
/// ([`CallbackReceiver`]), or from the answer to the merchant's own status call
/// ([`Client::confirm_status`]); never from a body alone:
///
/// ```compile_fail
/// use ktwidget::{CallbackHint, ConfirmedStatus};
/// fn forge(hint: CallbackHint) -> ConfirmedStatus {
///     ConfirmedStatus::from(hint) // no such conversion, and the fields are private
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedStatus {
    tx: Transaction,
    evidence: Evidence,
}

impl ConfirmedStatus {
    /// From a callback whose tag was checked for its order id and amount.
    fn from_tagged_callback(
        hint: CallbackHint,
        proof: &TagChecked,
        stored: &StoredOrder,
    ) -> Result<Self, &'static str> {
        if !proof.covers(hint.order_id(), hint.amount()) {
            return Err("order_id or amount (not the tagged ones)");
        }
        if let Some(field) = stored.mismatch(&hint.said) {
            return Err(field);
        }
        Ok(ConfirmedStatus {
            tx: hint.said,
            evidence: Evidence::TaggedCallback,
        })
    }

    /// From the answer to the merchant's own status call.
    fn from_status_answer(tx: Transaction, stored: &StoredOrder) -> Result<Self, &'static str> {
        match stored.mismatch(&tx) {
            Some(field) => Err(field),
            None => Ok(ConfirmedStatus {
                tx,
                evidence: Evidence::StatusCall,
            }),
        }
    }

    /// The order id.
    pub fn order_id(&self) -> &OrderId {
        &self.tx.order_id
    }

    /// The amount.
    pub fn amount(&self) -> Amount {
        self.tx.amount
    }

    /// Ktpay's id of the transaction.
    pub fn transaction_hash(&self) -> &TransactionHash {
        &self.tx.transaction_hash
    }

    /// The status.
    pub fn status(&self) -> &Status {
        &self.tx.status.status
    }

    /// Why it failed, for `error` and `denied`.
    pub fn error(&self) -> Option<&TransactionError> {
        self.tx.status.error.as_ref()
    }

    /// Whether the order is paid: the status is `completed`.
    pub fn is_paid(&self) -> bool {
        self.tx.status.status.is_completed()
    }

    /// How it was proven.
    pub fn evidence(&self) -> Evidence {
        self.evidence
    }

    /// The whole transaction as Ktpay stated it.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }

    /// The transition from the status stored so far to this one ([`Transition::between`]).
    pub fn transition_from(&self, stored: Option<&Status>) -> Transition {
        Transition::between(stored, self.status())
    }
}

impl Client {
    /// Asks Ktpay for the status of a stored order (the **provisional** status endpoint,
    /// [`Client::payment_status`]) and checks the answer against the order: the way to settle
    /// an order whose callback never came or was refused (Ktpay stops after its 7th attempt),
    /// and the reconciliation every merchant should run for orders that are not final some time
    /// after they were created.
    ///
    /// The stored order needs its transaction hash. An answer about another order, another
    /// amount or another transaction is [`Error::Mismatch`]. Record the result with
    /// [`ConfirmedStatus::transition_from`].
    pub async fn confirm_status(&self, stored: &StoredOrder) -> Result<ConfirmedStatus, Error> {
        let hash = stored.transaction_hash.as_ref().ok_or_else(|| {
            crate::model::ValidationError::single(
                "transaction_hash",
                "is needed to ask Ktpay for the order's status",
            )
        })?;
        let tx = self.payment_status(hash).await?;
        ConfirmedStatus::from_status_answer(tx, stored).map_err(|field| Error::Mismatch { field })
    }
}

/// The merchant's order store, as the callback receiver needs it. Implement it over your
/// database.
pub trait CallbackStore: Send + Sync + 'static {
    /// Why the store failed (logged, never sent to Ktpay).
    type Error: fmt::Display + Send;

    /// The stored order with this id, or `None` if there is none.
    fn stored_order(
        &self,
        order_id: &OrderId,
    ) -> impl Future<Output = Result<Option<StoredOrder>, Self::Error>> + Send;

    /// Records a confirmed status. Called only when [`Transition::between`] the stored status
    /// and this one is [`Transition::Apply`]; two deliveries can race, so apply the same rule
    /// atomically with the write (`UPDATE … WHERE status …`). An `Err` answers `500` and Ktpay
    /// delivers the callback again.
    fn record(
        &self,
        confirmed: ConfirmedStatus,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Receives Ktpay's callbacks for a [`CallbackStore`]: a [`Receiver`] for core's
/// [`InboundService`] (axum's `Router::route_service`, hyper's `serve_connection`).
///
/// The safe default checks tags ([`CallbackReceiver::tagged`]); a callback without a valid tag
/// is refused with `403`. The only other way in is the named opt-in
/// [`CallbackReceiver::confirm_untagged_callbacks_with_status_call`].
///
/// ```
/// use ktwidget::{CallbackReceiver, CallbackSecret, CallbackStore, CallbackTagger};
/// use ktwidget::{ConfirmedStatus, OrderId, StoredOrder};
///
/// struct Orders; // your database
///
/// impl CallbackStore for Orders {
///     type Error = std::io::Error;
///     async fn stored_order(&self, id: &OrderId) -> Result<Option<StoredOrder>, Self::Error> {
///         Ok(None) // SELECT order_id, amount, transaction_hash, status FROM orders WHERE …
///     }
///     async fn record(&self, confirmed: ConfirmedStatus) -> Result<(), Self::Error> {
///         Ok(()) // UPDATE orders SET status = … WHERE order_id = … AND <transition allowed>
///     }
/// }
///
/// // The same tagger goes to `Client::builder().tag_callbacks(..)`.
/// let tagger = CallbackTagger::new(CallbackSecret::generate());
/// let service = CallbackReceiver::tagged(tagger, Orders).into_service();
/// // axum: Router::new().route_service("/ktpay/callback", service)
/// # let _ = service;
/// ```
pub struct CallbackReceiver<S> {
    store: S,
    tagger: Option<CallbackTagger>,
    status_call: Option<Client>,
    merchant_id: Option<u64>,
    keypair: Option<Keypair>,
}

impl<S> fmt::Debug for CallbackReceiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackReceiver")
            .field("tagger", &self.tagger)
            .field("status_call", &self.status_call.is_some())
            .field("merchant_id", &self.merchant_id)
            .field("sealed_bodies", &self.keypair.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: CallbackStore> CallbackReceiver<S> {
    /// The safe default: a callback is taken only with the tag `tagger` put in its
    /// `callback_post_url` (give the client the same tagger). Anything else is refused (`403`).
    pub fn tagged(tagger: CallbackTagger, store: S) -> Self {
        CallbackReceiver {
            store,
            tagger: Some(tagger),
            status_call: None,
            merchant_id: None,
            keypair: None,
        }
    }

    /// For a merchant who cannot tag callback URLs: every callback is taken as a hint only, and
    /// the status is asked of Ktpay with `client` ([`Client::confirm_status`], the
    /// **provisional** status endpoint); what is recorded is Ktpay's answer, never the body.
    pub fn confirming_every_callback_with_status_call(client: Client, store: S) -> Self {
        CallbackReceiver {
            store,
            tagger: None,
            status_call: Some(client),
            merchant_id: None,
            keypair: None,
        }
    }

    /// Opt-in: a callback *without a valid tag* (e.g. for an order created before tagging was
    /// turned on) is not refused but confirmed with the status call: the body is only a hint,
    /// Ktpay is asked with `client` (the **provisional** status endpoint), and what is recorded
    /// is Ktpay's answer. If the call fails, the callback is refused with `500` (Ktpay delivers
    /// it again); if Ktpay does not state a final status yet, with `403`.
    pub fn confirm_untagged_callbacks_with_status_call(mut self, client: Client) -> Self {
        self.status_call = Some(client);
        self
    }

    /// Also requires the callback's `merchant_id` to be this one (your id at Ktpay); a callback
    /// without it, or with another, is refused (`400`).
    pub fn merchant_id(mut self, merchant_id: u64) -> Self {
        self.merchant_id = Some(merchant_id);
        self
    }

    /// Opt-in (a guess, see the module docs): a body that is not JSON is opened as a base64
    /// sealed box with the merchant's key pair. The tag is still checked.
    pub fn open_sealed_bodies_with(mut self, keypair: Keypair) -> Self {
        self.keypair = Some(keypair);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The endpoint: core's [`InboundService`] around this receiver.
    pub fn into_service(self) -> InboundService<Self> {
        InboundService::new(self)
    }

    fn parse(&self, body: &[u8]) -> Result<CallbackHint, Refusal> {
        let parsed = match &self.keypair {
            Some(kp) => CallbackHint::open_and_parse(body, kp),
            None => CallbackHint::parse(body),
        };
        parsed.map_err(|e| Refusal::malformed(format!("unreadable callback: {e}")))
    }

    fn check_merchant(&self, hint: &CallbackHint) -> Result<(), Refusal> {
        match self.merchant_id {
            Some(ours) if hint.merchant_id() != Some(ours) => Err(Refusal::malformed(
                "the callback's merchant_id is missing or not this merchant's",
            )),
            _ => Ok(()),
        }
    }

    async fn stored(&self, order_id: &OrderId) -> Result<StoredOrder, Refusal> {
        match self.store.stored_order(order_id).await {
            Ok(Some(stored)) => Ok(stored),
            Ok(None) => Err(Refusal::malformed(
                "no stored order has the callback's order_id",
            )),
            Err(e) => {
                tracing::warn!(provider = "ktwidget", error = %e, "the order store failed");
                Err(Refusal::not_recorded("the order store failed"))
            }
        }
    }

    /// The tagged path: the body, vouched for by the tag, is Ktpay's word.
    async fn take_tagged(
        &self,
        hint: CallbackHint,
        proof: TagChecked,
    ) -> Result<Accepted, Refusal> {
        self.check_merchant(&hint)?;
        let stored = self.stored(hint.order_id()).await?;
        let confirmed = ConfirmedStatus::from_tagged_callback(hint, &proof, &stored)
            .map_err(|field| mismatch("callback", field))?;
        self.apply(&stored, confirmed).await
    }

    /// The opt-in path: the body is a hint; Ktpay's answer to our status call is the fact.
    async fn take_by_status_call(
        &self,
        client: &Client,
        hint: CallbackHint,
    ) -> Result<Accepted, Refusal> {
        self.check_merchant(&hint)?;
        let stored = self.stored(hint.order_id()).await?;
        // Cheap checks first, so that a forgery about another amount or transaction costs no
        // call to Ktpay.
        if let Some(field) = stored.mismatch(&hint.said) {
            return Err(mismatch("callback", field));
        }
        let hash = stored
            .transaction_hash
            .clone()
            .unwrap_or_else(|| hint.transaction_hash().clone());
        let tx = client.payment_status(&hash).await.map_err(|e| {
            tracing::warn!(
                provider = "ktwidget",
                order_id = %stored.order_id,
                error = %e,
                "the status call that confirms a callback failed"
            );
            Refusal::not_recorded("the status call failed; Ktpay will deliver the callback again")
        })?;
        let confirmed = ConfirmedStatus::from_status_answer(tx, &stored)
            .map_err(|field| mismatch("status answer", field))?;
        if !confirmed.status().is_final() {
            return Err(Refusal::unauthenticated(
                "Ktpay's status answer does not state a final status",
            ));
        }
        self.apply(&stored, confirmed).await
    }

    async fn apply(
        &self,
        stored: &StoredOrder,
        confirmed: ConfirmedStatus,
    ) -> Result<Accepted, Refusal> {
        match confirmed.transition_from(stored.status.as_ref()) {
            Transition::KeepStored => {
                tracing::warn!(
                    provider = "ktwidget",
                    order_id = %stored.order_id,
                    stored = stored.status.as_ref().map(Status::as_str),
                    received = confirmed.status().as_str(),
                    "a confirmed status would replace a stored final (or later) status; the stored one is kept"
                );
            }
            Transition::Duplicate => {}
            Transition::Apply => {
                let (order_id, evidence) = (confirmed.order_id().clone(), confirmed.evidence());
                let status = confirmed.status().clone();
                self.store.record(confirmed).await.map_err(|e| {
                    tracing::warn!(provider = "ktwidget", %order_id, error = %e, "the order store failed");
                    Refusal::not_recorded("the order store failed")
                })?;
                tracing::info!(provider = "ktwidget", %order_id, %status, ?evidence, "callback recorded");
            }
        }
        Ok(Accepted::new(acknowledgement()))
    }
}

fn mismatch(what: &'static str, field: &'static str) -> Refusal {
    Refusal::malformed(format!(
        "the {what}'s {field} does not match the stored order"
    ))
}

impl<S: CallbackStore> Receiver for CallbackReceiver<S> {
    const PROVIDER: &'static str = "ktwidget";

    async fn receive(&self, head: &http::request::Parts, body: Bytes) -> Result<Accepted, Refusal> {
        let hint = self.parse(&body)?;
        let checked = match &self.tagger {
            Some(tagger) => tagger
                .verify(&head.uri, hint.order_id(), hint.amount())
                .map_err(|p| p.reason()),
            None => Err("callback tags are not checked"),
        };
        match (checked, &self.status_call) {
            (Ok(proof), _) => self.take_tagged(hint, proof).await,
            (Err(_), Some(client)) => self.take_by_status_call(client, hint).await,
            (Err(reason), None) => Err(Refusal::unauthenticated(reason)),
        }
    }

    /// Ktpay's format: the refusal's status, `application/json`, `{"status":"error"}`.
    fn refusal_answer(&self, refusal: &Refusal) -> Acknowledgement {
        Acknowledgement::json(refusal.status(), r#"{"status":"error"}"#)
    }
}

impl<T: CallbackStore> CallbackStore for std::sync::Arc<T> {
    type Error = T::Error;

    fn stored_order(
        &self,
        order_id: &OrderId,
    ) -> impl Future<Output = Result<Option<StoredOrder>, Self::Error>> + Send {
        (**self).stored_order(order_id)
    }

    fn record(
        &self,
        confirmed: ConfirmedStatus,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).record(confirmed)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use http_body_util::{BodyExt, Full};

    use super::*;
    use crate::client::tag::CallbackSecret;

    const OK: &str = r#"{"merchant_id":1,"order_id":"1","description":"Description of transactions","amount":1000,"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","created_at":"2019-02-05T14:22:53+06:00","updated_at":null,"status":{"status":"completed","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,"error":null}}"#;
    const HASH: &str = "af7ed500aa9f2132fae4b63e936af641bcc4ebaf";

    #[derive(Default)]
    struct Book {
        orders: Mutex<HashMap<OrderId, StoredOrder>>,
        recorded: Mutex<Vec<ConfirmedStatus>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl CallbackStore for Book {
        type Error = &'static str;
        async fn stored_order(&self, id: &OrderId) -> Result<Option<StoredOrder>, &'static str> {
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("database down");
            }
            Ok(self.orders.lock().unwrap().get(id).cloned())
        }
        async fn record(&self, c: ConfirmedStatus) -> Result<(), &'static str> {
            if let Some(o) = self.orders.lock().unwrap().get_mut(c.order_id()) {
                o.status = Some(c.status().clone());
            }
            self.recorded.lock().unwrap().push(c);
            Ok(())
        }
    }

    fn tagger() -> CallbackTagger {
        CallbackTagger::new(CallbackSecret::new(Secret::from("k".repeat(32))).unwrap())
    }

    use payments_core::Secret;

    fn id(s: &str) -> OrderId {
        OrderId::new(s).unwrap()
    }

    fn book_with(order: &str, minor: u64) -> Arc<Book> {
        let book = Arc::new(Book::default());
        book.orders.lock().unwrap().insert(
            id(order),
            StoredOrder::new(id(order), Amount::from_minor(minor))
                .with_transaction_hash(TransactionHash::new(HASH).unwrap()),
        );
        book
    }

    /// The URL Ktpay calls: the tag of (`order`, `minor`) in the query.
    fn tagged_uri(t: &CallbackTagger, order: &str, minor: u64) -> String {
        let url: crate::model::WebUrl = "https://shop.example/ktpay/callback".parse().unwrap();
        let tagged = t.tagged_url(&url, &id(order), Amount::from_minor(minor));
        format!("{}?{}", tagged.path(), tagged.query().unwrap())
    }

    async fn post(
        service: &InboundService<CallbackReceiver<Arc<Book>>>,
        uri: &str,
        body: &str,
    ) -> (StatusCode, String) {
        let req = http::Request::post(uri)
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let resp = service.handle(req).await;
        let status = resp.status();
        assert_eq!(
            resp.headers()[http::header::CONTENT_TYPE],
            "application/json"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_tagged_callback_is_recorded_and_acknowledged() {
        let book = book_with("1", 100_000);
        let service = CallbackReceiver::tagged(tagger(), book.clone()).into_service();
        let (status, body) = post(&service, &tagged_uri(&tagger(), "1", 100_000), OK).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"status":"ok"}"#)
        );
        let recorded = book.recorded.lock().unwrap().clone();
        assert_eq!(recorded.len(), 1);
        assert!(recorded[0].is_paid());
        assert_eq!(recorded[0].evidence(), Evidence::TaggedCallback);
        assert_eq!(recorded[0].transaction_hash().as_str(), HASH);
    }

    /// Issue 11's forgery: a `completed` callback made from what the customer knows (order id,
    /// amount, hash) passes every check against the stored order, and still is not taken.
    #[tokio::test]
    async fn what_the_customer_knows_is_not_enough() {
        let book = book_with("1", 100_000);
        let service = CallbackReceiver::tagged(tagger(), book.clone()).into_service();
        let other_secret = CallbackTagger::new(CallbackSecret::generate());
        for uri in [
            "/ktpay/callback".to_owned(),
            "/ktpay/callback?ktwidget_tag=".to_owned(),
            format!("/ktpay/callback?ktwidget_tag={}", "0".repeat(64)),
            // Another merchant's secret, another order's tag, another amount's tag.
            tagged_uri(&other_secret, "1", 100_000),
            tagged_uri(&tagger(), "2", 100_000),
            tagged_uri(&tagger(), "1", 100),
        ] {
            let (status, body) = post(&service, &uri, OK).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
            assert_eq!(body, r#"{"status":"error"}"#);
        }
        // A body whose amount was changed no longer matches the tag either.
        let changed = OK.replace(r#""amount":1000"#, r#""amount":1"#);
        let (status, _) = post(&service, &tagged_uri(&tagger(), "1", 100_000), &changed).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(book.recorded.lock().unwrap().is_empty());
        assert_eq!(book.orders.lock().unwrap()[&id("1")].status, None);
    }

    #[tokio::test]
    async fn a_tagged_callback_must_match_the_stored_order() {
        // The tag is right for (1, 1000.00), but the merchant stored another amount or hash.
        let uri = tagged_uri(&tagger(), "1", 100_000);
        let book = book_with("1", 99_999);
        let service = CallbackReceiver::tagged(tagger(), book.clone()).into_service();
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::BAD_REQUEST);
        let book = book_with("1", 100_000);
        book.orders
            .lock()
            .unwrap()
            .get_mut(&id("1"))
            .unwrap()
            .transaction_hash = Some(TransactionHash::new("another").unwrap());
        let service = CallbackReceiver::tagged(tagger(), book.clone()).into_service();
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::BAD_REQUEST);
        // An order the merchant does not know.
        let service = CallbackReceiver::tagged(tagger(), Arc::new(Book::default())).into_service();
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::BAD_REQUEST);
        assert!(book.recorded.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stored_final_status_is_never_downgraded() {
        let book = book_with("1", 100_000);
        let service = CallbackReceiver::tagged(tagger(), book.clone()).into_service();
        let uri = tagged_uri(&tagger(), "1", 100_000);
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::OK);
        // The same callback again: acknowledged, not recorded twice.
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::OK);
        // A later (replayed or stale) `pending` or `error`: acknowledged, never recorded.
        for later in ["pending", "error"] {
            let body = OK.replace(r#""status":"completed""#, &format!(r#""status":"{later}""#));
            assert_eq!(post(&service, &uri, &body).await.0, StatusCode::OK);
        }
        assert_eq!(book.recorded.lock().unwrap().len(), 1);
        assert_eq!(
            book.orders.lock().unwrap()[&id("1")].status,
            Some(Status::Completed)
        );
    }

    #[tokio::test]
    async fn merchant_id_must_match_when_configured() {
        let uri = tagged_uri(&tagger(), "1", 100_000);
        let service = CallbackReceiver::tagged(tagger(), book_with("1", 100_000))
            .merchant_id(2)
            .into_service();
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::BAD_REQUEST);
        let without = OK.replace(r#""merchant_id":1,"#, "");
        assert_eq!(
            post(&service, &uri, &without).await.0,
            StatusCode::BAD_REQUEST
        );
        // The right id, as a number or as a string.
        let service = CallbackReceiver::tagged(tagger(), book_with("1", 100_000))
            .merchant_id(1)
            .into_service();
        let as_text = OK.replace(r#""merchant_id":1"#, r#""merchant_id":"1""#);
        assert_eq!(post(&service, &uri, &as_text).await.0, StatusCode::OK);
        // Not configured: not checked.
        let service = CallbackReceiver::tagged(tagger(), book_with("1", 100_000)).into_service();
        assert_eq!(post(&service, &uri, &without).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn refusals_map_to_ktpays_answers() {
        let book = book_with("1", 100_000);
        let service = CallbackReceiver::tagged(tagger(), book.clone()).into_service();
        let uri = tagged_uri(&tagger(), "1", 100_000);
        // Unreadable: 400, whatever the tag.
        assert_eq!(post(&service, &uri, "{").await.0, StatusCode::BAD_REQUEST);
        // The store fails: 500, so that Ktpay delivers it again.
        book.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            post(&service, &uri, OK).await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        book.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        // A timestamp without an offset (PHP's default) is read, not refused.
        let naive = OK.replace("2019-02-05T14:22:53+06:00", "2019-02-05 14:22:53");
        assert_eq!(post(&service, &uri, &naive).await.0, StatusCode::OK);
        let recorded = book.recorded.lock().unwrap().clone();
        assert_eq!(
            recorded[0].transaction().created_at.to_string(),
            "2019-02-05 14:22:53"
        );
        // GET: 405 (core's mapping).
        let get = http::Request::get(uri.as_str())
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(
            service.handle(get).await.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn sealed_bodies_only_when_opted_in_and_still_tagged() {
        let kp = Keypair::generate();
        let sealed = kp.app_key().seal_base64(OK.as_bytes()).unwrap();
        let uri = tagged_uri(&tagger(), "1", 100_000);
        let plain = CallbackReceiver::tagged(tagger(), book_with("1", 100_000)).into_service();
        assert_eq!(post(&plain, &uri, &sealed).await.0, StatusCode::BAD_REQUEST);
        let opted = CallbackReceiver::tagged(tagger(), book_with("1", 100_000))
            .open_sealed_bodies_with(kp.clone())
            .into_service();
        assert_eq!(post(&opted, &uri, &sealed).await.0, StatusCode::OK);
        // Sealing proves nothing: anyone can seal to a public key. The tag is still needed.
        assert_eq!(
            post(&opted, "/ktpay/callback", &sealed).await.0,
            StatusCode::FORBIDDEN
        );
        let other = Keypair::generate()
            .app_key()
            .seal_base64(OK.as_bytes())
            .unwrap();
        assert_eq!(
            CallbackHint::open_and_parse(other.as_bytes(), &kp).unwrap_err(),
            CallbackError::Sealed(KeyError::Open)
        );
        assert!(matches!(
            CallbackHint::open_and_parse(b"%%%", &kp),
            Err(CallbackError::Sealed(KeyError::NotBase64 { .. }))
        ));
        assert!(CallbackHint::open_and_parse(OK.as_bytes(), &kp).is_ok());
    }

    /// A client whose every call is refused at connect (a port that is bound, never listened
    /// on, and held until the socket is dropped): the status call fails.
    fn unreachable_client() -> (Client, tokio::net::TcpSocket) {
        let held = tokio::net::TcpSocket::new_v4().unwrap();
        held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let base = format!("http://{}", held.local_addr().unwrap());
        let client = Client::builder()
            .app_id("app")
            .app_key(Keypair::generate().app_key())
            .environment(crate::client::Environment::Custom(base.parse().unwrap()))
            .allow_plain_http_to_loopback()
            .retry_policy(payments_core::RetryPolicy::default().with_max_attempts(1))
            .build()
            .unwrap();
        (client, held)
    }

    #[tokio::test]
    async fn the_status_call_opt_in_refuses_when_the_call_fails() {
        let (client, _held) = unreachable_client();
        let book = book_with("1", 100_000);
        let service = CallbackReceiver::tagged(tagger(), book.clone())
            .confirm_untagged_callbacks_with_status_call(client)
            .into_service();
        // Untagged: the status call is tried, fails, and the callback is refused (500: Ktpay
        // delivers it again), never taken from the body.
        let (status, _) = post(&service, "/ktpay/callback", OK).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        // A body that does not match the stored order is refused before any call (400).
        let other = OK.replace(r#""amount":1000"#, r#""amount":5"#);
        assert_eq!(
            post(&service, "/ktpay/callback", &other).await.0,
            StatusCode::BAD_REQUEST
        );
        // A tagged callback does not need the call.
        let uri = tagged_uri(&tagger(), "1", 100_000);
        assert_eq!(post(&service, &uri, OK).await.0, StatusCode::OK);
        assert_eq!(book.recorded.lock().unwrap().len(), 1);
    }

    #[test]
    fn refusal_reasons_never_quote_the_body() {
        let secretish = OK.replace(r#""amount":1000"#, r#""amount":"s3cr3t-value""#);
        let e = CallbackHint::parse(secretish.as_bytes()).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = CallbackHint::parse(br#"{"order_id": {"s3cr3t": 1}}"#).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = CallbackHint::parse(br#"["s3cr3t"]"#).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = CallbackHint::parse(OK.replace("2019-02-05T14:22:53+06:00", "s3cr3t").as_bytes())
            .unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }
}
