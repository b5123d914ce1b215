//! The customer's side of the human steps, done over HTTP the way a browser without
//! JavaScript does them: GET the page, read its `<form>`, POST the form's fields
//! (`application/x-www-form-urlencoded`) to its `action`, and look at the answer (a redirect or
//! a page).

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use http::Method;
use payments_core::{HttpClient, HttpTransport, Operation, Request, RetryPolicy, Timeouts};

use super::runner::FlowError;

const GET: Operation = Operation::idempotent("demo-browser", "get");
const POST: Operation = Operation::not_idempotent("demo-browser", "post");

/// A page as the browser received it.
#[derive(Clone, Debug)]
pub struct Page {
    /// Where it came from.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, for a redirect.
    pub location: Option<String>,
    /// The HTML.
    pub body: String,
}

impl Page {
    /// The first `<form>`: its action (resolved against the page's URL) and its fields with
    /// their values (hidden inputs carry theirs, others are empty).
    pub fn form(&self) -> Result<Form, FlowError> {
        let start = self
            .body
            .find("<form")
            .ok_or_else(|| format!("no <form> on {}", self.url))?;
        let rest = &self.body[start..];
        let end = rest.find("</form>").unwrap_or(rest.len());
        let html = &rest[..end];
        let tag_end = html.find('>').unwrap_or(html.len());
        let action = attr(&html[..tag_end], "action").unwrap_or_default();
        let method = attr(&html[..tag_end], "method").unwrap_or_else(|| "get".into());
        let mut fields = Vec::new();
        let mut at = 0;
        while let Some(i) = html[at..].find("<input") {
            let from = at + i;
            let to = html[from..].find('>').map_or(html.len(), |j| from + j);
            let tag = &html[from..to];
            if let Some(name) = attr(tag, "name") {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
            at = to;
        }
        Ok(Form {
            action: resolve(&self.url, &action),
            method: method.to_ascii_lowercase(),
            fields,
        })
    }
}

/// A form read from a page.
#[derive(Clone, Debug)]
pub struct Form {
    /// The absolute URL it posts to.
    pub action: String,
    /// `post` or `get`.
    pub method: String,
    /// Its fields, in order.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// Sets a field's value (the field must exist on the form, as a person can only type into
    /// what is there).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), FlowError> {
        let field = self
            .fields
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("the form has no field {name:?}"))?;
        field.1 = value.to_owned();
        Ok(())
    }

    fn encoded(&self) -> String {
        self.fields
            .iter()
            .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A browser without JavaScript, cookies or redirects-following (redirects are returned, so
/// the caller sees where the page sends the customer).
#[derive(Clone, Debug)]
pub struct Browser {
    http: HttpClient,
}

impl Browser {
    /// A browser for loopback pages.
    pub fn new() -> Result<Browser, FlowError> {
        let transport = HttpTransport::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let http = HttpClient::with_transport(Arc::new(transport))
            .with_retry_policy(RetryPolicy::default())
            .with_timeouts(
                Timeouts::default()
                    .with_attempt(Duration::from_secs(10))
                    .with_total(Duration::from_secs(30)),
            );
        Ok(Browser { http })
    }

    /// GETs a page.
    pub async fn get(&self, url: &str) -> Result<Page, FlowError> {
        let uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
        let resp = self
            .http
            .execute(&GET, Request::new(Method::GET, uri))
            .await?;
        Ok(page(url, resp))
    }

    /// Submits a form (POST, url-encoded).
    pub async fn submit(&self, form: &Form) -> Result<Page, FlowError> {
        if form.method != "post" {
            return Err(format!("the form's method is {:?}, expected post", form.method).into());
        }
        let uri = form
            .action
            .parse()
            .map_err(|e| format!("bad form action {}: {e}", form.action))?;
        let req = Request::new(Method::POST, uri)
            .with_header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .with_body(form.encoded());
        let resp = self.http.execute(&POST, req).await?;
        Ok(page(&form.action, resp))
    }
}

impl Browser {
    /// POSTs a JSON body (what a forger, not a person, would send to a callback endpoint).
    pub async fn post_json(&self, url: &str, body: String) -> Result<Page, FlowError> {
        let uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
        let req = Request::new(Method::POST, uri)
            .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .with_body(body);
        let resp = self.http.execute(&POST, req).await?;
        Ok(page(url, resp))
    }
}

fn page(url: &str, resp: payments_core::Response) -> Page {
    Page {
        url: url.to_owned(),
        status: resp.status.as_u16(),
        location: resp
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| resolve(url, l)),
        body: String::from_utf8_lossy(&resp.body).into_owned(),
    }
}

/// An attribute's value in a tag (`name="value"` or `name='value'`), HTML-unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut at = 0;
    while let Some(i) = tag[at..].find(name) {
        let from = at + i;
        at = from + name.len();
        let before_ok = from == 0
            || tag[..from]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
        let rest = tag[at..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let quote = rest.chars().next()?;
        let value = if quote == '"' || quote == '\'' {
            let inner = &rest[1..];
            &inner[..inner.find(quote)?]
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(rest.len());
            &rest[..end]
        };
        return Some(unescape(value));
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Resolves `target` against the URL of the page it appeared on.
fn resolve(base: &str, target: &str) -> String {
    if target.starts_with("http://") || target.starts_with("https://") {
        return target.to_owned();
    }
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    let origin = &base[..origin_end];
    if target.starts_with('/') {
        format!("{origin}{target}")
    } else if target.is_empty() {
        base.to_owned()
    } else {
        let path = &base[origin_end..];
        let path = path.split('?').next().unwrap_or("");
        let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
        format!("{origin}{dir}{target}")
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_form() {
        let p = Page {
            url: "http://127.0.0.1:1/pay/7?x=1".into(),
            status: 200,
            location: None,
            body: r#"<p>x</p><form method="post" action="/pay/7/confirm">
                <input type="hidden" name="hash" value="a&amp;b">
                <input name='code' placeholder="code"><button>Go</button></form>"#
                .into(),
        };
        let mut f = p.form().unwrap();
        assert_eq!(f.action, "http://127.0.0.1:1/pay/7/confirm");
        assert_eq!(f.method, "post");
        assert_eq!(
            f.fields,
            vec![
                ("hash".into(), "a&b".into()),
                ("code".into(), String::new())
            ]
        );
        f.set("code", "11 11").unwrap();
        assert!(f.set("nope", "1").is_err());
        assert_eq!(f.encoded(), "hash=a%26b&code=11+11");
        assert_eq!(resolve("http://h:1/a/b?q", "c"), "http://h:1/a/c");
        assert_eq!(resolve("http://h:1", "/c"), "http://h:1/c");
        assert!(Page {
            body: "none".into(),
            ..p
        }
        .form()
        .is_err());
    }
}
