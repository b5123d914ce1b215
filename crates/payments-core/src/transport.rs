//! The HTTP transport: the [`Transport`] seam and its default, [`HttpTransport`] (hyper 1 with
//! hyper-util's pooled client over hyper-rustls and rustls).
//!
//! [`HttpTransport`] speaks HTTP/1.1, and HTTP/2 too when the `http2` feature is on (chosen
//! through ALPN on `https://`; plain `http://` uses HTTP/1.1), keeps connections alive in a pool, caps the size of answers, and
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
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, ErrorKind};
use crate::proxy::Proxy;
use crate::secret::Secret;
use crate::timeouts::TimeoutKind;

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
        retry_after: crate::error::parse_retry_after(&resp.headers, std::time::SystemTime::now()),
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
    proxy: ProxyChoice,
}

/// Where a [`TransportBuilder`] takes its proxy from.
#[derive(Debug, Clone)]
enum ProxyChoice {
    /// The process environment, read by [`TransportBuilder::build`] ([`Proxy::from_env`]).
    Environment,
    /// This one.
    Explicit(Box<Proxy>),
    /// None: every target is reached directly.
    Direct,
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
            http2: cfg!(feature = "http2"),
            proxy: ProxyChoice::Environment,
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

    /// Whether HTTP/2 is offered through ALPN. The default is yes when payments-core's `http2`
    /// feature is on, and no otherwise. Asking for HTTP/2 without that feature makes
    /// [`TransportBuilder::build`] fail with [`ErrorKind::Config`], rather than silently
    /// speaking HTTP/1.1.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Sends calls through this proxy (see [`crate::proxy`] for the rules), instead of the
    /// proxies of the environment.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = ProxyChoice::Explicit(Box::new(proxy));
        self
    }

    /// Reaches every target directly: ignores `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
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
    ///
    /// [`TransportBuilder::http2`]`(true)` without the `http2` feature is an
    /// [`ErrorKind::Config`] error too.
    ///
    /// Unless [`TransportBuilder::proxy`] or [`TransportBuilder::no_proxy`] was called, the
    /// proxies of the environment are read here ([`Proxy::from_env`]); a proxy variable that
    /// holds no usable proxy URL is an [`ErrorKind::Config`] error (it names the variable, never
    /// its value).
    pub fn build(self) -> Result<HttpTransport, Error> {
        if self.http2 && !cfg!(feature = "http2") {
            return Err(Error::config(
                "HTTP/2 was asked for, but payments-core was built without its `http2` feature: \
                 enable the `http2` feature of the provider crate (or of payments-core)",
            ));
        }
        let roots = self.roots()?;
        let proxy = match self.proxy {
            ProxyChoice::Environment => Proxy::from_env()
                .map_err(|e| Error::config(format!("proxy environment: {e}")).with_source(e))?,
            ProxyChoice::Explicit(p) => Some(*p),
            ProxyChoice::Direct => None,
        };
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

        let tcp = ProxyConnector { http, proxy };

        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1();
        #[cfg(feature = "http2")]
        let https = if self.http2 {
            https.enable_http2().wrap_connector(tcp)
        } else {
            https.wrap_connector(tcp)
        };
        #[cfg(not(feature = "http2"))]
        let https = https.wrap_connector(tcp);

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

/// The TCP connector under TLS: a direct connection, or an HTTP `CONNECT` tunnel through the
/// proxy that [`Proxy`] chooses for the target. TLS (hyper-rustls, above it) then runs end to
/// end with the target in both cases.
#[derive(Clone)]
struct ProxyConnector {
    http: HttpConnector,
    proxy: Option<Proxy>,
}

type TcpIo = TokioIo<tokio::net::TcpStream>;

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = TcpIo;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = BoxFuture<Result<TcpIo, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        // `HttpConnector` is always ready; each call below works on its own clone.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let mut http = self.http.clone();
        match self.proxy.as_ref().and_then(|p| p.intercept(&target)) {
            None => Box::pin(async move { http.call(target).await.map_err(Into::into) }),
            Some((proxy, auth)) => {
                let mut tunnel = Tunnel::new(proxy, http);
                if let Some(auth) = auth {
                    tunnel = tunnel.with_auth(auth);
                }
                // hyper-util's tunnel takes a missing port as 443: name plain http's 80.
                let target = with_default_port(target);
                Box::pin(async move { tunnel.call(target).await.map_err(Into::into) })
            }
        }
    }
}

