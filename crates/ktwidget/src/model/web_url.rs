//! [`WebUrl`]: an absolute `http(s)` URL with a host, checked once, on `http::Uri` (no `url`
//! crate, which brings `idna` and about thirty ICU crates), and the percent-encoding pieces the
//! client and the callback tag need.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use payments_core::Invalid;

/// An absolute `http` or `https` URL with a host: a callback or redirect URL of an order, the
/// widget page, the acquirer's payment page.
///
/// Checked once, when parsed: `http`/`https`, a host, no user name or password. Spaces and
/// non-ASCII characters in the path, query and fragment are percent-encoded (UTF-8); a
/// non-ASCII (IDN) host is refused: give its punycode (`xn--…`) form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WebUrl {
    /// The URL without its fragment, as sent.
    uri: Uri,
    /// The whole text (with the fragment, if any).
    text: String,
}

impl WebUrl {
    /// Parses and checks `text`. `field` names the field in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self, Invalid> {
        let field = field.to_owned();
        let bad = |m: &'static str| Invalid::new(field.clone(), m);
        let text = encode_loose(text.trim());
        let (before, fragment) = match text.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (text.as_str(), None),
        };
        let uri: Uri = before.parse().map_err(|_| bad("is not an absolute URL"))?;
        match uri.scheme_str() {
            Some("http") | Some("https") => {}
            Some(_) => return Err(bad("must be an http(s) URL")),
            None => return Err(bad("is not an absolute URL")),
        }
        let authority = uri.authority().ok_or_else(|| bad("must have a host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not carry a user name or password"));
        }
        let host = authority.host();
        let host_ok = !host.is_empty()
            && (host.starts_with('[')
                || host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
        if !host_ok {
            return Err(bad(
                "must have a host (an ASCII or punycode name, or an IP)",
            ));
        }
        // The canonical form: a lower-case scheme and host, and `/` for an empty path.
        let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let pq = if pq.starts_with('/') {
            pq.to_owned()
        } else {
            format!("/{pq}")
        };
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let authority = authority.as_str().to_ascii_lowercase();
        let plain = format!("{scheme}://{authority}{pq}");
        let uri: Uri = plain.parse().map_err(|_| bad("is not an absolute URL"))?;
        let text = match fragment {
            Some(f) => format!("{plain}#{f}"),
            None => plain,
        };
        Ok(WebUrl { uri, text })
    }

    pub(crate) fn from_uri_unchecked(uri: Uri) -> Self {
        WebUrl {
            text: uri.to_string(),
            uri,
        }
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL (without its fragment) as an `http::Uri`.
    pub fn as_uri(&self) -> &Uri {
        &self.uri
    }

    /// The scheme, `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.uri.scheme_str().unwrap_or("https")
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.uri.host().unwrap_or("")
    }

    /// The path (`/` at least), percent-encoded.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query, percent-encoded, if there is one.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The query's `application/x-www-form-urlencoded` pairs, decoded.
    pub fn query_pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        form_pairs(self.query().unwrap_or("")).into_iter()
    }

    /// The same URL with another path and query, and no fragment.
    pub(crate) fn with_path_and_query(&self, path: &str, query: Option<&str>) -> Self {
        let mut text = format!(
            "{}://{}",
            self.scheme(),
            self.uri.authority().map(|a| a.as_str()).unwrap_or("")
        );
        text.push_str(if path.is_empty() { "/" } else { path });
        if let Some(q) = query {
            text.push('?');
            text.push_str(q);
        }
        // Every piece is already encoded; this parse cannot fail for a checked base.
        match text.parse::<Uri>() {
            Ok(uri) => WebUrl { uri, text },
            Err(_) => self.clone(),
        }
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebUrl({})", self.text)
    }
}

impl FromStr for WebUrl {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        WebUrl::parse("url", s)
    }
}

impl AsRef<str> for WebUrl {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<WebUrl> for Uri {
    fn from(value: WebUrl) -> Uri {
        value.uri
    }
}

/// Percent-encodes what `http::Uri` refuses but a browser or the `url` crate would encode:
/// spaces, controls, non-ASCII bytes, `"`, `<`, `>`, `` ` ``, `{`, `}`, `|`, `\`, `^`.
fn encode_loose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b <= b' '
            || b >= 0x7f
            || matches!(
                b,
                b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
            )
        {
            push_hex(&mut out, b);
        } else {
            out.push(char::from(b));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, b: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// Percent-encodes one path segment: everything but `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn encode_path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            push_hex(&mut out, b);
        }
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of one name or value (space → `+`).
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            push_hex(&mut out, b);
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text (`+` → space, `%XX` → byte; invalid UTF-8
/// is replaced).
pub(crate) fn form_decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded pairs of a query.
pub(crate) fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_canonical() {
        let u = WebUrl::parse("f", "HTTPS://Shop.Example").unwrap();
        assert_eq!(u.as_str(), "https://shop.example/");
        let u = WebUrl::parse("f", "https://shop.example/cb?x=1#frag").unwrap();
        assert_eq!(u.as_str(), "https://shop.example/cb?x=1#frag");
        assert_eq!(u.as_uri().to_string(), "https://shop.example/cb?x=1");
        let u = WebUrl::parse("f", "https://shop.example/оплата ok").unwrap();
        assert_eq!(u.path(), "/%D0%BE%D0%BF%D0%BB%D0%B0%D1%82%D0%B0%20ok");
        for bad in [
            "ftp://x.example",
            "not a url",
            "/relative",
            "https://u:p@x.example",
            "https://пример.рф/",
        ] {
            let e = WebUrl::parse("callback_post_url", bad).unwrap_err();
            assert!(e.is_about("callback_post_url"), "{bad}");
        }
    }

    #[test]
    fn form_encoding_round_trips() {
        let text = "af7e d/?&=#x%+é";
        assert_eq!(form_encode("af7e d/?&=#x"), "af7e+d%2F%3F%26%3D%23x");
        assert_eq!(form_decode(&form_encode(text)), text);
        assert_eq!(
            form_pairs("a=1&b=x+y&c&d=%2"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new()),
                ("d".into(), "%2".into()),
            ]
        );
        assert_eq!(encode_path_segment("a/b?c"), "a%2Fb%3Fc");
    }
}
