//! `cargo xtask`: repository tasks.
//!
//! - `cargo xtask codegen` regenerates `crates/smartpay/src/generated/` from
//!   `crates/smartpay/spec/openapi.yaml`.
//! - `cargo xtask codegen --check` exits with status 1 when the committed files differ from a
//!   fresh run (CI runs it).
//!
//! Options: `--spec PATH` and `--out DIR` (relative to the workspace root) override the defaults.
//! - `cargo xtask bench [--quick]` runs the criterion micro-benchmarks and the loopback
//!   comparison of `crates/payments-bench`, writes `target/bench/summary.json` (in the cargo
//!   target directory), prints the table and draws `docs/benchmarks.svg`.
//! - `cargo xtask cycles` fails when two modules of a crate under `crates/` or `tests/` import
//!   each other, directly or around a ring, and prints each cycle with the `file:line` of its
//!   edges (see `cycles.rs`; CI runs it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod cycles;

const DEFAULT_SPEC: &str = "crates/smartpay/spec/openapi.yaml";
const DEFAULT_OUT: &str = "crates/smartpay/src/generated";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask codegen [--check] [--spec PATH] [--out DIR] | cargo xtask bench [--quick] \
     | cargo xtask cycles [--root DIR]"
        .to_owned()
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("codegen") => {}
        Some("bench") => return bench::run(&workspace_root(), it.as_slice()),
        Some("cycles") => {
            return match it.as_slice() {
                [] => cycles::run(&workspace_root()),
                [flag, dir] if flag == "--root" => cycles::run(Path::new(dir)),
                _ => Err(usage()),
            }
        }
        _ => return Err(usage()),
    }
    let root = workspace_root();
    let mut check = false;
    let mut spec = root.join(DEFAULT_SPEC);
    let mut out = root.join(DEFAULT_OUT);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--spec" => spec = root.join(it.next().ok_or_else(usage)?),
            "--out" => out = root.join(it.next().ok_or_else(usage)?),
            other => return Err(format!("unknown argument {other:?}; {}", usage())),
        }
    }
    let text = std::fs::read_to_string(&spec)
        .map_err(|e| format!("cannot read {}: {e}", spec.display()))?;
    let source = spec
        .strip_prefix(&root)
        .unwrap_or(&spec)
        .display()
        .to_string();
    let files = xtask::generate(&text, &source).map_err(|e| e.to_string())?;
    if check {
        let mut drift = Vec::new();
        for f in &files {
            let path = out.join(&f.name);
            match std::fs::read_to_string(&path) {
                Ok(existing) if existing == f.text => {}
                Ok(_) => drift.push(format!("{} differs", path.display())),
                Err(_) => drift.push(format!("{} is missing", path.display())),
            }
        }
        if let Ok(entries) = std::fs::read_dir(&out) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !files.iter().any(|f| f.name == name) {
                    drift.push(format!("{} is not generated", entry.path().display()));
                }
            }
        }
        if drift.is_empty() {
            println!("generated code is up to date ({} files)", files.len());
            return Ok(ExitCode::SUCCESS);
        }
        for d in &drift {
            eprintln!("drift: {d}");
        }
        eprintln!("run `cargo xtask codegen` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    write_all(&out, &files)?;
    println!("wrote {} files to {}", files.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn write_all(out: &Path, files: &[xtask::GeneratedFile]) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for f in files {
        let path = out.join(&f.name);
        std::fs::write(&path, &f.text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}
