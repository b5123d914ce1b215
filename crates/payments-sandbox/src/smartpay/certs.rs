//! The emulator's throw-away PKI: a CA, a server certificate for `localhost` and `127.0.0.1`,
//! and a kassa client certificate, all made with rcgen at start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why the PKI or the TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// rcgen failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration failed: {0}")]
    Tls(String),
}

/// The PEM files a client and a test need. The private keys are not shown by `Debug`.
#[derive(Clone)]
pub struct Certificates {
    /// The CA that signed the server and client certificates (trust it as the server's root).
    pub ca_pem: String,
    /// The server's certificate.
    pub server_cert_pem: String,
    /// The kassa's client certificate.
    pub client_cert_pem: String,
    /// The kassa's client private key (PKCS#8).
    pub client_key_pem: String,
    ca_key: Arc<KeyPair>,
    ca_params: Arc<CertificateParams>,
    server_key_der: Vec<u8>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("ca_pem", &self.ca_pem.len())
            .field("client_cert_pem", &self.client_cert_pem.len())
            .field("client_key_pem", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Where [`Certificates::write_to_dir`] put the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificatePaths {
    /// `ca.pem`.
    pub ca: PathBuf,
    /// `client.pem`.
    pub cert: PathBuf,
    /// `client.key` (mode 0600 on Unix).
    pub key: PathBuf,
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "payments-sandbox Smart Pay CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl Certificates {
    /// Makes a fresh CA, server certificate and client certificate (CN `kassa`).
    pub fn generate() -> Result<Self, CertError> {
        let ca_key = KeyPair::generate()?;
        let params = ca_params()?;
        let ca = params.clone().self_signed(&ca_key)?;

        let server_key = KeyPair::generate()?;
        let mut sp = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        sp.distinguished_name
            .push(DnType::CommonName, "smartpay sandbox");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = sp.signed_by(&server_key, &ca, &ca_key)?;

        let mut out = Certificates {
            ca_pem: ca.pem(),
            server_cert_pem: server.pem(),
            client_cert_pem: String::new(),
            client_key_pem: String::new(),
            ca_key: Arc::new(ca_key),
            ca_params: Arc::new(params),
            server_key_der: server_key.serialize_der(),
        };
        let (cert, key) = out.issue_client_certificate("kassa")?;
        out.client_cert_pem = cert;
        out.client_key_pem = key;
        Ok(out)
    }

    /// Issues another client certificate from the same CA: `(certificate PEM, key PEM)`.
    pub fn issue_client_certificate(
        &self,
        common_name: &str,
    ) -> Result<(String, String), CertError> {
        let ca = (*self.ca_params).clone().self_signed(&self.ca_key)?;
        let key = KeyPair::generate()?;
        let mut cp = CertificateParams::new(Vec::<String>::new())?;
        cp.distinguished_name.push(DnType::CommonName, common_name);
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = cp.signed_by(&key, &ca, &self.ca_key)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Writes `ca.pem`, `client.pem` and `client.key` (mode 0600 on Unix) into `dir`
    /// (created if needed). Each file is created exclusively: if a file, a directory or a
    /// symbolic link already has its name, nothing is written through it and the error is
    /// [`std::io::ErrorKind::AlreadyExists`].
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> std::io::Result<CertificatePaths> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let paths = CertificatePaths {
            ca: dir.join("ca.pem"),
            cert: dir.join("client.pem"),
            key: dir.join("client.key"),
        };
        create_exclusive(&paths.ca, self.ca_pem.as_bytes(), 0o644)?;
        create_exclusive(&paths.cert, self.client_cert_pem.as_bytes(), 0o644)?;
        create_exclusive(&paths.key, self.client_key_pem.as_bytes(), 0o600)?;
        Ok(paths)
    }

    /// A rustls server configuration that presents the server certificate and requires a client
    /// certificate signed by the CA.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, CertError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca_der = rustls::pki_types::CertificateDer::from_pem_slice_compat(&self.ca_pem)?;
        let server_der =
            rustls::pki_types::CertificateDer::from_pem_slice_compat(&self.server_cert_pem)?;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(ca_der)
            .map_err(|e| CertError::Tls(e.to_string()))?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| CertError::Tls(e.to_string()))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| CertError::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_der], key)
            .map_err(|e| CertError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

trait FromPemCompat: Sized {
    fn from_pem_slice_compat(pem: &str) -> Result<Self, CertError>;
}

impl FromPemCompat for rustls::pki_types::CertificateDer<'static> {
    fn from_pem_slice_compat(pem: &str) -> Result<Self, CertError> {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| CertError::Tls(format!("bad certificate PEM: {e}")))
    }
}

/// Creates a new file (`O_CREAT | O_EXCL`: it fails if the name exists, even as a dangling
/// symbolic link, so it never follows a link) with `mode` on Unix, and writes `bytes`.
fn create_exclusive(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)?.write_all(bytes)
}
