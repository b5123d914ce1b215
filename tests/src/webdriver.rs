//! A minimal W3C WebDriver client for headless Chromium through chromedriver, enough to click
//! through the sandbox's human pages: navigate, find, type, click, read the URL and the page,
//! and take a screenshot. It talks to chromedriver on 127.0.0.1 with payments-core's own client.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_core::http;
use payments_core::{HttpClient, HttpTransport, Operation, Request, RetryPolicy, Timeouts};
use serde_json::{json, Value};

/// The Chromium binary used (Debian's package).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The chromedriver binary used (Debian's package).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const OP: Operation = Operation::not_idempotent("webdriver", "command");

/// Why a browser step failed.
#[derive(Debug)]
pub struct WebDriverError(pub String);

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "webdriver: {}", self.0)
    }
}

impl std::error::Error for WebDriverError {}

fn err(msg: impl Into<String>) -> WebDriverError {
    WebDriverError(msg.into())
}

/// Whether Chromium and chromedriver are installed (`.ci/run` installs both).
pub fn browser_available() -> bool {
    std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists()
}

/// Whether a browser test can run: `true` when Chromium and chromedriver are installed. Under
/// CI (`CI` set) their absence is a failure, since `.ci/run` installs both; on a developer
/// machine without them the test is skipped, loudly.
///
/// # Panics
///
/// Under CI, when the browser is missing.
pub fn browser_or_skip() -> bool {
    if browser_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have chromium and chromedriver installed (see .ci/run)"
    );
    eprintln!("SKIPPED: /usr/bin/chromium or /usr/bin/chromedriver is not installed");
    false
}

/// A chromedriver process and one headless browser session. Dropping it ends both.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: HttpClient,
    _profile: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless session.
    pub async fn start() -> Result<Browser, WebDriverError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| err(format!("no free port: {e}")))?
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("cannot start {CHROMEDRIVER}: {e}")))?;
        let transport = HttpTransport::builder()
            .build()
            .map_err(|e| err(e.to_string()))?;
        let http = HttpClient::with_transport(Arc::new(transport))
            .with_retry_policy(RetryPolicy::never())
            .with_timeouts(Timeouts::default().with_attempt(Duration::from_secs(60)));
        let profile = std::env::temp_dir().join(format!(
            "payments-e2e-chromium-{}-{port}",
            std::process::id()
        ));
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http,
            _profile: TempDir(profile.clone()),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match browser.call(http::Method::GET, "/status", None).await {
                Ok(v) if v["ready"] == json!(true) => break,
                _ if Instant::now() > deadline => return Err(err("chromedriver did not start")),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1000,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let v = browser
            .call(http::Method::POST, "/session", Some(caps))
            .await?;
        browser.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| err(format!("no session id in {v}")))?
            .to_owned();
        Ok(browser)
    }

    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let uri = format!("{}{}", self.base, path)
            .parse()
            .map_err(|e| err(format!("bad path {path}: {e}")))?;
        let mut req = Request::new(method, uri);
        if let Some(b) = body {
            req = req
                .with_header(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                )
                .with_body(b.to_string());
        }
        let resp = self
            .http
            .execute(&OP, req)
            .await
            .map_err(|e| err(e.to_string()))?;
        let v: Value = resp
            .json("a WebDriver answer")
            .map_err(|e| err(e.to_string()))?;
        if !resp.status.is_success() {
            return Err(err(format!("{path}: {}", v["value"])));
        }
        Ok(v.get("value").cloned().unwrap_or(v))
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<(), WebDriverError> {
        self.call(
            http::Method::POST,
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        )
        .await
        .map(|_| ())
    }

    /// The current URL.
    pub async fn url(&self) -> Result<String, WebDriverError> {
        let v = self
            .call(http::Method::GET, &self.session_path("/url"), None)
            .await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| err("the URL is not a string"))
    }

    /// The page's HTML.
    pub async fn source(&self) -> Result<String, WebDriverError> {
        let v = self
            .call(http::Method::GET, &self.session_path("/source"), None)
            .await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| err("the source is not a string"))
    }

    /// Finds the first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<String, WebDriverError> {
        let v = self
            .call(
                http::Method::POST,
                &self.session_path("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        v[ELEMENT_KEY]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| err(format!("no element for {css}")))
    }

    /// Clicks the element matching a CSS selector.
    pub async fn click(&self, css: &str) -> Result<(), WebDriverError> {
        let id = self.find(css).await?;
        self.call(
            http::Method::POST,
            &self.session_path(&format!("/element/{id}/click")),
            Some(json!({})),
        )
        .await
        .map(|_| ())
    }

    /// Types text into the element matching a CSS selector.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), WebDriverError> {
        let id = self.find(css).await?;
        self.call(
            http::Method::POST,
            &self.session_path(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        )
        .await
        .map(|_| ())
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, WebDriverError> {
        let v = self
            .call(http::Method::GET, &self.session_path("/screenshot"), None)
            .await?;
        let b64 = v.as_str().ok_or_else(|| err("no screenshot data"))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| err(format!("screenshot is not base64: {e}")))
    }

    /// Waits until the current URL satisfies `pred`, or fails after `timeout`.
    pub async fn wait_for_url(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, WebDriverError> {
        let deadline = Instant::now() + timeout;
        loop {
            let url = self.url().await?;
            if pred(&url) {
                return Ok(url);
            }
            if Instant::now() > deadline {
                return Err(err(format!("URL still {url} after {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session and chromedriver.
    pub async fn quit(mut self) {
        let _ = self
            .call(http::Method::DELETE, &self.session_path(""), None)
            .await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
