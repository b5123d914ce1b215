//! # payments-sandbox
//!
//! Stateful emulators of the Ktpay, Smart Pay and Kupi-Kupi APIs that run on 127.0.0.1, speak the
//! real services' wire formats, and expose their state for assertions. The SDK's own tests, its
//! demo, and your tests use them instead of the internet.
//!
//! [`Sandbox::start`] runs all three at once and returns what an application needs to point at
//! them ([`SandboxInfo`]); see the [`sandbox`] module.
//!
//! Every emulator runs on the same small server harness, [`server::serve`]:
//!
//! ```
//! use axum::{routing::get, Router};
//! use payments_sandbox::server;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new().route("/ping", get(|| async { "pong" }));
//! let running = server::serve("127.0.0.1:0".parse()?, router, None).await?;
//! assert!(running.base_url().starts_with("http://127.0.0.1:"));
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod ktwidget;
pub mod kupikupi;
mod pages;
pub mod sandbox;
pub mod server;
pub mod smartpay;
mod target;
mod time_scale;

pub use sandbox::{Sandbox, SandboxConfig, SandboxError, SandboxInfo};
pub use server::{serve, RunningServer, ServeError};
pub use target::RefusedTarget;
pub use time_scale::{InvalidTimeScale, TimeScale};
