//! Profiles: one per registry endpoint the user manages, with its auth and TLS settings and the CA
//! certificates imported into it. Secrets never live here (OS keyring): only whether one is set.

use std::collections::HashMap;
use std::str::FromStr;

use crate::{now_rfc3339, Store, StoreError};

/// Kinds of registry a profile can point at (a new profile is a registry:2 one until told otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    #[default]
    Registry,
    Nexus,
    Harbor,
}

impl ProfileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileKind::Registry => "registry",
            ProfileKind::Nexus => "nexus",
            ProfileKind::Harbor => "harbor",
        }
    }
}

impl FromStr for ProfileKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "registry" => Ok(ProfileKind::Registry),
            "nexus" => Ok(ProfileKind::Nexus),
            "harbor" => Ok(ProfileKind::Harbor),
            other => Err(format!("unknown profile kind {other:?} (registry, nexus or harbor)")),
        }
    }
}

/// How a profile authenticates. `basic` and `token` both send the username and the keyring's
/// password: directly, or to the token service the registry's challenge names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    None,
    Basic,
    Token,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Basic => "basic",
            AuthMode::Token => "token",
        }
    }
}

impl FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(AuthMode::None),
            "basic" => Ok(AuthMode::Basic),
            "token" => Ok(AuthMode::Token),
            other => Err(format!("unknown auth {other:?} (none, basic or token)")),
        }
    }
}

/// Garbage-collection settings (used by the GC feature; all optional).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcSettings {
    pub command: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The registry's filesystem storage root (`storage.filesystem.rootdirectory`), absolute.
    pub storage_root: Option<String>,
    /// Prefix that runs a command where the storage is (e.g. `ssh admin@host`); `None`: here.
    pub remote: Option<String>,
}

/// A CA certificate imported into a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRecord {
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    pub subject: String,
    pub not_after: String,
    /// The PEM file, relative to the data directory.
    pub file: String,
}

/// Everything about a profile besides name, URL, kind and username.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileSettings {
    pub auth: AuthMode,
    /// Whether the OS keyring holds a password (or token) for this profile.
    pub has_password: bool,
    /// Whether the OS keyring holds the client key's passphrase.
    pub has_key_passphrase: bool,
    pub insecure_skip_verify: bool,
    /// Lower-case hex SHA-256 fingerprints of certificates trusted as they are.
    pub pinned_sha256: Vec<String>,
    /// Origins of token services on another host trusted with the password (`https://auth.example.com`).
    pub trusted_token_services: Vec<String>,
    /// Relative to the data directory.
    pub client_cert_file: Option<String>,
    /// Relative to the data directory.
    pub client_key_file: Option<String>,
    pub gc: GcSettings,
    pub cas: Vec<CaRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub kind: ProfileKind,
    pub username: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub settings: ProfileSettings,
}

#[derive(Debug, Clone)]
pub struct NewProfile {
    pub name: String,
    pub url: String,
    pub kind: ProfileKind,
    pub username: Option<String>,
}

const PROFILE_COLUMNS: &str = "id, name, url, kind, username, created_at, updated_at, auth, has_password, \
     has_key_passphrase, insecure_skip_verify, pinned_sha256, client_cert_file, client_key_file, gc_command, \
     gc_before, gc_after, trusted_token_services, gc_storage_root, gc_remote";

fn unique_violation(e: sqlx::Error, name: &str) -> StoreError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::ProfileExists(name.to_string()),
        e => e.into(),
    }
}

impl Store {
    /// Adds a profile with default settings (no auth, system roots only).
    pub async fn add_profile(&self, p: &NewProfile) -> Result<ProfileRow, StoreError> {
        self.create_profile(p, &ProfileSettings::default()).await
    }

