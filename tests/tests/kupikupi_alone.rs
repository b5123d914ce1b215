//! Issue 13: "A test proves it: it builds a tiny app that lists only `kupikupi`, runs that
//! crate's README flow against the sandbox, and passes."
//!
//! The app is written into this test's scratch directory (`CARGO_TARGET_TMPDIR`): its
//! `Cargo.toml` names only `kupikupi` (a path dependency on the workspace crate) and `tokio` (for
//! `#[tokio::main]`), so every type its code names must come from `kupikupi`'s re-exports. It is
//! built offline with the workspace's `Cargo.lock` copied in, into a target directory kept
//! between runs (`target/kupikupi-alone`), so only the first run pays for a build of
//! `kupikupi`'s tree. The test starts the Kupi-Kupi emulator in-process and hands its URL and
//! credentials to the app through environment variables; the app runs the README's opening
//! flow (init, the customer's code, `reconcile` until `checkout` says CONFIRMED) and exits 0
//! only when the order is paid.

use std::path::Path;

use payments_sandbox::kupikupi::{self as sandbox, Config, Status};

const CARGO_TOML: &str = r#"[package]
name = "kupikupi-alone"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
kupikupi = { path = "KUPIKUPI_PATH" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

# No debug info: a faster build, half the disk (266 MB instead of 520 MB).
[profile.dev]
debug = false

# Not a member of the payments-rs workspace around the scratch directory.
[workspace]
"#;

/// The README's opening example, with the sandbox's values read from the environment.
const MAIN_RS: &str = r#"use kupikupi::{
    reconcile, Client, ConfirmationCode, OrderId, Phone, Reconciled, Secret, StoredTransfer,
    TransferAmount, DEFAULT_CONFIRM_POLICY,
};

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder()
        .platform_uid(env("KUPIKUPI_PLATFORM_UID")?)
        .secret_key(Secret::from(env("KUPIKUPI_SECRET_KEY")?))
        .base_url(env("KUPIKUPI_BASE_URL")?)
        .allow_plain_http_to_loopback()
        .build()?;

    let phone = Phone::new("79000000001")?;
    let order = OrderId::new("alone-42")?;
    let amount = TransferAmount::from_minor(25_000)?;
    let transfer = client.init(&phone, &order, amount).await?;
    println!("send the customer to {}", transfer.transfer_url);

    client.confirmation(&phone, &ConfirmationCode::new(env("KUPIKUPI_CODE")?)?).await?;

    match reconcile(&client, &order, &StoredTransfer::new(amount), DEFAULT_CONFIRM_POLICY).await {
        Reconciled::Confirmed(paid) => println!("order {} paid", paid.order_id()),
        other => return Err(format!("not paid: {other:?}").into()),
    }
    Ok(())
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_lists_only_kupikupi_runs_the_readme_flow() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace");
    let app = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kupikupi-alone");
    std::fs::create_dir_all(app.join("src")).unwrap();
    let kupikupi = workspace.join("crates").join("kupikupi");
    let manifest = CARGO_TOML.replace("KUPIKUPI_PATH", &kupikupi.display().to_string());
    std::fs::write(app.join("Cargo.toml"), &manifest).unwrap();
    std::fs::write(app.join("src").join("main.rs"), MAIN_RS).unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();

    // The manifest names kupikupi and tokio, nothing else: no payments-core, no sandbox.
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|d| d.split("\n[").next())
        .unwrap();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(name, _)| name.trim()))
        .collect();
    assert_eq!(names, ["kupikupi", "tokio"]);

    let target = workspace.join("target").join("kupikupi-alone");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let build = tokio::process::Command::new(&cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .await
        .unwrap();
    assert!(
        build.status.success(),
        "the app does not build with kupikupi alone:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let emulator = sandbox::start(Config::default()).await.unwrap();
    let run = tokio::process::Command::new(target.join("debug").join("kupikupi-alone"))
        .env("KUPIKUPI_BASE_URL", emulator.base_url())
        .env("KUPIKUPI_PLATFORM_UID", emulator.platform_uid())
        .env("KUPIKUPI_SECRET_KEY", emulator.secret_key())
        .env("KUPIKUPI_CODE", emulator.confirmation_code())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the README flow failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("order alone-42 paid"), "{stdout}");
    // The emulator agrees: the transfer is CONFIRMED.
    assert_eq!(
        emulator.transfer("alone-42").map(|t| t.status),
        Some(Status::Confirmed)
    );
    emulator.shutdown().await;
}
