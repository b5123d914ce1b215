//! `payments demo`: the SDK's one-command tour. It starts the sandbox in-process (127.0.0.1,
//! free ports, no network, no credentials), walks each provider's life cycle through the public
//! SDK crates ([`flows`]), shows progress ([`runner`]), and ends with a summary table.
//!
//! The exit code is 0 only when every flow reached its expected outcome; otherwise the failing
//! flows are named with the step that diverged.
//!
//! Progress goes to stderr: a spinner per flow naming its current step on a terminal, plain
//! lines otherwise (a pipe, a file, CI) or with `--json`; `NO_COLOR` turns colours off. The
//! summary goes to stdout: a table, or with `--json` one object
//! `{"ok": bool, "flows": [{"provider", "flow", "expected", "observed", "ok", "diverged_at",
//! "error", "millis"}]}`.
//!
//! The sandbox's retry schedules run at [`TIME_SCALE`]; the merchant's receiver
//! ([`merchant::Merchant`]) listens on 127.0.0.1:0 and uses the provider crates' own callback
//! and notification handlers.

pub mod browser;
pub mod flows;
pub mod merchant;
pub mod runner;

use std::process::ExitCode;
use std::sync::Arc;

/// The retry schedules' time scale in the demo: Ktpay's first retry after 15 s comes after
/// 150 ms.
pub const TIME_SCALE: f64 = 0.01;

/// Runs the demo: progress on stderr, the summary table (or, with `json`, the JSON summary) on
/// stdout.
pub async fn run(json: bool) -> ExitCode {
    run_with(json, None).await
}

/// [`run`], and when `secrets_out` is set, writes the sandbox's secrets (the Kupi-Kupi secret
/// key, the Smart Pay password, the session cookies issued, the client key PEM, the Ktpay
/// callback secret and the callback tags sent) to that file
/// (mode 0600) before stopping. It exists for the SDK's leak test, which checks that none of
/// them appears in the demo's output, even with `RUST_LOG=trace`.
pub async fn run_with(json: bool, secrets_out: Option<std::path::PathBuf>) -> ExitCode {
    let display = runner::Display::detect(json);
    let demo = match flows::Demo::start(TIME_SCALE).await {
        Ok(d) => Arc::new(d),
        Err(e) => {
            eprintln!("error: the sandbox did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !json {
        eprintln!(
            "payments demo: the sandbox runs on 127.0.0.1 (Ktpay {}, Kupi-Kupi {}, Smart Pay {}); \
             the merchant's receiver on {}",
            demo.sandbox.info().ktwidget.api_base,
            demo.sandbox.info().kupikupi.api_base,
            demo.sandbox.info().smartpay.api_base,
            demo.merchant.base_url(),
        );
    }
    let rows = runner::run_all(flows::flows(&demo), display).await;
    if let Some(path) = secrets_out {
        if let Err(e) = write_secrets(&demo, &path) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Ok(demo) = Arc::try_unwrap(demo) {
        demo.shutdown().await;
    }
    let all_ok = rows.iter().all(|r| r.ok);
    if json {
        let summary = serde_json::json!({
            "ok": all_ok,
            "flows": rows,
        });
        println!("{summary}");
    } else {
        println!();
        print!("{}", runner::table(&rows, display.color));
        let total: u64 = rows.iter().map(|r| r.millis).sum();
        println!(
            "\n{} of {} flows reached their expected outcome ({total} ms).",
            rows.iter().filter(|r| r.ok).count(),
            rows.len()
        );
    }
    for line in divergences(&rows) {
        eprintln!("{line}");
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One line per flow that did not reach its expected outcome, naming the step that diverged.
pub fn divergences(rows: &[runner::Row]) -> Vec<String> {
    rows.iter()
        .filter(|r| !r.ok)
        .map(|r| {
            format!(
                "diverged: {} / {}: at step \"{}\": expected {}, observed {}{}",
                r.provider,
                r.flow,
                r.diverged_at.as_deref().unwrap_or("?"),
                r.expected,
                r.observed,
                r.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn write_secrets(demo: &flows::Demo, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let info = demo.sandbox.info();
    let smartpay = demo.sandbox.smartpay();
    let cookies: Vec<String> = smartpay
        .session_cookies()
        .iter()
        .map(|c| String::from_utf8_lossy(c.expose()).into_owned())
        .collect();
    // The tags the client put in callback_post_url: each lets its holder post that order's
    // status, so they are secrets too.
    let tags: Vec<String> = demo
        .sandbox
        .ktwidget()
        .payments()
        .iter()
        .filter_map(|p| p.urls.get("callback_post_url"))
        .filter_map(|u| ktwidget::WebUrl::parse("callback_post_url", u).ok())
        .filter_map(|u| {
            u.query_pairs()
                .find(|(k, _)| k == ktwidget::DEFAULT_TAG_PARAMETER)
                .map(|(_, v)| v)
        })
        .collect();
    let json = serde_json::json!({
        "ktwidget_callback_secret": demo.ktwidget_callback_secret().expose().expose_str(),
        "ktwidget_callback_tags": tags,
        "kupikupi_secret_key": info.kupikupi.secret_key,
        "smartpay_password": info.smartpay.auth.password,
        "smartpay_cookies": cookies,
        "smartpay_client_key_pem": smartpay.certificates().client_key_pem,
    });
    let mut options = std::fs::OpenOptions::new();
    // A new file only: never over an existing one, never through a link.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(json.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::runner::{ensure, run_all, Display, Flow};
    use super::*;

    #[tokio::test]
    async fn a_failed_flow_is_named_with_its_step() {
        let flows = vec![
            Flow::new("ktwidget", "ecom", "completed", |s| async move {
                s.step("create the payment");
                Ok("completed".to_string())
            }),
            Flow::new("kupikupi", "transfer", "CONFIRMED", |s| async move {
                s.step("open the transfer form");
                ensure(false, "HTTP 500")?;
                Ok("CONFIRMED".to_string())
            }),
        ];
        let rows = run_all(
            flows,
            Display {
                spinners: false,
                color: false,
            },
        )
        .await;
        assert_eq!(
            divergences(&rows),
            [
                "diverged: kupikupi / transfer: at step \"open the transfer form\": \
              expected CONFIRMED, observed error (HTTP 500)"
            ]
        );
        assert!(divergences(&rows[..1]).is_empty());
    }
}
