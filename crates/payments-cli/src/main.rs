//! `payments`: the command-line tool of the payments-rs SDK.
//!
//! Each provider has its own group of verbs (`payments kupikupi ...`, `payments ktwidget ...`,
//! `payments smartpay ...`). Logs go to stderr and follow `RUST_LOG`; they never contain a secret.
//! The exit codes are listed in [`payments_cli::exit`] and at the end of `payments --help`.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use payments_cli::exit::{self, Failure};

mod ktwidget;
mod kupikupi;
mod sandbox;
mod smartpay;

/// The payments-rs command-line tool.
#[derive(Debug, Parser)]
#[command(name = "payments", version, about, after_help = exit::HELP)]
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
    /// Smart Pay / KD Pay cashier API: every operation (auth, commit, release, status, ...), and
    /// parse a QR payload.
    #[command(subcommand)]
    Smartpay(smartpay::Command),
    /// Ktpay (KTWidget): keys, sealing, callbacks, payments.
    #[command(subcommand)]
    Ktwidget(ktwidget::Command),
    /// Kupi-Kupi: the token, notifications, and the balance/init/checkout calls.
    #[command(subcommand)]
    Kupikupi(kupikupi::Command),
    /// The one-command tour: every provider's life cycle against the embedded sandbox, with a
    /// summary table (exit code 0 only when every flow matched).
    Demo {
        /// Print the summary as JSON (progress still goes to stderr).
        #[arg(long)]
        json: bool,
        /// Test hook: write the sandbox's secrets to this file (for the leak test).
        #[arg(long, hide = true, value_name = "PATH")]
        write_secrets_to: Option<std::path::PathBuf>,
    },
    /// Serve the three emulators (Ktpay, Kupi-Kupi, Smart Pay) until Ctrl-C, for your own app
    /// and tests.
    Sandbox(sandbox::Options),
    /// Print a completion script for a shell on stdout, e.g.
    /// `payments completions bash > ~/.local/share/bash-completion/completions/payments`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn block_on(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => Failure::other(format!("cannot start the runtime: {e}")).report(),
    }
}

fn main() -> ExitCode {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_ansi(color)
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
            Err(e) => Failure::other(format!("cannot start the runtime: {e}")).report(),
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
            Err(e) => Failure::usage(e).report(),
        },
        Command::Ktwidget(cmd) => ktwidget::run_blocking(cmd),
        Command::Kupikupi(cmd) => kupikupi::run(cmd),
        Command::Demo {
            json,
            write_secrets_to,
        } => block_on(payments_cli::demo::run_with(json, write_secrets_to)),
        Command::Sandbox(opts) => block_on(sandbox::run(opts)),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "payments",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
    }
}
