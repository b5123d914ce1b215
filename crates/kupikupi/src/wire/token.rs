//! The request token: Kupi-Kupi's signature over a request's parameters.
//!
//! The rule is the provider's PHP class, reproduced byte for byte:
//!
//! 1. add the pair `secretKey` → the secret key (it is hashed, never sent);
//! 2. sort the pairs by key, byte-wise and case-sensitive (PHP `ksort` for non-numeric keys);
//! 3. skip every value that is an array or an object;
//! 4. turn every other value into text the way PHP does: an integer in decimal, `true` as `"1"`,
//!    `false` and `null` as `""`, a string as it is;
//! 5. concatenate the values (no keys, no separators);
//! 6. the token is the lowercase hex SHA-256 of that text.
//!
//! ```
//! use kupikupi::{token, Secret};
//!
//! let params = serde_json::json!({
//!     "platformUid": "M2hULcD58iYGkmS7",
//!     "phone": 79000000000u64,
//!     "orderId": 1234,
//!     "amount": 25000,
//! });
//! let t = token(params.as_object().unwrap(), &Secret::from("yIKirCvplm8N1D9g"))?;
//! assert_eq!(
//!     t.as_str(),
//!     "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea"
//! );
//! # Ok::<(), kupikupi::Invalid>(())
//! ```
//!
//! Two places where PHP would do something this function cannot reproduce exactly are refused
//! as [`Invalid`] (the field is `params.<key>`) instead of giving a token the provider would not compute:
//!
//! - a number that is not an integer in the `i64` range (PHP turns it into a float, whose text
//!   form depends on PHP's `precision` settings);
//! - a key that is a PHP numeric string such as `"10"` or `" 1.5"` (PHP turns integer-like keys
//!   into integers and compares numeric strings as numbers, so the order would differ).
//!
//! A key named `secretKey` is refused too: the provider's class would overwrite it.

use std::borrow::Cow;
use std::fmt;

use payments_core::{Invalid, Secret};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The key under which the secret key is hashed (and never sent).
pub const SECRET_KEY_FIELD: &str = "secretKey";

/// The field that carries the token in a request (and, if present, in a notification).
pub const TOKEN_FIELD: &str = "token";

/// A computed token: 64 lowercase hex digits. `Debug` hides it; read it with
/// [`Token::as_str`] when it is put on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digits, by value.
    pub(crate) fn into_string(self) -> String {
        self.0
    }

    /// Compares with a received token in constant time. An empty, shorter or longer candidate
    /// never matches. Case matters: the provider sends lowercase hex.
    pub fn ct_eq(&self, candidate: &str) -> bool {
        payments_core::secret::ct_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

/// Why parameters cannot be signed (public as an [`Invalid`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    /// A number that is not an integer in the `i64` range.
    #[error(
        "parameter {key:?} is a number that is not an integer in the i64 range; \
         send it as a string to sign it exactly"
    )]
    NonIntegerNumber {
        /// The parameter's key.
        key: String,
    },
    /// A key that PHP would treat as a number.
    #[error("parameter key {key:?} is a numeric string, which PHP sorts differently")]
    NumericKey {
        /// The key.
        key: String,
    },
    /// The parameters already contain `secretKey`.
    #[error("the parameters must not contain the reserved key \"secretKey\"")]
    ReservedKey,
    /// The input was not a JSON object.
    #[error("the parameters to sign must be a JSON object")]
    NotAnObject,
}

impl From<TokenError> for Invalid {
    fn from(e: TokenError) -> Self {
        let message = e.to_string();
        match e {
            TokenError::NonIntegerNumber { key } | TokenError::NumericKey { key } => {
                Invalid::new(format!("params.{key}"), message)
            }
            TokenError::ReservedKey => Invalid::new("params.secretKey", message),
            TokenError::NotAnObject => Invalid::new("params", message),
        }
    }
}

