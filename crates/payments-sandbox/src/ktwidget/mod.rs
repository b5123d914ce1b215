//! A stateful emulator of the Ktpay (KTWidget) merchant widget API.
//!
//! It is an independent implementation of the wire format (it does not use the `ktwidget`
//! client crate):
//!
//! - It owns an X25519 key pair; its public key is the `app_key` a client seals to
//!   ([`Emulator::app_key_base64`]). It opens each request body (standard base64 of a libsodium
//!   sealed box) with it.
//! - It answers in the live envelope `{"error": [], "response": {"success": true, "data": ...}}`
//!   and refuses with `{"success": false, "data": [], "error": {"code", "messages", "validation",
//!   "hint"}}` (or the API reference's envelope, see [`EnvelopeStyle`]):
//!   unknown `Auth-Identifier` → 4010103, missing `Auth-Identifier` → 4220103, a body that does
//!   not open → 4220102, not JSON or no `order` → 4220101, field validation → 4220002 with a
//!   `validation` map (missing fields, amount ≤ 0, more than 2 decimals, `service` missing for
//!   `type=service`, a duplicate `order_id`), an unknown transaction → 5000107, a receipt of an
//!   unpaid transaction → 5000109.
//! - It serves the widget page `GET /payment-card?hash=` (and the acquirer's card form
//!   `GET /acquirer/card-form?hash=`) as an HTML form with a table of [`TEST_CARDS`]; posting it
//!   runs the state machine: `pending → authorized → success → completed`, with an accrual step
//!   between `success` and `completed` for `service` payments, and `error` or `denied` at any
//!   step depending on the card.
//! - On a final status it POSTs the callback to the order's `callback_post_url` exactly as
//!   given (path and query string included), or to [`Config::with_default_callback_url`], and
//!   repeats it on the documented schedule (15 s, 60 s, 3 min, 10 min, 30 min, 60 min)
//!   multiplied by [`Config::with_time_scale`], until the merchant answers HTTP 200 with
//!   `{"status":"ok"}`.
//! - Callbacks go only to loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) unless
//!   [`Config::allow_non_loopback_delivery`] is set: a default URL elsewhere is refused at
//!   start, an order's URL elsewhere is not called and the payment shows
//!   [`Delivery::Refused`] (and a warning is logged).
//! - State is bounded: past [`Config::with_max_finished`] finished payments (final, callback
//!   done), the oldest are forgotten.
//! - It serves `acquirer-options`, a real small PDF receipt, and the provisional status, cancel
//!   and refund endpoints (a refund above the paid amount is refused).
//!
//! ```
//! use payments_sandbox::ktwidget::{self, Config};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = ktwidget::start(Config::default()).await?;
//! assert!(emu.base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(emu.app_key_base64().len(), 44);
//! assert!(emu.payments().is_empty());
//! emu.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod delivery;
mod pdf;
mod widget;
mod wire;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::OsRng;
use crypto_box::SecretKey;
use payments_core::Amount;
use time::OffsetDateTime;

use crate::fault::{Faults, Provider};
use crate::server::{self, FaultPoint, Limits, RunningServer, ServeError};
use crate::target::{self, RefusedTarget};
use crate::time_scale::{InvalidTimeScale, TimeScale};

/// Ktpay's documented callback retry schedule (after the first attempt).
pub const DOCUMENTED_SCHEDULE: [Duration; 6] = [
    Duration::from_secs(15),
    Duration::from_secs(60),
    Duration::from_secs(180),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
];

/// Which envelope the emulator answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnvelopeStyle {
    /// Success: `{"error": [], "response": {"success": true, "data": ...}}` (live examples).
    /// Failure: `{"success": false, "data": [], "error": {"code", "messages": {"error": ..},
    /// "validation", "hint"}}` (PHP SDK, JS README).
    #[default]
    Live,
    /// The API reference: `{"success": true, "payload": ...}` /
    /// `{"success": false, "error": {"code", "message", "validation", "hint"}}`.
    Reference,
}

