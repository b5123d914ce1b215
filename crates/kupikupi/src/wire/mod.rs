//! The wire: the request structs (their parameters, in signing order) and the answer, read once
//! from its body, with its `TryFrom` conversions into the model's types. Private. Its private
//! submodules are the request token (`token`: the provider's PHP rule, public through the
//! crate's re-exports) and the typed parameter list the client signs (`params`).

use std::borrow::Cow;

use payments_core::{Amount, Response};
use serde::de::Deserializer;
use serde::Deserialize;
#[cfg(test)]
use serde::Serialize;
use serde_json::value::RawValue;
#[cfg(test)]
use serde_json::{Map, Value};

use crate::error::{Echo, Error, InitMismatch, ProviderError, TRANSFER_STATUS_DETAIL};
use crate::model::ConfirmationCode;
use crate::model::{
    raw_scalar_text, Checkout, Confirmation, Discount, FiscalDocumentNumber, FiscalDriveNumber,
    FiscalSign, OrderId, PayDate, PaymentId, Phone, Receipt, ReceiptAccepted, ReceiptType,
    Transfer, TransferAmount, TransferStatus,
};

mod params;
pub(crate) mod token;

pub(crate) use self::params::{Params, Scalar};
pub(crate) use self::token::TokenError;

/// The provider's name in a [`ProviderError`].
pub(crate) const PROVIDER_NAME: &str = "Kupi-Kupi";

/// The platform id field the client sends (the provider's PHP class sends this one).
pub(crate) const PLATFORM_UID: &str = "platformUid";

// The request structs list their parameters once, as typed pairs (`params`), in byte-wise key
// order (the order the token needs; checked in debug builds). Under test they also derive
// `Serialize`, to check against the general map-based signer that the typed path gives the
// same token and the same bytes.

#[cfg_attr(test, derive(Serialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub(crate) struct BalanceRequest<'a> {
    pub phone: &'a Phone,
}

impl<'a> BalanceRequest<'a> {
    pub(crate) fn params(&self, platform_uid: &'a str) -> Params<'a, 2> {
        Params::new([
            ("phone", Scalar::Int(self.phone.as_u64())),
            (PLATFORM_UID, Scalar::Str(platform_uid.into())),
        ])
    }
}

#[cfg_attr(test, derive(Serialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub(crate) struct InitRequest<'a> {
    pub phone: &'a Phone,
    pub order_id: &'a OrderId,
    pub amount: u64,
}

impl<'a> InitRequest<'a> {
    pub(crate) fn params(&self, platform_uid: &'a str) -> Params<'a, 4> {
        Params::new([
            ("amount", Scalar::Int(self.amount)),
            ("orderId", Scalar::Str(self.order_id.as_str().into())),
            ("phone", Scalar::Int(self.phone.as_u64())),
            (PLATFORM_UID, Scalar::Str(platform_uid.into())),
        ])
    }
}

#[cfg_attr(test, derive(Serialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub(crate) struct CheckoutRequest<'a> {
    pub order_id: &'a OrderId,
    pub amount: u64,
}

impl<'a> CheckoutRequest<'a> {
    pub(crate) fn params(&self, platform_uid: &'a str) -> Params<'a, 3> {
        Params::new([
            ("amount", Scalar::Int(self.amount)),
            ("orderId", Scalar::Str(self.order_id.as_str().into())),
            (PLATFORM_UID, Scalar::Str(platform_uid.into())),
        ])
    }
}

/// The JSON value sent for a confirmation code: a number, or a string when the code starts
/// with `0`.
pub(crate) fn code_scalar(code: &ConfirmationCode) -> Scalar<'_> {
    let digits = code.expose();
    match digits.parse::<u64>() {
        Ok(n) if !digits.starts_with('0') || digits == "0" => Scalar::Int(n),
        _ => Scalar::Str(digits.into()),
    }
}

#[cfg_attr(test, derive(Serialize))]
pub(crate) struct ConfirmationRequest<'a> {
    pub phone: &'a Phone,
    pub code: Scalar<'a>,
}