/// The text PHP gives `value` when it is concatenated, or `None` for an array or an object
/// (skipped). Strings are borrowed, not copied.
fn php_string<'a>(key: &str, value: &'a Value) -> Result<Option<Cow<'a, str>>, TokenError> {
    Ok(match value {
        Value::Null | Value::Bool(false) => Some(Cow::Borrowed("")),
        Value::Bool(true) => Some(Cow::Borrowed("1")),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Cow::Owned(i.to_string())),
            None => {
                return Err(TokenError::NonIntegerNumber {
                    key: key.to_owned(),
                })
            }
        },
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Array(_) | Value::Object(_) => None,
    })
}

/// Whether PHP 8 considers `s` a numeric string (leading and trailing whitespace allowed, an
/// optional sign, digits with an optional fraction, an optional exponent).
pub(crate) fn is_php_numeric(s: &str) -> bool {
    let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c');
    let t = s.trim_matches(ws).as_bytes();
    let mut i = 0;
    if matches!(t.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while t.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if t.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while t.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(t.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_start = j;
        while t.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    i == t.len()
}

/// The values to hash, sorted by key (byte-wise), checked.
fn sorted_values(params: &Map<String, Value>) -> Result<Vec<(&str, Cow<'_, str>)>, TokenError> {
    let mut pairs: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(params.len());
    for (key, value) in params {
        if key == SECRET_KEY_FIELD {
            return Err(TokenError::ReservedKey);
        }
        if is_php_numeric(key) {
            return Err(TokenError::NumericKey { key: key.clone() });
        }
        if let Some(text) = php_string(key, value)? {
            pairs.push((key.as_str(), text));
        }
    }
    // Byte-wise order, whatever order the map keeps its keys in.
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(pairs)
}

/// Feeds the signing string to `sink` piece by piece: the values in key order, with the secret
/// where `secretKey` sorts.
fn for_each_piece(pairs: &[(&str, Cow<'_, str>)], secret: &Secret, mut sink: impl FnMut(&[u8])) {
    let mut secret_written = false;
    for (key, text) in pairs {
        if !secret_written && SECRET_KEY_FIELD.as_bytes() < key.as_bytes() {
            sink(secret.expose());
            secret_written = true;
        }
        sink(text.as_bytes());
    }
    if !secret_written {
        sink(secret.expose());
    }
}

/// The exact text that is hashed: the values of `params` plus the secret, sorted by key.
///
/// It contains the secret key, so it is returned as a [`Secret`]. Useful to compare with the
/// provider's PHP class when a token does not match.
pub fn signing_string(params: &Map<String, Value>, secret: &Secret) -> Result<Secret, Invalid> {
    let pairs = sorted_values(params)?;
    let mut out: Vec<u8> = Vec::with_capacity(pairs.iter().map(|p| p.1.len()).sum::<usize>() + 64);
    for_each_piece(&pairs, secret, |piece| out.extend_from_slice(piece));
    Ok(Secret::new(out))
}

/// Computes the token of a request whose parameters (platform id included, `token` excluded)
/// are `params`.
///
/// The signing string is streamed into the hash: it is never assembled in memory (so it needs
/// no copy of the secret to zeroise).
pub fn token(params: &Map<String, Value>, secret: &Secret) -> Result<Token, Invalid> {
    Ok(sign_map(params, secret)?)
}

/// [`token`], with the reason a map cannot be signed kept typed (the crate's own callers).
pub(crate) fn sign_map(params: &Map<String, Value>, secret: &Secret) -> Result<Token, TokenError> {
    let pairs = sorted_values(params)?;
    let mut hasher = Sha256::new();
    for_each_piece(&pairs, secret, |piece| hasher.update(piece));
    Ok(Token(hex(&hasher.finalize())))
}

impl Token {
    /// The token of a finished SHA-256 digest (the client's typed parameters, `wire::params`).
    pub(crate) fn from_digest(digest: &[u8]) -> Token {
        Token(hex(digest))
    }
}

/// [`token`] over any JSON value; refused ([`Invalid`] about `params`) unless it is an object.
pub fn token_of_value(params: &Value, secret: &Secret) -> Result<Token, Invalid> {
    Ok(value_token(params, secret)?)
}

fn value_token(params: &Value, secret: &Secret) -> Result<Token, TokenError> {
    match params {
        Value::Object(map) => sign_map(map, secret),
        _ => Err(TokenError::NotAnObject),
    }
}

fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    let len = digest.len().min(32) * 2;
    // Only ASCII hex digits were written, so this never fails (and needs no fallback).
    std::str::from_utf8(&out[..len])
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const VECTOR: &str = "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea";

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn secret() -> Secret {
        Secret::from("yIKirCvplm8N1D9g")
    }

    #[test]
    fn provider_vector() {
        let p = obj(json!({
            "platformUid": "M2hULcD58iYGkmS7",
            "phone": 79000000000u64,
            "orderId": 1234,
            "amount": 25000,
        }));
        let s = signing_string(&p, &secret()).unwrap();
        assert_eq!(
            s.expose_str().unwrap(),
            "25000123479000000000M2hULcD58iYGkmS7yIKirCvplm8N1D9g"
        );
        assert_eq!(token(&p, &secret()).unwrap().as_str(), VECTOR);
    }

    #[test]
    fn strings_and_numbers_sign_the_same() {
        let p = obj(json!({
            "platformUid": "M2hULcD58iYGkmS7",
            "phone": "79000000000",
            "orderId": "1234",
            "amount": "25000",
        }));
        assert_eq!(token(&p, &secret()).unwrap().as_str(), VECTOR);
    }

    #[test]
    fn arrays_objects_are_skipped_and_scalars_converted() {
        let base = obj(json!({"a": "x", "b": true, "c": false, "d": null, "e": -5}));
        let s = signing_string(&base, &Secret::from("S")).unwrap();
        assert_eq!(s.expose_str().unwrap(), "x1-5S");
        let mut with_nested = base.clone();
        with_nested.insert("f".into(), json!([1, 2]));
        with_nested.insert("g".into(), json!({"k": "v"}));
        assert_eq!(
            token(&base, &Secret::from("S")).unwrap(),
            token(&with_nested, &Secret::from("S")).unwrap()
        );
    }

    #[test]
    fn sort_is_bytewise_and_case_sensitive() {
        // 'Z' (0x5a) < 'a' (0x61) < 's' (secretKey) < 'z'
        let p = obj(json!({"z": "4", "a": "2", "Z": "1", "sec": "3"}));
        let s = signing_string(&p, &Secret::from("K")).unwrap();
        assert_eq!(s.expose_str().unwrap(), "123K4");
        // "secretKey" vs "secretKez" / "secret": prefix sorts first.
        let p = obj(json!({"secret": "a", "secretKez": "b", "secretK": "c"}));
        let s = signing_string(&p, &Secret::from("K")).unwrap();
        assert_eq!(s.expose_str().unwrap(), "acKb");
    }

    #[test]
    fn refusals() {
        let s = Secret::from("K");
        assert_eq!(
            sign_map(&obj(json!({"secretKey": "x"})), &s),
            Err(TokenError::ReservedKey)
        );
        assert!(matches!(
            sign_map(&obj(json!({"amount": 1.5})), &s),
            Err(TokenError::NonIntegerNumber { .. })
        ));
        assert!(matches!(
            sign_map(&obj(json!({"amount": 18446744073709551615u64})), &s),
            Err(TokenError::NonIntegerNumber { .. })
        ));
        assert!(matches!(
            sign_map(&obj(json!({"10": "x"})), &s),
            Err(TokenError::NumericKey { .. })
        ));
        assert_eq!(value_token(&json!([1]), &s), Err(TokenError::NotAnObject));
        // The public functions refuse the same, as `Invalid` about the parameter.
        assert!(token(&obj(json!({"secretKey": "x"})), &s)
            .unwrap_err()
            .is_about("params.secretKey"));
        assert!(token(&obj(json!({"amount": 1.5})), &s)
            .unwrap_err()
            .is_about("params.amount"));
        assert!(token_of_value(&json!([1]), &s)
            .unwrap_err()
            .is_about("params"));
        assert!(token(&obj(json!({"1abc": "x"})), &s).is_ok());
    }

    #[test]
    fn numeric_strings() {
        for yes in [
            "1", " 1", "1 ", "-1", "+1.5", ".5", "5.", "1e3", "1E-3", "007",
        ] {
            assert!(is_php_numeric(yes), "{yes}");
        }
        for no in [
            "", " ", "a1", "1a", "e3", ".", "1e", "1.2.3", "--1", "phone",
        ] {
            assert!(!is_php_numeric(no), "{no}");
        }
    }

    #[test]
    fn token_debug_is_redacted_and_compare_is_strict() {
        let t = token(&obj(json!({"a": "b"})), &secret()).unwrap();
        assert_eq!(format!("{t:?}"), "Token([REDACTED])");
        assert!(t.ct_eq(t.as_str()));
        assert!(!t.ct_eq(""));
        assert!(!t.ct_eq(&t.as_str()[..63]));
        assert!(!t.ct_eq(&t.as_str().to_uppercase()));
        assert_eq!(t.as_str().len(), 64);
        assert!(t
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            "[ -~]{0,12}".prop_map(Value::String),
            "\\PC{0,6}".prop_map(Value::String),
        ]
    }

    fn params() -> impl Strategy<Value = Map<String, Value>> {
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,10}", scalar(), 0..8).prop_map(
            |m| {
                m.into_iter()
                    .filter(|(k, _)| k != SECRET_KEY_FIELD)
                    .collect()
            },
        )
    }

    /// A direct, independent transcription of the rule.
    fn reference(params: &Map<String, Value>, secret: &str) -> String {
        let mut all: Vec<(String, String)> = params
            .iter()
            .filter_map(|(k, v)| {
                let t = match v {
                    Value::Null | Value::Bool(false) => String::new(),
                    Value::Bool(true) => "1".into(),
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => return None,
                };
                Some((k.clone(), t))
            })
            .collect();
        all.push((SECRET_KEY_FIELD.into(), secret.into()));
        all.sort();
        let joined: String = all.into_iter().map(|(_, v)| v).collect();
        hex(&Sha256::digest(joined.as_bytes()))
    }

    proptest! {
        #[test]
        fn matches_the_reference(p in params(), secret in "[ -~]{0,20}") {
            let t = token(&p, &Secret::from(secret.as_str())).unwrap();
            prop_assert_eq!(t.as_str(), reference(&p, &secret));
        }

        #[test]
        fn insertion_order_does_not_matter(p in params()) {
            let s = secret();
            let reversed: Map<String, Value> =
                p.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(token(&p, &s).unwrap(), token(&reversed, &s).unwrap());
        }

        #[test]
        fn integers_and_their_strings_agree(p in params()) {
            let s = secret();
            let stringified: Map<String, Value> = p
                .iter()
                .map(|(k, v)| match v {
                    Value::Number(n) => (k.clone(), Value::String(n.to_string())),
                    other => (k.clone(), other.clone()),
                })
                .collect();
            prop_assert_eq!(token(&p, &s).unwrap(), token(&stringified, &s).unwrap());
        }

        #[test]
        fn any_changed_value_changes_the_token(p in params(), extra in "[a-z]{1,8}") {
            prop_assume!(!p.is_empty());
            let s = secret();
            let mut changed = p.clone();
            let key = p.keys().next().unwrap().clone();
            let old = php_string(&key, &p[&key]).unwrap().unwrap_or_default();
            changed.insert(key, Value::String(format!("{old}{extra}")));
            prop_assert_ne!(token(&p, &s).unwrap(), token(&changed, &s).unwrap());
        }

        #[test]
        fn never_panics_on_any_json(v in any::<Vec<u8>>()) {
            if let Ok(value) = serde_json::from_slice::<Value>(&v) {
                let _ = token_of_value(&value, &secret());
            }
        }
    }
}
