//! A Smart Pay / KD Pay cashier API emulator.
//!
//! It serves the API over TLS and **requires a client certificate**: at start it makes a CA, a
//! server certificate (for `localhost` and `127.0.0.1`) and a kassa client certificate with
//! rcgen, and exports them ([`Emulator::certificates`], with
//! [`Certificates::write_to_dir`] for tools that want files). `/v1/auth` checks a kassa's login
//! and password and sets the `kassa_session` cookie, which every purchase and refund call must
//! send; its lifetime is configurable, and [`Emulator::expire_sessions`] ends every
//! session at once.
//!
//! The state machine:
//! - a QR code can be committed once; committing it at another kassa (or under another
//!   `kassa_purchase_id`) is refused with 409 `code_already_committed`. A replayed commit (the
//!   same code, kassa and `kassa_purchase_id`) returns the same purchase;
//! - a committed purchase that is never released expires after [`Config::with_commit_ttl`]
//!   (default 15 min) and reports `expired`; releasing it is refused (409 `purchase_expired`);
//! - release moves `committed` to `processing`, then after the processing delay to `success` or
//!   `declined` (or, for [`Outcome::Slow`], nowhere until the kassa cancels);
//! - the kassa status `cancel` cancels a purchase that is not final, or a success the kassa has
//!   not confirmed and that has no refund processing or paid (so a customer is never paid back
//!   twice); `success` is accepted only for a successful purchase and *confirms* it;
//! - a refund is accepted only for a confirmed purchase (the guide: "ранее завершен в статусе
//!   Успешен"; otherwise 409 `purchase_not_successful` or `purchase_not_confirmed`), and the
//!   refunds (processing and successful) may not exceed its amount (409
//!   `refund_exceeds_purchase`). A replayed refund (the same `kassa_refund_id` at the same
//!   kassa, for the same purchase and amount) returns the same refund;
//! - a v1 fiscal receipt is accepted only for a confirmed purchase; a v2 receipt for any (the
//!   guide: a receipt may be sent however the purchase was paid); both are stored;
//! - state is bounded: past [`Config::with_max_finished`] finished purchases (declined, cancelled,
//!   expired, or confirmed with no refund processing) the oldest are forgotten with their
//!   refunds and QR codes, receipts past the same number too, and sessions past
//!   [`Config::with_max_sessions`].
//!
//! Errors are `{"code", "message"}` with a 4xx status; `/v1/error_answers` lists them all.
//! Ids and amounts are accepted as JSON numbers or strings.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use payments_sandbox::smartpay::{self, Config};
//!
//! let emulator = smartpay::start(Config::default()).await?;
//! assert!(emulator.base_url().starts_with("https://localhost:"));
//! assert!(emulator.certificates().ca_pem.contains("BEGIN CERTIFICATE"));
//! let (login, _password) = emulator.credentials();
//! assert_eq!(login, "kassa-0001");
//! assert!(emulator.purchases().is_empty());
//! # Ok(())
//! # }
//! ```

mod certs;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::time::Instant;

pub use certs::{CertError, CertificatePaths, Certificates};
use state::{refusal, Refusal, State};
pub use state::{Outcome, PurchaseView, ReceiptView, RefundView};

use crate::fault::{Faults, Provider};
use crate::server::{serve_inner, FaultPoint, Limits, RunningServer, ServeError};

/// The auth cookie's name.
pub const COOKIE_NAME: &str = "kassa_session";

/// How long a committed purchase waits for its release by default: 15 minutes.
pub const DEFAULT_COMMIT_TTL: Duration = Duration::from_secs(15 * 60);

