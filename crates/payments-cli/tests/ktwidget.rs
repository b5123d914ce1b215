//! `payments ktwidget ...`, run as a binary.

mod common;

use std::process::Output;

use ktwidget::{decode_base64_any, Keypair, KEY_LEN};
use serde_json::Value;

const UNSET: &[&str] = &[
    "KTWIDGET_APP_ID",
    "KTWIDGET_APP_KEY",
    "KTWIDGET_MERCHANT_SECRET_KEY",
    "KTWIDGET_CALLBACK_SECRET",
];

fn run(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    common::run(args, stdin, UNSET, env)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const CALLBACK: &str = r#"{"merchant_id":1,"order_id":"1","description":"Description of transactions","amount":1000,"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","created_at":"2019-02-05T14:22:53+06:00","updated_at":null,"status":{"status":"error","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,"error":{"error_type":"ERROR_PAYMENT","error_message":"KKB rejected payment"}}}"#;

#[test]
fn keygen_prints_a_usable_key_pair() {
    let o = run(&["ktwidget", "keygen"], b"", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let public = v["public_key"].as_str().unwrap();
    let secret = v["secret_key"].as_str().unwrap();
    assert_eq!(decode_base64_any(public, "pk").unwrap().len(), KEY_LEN);
    assert_eq!(decode_base64_any(secret, "sk").unwrap().len(), KEY_LEN);
    assert!(public.ends_with('=') && !public.contains(['-', '_']));
    let kp = Keypair::from_secret_key_base64(secret).unwrap();
    assert_eq!(kp.public_key_base64(), public);
}

#[test]
fn seal_prints_standard_base64_that_opens() {
    // Give the key URL-safe without padding: any form is accepted. Pick one that begins with
    // `-` (one key in 64), which the argument parser must not take for a flag.
    let url_safe = |kp: &Keypair| {
        let pk = kp.public_key_base64().replace('+', "-").replace('/', "_");
        pk.trim_end_matches('=').to_owned()
    };
    let kp = std::iter::repeat_with(Keypair::generate)
        .take(100_000)
        .find(|kp| url_safe(kp).starts_with('-'))
        .expect("a key beginning with '-'");
    let pk = &url_safe(&kp)[..];
    let json = br#"{"order":{"order_id":"1","amount":10.5,"type":"ecom"}}"#;
    let o = run(&["ktwidget", "seal", "--app-key", pk], json, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let sealed = out.trim();
    assert_eq!(sealed.len() % 4, 0);
    assert!(!sealed.contains(['-', '_']));
    assert_eq!(&kp.open_base64(sealed).unwrap()[..], json);

    let o = run(
        &["ktwidget", "seal", "--app-key", pk],
        br#"{"order": s3cr3t}"#,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: stdin is not JSON"));
    // serde_json's own message would quote the input; the error says where, not what.
    assert!(!stderr(&o).contains("s3cr3t"), "{}", stderr(&o));
    let o = run(&["ktwidget", "seal", "--app-key", "c2hvcnQ="], json, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("32 bytes"), "{}", stderr(&o));
    // The key is refused before stdin is read. With more input than a pipe holds, the
    // binary exits while input is still being written: the answer is the same.
    let big = vec![b' '; 1 << 20];
    let o = run(&["ktwidget", "seal", "--app-key", "c2hvcnQ="], &big, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("32 bytes"), "{}", stderr(&o));
}

#[test]
fn parse_callback_normalises_or_fails_with_one_line() {
    let o = run(&["ktwidget", "parse-callback"], CALLBACK.as_bytes(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["status"]["status"], "error");
    assert_eq!(v["status"]["error"]["error_type"], "ERROR_PAYMENT");
    assert_eq!(v["created_at"], "2019-02-05T14:22:53+06:00");
    assert_eq!(v["amount"], 1000);
    assert_eq!(v["updated_at"], Value::Null);

    let bad = CALLBACK.replace(r#""amount":1000"#, r#""amount":10.001"#);
    let o = run(&["ktwidget", "parse-callback"], bad.as_bytes(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("amount"), "{err}");
    assert!(stdout(&o).is_empty());
    let o = run(&["ktwidget", "parse-callback"], b"\xff\xfe garbage", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1);

    // A timestamp without an offset (PHP's default) is read and kept as sent.
    let naive = CALLBACK.replace("2019-02-05T14:22:53+06:00", "2019-02-05 14:22:53");
    let o = run(&["ktwidget", "parse-callback"], naive.as_bytes(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["created_at"], "2019-02-05 14:22:53");
}

#[test]
fn the_merchant_secret_key_comes_from_the_environment_a_file_or_the_command_line_with_a_warning() {
    // Opt-in sealed body with the merchant's secret key.
    let kp = Keypair::generate();
    let sealed = kp.app_key().seal_base64(CALLBACK.as_bytes()).unwrap();
    let sk = kp.export_secret_key_base64();
    let sk = sk.expose_str().unwrap();
    let o = run(
        &["ktwidget", "parse-callback"],
        sealed.as_bytes(),
        &[("KTWIDGET_MERCHANT_SECRET_KEY", sk)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("af7ed500aa9f2132fae4b63e936af641bcc4ebaf"));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    let dir = std::env::temp_dir().join(format!("payments-cli-kt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("merchant.key");
    std::fs::write(&file, format!("{sk}\n")).unwrap();
    let o = run(
        &[
            "ktwidget",
            "parse-callback",
            "--merchant-secret-key-file",
            file.to_str().unwrap(),
        ],
        sealed.as_bytes(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();

    let o = run(
        &["ktwidget", "parse-callback", "--merchant-secret-key", sk],
        sealed.as_bytes(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("visible to other users"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(sk));
    // The key and the body cannot both come from stdin.
    let o = run(
        &["ktwidget", "parse-callback", "--merchant-secret-key", "-"],
        sealed.as_bytes(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stdin"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_against_the_sandbox() {
    let emu = payments_sandbox::ktwidget::start(Default::default())
        .await
        .unwrap();
    let (base, id, key) = (
        emu.base_url(),
        emu.app_id().to_owned(),
        emu.app_key_base64(),
    );
    let (b, i, k) = (base.clone(), id.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(
            &[
                "ktwidget",
                "create",
                "--api-url",
                &b,
                "--allow-plain-http-to-loopback",
                "--order-id",
                "cli-1",
                "--amount",
                "10.50",
                "--service-id",
                "3",
                "--contract-value",
                "77001234567",
                "--hide-close-button",
            ],
            b"",
            &[("KTWIDGET_APP_ID", &i), ("KTWIDGET_APP_KEY", &k)],
        )
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let hash = v["transaction_hash"].as_str().unwrap();
    assert_eq!(v["show_close_button"], false);
    assert_eq!(
        v["widget_url"],
        format!("{base}/payment-card?hash={hash}").as_str()
    );
    let p = emu.payment(hash).unwrap();
    assert_eq!(p.amount.minor(), 1050);
    assert_eq!(p.order_id, "cli-1");

    // A duplicate order id is Ktpay's validation error, on one line.
    let (b, i, k) = (base.clone(), id.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(
            &[
                "ktwidget",
                "create",
                "--api-url",
                &b,
                "--allow-plain-http-to-loopback",
                "--order-id",
                "cli-1",
                "--amount",
                "1",
            ],
            b"",
            &[("KTWIDGET_APP_ID", &i), ("KTWIDGET_APP_KEY", &k)],
        )
    })
    .await
    .unwrap();
    // Ktpay's refusal: exit 4.
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(err.contains("4220002"), "{err}");
    assert_eq!(err.lines().count(), 1);

    // Plain http without the opt-in: refused before anything is sent.
    let (b, i, k) = (base.clone(), id.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(
            &[
                "ktwidget",
                "create",
                "--api-url",
                &b,
                "--order-id",
                "clear-1",
                "--amount",
                "1",
            ],
            b"",
            &[("KTWIDGET_APP_ID", &i), ("KTWIDGET_APP_KEY", &k)],
        )
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("in clear"), "{}", stderr(&o));
    assert!(emu.payment_by_order("clear-1").is_none());

    // A callback secret (from the environment) tags callback_post_url.
    let secret = "s".repeat(40);
    let (b, i, k, sec) = (base.clone(), id.clone(), key.clone(), secret.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(
            &[
                "ktwidget",
                "create",
                "--api-url",
                &b,
                "--allow-plain-http-to-loopback",
                "--order-id",
                "cli-tagged",
                "--amount",
                "12",
                "--callback-post-url",
                "http://127.0.0.1:9/ktpay/callback",
            ],
            b"",
            &[
                ("KTWIDGET_APP_ID", &i),
                ("KTWIDGET_APP_KEY", &k),
                ("KTWIDGET_CALLBACK_SECRET", &sec),
            ],
        )
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let p = emu.payment_by_order("cli-tagged").unwrap();
    let tagger = ktwidget::CallbackTagger::new(
        ktwidget::CallbackSecret::new(ktwidget::Secret::from(secret.as_str())).unwrap(),
    );
    let expected = tagger.tagged_url(
        &ktwidget::WebUrl::parse("callback_post_url", "http://127.0.0.1:9/ktpay/callback").unwrap(),
        &ktwidget::OrderId::new("cli-tagged").unwrap(),
        "12".parse().unwrap(),
    );
    assert_eq!(p.urls["callback_post_url"], expected.as_str());
    // On the command line it works, with a warning; too short, it is refused.
    let (b, i, k) = (base.clone(), id.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(
            &[
                "ktwidget",
                "create",
                "--api-url",
                &b,
                "--allow-plain-http-to-loopback",
                "--order-id",
                "cli-short",
                "--amount",
                "1",
                "--callback-post-url",
                "http://127.0.0.1:9/cb",
                "--callback-secret",
                "short",
            ],
            b"",
            &[("KTWIDGET_APP_ID", &i), ("KTWIDGET_APP_KEY", &k)],
        )
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("visible to other users"), "{err}");
    assert!(err.contains("at least 32 bytes"), "{err}");
    assert!(
        !err.contains("short\n") && !err.contains("\"short\""),
        "{err}"
    );
    assert!(emu.payment_by_order("cli-short").is_none());

    // Missing credentials: clap refuses before anything is sent.
    let o = tokio::task::spawn_blocking(move || {
        run(
            &[
                "ktwidget",
                "create",
                "--api-url",
                &base,
                "--order-id",
                "x",
                "--amount",
                "1",
            ],
            b"",
            &[],
        )
    })
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(emu.payment_by_order("x").is_none());
}
