//! Wire structs and the conversions between them and the domain types (`TryFrom`). Private: the
//! wire format can change without changing the public API.
//!
//! No error made here quotes a value from a body: serde_json's messages quote the values they
//! refuse, so they are never passed on, and field errors say what is wrong, not what came.

use http::StatusCode;
use payments_core::decode::JsonError;
use payments_core::wire::{carries_something, lenient_bool, messages, text_or_number};
use payments_core::Amount;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Code, ProviderError, PROVIDER_NAME};
use crate::model::{
    ErrorType, Order, OrderId, PaymentKind, Status, StatusInfo, Timestamp, Transaction,
    TransactionError, TransactionHash, User, WebUrl,
};

// ---------------------------------------------------------------------------------------------
// Outbound

#[derive(Serialize)]
pub(crate) struct CreatePaymentWire<'a> {
    order: OrderWire<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<UserWire<'a>>,
}

#[derive(Serialize)]
struct OrderWire<'a> {
    order_id: &'a str,
    #[serde(with = "payments_core::money::decimal")]
    amount: Amount,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<ServiceWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_post_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_back_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_success_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_failed_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_force_back_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_force_success_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_force_failed_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    show_close_button: Option<bool>,
}

#[derive(Serialize)]
struct ServiceWire<'a> {
    /// A JSON number, the widget guide's type.
    service_id: u64,
    contract_value: &'a str,
}

#[derive(Serialize)]
struct UserWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

impl<'a> CreatePaymentWire<'a> {
    /// The wire form of `o`, with `callback_post_url` replaced by `tagged_post_url` when the
    /// client tags callbacks.
    pub(crate) fn new(o: &'a Order, tagged_post_url: Option<&'a str>) -> Self {
        let mut wire = CreatePaymentWire::from(o);
        if let Some(url) = tagged_post_url {
            wire.order.callback_post_url = Some(url);
        }
        wire
    }
}

