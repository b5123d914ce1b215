//! The client's cookie jar: every cookie the service sets, on any answer (the auth cookie, a
//! rotated session, a load balancer's sticky cookie), kept for the one host the client talks to
//! and sent back on every request whose path it applies to.
//!
//! It follows RFC 6265 where that matters to a client of one host: a cookie replaces the one of
//! the same name and path; `Max-Age` (which wins) or `Expires` ends it, and a past one deletes
//! it; `Path` limits it; a `Domain` that does not cover the host is refused. Two choices differ
//! from a browser's, both listed in `docs/providers/smartpay.md`: a cookie without `Path`
//! applies to every path (the guide says the cookie goes with every method, `/v2/...` included,
//! while RFC 6265 would scope a cookie set by `/v1/auth` to `/v1`), and `Secure` is not checked
//! (the client refuses plain http except to loopback by a named opt-in).
//!
//! Values are kept as [`Secret`]s and never shown: the jar's `Debug` lists names only, and the
//! `Cookie` header it makes is marked sensitive.

use std::time::{Duration, Instant, SystemTime};

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use payments_core::Secret;

/// At most this many cookies are kept; the oldest goes first.
const MAX_COOKIES: usize = 32;
/// A cookie whose name and value together are longer is ignored (RFC 6265's minimum capacity).
const MAX_COOKIE_BYTES: usize = 4096;

struct Cookie {
    name: String,
    value: Secret,
    path: String,
    expires: Option<Instant>,
    /// The order cookies were set in, for the order they are sent in.
    serial: u64,
}

/// The jar of one client.
#[derive(Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
    serial: u64,
    /// The last header made, kept until the jar changes or a cookie expires: the service sets
    /// cookies rarely and every call asks for the header.
    made: Option<Made>,
}

/// A `Cookie` header made for one path.
struct Made {
    path: String,
    header: Option<HeaderValue>,
    /// The earliest expiry among the cookies when it was made: past it, make it again.
    valid_until: Option<Instant>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.cookies.iter().map(|c| &c.name))
            .finish()
    }
}

/// One `Set-Cookie` header, read.
struct SetCookie<'a> {
    name: &'a str,
    value: &'a [u8],
    path: Option<&'a str>,
    domain: Option<&'a str>,
    max_age: Option<i64>,
    expires: Option<SystemTime>,
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// A cookie name: a non-empty RFC 7230 token.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse(header: &[u8]) -> Option<SetCookie<'_>> {
    let mut parts = header.split(|&b| b == b';');
    let pair = parts.next()?;
    let eq = pair.iter().position(|&b| b == b'=')?;
    let name = std::str::from_utf8(trim(&pair[..eq])).ok()?;
    if !is_token(name) {
        return None;
    }
    let mut cookie = SetCookie {
        name,
        value: trim(&pair[eq + 1..]),
        path: None,
        domain: None,
        max_age: None,
        expires: None,
    };
    for attr in parts {
        let attr = std::str::from_utf8(trim(attr)).unwrap_or("");
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr, ""),
        };
        if key.eq_ignore_ascii_case("path") {
            cookie.path = val.starts_with('/').then_some(val);
        } else if key.eq_ignore_ascii_case("domain") {
            cookie.domain = (!val.is_empty()).then_some(val);
        } else if key.eq_ignore_ascii_case("max-age") {
            // RFC 6265 5.2.2: an optional '-' and digits; anything else ignores the attribute.
            let digits = val.strip_prefix('-').unwrap_or(val);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                cookie.max_age = Some(val.parse().unwrap_or(if val.starts_with('-') {
                    i64::MIN
                } else {
                    i64::MAX
                }));
            }
        } else if key.eq_ignore_ascii_case("expires") {
            cookie.expires = httpdate::parse_http_date(val).ok();
        }
    }
    Some(cookie)
}

/// Whether a cookie's `Domain` covers `host` (RFC 6265 5.1.3); an IP address only matches
/// itself.
fn domain_covers(domain: &str, host: &str) -> bool {
    let domain = domain.trim_start_matches('.').to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    if host == domain {
        return true;
    }
    let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    !is_ip && host.ends_with(&format!(".{domain}"))
}

/// Whether a request path is within a cookie's path (RFC 6265 5.1.4).
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

