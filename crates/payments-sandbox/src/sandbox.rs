//! All three emulators at once: [`Sandbox::start`] runs Ktpay, Kupi-Kupi and Smart Pay on
//! 127.0.0.1 and returns a [`SandboxInfo`], everything an application needs to point at them.
//! `payments sandbox` serves the same thing from the command line and prints the same
//! information (as JSON with `--json`).
//!
//! ```
//! use payments_sandbox::{Sandbox, SandboxConfig};
//!
//! # #[cfg(not(all(feature = "ktwidget", feature = "kupikupi", feature = "smartpay")))]
//! # fn main() {}
//! # #[cfg(all(feature = "ktwidget", feature = "kupikupi", feature = "smartpay"))]
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
//! [`SandboxConfig::with_listen`] chooses the host and the first port: with port `0` (the default)
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
//! - State is bounded: past [`SandboxConfig::with_max_finished`] finished payments, transfers and
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
//! ## Faults
//!
//! [`Sandbox::faults`] is one table for the three emulators: a [`Fault`] names its provider
//! and path, and forces a status, a delay, a reset or a truncated answer (see the
//! [crate docs](crate#fault-injection)). [`SandboxConfig::with_fault`] arms one from the start.
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
#[cfg(feature = "smartpay")]
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fault::{Fault, Faults, InvalidFault};
#[cfg(feature = "ktwidget")]
use crate::ktwidget;
#[cfg(feature = "kupikupi")]
use crate::kupikupi;
use crate::server::Limits;
#[cfg(feature = "smartpay")]
use crate::smartpay;
use crate::time_scale::{InvalidTimeScale, TimeScale};

/// How the sandbox starts. Build it with [`SandboxConfig::default`] and the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// The host and first port (see the [module docs](self)). Default `127.0.0.1:0`.
    listen: SocketAddr,
    /// The merchant's default Ktpay `callback_post_url` (an order's own URL wins).
    #[cfg(feature = "ktwidget")]
    ktwidget_callback_url: Option<String>,
    /// The merchant's Kupi-Kupi NotificationURL (none: no notification is sent).
    #[cfg(feature = "kupikupi")]
    kupikupi_notification_url: Option<String>,
    /// Multiplies the callback and notification retry schedules.
    time_scale: f64,
    /// Deliver callbacks and notifications to hosts that are not loopback. Default `false`.
    allow_non_loopback_delivery: bool,
    /// How many finished payments, transfers and purchases each emulator keeps.
    max_finished: usize,
    /// Each emulator's server limits (request-head timeout, connection cap).
    limits: Limits,
    /// The faults armed from the start.
    faults: Vec<Fault>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            #[cfg(feature = "ktwidget")]
            ktwidget_callback_url: None,
            #[cfg(feature = "kupikupi")]
            kupikupi_notification_url: None,
            time_scale: 1.0,
            allow_non_loopback_delivery: false,
            max_finished: crate::DEFAULT_MAX_FINISHED,
            limits: Limits::default(),
            faults: Vec::new(),
        }
    }
}

