//! Fault injection: make an emulator's endpoint answer with a forced HTTP status, answer late,
//! reset the connection or cut its answer short, for the next N calls or every k-th call.
//!
//! A [`Fault`] is built with a constructor for its kind ([`Fault::status`], [`Fault::delay`],
//! [`Fault::reset`], [`Fault::truncate`]), the endpoint it applies to ([`Fault::on`]) and,
//! optionally, when it applies ([`Fault::times`], [`Fault::every`]). [`Faults::inject`]
//! checks it and arms it. The same text form is what `payments sandbox --fault` takes
//! ([`Fault`]'s `FromStr`).

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Which emulator an endpoint belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Ktpay (KTWidget).
    Ktwidget,
    /// Smart Pay / KD Pay.
    Smartpay,
    /// Kupi-Kupi.
    Kupikupi,
}

impl Provider {
    /// The name used in fault specs: `ktwidget`, `smartpay` or `kupikupi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Ktwidget => "ktwidget",
            Provider::Smartpay => "smartpay",
            Provider::Kupikupi => "kupikupi",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = InvalidFault;

    fn from_str(s: &str) -> Result<Provider, InvalidFault> {
        match s {
            "ktwidget" => Ok(Provider::Ktwidget),
            "smartpay" => Ok(Provider::Smartpay),
            "kupikupi" => Ok(Provider::Kupikupi),
            other => Err(InvalidFault::Provider(other.to_owned())),
        }
    }
}

/// What a fault does to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer this HTTP status at once, with a short plain-text body, without the call reaching
    /// the emulator (its state does not change).
    Status(u16),
    /// Wait this long, then pass the call to the emulator and answer normally.
    Delay(Duration),
    /// Reset the connection (TCP RST) before the call reaches the emulator: the client gets
    /// no answer, and the emulator's state does not change.
    Reset,
    /// Pass the call to the emulator (its state changes), then send the status, the headers
    /// (with the full `Content-Length`) and only the first half of the body, and close the
    /// connection.
    Truncate,
}

/// The longest [`Fault::delay`]: 10 minutes.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(600);

/// A fault to inject, built step by step and checked by [`Faults::inject`] (or by `parse`).
///
/// ```
/// use payments_sandbox::{Fault, Provider};
///
/// // The next two calls of Kupi-Kupi's `init` answer 503.
/// let fault = Fault::status(503)
///     .on(Provider::Kupikupi, "/api/v1/transfer/init")
///     .times(2);
/// // The same in the text form of `payments sandbox --fault`.
/// let parsed: Fault = "kupikupi:/api/v1/transfer/init=status:503,times:2".parse()?;
/// assert_eq!(fault, parsed);
/// assert_eq!(parsed.to_string(), "kupikupi:/api/v1/transfer/init=status:503,times:2");
/// # Ok::<(), payments_sandbox::InvalidFault>(())
/// ```
///
/// ## Endpoints
///
/// A path is matched segment by segment against the request's path (the query is ignored); a
/// `*` segment matches any one segment (`/api/v1/merchant-widget/payment/*` is Ktpay's status
/// call for every transaction), and the path `*` alone matches every path of the provider.
///
/// ## When it applies
///
/// Without [`times`](Fault::times) or [`every`](Fault::every), a fault applies to every
/// matching call until it is removed. `times(n)` makes it expire after it has applied `n`
/// times. `every(k)` makes it apply to the k-th, 2k-th, 3k-th ... matching call only (a share
/// of 1/k of the calls), counted from when it is injected: a deterministic rule rather than a
/// probability, so a test that uses it gives the same result on every run. Both together:
/// `every(3).times(2)` applies to the 3rd and the 6th call, then expires.
///
/// When several faults match a call, each counts it, and the first injected one that applies
/// wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    kind: FaultKind,
    endpoint: Option<(Provider, String)>,
    times: Option<u64>,
    every: u64,
}

