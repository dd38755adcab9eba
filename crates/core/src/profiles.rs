//! Profiles: create, edit, duplicate, delete, export and import (without secrets); trust on first
//! use; and the registry client a profile describes (credentials from the OS keyring, TLS from the
//! profile's files).
//!
//! Secrets (password or token, client-key passphrase) go to the OS keyring only. SQLite records
//! whether one is set; views say `has_password`; export files never hold them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_registry::{Credentials, RegistryClient, TlsOptions};
use berth_secrets::{Secret, SecretError, SecretKind, SecretStore};
use berth_store::{AuthMode, CaRecord, GcSettings, NewProfile, ProfileKind, ProfileRow, ProfileSettings};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::certs::{self, CertificateDetail, ParsedCert};
use crate::{validate_profile_name, ApiError, Berth, ErrorCode};

// ---------------------------------------------------------------------------------------------
// Views and requests (exported to TypeScript)

/// A profile as front ends see it. Never holds a secret: only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProfileView {
    pub name: String,
    pub url: String,
    /// `registry`, `nexus` or `harbor`.
    pub kind: String,
    /// `none`, `basic` or `token` (token: the same username and password, sent to the token
    /// service the registry's challenge names).
    pub auth: String,
    pub username: Option<String>,
    /// Whether the OS keyring holds a password (or token) for this profile.
    pub has_password: bool,
    pub tls: TlsView,
    pub gc: GcSettingsView,
    /// Things the user should know: verification off, plain HTTP with a password, an expired CA…
    pub warnings: Vec<String>,
    /// What its backend can do: the window shows tabs and buttons from this, never from `kind`.
    pub capabilities: berth_backend::Capabilities,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TlsView {
    /// The operating system's CA certificates are always trusted too.
    pub system_roots: bool,
    /// CA certificates imported into this profile.
    pub cas: Vec<CaView>,
    pub client_cert: Option<ClientCertView>,
    /// Whether the OS keyring holds the client key's passphrase.
    pub has_key_passphrase: bool,
    /// SHA-256 fingerprints of server certificates trusted as they are.
    pub pinned_sha256: Vec<String>,
    /// Certificate verification is off: the window shows a warning.
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CaView {
    pub subject: String,
    pub sha256_fingerprint: String,
    pub not_after: String,
    pub expired: bool,
    /// The PEM file in the data directory.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ClientCertView {
    /// Empty when the file is missing or unreadable (see `warnings`).
    pub subject: String,
    pub not_after: String,
    pub sha256_fingerprint: String,
    pub cert_file: String,
    pub key_file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GcSettingsView {
    pub command: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A new profile. Only `name` and `url` are required; files are paths on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
#[ts(optional_fields)]
pub struct AddProfileRequest {
    pub name: String,
    pub url: String,
    /// `registry` (default), `nexus` or `harbor`.
    pub kind: Option<String>,
    /// `none`, `basic` or `token`; default: `basic` with a username, else `none`.
    pub auth: Option<String>,
    pub username: Option<String>,
    /// Goes to the OS keyring, nowhere else.
    #[ts(optional, as = "Option<String>")]
    pub password: Option<Secret>,
    /// PEM files of CA certificates to trust (in addition to the system roots).
    pub ca_files: Option<Vec<String>>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// For an encrypted (PKCS#8) client key; goes to the OS keyring.
    #[ts(optional, as = "Option<String>")]
    pub key_passphrase: Option<Secret>,
    pub insecure_skip_verify: Option<bool>,
    /// SHA-256 fingerprints of server certificates to trust as they are.
    pub pinned_sha256: Option<Vec<String>>,
}

/// Changes to a profile; every field is optional and `None` keeps what is there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
#[ts(optional_fields)]
pub struct EditProfileRequest {
    pub url: Option<String>,
    pub kind: Option<String>,
    pub auth: Option<String>,
    /// An empty string removes the username (and the auth).
    pub username: Option<String>,
    #[ts(optional, as = "Option<String>")]
    pub password: Option<Secret>,
    /// Removes the stored password.
    pub clear_password: Option<bool>,
    /// More CA files to trust.
    pub ca_files: Option<Vec<String>>,
    /// Forget the imported CAs (before adding `ca_files`).
    pub clear_cas: Option<bool>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub clear_client_cert: Option<bool>,
    #[ts(optional, as = "Option<String>")]
    pub key_passphrase: Option<Secret>,
    pub insecure_skip_verify: Option<bool>,
    pub pinned_sha256: Option<Vec<String>>,
    pub clear_pins: Option<bool>,
    /// How to run `registry garbage-collect` where the registry lives (a shell command line; empty clears).
    pub gc_command: Option<String>,
    /// Run before GC (e.g. put the registry in read-only mode); empty clears.
    pub gc_before: Option<String>,
    /// Run after GC, also when it failed (e.g. leave read-only mode and restart); empty clears.
    pub gc_after: Option<String>,
}

/// A profile as a JSON file: everything but secrets (no password, no client key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileExport {
    /// `berth-profile/1`.
    pub format: String,
    pub name: String,
    pub url: String,
    pub kind: String,
    pub auth: String,
    pub username: Option<String>,
    pub tls: TlsExport,
    #[serde(default)]
    pub gc: GcSettingsView,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TlsExport {
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub pinned_sha256: Vec<String>,
    /// PEM of each imported CA certificate.
    #[serde(default)]
    pub ca_certificates: Vec<String>,
}

pub const EXPORT_FORMAT: &str = "berth-profile/1";

/// What `trust` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TrustResult {
    pub profile: ProfileView,
    /// The certificate imported as a CA, or pinned.
    pub certificate: CertificateDetail,
    /// `ca` or `pin`.
    pub mode: String,
}

// ---------------------------------------------------------------------------------------------
// Errors and keyring plumbing

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        ApiError::new(ErrorCode::Keyring, e.to_string(), e.hint())
    }
}

