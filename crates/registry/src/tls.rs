//! TLS per profile: system roots plus imported CAs (PEM via rustls-pki-types' `PemObject`).

use std::sync::Arc;
use std::time::Duration;

use crate::client::TlsOptions;
use crate::error::{Error, ErrorKind};

pub(crate) fn build_http(tls: &TlsOptions) -> Result<reqwest::Client, Error> {
    let config = client_config(tls)?;
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("HTTP client setup failed: {e}"), ""))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    for pem in &tls.extra_ca_pem {
        for cert in parse_pem_certs(pem)? {
            roots.add(cert).map_err(|e| {
                Error::new(
                    ErrorKind::Tls,
                    format!("an imported CA certificate was refused: {e}"),
                    "re-import the CA certificate",
                )
            })?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup failed: {e}"), ""))?
        .with_root_certificates(roots);
    Ok(builder.with_no_client_auth())
}

/// Every certificate in a PEM blob; an error when there is none or one is damaged.
pub fn parse_pem_certs(pem: &[u8]) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, Error> {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| {
        Error::new(ErrorKind::Tls, format!("a CA file is not valid PEM: {e}"), "re-import the CA certificate")
    })?;
    if certs.is_empty() {
        return Err(Error::new(ErrorKind::Tls, "a CA file holds no certificate", "re-import the CA certificate (PEM)"));
    }
    Ok(certs)
}
