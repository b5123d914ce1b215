//! `payments sandbox --json`: the first stdout line is the JSON the issue specifies, the base
//! URLs answer, and SIGTERM stops it gracefully (the certificate directory is removed). Hostile
//! settings are refused at start, and a listen address beyond loopback gets a warning.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use payments_core::{HttpClient, HttpTransport, Operation, Request};

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `payments sandbox --json` with `args` and reads the JSON of its first stdout line.
/// The process is killed when the returned guard drops.
async fn sandbox_json(args: &[&str]) -> (Kill, serde_json::Value) {
    let child = Command::new(env!("CARGO_BIN_EXE_payments"))
        .args(["sandbox", "--json"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .expect("the first line within a minute")
        .unwrap()
        .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_json_prints_its_info_and_serves() {
    let (mut child, v) = sandbox_json(&[
        "--time-scale",
        "0.001",
        "--kupikupi-notification-url",
        "http://127.0.0.1:9/notify",
    ])
    .await;

    let keys = |o: &serde_json::Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["ktwidget", "kupikupi", "merchant", "smartpay"]);
    assert_eq!(
        keys(&v["ktwidget"]),
        ["api_base", "app_id", "app_key", "widget_base"]
    );
    assert_eq!(
        keys(&v["kupikupi"]),
        ["api_base", "platform_uid", "secret_key"]
    );
    assert_eq!(
        keys(&v["smartpay"]),
        [
            "api_base",
            "auth",
            "ca_pem",
            "client_cert_pem",
            "client_key_pem"
        ]
    );
    assert_eq!(
        keys(&v["merchant"]),
        ["ktwidget_callback_url", "kupikupi_notification_url"]
    );
    assert_eq!(
        v["merchant"]["kupikupi_notification_url"],
        "http://127.0.0.1:9/notify"
    );
    assert!(v["merchant"]["ktwidget_callback_url"].is_null());
    for base in [
        &v["ktwidget"]["api_base"],
        &v["kupikupi"]["api_base"],
        &v["smartpay"]["api_base"],
    ] {
        let base = base.as_str().unwrap();
        let rest = base.split("://").nth(1).unwrap();
        assert!(!rest.contains('/'), "scheme, host and port only: {base}");
    }
    let pem = |k: &str| std::fs::read_to_string(v["smartpay"][k].as_str().unwrap()).unwrap();
    assert!(pem("ca_pem").contains("BEGIN CERTIFICATE"));
    assert!(pem("client_cert_pem").contains("BEGIN CERTIFICATE"));
    assert!(pem("client_key_pem").contains("PRIVATE KEY"));

    // The base URLs answer: Ktpay's card page and Kupi-Kupi's API over HTTP, Smart Pay's ping
    // over mTLS with the printed files.
    let http = HttpClient::with_transport(std::sync::Arc::new(
        HttpTransport::builder().build().unwrap(),
    ));
    let op = Operation::idempotent("test", "get");
    let get = |url: String| Request::new(http::Method::GET, url.parse().unwrap());
    let kt = http
        .execute(
            &op,
            get(format!(
                "{}/payment-card?hash=nope",
                v["ktwidget"]["api_base"].as_str().unwrap()
            )),
        )
        .await
        .unwrap();
    assert_eq!(kt.status, 404, "an unknown hash is a 404 page");
    let kk = http
        .execute(
            &op,
            Request::new(
                http::Method::POST,
                format!(
                    "{}/api/v1/transfer/balance",
                    v["kupikupi"]["api_base"].as_str().unwrap()
                )
                .parse()
                .unwrap(),
            )
            .with_body("{}"),
        )
        .await
        .unwrap();
    assert_eq!(kk.status, 400, "a malformed request is refused by the API");
    let tls = HttpClient::with_transport(std::sync::Arc::new(
        HttpTransport::builder()
            .add_root_pem(pem("ca_pem").as_bytes())
            .unwrap()
            .only_added_roots()
            .client_identity(
                payments_core::ClientIdentity::from_pem(
                    pem("client_cert_pem").as_bytes(),
                    &payments_core::Secret::from(pem("client_key_pem")),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
    ));
    let ping = tls
        .execute(
            &op,
            get(format!(
                "{}/v1/ping",
                v["smartpay"]["api_base"].as_str().unwrap()
            )),
        )
        .await
        .unwrap();
    assert_eq!(ping.status, 200);

    drop((http, tls));
    // SIGTERM: a graceful stop that removes the certificate directory.
    let key = std::path::PathBuf::from(v["smartpay"]["client_key_pem"].as_str().unwrap());
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        !key.exists(),
        "the certificate directory is removed at exit"
    );
}

#[test]
fn a_time_scale_out_of_range_is_refused_before_anything_starts() {
    for bad in ["NaN", "-1", "1e9", "inf", "abc", "100.5"] {
        let out = common::run(&["sandbox", "--time-scale", bad], b"", &[], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains("time scale must be a number from 0 to 100"),
            "{bad}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_listen_address_beyond_loopback_gets_a_warning() {
    // 192.0.2.1 (TEST-NET-1) is on no interface here, so the bind fails after the warning; the
    // notification URL beyond loopback makes it fail even if it did not.
    let out = common::run(
        &[
            "sandbox",
            "--listen",
            "192.0.2.1:0",
            "--kupikupi-notification-url",
            "http://shop.example/notify",
        ],
        b"",
        &["RUST_LOG"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --listen 192.0.2.1:0 is not a loopback address"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let out = common::run(
        &[
            "sandbox",
            "--listen",
            "127.0.0.1:1",
            "--kupikupi-notification-url",
            "http://shop.example/notify",
        ],
        b"",
        &["RUST_LOG"],
        &[],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn a_merchant_url_beyond_loopback_is_refused_without_the_flag() {
    for args in [
        ["--kupikupi-notification-url", "http://0.0.0.0:9/notify"],
        ["--ktwidget-callback-url", "http://shop.example/ktpay"],
    ] {
        let mut all = vec!["sandbox"];
        all.extend(args);
        let out = common::run(&all, b"", &["RUST_LOG"], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("not loopback"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_allows_a_merchant_url_beyond_loopback() {
    let (_child, v) = sandbox_json(&[
        "--allow-non-loopback-delivery",
        "--kupikupi-notification-url",
        "http://0.0.0.0:9/notify",
    ])
    .await;
    assert_eq!(
        v["merchant"]["kupikupi_notification_url"],
        "http://0.0.0.0:9/notify"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_given_on_the_command_line_apply_and_expire() {
    let (_child, v) = sandbox_json(&[
        "--fault",
        "kupikupi:/api/v1/transfer/balance=status:503,times:2",
        "--fault",
        "kupikupi:/api/v1/transfer/init=reset",
    ])
    .await;
    let http = HttpClient::with_transport(std::sync::Arc::new(
        HttpTransport::builder().build().unwrap(),
    ))
    .with_retry_policy(payments_core::RetryPolicy::never());
    let op = Operation::not_idempotent("test", "post");
    let root = v["kupikupi"]["api_base"].as_str().unwrap().to_owned();
    let call = |method: &str| {
        let req = Request::new(
            http::Method::POST,
            format!("{root}/api/v1/transfer/{method}").parse().unwrap(),
        )
        .with_body("{}");
        http.execute(&op, req)
    };
    for _ in 0..2 {
        assert_eq!(call("balance").await.unwrap().status, 503);
    }
    // Expired: the emulator itself refuses the unsigned call.
    assert_eq!(call("balance").await.unwrap().status, 400);
    // A reset is a transport error that may have reached the provider, every time.
    for _ in 0..2 {
        let err = call("init").await.unwrap_err();
        assert!(err.may_have_been_sent(), "{err}");
    }
}

#[test]
fn a_bad_fault_spec_is_refused_before_anything_starts() {
    for bad in [
        "kupikupi",
        "paypal:/x=reset",
        "kupikupi:/x=status:99",
        "kupikupi:/x=reset,times:0",
    ] {
        let out = common::run(&["sandbox", "--fault", bad], b"", &[], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--fault"), "{bad}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    let help = common::run(&["sandbox", "--help"], b"", &[], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("PROVIDER:PATH=KIND[,times:N][,every:K]"),
        "{help}"
    );
}
