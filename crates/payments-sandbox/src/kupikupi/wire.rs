//! The emulator's own reading of the wire format: the token rule and lenient field access.
//! Written independently of the `kupikupi` client crate, so each checks the other.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The token of `fields` (every field but `token`) with `secret`: the values sorted by key with
/// `secretKey` → secret added, arrays and objects skipped, PHP scalar text, lowercase hex
/// SHA-256.
pub fn token(fields: &Map<String, Value>, secret: &str) -> String {
    let mut pairs: Vec<(&str, String)> = fields
        .iter()
        .filter(|(k, _)| k.as_str() != "token")
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null | Value::Bool(false) => String::new(),
                Value::Bool(true) => "1".to_owned(),
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                Value::Array(_) | Value::Object(_) => return None,
            };
            Some((k.as_str(), text))
        })
        .collect();
    pairs.push(("secretKey", secret.to_owned()));
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut hasher = Sha256::new();
    for (_, text) in &pairs {
        hasher.update(text.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A field as text: a string as is, a number as its digits.
pub(crate) fn text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer given as a number or a string of digits.
pub(crate) fn integer(fields: &Map<String, Value>, key: &str) -> Option<u64> {
    match fields.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_vector() {
        let v = serde_json::json!({
            "platformUid": "M2hULcD58iYGkmS7", "phone": 79000000000u64, "orderId": 1234,
            "amount": "25000", "token": "ignored", "list": [1]
        });
        assert_eq!(
            token(v.as_object().unwrap(), "yIKirCvplm8N1D9g"),
            "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea"
        );
    }

    #[test]
    fn lenient_fields() {
        let v = serde_json::json!({"a": "12", "b": 12, "c": "x", "d": -1, "e": true});
        let m = v.as_object().unwrap();
        assert_eq!(integer(m, "a"), Some(12));
        assert_eq!(integer(m, "b"), Some(12));
        assert_eq!(integer(m, "c"), None);
        assert_eq!(integer(m, "d"), None);
        assert_eq!(text(m, "b").as_deref(), Some("12"));
        assert_eq!(text(m, "e"), None);
        assert!(payments_core::secret::ct_eq(b"ab", b"ab"));
        assert!(!payments_core::secret::ct_eq(b"ab", b"a"));
    }
}
