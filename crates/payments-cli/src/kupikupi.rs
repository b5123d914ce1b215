//! `payments kupikupi ...`: the token, notification parsing, and the `balance`, `init`,
//! `checkout` and `reconcile` calls against the real service or the sandbox.
//!
//! The platform uid comes from `--platform-uid` or `KUPIKUPI_PLATFORM_UID` (it is no secret).
//! The keys are secrets and go through [`payments_cli::secret_input`]: the `SecretKey` from
//! `KUPIKUPI_SECRET_KEY`, `--secret-key-file PATH` or `--secret-key -` (stdin), the test
//! `DevSecretKey` (for `--env test`) from `KUPIKUPI_DEV_SECRET_KEY`, `--dev-secret-key-file` or
//! `--dev-secret-key -`. A key given on the command line is taken with a warning.
//!
//! Results are JSON on stdout; an error is one line on stderr and exit status 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use kupikupi::{
    reconcile, Client, Environment, Notification, NotificationVerifier, OrderId, PaymentId, Phone,
    Reconciled, StoredTransfer, TransferAmount, DEFAULT_CONFIRM_POLICY,
};
use payments_cli::exit::Failure;
use payments_cli::secret_input::{warn_on_stderr, SecretArg, Stdin};
use serde_json::{json, Value};

/// The Kupi-Kupi verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the token of the JSON object on stdin (exactly the parameters to sign, the platform
    /// id included if it is to be hashed).
    Token {
        #[command(flatten)]
        key: SecretKey,
    },
    /// Parse a notification body on stdin and print it as normalised JSON. A notification is a
    /// hint: whatever it says, only `checkout` (or `reconcile`) tells whether a transfer is
    /// CONFIRMED.
    ParseNotification {
        /// Also check the platform id (--platform-uid or KUPIKUPI_PLATFORM_UID) and, if the
        /// body carries one, the token (with the secret key).
        #[arg(long)]
        verify: bool,
        /// The platform uid (or set KUPIKUPI_PLATFORM_UID).
        #[arg(long, env = "KUPIKUPI_PLATFORM_UID")]
        platform_uid: Option<String>,
        #[command(flatten)]
        key: SecretKey,
    },
    /// A customer's balance of points.
    Balance {
        #[command(flatten)]
        target: Target,
        /// The phone: 11 digits starting with 7.
        #[arg(long)]
        phone: String,
    },
    /// Register a transfer; prints the transfer form URL.
    Init {
        #[command(flatten)]
        target: Target,
        /// The phone: 11 digits starting with 7.
        #[arg(long)]
        phone: String,
        /// The merchant's order id (1 to 36 characters).
        #[arg(long)]
        order_id: String,
        /// The amount in kopecks (integer).
        #[arg(long)]
        amount_kopecks: u64,
    },
    /// The status of a transfer (asked once).
    Checkout {
        #[command(flatten)]
        target: Target,
        /// The merchant's order id.
        #[arg(long)]
        order_id: String,
        /// The amount in kopecks (integer).
        #[arg(long)]
        amount_kopecks: u64,
    },
    /// Ask `checkout` until the transfer's status is final or the deadline passes: the
    /// reconciliation of an order still "notified". Prints {"result": "confirmed" | "failed",
    /// ...}; a transfer that is not final at the deadline is an error (exit 1).
    Reconcile {
        #[command(flatten)]
        target: Target,
        /// The merchant's order id.
        #[arg(long)]
        order_id: String,
        /// The amount in kopecks (integer), as stored with the order.
        #[arg(long)]
        amount_kopecks: u64,
        /// The transfer id `init` returned, if stored: `checkout` must name it.
        #[arg(long)]
        payment_id: Option<String>,
        /// How long to keep asking, in seconds.
        #[arg(long, default_value_t = 600)]
        deadline_secs: u64,
    },
}

/// The production `SecretKey`: a secret, never taken from a plain flag without a warning.
#[derive(Debug, Args)]
pub struct SecretKey {
    /// The SecretKey (`-` reads it from stdin). Prefer KUPIKUPI_SECRET_KEY or
    /// --secret-key-file: a value here is visible in the process list.
    #[arg(long, allow_hyphen_values = true, value_name = "KEY")]
    secret_key: Option<String>,
    /// A file holding the SecretKey (`-`: stdin).
    #[arg(long, value_name = "PATH")]
    secret_key_file: Option<PathBuf>,
}

