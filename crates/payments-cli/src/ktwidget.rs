//! `payments ktwidget ...`: Ktpay (KTWidget) tools.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use ktwidget::{
    AppKey, BaseUrl, CallbackHint, CallbackSecret, CallbackTagger, Client, Environment, Keypair,
    Order, User,
};
use payments_cli::exit::Failure;
use payments_cli::secret_input::{warn_on_stderr, SecretArg, Stdin};

/// Ktpay (KTWidget) verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the merchant's sodium key pair; prints {"public_key", "secret_key"} in standard
    /// base64. Send the public key to Ktpay; keep the secret key secret.
    Keygen,
    /// Seal the JSON on stdin to an app key (libsodium sealed box); prints standard padded base64,
    /// the body of a Ktpay request.
    Seal {
        /// The app key (Ktpay's public key), base64 in any form. URL-safe base64 may begin with
        /// `-`, so a value may.
        #[arg(long, allow_hyphen_values = true)]
        app_key: String,
    },
    /// Parse a callback body on stdin and print what it says as normalised JSON (exit 1 with a
    /// one-line error if it is invalid). A callback body proves nothing by itself: this only
    /// reads it.
    ParseCallback {
        /// Opt-in (a guess): open a non-JSON body as a sealed box with this merchant secret key
        /// (base64). On the command line it is visible to other users: prefer
        /// KTWIDGET_MERCHANT_SECRET_KEY or --merchant-secret-key-file.
        #[arg(long, allow_hyphen_values = true)]
        merchant_secret_key: Option<String>,
        /// Read the merchant secret key from this file.
        #[arg(long, conflicts_with = "merchant_secret_key")]
        merchant_secret_key_file: Option<PathBuf>,
    },
    /// Create a payment and print {"transaction_hash", "show_close_button", "widget_url"}.
    /// Credentials come from KTWIDGET_APP_ID and KTWIDGET_APP_KEY; the callback secret (which
    /// tags callback_post_url) from KTWIDGET_CALLBACK_SECRET or --callback-secret-file.
    Create(Box<CreateArgs>),
}

/// Which Ktpay environment.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Env {
    /// fintech.nplus.tech / widget.nplus.tech
    Production,
    /// fintech.test.nplus.tech / widget.test.nplus.tech
    Test,
}

/// Where the callback tag goes.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TagIn {
    /// A query parameter (--callback-tag-parameter).
    Query,
    /// One more path segment at the end of callback_post_url's path.
    Path,
}

