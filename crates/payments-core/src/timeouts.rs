//! The timeouts of a call, [`Timeouts`], and the name of the one that fired, [`TimeoutKind`]
//! (carried by [`crate::ErrorKind::Timeout`]).

use std::fmt;
use std::time::Duration;

/// The three timeouts. Each one that fires is named in the error
/// ([`crate::ErrorKind::Timeout`] with a [`TimeoutKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing a TCP connection (applied by [`crate::HttpTransport`]). Default 10 s.
    pub connect: Duration,
    /// One attempt: sending the request and reading the whole answer. Default 30 s.
    pub attempt: Duration,
    /// The whole call, across all attempts and backoff. Default 60 s.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(30),
            total: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    pub fn with_connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }
    /// Sets the per-attempt timeout.
    pub fn with_attempt(mut self, d: Duration) -> Self {
        self.attempt = d;
        self
    }
    /// Sets the total timeout.
    pub fn with_total(mut self, d: Duration) -> Self {
        self.total = d;
        self
    }
}

/// Which timeout fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutKind {
    /// Establishing the TCP connection took too long. Nothing was sent. (A TLS handshake that
    /// takes too long is bounded by the per-attempt timeout, [`TimeoutKind::Attempt`].)
    Connect,
    /// One attempt (sending the request and reading the whole answer) took too long.
    Attempt,
    /// The whole call, across every attempt and backoff, took too long.
    Total,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Attempt => "per-attempt",
            TimeoutKind::Total => "total",
        })
    }
}
