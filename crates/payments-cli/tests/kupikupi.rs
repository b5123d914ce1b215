//! `payments kupikupi ...` run as a binary, against the sandbox emulator for the network verbs.

mod common;

use std::process::Output;

use payments_sandbox::kupikupi::{self, Config, Status};

const VECTOR: &str = "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea";

fn run(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    common::run(
        args,
        stdin.as_bytes(),
        &[
            "KUPIKUPI_PLATFORM_UID",
            "KUPIKUPI_SECRET_KEY",
            "KUPIKUPI_DEV_SECRET_KEY",
        ],
        env,
    )
}

async fn run_async(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&args, "", &env)
    })
    .await
    .expect("the blocking task finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const WARNING: &str = "visible to other users of this machine";

#[test]
fn token_of_the_provider_vector() {
    let input =
        r#"{"platformUid":"M2hULcD58iYGkmS7","phone":79000000000,"orderId":1234,"amount":25000}"#;
    // The key from the environment: no warning.
    let o = run(
        &["kupikupi", "token"],
        input,
        &[("KUPIKUPI_SECRET_KEY", "yIKirCvplm8N1D9g")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), VECTOR);
    assert!(!stderr(&o).contains(WARNING));
    // On the command line: taken, with a warning that never shows the key.
    let o = run(
        &["kupikupi", "token", "--secret-key", "yIKirCvplm8N1D9g"],
        input,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), VECTOR);
    assert!(stderr(&o).contains(WARNING), "{}", stderr(&o));
    assert!(!stderr(&o).contains("yIKirCvplm8N1D9g"));
    // A key beginning with `-` is a value, not a flag: the argument signs as the variable does.
    let o = run(&["kupikupi", "token", "--secret-key", "-Zk3y"], input, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let from_env = run(
        &["kupikupi", "token"],
        input,
        &[("KUPIKUPI_SECRET_KEY", "-Zk3y")],
    );
    assert_eq!(stdout(&o), stdout(&from_env));
    assert_ne!(stdout(&o).trim(), VECTOR);
}

#[test]
fn token_key_from_a_file_or_stdin() {
    let input =
        r#"{"platformUid":"M2hULcD58iYGkmS7","phone":79000000000,"orderId":1234,"amount":25000}"#;
    let dir = std::env::temp_dir().join(format!("payments-cli-kk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key");
    std::fs::write(&path, "yIKirCvplm8N1D9g\n").unwrap();
    let o = run(
        &[
            "kupikupi",
            "token",
            "--secret-key-file",
            path.to_str().unwrap(),
        ],
        input,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), VECTOR);
    assert!(!stderr(&o).contains(WARNING));
    std::fs::remove_dir_all(&dir).unwrap();
    // The key from stdin leaves no stdin for the parameters: a clear error.
    let o = run(&["kupikupi", "token", "--secret-key", "-"], input, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already read"), "{}", stderr(&o));
    // No key anywhere: says where to put it.
    let o = run(&["kupikupi", "token"], input, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("KUPIKUPI_SECRET_KEY"), "{}", stderr(&o));
}

#[test]
fn token_refuses_bad_input_in_one_line() {
    for input in [
        "not json",
        "[1,2]",
        r#"{"amount": 1.5}"#,
        r#"{"secretKey": "x"}"#,
    ] {
        let o = run(
            &["kupikupi", "token"],
            input,
            &[("KUPIKUPI_SECRET_KEY", "k")],
        );
        assert_eq!(o.status.code(), Some(2), "{input}");
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn parse_notification_prints_normalised_json() {
    let input = r#"{"status":"true","transferStatus":"CONFIRMED","errorCode":0,"platformUid":"M2hULcD58iYGkmS7","orderId":1234,"extra":1}"#;
    let o = run(&["kupikupi", "parse-notification"], input, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"status": true, "transferStatus": "CONFIRMED", "errorCode": "0",
                           "uidPlatform": "M2hULcD58iYGkmS7", "orderId": "1234", "signed": false})
    );
}

#[test]
fn parse_notification_rejects_bad_input_with_exit_2() {
    for input in ["", "{", "[]", r#"{"status":true}"#, "\u{0}\u{1}binary"] {
        let o = run(&["kupikupi", "parse-notification"], input, &[]);
        assert_eq!(o.status.code(), Some(2), "{input:?}");
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    // --verify checks the platform id.
    let input = r#"{"status":true,"transferStatus":"CONFIRMED","errorCode":"0","uidPlatform":"other","orderId":"1"}"#;
    let o = run(
        &["kupikupi", "parse-notification", "--verify"],
        input,
        &[
            ("KUPIKUPI_PLATFORM_UID", "mine"),
            ("KUPIKUPI_SECRET_KEY", "k"),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("another platform"));
    // A parse error never quotes the body.
    for input in [
        r#"{"status": s3cr3tvalue}"#,
        r#"{"status":"s3cr3tvalue","transferStatus":"NEW","errorCode":"0","uidPlatform":"u","orderId":"o"}"#,
    ] {
        let o = run(&["kupikupi", "parse-notification"], input, &[]);
        assert_eq!(o.status.code(), Some(2));
        assert!(!stderr(&o).contains("s3cr3t"), "{}", stderr(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_init_checkout_against_the_sandbox() {
    let emu = kupikupi::start(Config::default()).await.unwrap();
    let base = emu.base_url();
    let env = vec![
        (
            "KUPIKUPI_PLATFORM_UID".to_owned(),
            emu.platform_uid().to_owned(),
        ),
        (
            "KUPIKUPI_SECRET_KEY".to_owned(),
            emu.secret_key().to_owned(),
        ),
    ];
    let args = |v: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = vec!["kupikupi".into()];
        a.extend(v.iter().map(|s| s.to_string()));
        a.extend([
            "--base-url".to_owned(),
            base.clone(),
            "--allow-plain-http-to-loopback".to_owned(),
        ]);
        a
    };

    // Without the opt-in, plain http is refused before anything is sent.
    let mut plain = args(&["balance", "--phone", "79000000001"]);
    plain.retain(|a| a != "--allow-plain-http-to-loopback");
    let o = run_async(plain, env.clone()).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("https"), "{}", stderr(&o));
    assert_eq!(emu.rejected_requests(), 0);

    let o = run_async(args(&["balance", "--phone", "79000000001"]), env.clone()).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["balance"], "1000000.00");
    assert_eq!(v["balance_minor_units"], 100_000_000u64);

    let o = run_async(
        args(&[
            "init",
            "--phone",
            "79000000002",
            "--order-id",
            "cli-1",
            "--amount-kopecks",
            "2500",
        ]),
        env.clone(),
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["order_id"], "cli-1");
    assert_eq!(v["amount_kopecks"], 2500);
    assert!(v["transfer_url"]
        .as_str()
        .unwrap()
        .starts_with(emu.root_url()));
    assert_eq!(emu.transfer("cli-1").unwrap().status, Status::New);

    let o = run_async(
        args(&[
            "checkout",
            "--order-id",
            "cli-1",
            "--amount-kopecks",
            "2500",
        ]),
        env.clone(),
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["transfer_status"], "NEW");
    assert_eq!(v["final"], false);
    assert_eq!(
        v["payment_id"],
        emu.transfer("cli-1").unwrap().payment_id.to_string()
    );

    // A provider refusal: one line, exit 1, the key never printed.
    let wrong = vec![
        (
            "KUPIKUPI_PLATFORM_UID".to_owned(),
            emu.platform_uid().to_owned(),
        ),
        (
            "KUPIKUPI_SECRET_KEY".to_owned(),
            "wrong-secret-key".to_owned(),
        ),
    ];
    let o = run_async(args(&["balance", "--phone", "79000000001"]), wrong).await;
    // The service refused the token: exit 4.
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.contains("[3]") && err.contains("Kupi-Kupi refused"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret-key"));
    assert_eq!(err.trim_end().lines().count(), 1);

    // Bad arguments are refused before anything is sent.
    let o = run_async(args(&["balance", "--phone", "89000000001"]), env.clone()).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("phone"));
    assert_eq!(emu.rejected_requests(), 1);
    emu.shutdown().await;
}

#[test]
fn network_verbs_need_credentials_and_a_host() {
    let o = run(
        &[
            "kupikupi",
            "balance",
            "--phone",
            "79000000001",
            "--env",
            "test",
        ],
        "",
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("KUPIKUPI_PLATFORM_UID"));
    let o = run(
        &["kupikupi", "balance", "--phone", "79000000001"],
        "",
        &[("KUPIKUPI_PLATFORM_UID", "u"), ("KUPIKUPI_SECRET_KEY", "k")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--env"));
    // The test environment takes the DevSecretKey, not the SecretKey.
    let o = run(
        &[
            "kupikupi",
            "balance",
            "--phone",
            "79000000001",
            "--env",
            "test",
        ],
        "",
        &[("KUPIKUPI_PLATFORM_UID", "u"), ("KUPIKUPI_SECRET_KEY", "k")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("KUPIKUPI_DEV_SECRET_KEY"),
        "{}",
        stderr(&o)
    );
    // --env and --base-url exclude each other (a usage error).
    let o = run(
        &[
            "kupikupi",
            "balance",
            "--phone",
            "79000000001",
            "--env",
            "test",
            "--base-url",
            "http://127.0.0.1:9",
        ],
        "",
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// `payments kupikupi reconcile`: checkout until final, against the sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_against_the_sandbox() {
    use payments_core::{HttpClient, HttpTransport, Operation, Request, RetryPolicy};
    let emu = kupikupi::start(Config::default()).await.unwrap();
    let env = vec![
        (
            "KUPIKUPI_PLATFORM_UID".to_owned(),
            emu.platform_uid().to_owned(),
        ),
        (
            "KUPIKUPI_SECRET_KEY".to_owned(),
            emu.secret_key().to_owned(),
        ),
    ];
    let args = |v: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = vec!["kupikupi".into()];
        a.extend(v.iter().map(|s| s.to_string()));
        a.extend([
            "--base-url".to_owned(),
            emu.base_url(),
            "--allow-plain-http-to-loopback".to_owned(),
        ]);
        a
    };
    let o = run_async(
        args(&[
            "init",
            "--phone",
            "79000000001",
            "--order-id",
            "rec-1",
            "--amount-kopecks",
            "100",
        ]),
        env.clone(),
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let url = v["transfer_url"].as_str().unwrap().to_owned();
    let reconcile = args(&[
        "reconcile",
        "--order-id",
        "rec-1",
        "--amount-kopecks",
        "100",
        "--deadline-secs",
        "0",
    ]);
    // Not paid: not final, an error.
    let o = run_async(reconcile.clone(), env.clone()).await;
    // Still unknown at the deadline: exit 1 (neither refused nor a network failure).
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("NEW"), "{}", stderr(&o));
    // The customer enters the code (no NotificationURL: the emulator confirms at once).
    let http = HttpClient::with_transport(std::sync::Arc::new(
        HttpTransport::builder().build().unwrap(),
    ))
    .with_retry_policy(RetryPolicy::never());
    const BROWSE: Operation = Operation::not_idempotent("test", "browser");
    http.execute(
        &BROWSE,
        Request::new(http::Method::GET, url.parse().unwrap()),
    )
    .await
    .unwrap();
    let confirm = Request::new(
        http::Method::POST,
        format!("{url}/confirm").parse().unwrap(),
    )
    .with_body(format!("code={}", emu.confirmation_code()))
    .with_header(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    http.execute(&BROWSE, confirm).await.unwrap();
    assert_eq!(emu.transfer("rec-1").unwrap().status, Status::Confirmed);
    let o = run_async(reconcile, env.clone()).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["result"], "confirmed");
    assert_eq!(v["amount_kopecks"], 100);
    assert_eq!(
        v["payment_id"],
        emu.transfer("rec-1").unwrap().payment_id.to_string()
    );
    emu.shutdown().await;
}
