//! The views and requests front ends see (exported to TypeScript), and a row as a view.

use super::*;

// ---------------------------------------------------------------------------------------------
// Views and requests (exported to TypeScript)

/// A profile as front ends see it. Never holds a secret: only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProfileView {
    pub name: String,
    pub url: String,
    /// `registry`, `nexus` or `harbor` (for display: decisions read `capabilities`).
    #[ts(type = "\"registry\" | \"nexus\" | \"harbor\"")]
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
    /// For a profile a server discovered (a Nexus repository): its server profile and repository.
    pub link: Option<ServerLinkView>,
    pub created_at: String,
    pub updated_at: String,
}

/// Which server profile discovered this profile, and the repository it browses there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ServerLinkView {
    /// The server profile (`null`: it was deleted; this profile still browses its endpoint).
    pub parent: Option<String>,
    pub repository: String,
    /// `hosted`, `proxy` or `group`.
    pub repository_kind: String,
    /// Hosted: `ALLOW`, `ALLOW_ONCE` or `DENY`.
    pub write_policy: Option<String>,
    /// Why Berth does not delete here (proxy, group, read-only policy); `null`: it does.
    pub read_only: Option<String>,
    /// The user set this endpoint; discoveries keep it.
    pub endpoint_override: bool,
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
    /// Token services on another host the user trusts with the password (`https://auth.example.com`).
    pub trusted_token_services: Vec<String>,
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
    /// registry:2's filesystem storage root (`storage.filesystem.rootdirectory`), for the GC page's
    /// empty-repository step and the storage scan for untagged manifests.
    #[serde(default)]
    pub storage_root: Option<String>,
    /// Prefix that runs a command where the storage is, e.g. `ssh admin@host` (none: this machine).
    #[serde(default)]
    pub remote: Option<String>,
}

impl From<berth_store::GcSettings> for GcSettingsView {
    fn from(g: berth_store::GcSettings) -> Self {
        GcSettingsView {
            command: g.command,
            before: g.before,
            after: g.after,
            storage_root: g.storage_root,
            remote: g.remote,
        }
    }
}

impl From<GcSettingsView> for berth_store::GcSettings {
    fn from(g: GcSettingsView) -> Self {
        berth_store::GcSettings {
            command: g.command,
            before: g.before,
            after: g.after,
            storage_root: g.storage_root,
            remote: g.remote,
        }
    }
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
    /// Token services on another host to trust with the password (https origins).
    pub trusted_token_services: Option<Vec<String>>,
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
    /// More token services on another host to trust with the password (https origins).
    pub trusted_token_services: Option<Vec<String>>,
    /// Forget the trusted token services (before adding `trusted_token_services`).
    pub clear_token_services: Option<bool>,
    /// How to run `registry garbage-collect` where the registry lives (a shell command line; empty clears).
    pub gc_command: Option<String>,
    /// Run before GC (e.g. put the registry in read-only mode); empty clears.
    pub gc_before: Option<String>,
    /// Run after GC, also when it failed (e.g. leave read-only mode and restart); empty clears.
    pub gc_after: Option<String>,
    /// registry:2's filesystem storage root, an absolute path; empty clears.
    pub gc_storage_root: Option<String>,
    /// Prefix that runs a command where the storage is (e.g. `ssh admin@host`); empty: this machine.
    pub gc_remote: Option<String>,
}

/// A profile file the user picked, read, to show before importing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProfileFile {
    pub path: String,
    pub export: ProfileExport,
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
            trusted_token_services: s.trusted_token_services.clone(),
        },
        gc: s.gc.clone().into(),
        warnings,
        capabilities: berth_backend::capabilities_for(row.kind.as_str(), false),
        link: None,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
