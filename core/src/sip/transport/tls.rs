//! TLS for SIP over rustls (ring provider only).
//!
//! Server certificates are verified by default, against the configured CA
//! list or, without one, the system's roots. A certificate file (PEM with
//! the chain and the private key) enables client authentication and lets the
//! TLS transport accept connections.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::TransportError;

/// TLS settings (from `SIPSimpleSettings.tls`).
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// PEM file of trusted CAs; `None` = the system's roots.
    pub ca_list: Option<PathBuf>,
    /// PEM file with our certificate chain and private key.
    pub certificate: Option<PathBuf>,
    /// Verify the server's certificate (on by default).
    pub verify_server: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig { ca_list: None, certificate: None, verify_server: true }
    }
}

pub(crate) struct Tls {
    connector: TlsConnector,
    acceptor: Option<TlsAcceptor>,
}

fn err(what: impl std::fmt::Display) -> TransportError {
    TransportError::Tls(what.to_string())
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certificate(path: &PathBuf) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TransportError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(format!("cannot read certificate {}: {e}", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("bad certificate in {}: {e}", path.display())))?;
    if chain.is_empty() {
        return Err(err(format!("no certificate in {}", path.display())));
    }
    // Never include key material in the message.
    let key =
        PrivateKeyDer::from_pem_file(path).map_err(|_| err(format!("no usable private key in {}", path.display())))?;
    Ok((chain, key))
}

fn roots(ca_list: Option<&PathBuf>) -> Result<RootCertStore, TransportError> {
    let mut store = RootCertStore::empty();
    match ca_list {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| err(format!("cannot read CA list {}: {e}", path.display())))?
            {
                let cert = cert.map_err(|e| err(format!("bad certificate in CA list {}: {e}", path.display())))?;
                store.add(cert).map_err(|e| err(format!("unusable CA in {}: {e}", path.display())))?;
            }
            if store.is_empty() {
                return Err(err(format!("no certificate in CA list {}", path.display())));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
        }
    }
    Ok(store)
}

impl Tls {
    pub(crate) fn new(config: &TlsConfig) -> Result<Tls, TransportError> {
        let identity = config.certificate.as_ref().map(load_certificate).transpose()?;
        let builder =
            ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().map_err(err)?;
        let builder = if config.verify_server {
            builder.with_root_certificates(roots(config.ca_list.as_ref())?)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
        };
        let client = match &identity {
            Some((chain, key)) => builder.with_client_auth_cert(chain.clone(), key.clone_key()).map_err(err)?,
            None => builder.with_no_client_auth(),
        };
        let acceptor = match identity {
            Some((chain, key)) => {
                let server = ServerConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map_err(err)?
                    .with_no_client_auth()
                    .with_single_cert(chain, key)
                    .map_err(err)?;
                Some(TlsAcceptor::from(Arc::new(server)))
            }
            None => None,
        };
        Ok(Tls { connector: TlsConnector::from(Arc::new(client)), acceptor })
    }

    pub(crate) async fn connect(
        &self,
        name: &str,
        tcp: TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        self.connector.connect(name, tcp).await
    }

    pub(crate) async fn accept(&self, tcp: TcpStream) -> std::io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        match &self.acceptor {
            Some(acceptor) => acceptor.accept(tcp).await,
            None => Err(std::io::Error::other("no TLS certificate configured")),
        }
    }
}

/// Accepts any server certificate (only when `tls.verify_server` is off).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
