//! The HTTP transport: the [`Transport`] seam and its default, [`HttpTransport`] (hyper 1 with
//! hyper-util's pooled client over hyper-rustls and rustls).
//!
//! [`HttpTransport`] speaks HTTP/1.1 and HTTP/2 (chosen through ALPN on `https://`; plain
//! `http://` uses HTTP/1.1), keeps connections alive in a pool, caps the size of answers, and
//! classifies every failure into an [`ErrorKind`] that says whether the request may have reached
//! the server.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::secret::Secret;

/// A boxed, sendable future: what [`Transport::send`] returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An outbound request, ready to send. The body is [`Bytes`], so retries reuse it without a copy.
///
/// Its `Debug` shows the body's length only, and hides the values of the headers that carry
/// credentials (see [`crate::redact::is_sensitive_header`]) and of secret-looking query
/// parameters.
#[derive(Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The absolute URI.
    pub uri: Uri,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Request {
            method,
            uri,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &crate::redact::RedactedUri(&self.uri))
            .field("headers", &crate::redact::RedactedHeaders(&self.headers))
            .field("body", &crate::redact::BodyLen(self.body.len()))
            .finish()
    }
}

/// A whole answer: status, headers and the body read up to the cap.
///
/// Its `Debug` shows the body's length only, and hides the values of the headers that carry
/// credentials (`Set-Cookie`, say; see [`crate::redact::is_sensitive_header`]).
#[derive(Clone)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &crate::redact::RedactedHeaders(&self.headers))
            .field("body", &crate::redact::BodyLen(self.body.len()))
            .finish()
    }
}

impl Response {
    /// An answer with this status, headers and body (for a custom [`Transport`] or a test).
    pub fn new(status: StatusCode, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        Response {
            status,
            headers,
            body: body.into(),
        }
    }

    /// The `Content-Type` header's media type (before any `;`), lower-cased.
    pub fn content_type(&self) -> Option<String> {
        let v = self
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        Some(v.split(';').next()?.trim().to_ascii_lowercase())
    }

    /// Decodes the body as JSON into `T`. A body of another shape is an [`ErrorKind::Decode`]
    /// error that says what was `expected` and quotes a short, redacted excerpt; its source is
    /// a [`crate::JsonError`] (where and why, never a value), not serde_json's error, whose
    /// message can quote a value of the body.
    pub fn json<T: serde::de::DeserializeOwned>(&self, expected: &str) -> Result<T, Error> {
        crate::decode::json(&self.body)
            .map_err(|e| Error::decode(expected, &self.body).with_source(e))
    }

    /// Turns any non-2xx answer into an [`ErrorKind::Status`] error with a redacted excerpt.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(status_error(&self))
        }
    }
}

/// The [`ErrorKind::Status`] error for an answer, with a redacted excerpt and `Retry-After`.
pub fn status_error(resp: &Response) -> Error {
    Error::new(ErrorKind::Status {
        status: resp.status,
        excerpt: crate::redact::excerpt(&resp.body),
        retry_after: crate::retry::retry_after(&resp.headers, std::time::SystemTime::now()),
    })
}

/// The seam between the SDK and the network. Implement it to plug in another HTTP stack, a
/// recorder or a fake; [`HttpTransport`] is the default.
///
/// An implementation sends one attempt and reads the whole answer. It maps failures to
/// [`ErrorKind`]s and must only report `may_have_been_sent() == false` when it knows the request
/// did not leave. Timeouts and retries are applied around it by [`crate::HttpClient`].
pub trait Transport: Send + Sync + 'static {
    /// Sends one request and reads the whole answer.
    fn send(&self, request: Request) -> BoxFuture<Result<Response, Error>>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, request: Request) -> BoxFuture<Result<Response, Error>> {
        (**self).send(request)
    }
}

