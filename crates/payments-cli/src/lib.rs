//! The library half of the `payments` command: the demo ([`demo`]), its flows, its merchant
//! receiver and its progress runner. The end-to-end tests (`tests/`) run the same flows.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() {
//! // What `payments demo --json` does.
//! let code = payments_cli::demo::run(true).await;
//! # let _ = code;
//! # }
//! ```

pub mod demo;
