//! `payments`: the command-line tool of the payments-rs SDK.
//!
//! Each provider has its own group of verbs (`payments kupikupi ...`, `payments ktwidget ...`,
//! `payments smartpay ...`). Logs go to stderr and follow `RUST_LOG`; they never contain a secret.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ktwidget;
mod kupikupi;
mod smartpay;

/// The payments-rs command-line tool.
#[derive(Debug, Parser)]
#[command(name = "payments", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exact money arithmetic: parse an amount and print it in every wire form.
    Amount {
        /// A decimal amount with at most 2 decimals, e.g. `1000.5`.
        value: String,
    },
    /// Smart Pay / KD Pay cashier API: parse a QR payload, ping the service.
    #[command(subcommand)]
    Smartpay(smartpay::Command),
    /// Ktpay (KTWidget): keys, sealing, callbacks, payments.
    #[command(subcommand)]
    Ktwidget(ktwidget::Command),
    /// Kupi-Kupi: the token, notifications, and the balance/init/checkout calls.
    #[command(subcommand)]
    Kupikupi(kupikupi::Command),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Smartpay(cmd) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(smartpay::run(cmd)),
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Amount { value } => match value.parse::<payments_core::Amount>() {
            Ok(a) => {
                let out = serde_json::json!({
                    "minor_units": a.minor(),
                    "decimal": a.to_decimal_string(),
                    "compact": a.to_compact_string(),
                });
                println!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Ktwidget(cmd) => ktwidget::run_blocking(cmd),
        Command::Kupikupi(cmd) => kupikupi::run(cmd),
    }
}
