//! Short, redacted excerpts of bodies, for error messages, and the rules for what a dump of a
//! request or an answer hides.
//!
//! Errors quote what the server sent so that a failure can be diagnosed, but never more than
//! [`EXCERPT_CHARS`] characters, and never the value of a field whose name looks secret
//! ([`is_sensitive_field`]): not in JSON, and not in `key=value` pairs (form-encoded bodies,
//! query strings) or `key: value` lines of any other text.
//!
//! ```
//! use payments_core::redact::excerpt;
//!
//! assert_eq!(excerpt(br#"{"token":"abc","ok":1}"#), r#"{"ok":1,"token":"[REDACTED]"}"#);
//! assert_eq!(excerpt(b"error=1&card_number=4111111111111111"), "error=1&card_number=[REDACTED]");
//! assert_eq!(excerpt(b"Status: 502\nSet-Cookie: sid=abc"), "Status: 502 Set-Cookie: [REDACTED]");
//! ```

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::Value;

use crate::secret::REDACTED;

/// The longest excerpt, in characters.
pub const EXCERPT_CHARS: usize = 160;

/// Field names (compared case-insensitively, as substrings) whose values are always redacted.
const SENSITIVE: &[&str] = &[
    "token",
    "secret",
    "password",
    "cookie",
    "key",
    "sign",
    "auth",
    "cvv",
    "pan",
    "card",
    "encrypted",
    "otp",
];

/// Whether a field name looks like it holds a secret.
pub fn is_sensitive_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| lower.contains(s))
}

/// The headers whose values are credentials whatever they hold (compared case-insensitively).
const SENSITIVE_HEADERS: &[&str] = &[
    "cookie",
    "set-cookie",
    "auth-identifier",
    "authorization",
    "proxy-authorization",
];

/// Whether a header's value must not be shown: `Cookie`, `Set-Cookie`, `Auth-Identifier`,
/// `Authorization`, `Proxy-Authorization`, any header whose name looks secret
/// ([`is_sensitive_field`]: `X-Api-Key`, say), and any value marked
/// [`HeaderValue::set_sensitive`].
pub fn is_sensitive_header(name: &HeaderName, value: &HeaderValue) -> bool {
    value.is_sensitive()
        || SENSITIVE_HEADERS.contains(&name.as_str())
        || is_sensitive_field(name.as_str())
}

/// A short excerpt of `body` for an error message. JSON has its secret-looking fields replaced
/// by `"[REDACTED]"`; other text has the values of secret-looking `key=value` pairs and
/// `key: value` lines replaced by `[REDACTED]` (see [`redact_pairs`]), and is cut and stripped
/// of control characters.
pub fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4)]);
            redact_pairs(&text)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        }
    };
    cut(&text)
}

/// Replaces by `[REDACTED]` the value of every `name=value` pair and `name: value` line of
/// `text` whose name looks secret ([`is_sensitive_field`], after percent-decoding the name).
///
/// - A quoted value (`token="abc"`, `"token": "abc"`) is redacted up to its closing quote.
/// - After `=`, an unquoted value ends at `&`, `;`, `,`, `#`, a quote, `<`, `>` or white space
///   (form bodies, query strings, cookies, a link in a page).
/// - After `:`, an unquoted value runs to the end of the line (headers such as
///   `Authorization: Bearer abc`), so more may be hidden than the value itself.
///
/// ```
/// use payments_core::redact::redact_pairs;
///
/// assert_eq!(
///     redact_pairs("https://shop.example/cb?order=7&token=abc#x"),
///     "https://shop.example/cb?order=7&token=[REDACTED]#x"
/// );
/// assert_eq!(redact_pairs("Authorization: Bearer abc\nok"), "Authorization: [REDACTED]\nok");
/// ```
pub fn redact_pairs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < n {
        if !is_name_char(chars[i]) || (i > 0 && is_name_char(chars[i - 1])) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut end = i;
        while end < n && is_name_char(chars[end]) {
            end += 1;
        }
        let name: String = chars[i..end].iter().collect();
        let mut k = end;
        // `"token": ...`: the name's own closing quote.
        if k < n && matches!(chars[k], '"' | '\'') {
            k += 1;
        }
        while k < n && matches!(chars[k], ' ' | '\t') {
            k += 1;
        }
        let separator = chars.get(k).copied();
        if !matches!(separator, Some('=' | ':')) || !is_sensitive_field(&percent_decoded(&name)) {
            out.push_str(&name);
            i = end;
            continue;
        }
        k += 1;
        while k < n && matches!(chars[k], ' ' | '\t') {
            k += 1;
        }
        out.extend(&chars[i..k]);
        if k < n && matches!(chars[k], '"' | '\'') {
            let quote = chars[k];
            k += 1;
            while k < n && chars[k] != quote {
                k += 1;
            }
            out.push(quote);
            out.push_str(REDACTED);
            if k < n {
                out.push(quote);
                k += 1;
            }
        } else {
            out.push_str(REDACTED);
            let ends_value = |c: char| {
                if separator == Some(':') {
                    matches!(c, '\n' | '\r')
                } else {
                    matches!(c, '&' | ';' | ',' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
                }
            };
            while k < n && !ends_value(chars[k]) {
                k += 1;
            }
        }
        i = k;
    }
    out
}