impl Fault {
    fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            endpoint: None,
            times: None,
            every: 1,
        }
    }

    /// Answers `code` (200 to 599) without reaching the emulator.
    pub fn status(code: u16) -> Fault {
        Fault::new(FaultKind::Status(code))
    }

    /// Answers after waiting `delay` (above 0, at most [`MAX_FAULT_DELAY`]).
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultKind::Delay(delay))
    }

    /// Resets the connection without an answer, before the call reaches the emulator.
    pub fn reset() -> Fault {
        Fault::new(FaultKind::Reset)
    }

    /// Lets the emulator handle the call, then cuts the answer's body in half and closes the
    /// connection.
    pub fn truncate() -> Fault {
        Fault::new(FaultKind::Truncate)
    }

    /// The endpoint: a provider and a path pattern (see [Endpoints](Fault#endpoints)).
    /// Required.
    pub fn on(mut self, provider: Provider, path: impl Into<String>) -> Fault {
        self.endpoint = Some((provider, path.into()));
        self
    }

    /// Expires after applying `n` times (at least 1).
    pub fn times(mut self, n: u64) -> Fault {
        self.times = Some(n);
        self
    }

    /// Applies to every `k`-th matching call only (at least 1; 1 is every call).
    pub fn every(mut self, k: u64) -> Fault {
        self.every = k;
        self
    }

    /// What the fault does.
    pub fn kind(&self) -> FaultKind {
        self.kind
    }

    /// The provider and the path pattern, if set.
    pub fn endpoint(&self) -> Option<(Provider, &str)> {
        self.endpoint.as_ref().map(|(p, s)| (*p, s.as_str()))
    }

    /// Checks every part of the fault.
    fn validate(&self) -> Result<(), InvalidFault> {
        match self.kind {
            FaultKind::Status(code) if !(200..=599).contains(&code) => {
                return Err(InvalidFault::Status(code))
            }
            FaultKind::Delay(d) if d.is_zero() || d > MAX_FAULT_DELAY => {
                return Err(InvalidFault::Delay(d))
            }
            _ => {}
        }
        let Some((_, path)) = &self.endpoint else {
            return Err(InvalidFault::NoEndpoint);
        };
        if path != "*" && !path.starts_with('/') {
            return Err(InvalidFault::Path(path.clone()));
        }
        if path.contains(['?', '#', ' ', ',', '=']) {
            return Err(InvalidFault::Path(path.clone()));
        }
        if self.times == Some(0) {
            return Err(InvalidFault::Times);
        }
        if self.every == 0 {
            return Err(InvalidFault::Every);
        }
        Ok(())
    }

    fn matches(&self, provider: Provider, path: &str) -> bool {
        let Some((p, pattern)) = &self.endpoint else {
            return false;
        };
        if *p != provider {
            return false;
        }
        if pattern == "*" {
            return true;
        }
        let mut want = pattern.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some("*"), Some(_)) => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }
}

impl fmt::Display for Fault {
    /// The text form that `parse` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.endpoint {
            Some((p, path)) => write!(f, "{p}:{path}=")?,
            None => f.write_str("?=")?,
        }
        match self.kind {
            FaultKind::Status(code) => write!(f, "status:{code}")?,
            FaultKind::Delay(d) => write!(f, "delay:{}ms", d.as_millis())?,
            FaultKind::Reset => f.write_str("reset")?,
            FaultKind::Truncate => f.write_str("truncate")?,
        }
        if self.every != 1 {
            write!(f, ",every:{}", self.every)?;
        }
        if let Some(n) = self.times {
            write!(f, ",times:{n}")?;
        }
        Ok(())
    }
}

impl FromStr for Fault {
    type Err = InvalidFault;