    /// Adds a profile with its settings and CA records, in one transaction.
    pub async fn create_profile(&self, p: &NewProfile, s: &ProfileSettings) -> Result<ProfileRow, StoreError> {
        let now = now_rfc3339();
        let mut tx = self.pool().begin().await?;
        let id = sqlx::query(
            "INSERT INTO profiles (name, url, kind, username, created_at, updated_at, auth, has_password, \
             has_key_passphrase, insecure_skip_verify, pinned_sha256, client_cert_file, client_key_file, gc_command, \
             gc_before, gc_after, trusted_token_services, gc_storage_root, gc_remote) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.name)
        .bind(&p.url)
        .bind(p.kind.as_str())
        .bind(&p.username)
        .bind(&now)
        .bind(&now)
        .bind(s.auth.as_str())
        .bind(s.has_password)
        .bind(s.has_key_passphrase)
        .bind(s.insecure_skip_verify)
        .bind(s.pinned_sha256.join(" "))
        .bind(&s.client_cert_file)
        .bind(&s.client_key_file)
        .bind(&s.gc.command)
        .bind(&s.gc.before)
        .bind(&s.gc.after)
        .bind(s.trusted_token_services.join(" "))
        .bind(&s.gc.storage_root)
        .bind(&s.gc.remote)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, &p.name))?
        .last_insert_rowid();
        insert_cas(&mut tx, id, &s.cas, &now).await?;
        tx.commit().await?;
        self.profile(&p.name).await
    }

    /// Replaces name, URL, kind, username and every setting (CA records included) of profile `id`.
    pub async fn update_profile(&self, id: i64, p: &NewProfile, s: &ProfileSettings) -> Result<ProfileRow, StoreError> {
        let now = now_rfc3339();
        let mut tx = self.pool().begin().await?;
        let res = sqlx::query(
            "UPDATE profiles SET name = ?, url = ?, kind = ?, username = ?, updated_at = ?, auth = ?, has_password = ?, \
             has_key_passphrase = ?, insecure_skip_verify = ?, pinned_sha256 = ?, client_cert_file = ?, \
             client_key_file = ?, gc_command = ?, gc_before = ?, gc_after = ?, trusted_token_services = ?, \
             gc_storage_root = ?, gc_remote = ? WHERE id = ?",
        )
        .bind(&p.name)
        .bind(&p.url)
        .bind(p.kind.as_str())
        .bind(&p.username)
        .bind(&now)
        .bind(s.auth.as_str())
        .bind(s.has_password)
        .bind(s.has_key_passphrase)
        .bind(s.insecure_skip_verify)
        .bind(s.pinned_sha256.join(" "))
        .bind(&s.client_cert_file)
        .bind(&s.client_key_file)
        .bind(&s.gc.command)
        .bind(&s.gc.before)
        .bind(&s.gc.after)
        .bind(s.trusted_token_services.join(" "))
        .bind(&s.gc.storage_root)
        .bind(&s.gc.remote)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, &p.name))?;
        if res.rows_affected() == 0 {
            return Err(StoreError::ProfileNotFound(p.name.clone()));
        }
        sqlx::query("DELETE FROM profile_cas WHERE profile_id = ?").bind(id).execute(&mut *tx).await?;
        insert_cas(&mut tx, id, &s.cas, &now).await?;
        tx.commit().await?;
        self.profile(&p.name).await
    }

    /// Deletes a profile (and, through the foreign keys, everything cached for it); returns what it was.
    pub async fn delete_profile(&self, name: &str) -> Result<ProfileRow, StoreError> {
        let row = self.profile(name).await?;
        sqlx::query("DELETE FROM profiles WHERE id = ?").bind(row.id).execute(self.pool()).await?;
        Ok(row)
    }

    pub async fn profiles(&self) -> Result<Vec<ProfileRow>, StoreError> {
        let rows: Vec<RawProfile> =
            sqlx::query_as(&format!("SELECT {PROFILE_COLUMNS} FROM profiles ORDER BY name COLLATE NOCASE"))
                .fetch_all(self.pool())
                .await?;
        let mut cas: HashMap<i64, Vec<CaRecord>> = HashMap::new();
        let all: Vec<RawCa> =
            sqlx::query_as("SELECT profile_id, sha256, subject, not_after, file FROM profile_cas ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        for c in all {
            cas.entry(c.profile_id).or_default().push(c.into());
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let id = r.id;
                r.into_row(cas.remove(&id).unwrap_or_default())
            })
            .collect())
    }

    pub async fn profile(&self, name: &str) -> Result<ProfileRow, StoreError> {
        let row: Option<RawProfile> = sqlx::query_as(&format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE name = ?"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        let row = row.ok_or_else(|| StoreError::ProfileNotFound(name.to_string()))?;
        let cas: Vec<RawCa> = sqlx::query_as(
            "SELECT profile_id, sha256, subject, not_after, file FROM profile_cas WHERE profile_id = ? ORDER BY id",
        )
        .bind(row.id)
        .fetch_all(self.pool())
        .await?;
        Ok(row.into_row(cas.into_iter().map(Into::into).collect()))
    }
}

