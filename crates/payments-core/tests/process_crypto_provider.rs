//! A process-wide rustls `CryptoProvider` installed by the application wins over the crate's
//! features. The provider is process-global, so this test has a binary of its own, and one test
//! function that orders what it installs.

use std::sync::Arc;

use payments_core::{crypto_provider, ErrorKind, HttpClient, HttpTransport, Operation, Request};
use payments_testkit::tls::{Alpn, ClientAuth, TestPki};
use payments_testkit::{answer, Scripted};
use rustls::crypto::{ring, CryptoProvider};

const OP: Operation = Operation::idempotent("test", "ping");

/// `ring`'s provider with one TLS 1.3 cipher suite only.
fn only(suite: rustls::SupportedCipherSuite) -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![suite],
        ..ring::default_provider()
    }
}

async fn call(transport: HttpTransport, server: &Scripted) -> Result<(), payments_core::Error> {
    let request = Request::new(http::Method::GET, server.url("/ping").parse().unwrap());
    let resp = HttpClient::from(transport).execute(&OP, request).await?;
    assert_eq!(&resp.body[..], b"pong");
    Ok(())
}

#[tokio::test]
async fn an_installed_process_wide_provider_wins_over_the_features() {
    let pki = TestPki::new("payments-core test CA");
    // A server that speaks TLS 1.3 with AES-128-GCM only.
    let server_provider = Arc::new(only(ring::cipher_suite::TLS13_AES_128_GCM_SHA256));
    let config = pki.server_config_with_provider(server_provider, Alpn::Http1, ClientAuth::None);
    let server = Scripted::serve_tls(config, vec![answer(200, &[], b"pong")]).await;
    let builder = || {
        HttpTransport::builder()
            .add_root_pem(pki.ca_pem().as_bytes())
            .unwrap()
            .only_added_roots()
    };

    // Before anything is installed: the feature's provider, which offers AES-128-GCM.
    assert!(CryptoProvider::get_default().is_none());
    let before = builder().build().unwrap();
    call(before.clone(), &server).await.unwrap();

    // The application installs a provider that offers ChaCha20-Poly1305 only.
    only(ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256)
        .install_default()
        .unwrap();
    let installed = CryptoProvider::get_default().unwrap();
    assert!(Arc::ptr_eq(&crypto_provider(), installed));

    // A transport built now uses it: the AES-only server finds no common cipher suite, and the
    // handshake fails while connecting (nothing was sent).
    let after = builder().build().unwrap();
    let err = call(after, &server).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Tls, "{err:?}");
    assert!(!err.may_have_been_sent());
    assert_eq!(
        server.requests(),
        1,
        "only the first transport's request arrived"
    );
    assert_eq!(server.refused_handshakes(), 1);

    // The transport built before keeps the provider it was built with.
    call(before, &server).await.unwrap();
    assert_eq!(server.requests(), 2);
}
