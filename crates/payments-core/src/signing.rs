//! The outbound signing seam, [`RequestSigner`]: turns an operation's request into the bytes and
//! headers to send. Ktwidget seals the JSON and sets `Auth-Identifier`; kupikupi adds its token;
//! smartpay adds its cookie. (Inbound requests are in [`crate::inbound`].)

use bytes::Bytes;
use http::HeaderMap;

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
