//! The HTTP handlers: the API methods, the transfer form and its confirm step.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::wire::{integer, text, token};
use super::{notify, Shared, Status, TransferState};
use payments_core::secret::ct_eq;

const MAX_AMOUNT: u64 = 9_999_999_999;

/// What a test phone does: its final status and its balance.
pub(crate) fn test_phone(phone: u64) -> Option<(Status, u64)> {
    match phone {
        79_000_000_001 => Some((Status::Confirmed, 1_000_000)),
        79_000_000_002 => Some((Status::Rejected, 0)),
        79_000_000_003 => Some((Status::Canceled, 0)),
        _ => None,
    }
}

struct Refusal {
    http: StatusCode,
    code: &'static str,
    message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        http: StatusCode::OK,
        code,
        message: message.into(),
    }
}

fn malformed(message: impl Into<String>) -> Refusal {
    Refusal {
        http: StatusCode::BAD_REQUEST,
        code: "1",
        message: message.into(),
    }
}

fn ok(mut fields: Map<String, Value>) -> Response {
    fields.insert("status".into(), Value::Bool(true));
    fields.insert("errorCode".into(), Value::String("0".into()));
    (StatusCode::OK, axum::Json(Value::Object(fields))).into_response()
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `POST {base}/{method}`.
pub(crate) async fn method(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    body: Bytes,
) -> Response {
    match handle(&shared, &method, &body) {
        Ok(resp) => resp,
        Err(r) => {
            shared.book().rejected_requests += 1;
            let body = json!({"status": false, "errorCode": r.code, "message": r.message});
            (r.http, axum::Json(body)).into_response()
        }
    }
}

fn handle(shared: &Arc<Shared>, method: &str, body: &[u8]) -> Result<Response, Refusal> {
    if !matches!(
        method,
        "balance" | "init" | "checkout" | "confirmation" | "receipt"
    ) {
        return Err(Refusal {
            http: StatusCode::NOT_FOUND,
            code: "10",
            message: format!("unknown method {method:?}"),
        });
    }
    let fields = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(malformed("the body must be a JSON object")),
    };
    let config = &shared.config;
    let platform = text(&fields, "platformUid").or_else(|| text(&fields, "uidPlatform"));
    match platform {
        Some(p) if p == config.platform_uid => {}
        Some(_) => return Err(refuse("2", "unknown platform")),
        None => return Err(malformed("platformUid is required")),
    }
    let sent = match fields.get("token") {
        Some(Value::String(t)) => t.clone(),
        _ => return Err(malformed("token is required")),
    };
    let expected = token(&fields, &config.secret_key);
    if !ct_eq(expected.as_bytes(), sent.as_bytes()) {
        return Err(refuse("3", "wrong token"));
    }
    match method {
        "balance" => balance(&fields),
        "init" => init(shared, &fields),
        "checkout" => checkout(shared, &fields),
        "confirmation" => confirmation(shared, &fields),
        _ => receipt(shared, &fields),
    }
}

fn phone(fields: &Map<String, Value>) -> Result<(u64, Status, u64), Refusal> {
    let phone = integer(fields, "phone").ok_or_else(|| malformed("phone is required"))?;
    let (status, balance) =
        test_phone(phone).ok_or_else(|| refuse("4", format!("unknown phone {phone}")))?;
    Ok((phone, status, balance))
}

fn amount(fields: &Map<String, Value>, key: &str) -> Result<u64, Refusal> {
    match integer(fields, key) {
        Some(a) if (1..=MAX_AMOUNT).contains(&a) => Ok(a),
        _ => Err(malformed(format!(
            "{key} must be an integer number of kopecks from 1 to {MAX_AMOUNT}"
        ))),
    }
}

fn order_id(fields: &Map<String, Value>) -> Result<String, Refusal> {
    match text(fields, "orderId") {
        Some(o) if (1..=36).contains(&o.chars().count()) => Ok(o),
        _ => Err(malformed("orderId must be 1 to 36 characters")),
    }
}

fn balance(fields: &Map<String, Value>) -> Result<Response, Refusal> {
    let (_, _, balance) = phone(fields)?;
    Ok(ok(obj(json!({ "balance": balance }))))
}

fn transfer_fields(t: &TransferState) -> Map<String, Value> {
    obj(json!({
        "paymentId": t.payment_id,
        "orderId": t.order_id,
        "transferStatus": t.status.as_str(),
    }))
}

