//! Wire structs and the fallible conversions between them and the domain types.

use payments_core::{Amount, Response};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, ProviderError};
use crate::types::{
    Discount, FiscalDocumentNumber, FiscalDriveNumber, FiscalSign, OrderId, PayDate, PaymentId,
    Phone, ReceiptType, TransferStatus,
};
use crate::{Checkout, Confirmation, Receipt, ReceiptAccepted, Transfer};

/// The platform id field the client sends (the provider's PHP class sends this one).
pub(crate) const PLATFORM_UID: &str = "platformUid";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BalanceRequest<'a> {
    pub phone: &'a Phone,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InitRequest<'a> {
    pub phone: &'a Phone,
    pub order_id: &'a OrderId,
    pub amount: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckoutRequest<'a> {
    pub order_id: &'a OrderId,
    pub amount: u64,
}

#[derive(Serialize)]
pub(crate) struct ConfirmationRequest<'a> {
    pub phone: &'a Phone,
    pub code: Value,
}

#[derive(Serialize)]
pub(crate) struct ReceiptRequest<'a> {
    pub phone: &'a Phone,
    pub amount: u64,
    #[serde(rename = "fn")]
    pub fiscal_drive: &'a FiscalDriveNumber,
    #[serde(rename = "fd")]
    pub fiscal_document: &'a FiscalDocumentNumber,
    #[serde(rename = "fp")]
    pub fiscal_sign: &'a FiscalSign,
    pub pay_date: &'a PayDate,
    pub receipt_type: ReceiptType,
    pub discount: u64,
}

impl<'a> From<&'a Receipt> for ReceiptRequest<'a> {
    fn from(r: &'a Receipt) -> Self {
        ReceiptRequest {
            phone: &r.phone,
            amount: r.amount.minor(),
            fiscal_drive: &r.fiscal_drive,
            fiscal_document: &r.fiscal_document,
            fiscal_sign: &r.fiscal_sign,
            pay_date: &r.pay_date,
            receipt_type: r.receipt_type,
            discount: Discount::amount(r.discount).minor(),
        }
    }
}

/// Serialises a request into the parameter map, adding the platform id.
pub(crate) fn params<T: Serialize>(
    request: &T,
    platform_uid: &str,
) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(request) {
        Ok(Value::Object(mut map)) => {
            map.insert(
                PLATFORM_UID.to_owned(),
                Value::String(platform_uid.to_owned()),
            );
            Ok(map)
        }
        Ok(_) => {
            Err(payments_core::Error::config("a request did not serialise to an object").into())
        }
        Err(e) => Err(
            payments_core::Error::config("a request could not be serialised")
                .with_source(e)
                .into(),
        ),
    }
}

/// A lenient boolean: `true`/`false`, `"true"`/`"false"`, `1`/`0`, `"1"`/`"0"`.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => return Err(de::Error::custom("status must be a boolean")),
        },
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => return Err(de::Error::custom("status must be a boolean")),
        },
        Some(_) => return Err(de::Error::custom("status must be a boolean")),
    })
}

/// A lenient string: a string, or a number or boolean as its text.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(_) => return Err(de::Error::custom("expected a string")),
    })
}

/// Every field any answer may carry.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireAnswer {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub status: Option<bool>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(default)]
    pub balance: Option<Box<RawValue>>,
    #[serde(default)]
    pub payment_id: Option<Box<RawValue>>,
    #[serde(default)]
    pub order_id: Option<Box<RawValue>>,
    #[serde(default)]
    pub amount: Option<Box<RawValue>>,
    #[serde(default, rename = "transferURL", alias = "transferUrl")]
    pub transfer_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub transfer_status: Option<String>,
}

impl WireAnswer {
    fn refusal(&self, http_status: u16) -> Option<ProviderError> {
        let code_failed = self.error_code.as_deref().is_some_and(|c| c != "0");
        if self.status == Some(false) || code_failed {
            Some(ProviderError {
                code: self.error_code.clone().unwrap_or_default(),
                message: self.message.clone().filter(|m| !m.is_empty()),
                http_status,
                transfer_status: self.transfer_status.as_deref().map(TransferStatus::from),
            })
        } else {
            None
        }
    }
}

/// Decodes an answer of any HTTP status: a refusal becomes [`ProviderError`], a body that is
/// not an answer becomes a status error (non-2xx) or a decode error (2xx).
pub(crate) fn decode(resp: &Response) -> Result<WireAnswer, Error> {
    let http_status = resp.status.as_u16();
    // Only an object is an answer (serde would also read a struct from an array).
    let is_object = resp.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let parsed = if is_object {
        serde_json::from_slice::<WireAnswer>(&resp.body).map_err(Some)
    } else {
        Err(None)
    };
    match parsed {
        Ok(answer) if answer.status.is_some() || answer.error_code.is_some() => {
            if let Some(refusal) = answer.refusal(http_status) {
                return Err(refusal.into());
            }
            if !resp.status.is_success() {
                return Err(payments_core::transport::status_error(resp).into());
            }
            Ok(answer)
        }
        _ if !resp.status.is_success() => Err(payments_core::transport::status_error(resp).into()),
        Ok(_) => Err(payments_core::Error::decode(
            "a Kupi-Kupi answer with `status` or `errorCode`",
            &resp.body,
        )
        .into()),
        Err(cause) => {
            let e = payments_core::Error::decode("a Kupi-Kupi JSON object", &resp.body);
            Err(match cause {
                Some(cause) => e.with_source(cause),
                None => e,
            }
            .into())
        }
    }
}

