//! Decoding JSON answers without quoting them: [`json`] and [`JsonError`].
//!
//! serde_json's messages quote the value they could not use (`invalid type: string "s3cr3t",
//! expected u64`), so a serde_json error kept in an error chain leaks a body value through
//! `Display` and `Debug` (a token, a card number). A [`JsonError`] keeps only what is safe:
//! the category, what went wrong in fixed words, the line and column, and the path of the
//! field when [`json`] found it. Provider crates use it for every JSON decode error:
//!
//! - decode with [`json`] (the field path comes for free), or
//! - turn a serde_json error they already hold into a summary with [`JsonError::new`],
//!
//! and attach the summary, never the serde_json error, as an error's source.
//!
//! ```
//! use payments_core::decode::{self, JsonCategory};
//!
//! #[derive(Debug, serde::Deserialize)]
//! struct Payload { amount: u64 }
//! #[derive(Debug, serde::Deserialize)]
//! struct Envelope { payload: Payload }
//!
//! let err = decode::json::<Envelope>(br#"{"payload":{"amount":"s3cr3t"}}"#).unwrap_err();
//! assert_eq!(err.category(), JsonCategory::Data);
//! assert_eq!(err.path(), Some("payload.amount"));
//! assert_eq!(err.to_string(), "invalid type at line 1 column 29, at `payload.amount`");
//! assert!(!format!("{err} {err:?}").contains("s3cr3t"));
//! ```

use std::fmt;

use serde::de::DeserializeOwned;

/// Decodes `body` as JSON into `T`. On failure the error is a [`JsonError`] with the path of
/// the field that failed, and no value of the body.
///
/// The common case costs nothing extra: the path is looked for (by decoding a second time)
/// only after a failure.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(err) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let again: Result<T, _> = serde_path_to_error::deserialize(&mut de);
            Err(match again {
                Err(with_path) => {
                    JsonError::new(with_path.inner()).with_path(path_text(with_path.path()))
                }
                // Only the end check (trailing characters) failed; it has no path.
                Ok(_) => JsonError::new(&err),
            })
        }
    }
}

/// The kind of a JSON decode failure (serde_json's [`serde_json::error::Category`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonCategory {
    /// The bytes could not be read (not for a body in memory).
    Io,
    /// The input is not valid JSON.
    Syntax,
    /// Valid JSON, of another shape than expected (a missing field, a wrong type).
    Data,
    /// The input ended too soon (a truncated body).
    Eof,
}

impl fmt::Display for JsonCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonCategory::Io => "I/O error",
            JsonCategory::Syntax => "syntax error",
            JsonCategory::Data => "data error",
            JsonCategory::Eof => "unexpected end of input",
        })
    }
}

/// A JSON decode failure summarised without any value of the input: its category, what went
/// wrong in fixed words, where (line and column), and the field's path when known.
///
/// `Display` reads like `invalid type at line 1 column 29, at `payload.amount``. Build it with
/// [`json`] or [`JsonError::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    category: JsonCategory,
    what: String,
    line: usize,
    column: usize,
    path: Option<String>,
}

impl JsonError {
    /// A safe summary of a serde_json error (without the field path: serde_json does not keep
    /// it; [`json`] finds it).
    ///
    /// What went wrong is kept in words only when they cannot hold a value: serde_json's own
    /// syntax and end-of-input messages are fixed texts; of a data error, only the fixed part
    /// of serde's standard messages is kept (`invalid type`, `unknown variant`, `missing field
    /// `name``, whose name comes from the Rust type), and any other message (a custom one, that
    /// could quote anything) becomes `invalid data`.
    pub fn new(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let category = match err.classify() {
            Category::Io => JsonCategory::Io,
            Category::Syntax => JsonCategory::Syntax,
            Category::Data => JsonCategory::Data,
            Category::Eof => JsonCategory::Eof,
        };
        let text = err.to_string();
        let message = if err.line() == 0 {
            text.as_str()
        } else {
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            text.strip_suffix(&suffix).unwrap_or(&text)
        };
        let what = match category {
            // serde_json's fixed texts (`expected value`, `EOF while parsing a string`, ...).
            JsonCategory::Syntax | JsonCategory::Eof => fixed_text(message),
            JsonCategory::Data => data_phrase(message),
            JsonCategory::Io => "the input could not be read".to_owned(),
        };
        JsonError {
            category,
            what,
            line: err.line(),
            column: err.column(),
            path: None,
        }
    }

    fn with_path(mut self, path: Option<String>) -> Self {
        self.path = path;
        self
    }

    /// The kind of failure.
    pub fn category(&self) -> JsonCategory {
        self.category
    }

    /// The line of the input where it failed (1-based; 0 when unknown).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column of the input where it failed (1-based; 0 when unknown).
    pub fn column(&self) -> usize {
        self.column
    }