/// How the emulator behaves. Build it with [`Config::default`] and the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The address to bind (default `127.0.0.1:0`, a free port).
    addr: std::net::SocketAddr,
    /// The merchant's `app_id` (default: random 32 hex digits).
    app_id: String,
    /// The merchant's id at Ktpay, sent in callbacks as `merchant_id` (default 1).
    merchant_id: u64,
    /// The merchant's default `callback_post_url` (from the merchant's settings at Ktpay), used
    /// when an order has none.
    default_callback_url: Option<String>,
    /// The retry schedule after the first callback attempt (default: [`DOCUMENTED_SCHEDULE`]).
    callback_schedule: Vec<Duration>,
    /// Multiplies every scheduled delay; e.g. `0.001` turns 15 s into 15 ms (default 1; from
    /// 0 to 100, see [`TimeScale`], checked by [`start`]).
    time_scale: f64,
    /// The per-attempt timeout of a callback POST (default 10 s; above 0, at most 10 min).
    callback_timeout: Duration,
    /// The envelope style (default [`EnvelopeStyle::Live`]).
    envelope: EnvelopeStyle,
    /// The UTC offset of timestamps, in hours (default +6, Almaty).
    utc_offset_hours: i8,
    /// How long the service accrual step takes, before scaling (default 0).
    accrual_delay: Duration,
    /// Deliver callbacks to hosts that are not loopback (default `false`: only `localhost`,
    /// `127.0.0.0/8` and `::1`; a name other than `localhost` could resolve anywhere).
    allow_non_loopback_delivery: bool,
    /// How many finished payments (final status, callback acknowledged, given up, refused or
    /// not sent) are kept; past it the oldest finished are forgotten (default 10 000).
    max_finished: usize,
    /// The server's limits on request heads and connections.
    limits: Limits,
    /// The faults injected into the server's answers.
    faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            app_id: random_hex(16),
            merchant_id: 1,
            default_callback_url: None,
            callback_schedule: DOCUMENTED_SCHEDULE.to_vec(),
            time_scale: 1.0,
            callback_timeout: Duration::from_secs(10),
            envelope: EnvelopeStyle::Live,
            utc_offset_hours: 6,
            accrual_delay: Duration::ZERO,
            allow_non_loopback_delivery: false,
            max_finished: crate::DEFAULT_MAX_FINISHED,
            limits: Limits::default(),
            faults: Faults::new(),
        }
    }
}

impl Config {
    /// Sets the address to bind (default `127.0.0.1:0`, a free port).
    pub fn with_addr(mut self, addr: std::net::SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets the merchant's id at Ktpay, sent in callbacks as `merchant_id` (default 1).
    pub fn with_merchant_id(mut self, merchant_id: u64) -> Self {
        self.merchant_id = merchant_id;
        self
    }

    /// The merchant's id at Ktpay, sent in callbacks as `merchant_id`.
    pub fn merchant_id(&self) -> u64 {
        self.merchant_id
    }

    /// Sets the retry schedule after the first callback attempt (default:
    /// [`DOCUMENTED_SCHEDULE`]).
    pub fn with_callback_schedule(mut self, schedule: impl Into<Vec<Duration>>) -> Self {
        self.callback_schedule = schedule.into();
        self
    }

    /// Sets the per-attempt timeout of a callback POST (default 10 s; above 0, at most
    /// 10 min, checked by [`start`]).
    pub fn with_callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Sets the UTC offset of timestamps, in hours (default +6, Almaty).
    pub fn with_utc_offset_hours(mut self, hours: i8) -> Self {
        self.utc_offset_hours = hours;
        self
    }

    /// Sets how long the service accrual step takes, before scaling (default 0).
    pub fn with_accrual_delay(mut self, delay: Duration) -> Self {
        self.accrual_delay = delay;
        self
    }

    /// Shares a fault table with other emulators (by default each emulator has its own; see
    /// [`Emulator::faults`]).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the time scale of the callback schedule (default 1; from 0 to 100, see
    /// [`TimeScale`], checked by [`start`]); e.g. `0.001` turns 15 s into 15 ms.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the merchant's default `callback_post_url` (from the merchant's settings at
    /// Ktpay), used when an order has none.
    pub fn with_default_callback_url(mut self, url: impl Into<String>) -> Self {
        self.default_callback_url = Some(url.into());
        self
    }

    /// Sets the envelope style.
    pub fn with_envelope(mut self, style: EnvelopeStyle) -> Self {
        self.envelope = style;
        self
    }

    /// Sets the app id.
    pub fn with_app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// Allows callbacks to hosts that are not loopback (by default they go only to `localhost`,
    /// `127.0.0.0/8` and `::1`).
    pub fn allow_non_loopback_delivery(mut self) -> Self {
        self.allow_non_loopback_delivery = true;
        self
    }

    /// Sets how many finished payments are kept.
    pub fn with_max_finished(mut self, max: usize) -> Self {
        self.max_finished = max;
        self
    }

    /// Sets the server's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// What a test card does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardOutcome {
    /// Authorised and paid: `completed` (with the accrual step for `service`).
    Success,
    /// Declined by the acquirer at authorisation: `error` / `ERROR_PAYMENT`.
    Decline,
    /// Denied at authorisation: `denied` / `ERROR_SYSTEM`.
    Denied,
    /// Fails after `success`: a `service` payment is `denied` at the accrual step, an `ecom`
    /// payment ends in `error` at clearing (`ERROR_SYSTEM`).
    FailAfterSuccess,
}

/// A test card of the emulator's card form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestCard {
    /// The card number (any expiry date and CVC are accepted).
    pub number: &'static str,
    /// What it does.
    pub outcome: CardOutcome,
    /// A description for the card table.
    pub label: &'static str,
}

