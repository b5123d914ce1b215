//! Runs the demo's flows one after another, shows progress, and prints the summary.
//!
//! On a terminal each flow gets a spinner (indicatif) that names its current step; otherwise
//! (a pipe, a file, CI) each step is a plain line. `NO_COLOR` turns colours off. With `--json`,
//! progress goes to stderr and stdout holds only the JSON summary.

use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// A failure inside a flow, in words.
pub type FlowError = Box<dyn std::error::Error + Send + Sync>;

/// What a flow's future resolves to: the outcome it observed, or why it stopped.
pub type FlowResult = Result<String, FlowError>;

/// A flow's body: it gets a [`Steps`] to report progress through.
pub type FlowFn = Box<dyn FnOnce(Steps) -> Pin<Box<dyn Future<Output = FlowResult> + Send>> + Send>;

/// One end-to-end flow of the demo.
pub struct Flow {
    /// The provider, e.g. `ktwidget`.
    pub provider: &'static str,
    /// The flow's name, e.g. `ecom payment`.
    pub name: &'static str,
    /// The outcome a correct integration reaches, e.g. `completed`.
    pub expected: &'static str,
    /// The body.
    pub run: FlowFn,
}

impl Flow {
    /// A flow from an async closure.
    pub fn new<F, Fut>(
        provider: &'static str,
        name: &'static str,
        expected: &'static str,
        f: F,
    ) -> Flow
    where
        F: FnOnce(Steps) -> Fut + Send + 'static,
        Fut: Future<Output = FlowResult> + Send + 'static,
    {
        Flow {
            provider,
            name,
            expected,
            run: Box::new(move |steps| Box::pin(f(steps))),
        }
    }
}

/// Fails the flow with `message` unless `cond` holds.
pub fn ensure(cond: bool, message: impl Into<String>) -> Result<(), FlowError> {
    if cond {
        Ok(())
    } else {
        Err(message.into().into())
    }
}

/// The progress reporter handed to a flow.
#[derive(Clone)]
pub struct Steps {
    inner: Arc<StepsInner>,
}

