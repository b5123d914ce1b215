//! `payments demo`: the SDK's one-command tour. It starts the sandbox in-process (127.0.0.1,
//! free ports, no network, no credentials), walks each provider's life cycle through the public
//! SDK crates ([`flows`]), shows progress ([`runner`]), and ends with a summary table.
//!
//! The exit code is 0 only when every flow reached its expected outcome; otherwise the failing
//! flows are named with the step that diverged.

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
    for r in rows.iter().filter(|r| !r.ok) {
        eprintln!(
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
        );
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
