//! A stateful emulator of the Kupi-Kupi points transfer API.
//!
//! It speaks the real wire format (`POST {base}/{method}` with a JSON body carrying
//! `platformUid` or `uidPlatform` and the SHA-256 `token`), keeps transfers in memory, serves
//! the transfer form that `init` points to, and POSTs the notification to the merchant's
//! NotificationURL once the customer has entered the code, retrying until the merchant answers
//! `OK`.
//!
//! ```
//! use payments_sandbox::kupikupi::{self, Config};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = kupikupi::start(Config::default()).await?;
//! assert!(emulator.base_url().ends_with("/api/v1/transfer"));
//! assert_eq!(emulator.platform_uid(), "M2hULcD58iYGkmS7");
//! assert!(emulator.transfers().is_empty());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Behaviour
//!
//! - Test phones: `79000000001` ends `CONFIRMED` (balance 1000000), `79000000002` ends
//!   `REJECTED` (balance 0), `79000000003` ends `CANCELED` (balance 0). Any other phone gets
//!   error `4`.
//! - `init` answers a `transferURL` on the emulator (`{root}/pay/{paymentId}`). A `GET` of it
//!   moves the transfer from `NEW` to `FORM_SHOWED`; a `POST {root}/pay/{paymentId}/confirm`
//!   with the form field (or query parameter) `code` equal to [`Config::with_confirmation_code`]
//!   moves it to the phone's final status and answers a result page (a wrong code shows the
//!   form again, HTTP 400). Both pages are plain HTML forms, without JavaScript. The
//!   `confirmation {phone, code}` method does the same for the phone's latest open transfer.
//! - `init` again with the same `orderId`, phone and amount returns the same transfer; with
//!   other values it is refused (error `5`).
//! - Errors have the provider's shape `{"status": false, "errorCode": "<n>", "message": ".."}`.
//!   The codes are the emulator's own (the provider publishes none): `1` malformed request
//!   (HTTP 400), `2` unknown platform, `3` wrong token, `4` unknown phone, `5` order id
//!   reused with other values, `6` transfer not found, `7` amount does not match, `8` wrong
//!   code, `9` no open transfer for the phone, `10` unknown method (HTTP 404).
//! - Notifications: `{status, transferStatus, errorCode, message?, uidPlatform, orderId}`
//!   (plus `token` when [`Config::with_signed_notifications`] is set), POSTed as JSON. Only HTTP 200
//!   with the body `OK` (surrounding whitespace ignored) acknowledges; anything else is retried
//!   after each delay of [`Config::with_retry_schedule`] (the last one repeats) multiplied by
//!   [`Config::with_time_scale`], up to [`Config::with_max_attempts`].
//! - **CONFIRMED only after `OK`**, as the guide says («API-сервис должен получить ответ «OK»,
//!   в этом случае … засчитает подтверждение автоматически CONFIRMED»). When the code is
//!   entered for the confirming phone, the notification says `CONFIRMED` (`status: true`), but
//!   the transfer stays `FORM_SHOWED` (so `checkout` shows it as not confirmed, and
//!   [`TransferState::pending`] is `Some(CONFIRMED)`) until the merchant answers `OK`; then it
//!   becomes `CONFIRMED`. If no attempt is answered `OK`, it ends in
//!   [`Config::with_unacknowledged_status`] (default `REJECTED`: the points never reached the
//!   merchant) and is never confirmed. `REJECTED` and `CANCELED` take effect at once (the
//!   notification reports a failure; its `OK` only stops the retries).
//! - Without a NotificationURL nobody can answer `OK`: the emulator then stands in for the
//!   merchant, and a code entered for the confirming phone confirms the transfer at once (no
//!   notification is sent). To see the real order, configure a NotificationURL.
//! - Notifications go only to loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) unless
//!   [`Config::allow_non_loopback_delivery`] is set; another host is refused at start.
//! - State is bounded: past [`Config::with_max_finished`] finished transfers (final, no
//!   notification round running), the oldest are forgotten; the same bound applies to the
//!   receipts kept.

mod api;
mod notify;
mod wire;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::fault::{Faults, Provider};
use crate::server::{serve_inner, FaultPoint, Limits, RunningServer, ServeError};
use crate::target::{self, RefusedTarget};
use crate::time_scale::{InvalidTimeScale, TimeScale};