impl<'a> ConfirmationRequest<'a> {
    pub(crate) fn params(&self, platform_uid: &'a str) -> Params<'a, 3> {
        Params::new([
            ("code", self.code.clone()),
            ("phone", Scalar::Int(self.phone.as_u64())),
            (PLATFORM_UID, Scalar::Str(platform_uid.into())),
        ])
    }
}

#[cfg_attr(test, derive(Serialize))]
pub(crate) struct ReceiptRequest<'a> {
    pub phone: &'a Phone,
    pub amount: u64,
    #[cfg_attr(test, serde(rename = "fn"))]
    pub fiscal_drive: &'a FiscalDriveNumber,
    #[cfg_attr(test, serde(rename = "fd"))]
    pub fiscal_document: &'a FiscalDocumentNumber,
    #[cfg_attr(test, serde(rename = "fp"))]
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

impl<'a> ReceiptRequest<'a> {
    pub(crate) fn params(&self, platform_uid: &'a str) -> Params<'a, 9> {
        Params::new([
            ("amount", Scalar::Int(self.amount)),
            ("discount", Scalar::Int(self.discount)),
            ("fd", Scalar::Str(self.fiscal_document.as_str().into())),
            ("fn", Scalar::Str(self.fiscal_drive.as_str().into())),
            ("fp", Scalar::Str(self.fiscal_sign.as_str().into())),
            ("pay_date", Scalar::Str(self.pay_date.to_string().into())),
            ("phone", Scalar::Int(self.phone.as_u64())),
            (PLATFORM_UID, Scalar::Str(platform_uid.into())),
            (
                "receipt_type",
                Scalar::Int(u64::from(self.receipt_type.code())),
            ),
        ])
    }
}

/// Serialises a request into the parameter map, adding the platform id: the general path the
/// typed `params` are checked against.
#[cfg(test)]
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

/// The text fields of an answer, borrowed from the body when they hold no escape.
type Text<'a> = Option<Cow<'a, str>>;

/// A lenient string: a string, or a number or boolean as its text (core's one rule).
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Text<'de>, D::Error> {
    payments_core::wire::deserialize_text_or_number(d)
}

/// A string, borrowed when it can be (core's strict reader).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Text<'de>, D::Error> {
    payments_core::wire::deserialize_text(d)
}

/// Every field any answer may carry, borrowed from the body where it can be: the answer is
/// read once, without a `Value` tree, and the typed fields are parsed from their raw JSON
/// only when an operation needs them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireAnswer<'a> {
    #[serde(
        default,
        deserialize_with = "payments_core::wire::deserialize_lenient_bool"
    )]
    pub status: Option<bool>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub error_code: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub message: Text<'a>,
    #[serde(default, borrow)]
    pub balance: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub payment_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub order_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub amount: Option<&'a RawValue>,
    #[serde(
        default,
        borrow,
        rename = "transferURL",
        alias = "transferUrl",
        deserialize_with = "text"
    )]
    pub transfer_url: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub transfer_status: Text<'a>,
}

impl WireAnswer<'_> {
    fn refusal(&self, http_status: http::StatusCode) -> Option<ProviderError> {
        let code_failed = self.error_code.as_deref().is_some_and(|c| c != "0");
        if self.status == Some(false) || code_failed {
            let mut e = ProviderError::new(PROVIDER_NAME, http_status);
            if let Some(code) = self.error_code.as_deref().filter(|c| !c.is_empty()) {
                e = e.with_code(code.to_owned());
            }
            if let Some(message) = self.message() {
                e = e.with_message(message);
            }
            if let Some(status) = self.transfer_status.as_deref() {
                e = e.with_detail(TRANSFER_STATUS_DETAIL, status);
            }
            Some(e)
        } else {
            None
        }
    }

    /// The provider's message, unless empty.
    fn message(&self) -> Option<String> {
        self.message
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
    }
}