struct StepsInner {
    label: String,
    current: Mutex<String>,
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Steps {
    /// A reporter that shows nothing (for tests that run flows by the thousand); it still
    /// remembers the current step.
    pub fn silent(label: impl Into<String>) -> Steps {
        Steps {
            inner: Arc::new(StepsInner {
                label: label.into(),
                current: Mutex::new("start".into()),
                bar: None,
                plain: false,
            }),
        }
    }

    /// The step announced last.
    pub fn current(&self) -> String {
        self.inner
            .current
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Announces the next step.
    pub fn step(&self, text: impl Into<String>) {
        let text = text.into();
        if let Some(bar) = &self.inner.bar {
            bar.set_message(text.clone());
        } else if self.inner.plain {
            eprintln!("  {} · {}", self.inner.label, text);
        }
        if let Ok(mut c) = self.inner.current.lock() {
            *c = text;
        }
    }
}

/// One row of the summary.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The provider.
    pub provider: &'static str,
    /// The flow.
    pub flow: &'static str,
    /// The expected outcome.
    pub expected: &'static str,
    /// What happened.
    pub observed: String,
    /// Whether it matched.
    pub ok: bool,
    /// The step that diverged, if any.
    pub diverged_at: Option<String>,
    /// The error, if any.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

/// How progress is shown.
#[derive(Clone, Copy, Debug)]
pub struct Display {
    /// Spinners on a terminal.
    pub spinners: bool,
    /// Colours.
    pub color: bool,
}

impl Display {
    /// Chooses from the environment: spinners only on a terminal and not in JSON mode; colours
    /// unless `NO_COLOR` is set.
    pub fn detect(json: bool) -> Display {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Display {
            spinners: tty && !json,
            color: tty && !no_color && !json,
        }
    }
}

/// Runs every flow in order and returns the rows.
pub async fn run_all(flows: Vec<Flow>, display: Display) -> Vec<Row> {
    let mut rows = Vec::with_capacity(flows.len());
    for flow in flows {
        let label = format!("{:<9} {}", flow.provider, flow.name);
        let bar = display.spinners.then(|| {
            let bar = ProgressBar::new_spinner();
            let template = if display.color {
                "{spinner:.cyan} {prefix:.bold} {wide_msg}"
            } else {
                "{spinner} {prefix} {wide_msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(80));
            bar
        });
        if !display.spinners {
            eprintln!("{label}: expecting {}", flow.expected);
        }
        let steps = Steps {
            inner: Arc::new(StepsInner {
                label: label.clone(),
                current: Mutex::new("start".into()),
                bar: bar.clone(),
                plain: !display.spinners,
            }),
        };
        let started = Instant::now();
        let result = (flow.run)(steps.clone()).await;
        let millis = started.elapsed().as_millis() as u64;
        let row = match result {
            Ok(observed) => Row {
                provider: flow.provider,
                flow: flow.name,
                expected: flow.expected,
                ok: observed == flow.expected,
                diverged_at: (observed != flow.expected).then(|| steps.current()),
                error: None,
                observed,
                millis,
            },
            Err(e) => Row {
                provider: flow.provider,
                flow: flow.name,
                expected: flow.expected,
                observed: "error".into(),
                ok: false,
                diverged_at: Some(steps.current()),
                error: Some(e.to_string()),
                millis,
            },
        };
        let mark = if row.ok { "ok" } else { "FAILED" };
        match &bar {
            Some(bar) => {
                let template = match (row.ok, display.color) {
                    (true, true) => "{prefix:.bold} {wide_msg:.green}",
                    (false, true) => "{prefix:.bold} {wide_msg:.red}",
                    _ => "{prefix} {wide_msg}",
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style);
                }
                bar.finish_with_message(format!("{} ({} ms) {mark}", row.observed, millis))
            }
            None => eprintln!("{label}: {} ({millis} ms) {mark}", row.observed),
        }
        rows.push(row);
    }
    rows
}

/// The summary table, as printed.
pub fn table(rows: &[Row], color: bool) -> String {
    let headers = ["provider", "flow", "expected", "observed", "result", "time"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.provider.to_string(),
                r.flow.to_string(),
                r.expected.to_string(),
                r.observed.clone(),
                if r.ok { "ok".into() } else { "FAILED".into() },
                format!("{} ms", r.millis),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 6]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths.iter()).enumerate() {
            if i == 5 {
                s.push_str(&format!("{c:>w$}"));
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&line(headers));
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 10));
    out.push('\n');
    for (row, r) in cells.iter().zip(rows) {
        let text = line([
            row[0].as_str(),
            row[1].as_str(),
            row[2].as_str(),
            row[3].as_str(),
            row[4].as_str(),
            row[5].as_str(),
        ]);
        if color && !r.ok {
            out.push_str(&format!("\x1b[31m{text}\x1b[0m"));
        } else if color {
            out.push_str(&format!("\x1b[32m{text}\x1b[0m"));
        } else {
            out.push_str(&text);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_divergence_names_the_step() {
        let flows = vec![
            Flow::new("p", "good", "done", |s| async move {
                s.step("one");
                Ok("done".to_string())
            }),
            Flow::new("p", "bad", "done", |s| async move {
                s.step("first step");
                s.step("the failing step");
                ensure(1 + 1 == 3, "arithmetic broke")?;
                Ok("done".to_string())
            }),
            Flow::new("p", "other", "done", |_| async move {
                Ok("cancelled".to_string())
            }),
        ];
        let display = Display {
            spinners: false,
            color: false,
        };
        let rows = run_all(flows, display).await;
        assert!(rows[0].ok);
        assert!(!rows[1].ok);
        assert_eq!(rows[1].diverged_at.as_deref(), Some("the failing step"));
        assert_eq!(rows[1].error.as_deref(), Some("arithmetic broke"));
        assert!(!rows[2].ok);
        assert_eq!(rows[2].observed, "cancelled");
        let t = table(&rows, false);
        assert!(t.lines().next().unwrap().starts_with("provider"));
        assert_eq!(t.lines().count(), 5);
        assert!(t.contains("FAILED"));
        assert!(!t.contains('\x1b'));
    }
}