pub use wire::token;

/// The emulator's settings. Build them with [`Config::default`] and the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The address to bind. Default `127.0.0.1:0`.
    addr: SocketAddr,
    /// The platform uid clients must send. Default: the provider's demo uid.
    platform_uid: String,
    /// The secret key tokens are computed with. Default: the provider's demo key.
    secret_key: String,
    /// The API path. Default `/api/v1/transfer`.
    base_path: String,
    /// Where notifications go. `None`: no notification is sent.
    notification_url: Option<String>,
    /// The code the customer enters on the form or sends through `confirmation`.
    /// Default `"1111"`.
    confirmation_code: String,
    /// The delays between notification attempts (the last one repeats). Default: 15 s, 60 s,
    /// 3 min, 10 min, 30 min, 60 min.
    retry_schedule: Vec<Duration>,
    /// Multiplies every delay of the schedule; tests use a small value such as `0.001`.
    /// Default `1.0`; from 0 to 100 (see [`TimeScale`], checked by [`start`]).
    time_scale: f64,
    /// The most delivery attempts per notification. Default 50.
    max_attempts: u32,
    /// How long one delivery attempt may take. Default 10 s (above 0, at most 10 min).
    delivery_timeout: Duration,
    /// Adds a `token` (over the other fields, with the secret key) to notifications. The
    /// provider documents none, so the default is `false`.
    sign_notifications: bool,
    /// The status a transfer awaiting the merchant's `OK` takes when the last delivery attempt
    /// is not answered `OK`: [`Status::Rejected`] (the default) or [`Status::Canceled`].
    unacknowledged_status: Status,
    /// Deliver notifications to a host that is not loopback (default `false`: only
    /// `localhost`, `127.0.0.0/8` and `::1`; a name other than `localhost` could resolve
    /// anywhere).
    allow_non_loopback_delivery: bool,
    /// How many finished transfers (final, no notification round running) and receipts are
    /// kept; past it the oldest are forgotten (default 10 000).
    max_finished: usize,
    /// The server's limits on request heads and connections.
    limits: Limits,
    /// The faults injected into the server's answers.
    faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            platform_uid: "M2hULcD58iYGkmS7".to_owned(),
            secret_key: "yIKirCvplm8N1D9g".to_owned(),
            base_path: "/api/v1/transfer".to_owned(),
            notification_url: None,
            confirmation_code: "1111".to_owned(),
            retry_schedule: [15, 60, 180, 600, 1800, 3600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            time_scale: 1.0,
            max_attempts: 50,
            delivery_timeout: Duration::from_secs(10),
            sign_notifications: false,
            unacknowledged_status: Status::Rejected,
            allow_non_loopback_delivery: false,
            max_finished: crate::DEFAULT_MAX_FINISHED,
            limits: Limits::default(),
            faults: Faults::new(),
        }
    }
}

