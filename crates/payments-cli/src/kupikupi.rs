//! `payments kupikupi ...`: the token, notification parsing, and the `balance`, `init` and
//! `checkout` calls against the real service or the sandbox.
//!
//! Credentials come from `KUPIKUPI_PLATFORM_UID` and `KUPIKUPI_SECRET_KEY` (with `--env test`,
//! the `DevSecretKey`). Results are JSON on stdout; an error is one line on stderr and exit
//! status 1.

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use kupikupi::{
    Client, Environment, Notification, NotificationVerifier, OrderId, Phone, TransferAmount,
};
use payments_core::Secret;
use serde_json::{json, Value};

/// The Kupi-Kupi verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the token of the JSON object on stdin (exactly the parameters to sign, the platform
    /// id included if it is to be hashed).
    Token {
        /// The secret key (or set KUPIKUPI_SECRET_KEY, which keeps it out of the process list).
        /// It may begin with `-`.
        #[arg(
            long,
            env = "KUPIKUPI_SECRET_KEY",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        secret_key: String,
    },
    /// Parse a notification body on stdin and print it as normalised JSON.
    ParseNotification {
        /// Also check the platform id (and the token, if present) with KUPIKUPI_PLATFORM_UID and
        /// KUPIKUPI_SECRET_KEY.
        #[arg(long)]
        verify: bool,
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
    /// The status of a transfer.
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
}

/// Which host a call goes to.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Env {
    /// `https://devpayapi.kupi-kupi.shop` with the DevSecretKey.
    Test,
    /// `https://payapi.kupi-kupi.shop`.
    Production,
}

/// The host of a call: `--env` or `--base-url`.
#[derive(Debug, Args)]
pub struct Target {
    /// The environment.
    #[arg(long, value_enum, conflicts_with = "base_url")]
    env: Option<Env>,
    /// A custom API base, e.g. the sandbox's `http://127.0.0.1:PORT/api/v1/transfer`.
    #[arg(long)]
    base_url: Option<String>,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    let line = message.to_string().replace(['\n', '\r'], " ");
    eprintln!("error: {line}");
    ExitCode::FAILURE
}

fn read_stdin() -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    Ok(buf)
}

fn credentials() -> Result<(String, Secret), String> {
    let uid = std::env::var("KUPIKUPI_PLATFORM_UID")
        .map_err(|_| "KUPIKUPI_PLATFORM_UID is not set".to_owned())?;
    let key = std::env::var("KUPIKUPI_SECRET_KEY")
        .map_err(|_| "KUPIKUPI_SECRET_KEY is not set".to_owned())?;
    Ok((uid, Secret::from(key)))
}

fn client(target: &Target) -> Result<Client, String> {
    let (uid, secret) = credentials()?;
    let builder = Client::builder().platform_uid(uid);
    let builder = match (&target.base_url, target.env) {
        (Some(url), _) => builder.base_url(url).secret_key(secret),
        (None, Some(Env::Test)) => builder
            .environment(Environment::Test)
            .dev_secret_key(secret),
        (None, Some(Env::Production)) => builder
            .environment(Environment::Production)
            .secret_key(secret),
        (None, None) => return Err("choose a host with --env test|production or --base-url".into()),
    };
    builder.build().map_err(|e| e.to_string())
}

fn print(v: &Value) {
    println!("{v}");
}

/// Runs a Kupi-Kupi verb.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Token { secret_key } => {
            let input = match read_stdin() {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
            let params: Value = match serde_json::from_slice(&input) {
                Ok(v) => v,
                Err(e) => return fail(format!("stdin is not JSON: {e}")),
            };
            match kupikupi::token::token_of_value(&params, &Secret::from(secret_key)) {
                Ok(t) => {
                    println!("{}", t.as_str());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::ParseNotification { verify } => {
            let input = match read_stdin() {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
            let n = match Notification::parse(&input) {
                Ok(n) => n,
                Err(e) => return fail(e),
            };
            if verify {
                let (uid, secret) = match credentials() {
                    Ok(c) => c,
                    Err(e) => return fail(e),
                };
                if let Err(e) = n.verify(&NotificationVerifier::new(uid, secret)) {
                    return fail(e);
                }
            }
            print(&n.to_json());
            ExitCode::SUCCESS
        }
        Command::Balance { target, phone } => network(async move {
            let phone = Phone::new(&phone).map_err(|e| e.to_string())?;
            let balance = client(&target)?
                .balance(&phone)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({
                "phone": phone.as_u64(),
                "balance": balance.to_decimal_string(),
                "balance_minor_units": balance.minor(),
            }))
        }),
        Command::Init {
            target,
            phone,
            order_id,
            amount_kopecks,
        } => network(async move {
            let phone = Phone::new(&phone).map_err(|e| e.to_string())?;
            let order_id = OrderId::new(order_id).map_err(|e| e.to_string())?;
            let amount = TransferAmount::from_minor(amount_kopecks).map_err(|e| e.to_string())?;
            let t = client(&target)?
                .init(&phone, &order_id, amount)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({
                "payment_id": t.payment_id.as_str(),
                "order_id": t.order_id.as_str(),
                "amount_kopecks": t.amount.minor(),
                "transfer_url": t.transfer_url.to_string(),
            }))
        }),
        Command::Checkout {
            target,
            order_id,
            amount_kopecks,
        } => network(async move {
            let order_id = OrderId::new(order_id).map_err(|e| e.to_string())?;
            let amount = TransferAmount::from_minor(amount_kopecks).map_err(|e| e.to_string())?;
            let c = client(&target)?
                .checkout(&order_id, amount)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({
                "transfer_status": c.transfer_status.as_str(),
                "final": c.transfer_status.is_final(),
                "payment_id": c.payment_id.as_str(),
                "order_id": c.order_id.as_ref().map(OrderId::as_str),
            }))
        }),
    }
}

fn network(fut: impl std::future::Future<Output = Result<Value, String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(fut) {
        Ok(v) => {
            print(&v);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