/// An answer read from its body (which it borrows from, and which a decode error quotes): what
/// the `TryFrom` conversions into the model's answer types take.
pub(crate) struct Answer<'r> {
    wire: WireAnswer<'r>,
    body: &'r [u8],
}

impl<'r> std::ops::Deref for Answer<'r> {
    type Target = WireAnswer<'r>;
    fn deref(&self) -> &WireAnswer<'r> {
        &self.wire
    }
}

/// Decodes an answer of any HTTP status: a refusal becomes [`ProviderError`], a body that is
/// not an answer becomes a status error (non-2xx) or a decode error (2xx).
pub(crate) fn decode(resp: &Response) -> Result<Answer<'_>, Error> {
    let http_status = resp.status;
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
            Ok(Answer {
                wire: answer,
                body: &resp.body,
            })
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

fn invalid(field: &str, shape: &str, body: &[u8]) -> Error {
    payments_core::Error::decode(format!("a valid `{field}` ({shape})"), body).into()
}

fn field<T: for<'de> Deserialize<'de>>(
    raw: Option<&RawValue>,
    name: &str,
    body: &[u8],
) -> Result<T, Error> {
    let raw = raw.ok_or_else(|| missing(name, body))?;
    serde_json::from_str(raw.get()).map_err(|e| {
        Error::from(payments_core::Error::decode(format!("a valid `{name}`"), body).with_source(e))
    })
}

/// A string or a non-negative integer field as its exact text (the rule of the public
/// `Deserialize` of [`PaymentId`] and [`OrderId`]), read straight from its raw JSON.
fn field_text<'r>(
    raw: Option<&'r RawValue>,
    name: &str,
    body: &[u8],
) -> Result<Cow<'r, str>, Error> {
    let raw = raw.ok_or_else(|| missing(name, body))?;
    raw_scalar_text(raw.get())
        .ok_or_else(|| invalid(name, "a string or a non-negative integer", body))
}

fn payment_id(raw: Option<&RawValue>, body: &[u8]) -> Result<PaymentId, Error> {
    let text = field_text(raw, "paymentId", body)?;
    PaymentId::new(text.into_owned()).map_err(|_| invalid("paymentId", "1 to 43 digits", body))
}

fn order_id(raw: Option<&RawValue>, body: &[u8]) -> Result<OrderId, Error> {
    let text = field_text(raw, "orderId", body)?;
    OrderId::new(text.into_owned())
        .map_err(|_| invalid("orderId", "1 to 36 characters, no control character", body))
}

/// A number of kopecks read leniently from its raw JSON: an integer, a string of digits, or
/// either with a fraction of zeros only (`25000.0`, `"25000.00"`: PHP may send an integer as a
/// float). `None` for anything else: a real fraction, a sign, an exponent, another type.
fn lenient_kopecks(raw: &str) -> Option<u64> {
    let text = raw_scalar_text(raw).or_else(|| {
        // A bare JSON number with a fraction is not a "scalar text"; read it here.
        let t = raw.trim();
        t.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
            .then_some(Cow::Borrowed(t))
    })?;
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_ref(), None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(whole)
        || fraction.is_some_and(|f| !digits_only(f) || f.bytes().any(|b| b != b'0'))
    {
        return None;
    }
    whole.parse().ok()
}

/// The JSON text of an echoed value, for an [`Echo`]: cut, never a secret (the provider's
/// answer to the merchant's own call).
fn echo_text(raw: &RawValue) -> Echo {
    Echo::Other(raw.get().trim().chars().take(64).collect())
}

/// The `balance` answer: `decimal(10,2)`, read exactly.
impl TryFrom<&Answer<'_>> for Amount {
    type Error = Error;
    fn try_from(answer: &Answer<'_>) -> Result<Amount, Error> {
        #[derive(Deserialize)]
        #[serde(transparent)]
        struct D(#[serde(with = "payments_core::money::decimal")] Amount);
        field::<D>(answer.balance, "balance", answer.body).map(|d| d.0)
    }
}