impl<'a> From<&'a Order> for CreatePaymentWire<'a> {
    fn from(o: &'a Order) -> Self {
        let c = &o.callbacks;
        let url = |u: &'a Option<WebUrl>| u.as_ref().map(|u| u.as_str());
        let service = match &o.kind {
            PaymentKind::Ecom => None,
            PaymentKind::Service {
                service_id,
                contract_value,
            } => Some(ServiceWire {
                service_id: service_id.get(),
                contract_value: contract_value.as_str(),
            }),
        };
        CreatePaymentWire {
            order: OrderWire {
                order_id: o.order_id.as_str(),
                amount: o.amount,
                kind: o.kind.wire_type(),
                service,
                description: o.description.as_deref(),
                callback_post_url: url(&c.post),
                callback_back_url: url(&c.back),
                callback_success_url: url(&c.success),
                callback_failed_url: url(&c.failed),
                callback_force_back_url: url(&c.force_back),
                callback_force_success_url: url(&c.force_success),
                callback_force_failed_url: url(&c.force_failed),
                show_close_button: o.show_close_button,
            },
            user: o.user.as_ref().map(|u: &'a User| UserWire {
                merchant_user_id: u.merchant_user_id.as_deref(),
                phone: u.phone.as_deref(),
                email: u.email.as_deref(),
            }),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct RefundWire {
    #[serde(with = "payments_core::money::decimal")]
    pub(crate) amount: Amount,
}

// ---------------------------------------------------------------------------------------------
// Envelopes

/// The outcome of reading one of the three envelopes.
#[derive(Debug)]
pub(crate) enum Envelope {
    /// `success: true`, with the payload (`payload` or `data`), if any.
    Success(Option<Box<RawValue>>),
    /// `success: false`.
    Failure(ProviderError),
}

#[derive(Deserialize)]
struct EnvelopeWire {
    #[serde(default)]
    success: Option<Value>,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    response: Option<Box<RawValue>>,
}

fn pick_payload(w: &mut EnvelopeWire) -> Option<Box<RawValue>> {
    w.payload.take().or_else(|| w.data.take())
}

/// Reads any of the three envelopes. `None`: the body is not one of them.
pub(crate) fn read_envelope(status: StatusCode, body: &[u8]) -> Option<Envelope> {
    let mut outer: EnvelopeWire = serde_json::from_slice(body).ok()?;
    // Envelope 2 (live): {"error": [], "response": {"success": true, "data": {...}}}
    if let Some(resp) = outer.response.take() {
        let mut inner: EnvelopeWire = serde_json::from_str(resp.get()).ok()?;
        let inner_success = inner.success.as_ref().and_then(lenient_bool);
        let outer_error = outer.error.take().filter(carries_something);
        return match (inner_success, inner.error.take().filter(carries_something)) {
            (Some(true), None) if outer_error.is_none() => {
                Some(Envelope::Success(pick_payload(&mut inner)))
            }
            (_, Some(err)) => Some(Envelope::Failure(provider_error(status, &err))),
            (Some(false), None) | (Some(true), None) | (None, None) => outer_error
                .map(|e| Envelope::Failure(provider_error(status, &e)))
                .or_else(|| {
                    (inner_success == Some(false)).then(|| {
                        Envelope::Failure(provider_error(
                            status,
                            &Value::Object(Default::default()),
                        ))
                    })
                }),
        };
    }
    // Envelopes 1 and 3: {"success": bool, "payload"|"data": ..., "error": {...}}
    let success = outer.success.as_ref().and_then(lenient_bool)?;
    if success {
        Some(Envelope::Success(pick_payload(&mut outer)))
    } else {
        let err = outer.error.take().unwrap_or(Value::Null);
        Some(Envelope::Failure(provider_error(status, &err)))
    }
}

fn code_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn provider_error(status: StatusCode, err: &Value) -> ProviderError {
    let mut e = ProviderError::new(PROVIDER_NAME, status);
    match err {
        Value::Object(map) => {
            if let Some(code) = map.get("code").and_then(code_of) {
                e = e.with_code(Code(code));
            }
            if let Some(m) = map.get("message") {
                e.messages.extend(messages(m));
            }
            if let Some(m) = map.get("messages") {
                e.messages.extend(messages(m));
            }
            if let Some(Value::Object(fields)) = map.get("validation") {
                for (field, msgs) in fields {
                    for m in messages(msgs) {
                        e = e.with_detail(field.clone(), m);
                    }
                }
            }
            let hint = map.get("hint").and_then(|h| match h {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Null => None,
                Value::String(_) => None,
                other => Some(other.to_string()),
            });
            if let Some(h) = hint {
                e = e.with_detail("hint", h);
            }
        }
        other => e.messages.extend(messages(other)),
    }
    e
}

// ---------------------------------------------------------------------------------------------
// Answers

#[derive(Deserialize)]
pub(crate) struct CreatedWire {
    transaction_hash: Option<Value>,
    #[serde(default)]
    show_close_button: Option<Value>,
}

pub(crate) struct Created {
    pub(crate) transaction_hash: TransactionHash,
    pub(crate) show_close_button: bool,
}

impl TryFrom<CreatedWire> for Created {
    type Error = String;
    fn try_from(w: CreatedWire) -> Result<Self, String> {
        let hash = w
            .transaction_hash
            .as_ref()
            .and_then(text_or_number)
            .ok_or("a transaction_hash")?;
        let transaction_hash =
            TransactionHash::new(hash).map_err(|_| "a non-empty transaction_hash")?;
        let show_close_button = match &w.show_close_button {
            None | Some(Value::Null) => true,
            Some(v) => lenient_bool(v).ok_or("show_close_button as a boolean")?,
        };
        Ok(Created {
            transaction_hash,
            show_close_button,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct AcquirerWire {
    pub(crate) payment_page: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct RefundAnswerWire {
    #[serde(default)]
    transaction_hash: Option<Value>,
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default)]
    refunded_total: Option<Box<RawValue>>,
    #[serde(default)]
    status: Option<String>,
}

impl TryFrom<RefundAnswerWire> for crate::model::Refund {
    type Error = String;
    fn try_from(w: RefundAnswerWire) -> Result<Self, String> {
        let amount = |raw: &Option<Box<RawValue>>| -> Result<Option<Amount>, String> {
            raw.as_ref()
                .map(|r| {
                    parse_amount(r.get()).map_err(|e| format!("an amount ({})", amount_problem(&e)))
                })
                .transpose()
        };
        Ok(crate::model::Refund {
            transaction_hash: w
                .transaction_hash
                .as_ref()
                .and_then(text_or_number)
                .and_then(|h| TransactionHash::new(h).ok()),
            amount: amount(&w.amount)?,
            refunded_total: amount(&w.refunded_total)?,
            status: w.status.map(|s| Status::from_wire(&s)),
        })
    }
}

/// What is wrong with an amount, without quoting it (`AmountError::Malformed` quotes the text).
pub(crate) fn amount_problem(e: &payments_core::AmountError) -> &'static str {
    use payments_core::AmountError as E;
    match e {
        E::Empty => "empty",
        E::Negative => "negative",
        E::TooManyDecimals => "more than 2 decimal places",
        E::Overflow { .. } => "too large",
        E::Zero => "zero",
        _ => "not a decimal number with at most 2 decimal places",
    }
}

pub(crate) fn parse_amount(raw: &str) -> Result<Amount, payments_core::AmountError> {
    let text = raw.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    Amount::parse_decimal(text)
}

// ---------------------------------------------------------------------------------------------
// Transactions (callbacks and the provisional status and cancel answers)

#[derive(Deserialize)]
pub(crate) struct TransactionWire {
    #[serde(default)]
    merchant_id: Option<Value>,
    #[serde(default)]
    order_id: Option<Value>,
    #[serde(default)]
    description: Option<Value>,
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default)]
    transaction_hash: Option<Value>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    status: Option<StatusWire>,
}

#[derive(Deserialize)]
struct StatusWire {
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    error: Option<TxErrorWire>,
}

#[derive(Deserialize)]
struct TxErrorWire {
    #[serde(default)]
    error_type: Option<Value>,
    #[serde(default)]
    error_message: Option<Value>,
}

/// Why a transaction's field was refused: (field, what is wrong). Never the value.
pub(crate) type FieldError = (&'static str, &'static str);

fn opt_text(field: &'static str, v: Option<Value>) -> Result<Option<String>, FieldError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => text_or_number(&v).map(Some).ok_or((field, "not a string")),
    }
}

