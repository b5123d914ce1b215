//! `summary.json`, the table, and the SVG chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::load::ScenarioResult;

/// The micro-benchmarks of `benches/micro.rs`, by criterion id.
pub const MICRO: [&str; 6] = [
    "ktpay_seal_1kb",
    "kupikupi_token",
    "ktpay_callback_parse",
    "kupikupi_notification_parse",
    "smartpay_qr_parse",
    "amount_format",
];

/// The issue's `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Median time per operation, in ns: the micro-benchmarks, and the median latency at
    /// concurrency 1 of each contender of each loopback call (`<call>_<contender>_c1`).
    pub ops: BTreeMap<String, f64>,
    /// `<provider>_<call>_sdk_vs_<raw_hyper|reqwest>_<latency_c1|throughput_c64>`. Latency
    /// ratios are SDK / baseline (lower is better); throughput ratios are SDK / baseline
    /// (higher is better).
    pub ratios: BTreeMap<String, f64>,
    /// Completed sandbox flows per second on the mixed load.
    pub sandbox_flows_per_s: f64,
}

/// The targets of issue 7.
pub fn target_of(ratio: &str) -> (&'static str, f64) {
    if ratio.ends_with("latency_c1") {
        ("<=", 1.05)
    } else if ratio.contains("_vs_reqwest_") {
        (">=", 1.0)
    } else {
        (">=", 0.95)
    }
}

/// Whether a ratio meets its target.
pub fn meets(ratio: &str, value: f64) -> bool {
    match target_of(ratio) {
        ("<=", t) => value <= t,
        (_, t) => value >= t,
    }
}

