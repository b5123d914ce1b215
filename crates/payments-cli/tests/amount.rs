//! `payments amount`: exact money conversions from the command line.

use std::process::Command;

fn payments(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_payments"))
        .args(args)
        .output()
        .expect("the payments binary runs")
}

#[test]
fn amount_prints_every_wire_form() {
    let out = payments(&["amount", "1000.5"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["minor_units"], 100_050);
    assert_eq!(json["decimal"], "1000.50");
    assert_eq!(json["compact"], "1000.5");
}

#[test]
fn a_bad_amount_exits_2_with_one_line() {
    let out = payments(&["amount", "10.123"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("more than 2 decimal places"), "{err}");
    assert!(out.stdout.is_empty());
}
