//! Create, edit, duplicate, delete, export and import profiles.

use super::*;

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
        token_services: req.trusted_token_services.clone().unwrap_or_default(),
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
        token_services: req.trusted_token_services.clone().unwrap_or_default(),
        clear_token_services: req.clear_token_services.unwrap_or(false),
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
    changes.user_edit = true;
    if req.gc_command.is_some()
        || req.gc_before.is_some()
        || req.gc_after.is_some()
        || req.gc_storage_root.is_some()
        || req.gc_remote.is_some()
    {
        let mut gc = berth.store().profile(name).await?.settings.gc;
        for (value, slot) in [
            (&req.gc_command, &mut gc.command),
            (&req.gc_before, &mut gc.before),
            (&req.gc_after, &mut gc.after),
            (&req.gc_storage_root, &mut gc.storage_root),
            (&req.gc_remote, &mut gc.remote),
        ] {
            if let Some(v) = value {
                *slot = Some(v.trim().to_string()).filter(|v| !v.is_empty());
            }
        }
        if let Some(root) = &gc.storage_root {
            if !root.starts_with('/') {
                return Err(invalid(
                    format!("the storage root {root:?} is not an absolute path"),
                    "give the registry's storage.filesystem.rootdirectory, e.g. /var/lib/registry",
                )
                .edit(
                    name,
                    crate::ProfileField::GcStorageRoot,
                    format!("berth profile edit {name} --storage-root /var/lib/registry"),
                ));
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
/// What removing a profile deletes, shown before the user confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProfileRemovalView {
    pub profile: String,
    pub url: String,
    /// Cached repositories and tags (the registry itself is not touched).
    #[ts(type = "number")]
    pub repositories: u64,
    #[ts(type = "number")]
    pub tags: u64,
    /// Trash entries that could still be restored: after removal they cannot.
    #[ts(type = "number")]
    pub trash_entries: u64,
    #[ts(type = "number")]
    pub retention_policies: u64,
    /// GC and sync history rows.
    #[ts(type = "number")]
    pub history_rows: u64,
    /// OS keyring entries removed (`password`, `client key passphrase`).
    pub keyring_entries: Vec<String>,
    /// Files in the data directory removed (CA certificates, client certificate and key).
    pub files: Vec<String>,
    /// Audit rows kept (they keep the profile's name).
    #[ts(type = "number")]
    pub audit_rows_kept: u64,
    /// Profiles a server discovered beneath this one: they stay, and lose their server.
    pub children: Vec<String>,
}

pub(crate) async fn removal_preview(berth: &Berth, name: &str) -> Result<ProfileRemovalView, ApiError> {
    let row = berth.store().profile(name).await?;
    let f = berth.store().profile_footprint(row.id).await?;
    let children = berth.store().backend_children(row.id).await?.into_iter().map(|c| c.profile).collect();
    let s = &row.settings;
    let mut keyring_entries = Vec::new();
    if s.has_password {
        keyring_entries.push("password".to_string());
    }
    if s.has_key_passphrase {
        keyring_entries.push("client key passphrase".to_string());
    }
    let mut files: Vec<String> = s.cas.iter().map(|c| c.file.clone()).collect();
    files.extend(s.client_cert_file.iter().cloned());
    files.extend(s.client_key_file.iter().cloned());
    Ok(ProfileRemovalView {
        profile: row.name.clone(),
        url: row.url.clone(),
        repositories: f.repositories,
        tags: f.tags,
        trash_entries: f.trash_entries,
        retention_policies: f.retention_policies,
        history_rows: f.gc_runs + f.sync_runs,
        keyring_entries,
        files,
        audit_rows_kept: f.audit_rows,
        children,
    })
}

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
        gc: s.gc.into(),
    })
}

/// What an imported profile file may bring in that runs code or lowers security: dropped unless the
/// user asks for it (a profile file can come from anyone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct ImportTrust {
    /// Keep the GC commands (they run through `sh -c`).
    pub gc_commands: bool,
    /// Keep `insecure_skip_verify` (no TLS verification).
    pub insecure_tls: bool,
}

/// An imported profile and what was dropped from the file, in words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, TS)]
#[ts(export)]
pub struct ImportReport {
    pub profile: ProfileView,
    pub dropped: Vec<String>,
}

pub(crate) async fn import(
    berth: &Berth,
    mut export: ProfileExport,
    name: Option<String>,
    trust: ImportTrust,
) -> Result<ImportReport, ApiError> {
    let mut dropped = Vec::new();
    let commands: Vec<(&str, &Option<String>)> = vec![
        ("GC command", &export.gc.command),
        ("GC before command", &export.gc.before),
        ("GC after command", &export.gc.after),
        ("storage command prefix", &export.gc.remote),
    ];
    let listed: Vec<String> =
        commands.iter().filter_map(|(what, c)| c.as_ref().map(|c| format!("{what}: {c}"))).collect();
    if !trust.gc_commands && !listed.is_empty() {
        dropped.push(format!(
            "the file's GC commands were not imported (they run on this machine through sh -c): {}",
            listed.join("; ")
        ));
        export.gc.command = None;
        export.gc.before = None;
        export.gc.after = None;
        export.gc.remote = None;
    }
    if !trust.insecure_tls && export.tls.insecure_skip_verify {
        dropped.push("the file turns off TLS verification (insecure_skip_verify): not imported; the profile verifies certificates".into());
        export.tls.insecure_skip_verify = false;
    }
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
        gc: Some(export.gc.into()),
        ..Changes::default()
    };
    Ok(ImportReport { profile: create(berth, &name, changes).await?, dropped })
}

/// A profile file (`berth profile export`, the window's Export) from its bytes; `origin` names it in errors.
pub fn parse_profile_export(bytes: &[u8], origin: &str) -> Result<ProfileExport, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!("{origin} is not a Berth profile file: {e}"), "choose a file written by Berth's profile export")
    })
}

/// Reads and parses a profile file.
pub fn read_profile_export(path: &Path) -> Result<ProfileExport, ApiError> {
    let bytes =
        std::fs::read(path).map_err(|e| invalid(format!("cannot read {}: {e}", path.display()), "check the path"))?;
    parse_profile_export(&bytes, &path.display().to_string())
}

/// Writes a profile file (pretty JSON, no secrets); returns the path written.
pub fn write_profile_export(export: &ProfileExport, path: &Path) -> Result<(), ApiError> {
    let mut json = serde_json::to_vec_pretty(export).map_err(internal)?;
    json.push(b'\n');
    std::fs::write(path, json).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("cannot write {}: {e}", path.display()),
            "choose a folder you can write to",
        )
    })
}
