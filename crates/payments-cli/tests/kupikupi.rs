//! `payments kupikupi ...` run as a binary, against the sandbox emulator for the network verbs.

mod common;

use std::process::Output;

use payments_sandbox::kupikupi::{self, Config, Status};

const VECTOR: &str = "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea";

fn run(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    common::run(
        args,
        stdin.as_bytes(),
        &["KUPIKUPI_PLATFORM_UID", "KUPIKUPI_SECRET_KEY"],
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

#[test]
fn token_of_the_provider_vector() {
    let input =
        r#"{"platformUid":"M2hULcD58iYGkmS7","phone":79000000000,"orderId":1234,"amount":25000}"#;
    let o = run(
        &["kupikupi", "token", "--secret-key", "yIKirCvplm8N1D9g"],
        input,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), VECTOR);
    // The key may come from the environment instead.
    let o = run(
        &["kupikupi", "token"],
        input,
        &[("KUPIKUPI_SECRET_KEY", "yIKirCvplm8N1D9g")],
    );
    assert_eq!(stdout(&o).trim(), VECTOR);
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
fn token_refuses_bad_input_in_one_line() {
    for input in [
        "not json",
        "[1,2]",
        r#"{"amount": 1.5}"#,
        r#"{"secretKey": "x"}"#,
    ] {
        let o = run(&["kupikupi", "token", "--secret-key", "k"], input, &[]);
        assert_eq!(o.status.code(), Some(1), "{input}");
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
fn parse_notification_rejects_bad_input_with_exit_1() {
    for input in ["", "{", "[]", r#"{"status":true}"#, "\u{0}\u{1}binary"] {
        let o = run(&["kupikupi", "parse-notification"], input, &[]);
        assert_eq!(o.status.code(), Some(1), "{input:?}");
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
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("another platform"));
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
        a.extend(["--base-url".to_owned(), base.clone()]);
        a
    };

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
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("errorCode 3"), "{err}");
    assert!(!err.contains("wrong-secret-key"));
    assert_eq!(err.trim_end().lines().count(), 1);

    // Bad arguments are refused before anything is sent.
    let o = run_async(args(&["balance", "--phone", "89000000001"]), env.clone()).await;
    assert_eq!(o.status.code(), Some(1));
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
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("KUPIKUPI_PLATFORM_UID"));
    let o = run(
        &["kupikupi", "balance", "--phone", "79000000001"],
        "",
        &[("KUPIKUPI_PLATFORM_UID", "u"), ("KUPIKUPI_SECRET_KEY", "k")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--env"));
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
