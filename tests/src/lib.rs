//! Cross-crate end-to-end tests of payments-rs. The tests live in `tests/`; this library holds
//! what they share, such as [`webdriver`], a small client that drives headless Chromium through
//! the sandbox's human pages.
//!
//! ```
//! // Chromium and chromedriver come from Debian's packages; `.ci/run` installs them.
//! let installed = payments_e2e::webdriver::browser_available();
//! # let _ = installed;
//! ```

pub mod webdriver;

/// The provider guides (`docs/providers/*.md`) and the root README are what merchants copy, so their Rust examples
/// are compiled, and run unless marked `no_run`, as doctests of this crate: a guide can never
/// show code that does not compile. (`ignore` is not used for Rust code in a guide.)
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../docs/providers/ktwidget.md")]
    pub struct Ktwidget;
    #[doc = include_str!("../../docs/providers/kupikupi.md")]
    pub struct Kupikupi;
    #[doc = include_str!("../../docs/providers/smartpay.md")]
    pub struct Smartpay;
    /// The workspace tour (the root README) is copied as often as the guides.
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
}