/// How the emulator starts. Build it with [`Config::default`] and the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The address to bind (default `127.0.0.1:0`, a free port).
    addr: std::net::SocketAddr,
    /// The kassas that may authenticate: `(login, password)`. Default: `kassa-0001` and
    /// `kassa-0002`.
    kassas: Vec<(String, String)>,
    /// How long an auth cookie lives. Default 1 hour.
    cookie_lifetime: Duration,
    /// How long a released purchase or a refund stays `processing`. Default 50 ms.
    processing: Duration,
    /// What released purchases turn into (see also [`Emulator::set_outcome_for`]).
    outcome: Outcome,
    /// What refunds turn into.
    refund_outcome: Outcome,
    /// How long a committed purchase waits for its release before it expires. Default 15 min.
    commit_ttl: Duration,
    /// How many finished purchases (and receipts) are kept. Default 10 000.
    max_finished: usize,
    /// How many sessions are kept; past it the one that expires first ends. Default 1000.
    max_sessions: usize,
    /// The server's limits on request heads and connections.
    limits: Limits,
    /// The faults injected into the server's answers.
    faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            kassas: vec![
                ("kassa-0001".into(), "kassa-password-1".into()),
                ("kassa-0002".into(), "kassa-password-2".into()),
            ],
            cookie_lifetime: Duration::from_secs(3600),
            processing: Duration::from_millis(50),
            outcome: Outcome::Success,
            refund_outcome: Outcome::Success,
            commit_ttl: DEFAULT_COMMIT_TTL,
            max_finished: crate::DEFAULT_MAX_FINISHED,
            max_sessions: 1000,
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

    /// Sets the kassas that may authenticate, as `(login, password)` (default `kassa-0001`
    /// and `kassa-0002`).
    pub fn with_kassas<L, P>(mut self, kassas: impl IntoIterator<Item = (L, P)>) -> Self
    where
        L: Into<String>,
        P: Into<String>,
    {
        self.kassas = kassas
            .into_iter()
            .map(|(l, p)| (l.into(), p.into()))
            .collect();
        self
    }

    /// Sets how long an auth cookie lives (default 1 hour).
    pub fn with_cookie_lifetime(mut self, lifetime: Duration) -> Self {
        self.cookie_lifetime = lifetime;
        self
    }

    /// Sets how long a released purchase or a refund stays `processing` (default 50 ms).
    pub fn with_processing(mut self, processing: Duration) -> Self {
        self.processing = processing;
        self
    }

    /// Sets what released purchases turn into (default [`Outcome::Success`]; see also
    /// [`Emulator::set_outcome_for`]).
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Sets what refunds turn into (default [`Outcome::Success`]).
    pub fn with_refund_outcome(mut self, outcome: Outcome) -> Self {
        self.refund_outcome = outcome;
        self
    }

    /// Sets how long a committed purchase waits for its release before it expires (default
    /// [`DEFAULT_COMMIT_TTL`]).
    pub fn with_commit_ttl(mut self, ttl: Duration) -> Self {
        self.commit_ttl = ttl;
        self
    }

    /// Sets how many finished purchases (and receipts) are kept (default 10 000).
    pub fn with_max_finished(mut self, max: usize) -> Self {
        self.max_finished = max;
        self
    }

    /// Sets how many sessions are kept; past it the one that expires first ends (default
    /// 1000).
    pub fn with_max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
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
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The certificates or the TLS configuration.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// The server.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

#[derive(Clone)]
struct App {
    state: Arc<Mutex<State>>,
    kassas: Arc<Vec<(String, String)>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    server: RunningServer,
    certs: Certificates,
    app: App,
    faults: Faults,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("App")
    }
}

/// Starts the emulator on [`Config::with_addr`] (default `127.0.0.1:0`) over TLS with client-certificate checks.
pub async fn start(config: Config) -> Result<Emulator, StartError> {
    let addr = config.addr;
    let certs = Certificates::generate()?;
    let tls = certs.server_config()?;
    let state = State {
        outcome: config.outcome,
        refund_outcome: config.refund_outcome,
        processing: config.processing,
        cookie_lifetime: config.cookie_lifetime,
        commit_ttl: config.commit_ttl,
        max_finished: config.max_finished,
        max_sessions: config.max_sessions,
        ..State::default()
    };
    let app = App {
        state: Arc::new(Mutex::new(state)),
        kassas: Arc::new(config.kassas),
    };
    let router = Router::new()
        .route("/v1/auth", post(auth))
        .route("/v1/ping", get(ping))
        .route("/v1/error_answers", get(error_answers))
        .route("/v1/purchase/code/commit", post(commit))
        .route("/v1/purchase/release", post(release))
        .route("/v1/purchase/status", post(purchase_status))
        .route("/v1/purchase/kassa/status", post(purchase_kassa_status))
        .route("/v1/purchase/fiscal", post(fiscal_v1))
        .route("/v2/purchase/fiscal", post(fiscal_v2))
        .route("/v1/purchase/refund", post(refund))
        .route("/v1/purchase/refund/status", post(refund_status))
        .route(
            "/v1/purchase/refund/kassa/status",
            post(refund_kassa_status),
        )
        .with_state(app.clone());
    let faults = FaultPoint {
        faults: config.faults.clone(),
        provider: Provider::Smartpay,
    };
    let server = serve_inner(addr, router, Some(tls), config.limits, Some(faults.clone())).await?;
    Ok(Emulator {
        server,
        certs,
        app,
        faults: faults.faults,
    })
}