    /// Reads `PROVIDER:PATH=KIND[,times:N][,every:K]`, where `PROVIDER` is `ktwidget`,
    /// `smartpay` or `kupikupi`, and `KIND` is `status:CODE`, `delay:DURATION` (`250ms`, `2s`),
    /// `reset` or `truncate`. For example `kupikupi:/api/v1/transfer/init=status:503,times:2`.
    /// The fault is checked as [`Faults::inject`] checks it.
    fn from_str(s: &str) -> Result<Fault, InvalidFault> {
        let spec = |why: &str| InvalidFault::Spec(format!("{s:?}: {why}"));
        let (endpoint, action) = s
            .split_once('=')
            .ok_or_else(|| spec("expected PROVIDER:PATH=KIND"))?;
        let (provider, path) = endpoint
            .split_once(':')
            .ok_or_else(|| spec("expected PROVIDER:PATH before ="))?;
        let provider: Provider = provider.trim().parse()?;
        let mut parts = action.split(',').map(str::trim);
        let kind = parts.next().unwrap_or_default();
        let (name, value) = match kind.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (kind, None),
        };
        let mut fault = match (name, value) {
            ("status", Some(v)) => Fault::status(v.parse().map_err(|_| spec("bad status code"))?),
            ("delay", Some(v)) => Fault::delay(parse_duration(v).ok_or_else(|| {
                spec("bad delay (a whole number with ms or s, such as 250ms or 2s)")
            })?),
            ("reset", None) => Fault::reset(),
            ("truncate", None) => Fault::truncate(),
            _ => {
                return Err(spec(
                    "the kind is status:CODE, delay:DURATION, reset or truncate",
                ))
            }
        }
        .on(provider, path.trim());
        for option in parts {
            let (name, value) = option
                .split_once(':')
                .ok_or_else(|| spec("an option is times:N or every:K"))?;
            let n: u64 = value
                .parse()
                .map_err(|_| spec("times and every take a whole number"))?;
            fault = match name {
                "times" => fault.times(n),
                "every" => fault.every(n),
                _ => return Err(spec("an option is times:N or every:K")),
            };
        }
        fault.validate()?;
        Ok(fault)
    }
}

fn parse_duration(v: &str) -> Option<Duration> {
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    if let Some(s) = v.strip_suffix('s') {
        return s.parse().ok().map(Duration::from_secs);
    }
    None
}

/// Why a fault was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidFault {
    /// The fault names no endpoint ([`Fault::on`]).
    #[error("a fault needs an endpoint: Fault::on(provider, path)")]
    NoEndpoint,
    /// The provider name is unknown.
    #[error("unknown provider {0:?} (ktwidget, smartpay or kupikupi)")]
    Provider(String),
    /// The path pattern does not start with `/` (and is not `*`), or holds `?`, `#`, a
    /// space, `,` or `=`.
    #[error("the path {0:?} must start with / (or be *) and hold no ?, #, space, comma or =")]
    Path(String),
    /// The status is not from 200 to 599.
    #[error("the forced status must be from 200 to 599, not {0}")]
    Status(u16),
    /// The delay is zero or above [`MAX_FAULT_DELAY`].
    #[error("the delay must be above 0 and at most 10 min, not {0:?}")]
    Delay(Duration),
    /// `times(0)`.
    #[error("times must be at least 1")]
    Times,
    /// `every(0)`.
    #[error("every must be at least 1")]
    Every,
    /// The text form could not be read.
    #[error("invalid fault spec {0}")]
    Spec(String),
}

/// An injected fault, to ask about it or remove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

#[derive(Debug)]
struct Rule {
    id: FaultId,
    fault: Fault,
    seen: u64,
    applied: u64,
}

impl Rule {
    fn is_active(&self) -> bool {
        self.fault.times.is_none_or(|n| self.applied < n)
    }
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    rules: Vec<Rule>,
}

/// The faults armed on a set of emulators. A cheap handle: clones share the same faults.
/// [`Sandbox::faults`](crate::Sandbox::faults) gives the one the sandbox's emulators use.
///
/// ```
/// use payments_sandbox::{Fault, Faults, Provider};
///
/// let faults = Faults::new();
/// let id = faults.inject(Fault::reset().on(Provider::Smartpay, "/v1/auth").times(1))?;
/// assert!(faults.is_active(id));
/// assert_eq!(faults.applied(id), 0);
/// // Refused: no endpoint, a status that is not an HTTP answer.
/// assert!(faults.inject(Fault::reset()).is_err());
/// assert!(faults.inject(Fault::status(42).on(Provider::Smartpay, "*")).is_err());
/// faults.clear();
/// assert!(!faults.is_active(id));
/// # Ok::<(), payments_sandbox::InvalidFault>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Faults {
    table: Arc<Mutex<Table>>,
}

