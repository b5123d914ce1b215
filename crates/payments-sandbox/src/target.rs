//! Where the emulators may deliver callbacks and notifications: loopback hosts only, unless the
//! configuration names the opt-in (`allow_non_loopback_delivery`).

use std::time::Duration;

use http::Uri;
use payments_core::endpoint::is_loopback_host;

/// The longest per-attempt timeout of a callback or notification delivery.
#[cfg_attr(not(any(feature = "ktwidget", feature = "kupikupi")), allow(dead_code))]
const MAX_DELIVERY_TIMEOUT: Duration = Duration::from_secs(600);

/// Checks a delivery timeout (named `name` in the error): above 0 and at most 10 minutes, so
/// that adding it to an instant never overflows.
#[cfg_attr(not(any(feature = "ktwidget", feature = "kupikupi")), allow(dead_code))]
pub(crate) fn check_timeout(name: &str, timeout: Duration) -> Result<(), String> {
    if timeout.is_zero() || timeout > MAX_DELIVERY_TIMEOUT {
        return Err(format!(
            "{name} must be above 0 and at most 10 min, not {timeout:?}"
        ));
    }
    Ok(())
}

/// Why a callback or notification URL is refused. Its text names the host, never the path or
/// the query (which may carry a merchant's per-order secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefusedTarget {
    /// Not an absolute `http://` or `https://` URL.
    #[error("not an absolute http:// or https:// URL")]
    NotHttp,
    /// The host is not `localhost` or a loopback address, and delivery to other hosts is not
    /// allowed. A name other than `localhost` counts as not loopback: it could resolve anywhere.
    #[error(
        "the host {host} is not loopback: the sandbox delivers only to localhost, 127.0.0.0/8 \
         and ::1 unless allow_non_loopback_delivery is set"
    )]
    NotLoopback {
        /// The URL's host.
        host: String,
    },
}

/// Checks a delivery URL: an absolute http(s) URL whose host is loopback (or any host when
/// `allow_non_loopback` is set). Returns the parsed URI, path and query as given.
#[cfg_attr(not(any(feature = "ktwidget", feature = "kupikupi")), allow(dead_code))]
pub(crate) fn check(url: &str, allow_non_loopback: bool) -> Result<Uri, RefusedTarget> {
    let uri: Uri = url.parse().map_err(|_| RefusedTarget::NotHttp)?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(RefusedTarget::NotHttp);
    }
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or(RefusedTarget::NotHttp)?;
    if !allow_non_loopback && !is_loopback_host(host) {
        return Err(RefusedTarget::NotLoopback {
            host: host.to_owned(),
        });
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_without_the_opt_in() {
        for ok in [
            "http://127.0.0.1:8080/cb?tag=s3cret",
            "http://localhost/cb",
            "https://[::1]:9/n",
            "http://127.1.2.3/x",
        ] {
            let uri = check(ok, false).unwrap();
            assert_eq!(uri.to_string(), ok, "the URL is kept as given");
        }
        for (url, host) in [
            ("http://0.0.0.0:8080/cb", "0.0.0.0"),
            ("http://[::]:8080/cb", "[::]"),
            ("http://10.0.0.1/cb", "10.0.0.1"),
            ("http://example.com/cb", "example.com"),
            ("http://127.0.0.1.nip.io/cb", "127.0.0.1.nip.io"),
            ("http://localhost.example/cb", "localhost.example"),
            ("http://127.0.0.1@example.com/cb", "example.com"),
            ("http://169.254.169.254/latest", "169.254.169.254"),
        ] {
            assert_eq!(
                check(url, false),
                Err(RefusedTarget::NotLoopback { host: host.into() }),
                "{url}"
            );
            assert!(check(url, true).is_ok(), "{url}");
        }
        for bad in ["/relative", "ftp://127.0.0.1/x", "not a url", "http:///x"] {
            assert_eq!(check(bad, true), Err(RefusedTarget::NotHttp), "{bad}");
        }
        let text = check("http://example.com/cb?tag=s3cret", false)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("example.com") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
