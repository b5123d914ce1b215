//! Reading the service's answers into the generated models, and the errors that never quote a
//! value of an answer's body.
//!
//! serde_json's messages quote the values they stumble on (`invalid type: string "…"`), and an
//! answer may hold a session token, the customer's QR data or an echo of the request; so no serde
//! error is attached to an error, and an excerpt of a JSON body is its *shape*: its field names
//! and the types of their values. (Core's `Error::decode` quotes a redacted excerpt; a core helper
//! that describes a body without its values would replace [`shape`] here.)

use http::StatusCode;
use payments_core::{ErrorKind, Response};
use serde_json::Value;

use crate::error::Error;
use crate::model::ErrorResponse;
use crate::operations::{ApiOperation, PROVIDER};
use crate::wire::provider_error;

/// The longest shape description, in characters.
const SHAPE_CHARS: usize = 160;

/// Decodes a 2xx answer into the operation's response type, or turns any other answer into an
/// error ([`Error::Provider`] for the common error body).
pub(crate) fn decode<O: ApiOperation>(resp: &Response) -> Result<O::Response, Error> {
    if !resp.status.is_success() {
        return Err(refusal::<O>(resp));
    }
    decode_body::<O>(&resp.body)
}

/// Decodes a success body. An empty body is read as `{}`, so that an answer whose fields are all
/// optional may be empty.
pub(crate) fn decode_body<O: ApiOperation>(body: &[u8]) -> Result<O::Response, Error> {
    let result = if body.trim_ascii().is_empty() {
        serde_json::from_slice(b"{}").or_else(|_| serde_json::from_slice(b"null"))
    } else {
        serde_json::from_slice(body)
    };
    result.map_err(|e| {
        let expected = format!(
            "a {} answer to {} ({})",
            O::INFO.response,
            O::INFO.id,
            payments_core::decode::JsonError::new(&e)
        );
        let kind = ErrorKind::Decode {
            expected,
            excerpt: shape(body),
        };
        Error::Transport(payments_core::Error::new(kind).with_operation(PROVIDER, O::INFO.id))
    })
}

/// A non-2xx answer: the service's error body if it has one, else a status error whose excerpt
/// never quotes a JSON value.
pub(crate) fn refusal<O: ApiOperation>(resp: &Response) -> Error {
    if let Ok(e) = serde_json::from_slice::<ErrorResponse>(&resp.body) {
        return Error::Provider(provider_error(resp.status, e));
    }
    Error::Transport(status_error(resp).with_operation(PROVIDER, O::INFO.id))
}

fn status_error(resp: &Response) -> payments_core::Error {
    let excerpt = if serde_json::from_slice::<Value>(&resp.body).is_ok() {
        shape(&resp.body)
    } else {
        // Not JSON: a proxy's page, say. Core's excerpt cuts it and drops control characters.
        payments_core::redact::excerpt(&resp.body)
    };
    payments_core::Error::new(ErrorKind::Status {
        status: resp.status,
        excerpt,
        retry_after: payments_core::retry::retry_after(&resp.headers, std::time::SystemTime::now()),
    })
}

/// Whether the answer is a 401.
pub(crate) fn is_unauthorized(resp: &Response) -> bool {
    resp.status == StatusCode::UNAUTHORIZED
}

/// The shape of a body: for JSON, its structure with every value replaced by its type
/// (`{"purchase_id": string, "status": number}`); for anything else, its length.
pub(crate) fn shape(body: &[u8]) -> String {
    if body.trim_ascii().is_empty() {
        return "an empty body".to_owned();
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return format!("{} bytes that are not JSON", body.len());
    };
    let mut out = String::new();
    describe(&value, &mut out);
    if out.chars().count() > SHAPE_CHARS {
        out = out.chars().take(SHAPE_CHARS).collect();
        out.push('…');
    }
    out
}

fn describe(value: &Value, out: &mut String) {
    if out.len() > SHAPE_CHARS * 2 {
        return;
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(_) => out.push_str("bool"),
        Value::Number(_) => out.push_str("number"),
        Value::String(_) => out.push_str("string"),
        Value::Array(items) => {
            out.push('[');
            if let Some(first) = items.first() {
                describe(first, out);
                if items.len() > 1 {
                    out.push_str(", …");
                }
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (name, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                // A field name is part of the shape; it is quoted as JSON would.
                out.push_str(&Value::from(name.as_str()).to_string());
                out.push_str(": ");
                describe(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{PurchaseStatusOp, ReleaseOp};
    use http::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.to_owned().into(),
        }
    }

    #[test]
    fn a_decode_error_quotes_no_value() {
        for body in [
            r#"{"purchase_id":"p-SECRET1","status":{"code":12345678}}"#,
            r#"{"purchase_id":"p-SECRET1","amount":"SECRET2"}"#,
            r#"["SECRET1", {"token": "SECRET2"}]"#,
            "SECRET1 not json",
        ] {
            let e = decode::<PurchaseStatusOp>(&response(200, body)).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(
                !text.contains("SECRET") && !text.contains("12345678"),
                "{text}"
            );
            // No serde error is attached: its message would quote the value.
            assert!(std::error::Error::source(&e).is_none(), "{e:?}");
        }
        // Core's open enums read a number as its text: a status the SDK does not know.
        let odd = decode::<PurchaseStatusOp>(&response(200, r#"{"purchase_id":"p-1","status":7}"#))
            .unwrap();
        assert_eq!(odd.status, crate::PurchaseStatus::Unknown("7".into()));
        let e = decode::<PurchaseStatusOp>(&response(200, r#"{"purchase_id":"p-1"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `status`"), "{e}");
        assert!(e.contains(r#"{\"purchase_id\": string}"#), "{e}");
    }

    #[test]
    fn a_status_error_with_a_json_body_quotes_its_shape_only() {
        let e = decode::<ReleaseOp>(&response(500, r#"{"detail":"SECRET1"}"#)).unwrap_err();
        let text = e.to_string();
        assert!(
            !text.contains("SECRET1") && text.contains("detail"),
            "{text}"
        );
        let e = decode::<ReleaseOp>(&response(502, "<h1>Bad Gateway</h1>")).unwrap_err();
        assert!(e.to_string().contains("Bad Gateway"), "{e}");
        let e = decode::<ReleaseOp>(&response(409, r#"{"code":"c","message":"m"}"#)).unwrap_err();
        assert_eq!(
            e.provider().and_then(|p| p.code()).map(String::as_str),
            Some("c")
        );
    }

    #[test]
    fn an_empty_answer_fills_an_all_optional_model() {
        let r = decode::<ReleaseOp>(&response(200, "")).unwrap();
        assert_eq!(r.status, None);
        assert!(decode::<PurchaseStatusOp>(&response(200, "")).is_err());
    }

    #[test]
    fn shapes() {
        assert_eq!(shape(b""), "an empty body");
        assert_eq!(shape(b"<html>"), "6 bytes that are not JSON");
        assert_eq!(
            shape(br#"{"a":[1,2],"b":{"c":null,"d":true}}"#),
            r#"{"a": [number, …], "b": {"c": null, "d": bool}}"#
        );
        let wide = format!(
            "{{{}}}",
            (0..100)
                .map(|i| format!("\"f{i}\":1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(shape(wide.as_bytes()).ends_with('…'));
    }
}