impl CookieJar {
    /// Stores the cookies of an answer from `host`. Returns how many were set (a cookie that a
    /// past expiry deletes is not counted).
    pub(crate) fn store(&mut self, headers: &HeaderMap, host: &str, now: Instant) -> usize {
        let mut set = 0;
        for header in headers.get_all(SET_COOKIE) {
            // Any Set-Cookie may change what is sent (a deletion sets nothing but changes it).
            self.made = None;
            let Some(c) = parse(header.as_bytes()) else {
                continue;
            };
            if c.domain.is_some_and(|d| !domain_covers(d, host))
                || c.name.len() + c.value.len() > MAX_COOKIE_BYTES
            {
                continue;
            }
            let path = c.path.unwrap_or("/");
            self.cookies
                .retain(|old| !(old.name == c.name && old.path == path));
            // Max-Age wins over Expires; a zero or negative Max-Age, or an Expires in the past,
            // deletes the cookie.
            let expires = match (c.max_age, c.expires) {
                (Some(secs), _) if secs <= 0 => continue,
                (Some(secs), _) => now.checked_add(Duration::from_secs(secs.unsigned_abs())),
                (None, Some(at)) => match at.duration_since(SystemTime::now()) {
                    Ok(left) if !left.is_zero() => now.checked_add(left),
                    _ => continue,
                },
                (None, None) => None,
            };
            self.serial += 1;
            self.cookies.push(Cookie {
                name: c.name.to_owned(),
                value: Secret::new(c.value.to_vec()),
                path: path.to_owned(),
                expires,
                serial: self.serial,
            });
            if self.cookies.len() > MAX_COOKIES {
                self.cookies.remove(0);
            }
            set += 1;
        }
        set
    }

    /// The `Cookie` header for a request to `path` (every live cookie whose path matches, longer
    /// paths first, then in the order they were set), marked sensitive; `None` when no cookie
    /// applies.
    pub(crate) fn header_for(&mut self, path: &str, now: Instant) -> Option<HeaderValue> {
        if let Some(made) = &self.made {
            if made.path == path && made.valid_until.is_none_or(|t| now < t) {
                return made.header.clone();
            }
        }
        self.cookies
            .retain(|c| c.expires.is_none_or(|expires| expires > now));
        let header = self.make_header(path);
        self.made = Some(Made {
            path: path.to_owned(),
            header: header.clone(),
            valid_until: self.cookies.iter().filter_map(|c| c.expires).min(),
        });
        header
    }