/// The `init` answer, checked against the request it answers. Once the answer names a
/// transfer (a valid `paymentId` and `transferURL`), nothing in the echoed fields turns it into
/// a decode error: a missing, unreadable or different `orderId` or `amount` is an
/// [`InitMismatch`] that keeps the transfer's id and URL.
impl TryFrom<(&Answer<'_>, &OrderId, TransferAmount)> for Transfer {
    type Error = Error;
    fn try_from(
        (answer, sent_order_id, sent_amount): (&Answer<'_>, &OrderId, TransferAmount),
    ) -> Result<Transfer, Error> {
        let body = answer.body;
        let payment_id = payment_id(answer.payment_id, body)?;
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
        let order_echo = match answer.order_id {
            None => Some(Echo::Missing),
            Some(raw) => match raw_scalar_text(raw.get()) {
                Some(text) if text == sent_order_id.as_str() => None,
                _ => Some(echo_text(raw)),
            },
        };
        let amount_echo = match answer.amount {
            None => Some(Echo::Missing),
            Some(raw) => match lenient_kopecks(raw.get()) {
                Some(k) if k == sent_amount.minor() => None,
                _ => Some(echo_text(raw)),
            },
        };
        if order_echo.is_some() || amount_echo.is_some() {
            return Err(Error::InitMismatch(Box::new(InitMismatch {
                payment_id,
                transfer_url,
                sent_order_id: sent_order_id.clone(),
                sent_amount,
                order_id: order_echo,
                amount: amount_echo,
            })));
        }
        Ok(Transfer {
            payment_id,
            order_id: sent_order_id.clone(),
            amount: sent_amount,
            transfer_url,
        })
    }
}

impl TryFrom<&Answer<'_>> for Checkout {
    type Error = Error;
    fn try_from(answer: &Answer<'_>) -> Result<Checkout, Error> {
        let body = answer.body;
        Ok(Checkout {
            transfer_status: answer
                .transfer_status
                .as_deref()
                .map(TransferStatus::from_wire)
                .ok_or_else(|| missing("transferStatus", body))?,
            payment_id: payment_id(answer.payment_id, body)?,
            order_id: answer
                .order_id
                .map(|raw| order_id(Some(raw), body))
                .transpose()?,
        })
    }
}

/// The `confirmation` answer. The guide documents no field beyond `status` and `errorCode`, so
/// the others are extras: kept when readable, left out when not (the confirmation itself
/// succeeded; an odd extra must not turn it into a decode error).
impl TryFrom<&Answer<'_>> for Confirmation {
    type Error = Error;
    fn try_from(answer: &Answer<'_>) -> Result<Confirmation, Error> {
        let body = answer.body;
        Ok(Confirmation {
            transfer_status: answer
                .transfer_status
                .as_deref()
                .map(TransferStatus::from_wire),
            payment_id: answer
                .payment_id
                .and_then(|raw| payment_id(Some(raw), body).ok()),
            order_id: answer
                .order_id
                .and_then(|raw| order_id(Some(raw), body).ok()),
            message: answer.message(),
        })
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::Invalid(e.into())
    }
}