    /// The path of the field that failed, like `payload.items[0].amount`, when known. An
    /// object key that does not look like a field name (letters, digits, `_`, `-`, `.`, at
    /// most 64 characters) is shown as `?`, since a map's keys are data.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if self.line != 0 {
            write!(f, " at line {} column {}", self.line, self.column)?;
        }
        if let Some(path) = &self.path {
            write!(f, ", at `{path}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for JsonError {}

impl From<&serde_json::Error> for JsonError {
    fn from(err: &serde_json::Error) -> Self {
        JsonError::new(err)
    }
}

impl From<serde_json::Error> for JsonError {
    fn from(err: serde_json::Error) -> Self {
        JsonError::new(&err)
    }
}

/// serde_json's syntax and end-of-input messages are fixed texts; this keeps them, and
/// refuses anything that does not look like one.
fn fixed_text(message: &str) -> String {
    const FIXED: &[&str] = &[
        "EOF while parsing",
        "expected ",
        "invalid escape",
        "invalid number",
        "number out of range",
        "invalid unicode code point",
        "control character",
        "key must be a string",
        "invalid value: expected key to be a number in quotes",
        "float key must be finite",
        "lone leading surrogate in hex escape",
        "trailing comma",
        "trailing characters",
        "unexpected end of hex escape",
        "recursion limit exceeded",
    ];
    if message.len() <= 80 && FIXED.iter().any(|p| message.starts_with(p)) {
        message.to_owned()
    } else {
        "invalid JSON".to_owned()
    }
}

/// The fixed part of serde's standard data-error messages, without the value they quote.
fn data_phrase(message: &str) -> String {
    const PHRASES: &[&str] = &[
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
    ];
    if let Some(p) = PHRASES.iter().find(|p| message.starts_with(*p)) {
        return (*p).to_owned();
    }
    // `missing field `name`` and `duplicate field `name``: the name is a `&'static str` of
    // the Rust type being decoded, not input.
    for phrase in ["missing field `", "duplicate field `"] {
        if let Some(name) = message
            .strip_prefix(phrase)
            .and_then(|rest| rest.strip_suffix('`'))
        {
            if is_field_name(name) {
                return format!("{phrase}{name}`");
            }
        }
    }
    "invalid data".to_owned()
}

/// Whether an object key looks like a field name (and not like data).
fn is_field_name(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | '@'))
}

/// `payload.items[0].amount`, with keys that do not look like field names shown as `?`.
fn path_text(path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    let segments: Vec<_> = path.iter().collect();
    // A trailing unknown segment (the input ended before a key) says nothing.
    let known = segments
        .iter()
        .rposition(|s| !matches!(s, Segment::Unknown))
        .map_or(0, |last| last + 1);
    for segment in &segments[..known] {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if is_field_name(key) { key } else { "?" });
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: u32,
        kind: Kind,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Card,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Answer {
        token: u64,
        items: Vec<Item>,
    }

    /// Everything a summary shows, for the "no value" checks.
    fn shown(e: &JsonError) -> String {
        format!("{e} {e:?}")
    }

    #[test]
    fn a_wrong_type_is_summarised_without_the_value() {
        let body = br#"{"token":"s3cr3t-t0ken","items":[]}"#;
        let raw = serde_json::from_slice::<Answer>(body).unwrap_err();
        assert!(
            raw.to_string().contains("s3cr3t-t0ken"),
            "serde_json quotes it"
        );
        let e = json::<Answer>(body).unwrap_err();
        assert!(!shown(&e).contains("s3cr3t"), "{e:?}");
        assert_eq!(e.category(), JsonCategory::Data);
        assert_eq!(e.path(), Some("token"));
        assert_eq!((e.line(), e.column()), (1, 23));
        assert_eq!(
            e.to_string(),
            "invalid type at line 1 column 23, at `token`"
        );
        let e = JsonError::new(&raw);
        assert_eq!(e.to_string(), "invalid type at line 1 column 23");
        assert!(!shown(&e).contains("s3cr3t"));
    }

    #[test]
    fn unknown_variants_and_nested_paths_hide_the_value() {
        let body =
            br#"{"token":1,"items":[{"id":1,"kind":"card"},{"id":2,"kind":"4111111111111111"}]}"#;
        let e = json::<Answer>(body).unwrap_err();
        assert_eq!(e.path(), Some("items[1].kind"));
        assert!(
            e.to_string().starts_with("unknown variant at line 1"),
            "{e}"
        );
        assert!(!shown(&e).contains("4111"), "{e:?}");
    }

    #[test]
    fn a_missing_field_names_the_field_of_the_type() {
        let e = json::<Answer>(br#"{"items":[]}"#).unwrap_err();
        assert_eq!(e.to_string(), "missing field `token` at line 1 column 12");
    }

    #[test]
    fn syntax_and_truncation_keep_serde_jsons_fixed_text() {
        let e = json::<Answer>(b"{\"token\":12,").unwrap_err();
        assert_eq!(e.category(), JsonCategory::Eof);
        assert_eq!(
            e.to_string(),
            "EOF while parsing a value at line 1 column 12"
        );
        assert_eq!(e.path(), None);
        let e = json::<Answer>(b"<html>secret page</html>").unwrap_err();
        assert_eq!(e.category(), JsonCategory::Syntax);
        assert_eq!(e.to_string(), "expected value at line 1 column 1");
        let e = json::<serde_json::Value>(b"{} secret").unwrap_err();
        assert_eq!(e.to_string(), "trailing characters at line 1 column 4");
        assert_eq!(e.path(), None);
    }

    #[test]
    fn custom_messages_and_data_keys_are_withheld() {
        // A custom message (from a `TryFrom` or a hand-written `Deserialize`) can say anything.
        let custom = <serde_json::Error as serde::de::Error>::custom("bad amount s3cr3t");
        assert_eq!(JsonError::new(&custom).to_string(), "invalid data");
        // A map's keys are data: a key that does not look like a name is not shown.
        let body = br#"{"4111 1111 1111 1111":"x"}"#;
        let e = json::<HashMap<String, u64>>(body).unwrap_err();
        assert_eq!(e.path(), Some("?"));
        assert!(!shown(&e).contains("4111"));
    }
}
