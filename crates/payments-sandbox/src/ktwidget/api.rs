//! The JSON API: create, acquirer-options, receipt PDF, and the provisional status, cancel and
//! refund endpoints.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use payments_core::Amount;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::wire::transaction_json;
use super::{delivery, pdf, EnvelopeStyle, Kind, Payment, Shared};

pub(crate) const UNKNOWN_APP: u64 = 4_010_103;
pub(crate) const VALIDATION: u64 = 4_220_002;
pub(crate) const DATA_FORMAT: u64 = 4_220_101;
pub(crate) const WRONG_ENCRYPTION: u64 = 4_220_102;
pub(crate) const APP_ID_VALIDATION: u64 = 4_220_103;
pub(crate) const TRANSACTION_INFO_FAILED: u64 = 5_000_107;
pub(crate) const RECEIPT_FAILED: u64 = 5_000_109;

const HINT: &str = "Для решения проблемы обратитесь в тех. поддержку с указанием кода ошибки.";

type Validation = BTreeMap<String, Vec<String>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/merchant-widget/payment", post(create))
        .route("/api/v1/merchant-widget/payment/{hash}", get(status))
        .route(
            "/api/v1/merchant-widget/payment/{hash}/acquirer-options",
            get(acquirer_options),
        )
        .route("/api/v1/merchant-widget/payment/{hash}/pdf", get(receipt))
        .route(
            "/api/v1/merchant-widget/payment/{hash}/cancel",
            post(cancel),
        )
        .route(
            "/api/v1/merchant-widget/payment/{hash}/refund",
            post(refund),
        )
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Envelopes

#[derive(Serialize)]
struct LiveOk<'a> {
    error: [u8; 0],
    response: LiveInner<'a>,
}

#[derive(Serialize)]
struct LiveInner<'a> {
    success: bool,
    data: &'a RawValue,
}

#[derive(Serialize)]
struct ReferenceOk<'a> {
    success: bool,
    payload: &'a RawValue,
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A success answer carrying `data` (a JSON text).
pub(crate) fn ok(shared: &Shared, data: &RawValue) -> Response {
    let body = match shared.config.envelope {
        EnvelopeStyle::Live => serde_json::to_string(&LiveOk {
            error: [],
            response: LiveInner {
                success: true,
                data,
            },
        }),
        EnvelopeStyle::Reference => serde_json::to_string(&ReferenceOk {
            success: true,
            payload: data,
        }),
    };
    json_response(StatusCode::OK, body.unwrap_or_default())
}

fn ok_value(shared: &Shared, data: Value) -> Response {
    match RawValue::from_string(data.to_string()) {
        Ok(raw) => ok(shared, &raw),
        Err(_) => internal(shared),
    }
}

/// A refusal.
pub(crate) fn fail(
    shared: &Shared,
    http: StatusCode,
    code: u64,
    message: &str,
    validation: Option<Validation>,
) -> Response {
    let mut error = Map::new();
    error.insert("code".into(), code.into());
    match shared.config.envelope {
        EnvelopeStyle::Live => {
            error.insert("messages".into(), serde_json::json!({ "error": message }));
        }
        EnvelopeStyle::Reference => {
            error.insert("message".into(), message.into());
        }
    }
    if let Some(v) = validation {
        error.insert("validation".into(), serde_json::json!(v));
    }
    error.insert("hint".into(), HINT.into());
    let body = match shared.config.envelope {
        EnvelopeStyle::Live => serde_json::json!({"success": false, "data": [], "error": error}),
        EnvelopeStyle::Reference => serde_json::json!({"success": false, "error": error}),
    };
    json_response(http, body.to_string())
}

fn internal(shared: &Shared) -> Response {
    fail(
        shared,
        StatusCode::INTERNAL_SERVER_ERROR,
        5_000_001,
        "Internal error",
        None,
    )
}

fn not_found(shared: &Shared) -> Response {
    fail(
        shared,
        StatusCode::NOT_FOUND,
        TRANSACTION_INFO_FAILED,
        "Transaction not found",
        None,
    )
}

fn invalid(shared: &Shared, validation: Validation) -> Response {
    fail(
        shared,
        StatusCode::UNPROCESSABLE_ENTITY,
        VALIDATION,
        "Ошибка валидации",
        Some(validation),
    )
}

fn one(field: &str, message: &str) -> Validation {
    let mut v = Validation::new();
    v.insert(field.to_owned(), vec![message.to_owned()]);
    v
}