impl SecretKey {
    fn arg(&self) -> SecretArg<'_> {
        SecretArg {
            flag: "secret-key",
            value: self.secret_key.clone(),
            file: self.secret_key_file.as_deref(),
            env: "KUPIKUPI_SECRET_KEY",
        }
    }
}

/// Which host a call goes to.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Env {
    /// `https://devpayapi.kupi-kupi.shop` with the DevSecretKey.
    Test,
    /// `https://payapi.kupi-kupi.shop` with the SecretKey.
    Production,
}

/// The host of a call (`--env` or `--base-url`) and its credentials.
#[derive(Debug, Args)]
pub struct Target {
    /// The environment.
    #[arg(long, value_enum, conflicts_with = "base_url")]
    env: Option<Env>,
    /// A custom API base, e.g. the sandbox's `http://127.0.0.1:PORT/api/v1/transfer` (with
    /// --allow-plain-http-to-loopback); uses the SecretKey.
    #[arg(long)]
    base_url: Option<String>,
    /// Allow a plain `http://` --base-url to a loopback host (a local emulator). Without it,
    /// only `https://` is accepted: every request carries a token made with the key.
    #[arg(long)]
    allow_plain_http_to_loopback: bool,
    /// The platform uid (or set KUPIKUPI_PLATFORM_UID).
    #[arg(long, env = "KUPIKUPI_PLATFORM_UID")]
    platform_uid: Option<String>,
    #[command(flatten)]
    key: SecretKey,
    /// The DevSecretKey, for --env test (`-` reads it from stdin). Prefer
    /// KUPIKUPI_DEV_SECRET_KEY or --dev-secret-key-file.
    #[arg(long, allow_hyphen_values = true, value_name = "KEY")]
    dev_secret_key: Option<String>,
    /// A file holding the DevSecretKey (`-`: stdin).
    #[arg(long, value_name = "PATH")]
    dev_secret_key_file: Option<PathBuf>,
}

/// A bad argument, key or input (exit 2).
fn fail(message: impl std::fmt::Display) -> ExitCode {
    Failure::usage(message).report()
}

fn platform_uid(uid: Option<&String>) -> Result<String, String> {
    uid.filter(|u| !u.is_empty())
        .cloned()
        .ok_or_else(|| "no platform uid: set KUPIKUPI_PLATFORM_UID or give --platform-uid".into())
}

fn client(target: &Target, stdin: &mut Stdin) -> Result<Client, String> {
    let uid = platform_uid(target.platform_uid.as_ref())?;
    let mut warn = warn_on_stderr;
    let builder = Client::builder().platform_uid(uid);
    let builder = match (&target.base_url, target.env) {
        (Some(url), _) => builder
            .base_url(url)
            .secret_key(target.key.arg().require(stdin, &mut warn)?),
        (None, Some(Env::Test)) => {
            let dev = SecretArg {
                flag: "dev-secret-key",
                value: target.dev_secret_key.clone(),
                file: target.dev_secret_key_file.as_deref(),
                env: "KUPIKUPI_DEV_SECRET_KEY",
            };
            builder
                .environment(Environment::Test)
                .dev_secret_key(dev.require(stdin, &mut warn)?)
        }
        (None, Some(Env::Production)) => builder
            .environment(Environment::Production)
            .secret_key(target.key.arg().require(stdin, &mut warn)?),
        (None, None) => return Err("choose a host with --env test|production or --base-url".into()),
    };
    let builder = if target.allow_plain_http_to_loopback {
        builder.allow_plain_http_to_loopback()
    } else {
        builder
    };
    builder.build().map_err(|e| e.to_string())
}

fn print(v: &Value) {
    println!("{v}");
}

fn order_and_amount(order_id: String, kopecks: u64) -> Result<(OrderId, TransferAmount), String> {
    Ok((
        OrderId::new(order_id).map_err(|e| e.to_string())?,
        TransferAmount::from_minor(kopecks).map_err(|e| e.to_string())?,
    ))
}

