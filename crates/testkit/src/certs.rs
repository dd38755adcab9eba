//! Test certificates (rcgen, ECDSA P-256).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// A certificate authority for tests.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    cert_pem: String,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "Berth tests");
    dn
}

fn validity(params: &mut CertificateParams) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(30);
}

fn serial(params: &mut CertificateParams) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut bytes = Vec::with_capacity(16);
    bytes.push(0x01); // keep it positive and non-zero
    bytes.extend_from_slice(&nanos.to_be_bytes());
    bytes.extend_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_be_bytes()[4..]);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&bytes));
}

impl TestCa {
    /// A new CA (`CA:TRUE`, keyCertSign + cRLSign) valid from yesterday for 30 days.
    pub fn new(cn: &str) -> TestCa {
        let key = KeyPair::generate().expect("generate CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name = dn(cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        validity(&mut params);
        serial(&mut params);
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestCa { cert_pem: cert.pem(), params, key }
    }

    /// PEM of the CA certificate.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// PEM (PKCS#8) of the CA key.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    fn issue(&self, mut params: CertificateParams) -> (String, String) {
        let key = KeyPair::generate().expect("generate leaf key");
        serial(&mut params);
        params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("sign leaf");
        (cert.pem(), key.serialize_pem())
    }

    fn server_params(names: &[&str]) -> CertificateParams {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("server params");
        params.distinguished_name = dn(names.first().map(String::as_str).unwrap_or("server"));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params);
        params
    }

    /// A server certificate for `names` (IP addresses become IP SANs, the rest DNS SANs).
    /// Returns (cert PEM, key PEM).
    pub fn issue_server(&self, names: &[&str]) -> (String, String) {
        self.issue(Self::server_params(names))
    }

    /// A client certificate (EKU clientAuth) with common name `cn`. Returns (cert PEM, key PEM).
    pub fn issue_client(&self, cn: &str) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name = dn(cn);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params);
        self.issue(params)
    }

    /// A server certificate that expired yesterday (valid from 10 days ago until 1 day ago).
    pub fn issue_expired_server(&self, names: &[&str]) -> (String, String) {
        let mut params = Self::server_params(names);
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(10);
        params.not_after = now - Duration::days(1);
        self.issue(params)
    }
}

/// A self-signed certificate the way `openssl req -x509` makes it: `basicConstraints=critical,CA:TRUE`
/// on the very certificate the server presents. Go clients accept it once trusted; rustls refuses
/// it (`CaUsedAsEndEntity`). Returns (cert PEM, key PEM).
pub fn self_signed_ca_leaf(names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().expect("generate key");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("params");
    params.distinguished_name = dn(names.first().map(String::as_str).unwrap_or("server"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    validity(&mut params);
    serial(&mut params);
    let cert = params.self_signed(&key).expect("self-sign");
    (cert.pem(), key.serialize_pem())
}

/// A self-signed end-entity certificate + key for signing tokens. Returns (cert PEM, cert DER, key PEM).
pub(crate) fn token_signer(cn: &str) -> (String, Vec<u8>, String) {
    let key = KeyPair::generate().expect("generate token key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = dn(cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params);
    serial(&mut params);
    let cert = params.self_signed(&key).expect("self-sign token signer");
    (cert.pem(), cert.der().to_vec(), key.serialize_pem())
}
