//! TLS per profile: system roots plus imported CAs (PEM via rustls-pki-types' `PemObject`), a client
//! certificate for mTLS, pinning a self-signed certificate by fingerprint, and insecure-skip-verify only
//! when the profile explicitly says so. Also fetches a server's chain to explain a failed handshake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::Digest as _;

use crate::error::{Error, ErrorKind};

/// TLS settings of one profile (`Debug` shows no key).
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM bytes of CA certificates to trust in addition to the system roots.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Client certificate chain and private key (PEM) for registries that require mTLS.
    pub client_identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// SHA-256 fingerprints (hex, any case, colons allowed) of server certificates trusted as they are:
    /// for a self-signed certificate that rustls refuses as a CA used as a leaf.
    pub pinned_sha256: Vec<String>,
    /// Accept any certificate. Only when the user chose it; the window shows a warning.
    pub insecure_skip_verify: bool,
    /// Origins (`https://auth.example.com`) of token services on another host that the user trusts
    /// with the profile's password. A token realm on the registry's own host needs no entry.
    pub trusted_token_services: Vec<String>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("extra_ca_pem", &format!("{} CA file(s)", self.extra_ca_pem.len()))
            .field("client_identity_pem", &self.client_identity_pem.as_ref().map(|_| "<certificate and redacted key>"))
            .field("pinned_sha256", &self.pinned_sha256)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("trusted_token_services", &self.trusted_token_services)
            .finish()
    }
}

/// The HTTP client every Berth backend uses: rustls (ring) with the profile's CAs, client
/// certificate, pins; no cookie store (Harbor's CSRF check only applies to cookie sessions).
pub fn build_http(tls: &TlsOptions) -> Result<reqwest::Client, Error> {
    http_with_config(client_config(tls)?)
}

/// Connecting (TCP and TLS) may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The server may stay silent this long while it sends an answer.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// One request, answer included, may take this long.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(60);

/// The timeouts in force: the defaults above, or `BERTH_IDLE_TIMEOUT_SECS` and
/// `BERTH_TOTAL_TIMEOUT_SECS` (for slow links, and for tests that need them short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub idle: Duration,
    pub total: Duration,
}

pub fn timeouts() -> Timeouts {
    static T: std::sync::OnceLock<Timeouts> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        let secs = |name: &str, default: Duration| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .unwrap_or(default)
        };
        Timeouts {
            connect: CONNECT_TIMEOUT,
            idle: secs("BERTH_IDLE_TIMEOUT_SECS", IDLE_TIMEOUT),
            total: secs("BERTH_TOTAL_TIMEOUT_SECS", TOTAL_TIMEOUT),
        }
    })
}

fn http_with_config(config: rustls::ClientConfig) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(timeouts().connect)
        .read_timeout(timeouts().idle)
        .timeout(timeouts().total)
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("HTTP client setup failed: {e}"), ""))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(msg: impl Into<String>, hint: &str) -> Error {
    Error::new(ErrorKind::Tls, msg, hint)
}

pub(crate) fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    for pem in &tls.extra_ca_pem {
        for cert in parse_pem_certs(pem)? {
            roots.add(cert).map_err(|e| {
                tls_error(format!("an imported CA certificate was refused: {e}"), "re-import the CA certificate")
            })?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS setup failed: {e}"), ""))?;
    let pins = tls.pinned_sha256.iter().map(|p| normalize_fingerprint(p)).collect::<Vec<_>>();
    let builder = if tls.insecure_skip_verify || !pins.is_empty() {
        // Normal verification first (when there is any root to verify against), then the pins; in
        // insecure mode anything goes.
        let webpki = if roots.is_empty() {
            None
        } else {
            Some(
                rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| tls_error(format!("TLS setup failed: {e}"), "re-import the CA certificates"))?,
            )
        };
        let pins = if tls.insecure_skip_verify { None } else { Some(pins) };
        builder.dangerous().with_custom_certificate_verifier(Arc::new(Permissive::new(webpki, pins, None)))
    } else {
        builder.with_root_certificates(roots)
    };
    match &tls.client_identity_pem {
        None => Ok(builder.with_no_client_auth()),
        Some((cert_pem, key_pem)) => {
            use rustls::pki_types::pem::PemObject;
            let certs = parse_pem_certs(cert_pem)?;
            let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
                tls_error(
                    format!("the client key is not a PEM private key: {e}"),
                    "import the key that belongs to the client certificate",
                )
            })?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                tls_error(
                    format!("the client certificate and key do not fit together: {e}"),
                    "import the key that belongs to the client certificate",
                )
            })
        }
    }
}