/// Reads criterion's median (ns) of `id` from `<criterion_dir>/<id>/new/estimates.json`.
pub fn criterion_median(criterion_dir: &Path, id: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(criterion_dir.join(id).join("new").join("estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Builds the summary.
pub fn summary(micro: &[(String, f64)], loopback: &[ScenarioResult], flows_per_s: f64) -> Summary {
    let mut ops = BTreeMap::new();
    for (id, ns) in micro {
        ops.insert(id.clone(), ns.round());
    }
    let mut ratios = BTreeMap::new();
    for s in loopback {
        for m in &s.measured {
            ops.insert(format!("{}_{}_c1", s.name, m.contender), m.median_ns as f64);
        }
        let Some(sdk) = s.measured.iter().find(|m| m.contender == "sdk") else {
            continue;
        };
        for base in s.measured.iter().filter(|m| m.contender != "sdk") {
            ratios.insert(
                format!("{}_sdk_vs_{}_latency_c1", s.name, base.contender),
                round3(latency_ratio(sdk, base)),
            );
            ratios.insert(
                format!("{}_sdk_vs_{}_throughput_c64", s.name, base.contender),
                round3(throughput_ratio(sdk, base)),
            );
        }
    }
    Summary {
        ops,
        ratios,
        sandbox_flows_per_s: (flows_per_s * 10.0).round() / 10.0,
    }
}

/// The latency ratio: the median over rounds of SDK / baseline median latency, each pair of
/// round medians measured back to back; the ratio of the pooled medians when there are no
/// rounds.
pub fn latency_ratio(sdk: &crate::load::Measured, base: &crate::load::Measured) -> f64 {
    let r: Vec<f64> = sdk
        .median_rounds
        .iter()
        .zip(&base.median_rounds)
        .filter(|(_, b)| **b > 0)
        .map(|(s, b)| *s as f64 / *b as f64)
        .collect();
    if r.is_empty() {
        return sdk.median_ns as f64 / (base.median_ns as f64).max(1.0);
    }
    median(r)
}

fn median(mut r: Vec<f64>) -> f64 {
    r.sort_by(f64::total_cmp);
    let mid = r.len() / 2;
    if r.len() % 2 == 1 {
        r[mid]
    } else {
        (r[mid - 1] + r[mid]) / 2.0
    }
}

/// The throughput ratio: the median over rounds of SDK / baseline, each pair measured back to
/// back in the same round (robust to a neighbour's load that changes between rounds); the
/// pooled ratio when there are no rounds.
pub fn throughput_ratio(sdk: &crate::load::Measured, base: &crate::load::Measured) -> f64 {
    let r: Vec<f64> = sdk
        .throughput_rounds
        .iter()
        .zip(&base.throughput_rounds)
        .filter(|(_, b)| **b > 0.0)
        .map(|(s, b)| s / b)
        .collect();
    if r.is_empty() {
        return sdk.throughput / base.throughput.max(1e-9);
    }
    median(r)
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The table, as Markdown (printed by `cargo xtask bench` and pasted in the docs).
pub fn table(summary: &Summary, loopback: &[ScenarioResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| micro-benchmark | median |\n|---|---:|");
    for id in MICRO {
        if let Some(ns) = summary.ops.get(id) {
            let _ = writeln!(out, "| `{id}` | {} |", fmt_ns(*ns));
        }
    }
    let _ = writeln!(
        out,
        "\n| loopback call | client | median c=1 | p99 c=1 | calls/s c=64 | errors |\n|---|---|---:|---:|---:|---:|"
    );
    for s in loopback {
        for m in &s.measured {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} | {} |",
                s.name,
                m.contender,
                fmt_ns(m.median_ns as f64),
                fmt_ns(m.p99_ns as f64),
                m.throughput,
                m.errors
            );
        }
    }
    let _ = writeln!(
        out,
        "\n| ratio | value | target | met |\n|---|---:|---|---|"
    );
    for (name, v) in &summary.ratios {
        let (op, t) = target_of(name);
        let _ = writeln!(
            out,
            "| `{name}` | {v:.3} | {op} {t:.2} | {} |",
            if meets(name, *v) { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(
        out,
        "\nsandbox: {:.1} full flows/s on the mixed load",
        summary.sandbox_flows_per_s
    );
    out
}

/// A chart panel: its title, the value of a bar, and the bar's label.
type Panel = (
    &'static str,
    Box<dyn Fn(&crate::load::Measured) -> f64>,
    Box<dyn Fn(f64) -> String>,
);

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chart: for each provider call, SDK vs raw hyper vs reqwest — median latency at c=1 (left)
/// and throughput at c=64 (right), as grouped bars. Plain SVG, no dependency.
pub fn svg(loopback: &[ScenarioResult], caption: &str) -> String {
    const W: f64 = 960.0;
    const H: f64 = 420.0;
    const COLORS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#2ca02c"];
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">payments-rs SDK vs raw hyper vs reqwest (loopback, same run, interleaved)</text>"#,
        W / 2.0
    );
    let panels: [Panel; 2] = [
        (
            "median latency at concurrency 1 (µs, lower is better)",
            Box::new(|m| m.median_ns as f64 / 1000.0),
            Box::new(|v| format!("{v:.1}")),
        ),
        (
            "throughput at concurrency 64 (calls/s, higher is better)",
            Box::new(|m| m.throughput),
            Box::new(|v| format!("{v:.0}")),
        ),
    ];
    let (top, bottom) = (60.0, H - 70.0);
    for (pi, (title, value, label)) in panels.iter().enumerate() {
        let x0 = 50.0 + pi as f64 * (W / 2.0);
        let pw = W / 2.0 - 80.0;
        let max = loopback
            .iter()
            .flat_map(|s| s.measured.iter().map(value))
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.15;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            x0 + pw / 2.0,
            top - 12.0,
            esc(title)
        );
        let _ = writeln!(
            out,
            r#"<line x1="{x0}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="black"/><line x1="{x0}" y1="{top}" x2="{x0}" y2="{bottom}" stroke="black"/>"#,
            x0 + pw
        );
        let groups = loopback.len().max(1) as f64;
        let gw = pw / groups;
        let bw = gw / 4.0;
        for (gi, s) in loopback.iter().enumerate() {
            let gx = x0 + gi as f64 * gw + bw / 2.0;
            for (ci, m) in s.measured.iter().enumerate() {
                let v = value(m);
                let h = (bottom - top) * v / max;
                let x = gx + ci as f64 * bw;
                let _ = writeln!(
                    out,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                    bottom - h,
                    bw - 2.0,
                    COLORS[ci % 3],
                    s.name,
                    m.contender,
                    label(v)
                );
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{}</text>"#,
                    x + (bw - 2.0) / 2.0,
                    bottom - h - 3.0,
                    label(v)
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                gx + 1.5 * bw,
                bottom + 16.0,
                esc(s.name)
            );
        }
    }
    for (ci, name) in crate::load::CONTENDERS.iter().enumerate() {
        let x = W / 2.0 - 150.0 + ci as f64 * 110.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            H - 42.0,
            COLORS[ci],
            x + 16.0,
            H - 32.0,
            name
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="dimgray">{}</text>"#,
        W / 2.0,
        H - 12.0,
        esc(caption)
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Measured;

    fn m(c: &'static str, median: u64, tp: f64) -> Measured {
        Measured {
            contender: c,
            median_ns: median,
            p99_ns: median * 2,
            throughput: tp,
            throughput_rounds: vec![],
            median_rounds: vec![],
            errors: 0,
        }
    }

    #[test]
    fn ratios_are_named_and_oriented_as_the_issue_says() {
        let lb = vec![ScenarioResult {
            name: "ktpay_create",
            measured: vec![
                m("sdk", 100, 900.0),
                m("raw_hyper", 100, 1000.0),
                m("reqwest", 200, 450.0),
            ],
        }];
        let s = summary(&[("amount_format".into(), 12.4)], &lb, 10.04);
        assert_eq!(s.ratios["ktpay_create_sdk_vs_raw_hyper_latency_c1"], 1.0);
        assert_eq!(s.ratios["ktpay_create_sdk_vs_reqwest_latency_c1"], 0.5);
        assert_eq!(
            s.ratios["ktpay_create_sdk_vs_raw_hyper_throughput_c64"],
            0.9
        );
        assert_eq!(s.ratios["ktpay_create_sdk_vs_reqwest_throughput_c64"], 2.0);
        assert_eq!(s.ops["amount_format"], 12.0);
        assert_eq!(s.ops["ktpay_create_sdk_c1"], 100.0);
        assert!(!meets("ktpay_create_sdk_vs_raw_hyper_throughput_c64", 0.9));
        assert!(meets("ktpay_create_sdk_vs_raw_hyper_latency_c1", 1.0));
        assert!(!meets("ktpay_create_sdk_vs_reqwest_throughput_c64", 0.99));
        let json = serde_json::to_value(&s).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["ops", "ratios", "sandbox_flows_per_s"]);
        let t = table(&s, &lb);
        assert!(t.contains(
            "| `ktpay_create_sdk_vs_raw_hyper_throughput_c64` | 0.900 | >= 0.95 | **no** |"
        ));
        let chart = svg(&lb, "test");
        assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
        assert_eq!(chart.matches("<rect x=").count(), 2 * 3 + 3);
    }
}