impl Faults {
    /// No faults.
    pub fn new() -> Faults {
        Faults::default()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks `fault` and arms it. It applies to calls that start after this returns.
    pub fn inject(&self, fault: Fault) -> Result<FaultId, InvalidFault> {
        fault.validate()?;
        let mut table = self.lock();
        table.next += 1;
        let id = FaultId(table.next);
        table.rules.push(Rule {
            id,
            fault,
            seen: 0,
            applied: 0,
        });
        Ok(id)
    }

    /// Removes a fault; `false` if it was not there.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut table = self.lock();
        let before = table.rules.len();
        table.rules.retain(|r| r.id != id);
        table.rules.len() != before
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Whether the fault is armed (injected, not removed, not expired).
    pub fn is_active(&self, id: FaultId) -> bool {
        self.lock()
            .rules
            .iter()
            .any(|r| r.id == id && r.is_active())
    }

    /// How many calls the fault has applied to (0 once removed).
    pub fn applied(&self, id: FaultId) -> u64 {
        self.lock()
            .rules
            .iter()
            .find(|r| r.id == id)
            .map_or(0, |r| r.applied)
    }

    /// The fault to apply to a call of `provider` at `path`, if any (and counts the call).
    pub(crate) fn take(&self, provider: Provider, path: &str) -> Option<FaultKind> {
        let mut table = self.lock();
        let mut chosen = None;
        for rule in table.rules.iter_mut() {
            if !rule.is_active() || !rule.fault.matches(provider, path) {
                continue;
            }
            rule.seen += 1;
            if chosen.is_none() && rule.seen % rule.fault.every == 0 {
                rule.applied += 1;
                chosen = Some(rule.fault.kind);
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_every_count_matching_calls() {
        let faults = Faults::new();
        let id = faults
            .inject(
                Fault::status(503)
                    .on(Provider::Kupikupi, "/a/*")
                    .every(2)
                    .times(2),
            )
            .unwrap();
        let got: Vec<_> = (0..6)
            .map(|_| faults.take(Provider::Kupikupi, "/a/x"))
            .collect();
        let s = Some(FaultKind::Status(503));
        assert_eq!(got, [None, s, None, s, None, None]);
        assert!(!faults.is_active(id));
        assert_eq!(faults.applied(id), 2);
        // Other providers and paths are not counted.
        faults
            .inject(Fault::reset().on(Provider::Smartpay, "/v1/auth"))
            .unwrap();
        assert_eq!(faults.take(Provider::Kupikupi, "/v1/auth"), None);
        assert_eq!(faults.take(Provider::Smartpay, "/v1/auth/x"), None);
        assert_eq!(
            faults.take(Provider::Smartpay, "/v1/auth"),
            Some(FaultKind::Reset)
        );
    }

    #[test]
    fn specs_parse_and_refuse() {
        let f: Fault = "ktwidget:*=delay:250ms,every:3".parse().unwrap();
        assert_eq!(
            f,
            Fault::delay(Duration::from_millis(250))
                .on(Provider::Ktwidget, "*")
                .every(3)
        );
        assert_eq!(f.to_string().parse::<Fault>().unwrap(), f);
        assert_eq!(
            "smartpay:/v1/auth=truncate".parse::<Fault>().unwrap(),
            Fault::truncate().on(Provider::Smartpay, "/v1/auth")
        );
        assert_eq!(
            "smartpay:/v1/auth=delay:2s"
                .parse::<Fault>()
                .unwrap()
                .kind(),
            FaultKind::Delay(Duration::from_secs(2))
        );
        for bad in [
            "",
            "kupikupi",
            "paypal:/x=reset",
            "kupikupi:x=reset",
            "kupikupi:/x=status:99",
            "kupikupi:/x=status:abc",
            "kupikupi:/x=delay:0ms",
            "kupikupi:/x=delay:11",
            "kupikupi:/x=reset:1",
            "kupikupi:/x=explode",
            "kupikupi:/x=reset,times:0",
            "kupikupi:/x=reset,every:0",
            "kupikupi:/x=reset,often:2",
            "kupikupi:/x?y=1=reset",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }
}
