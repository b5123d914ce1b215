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