impl Emulator {
    /// The faults injected into this emulator's answers (see [`Faults`]).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// `https://localhost:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The CA, server and client certificates.
    pub fn certificates(&self) -> &Certificates {
        &self.certs
    }

    /// The first kassa's `(login, password)`.
    pub fn credentials(&self) -> (&str, &str) {
        self.app
            .kassas
            .first()
            .map(|(l, p)| (l.as_str(), p.as_str()))
            .unwrap_or(("", ""))
    }

    /// Every kassa's `(login, password)`.
    pub fn kassas(&self) -> &[(String, String)] {
        &self.app.kassas
    }

    /// Ends every session now: the next authenticated call gets a 401.
    pub fn expire_sessions(&self) {
        lock(&self.app.state).sessions.clear();
    }

    /// The cookie values of the sessions alive now (redacted in `Debug`; for tests that check
    /// a cookie never leaks into logs).
    pub fn session_cookies(&self) -> Vec<payments_core::Secret> {
        lock(&self.app.state)
            .sessions
            .keys()
            .map(|k| payments_core::Secret::from(k.as_str()))
            .collect()
    }

    /// Sets the cookie lifetime for sessions created from now on.
    pub fn set_cookie_lifetime(&self, lifetime: Duration) {
        lock(&self.app.state).cookie_lifetime = lifetime;
    }

    /// Sets what purchases committed from now on turn into.
    pub fn set_outcome(&self, outcome: Outcome) {
        lock(&self.app.state).outcome = outcome;
    }

    /// Sets the outcome for purchases of one loyalty id (committed from now on).
    pub fn set_outcome_for(&self, id_loyalty: &str, outcome: Outcome) {
        lock(&self.app.state)
            .outcome_for
            .insert(id_loyalty.to_owned(), outcome);
    }

    /// Sets what refunds requested from now on turn into.
    pub fn set_refund_outcome(&self, outcome: Outcome) {
        lock(&self.app.state).refund_outcome = outcome;
    }

    /// How many successful `/v1/auth` calls were made.
    pub fn auth_calls(&self) -> u64 {
        lock(&self.app.state).auth_calls
    }

    /// A purchase, by the service's id.
    pub fn purchase(&self, purchase_id: &str) -> Option<PurchaseView> {
        let mut s = lock(&self.app.state);
        s.settle(Instant::now());
        s.purchases.get(purchase_id).map(|p| p.view.clone())
    }

    /// Every purchase, by id.
    pub fn purchases(&self) -> Vec<PurchaseView> {
        let mut s = lock(&self.app.state);
        s.settle(Instant::now());
        let mut v: Vec<_> = s.purchases.values().map(|p| p.view.clone()).collect();
        v.sort_by(|a, b| a.purchase_id.cmp(&b.purchase_id));
        v
    }

    /// Every refund, by id.
    pub fn refunds(&self) -> Vec<RefundView> {
        let mut s = lock(&self.app.state);
        s.settle(Instant::now());
        let mut v: Vec<_> = s.refunds.values().map(|r| r.view.clone()).collect();
        v.sort_by(|a, b| a.refund_id.cmp(&b.refund_id));
        v
    }

    /// Every stored fiscal receipt, in arrival order.
    pub fn receipts(&self) -> Vec<ReceiptView> {
        lock(&self.app.state).receipts.clone()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn error_response((status, code, message): Refusal) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn parse(body: &Bytes) -> Result<serde_json::Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(refusal(400, "bad_request", "the body is not a JSON object")),
    }
}