fn missing(field: &str, body: &[u8]) -> Error {
    payments_core::Error::decode(format!("the field `{field}`"), body).into()
}

fn field<T: for<'de> Deserialize<'de>>(
    raw: &Option<Box<RawValue>>,
    name: &str,
    body: &[u8],
) -> Result<T, Error> {
    let raw = raw.as_ref().ok_or_else(|| missing(name, body))?;
    serde_json::from_str(raw.get()).map_err(|e| {
        Error::from(payments_core::Error::decode(format!("a valid `{name}`"), body).with_source(e))
    })
}

fn kopecks(raw: &Option<Box<RawValue>>, name: &str, body: &[u8]) -> Result<Amount, Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct K(#[serde(with = "payments_core::money::minor_units")] Amount);
    field::<K>(raw, name, body).map(|k| k.0)
}

pub(crate) fn balance(answer: &WireAnswer, body: &[u8]) -> Result<Amount, Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct D(#[serde(with = "payments_core::money::decimal")] Amount);
    field::<D>(&answer.balance, "balance", body).map(|d| d.0)
}

pub(crate) fn transfer(answer: &WireAnswer, body: &[u8]) -> Result<Transfer, Error> {
    let url = answer
        .transfer_url
        .as_deref()
        .ok_or_else(|| missing("transferURL", body))?;
    let transfer_url: http::Uri = url
        .parse()
        .map_err(|_| missing("transferURL as an absolute URL", body))?;
    if transfer_url.scheme().is_none() || transfer_url.host().is_none() {
        return Err(missing("transferURL as an absolute URL", body));
    }
    Ok(Transfer {
        payment_id: field::<PaymentId>(&answer.payment_id, "paymentId", body)?,
        order_id: field::<OrderId>(&answer.order_id, "orderId", body)?,
        amount: kopecks(&answer.amount, "amount", body)?,
        transfer_url,
    })
}

pub(crate) fn checkout(answer: &WireAnswer, body: &[u8]) -> Result<Checkout, Error> {
    Ok(Checkout {
        transfer_status: answer
            .transfer_status
            .as_deref()
            .map(TransferStatus::from)
            .ok_or_else(|| missing("transferStatus", body))?,
        payment_id: field::<PaymentId>(&answer.payment_id, "paymentId", body)?,
        order_id: answer
            .order_id
            .as_ref()
            .map(|_| field::<OrderId>(&answer.order_id, "orderId", body))
            .transpose()?,
    })
}

pub(crate) fn confirmation(answer: &WireAnswer, body: &[u8]) -> Result<Confirmation, Error> {
    Ok(Confirmation {
        transfer_status: answer.transfer_status.as_deref().map(TransferStatus::from),
        payment_id: answer
            .payment_id
            .as_ref()
            .map(|_| field::<PaymentId>(&answer.payment_id, "paymentId", body))
            .transpose()?,
        order_id: answer
            .order_id
            .as_ref()
            .map(|_| field::<OrderId>(&answer.order_id, "orderId", body))
            .transpose()?,
        message: answer.message.clone().filter(|m| !m.is_empty()),
    })
}