/// Runs a Kupi-Kupi verb.
pub fn run(cmd: Command) -> ExitCode {
    let mut stdin = Stdin::default();
    match cmd {
        Command::Token { key } => {
            let secret = match key.arg().require(&mut stdin, &mut warn_on_stderr) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            let input = match stdin.read_all("the parameters") {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
            // serde_json's message can quote the input; say only where it stopped.
            let params: Value = match serde_json::from_slice(&input) {
                Ok(v) => v,
                Err(e) => {
                    return fail(format!(
                        "stdin is not JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ))
                }
            };
            match kupikupi::token_of_value(&params, &secret) {
                Ok(t) => {
                    println!("{}", t.as_str());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::ParseNotification {
            verify,
            platform_uid: uid,
            key,
        } => {
            // With --verify, the key is resolved first: it may come from stdin too.
            let verifier = if verify {
                let uid = match platform_uid(uid.as_ref()) {
                    Ok(u) => u,
                    Err(e) => return fail(e),
                };
                match key.arg().require(&mut stdin, &mut warn_on_stderr) {
                    Ok(secret) => Some(NotificationVerifier::new(uid, secret)),
                    Err(e) => return fail(e),
                }
            } else {
                None
            };
            let input = match stdin.read_all("the notification") {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
            let n = match Notification::parse(&input) {
                Ok(n) => n,
                Err(e) => return fail(e),
            };
            if let Some(verifier) = verifier {
                if let Err(e) = n.verify(&verifier) {
                    return fail(e);
                }
            }
            print(&n.to_json());
            ExitCode::SUCCESS
        }
        Command::Balance { target, phone } => {
            let client = match client(&target, &mut stdin) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            network(async move {
                let phone = Phone::new(&phone).map_err(|e| e.to_string())?;
                let balance = client.balance(&phone).await?;
                Ok(json!({
                    "phone": phone.as_u64(),
                    "balance": balance.to_decimal_string(),
                    "balance_minor_units": balance.minor(),
                }))
            })
        }
        Command::Init {
            target,
            phone,
            order_id,
            amount_kopecks,
        } => {
            let client = match client(&target, &mut stdin) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            network(async move {
                let phone = Phone::new(&phone).map_err(|e| e.to_string())?;
                let (order_id, amount) = order_and_amount(order_id, amount_kopecks)?;
                let t = client.init(&phone, &order_id, amount).await?;
                Ok(json!({
                    "payment_id": t.payment_id.as_str(),
                    "order_id": t.order_id.as_str(),
                    "amount_kopecks": t.amount.minor(),
                    "transfer_url": t.transfer_url.to_string(),
                }))
            })
        }
        Command::Checkout {
            target,
            order_id,
            amount_kopecks,
        } => {
            let client = match client(&target, &mut stdin) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            network(async move {
                let (order_id, amount) = order_and_amount(order_id, amount_kopecks)?;
                let c = client.checkout(&order_id, amount).await?;
                Ok(json!({
                    "transfer_status": c.transfer_status.as_str(),
                    "final": c.transfer_status.is_final(),
                    "payment_id": c.payment_id.as_str(),
                    "order_id": c.order_id.as_ref().map(OrderId::as_str),
                }))
            })
        }
        Command::Reconcile {
            target,
            order_id,
            amount_kopecks,
            payment_id,
            deadline_secs,
        } => {
            let client = match client(&target, &mut stdin) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            network(async move {
                let (order_id, amount) = order_and_amount(order_id, amount_kopecks)?;
                let mut stored = StoredTransfer::new(amount);
                if let Some(id) = payment_id {
                    stored = stored.with_payment_id(PaymentId::new(id).map_err(|e| e.to_string())?);
                }
                let policy =
                    DEFAULT_CONFIRM_POLICY.with_deadline(Duration::from_secs(deadline_secs));
                match reconcile(&client, &order_id, &stored, policy).await {
                    Reconciled::Confirmed(t) => Ok(json!({
                        "order_id": t.order_id().as_str(),
                        "result": "confirmed",
                        "transfer_status": "CONFIRMED",
                        "payment_id": t.payment_id().as_str(),
                        "amount_kopecks": t.amount().minor(),
                    })),
                    Reconciled::Failed(t) => Ok(json!({
                        "order_id": t.order_id().as_str(),
                        "result": "failed",
                        "transfer_status": t.status().as_str(),
                        "payment_id": t.payment_id().as_str(),
                        "amount_kopecks": t.amount().minor(),
                    })),
                    // Not final at the deadline: the outcome is still unknown (exit 1).
                    Reconciled::Unresolved(u) => Err(Failure::other(u)),
                    other => Err(Failure::other(format!("{other:?}"))),
                }
            })
        }
    }
}

fn network(fut: impl std::future::Future<Output = Result<Value, Failure>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Failure::other(format!("cannot start the runtime: {e}")).report(),
    };
    match runtime.block_on(fut) {
        Ok(v) => {
            print(&v);
            ExitCode::SUCCESS
        }
        Err(e) => e.report(),
    }
}
