//! `payments smartpay ...`: the Smart Pay cashier API from a shell, one verb per operation, so
//! that an operator can drive a purchase (commit, release, status, kassa-status, fiscal) or a
//! refund against the sandbox or the real service.
//!
//! Every verb but `parse-qr` talks to the service over https (the default base URL is the test
//! host, `https://kassa-api.test.r-proc.net`), presenting the kassa's client certificate when one
//! is given. Secrets (the password, the client key PEM, the scanned QR code) come from an
//! environment variable, a file (`--NAME-file PATH`) or stdin (`--NAME -`); one given on the
//! command line is accepted with a warning. Answers are JSON on stdout; an error is one line on
//! stderr and exit status 1. Each invocation logs in afresh when the verb needs the session.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use payments_cli::exit::Failure;
use payments_cli::secret_input::{warn_on_stderr, SecretArg, Stdin};
use payments_core::{Amount, Secret};
use serde_json::{json, Value};
use smartpay::{Client, KassaId, KassaIdGenerator, QrCode};
use smartpay::{
    FiscalV1Request, FiscalV2Request, KassaStatus, PurchaseKassaStatusRequest, Receipt,
    RefundKassaStatusRequest, ReleaseRequest,
};

/// Smart Pay verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a scanned QR payload on stdin and print it as read, as compact JSON (exit 1 if
    /// invalid).
    ParseQr,
    /// `GET /v1/ping`: check that the service answers, over mutual TLS.
    Ping {
        #[command(flatten)]
        connection: Connection,
    },
    /// `GET /v1/error_answers`: the service's list of error answers.
    ErrorAnswers {
        #[command(flatten)]
        connection: Connection,
    },
    /// `POST /v1/auth`: log in and print the answer (never the cookie).
    Auth {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
    },
    /// `POST /v1/purchase/code/commit`: commit a scanned QR code to this kassa.
    Commit {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        #[command(flatten)]
        qr: QrInput,
        /// The purchase's id at this kassa (default: unix milliseconds now).
        #[arg(long)]
        kassa_purchase_id: Option<String>,
    },
    /// `POST /v1/purchase/release`: start the payment of a committed purchase. Not idempotent:
    /// after a failure, ask for the status instead of releasing again.
    Release {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's purchase id.
        #[arg(long)]
        purchase_id: String,
        /// The amount in kopecks (integer).
        #[arg(long)]
        amount_kopecks: u64,
    },
    /// `POST /v1/purchase/status`: a purchase's status.
    Status {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's purchase id.
        #[arg(long)]
        purchase_id: String,
    },
    /// `POST /v1/purchase/kassa/status`: report the kassa's side of a purchase (`success` once
    /// the status is success, or `cancel` to abort).
    KassaStatus {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's purchase id.
        #[arg(long)]
        purchase_id: String,
        /// The kassa's status.
        #[arg(long, value_enum)]
        status: KassaStatusArg,
    },
    /// `POST /v1/purchase/fiscal`: store a receipt by the kassa's registration number and the
    /// receipt's fiscal sign. Not idempotent: a repeat may show twice in the customer's history.
    Fiscal {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's purchase id.
        #[arg(long)]
        purchase_id: String,
        /// The kassa's registration number (RN KKT).
        #[arg(long)]
        kassa_reg_number: String,
        /// The receipt's fiscal sign (FP).
        #[arg(long)]
        fiscal_sign: String,
    },
    /// `POST /v2/purchase/fiscal`: store a receipt (JSON) with the customer's QR code. Not
    /// idempotent.
    FiscalV2 {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        #[command(flatten)]
        qr: QrInput,
        /// The service's purchase id, when the purchase was paid with Smart Pay.
        #[arg(long)]
        purchase_id: Option<String>,
        /// The receipt as JSON (`kassa_reg_number`, `fiscal_sign`, `date_time`, `total`,
        /// `items`, ...): a file, or `-` for stdin.
        #[arg(long, value_name = "PATH")]
        receipt_file: PathBuf,
    },
    /// `POST /v1/purchase/refund`: request a refund of a successful purchase. Not idempotent:
    /// after a failure, ask for the refund's status instead of requesting it again.
    Refund {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's purchase id.
        #[arg(long)]
        purchase_id: String,
        /// The refund's id at this kassa (default: unix milliseconds now).
        #[arg(long)]
        kassa_refund_id: Option<String>,
        /// The amount in kopecks (integer).
        #[arg(long)]
        amount_kopecks: u64,
    },
    /// `POST /v1/purchase/refund/status`: a refund's status.
    RefundStatus {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's refund id.
        #[arg(long)]
        refund_id: String,
    },
    /// `POST /v1/purchase/refund/kassa/status`: confirm a refund (`success`) or stop waiting for
    /// it (`cancel`).
    RefundKassaStatus {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        credentials: Credentials,
        /// The service's refund id.
        #[arg(long)]
        refund_id: String,
        /// The kassa's status.
        #[arg(long, value_enum)]
        status: KassaStatusArg,
    },
}