/// The arguments of `payments ktwidget create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The app id (Auth-Identifier).
    #[arg(long, env = "KTWIDGET_APP_ID", hide_env_values = true)]
    app_id: String,
    /// The app key (Ktpay's public key), base64 in any form; it may begin with `-`.
    #[arg(
        long,
        env = "KTWIDGET_APP_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    app_key: String,
    /// The environment (ignored when --api-url is given).
    #[arg(long, value_enum, default_value = "test")]
    env: Env,
    /// A custom API base URL: https, or plain http to loopback with
    /// --allow-plain-http-to-loopback (e.g. the sandbox).
    #[arg(long)]
    api_url: Option<String>,
    /// Allow plain http:// API and widget URLs, and tagged callback URLs, to a loopback host
    /// only (a local emulator such as `payments sandbox`).
    #[arg(long)]
    allow_plain_http_to_loopback: bool,
    /// The callback secret (at least 32 bytes): tags callback_post_url so that the merchant's
    /// receiver can tell Ktpay's callbacks from forgeries. On the command line it is visible to
    /// other users: prefer KTWIDGET_CALLBACK_SECRET, --callback-secret-file, or `-` (stdin).
    #[arg(long, allow_hyphen_values = true)]
    callback_secret: Option<String>,
    /// Read the callback secret from this file (`-`: stdin).
    #[arg(long, conflicts_with = "callback_secret")]
    callback_secret_file: Option<PathBuf>,
    /// Where the tag goes in callback_post_url.
    #[arg(long, value_enum, default_value = "query")]
    callback_tag_in: TagIn,
    /// The query parameter of the tag (with --callback-tag-in query).
    #[arg(long, default_value = ktwidget::DEFAULT_TAG_PARAMETER)]
    callback_tag_parameter: String,
    /// A custom widget base URL (defaults to --api-url).
    #[arg(long)]
    widget_url: Option<String>,
    /// The merchant's order id (unique).
    #[arg(long)]
    order_id: String,
    /// The amount, with at most 2 decimals (e.g. 1000.50).
    #[arg(long)]
    amount: String,
    /// The description.
    #[arg(long)]
    description: Option<String>,
    /// A Ktpay service id (a positive integer): makes it a `service` payment (needs
    /// --contract-value).
    #[arg(long, requires = "contract_value")]
    service_id: Option<String>,
    /// The service's contract value (phone, account number...).
    #[arg(long, requires = "service_id")]
    contract_value: Option<String>,
    /// callback_post_url.
    #[arg(long)]
    callback_post_url: Option<String>,
    /// callback_back_url.
    #[arg(long)]
    callback_back_url: Option<String>,
    /// callback_success_url.
    #[arg(long)]
    callback_success_url: Option<String>,
    /// callback_failed_url.
    #[arg(long)]
    callback_failed_url: Option<String>,
    /// Hide the widget's close button (show_close_button = false).
    #[arg(long)]
    hide_close_button: bool,
    /// user.merchant_user_id.
    #[arg(long)]
    user_id: Option<String>,
    /// user.phone: spaces, hyphens and parentheses are removed, and 8XXXXXXXXXX is read as
    /// +7XXXXXXXXXX.
    #[arg(long)]
    user_phone: Option<String>,
    /// user.email.
    #[arg(long)]
    user_email: Option<String>,
}

/// A bad argument, key or input (exit 2).
fn fail(msg: impl std::fmt::Display) -> ExitCode {
    Failure::usage(msg).report()
}

fn print_line(s: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{s}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => Failure::other(format!("cannot write stdout: {e}")).report(),
    }
}

/// Runs a verb on a fresh single-threaded runtime (for the synchronous `main`).
pub fn run_blocking(cmd: Command) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(cmd)),
        Err(e) => Failure::other(format!("cannot start the runtime: {e}")).report(),
    }
}

