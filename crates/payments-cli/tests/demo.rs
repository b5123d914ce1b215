//! `payments demo`: every flow matches, the JSON summary, plain output when not a terminal, and
//! no secret in the output even with `RUST_LOG=trace`.

use std::process::Command;

fn payments() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_payments"));
    c.env_remove("RUST_LOG").env_remove("NO_COLOR");
    c
}

#[test]
fn demo_json_exits_0_with_every_flow_ok() {
    let out = payments().args(["demo", "--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout holds only the JSON: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ok"], true);
    let flows = v["flows"].as_array().unwrap();
    assert_eq!(flows.len(), payments_cli::demo::flows::catalog().len());
    for provider in ["ktwidget", "smartpay", "kupikupi"] {
        assert!(
            flows.iter().any(|f| f["provider"] == provider),
            "{provider}"
        );
    }
    for f in flows {
        assert_eq!(f["ok"], true, "{f}");
        assert_eq!(f["observed"], f["expected"], "{f}");
        assert!(f["diverged_at"].is_null(), "{f}");
        assert!(f["millis"].is_u64(), "{f}");
    }
    let observed: Vec<&str> = flows
        .iter()
        .filter_map(|f| f["observed"].as_str())
        .collect();
    for expected in [
        "completed",
        "CONFIRMED",
        "REJECTED",
        "CANCELED",
        "not credited",
        "cancelled",
        "forgery refused, order unpaid",
        "refused before any connection",
    ] {
        assert!(observed.contains(&expected), "{expected} in {observed:?}");
    }
}

#[test]
fn demo_prints_a_plain_table_when_not_a_terminal() {
    let out = payments()
        .arg("demo")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'));
    let header = stdout
        .lines()
        .find(|l| l.starts_with("provider"))
        .expect("a summary table");
    for col in ["flow", "expected", "observed", "time"] {
        assert!(header.contains(col), "{header}");
    }
    let n = payments_cli::demo::flows::catalog().len();
    assert!(stdout.contains(&format!("{n} of {n} flows reached their expected outcome")));
    // Progress is plain lines on stderr, one per step.
    assert!(stderr.contains("ktwidget  ecom payment + callback: expecting completed"));
    assert!(stderr.contains("· open the transfer form"));
}

#[test]
fn rust_log_trace_never_prints_a_secret() {
    let dir = std::env::temp_dir().join(format!("payments-leak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secrets_file = dir.join("secrets.json");
    // The demo creates the file exclusively: a left-over of an earlier run would be refused.
    let _ = std::fs::remove_file(&secrets_file);
    let out = payments()
        .args(["demo", "--write-secrets-to"])
        .arg(&secrets_file)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    let secrets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&secrets_file).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The trace really is on: hyper, rustls and the SDK's own spans log.
    assert!(stderr.contains("TRACE"), "RUST_LOG=trace produced no trace");
    assert!(stderr.contains("payments.call"));

    let mut needles: Vec<String> = vec![
        secrets["kupikupi_secret_key"].as_str().unwrap().to_owned(),
        secrets["smartpay_password"].as_str().unwrap().to_owned(),
        secrets["ktwidget_callback_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    // Each Ktpay callback tag lets its holder post that order's status.
    let tags = secrets["ktwidget_callback_tags"].as_array().unwrap();
    assert!(tags.len() >= 6, "every Ktpay payment was tagged: {tags:?}");
    needles.extend(tags.iter().map(|t| t.as_str().unwrap().to_owned()));
    let cookies = secrets["smartpay_cookies"].as_array().unwrap();
    assert!(!cookies.is_empty(), "the demo authenticated at Smart Pay");
    needles.extend(cookies.iter().map(|c| c.as_str().unwrap().to_owned()));
    // Every line of the key's body (not the BEGIN/END markers).
    let pem = secrets["smartpay_client_key_pem"].as_str().unwrap();
    let body: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .collect();
    assert!(!body.is_empty());
    needles.extend(body.iter().map(|l| l.to_string()));
    for needle in &needles {
        assert!(needle.len() >= 8, "a secret too short to search for");
        assert!(!stdout.contains(needle.as_str()), "a secret in stdout");
        assert!(!stderr.contains(needle.as_str()), "a secret in stderr");
    }
    for marker in [
        "PRIVATE KEY",
        "kassa_session=",
        "\"token\"",
        "ktwidget_tag=",
    ] {
        assert!(!stderr.contains(marker), "{marker} in stderr");
        assert!(!stdout.contains(marker), "{marker} in stdout");
    }
}
