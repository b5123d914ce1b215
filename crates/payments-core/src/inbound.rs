//! Inbound requests: what a provider POSTs to the merchant (Ktpay callbacks, Kupi-Kupi
//! notifications), read once, answered as data.
//!
//! **What a provider's POST says is a hint.** Anyone who knows the merchant's URL can POST to
//! it, and everything the paying customer can see (an order id, an amount, a transaction hash)
//! proves nothing. Only the provider's answer to the merchant's own authenticated call, or a
//! proof that only the provider can make, is a fact. Provider crates keep the two apart in their
//! types: the parsed body is a hint, and the type that can mark an order paid is built only from
//! a fact.
//!
//! This module holds what every provider's endpoint shares:
//!
//! - [`read_post_body`]: `POST` only, the body capped in size ([`BodyLimits::max_bytes`]) and in
//!   time ([`BodyLimits::timeout`]);
//! - [`Refusal`]: why a request was not taken, mapped to one HTTP status in one place
//!   ([`Refusal::status`]: 405, 413, 408, 400, 403, 500);
//! - [`Acknowledgement`]: the answer, as data (status, content type, body);
//! - [`Receiver`]: a provider's handling of one request that was read, and [`InboundService`],
//!   the `tower::Service` (axum) and `hyper::service::Service` around any receiver.
//!
//! ```
//! use bytes::Bytes;
//! use http::StatusCode;
//! use payments_core::inbound::{Acknowledgement, Accepted, InboundService, Receiver, Refusal};
//!
//! /// A toy receiver: accepts the body `ping`, refuses anything else.
//! struct Ping;
//!
//! impl Receiver for Ping {
//!     const PROVIDER: &'static str = "example";
//!
//!     async fn receive(&self, _head: &http::request::Parts, body: Bytes) -> Result<Accepted, Refusal> {
//!         if &body[..] == b"ping" {
//!             Ok(Accepted::new(Acknowledgement::text(StatusCode::OK, "pong")))
//!         } else {
//!             Err(Refusal::malformed("not a ping"))
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let service = InboundService::new(Ping);
//! // axum: Router::new().route_service("/example/notify", service.clone())
//! let ok = service
//!     .handle(http::Request::post("/").body(http_body_util::Full::new(Bytes::from("ping"))).unwrap())
//!     .await;
//! assert_eq!(ok.status(), StatusCode::OK);
//! let get = service
//!     .handle(http::Request::get("/").body(http_body_util::Full::new(Bytes::new())).unwrap())
//!     .await;
//! assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
//! # }
//! ```

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};

/// The HTTP answer to an inbound request: a status, a content type and a body.
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

/// What kind of refusal: each kind is one HTTP status ([`RefusalKind::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalKind {
    /// Not a `POST`: 405, with `Allow: POST`.
    MethodNotAllowed,
    /// The body is larger than the cap: 413.
    TooLarge,
    /// The body did not arrive within the time cap: 408.
    Timeout,
    /// The body could not be read, is not the provider's shape, or does not match the stored
    /// order: 400.
    Malformed,
    /// The request is not provably the provider's (a wrong or missing tag, token or platform
    /// id): 403.
    Unauthenticated,
    /// The request was valid, but the merchant could not record it (its store failed): 500.
    NotRecorded,
}

impl RefusalKind {
    /// The HTTP status of this kind: the one mapping of refusals to answers.
    pub const fn status(self) -> StatusCode {
        match self {
            RefusalKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RefusalKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RefusalKind::Timeout => StatusCode::REQUEST_TIMEOUT,
            RefusalKind::Malformed => StatusCode::BAD_REQUEST,
            RefusalKind::Unauthenticated => StatusCode::FORBIDDEN,
            RefusalKind::NotRecorded => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short name for logs (`too_large`, `unauthenticated`...).
    pub const fn as_str(self) -> &'static str {
        match self {
            RefusalKind::MethodNotAllowed => "method_not_allowed",
            RefusalKind::TooLarge => "too_large",
            RefusalKind::Timeout => "timeout",
            RefusalKind::Malformed => "malformed",
            RefusalKind::Unauthenticated => "unauthenticated",
            RefusalKind::NotRecorded => "not_recorded",
        }
    }
}

impl fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an inbound request was not taken. Whether the provider delivers it again depends on the
/// provider (each provider guide says what is documented); until the merchant has taken a
/// request, the provider's status call is the way to learn what happened.
///
/// The reason is for logs: it must never hold a secret or a value copied from the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    kind: RefusalKind,
    reason: Cow<'static, str>,
}

