//! A profile being built from an add or edit request: every field validated, certificate files
//! read and checked, secrets held until the row is written.

use super::*;

// ---------------------------------------------------------------------------------------------
// Drafts: a profile's next state, validated, with the files to write

/// What a request asks to change, in one shape for add, edit, import, trust and docker import.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub url: Option<String>,
    /// The user moves the profile: a URL on another origin forgets the password (Berth's own
    /// updates, such as a discovery pointing a repository at its connector port, keep it).
    pub user_edit: bool,
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
    /// Token services on another host to trust with the password (origins).
    pub token_services: Vec<String>,
    pub clear_token_services: bool,
    pub gc: Option<GcSettings>,
}

impl Changes {
    pub(crate) fn set_password(&mut self, password: Option<Secret>) -> Result<(), ApiError> {
        self.password = SecretChange::from_parts(password, false)?;
        Ok(())
    }
}

pub(crate) struct Draft {
    pub(super) profile: NewProfile,
    pub(super) settings: ProfileSettings,
    /// (relative path, bytes) to write before saving.
    pub(super) files: Vec<(String, Vec<u8>)>,
    pub(super) password: SecretChange,
    pub(super) key_passphrase: SecretChange,
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
    pub(super) fn new(name: &str, url: &str) -> Draft {
        Draft {
            profile: NewProfile { name: name.into(), url: url.into(), kind: ProfileKind::default(), username: None },
            settings: ProfileSettings::default(),
            files: Vec::new(),
            password: SecretChange::Keep,
            key_passphrase: SecretChange::Keep,
        }
    }

    pub(super) fn from_row(row: &ProfileRow) -> Draft {
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
    pub(super) fn apply(&mut self, c: Changes) -> Result<(), ApiError> {
        // The password belongs to the server it was given for: a URL on another origin (scheme, host,
        // port) forgets it unless the same change gives it again.
        let mut moved = false;
        if let Some(url) = &c.url {
            let new = berth_registry::parse_registry_url(url)?;
            moved = c.user_edit
                && url::Url::parse(&self.profile.url).map(|old| old.origin() != new.origin()).unwrap_or(false);
            self.profile.url = new.to_string();
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
            SecretChange::Keep if moved && self.settings.has_password => {
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

        // Token services trusted with the password: bound to the registry they were trusted for.
        if c.clear_token_services || moved {
            self.settings.trusted_token_services.clear();
        }
        for t in &c.token_services {
            let origin = berth_registry::token_service_origin(t).ok_or_else(|| {
                invalid(format!("{t:?} is not a token service address"), "give it as https://auth.example.com")
            })?;
            if !origin.starts_with("https://") {
                return Err(invalid(
                    format!("{origin} is plain HTTP: Berth never sends a password to a token service on another host in clear text"),
                    "configure the registry's token realm with https://",
                ));
            }
            if !self.settings.trusted_token_services.contains(&origin) {
                self.settings.trusted_token_services.push(origin);
            }
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
    pub(super) fn referenced(settings: &ProfileSettings) -> Vec<String> {
        let mut keep: Vec<String> = settings.cas.iter().map(|c| c.file.clone()).collect();
        keep.extend(settings.client_cert_file.clone());
        keep.extend(settings.client_key_file.clone());
        keep
    }

    pub(super) fn write_files(&self, data_dir: &Path) -> Result<(), ApiError> {
        for (rel, bytes) in &self.files {
            certs::write_private(data_dir, rel, bytes)?;
        }
        Ok(())
    }
}
