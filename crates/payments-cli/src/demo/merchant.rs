//! A small merchant: the Ktpay callback and Kupi-Kupi notification endpoints, built on the
//! provider crates' handlers, plus the shop's success and failure pages the card page redirects
//! to. It keeps what it received per order, so flows and tests can check that every callback
//! was verified, applied once and acknowledged.
//!
//! The Ktpay endpoint is the safe default flow: `ktwidget::CallbackReceiver::tagged` served by
//! `payments_core::inbound::InboundService`, over an order store ([`Merchant::expect_ktwidget`]).
//! A callback without the tag the client put in `callback_post_url` is refused (403), and what
//! it records is a `ktwidget::ConfirmedStatus`, never a body.
//!
//! Its Kupi-Kupi endpoint is the SDK's safe default, [`kupikupi::NotificationReceiver`]: a
//! notification is a hint, recorded as "notified" and answered `OK`; the order is credited
//! only when `checkout` says CONFIRMED ([`KupikupiOrder::credited`]).
//!
//! It can also misbehave on purpose: fail the first deliveries of one order
//! ([`Merchant::fail_first_ktwidget`]), or refuse everything for a while
//! ([`Merchant::set_outage`]), so the providers' retry schedules can be seen at work.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ktwidget::{
    CallbackReceiver, CallbackStore, CallbackTagger, ConfirmedStatus, OrderId, StoredOrder,
    TransactionHash,
};
use kupikupi::{
    ConfirmedTransfer, FailedTransfer, NotificationReceiver, NotificationService, PollPolicy,
    StoredTransfer, TransferAmount, TransferStore, Unresolved, DEFAULT_CONFIRM_POLICY,
};
use payments_core::Amount;
use payments_sandbox::{RunningServer, ServeError};
use tokio::sync::Notify;

/// What the merchant holds about one order's callbacks or notifications.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// The last status applied (`completed`, `CONFIRMED`, ...).
    pub status: Option<String>,
    /// How many deliveries arrived (refused ones included).
    pub deliveries: u32,
    /// How many were verified and answered positively.
    pub acknowledged: u32,
    /// How many times the state change was applied (the first verified delivery of a status;
    /// a duplicate is acknowledged again but not applied again).
    pub applied: u32,
    /// How many were refused on purpose (injected failures, outage).
    pub refused: u32,
    /// How many the SDK's endpoint refused (a forgery, a mismatch, an unreadable body).
    pub invalid: u32,
}

/// What the merchant holds about one Kupi-Kupi order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KupikupiOrder {
    /// The amount stored when the transfer was started, in kopecks.
    pub amount: u64,
    /// The status the last notification claimed (a hint, never applied as such).
    pub notified: Option<String>,
    /// The final status `checkout` gave: `CONFIRMED`, `REJECTED` or `CANCELED`.
    pub status: Option<String>,
    /// Whether the order was credited (only ever from `checkout`'s CONFIRMED).
    pub credited: bool,
    /// How many deliveries arrived (refused ones included).
    pub deliveries: u32,
    /// How many were answered `OK`.
    pub acknowledged: u32,
    /// How many times a final status from `checkout` changed the order.
    pub applied: u32,
    /// How many were refused on purpose (outage).
    pub refused: u32,
    /// How many the endpoint refused (bad body, another platform, unknown order).
    pub invalid: u32,
    /// How many confirmations ended without a final answer from `checkout`.
    pub unresolved: u32,
    /// How many notifications said CONFIRMED while `checkout` said otherwise.
    pub contradicted: u32,
}

#[derive(Default)]
struct Book {
    ktwidget_orders: HashMap<String, StoredOrder>,
    ktwidget: HashMap<String, Received>,
    kupikupi: HashMap<String, KupikupiOrder>,
    fail_first: HashMap<String, u32>,
}

struct Inner {
    book: Mutex<Book>,
    changed: Notify,
    outage: AtomicBool,
    kk_service: OnceLock<NotificationService<KupikupiStore>>,
}

/// The shop's Ktpay orders, as the SDK's callback receiver reads and writes them.
struct KtOrders(Arc<Inner>);

impl CallbackStore for KtOrders {
    type Error = std::convert::Infallible;

    async fn stored_order(&self, id: &OrderId) -> Result<Option<StoredOrder>, Self::Error> {
        Ok(self.0.book().ktwidget_orders.get(id.as_str()).cloned())
    }

