//! HTTPS proxies: which targets go through which proxy ([`Proxy`]), read from the environment
//! by default.
//!
//! # The rules
//!
//! - **By default the environment is honoured**, as curl reads it: `HTTPS_PROXY` (or
//!   `https_proxy`) for `https://` targets, `HTTP_PROXY` (or `http_proxy`) for plain `http://`
//!   targets, and `NO_PROXY` (or `no_proxy`) for the exceptions. The upper-case name wins.
//!   In a CGI process (`REQUEST_METHOD` is set) the variables are ignored, since a request's
//!   `Proxy:` header becomes `HTTP_PROXY` there ("httpoxy").
//! - **Loopback targets are never proxied by the environment's settings**: `localhost`,
//!   `127.0.0.0/8` and `::1` are always among the exceptions of [`Proxy::from_env`], so a test
//!   against a local emulator is not sent to a corporate proxy. A [`Proxy`] you build yourself
//!   has only the exceptions you give it ([`Proxy::except`]).
//! - **Every proxied target goes through an HTTP `CONNECT` tunnel**, plain `http://` ones
//!   (loopback tests with an explicit proxy) included. TLS runs end to end between this client
//!   and the provider inside the tunnel: the proxy sees the target's host and port, never a
//!   header, a body or a credential of the call.
//! - **The proxy is reached over plain `http://`** (`http://host:port`, port 80 when none is
//!   given; a URL without a scheme is read as `http://`). TLS to the proxy itself (`https://`
//!   proxy URLs) and SOCKS are not supported: such a URL is a configuration error, never
//!   silently ignored.
//! - **Proxy credentials** (`http://user:pass@proxy:3128`) are sent as
//!   `Proxy-Authorization: Basic …` on the `CONNECT` request only. They are secrets: no
//!   `Debug`, `Display` or error of this crate shows them (a URL is shown without its user
//!   information).
//! - **A proxy that cannot be reached, or that refuses the tunnel** (any answer but 200 to
//!   `CONNECT`, 407 included), fails the attempt with [`crate::ErrorKind::Connect`] and
//!   [`crate::Error::may_have_been_sent`] `false`: nothing of the request was sent.
//!
//! Choose with [`crate::TransportBuilder::proxy`] or [`crate::HttpClientBuilder::proxy`], or
//! turn the environment off with `no_proxy()` on either builder.
//!
//! ```
//! use payments_core::proxy::Proxy;
//!
//! let proxy = Proxy::https("http://user:hunter2@proxy.corp:3128")?.except("localhost, .internal");
//! assert_eq!(
//!     proxy.proxy_for(&"https://kassa.example/pay".parse()?).map(|u| u.to_string()),
//!     Some("http://proxy.corp:3128/".to_owned())
//! );
//! assert_eq!(proxy.proxy_for(&"https://billing.internal/".parse()?), None);
//! // The credentials are a secret.
//! assert!(!format!("{proxy:?}").contains("hunter2"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;

use crate::invalid::Invalid;
use crate::secret::{Secret, REDACTED};

/// The exceptions every environment-derived proxy has: loopback targets are never proxied.
const LOOPBACK: &str = "localhost, 127.0.0.0/8, ::1";

/// One proxy URL, checked: `http://[user[:pass]@]host[:port]`.
#[derive(Clone)]
struct ProxyUrl {
    /// The URL as given (with a scheme), credentials included: what the matcher parses.
    raw: Secret,
    /// The URL without its user information: what may be shown.
    shown: Uri,
    has_credentials: bool,
}