/// A string or a number, as text.
fn text(m: &serde_json::Map<String, Value>, field: &str) -> Result<String, Refusal> {
    match m.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(refusal(
            400,
            "bad_request",
            format!("`{field}` is missing or not a string"),
        )),
    }
}

/// A non-negative integer, or a string of digits.
fn amount(m: &serde_json::Map<String, Value>, field: &str) -> Result<u64, Refusal> {
    let bad = || {
        refusal(
            400,
            "invalid_amount",
            format!("`{field}` must be an integer number of kopecks"),
        )
    };
    match m.get(field) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// Base64 in either alphabet, padded or not, with line breaks allowed (a QR scanner may keep
/// them, and the client sends the code as scanned).
fn b64_ok(s: &str) -> bool {
    s.bytes().any(|b| !b.is_ascii_whitespace())
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || b.is_ascii_whitespace()
                || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
        })
}

/// Validates a QR object; returns `(id_loyalty, key)` where the key identifies the code.
fn qr(m: &serde_json::Map<String, Value>) -> Result<(String, String), Refusal> {
    let Some(Value::Object(q)) = m.get("qr") else {
        return Err(refusal(
            400,
            "invalid_qr",
            "`qr` is missing or not an object",
        ));
    };
    let id = text(q, "id_loyalty").map_err(|_| refusal(400, "invalid_qr", "bad id_loyalty"))?;
    let enc = text(q, "encrypted").map_err(|_| refusal(400, "invalid_qr", "bad encrypted"))?;
    let sign = text(q, "sign").map_err(|_| refusal(400, "invalid_qr", "bad sign"))?;
    if !b64_ok(&enc) || !b64_ok(&sign) {
        return Err(refusal(
            400,
            "invalid_qr",
            "encrypted and sign must be base64",
        ));
    }
    // One key per code, whatever the alphabet, padding or line breaks it was scanned with.
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .trim_end_matches('=')
            .replace('-', "+")
            .replace('_', "/")
    };
    Ok((id, format!("{}.{}", norm(&enc), norm(&sign))))
}

/// The kassa of a valid session cookie.
fn session(app: &App, headers: &HeaderMap) -> Result<String, Refusal> {
    let unauthorized = || refusal(401, "unauthorized", "missing or expired auth cookie");
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME).then(|| value.to_owned())
        })
        .ok_or_else(unauthorized)?;
    let mut s = lock(&app.state);
    let now = Instant::now();
    s.sessions
        .retain(|_, (_, expiry)| expiry.is_none_or(|e| e > now));
    s.sessions
        .get(&token)
        .map(|(kassa, _)| kassa.clone())
        .ok_or_else(unauthorized)
}

async fn auth(AxState(app): AxState<App>, body: Bytes) -> Response {
    let result = (|| {
        let m = parse(&body)?;
        let login = text(&m, "login")?;
        let password = text(&m, "password")?;
        let known = app.kassas.iter().any(|(l, p)| {
            // Both compared in constant time, and both always compared.
            let l_ok = payments_core::secret::ct_eq(l.as_bytes(), login.as_bytes());
            let p_ok = payments_core::secret::ct_eq(p.as_bytes(), password.as_bytes());
            l_ok & p_ok
        });
        if !known {
            return Err(refusal(
                401,
                "invalid_credentials",
                "wrong login or password",
            ));
        }
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let mut s = lock(&app.state);
        let lifetime = s.cookie_lifetime;
        s.add_session(token.clone(), login.clone(), Instant::now());
        s.auth_calls += 1;
        Ok((token, login, lifetime))
    })();
    match result {
        Ok((token, login, lifetime)) => {
            let mut resp = ok(json!({ "kassa_id": login, "expires_in": lifetime.as_secs() }));
            if let Ok(v) =
                HeaderValue::from_str(&format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; Secure"))
            {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => error_response(e),
    }
}

async fn ping() -> Response {
    ok(json!({ "status": "ok" }))
}

async fn error_answers() -> Response {
    let errors: Vec<Value> = state::ERROR_ANSWERS
        .iter()
        .map(|(code, status, message)| json!({"code": code, "http_status": status, "message": message}))
        .collect();
    ok(json!({ "errors": errors }))
}

/// Runs an authenticated handler body.
fn authed(
    app: &App,
    headers: &HeaderMap,
    body: &Bytes,
    f: impl FnOnce(&mut State, &str, &serde_json::Map<String, Value>) -> Result<Value, Refusal>,
) -> Response {
    let result = session(app, headers).and_then(|kassa| {
        let m = parse(body)?;
        let mut s = lock(&app.state);
        s.settle(Instant::now());
        f(&mut s, &kassa, &m)
    });
    match result {
        Ok(v) => ok(v),
        Err(e) => error_response(e),
    }
}

async fn commit(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let (id_loyalty, key) = qr(m)?;
        let kassa_purchase_id = text(m, "kassa_purchase_id")?;
        let p = s.commit(kassa, key, id_loyalty, kassa_purchase_id, Instant::now())?;
        Ok(json!({ "purchase_id": p.purchase_id, "status": p.status }))
    })
}

async fn release(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "purchase_id")?;
        let amount = amount(m, "amount")?;
        let p = s.release(kassa, &id, amount, Instant::now())?;
        Ok(json!({ "purchase_id": p.purchase_id, "status": p.status }))
    })
}

