//! `cargo xtask bench [--quick]`: the criterion micro-benchmarks, then the loopback comparison
//! and the sandbox's mixed flows (`payments-bench`, release build), which write
//! `<target>/bench/summary.json`, print the table and draw `docs/benchmarks.svg`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The cargo target directory: `CARGO_TARGET_DIR` (relative to the workspace root when
/// relative) or `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn cargo(root: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("xtask bench: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<ExitCode, String> {
    let mut quick = false;
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: cargo xtask bench [--quick]"
                ))
            }
        }
    }
    let target = target_dir(root);
    let criterion_dir = target.join("criterion");
    let out_dir = target.join("bench");
    let svg = root.join("docs").join("benchmarks.svg");

    let mut micro = vec!["bench", "-p", "payments-bench", "--bench", "micro", "--"];
    if quick {
        micro.extend([
            "--warm-up-time",
            "0.5",
            "--measurement-time",
            "1.5",
            "--sample-size",
            "30",
        ]);
    }
    cargo(root, &micro)?;

    let (criterion_dir, out_dir, svg) = (
        criterion_dir.display().to_string(),
        out_dir.display().to_string(),
        svg.display().to_string(),
    );
    let mut load = vec![
        "run",
        "--release",
        "-p",
        "payments-bench",
        "--bin",
        "payments-bench",
        "--",
        "--criterion-dir",
        &criterion_dir,
        "--out-dir",
        &out_dir,
        "--svg",
        &svg,
    ];
    if quick {
        load.push("--quick");
    }
    cargo(root, &load)?;
    Ok(ExitCode::SUCCESS)
}
