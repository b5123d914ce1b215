//! `cargo xtask codegen --check` exits non-zero on drift.

use std::path::PathBuf;
use std::process::Command;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("run xtask")
}

#[test]
fn check_detects_drift_missing_and_extra_files() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.yaml");
    let out = std::env::temp_dir().join(format!("xtask-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let (spec, dir) = (fixture.display().to_string(), out.display().to_string());
    let run = |check: bool| {
        let mut args = vec!["codegen", "--spec", &spec, "--out", &dir];
        if check {
            args.push("--check");
        }
        xtask(&args)
    };

    assert_eq!(run(true).status.code(), Some(1), "nothing generated yet");
    assert!(run(false).status.success());
    let ok = run(true);
    assert!(ok.status.success(), "{ok:?}");

    let models = out.join("models.rs");
    let text = std::fs::read_to_string(&models).unwrap();
    std::fs::write(&models, text.replace("pub paid", "pub pad")).unwrap();
    let drift = run(true);
    assert_eq!(drift.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&drift.stderr).contains("models.rs differs"));

    assert!(run(false).status.success());
    std::fs::write(out.join("stray.rs"), "").unwrap();
    assert_eq!(run(true).status.code(), Some(1));
    std::fs::remove_file(out.join("stray.rs")).unwrap();
    assert!(run(true).status.success());

    assert_eq!(xtask(&["frobnicate"]).status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&out);
}