fn invalid(message: impl Into<String>, hint: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message, hint)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string(), "")
}

/// Runs a (blocking, D-Bus) keyring operation off the async threads.
pub(crate) async fn keyring<T: Send + 'static>(
    store: &Arc<dyn SecretStore>,
    f: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&*store)).await.map_err(internal)?.map_err(ApiError::from)
}

#[derive(Debug, Clone, Default)]
pub(crate) enum SecretChange {
    #[default]
    Keep,
    Set(Secret),
    Delete,
}

impl SecretChange {
    fn from_parts(set: Option<Secret>, delete: bool) -> Result<SecretChange, ApiError> {
        match (set, delete) {
            (Some(s), _) if s.is_empty() => Err(invalid("the password is empty", "give a non-empty password")),
            (Some(_), true) => Err(invalid("both a new password and no password", "give one or the other")),
            (Some(s), false) => Ok(SecretChange::Set(s)),
            (None, true) => Ok(SecretChange::Delete),
            (None, false) => Ok(SecretChange::Keep),
        }
    }
}

/// Applies secret changes for `profile`; the self-check runs first whenever a secret is written,
/// so that no one is told a password was saved into a store that forgets it.
async fn apply_secrets(
    store: &Arc<dyn SecretStore>,
    profile: &str,
    password: &SecretChange,
    passphrase: &SecretChange,
) -> Result<(), ApiError> {
    let writes = matches!(password, SecretChange::Set(_)) || matches!(passphrase, SecretChange::Set(_));
    if matches!(password, SecretChange::Keep) && matches!(passphrase, SecretChange::Keep) {
        return Ok(());
    }
    let (profile, password, passphrase) = (profile.to_string(), password.clone(), passphrase.clone());
    keyring(store, move |s| {
        if writes {
            s.self_check()?;
        }
        for (kind, change) in [(SecretKind::Password, &password), (SecretKind::KeyPassphrase, &passphrase)] {
            match change {
                SecretChange::Keep => {}
                SecretChange::Set(v) => s.set(&profile, kind, v)?,
                SecretChange::Delete => {
                    s.delete(&profile, kind)?;
                }
            }
        }
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Views

pub(crate) fn view(data_dir: &Path, row: ProfileRow) -> ProfileView {
    let s = &row.settings;
    let mut warnings = Vec::new();
    if s.insecure_skip_verify {
        warnings
            .push("TLS certificate verification is off: anyone between you and the registry can impersonate it".into());
    }
    if row.url.starts_with("http://") && s.has_password {
        warnings.push("plain HTTP: the password travels unencrypted".into());
    }
    let cas = s
        .cas
        .iter()
        .map(|c| {
            let expired = time::OffsetDateTime::parse(&c.not_after, &time::format_description::well_known::Rfc3339)
                .is_ok_and(|t| t < time::OffsetDateTime::now_utc());
            if expired {
                warnings.push(format!("the imported CA \"{}\" expired on {}", c.subject, c.not_after));
            }
            if !data_dir.join(&c.file).is_file() {
                warnings.push(format!("the CA file {} is missing", data_dir.join(&c.file).display()));
            }
            CaView {
                subject: c.subject.clone(),
                sha256_fingerprint: c.sha256.clone(),
                not_after: c.not_after.clone(),
                expired,
                file: data_dir.join(&c.file).display().to_string(),
            }
        })
        .collect();
    let client_cert = match (&s.client_cert_file, &s.client_key_file) {
        (Some(cert), Some(key)) => {
            let cert_path = data_dir.join(cert);
            let parsed = std::fs::read(&cert_path)
                .ok()
                .and_then(|b| certs::parse_pem_certificates(&b, cert).ok())
                .and_then(|v| v.into_iter().next());
            match &parsed {
                None => {
                    warnings.push(format!("the client certificate {} is missing or unreadable", cert_path.display()))
                }
                Some(p) if p.detail.expired => {
                    warnings.push(format!("the client certificate expired on {}", p.detail.not_after))
                }
                Some(_) => {}
            }
            Some(ClientCertView {
                subject: parsed.as_ref().map(|p| p.detail.subject.clone()).unwrap_or_default(),
                not_after: parsed.as_ref().map(|p| p.detail.not_after.clone()).unwrap_or_default(),
                sha256_fingerprint: parsed.as_ref().map(|p| p.detail.sha256_fingerprint.clone()).unwrap_or_default(),
                cert_file: cert_path.display().to_string(),
                key_file: data_dir.join(key).display().to_string(),
            })
        }
        _ => None,
    };
    ProfileView {
        name: row.name,
        url: row.url,
        kind: row.kind.as_str().to_string(),
        auth: s.auth.as_str().to_string(),
        username: row.username,
        has_password: s.has_password,
        tls: TlsView {
            system_roots: true,
            cas,
            client_cert,
            has_key_passphrase: s.has_key_passphrase,
            pinned_sha256: s.pinned_sha256.clone(),
            insecure_skip_verify: s.insecure_skip_verify,
        },
        gc: GcSettingsView { command: s.gc.command.clone(), before: s.gc.before.clone(), after: s.gc.after.clone() },
        warnings,
        capabilities: crate::session::capabilities_of(row.kind, false),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

// ---------------------------------------------------------------------------------------------
// Drafts: a profile's next state, validated, with the files to write

/// What a request asks to change, in one shape for add, edit, import, trust and docker import.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub url: Option<String>,
    pub kind: Option<String>,
    pub auth: Option<String>,
    /// `Some("")` removes the username.
    pub username: Option<String>,
    pub password: SecretChange,
    pub key_passphrase: SecretChange,
    pub ca_files: Vec<PathBuf>,
    /// (where it came from, PEM)
    pub ca_pems: Vec<(String, Vec<u8>)>,
    pub clear_cas: bool,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub clear_client_cert: bool,
    pub insecure_skip_verify: Option<bool>,
    pub pins: Vec<String>,
    pub clear_pins: bool,
    pub gc: Option<GcSettings>,
}

impl Changes {
    pub(crate) fn set_password(&mut self, password: Option<Secret>) -> Result<(), ApiError> {
        self.password = SecretChange::from_parts(password, false)?;
        Ok(())
    }
}

struct Draft {
    profile: NewProfile,
    settings: ProfileSettings,
    /// (relative path, bytes) to write before saving.
    files: Vec<(String, Vec<u8>)>,
    password: SecretChange,
    key_passphrase: SecretChange,
}

fn parse_kind(s: &str) -> Result<ProfileKind, ApiError> {
    s.trim().to_ascii_lowercase().parse().map_err(|e: String| invalid(e, "use --kind registry, nexus or harbor"))
}

fn parse_auth(s: &str) -> Result<AuthMode, ApiError> {
    s.trim().to_ascii_lowercase().parse().map_err(|e: String| invalid(e, "use --auth none, basic or token"))
}

/// Lower-case hex without separators; 64 digits.
pub(crate) fn normalize_fingerprint(s: &str) -> Result<String, ApiError> {
    let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ' | '-')).collect::<String>().to_ascii_lowercase();
    let hex = hex.strip_prefix("sha256").map(|h| h.trim_start_matches(['=', ':'])).unwrap_or(&hex).to_string();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(invalid(
            format!("{s:?} is not a SHA-256 fingerprint"),
            "give 64 hex digits (colons allowed), as the certificate's details show its SHA-256 fingerprint",
        )
        .with_fix(crate::FixAction::Command, "berth cert show FILE"))
    }
}

fn add_cas(draft: &mut Draft, certs: Vec<ParsedCert>) {
    let name = draft.profile.name.clone();
    for c in certs {
        let sha = c.detail.sha256_fingerprint.clone();
        if draft.settings.cas.iter().any(|r| r.sha256 == sha) {
            continue;
        }
        let rel = certs::relative(&name, &certs::ca_file_name(&sha));
        draft.files.push((rel.clone(), c.pem().into_bytes()));
        draft.settings.cas.push(CaRecord {
            sha256: sha,
            subject: c.detail.subject.clone(),
            not_after: c.detail.not_after.clone(),
            file: rel,
        });
    }
}

impl Draft {
    fn new(name: &str, url: &str) -> Draft {
        Draft {
            profile: NewProfile { name: name.into(), url: url.into(), kind: ProfileKind::Registry, username: None },
            settings: ProfileSettings::default(),
            files: Vec::new(),
            password: SecretChange::Keep,
            key_passphrase: SecretChange::Keep,
        }
    }

    fn from_row(row: &ProfileRow) -> Draft {
        Draft {
            profile: NewProfile {
                name: row.name.clone(),
                url: row.url.clone(),
                kind: row.kind,
                username: row.username.clone(),
            },
            settings: row.settings.clone(),
            files: Vec::new(),
            password: SecretChange::Keep,
            key_passphrase: SecretChange::Keep,
        }
    }

    /// Validates `c` against the current state and stages it. Nothing is written yet.
    fn apply(&mut self, c: Changes) -> Result<(), ApiError> {
        if let Some(url) = &c.url {
            self.profile.url = berth_registry::parse_registry_url(url)?.to_string();
        }
        if let Some(k) = &c.kind {
            self.profile.kind = parse_kind(k)?;
        }
        if let Some(u) = &c.username {
            let u = u.trim();
            if u.contains(':') {
                return Err(invalid("a username cannot contain ':'", "check the username"));
            }
            self.profile.username = (!u.is_empty()).then(|| u.to_string());
            if c.auth.is_none() {
                self.settings.auth = match (&self.profile.username, self.settings.auth) {
                    (None, _) => AuthMode::None,
                    (Some(_), AuthMode::None) => AuthMode::Basic,
                    (Some(_), other) => other,
                };
            }
        }
        if let Some(a) = &c.auth {
            self.settings.auth = parse_auth(a)?;
        }
        if self.settings.auth != AuthMode::None && self.profile.username.is_none() {
            return Err(invalid(
                format!("{} auth needs a username", self.settings.auth.as_str()),
                "give a username (and its password)",
            )
            .edit(&self.profile.name, crate::ProfileField::Username, "--username USER --password-stdin"));
        }
        match &c.password {
            SecretChange::Set(_) if self.profile.username.is_none() => {
                return Err(invalid("a password needs a username", "give --username USER"));
            }
            SecretChange::Set(_) => self.settings.has_password = true,
            SecretChange::Delete => self.settings.has_password = false,
            SecretChange::Keep if self.profile.username.is_none() && self.settings.has_password => {
                // Removing the username removes the password with it.
                self.password = SecretChange::Delete;
                self.settings.has_password = false;
            }
            SecretChange::Keep => {}
        }
        if !matches!(c.password, SecretChange::Keep) {
            self.password = c.password.clone();
        }

        // CAs.
        if c.clear_cas {
            self.settings.cas.clear();
        }
        for path in &c.ca_files {
            let certs = certs::load_ca_file(path)?;
            add_cas(self, certs);
        }
        for (what, pem) in &c.ca_pems {
            let certs = certs::parse_pem_certificates(pem, what)?;
            certs::check_ca_import(&certs, what)?;
            add_cas(self, certs);
        }

        // Pins and insecure mode.
        if c.clear_pins {
            self.settings.pinned_sha256.clear();
        }
        for p in &c.pins {
            let p = normalize_fingerprint(p)?;
            if !self.settings.pinned_sha256.contains(&p) {
                self.settings.pinned_sha256.push(p);
            }
        }
        if let Some(i) = c.insecure_skip_verify {
            self.settings.insecure_skip_verify = i;
        }
        if let Some(gc) = c.gc {
            self.settings.gc = gc;
        }

        // Client certificate and key (mTLS).
        if c.clear_client_cert {
            self.settings.client_cert_file = None;
            self.settings.client_key_file = None;
            if self.settings.has_key_passphrase {
                self.key_passphrase = SecretChange::Delete;
                self.settings.has_key_passphrase = false;
            }
        }
        match (&c.client_cert, &c.client_key) {
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "a client certificate needs its key (and a key its certificate)",
                    "give both the client certificate and its key",
                )
                .edit(
                    &self.profile.name,
                    crate::ProfileField::ClientCertificate,
                    "--client-cert FILE --client-key FILE",
                ));
            }
            (Some(cert_path), Some(key_path)) => {
                let what = cert_path.display().to_string();
                let chain = certs::parse_pem_certificates(&certs::read_file(cert_path)?, &what)?;
                if let Some(c) = chain.iter().find(|c| c.detail.expired) {
                    return Err(invalid(
                        format!(
                            "{what}: the client certificate \"{}\" expired on {}",
                            c.detail.subject, c.detail.not_after
                        ),
                        "ask for a new client certificate",
                    ));
                }
                let key = certs::load_client_key(key_path)?;
                let sha = chain[0].detail.sha256_fingerprint.clone();
                let cert_pem: String = chain.iter().map(ParsedCert::pem).collect();
                let name = self.profile.name.clone();
                let cert_rel = certs::relative(&name, &format!("client-{}.cert", &sha[..16]));
                let key_rel = certs::relative(&name, &format!("client-{}.key", &sha[..16]));
                // The key must fit the certificate (and decrypt, when encrypted).
                let passphrase = match (&c.key_passphrase, key.encrypted) {
                    (SecretChange::Set(p), _) => Some(p.clone()),
                    (_, true) => {
                        return Err(invalid(
                            format!("the client key {} is encrypted", key_path.display()),
                            "give its passphrase",
                        )
                        .edit(
                            &name,
                            crate::ProfileField::KeyPassphrase,
                            "--key-passphrase-stdin",
                        ))
                    }
                    (_, false) => None,
                };
                let plain = certs::decrypt_client_key(
                    &key,
                    passphrase.as_ref().map(Secret::expose).unwrap_or(""),
                    &key_path.display().to_string(),
                )?;
                let tls = TlsOptions {
                    client_identity_pem: Some((cert_pem.clone().into_bytes(), plain)),
                    ..TlsOptions::default()
                };
                RegistryClient::new(&self.profile.url, Credentials::Anonymous, &tls)?;
                self.files.push((cert_rel.clone(), cert_pem.into_bytes()));
                self.files.push((key_rel.clone(), key.pem.clone()));
                self.settings.client_cert_file = Some(cert_rel);
                self.settings.client_key_file = Some(key_rel);
                if key.encrypted {
                    self.settings.has_key_passphrase = true;
                    self.key_passphrase = c.key_passphrase.clone();
                } else if self.settings.has_key_passphrase {
                    self.settings.has_key_passphrase = false;
                    self.key_passphrase = SecretChange::Delete;
                }
            }
        }
        if c.client_cert.is_none() {
            if let SecretChange::Set(_) = &c.key_passphrase {
                if !self.settings.has_key_passphrase && self.settings.client_key_file.is_none() {
                    return Err(invalid(
                        "a key passphrase without a client key",
                        "give the client certificate and its key with it",
                    )
                    .edit(
                        &self.profile.name,
                        crate::ProfileField::ClientCertificate,
                        "--client-cert FILE --client-key FILE",
                    ));
                }
                self.settings.has_key_passphrase = true;
                self.key_passphrase = c.key_passphrase.clone();
            }
        }
        Ok(())
    }

    /// Files the saved row refers to (relative paths).
    fn referenced(settings: &ProfileSettings) -> Vec<String> {
        let mut keep: Vec<String> = settings.cas.iter().map(|c| c.file.clone()).collect();
        keep.extend(settings.client_cert_file.clone());
        keep.extend(settings.client_key_file.clone());
        keep
    }

    fn write_files(&self, data_dir: &Path) -> Result<(), ApiError> {
        for (rel, bytes) in &self.files {
            certs::write_private(data_dir, rel, bytes)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

fn changes_from_add(req: &AddProfileRequest) -> Result<Changes, ApiError> {
    let mut c = Changes {
        url: Some(req.url.clone()),
        kind: req.kind.clone(),
        auth: req.auth.clone(),
        username: req.username.clone(),
        ca_files: req.ca_files.iter().flatten().map(PathBuf::from).collect(),
        client_cert: req.client_cert.as_ref().map(PathBuf::from),
        client_key: req.client_key.as_ref().map(PathBuf::from),
        insecure_skip_verify: req.insecure_skip_verify,
        pins: req.pinned_sha256.clone().unwrap_or_default(),
        ..Changes::default()
    };
    c.password = SecretChange::from_parts(req.password.clone(), false)?;
    c.key_passphrase = SecretChange::from_parts(req.key_passphrase.clone(), false)?;
    Ok(c)
}

fn changes_from_edit(req: &EditProfileRequest) -> Result<Changes, ApiError> {
    let mut c = Changes {
        url: req.url.clone(),
        kind: req.kind.clone(),
        auth: req.auth.clone(),
        username: req.username.clone(),
        ca_files: req.ca_files.iter().flatten().map(PathBuf::from).collect(),
        clear_cas: req.clear_cas.unwrap_or(false),
        client_cert: req.client_cert.as_ref().map(PathBuf::from),
        client_key: req.client_key.as_ref().map(PathBuf::from),
        clear_client_cert: req.clear_client_cert.unwrap_or(false),
        insecure_skip_verify: req.insecure_skip_verify,
        pins: req.pinned_sha256.clone().unwrap_or_default(),
        clear_pins: req.clear_pins.unwrap_or(false),
        ..Changes::default()
    };
    c.password = SecretChange::from_parts(req.password.clone(), req.clear_password.unwrap_or(false))?;
    c.key_passphrase = SecretChange::from_parts(req.key_passphrase.clone(), false)?;
    Ok(c)
}

async fn ensure_absent(berth: &Berth, name: &str) -> Result<(), ApiError> {
    match berth.store().profile(name).await {
        Ok(_) => Err(berth_store::StoreError::ProfileExists(name.to_string()).into()),
        Err(berth_store::StoreError::ProfileNotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates a profile from `changes` (the URL is required): validate everything, check the keyring
/// (self-check) and store the secrets, write the files, insert the row. Undone on failure.
pub(crate) async fn create(berth: &Berth, name: &str, changes: Changes) -> Result<ProfileView, ApiError> {
    let name = name.trim().to_string();
    validate_profile_name(&name)?;
    ensure_absent(berth, &name).await?;
    let url = changes.url.clone().ok_or_else(|| invalid("a profile needs a URL", "give --url"))?;
    let mut draft = Draft::new(&name, &url);
    draft.apply(changes)?;
    apply_secrets(&berth.secrets, &name, &draft.password, &draft.key_passphrase).await?;
    let undo_secrets = |berth: &Berth, name: String| {
        let store = berth.secrets.clone();
        async move {
            let _ = keyring(&store, move |s| {
                s.delete(&name, SecretKind::Password)?;
                s.delete(&name, SecretKind::KeyPassphrase)
            })
            .await;
        }
    };
    let wrote_secret =
        matches!(draft.password, SecretChange::Set(_)) || matches!(draft.key_passphrase, SecretChange::Set(_));
    let saved = match draft.write_files(berth.data_dir()) {
        Ok(()) => berth.store().create_profile(&draft.profile, &draft.settings).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(row) => Ok(view(berth.data_dir(), row)),
        Err(e) => {
            certs::prune_profile_dir(berth.data_dir(), &name, &[]);
            if wrote_secret {
                undo_secrets(berth, name.clone()).await;
            }
            Err(e)
        }
    }
}

pub(crate) async fn add(berth: &Berth, req: AddProfileRequest) -> Result<ProfileView, ApiError> {
    let changes = changes_from_add(&req)?;
    create(berth, &req.name, changes).await
}

/// Applies `changes` to an existing profile.
pub(crate) async fn update(berth: &Berth, name: &str, changes: Changes) -> Result<ProfileView, ApiError> {
    let row = berth.store().profile(name).await?;
    let mut draft = Draft::from_row(&row);
    draft.apply(changes)?;
    apply_secrets(&berth.secrets, name, &draft.password, &draft.key_passphrase).await?;
    let old_files = Draft::referenced(&row.settings);
    let saved = match draft.write_files(berth.data_dir()) {
        Ok(()) => berth.store().update_profile(row.id, &draft.profile, &draft.settings).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(new_row) => {
            certs::prune_profile_dir(berth.data_dir(), name, &Draft::referenced(&new_row.settings));
            Ok(view(berth.data_dir(), new_row))
        }
        Err(e) => {
            // Remove what this attempt wrote; keep what the saved row still refers to.
            certs::prune_profile_dir(berth.data_dir(), name, &old_files);
            Err(e)
        }
    }
}

pub(crate) async fn edit(berth: &Berth, name: &str, req: EditProfileRequest) -> Result<ProfileView, ApiError> {
    let mut changes = changes_from_edit(&req)?;
    if req.gc_command.is_some() || req.gc_before.is_some() || req.gc_after.is_some() {
        let mut gc = berth.store().profile(name).await?.settings.gc;
        for (value, slot) in
            [(&req.gc_command, &mut gc.command), (&req.gc_before, &mut gc.before), (&req.gc_after, &mut gc.after)]
        {
            if let Some(v) = value {
                *slot = Some(v.trim().to_string()).filter(|v| !v.is_empty());
            }
        }
        if let Some(c) = &gc.command {
            berth_backend::dry_run_command(c).map_err(|e| {
                ApiError::from(e).edit(
                    name,
                    crate::ProfileField::GcCommand,
                    format!("berth profile edit {name} --gc-command 'registry garbage-collect /etc/docker/registry/config.yml'"),
                )
            })?;
        }
        changes.gc = Some(gc);
    }
    update(berth, name, changes).await
}

/// Copies a profile under a new name: settings, certificate files and keyring secrets.
pub(crate) async fn duplicate(berth: &Berth, name: &str, new_name: &str) -> Result<ProfileView, ApiError> {
    let new_name = new_name.trim().to_string();
    validate_profile_name(&new_name)?;
    let row = berth.store().profile(name).await?;
    ensure_absent(berth, &new_name).await?;
    let mut settings = row.settings.clone();
    let mut files = Vec::new();
    let mut remap = |rel: &str| -> Result<String, ApiError> {
        let file = Path::new(rel).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        let bytes = certs::read_file(&berth.data_dir().join(rel))?;
        let new_rel = certs::relative(&new_name, &file);
        files.push((new_rel.clone(), bytes));
        Ok(new_rel)
    };
    for ca in &mut settings.cas {
        ca.file = remap(&ca.file)?;
    }
    if let Some(f) = &settings.client_cert_file {
        settings.client_cert_file = Some(remap(f)?);
    }
    if let Some(f) = &settings.client_key_file {
        settings.client_key_file = Some(remap(f)?);
    }
    // Secrets: read the source's, write the copy's (after the self-check).
    let (src, dst) = (row.name.clone(), new_name.clone());
    let (has_pw, has_pp) = (settings.has_password, settings.has_key_passphrase);
    if has_pw || has_pp {
        keyring(&berth.secrets, move |s| {
            s.self_check()?;
            for (kind, has) in [(SecretKind::Password, has_pw), (SecretKind::KeyPassphrase, has_pp)] {
                if !has {
                    continue;
                }
                match s.get(&src, kind)? {
                    Some(v) => s.set(&dst, kind, &v)?,
                    None => {
                        return Err(SecretError::Other {
                            detail: format!("the keyring has no {} for profile {src:?}", secret_label(kind)),
                        })
                    }
                }
            }
            Ok(())
        })
        .await?;
    }
    let mut result = Ok(());
    for (rel, bytes) in &files {
        if let Err(e) = certs::write_private(berth.data_dir(), rel, bytes) {
            result = Err(e);
            break;
        }
    }
    let profile =
        NewProfile { name: new_name.clone(), url: row.url.clone(), kind: row.kind, username: row.username.clone() };
    let saved = match result {
        Ok(()) => berth.store().create_profile(&profile, &settings).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(row) => Ok(view(berth.data_dir(), row)),
        Err(e) => {
            certs::prune_profile_dir(berth.data_dir(), &new_name, &[]);
            let dst = new_name.clone();
            let _ = keyring(&berth.secrets, move |s| {
                s.delete(&dst, SecretKind::Password)?;
                s.delete(&dst, SecretKind::KeyPassphrase)
            })
            .await;
            Err(e)
        }
    }
}

fn secret_label(kind: SecretKind) -> &'static str {
    match kind {
        SecretKind::Password => "password",
        SecretKind::KeyPassphrase => "client-key passphrase",
    }
}

/// Deletes a profile: its keyring entries first (so that nothing is left there if that fails),
/// then the row (and its cache), then its certificate files.
pub(crate) async fn delete(berth: &Berth, name: &str) -> Result<ProfileView, ApiError> {
    let row = berth.store().profile(name).await?;
    if row.settings.has_password || row.settings.has_key_passphrase {
        let n = row.name.clone();
        keyring(&berth.secrets, move |s| {
            s.delete(&n, SecretKind::Password)?;
            s.delete(&n, SecretKind::KeyPassphrase)
        })
        .await?;
    }
    let row = berth.store().delete_profile(name).await?;
    let v = view(berth.data_dir(), row);
    certs::prune_profile_dir(berth.data_dir(), name, &[]);
    Ok(v)
}

pub(crate) async fn export(berth: &Berth, name: &str) -> Result<ProfileExport, ApiError> {
    let row = berth.store().profile(name).await?;
    let mut ca_certificates = Vec::new();
    for ca in &row.settings.cas {
        let bytes = certs::read_file(&berth.data_dir().join(&ca.file))?;
        ca_certificates.push(String::from_utf8_lossy(&bytes).to_string());
    }
    let s = row.settings;
    Ok(ProfileExport {
        format: EXPORT_FORMAT.into(),
        name: row.name,
        url: row.url,
        kind: row.kind.as_str().into(),
        auth: s.auth.as_str().into(),
        username: row.username,
        tls: TlsExport {
            insecure_skip_verify: s.insecure_skip_verify,
            pinned_sha256: s.pinned_sha256,
            ca_certificates,
        },
        gc: GcSettingsView { command: s.gc.command, before: s.gc.before, after: s.gc.after },
    })
}

pub(crate) async fn import(
    berth: &Berth,
    export: ProfileExport,
    name: Option<String>,
) -> Result<ProfileView, ApiError> {
    if export.format != EXPORT_FORMAT {
        return Err(invalid(
            format!("unknown profile file format {:?}", export.format),
            format!("expected {EXPORT_FORMAT:?}, as a profile export writes"),
        )
        .with_fix(crate::FixAction::Command, "berth profile export NAME > profile.json"));
    }
    let name = name.unwrap_or_else(|| export.name.clone());
    let changes = Changes {
        url: Some(export.url),
        kind: Some(export.kind),
        username: export.username,
        auth: Some(export.auth),
        ca_pems: export
            .tls
            .ca_certificates
            .into_iter()
            .enumerate()
            .map(|(i, pem)| (format!("CA certificate #{}", i + 1), pem.into_bytes()))
            .collect(),
        insecure_skip_verify: Some(export.tls.insecure_skip_verify),
        pins: export.tls.pinned_sha256,
        gc: Some(GcSettings { command: export.gc.command, before: export.gc.before, after: export.gc.after }),
        ..Changes::default()
    };
    create(berth, &name, changes).await
}

/// The chain the profile's server presents (leaf first), fetched without verifying it.
pub(crate) async fn server_chain(berth: &Berth, name: &str) -> Result<Vec<CertificateDetail>, ApiError> {
    let row = berth.store().profile(name).await?;
    Ok(fetch_chain(&row).await?.into_iter().map(|c| c.detail).collect())
}

async fn fetch_chain(row: &ProfileRow) -> Result<Vec<ParsedCert>, ApiError> {
    let url = berth_registry::parse_registry_url(&row.url)?;
    if url.scheme() != "https" {
        return Err(invalid(
            format!("profile {:?} uses plain HTTP ({}): there is no certificate to trust", row.name, row.url),
            "only https:// profiles have certificates",
        ));
    }
    let chain = berth_registry::fetch_certificate_chain(&url).await?;
    let mut out = Vec::new();
    for c in chain {
        out.extend(certs::parse_pem_certificates(c.pem.as_bytes(), "the server's certificate")?);
    }
    Ok(out)
}

/// Trust on first use: fetch the chain again, check that the certificate the user saw (`sha256`,
/// when given) is the one to trust, then import the topmost certificate as a CA — or, with `pin`,
/// pin the leaf by fingerprint (for a self-signed certificate that is its own CA).
pub(crate) async fn trust(berth: &Berth, name: &str, pin: bool, sha256: Option<&str>) -> Result<TrustResult, ApiError> {
    let row = berth.store().profile(name).await?;
    let chain = fetch_chain(&row).await?;
    let details: Vec<CertificateDetail> = chain.iter().map(|c| c.detail.clone()).collect();
    let chosen = chain[trust_choice(name, &details, pin)?].clone();
    if let Some(expected) = sha256 {
        if normalize_fingerprint(expected)? != chosen.detail.sha256_fingerprint {
            return Err(invalid(
                "the server now presents a different certificate than the one shown",
                "run the command again and check the new certificate before trusting it",
            ));
        }
    }
    let mut changes = Changes::default();
    let mode = if pin {
        changes.pins.push(chosen.detail.sha256_fingerprint.clone());
        "pin"
    } else {
        changes.ca_pems.push(("the server's certificate".into(), chosen.pem().into_bytes()));
        "ca"
    };
    let profile = update(berth, name, changes).await?;
    Ok(TrustResult { profile, certificate: chosen.detail, mode: mode.into() })
}

/// Which certificate of a server's chain (leaf first) trust on first use would trust for profile
/// `name`: the leaf to pin with `pin`, else the topmost one as a CA — or why neither can work.
pub fn trust_choice(name: &str, chain: &[CertificateDetail], pin: bool) -> Result<usize, ApiError> {
    if chain.is_empty() {
        return Err(invalid("the server presented no certificate", "check that the URL's port speaks TLS"));
    }
    let i = if pin { 0 } else { chain.len() - 1 };
    let c = &chain[i];
    if c.expired {
        return Err(invalid(
            format!("the certificate \"{}\" expired on {}", c.subject, c.not_after),
            "the registry's certificate must be renewed first",
        ));
    }
    if !pin {
        if chain.len() == 1 && c.is_ca && c.self_signed {
            return Err(invalid(
                "the server's only certificate is a self-signed certificate marked as a CA, which TLS libraries refuse as a server certificate even when trusted",
                "pin this certificate instead (or re-issue it without CA:TRUE)",
            )
            .with_fix(crate::FixAction::TrustServer { profile: name.to_string() }, format!("berth profile trust {name} --pin")));
        }
        if !c.is_ca && !c.self_signed {
            return Err(invalid(
                format!("the server sends only its own certificate, not the CA that signed it ({})", c.issuer),
                "import the file of the CA that signed it into the profile, or pin this certificate",
            )
            .edit(
                name,
                crate::ProfileField::CaFile,
                format!("berth profile edit {name} --ca-file FILE (or pin it: berth profile trust {name} --pin)"),
            ));
        }
    }
    Ok(i)
}

/// What a profile connects with: its row, credentials (from the keyring) and TLS settings (from
/// its files). The registry client and the Harbor/Nexus API clients are built from it.
pub(crate) struct Connection {
    pub row: ProfileRow,
    pub creds: Credentials,
    pub tls: TlsOptions,
}

pub(crate) async fn connection(berth: &Berth, name: &str) -> Result<Connection, ApiError> {
    let row = berth.store().profile(name).await?;
    let s = &row.settings;
    let need_pw = s.auth != AuthMode::None && s.has_password;
    let need_pp = s.client_key_file.is_some() && s.has_key_passphrase;
    let (password, passphrase) = if need_pw || need_pp {
        let n = row.name.clone();
        keyring(&berth.secrets, move |st| {
            let pw = if need_pw { st.get(&n, SecretKind::Password)? } else { None };
            let pp = if need_pp { st.get(&n, SecretKind::KeyPassphrase)? } else { None };
            Ok((pw, pp))
        })
        .await?
    } else {
        (None, None)
    };
    let missing = |what: &str| {
        ApiError::new(
            ErrorCode::Keyring,
            format!("the OS keyring has no {what} for profile {:?}", row.name),
            "store it again in the profile",
        )
        .edit(
            &row.name,
            crate::ProfileField::Password,
            format!("berth profile edit {} --password-stdin", row.name),
        )
    };
    let creds = match (&row.username, s.auth) {
        (Some(u), AuthMode::Basic | AuthMode::Token) => {
            let pw = match password {
                Some(p) => p,
                None if need_pw => return Err(missing("password")),
                None => Secret::new(""),
            };
            Credentials::Basic { username: u.clone(), password: pw.expose().to_string() }
        }
        _ => Credentials::Anonymous,
    };
    let mut tls = TlsOptions {
        pinned_sha256: s.pinned_sha256.clone(),
        insecure_skip_verify: s.insecure_skip_verify,
        ..TlsOptions::default()
    };
    for ca in &s.cas {
        tls.extra_ca_pem.push(
            certs::read_file(&berth.data_dir().join(&ca.file))
                .map_err(|e| missing_file(&row, e, crate::ProfileField::CaFile))?,
        );
    }
    if let (Some(cert), Some(key)) = (&s.client_cert_file, &s.client_key_file) {
        let cert_missing = |e| missing_file(&row, e, crate::ProfileField::ClientCertificate);
        let cert_pem = certs::read_file(&berth.data_dir().join(cert)).map_err(cert_missing)?;
        let key_path = berth.data_dir().join(key);
        let key = certs::load_client_key(&key_path).map_err(cert_missing)?;
        if key.encrypted && passphrase.is_none() {
            return Err(ApiError::new(
                ErrorCode::Keyring,
                format!("the OS keyring has no passphrase for the client key of profile {:?}", row.name),
                "store the key's passphrase again in the profile",
            )
            .edit(
                &row.name,
                crate::ProfileField::KeyPassphrase,
                format!("berth profile edit {} --client-cert FILE --client-key FILE --key-passphrase-stdin", row.name),
            ));
        }
        let plain = certs::decrypt_client_key(
            &key,
            passphrase.as_ref().map(Secret::expose).unwrap_or(""),
            &key_path.display().to_string(),
        )?;
        tls.client_identity_pem = Some((cert_pem, plain));
    }
    Ok(Connection { row, creds, tls })
}

fn missing_file(row: &ProfileRow, e: ApiError, field: crate::ProfileField) -> ApiError {
    let flags = match field {
        crate::ProfileField::CaFile => "--ca-file FILE",
        _ => "--client-cert FILE --client-key FILE",
    };
    ApiError::new(
        ErrorCode::Storage,
        format!("profile {:?}: {}", row.name, e.message),
        "import the certificate file into the profile again",
    )
    .edit(&row.name, field, format!("berth profile edit {} {flags}", row.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_normalize() {
        let hex = "AB".repeat(32);
        let colons = hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(":");
        assert_eq!(normalize_fingerprint(&colons).unwrap(), "ab".repeat(32));
        assert_eq!(normalize_fingerprint(&format!("sha256:{hex}")).unwrap(), "ab".repeat(32));
        assert!(normalize_fingerprint("abcd").is_err());
        assert!(normalize_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn request_debug_never_shows_secrets() {
        let req = AddProfileRequest {
            name: "a".into(),
            url: "https://r".into(),
            password: Some(Secret::new("hunter2-secret")),
            key_passphrase: Some(Secret::new("phrase-secret")),
            ..AddProfileRequest::default()
        };
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("hunter2-secret") && !dbg.contains("phrase-secret"), "{dbg}");
        // Requests come in from the window as JSON; the password field is a plain string there.
        let parsed: AddProfileRequest =
            serde_json::from_str(r#"{"name":"a","url":"https://r","password":"pw"}"#).unwrap();
        assert_eq!(parsed.password.unwrap().expose(), "pw");
        let minimal: AddProfileRequest = serde_json::from_str(r#"{"name":"a","url":"https://r"}"#).unwrap();
        assert_eq!(minimal.kind, None);
    }
}