    fn make_header(&self, path: &str) -> Option<HeaderValue> {
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| path_matches(&c.path, path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.serial.cmp(&b.serial))
        });
        let mut bytes = Vec::new();
        for c in matching {
            if !bytes.is_empty() {
                bytes.extend_from_slice(b"; ");
            }
            bytes.extend_from_slice(c.name.as_bytes());
            bytes.push(b'=');
            bytes.extend_from_slice(c.value.expose());
        }
        // The value came from a header, so it is a valid header value; a failure is dropped
        // rather than sent half-made.
        let mut value = HeaderValue::from_bytes(&bytes).ok()?;
        bytes.iter_mut().for_each(|b| *b = 0);
        value.set_sensitive(true);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(set_cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in set_cookies {
            h.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    fn sent(jar: &mut CookieJar, path: &str) -> Option<String> {
        jar.header_for(path, Instant::now())
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_header_made_once_follows_every_change_and_expiry() {
        let mut jar = CookieJar::default();
        let now = Instant::now();
        jar.store(&answer(&["a=1", "b=2; Max-Age=60"]), "kassa.example", now);
        let first = jar.header_for("/v1/x", now).unwrap();
        assert_eq!(first, "a=1; b=2");
        assert_eq!(jar.header_for("/v1/x", now).unwrap(), "a=1; b=2");
        // A new cookie, a replaced one and a deleted one are seen at once.
        jar.store(&answer(&["c=3"]), "kassa.example", now);
        assert_eq!(jar.header_for("/v1/x", now).unwrap(), "a=1; b=2; c=3");
        jar.store(&answer(&["a=9"]), "kassa.example", now);
        assert_eq!(jar.header_for("/v1/x", now).unwrap(), "b=2; c=3; a=9");
        jar.store(&answer(&["c=; Max-Age=0"]), "kassa.example", now);
        assert_eq!(jar.header_for("/v1/x", now).unwrap(), "b=2; a=9");
        // An expiry is seen without any new answer.
        let later = now + Duration::from_secs(61);
        assert_eq!(jar.header_for("/v1/x", later).unwrap(), "a=9");
        // Another path is made for itself.
        jar.store(&answer(&["p=1; Path=/v2"]), "kassa.example", later);
        assert_eq!(jar.header_for("/v1/x", later).unwrap(), "a=9");
        assert_eq!(jar.header_for("/v2/y", later).unwrap(), "p=1; a=9");
        assert!(jar.header_for("/v1/x", later).unwrap().is_sensitive());
    }

    #[test]
    fn keeps_every_cookie_and_sends_them_all() {
        let mut jar = CookieJar::default();
        let n = jar.store(
            &answer(&[
                "kassa_session=abc; Path=/; HttpOnly; Secure",
                "LB=node-7",
                "broken",
                "=nameless",
            ]),
            "kassa.example",
            Instant::now(),
        );
        assert_eq!(n, 2);
        assert_eq!(
            sent(&mut jar, "/v2/purchase/fiscal").as_deref(),
            Some("kassa_session=abc; LB=node-7")
        );
        // A rotated value replaces the old one.
        jar.store(
            &answer(&["kassa_session=def"]),
            "kassa.example",
            Instant::now(),
        );
        assert_eq!(
            sent(&mut jar, "/v1/ping").as_deref(),
            Some("LB=node-7; kassa_session=def")
        );
        assert!(jar.header_for("/", Instant::now()).unwrap().is_sensitive());
        let debug = format!("{jar:?}");
        assert!(
            debug.contains("kassa_session") && !debug.contains("def"),
            "{debug}"
        );
    }

    #[test]
    fn expiry_deletes_and_ends_cookies() {
        let mut jar = CookieJar::default();
        let now = Instant::now();
        jar.store(
            &answer(&[
                "a=1; Max-Age=60",
                "b=2; Max-Age=1",
                "c=3; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
            ]),
            "h",
            now,
        );
        assert_eq!(
            jar.header_for("/", now).unwrap().to_str().unwrap(),
            "a=1; b=2"
        );
        let later = now + Duration::from_secs(2);
        assert_eq!(jar.header_for("/", later).unwrap().to_str().unwrap(), "a=1");
        jar.store(&answer(&["a=; Max-Age=0"]), "h", later);
        assert!(jar.header_for("/", later).is_none());
        // Max-Age wins over Expires.
        jar.store(
            &answer(&["d=4; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=60"]),
            "h",
            later,
        );
        assert_eq!(jar.header_for("/", later).unwrap().to_str().unwrap(), "d=4");
    }

    #[test]
    fn path_and_domain_scope() {
        let mut jar = CookieJar::default();
        let n = jar.store(
            &answer(&[
                "wide=1",
                "v1=2; Path=/v1",
                "sub=3; Domain=.example.com",
                "other=4; Domain=evil.example",
                "parent=5; Domain=example.com",
            ]),
            "kassa.example.com",
            Instant::now(),
        );
        assert_eq!(n, 4);
        assert_eq!(
            sent(&mut jar, "/v1/purchase/status").as_deref(),
            Some("v1=2; wide=1; sub=3; parent=5")
        );
        assert_eq!(
            sent(&mut jar, "/v2/purchase/fiscal").as_deref(),
            Some("wide=1; sub=3; parent=5")
        );
        assert_eq!(
            sent(&mut jar, "/v10").as_deref(),
            Some("wide=1; sub=3; parent=5")
        );
        let mut by_ip = CookieJar::default();
        assert_eq!(
            by_ip.store(&answer(&["x=1; Domain=0.0.1"]), "127.0.0.1", Instant::now()),
            0
        );
        assert!(domain_covers("127.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn the_jar_is_bounded() {
        let mut jar = CookieJar::default();
        for i in 0..(MAX_COOKIES + 5) {
            jar.store(&answer(&[&format!("c{i}=v")]), "h", Instant::now());
        }
        assert_eq!(jar.cookies.len(), MAX_COOKIES);
        assert!(!sent(&mut jar, "/").unwrap().contains("c0="));
        let huge = format!("big={}", "x".repeat(MAX_COOKIE_BYTES));
        assert_eq!(jar.store(&answer(&[&huge]), "h", Instant::now()), 0);
    }
}
