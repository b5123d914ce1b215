//! All three emulators at once: [`Sandbox::start`] runs Ktpay, Kupi-Kupi and Smart Pay on
//! 127.0.0.1 and returns a [`SandboxInfo`], everything an application needs to point at them.
//! `payments sandbox` serves the same thing from the command line and prints the same
//! information (as JSON with `--json`).
//!
//! ```
//! use payments_sandbox::{Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(
//!     SandboxConfig::default()
//!         .with_kupikupi_notification_url("http://127.0.0.1:9/kupikupi/notify")
//!         .with_time_scale(0.001), // 15 s between callback retries becomes 15 ms
//! )
//! .await?;
//! let info = sandbox.info();
//! assert!(info.ktwidget.api_base.starts_with("http://127.0.0.1:"));
//! assert!(info.smartpay.api_base.starts_with("https://localhost:"));
//! assert!(info.smartpay.client_key_pem.exists()); // a file in a directory the sandbox owns
//! assert_eq!(info.kupikupi.platform_uid, "M2hULcD58iYGkmS7");
//!
//! // The JSON that `payments sandbox --json` prints on its first line.
//! let json = serde_json::to_value(info)?;
//! assert!(json["smartpay"]["auth"]["login"].is_string());
//!
//! // State inspection goes through the emulators.
//! assert!(sandbox.kupikupi().transfers().is_empty());
//! sandbox.shutdown().await; // also deletes the certificate directory
//! # Ok(())
//! # }
//! ```
//!
//! ## Addresses
//!
//! [`SandboxConfig::listen`] chooses the host and the first port: with port `0` (the default)
//! each emulator gets its own free port; with port `P`, Ktpay listens on `P`, Kupi-Kupi on
//! `P + 1` and Smart Pay on `P + 2`. Each serves the real service's paths, so a client changes
//! only the scheme, host and port.
//!
//! ## Hostile clients and settings
//!
//! - Each emulator's server cuts off a client that does not send a request head within
//!   [`Limits::header_read_timeout`](crate::server::Limits) (at most 30 s) and serves at most
//!   [`Limits::max_connections`](crate::server::Limits) connections at once
//!   ([`SandboxConfig::with_limits`]).
//! - State is bounded: past [`SandboxConfig::max_finished`] finished payments, transfers and
//!   purchases per emulator, the oldest are forgotten.
//! - The time scale must be from 0 to 100 ([`TimeScale`]); anything else is refused by
//!   [`Sandbox::start`].
//! - Listening on an address that is not loopback logs a warning (and `payments sandbox`
//!   prints one). Callbacks and notifications go only to loopback hosts unless
//!   [`SandboxConfig::allow_non_loopback_delivery`] is set: a merchant URL elsewhere is
//!   refused at start, and an order's Ktpay callback URL elsewhere is not called (the payment
//!   shows [`ktwidget::Delivery::Refused`]).
//! - The certificate directory and its files are created exclusively (never an existing file,
//!   never through a symbolic link).
//!
//! ## Pages a person uses
//!
//! Both human steps are plain HTML forms that work in any browser, without JavaScript:
//!
//! - Ktpay's card page, `{widget_base}/payment-card?hash=<transaction_hash>` (the client's
//!   `widget_url`): enter a test card ([`ktwidget::TEST_CARDS`], any expiry and CVC) and press
//!   Pay. The payment runs its state machine, the callback goes to the order's
//!   `callback_post_url` (or the merchant's default), and the browser is redirected (303) to
//!   the order's `callback_force_success_url` or `callback_force_failed_url` (or
//!   `callback_force_back_url`); without those, a result page links to
//!   `callback_success_url` / `callback_failed_url` / `callback_back_url`.
//! - Kupi-Kupi's transfer form, the `transferURL` that `init` returns: enter the code
//!   (default `1111`) and the transfer moves
//!   on by the phone (79000000001 `CONFIRMED`, 79000000002 `REJECTED`, 79000000003
//!   `CANCELED`), and the notification goes out. `CONFIRMED` takes effect only once the
//!   merchant answers the notification `OK` (at once when no NotificationURL is set). A wrong
//!   code shows the form again.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::server::Limits;
use crate::time_scale::{InvalidTimeScale, TimeScale};
use crate::{ktwidget, kupikupi, smartpay};