// ---------------------------------------------------------------------------------------------
// Authentication and sealed bodies

fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let id = headers
        .get("auth-identifier")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if id.is_empty() {
        return Err(Box::new(fail(
            shared,
            StatusCode::UNPROCESSABLE_ENTITY,
            APP_ID_VALIDATION,
            "Ошибка валидации",
            Some(one(
                "app_id",
                "Неверный/несуществующий идентификатор приложения мерчанта.",
            )),
        )));
    }
    if id != shared.config.app_id {
        return Err(Box::new(fail(
            shared,
            StatusCode::UNAUTHORIZED,
            UNKNOWN_APP,
            "Unknown application",
            None,
        )));
    }
    Ok(())
}

/// Opens a request body: standard base64 (padding optional) of a sealed box.
pub(crate) fn open_body(shared: &Shared, body: &[u8]) -> Result<Vec<u8>, ()> {
    let text = std::str::from_utf8(body).map_err(|_| ())?.trim();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| ())?;
    shared.secret.unseal(&raw).map_err(|_| ())
}

fn open_or_refuse(shared: &Shared, body: &[u8]) -> Result<Vec<u8>, Box<Response>> {
    open_body(shared, body).map_err(|()| {
        Box::new(fail(
            shared,
            StatusCode::UNPROCESSABLE_ENTITY,
            WRONG_ENCRYPTION,
            "Wrong encryption type",
            None,
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Lenient field readers

/// Reads a money amount from raw JSON (a number or a string), exactly.
pub(crate) fn read_amount(raw: &str) -> Result<Amount, &'static str> {
    let t = raw.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t)
        .trim();
    if t.starts_with('-') {
        return Err("The amount must be greater than 0.");
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (t.contains('.') && !digits(frac)) {
        return Err("The amount must be a number.");
    }
    if frac.len() > 2 {
        return Err("The amount must have at most 2 decimal places.");
    }
    let amount = Amount::parse_decimal(t).map_err(|_| "The amount is too large.")?;
    if amount.is_zero() {
        return Err("The amount must be greater than 0.");
    }
    Ok(amount)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !s.chars().any(char::is_whitespace)
    })
}

pub(crate) const URL_FIELDS: [&str; 7] = [
    "callback_post_url",
    "callback_back_url",
    "callback_success_url",
    "callback_failed_url",
    "callback_force_back_url",
    "callback_force_success_url",
    "callback_force_failed_url",
];

#[derive(Deserialize)]
struct BodyIn {
    #[serde(default)]
    order: Option<Box<RawValue>>,
    #[serde(default)]
    user: Option<Value>,
}

#[derive(Deserialize)]
struct AmountIn {
    #[serde(default)]
    amount: Option<Box<RawValue>>,
}

struct NewOrder {
    order_id: String,
    amount: Amount,
    kind: Kind,
    description: Option<String>,
    urls: HashMap<String, String>,
    show_close_button: bool,
    user: Option<Value>,
}

fn validate(order_raw: &RawValue, user: Option<Value>) -> Result<NewOrder, Validation> {
    let mut v = Validation::new();
    let mut push = |f: &str, m: &str| v.entry(f.to_owned()).or_default().push(m.to_owned());
    let order: Map<String, Value> = match serde_json::from_str(order_raw.get()) {
        Ok(m) => m,
        Err(_) => {
            return Err(one("order", "The order must be an object."));
        }
    };
    let amount_raw: AmountIn =
        serde_json::from_str(order_raw.get()).unwrap_or(AmountIn { amount: None });

    let order_id = text(order.get("order_id"));
    if order_id.is_none() {
        push("order.order_id", "The order id field is required.");
    }
    let amount = match amount_raw.amount.as_deref().map(RawValue::get) {
        None | Some("null") => {
            push("order.amount", "The amount field is required.");
            None
        }
        Some(raw) => match read_amount(raw) {
            Ok(a) => Some(a),
            Err(m) => {
                push("order.amount", m);
                None
            }
        },
    };
    let kind = match order.get("type").and_then(Value::as_str) {
        None => {
            push("order.type", "The type field is required.");
            None
        }
        Some("ecom") => Some(Kind::Ecom),
        Some("service") => match order.get("service") {
            Some(Value::Object(s)) => {
                let id = match s.get("service_id") {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(t)) => t.trim().parse::<u64>().ok(),
                    _ => None,
                }
                .filter(|id| *id > 0);
                let contract = text(s.get("contract_value"));
                if id.is_none() {
                    push(
                        "order.service.service_id",
                        "The service id must be a positive number.",
                    );
                }
                if contract.is_none() {
                    push(
                        "order.service.contract_value",
                        "The contract value field is required.",
                    );
                }
                match (id, contract) {
                    (Some(service_id), Some(contract_value)) => Some(Kind::Service {
                        service_id,
                        contract_value,
                    }),
                    _ => None,
                }
            }
            _ => {
                push(
                    "order.service",
                    "The service field is required when type is service.",
                );
                None
            }
        },
        Some(_) => {
            push("order.type", "The selected type is invalid.");
            None
        }
    };
    let description = match order.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            push("order.description", "The description must be a string.");
            None
        }
    };
    let mut urls = HashMap::new();
    for field in URL_FIELDS {
        match order.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if is_http_url(s) => {
                urls.insert(field.to_owned(), s.clone());
            }
            Some(_) => push(&format!("order.{field}"), "The URL format is invalid."),
        }
    }
    let show_close_button = match order.get("show_close_button") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(_) => {
            push(
                "order.show_close_button",
                "The show close button field must be true or false.",
            );
            true
        }
    };
    let user = match user {
        None | Some(Value::Null) => None,
        Some(Value::Object(u)) => {
            if let Some(email) = u.get("email").and_then(Value::as_str) {
                if !email.contains('@') {
                    push("user.email", "The email must be a valid email address.");
                }
            }
            Some(Value::Object(u))
        }
        Some(_) => {
            push("user", "The user must be an object.");
            None
        }
    };
    match (order_id, amount, kind) {
        (Some(order_id), Some(amount), Some(kind)) if v.is_empty() => Ok(NewOrder {
            order_id,
            amount,
            kind,
            description,
            urls,
            show_close_button,
            user,
        }),
        _ => Err(v),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return *r;
    }
    let plain = match open_or_refuse(&shared, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let parsed: BodyIn = match serde_json::from_slice(&plain) {
        Ok(b) => b,
        Err(_) => {
            return fail(
                &shared,
                StatusCode::UNPROCESSABLE_ENTITY,
                DATA_FORMAT,
                "The request is not valid JSON",
                None,
            )
        }
    };
    let Some(order_raw) = parsed.order else {
        return fail(
            &shared,
            StatusCode::UNPROCESSABLE_ENTITY,
            DATA_FORMAT,
            "The request has no order",
            None,
        );
    };
    let order = match validate(&order_raw, parsed.user) {
        Ok(o) => o,
        Err(v) => return invalid(&shared, v),
    };
    let now = shared.now();
    let hash = super::random_hex(20);
    let mut state = shared.lock();
    if state.by_order.contains_key(&order.order_id) {
        drop(state);
        return invalid(
            &shared,
            one("order.order_id", "The order id has already been taken."),
        );
    }
    state.by_order.insert(order.order_id.clone(), hash.clone());
    let show = order.show_close_button;
    state.payments.insert(
        hash.clone(),
        Payment {
            transaction_hash: hash.clone(),
            order_id: order.order_id,
            amount: order.amount,
            kind: order.kind,
            description: order.description,
            urls: order.urls,
            show_close_button: show,
            user: order.user,
            status: "pending".into(),
            history: vec!["pending".into()],
            error: None,
            card: None,
            refunded: Amount::ZERO,
            created_at: now,
            status_created_at: now,
            delivery: super::Delivery::NotDue,
            attempts: Vec::new(),
        },
    );
    drop(state);
    ok_value(
        &shared,
        serde_json::json!({"transaction_hash": hash, "show_close_button": show}),
    )
}