    async fn record(&self, confirmed: ConfirmedStatus) -> Result<(), Self::Error> {
        let id = confirmed.order_id().as_str();
        {
            let mut book = self.0.book();
            let Some(stored) = book.ktwidget_orders.get_mut(id) else {
                return Ok(());
            };
            // The transition rule, applied with the write (deliveries can race).
            if !confirmed.transition_from(stored.status.as_ref()).applies() {
                return Ok(());
            }
            stored.status = Some(confirmed.status().clone());
            let r = book.ktwidget.entry(id.to_owned()).or_default();
            r.status = Some(confirmed.status().as_str().to_owned());
            r.applied += 1;
        }
        self.0.changed.notify_waiters();
        Ok(())
    }
}

impl Inner {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The merchant's receiver, running on 127.0.0.1. Dropping it stops the server.
pub struct Merchant {
    inner: Arc<Inner>,
    server: Option<RunningServer>,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl Merchant {
    /// Starts the receiver on `127.0.0.1:0`. Ktpay callbacks need the tag of `ktwidget_tagger`
    /// (give the Ktpay client the same tagger) and the merchant id `ktwidget_merchant_id`. Its
    /// Kupi-Kupi endpoint answers 503 until [`Merchant::connect_kupikupi`] gives it the client it
    /// confirms notifications with.
    pub async fn start(
        ktwidget_tagger: CallbackTagger,
        ktwidget_merchant_id: u64,
    ) -> Result<Merchant, ServeError> {
        let inner = Arc::new(Inner {
            book: Mutex::new(Book::default()),
            changed: Notify::new(),
            outage: AtomicBool::new(false),
            kk_service: OnceLock::new(),
        });
        let ktpay = CallbackReceiver::tagged(ktwidget_tagger, KtOrders(inner.clone()))
            .merchant_id(ktwidget_merchant_id)
            .into_service();
        let router = Router::new()
            .route(
                "/ktwidget/callback",
                post(move |State(inner): State<Arc<Inner>>, req: Request| {
                    let ktpay = ktpay.clone();
                    async move { ktwidget_callback(inner, ktpay, req).await }
                }),
            )
            .route("/kupikupi/notify", post(kupikupi_notify))
            .route(
                "/shop/success",
                get(|| async { shop_page("Thank you: paid") }),
            )
            .route(
                "/shop/failed",
                get(|| async { shop_page("Payment failed") }),
            )
            .with_state(inner.clone());
        let server = payments_sandbox::serve(([127, 0, 0, 1], 0).into(), router, None).await?;
        Ok(Merchant {
            inner,
            server: Some(server),
        })
    }

    /// Connects the Kupi-Kupi endpoint to the service: notifications are checked against this
    /// client's platform uid and confirmed with its `checkout`, polled as [`KUPIKUPI_POLICY`]
    /// says. Only the first call counts.
    pub fn connect_kupikupi(&self, client: kupikupi::Client) {
        let store = KupikupiStore(Arc::clone(&self.inner));
        let service = NotificationReceiver::new(client, store)
            .confirm_policy(KUPIKUPI_POLICY)
            .into_service();
        let _ = self.inner.kk_service.set(service);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server
            .as_ref()
            .map(|s| s.base_url())
            .unwrap_or_default()
    }

    /// The Ktpay callback URL.
    pub fn ktwidget_callback_url(&self) -> String {
        format!("{}/ktwidget/callback", self.base_url())
    }

    /// The Kupi-Kupi notification URL.
    pub fn kupikupi_notification_url(&self) -> String {
        format!("{}/kupikupi/notify", self.base_url())
    }

    /// The shop's page after a successful payment.
    pub fn success_url(&self) -> String {
        format!("{}/shop/success", self.base_url())
    }

    /// The shop's page after a failed payment.
    pub fn failed_url(&self) -> String {
        format!("{}/shop/failed", self.base_url())
    }

    /// Stores a Ktpay order, as a shop does before creating the payment: callbacks are checked
    /// against its id and amount.
    pub fn expect_ktwidget(&self, order_id: &str, amount: Amount) {
        if let Ok(id) = OrderId::new(order_id) {
            self.inner
                .book()
                .ktwidget_orders
                .insert(order_id.to_owned(), StoredOrder::new(id, amount));
        }
    }

    /// Stores the transaction hash Ktpay returned for an order: callbacks are then checked
    /// against it too.
    pub fn ktwidget_created(&self, order_id: &str, hash: &TransactionHash) {
        if let Some(o) = self.inner.book().ktwidget_orders.get_mut(order_id) {
            o.transaction_hash = Some(hash.clone());
        }
    }

    /// Answers the first `n` callbacks of `order_id` with HTTP 500, as a merchant whose database
    /// is briefly down.
    pub fn fail_first_ktwidget(&self, order_id: &str, n: u32) {
        self.inner.book().fail_first.insert(order_id.to_owned(), n);
    }

    /// While `true`, every callback and notification is answered 503.
    pub fn set_outage(&self, on: bool) {
        self.inner.outage.store(on, Ordering::SeqCst);
    }

    /// What arrived for a Ktpay order.
    pub fn ktwidget(&self, order_id: &str) -> Option<Received> {
        self.inner.book().ktwidget.get(order_id).cloned()
    }

    /// Stores a Kupi-Kupi order, as a shop does before it calls `init`: a notification for an
    /// order the shop does not know is refused, and `checkout` is asked with this amount.
    pub fn expect_kupikupi(&self, order_id: &str, amount: TransferAmount) {
        self.inner.book().kupikupi.insert(
            order_id.to_owned(),
            KupikupiOrder {
                amount: amount.minor(),
                ..KupikupiOrder::default()
            },
        );
        self.inner.changed.notify_waiters();
    }

    /// What the merchant holds about a Kupi-Kupi order.
    pub fn kupikupi(&self, order_id: &str) -> Option<KupikupiOrder> {
        self.inner.book().kupikupi.get(order_id).cloned()
    }

    /// Every Ktpay order's record.
    pub fn ktwidget_all(&self) -> HashMap<String, Received> {
        self.inner.book().ktwidget.clone()
    }

    /// Every Kupi-Kupi order's record.
    pub fn kupikupi_all(&self) -> HashMap<String, KupikupiOrder> {
        self.inner.book().kupikupi.clone()
    }

    /// Waits until a Ktpay order's record satisfies `f`, or `timeout` passes.
    pub async fn wait_ktwidget(
        &self,
        order_id: &str,
        timeout: Duration,
        f: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        self.wait(timeout, || self.ktwidget(order_id).filter(|r| f(r)))
            .await
    }

    /// Waits until a Kupi-Kupi order's record satisfies `f`, or `timeout` passes.
    pub async fn wait_kupikupi(
        &self,
        order_id: &str,
        timeout: Duration,
        f: impl Fn(&KupikupiOrder) -> bool,
    ) -> Option<KupikupiOrder> {
        self.wait(timeout, || self.kupikupi(order_id).filter(|r| f(r)))
            .await
    }

    async fn wait<T>(&self, timeout: Duration, check: impl Fn() -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            if let Some(found) = check() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return check();
            }
        }
    }