fn opt_time(field: &'static str, v: Option<Value>) -> Result<Option<Timestamp>, FieldError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if t.trim().is_empty() => Ok(None),
        Some(Value::String(t)) => Timestamp::parse(&t)
            .map(Some)
            .map_err(|_| (field, "not a timestamp (RFC 3339, or Y-m-d H:i:s)")),
        Some(_) => Err((field, "not a timestamp (RFC 3339, or Y-m-d H:i:s)")),
    }
}

impl TryFrom<TransactionWire> for Transaction {
    type Error = FieldError;
    fn try_from(w: TransactionWire) -> Result<Self, FieldError> {
        let merchant_id = match &w.merchant_id {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                text_or_number(v)
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .ok_or(("merchant_id", "not a non-negative integer"))?,
            ),
        };
        let order_id = w
            .order_id
            .as_ref()
            .and_then(text_or_number)
            .ok_or(("order_id", "missing"))?;
        let order_id = OrderId::new(order_id)
            .map_err(|_| ("order_id", "empty, too long, or with control characters"))?;
        let description = opt_text("description", w.description)?;
        let amount = w.amount.ok_or(("amount", "missing"))?;
        let amount = parse_amount(amount.get()).map_err(|e| ("amount", amount_problem(&e)))?;
        let hash = w
            .transaction_hash
            .as_ref()
            .and_then(text_or_number)
            .ok_or(("transaction_hash", "missing"))?;
        let transaction_hash = TransactionHash::new(hash).map_err(|_| {
            (
                "transaction_hash",
                "empty, too long, or with control characters",
            )
        })?;
        let created_at = opt_time("created_at", w.created_at)?.ok_or(("created_at", "missing"))?;
        let updated_at = opt_time("updated_at", w.updated_at)?;
        let s = w.status.ok_or(("status", "missing"))?;
        let status = opt_text("status.status", s.status)?
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Status::from_wire)
            .ok_or(("status.status", "missing"))?;
        let error = match s.error {
            None => None,
            Some(e) => Some(TransactionError {
                error_type: opt_text("status.error.error_type", e.error_type)?
                    .as_deref()
                    .map(ErrorType::from_wire),
                error_message: opt_text("status.error.error_message", e.error_message)?,
            }),
        };
        let status = StatusInfo {
            status,
            created_at: opt_time("status.created_at", s.created_at)?,
            updated_at: opt_time("status.updated_at", s.updated_at)?,
            error,
        };
        Ok(Transaction {
            merchant_id,
            order_id,
            description,
            amount,
            transaction_hash,
            created_at,
            updated_at,
            status,
        })
    }
}

