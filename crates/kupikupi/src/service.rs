//! A notification endpoint that is both a hyper `Service` and a tower `Service`, so it drops
//! into a hyper server (`serve_connection(io, service)`) or an axum router
//! (`Router::route_service("/kupikupi/notify", service)`) without glue code.
//!
//! It reads the body (up to [`NotificationService::max_body_bytes`]), parses and verifies the
//! notification, calls your [`NotificationHandler`] to persist it, and only when that succeeds
//! answers `200 OK` / `text/plain` / `OK`. A bad notification gets 400 or 403, and a failed
//! persist gets 500, so the provider delivers it again.
//!
//! ```
//! use kupikupi::notification::{Notification, NotificationVerifier};
//! use kupikupi::service::NotificationService;
//! use payments_core::Secret;
//!
//! let verifier = NotificationVerifier::new("M2hULcD58iYGkmS7", Secret::from("yIKirCvplm8N1D9g"));
//! let service = NotificationService::new(verifier, |n: Notification| async move {
//!     // Persist the transfer's new status by n.order_id, idempotently.
//!     let _ = n;
//!     Ok::<(), std::io::Error>(())
//! });
//! // axum: Router::new().route_service("/kupikupi/notify", service)
//! # let _ = service;
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use payments_core::inbound::{receive, Acknowledgement};

use crate::notification::{Notification, NotificationVerifier};

/// Persists a verified notification. Implemented for every
/// `Fn(Notification) -> impl Future<Output = Result<(), E>>`.
pub trait NotificationHandler: Send + Sync + 'static {
    /// Why persisting failed (logged, never sent to the provider).
    type Error: std::fmt::Display + Send;

    /// Persists the state change. Called once per verified delivery, duplicates included.
    fn persist(
        &self,
        notification: Notification,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<F, Fut, E> NotificationHandler for F
where
    F: Fn(Notification) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display + Send,
{
    type Error = E;
    fn persist(&self, notification: Notification) -> impl Future<Output = Result<(), E>> + Send {
        self(notification)
    }
}

/// The notification endpoint. Cheap to clone.
pub struct NotificationService<H> {
    inner: Arc<Inner<H>>,
    max_body_bytes: usize,
}

struct Inner<H> {
    verifier: NotificationVerifier,
    handler: H,
}

impl<H> Clone for NotificationService<H> {
    fn clone(&self) -> Self {
        NotificationService {
            inner: Arc::clone(&self.inner),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

impl<H> std::fmt::Debug for NotificationService<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationService")
            .finish_non_exhaustive()
    }
}

/// The largest body read by default: 64 KiB (a notification is a few hundred bytes).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

impl<H: NotificationHandler> NotificationService<H> {
    /// An endpoint that verifies with `verifier` and persists with `handler`.
    pub fn new(verifier: NotificationVerifier, handler: H) -> Self {
        NotificationService {
            inner: Arc::new(Inner { verifier, handler }),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Sets the largest body read (larger ones get 413).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Answers one request: the framework-neutral core of both `Service` impls.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &self.inner;
        if request.method() != Method::POST {
            let mut resp = Acknowledgement::text(StatusCode::METHOD_NOT_ALLOWED, "POST only")
                .into_http_response();
            resp.headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
            return resp;
        }
        let body = match Limited::new(request.into_body(), self.max_body_bytes)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return Acknowledgement::text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body unreadable or too large",
                )
                .into_http_response()
            }
        };
        let received = receive::<Notification>(&body, &inner.verifier);
        match received.outcome {
            Ok(n) => {
                let order_id = n.order_id.clone();
                match inner.handler.persist(n).await {
                    Ok(()) => received.ack.into_http_response(),
                    Err(e) => {
                        tracing::warn!(order_id = %order_id, error = %e, "kupikupi notification not persisted");
                        Acknowledgement::text(StatusCode::INTERNAL_SERVER_ERROR, "not persisted")
                            .into_http_response()
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "kupikupi notification refused");
                received.ack.into_http_response()
            }
        }
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<H, B> tower_service::Service<Request<B>> for NotificationService<H>
where
    H: NotificationHandler,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> BoxFuture {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

impl<H, B> hyper::service::Service<Request<B>> for NotificationService<H>
where
    H: NotificationHandler,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn call(&self, request: Request<B>) -> BoxFuture {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}