impl SandboxConfig {
    /// Sets the host and first port (see the [module docs](self)). Default `127.0.0.1:0`.
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets the merchant's default Ktpay `callback_post_url` (an order's own URL wins).
    #[cfg(feature = "ktwidget")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
    pub fn with_ktwidget_callback_url(mut self, url: impl Into<String>) -> Self {
        self.ktwidget_callback_url = Some(url.into());
        self
    }

    /// Sets the merchant's Kupi-Kupi NotificationURL (without it no notification is sent).
    #[cfg(feature = "kupikupi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
    pub fn with_kupikupi_notification_url(mut self, url: impl Into<String>) -> Self {
        self.kupikupi_notification_url = Some(url.into());
        self
    }

    /// Sets the time scale of the callback and notification retry schedules (documented:
    /// 15 s, 60 s, 3 min, 10 min, 30 min, 60 min). Default `1.0`; from 0 to 100 (see
    /// [`TimeScale`], checked by [`Sandbox::start`]).
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

    /// Sets how many finished payments, transfers and purchases each emulator keeps. Default
    /// 10 000.
    pub fn with_max_finished(mut self, max: usize) -> Self {
        self.max_finished = max;
        self
    }

    /// Sets each emulator's server limits (request-head timeout, connection cap).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Arms a fault from the start (checked by [`Sandbox::start`]); more can be injected
    /// later through [`Sandbox::faults`]. This is what `payments sandbox --fault` uses.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// The host and first port.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// Whether the sandbox would listen on an address other machines can reach.
    pub fn listens_beyond_loopback(&self) -> bool {
        !self.listen.ip().is_loopback()
    }

    #[cfg_attr(not(feature = "smartpay"), allow(dead_code))]
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
    #[cfg(feature = "ktwidget")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
    #[error("ktwidget emulator: {0}")]
    Ktwidget(#[from] ktwidget::StartError),
    /// The Kupi-Kupi emulator.
    #[cfg(feature = "kupikupi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
    #[error("kupikupi emulator: {0}")]
    Kupikupi(#[from] kupikupi::StartError),
    /// The Smart Pay emulator.
    #[cfg(feature = "smartpay")]
    #[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
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
    /// A fault given to [`SandboxConfig::with_fault`] is invalid.
    #[error("invalid sandbox configuration: {0}")]
    Fault(#[from] InvalidFault),
}

/// What an application needs to use the sandbox. Its JSON is what `payments sandbox --json`
/// prints. `Debug` hides the secrets; the JSON carries them (it is meant for the application).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxInfo {
    /// Ktpay.
    #[cfg(feature = "ktwidget")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
    pub ktwidget: KtwidgetInfo,
    /// Kupi-Kupi.
    #[cfg(feature = "kupikupi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
    pub kupikupi: KupikupiInfo,
    /// Smart Pay.
    #[cfg(feature = "smartpay")]
    #[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
    pub smartpay: SmartpayInfo,
    /// Where callbacks and notifications go.
    pub merchant: MerchantInfo,
}

/// Ktpay's part of [`SandboxInfo`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
#[cfg(feature = "ktwidget")]
#[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
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
#[non_exhaustive]
#[cfg(feature = "kupikupi")]
#[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
pub struct KupikupiInfo {
    /// `http://HOST:PORT`. The methods are `/api/v1/transfer/<method>`, so the `kupikupi`
    /// client's base URL is `{api_base}/api/v1/transfer`.
    pub api_base: String,
    /// The platform uid.
    pub platform_uid: String,
    /// The secret key of the request tokens.
    pub secret_key: String,
}

#[cfg(feature = "kupikupi")]
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
#[non_exhaustive]
#[cfg(feature = "smartpay")]
#[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
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
#[non_exhaustive]
#[cfg(feature = "smartpay")]
#[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
pub struct SmartpayAuth {
    /// The login.
    pub login: String,
    /// The password.
    pub password: String,
}

#[cfg(feature = "smartpay")]
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
#[non_exhaustive]
pub struct MerchantInfo {
    /// Ktpay's default `callback_post_url`, if set.
    #[cfg(feature = "ktwidget")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
    pub ktwidget_callback_url: Option<String>,
    /// Kupi-Kupi's NotificationURL, if set.
    #[cfg(feature = "kupikupi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
    pub kupikupi_notification_url: Option<String>,
}

/// The three emulators, running. Dropping it stops them and deletes the certificate directory;
/// [`Sandbox::shutdown`] also waits for them to finish.
#[derive(Debug)]
pub struct Sandbox {
    #[cfg(feature = "ktwidget")]
    ktwidget: ktwidget::Emulator,
    #[cfg(feature = "kupikupi")]
    kupikupi: kupikupi::Emulator,
    #[cfg(feature = "smartpay")]
    smartpay: smartpay::Emulator,
    info: SandboxInfo,
    faults: Faults,
    #[cfg(feature = "smartpay")]
    dir: CertDir,
}

#[cfg(feature = "smartpay")]
#[derive(Debug)]
struct CertDir(PathBuf);

#[cfg(feature = "smartpay")]
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

#[cfg(all(unix, feature = "smartpay"))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(all(not(unix), feature = "smartpay"))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}

#[cfg(feature = "smartpay")]
impl Drop for CertDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Sandbox {
    /// Starts the three emulators (see [`SandboxConfig`]).
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let scale = TimeScale::new(config.time_scale)?;
        let faults = Faults::new();
        for fault in &config.faults {
            faults.inject(fault.clone())?;
        }
        if config.listens_beyond_loopback() {
            tracing::warn!(
                listen = %config.listen,
                "the sandbox listens on an address that is not loopback: other machines can reach it"
            );
        }
        #[cfg(feature = "ktwidget")]
        let ktwidget = {
            let mut kt = ktwidget::Config::default()
                .with_addr(config.addr(0)?)
                .with_time_scale(scale.get())
                .with_max_finished(config.max_finished)
                .with_limits(config.limits)
                .with_faults(faults.clone());
            if config.allow_non_loopback_delivery {
                kt = kt.allow_non_loopback_delivery();
            }
            if let Some(url) = &config.ktwidget_callback_url {
                kt = kt.with_default_callback_url(url.clone());
            }
            ktwidget::start(kt).await?
        };

        #[cfg(feature = "kupikupi")]
        let kupikupi = {
            let mut kk = kupikupi::Config::default()
                .with_addr(config.addr(1)?)
                .with_time_scale(scale.get())
                .with_max_finished(config.max_finished)
                .with_limits(config.limits)
                .with_faults(faults.clone());
            if config.allow_non_loopback_delivery {
                kk = kk.allow_non_loopback_delivery();
            }
            if let Some(url) = &config.kupikupi_notification_url {
                kk = kk.with_notification_url(url.clone());
            }
            kupikupi::start(kk).await?
        };

        #[cfg(feature = "smartpay")]
        let (smartpay, dir, smartpay_info) = {
            let sp = smartpay::Config::default()
                .with_addr(config.addr(2)?)
                .with_max_finished(config.max_finished)
                .with_limits(config.limits)
                .with_faults(faults.clone());
            let smartpay = smartpay::start(sp).await?;
            let dir = CertDir::create()?;
            let paths = smartpay.certificates().write_to_dir(&dir.0)?;
            let (login, password) = smartpay.credentials();
            let info = SmartpayInfo {
                api_base: smartpay.base_url(),
                ca_pem: paths.ca,
                client_cert_pem: paths.cert,
                client_key_pem: paths.key,
                auth: SmartpayAuth {
                    login: login.to_owned(),
                    password: password.to_owned(),
                },
            };
            (smartpay, dir, info)
        };

        let info = SandboxInfo {
            #[cfg(feature = "ktwidget")]
            ktwidget: KtwidgetInfo {
                api_base: ktwidget.base_url(),
                widget_base: ktwidget.base_url(),
                app_id: ktwidget.app_id().to_owned(),
                app_key: ktwidget.app_key_base64(),
            },
            #[cfg(feature = "kupikupi")]
            kupikupi: KupikupiInfo {
                api_base: kupikupi.root_url().to_owned(),
                platform_uid: kupikupi.platform_uid().to_owned(),
                secret_key: kupikupi.secret_key().to_owned(),
            },
            #[cfg(feature = "smartpay")]
            smartpay: smartpay_info,
            merchant: MerchantInfo {
                #[cfg(feature = "ktwidget")]
                ktwidget_callback_url: config.ktwidget_callback_url,
                #[cfg(feature = "kupikupi")]
                kupikupi_notification_url: config.kupikupi_notification_url,
            },
        };
        let _ = scale;
        Ok(Sandbox {
            #[cfg(feature = "ktwidget")]
            ktwidget,
            #[cfg(feature = "kupikupi")]
            kupikupi,
            #[cfg(feature = "smartpay")]
            smartpay,
            info,
            faults,
            #[cfg(feature = "smartpay")]
            dir,
        })
    }

    /// What an application needs: base URLs, credentials, certificate paths.
    pub fn info(&self) -> &SandboxInfo {
        &self.info
    }

    /// The faults injected into the emulators' answers: one table for the three, each fault
    /// naming its [`Provider`](crate::Provider) (see [`Fault`]).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The Ktpay emulator (state inspection, test cards).
    #[cfg(feature = "ktwidget")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
    pub fn ktwidget(&self) -> &ktwidget::Emulator {
        &self.ktwidget
    }

    /// The Kupi-Kupi emulator (state inspection).
    #[cfg(feature = "kupikupi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
    pub fn kupikupi(&self) -> &kupikupi::Emulator {
        &self.kupikupi
    }

    /// The Smart Pay emulator (state inspection, outcomes, the certificates as PEM text).
    #[cfg(feature = "smartpay")]
    #[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
    pub fn smartpay(&self) -> &smartpay::Emulator {
        &self.smartpay
    }

    /// The directory holding the Smart Pay PEM files (deleted when the sandbox stops).
    #[cfg(feature = "smartpay")]
    #[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
    pub fn cert_dir(&self) -> &Path {
        &self.dir.0
    }

    /// Stops the emulators gracefully (in-flight requests finish, pending deliveries stop)
    /// and deletes the certificate directory.
    pub async fn shutdown(self) {
        let Sandbox {
            #[cfg(feature = "ktwidget")]
            ktwidget,
            #[cfg(feature = "kupikupi")]
            kupikupi,
            #[cfg(feature = "smartpay")]
            smartpay,
            #[cfg(feature = "smartpay")]
            dir,
            ..
        } = self;
        let kt = async {
            #[cfg(feature = "ktwidget")]
            ktwidget.shutdown().await;
        };
        let kk = async {
            #[cfg(feature = "kupikupi")]
            kupikupi.shutdown().await;
        };
        let sp = async {
            #[cfg(feature = "smartpay")]
            smartpay.shutdown().await;
        };
        tokio::join!(kt, kk, sp);
        #[cfg(feature = "smartpay")]
        drop(dir);
    }
}

#[cfg(all(test, feature = "ktwidget", feature = "kupikupi", feature = "smartpay"))]
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