/// The success card.
pub const CARD_SUCCESS: &str = "4111111111111111";
/// The card the acquirer declines (`error`).
pub const CARD_DECLINE: &str = "4000000000000002";
/// The card that is denied (`denied`).
pub const CARD_DENIED: &str = "4000000000000069";
/// The card that fails after `success` (accrual or clearing).
pub const CARD_FAIL_AFTER_SUCCESS: &str = "4000000000000119";

/// The emulator's test cards. Any other number is refused as invalid card data and the form is
/// shown again (the payment stays `pending`).
pub const TEST_CARDS: [TestCard; 4] = [
    TestCard {
        number: CARD_SUCCESS,
        outcome: CardOutcome::Success,
        label: "success: completed",
    },
    TestCard {
        number: CARD_DECLINE,
        outcome: CardOutcome::Decline,
        label: "decline: error (ERROR_PAYMENT, KKB rejected payment)",
    },
    TestCard {
        number: CARD_DENIED,
        outcome: CardOutcome::Denied,
        label: "denied (ERROR_SYSTEM)",
    },
    TestCard {
        number: CARD_FAIL_AFTER_SUCCESS,
        outcome: CardOutcome::FailAfterSuccess,
        label: "fails after success: denied at accrual (service) or error at clearing (ecom)",
    },
];

/// `ecom` or `service`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `type = ecom`.
    Ecom,
    /// `type = service`.
    Service {
        /// `service.service_id`.
        service_id: u64,
        /// `service.contract_value`.
        contract_value: String,
    },
}

/// Where the callback of a payment stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The payment is not final yet.
    NotDue,
    /// Final, but neither the order nor the merchant has a callback URL.
    NoUrl,
    /// Being delivered (attempts so far are in [`Payment::attempts`]).
    InProgress,
    /// The merchant answered `{"status":"ok"}`.
    Acknowledged,
    /// Every scheduled attempt failed.
    GaveUp,
    /// The callback URL was not called: its host is not loopback (and
    /// [`Config::allow_non_loopback_delivery`] is not set), or it is not an http(s) URL.
    Refused(RefusedTarget),
}

/// The outcome of one callback attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// HTTP 200 with `{"status":"ok"}`.
    Acknowledged,
    /// Any other answer.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// No answer (connect error, timeout).
    Failed(String),
}

/// One callback attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackAttempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// Where it was sent.
    pub url: String,
    /// The delay before it, as scheduled (after scaling).
    pub delay: Duration,
    /// What happened.
    pub outcome: AttemptOutcome,
}