/// Where the service is and how the kassa proves who it is.
#[derive(Debug, Args)]
pub struct Connection {
    /// The service's base URL; https only (default: the provider's test host).
    #[arg(long, env = "SMARTPAY_BASE_URL", default_value = smartpay::Environment::TEST_URL)]
    base_url: String,
    /// The kassa's client certificate chain (a PEM file).
    #[arg(long, env = "SMARTPAY_CLIENT_CERT", value_name = "PATH")]
    client_cert: Option<PathBuf>,
    /// The kassa's private key (PEM) itself, or `-` to read it from stdin. On the command line
    /// it is visible to other users: prefer SMARTPAY_CLIENT_KEY or --client-key-file.
    #[arg(long, allow_hyphen_values = true, value_name = "PEM")]
    client_key: Option<String>,
    /// A file holding the kassa's private key (PEM), or `-` for stdin.
    #[arg(long, value_name = "PATH")]
    client_key_file: Option<PathBuf>,
    /// A CA (a PEM file) to trust for the service's certificate, instead of the default roots.
    #[arg(long, env = "SMARTPAY_CA", value_name = "PATH")]
    ca: Option<PathBuf>,
}

/// The kassa's credentials for `/v1/auth`.
#[derive(Debug, Args)]
pub struct Credentials {
    /// The kassa's login.
    #[arg(long, env = "SMARTPAY_LOGIN")]
    login: Option<String>,
    /// The password itself, or `-` to read it from stdin. On the command line it is visible to
    /// other users: prefer SMARTPAY_PASSWORD or --password-file.
    #[arg(long, allow_hyphen_values = true)]
    password: Option<String>,
    /// A file holding the password, or `-` for stdin.
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
}

/// The scanned QR code (a one-time payment credential, so a secret).
#[derive(Debug, Args)]
pub struct QrInput {
    /// The scanned QR payload (JSON) itself, or `-` to read it from stdin. Prefer SMARTPAY_QR
    /// or --qr-file.
    #[arg(long, allow_hyphen_values = true, value_name = "JSON")]
    qr: Option<String>,
    /// A file holding the scanned QR payload, or `-` for stdin.
    #[arg(long, value_name = "PATH")]
    qr_file: Option<PathBuf>,
}

/// A kassa status.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KassaStatusArg {
    /// The kassa completed its side.
    Success,
    /// The kassa aborts.
    Cancel,
}

impl From<KassaStatusArg> for KassaStatus {
    fn from(s: KassaStatusArg) -> Self {
        match s {
            KassaStatusArg::Success => KassaStatus::Success,
            KassaStatusArg::Cancel => KassaStatus::Cancel,
        }
    }
}

