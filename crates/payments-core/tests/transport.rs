//! The plain-HTTP and TLS paths against a local hyper server on 127.0.0.1. Certificates are
//! made at test time with rcgen: server trust through a custom CA, mutual TLS with and without a
//! client certificate.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use payments_core::{
    crypto_provider, ClientIdentity, ErrorKind, HttpClient, HttpTransport, Operation, Request,
    Secret, Timeouts,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

const OP: Operation = Operation::idempotent("test", "echo");

/// Answers with the HTTP version, the `x-echo` header and the body it received.
async fn echo(
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let version = format!("{:?}", req.version());
    let header = req
        .headers()
        .get("x-echo")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let method = req.method().to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let body = body.unwrap_or_default();
    let text = format!(
        "{method} {version} {header} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(hyper::Response::new(Full::new(Bytes::from(text))))
}

struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(tcp), service_fn(echo))
                            .await;
                    }
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(tls), service_fn(echo))
                                .await;
                        }
                    }
                }
            });
        }
    });
    Server { addr, task }
}

struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
    client_chain_pem: String,
    client_key_pem: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "payments-core test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "kassa-1");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();

    Pki {
        ca_pem: ca.pem(),
        ca_der: ca.der().clone(),
        server_chain: vec![server.der().clone()],
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        client_chain_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

fn server_config(pki: &Pki, require_client_cert: bool) -> Arc<rustls::ServerConfig> {
    let builder = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            crypto_provider(),
        )
        .build()
        .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

fn timeouts() -> Timeouts {
    Timeouts::default()
        .with_connect(Duration::from_secs(2))
        .with_attempt(Duration::from_secs(5))
        .with_total(Duration::from_secs(10))
}

fn client(transport: HttpTransport) -> HttpClient {
    HttpClient::with_transport(Arc::new(transport)).with_timeouts(timeouts())
}

fn request(url: String) -> Request {
    Request::new(http::Method::POST, url.parse().unwrap())
        .with_header(
            http::HeaderName::from_static("x-echo"),
            http::HeaderValue::from_static("hello"),
        )
        .with_body("body!")
}

#[tokio::test]
async fn plain_http_round_trip() {
    let server = serve(None).await;
    let client = client(HttpTransport::builder().build().unwrap());
    let resp = client
        .execute(&OP, request(format!("http://{}/echo", server.addr)))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], b"POST HTTP/1.1 hello body!");
}

/// What the echo server answers to a default transport: HTTP/2 through ALPN with the `http2`
/// feature; without it the client offers HTTP/1.1 only, and the server (which offers both)
/// settles on it.
const DEFAULT_ECHO: &[u8] = if cfg!(feature = "http2") {
    b"POST HTTP/2.0 hello body!"
} else {
    b"POST HTTP/1.1 hello body!"
};

#[tokio::test]
async fn tls_through_a_custom_ca_negotiates_http2() {
    let pki = pki();
    let server = serve(Some(server_config(&pki, false))).await;
    let transport = HttpTransport::builder()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .only_added_roots()
        .build()
        .unwrap();
    let resp = client(transport)
        .execute(
            &OP,
            request(format!("https://localhost:{}/echo", server.addr.port())),
        )
        .await
        .unwrap();
    assert_eq!(&resp.body[..], DEFAULT_ECHO);

    // With HTTP/2 switched off, ALPN settles on HTTP/1.1.
    let transport = HttpTransport::builder()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .http2(false)
        .build()
        .unwrap();
    let resp = client(transport)
        .execute(
            &OP,
            request(format!("https://localhost:{}/echo", server.addr.port())),
        )
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"POST HTTP/1.1 hello body!");
}

#[tokio::test]
async fn an_untrusted_server_is_a_tls_error_that_was_never_sent() {
    let pki = pki();
    let server = serve(Some(server_config(&pki, false))).await;
    let client = client(HttpTransport::builder().build().unwrap());
    let err = client
        .execute(
            &OP,
            request(format!("https://localhost:{}/echo", server.addr.port())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Tls);
    assert!(!err.may_have_been_sent());
    assert_eq!(err.attempts(), 1, "a certificate failure is not retried");
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate_is_accepted() {
    let pki = pki();
    let server = serve(Some(server_config(&pki, true))).await;
    let identity = ClientIdentity::from_pem(
        pki.client_chain_pem.as_bytes(),
        &Secret::from(pki.client_key_pem.clone()),
    )
    .unwrap();
    assert!(!format!("{identity:?}").contains("PRIVATE"));
    let transport = HttpTransport::builder()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .client_identity(identity)
        .build()
        .unwrap();
    let resp = client(transport)
        .execute(
            &OP,
            request(format!("https://localhost:{}/echo", server.addr.port())),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], DEFAULT_ECHO);
}

#[tokio::test]
async fn mutual_tls_without_a_client_certificate_is_refused() {
    let pki = pki();
    let server = serve(Some(server_config(&pki, true))).await;
    let transport = HttpTransport::builder()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let err = client(transport)
        .execute(
            &OP,
            request(format!("https://localhost:{}/echo", server.addr.port())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Tls, "{err:?}");
    assert!(!err.may_have_been_sent());
}

#[test]
fn bad_pem_is_a_config_error() {
    let err = ClientIdentity::from_pem(b"not pem", &Secret::from("nope")).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config(_)));
    let pki = pki();
    let err = ClientIdentity::from_pem(pki.client_chain_pem.as_bytes(), &Secret::from("garbage"))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config(_)));
    assert!(!err.to_string().contains("garbage"));
    assert!(HttpTransport::builder().add_root_pem(b"nothing").is_err());
}

#[test]
fn an_empty_root_store_is_a_config_error_at_build_time() {
    let err = HttpTransport::builder()
        .only_added_roots()
        .build()
        .unwrap_err();
    match err.kind() {
        ErrorKind::Config(message) => {
            assert!(message.contains("no root certificate"), "{message}");
            assert!(message.contains("add_root_pem"), "{message}");
        }
        other => panic!("unexpected kind {other:?}"),
    }
    assert!(!err.may_have_been_sent());
    // With a CA added, the same builder is fine.
    let pki = pki();
    HttpTransport::builder()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .only_added_roots()
        .build()
        .unwrap();
}