impl Config {
    /// Sets the address to bind (default `127.0.0.1:0`, a free port).
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets the platform uid and the secret key (default: the provider's demo ones).
    pub fn with_credentials(
        mut self,
        platform_uid: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.platform_uid = platform_uid.into();
        self.secret_key = secret_key.into();
        self
    }

    /// Sets the API path (default `/api/v1/transfer`).
    pub fn with_base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// Sets where notifications go (by default no notification is sent).
    pub fn with_notification_url(mut self, url: impl Into<String>) -> Self {
        self.notification_url = Some(url.into());
        self
    }

    /// Sends no notification (the default).
    pub fn without_notification_url(mut self) -> Self {
        self.notification_url = None;
        self
    }

    /// Sets the code the customer enters on the form or sends through `confirmation`
    /// (default `"1111"`).
    pub fn with_confirmation_code(mut self, code: impl Into<String>) -> Self {
        self.confirmation_code = code.into();
        self
    }

    /// Sets the delays between notification attempts (the last one repeats; default 15 s,
    /// 60 s, 3 min, 10 min, 30 min, 60 min).
    pub fn with_retry_schedule(mut self, schedule: impl Into<Vec<Duration>>) -> Self {
        self.retry_schedule = schedule.into();
        self
    }

    /// Sets the time scale of the retry schedule (default 1; from 0 to 100, see
    /// [`TimeScale`], checked by [`start`]); tests use a small value such as `0.001`.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the most delivery attempts per notification (default 50).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets how long one delivery attempt may take (default 10 s; above 0, at most 10 min,
    /// checked by [`start`]).
    pub fn with_delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Adds a `token` (over the other fields, with the secret key) to notifications. The
    /// provider documents none, so by default there is none.
    pub fn with_signed_notifications(mut self) -> Self {
        self.sign_notifications = true;
        self
    }

    /// Sets the status a transfer awaiting the merchant's `OK` takes when the last delivery
    /// attempt is not answered `OK`: [`Status::Rejected`] (the default) or
    /// [`Status::Canceled`] (anything else is refused by [`start`]).
    pub fn with_unacknowledged_status(mut self, status: Status) -> Self {
        self.unacknowledged_status = status;
        self
    }

    /// Allows notifications to a host that is not loopback (by default they go only to
    /// `localhost`, `127.0.0.0/8` and `::1`).
    pub fn allow_non_loopback_delivery(mut self) -> Self {
        self.allow_non_loopback_delivery = true;
        self
    }

    /// Sets how many finished transfers and receipts are kept (default 10 000).
    pub fn with_max_finished(mut self, max: usize) -> Self {
        self.max_finished = max;
        self
    }

    /// Sets the server's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares a fault table with other emulators (by default each emulator has its own; see
    /// [`Emulator::faults`]).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// The delay before retry `retry` (0 for the first retry), before scaling.
    fn delay(&self, retry: usize) -> Duration {
        self.retry_schedule
            .get(retry)
            .or(self.retry_schedule.last())
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }
}

/// A transfer's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Registered.
    New,
    /// The form was opened.
    FormShowed,
    /// Refused (not enough points).
    Rejected,
    /// Canceled.
    Canceled,
    /// Transferred.
    Confirmed,
}

impl Status {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::FormShowed => "FORM_SHOWED",
            Status::Rejected => "REJECTED",
            Status::Canceled => "CANCELED",
            Status::Confirmed => "CONFIRMED",
        }
    }

    /// Whether the status is final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Rejected | Status::Canceled | Status::Confirmed
        )
    }
}

/// One notification delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// 1 for the first attempt of a round.
    pub attempt: u32,
    /// The merchant's HTTP status, or `None` when the request failed.
    pub http_status: Option<u16>,
    /// Whether the answer acknowledged the notification.
    pub acknowledged: bool,
}

/// A snapshot of one transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferState {
    /// The emulator's payment id.
    pub payment_id: u64,
    /// The merchant's order id.
    pub order_id: String,
    /// The customer's phone.
    pub phone: u64,
    /// The amount in kopecks.
    pub amount: u64,
    /// The current status: what `checkout` answers.
    pub status: Status,
    /// A status announced in the notification but not yet in force: `Some(CONFIRMED)` from
    /// the moment the code is entered until the merchant answers `OK` (the transfer then
    /// becomes `CONFIRMED`) or the last attempt fails (it then takes
    /// [`Config::with_unacknowledged_status`]).
    pub pending: Option<Status>,
    /// Every delivery attempt of its notifications, in order.
    pub deliveries: Vec<Delivery>,
    /// Whether the merchant acknowledged a notification with `OK`.
    pub acknowledged: bool,
}

impl TransferState {
    /// The status the notification reports: the pending one, if any, else the current one.
    pub fn notified_status(&self) -> Status {
        self.pending.unwrap_or(self.status)
    }

    /// Whether the customer can still enter the code: not final, and nothing pending.
    pub fn is_open(&self) -> bool {
        !self.status.is_final() && self.pending.is_none()
    }
}

/// A receipt registered through the `receipt` method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRecord {
    /// The customer's phone.
    pub phone: u64,
    /// The amount in kopecks.
    pub amount: u64,
    /// `fn`.
    pub fiscal_drive: String,
    /// `fd`.
    pub fiscal_document: String,
    /// `fp`.
    pub fiscal_sign: String,
    /// `pay_date` as sent.
    pub pay_date: String,
    /// `receipt_type`.
    pub receipt_type: u64,
    /// `discount` in kopecks.
    pub discount: u64,
}

