//! Where a client may send its calls: `https://` by default, plain `http://` only to a loopback
//! host and only when the caller names that choice ([`PlainHttp::LoopbackOnly`]).
//!
//! Credentials (a password, a session cookie, an `Auth-Identifier`, a signed token) must never
//! travel in clear, so every provider client checks its base URL with [`PlainHttp::check`] when
//! it is built, before any connection is made.
//!
//! ```
//! use payments_core::PlainHttp;
//!
//! let https: http::Uri = "https://kassa.example/api".parse()?;
//! let local: http::Uri = "http://127.0.0.1:8080".parse()?;
//! let remote: http::Uri = "http://kassa.example".parse()?;
//! assert!(PlainHttp::Refused.check(&https).is_ok());
//! assert!(PlainHttp::Refused.check(&local).is_err());
//! assert!(PlainHttp::LoopbackOnly.check(&local).is_ok());
//! assert!(PlainHttp::LoopbackOnly.check(&remote).is_err()); // never to another host
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use http::Uri;

use crate::error::Error;
use crate::invalid::Invalid;

/// Whether a client may use plain `http://`. The default refuses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlainHttp {
    /// Only `https://` (the default).
    #[default]
    Refused,
    /// `https://` anywhere, and plain `http://` to a loopback host (`127.0.0.0/8`, `::1`,
    /// `localhost`): for tests against a local emulator such as `payments-sandbox`.
    LoopbackOnly,
}

impl PlainHttp {
    /// Checks a base URL's scheme and host against the policy. A refusal is a
    /// [`crate::ErrorKind::Config`] error that names the URL's scheme and host (never its
    /// path or query, which could carry a secret).
    pub fn check(self, uri: &Uri) -> Result<(), Error> {
        let host = uri
            .host()
            .ok_or_else(|| Error::config("the base URL has no host"))?;
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") => match self {
                PlainHttp::LoopbackOnly if is_loopback_host(host) => Ok(()),
                PlainHttp::LoopbackOnly => Err(Error::config(format!(
                    "plain http:// is allowed only to a loopback host, not to {host}: use https://"
                ))),
                PlainHttp::Refused => Err(Error::config(format!(
                    "plain http:// to {host} would send credentials in clear: use https:// \
                     (for a local emulator, opt in to plain http to loopback on the client builder)"
                ))),
            },
            Some(other) => Err(Error::config(format!(
                "the base URL's scheme {other:?} is neither https nor http"
            ))),
            None => Err(Error::config("the base URL has no scheme")),
        }
    }
}

/// Whether `host` (as in a URI: brackets around IPv6 allowed) names this machine: an address
/// in `127.0.0.0/8`, `::1`, an IPv4-mapped loopback address, or `localhost`.
///
/// ```
/// use payments_core::endpoint::is_loopback_host;
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(is_loopback_host("LocalHost"));
/// assert!(!is_loopback_host("10.0.0.1"));
/// assert!(!is_loopback_host("localhost.example"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// A provider's base URL, checked once when it is built: `https://` or `http://`, a host, no
/// user name or password, no query or fragment; a trailing `/` is dropped. Calls are made with
/// [`BaseUrl::join`]. Whether plain `http://` may be used is the client's [`PlainHttp`] choice,
/// checked by [`crate::HttpClientBuilder::build`].
///
/// ```
/// use payments_core::BaseUrl;
///
/// let base: BaseUrl = "https://kassa.example/api/".parse()?;
/// assert_eq!(base.as_str(), "https://kassa.example/api");
/// assert_eq!(base.host(), "kassa.example");
/// assert_eq!(base.join("/v1/status?id=7")?.to_string(), "https://kassa.example/api/v1/status?id=7");
/// assert!("https://user:pw@kassa.example".parse::<BaseUrl>().is_err());
/// assert!("kassa.example".parse::<BaseUrl>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    text: String,
    uri: Uri,
}

impl BaseUrl {
    const FIELD: &'static str = "base_url";