pub(crate) fn receipt(answer: &WireAnswer) -> ReceiptAccepted {
    ReceiptAccepted {
        message: answer.message.clone().filter(|m| !m.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TransferAmount;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn refusals_are_provider_errors_whatever_the_status() {
        for status in [200, 400, 401, 500] {
            let r = resp(
                status,
                r#"{"status":false,"errorCode":"102","message":"bad token"}"#,
            );
            let e = decode(&r).err().unwrap();
            let p = e.provider().expect("provider error");
            assert_eq!(p.code, "102");
            assert_eq!(p.message.as_deref(), Some("bad token"));
            assert_eq!(p.http_status, status);
        }
        let r = resp(200, r#"{"status":true,"errorCode":7}"#);
        assert_eq!(decode(&r).err().unwrap().provider().unwrap().code, "7");
        let r = resp(200, r#"{"status":"false"}"#);
        assert!(decode(&r).err().unwrap().provider().is_some());
    }

    #[test]
    fn non_answers_are_integration_failures() {
        let e = decode(&resp(502, "<html>bad gateway</html>"))
            .err()
            .unwrap();
        assert!(
            matches!(e, Error::Transport(ref t) if t.status() == Some(StatusCode::BAD_GATEWAY))
        );
        let e = decode(&resp(200, "<html>")).err().unwrap();
        assert!(
            matches!(e, Error::Transport(ref t) if matches!(t.kind(), payments_core::ErrorKind::Decode{..}))
        );
        let e = decode(&resp(200, "{}")).err().unwrap();
        assert!(matches!(e, Error::Transport(_)));
        let e = decode(&resp(200, "[1,2]")).err().unwrap();
        assert!(matches!(e, Error::Transport(_)));
        let e = decode(&resp(500, r#"{"status":true,"errorCode":"0"}"#))
            .err()
            .unwrap();
        assert!(matches!(e, Error::Transport(_)));
    }

    #[test]
    fn balance_is_exact() {
        for (text, minor) in [
            ("1000000", 100_000_000u64),
            ("1000000.00", 100_000_000),
            ("12.5", 1250),
            ("\"0.01\"", 1),
        ] {
            let body = format!(r#"{{"status":true,"errorCode":"0","balance":{text}}}"#);
            let a = decode(&resp(200, &body)).unwrap();
            assert_eq!(
                balance(&a, body.as_bytes()).unwrap().minor(),
                minor,
                "{text}"
            );
        }
        let body = r#"{"status":true,"errorCode":"0","balance":0.001}"#;
        let a = decode(&resp(200, body)).unwrap();
        assert!(balance(&a, body.as_bytes()).is_err());
        let body = r#"{"status":true,"errorCode":"0"}"#;
        let a = decode(&resp(200, body)).unwrap();
        assert!(balance(&a, body.as_bytes()).is_err());
    }

    #[test]
    fn init_answer() {
        let body = r#"{"status":true,"errorCode":"0","paymentId":123456789012345678901,"orderId":1234,"amount":"25000","transferURL":"https://pay.example/form/1","extra":[1]}"#;
        let a = decode(&resp(200, body)).unwrap();
        let t = transfer(&a, body.as_bytes()).unwrap();
        assert_eq!(t.payment_id.as_str(), "123456789012345678901");
        assert_eq!(t.order_id.as_str(), "1234");
        assert_eq!(t.amount.minor(), 25_000);
        assert_eq!(t.transfer_url.host(), Some("pay.example"));
        let body = r#"{"status":true,"errorCode":"0","paymentId":1,"orderId":"1","amount":1,"transferURL":"/relative"}"#;
        let a = decode(&resp(200, body)).unwrap();
        assert!(transfer(&a, body.as_bytes()).is_err());
    }

    #[test]
    fn checkout_answer_with_unknown_status() {
        let body = r#"{"status":true,"errorCode":"0","paymentId":"9","transferStatus":"ON_HOLD","orderId":"o"}"#;
        let a = decode(&resp(200, body)).unwrap();
        let c = checkout(&a, body.as_bytes()).unwrap();
        assert_eq!(c.transfer_status, TransferStatus::Unknown("ON_HOLD".into()));
        assert!(!c.transfer_status.is_final());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), status in 100u16..600) {
            let r = resp(status, "");
            let r = Response { body: Bytes::from(body), ..r };
            if let Ok(a) = decode(&r) {
                let _ = balance(&a, &r.body);
                let _ = transfer(&a, &r.body);
                let _ = checkout(&a, &r.body);
                let _ = confirmation(&a, &r.body);
            }
        }

        #[test]
        fn decoding_json_shapes_never_panics(
            status in proptest::prop_oneof![proptest::strategy::Just("true"), proptest::strategy::Just("\"0\""), proptest::strategy::Just("[]"), proptest::strategy::Just("null")],
            value in proptest::prop_oneof![proptest::strategy::Just("1"), proptest::strategy::Just("-1"), proptest::strategy::Just("1e400"), proptest::strategy::Just("\"x\""), proptest::strategy::Just("{}"), proptest::strategy::Just("0.001")],
        ) {
            let body = format!(r#"{{"status":{status},"errorCode":"0","balance":{value},"paymentId":{value},"orderId":{value},"amount":{value},"transferURL":{value},"transferStatus":{value}}}"#);
            let r = resp(200, &body);
            if let Ok(a) = decode(&r) {
                let _ = balance(&a, &r.body);
                let _ = transfer(&a, &r.body);
                let _ = checkout(&a, &r.body);
                let _ = confirmation(&a, &r.body);
            }
        }
    }

    #[test]
    fn receipt_request_shape() {
        let r = Receipt {
            phone: Phone::new("79000000001").unwrap(),
            amount: TransferAmount::from_minor(100).unwrap(),
            fiscal_drive: FiscalDriveNumber::new("9999078900012345").unwrap(),
            fiscal_document: FiscalDocumentNumber::new("42").unwrap(),
            fiscal_sign: FiscalSign::new("0123456789").unwrap(),
            pay_date: PayDate::new(2023, 3, 5, 14, 7, 9).unwrap(),
            receipt_type: ReceiptType::Income,
            discount: Discount::NONE,
        };
        let p = params(&ReceiptRequest::from(&r), "uid").unwrap();
        assert_eq!(
            Value::Object(p),
            serde_json::json!({
                "phone": 79000000001u64, "amount": 100, "fn": "9999078900012345", "fd": "42",
                "fp": "0123456789", "pay_date": "05.03.2023 14:07:09", "receipt_type": 1,
                "discount": 0, "platformUid": "uid"
            })
        );
    }
}