impl ProxyUrl {
    /// Checks a proxy URL. The problem never quotes the URL, which may hold credentials.
    fn parse(field: &'static str, text: &str) -> Result<ProxyUrl, Invalid> {
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let uri: Uri = with_scheme
            .parse()
            .map_err(|_| Invalid::new(field, "is not a URL (expected http://host:port)"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(Invalid::new(
                    field,
                    "TLS to the proxy (an https:// proxy URL) is not supported: reach the proxy \
                     with http://host:port (the call itself stays TLS end to end)",
                ))
            }
            _ => {
                return Err(Invalid::new(
                    field,
                    "only http:// proxies (HTTP CONNECT) are supported",
                ))
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| Invalid::new(field, "has no host"))?;
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(Invalid::new(
                field,
                "must be http://host:port, without a path or query",
            ));
        }
        let (has_credentials, host_port) = match authority.as_str().rsplit_once('@') {
            Some((_, host_port)) => (true, host_port),
            None => (false, authority.as_str()),
        };
        if host_port.is_empty() || host_port.starts_with(':') {
            return Err(Invalid::new(field, "has no host"));
        }
        if let Some((_, port)) = host_port.rsplit_once(':') {
            if !port.ends_with(']') && port.parse::<u16>().is_err() {
                return Err(Invalid::new(field, "has a port that is not a number"));
            }
        }
        let shown = Uri::builder()
            .scheme("http")
            .authority(host_port)
            .path_and_query("/")
            .build()
            .map_err(|_| Invalid::new(field, "has an unusable host or port"))?;
        Ok(ProxyUrl {
            raw: Secret::new(with_scheme.into_bytes()),
            shown,
            has_credentials,
        })
    }

    fn raw(&self) -> &str {
        // Built from a `String`: always UTF-8.
        self.raw.expose_str().unwrap_or_default()
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_credentials {
            write!(f, "{} (credentials: {REDACTED})", self.shown)
        } else {
            write!(f, "{}", self.shown)
        }
    }
}

/// Which proxy each target goes through: one for `https://` targets, one for plain `http://`
/// targets, and the exceptions (`NO_PROXY` syntax). See the [module docs](self) for the rules.
///
/// Its `Debug` shows the proxies' URLs without their credentials.
#[derive(Clone)]
pub struct Proxy {
    https: Option<ProxyUrl>,
    http: Option<ProxyUrl>,
    except: String,
    matcher: Arc<Matcher>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("https", &self.https)
            .field("http", &self.http)
            .field("except", &self.except)
            .finish()
    }
}

impl Proxy {
    fn new(https: Option<ProxyUrl>, http: Option<ProxyUrl>, except: String) -> Proxy {
        let mut builder = Matcher::builder().no(except.as_str());
        if let Some(u) = &https {
            builder = builder.https(u.raw());
        }
        if let Some(u) = &http {
            builder = builder.http(u.raw());
        }
        Proxy {
            https,
            http,
            except,
            matcher: Arc::new(builder.build()),
        }
    }

    /// `https://` targets go through the proxy at `url` (`http://[user:pass@]host:port`); plain
    /// `http://` targets are not proxied.
    ///
    /// Fails (field `proxy`) when `url` is not an `http://` URL with a host and nothing after
    /// it; the problem never quotes the URL.
    pub fn https(url: &str) -> Result<Proxy, Invalid> {
        Ok(Proxy::new(
            Some(ProxyUrl::parse("proxy", url)?),
            None,
            String::new(),
        ))
    }

    /// Plain `http://` targets (loopback tests) go through the proxy at `url`; `https://`
    /// targets are not proxied. Checked as [`Proxy::https`].
    pub fn http(url: &str) -> Result<Proxy, Invalid> {
        Ok(Proxy::new(
            None,
            Some(ProxyUrl::parse("proxy", url)?),
            String::new(),
        ))
    }

    /// Every target goes through the proxy at `url`. Checked as [`Proxy::https`].
    pub fn all(url: &str) -> Result<Proxy, Invalid> {
        let url = ProxyUrl::parse("proxy", url)?;
        Ok(Proxy::new(Some(url.clone()), Some(url), String::new()))
    }

    /// Adds exceptions, in `NO_PROXY` syntax: a comma-separated list of host names (each also
    /// matches its subdomains; a leading dot is optional), IP addresses, IP networks
    /// (`10.0.0.0/8`), or `*` for every target.
    #[must_use]
    pub fn except(self, no_proxy: &str) -> Proxy {
        let except = match (self.except.trim().is_empty(), no_proxy.trim().is_empty()) {
            (_, true) => self.except,
            (true, false) => no_proxy.trim().to_owned(),
            (false, false) => format!("{}, {}", self.except, no_proxy.trim()),
        };
        Proxy::new(self.https, self.http, except)
    }