async fn acquirer_options(State(shared): State<Arc<Shared>>, Path(hash): Path<String>) -> Response {
    if !shared.lock().payments.contains_key(&hash) {
        return not_found(&shared);
    }
    let mut page = format!("{}/acquirer/card-form", shared.base_url());
    page.push_str("?hash=");
    page.push_str(&crate::pages::query_escape(&hash));
    ok_value(&shared, serde_json::json!({ "payment_page": page }))
}

async fn receipt(State(shared): State<Arc<Shared>>, Path(hash): Path<String>) -> Response {
    let Some(p) = shared.lock().payments.get(&hash).cloned() else {
        return not_found(&shared);
    };
    if !matches!(p.status.as_str(), "success" | "completed") {
        return fail(
            &shared,
            StatusCode::CONFLICT,
            RECEIPT_FAILED,
            "Receipt generation failed: the transaction is not paid",
            None,
        );
    }
    let doc = pdf::receipt(&p);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/pdf")],
        doc,
    )
        .into_response()
}

fn tx_response(shared: &Shared, p: &Payment) -> Response {
    match RawValue::from_string(transaction_json(shared, p)) {
        Ok(raw) => ok(shared, &raw),
        Err(_) => internal(shared),
    }
}

async fn status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return *r;
    }
    let p = shared.lock().payments.get(&hash).cloned();
    match p {
        Some(p) => tx_response(&shared, &p),
        None => not_found(&shared),
    }
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return *r;
    }
    let now = shared.now();
    let mut state = shared.lock();
    let Some(p) = state.payments.get_mut(&hash) else {
        drop(state);
        return not_found(&shared);
    };
    if !matches!(p.status.as_str(), "pending" | "authorized") {
        let msg = format!(
            "The transaction cannot be cancelled in status {}.",
            p.status
        );
        drop(state);
        return invalid(&shared, one("transaction_hash", &msg));
    }
    Payment::set_status(
        p,
        "denied",
        Some(("ERROR_SYSTEM", "Cancelled by the merchant")),
        now,
    );
    let snapshot = p.clone();
    drop(state);
    delivery::schedule(&shared, &hash);
    tx_response(&shared, &snapshot)
}