/// `target` with its scheme's default port written out.
fn with_default_port(target: Uri) -> Uri {
    if target.port().is_some() || target.scheme_str() != Some("http") {
        return target;
    }
    let Some(host) = target.host() else {
        return target;
    };
    let authority = format!("{host}:80");
    let mut parts = target.clone().into_parts();
    match authority.parse() {
        Ok(a) => {
            parts.authority = Some(a);
            Uri::from_parts(parts).unwrap_or(target)
        }
        Err(_) => target,
    }
}

/// The default [`Transport`]: one pooled hyper-util client over rustls. Cloning it is cheap and
/// shares the pool.
///
/// It honours `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` unless its builder was told otherwise
/// (see [`crate::proxy`]).
#[derive(Clone)]
pub struct HttpTransport {
    client: Client<HttpsConnector<ProxyConnector>, Full<Bytes>>,
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

/// What a TLS error found in a failure's source chain proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsFailure {
    /// The server refused our client certificate with one of the alerts that TLS 1.3 sends
    /// before the server reads any application data: the request was not acted on.
    ClientCertificateRefused,
    /// Any other TLS error.
    Other,
}

/// The alerts by which a TLS 1.3 server refuses the client's certificate. In TLS 1.3 the client
/// writes its request right after its Finished message, but the server reads the client's
/// Certificate, CertificateVerify and Finished first, and answers a refused certificate with
/// one of these alerts without reading what follows. (In TLS 1.2 the same refusal comes during
/// the handshake, before the connection is established, and is a connect error.)
const CLIENT_CERTIFICATE_REFUSED: [rustls::AlertDescription; 4] = [
    rustls::AlertDescription::CertificateRequired,
    rustls::AlertDescription::BadCertificate,
    rustls::AlertDescription::UnknownCA,
    rustls::AlertDescription::AccessDenied,
];

/// The first TLS error in `err`'s source chain, and what it proves.
///
/// rustls' typed error is matched structurally when the chain holds it (HTTP/1.1: hyper keeps
/// tokio-rustls' `io::Error` and the `rustls::Error` inside it). Under HTTP/2 the h2 crate
/// flattens every I/O error to its kind and its text (`h2::Error` must be `Clone`), so the
/// typed error is gone; there a client-certificate alert is recognised by text, sound because
///
/// - the text must be *exactly* rustls' own `Display` of `Error::AlertReceived` with one of
///   the four alerts (built here from rustls, not copied), so it cannot drift from rustls;
/// - the chain's texts are written by our own stack (hyper, h2, tokio-rustls, the OS), never by
///   the server: h2 shows a GOAWAY's debug data only after its own prefix, so no equality;
/// - a mistake could only turn "not sent" into "may have been sent" for other texts: any
///   other TLS text is not recognised, and the failure stays an I/O error that may have been
///   sent.
fn tls_failure(err: &(dyn StdError + 'static)) -> Option<TlsFailure> {
    let chain = chain(err);
    // The typed error first: an `io::Error` that holds it shows the same text, and is met first.
    if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
        return Some(match tls {
            rustls::Error::AlertReceived(alert) if CLIENT_CERTIFICATE_REFUSED.contains(alert) => {
                TlsFailure::ClientCertificateRefused
            }
            _ => TlsFailure::Other,
        });
    }
    chain.into_iter().find_map(|e| {
        let text = e.to_string();
        if !text.starts_with("received fatal alert: ") {
            return None;
        }
        let refused = CLIENT_CERTIFICATE_REFUSED
            .iter()
            .any(|alert| text == rustls::Error::AlertReceived(*alert).to_string());
        Some(if refused {
            TlsFailure::ClientCertificateRefused
        } else {
            TlsFailure::Other
        })
    })
}

fn io_kind(err: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    chain(err)
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>().map(|io| io.kind()))
}

/// Classifies a failure to send a request or to read an answer's head.
///
/// - The connector failed (`is_connect`: the TCP connect, or the TLS handshake as the client
///   sees it, before any request byte is written): nothing was sent. `Tls` when a TLS error
///   is in the chain, else a connect timeout or `Connect`.
/// - A TLS error on the established connection: `Tls`, and it may have been sent, except for
///   a client-certificate refusal alert ([`TlsFailure::ClientCertificateRefused`]).
/// - Anything else after connecting (reset, EOF, protocol error): `Io`, may have been sent.
fn classify_client_error(err: hyper_util::client::legacy::Error) -> Error {
    let tls = tls_failure(&err);
    let (kind, sent) = if err.is_connect() {
        let kind = if tls.is_some() {
            ErrorKind::Tls
        } else if io_kind(&err) == Some(std::io::ErrorKind::TimedOut) {
            ErrorKind::Timeout(TimeoutKind::Connect)
        } else {
            ErrorKind::Connect
        };
        (kind, false)
    } else {
        match tls {
            Some(TlsFailure::ClientCertificateRefused) => (ErrorKind::Tls, false),
            Some(TlsFailure::Other) => (ErrorKind::Tls, true),
            None => (ErrorKind::Io, true),
        }
    };
    Error::new(kind).with_sent(sent).with_source(err)
}