/// A payment as the emulator holds it (a snapshot).
#[derive(Clone, Debug)]
pub struct Payment {
    /// `transaction_hash`.
    pub transaction_hash: String,
    /// `order_id`.
    pub order_id: String,
    /// `amount`.
    pub amount: Amount,
    /// `type` and `service`.
    pub kind: Kind,
    /// `description`.
    pub description: Option<String>,
    /// The callback and redirect URLs sent, by wire name.
    pub urls: HashMap<String, String>,
    /// `show_close_button` (default true).
    pub show_close_button: bool,
    /// The `user` object, as sent.
    pub user: Option<serde_json::Value>,
    /// The current status (`pending`, `authorized`, `success`, `completed`, `error`, `denied`).
    pub status: String,
    /// Every step taken, in order; `accrual` marks the service accrual step.
    pub history: Vec<String>,
    /// `(error_type, error_message)` for `error` and `denied`.
    pub error: Option<(String, String)>,
    /// The card used.
    pub card: Option<String>,
    /// The amount refunded so far.
    pub refunded: Amount,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When the current status was set.
    pub status_created_at: OffsetDateTime,
    /// The callback's delivery state.
    pub delivery: Delivery,
    /// Every callback attempt.
    pub attempts: Vec<CallbackAttempt>,
}

impl Payment {
    /// Moves a payment to `status`, recording the step.
    pub(crate) fn set_status(
        &mut self,
        status: &str,
        error: Option<(&str, &str)>,
        now: OffsetDateTime,
    ) {
        self.status = status.to_owned();
        self.history.push(status.to_owned());
        self.status_created_at = now;
        self.error = error.map(|(t, m)| (t.to_owned(), m.to_owned()));
    }

    /// Whether the status is final.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "error" | "denied")
    }
}

#[derive(Default)]
struct State {
    payments: HashMap<String, Payment>,
    by_order: HashMap<String, String>,
    /// Finished payments' hashes, the oldest first.
    finished: VecDeque<String>,
}

impl State {
    /// Records that a payment is finished (final, callback done), and forgets the oldest
    /// finished payments past `max`.
    fn finish(&mut self, hash: &str, max: usize) {
        self.finished.push_back(hash.to_owned());
        while self.finished.len() > max {
            let Some(old) = self.finished.pop_front() else {
                break;
            };
            if let Some(p) = self.payments.remove(&old) {
                if self.by_order.get(&p.order_id) == Some(&old) {
                    self.by_order.remove(&p.order_id);
                }
            }
        }
    }
}

pub(crate) struct Shared {
    config: Config,
    scale: TimeScale,
    secret: SecretKey,
    base_url: OnceLock<String>,
    state: Mutex<State>,
    http: payments_core::HttpClient,
    offset: time::UtcOffset,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to an emulator; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc().to_offset(self.offset);
        now.replace_nanosecond(0).unwrap_or(now)
    }

    fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The server could not bind.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The callback HTTP client could not be built.
    #[error("the callback client could not be built: {0}")]
    Client(#[from] payments_core::Error),
    /// The configuration is invalid.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// [`Config::with_time_scale`] is out of range.
    #[error(transparent)]
    TimeScale(#[from] InvalidTimeScale),
    /// [`Config::with_default_callback_url`] is refused.
    #[error("the default callback URL is refused: {0}")]
    CallbackUrl(RefusedTarget),
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    server: Option<RunningServer>,
    shared: Arc<Shared>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Stops pending callback deliveries; dropping the server stops it.
        let _ = self.shared.stop.send(true);
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url())
            .field("app_id", &self.shared.config.app_id)
            .finish_non_exhaustive()
    }
}