#[derive(Default)]
struct Book {
    transfers: HashMap<String, TransferState>,
    by_payment: HashMap<u64, String>,
    receipts: VecDeque<ReceiptRecord>,
    next_payment_id: u64,
    rejected_requests: u64,
    /// Finished transfers' order ids, the oldest first (each once).
    finished: VecDeque<String>,
    finished_set: HashSet<String>,
}

impl Book {
    /// Records that a transfer is finished (if it is final and nothing is pending), and
    /// forgets the oldest finished transfers past `max`.
    fn finish(&mut self, order_id: &str, max: usize) {
        let done = self
            .transfers
            .get(order_id)
            .is_some_and(|t| t.status.is_final() && t.pending.is_none());
        if !done || !self.finished_set.insert(order_id.to_owned()) {
            return;
        }
        self.finished.push_back(order_id.to_owned());
        while self.finished.len() > max {
            let Some(old) = self.finished.pop_front() else {
                break;
            };
            self.finished_set.remove(&old);
            if let Some(t) = self.transfers.remove(&old) {
                self.by_payment.remove(&t.payment_id);
            }
        }
    }

    /// Keeps a receipt, forgetting the oldest past `max`.
    fn keep_receipt(&mut self, receipt: ReceiptRecord, max: usize) {
        self.receipts.push_back(receipt);
        while self.receipts.len() > max {
            self.receipts.pop_front();
        }
    }
}

struct Shared {
    config: Config,
    scale: TimeScale,
    root: OnceLock<String>,
    book: Mutex<Book>,
    changed: Notify,
    notifier: payments_core::HttpClient,
    stop: watch::Receiver<bool>,
    tasks: Mutex<JoinSet<()>>,
}

impl Shared {
    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave the book half-written in a way that
        // matters to an emulator, so a poisoned lock is used as is.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn root(&self) -> &str {
        self.root
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        // Reap finished tasks so the set does not grow without bound.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }
}