impl Refusal {
    /// A refusal of `kind`, with a reason for logs.
    pub fn new(kind: RefusalKind, reason: impl Into<Cow<'static, str>>) -> Self {
        Refusal {
            kind,
            reason: reason.into(),
        }
    }

    /// 400: unreadable, not the provider's shape, or not matching the stored order.
    pub fn malformed(reason: impl Into<Cow<'static, str>>) -> Self {
        Refusal::new(RefusalKind::Malformed, reason)
    }

    /// 403: not provably the provider's.
    pub fn unauthenticated(reason: impl Into<Cow<'static, str>>) -> Self {
        Refusal::new(RefusalKind::Unauthenticated, reason)
    }

    /// 500: valid, but the merchant's store failed.
    pub fn not_recorded(reason: impl Into<Cow<'static, str>>) -> Self {
        Refusal::new(RefusalKind::NotRecorded, reason)
    }

    /// The kind.
    pub fn kind(&self) -> RefusalKind {
        self.kind
    }

    /// The reason, for logs.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The HTTP status ([`RefusalKind::status`]).
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused ({}): {}", self.kind, self.reason)
    }
}

impl std::error::Error for Refusal {}

/// The caps on reading an inbound body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyLimits {
    /// The largest body read, in bytes. Default 64 KiB: a callback is a few hundred bytes.
    pub max_bytes: usize,
    /// How long the whole body may take to arrive. Default 10 s.
    pub timeout: Duration,
}

/// The default [`BodyLimits::max_bytes`]: 64 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// The default [`BodyLimits::timeout`]: 10 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_bytes: DEFAULT_MAX_BODY_BYTES,
            timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

impl BodyLimits {
    /// Sets the largest body read.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Sets how long the body may take to arrive.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Reads an inbound request: `POST` only, the body within `limits`. Returns the request's head
/// (method, URI, headers) and its body.
///
/// A `Content-Length` over the cap is refused before anything is read.
pub async fn read_post_body<B>(
    request: http::Request<B>,
    limits: BodyLimits,
) -> Result<(http::request::Parts, Bytes), Refusal>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (head, body) = request.into_parts();
    if head.method != Method::POST {
        return Err(Refusal::new(
            RefusalKind::MethodNotAllowed,
            format!("method {} (only POST is taken)", head.method),
        ));
    }
    let declared = head
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_bytes as u64) {
        return Err(too_large(limits.max_bytes));
    }
    let collect = Limited::new(body, limits.max_bytes).collect();
    match tokio::time::timeout(limits.timeout, collect).await {
        Err(_) => Err(Refusal::new(
            RefusalKind::Timeout,
            format!("the body did not arrive within {:?}", limits.timeout),
        )),
        Ok(Ok(collected)) => Ok((head, collected.to_bytes())),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(too_large(limits.max_bytes))
        }
        // The transport's own error says nothing secret, but it is not ours to quote.
        Ok(Err(_)) => Err(Refusal::malformed("the body could not be read")),
    }
}

fn too_large(limit: usize) -> Refusal {
    Refusal::new(
        RefusalKind::TooLarge,
        format!("the body is larger than {limit} bytes"),
    )
}

/// Work to do after the answer is sent (for example: confirm a notification with the
/// provider's status call, which some providers only settle once they have the answer).
pub type FollowUp = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A request that was taken: the answer, and optionally work to run once it is answered.
#[must_use]
pub struct Accepted {
    ack: Acknowledgement,
    follow_up: Option<FollowUp>,
}

impl fmt::Debug for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accepted")
            .field("ack", &self.ack)
            .field("follow_up", &self.follow_up.is_some())
            .finish()
    }
}

impl Accepted {
    /// Taken, answered with `ack`.
    pub fn new(ack: Acknowledgement) -> Self {
        Accepted {
            ack,
            follow_up: None,
        }
    }

    /// Runs `work` on the Tokio runtime once the answer is made. It runs detached: if the
    /// process stops first, it is lost, so the receiver must have recorded what the work needs
    /// to be redone (for example the order as "notified, to confirm") before accepting.
    pub fn then(mut self, work: impl Future<Output = ()> + Send + 'static) -> Self {
        self.follow_up = Some(Box::pin(work));
        self
    }