/// Starts an emulator on [`Config::with_addr`] (default `127.0.0.1:0`).
pub async fn start(config: Config) -> Result<Emulator, StartError> {
    if config.app_id.trim().is_empty() {
        return Err(StartError::Config("app_id must not be empty".into()));
    }
    let offset = time::UtcOffset::from_hms(config.utc_offset_hours, 0, 0)
        .map_err(|e| StartError::Config(format!("utc_offset_hours: {e}")))?;
    let scale = TimeScale::new(config.time_scale)?;
    target::check_timeout("callback_timeout", config.callback_timeout)
        .map_err(StartError::Config)?;
    if let Some(url) = &config.default_callback_url {
        target::check(url, config.allow_non_loopback_delivery).map_err(StartError::CallbackUrl)?;
    }
    let transport = payments_core::HttpTransport::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let http = payments_core::HttpClient::with_transport(Arc::new(transport))
        .with_retry_policy(payments_core::RetryPolicy::default().with_max_attempts(1))
        .with_timeouts(
            payments_core::Timeouts::default()
                .with_attempt(config.callback_timeout)
                .with_total(config.callback_timeout),
        );
    let addr = config.addr;
    let limits = config.limits;
    let faults = FaultPoint {
        faults: config.faults.clone(),
        provider: Provider::Ktwidget,
    };
    let shared = Arc::new(Shared {
        secret: SecretKey::generate(&mut OsRng),
        config,
        scale,
        base_url: OnceLock::new(),
        state: Mutex::new(State::default()),
        http,
        offset,
        stop: tokio::sync::watch::Sender::new(false),
    });
    let router = api::router(shared.clone()).merge(widget::router(shared.clone()));
    let server = server::serve_inner(addr, router, None, limits, Some(faults)).await?;
    let _ = shared.base_url.set(server.base_url());
    Ok(Emulator {
        server: Some(server),
        shared,
    })
}

impl Emulator {
    /// `http://127.0.0.1:PORT`: both the API base and the widget base.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// The faults injected into this emulator's answers (see [`Faults`]).
    pub fn faults(&self) -> &Faults {
        &self.shared.config.faults
    }

    /// The merchant's `app_id`.
    pub fn app_id(&self) -> &str {
        &self.shared.config.app_id
    }

    /// The emulator's public key in standard padded base64: the `app_key` to seal to.
    pub fn app_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.shared.secret.public_key().as_bytes())
    }

    /// Opens a sealed box (standard base64) with the emulator's key (for tests of sealing).
    pub fn open_sealed(&self, body: &str) -> Option<Vec<u8>> {
        api::open_body(&self.shared, body.as_bytes()).ok()
    }

    /// A snapshot of a payment by its transaction hash.
    pub fn payment(&self, transaction_hash: &str) -> Option<Payment> {
        self.shared.lock().payments.get(transaction_hash).cloned()
    }

    /// A snapshot of a payment by its `order_id`.
    pub fn payment_by_order(&self, order_id: &str) -> Option<Payment> {
        let state = self.shared.lock();
        let hash = state.by_order.get(order_id)?;
        state.payments.get(hash).cloned()
    }

    /// Snapshots of every payment.
    pub fn payments(&self) -> Vec<Payment> {
        self.shared.lock().payments.values().cloned().collect()
    }

    /// Pays a pending payment with a card, as the HTML form does (without HTTP). Returns the
    /// status reached, or why the card was refused.
    pub fn pay(&self, transaction_hash: &str, card_number: &str) -> Result<String, String> {
        widget::pay(&self.shared, transaction_hash, card_number).map_err(|e| e.to_string())
    }

    /// Waits until `f` holds for the payment (polling every 5 ms), or `timeout` passes.
    pub async fn wait_for(
        &self,
        transaction_hash: &str,
        timeout: Duration,
        f: impl Fn(&Payment) -> bool,
    ) -> Option<Payment> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(p) = self.payment(transaction_hash) {
                if f(&p) {
                    return Some(p);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until the payment's callback is acknowledged, given up, refused or not due for
    /// want of a URL.
    pub async fn wait_for_delivery(
        &self,
        transaction_hash: &str,
        timeout: Duration,
    ) -> Option<Payment> {
        self.wait_for(transaction_hash, timeout, |p| {
            matches!(
                p.delivery,
                Delivery::Acknowledged | Delivery::GaveUp | Delivery::NoUrl | Delivery::Refused(_)
            )
        })
        .await
    }

    /// Stops the server.
    pub async fn shutdown(mut self) {
        let _ = self.shared.stop.send(true);
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
