//! Certificates for TLS fault tests, made at test time with rcgen: a [`TestPki`] is a CA with a
//! server certificate for `localhost` and `127.0.0.1`, that can issue client certificates and
//! build the [`rustls::ServerConfig`] of a [`crate::Scripted::start_tls`] server.
//!
//! The servers use rustls' `ring` provider: this is test support, and the choice does not
//! depend on the features of the crate under test.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
/// The server configuration type of [`TestPki::server_config`] (rustls'), re-exported for
/// suites that do not depend on rustls.
pub use rustls::ServerConfig;

/// A test certificate authority and a server certificate it signed for `localhost` and
/// `127.0.0.1`.
pub struct TestPki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    ca: Certificate,
    ca_key: KeyPair,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

/// A client certificate (its chain and key as PEM) issued by a [`TestPki`].
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// The certificate chain, leaf first, as PEM.
    pub chain_pem: String,
    /// The private key (PKCS#8) as PEM.
    pub key_pem: String,
}

/// The application protocols a TLS server offers through ALPN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alpn {
    /// `http/1.1` only: what a [`crate::Scripted`] server speaks.
    Http1,
    /// `h2` then `http/1.1`: a client that offers HTTP/2 gets it (only for servers that never
    /// read a request, such as one that refuses the client certificate).
    H2AndHttp1,
}

/// Who the server asks for a client certificate.
#[derive(Clone, Copy, Debug)]
pub enum ClientAuth<'a> {
    /// No client certificate is asked for.
    None,
    /// A client certificate signed by this CA is required, and the server speaks TLS 1.3 only:
    /// a refused certificate is then answered with an alert after the client's handshake is
    /// over (`certificate_required` when none came, `unknown_ca` for another CA's).
    Required(&'a TestPki),
}

/// # Panics
///
/// All of these panic on a certificate generation failure: this is test support.
impl TestPki {
    /// A new CA named `name`, and a server certificate for `localhost` and `127.0.0.1`.
    pub fn new(name: &str) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, name);
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");

        let server_key = KeyPair::generate().expect("server key");
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        let server = server_params
            .signed_by(&server_key, &ca, &ca_key)
            .expect("server certificate");
        TestPki {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            ca,
            ca_key,
            server_chain: vec![server.der().clone()],
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        }
    }

    /// The CA certificate as PEM: what a client adds to its roots to trust the server.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate for `common_name`, signed by this CA.
    pub fn issue_client(&self, common_name: &str) -> ClientCert {
        let key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("client certificate");
        ClientCert {
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A server configuration with this PKI's server certificate, over rustls' `ring`
    /// provider.
    pub fn server_config(&self, alpn: Alpn, client_auth: ClientAuth<'_>) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        self.server_config_with_provider(provider, alpn, client_auth)
    }

    /// [`TestPki::server_config`] over the given crypto provider (one restricted to some
    /// cipher suites, say).
    pub fn server_config_with_provider(
        &self,
        provider: Arc<rustls::crypto::CryptoProvider>,
        alpn: Alpn,
        client_auth: ClientAuth<'_>,
    ) -> Arc<ServerConfig> {
        let builder = ServerConfig::builder_with_provider(provider.clone());
        let builder = match client_auth {
            ClientAuth::None => builder
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_no_client_auth(),
            ClientAuth::Required(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(ca.ca_der.clone()).expect("client CA");
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .expect("client verifier");
                builder
                    .with_protocol_versions(&[&rustls::version::TLS13])
                    .expect("TLS 1.3")
                    .with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
            .expect("server certificate");
        config.alpn_protocols = match alpn {
            Alpn::Http1 => vec![b"http/1.1".to_vec()],
            Alpn::H2AndHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        Arc::new(config)
    }
}
