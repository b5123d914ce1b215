//! Short, redacted excerpts of bodies, for error messages.
//!
//! Errors quote what the server sent so that a failure can be diagnosed, but never more than
//! [`EXCERPT_CHARS`] characters, and never the value of a field whose name looks secret.

use serde_json::Value;

/// The longest excerpt, in characters.
pub const EXCERPT_CHARS: usize = 160;

/// Field names (compared case-insensitively, as substrings) whose values are always redacted.
const SENSITIVE: &[&str] = &[
    "token", "secret", "password", "cookie", "key", "sign", "auth", "cvv", "pan", "card",
];

/// Whether a field name looks like it holds a secret.
pub fn is_sensitive_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| lower.contains(s))
}

/// A short excerpt of `body` for an error message. JSON has its secret-looking fields replaced
/// by `"[REDACTED]"`; other text is cut and stripped of control characters.
pub fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4)])
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    };
    cut(&text)
}

fn cut(text: &str) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_sensitive_field(k) && !val.is_object() && !val.is_array() {
                    *val = Value::String(crate::secret::REDACTED.into());
                } else {
                    redact_value(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_secrets_are_redacted() {
        let e = excerpt(br#"{"token":"abc","nested":{"secretKey":"s3"},"ok":1}"#);
        assert!(!e.contains("abc"));
        assert!(!e.contains("s3"));
        assert!(e.contains("[REDACTED]"));
        assert!(e.contains("\"ok\":1"));
    }

    #[test]
    fn long_text_is_cut() {
        let body = vec![b'x'; 10_000];
        let e = excerpt(&body);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(excerpt(b"a\nb\x00c"), "a b c");
        assert_eq!(excerpt(b""), "");
    }
}
