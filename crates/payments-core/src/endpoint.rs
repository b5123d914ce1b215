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

use std::net::IpAddr;

use http::Uri;

use crate::error::Error;

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
}
