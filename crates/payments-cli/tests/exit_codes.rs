//! The exit codes, end to end: a usage error, a network failure and `--help`'s table differ as
//! documented (payments_cli::exit), and the completion scripts.

mod common;

use std::process::Output;

const KUPIKUPI_ENV: [&str; 3] = [
    "KUPIKUPI_PLATFORM_UID",
    "KUPIKUPI_SECRET_KEY",
    "KUPIKUPI_DEV_SECRET_KEY",
];

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    common::run(args, b"", &KUPIKUPI_ENV, env)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A loopback port with nothing listening: bound once, then closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn usage_and_network_errors_exit_with_different_codes() {
    let env = [("KUPIKUPI_PLATFORM_UID", "u"), ("KUPIKUPI_SECRET_KEY", "k")];
    let base = format!("http://127.0.0.1:{}/api/v1/transfer", closed_port());
    let balance = |phone: &str| {
        run(
            &[
                "kupikupi",
                "balance",
                "--phone",
                phone,
                "--base-url",
                &base,
                "--allow-plain-http-to-loopback",
            ],
            &env,
        )
    };
    // Nobody listens: a network error.
    let o = balance("79000000001");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // A bad phone is refused before any connection: a usage error.
    let o = balance("123");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // clap's own usage error has the same code.
    let o = run(&["kupikupi", "balance", "--no-such-flag"], &env);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn help_lists_the_exit_codes() {
    let o = run(&["--help"], &[]);
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("Exit status:"), "{help}");
    for line in [
        "  0  success",
        "  2  usage",
        "  3  network",
        "  4  the provider refused",
    ] {
        assert!(help.contains(line), "{line:?} in {help}");
    }
}

#[test]
fn completions_for_every_shell() {
    let o = run(&["completions", "bash"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bash = String::from_utf8(o.stdout).unwrap();
    assert!(bash.contains("complete -F"), "{bash}");
    for verb in [
        "kupikupi",
        "smartpay",
        "ktwidget",
        "sandbox",
        "demo",
        "completions",
    ] {
        assert!(
            bash.contains(verb),
            "{verb} missing from the bash completions"
        );
    }
    // A verb's own flags are completed too.
    assert!(bash.contains("--allow-plain-http-to-loopback"));
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let o = run(&["completions", shell], &[]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = String::from_utf8(o.stdout).unwrap();
        assert!(script.contains("kupikupi"), "{shell}");
    }
    let o = run(&["completions", "tcsh"], &[]);
    assert_eq!(o.status.code(), Some(2));
}