async fn insert_cas(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    profile_id: i64,
    cas: &[CaRecord],
    now: &str,
) -> Result<(), StoreError> {
    for c in cas {
        sqlx::query(
            "INSERT INTO profile_cas (profile_id, sha256, subject, not_after, file, added_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (profile_id, sha256) DO NOTHING",
        )
        .bind(profile_id)
        .bind(&c.sha256)
        .bind(&c.subject)
        .bind(&c.not_after)
        .bind(&c.file)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RawProfile {
    id: i64,
    name: String,
    url: String,
    kind: String,
    username: Option<String>,
    created_at: String,
    updated_at: String,
    auth: String,
    has_password: bool,
    has_key_passphrase: bool,
    insecure_skip_verify: bool,
    pinned_sha256: String,
    client_cert_file: Option<String>,
    client_key_file: Option<String>,
    gc_command: Option<String>,
    gc_before: Option<String>,
    gc_after: Option<String>,
    trusted_token_services: String,
    gc_storage_root: Option<String>,
    gc_remote: Option<String>,
}

impl RawProfile {
    fn into_row(self, cas: Vec<CaRecord>) -> ProfileRow {
        ProfileRow {
            id: self.id,
            name: self.name,
            url: self.url,
            // The CHECK constraints guarantee known values.
            kind: self.kind.parse().unwrap_or(ProfileKind::Registry),
            username: self.username,
            created_at: self.created_at,
            updated_at: self.updated_at,
            settings: ProfileSettings {
                auth: self.auth.parse().unwrap_or_default(),
                has_password: self.has_password,
                has_key_passphrase: self.has_key_passphrase,
                insecure_skip_verify: self.insecure_skip_verify,
                pinned_sha256: self.pinned_sha256.split_whitespace().map(str::to_string).collect(),
                trusted_token_services: self.trusted_token_services.split_whitespace().map(str::to_string).collect(),
                client_cert_file: self.client_cert_file,
                client_key_file: self.client_key_file,
                gc: GcSettings {
                    command: self.gc_command,
                    before: self.gc_before,
                    after: self.gc_after,
                    storage_root: self.gc_storage_root,
                    remote: self.gc_remote,
                },
                cas,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
struct RawCa {
    profile_id: i64,
    sha256: String,
    subject: String,
    not_after: String,
    file: String,
}

impl From<RawCa> for CaRecord {
    fn from(c: RawCa) -> Self {
        CaRecord { sha256: c.sha256, subject: c.subject, not_after: c.not_after, file: c.file }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_profile(name: &str) -> NewProfile {
        NewProfile {
            name: name.into(),
            url: "http://127.0.0.1:5000/".into(),
            kind: ProfileKind::Registry,
            username: None,
        }
    }

    #[tokio::test]
    async fn profiles_roundtrip_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
        assert_eq!(mode, "wal");
        let p = new_profile("lab");
        let row = store.add_profile(&p).await.unwrap();
        assert_eq!(row.name, "lab");
        assert_eq!(row.settings, ProfileSettings::default());
        assert!(matches!(store.add_profile(&p).await, Err(StoreError::ProfileExists(n)) if n == "lab"));
        assert!(matches!(store.profile("nope").await, Err(StoreError::ProfileNotFound(_))));
        store.close().await;
        // Reopening applies no migration twice and keeps the data.
        let store = Store::open(dir.path()).await.unwrap();
        let all = store.profiles().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].url, "http://127.0.0.1:5000/");
    }

    #[tokio::test]
    async fn settings_cas_update_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let ca = |n: &str| CaRecord {
            sha256: n.repeat(64),
            subject: format!("CN={n}"),
            not_after: "2030-01-01T00:00:00Z".into(),
            file: format!("certs/lab/ca-{n}.pem"),
        };
        let settings = ProfileSettings {
            auth: AuthMode::Token,
            has_password: true,
            has_key_passphrase: false,
            insecure_skip_verify: true,
            pinned_sha256: vec!["ab".repeat(32), "cd".repeat(32)],
            trusted_token_services: vec!["https://auth.example.com".into()],
            client_cert_file: Some("certs/lab/client.cert".into()),
            client_key_file: Some("certs/lab/client.key".into()),
            gc: GcSettings { command: Some("registry garbage-collect".into()), ..Default::default() },
            cas: vec![ca("a"), ca("b")],
        };
        let mut p = new_profile("lab");
        p.username = Some("alice".into());
        let row = store.create_profile(&p, &settings).await.unwrap();
        assert_eq!(row.settings, settings);
        assert_eq!(row.username.as_deref(), Some("alice"));
        store.add_profile(&new_profile("other")).await.unwrap();

        // Update replaces the CA list and may rename; a clash with another name is refused.
        let mut s2 = settings.clone();
        s2.cas = vec![ca("c")];
        s2.pinned_sha256.clear();
        s2.has_password = false;
        let mut renamed = p.clone();
        renamed.name = "lab2".into();
        let row2 = store.update_profile(row.id, &renamed, &s2).await.unwrap();
        assert_eq!(row2.id, row.id);
        assert_eq!(row2.settings, s2);
        let mut clash = p.clone();
        clash.name = "other".into();
        assert!(matches!(store.update_profile(row.id, &clash, &s2).await, Err(StoreError::ProfileExists(_))));
        let listed = store.profiles().await.unwrap();
        assert_eq!(listed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["lab2", "other"]);
        assert_eq!(listed[0].settings.cas, vec![ca("c")]);

        // Delete cascades to the CA records.
        let gone = store.delete_profile("lab2").await.unwrap();
        assert_eq!(gone.settings.cas.len(), 1);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM profile_cas").fetch_one(store.pool()).await.unwrap();
        assert_eq!(n, 0);
        assert!(matches!(store.delete_profile("lab2").await, Err(StoreError::ProfileNotFound(_))));
    }
}

/// What the cache holds for one profile: what removing it deletes (the audit log is kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileFootprint {
    pub repositories: u64,
    pub tags: u64,
    /// Trash entries still restorable (their manifests go with the profile).
    pub trash_entries: u64,
    pub retention_policies: u64,
    pub gc_runs: u64,
    pub sync_runs: u64,
    /// Audit rows that name the profile: kept, with the profile's name.
    pub audit_rows: u64,
}

impl Store {
    /// Counts the rows a profile's removal deletes (and the audit rows it keeps).
    pub async fn profile_footprint(&self, profile_id: i64) -> Result<ProfileFootprint, StoreError> {
        let (repositories, tags, trash_entries, retention_policies, gc_runs, sync_runs, audit_rows): (
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM repositories WHERE profile_id = ?1), \
                    (SELECT COUNT(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.profile_id = ?1), \
                    (SELECT COUNT(*) FROM trash_entries WHERE profile_id = ?1 AND state = 'trashed'), \
                    (SELECT COUNT(*) FROM retention_policies WHERE profile_id = ?1), \
                    (SELECT COUNT(*) FROM gc_runs WHERE profile_id = ?1), \
                    (SELECT COUNT(*) FROM sync_runs WHERE profile_id = ?1), \
                    (SELECT COUNT(*) FROM audit_log WHERE profile_id = ?1)",
        )
        .bind(profile_id)
        .fetch_one(self.pool())
        .await?;
        let n = |v: i64| v.max(0) as u64;
        Ok(ProfileFootprint {
            repositories: n(repositories),
            tags: n(tags),
            trash_entries: n(trash_entries),
            retention_policies: n(retention_policies),
            gc_runs: n(gc_runs),
            sync_runs: n(sync_runs),
            audit_rows: n(audit_rows),
        })
    }
}