fn init(shared: &Arc<Shared>, fields: &Map<String, Value>) -> Result<Response, Refusal> {
    let (phone, _, _) = phone(fields)?;
    let order_id = order_id(fields)?;
    let amount = amount(fields, "amount")?;
    let mut book = shared.book();
    let payment_id = match book.transfers.get(&order_id) {
        Some(t) if t.phone == phone && t.amount == amount => t.payment_id,
        Some(_) => {
            return Err(refuse(
                "5",
                "orderId is already used by a transfer with other values",
            ))
        }
        None => {
            let payment_id = book.next_payment_id;
            book.next_payment_id += 1;
            book.by_payment.insert(payment_id, order_id.clone());
            book.transfers.insert(
                order_id.clone(),
                TransferState {
                    payment_id,
                    order_id: order_id.clone(),
                    phone,
                    amount,
                    status: Status::New,
                    pending: None,
                    deliveries: Vec::new(),
                    acknowledged: false,
                },
            );
            payment_id
        }
    };
    drop(book);
    shared.changed.notify_waiters();
    Ok(ok(obj(json!({
        "paymentId": payment_id,
        "orderId": order_id,
        "amount": amount,
        "transferURL": format!("{}/pay/{payment_id}", shared.root()),
    }))))
}

fn checkout(shared: &Arc<Shared>, fields: &Map<String, Value>) -> Result<Response, Refusal> {
    let order_id = order_id(fields)?;
    let amount = amount(fields, "amount")?;
    let book = shared.book();
    let t = book
        .transfers
        .get(&order_id)
        .ok_or_else(|| refuse("6", "transfer not found"))?;
    if t.amount != amount {
        return Err(refuse("7", "amount does not match the transfer"));
    }
    Ok(ok(transfer_fields(t)))
}

fn confirmation(shared: &Arc<Shared>, fields: &Map<String, Value>) -> Result<Response, Refusal> {
    let (phone, _, _) = phone(fields)?;
    let code = text(fields, "code").ok_or_else(|| malformed("code is required"))?;
    if !ct_eq(code.as_bytes(), shared.config.confirmation_code.as_bytes()) {
        return Err(refuse("8", "wrong code"));
    }
    let order_id = {
        let book = shared.book();
        book.transfers
            .values()
            .filter(|t| t.phone == phone && t.is_open())
            .max_by_key(|t| t.payment_id)
            .map(|t| t.order_id.clone())
    }
    .ok_or_else(|| refuse("9", "no open transfer for this phone"))?;
    let t = finalize(shared, &order_id).ok_or_else(|| refuse("9", "no open transfer"))?;
    Ok(ok(transfer_fields(&t)))
}

fn digits(
    fields: &Map<String, Value>,
    key: &str,
    min: usize,
    max: usize,
) -> Result<String, Refusal> {
    match text(fields, key) {
        Some(d) if (min..=max).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) => Ok(d),
        _ => Err(malformed(format!("{key} must be {min} to {max} digits"))),
    }
}

fn receipt(shared: &Arc<Shared>, fields: &Map<String, Value>) -> Result<Response, Refusal> {
    let (phone, _, _) = phone(fields)?;
    let amount = amount(fields, "amount")?;
    let fiscal_drive = digits(fields, "fn", 16, 16)?;
    let fiscal_document = digits(fields, "fd", 1, 10)?;
    let fiscal_sign = digits(fields, "fp", 1, 10)?;
    let pay_date = text(fields, "pay_date")
        .filter(|d| is_pay_date(d))
        .ok_or_else(|| malformed("pay_date must be \"d.m.Y H:i:s\""))?;
    let receipt_type = integer(fields, "receipt_type")
        .filter(|t| (1..=4).contains(t))
        .ok_or_else(|| malformed("receipt_type must be 1 to 4"))?;
    let discount = integer(fields, "discount")
        .filter(|d| *d <= MAX_AMOUNT)
        .ok_or_else(|| malformed("discount must be an integer number of kopecks"))?;
    let record = super::ReceiptRecord {
        phone,
        amount,
        fiscal_drive,
        fiscal_document,
        fiscal_sign,
        pay_date,
        receipt_type,
        discount,
    };
    shared
        .book()
        .keep_receipt(record, shared.config.max_finished);
    Ok(ok(Map::new()))
}