fn purchase_json(p: &PurchaseView) -> Value {
    let mut v = json!({
        "purchase_id": p.purchase_id,
        "kassa_purchase_id": p.kassa_purchase_id,
        "status": p.status,
        "refunded_amount": p.refunded,
    });
    if let Some(a) = p.amount {
        v["amount"] = json!(a);
    }
    if p.status == "declined" {
        v["reason"] = json!("declined by the customer's bank (sandbox)");
    }
    v
}

async fn purchase_status(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "purchase_id")?;
        Ok(purchase_json(&s.purchase_mut(kassa, &id)?.view))
    })
}

async fn purchase_kassa_status(
    AxState(app): AxState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "purchase_id")?;
        let status = text(m, "status")?;
        let p = s.kassa_status(kassa, &id, &status)?;
        Ok(json!({ "purchase_id": p.purchase_id, "status": p.status }))
    })
}

async fn fiscal_v1(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "purchase_id")?;
        text(m, "kassa_reg_number")?;
        text(m, "fiscal_sign")?;
        s.confirmed_purchase(kassa, &id)?;
        let receipt_id = s.new_id("r");
        s.receipts.push(ReceiptView {
            receipt_id: receipt_id.clone(),
            version: 1,
            kassa: kassa.to_owned(),
            body: Value::Object(m.clone()),
        });
        Ok(json!({ "receipt_id": receipt_id }))
    })
}

async fn fiscal_v2(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        qr(m)?;
        let Some(Value::Object(receipt)) = m.get("receipt") else {
            return Err(refusal(400, "bad_request", "`receipt` is missing"));
        };
        text(receipt, "kassa_reg_number")?;
        text(receipt, "fiscal_sign")?;
        amount(receipt, "total")?;
        if !matches!(receipt.get("items"), Some(Value::Array(_))) {
            return Err(refusal(400, "bad_request", "`receipt.items` is missing"));
        }
        if m.get("purchase_id").is_some() {
            let id = text(m, "purchase_id")?;
            s.purchase_mut(kassa, &id)?;
        }
        let receipt_id = s.new_id("r");
        s.receipts.push(ReceiptView {
            receipt_id: receipt_id.clone(),
            version: 2,
            kassa: kassa.to_owned(),
            body: Value::Object(m.clone()),
        });
        Ok(json!({ "receipt_id": receipt_id }))
    })
}

async fn refund(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "purchase_id")?;
        let kassa_refund_id = text(m, "kassa_refund_id")?;
        let amount = amount(m, "amount")?;
        let r = s.refund(kassa, &id, kassa_refund_id, amount, Instant::now())?;
        Ok(json!({ "refund_id": r.refund_id, "status": r.status }))
    })
}

fn refund_json(r: &RefundView) -> Value {
    let mut v = json!({
        "refund_id": r.refund_id,
        "purchase_id": r.purchase_id,
        "kassa_refund_id": r.kassa_refund_id,
        "amount": r.amount,
        "status": r.status,
    });
    if r.status == "declined" {
        v["reason"] = json!("refund declined (sandbox)");
    }
    v
}