fn classify_body_error(err: Box<dyn StdError + Send + Sync>, limit: usize) -> Error {
    if err
        .downcast_ref::<http_body_util::LengthLimitError>()
        .is_some()
    {
        return Error::new(ErrorKind::BodyTooLarge { limit });
    }
    let kind = if tls_failure(&*err).is_some() {
        ErrorKind::Tls
    } else {
        ErrorKind::Io
    };
    // The request was sent and answered: the server has acted on it.
    Error::new(kind).with_sent(true).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_io(inner: impl Into<Box<dyn StdError + Send + Sync>>) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, inner)
    }

    #[cfg(not(feature = "http2"))]
    #[test]
    fn without_the_http2_feature_asking_for_http2_is_a_config_error() {
        let builder = TransportBuilder::default().no_proxy();
        assert!(
            !builder.http2,
            "HTTP/1.1 only by default without the feature"
        );
        let err = builder.http2(true).build().unwrap_err();
        match err.kind() {
            ErrorKind::Config(text) => assert!(text.contains("`http2` feature"), "{text}"),
            other => panic!("not a config error: {other:?}"),
        }
        // With a root store to trust (without one, build() refuses for that reason).
        #[cfg(any(feature = "webpki-roots", feature = "native-roots"))]
        assert!(TransportBuilder::default()
            .no_proxy()
            .http2(false)
            .build()
            .is_ok());
    }

    #[cfg(feature = "http2")]
    #[test]
    fn with_the_http2_feature_http2_is_offered_by_default() {
        let builder = TransportBuilder::default().no_proxy();
        assert!(
            builder.http2,
            "HTTP/2 is offered by default with the feature"
        );
        assert!(builder.http2(true).build().is_ok());
    }

    #[test]
    fn client_certificate_alerts_are_matched_structurally() {
        for alert in CLIENT_CERTIFICATE_REFUSED {
            let err = in_io(rustls::Error::AlertReceived(alert));
            assert_eq!(
                tls_failure(&err),
                Some(TlsFailure::ClientCertificateRefused),
                "{alert:?}"
            );
        }
        for other in [
            rustls::Error::AlertReceived(rustls::AlertDescription::BadRecordMac),
            rustls::Error::AlertReceived(rustls::AlertDescription::InternalError),
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
            rustls::Error::DecryptError,
        ] {
            assert_eq!(tls_failure(&in_io(other)), Some(TlsFailure::Other));
        }
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(tls_failure(&plain), None);
    }

    #[test]
    fn under_http2_only_rustls_exact_alert_text_proves_a_refusal() {
        // What h2 leaves of tokio-rustls' error: the kind and the text.
        let flattened = |text: &str| in_io(text.to_owned());
        for alert in [
            "CertificateRequired",
            "BadCertificate",
            "UnknownCA",
            "AccessDenied",
        ] {
            let err = flattened(&format!("received fatal alert: {alert}"));
            assert_eq!(
                tls_failure(&err),
                Some(TlsFailure::ClientCertificateRefused),
                "{alert}"
            );
        }
        for text in [
            "received fatal alert: BadRecordMac",
            "received fatal alert: UnknownCA (and more)",
            "received fatal alert: unknownca",
        ] {
            assert_eq!(
                tls_failure(&flattened(text)),
                Some(TlsFailure::Other),
                "{text}"
            );
        }
        for text in [
            "connection error received: not a result of an error (b\"received fatal alert: UnknownCA\")",
            "cannot decrypt peer's message",
        ] {
            assert_eq!(tls_failure(&flattened(text)), None, "{text}");
        }
    }

    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn aws_lc_rs_is_used_whenever_its_feature_is_on() {
        // Even with `ring` on too (the default features).
        let provider = feature_crypto_provider();
        assert_eq!(format!("{:?}", provider.secure_random), "AwsLcRs");
    }

    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    #[test]
    fn ring_is_used_by_default() {
        let provider = feature_crypto_provider();
        assert_eq!(format!("{:?}", provider.secure_random), "Ring");
    }

    #[cfg(not(any(feature = "webpki-roots", feature = "native-roots")))]
    #[test]
    fn without_a_root_feature_the_default_roots_are_a_config_error() {
        let err = HttpTransport::builder().build().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Config(m) if m.contains("webpki-roots")),
            "{err}"
        );
    }
}