fn is_pay_date(d: &str) -> bool {
    d.len() == 19
        && d.bytes().enumerate().all(|(i, c)| match i {
            2 | 5 => c == b'.',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Moves an open transfer on once the code is entered, and schedules the notification.
/// `REJECTED` and `CANCELED` take effect at once. `CONFIRMED` waits for the merchant's `OK`
/// (it is pending meanwhile), except without a NotificationURL, where nobody can answer and
/// the emulator confirms at once.
fn finalize(shared: &Arc<Shared>, order_id: &str) -> Option<TransferState> {
    let notified = shared.config.notification_url.is_some();
    let snapshot = {
        let mut book = shared.book();
        let t = book.transfers.get_mut(order_id)?;
        if !t.is_open() {
            return None;
        }
        let (final_status, _) = test_phone(t.phone)?;
        if final_status == Status::Confirmed && notified {
            t.pending = Some(final_status);
        } else {
            t.status = final_status;
        }
        let snapshot = t.clone();
        if !notified {
            book.finish(order_id, shared.config.max_finished);
        }
        snapshot
    };
    shared.changed.notify_waiters();
    notify::schedule(shared, order_id.to_owned());
    Some(snapshot)
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /pay/{paymentId}`: the transfer form. Opening it moves `NEW` to `FORM_SHOWED`.
pub(crate) async fn form(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
) -> Response {
    let snapshot = {
        let mut book = shared.book();
        let order_id = payment_id
            .parse::<u64>()
            .ok()
            .and_then(|id| book.by_payment.get(&id).cloned());
        order_id.and_then(|o| book.transfers.get_mut(&o)).map(|t| {
            if t.status == Status::New {
                t.status = Status::FormShowed;
            }
            t.clone()
        })
    };
    let Some(t) = snapshot else {
        return not_found();
    };
    shared.changed.notify_waiters();
    html(StatusCode::OK, form_page(&shared, &t, None))
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{}</style></head>\n<body><main>\n{body}\n</main></body>\n</html>\n",
        escape(title),
        crate::pages::STYLE
    )
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        layout(
            "Kupi-Kupi: transfer not found",
            "<h1>Transfer not found</h1>",
        ),
    )
}

fn rubles(kopecks: u64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

fn form_page(shared: &Shared, t: &TransferState, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    layout(
        "Kupi-Kupi: confirm the transfer",
        &format!(
            "<p class=\"brand\">Kupi-Kupi · sandbox</p>\n<h1>Pay {amount} RUB with Kupi-Kupi points</h1>\n\
             <p class=\"sub\">Order <b>{order}</b> · phone +{phone} · \
             <span id=\"status\" class=\"status\">{status}</span></p>\n{error}\n\
             <form method=\"post\" action=\"/pay/{id}/confirm\">\n\
             <label for=\"code\">Code from the SMS</label>\n\
             <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\n\
             <button id=\"confirm\" type=\"submit\">Transfer points</button>\n</form>\n\
             <p class=\"hint\">Sandbox: the code is <code>{code}</code>. The phone decides the \
             outcome: 79000000001 confirms, 79000000002 is rejected, 79000000003 is canceled.</p>",
            amount = rubles(t.amount),
            order = escape(&t.order_id),
            phone = t.phone,
            status = t.status.as_str(),
            id = t.payment_id,
            code = escape(&shared.config.confirmation_code),
        ),
    )
}

fn result_page(t: &TransferState) -> String {
    let (title, text) = match (t.status, t.pending) {
        (_, Some(Status::Confirmed)) => (
            "Transfer sent to the shop",
            "The shop has been notified. The transfer becomes CONFIRMED when the shop \
             acknowledges the notification.",
        ),
        (Status::Confirmed, _) => ("Transfer confirmed", "The points were transferred."),
        (Status::Rejected, _) => (
            "Transfer rejected",
            "Not enough points, or the shop never acknowledged: nothing was transferred.",
        ),
        (Status::Canceled, _) => ("Transfer canceled", "The transfer was canceled."),
        _ => ("Transfer open", "The transfer is not finished."),
    };
    layout(
        &format!("Kupi-Kupi: {title}"),
        &format!(
            "<h1>{title}</h1>\n<p class=\"sub\">Order <b>{order}</b> · {amount} RUB</p>\n\
             <p id=\"status\" class=\"status\">{status}</p>\n<p>{text} You can return to the shop.</p>",
            order = escape(&t.order_id),
            amount = rubles(t.amount),
            status = t.status.as_str(),
        ),
    )
}

/// The value of `key` in an `application/x-www-form-urlencoded` string.
fn form_value(encoded: &str, key: &str) -> Option<String> {
    encoded.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(h) = hex {
                    out.push(h);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `POST /pay/{paymentId}/confirm` with `code` (form field or query): the customer enters the
/// code. Moves a `FORM_SHOWED` transfer to its final status.
pub(crate) async fn confirm(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body);
    let code =
        form_value(&body, "code").or_else(|| query.as_deref().and_then(|q| form_value(q, "code")));
    let found = {
        let book = shared.book();
        payment_id
            .parse::<u64>()
            .ok()
            .and_then(|id| book.by_payment.get(&id))
            .and_then(|o| book.transfers.get(o))
            .cloned()
    };
    let Some(t) = found else {
        return not_found();
    };
    if t.status != Status::FormShowed || t.pending.is_some() {
        return html(StatusCode::CONFLICT, result_page(&t));
    }
    let code_ok =
        code.is_some_and(|c| ct_eq(c.as_bytes(), shared.config.confirmation_code.as_bytes()));
    if !code_ok {
        return html(
            StatusCode::BAD_REQUEST,
            form_page(&shared, &t, Some("Wrong code: try again.")),
        );
    }
    match finalize(&shared, &t.order_id) {
        Some(t) => html(StatusCode::OK, result_page(&t)),
        None => html(StatusCode::CONFLICT, result_page(&t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values() {
        assert_eq!(
            form_value("a=1&code=12%203+4", "code").as_deref(),
            Some("12 3 4")
        );
        assert_eq!(form_value("code=%zz", "code").as_deref(), Some("%zz"));
        assert_eq!(form_value("a=1", "code"), None);
        assert!(is_pay_date("05.03.2023 14:07:09"));
        assert!(!is_pay_date("2023-03-05 14:07:09"));
    }
}
