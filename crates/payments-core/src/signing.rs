//! The two signing seams.
//!
//! - Outbound, [`RequestSigner`]: turns an operation's request into the bytes and headers to send.
//!   Ktwidget seals the JSON and sets `Auth-Identifier`; kupikupi adds its token; smartpay adds
//!   its cookie.
//! - Inbound, [`InboundNotification`]: a provider's callback is parsed from raw bytes, verified,
//!   and answered with the provider's expected [`Acknowledgement`]. The acknowledgement is data,
//!   so an invalid notification can be answered too (usually with a refusal, which makes the
//!   provider deliver it again; ask the provider for the status in the meantime).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::Full;

/// What a [`RequestSigner`] produces: the body and the extra headers of one request.
#[derive(Clone, Debug, Default)]
pub struct SignedRequest {
    /// The body to send.
    pub body: Bytes,
    /// Headers to add (`Content-Type`, `Auth-Identifier`, `Cookie`...).
    pub headers: HeaderMap,
}

/// Turns a provider request `R` into its wire form. Implementations must never log `R`, the
/// body or any key.
pub trait RequestSigner<R: ?Sized>: Send + Sync {
    /// The error of a request that cannot be signed.
    type Error;
    /// Serialises and signs (or seals) `request`.
    fn sign(&self, request: &R) -> Result<SignedRequest, Self::Error>;
}

/// The HTTP answer a provider expects to a notification: a status, a content type and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

impl Acknowledgement {
    /// An acknowledgement.
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Acknowledgement {
            status,
            content_type,
            body: body.into(),
        }
    }

    /// A `text/plain` answer.
    pub fn text(status: StatusCode, body: &'static str) -> Self {
        Acknowledgement::new(
            status,
            "text/plain; charset=utf-8",
            Bytes::from_static(body.as_bytes()),
        )
    }

    /// An `application/json` answer.
    pub fn json(status: StatusCode, body: &'static str) -> Self {
        Acknowledgement::new(
            status,
            "application/json",
            Bytes::from_static(body.as_bytes()),
        )
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The answer as an `http::Response`, ready for hyper (or axum, which accepts any
    /// `http::Response` whose body is an `http_body::Body`).
    pub fn into_http_response(self) -> http::Response<Full<Bytes>> {
        let mut resp = http::Response::new(Full::new(self.body));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        resp
    }
}

/// A provider notification (a callback) received by the merchant.
///
/// The flow is parse → verify → acknowledge. Persist the state change before sending the
/// positive acknowledgement: several providers treat the acknowledgement as the moment the
/// payment counts.
pub trait InboundNotification: Sized {
    /// What verification needs: the merchant's ids, secret, or stored order.
    type Verifier: ?Sized;
    /// Why a body was rejected.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Parses raw bytes. Never panics; bad input is an error.
    fn parse(body: &[u8]) -> Result<Self, Self::Error>;

    /// Checks the notification against what the merchant knows.
    fn verify(&self, verifier: &Self::Verifier) -> Result<(), Self::Error>;

    /// The answer that tells the provider the notification was taken.
    fn acknowledgement(&self) -> Acknowledgement;

    /// The answer to a notification that could not be parsed or verified. The provider will
    /// deliver it again; meanwhile, ask the provider for the status.
    fn rejection(error: &Self::Error) -> Acknowledgement;
}

/// The outcome of [`receive`]: the notification (or why it was refused), and the answer to send.
#[derive(Debug)]
pub struct Received<N: InboundNotification> {
    /// The verified notification, or the reason it was refused.
    pub outcome: Result<N, N::Error>,
    /// What to answer. For an accepted notification, send it only after the state change is
    /// persisted.
    pub ack: Acknowledgement,
}

/// Parses and verifies a notification, and chooses the answer.
pub fn receive<N: InboundNotification>(body: &[u8], verifier: &N::Verifier) -> Received<N> {
    match N::parse(body).and_then(|n| n.verify(verifier).map(|()| n)) {
        Ok(n) => {
            let ack = n.acknowledgement();
            Received {
                outcome: Ok(n),
                ack,
            }
        }
        Err(e) => Received {
            ack: N::rejection(&e),
            outcome: Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Ping(u8);

    #[derive(Debug, thiserror::Error)]
    #[error("bad ping")]
    struct BadPing;

    impl InboundNotification for Ping {
        type Verifier = u8;
        type Error = BadPing;
        fn parse(body: &[u8]) -> Result<Self, BadPing> {
            body.first().copied().map(Ping).ok_or(BadPing)
        }
        fn verify(&self, v: &u8) -> Result<(), BadPing> {
            if self.0 == *v {
                Ok(())
            } else {
                Err(BadPing)
            }
        }
        fn acknowledgement(&self) -> Acknowledgement {
            Acknowledgement::text(StatusCode::OK, "OK")
        }
        fn rejection(_: &BadPing) -> Acknowledgement {
            Acknowledgement::text(StatusCode::BAD_REQUEST, "invalid")
        }
    }

    #[test]
    fn receive_parses_verifies_and_answers() {
        let ok = receive::<Ping>(b"\x07", &7);
        assert!(ok.outcome.is_ok());
        assert_eq!(ok.ack.body, Bytes::from_static(b"OK"));
        let bad = receive::<Ping>(b"\x08", &7);
        assert!(bad.outcome.is_err());
        assert_eq!(bad.ack.status, StatusCode::BAD_REQUEST);
        let empty = receive::<Ping>(b"", &7);
        assert!(empty.outcome.is_err());
        let resp = ok.ack.into_http_response();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }
}
