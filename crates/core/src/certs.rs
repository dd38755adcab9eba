//! Certificates: reading PEM files (rustls-pki-types' `PemObject`, x509-parser), refusing what is not
//! a usable certificate with a one-line reason, and keeping a profile's CA and client files under
//! `<data>/certs/<profile>/` (mode 0600, directory 0700).

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{PemObject, SectionKind};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{ApiError, ErrorCode};

/// One certificate as `berth cert show` and the window show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CertificateDetail {
    pub subject: String,
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// SHA-256 of the DER encoding, lower-case hex.
    pub sha256_fingerprint: String,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    pub self_signed: bool,
    /// Past its notAfter now.
    pub expired: bool,
    /// DNS names and IP addresses from subjectAltName.
    pub names: Vec<String>,
}

/// A parsed certificate and its DER.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    pub der: Vec<u8>,
    pub detail: CertificateDetail,
}

impl ParsedCert {
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

fn invalid(message: impl Into<String>, hint: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message, hint)
}

const CERT_HINT: &str = "choose a PEM certificate file (it starts with -----BEGIN CERTIFICATE-----)";

fn rfc3339(t: ::time::OffsetDateTime) -> String {
    t.format(&::time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Parses one DER certificate.
pub(crate) fn parse_der(der: &[u8]) -> Result<CertificateDetail, String> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => names.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                    16 => {
                        if let Ok(b) = <[u8; 16]>::try_from(*ip) {
                            names.push(std::net::Ipv6Addr::from(b).to_string())
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let not_after = cert.validity().not_after.to_datetime();
    Ok(CertificateDetail {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: rfc3339(cert.validity().not_before.to_datetime()),
        not_after: rfc3339(not_after),
        sha256_fingerprint: berth_registry::fingerprint_sha256(der),
        is_ca,
        self_signed: cert.subject() == cert.issuer(),
        expired: not_after < ::time::OffsetDateTime::now_utc(),
        names,
    })
}

fn section_name(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "certificate",
        SectionKind::PublicKey => "public key",
        SectionKind::RsaPrivateKey | SectionKind::PrivateKey | SectionKind::EcPrivateKey => "private key",
        SectionKind::Crl => "certificate revocation list",
        SectionKind::Csr => "certificate signing request",
        _ => "PEM object",
    }
}

/// Every certificate in a PEM file, or a one-line reason why it has none: empty, DER, a private key,
/// text or garbage, damaged PEM. `what` names the file in messages.
pub(crate) fn parse_pem_certificates(bytes: &[u8], what: &str) -> Result<Vec<ParsedCert>, ApiError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(invalid(format!("{what} is empty"), CERT_HINT));
    }
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("-----BEGIN ") {
        if bytes.first() == Some(&0x30) && parse_der(bytes).is_ok() {
            return Err(invalid(
                format!("{what} is a DER (binary) certificate, not PEM"),
                format!("convert it first: openssl x509 -inform der -in {what} -out cert.pem"),
            ));
        }
        return Err(invalid(format!("{what} is not PEM: it has no -----BEGIN CERTIFICATE----- block"), CERT_HINT));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(invalid(
            format!("{what} holds an encrypted private key, not a certificate"),
            "choose the certificate; a client key goes with --client-key",
        ));
    }
    let mut certs = Vec::new();
    let mut others = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = section
            .map_err(|e| invalid(format!("{what} is damaged PEM: {}", one_line(&format!("{e:?}"))), CERT_HINT))?;
        if kind == SectionKind::Certificate {
            let detail = parse_der(&der).map_err(|e| {
                invalid(
                    format!("{what} has a CERTIFICATE block that is not an X.509 certificate ({})", one_line(&e)),
                    CERT_HINT,
                )
            })?;
            certs.push(ParsedCert { der, detail });
        } else {
            others.push(kind);
        }
    }
    if certs.is_empty() {
        return Err(match others.first() {
            Some(k) if section_name(*k) == "private key" => invalid(
                format!("{what} holds a private key, not a certificate"),
                "choose the certificate (-----BEGIN CERTIFICATE-----); a client key goes with --client-key",
            ),
            Some(k) => invalid(format!("{what} holds a {}, not a certificate", section_name(*k)), CERT_HINT),
            None => invalid(format!("{what} has no certificate in it"), CERT_HINT),
        });
    }
    Ok(certs)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ApiError> {
    std::fs::read(path)
        .map_err(|e| invalid(format!("cannot read {}: {}", path.display(), one_line(&e.to_string())), "check the path"))
}

/// `berth cert show FILE`: every certificate in a PEM file (expired ones included, flagged).
pub fn show_certificate_file(path: &Path) -> Result<Vec<CertificateDetail>, ApiError> {
    let bytes = read_file(path)?;
    Ok(parse_pem_certificates(&bytes, &path.display().to_string())?.into_iter().map(|c| c.detail).collect())
}

/// A CA bundle for import into a profile: every certificate must be current.
pub(crate) fn check_ca_import(certs: &[ParsedCert], what: &str) -> Result<(), ApiError> {
    for c in certs {
        if c.detail.expired {
            return Err(invalid(
                format!("{what}: the certificate \"{}\" expired on {}", c.detail.subject, c.detail.not_after),
                "get the current CA certificate from the registry's administrator",
            ));
        }
    }
    Ok(())
}

/// Reads a CA file for import: PEM certificates only, none expired.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<ParsedCert>, ApiError> {
    let what = path.display().to_string();
    let certs = parse_pem_certificates(&read_file(path)?, &what)?;
    check_ca_import(&certs, &what)?;
    Ok(certs)
}

/// A client private key as read from a PEM file.
#[derive(Clone)]
pub(crate) struct ClientKey {
    pub pem: Vec<u8>,
    /// PKCS#8 `ENCRYPTED PRIVATE KEY`: needs the passphrase from the keyring.
    pub encrypted: bool,
}

