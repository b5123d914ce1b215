//! The exit status of `payments`: one code per kind of failure, so that a script can tell a
//! wrong configuration from a network failure from a provider's refusal.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | any other failure: an answer that could not be trusted or matched, an outcome still unknown (a `reconcile` deadline), a diverging demo flow, an internal error |
//! | 2 | usage or configuration: a bad argument (clap's own usage errors are 2 too), a missing or unreadable secret, key or file, invalid input on stdin. Nothing was sent |
//! | 3 | network or transport: connect, TLS, I/O, a timeout, a transient or server-side status (408, 429, 5xx), an undecodable answer. The request may have been sent: ask for its status before trying a non-idempotent call again |
//! | 4 | the provider refused: it answered and said no (a decline, an error code, a 4xx status, a refused login) |
//!
//! The mapping from each provider crate's error lives in one small function per provider
//! ([`of_ktwidget`], [`of_smartpay`], [`of_kupikupi`]) over [`of_core`]; an error kind they do
//! not know is [`Status::Other`].
//!
//! ```
//! use payments_cli::exit::{of_core, Status};
//!
//! let refused = payments_core::Error::new(payments_core::ErrorKind::Status {
//!     status: http::StatusCode::FORBIDDEN,
//!     excerpt: String::new(),
//!     retry_after: None,
//! });
//! assert_eq!(of_core(&refused), Status::Refused);
//! assert_eq!(of_core(&payments_core::Error::config("bad URL")), Status::Usage);
//! assert_eq!(Status::Transport.code(), 3);
//! ```

use std::fmt;
use std::process::ExitCode;

use payments_core::ErrorKind;

/// The kind of outcome, and so the exit code, of one invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// 0: success.
    Success,
    /// 1: any other failure (an untrusted or mismatched answer, an outcome still unknown, an
    /// internal error).
    Other,
    /// 2: a bad argument, configuration or input; nothing was sent.
    Usage,
    /// 3: a network or transport failure; the request may have been sent.
    Transport,
    /// 4: the provider answered and refused.
    Refused,
}

impl Status {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Other => 1,
            Status::Usage => 2,
            Status::Transport => 3,
            Status::Refused => 4,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s.code())
    }
}

/// The exit codes as shown at the end of `payments --help`.
pub const HELP: &str = "\
Exit status:
  0  success
  1  other failure: an answer that could not be trusted, an outcome still unknown
     (a reconcile deadline), a diverging demo flow, an internal error
  2  usage or configuration error: a bad argument or config, a missing or unreadable
     secret or file, invalid input; nothing was sent
  3  network or transport error: connect, TLS, I/O, timeout, 408/429/5xx, an undecodable
     answer; the request may have been sent (check its status before sending it again)
  4  the provider refused: it answered with a decline, an error code or a 4xx status";

/// A failed verb: its [`Status`] and the one-line message printed on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    status: Status,
    message: String,
}

impl Failure {
    /// A failure of `status` with `message`.
    pub fn new(status: Status, message: impl fmt::Display) -> Self {
        Failure {
            status,
            message: message.to_string(),
        }
    }

    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl fmt::Display) -> Self {
        Failure::new(Status::Usage, message)
    }

    /// Any other failure (exit 1).
    pub fn other(message: impl fmt::Display) -> Self {
        Failure::new(Status::Other, message)
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prints `error: MESSAGE` as one line on stderr and gives the exit code.
    pub fn report(&self) -> ExitCode {
        let line = self.message.replace(['\n', '\r'], " ");
        eprintln!("error: {line}");
        self.status.into()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A message alone is a usage error: the CLI's own checks of its arguments and input.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::usage(message)
    }
}

/// A message alone is a usage error: the CLI's own checks of its arguments and input.
impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::usage(message)
    }
}

/// The status of a transport-level error of payments-core.
pub fn of_core(e: &payments_core::Error) -> Status {
    match e.kind() {
        ErrorKind::Config(_) => Status::Usage,
        ErrorKind::Status { status, .. } => {
            if status.is_server_error() || payments_core::error::is_retryable_status(*status) {
                Status::Transport
            } else {
                Status::Refused
            }
        }
        ErrorKind::Connect
        | ErrorKind::Tls
        | ErrorKind::Io
        | ErrorKind::Timeout(_)
        | ErrorKind::Decode { .. }
        | ErrorKind::BodyTooLarge { .. } => Status::Transport,
        _ => Status::Other,
    }
}