/// A client certificate chain and its private key, for mutual TLS.
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.chain.len())
            .field("key", &crate::secret::REDACTED)
            .finish()
    }
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl ClientIdentity {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &Secret) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::config(format!("client certificate PEM is unreadable: {e}")))?;
        if chain.is_empty() {
            return Err(Error::config(
                "client certificate PEM holds no CERTIFICATE block",
            ));
        }
        // The key's own error could quote key material; say only what kind of failure it was.
        let key = PrivateKeyDer::from_pem_slice(key_pem.expose())
            .map_err(|_| Error::config("client private key PEM is unreadable or holds no key"))?;
        Ok(ClientIdentity { chain, key })
    }

    /// Reads the chain and the key from PEM files.
    pub fn from_pem_files(
        chain_path: impl AsRef<std::path::Path>,
        key_path: impl AsRef<std::path::Path>,
    ) -> Result<Self, Error> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| {
                Error::config(format!("cannot read {}: {e}", p.display())).with_source(e)
            })
        };
        let chain = read(chain_path.as_ref())?;
        let key = Secret::new(read(key_path.as_ref())?);
        ClientIdentity::from_pem(&chain, &key)
    }
}

/// Parses every `CERTIFICATE` block of a PEM bundle.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("CA PEM is unreadable: {e}")))?;
    if certs.is_empty() {
        return Err(Error::config("CA PEM holds no CERTIFICATE block"));
    }
    Ok(certs)
}

/// The rustls crypto provider a transport is built with, in this order:
///
/// 1. the process-wide provider the application installed with
///    [`rustls::crypto::CryptoProvider::install_default`], if any (it wins over the features);
/// 2. `aws-lc-rs`, when that feature is on (even with the default `ring` feature on too: naming
///    `aws-lc-rs` is the explicit choice);
/// 3. `ring` (the default feature).
///
/// It is read when [`TransportBuilder::build`] runs: install a process-wide provider before
/// building clients.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    match rustls::crypto::CryptoProvider::get_default() {
        Some(installed) => installed.clone(),
        None => Arc::new(feature_crypto_provider()),
    }
}

/// The provider the crate's features choose: `aws-lc-rs` whenever it is on, else `ring`.
fn feature_crypto_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let provider = rustls::crypto::ring::default_provider();
    provider
}

/// The default cap on an answer's body: 8 MiB (enough for a PDF receipt).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Builds an [`HttpTransport`].
#[derive(Debug, Clone)]
pub struct TransportBuilder {
    connect_timeout: Duration,
    max_body_bytes: usize,
    identity: Option<ClientIdentity>,
    extra_roots: Vec<CertificateDer<'static>>,
    default_roots: bool,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    http2: bool,
}

impl Default for TransportBuilder {
    fn default() -> Self {
        TransportBuilder {
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            identity: None,
            extra_roots: Vec::new(),
            default_roots: true,
            pool_idle_timeout: Duration::from_secs(60),
            pool_max_idle_per_host: 64,
            http2: true,
        }
    }
}

impl TransportBuilder {
    /// Sets the connect timeout (TCP connect; the TLS handshake is bounded by the per-attempt
    /// timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the cap on an answer's body, in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Presents a client certificate (mutual TLS).
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Trusts the certificates of a PEM bundle as extra roots (a sandbox's or a private CA).
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        self.extra_roots.extend(certificates_from_pem(pem)?);
        Ok(self)
    }

    /// Trusts only the roots added with [`TransportBuilder::add_root_pem`], not the default set.
    /// [`TransportBuilder::build`] then fails unless at least one was added.
    pub fn only_added_roots(mut self) -> Self {
        self.default_roots = false;
        self
    }

    /// How long an idle pooled connection is kept (default 60 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// How many idle connections per host are kept (default 64).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Whether HTTP/2 is offered through ALPN (default yes).
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    fn roots(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        if self.default_roots {
            #[cfg(feature = "webpki-roots")]
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            #[cfg(feature = "native-roots")]
            {
                let found = rustls_native_certs::load_native_certs();
                for cert in found.certs {
                    // A malformed system certificate is skipped, as browsers do.
                    let _ = roots.add(cert);
                }
            }
        }
        for cert in &self.extra_roots {
            roots.add(cert.clone()).map_err(|e| {
                Error::config(format!("CA certificate rejected: {e}")).with_source(e)
            })?;
        }
        if roots.is_empty() {
            // Every https call would fail with an unknown issuer: say so now, once.
            return Err(Error::config(if !self.default_roots {
                "no root certificate to trust: only_added_roots() was set but no CA was added \
                 with add_root_pem()"
            } else if cfg!(any(feature = "webpki-roots", feature = "native-roots")) {
                "no root certificate to trust: the operating system's root store is empty or \
                 unreadable; add a CA with add_root_pem() or enable the `webpki-roots` feature"
            } else {
                "no root certificate to trust: enable the `webpki-roots` or `native-roots` \
                 feature of payments-core, or add a CA with add_root_pem()"
            }));
        }
        Ok(roots)
    }