/// A bad argument or input (exit 2).
fn fail(message: impl std::fmt::Display) -> ExitCode {
    Failure::usage(message).report()
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The client for a verb: the connection, and the credentials when the verb needs the session.
fn client(
    connection: Connection,
    credentials: Option<Credentials>,
    stdin: &mut Stdin,
) -> Result<Client, String> {
    let mut warn = warn_on_stderr;
    let key = SecretArg {
        flag: "client-key",
        value: connection.client_key,
        file: connection.client_key_file.as_deref(),
        env: "SMARTPAY_CLIENT_KEY",
    }
    .resolve(stdin, &mut warn)?;
    // The test host is named; any other URL is a custom environment.
    let environment = if connection.base_url == smartpay::Environment::TEST_URL {
        smartpay::Environment::Test
    } else {
        smartpay::Environment::Custom(
            connection
                .base_url
                .parse()
                .map_err(|e: smartpay::Invalid| e.to_string())?,
        )
    };
    let mut builder = Client::builder().environment(environment);
    match (&connection.client_cert, key) {
        (Some(cert), Some(key)) => builder = builder.client_identity_pem(read(cert)?, key),
        (Some(_), None) => {
            return Err(
                "--client-cert needs the key: set SMARTPAY_CLIENT_KEY, or give \
                        --client-key-file PATH or --client-key - (stdin)"
                    .into(),
            )
        }
        (None, Some(_)) => return Err("the client key needs --client-cert".into()),
        (None, None) => {}
    }
    if let Some(ca) = &connection.ca {
        builder = builder.trust_only_ca_pem(read(ca)?);
    }
    if let Some(credentials) = credentials {
        let login = credentials
            .login
            .ok_or("no --login: set SMARTPAY_LOGIN or give --login")?;
        let password = SecretArg {
            flag: "password",
            value: credentials.password,
            file: credentials.password_file.as_deref(),
            env: "SMARTPAY_PASSWORD",
        }
        .require(stdin, &mut warn)?;
        builder = builder.credentials(login, password);
    }
    builder.build().map_err(|e| e.to_string())
}

fn qr(input: QrInput, stdin: &mut Stdin) -> Result<QrCode, String> {
    let payload: Secret = SecretArg {
        flag: "qr",
        value: input.qr,
        file: input.qr_file.as_deref(),
        env: "SMARTPAY_QR",
    }
    .require(stdin, &mut warn_on_stderr)?;
    let text = payload.expose_str().ok_or("the QR payload is not UTF-8")?;
    QrCode::parse(text).map_err(|e| e.to_string())
}

fn kassa_id(given: Option<String>) -> Result<KassaId, String> {
    match given {
        Some(id) => KassaId::new(id).map_err(|e| e.to_string()),
        None => Ok(KassaIdGenerator::new().next_id()),
    }
}

fn amount(kopecks: u64) -> Result<Amount, String> {
    if kopecks == 0 {
        return Err("--amount-kopecks must be positive".into());
    }
    Ok(Amount::from_minor(kopecks))
}

/// An answer as JSON, with `extra` fields added.
fn answer(resp: &impl serde::Serialize, extra: &[(&str, &str)]) -> Result<Value, Failure> {
    let mut v = serde_json::to_value(resp).map_err(Failure::other)?;
    if let Value::Object(fields) = &mut v {
        for (k, x) in extra {
            fields.insert((*k).to_owned(), json!(x));
        }
    }
    Ok(v)
}

/// Runs a Smart Pay verb.
pub async fn run(cmd: Command) -> ExitCode {
    if let Command::ParseQr = cmd {
        return parse_qr();
    }
    match call(cmd, &mut Stdin::default()).await {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => e.report(),
    }
}

fn parse_qr() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin()
        .take(smartpay::MAX_QR_LEN as u64 + 1)
        .read_to_string(&mut input)
    {
        return fail(format!("cannot read stdin: {e}"));
    }
    match QrCode::parse(&input) {
        Ok(qr) => {
            println!("{}", qr.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

async fn call(cmd: Command, stdin: &mut Stdin) -> Result<Value, Failure> {
    let e = Failure::from;
    match cmd {
        Command::ParseQr => Err("parse-qr reads stdin only".into()),
        Command::Ping { connection } => answer(
            &client(connection, None, stdin)?.ping().await.map_err(e)?,
            &[],
        ),
        Command::ErrorAnswers { connection } => answer(
            &client(connection, None, stdin)?
                .error_answers()
                .await
                .map_err(e)?,
            &[],
        ),
        Command::Auth {
            connection,
            credentials,
        } => answer(
            &client(connection, Some(credentials), stdin)?
                .auth()
                .await
                .map_err(e)?,
            &[],
        ),
        Command::Commit {
            connection,
            credentials,
            qr: input,
            kassa_purchase_id,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let code = qr(input, stdin)?;
            let id = kassa_id(kassa_purchase_id)?;
            let req = smartpay::CommitCodeRequest::new(id.as_str(), &code);
            let resp = c.commit_code_raw(&req).await.map_err(e)?;
            answer(&resp, &[("kassa_purchase_id", id.as_str())])
        }
        Command::Release {
            connection,
            credentials,
            purchase_id,
            amount_kopecks,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let req = ReleaseRequest::new(amount(amount_kopecks)?, purchase_id);
            answer(&c.release(&req).await.map_err(e)?, &[])
        }
        Command::Status {
            connection,
            credentials,
            purchase_id,
        } => answer(
            &client(connection, Some(credentials), stdin)?
                .purchase_status(&purchase_id)
                .await
                .map_err(e)?,
            &[],
        ),
        Command::KassaStatus {
            connection,
            credentials,
            purchase_id,
            status,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let req = PurchaseKassaStatusRequest::new(purchase_id, KassaStatus::from(status));
            answer(&c.purchase_kassa_status(&req).await.map_err(e)?, &[])
        }
        Command::Fiscal {
            connection,
            credentials,
            purchase_id,
            kassa_reg_number,
            fiscal_sign,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let req = FiscalV1Request::new(fiscal_sign, kassa_reg_number, purchase_id);
            answer(&c.fiscal_v1(&req).await.map_err(e)?, &[])
        }
        Command::FiscalV2 {
            connection,
            credentials,
            qr: input,
            purchase_id,
            receipt_file,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let code = qr(input, stdin)?;
            let bytes = if receipt_file == Path::new("-") {
                stdin.read_all("--receipt-file")?
            } else {
                read(&receipt_file)?
            };
            // A receipt is no secret; serde's message may quote it.
            let receipt: Receipt = serde_json::from_slice(&bytes)
                .map_err(|err| format!("the receipt is not a receipt's JSON: {err}"))?;
            let mut req = FiscalV2Request::new(&code, receipt);
            req.purchase_id = purchase_id;
            answer(&c.fiscal_v2(&req).await.map_err(e)?, &[])
        }
        Command::Refund {
            connection,
            credentials,
            purchase_id,
            kassa_refund_id,
            amount_kopecks,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let id = kassa_id(kassa_refund_id)?;
            let req =
                smartpay::RefundRequest::new(amount(amount_kopecks)?, id.as_str(), purchase_id);
            let resp = c.refund_raw(&req).await.map_err(e)?;
            answer(&resp, &[("kassa_refund_id", id.as_str())])
        }
        Command::RefundStatus {
            connection,
            credentials,
            refund_id,
        } => answer(
            &client(connection, Some(credentials), stdin)?
                .refund_status(&refund_id)
                .await
                .map_err(e)?,
            &[],
        ),
        Command::RefundKassaStatus {
            connection,
            credentials,
            refund_id,
            status,
        } => {
            let c = client(connection, Some(credentials), stdin)?;
            let req = RefundKassaStatusRequest::new(refund_id, KassaStatus::from(status));
            answer(&c.refund_kassa_status(&req).await.map_err(e)?, &[])
        }
    }
}