/// How the sandbox starts. Build it with [`SandboxConfig::default`] and the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// The host and first port (see the [module docs](self)). Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// The merchant's default Ktpay `callback_post_url` (an order's own URL wins).
    pub ktwidget_callback_url: Option<String>,
    /// The merchant's Kupi-Kupi NotificationURL (none: no notification is sent).
    pub kupikupi_notification_url: Option<String>,
    /// Multiplies the callback and notification retry schedules (documented: 15 s, 60 s,
    /// 3 min, 10 min, 30 min, 60 min). Default `1.0`; from 0 to 100 (see [`TimeScale`]).
    pub time_scale: f64,
    /// Deliver callbacks and notifications to hosts that are not loopback. Default `false`.
    pub allow_non_loopback_delivery: bool,
    /// How many finished payments, transfers and purchases each emulator keeps. Default
    /// 10 000.
    pub max_finished: usize,
    /// Each emulator's server limits (request-head timeout, connection cap).
    pub limits: Limits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ktwidget_callback_url: None,
            kupikupi_notification_url: None,
            time_scale: 1.0,
            allow_non_loopback_delivery: false,
            max_finished: crate::DEFAULT_MAX_FINISHED,
            limits: Limits::default(),
        }
    }
}

impl SandboxConfig {
    /// Sets the host and first port.
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets the merchant's default Ktpay callback URL.
    pub fn with_ktwidget_callback_url(mut self, url: impl Into<String>) -> Self {
        self.ktwidget_callback_url = Some(url.into());
        self
    }

    /// Sets the merchant's Kupi-Kupi notification URL.
    pub fn with_kupikupi_notification_url(mut self, url: impl Into<String>) -> Self {
        self.kupikupi_notification_url = Some(url.into());
        self
    }

    /// Sets the time scale of the retry schedules (checked by [`Sandbox::start`]: from 0 to
    /// 100).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Allows callbacks and notifications to hosts that are not loopback (by default they go
    /// only to `localhost`, `127.0.0.0/8` and `::1`).
    pub fn allow_non_loopback_delivery(mut self) -> Self {
        self.allow_non_loopback_delivery = true;
        self
    }

    /// Sets how many finished payments, transfers and purchases each emulator keeps.
    pub fn with_max_finished(mut self, max: usize) -> Self {
        self.max_finished = max;
        self
    }

    /// Sets each emulator's server limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether the sandbox would listen on an address other machines can reach.
    pub fn listens_beyond_loopback(&self) -> bool {
        !self.listen.ip().is_loopback()
    }