async fn refund(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return *r;
    }
    let plain = match open_or_refuse(&shared, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let amount = match serde_json::from_slice::<AmountIn>(&plain) {
        Err(_) => {
            return fail(
                &shared,
                StatusCode::UNPROCESSABLE_ENTITY,
                DATA_FORMAT,
                "The request is not valid JSON",
                None,
            )
        }
        Ok(AmountIn { amount: None }) => {
            return invalid(&shared, one("amount", "The amount field is required."))
        }
        Ok(AmountIn { amount: Some(raw) }) => match read_amount(raw.get()) {
            Ok(a) => a,
            Err(m) => return invalid(&shared, one("amount", m)),
        },
    };
    let mut state = shared.lock();
    let Some(p) = state.payments.get_mut(&hash) else {
        drop(state);
        return not_found(&shared);
    };
    if p.status != "completed" {
        let msg = format!("The transaction cannot be refunded in status {}.", p.status);
        drop(state);
        return invalid(&shared, one("transaction_hash", &msg));
    }
    let total = p.refunded.checked_add(amount).filter(|t| *t <= p.amount);
    let Some(total) = total else {
        let left = p.amount.checked_sub(p.refunded).unwrap_or(Amount::ZERO);
        let msg = format!(
            "The refund amount exceeds the paid amount (refundable: {}).",
            left.to_compact_string()
        );
        drop(state);
        return invalid(&shared, one("amount", &msg));
    };
    p.refunded = total;
    p.history
        .push(format!("refund {}", amount.to_compact_string()));
    let status = p.status.clone();
    drop(state);
    let data = format!(
        r#"{{"transaction_hash":{},"amount":{},"refunded_total":{},"status":{}}}"#,
        Value::from(hash),
        amount.to_compact_string(),
        total.to_compact_string(),
        Value::from(status)
    );
    match RawValue::from_string(data) {
        Ok(raw) => ok(&shared, &raw),
        Err(_) => internal(&shared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(read_amount("1000").unwrap().minor(), 100_000);
        assert_eq!(read_amount("1000.5").unwrap().minor(), 100_050);
        assert_eq!(read_amount("\"12.05\"").unwrap().minor(), 1205);
        assert!(read_amount("0").is_err());
        assert!(read_amount("0.00").is_err());
        assert!(read_amount("-5").is_err());
        assert_eq!(
            read_amount("1.005"),
            Err("The amount must have at most 2 decimal places.")
        );
        assert!(read_amount("1e3").is_err());
        assert!(read_amount("\"abc\"").is_err());
    }

    #[test]
    fn urls_are_checked() {
        assert!(is_http_url("https://a.kz/cb"));
        assert!(is_http_url("http://127.0.0.1:8080/cb?x=1"));
        assert!(!is_http_url("ftp://a.kz"));
        assert!(!is_http_url("https:///x"));
        assert!(!is_http_url("https://a b"));
    }
}