/// Runs a verb.
pub async fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Keygen => {
            let kp = Keypair::generate();
            let secret = kp.export_secret_key_base64();
            let out = serde_json::json!({
                "public_key": kp.public_key_base64(),
                "secret_key": secret.expose_str().unwrap_or_default(),
            });
            print_line(&out.to_string())
        }
        Command::Seal { app_key } => {
            let key = match AppKey::from_base64(&app_key) {
                Ok(k) => k,
                Err(e) => return fail(e),
            };
            let input = match Stdin::default().read_all("the body") {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(&input) {
                return fail(format!(
                    "stdin is not JSON ({})",
                    payments_core::decode::JsonError::new(&e)
                ));
            }
            match key.seal_base64(input.trim_ascii()) {
                Ok(sealed) => print_line(&sealed),
                Err(e) => fail(e),
            }
        }
        Command::ParseCallback {
            merchant_secret_key,
            merchant_secret_key_file,
        } => {
            let mut stdin = Stdin::default();
            let secret = SecretArg {
                flag: "merchant-secret-key",
                value: merchant_secret_key,
                file: merchant_secret_key_file.as_deref(),
                env: "KTWIDGET_MERCHANT_SECRET_KEY",
            }
            .resolve(&mut stdin, &mut warn_on_stderr);
            let secret = match secret {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            // The body is claimed before the key is decoded: a key and a body both on stdin is
            // the clearer error.
            let body = match stdin.read_all("the body") {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            let keypair = match secret {
                None => None,
                Some(sk) => match Keypair::from_secret_key_base64(sk.expose_str().unwrap_or("")) {
                    Ok(kp) => Some(kp),
                    Err(e) => return fail(format!("--merchant-secret-key: {e}")),
                },
            };
            let hint = match &keypair {
                Some(kp) => CallbackHint::open_and_parse(&body, kp),
                None => CallbackHint::parse(&body),
            };
            match hint {
                Ok(h) => print_line(&h.to_json()),
                Err(e) => fail(e),
            }
        }
        Command::Create(args) => create(*args).await,
    }
}

async fn create(a: CreateArgs) -> ExitCode {
    let env = match &a.api_url {
        Some(api) => match api.parse::<BaseUrl>() {
            Ok(b) => Environment::Custom(b),
            Err(e) => return fail(e),
        },
        None => match a.env {
            Env::Production => Environment::Production,
            Env::Test => Environment::Test,
        },
    };
    let mut builder = Client::builder()
        .app_id(a.app_id)
        .app_key_base64(&a.app_key)
        .environment(env);
    if let Some(widget) = &a.widget_url {
        match widget.parse::<BaseUrl>() {
            Ok(w) => builder = builder.widget_url(w),
            Err(e) => return fail(e),
        }
    }
    if a.allow_plain_http_to_loopback {
        builder = builder.allow_plain_http_to_loopback();
    }
    let secret = SecretArg {
        flag: "callback-secret",
        value: a.callback_secret,
        file: a.callback_secret_file.as_deref(),
        env: "KTWIDGET_CALLBACK_SECRET",
    }
    .resolve(&mut Stdin::default(), &mut warn_on_stderr);
    match secret {
        Ok(None) => {}
        Ok(Some(secret)) => {
            let tagger = match CallbackSecret::new(secret) {
                Ok(s) => CallbackTagger::new(s),
                Err(e) => return fail(format!("--callback-secret: {e}")),
            };
            let tagger = match a.callback_tag_in {
                TagIn::Path => tagger.in_last_path_segment(),
                TagIn::Query => match tagger.in_query(&a.callback_tag_parameter) {
                    Ok(t) => t,
                    Err(e) => return fail(format!("--callback-tag-parameter: {e}")),
                },
            };
            builder = builder.tag_callbacks(tagger);
        }
        Err(e) => return fail(e),
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return Failure::from(e).report(),
    };
    let amount = match a.amount.parse() {
        Ok(v) => v,
        Err(e) => return fail(format!("--amount: {e}")),
    };
    let mut b = Order::builder(a.order_id, amount);
    if let (Some(id), Some(contract)) = (a.service_id, a.contract_value) {
        b = b.service(id.as_str(), contract);
    }
    if let Some(d) = a.description {
        b = b.description(d);
    }
    if let Some(u) = a.callback_post_url {
        b = b.callback_post_url(u);
    }
    if let Some(u) = a.callback_back_url {
        b = b.callback_back_url(u);
    }
    if let Some(u) = a.callback_success_url {
        b = b.callback_success_url(u);
    }
    if let Some(u) = a.callback_failed_url {
        b = b.callback_failed_url(u);
    }
    if a.hide_close_button {
        b = b.show_close_button(false);
    }
    if a.user_id.is_some() || a.user_phone.is_some() || a.user_email.is_some() {
        let mut user = User::default();
        user.merchant_user_id = a.user_id;
        user.phone = a.user_phone;
        user.email = a.user_email;
        b = b.user(user);
    }
    let order = match b.build() {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    match client.create_payment(&order).await {
        Ok(c) => print_line(
            &serde_json::json!({
                "transaction_hash": c.transaction_hash.as_str(),
                "show_close_button": c.show_close_button,
                "widget_url": c.widget_url.as_str(),
            })
            .to_string(),
        ),
        Err(e) => Failure::from(e).report(),
    }
}