    fn addr(&self, offset: u16) -> Result<SocketAddr, SandboxError> {
        let mut addr = self.listen;
        if addr.port() != 0 {
            let port = addr.port().checked_add(offset).ok_or_else(|| {
                SandboxError::Config(format!(
                    "port {} + {offset} is above 65535",
                    self.listen.port()
                ))
            })?;
            addr.set_port(port);
        }
        Ok(addr)
    }
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The Ktpay emulator.
    #[error("ktwidget emulator: {0}")]
    Ktwidget(#[from] ktwidget::StartError),
    /// The Kupi-Kupi emulator.
    #[error("kupikupi emulator: {0}")]
    Kupikupi(#[from] kupikupi::StartError),
    /// The Smart Pay emulator.
    #[error("smartpay emulator: {0}")]
    Smartpay(#[from] smartpay::StartError),
    /// The certificate files could not be written.
    #[error("cannot write the Smart Pay certificates: {0}")]
    Io(#[from] std::io::Error),
    /// The configuration is invalid.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// The time scale is out of range.
    #[error("invalid sandbox configuration: {0}")]
    TimeScale(#[from] InvalidTimeScale),
}

/// What an application needs to use the sandbox. Its JSON is what `payments sandbox --json`
/// prints. `Debug` hides the secrets; the JSON carries them (it is meant for the application).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SandboxInfo {
    /// Ktpay.
    pub ktwidget: KtwidgetInfo,
    /// Kupi-Kupi.
    pub kupikupi: KupikupiInfo,
    /// Smart Pay.
    pub smartpay: SmartpayInfo,
    /// Where callbacks and notifications go.
    pub merchant: MerchantInfo,
}

/// Ktpay's part of [`SandboxInfo`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KtwidgetInfo {
    /// `http://HOST:PORT` (the API's paths start with `/api/v1/merchant-widget/payment`).
    pub api_base: String,
    /// `http://HOST:PORT` (the card page is `/payment-card?hash=`).
    pub widget_base: String,
    /// The merchant's `app_id`.
    pub app_id: String,
    /// The emulator's public key in standard base64: the `app_key` requests are sealed to.
    pub app_key: String,
}

/// Kupi-Kupi's part of [`SandboxInfo`].
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KupikupiInfo {
    /// `http://HOST:PORT`. The methods are `/api/v1/transfer/<method>`, so the `kupikupi`
    /// client's base URL is `{api_base}/api/v1/transfer`.
    pub api_base: String,
    /// The platform uid.
    pub platform_uid: String,
    /// The secret key of the request tokens.
    pub secret_key: String,
}

impl std::fmt::Debug for KupikupiInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KupikupiInfo")
            .field("api_base", &self.api_base)
            .field("platform_uid", &self.platform_uid)
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

/// Smart Pay's part of [`SandboxInfo`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmartpayInfo {
    /// `https://localhost:PORT` (TLS; the server certificate names `localhost` and `127.0.0.1`).
    pub api_base: String,
    /// The path of the CA certificate (PEM) to trust as the server's root.
    pub ca_pem: PathBuf,
    /// The path of the kassa's client certificate (PEM).
    pub client_cert_pem: PathBuf,
    /// The path of the kassa's client private key (PKCS#8 PEM, mode 0600).
    pub client_key_pem: PathBuf,
    /// The kassa's login and password for `/v1/auth`.
    pub auth: SmartpayAuth,
}

/// The kassa's credentials for `/v1/auth`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmartpayAuth {
    /// The login.
    pub login: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for SmartpayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartpayAuth")
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// Where the sandbox sends callbacks and notifications by default.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MerchantInfo {
    /// Ktpay's default `callback_post_url`, if set.
    pub ktwidget_callback_url: Option<String>,
    /// Kupi-Kupi's NotificationURL, if set.
    pub kupikupi_notification_url: Option<String>,
}

/// The three emulators, running. Dropping it stops them and deletes the certificate directory;
/// [`Sandbox::shutdown`] also waits for them to finish.
#[derive(Debug)]
pub struct Sandbox {
    ktwidget: ktwidget::Emulator,
    kupikupi: kupikupi::Emulator,
    smartpay: smartpay::SmartPayEmulator,
    info: SandboxInfo,
    dir: CertDir,
}

#[derive(Debug)]
struct CertDir(PathBuf);

impl CertDir {
    fn create() -> std::io::Result<CertDir> {
        let base = std::env::temp_dir();
        let mut last = None;
        for _ in 0..8 {
            let path = base.join(format!(
                "payments-sandbox-{}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            ));
            match create_private_dir(&path) {
                Ok(()) => return Ok(CertDir(path)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("cannot create a temporary directory")))
    }
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}

impl Drop for CertDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Sandbox {
    /// Starts the three emulators (see [`SandboxConfig`]).
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let scale = TimeScale::new(config.time_scale)?;
        if config.listens_beyond_loopback() {
            tracing::warn!(
                listen = %config.listen,
                "the sandbox listens on an address that is not loopback: other machines can reach it"
            );
        }
        let mut kt = ktwidget::Config::default()
            .with_time_scale(scale.get())
            .with_max_finished(config.max_finished)
            .with_limits(config.limits);
        kt.allow_non_loopback_delivery = config.allow_non_loopback_delivery;
        kt.addr = config.addr(0)?;
        kt.default_callback_url = config.ktwidget_callback_url.clone();
        let ktwidget = ktwidget::start(kt).await?;

        let mut kk = kupikupi::Config::default()
            .time_scale(scale.get())
            .max_finished(config.max_finished)
            .limits(config.limits);
        kk.allow_non_loopback_delivery = config.allow_non_loopback_delivery;
        kk.addr = config.addr(1)?;
        kk.notification_url = config.kupikupi_notification_url.clone();
        let kupikupi = kupikupi::start(kk).await?;

        let sp = smartpay::Config {
            addr: config.addr(2)?,
            max_finished: config.max_finished,
            limits: config.limits,
            ..smartpay::Config::default()
        };
        let smartpay = smartpay::start(sp).await?;

        let dir = CertDir::create()?;
        let paths = smartpay.certificates().write_to_dir(&dir.0)?;
        let (login, password) = smartpay.credentials();
        let info = SandboxInfo {
            ktwidget: KtwidgetInfo {
                api_base: ktwidget.base_url(),
                widget_base: ktwidget.base_url(),
                app_id: ktwidget.app_id().to_owned(),
                app_key: ktwidget.app_key_base64(),
            },
            kupikupi: KupikupiInfo {
                api_base: kupikupi.root_url().to_owned(),
                platform_uid: kupikupi.platform_uid().to_owned(),
                secret_key: kupikupi.secret_key().to_owned(),
            },
            smartpay: SmartpayInfo {
                api_base: smartpay.base_url(),
                ca_pem: paths.ca,
                client_cert_pem: paths.cert,
                client_key_pem: paths.key,
                auth: SmartpayAuth {
                    login: login.to_owned(),
                    password: password.to_owned(),
                },
            },
            merchant: MerchantInfo {
                ktwidget_callback_url: config.ktwidget_callback_url,
                kupikupi_notification_url: config.kupikupi_notification_url,
            },
        };
        Ok(Sandbox {
            ktwidget,
            kupikupi,
            smartpay,
            info,
            dir,
        })
    }

    /// What an application needs: base URLs, credentials, certificate paths.
    pub fn info(&self) -> &SandboxInfo {
        &self.info
    }

    /// The Ktpay emulator (state inspection, test cards).
    pub fn ktwidget(&self) -> &ktwidget::Emulator {
        &self.ktwidget
    }

    /// The Kupi-Kupi emulator (state inspection).
    pub fn kupikupi(&self) -> &kupikupi::Emulator {
        &self.kupikupi
    }

    /// The Smart Pay emulator (state inspection, outcomes, the certificates as PEM text).
    pub fn smartpay(&self) -> &smartpay::SmartPayEmulator {
        &self.smartpay
    }

    /// The directory holding the Smart Pay PEM files (deleted when the sandbox stops).
    pub fn cert_dir(&self) -> &Path {
        &self.dir.0
    }

    /// Stops the three emulators gracefully (in-flight requests finish, pending deliveries
    /// stop) and deletes the certificate directory.
    pub async fn shutdown(self) {
        let Sandbox {
            ktwidget,
            kupikupi,
            smartpay,
            dir,
            ..
        } = self;
        tokio::join!(
            ktwidget.shutdown(),
            kupikupi.shutdown(),
            smartpay.shutdown()
        );
        drop(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_the_first_one() {
        let c = SandboxConfig::default().with_listen("127.0.0.1:18000".parse().unwrap());
        assert_eq!(c.addr(0).unwrap().port(), 18000);
        assert_eq!(c.addr(2).unwrap().port(), 18002);
        let free = SandboxConfig::default();
        assert_eq!(free.addr(2).unwrap().port(), 0);
        let top = SandboxConfig::default().with_listen("127.0.0.1:65535".parse().unwrap());
        assert!(top.addr(1).is_err());
    }

    #[tokio::test]
    async fn the_limits_reach_every_emulator() {
        let limits = Limits::new(std::time::Duration::from_millis(200), 8).unwrap();
        let sandbox = Sandbox::start(SandboxConfig::default().with_limits(limits))
            .await
            .unwrap();
        let info = sandbox.info().clone();
        let port = |base: &str| -> u16 { base.rsplit(':').next().unwrap().parse().unwrap() };
        for base in [
            &info.ktwidget.api_base,
            &info.kupikupi.api_base,
            &info.smartpay.api_base,
        ] {
            // A client that connects and sends nothing (not even a TLS hello) is cut off.
            let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port(base)))
                .await
                .unwrap();
            let mut buf = [0u8; 64];
            let closed = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                tokio::io::AsyncReadExt::read(&mut tcp, &mut buf),
            )
            .await;
            assert!(
                matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
                "{base}: {closed:?}"
            );
        }
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn a_merchant_url_beyond_loopback_needs_the_opt_in() {
        let far = SandboxConfig::default().with_kupikupi_notification_url("http://10.9.8.7/n");
        let err = Sandbox::start(far.clone()).await.unwrap_err();
        assert!(err.to_string().contains("not loopback"), "{err}");
        let far = SandboxConfig::default().with_ktwidget_callback_url("http://shop.example/cb");
        let err = Sandbox::start(far.clone()).await.unwrap_err();
        assert!(err.to_string().contains("not loopback"), "{err}");
        let sandbox = Sandbox::start(far.allow_non_loopback_delivery())
            .await
            .unwrap();
        sandbox.shutdown().await;
        assert!(!SandboxConfig::default().listens_beyond_loopback());
        assert!(SandboxConfig::default()
            .with_listen("0.0.0.0:0".parse().unwrap())
            .listens_beyond_loopback());
    }

    #[tokio::test]
    async fn starts_writes_the_pems_and_cleans_up() {
        let sandbox = Sandbox::start(SandboxConfig::default().with_time_scale(0.001))
            .await
            .unwrap();
        let info = sandbox.info().clone();
        let key = std::fs::read_to_string(&info.smartpay.client_key_pem).unwrap();
        assert_eq!(key, sandbox.smartpay().certificates().client_key_pem);
        let debug = format!("{info:?}");
        assert!(!debug.contains(&info.kupikupi.secret_key), "{debug}");
        assert!(!debug.contains(&info.smartpay.auth.password), "{debug}");
        let json = serde_json::to_value(&info).unwrap();
        for (provider, keys) in [
            (
                "ktwidget",
                &["api_base", "widget_base", "app_id", "app_key"][..],
            ),
            ("kupikupi", &["api_base", "platform_uid", "secret_key"][..]),
            (
                "smartpay",
                &[
                    "api_base",
                    "ca_pem",
                    "client_cert_pem",
                    "client_key_pem",
                    "auth",
                ][..],
            ),
        ] {
            let obj = json[provider].as_object().unwrap();
            assert_eq!(obj.len(), keys.len(), "{provider}");
            for k in keys {
                assert!(obj.contains_key(*k), "{provider}.{k}");
            }
        }
        assert!(json["merchant"]["kupikupi_notification_url"].is_null());
        let dir = sandbox.cert_dir().to_owned();
        sandbox.shutdown().await;
        assert!(!dir.exists());
        for scale in [f64::NAN, -1.0, f64::INFINITY, 1e9] {
            let err = Sandbox::start(SandboxConfig::default().with_time_scale(scale))
                .await
                .unwrap_err();
            assert!(matches!(err, SandboxError::TimeScale(_)), "{err}");
        }
    }
}