async fn refund_status(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "refund_id")?;
        Ok(refund_json(&s.refund_mut(kassa, &id)?.view))
    })
}

async fn refund_kassa_status(
    AxState(app): AxState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authed(&app, &headers, &body, |s, kassa, m| {
        let id = text(m, "refund_id")?;
        let status = text(m, "status")?;
        let r = s.refund_kassa_status(kassa, &id, &status)?;
        Ok(json!({ "refund_id": r.refund_id, "status": r.status }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> serde_json::Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn lenient_about_json_types() {
        let m = map(json!({"id": 17, "s": "x", "a": "250", "b": 250, "neg": -1, "f": 2.5}));
        assert_eq!(text(&m, "id").unwrap(), "17");
        assert_eq!(text(&m, "s").unwrap(), "x");
        assert!(text(&m, "missing").is_err());
        assert_eq!(amount(&m, "a").unwrap(), 250);
        assert_eq!(amount(&m, "b").unwrap(), 250);
        assert!(amount(&m, "neg").is_err());
        assert!(amount(&m, "f").is_err());
    }

    fn a_again() -> (String, String) {
        qr(&map(
            json!({"qr": {"id_loyalty": "1", "encrypted": "+/8=", "sign": "AQI="}}),
        ))
        .unwrap()
    }

    #[test]
    fn qr_keys_ignore_the_base64_flavour() {
        let a = qr(&map(
            json!({"qr": {"id_loyalty": 1, "encrypted": "+/8=", "sign": "AQI="}}),
        ));
        let b = qr(&map(
            json!({"qr": {"id_loyalty": "1", "encrypted": "-_8", "sign": "AQI"}}),
        ));
        assert_eq!(a.unwrap(), b.unwrap());
        // Line breaks kept by a scanner are part of base64 as scanned, and name the same code.
        let wrapped = qr(&map(
            json!({"qr": {"id_loyalty": "1", "encrypted": "+/\n8=", "sign": "AQ\r\nI="}}),
        ));
        assert_eq!(wrapped.unwrap(), a_again());
        assert!(qr(&map(
            json!({"qr": {"id_loyalty": "1", "encrypted": "\n", "sign": "AQI="}})
        ))
        .is_err());
        assert!(qr(&map(
            json!({"qr": {"id_loyalty": "1", "encrypted": "%", "sign": "A"}})
        ))
        .is_err());
        assert!(qr(&map(json!({}))).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn certificate_files_are_created_exclusively_never_through_a_link() {
        let certs = Certificates::generate().unwrap();
        let dir = std::env::temp_dir().join(format!(
            "sandbox-smartpay-excl-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir(&dir).unwrap();
        // A link planted where the key goes, pointing at a file of the attacker's choice.
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("client.key")).unwrap();
        let err = certs.write_to_dir(&dir).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        // A dangling link is not followed either.
        std::fs::remove_file(dir.join("client.key")).unwrap();
        std::fs::remove_file(dir.join("ca.pem")).unwrap();
        std::fs::remove_file(dir.join("client.pem")).unwrap();
        let absent = dir.join("absent");
        std::os::unix::fs::symlink(&absent, dir.join("ca.pem")).unwrap();
        let err = certs.write_to_dir(&dir).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(!absent.exists());
        // An existing regular file is not overwritten.
        std::fs::remove_file(dir.join("ca.pem")).unwrap();
        std::fs::write(dir.join("ca.pem"), "old").unwrap();
        assert!(certs.write_to_dir(&dir).is_err());
        assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).unwrap(), "old");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn certificates_can_be_written_and_issued() {
        let certs = Certificates::generate().unwrap();
        let dir = std::env::temp_dir().join(format!(
            "sandbox-smartpay-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let paths = certs.write_to_dir(&dir).unwrap();
        assert!(std::fs::read_to_string(&paths.ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        assert!(std::fs::read_to_string(&paths.key)
            .unwrap()
            .contains("PRIVATE KEY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&paths.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
        let (cert, key) = certs.issue_client_certificate("kassa-2").unwrap();
        assert!(cert.contains("BEGIN CERTIFICATE") && key.contains("PRIVATE KEY"));
        assert!(!format!("{certs:?}").contains("PRIVATE KEY"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
