//! The library half of the `payments` command: the demo ([`demo`]), its flows, its merchant
//! receiver and its progress runner. The end-to-end tests (`tests/`) run the same flows.
//!
//! ```
//! use std::sync::Arc;
//! use payments_cli::demo::{flows, runner::Steps};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // The sandbox (all three emulators) and a merchant receiver, on 127.0.0.1 with free ports.
//! let demo = Arc::new(flows::Demo::start(0.001).await?);
//! for spec in flows::catalog().into_iter().filter(|s| s.provider == "kupikupi") {
//!     let observed = (spec.run)(demo.clone(), Steps::silent(spec.name)).await?;
//!     assert_eq!(observed, spec.expected, "{}", spec.name);
//! }
//! // `payments demo` runs every flow of the catalogue this way, with progress and a summary:
//! // payments_cli::demo::run(false).await
//! # Ok(())
//! # }
//! ```

pub mod demo;
pub mod secret_input;