/// Every certificate in a PEM blob; an error when there is none or one is damaged.
pub fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("not valid PEM: {e}"), "use the PEM file (-----BEGIN CERTIFICATE-----)"))?;
    if certs.is_empty() {
        return Err(tls_error("no certificate in this PEM data", "use the PEM file (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(certs)
}

/// SHA-256 of a DER certificate, lower-case hex.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(der))
}

fn normalize_fingerprint(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_hexdigit()).collect::<String>().to_ascii_lowercase()
}

/// Verifies normally; falls back to accepting a pinned certificate (by the SHA-256 of its DER), or
/// anything at all when `pins` is `None` (insecure mode). Records the chain when asked to.
#[derive(Debug)]
struct Permissive {
    /// Normal verification; `None` accepts any certificate (still checking handshake signatures).
    inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    pins: Option<Vec<String>>,
    seen: Option<Arc<Mutex<Vec<Vec<u8>>>>>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl Permissive {
    fn new(
        inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
        pins: Option<Vec<String>>,
        seen: Option<Arc<Mutex<Vec<Vec<u8>>>>>,
    ) -> Self {
        Permissive { inner, pins, seen, algorithms: provider().signature_verification_algorithms }
    }
}

impl ServerCertVerifier for Permissive {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(seen) = &self.seen {
            let mut chain = vec![end_entity.to_vec()];
            chain.extend(intermediates.iter().map(|c| c.to_vec()));
            *crate::client::lock(seen) = chain;
        }
        let verified = match &self.inner {
            Some(inner) => inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
        };
        match (verified, &self.pins) {
            (Ok(v), _) => Ok(v),
            (Err(_), None) => Ok(ServerCertVerified::assertion()),
            (Err(_), Some(pins)) if pins.contains(&fingerprint_sha256(end_entity)) => {
                Ok(ServerCertVerified::assertion())
            }
            (Err(e), Some(_)) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What a user needs to decide whether to trust a certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    pub is_ca: bool,
    pub self_signed: bool,
    /// DNS names and IP addresses from subjectAltName.
    pub names: Vec<String>,
    pub pem: String,
}

impl CertificateInfo {
    pub fn from_der(der: &[u8]) -> Result<CertificateInfo, Error> {
        use x509_parser::prelude::*;
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| tls_error(format!("not an X.509 certificate: {e}"), "use the PEM certificate file"))?;
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => names.push(d.to_string()),
                    GeneralName::IPAddress(ip) => names.push(if let Ok(v4) = <[u8; 4]>::try_from(*ip) {
                        std::net::Ipv4Addr::from(v4).to_string()
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*ip) {
                        std::net::Ipv6Addr::from(v6).to_string()
                    } else {
                        hex::encode(ip)
                    }),
                    _ => {}
                }
            }
        }
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(der)
        };
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap_or(""));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        Ok(CertificateInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.to_datetime().to_string(),
            not_after: cert.validity().not_after.to_datetime().to_string(),
            sha256: fingerprint_sha256(der),
            is_ca,
            self_signed: cert.subject() == cert.issuer(),
            names,
            pem,
        })
    }
}

/// Connects to `url` accepting any certificate, only to show the chain the server presents (leaf
/// first). Sends one `GET /v2/` and nothing secret.
pub async fn fetch_certificate_chain(url: &url::Url) -> Result<Vec<CertificateInfo>, Error> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string(), ""))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Permissive::new(None, None, Some(seen.clone()))))
        .with_no_client_auth();
    let http = http_with_config(config)?;
    let probe = url.join("v2/").unwrap_or_else(|_| url.clone());
    // Any HTTP answer will do: the handshake is what we came for.
    let _ = http.get(probe.clone()).send().await;
    let chain = crate::client::lock(&seen).clone();
    if chain.is_empty() {
        return Err(tls_error(format!("{probe}: no certificate was received"), "check that the URL's port speaks TLS"));
    }
    chain.iter().map(|der| CertificateInfo::from_der(der)).collect()
}
