//! # payments-bench
//!
//! The evidence behind `docs/benchmarks.md` (not published):
//!
//! - [`canned`]: the sample bodies of the micro-benchmarks (`benches/micro.rs`) and the canned
//!   provider answers of the loopback server;
//! - [`server`]: a minimal hyper server on 127.0.0.1 that answers the canned provider answers;
//! - [`raw`]: the hand-written baselines — the same wire work as the SDK (sealing, the token,
//!   the cookie) on a bare hyper-util client, and the same code on reqwest;
//! - [`load`]: the interleaved loopback comparison (latency at concurrency 1, throughput at
//!   concurrency 64) and the sandbox's mixed flows;
//! - [`report`]: `summary.json`, the table and the SVG chart.
//!
//! Run it all with `cargo xtask bench [--quick]`.
//!
//! ```
//! // The canned answers are what the SDK's decoders accept.
//! let body = payments_bench::canned::KTPAY_CREATED;
//! assert!(std::str::from_utf8(body).unwrap().contains("transaction_hash"));
//! ```

pub mod canned;
pub mod load;
pub mod raw;
pub mod report;
pub mod server;