/// The status of a Ktpay error.
pub fn of_ktwidget(e: &ktwidget::Error) -> Status {
    use ktwidget::Error as E;
    match e {
        E::Transport(t) => of_core(t),
        E::Provider(_) => Status::Refused,
        E::Invalid(_) => Status::Usage,
        _ => Status::Other,
    }
}

/// The status of a Smart Pay error.
pub fn of_smartpay(e: &smartpay::Error) -> Status {
    use smartpay::Error as E;
    match e {
        E::Transport(t) => of_core(t),
        E::Provider(_) | E::PurchaseNotSuccessful { .. } | E::RefundNotSuccessful { .. } => {
            Status::Refused
        }
        E::Invalid(_) => Status::Usage,
        _ => Status::Other,
    }
}

/// The status of a Kupi-Kupi error.
pub fn of_kupikupi(e: &kupikupi::Error) -> Status {
    use kupikupi::Error as E;
    match e {
        E::Transport(t) => of_core(t),
        E::Provider(_) => Status::Refused,
        E::Invalid(_) => Status::Usage,
        _ => Status::Other,
    }
}

impl From<ktwidget::Error> for Failure {
    fn from(e: ktwidget::Error) -> Self {
        Failure::new(of_ktwidget(&e), e)
    }
}

impl From<smartpay::Error> for Failure {
    fn from(e: smartpay::Error) -> Self {
        Failure::new(of_smartpay(&e), e)
    }
}

impl From<kupikupi::Error> for Failure {
    fn from(e: kupikupi::Error) -> Self {
        Failure::new(of_kupikupi(&e), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use payments_core::Error;

    fn status(code: u16) -> Error {
        Error::new(ErrorKind::Status {
            status: StatusCode::from_u16(code).unwrap(),
            excerpt: String::new(),
            retry_after: None,
        })
    }

    #[test]
    fn the_codes_are_distinct() {
        let all = [
            Status::Success,
            Status::Other,
            Status::Usage,
            Status::Transport,
            Status::Refused,
        ];
        let codes: std::collections::HashSet<u8> = all.iter().map(|s| s.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(Status::Success.code(), 0);
        // clap's own usage errors exit with 2: a usage error of ours is the same code.
        assert_eq!(Status::Usage.code(), 2);
    }

    #[test]
    fn core_errors_map_by_kind() {
        assert_eq!(of_core(&Error::config("x")), Status::Usage);
        assert_eq!(of_core(&Error::new(ErrorKind::Connect)), Status::Transport);
        assert_eq!(of_core(&Error::new(ErrorKind::Io)), Status::Transport);
        assert_eq!(
            of_core(&Error::decode("json", b"<html>")),
            Status::Transport
        );
        assert_eq!(of_core(&status(503)), Status::Transport);
        assert_eq!(of_core(&status(500)), Status::Transport);
        assert_eq!(of_core(&status(429)), Status::Transport);
        assert_eq!(of_core(&status(403)), Status::Refused);
        assert_eq!(of_core(&status(400)), Status::Refused);
    }

    #[test]
    fn provider_errors_map_through_their_transport_error() {
        let transport = ktwidget::Error::Transport(Error::new(ErrorKind::Connect));
        assert_eq!(of_ktwidget(&transport), Status::Transport);
        let transport = kupikupi::Error::Transport(Error::new(ErrorKind::Io));
        assert_eq!(of_kupikupi(&transport), Status::Transport);
        let config = smartpay::Error::Invalid(payments_core::Invalid::new("base_url", "no https"));
        assert_eq!(of_smartpay(&config), Status::Usage);
        let refused = smartpay::Error::Provider(
            smartpay::ProviderError::new("Smart Pay", StatusCode::BAD_REQUEST)
                .with_code("E".to_owned())
                .with_message("no"),
        );
        assert_eq!(of_smartpay(&refused), Status::Refused);
        assert_eq!(of_smartpay(&unauthorized()), Status::Refused);
        let usage = smartpay::Error::Invalid(payments_core::Invalid::new("amount", "is zero"));
        assert_eq!(of_smartpay(&usage), Status::Usage);
    }

    /// Smart Pay's 401 after a fresh login.
    fn unauthorized() -> smartpay::Error {
        smartpay::Error::Provider(smartpay::ProviderError::new(
            "Smart Pay",
            StatusCode::UNAUTHORIZED,
        ))
    }

    #[test]
    fn a_failure_reports_its_status_and_message() {
        let f = Failure::from(unauthorized());
        assert_eq!(f.status(), Status::Refused);
        assert!(f.message().contains("401"), "{}", f.message());
        assert_eq!(Failure::from("bad").status(), Status::Usage);
    }
}