    /// The answer.
    pub fn ack(&self) -> &Acknowledgement {
        &self.ack
    }

    /// The answer and the follow-up, apart.
    pub fn into_parts(self) -> (Acknowledgement, Option<FollowUp>) {
        (self.ack, self.follow_up)
    }
}

/// A provider's handling of one inbound request whose body was read within the caps:
/// authenticate, parse, check against the stored order, record, and choose the answer.
pub trait Receiver: Send + Sync + 'static {
    /// The provider's name, for logs.
    const PROVIDER: &'static str;

    /// Handles one request. `head` holds the URI (a tag may travel in its query or path) and
    /// the headers.
    fn receive(
        &self,
        head: &http::request::Parts,
        body: Bytes,
    ) -> impl Future<Output = Result<Accepted, Refusal>> + Send;

    /// The answer to a refusal, in the provider's format. The default is the refusal's status
    /// with a short `text/plain` body naming its kind (never its reason).
    fn refusal_answer(&self, refusal: &Refusal) -> Acknowledgement {
        let body: &'static str = match refusal.kind() {
            RefusalKind::MethodNotAllowed => "POST only",
            RefusalKind::TooLarge => "body too large",
            RefusalKind::Timeout => "body too slow",
            RefusalKind::Malformed => "invalid",
            RefusalKind::Unauthenticated => "forbidden",
            RefusalKind::NotRecorded => "not recorded",
        };
        Acknowledgement::text(refusal.status(), body)
    }
}

/// The endpoint for a provider's inbound requests: reads the body within [`BodyLimits`], hands
/// it to the [`Receiver`], and answers. It is a `tower::Service` (axum's
/// `Router::route_service`) and a `hyper::service::Service` (`serve_connection`). Cheap to clone.
pub struct InboundService<R> {
    receiver: Arc<R>,
    limits: BodyLimits,
}

impl<R> Clone for InboundService<R> {
    fn clone(&self) -> Self {
        InboundService {
            receiver: Arc::clone(&self.receiver),
            limits: self.limits,
        }
    }
}

impl<R> fmt::Debug for InboundService<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundService")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<R: Receiver> InboundService<R> {
    /// An endpoint around `receiver`, with the default [`BodyLimits`].
    pub fn new(receiver: R) -> Self {
        InboundService {
            receiver: Arc::new(receiver),
            limits: BodyLimits::default(),
        }
    }

    /// Replaces the body limits.
    pub fn with_limits(mut self, limits: BodyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The body limits.
    pub fn limits(&self) -> BodyLimits {
        self.limits
    }

    /// The receiver.
    pub fn receiver(&self) -> &R {
        &self.receiver
    }

    /// Answers one request: the framework-neutral core of both `Service` impls. A follow-up
    /// of an accepted request is spawned on the Tokio runtime.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let outcome = match read_post_body(request, self.limits).await {
            Ok((head, body)) => self.receiver.receive(&head, body).await,
            Err(refusal) => Err(refusal),
        };
        match outcome {
            Ok(accepted) => {
                let (ack, follow_up) = accepted.into_parts();
                if let Some(work) = follow_up {
                    tokio::spawn(work);
                }
                ack.into_http_response()
            }
            Err(refusal) => {
                tracing::warn!(
                    provider = R::PROVIDER,
                    kind = refusal.kind().as_str(),
                    reason = refusal.reason(),
                    "inbound request refused"
                );
                let mut resp = self.receiver.refusal_answer(&refusal).into_http_response();
                if refusal.kind() == RefusalKind::MethodNotAllowed {
                    resp.headers_mut()
                        .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
                }
                resp
            }
        }
    }
}

/// The future of both `Service` impls.
pub type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Full<Bytes>>, Infallible>> + Send>>;

