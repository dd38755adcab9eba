//! The SQLite store. One file (`berth.sqlite`) in the data directory, WAL mode, migrations embedded.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const DB_FILE: &str = "berth.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot upgrade the database {path}: {source}")]
    Migrate { path: PathBuf, source: sqlx::migrate::MigrateError },
    #[error("a profile named {0:?} already exists")]
    ProfileExists(String),
    #[error("no profile named {0:?}")]
    ProfileNotFound(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Kinds of registry a profile can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub kind: ProfileKind,
    pub username: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewProfile {
    pub name: String,
    pub url: String,
    pub kind: ProfileKind,
    pub username: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Open { path: path.clone(), source: sqlx::Error::Io(e) })?;
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open { path: path.clone(), source })?;
        MIGRATOR.run(&pool).await.map_err(|source| StoreError::Migrate { path: path.clone(), source })?;
        Ok(Store { pool, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn add_profile(&self, p: &NewProfile) -> Result<ProfileRow, StoreError> {
        let now = now_rfc3339();
        let res = sqlx::query(
            "INSERT INTO profiles (name, url, kind, username, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.name)
        .bind(&p.url)
        .bind(p.kind.as_str())
        .bind(&p.username)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => self.profile(&p.name).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::ProfileExists(p.name.clone())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn profiles(&self) -> Result<Vec<ProfileRow>, StoreError> {
        let rows: Vec<RawProfile> = sqlx::query_as(
            "SELECT id, name, url, kind, username, created_at FROM profiles ORDER BY name COLLATE NOCASE",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn profile(&self, name: &str) -> Result<ProfileRow, StoreError> {
        let row: Option<RawProfile> =
            sqlx::query_as("SELECT id, name, url, kind, username, created_at FROM profiles WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Into::into).ok_or_else(|| StoreError::ProfileNotFound(name.to_string()))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[derive(sqlx::FromRow)]
struct RawProfile {
    id: i64,
    name: String,
    url: String,
    kind: String,
    username: Option<String>,
    created_at: String,
}

impl From<RawProfile> for ProfileRow {
    fn from(r: RawProfile) -> Self {
        ProfileRow {
            id: r.id,
            name: r.name,
            url: r.url,
            // The CHECK constraint guarantees one of the known kinds.
            kind: r.kind.parse().unwrap_or(ProfileKind::Registry),
            username: r.username,
            created_at: r.created_at,
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn profiles_roundtrip_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
        assert_eq!(mode, "wal");
        let p = NewProfile {
            name: "lab".into(),
            url: "http://127.0.0.1:5000/".into(),
            kind: ProfileKind::Registry,
            username: None,
        };
        let row = store.add_profile(&p).await.unwrap();
        assert_eq!(row.name, "lab");
        assert!(matches!(store.add_profile(&p).await, Err(StoreError::ProfileExists(n)) if n == "lab"));
        assert!(matches!(store.profile("nope").await, Err(StoreError::ProfileNotFound(_))));
        store.close().await;
        // Reopening applies no migration twice and keeps the data.
        let store = Store::open(dir.path()).await.unwrap();
        let all = store.profiles().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].url, "http://127.0.0.1:5000/");
    }
}