/// The characters of a `key` in `key=value` and `key: value` text.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']' | '%')
}

/// `name` with its `%XX` escapes decoded (what a form or a query string means).
fn percent_decoded(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Debug` of a header map that hides the values of [`is_sensitive_header`]s.
pub(crate) struct RedactedHeaders<'a>(pub(crate) &'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if is_sensitive_header(name, value) {
                map.entry(name, &format_args!("{REDACTED}"));
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

/// `Debug` of a URI without its user information and with secret-looking query values
/// redacted.
pub(crate) struct RedactedUri<'a>(pub(crate) &'a Uri);

impl fmt::Debug for RedactedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.0;
        let mut text = String::new();
        if let Some(scheme) = uri.scheme_str() {
            text.push_str(scheme);
            text.push_str("://");
        }
        if let Some(authority) = uri.authority() {
            let authority = authority.as_str();
            match authority.rsplit_once('@') {
                Some((_, host)) => {
                    text.push_str(REDACTED);
                    text.push('@');
                    text.push_str(host);
                }
                None => text.push_str(authority),
            }
        }
        text.push_str(uri.path());
        if let Some(query) = uri.query() {
            text.push('?');
            text.push_str(&redact_pairs(query));
        }
        fmt::Debug::fmt(&text, f)
    }
}

/// `Debug` of a body: its length only.
pub(crate) struct BodyLen(pub(crate) usize);

impl fmt::Debug for BodyLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} bytes]", self.0)
    }
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
                // The whole value, even an object or an array: `{"card": {"number": ...}}`.
                if is_sensitive_field(k) {
                    *val = Value::String(REDACTED.into());
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
    fn a_secret_object_is_redacted_whole() {
        let e = excerpt(br#"{"card":{"number":"4111111111111111"},"pans":["5500"]}"#);
        assert_eq!(e, r#"{"card":"[REDACTED]","pans":"[REDACTED]"}"#);
    }

    #[test]
    fn form_and_query_pairs_are_redacted_by_name() {
        assert_eq!(
            excerpt(b"status=error&token=abc123&password=hunter2;cvv=123,ok=1"),
            "status=error&token=[REDACTED]&password=[REDACTED];cvv=[REDACTED],ok=1"
        );
        // Percent-encoded names, spaces around the separator, brackets.
        assert_eq!(
            excerpt(b"pass%77ord = hunter2 card[number]=4111111111111111 next"),
            "pass%77ord = [REDACTED] card[number]=[REDACTED] next"
        );
        // A query string inside an HTML page.
        let page = b"<a href=\"/retry?order=7&secret_key=k3y\">retry</a>";
        let e = excerpt(page);
        assert!(!e.contains("k3y"), "{e}");
        assert!(e.contains("order=7"), "{e}");
    }

    #[test]
    fn header_like_lines_are_redacted_to_the_end_of_the_line() {
        let body = b"Bad gateway\r\nAuthorization: Bearer eyJ.abc.def\nX-Api-Key: k\nRetry: 5";
        assert_eq!(
            excerpt(body),
            "Bad gateway  Authorization: [REDACTED] X-Api-Key: [REDACTED] Retry: 5"
        );
    }

    #[test]
    fn quoted_values_of_broken_json_are_redacted() {
        // Not valid JSON (cut short), so read as text.
        let e =
            excerpt(br#"{"error":"denied","token": "t0k3n", "sign":'s1g', "pan":4111111111111111"#);
        assert!(
            !e.contains("t0k3n") && !e.contains("s1g") && !e.contains("4111"),
            "{e}"
        );
        assert!(e.contains(r#""error":"denied""#), "{e}");
        assert!(e.contains(r#""token": "[REDACTED]""#), "{e}");
    }

    #[test]
    fn harmless_text_is_left_alone() {
        for text in [
            "a=1&b=2",
            "error: upstream timeout",
            "https://x.example/a?b=c",
            "key",
        ] {
            assert_eq!(redact_pairs(text), text);
        }
    }

    #[test]
    fn sensitive_headers() {
        let value = HeaderValue::from_static("v");
        for name in [
            "cookie",
            "set-cookie",
            "auth-identifier",
            "authorization",
            "proxy-authorization",
            "x-api-key",
        ] {
            assert!(is_sensitive_header(&HeaderName::from_static(name), &value));
        }
        let plain = HeaderName::from_static("content-type");
        assert!(!is_sensitive_header(&plain, &value));
        let mut marked = HeaderValue::from_static("v");
        marked.set_sensitive(true);
        assert!(is_sensitive_header(&plain, &marked));
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