impl<R, B> tower_service::Service<http::Request<B>> for InboundService<R>
where
    R: Receiver,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> ServiceFuture {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

impl<R, B> hyper::service::Service<http::Request<B>> for InboundService<R>
where
    R: Receiver,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, request: http::Request<B>) -> ServiceFuture {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Takes `ok`, refuses `forged` as unauthenticated and `fail` as not recorded; counts the
    /// follow-ups that ran.
    struct Toy {
        followed_up: Arc<AtomicUsize>,
    }

    impl Receiver for Toy {
        const PROVIDER: &'static str = "toy";

        async fn receive(
            &self,
            head: &http::request::Parts,
            body: Bytes,
        ) -> Result<Accepted, Refusal> {
            match &body[..] {
                b"ok" => {
                    let counter = Arc::clone(&self.followed_up);
                    let tagged = head.uri.query() == Some("tag=1");
                    Ok(Accepted::new(Acknowledgement::text(
                        StatusCode::OK,
                        if tagged { "OK tagged" } else { "OK" },
                    ))
                    .then(async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }))
                }
                b"forged" => Err(Refusal::unauthenticated("no tag")),
                b"fail" => Err(Refusal::not_recorded("store down")),
                _ => Err(Refusal::malformed("not a toy")),
            }
        }
    }

    fn post(uri: &str, body: &'static [u8]) -> http::Request<Full<Bytes>> {
        http::Request::post(uri)
            .body(Full::new(Bytes::from_static(body)))
            .unwrap()
    }

    async fn body_of(resp: http::Response<Full<Bytes>>) -> Bytes {
        resp.into_body().collect().await.unwrap().to_bytes()
    }

    #[test]
    fn every_kind_has_one_status() {
        for (kind, status) in [
            (RefusalKind::MethodNotAllowed, 405),
            (RefusalKind::TooLarge, 413),
            (RefusalKind::Timeout, 408),
            (RefusalKind::Malformed, 400),
            (RefusalKind::Unauthenticated, 403),
            (RefusalKind::NotRecorded, 500),
        ] {
            assert_eq!(kind.status().as_u16(), status, "{kind}");
            assert_eq!(Refusal::new(kind, "x").status().as_u16(), status);
        }
    }

    #[tokio::test]
    async fn the_service_maps_outcomes_to_answers() {
        let followed_up = Arc::new(AtomicUsize::new(0));
        let service = InboundService::new(Toy {
            followed_up: Arc::clone(&followed_up),
        });

        let ok = service.handle(post("/n?tag=1", b"ok")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(&body_of(ok).await[..], b"OK tagged");

        for (body, status) in [
            (&b"forged"[..], StatusCode::FORBIDDEN),
            (b"fail", StatusCode::INTERNAL_SERVER_ERROR),
            (b"junk", StatusCode::BAD_REQUEST),
        ] {
            let resp = service.handle(post("/n", body)).await;
            assert_eq!(resp.status(), status);
            // The answer names the kind, never the reason.
            let text = body_of(resp).await;
            assert!(!String::from_utf8_lossy(&text).contains("store down"));
        }

        let get = service
            .handle(
                http::Request::get("/n")
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await;
        assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(get.headers()[http::header::ALLOW], "POST");

        // The one follow-up (of the one accepted request) runs after the answer.
        for _ in 0..100 {
            if followed_up.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(followed_up.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bodies_are_capped_in_size() {
        let limits = BodyLimits::default().with_max_bytes(4);
        // Declared too large: refused before reading.
        let declared = http::Request::post("/")
            .header(http::header::CONTENT_LENGTH, "5")
            .body(Full::new(Bytes::from_static(b"12345")))
            .unwrap();
        let err = read_post_body(declared, limits).await.unwrap_err();
        assert_eq!(err.kind(), RefusalKind::TooLarge);
        // Undeclared and too large: refused while reading.
        let err = read_post_body(post("/", b"12345"), limits)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), RefusalKind::TooLarge);
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (head, body) = read_post_body(post("/x?y", b"1234"), limits).await.unwrap();
        assert_eq!(&body[..], b"1234");
        assert_eq!(head.uri.query(), Some("y"));
    }

    /// A body that sends one chunk and then nothing.
    struct Stalled(bool);

    impl Body for Stalled {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
            if self.0 {
                Poll::Pending
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"{")))))
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bodies_are_capped_in_time() {
        let limits = BodyLimits::default().with_timeout(Duration::from_secs(2));
        let request = http::Request::post("/").body(Stalled(false)).unwrap();
        let err = read_post_body(request, limits).await.unwrap_err();
        assert_eq!(err.kind(), RefusalKind::Timeout);
        assert_eq!(err.status(), StatusCode::REQUEST_TIMEOUT);
    }
}
