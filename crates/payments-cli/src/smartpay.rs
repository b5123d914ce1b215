//! `payments smartpay ...`: Smart Pay cashier API tools.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use payments_core::Secret;

/// Smart Pay verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a scanned QR payload on stdin and print it as normalised JSON (exit 1 if invalid).
    ParseQr,
    /// Check that the service answers `/v1/ping`, over mutual TLS.
    Ping {
        /// The service's base URL.
        #[arg(long, default_value = smartpay::TEST_BASE_URL)]
        base_url: String,
        /// The kassa's client certificate chain (PEM).
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The kassa's private key (PEM).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// A CA (PEM) to trust for the server's certificate, instead of the default roots.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    // One line, whatever the message holds.
    let line = message.to_string().replace(['\n', '\r'], " ");
    eprintln!("error: {line}");
    ExitCode::FAILURE
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Runs a Smart Pay verb.
pub async fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::ParseQr => {
            let mut input = String::new();
            if let Err(e) = std::io::stdin()
                .take(smartpay::MAX_QR_LEN as u64 + 1)
                .read_to_string(&mut input)
            {
                return fail(format!("cannot read stdin: {e}"));
            }
            match smartpay::QrCode::parse(&input) {
                Ok(qr) => {
                    println!("{}", qr.to_json());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Ping {
            base_url,
            cert,
            key,
            ca,
        } => {
            let mut builder = smartpay::Client::builder().base_url(base_url);
            if let (Some(cert), Some(key)) = (&cert, &key) {
                let (chain, key) = match (read(cert), read(key)) {
                    (Ok(c), Ok(k)) => (c, Secret::new(k)),
                    (Err(e), _) | (_, Err(e)) => return fail(e),
                };
                builder = builder.client_identity_pem(chain, key);
            }
            if let Some(ca) = &ca {
                match read(ca) {
                    Ok(pem) => builder = builder.ca_pem(pem).only_custom_ca(true),
                    Err(e) => return fail(e),
                }
            }
            let client = match builder.build() {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            match client.ping().await {
                Ok(p) => {
                    println!("{}", serde_json::json!({ "status": p.status }));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
    }
}