/// Reads and checks a client key file: a plain PEM private key, or an encrypted PKCS#8 one.
pub(crate) fn load_client_key(path: &Path) -> Result<ClientKey, ApiError> {
    let what = path.display().to_string();
    let bytes = read_file(path)?;
    classify_client_key(bytes, &what)
}

pub(crate) fn classify_client_key(bytes: Vec<u8>, what: &str) -> Result<ClientKey, ApiError> {
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(invalid(
            format!("{what} is a legacy OpenSSL-encrypted key, which Berth cannot read"),
            format!("convert it to encrypted PKCS#8: openssl pkcs8 -topk8 -v2 aes-256-cbc -in {what} -out client.key"),
        ));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let der = pem_section(&text, "ENCRYPTED PRIVATE KEY")
            .ok_or_else(|| invalid(format!("{what} is a damaged encrypted key"), "export the key again"))?;
        pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| {
            invalid(format!("{what} is a damaged encrypted key: {e}"), "export the key again as PKCS#8")
        })?;
        return Ok(ClientKey { pem: bytes, encrypted: true });
    }
    match rustls_pki_types::PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(_) => Ok(ClientKey { pem: bytes, encrypted: false }),
        Err(_) if text.contains("-----BEGIN CERTIFICATE-----") => Err(invalid(
            format!("{what} is a certificate, not a private key"),
            "choose the key file as the key, and this file as the client certificate",
        )
        .with_fix(crate::FixAction::Command, "--client-cert CERT_FILE --client-key KEY_FILE")),
        Err(_) => Err(invalid(
            format!("{what} is not a PEM private key"),
            "choose the key file (-----BEGIN PRIVATE KEY-----, RSA or EC PRIVATE KEY)",
        )),
    }
}

fn pem_section(text: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Decrypts an encrypted PKCS#8 key into a plain `PRIVATE KEY` PEM (in memory only).
pub(crate) fn decrypt_client_key(key: &ClientKey, passphrase: &str, what: &str) -> Result<Vec<u8>, ApiError> {
    if !key.encrypted {
        return Ok(key.pem.clone());
    }
    let text = String::from_utf8_lossy(&key.pem);
    let der = pem_section(&text, "ENCRYPTED PRIVATE KEY")
        .ok_or_else(|| invalid(format!("{what} is a damaged encrypted key"), "export the key again"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| invalid(format!("{what} is a damaged encrypted key: {e}"), "export the key again as PKCS#8"))?;
    let doc = info.decrypt(passphrase).map_err(|_| {
        invalid(format!("the passphrase does not decrypt the client key {what}"), "give the key's passphrase again")
            .with_fix(crate::FixAction::Command, "--key-passphrase-stdin")
    })?;
    Ok(pem_encode("PRIVATE KEY", doc.as_bytes()).into_bytes())
}

/// `<data>/certs/<profile>`.
pub(crate) fn profile_dir(data_dir: &Path, profile: &str) -> PathBuf {
    data_dir.join("certs").join(profile)
}

/// `certs/<profile>/<file>`, the form stored in SQLite (relative to the data directory).
pub(crate) fn relative(profile: &str, file: &str) -> String {
    format!("certs/{profile}/{file}")
}

/// `ca-<first 16 hex digits of the SHA-256>.pem`.
pub(crate) fn ca_file_name(sha256: &str) -> String {
    format!("ca-{}.pem", &sha256[..16.min(sha256.len())])
}

/// Writes a file readable only by the user, in a directory only the user can enter.
pub(crate) fn write_private(data_dir: &Path, rel: &str, bytes: &[u8]) -> Result<PathBuf, ApiError> {
    use std::io::Write;
    let path = data_dir.join(rel);
    let fail = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::Storage,
            format!("cannot write {}: {}", path.display(), one_line(&e.to_string())),
            "check that the data directory is writable (BERTH_DATA_DIR or --data-dir chooses another)",
        )
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
        set_mode(dir, 0o700).map_err(fail)?;
        if let Some(certs) = dir.parent() {
            set_mode(certs, 0o700).map_err(fail)?;
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(fail)?;
    set_mode(&path, 0o600).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    Ok(path)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Removes every file of `<data>/certs/<profile>/` that `keep` (relative paths) does not name, and
/// the directory itself when nothing is left.
pub(crate) fn prune_profile_dir(data_dir: &Path, profile: &str, keep: &[String]) {
    let dir = profile_dir(data_dir, profile);
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !keep.iter().any(|k| *k == relative(profile, &name)) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let _ = std::fs::remove_dir(&dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_one_line() {
        for (bytes, needle) in [
            (&b""[..], "is empty"),
            (&b"  \n"[..], "is empty"),
            (&b"hello, world\n"[..], "is not PEM"),
            (&b"\x00\xff\x13garbage"[..], "is not PEM"),
            (&b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"[..], "private key"),
            (&b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"[..], "damaged PEM"),
            (&b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"[..], "not an X.509"),
        ] {
            let e = parse_pem_certificates(bytes, "f.pem").unwrap_err();
            assert!(e.message.contains(needle), "{:?}: {}", String::from_utf8_lossy(bytes), e.message);
            assert!(!e.message.contains('\n') && !e.hint.contains('\n'), "{e:?}");
        }
    }

    #[test]
    fn pem_round_trip() {
        let pem = pem_encode("CERTIFICATE", b"\x01\x02\x03");
        assert_eq!(pem_section(&pem, "CERTIFICATE").unwrap(), b"\x01\x02\x03");
        assert_eq!(ca_file_name(&"ab".repeat(32)), "ca-abababababababab.pem");
    }
}
