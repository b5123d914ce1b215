//! `payments smartpay ...` run as a binary.

mod common;

use std::process::Output;

fn payments(args: &[&str], stdin: &str) -> Output {
    common::run(args, stdin.as_bytes(), &[], &[])
}

#[test]
fn parse_qr_prints_normalised_json() {
    let out = payments(
        &["smartpay", "parse-qr"],
        "{\"sign\":\"-_8\",\"id_loyalty\":7000123,\"encrypted\":\"b3RwLjE3MDA\"}\n",
    );
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v,
        serde_json::json!({"id_loyalty": "7000123", "encrypted": "b3RwLjE3MDA=", "sign": "+/8="})
    );
}

#[test]
fn parse_qr_rejects_bad_input_with_one_line() {
    for (input, needle) in [
        ("not json", "not JSON"),
        ("{\"id_loyalty\":\"1\",\"encrypted\":\"AA==\"}", "`sign`"),
        (
            "{\"id_loyalty\":\"1\",\"encrypted\":\"%%%\",\"sign\":\"AA==\"}",
            "not valid base64",
        ),
    ] {
        let out = payments(&["smartpay", "parse-qr"], input);
        assert_eq!(out.status.code(), Some(1), "{input}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).expect("utf8");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_over_mutual_tls() {
    let emulator = payments_sandbox::smartpay::start(Default::default())
        .await
        .expect("emulator");
    let dir = std::env::temp_dir().join(format!(
        "payments-cli-smartpay-{}-{}",
        std::process::id(),
        emulator.base_url().rsplit(':').next().unwrap_or("0")
    ));
    let paths = emulator.certificates().write_to_dir(&dir).expect("write");
    let base = emulator.base_url();
    let (cert, key, ca) = (
        paths.cert.display().to_string(),
        paths.key.display().to_string(),
        paths.ca.display().to_string(),
    );
    let out = {
        let args = [
            "smartpay",
            "ping",
            "--base-url",
            &base,
            "--cert",
            &cert,
            "--key",
            &key,
            "--ca",
            &ca,
        ]
        .map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            payments(&args, "")
        })
        .await
        .expect("join")
    };
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"status":"ok"}"#
    );

    // Without the client certificate the handshake is refused.
    let out = {
        let args = ["smartpay", "ping", "--base-url", &base, "--ca", &ca].map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            payments(&args, "")
        })
        .await
        .expect("join")
    };
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
