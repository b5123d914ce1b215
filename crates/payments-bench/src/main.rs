//! `payments-bench`: the loopback comparison and the sandbox's mixed flows, then
//! `summary.json`, the table and the SVG chart. Run through `cargo xtask bench [--quick]`,
//! which runs the criterion micro-benchmarks first and passes their directory here.
//!
//! ```text
//! payments-bench [--quick] [--criterion-dir DIR] [--out-dir DIR] [--svg FILE]
//!                [--only SCENARIO]... [--no-sandbox] | --alone SCENARIO CONTENDER SECONDS
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use payments_bench::load::{self, Params};
use payments_bench::report;

fn main() -> ExitCode {
    let mut quick = false;
    let mut criterion_dir: Option<PathBuf> = None;
    let mut out_dir = PathBuf::from("target/bench");
    let mut svg_path: Option<PathBuf> = None;
    let mut only = Vec::new();
    let mut sandbox = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--criterion-dir" => criterion_dir = args.next().map(PathBuf::from),
            "--out-dir" => {
                if let Some(d) = args.next() {
                    out_dir = PathBuf::from(d);
                }
            }
            "--svg" => svg_path = args.next().map(PathBuf::from),
            "--bench" => {} // passed by `cargo bench`; ignored
            "--only" => only.extend(args.next()),
            "--no-sandbox" => sandbox = false,
            "--alone" => {
                // --alone SCENARIO CONTENDER SECONDS: one contender alone, for a profiler.
                let (Some(s), Some(c), Some(t)) = (args.next(), args.next(), args.next()) else {
                    eprintln!("usage: payments-bench --alone SCENARIO CONTENDER SECONDS");
                    return ExitCode::from(2);
                };
                let secs: f64 = t.parse().unwrap_or(5.0);
                return match load::run_alone(&s, &c, std::time::Duration::from_secs_f64(secs)) {
                    Ok((done, elapsed)) => {
                        let rate = done as f64 / elapsed.as_secs_f64();
                        println!("{s} {c}: {done} calls, {rate:.0} calls/s at concurrency 64");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        ExitCode::FAILURE
                    }
                };
            }
            other => {
                eprintln!("unknown argument {other:?}\nusage: payments-bench [--quick] [--criterion-dir DIR] [--out-dir DIR] [--svg FILE]");
                return ExitCode::from(2);
            }
        }
    }
    let params = if quick {
        Params::quick()
    } else {
        Params::full()
    };

    let mut micro = Vec::new();
    if let Some(dir) = &criterion_dir {
        for id in report::MICRO {
            match report::criterion_median(dir, id) {
                Some(ns) => micro.push((id.to_owned(), ns)),
                None => eprintln!(
                    "warning: no criterion estimate for {id} in {}",
                    dir.display()
                ),
            }
        }
    }

    eprintln!("== loopback comparison (SDK, raw hyper, reqwest; interleaved)");
    let loopback = match load::run_loopback(params, &only) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("the loopback comparison failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("== sandbox mixed flows");
    let sandbox_run = if sandbox {
        load::run_sandbox(params.sandbox_time, 16)
    } else {
        Ok((0.0, 0))
    };
    let (flows, failed) = match sandbox_run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("the sandbox run failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    let summary = report::summary(&micro, &loopback, flows);
    let table = report::table(&summary, &loopback);
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("cannot create {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    let summary_path = out_dir.join("summary.json");
    let written = serde_json::to_string_pretty(&summary)
        .map_err(std::io::Error::other)
        .and_then(|s| std::fs::write(&summary_path, s + "\n"))
        .and_then(|()| {
            let details = serde_json::json!({ "quick": quick, "loopback": loopback, "sandbox_failed_flows": failed });
            std::fs::write(out_dir.join("loopback.json"), serde_json::to_string_pretty(&details)? + "\n")
        })
        .and_then(|()| std::fs::write(out_dir.join("table.md"), &table));
    if let Err(e) = written {
        eprintln!("cannot write the results: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(svg_path) = &svg_path {
        let caption = format!(
            "{} run; {} cores; server and clients on one machine over 127.0.0.1 (HTTP/1.1, keep-alive)",
            if quick { "--quick" } else { "full" },
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        if let Err(e) = std::fs::write(svg_path, report::svg(&loopback, &caption)) {
            eprintln!("cannot write {}: {e}", svg_path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("{table}");
    println!("summary: {}", summary_path.display());
    let errors: u64 = loopback
        .iter()
        .flat_map(|s| s.measured.iter().map(|m| m.errors))
        .sum();
    if errors > 0 || failed > 0 {
        eprintln!("{errors} loopback calls and {failed} sandbox flows failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