    /// The proxies of the process environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` and
    /// their lower-case forms), with loopback targets always excepted; `None` when no proxy
    /// variable is set. What [`crate::HttpTransport`] uses unless told otherwise.
    ///
    /// Fails (field `HTTPS_PROXY` or `HTTP_PROXY`) when a variable is set to something that is
    /// not a usable proxy URL: a misspelt proxy is an error, never a silent direct connection.
    pub fn from_env() -> Result<Option<Proxy>, Invalid> {
        Proxy::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Proxy::from_env`] over another source of variables (a test's map, a config file):
    /// `var(name)` gives a variable's value, if set. An empty value counts as unset.
    ///
    /// ```
    /// use payments_core::proxy::Proxy;
    ///
    /// let vars = |name: &str| match name {
    ///     "https_proxy" => Some("proxy.corp:3128".to_owned()),
    ///     "NO_PROXY" => Some(".internal".to_owned()),
    ///     _ => None,
    /// };
    /// let proxy = Proxy::from_vars(vars)?.expect("https_proxy is set");
    /// let via = |target: &str| proxy.proxy_for(&target.parse().unwrap()).map(|u| u.to_string());
    /// assert_eq!(via("https://kassa.example/"), Some("http://proxy.corp:3128/".to_owned()));
    /// assert_eq!(via("https://billing.internal/"), None); // NO_PROXY
    /// assert_eq!(via("https://127.0.0.1:8443/"), None); // loopback, always
    /// assert_eq!(via("http://kassa.example/"), None); // no HTTP_PROXY
    /// # Ok::<(), payments_core::Invalid>(())
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Proxy>, Invalid> {
        let first = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                var(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
        };
        if var("REQUEST_METHOD").is_some() {
            // CGI: HTTP_PROXY may come from a request's `Proxy:` header.
            return Ok(None);
        }
        let https = first(["HTTPS_PROXY", "https_proxy"]);
        let http = first(["HTTP_PROXY", "http_proxy"]);
        if https.is_none() && http.is_none() {
            return Ok(None);
        }
        let mut problems: Option<Invalid> = None;
        let mut check = |found: Option<(&'static str, String)>| match found {
            None => None,
            Some((name, value)) => match ProxyUrl::parse(name, &value) {
                Ok(url) => Some(url),
                Err(e) => {
                    problems = Some(match problems.take() {
                        Some(before) => before.merge(e),
                        None => e,
                    });
                    None
                }
            },
        };
        let https = check(https);
        let http = check(http);
        if let Some(p) = problems {
            return Err(p);
        }
        let no = first(["NO_PROXY", "no_proxy"]).map(|(_, v)| v);
        let except = match no {
            Some(list) => format!("{LOOPBACK}, {}", list.trim()),
            None => LOOPBACK.to_owned(),
        };
        Ok(Some(Proxy::new(https, http, except)))
    }

    /// The proxy a target goes through (its URL without credentials), or `None` when the
    /// target is reached directly.
    pub fn proxy_for(&self, target: &Uri) -> Option<Uri> {
        self.matcher.intercept(target).map(|i| i.uri().clone())
    }

    /// The proxy to tunnel to and its `Proxy-Authorization`, for a target.
    pub(crate) fn intercept(&self, target: &Uri) -> Option<(Uri, Option<http::HeaderValue>)> {
        self.matcher.intercept(target).map(|i| {
            let auth = i.basic_auth().cloned().map(|mut v| {
                v.set_sensitive(true);
                v
            });
            (i.uri().clone(), auth)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(proxy: &Proxy, target: &str) -> Option<String> {
        proxy
            .proxy_for(&target.parse().unwrap())
            .map(|u| u.to_string())
    }

    #[test]
    fn explicit_proxies_choose_by_scheme_and_honour_their_exceptions() {
        let p = Proxy::https("http://proxy:3128").unwrap();
        assert_eq!(
            via(&p, "https://a.example/x?y=1").as_deref(),
            Some("http://proxy:3128/")
        );
        assert_eq!(via(&p, "http://a.example/"), None);
        // An explicit proxy has no implicit exception, loopback included.
        assert_eq!(
            via(&p, "https://127.0.0.1:1/").as_deref(),
            Some("http://proxy:3128/")
        );

        let p = Proxy::http("proxy:3128").unwrap();
        assert_eq!(
            via(&p, "http://a.example/").as_deref(),
            Some("http://proxy:3128/")
        );
        assert_eq!(via(&p, "https://a.example/"), None);

        let p = Proxy::all("http://proxy")
            .unwrap()
            .except("a.example, 10.0.0.0/8");
        assert_eq!(via(&p, "https://a.example/"), None);
        assert_eq!(via(&p, "https://pay.a.example/"), None);
        assert_eq!(via(&p, "https://10.1.2.3/"), None);
        assert_eq!(
            via(&p, "https://b.example/").as_deref(),
            Some("http://proxy/")
        );
        let p = p.except("b.example");
        assert_eq!(via(&p, "https://a.example/"), None, "exceptions add up");
        assert_eq!(via(&p, "https://b.example/"), None);
    }

    #[test]
    fn unusable_proxy_urls_are_refused_without_quoting_them() {
        for bad in [
            "https://user:s3cret@proxy:3128",
            "socks5://user:s3cret@proxy:1080",
            "http://user:s3cret@proxy:3128/path",
            "http://user:s3cret@proxy:3128/?q=1",
            "http://user:s3cret@",
            "http://user:s3cret@:3128",
            "http://user:s3cret@proxy:notaport",
            "",
        ] {
            let err = Proxy::https(bad).unwrap_err();
            assert!(err.is_about("proxy"), "{bad}: {err}");
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains("s3cret") && !shown.contains("user"),
                "{shown}"
            );
        }
    }

    #[test]
    fn credentials_go_to_the_connect_header_and_nowhere_else() {
        let p = Proxy::https("http://Aladdin:open%20sesame@proxy:3128").unwrap();
        let (uri, auth) = p.intercept(&"https://a.example/".parse().unwrap()).unwrap();
        assert_eq!(uri.to_string(), "http://proxy:3128/");
        let auth = auth.unwrap();
        // base64("Aladdin:open sesame"), percent-decoded first.
        assert_eq!(auth, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(auth.is_sensitive());
        let shown = format!("{p:?}");
        assert!(shown.contains("proxy:3128"), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
        for secret in ["Aladdin", "open", "sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let p = Proxy::https("http://proxy:3128").unwrap();
        assert!(p
            .intercept(&"https://a.example/".parse().unwrap())
            .unwrap()
            .1
            .is_none());
        assert!(!format!("{p:?}").contains(REDACTED));
    }

    fn vars<'a>(set: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            set.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        assert!(Proxy::from_vars(vars(&[])).unwrap().is_none());
        assert!(Proxy::from_vars(vars(&[("NO_PROXY", "*")]))
            .unwrap()
            .is_none());
        assert!(Proxy::from_vars(vars(&[("HTTPS_PROXY", " ")]))
            .unwrap()
            .is_none());

        let env = [
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("http_proxy", "plain:8080"),
            ("no_proxy", "skip.example, 192.168.0.0/16"),
        ];
        let p = Proxy::from_vars(vars(&env)).unwrap().unwrap();
        assert_eq!(
            via(&p, "https://a.example/").as_deref(),
            Some("http://upper:3128/")
        );
        assert_eq!(
            via(&p, "http://a.example/").as_deref(),
            Some("http://plain:8080/")
        );
        assert_eq!(via(&p, "https://skip.example/"), None);
        assert_eq!(via(&p, "https://api.skip.example/"), None);
        assert_eq!(via(&p, "https://192.168.1.1/"), None);
        // Loopback is never proxied by the environment.
        for target in [
            "https://localhost:8443/",
            "https://127.0.0.1/",
            "https://127.9.9.9/",
            "https://[::1]:8443/",
            "http://localhost/",
        ] {
            assert_eq!(via(&p, target), None, "{target}");
        }

        let p = Proxy::from_vars(vars(&[("https_proxy", "http://lower:3128")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            via(&p, "https://a.example/").as_deref(),
            Some("http://lower:3128/")
        );
        assert_eq!(via(&p, "http://a.example/"), None);
    }

    #[test]
    fn a_bad_variable_is_an_error_naming_it_and_cgi_ignores_them_all() {
        let err = Proxy::from_vars(vars(&[
            ("HTTPS_PROXY", "https://u:s3cret@proxy"),
            ("HTTP_PROXY", "socks5://proxy"),
        ]))
        .unwrap_err();
        assert!(
            err.is_about("HTTPS_PROXY") && err.is_about("HTTP_PROXY"),
            "{err}"
        );
        assert!(!format!("{err:?}").contains("s3cret"));

        let cgi = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:80")];
        assert!(Proxy::from_vars(vars(&cgi)).unwrap().is_none());
    }
}
