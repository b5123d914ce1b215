//! The typed parameter list of an outgoing request: what is signed and what is sent.
//!
//! The client's own requests never go through a `serde_json::Map`: each wire struct lists its
//! parameters once, under `&'static str` keys, as [`Scalar`]s (a string or an integer, the only
//! shapes the provider's token rule turns into text without a float). [`Params::new`] sorts
//! them byte-wise, the order the token needs, so the token is streamed straight into SHA-256
//! and the JSON body is written in one pass, with no map, no key `String`s and no `Value`s.
//!
//! The general, map-based path (`token`, `TokenSigner`) stays the
//! public one for parameters the client does not know; a test checks that both give the same
//! token and the same body bytes for every request the client sends.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::token::{Token, TokenError, SECRET_KEY_FIELD, TOKEN_FIELD};

/// One parameter value, as the provider's PHP class sees it when it builds the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scalar<'a> {
    /// A string: signed as it is, sent as a JSON string.
    Str(Cow<'a, str>),
    /// An integer: signed in decimal, sent as a JSON number. Every integer the client sends is
    /// bounded by its newtype far below `i64::MAX`; a larger one is refused when signing, as
    /// the map-based token refuses it.
    Int(u64),
}

impl Scalar<'_> {
    /// Feeds the text PHP gives this value to `sink`.
    fn php_text(&self, key: &str, sink: &mut impl FnMut(&[u8])) -> Result<(), TokenError> {
        match self {
            Scalar::Str(s) => sink(s.as_bytes()),
            Scalar::Int(n) => {
                if *n > i64::MAX as u64 {
                    return Err(TokenError::NonIntegerNumber {
                        key: key.to_owned(),
                    });
                }
                sink(itoa::Buffer::new().format(*n).as_bytes());
            }
        }
        Ok(())
    }
}

impl Serialize for Scalar<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Str(v) => s.serialize_str(v),
            Scalar::Int(n) => s.serialize_u64(*n),
        }
    }
}

/// The parameters of one request (the platform id included, the token excluded), sorted by
/// key, byte-wise. `N` is the request's fixed number of parameters, so the list lives on the
/// stack.
#[derive(Clone, Debug)]
pub(crate) struct Params<'a, const N: usize> {
    pairs: [(&'static str, Scalar<'a>); N],
}

impl<'a, const N: usize> Params<'a, N> {
    /// The token of these parameters: the same rule as `token::token`, without a map.
    pub(crate) fn token(&self, secret: &payments_core::Secret) -> Result<Token, TokenError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        self.for_each_piece(secret.expose(), |piece| hasher.update(piece))?;
        Ok(Token::from_digest(&hasher.finalize()))
    }

    /// The pairs, which the caller lists in byte-wise key order (the keys are the client's
    /// own constants, so they are not sorted at run time). None is `secretKey` or `token`,
    /// none is a PHP numeric string and none repeats: checked by the tests of every request,
    /// and in debug builds here.
    pub(crate) fn new(pairs: [(&'static str, Scalar<'a>); N]) -> Self {
        debug_assert!(
            pairs
                .windows(2)
                .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()),
            "keys must be listed in strictly increasing byte-wise order"
        );
        debug_assert!(pairs
            .iter()
            .all(|(k, _)| *k != SECRET_KEY_FIELD && *k != TOKEN_FIELD));
        Params { pairs }
    }

    /// The pairs, in key order.
    #[cfg(test)]
    pub(crate) fn pairs(&self) -> &[(&'static str, Scalar<'a>)] {
        &self.pairs
    }

    /// Feeds the signing string to `sink` piece by piece: the values in key order, with the
    /// secret where `secretKey` sorts.
    pub(crate) fn for_each_piece(
        &self,
        secret: &[u8],
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), TokenError> {
        let mut secret_written = false;
        for (key, value) in &self.pairs {
            if !secret_written && SECRET_KEY_FIELD.as_bytes() < key.as_bytes() {
                sink(secret);
                secret_written = true;
            }
            value.php_text(key, &mut sink)?;
        }
        if !secret_written {
            sink(secret);
        }
        Ok(())
    }

    /// The JSON body: every pair and `token`, keys in byte-wise order (the order a
    /// `serde_json::Map` keeps, so the bytes are the same as the map-based signer's).
    pub(crate) fn body(&self, token: &str) -> Result<Vec<u8>, serde_json::Error> {
        let estimate = self
            .pairs
            .iter()
            .map(|(k, v)| {
                k.len()
                    + 6
                    + match v {
                        Scalar::Str(s) => s.len() + 2,
                        Scalar::Int(_) => 20,
                    }
            })
            .sum::<usize>()
            + token.len()
            + 16;
        let mut out = Vec::with_capacity(estimate);
        serde_json::to_writer(
            &mut out,
            &WithToken {
                params: self,
                token,
            },
        )?;
        Ok(out)
    }
}

/// The body's object: the sorted pairs with `token` merged in at its place.
struct WithToken<'p, 'a, const N: usize> {
    params: &'p Params<'a, N>,
    token: &'p str,
}

impl<const N: usize> Serialize for WithToken<'_, '_, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(N + 1))?;
        let mut token_written = false;
        for (key, value) in &self.params.pairs {
            if !token_written && TOKEN_FIELD.as_bytes() < key.as_bytes() {
                map.serialize_entry(TOKEN_FIELD, self.token)?;
                token_written = true;
            }
            map.serialize_entry(key, value)?;
        }
        if !token_written {
            map.serialize_entry(TOKEN_FIELD, self.token)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "strictly increasing")]
    fn unsorted_keys_are_caught_in_debug_builds() {
        let _ = Params::new([("b", Scalar::Int(1)), ("a", Scalar::Int(2))]);
    }

    #[test]
    fn sorted_and_merged() {
        let p = Params::new([
            ("Upper", Scalar::Int(0)),
            ("alpha", Scalar::Str("a\"b".into())),
            ("tokenish", Scalar::Str("t".into())),
            ("zeta", Scalar::Int(1)),
        ]);
        let keys: Vec<_> = p.pairs().iter().map(|p| p.0).collect();
        assert_eq!(keys, ["Upper", "alpha", "tokenish", "zeta"]);
        let body = String::from_utf8(p.body("T").unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"Upper":0,"alpha":"a\"b","token":"T","tokenish":"t","zeta":1}"#
        );
        let mut text = Vec::new();
        p.for_each_piece(b"S", |b| text.extend_from_slice(b))
            .unwrap();
        assert_eq!(text, b"0a\"bSt1");
    }

    #[test]
    fn an_integer_php_would_make_a_float_is_refused() {
        let p = Params::new([("amount", Scalar::Int(i64::MAX as u64 + 1))]);
        let err = p.for_each_piece(b"S", |_| {}).unwrap_err();
        assert_eq!(
            err,
            TokenError::NonIntegerNumber {
                key: "amount".into()
            }
        );
        let p = Params::new([("amount", Scalar::Int(i64::MAX as u64))]);
        assert!(p.for_each_piece(b"S", |_| {}).is_ok());
    }
}