    /// Checks and builds a base URL. The refusal names what is wrong, never the URL's path or
    /// query (which could carry a secret).
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bad = |message: &'static str| Invalid::new(Self::FIELD, message);
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|_| bad("is not a URL (expected https://host[:port][/path])"))?;
        match uri.scheme_str() {
            Some("https") | Some("http") => {}
            Some(_) => return Err(bad("must start with https:// (or http:// to loopback)")),
            None => return Err(bad("has no scheme: expected https://host[:port][/path]")),
        }
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not carry a user name or password"));
        }
        if authority.host().is_empty() {
            return Err(bad("has no host"));
        }
        if uri.query().is_some() || text.contains('#') {
            return Err(bad("must not carry a query or a fragment"));
        }
        let path = uri.path().trim_end_matches('/');
        let text = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("https"),
            authority.as_str(),
            path
        );
        let uri = text
            .parse()
            .map_err(|_| bad("is not a URL (expected https://host[:port][/path])"))?;
        Ok(BaseUrl { text, uri })
    }

    /// The base URL joined with an absolute path (and query): `path` must start with `/`.
    pub fn join(&self, path_and_query: &str) -> Result<Uri, Invalid> {
        if !path_and_query.starts_with('/') {
            return Err(Invalid::new("path", "must start with /"));
        }
        format!("{}{}", self.text, path_and_query)
            .parse()
            .map_err(|_| Invalid::new("path", "is not a valid URL path"))
    }

    /// The URL as text, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL.
    pub fn as_uri(&self) -> &Uri {
        &self.uri
    }

    /// The host (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        self.uri.host().unwrap_or("")
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }

    /// Checks the scheme and host against a [`PlainHttp`] policy.
    pub fn check(&self, plain_http: PlainHttp) -> Result<(), Invalid> {
        plain_http
            .check(&self.uri)
            .map_err(|e| Invalid::from_config(Self::FIELD, &e))
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.text)
    }
}

impl FromStr for BaseUrl {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BaseUrl::parse(s)
    }
}

impl TryFrom<&str> for BaseUrl {
    type Error = Invalid;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        BaseUrl::parse(s)
    }
}

impl TryFrom<String> for BaseUrl {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        BaseUrl::parse(&s)
    }
}

impl From<BaseUrl> for Uri {
    fn from(b: BaseUrl) -> Uri {
        b.uri
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn https_is_always_allowed() {
        for policy in [PlainHttp::Refused, PlainHttp::LoopbackOnly] {
            assert!(policy.check(&uri("https://kassa.example")).is_ok());
            assert!(policy.check(&uri("https://127.0.0.1:9/x")).is_ok());
        }
    }

    #[test]
    fn plain_http_needs_the_opt_in_and_a_loopback_host() {
        for local in [
            "http://127.0.0.1:1",
            "http://127.9.9.9",
            "http://[::1]:8080",
            "http://localhost/api",
            "http://[::ffff:127.0.0.1]",
        ] {
            let err = PlainHttp::Refused.check(&uri(local)).unwrap_err();
            assert!(matches!(err.kind(), crate::ErrorKind::Config(_)), "{local}");
            assert!(
                PlainHttp::LoopbackOnly.check(&uri(local)).is_ok(),
                "{local}"
            );
        }
        for remote in [
            "http://kassa-api.test.r-proc.net",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.evil.example",
            "http://0.0.0.0",
        ] {
            assert!(
                PlainHttp::LoopbackOnly.check(&uri(remote)).is_err(),
                "{remote}"
            );
        }
    }

    #[test]
    fn other_schemes_and_hostless_uris_are_refused() {
        assert!(PlainHttp::LoopbackOnly
            .check(&uri("ftp://127.0.0.1"))
            .is_err());
        assert!(PlainHttp::LoopbackOnly.check(&uri("/relative")).is_err());
    }

    #[test]
    fn the_refusal_never_quotes_the_path_or_query() {
        let err = PlainHttp::Refused
            .check(&uri("http://kassa.example/p?token=s3cr3t"))
            .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().contains("kassa.example"), "{err}");
    }

    #[test]
    fn base_urls_are_checked_once() {
        for good in [
            "https://kassa.example",
            "https://kassa.example/",
            "http://127.0.0.1:8080/api//",
            "https://[::1]:443/x",
        ] {
            let b = BaseUrl::parse(good).unwrap();
            assert!(!b.as_str().ends_with('/'), "{b}");
        }
        for (bad, word) in [
            ("kassa.example", "scheme"),
            ("ftp://kassa.example", "https"),
            ("https://u:s3cr3t@kassa.example", "password"),
            ("https://kassa.example/?token=s3cr3t", "query"),
            ("https://kassa.example/#s3cr3t", "fragment"),
            ("https:///path", "URL"),
            ("", "URL"),
        ] {
            let e = BaseUrl::parse(bad).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(word), "{bad}: {text}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(e.is_about("base_url"));
        }
        let b = BaseUrl::parse("http://kassa.example").unwrap();
        assert!(b.check(PlainHttp::LoopbackOnly).is_err());
        assert!(BaseUrl::parse("http://127.0.0.1:1")
            .unwrap()
            .check(PlainHttp::LoopbackOnly)
            .is_ok());
        assert!(b.join("v1").is_err());
    }
}