    /// Builds the transport. Must be called within a Tokio runtime only when sending.
    ///
    /// Fails with [`ErrorKind::Config`] when no root certificate would be trusted
    /// ([`TransportBuilder::only_added_roots`] with none added, or no root feature enabled):
    /// that is a configuration error, not an unknown issuer on every call. The TLS crypto
    /// provider is [`crypto_provider`]'s.
    pub fn build(self) -> Result<HttpTransport, Error> {
        let roots = self.roots()?;
        let builder = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("TLS versions: {e}")).with_source(e))?
            .with_root_certificates(roots);
        let tls = match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| {
                    Error::config(format!("client certificate rejected: {e}")).with_source(e)
                })?,
            None => builder.with_no_client_auth(),
        };

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));

        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1();
        let https = if self.http2 {
            https.enable_http2().wrap_connector(http)
        } else {
            https.wrap_connector(http)
        };

        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .build(https);
        Ok(HttpTransport {
            client,
            max_body_bytes: self.max_body_bytes,
        })
    }
}

/// The default [`Transport`]: one pooled hyper-util client over rustls. Cloning it is cheap and
/// shares the pool.
#[derive(Clone)]
pub struct HttpTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    max_body_bytes: usize,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A builder with the defaults.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: Request) -> BoxFuture<Result<Response, Error>> {
        Box::pin(self.dispatch(request))
    }
}

impl HttpTransport {
    /// Sends one request and reads the whole answer: [`Transport::send`] without the box.
    /// [`crate::HttpClient`] calls it directly when its transport is an `HttpTransport`.
    pub(crate) fn dispatch(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static {
        let limit = self.max_body_bytes;
        let mut req = http::Request::new(Full::new(request.body));
        *req.method_mut() = request.method;
        *req.uri_mut() = request.uri;
        *req.headers_mut() = request.headers;
        // hyper-util's future owns what it needs: no clone of the client per request.
        let pending = self.client.request(req);
        async move {
            let resp = pending.await.map_err(classify_client_error)?;
            let (parts, body) = resp.into_parts();
            if let Some(len) = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
            {
                if len > limit as u64 {
                    return Err(Error::new(ErrorKind::BodyTooLarge { limit }));
                }
            }
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| classify_body_error(e, limit))?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        }
    }
}

/// Walks an error's source chain (looking inside `io::Error`s too).
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        out.push(e);
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    out
}

fn has_tls_error(err: &(dyn StdError + 'static)) -> bool {
    chain(err).iter().any(|e| {
        e.downcast_ref::<rustls::Error>().is_some()
            // After the handshake, rustls reports a peer's alert (for example a refused client
            // certificate under TLS 1.3) through an `io::Error` that holds only its text.
            || e.to_string().starts_with("received fatal alert")
    })
}

fn io_kind(err: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    chain(err)
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>().map(|io| io.kind()))
}

fn classify_client_error(err: hyper_util::client::legacy::Error) -> Error {
    let tls = has_tls_error(&err);
    let kind = if tls {
        // A TLS failure, whether in the handshake or as an alert right after it (TLS 1.3 sends
        // a refused client certificate as an alert after the client's first flight): the server
        // never accepted application data.
        ErrorKind::Tls
    } else if err.is_connect() {
        if io_kind(&err) == Some(std::io::ErrorKind::TimedOut) {
            ErrorKind::Timeout(TimeoutKind::Connect)
        } else {
            ErrorKind::Connect
        }
    } else {
        ErrorKind::Io
    };
    let sent = !(tls || err.is_connect());
    Error::new(kind).with_sent(sent).with_source(err)
}

fn classify_body_error(err: Box<dyn StdError + Send + Sync>, limit: usize) -> Error {
    if err
        .downcast_ref::<http_body_util::LengthLimitError>()
        .is_some()
    {
        return Error::new(ErrorKind::BodyTooLarge { limit });
    }
    let kind = if has_tls_error(&*err) {
        ErrorKind::Tls
    } else {
        ErrorKind::Io
    };
    // The request was sent and answered: the server has acted on it.
    Error::new(kind).with_sent(true).with_source(err)
}
