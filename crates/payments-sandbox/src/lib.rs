#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod fault;
#[cfg(feature = "ktwidget")]
#[cfg_attr(docsrs, doc(cfg(feature = "ktwidget")))]
pub mod ktwidget;
#[cfg(feature = "kupikupi")]
#[cfg_attr(docsrs, doc(cfg(feature = "kupikupi")))]
pub mod kupikupi;
#[cfg(any(feature = "ktwidget", feature = "kupikupi"))]
mod pages;
pub mod sandbox;
pub mod server;
#[cfg(feature = "smartpay")]
#[cfg_attr(docsrs, doc(cfg(feature = "smartpay")))]
pub mod smartpay;
mod target;
mod time_scale;

pub use fault::{Fault, FaultId, FaultKind, Faults, InvalidFault, Provider, MAX_FAULT_DELAY};
pub use sandbox::{Sandbox, SandboxConfig, SandboxError, SandboxInfo};
pub use server::{serve, RunningServer, ServeError};
pub use target::RefusedTarget;
pub use time_scale::{InvalidTimeScale, TimeScale};

/// How many finished payments, transfers or purchases an emulator keeps by default.
pub(crate) const DEFAULT_MAX_FINISHED: usize = 10_000;