    /// Stops the server gracefully.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

fn count(
    inner: &Inner,
    which: impl Fn(&mut Book) -> &mut HashMap<String, Received>,
    order_id: Option<&str>,
    f: impl Fn(&mut Received),
) {
    if let Some(order_id) = order_id {
        let mut book = inner.book();
        f(which(&mut book).entry(order_id.to_owned()).or_default());
    }
    inner.changed.notify_waiters();
}

/// The order id of a JSON body, if it has one (to count refused deliveries).
fn order_id_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = v.get("order_id").or_else(|| v.get("orderId"))?;
    match id {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Counts a delivery to one endpoint and, during an outage, counts its refusal and gives the
/// answer that refuses it.
fn refused_delivery(
    inner: &Inner,
    which: impl Fn(&mut Book) -> &mut HashMap<String, Received> + Copy,
    order_id: Option<&str>,
) -> Option<Response> {
    count(inner, which, order_id, |r| r.deliveries += 1);
    if !inner.outage.load(Ordering::SeqCst) {
        return None;
    }
    count(inner, which, order_id, |r| r.refused += 1);
    Some((StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response())
}

/// Updates a stored Kupi-Kupi order (an order the shop never stored is not recorded).
fn kk_update(inner: &Inner, order_id: Option<&str>, f: impl FnOnce(&mut KupikupiOrder)) {
    if let Some(order_id) = order_id {
        if let Some(r) = inner.book().kupikupi.get_mut(order_id) {
            f(r);
        }
    }
    inner.changed.notify_waiters();
}

async fn ktwidget_callback<S: CallbackStore>(
    inner: Arc<Inner>,
    endpoint: payments_core::inbound::InboundService<CallbackReceiver<S>>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response();
    };
    let order = order_id_of(&bytes);
    if let Some(refused) = refused_delivery(&inner, |b| &mut b.ktwidget, order.as_deref()) {
        return refused;
    }
    if let Some(id) = &order {
        let mut book = inner.book();
        if let Some(n) = book.fail_first.get_mut(id).filter(|n| **n > 0) {
            *n -= 1;
            if let Some(r) = book.ktwidget.get_mut(id) {
                r.refused += 1;
            }
            drop(book);
            inner.changed.notify_waiters();
            return (StatusCode::INTERNAL_SERVER_ERROR, "database unavailable").into_response();
        }
    }
    // The SDK's endpoint: tag, stored order, transition, record, answer.
    let resp = endpoint
        .handle(http::Request::from_parts(
            parts,
            http_body_util::Full::new(bytes),
        ))
        .await;
    let taken = resp.status().is_success();
    count(
        &inner,
        |b| &mut b.ktwidget,
        order.as_deref(),
        |r| {
            if taken {
                r.acknowledged += 1;
            } else {
                r.invalid += 1;
            }
        },
    );
    resp.map(Body::new)
}

/// How the demo merchant polls `checkout` after it answered `OK`: quickly (the sandbox confirms
/// on the `OK`), and for 3 s at most, so that a forged notification ends "unresolved" soon.
/// A real shop keeps [`DEFAULT_CONFIRM_POLICY`] (10 minutes).
pub const KUPIKUPI_POLICY: PollPolicy = match DEFAULT_CONFIRM_POLICY
    .to_builder()
    .first_delay(Duration::from_millis(10))
    .interval(Duration::from_millis(10))
    .max_interval(Duration::from_millis(200))
    .deadline(Duration::from_secs(3))
    .build()
{
    Ok(policy) => policy,
    Err(_) => panic!("the demo's confirmation policy is valid"),
};

/// The demo's Kupi-Kupi orders, as the SDK's notification endpoint needs them. Every method is
/// idempotent: a duplicate notification records the same state again.
struct KupikupiStore(Arc<Inner>);

impl TransferStore for KupikupiStore {
    type Error = std::convert::Infallible;

    async fn notified(
        &self,
        n: &kupikupi::Notification,
    ) -> Result<Option<StoredTransfer>, Self::Error> {
        let mut book = self.0.book();
        let Some(r) = book.kupikupi.get_mut(n.order_id.as_str()) else {
            return Ok(None);
        };
        // A hint: noted, never applied. The answer that follows is `OK`.
        r.notified = Some(n.transfer_status.to_string());
        r.acknowledged += 1;
        let amount = TransferAmount::from_minor(r.amount).ok();
        drop(book);
        self.0.changed.notify_waiters();
        Ok(amount.map(StoredTransfer::new))
    }

    async fn confirmed(&self, t: ConfirmedTransfer) -> Result<(), Self::Error> {
        kk_update(&self.0, Some(t.order_id().as_str()), |r| {
            if r.status.as_deref() != Some("CONFIRMED") {
                r.status = Some("CONFIRMED".into());
                r.applied += 1;
            }
            r.credited = true;
        });
        Ok(())
    }

    async fn failed(&self, t: FailedTransfer) -> Result<(), Self::Error> {
        kk_update(&self.0, Some(t.order_id().as_str()), |r| {
            if r.status.as_deref() != Some(t.status().as_str()) {
                r.status = Some(t.status().to_string());
                r.applied += 1;
            }
            if t.contradicts_notification() {
                r.contradicted += 1;
            }
        });
        Ok(())
    }

    async fn unresolved(&self, u: Unresolved) {
        kk_update(&self.0, Some(u.order_id().as_str()), |r| r.unresolved += 1);
    }
}

/// The Kupi-Kupi endpoint: the demo's bookkeeping (deliveries, the outage) around the SDK's
/// [`NotificationService`], which does the reading, checking and answering.
async fn kupikupi_notify(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response();
    };
    let order = order_id_of(&bytes);
    kk_update(&inner, order.as_deref(), |r| r.deliveries += 1);
    if inner.outage.load(Ordering::SeqCst) {
        kk_update(&inner, order.as_deref(), |r| r.refused += 1);
        return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
    }
    let Some(service) = inner.kk_service.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not connected yet").into_response();
    };
    let resp = service
        .handle(http::Request::from_parts(
            parts,
            http_body_util::Full::new(bytes),
        ))
        .await;
    if !resp.status().is_success() {
        kk_update(&inner, order.as_deref(), |r| r.invalid += 1);
    }
    resp.map(Body::new)
}

fn shop_page(title: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1 id=\"shop\">{title}</h1><p>The shop's own page.</p></body></html>"
    ))
}