/// Reads a transaction from JSON bytes: (what is wrong, never quoting the body) on failure.
pub(crate) fn read_transaction(body: &[u8]) -> Result<Transaction, TransactionProblem> {
    let wire: TransactionWire = serde_json::from_slice(body)
        .map_err(|e| TransactionProblem::Json(JsonError::new(&e).to_string()))?;
    Transaction::try_from(wire).map_err(|(field, reason)| TransactionProblem::Field(field, reason))
}

/// Why [`read_transaction`] refused a body.
#[derive(Debug)]
pub(crate) enum TransactionProblem {
    /// Not JSON, or not an object of the documented shape.
    Json(String),
    /// A field is missing or wrong.
    Field(&'static str, &'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Option<Envelope> {
        read_envelope(StatusCode::OK, body.as_bytes())
    }

    fn fail(body: &str) -> ProviderError {
        match read(body) {
            Some(Envelope::Failure(e)) => e,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn ok(body: &str) -> String {
        match read(body) {
            Some(Envelope::Success(Some(p))) => p.get().to_owned(),
            other => panic!("expected a payload, got {other:?}"),
        }
    }

    #[test]
    fn reference_envelope() {
        assert_eq!(
            ok(r#"{"success": true, "payload": {"key": "value"}}"#),
            r#"{"key": "value"}"#
        );
        let e = fail(
            r#"{"success": false, "error": {"code": 4220103, "message": "Ошибка валидации",
                "validation": {"app_id": ["Неверный/несуществующий идентификатор приложения мерчанта."]},
                "hint": "Для решения проблемы обратитесь в тех. поддержку с указанием кода ошибки."}}"#,
        );
        assert_eq!(e.code, Some(Code::APP_ID_VALIDATION));
        assert_eq!(e.message(), "Ошибка валидации");
        assert_eq!(e.details.iter().filter(|(f, _)| f == "app_id").count(), 1);
        assert!(e.detail("hint").unwrap().starts_with("Для решения"));
        assert!(e.code.is_some_and(Code::is_validation));
        assert!(!e.code.is_some_and(Code::is_unknown_app));
    }

    #[test]
    fn live_envelope() {
        assert_eq!(
            ok(
                r#"{"error": [], "response": {"success": true, "data": {"transaction_hash": "abc", "show_close_button": true}}}"#
            ),
            r#"{"transaction_hash": "abc", "show_close_button": true}"#
        );
        let e = fail(
            r#"{"error": {"code": 4010103, "message": "unknown app"}, "response": {"success": false, "data": []}}"#,
        );
        assert!(e.code.is_some_and(Code::is_unknown_app));
        let e = fail(
            r#"{"error": [], "response": {"success": false, "error": {"code": "4220104", "messages": ["expired"]}}}"#,
        );
        assert!(e.code.is_some_and(Code::is_key_expired));
        assert_eq!(e.messages, vec!["expired"]);
    }

    #[test]
    fn legacy_envelope_with_messages_map_or_list() {
        let e = fail(
            r#"{"success": false, "data": [], "error": {"code": 4220102, "messages": {"error": "Wrong encryption type"}, "hint": "check key"}}"#,
        );
        assert!(e.code.is_some_and(Code::is_wrong_encryption));
        assert_eq!(e.message(), "Wrong encryption type");
        assert_eq!(e.detail("hint"), Some("check key"));
        let e = fail(
            r#"{"success": false, "data": [], "error": {"code": 5000105, "messages": ["a", "b"]}}"#,
        );
        assert_eq!(e.messages, vec!["a", "b"]);
        assert!(e.code.is_some_and(Code::is_internal));
        assert_eq!(ok(r#"{"success": true, "data": {"x": 1}}"#), r#"{"x": 1}"#);
    }

    #[test]
    fn every_known_code_reads() {
        for code in [
            Code::UNKNOWN_APP,
            Code::VALIDATION,
            Code::DATA_FORMAT,
            Code::WRONG_ENCRYPTION,
            Code::APP_ID_VALIDATION,
            Code::KEY_EXPIRED,
            Code::INTERNAL,
            Code::CREATE_TRANSACTION_FAILED,
            Code::AUTHORIZATION_DATA_FAILED,
            Code::TRANSACTION_INFO_FAILED,
            Code::RECEIPT_FAILED,
            Code::RECEIPT_FAILED_2,
        ] {
            for body in [
                format!(r#"{{"success":false,"error":{{"code":{code},"message":"m"}}}}"#),
                format!(
                    r#"{{"success":false,"data":[],"error":{{"code":"{code}","messages":{{"error":"m"}}}}}}"#
                ),
                format!(
                    r#"{{"error":{{"code":{code},"message":"m"}},"response":{{"success":false,"data":[]}}}}"#
                ),
            ] {
                let e = fail(&body);
                assert_eq!(e.code, Some(code), "{body}");
                assert_eq!(e.message(), "m");
                let s = code.to_string();
                assert_eq!(
                    e.code.is_some_and(Code::is_validation),
                    s.starts_with("422"),
                    "{code}"
                );
                assert_eq!(
                    e.code.is_some_and(Code::is_unknown_app),
                    code.0 == 4_010_103
                );
                assert_eq!(
                    e.code.is_some_and(Code::is_key_expired),
                    code.0 == 4_220_104
                );
                assert_eq!(e.code.is_some_and(Code::is_internal), s.starts_with("500"));
            }
        }
    }

    #[test]
    fn success_follows_cores_one_boolean_rule() {
        // 1/0, "1"/"0", "true"/"false" are booleans; other numbers are not (before core's
        // rule, any non-zero number read as true).
        assert!(matches!(
            read(r#"{"success":1,"payload":{}}"#),
            Some(Envelope::Success(_))
        ));
        assert!(matches!(
            read(r#"{"success":"0","error":{"code":5000001}}"#),
            Some(Envelope::Failure(_))
        ));
        assert!(read(r#"{"success":2,"payload":{}}"#).is_none());
    }

    #[test]
    fn unknown_shapes_are_not_envelopes() {
        for body in [
            "",
            "<html>",
            "[]",
            "42",
            r#"{"foo": 1}"#,
            r#"{"response": "x"}"#,
            r#"{"success": "maybe"}"#,
        ] {
            assert!(read(body).is_none(), "{body}");
        }
        // A live envelope whose outer error is set counts as a failure.
        let e = fail(r#"{"error": {"code": 5000001}, "response": {"data": null}}"#);
        assert_eq!(e.code, Some(Code::INTERNAL));
    }

    #[test]
    fn created_answer_is_checked() {
        let w: CreatedWire =
            serde_json::from_str(r#"{"transaction_hash": "h1", "show_close_button": false}"#)
                .unwrap();
        let c = Created::try_from(w).unwrap();
        assert_eq!(c.transaction_hash.as_str(), "h1");
        assert!(!c.show_close_button);
        let w: CreatedWire = serde_json::from_str(r#"{"transaction_hash": ""}"#).unwrap();
        assert!(Created::try_from(w).is_err());
        let w: CreatedWire = serde_json::from_str(r#"{"transaction_hash": 7}"#).unwrap();
        assert!(Created::try_from(w).unwrap().show_close_button);
    }

    #[test]
    fn order_wire_shape() {
        let order = Order::builder("Order1", "1000.5".parse().unwrap())
            .service(1, "17-25022")
            .description("d")
            .callback_post_url("https://site.com/callback_post_url")
            .callback_force_success_url("https://site.com/ok")
            .show_close_button(false)
            .user(User::with_id("user1").phone("+77778889900"))
            .build()
            .unwrap();
        let json = serde_json::to_string(&CreatePaymentWire::from(&order)).unwrap();
        assert_eq!(
            json,
            r#"{"order":{"order_id":"Order1","amount":1000.5,"type":"service","service":{"service_id":1,"contract_value":"17-25022"},"description":"d","callback_post_url":"https://site.com/callback_post_url","callback_force_success_url":"https://site.com/ok","show_close_button":false},"user":{"merchant_user_id":"user1","phone":"+77778889900"}}"#
        );
        let ecom = Order::builder("o", "12.05".parse().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&CreatePaymentWire::from(&ecom)).unwrap(),
            r#"{"order":{"order_id":"o","amount":12.05,"type":"ecom"}}"#
        );
        let big = Order::builder(
            "o",
            payments_core::Amount::from_minor(9_007_199_254_740_993),
        )
        .build()
        .unwrap();
        // Beyond f64's exact integers: still exact.
        assert!(serde_json::to_string(&CreatePaymentWire::from(&big))
            .unwrap()
            .contains(r#""amount":90071992547409.93"#));
    }

    const OK: &str = r#"{"merchant_id":1,"order_id":"1","description":"Description of transactions","amount":1000,"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","created_at":"2019-02-05T14:22:53+06:00","updated_at":null,"status":{"status":"completed","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,"error":null}}"#;

    fn tx(body: &str) -> Transaction {
        read_transaction(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
    }

    #[test]
    fn the_documented_callback_body() {
        let t = tx(OK);
        assert_eq!(t.merchant_id, Some(1));
        assert_eq!(t.status.status, Status::Completed);
        assert!(t.updated_at.is_none());
        assert!(t.status.error.is_none());
        let created = t.created_at.offset_date_time().unwrap();
        assert_eq!((created.offset().whole_hours(), created.hour()), (6, 14));
        let json = t.to_json();
        assert!(
            json.contains(r#""created_at":"2019-02-05T14:22:53+06:00""#),
            "{json}"
        );
        assert!(json.contains(r#""amount":1000"#), "{json}");
        assert_eq!(tx(&json), t);
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        let body = OK
            .replace(r#""status":"completed""#, r#""status":"refunded""#)
            .replace(
                r#""error":null"#,
                r#""error":{"error_type":"ERROR_NEW","error_message":"x"}"#,
            );
        let t = tx(&body);
        assert_eq!(t.status.status, Status::Unknown("refunded".into()));
        assert!(!t.status.status.is_final());
        let err = t.status.error.as_ref().unwrap();
        assert_eq!(err.error_type, Some(ErrorType::Unknown("ERROR_NEW".into())));
        assert!(t.to_json().contains(r#""error_type":"ERROR_NEW""#));
        for s in [
            "pending",
            "authorized",
            "success",
            "error",
            "denied",
            "completed",
            "new",
        ] {
            let st: Status = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(st.as_str(), s);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
            assert_eq!(st.is_final(), matches!(s, "error" | "denied" | "completed"));
        }
    }

    #[test]
    fn bad_bodies_name_the_field_and_quote_nothing() {
        for (body, field) in [
            (
                OK.replace(r#""amount":1000"#, r#""amount":10.001"#),
                "amount",
            ),
            (OK.replace(r#""amount":1000"#, r#""amount":-1"#), "amount"),
            (
                OK.replace(r#""amount":1000"#, r#""amount":"1O00""#),
                "amount",
            ),
            (
                OK.replace(r#""order_id":"1""#, r#""order_id":"""#),
                "order_id",
            ),
            (
                OK.replace("2019-02-05T14:22:53+06:00", "yesterday"),
                "created_at",
            ),
            (OK.replace(r#""status":"completed","#, ""), "status.status"),
            (
                OK.replace(r#""merchant_id":1"#, r#""merchant_id":"one""#),
                "merchant_id",
            ),
            (
                OK.replace(
                    r#""transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","#,
                    "",
                ),
                "transaction_hash",
            ),
        ] {
            match read_transaction(body.as_bytes()) {
                Err(TransactionProblem::Field(f, reason)) => {
                    assert_eq!(f, field, "{body}");
                    for quoted in ["1O00", "yesterday", "10.001", "one"] {
                        assert!(!reason.contains(quoted), "{reason}");
                    }
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        for body in ["", "null", "[1]", "{", "\u{0}", r#"{"amount": {"x": 1}}"#] {
            assert!(read_transaction(body.as_bytes()).is_err(), "{body}");
        }
        // serde_json would quote "s3cr3t" in its message; the summary does not.
        match read_transaction(br#"{"status": "s3cr3t"}"#) {
            Err(TransactionProblem::Json(reason)) => {
                assert!(!reason.contains("s3cr3t"), "{reason}");
                assert!(reason.contains("line 1"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lenient_about_shapes() {
        let body = OK
            .replace(r#""order_id":"1""#, r#""order_id":1"#)
            .replace(r#""merchant_id":1"#, r#""merchant_id":"1""#)
            .replace(r#""amount":1000"#, r#""amount":"1000.00""#)
            .replace("2019-02-05T14:23:09+06:00", "2019-02-05 14:23:09+06:00")
            .replace("2019-02-05T14:22:53+06:00", "2019-02-05 14:22:53")
            .replace(
                r#""updated_at":null,"status""#,
                r#""updated_at":"","extra":[1],"status""#,
            );
        let t = tx(&body);
        assert_eq!(t.order_id.as_str(), "1");
        assert_eq!(t.merchant_id, Some(1));
        assert_eq!(t.amount, Amount::from_minor(100_000));
        assert!(matches!(t.created_at, Timestamp::Local(_)));
        assert_eq!(t.updated_at, None);
        // The normalised JSON keeps the timestamp as sent, and reads back the same.
        assert!(t
            .to_json()
            .contains(r#""created_at":"2019-02-05 14:22:53""#));
        assert_eq!(tx(&t.to_json()), t);
    }

    #[test]
    fn service_ids_are_sent_as_numbers() {
        let order = Order::builder("o", "1".parse().unwrap())
            .service("1", "17-25022")
            .user(User::with_id("u").phone("8 777 888 99 00"))
            .build()
            .unwrap();
        let json = serde_json::to_string(&CreatePaymentWire::from(&order)).unwrap();
        assert!(
            json.contains(r#""service":{"service_id":1,"contract_value":"17-25022"}"#),
            "{json}"
        );
        assert!(json.contains(r#""phone":"+77778889900""#), "{json}");
    }
}
