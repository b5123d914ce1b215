//! `payments sandbox`: serves the three emulators until Ctrl-C (or SIGTERM) and prints what an
//! application needs to use them.
//!
//! `--listen HOST:PORT` chooses the host and the first port: with port 0 (the default) each
//! emulator gets a free port; with port P, Ktpay listens on P, Kupi-Kupi on P + 1 and Smart Pay
//! on P + 2. A host that is not loopback gets a warning on stderr: the emulators are for this
//! machine. Callbacks and notifications go only to loopback hosts unless
//! `--allow-non-loopback-delivery` is given. `--time-scale` outside 0 to 100 is refused before
//! anything starts. `--fault SPEC` (repeatable) makes an endpoint fail (a status, a delay, a
//! reset or a truncated answer) so that a merchant can test their own retries and timeouts; a
//! SPEC that does not parse is refused before anything starts.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;
use payments_sandbox::{Fault, Sandbox, SandboxConfig, SandboxInfo, TimeScale};

/// The options of `payments sandbox`.
#[derive(Debug, Args)]
pub struct Options {
    /// The host and first port: port 0 gives each emulator a free port; port P puts Ktpay on P,
    /// Kupi-Kupi on P+1 and Smart Pay on P+2.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Print one JSON object on the first line of stdout (then keep serving).
    #[arg(long)]
    json: bool,
    /// The merchant's default Ktpay callback URL (an order's callback_post_url wins).
    #[arg(long, value_name = "URL")]
    ktwidget_callback_url: Option<String>,
    /// The merchant's Kupi-Kupi NotificationURL (without it no notification is sent).
    #[arg(long, value_name = "URL")]
    kupikupi_notification_url: Option<String>,
    /// Multiplies the callback and notification retry schedules (15 s, 60 s, 3 min, ...);
    /// 0.001 turns seconds into milliseconds. From 0 to 100.
    #[arg(
        long,
        value_name = "X",
        default_value = "1",
        allow_negative_numbers = true
    )]
    time_scale: TimeScale,
    /// Deliver Ktpay callbacks and Kupi-Kupi notifications to hosts that are not loopback
    /// (without it, only localhost, 127.0.0.0/8 and ::1).
    #[arg(long)]
    allow_non_loopback_delivery: bool,
    /// Make an endpoint fail, to test a client's retries and timeouts (repeatable).
    ///
    /// SPEC is `PROVIDER:PATH=KIND[,times:N][,every:K]`
    ///
    /// - PROVIDER: ktwidget, smartpay or kupikupi.
    /// - PATH: the request path, matched segment by segment; a `*` segment matches any one
    ///   segment, and `*` alone matches every path.
    /// - KIND: `status:CODE` (answer that HTTP status, 200 to 599, without reaching the
    ///   emulator), `delay:DURATION` (answer normally but late: 250ms, 2s; at most 10 min),
    ///   `reset` (reset the connection, no answer, the emulator is not reached) or `truncate`
    ///   (the emulator handles the call; half its answer is sent, then the connection closes).
    /// - times:N: expire after N calls (default: every call, until the sandbox stops).
    /// - every:K: apply to every K-th matching call only (the K-th, 2K-th, ...).
    ///
    /// Examples: kupikupi:/api/v1/transfer/init=status:503,times:2
    /// ktwidget:/api/v1/merchant-widget/payment/*=delay:2s,every:3
    /// smartpay:/v1/auth=reset,times:1
    #[arg(long = "fault", value_name = "SPEC", verbatim_doc_comment)]
    faults: Vec<Fault>,
}

/// Runs `payments sandbox`.
pub async fn run(opts: Options) -> ExitCode {
    let mut config = SandboxConfig::default()
        .with_listen(opts.listen)
        .with_time_scale(opts.time_scale.get());
    if opts.allow_non_loopback_delivery {
        config = config.allow_non_loopback_delivery();
    }
    for fault in opts.faults {
        config = config.with_fault(fault);
    }
    if config.listens_beyond_loopback() {
        eprintln!(
            "warning: --listen {} is not a loopback address: other machines can reach the \
             sandbox, whose credentials are printed and well known",
            opts.listen
        );
    }
    if let Some(url) = opts.ktwidget_callback_url {
        config = config.with_ktwidget_callback_url(url);
    }
    if let Some(url) = opts.kupikupi_notification_url {
        config = config.with_kupikupi_notification_url(url);
    }
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let printed = if opts.json {
        match serde_json::to_string(sandbox.info()) {
            Ok(line) => writeln!(out, "{line}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        write!(out, "{}", human(sandbox.info(), &sandbox))
    };
    if printed.and_then(|()| out.flush()).is_err() {
        eprintln!("error: cannot write to stdout");
    }
    drop(out);
    eprintln!("payments sandbox: serving until Ctrl-C");
    wait_for_signal().await;
    eprintln!("payments sandbox: stopping");
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn human(info: &SandboxInfo, sandbox: &Sandbox) -> String {
    let none =
        |v: &Option<String>, what: &str| v.clone().unwrap_or_else(|| format!("(none: {what})"));
    let cards: Vec<String> = payments_sandbox::ktwidget::TEST_CARDS
        .iter()
        .map(|c| format!("    {}  {}", c.number, c.label))
        .collect();
    format!(
        "Ktpay (ktwidget)\n\
         \x20 api_base     {kt_api}   (POST /api/v1/merchant-widget/payment)\n\
         \x20 widget_base  {kt_widget}   (card page: /payment-card?hash=...)\n\
         \x20 app_id       {app_id}\n\
         \x20 app_key      {app_key}\n\
         \x20 test cards (any expiry and CVC):\n{cards}\n\
         Kupi-Kupi (kupikupi)\n\
         \x20 api_base     {kk_api}   (POST /api/v1/transfer/<method>)\n\
         \x20 platform_uid {uid}\n\
         \x20 secret_key   {secret}\n\
         \x20 test phones  79000000001 CONFIRMED, 79000000002 REJECTED, 79000000003 CANCELED; form code {code}\n\
         Smart Pay (smartpay)\n\
         \x20 api_base        {sp_api}   (TLS with a client certificate)\n\
         \x20 ca_pem          {ca}\n\
         \x20 client_cert_pem {cert}\n\
         \x20 client_key_pem  {key}\n\
         \x20 auth            login {login}, password {password}\n\
         Merchant\n\
         \x20 ktwidget_callback_url     {kt_cb}\n\
         \x20 kupikupi_notification_url {kk_cb}\n",
        kt_api = info.ktwidget.api_base,
        kt_widget = info.ktwidget.widget_base,
        app_id = info.ktwidget.app_id,
        app_key = info.ktwidget.app_key,
        cards = cards.join("\n"),
        kk_api = info.kupikupi.api_base,
        uid = info.kupikupi.platform_uid,
        secret = info.kupikupi.secret_key,
        code = sandbox.kupikupi().confirmation_code(),
        sp_api = info.smartpay.api_base,
        ca = info.smartpay.ca_pem.display(),
        cert = info.smartpay.client_cert_pem.display(),
        key = info.smartpay.client_key_pem.display(),
        login = info.smartpay.auth.login,
        password = info.smartpay.auth.password,
        kt_cb = none(
            &info.merchant.ktwidget_callback_url,
            "orders must carry callback_post_url"
        ),
        kk_cb = none(
            &info.merchant.kupikupi_notification_url,
            "no notification is sent; a code confirms at once"
        ),
    )
}