impl From<&Answer<'_>> for ReceiptAccepted {
    fn from(answer: &Answer<'_>) -> ReceiptAccepted {
        ReceiptAccepted {
            message: answer.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn confirmation_codes_keep_their_leading_zero() {
        let scalar = |c: &str| -> Scalar<'static> {
            match code_scalar(&ConfirmationCode::new(c).unwrap()) {
                Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
                Scalar::Int(n) => Scalar::Int(n),
            }
        };
        assert_eq!(scalar("1111"), Scalar::Int(1111));
        assert_eq!(scalar("0123"), Scalar::Str("0123".into()));
        assert_eq!(scalar("0"), Scalar::Int(0));
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
            assert_eq!(p.code().map(String::as_str), Some("102"));
            assert_eq!(p.message(), "bad token");
            assert_eq!(p.http_status, status);
            assert_eq!(p.provider, "Kupi-Kupi");
        }
        let r = resp(200, r#"{"status":true,"errorCode":7}"#);
        assert_eq!(
            decode(&r).err().unwrap().provider().unwrap().code(),
            Some(&"7".to_owned())
        );
        let r = resp(200, r#"{"status":"false"}"#);
        assert!(decode(&r).err().unwrap().provider().is_some());
    }

    #[test]
    fn lenient_fields_read_every_shape_once() {
        // Escaped text cannot be borrowed from the body; it is still read exactly.
        let r = resp(
            200,
            r#"{"status":"false","errorCode":1.5,"message":"line\nnext \u0416","transferStatus":true}"#,
        );
        let e = decode(&r).err().unwrap();
        let p = e.provider().expect("a refusal");
        assert_eq!(p.code().map(String::as_str), Some("1.5"));
        assert_eq!(p.message(), "line\nnext Ж");
        assert_eq!(
            e.transfer_status(),
            Some(TransferStatus::Unknown("true".into()))
        );
        assert_eq!(p.detail(TRANSFER_STATUS_DETAIL), Some("true"));
        for (status, refused) in [("true", false), ("1", false), ("\"1\"", false), ("0", true)] {
            let r = resp(200, &format!(r#"{{"status":{status},"errorCode":"0"}}"#));
            assert_eq!(decode(&r).is_err(), refused, "{status}");
        }
        // Shapes that are not a boolean, or not a string, are integration failures.
        for body in [
            r#"{"status":2,"errorCode":"0"}"#,
            r#"{"status":"yes","errorCode":"0"}"#,
            r#"{"status":-1,"errorCode":"0"}"#,
            r#"{"status":true,"errorCode":["0"]}"#,
            r#"{"status":true,"errorCode":"0","transferURL":5}"#,
        ] {
            let e = decode(&resp(200, body)).err().unwrap();
            assert!(
                matches!(e, Error::Transport(ref t) if matches!(t.kind(), payments_core::ErrorKind::Decode{..})),
                "{body}"
            );
        }
        let r = resp(200, r#"{"status":null,"errorCode":0,"transferURL":null}"#);
        let a = decode(&r).unwrap();
        assert_eq!(a.status, None);
        assert_eq!(a.error_code.as_deref(), Some("0"));
        assert!(a.transfer_url.is_none());
    }

    fn same_as_public_deserialize(raw_json: &str) {
        let raw: Box<RawValue> = match serde_json::from_str(raw_json) {
            Ok(r) => r,
            Err(_) => return,
        };
        let fast = payment_id(Some(&raw), b"").ok();
        let slow = serde_json::from_str::<PaymentId>(raw_json).ok();
        assert_eq!(fast, slow, "paymentId {raw_json}");
        let fast = order_id(Some(&raw), b"").ok();
        let slow = serde_json::from_str::<OrderId>(raw_json).ok();
        assert_eq!(fast, slow, "orderId {raw_json}");
    }

    #[test]
    fn ids_read_from_raw_json_like_their_deserialize() {
        for raw in [
            r#""123""#,
            "123",
            "0",
            r#""a\"b""#,
            r#""\u0031\u0032""#,
            r#""line\nbreak""#,
            "-1",
            "1.5",
            "1e3",
            "true",
            "null",
            r#""""#,
            r#"" 7 ""#,
            "[1]",
            "{}",
            "123456789012345678901234567890123456789012345678901",
            r#""заказ-42""#,
        ] {
            same_as_public_deserialize(raw);
        }
    }

    proptest::proptest! {
        #[test]
        fn ids_from_any_string_read_like_their_deserialize(text in "\\PC{0,40}|[0-9]{1,45}") {
            same_as_public_deserialize(&serde_json::to_string(&text).unwrap());
            same_as_public_deserialize(&text);
        }
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
            let r = resp(200, &body);
            let a = decode(&r).unwrap();
            assert_eq!(Amount::try_from(&a).unwrap().minor(), minor, "{text}");
        }
        let body = r#"{"status":true,"errorCode":"0","balance":0.001}"#;
        let r = resp(200, body);
        let a = decode(&r).unwrap();
        assert!(Amount::try_from(&a).is_err());
        let body = r#"{"status":true,"errorCode":"0"}"#;
        let r = resp(200, body);
        let a = decode(&r).unwrap();
        assert!(Amount::try_from(&a).is_err());
    }

    fn init(body: &str, order: &str, kopecks: u64) -> Result<Transfer, Error> {
        let r = resp(200, body);
        let a = decode(&r)?;
        Transfer::try_from((
            &a,
            &OrderId::new(order).unwrap(),
            TransferAmount::from_minor(kopecks).unwrap(),
        ))
    }

    #[test]
    fn init_answer() {
        let body = r#"{"status":true,"errorCode":"0","paymentId":123456789012345678901,"orderId":1234,"amount":"25000","transferURL":"https://pay.example/form/1","extra":[1]}"#;
        let t = init(body, "1234", 25_000).unwrap();
        assert_eq!(t.payment_id.as_str(), "123456789012345678901");
        assert_eq!(t.order_id.as_str(), "1234");
        assert_eq!(t.amount.minor(), 25_000);
        assert_eq!(t.transfer_url.host(), Some("pay.example"));
        let body = r#"{"status":true,"errorCode":"0","paymentId":1,"orderId":"1","amount":1,"transferURL":"/relative"}"#;
        assert!(init(body, "1", 1).is_err());
        // Amounts PHP may send as a float with a zero fraction are the same whole kopecks.
        for amount in ["25000.0", "\"25000.00\"", "\"25000\"", "25000"] {
            let body = format!(
                r#"{{"status":true,"errorCode":"0","paymentId":7,"orderId":"o","amount":{amount},"transferURL":"https://pay.example/7"}}"#
            );
            assert_eq!(
                init(&body, "o", 25_000).unwrap().amount.minor(),
                25_000,
                "{amount}"
            );
        }
    }

    /// Issue 12: an answer that does not echo the request is a typed error that keeps the
    /// transfer's id and URL, whatever the echoed amount looks like: never a decode error.
    #[test]
    fn an_init_answer_that_does_not_echo_the_request_keeps_the_transfer() {
        let cases: [(&str, &str, Option<Echo>, Option<Echo>); 9] = [
            // Another amount (a transfer made earlier under the same order id).
            (
                r#""orderId":"o","amount":24000"#,
                "o",
                None,
                Some(Echo::Other("24000".into())),
            ),
            // Another order id.
            (
                r#""orderId":"p","amount":25000"#,
                "o",
                Some(Echo::Other("\"p\"".into())),
                None,
            ),
            // Missing echoes (the guide marks both as required).
            (r#""amount":25000"#, "o", Some(Echo::Missing), None),
            (r#""orderId":"o""#, "o", None, Some(Echo::Missing)),
            // Amounts that are not whole kopecks, or not numbers at all.
            (
                r#""orderId":"o","amount":250.5"#,
                "o",
                None,
                Some(Echo::Other("250.5".into())),
            ),
            (
                r#""orderId":"o","amount":"250,00""#,
                "o",
                None,
                Some(Echo::Other("\"250,00\"".into())),
            ),
            (
                r#""orderId":"o","amount":-25000"#,
                "o",
                None,
                Some(Echo::Other("-25000".into())),
            ),
            (
                r#""orderId":"o","amount":2.5e4"#,
                "o",
                None,
                Some(Echo::Other("2.5e4".into())),
            ),
            (
                r#""orderId":["o"],"amount":{"v":1}"#,
                "o",
                Some(Echo::Other("[\"o\"]".into())),
                Some(Echo::Other("{\"v\":1}".into())),
            ),
        ];
        for (fields, order, want_order, want_amount) in cases {
            let body = format!(
                r#"{{"status":true,"errorCode":"0","paymentId":"99","transferURL":"https://pay.example/99",{fields}}}"#
            );
            let err = init(&body, order, 25_000).unwrap_err();
            let m = err
                .init_mismatch()
                .unwrap_or_else(|| panic!("{fields}: {err:?}"));
            assert_eq!(m.payment_id.as_str(), "99", "{fields}");
            assert_eq!(m.transfer_url.to_string(), "https://pay.example/99");
            assert_eq!(m.sent_order_id.as_str(), order);
            assert_eq!(m.sent_amount.minor(), 25_000);
            assert_eq!(m.order_id, want_order, "{fields}");
            assert_eq!(m.amount, want_amount, "{fields}");
            assert!(err.may_have_been_sent());
            assert!(!err.is_retryable());
            assert!(err.to_string().contains("99"), "{err}");
        }
        // A long echo is cut.
        let body = format!(
            r#"{{"status":true,"errorCode":"0","paymentId":1,"orderId":"{}","amount":1,"transferURL":"https://p.example/1"}}"#,
            "x".repeat(100)
        );
        let err = init(&body, "o", 1).unwrap_err();
        let Some(Echo::Other(text)) = &err.init_mismatch().unwrap().order_id else {
            panic!("{err:?}")
        };
        assert_eq!(text.chars().count(), 64);
    }

    #[test]
    fn lenient_kopecks_reads_whole_numbers_only() {
        for (raw, want) in [
            ("1", Some(1)),
            ("\"1\"", Some(1)),
            ("1.000", Some(1)),
            ("\"1.0\"", Some(1)),
            ("1.5", None),
            ("1.", None),
            (".0", None),
            ("-1", None),
            ("1e2", None),
            ("\" 1\"", None),
            ("true", None),
            ("null", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(lenient_kopecks(raw), want, "{raw}");
        }
    }

    #[test]
    fn a_confirmation_with_odd_extras_still_succeeded() {
        let body = r#"{"status":true,"errorCode":"0","paymentId":-1.5,"orderId":{"x":1},"amount":"n/a","transferStatus":"CONFIRMED"}"#;
        let r = resp(200, body);
        let c = Confirmation::try_from(&decode(&r).unwrap()).unwrap();
        assert_eq!(c.payment_id, None);
        assert_eq!(c.order_id, None);
        assert_eq!(c.transfer_status, Some(TransferStatus::Confirmed));
        let body = r#"{"status":true,"errorCode":"0","paymentId":"12","orderId":"o"}"#;
        let r = resp(200, body);
        let c = Confirmation::try_from(&decode(&r).unwrap()).unwrap();
        assert_eq!(c.payment_id.unwrap().as_str(), "12");
        assert_eq!(c.order_id.unwrap().as_str(), "o");
    }

    #[test]
    fn checkout_answer_with_unknown_status() {
        let body = r#"{"status":true,"errorCode":"0","paymentId":"9","transferStatus":"ON_HOLD","orderId":"o"}"#;
        let r = resp(200, body);
        let a = decode(&r).unwrap();
        let c = Checkout::try_from(&a).unwrap();
        assert_eq!(c.transfer_status, TransferStatus::Unknown("ON_HOLD".into()));
        assert!(!c.transfer_status.is_final());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), status in 100u16..600) {
            let r = resp(status, "");
            let r = Response { body: Bytes::from(body), ..r };
            if let Ok(a) = decode(&r) {
                let _ = Amount::try_from(&a);
                let _ = Transfer::try_from((&a, &OrderId::new("o").unwrap(), TransferAmount::from_minor(1).unwrap()));
                let _ = Checkout::try_from(&a);
                let _ = Confirmation::try_from(&a);
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
                let _ = Amount::try_from(&a);
                let _ = Transfer::try_from((&a, &OrderId::new("o").unwrap(), TransferAmount::from_minor(1).unwrap()));
                let _ = Checkout::try_from(&a);
                let _ = Confirmation::try_from(&a);
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