/// A running emulator. Dropping it stops the server and the deliveries; [`Emulator::shutdown`]
/// also waits for them.
pub struct Emulator {
    shared: Arc<Shared>,
    server: Option<RunningServer>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("root", &self.shared.root())
            .finish_non_exhaustive()
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The server could not bind.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The notification client could not be built.
    #[error("cannot build the notification client: {0}")]
    Client(#[from] payments_core::Error),
    /// [`Config::with_time_scale`] is out of range.
    #[error(transparent)]
    TimeScale(#[from] InvalidTimeScale),
    /// [`Config::with_notification_url`] is refused.
    #[error("the notification URL is refused: {0}")]
    NotificationUrl(RefusedTarget),
    /// Another setting is invalid.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
}

/// Starts an emulator. The settings are checked first: a time scale out of range, a delivery
/// timeout of zero or above 10 min, a NotificationURL that is not loopback (without
/// [`Config::allow_non_loopback_delivery`]) and an unacknowledged status other than
/// `REJECTED` or `CANCELED` are refused.
pub async fn start(config: Config) -> Result<Emulator, StartError> {
    let scale = TimeScale::new(config.time_scale)?;
    target::check_timeout("delivery_timeout", config.delivery_timeout)
        .map_err(StartError::Config)?;
    if !matches!(
        config.unacknowledged_status,
        Status::Rejected | Status::Canceled
    ) {
        return Err(StartError::Config(format!(
            "unacknowledged_status must be REJECTED or CANCELED, not {}",
            config.unacknowledged_status.as_str()
        )));
    }
    if let Some(url) = &config.notification_url {
        target::check(url, config.allow_non_loopback_delivery)
            .map_err(StartError::NotificationUrl)?;
    }
    let transport = payments_core::HttpTransport::builder()
        .connect_timeout(config.delivery_timeout)
        .build()?;
    let notifier = payments_core::HttpClient::with_transport(Arc::new(transport))
        .with_retry_policy(payments_core::RetryPolicy::never())
        .with_timeouts(
            payments_core::Timeouts::default()
                .with_connect(config.delivery_timeout)
                .with_attempt(config.delivery_timeout)
                .with_total(config.delivery_timeout),
        );
    let (stop, stopped) = watch::channel(false);
    let base_path = format!("/{}", config.base_path.trim_matches('/'));
    let shared = Arc::new(Shared {
        root: OnceLock::new(),
        config: config.clone(),
        scale,
        book: Mutex::new(Book {
            next_payment_id: 1_000_001,
            ..Book::default()
        }),
        changed: Notify::new(),
        notifier,
        stop: stopped,
        tasks: Mutex::new(JoinSet::new()),
    });
    let router = Router::new()
        .route(&format!("{base_path}/{{method}}"), post(api::method))
        .route("/pay/{payment_id}", get(api::form))
        .route("/pay/{payment_id}/confirm", post(api::confirm))
        .with_state(shared.clone());
    let faults = FaultPoint {
        faults: config.faults.clone(),
        provider: Provider::Kupikupi,
    };
    let server = serve_inner(config.addr, router, None, config.limits, Some(faults)).await?;
    // No request can come before the address is known, so the root is set before it is read.
    let _ = shared.root.set(server.base_url());
    Ok(Emulator {
        shared,
        server: Some(server),
        stop,
    })
}

impl Emulator {
    /// The faults injected into this emulator's answers (see [`Faults`]).
    pub fn faults(&self) -> &Faults {
        &self.shared.config.faults
    }

    /// The server's root, `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> &str {
        self.shared.root()
    }

    /// The API base a client uses: `http://127.0.0.1:PORT/api/v1/transfer`.
    pub fn base_url(&self) -> String {
        format!(
            "{}/{}",
            self.shared.root(),
            self.shared.config.base_path.trim_matches('/')
        )
    }

    /// The platform uid clients must send.
    pub fn platform_uid(&self) -> &str {
        &self.shared.config.platform_uid
    }

    /// The secret key of the tokens.
    pub fn secret_key(&self) -> &str {
        &self.shared.config.secret_key
    }

    /// The code the customer enters.
    pub fn confirmation_code(&self) -> &str {
        &self.shared.config.confirmation_code
    }

    /// Every transfer, ordered by payment id.
    pub fn transfers(&self) -> Vec<TransferState> {
        let mut all: Vec<TransferState> = self.shared.book().transfers.values().cloned().collect();
        all.sort_by_key(|t| t.payment_id);
        all
    }

    /// The transfer of an order id.
    pub fn transfer(&self, order_id: &str) -> Option<TransferState> {
        self.shared.book().transfers.get(order_id).cloned()
    }

    /// The receipts registered through `receipt` (the latest [`Config::with_max_finished`]).
    pub fn receipts(&self) -> Vec<ReceiptRecord> {
        self.shared.book().receipts.iter().cloned().collect()
    }

    /// How many API requests were refused (bad body, platform, token, or business error).
    pub fn rejected_requests(&self) -> u64 {
        self.shared.book().rejected_requests
    }

    /// Sends the notification of a transfer in a final status again (a new delivery round), so
    /// that tests can exercise duplicates. The guide does not say whether the real service ever
    /// redelivers a notification. Returns `false` if the transfer is unknown or not final. Call it
    /// within the Tokio runtime the emulator runs on.
    pub fn redeliver(&self, order_id: &str) -> bool {
        let final_status = self
            .shared
            .book()
            .transfers
            .get(order_id)
            .is_some_and(|t| t.status.is_final());
        if final_status {
            notify::schedule(&self.shared, order_id.to_owned());
        }
        final_status
    }

    /// Waits until `check` holds for the transfer of `order_id`, or `timeout` passes. Returns the
    /// last snapshot (if the transfer exists).
    pub async fn wait_for(
        &self,
        order_id: &str,
        timeout: Duration,
        check: impl Fn(&TransferState) -> bool,
    ) -> Option<TransferState> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            let snapshot = self.transfer(order_id);
            if snapshot.as_ref().is_some_and(&check) {
                return snapshot;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.transfer(order_id);
            }
        }
    }

    /// Stops the server and every pending delivery, and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let tasks =
            std::mem::take(&mut *self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        tasks.join_all().await;
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_and_its_last_delay_repeats() {
        let c = Config::default();
        assert_eq!(c.delay(0), Duration::from_secs(15));
        assert_eq!(c.delay(1), Duration::from_secs(60));
        assert_eq!(c.delay(5), Duration::from_secs(3600));
        assert_eq!(c.delay(40), Duration::from_secs(3600));
        let empty = Config {
            retry_schedule: Vec::new(),
            ..Config::default()
        };
        assert_eq!(empty.delay(3), Duration::from_secs(1));
        assert!(Status::Confirmed.is_final() && !Status::FormShowed.is_final());
    }
}
